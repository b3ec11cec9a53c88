//! What names a transfer and how it ends: its id, its direction, who stopped
//! it and its outcome, with the sentence a person reads. Plain data.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Identifies one transfer inside this process (not on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TransferId(pub u64);

impl TransferId {
    /// A new id, unique within this process.
    pub fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TransferId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Which way the bytes flow, seen from this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// We send.
    Outgoing,
    /// We receive.
    Incoming,
}

/// Who stopped a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Party {
    /// The person at this device.
    Local,
    /// The other device.
    Remote,
}

/// Who holds a transfer paused: the person here, the other device, both
/// or nobody. Bytes flow only when nobody does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pauses {
    /// The person at this device paused it.
    pub local: bool,
    /// The other device paused it.
    pub remote: bool,
}

impl Pauses {
    /// True while either side holds it.
    pub fn any(self) -> bool {
        self.local || self.remote
    }

    /// Whether `party` holds it.
    pub fn by(self, party: Party) -> bool {
        match party {
            Party::Local => self.local,
            Party::Remote => self.remote,
        }
    }

    /// The same with `party`'s pause set to `paused`.
    pub fn with(self, party: Party, paused: bool) -> Pauses {
        match party {
            Party::Local => Pauses {
                local: paused,
                ..self
            },
            Party::Remote => Pauses {
                remote: paused,
                ..self
            },
        }
    }
}

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Every accepted file was verified under its final name.
    Completed {
        /// Files verified.
        files: u32,
        /// Bytes of those files.
        bytes: u64,
    },
    /// The receiver said no; the text is its reason.
    Declined(String),
    /// Someone pressed Cancel.
    Cancelled {
        /// Who.
        by: Party,
    },
    /// Something went wrong; the text is a sentence for a person.
    Failed(String),
}

impl Outcome {
    /// True only for [`Outcome::Completed`].
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Completed { .. })
    }

    /// A sentence for a person, seen from `direction`.
    pub fn describe(&self, direction: Direction) -> String {
        let other = match direction {
            Direction::Outgoing => "the receiver",
            Direction::Incoming => "the sender",
        };
        match self {
            Outcome::Completed { files, bytes } => {
                format!(
                    "{}, {}, verified",
                    super::count(*files, "file", "files"),
                    super::human_bytes(*bytes)
                )
            }
            Outcome::Declined(reason) if reason.is_empty() => format!("Declined by {other}"),
            Outcome::Declined(reason) => format!("Declined by {other}: {reason}"),
            Outcome::Cancelled { by: Party::Local } => "Cancelled by you".to_string(),
            Outcome::Cancelled { by: Party::Remote } => format!("Cancelled by {other}"),
            Outcome::Failed(reason) => reason.clone(),
        }
    }
}
