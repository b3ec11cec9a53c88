//! The discovery beacon: one small UDP datagram that says "a Ferry device is
//! here, reach it on this TCP port", and its encoding. This module owns the
//! beacon's bytes (magic, format version, size limit, field checks); it never
//! opens a socket and does not decide when beacons are sent or what a
//! received one means for the peer list (that is `crate::discovery`).
//!
//! Layout (see docs/PROTOCOL.md, section 5): the 6-byte [`BEACON_MAGIC`], the
//! beacon format version as u16 big-endian, then a [`Beacon`] encoded through
//! [`super::codec`]. A datagram longer than [`MAX_BEACON_BYTES`] is refused
//! before anything is decoded.

use serde::{Deserialize, Serialize};

use super::codec::{self, CodecError};
use super::limits::MAX_BEACON_BYTES;
use super::messages::{DeviceInfo, LimitError};

/// The six bytes that open every beacon datagram (`"FERRYB"`).
pub const BEACON_MAGIC: [u8; 6] = *b"FERRYB";

/// The beacon format this build sends and understands. Independent of the
/// TCP protocol version, which a beacon carries as a field.
pub const BEACON_VERSION: u16 = 1;

/// Bytes before the encoded body: magic and version.
pub const BEACON_HEADER_BYTES: usize = 8;

/// Capability flag: the device accepts transfers on `device.port`.
pub const CAP_RECEIVE: u32 = 1 << 0;
/// Capability flag: the device accepts text messages.
pub const CAP_TEXT: u32 = 1 << 1;
/// Capability flag: the device resumes interrupted files.
pub const CAP_RESUME: u32 = 1 << 2;
/// Capability flag: the device answers a hello probe on its TCP port.
pub const CAP_HELLO: u32 = 1 << 3;

/// Why a beacon was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BeaconKind {
    /// Periodic broadcast: "I am here". A device that has not seen this
    /// sender (or this run of it) before answers with a unicast [`BeaconKind::Reply`].
    Announce,
    /// Unicast answer to an announce or a query. Never answered.
    Reply,
    /// Broadcast on clean exit: forget me now.
    Goodbye,
    /// Broadcast by a device that only looks (`ferry peers`, `ferry send
    /// --to NAME`, `ferry doctor`): every announcing device answers with a
    /// unicast reply, and nobody lists the sender.
    Query,
}

/// One discovery datagram's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    /// Why it was sent.
    pub kind: BeaconKind,
    /// Random number chosen when the sender's discovery started: a new value
    /// from a known device id means it restarted and should be answered.
    pub instance: u64,
    /// The TCP protocol version the sender speaks (see the greeting).
    pub protocol: u16,
    /// Who is speaking; `port` is its transfer port (0 when it does not listen).
    pub device: DeviceInfo,
    /// `CAP_*` bits; unknown bits are ignored.
    pub flags: u32,
}

/// Why a datagram is not a beacon we can use.
#[derive(Debug, thiserror::Error)]
pub enum BeaconError {
    /// Longer than [`MAX_BEACON_BYTES`].
    #[error("datagram of {0} bytes is larger than a beacon may be")]
    TooLarge(usize),
    /// Not a Ferry beacon at all.
    #[error("not a Ferry beacon")]
    NotFerry,
    /// A beacon of a format this build does not know.
    #[error("beacon format version {0}, this build reads version {BEACON_VERSION}")]
    Version(u16),
    /// The body did not decode.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A field broke a limit or is empty where it must not be.
    #[error(transparent)]
    Limit(#[from] LimitError),
}

/// Checks a device description received from the network (beacon or
/// hello): lengths, a non-empty device id of ASCII letters, digits, `-` and
/// `_`, and no control characters in the alias or OS name (they would reach
/// terminals and windows).
pub fn check_device(device: &DeviceInfo) -> Result<(), LimitError> {
    device.check_limits()?;
    let id = &device.device_id;
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(LimitError::Malformed("bad device id"));
    }
    if device.alias.chars().any(char::is_control) || device.os.chars().any(char::is_control) {
        return Err(LimitError::Malformed("control characters in a name"));
    }
    Ok(())
}

impl Beacon {
    /// Checks the fields a sender controls (see [`check_device`]).
    pub fn check(&self) -> Result<(), LimitError> {
        check_device(&self.device)
    }

    /// The datagram for this beacon. Fails if a field breaks a limit.
    pub fn encode(&self) -> Result<Vec<u8>, BeaconError> {
        self.check()?;
        let body = codec::encode(self)?;
        let mut datagram = Vec::with_capacity(BEACON_HEADER_BYTES + body.len());
        datagram.extend_from_slice(&BEACON_MAGIC);
        datagram.extend_from_slice(&BEACON_VERSION.to_be_bytes());
        datagram.extend_from_slice(&body);
        if datagram.len() > MAX_BEACON_BYTES {
            return Err(BeaconError::TooLarge(datagram.len()));
        }
        Ok(datagram)
    }

    /// Reads one datagram. Never panics, never allocates more than the
    /// datagram's size, whatever the bytes claim.
    pub fn decode(datagram: &[u8]) -> Result<Beacon, BeaconError> {
        if datagram.len() > MAX_BEACON_BYTES {
            return Err(BeaconError::TooLarge(datagram.len()));
        }
        if datagram.len() < BEACON_HEADER_BYTES || datagram[..6] != BEACON_MAGIC {
            return Err(BeaconError::NotFerry);
        }
        let version = u16::from_be_bytes([datagram[6], datagram[7]]);
        if version != BEACON_VERSION {
            return Err(BeaconError::Version(version));
        }
        let beacon: Beacon = codec::decode_datagram(&datagram[BEACON_HEADER_BYTES..])?;
        beacon.check()?;
        Ok(beacon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PROTOCOL_VERSION;
    use crate::protocol::limits::MAX_ALIAS_BYTES;

    fn beacon() -> Beacon {
        Beacon {
            kind: BeaconKind::Announce,
            instance: 0x0102_0304_0506_0708,
            protocol: PROTOCOL_VERSION,
            device: DeviceInfo {
                device_id: "ab12".into(),
                alias: "desk".into(),
                os: "linux".into(),
                port: 47_813,
            },
            flags: CAP_RECEIVE | CAP_HELLO,
        }
    }

    #[test]
    fn round_trip_every_kind() {
        for kind in [
            BeaconKind::Announce,
            BeaconKind::Reply,
            BeaconKind::Goodbye,
            BeaconKind::Query,
        ] {
            let b = Beacon { kind, ..beacon() };
            let bytes = b.encode().expect("encode");
            assert_eq!(Beacon::decode(&bytes).expect("decode"), b);
        }
    }

    /// The layout documented in docs/PROTOCOL.md section 5, byte for byte.
    #[test]
    fn layout_is_as_documented() {
        let bytes = beacon().encode().expect("encode");
        let mut expected = b"FERRYB\x00\x01".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 0]); // kind Announce, u32 LE
        expected.extend_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]); // instance u64 LE
        expected.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes()); // u16 LE
        for s in ["ab12", "desk", "linux"] {
            expected.extend_from_slice(&(s.len() as u64).to_le_bytes());
            expected.extend_from_slice(s.as_bytes());
        }
        expected.extend_from_slice(&47_813u16.to_le_bytes());
        expected.extend_from_slice(&9u32.to_le_bytes());
        assert_eq!(bytes, expected);
    }

    #[test]
    fn largest_legal_beacon_fits_the_limit() {
        let mut b = beacon();
        b.device.device_id = "f".repeat(MAX_ALIAS_BYTES);
        b.device.alias = "é".repeat(MAX_ALIAS_BYTES / 2);
        b.device.os = "o".repeat(MAX_ALIAS_BYTES);
        let bytes = b.encode().expect("encode");
        assert!(bytes.len() <= MAX_BEACON_BYTES, "{} bytes", bytes.len());
        assert_eq!(Beacon::decode(&bytes).expect("decode"), b);
    }

    #[test]
    fn over_limit_fields_are_refused_both_ways() {
        let mut b = beacon();
        b.device.alias = "a".repeat(MAX_ALIAS_BYTES + 1);
        assert!(b.encode().is_err());
        // Hand-build the bytes a careless sender would produce.
        let mut bytes = b"FERRYB\x00\x01".to_vec();
        bytes.extend_from_slice(&codec::encode(&b).expect("raw"));
        assert!(matches!(Beacon::decode(&bytes), Err(BeaconError::Limit(_))));
        let mut bad_id = beacon();
        bad_id.device.device_id = "a b".into();
        assert!(bad_id.encode().is_err());
        let mut control = beacon();
        control.device.alias = "evil\x1b[2J".into();
        assert!(control.encode().is_err());
    }

    #[test]
    fn junk_is_an_error_never_a_panic() {
        let good = beacon().encode().expect("encode");
        assert!(matches!(Beacon::decode(&[]), Err(BeaconError::NotFerry)));
        assert!(matches!(
            Beacon::decode(b"FERRY\0\0\x01"),
            Err(BeaconError::NotFerry)
        ));
        let mut other_version = good.clone();
        other_version[7] = 2;
        assert!(matches!(
            Beacon::decode(&other_version),
            Err(BeaconError::Version(2))
        ));
        assert!(matches!(
            Beacon::decode(&vec![0u8; MAX_BEACON_BYTES + 1]),
            Err(BeaconError::TooLarge(_))
        ));
        // Every truncation and a trailing byte fail cleanly.
        for len in 0..good.len() {
            assert!(Beacon::decode(&good[..len]).is_err(), "prefix of {len}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(Beacon::decode(&longer).is_err());
        // A string claiming 2^62 bytes.
        let mut huge = b"FERRYB\x00\x01".to_vec();
        huge.extend_from_slice(&[0, 0, 0, 0]);
        huge.extend_from_slice(&[0; 8]);
        huge.extend_from_slice(&[1, 0]);
        huge.extend_from_slice(&(1u64 << 62).to_le_bytes());
        assert!(Beacon::decode(&huge).is_err());
        // Pseudo-random bytes after a valid header: no panic, some error.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2_000 {
            let mut bytes = b"FERRYB\x00\x01".to_vec();
            for _ in 0..(x % 300) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                bytes.push(x as u8);
            }
            let _ = Beacon::decode(&bytes);
            x = x.wrapping_add(1);
        }
    }
}
