//! A terminal client for the chat demo (`examples/chat`): it joins under a name, prints what
//! the room says, and sends every line typed on stdin.
//!
//! ```text
//! cargo run -p chat                                   # the server, in one terminal
//! cargo run -p cli-client -- http://127.0.0.1:3000 ann  # then, in another
//! ```
//!
//! Lines starting with `/room NAME` move to another room, `/quit` leaves; anything else is a
//! message. The connection comes back by itself after a network cut or a server restart (the
//! client reconnects with backoff and joins again).
// Printing is what this program is for.
#![allow(clippy::print_stdout)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use socketio::client::{DisconnectReason, ManagerOptions, Socket, io};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A message of the room (`chat message`).
#[derive(Debug, Deserialize)]
struct ChatMessage {
    name: String,
    text: String,
    room: String,
}

/// Someone entered or left a room (`user joined`, `user left`).
#[derive(Debug, Deserialize)]
struct Presence {
    name: String,
    room: String,
    users: u64,
}

/// What the server answers to `join` and `switch room`.
#[derive(Debug, Deserialize)]
struct Entered {
    room: String,
    members: Vec<String>,
    history: Vec<ChatMessage>,
}

/// The room this client is in, so that it can go back there after a reconnection.
type Room = Arc<Mutex<String>>;

const LOBBY: &str = "general";

/// How long to wait for the server's answer to `join` and `switch room` (it does not answer a
/// request it ignores, such as switching to the room one is in).
const ANSWER: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
    let name = args
        .next()
        .unwrap_or_else(|| format!("rust-{}", std::process::id()));
    let room: Room = Arc::new(Mutex::new(LOBBY.to_owned()));

    let joined_room = Arc::clone(&room);
    let joining_name = name.clone();
    let socket = io(&url, ManagerOptions::default())?
        .on("chat message", |_, event| {
            if let Ok(m) = event.arg::<ChatMessage>(0) {
                println!("[{}] {}: {}", m.room, m.name, m.text);
            }
        })
        .on("user joined", |_, event| {
            if let Ok(p) = event.arg::<Presence>(0) {
                println!("* {} joined #{} ({} here)", p.name, p.room, p.users);
            }
        })
        .on("user left", |_, event| {
            if let Ok(p) = event.arg::<Presence>(0) {
                println!("* {} left #{} ({} here)", p.name, p.room, p.users);
            }
        })
        .on_connect(move |socket| {
            // A new connection (the first, or after a reconnection the server did not
            // recover) knows nothing of us: join again, and go back to our room.
            if socket.recovered() {
                println!("* reconnected");
                return;
            }
            let socket = socket.clone();
            let name = joining_name.clone();
            let room = Arc::clone(&joined_room);
            tokio::spawn(async move { join(&socket, &name, &room).await });
        })
        .on_connect_error(|_, err| println!("* cannot connect: {err}"))
        .on_disconnect(|_, reason| match reason {
            DisconnectReason::IoClientDisconnect => {}
            reason if reason.will_reconnect() => {
                println!("* disconnected ({reason}), reconnecting…")
            }
            reason => println!("* disconnected ({reason})"),
        })
        .build();
    socket.manager().on_reconnect_attempt(|_, attempt| {
        if attempt > 1 {
            println!("* reconnection attempt {attempt}");
        }
    });

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "/quit" {
            break;
        }
        if let Some(next) = line.strip_prefix("/room ") {
            switch_room(&socket, next.trim(), &room).await;
            continue;
        }
        // Sent at once when connected, buffered until the connection is back otherwise.
        socket.emit("chat message", &(line,))?;
    }
    socket.disconnect();
    Ok(())
}

/// Joins the chat under `name`, then goes back to `room` if that is not the lobby.
async fn join(socket: &Socket, name: &str, room: &Room) {
    match socket.timeout(ANSWER).emit_with_ack("join", &(name,)).await {
        Ok(answer) => match answer.arg::<Entered>(0) {
            Ok(entered) => show(&entered, name),
            Err(e) => println!("* unexpected answer to join: {e}"),
        },
        Err(e) => {
            println!("* join failed: {e}");
            return;
        }
    }
    let wanted = room.lock().map(|r| r.clone()).unwrap_or_default();
    if wanted != LOBBY {
        switch_room(socket, &wanted, room).await;
    }
}

async fn switch_room(socket: &Socket, next: &str, room: &Room) {
    match socket
        .timeout(ANSWER)
        .emit_with_ack("switch room", &(next,))
        .await
    {
        Ok(answer) => match answer.arg::<Entered>(0) {
            Ok(entered) => {
                if let Ok(mut r) = room.lock() {
                    r.clone_from(&entered.room);
                }
                show(&entered, "");
            }
            Err(e) => println!("* unexpected answer to switch room: {e}"),
        },
        Err(e) => println!("* switch room failed: {e}"),
    }
}

fn show(entered: &Entered, name: &str) {
    for m in &entered.history {
        println!("[{}] {}: {}", m.room, m.name, m.text);
    }
    let who = if name.is_empty() {
        String::new()
    } else {
        format!(" as {name}")
    };
    println!(
        "* in #{}{who} with {}",
        entered.room,
        entered.members.join(", ")
    );
}
