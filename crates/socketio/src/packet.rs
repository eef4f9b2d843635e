//! The Socket.IO packet: [`PacketType`] and [`Packet`].

use smol_str::SmolStr;

use crate::args::Args;
use crate::validate;
use crate::{DecodeError, Map, Payload, Value};

/// The namespace every connection has; packets for it carry no namespace on the wire.
pub const MAIN_NAMESPACE: &str = "/";

/// The seven packet types of Socket.IO protocol v5, with their wire codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: join a namespace (client, with optional auth object) or accept the join (server,
    /// with `{"sid"}`).
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event: `["name", args…]`.
    Event = 2,
    /// `3`: the arguments of an acknowledgement.
    Ack = 3,
    /// `4`: the server refused a namespace join.
    ConnectError = 4,
    /// `5`: an event whose arguments hold binary attachments (wire form only, see [`Packet`]).
    BinaryEvent = 5,
    /// `6`: an acknowledgement whose arguments hold binary attachments (wire form only).
    BinaryAck = 6,
}

impl PacketType {
    /// The type for a wire code, if it is one.
    pub fn from_u8(code: u8) -> Option<PacketType> {
        Some(match code {
            0 => PacketType::Connect,
            1 => PacketType::Disconnect,
            2 => PacketType::Event,
            3 => PacketType::Ack,
            4 => PacketType::ConnectError,
            5 => PacketType::BinaryEvent,
            6 => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// The wire code.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The wire code as the ASCII digit that starts a text packet.
    pub(crate) fn as_ascii(self) -> u8 {
        b'0' + self.as_u8()
    }

    /// The type for the ASCII digit that starts a text packet.
    pub(crate) fn from_ascii(c: u8) -> Option<PacketType> {
        c.checked_sub(b'0').and_then(PacketType::from_u8)
    }

    /// Whether this is `BinaryEvent` or `BinaryAck`, the types that announce attachments.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }

    /// Whether this is `Event` or `BinaryEvent`.
    pub fn is_event(self) -> bool {
        matches!(self, PacketType::Event | PacketType::BinaryEvent)
    }

    /// Whether this is `Ack` or `BinaryAck`.
    pub fn is_ack(self) -> bool {
        matches!(self, PacketType::Ack | PacketType::BinaryAck)
    }

    /// `Event` for `BinaryEvent`, `Ack` for `BinaryAck`, itself otherwise: whether attachments
    /// are needed is decided by the payload when the packet is encoded.
    pub fn without_binary(self) -> PacketType {
        match self {
            PacketType::BinaryEvent => PacketType::Event,
            PacketType::BinaryAck => PacketType::Ack,
            other => other,
        }
    }

    /// The type that carries the same packet with attachments (`Event` → `BinaryEvent`,
    /// `Ack` → `BinaryAck`).
    pub(crate) fn with_binary(self) -> PacketType {
        match self {
            PacketType::Event => PacketType::BinaryEvent,
            PacketType::Ack => PacketType::BinaryAck,
            other => other,
        }
    }
}

impl TryFrom<u8> for PacketType {
    type Error = DecodeError;

    fn try_from(code: u8) -> Result<Self, DecodeError> {
        PacketType::from_u8(code).ok_or(DecodeError::UnknownPacketType)
    }
}

/// A Socket.IO packet: type, namespace, optional acknowledgement id and payload.
///
/// As in socket.io-parser, a packet never has the type `BinaryEvent` or `BinaryAck`: those are
/// wire forms. A received binary packet is an `Event` or `Ack` whose payload is a [`Value`] with
/// [`Value::Binary`] where the placeholders were; a packet whose payload holds binary is sent as
/// `BinaryEvent`/`BinaryAck` with attachments.
///
/// The payload of a received packet without attachments stays raw JSON ([`Payload::Json`]): read
/// the arguments with [`args`](Packet::args) or [`arg`](Packet::arg) straight into your types.
///
/// ```
/// use socketio::{Packet, PacketType, Value};
///
/// let p = Packet::event("/chat", "message", vec![Value::from("hi")]).with_id(3);
/// assert_eq!(p.kind(), PacketType::Event);
/// assert_eq!(p.event_name(), Some("message"));
/// assert_eq!(p.args::<(String,)>().unwrap().0, "hi");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    kind: PacketType,
    nsp: SmolStr,
    id: Option<u64>,
    data: Option<Payload>,
    /// The event name, read once when the packet was built so that dispatch does not parse again.
    event: Option<SmolStr>,
}

impl Packet {
    /// Builds a packet from its parts, checking them as the decoder checks a received packet:
    /// the namespace starts with `/` and holds no `,`, and the payload has the shape the type
    /// requires (see [`DecodeError`] for what is rejected; reserved event names included).
    /// `BinaryEvent`/`BinaryAck` are taken as `Event`/`Ack`.
    pub fn new(
        kind: PacketType,
        nsp: impl Into<SmolStr>,
        id: Option<u64>,
        data: Option<Payload>,
    ) -> Result<Packet, DecodeError> {
        let nsp = nsp.into();
        if !validate::check_namespace(&nsp) {
            return Err(DecodeError::InvalidNamespace);
        }
        let kind = kind.without_binary();
        let event = match &data {
            None => validate::check_value(kind, None)?,
            Some(Payload::Json(raw)) => validate::check_json(kind, Some(raw.as_str()))?,
            Some(Payload::Value(v)) => validate::check_value(kind, Some(v))?,
        };
        Ok(Packet {
            kind,
            nsp,
            id,
            data,
            event,
        })
    }

    /// Assembles a packet whose parts the decoder has already checked.
    pub(crate) fn from_checked(
        kind: PacketType,
        nsp: SmolStr,
        id: Option<u64>,
        data: Option<Payload>,
        event: Option<SmolStr>,
    ) -> Packet {
        Packet {
            kind: kind.without_binary(),
            nsp,
            id,
            data,
            event,
        }
    }

    /// A CONNECT: from a client, `auth` is its auth object; from a server, `{"sid": …}`.
    pub fn connect(nsp: impl Into<SmolStr>, auth: Option<Map>) -> Packet {
        let data = auth.map(|m| Payload::Value(Value::Object(m)));
        Packet {
            kind: PacketType::Connect,
            nsp: nsp.into(),
            id: None,
            data,
            event: None,
        }
    }

    /// A DISCONNECT.
    pub fn disconnect(nsp: impl Into<SmolStr>) -> Packet {
        Packet {
            kind: PacketType::Disconnect,
            nsp: nsp.into(),
            id: None,
            data: None,
            event: None,
        }
    }

    /// An EVENT: `[event, args…]`. Add an acknowledgement id with [`with_id`](Packet::with_id).
    /// Reserved names are not refused here; refusing them is the emitter's job.
    pub fn event(nsp: impl Into<SmolStr>, event: impl Into<SmolStr>, args: Vec<Value>) -> Packet {
        let event: SmolStr = event.into();
        let mut items = Vec::with_capacity(args.len() + 1);
        items.push(Value::String(event.to_string()));
        items.extend(args);
        let data = Some(Payload::Value(Value::Array(items)));
        Packet {
            kind: PacketType::Event,
            nsp: nsp.into(),
            id: None,
            data,
            event: Some(event),
        }
    }

    /// An ACK answering the event with acknowledgement id `id`.
    pub fn ack(nsp: impl Into<SmolStr>, id: u64, args: Vec<Value>) -> Packet {
        let data = Some(Payload::Value(Value::Array(args)));
        Packet {
            kind: PacketType::Ack,
            nsp: nsp.into(),
            id: Some(id),
            data,
            event: None,
        }
    }

    /// A CONNECT_ERROR as the server sends it: `{"message": …, "data": …}`, `data` only when given.
    pub fn connect_error(
        nsp: impl Into<SmolStr>,
        message: impl Into<String>,
        data: Option<Value>,
    ) -> Packet {
        let mut m = Map::with_capacity(2);
        m.insert("message", Value::String(message.into()));
        if let Some(d) = data {
            m.insert("data", d);
        }
        let data = Some(Payload::Value(Value::Object(m)));
        Packet {
            kind: PacketType::ConnectError,
            nsp: nsp.into(),
            id: None,
            data,
            event: None,
        }
    }

    /// The same packet with acknowledgement id `id`.
    pub fn with_id(mut self, id: u64) -> Packet {
        self.id = Some(id);
        self
    }

    /// The type; never `BinaryEvent` or `BinaryAck` (see the type's documentation).
    pub fn kind(&self) -> PacketType {
        self.kind
    }

    /// The namespace, `/` for the main one.
    pub fn nsp(&self) -> &SmolStr {
        &self.nsp
    }

    /// The acknowledgement id: on an EVENT, the sender wants an ACK with this id; on an ACK, the
    /// EVENT it answers.
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// The payload, if any. For an EVENT it is the whole array, event name first.
    pub fn payload(&self) -> Option<&Payload> {
        self.data.as_ref()
    }

    /// Takes the payload out.
    pub fn into_payload(self) -> Option<Payload> {
        self.data
    }

    /// The event name of an EVENT (a numeric name is given as its decimal text).
    pub fn event_name(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// Whether the payload holds binary, i.e. goes out with attachments in the JSON parser.
    pub fn has_binary(&self) -> bool {
        matches!(&self.data, Some(Payload::Value(v)) if v.has_binary())
    }

    /// The arguments (of an EVENT: after the event name; of an ACK: all) as a serde sequence,
    /// read into `T`: a tuple, an array, a `Vec`, a struct read from a sequence, or `()` to
    /// ignore them. Arguments beyond what `T` reads are ignored, as JavaScript ignores extra
    /// arguments. Raw JSON is read directly, without an intermediate tree; strings may be
    /// borrowed from the packet when they hold no escapes.
    ///
    /// Other packet types have no arguments: reading them gives an empty sequence.
    pub fn args<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        T::deserialize(self.args_de())
    }

    /// The argument at `index` (0 = the first after the event name), read into `T`. A missing
    /// argument reads as JavaScript's `undefined`: `None` for an `Option`, an error otherwise.
    pub fn arg<'a, T: serde::Deserialize<'a>>(
        &'a self,
        index: usize,
    ) -> Result<T, serde_json::Error> {
        self.args_de().arg(index)
    }

    fn args_de(&self) -> Args<'_> {
        let skip = usize::from(self.kind.is_event());
        match &self.data {
            Some(Payload::Json(raw)) if self.kind.is_event() || self.kind.is_ack() => Args::Json {
                json: raw.as_str(),
                skip,
            },
            Some(Payload::Value(Value::Array(items)))
                if self.kind.is_event() || self.kind.is_ack() =>
            {
                Args::Values(items.get(skip..).unwrap_or_default())
            }
            _ => Args::Values(&[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RawJson;

    #[test]
    fn packet_new_rejects_namespace_without_slash_or_with_comma() {
        assert_eq!(
            Packet::new(PacketType::Disconnect, "admin", None, None),
            Err(DecodeError::InvalidNamespace)
        );
        assert_eq!(
            Packet::new(PacketType::Disconnect, "/a,b", None, None),
            Err(DecodeError::InvalidNamespace)
        );
    }

    #[test]
    fn packet_new_takes_binary_types_as_plain_ones_and_reads_the_event_name() {
        let data = Payload::Json(r#"["go",1]"#.parse::<RawJson>().unwrap());
        let p = Packet::new(PacketType::BinaryEvent, "/", Some(1), Some(data)).unwrap();
        assert_eq!(p.kind(), PacketType::Event);
        assert_eq!(p.event_name(), Some("go"));
    }

    #[test]
    fn args_skip_the_event_name_and_ignore_extra_arguments() {
        let data = Payload::Json(r#"["go",1,"two",{"x":3}]"#.parse::<RawJson>().unwrap());
        let p = Packet::new(PacketType::Event, "/", None, Some(data)).unwrap();
        let (a, b): (u8, &str) = p.args().unwrap();
        assert_eq!((a, b), (1, "two"));
        assert_eq!(p.arg::<u8>(0).unwrap(), 1);
        assert_eq!(p.arg::<Option<u8>>(5).unwrap(), None);
        assert!(p.arg::<u8>(5).is_err());
        p.args::<()>().unwrap();
    }

    #[test]
    fn ack_args_start_at_the_first_element() {
        let p = Packet::ack("/", 4, vec![Value::from(7), Value::from("x")]);
        assert_eq!(p.args::<(u8, String)>().unwrap(), (7, "x".to_owned()));
        assert_eq!(p.arg::<String>(1).unwrap(), "x");
    }
}
