//! The one seam to bincode. Every message and beacon is turned into bytes and
//! back here, so the serialisation crate can be swapped by editing this file
//! alone (bincode 2.0.x is pinned: its later releases are unmaintained, see
//! RUSTSEC-2025-0141). This module knows nothing about sockets or framing.
//!
//! The configuration is bincode's "fixed-int, little-endian" flavour, chosen
//! because it is trivial to describe byte by byte in docs/PROTOCOL.md.

use bincode::config::{self, Configuration, Fixint, Limit, LittleEndian};
use serde::{Serialize, de::DeserializeOwned};

use super::limits::{MAX_BEACON_BYTES, MAX_CONTROL_FRAME};

/// Upper bound on what one decode may allocate, equal to the largest control frame.
const DECODE_LIMIT: usize = MAX_CONTROL_FRAME as usize;

type WireConfig<const N: usize> = Configuration<LittleEndian, Fixint, Limit<N>>;

fn wire_config() -> WireConfig<DECODE_LIMIT> {
    limited::<DECODE_LIMIT>()
}

fn limited<const N: usize>() -> WireConfig<N> {
    config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<N>()
}

/// Why bytes could not become a value (or the reverse).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The value could not be serialised (in practice: it exceeded the size limit).
    #[error("could not encode a message: {0}")]
    Encode(String),
    /// The bytes were not a valid message.
    #[error("malformed message: {0}")]
    Decode(String),
    /// The message parsed but bytes were left over, which a well-formed peer never sends.
    #[error("malformed message: {0} unexpected trailing bytes")]
    TrailingBytes(usize),
}

/// Serialises `value` into a fresh buffer of exactly its size. Measuring
/// first costs a second pass over the value, but a buffer grown by doubling
/// would hold up to twice a big offer (10,000 entries: ~0.7 MB) at the moment
/// the sender's memory peaks.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let failed = |e: bincode::error::EncodeError| CodecError::Encode(e.to_string());
    let mut size = bincode::enc::write::SizeWriter::default();
    bincode::serde::encode_into_writer(value, &mut size, wire_config()).map_err(failed)?;
    let mut bytes = vec![0u8; size.bytes_written];
    let written =
        bincode::serde::encode_into_slice(value, &mut bytes, wire_config()).map_err(failed)?;
    bytes.truncate(written);
    Ok(bytes)
}

/// Deserialises exactly one value that must span all of `bytes`. Allocation is
/// bounded by the control frame limit whatever lengths the bytes claim.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_within::<DECODE_LIMIT, T>(bytes)
}

/// Like [`decode`], for a UDP datagram (a beacon): allocation is bounded by
/// [`MAX_BEACON_BYTES`] instead of the control frame limit.
pub fn decode_datagram<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_within::<MAX_BEACON_BYTES, T>(bytes)
}

fn decode_within<const N: usize, T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, limited::<N>())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let value = (7u32, String::from("hi"), vec![1u8, 2]);
        let bytes = encode(&value).expect("encode");
        // u32 LE, then u64 LE length + UTF-8, then u64 LE length + bytes.
        assert_eq!(
            bytes,
            [
                7, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, b'h', b'i', 2, 0, 0, 0, 0, 0, 0, 0, 1, 2
            ]
        );
        let back: (u32, String, Vec<u8>) = decode(&bytes).expect("decode");
        assert_eq!(back, value);
    }

    #[test]
    fn huge_claimed_length_is_refused_without_allocating() {
        // A Vec<u64> claiming 2^60 elements: must fail fast on the limit.
        let bytes = (1u64 << 60).to_le_bytes();
        let result: Result<Vec<u64>, _> = decode(&bytes);
        assert!(matches!(result, Err(CodecError::Decode(_))));
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut bytes = encode(&5u32).expect("encode");
        bytes.push(0);
        assert!(matches!(
            decode::<u32>(&bytes),
            Err(CodecError::TrailingBytes(1))
        ));
    }
}
