//! The receiving side's settings as the engine applies them: where files go,
//! who is accepted without a question, the PIN. Plain data with one rule,
//! [`AcceptPolicy::judge`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A device the person chose to trust ("always accept from this device"):
/// pinned by its certificate fingerprint, with the name it had then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedDevice {
    /// The pinned device id (certificate fingerprint).
    pub device_id: String,
    /// Its alias when it was trusted, to recognise an impostor by name.
    pub alias: String,
}

/// When an incoming offer may be accepted without asking.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AcceptPolicy {
    /// Ask every time.
    #[default]
    Ask,
    /// Accept everything (`ferry receive --yes`, for scripts).
    Everyone,
    /// Accept without asking from these pinned devices only.
    Trusted(Vec<TrustedDevice>),
}

/// What the accept policy says about one sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustVerdict {
    /// Accept without asking.
    Accept,
    /// Ask the person.
    Ask,
    /// The sender uses the name of a trusted device but not its key: refuse.
    Impostor {
        /// The id that was pinned for that name.
        pinned: String,
    },
}

impl AcceptPolicy {
    /// Whether `device_id` is one of the trusted (pinned) devices. Only those
    /// get the slots kept for trusted devices and the full `heard` list.
    pub fn trusts(&self, device_id: &str) -> bool {
        match self {
            AcceptPolicy::Trusted(devices) => devices.iter().any(|d| d.device_id == device_id),
            AcceptPolicy::Ask | AcceptPolicy::Everyone => false,
        }
    }

    /// Judges an offer from a device that proved `device_id` and calls itself `alias`.
    pub fn judge(&self, device_id: &str, alias: &str) -> TrustVerdict {
        match self {
            AcceptPolicy::Ask => TrustVerdict::Ask,
            AcceptPolicy::Everyone => TrustVerdict::Accept,
            AcceptPolicy::Trusted(devices) => {
                if devices.iter().any(|d| d.device_id == device_id) {
                    TrustVerdict::Accept
                } else if let Some(pinned) = devices.iter().find(|d| d.alias == alias) {
                    TrustVerdict::Impostor {
                        pinned: pinned.device_id.clone(),
                    }
                } else {
                    TrustVerdict::Ask
                }
            }
        }
    }
}

/// Settings that affect incoming transfers; may change while running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveSettings {
    /// Where received files go.
    pub download_dir: PathBuf,
    /// Who is accepted without a question.
    pub accept: AcceptPolicy,
    /// A PIN senders must supply, if set.
    pub pin: Option<String>,
    /// Serve transfer connections from any address, not only from the
    /// networks this device uses and peers added by address.
    pub accept_from_anywhere: bool,
}
