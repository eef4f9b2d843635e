//! Runs the chat: `cargo run -p chat -- [addr] [client-dist-dir]`.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let dist = args
        .next()
        .unwrap_or_else(|| chat::DEFAULT_CLIENT_DIST.to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("chat on http://{}/", listener.local_addr()?);
    chat::run(listener, &dist).await
}
