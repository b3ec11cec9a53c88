//! Moving one transfer's bytes: building an offer from local paths, the
//! sending and receiving workers, streaming SHA-256, partial files, resume and
//! progress. Each worker runs on its own named thread, owns its connection,
//! and reports only through [`crate::engine::EventSink`]; nothing here knows
//! about the UI, and nothing here writes to disk before a transfer is accepted.

pub(crate) mod context;
pub mod incoming;
pub mod outgoing;
pub mod progress;
pub mod pump;
pub mod readahead;
pub mod resume;
pub mod source;
