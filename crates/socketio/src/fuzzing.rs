//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not a stable API.

use bytes::Bytes;

use crate::parser::binary;
use crate::{DecodeError, Value};

/// Reads the JSON of a binary packet announcing `attachments.len()` attachments both ways the
/// decoder could: placeholders read as marks (what it does), and every placeholder read as an
/// object first; each is checked and filled with `attachments`. The two must agree.
pub fn read_binary_json_both_ways(
    json: &str,
    attachments: &[Bytes],
) -> (Result<Value, DecodeError>, Result<Value, DecodeError>) {
    (
        binary::read_marked(json, attachments),
        binary::read_as_objects(json, attachments),
    )
}
