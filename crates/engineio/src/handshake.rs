//! Opening a session: the id, the open packet, registration, the heartbeat.

use std::sync::Arc;

use crate::config::TransportKind;
use crate::engine::Engine;
use crate::packet::Frame;
use crate::request::RequestInfo;
use crate::sid::Sid;
use crate::socket::Socket;

/// The JSON of the open packet, with Node's keys in Node's order.
pub(crate) fn open_json(
    sid: Sid,
    upgrades: &[&str],
    ping_interval_ms: u128,
    ping_timeout_ms: u128,
    max_payload: usize,
) -> String {
    use std::fmt::Write as _;
    // Written in one buffer of the right size: once per session, on the handshake's path.
    let mut json = String::with_capacity(128);
    json.push_str("{\"sid\":\"");
    json.push_str(sid.as_str());
    json.push_str("\",\"upgrades\":[");
    for (i, upgrade) in upgrades.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push('"');
        json.push_str(upgrade);
        json.push('"');
    }
    let _ = write!(
        json,
        "],\"pingInterval\":{ping_interval_ms},\"pingTimeout\":{ping_timeout_ms},\"maxPayload\":{max_payload}}}"
    );
    json
}

/// Creates, registers and announces a session; its open packet is queued.
pub(crate) fn open<D: Default + Send + Sync + 'static>(
    engine: &Arc<Engine<D>>,
    request: Arc<RequestInfo>,
    transport: TransportKind,
    supports_binary: bool,
) -> std::io::Result<Arc<Socket<D>>> {
    let sid = Sid::generate()?;
    let config = &engine.config;
    let upgrades: &[&str] =
        if transport == TransportKind::Polling && config.allow_upgrades && config.websocket {
            &["websocket"]
        } else {
            &[]
        };
    let json = open_json(
        sid,
        upgrades,
        config.ping_interval.as_millis(),
        config.ping_timeout.as_millis(),
        config.max_http_buffer_size,
    );
    let socket = Arc::new(Socket::new(
        sid,
        request,
        D::default(),
        transport,
        supports_binary,
        Arc::clone(engine),
    ));
    socket.push_control(Frame::open(&json));
    if let Some(initial) = &config.initial_packet {
        let _ = socket.send(initial.clone());
    }
    engine.insert(Arc::clone(&socket));
    engine.heartbeat.start(&socket);
    tracing::debug!(%sid, transport = transport.as_str(), "session opened");
    engine.handler.on_open(&socket);
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_packet_has_nodes_keys_in_order() {
        let sid = Sid::parse("AAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(
            open_json(sid, &["websocket"], 25000, 20000, 1_000_000),
            r#"{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
    }
}
