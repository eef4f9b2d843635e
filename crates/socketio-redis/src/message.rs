//! The messages of `@socket.io/redis-adapter` (classic): request and response types, the
//! packet object of `socket.io-parser` (`{type, data, nsp}`), and broadcast options
//! (`{rooms, except, flags}`), to and from [`Value`]s.

use std::time::Duration;

use socketio::server::{BroadcastFlags, BroadcastOptions, Room, room_of};
use socketio::{Map, Packet, PacketType, Payload, Value};

/// The `type` of a request or response (`RequestType` in the Node adapter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestType {
    Sockets = 0,
    AllRooms = 1,
    RemoteJoin = 2,
    RemoteLeave = 3,
    RemoteDisconnect = 4,
    RemoteFetch = 5,
    ServerSideEmit = 6,
    Broadcast = 7,
    BroadcastClientCount = 8,
    BroadcastAck = 9,
}

impl RequestType {
    pub(crate) fn from_value(v: Option<&Value>) -> Option<RequestType> {
        Some(match v?.as_u64()? {
            0 => RequestType::Sockets,
            1 => RequestType::AllRooms,
            2 => RequestType::RemoteJoin,
            3 => RequestType::RemoteLeave,
            4 => RequestType::RemoteDisconnect,
            5 => RequestType::RemoteFetch,
            6 => RequestType::ServerSideEmit,
            7 => RequestType::Broadcast,
            8 => RequestType::BroadcastClientCount,
            9 => RequestType::BroadcastAck,
            _ => return None,
        })
    }

    pub(crate) fn value(self) -> Value {
        Value::from(self as u8)
    }
}

/// Builds an object from its entries.
pub(crate) fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut m = Map::with_capacity(N);
    for (k, v) in entries {
        m.insert(k, v);
    }
    Value::Object(m)
}

fn rooms_value(rooms: &[Room]) -> Value {
    Value::Array(rooms.iter().map(|r| Value::String(r.to_string())).collect())
}

fn rooms_from(value: Option<&Value>) -> Vec<Room> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(room_of).collect(),
        // `socketsJoin("room")` from an emitter sends an array; be lenient with one room.
        Some(v) => room_of(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The room list of a request (`rooms` of REMOTE_JOIN / REMOTE_LEAVE).
pub(crate) fn request_rooms(value: Option<&Value>) -> Vec<Room> {
    rooms_from(value)
}

/// A packet as the `socket.io-parser` object the adapters exchange: `{type: 2, data, nsp}`.
/// The acknowledgement id is left out: each server gives its own.
pub(crate) fn packet_value(packet: &Packet) -> Value {
    let data = packet
        .payload()
        .and_then(|p| p.to_value().ok())
        .unwrap_or_else(|| Value::Array(Vec::new()));
    object([
        ("type", Value::from(PacketType::Event.as_u8())),
        ("data", data),
        ("nsp", Value::String(packet.nsp().to_string())),
    ])
}

/// An EVENT packet from the object another server sent; a missing `nsp` is `/`.
pub(crate) fn packet_from(value: &Value) -> Option<Packet> {
    let kind = PacketType::from_u8(u8::try_from(value.get("type")?.as_u64()?).ok()?)?;
    if !kind.is_event() {
        return None;
    }
    let nsp = value.get("nsp").and_then(Value::as_str).unwrap_or("/");
    let data = value.get("data")?.clone();
    Packet::new(PacketType::Event, nsp, None, Some(Payload::Value(data))).ok()
}

/// The namespace named in a packet object (`/` when missing).
pub(crate) fn packet_nsp(value: &Value) -> &str {
    value.get("nsp").and_then(Value::as_str).unwrap_or("/")
}

/// Broadcast options as sent with a broadcast: `{rooms, except, flags}`.
pub(crate) fn opts_value(opts: &BroadcastOptions) -> Value {
    let mut flags = Map::new();
    if opts.flags.volatile {
        flags.insert("volatile", Value::Bool(true));
    }
    if let Some(t) = opts.flags.timeout {
        flags.insert("timeout", Value::from(t.as_millis() as u64));
    }
    object([
        ("rooms", rooms_value(&opts.rooms)),
        ("except", rooms_value(&opts.except)),
        ("flags", Value::Object(flags)),
    ])
}

/// Targeting as sent with a request: `{rooms, except}`.
pub(crate) fn targets_value(opts: &BroadcastOptions) -> Value {
    object([
        ("rooms", rooms_value(&opts.rooms)),
        ("except", rooms_value(&opts.except)),
    ])
}

/// Broadcast options from what another server sent.
pub(crate) fn opts_from(value: Option<&Value>) -> BroadcastOptions {
    let Some(value) = value else {
        return BroadcastOptions::default();
    };
    let flags = value.get("flags");
    let flag = |name: &str| flags.and_then(|f| f.get(name));
    BroadcastOptions {
        rooms: rooms_from(value.get("rooms")),
        except: rooms_from(value.get("except")),
        flags: BroadcastFlags {
            volatile: flag("volatile").and_then(Value::as_bool).unwrap_or(false),
            local: false,
            timeout: flag("timeout")
                .and_then(Value::as_f64)
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| Duration::from_millis(ms as u64)),
        },
    }
}

/// The string `requestId` of a message.
pub(crate) fn request_id(value: &Value) -> Option<&str> {
    value.get("requestId").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_objects_round_trip_and_default_to_the_main_namespace() {
        let p = Packet::event("/chat", "hello", vec![Value::from(1)]);
        let v = packet_value(&p);
        assert_eq!(v.get("type"), Some(&Value::from(2)));
        let back = packet_from(&v).unwrap();
        assert_eq!(back.nsp(), "/chat");
        assert_eq!(back.event_name(), Some("hello"));
        let mut m = v.as_object().unwrap().clone();
        m.remove("nsp");
        assert_eq!(packet_from(&Value::Object(m)).unwrap().nsp(), "/");
        // a BINARY_EVENT is an event too; other types are not broadcast
        let bin = object([
            ("type", Value::from(5)),
            ("data", Value::from(vec![Value::from("e")])),
        ]);
        assert!(packet_from(&bin).is_some());
        let ack = object([
            ("type", Value::from(3)),
            ("data", Value::from(vec![Value::from("e")])),
        ]);
        assert!(packet_from(&ack).is_none());
    }

    #[test]
    fn options_keep_rooms_flags_and_read_numeric_rooms() {
        let opts = BroadcastOptions {
            rooms: vec![Room::from("a")],
            except: vec![Room::from("b")],
            flags: BroadcastFlags {
                volatile: true,
                local: false,
                timeout: Some(Duration::from_millis(1500)),
            },
        };
        assert_eq!(opts_from(Some(&opts_value(&opts))), opts);
        let node = object([
            ("rooms", Value::from(vec![Value::from(42)])),
            ("except", Value::Array(vec![])),
            ("flags", object([])),
        ]);
        assert_eq!(opts_from(Some(&node)).rooms, vec![Room::from("42")]);
    }
}
