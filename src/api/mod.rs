//! The shared vocabulary between the engine and its two faces (the window
//! and the CLI): the [`Command`]s they send, the [`Event`]s they receive, the
//! ids and outcomes of transfers, and the views of devices, offers and
//! settings those carry. Tests drive the engine with the same words.
//!
//! This module imports nothing else of Ferry's and carries no wire types: a
//! change to the Ferry protocol (or to LocalSend's) never changes what the
//! window sees, and the window can be read without knowing either protocol.
//! The engine converts wire messages into these views at its edge.

mod command;
mod device;
mod event;
mod format;
mod offer;
mod settings;
mod share;
mod sink;
mod transfer;

pub use command::{Command, Decision};
pub use device::{Device, DeviceKind, Peer, PeerSource};
pub use event::{Event, Progress};
pub use format::{BYTE_UNITS, count, human_bytes, human_duration, noun};
pub use offer::{ItemKind, OfferItem, OfferSummary};
pub use settings::{
    AcceptPolicy, PeerTrust, ReceiveSettings, TrustVerdict, TrustedDevice, recognise, remember_in,
};
pub use share::{ShareEvent, ShareRequest, ShareStarted, SharedSummary, UploadPolicy};
pub use sink::{Backlog, EVENT_BATCH, EVENT_CAPACITY, EventSink, Waker};
pub use transfer::{Direction, Outcome, Party, Pauses, TransferId};
