//! Socket.IO protocol v5 for Rust, wire-compatible with the JavaScript socket.io 4.x.
//!
//! # Layout
//!
//! * `packet.rs`: [`Packet`] and [`PacketType`], the protocol's unit.
//! * `payload.rs`: [`Payload`], a packet's data kept as raw JSON ([`RawJson`]) or as a [`Value`].
//! * `value/`: [`Value`], an untyped argument (JSON plus binary), with serde support:
//!   `map.rs` (its ordered object), `de.rs` (`&Value` as a `Deserializer`), `ser.rs` ([`to_value`]).
//! * `args.rs`: reading EVENT/ACK arguments straight into the application's types.
//! * `validate.rs`: the payload rules of each packet type, shared by every parser.
//! * `parser/`: the [`Parser`] and [`Decoder`] traits and [`Encoded`]; `json.rs` is the default
//!   [`JsonParser`] (socket.io-parser), `binary.rs` its attachments (placeholders and
//!   reassembly), `msgpack.rs` the msgpack parser (feature `msgpack`).
//! * `error.rs`: [`DecodeError`] and [`EncodeError`].
//! * `client/` (feature `client`): the client, `Manager` and `Socket`, with reconnection.
//!
//! # Features
//!
//! * `server` (default) and `client`: the server and client sides.
//! * `msgpack`: `MsgpackParser`, compatible with npm `socket.io-msgpack-parser`.
//!
//! # Example
//!
//! ```
//! use socketio::{Decoder, JsonParser, Parser};
//!
//! let parser = JsonParser::default();
//! // Encode once; every socket can be handed the same bytes.
//! let encoded = parser.encode_event("/", "news", &("hello", 42), None).unwrap();
//! assert_eq!(&encoded.text_with_prefix().unwrap()[..], br#"42["news","hello",42]"#);
//!
//! // Decode what a peer sent (the Engine.IO layer strips the `4`).
//! let mut decoder = parser.decoder();
//! let packet = decoder.decode_text(encoded.text().unwrap()).unwrap().unwrap();
//! assert_eq!(packet.event_name(), Some("news"));
//! assert_eq!(packet.args::<(String, u32)>().unwrap(), ("hello".to_owned(), 42));
//! ```

mod args;
#[cfg(feature = "client")]
pub mod client;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod json_text;
mod packet;
pub mod parser;
mod payload;
#[cfg(any(feature = "server", feature = "client"))]
mod send_once;
#[cfg(feature = "server")]
pub mod server;
mod validate;
pub mod value;

pub use error::{DecodeError, EncodeError};
pub use packet::{MAIN_NAMESPACE, Packet, PacketType};
pub use parser::{AnyDecoder, AnyParser, Decoder, Encoded, JsonDecoder, JsonParser, Parser};
#[cfg(feature = "msgpack")]
pub use parser::{MsgpackDecoder, MsgpackParser};
pub use payload::{Payload, RawJson};
pub use validate::is_reserved_event;
pub use value::{Map, Number, Value, to_value};
