//! The receiving side's settings as the engine applies them: where files go,
//! who is accepted without a question, the PIN, the remembered devices.
//! Plain data with two rules, [`AcceptPolicy::judge`] and [`recognise`].

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

/// What this device knows about a peer's key, judged from the devices it
/// remembers (like SSH's known hosts): by key first, then by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerTrust {
    /// Its key is remembered: a person confirmed it (or trusted it) before.
    Remembered,
    /// Neither its key nor its name is remembered: first contact.
    New,
    /// Its name belongs to a remembered device, but its key is another: a
    /// reinstalled device, or someone pretending to be it.
    KeyChanged {
        /// The remembered key for that name.
        remembered: String,
    },
}

/// Judges a peer that proved `device_id` and goes by one of `aliases`
/// (the name it gives itself, and the name discovery showed for its
/// address, when they differ) against the `remembered` devices.
pub fn recognise(remembered: &[TrustedDevice], device_id: &str, aliases: &[&str]) -> PeerTrust {
    if remembered.iter().any(|d| d.device_id == device_id) {
        return PeerTrust::Remembered;
    }
    match remembered
        .iter()
        .find(|d| aliases.iter().any(|alias| d.alias == *alias))
    {
        Some(known) => PeerTrust::KeyChanged {
            remembered: known.device_id.clone(),
        },
        None => PeerTrust::New,
    }
}

/// Settings that affect incoming transfers and whom this device trusts in
/// both directions; may change while running.
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
    /// Devices whose pairing code a person confirmed (as sender) or whose
    /// offer a person accepted (as receiver), by key. A send to one of them
    /// needs no confirmation; a name of one arriving with another key is
    /// flagged. The engine adds to it and reports each addition as
    /// [`super::Event::Remembered`] for the window or CLI to persist.
    pub remembered: Vec<TrustedDevice>,
    /// Trust on first use: send to a device never seen before without asking
    /// the person to compare the pairing code (off by default; a changed key
    /// is always asked about).
    pub trust_new: bool,
}

impl ReceiveSettings {
    /// Adds `device` to the remembered devices; false if its key already was.
    pub fn remember(&mut self, device: TrustedDevice) -> bool {
        remember_in(&mut self.remembered, device)
    }
}

/// Adds `device` to `remembered` unless its key is there already (the name
/// it had then stays); true if it was added.
pub fn remember_in(remembered: &mut Vec<TrustedDevice>, device: TrustedDevice) -> bool {
    if remembered.iter().any(|d| d.device_id == device.device_id) {
        return false;
    }
    remembered.push(device);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(id: &str, alias: &str) -> TrustedDevice {
        TrustedDevice {
            device_id: id.into(),
            alias: alias.into(),
        }
    }

    #[test]
    fn a_remembered_name_with_another_key_is_a_changed_key() {
        let remembered = vec![known("k1", "desk")];
        assert_eq!(
            recognise(&remembered, "k1", &["desk"]),
            PeerTrust::Remembered
        );
        assert_eq!(
            recognise(&remembered, "k1", &["renamed"]),
            PeerTrust::Remembered
        );
        assert_eq!(recognise(&remembered, "k2", &["laptop"]), PeerTrust::New);
        assert_eq!(
            recognise(&remembered, "k2", &["laptop", "desk"]),
            PeerTrust::KeyChanged {
                remembered: "k1".into()
            }
        );
    }
}
