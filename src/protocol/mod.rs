//! Ferry's wire format, and the only module that knows it: the greeting,
//! frames, control messages, discovery beacons, limits and the bincode seam.
//! Other modules speak in [`Message`]s and [`Beacon`]s and never touch bytes
//! of the format directly; this module
//! never touches files, threads or the UI. `docs/PROTOCOL.md` describes every
//! byte and must change together with this code.

pub mod beacon;
pub mod codec;
pub mod frame;
pub mod limits;
pub mod messages;

pub use beacon::{Beacon, BeaconKind};
pub use frame::{Frame, FrameReader, FrameWriter, WireError};
pub use messages::{
    CancelReason, DeviceInfo, Entry, EntryKind, FileVerdict, Hello, Message, Offer, WantedFile,
};

/// The six bytes that open every Ferry connection, before the version.
pub const MAGIC: [u8; 6] = *b"FERRY\0";

/// The protocol version this build speaks. Peers must match exactly.
/// Version 2: everything after the greeting runs inside TLS 1.3.
pub const PROTOCOL_VERSION: u16 = 2;

/// The default TCP port for transfers.
pub const DEFAULT_TCP_PORT: u16 = 47_813;

/// A side that has written nothing for this long sends a [`Message::Ping`].
pub const PING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// A connection on which nothing at all arrives for this long is dead. Six
/// missed pings: long enough for a busy disk, short enough that a vanished
/// peer is noticed in seconds rather than at TCP's own timeout (minutes).
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Time allowed for the greeting and the first message of a new connection.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
