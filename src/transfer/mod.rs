//! Moving one transfer's bytes: building an offer from local paths, the
//! sending and receiving workers, streaming SHA-256, partial files, resume and
//! progress. Each worker runs on its own named thread, owns its connection,
//! and reports only through [`crate::engine::EventSink`]; nothing here knows
//! about the UI, and nothing here writes to disk before a transfer is accepted.
//!
//! `send/` is one transfer going out, `receive/` one coming in; what both
//! use (the engine's [`context::Context`], the read [`pump`], the shared
//! worker loop, pauses, progress and hashing) sits here beside them. Neither side
//! imports the other.

pub(crate) mod context;
pub mod hash;
pub(crate) mod interrupted;
pub mod pair;
pub(crate) mod pause;
pub mod progress;
pub mod pump;
pub mod receive;
pub(crate) mod running;
pub mod send;
pub(crate) mod worker;
