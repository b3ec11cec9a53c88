//! Ferry's wire format, and the only module that knows it: the greeting,
//! frames, control messages, discovery beacons, limits and the bincode seam.
//! Other modules speak in [`Message`]s and [`Beacon`]s and never touch bytes
//! of the format directly; this module
//! never touches files, threads or the UI. `docs/PROTOCOL.md` describes every
//! byte and must change together with this code.

pub mod beacon;
mod bounded;
pub mod codec;
pub mod frame;
pub mod inplace;
pub mod limits;
pub mod messages;
pub mod views;

pub use beacon::{Beacon, BeaconKind};
pub use frame::{Frame, FrameReader, FrameWriter, WireError};
pub use inplace::{DataBuf, SealWrite};
pub use messages::{
    CancelReason, Contents, DeviceInfo, Entry, EntryKind, FileVerdict, Hello, Message, Offer,
    WantedFile,
};

/// The six bytes that open every Ferry connection, before the version.
pub const MAGIC: [u8; 6] = *b"FERRY\0";

/// The protocol version this build speaks. Peers must match exactly.
/// Version 2: everything after the greeting runs inside TLS 1.3.
/// Version 3: a transfer begins with the pairing exchange (`PairCommit`,
/// `PairNonce`, `PairReveal`) before the offer.
/// Version 3: an offer names the top-level items and what each folder holds;
/// folder listings follow in pages once accepted.
/// Version 4: either side may pause and resume a transfer (`Pause`, `Resume`).
pub const PROTOCOL_VERSION: u16 = 4;

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

/// How long an offer may wait for the person's answer. After it, the sender
/// is told "no answer" and the prompt disappears, so a pending offer kept
/// alive by pings cannot hold a connection (and a prompt slot) forever.
pub const PROMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// A sender counting a big pick (a million files on a slow disk take
/// minutes) tells its person how far it got this often, once the count has
/// run this long: ten times a second, and never for a small pick.
pub const COUNT_REPORT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// The connection timers of one engine. Normally the constants above
/// ([`Timeouts::default`]); tests shorten them (see `docs/RELIABILITY.md`) so a
/// dead peer can be shown to be noticed without waiting half a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Whole budget for greeting, TLS handshake and first message ([`HANDSHAKE_TIMEOUT`]).
    pub handshake: std::time::Duration,
    /// Silence after which a side sends a [`Message::Ping`] ([`PING_INTERVAL`]).
    pub ping: std::time::Duration,
    /// Silence after which a connection is dead ([`IDLE_TIMEOUT`]).
    pub idle: std::time::Duration,
    /// How long an offer waits for the person's answer ([`PROMPT_TIMEOUT`]).
    pub prompt: std::time::Duration,
    /// How often a sender reports a long count of the picked folders to its
    /// person, and how long a count runs before the first report
    /// ([`COUNT_REPORT_EVERY`]; nothing on the wire). Zero: at every step.
    pub count_report: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            handshake: HANDSHAKE_TIMEOUT,
            ping: PING_INTERVAL,
            idle: IDLE_TIMEOUT,
            prompt: PROMPT_TIMEOUT,
            count_report: COUNT_REPORT_EVERY,
        }
    }
}

impl Timeouts {
    /// Makes the set usable: every timer at least 10 ms, and a ping interval
    /// shorter than the idle timeout (at most a third of it), or a quiet but
    /// healthy peer would be declared dead.
    pub fn sanitized(self) -> Timeouts {
        let floor = std::time::Duration::from_millis(10);
        let idle = self.idle.max(floor * 3);
        Timeouts {
            handshake: self.handshake.max(floor),
            ping: self.ping.max(floor).min(idle / 3),
            idle,
            prompt: self.prompt.max(floor),
            count_report: self.count_report,
        }
    }

    /// How often a waiting worker wakes up to check whether it should ping:
    /// often enough to keep [`Timeouts::ping`], at most once a second.
    pub fn tick(&self) -> std::time::Duration {
        (self.ping / 4).clamp(
            std::time::Duration::from_millis(5),
            std::time::Duration::from_secs(1),
        )
    }
}
