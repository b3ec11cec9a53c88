//! The control messages two Ferry devices exchange over a connection, and the
//! structural checks every received message must pass before anyone acts on
//! it (counts, lengths, depth). This module defines shapes and limits only: it
//! does not decide what a name means on disk (that is `transfer::paths`).

use serde::{Deserialize, Serialize};

use super::bounded;

use super::limits::{
    MAX_ALIAS_BYTES, MAX_NAME_BYTES, MAX_PAGE_ENTRIES, MAX_PATH_DEPTH, MAX_REASON_BYTES,
    MAX_TEXT_BYTES,
};

/// Who a device says it is. Carried in offers and hellos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Stable random identifier of the device, lowercase hex.
    pub device_id: String,
    /// Human-readable name chosen by the user (defaults to the host name).
    pub alias: String,
    /// Operating system family, e.g. "linux", "windows", "macos".
    pub os: String,
    /// TCP port the device accepts transfers on (0 when it does not listen).
    pub port: u16,
}

/// What one entry of an offer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    /// A regular file whose bytes follow after acceptance.
    File,
    /// A folder (possibly empty) to create.
    Directory,
    /// A short text message carried inline.
    Text(String),
}

/// One item of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative path as separate components; never contains separators.
    /// Empty for text entries.
    #[serde(deserialize_with = "bounded::path")]
    pub path: Vec<String>,
    /// File, folder or text.
    pub kind: EntryKind,
    /// Size in bytes (files only; 0 otherwise).
    pub size: u64,
    /// Modification time in milliseconds since the Unix epoch, if known.
    pub modified_ms: Option<i64>,
}

/// A proposed transfer: everything the receiver needs to decide. It names
/// the top-level items only; what is inside each folder is counted in
/// [`Offer::contents`] and listed in [`Message::Page`]s once accepted, so an
/// offer of a million files is as small as one of ten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// Random identifier chosen by the sender for this transfer.
    pub transfer_id: u64,
    /// The sending device.
    pub sender: DeviceInfo,
    /// The top-level files, folders and texts (each file or folder has a
    /// one-component path). Their entry indices are 0, 1, ...
    #[serde(deserialize_with = "bounded::entries")]
    pub entries: Vec<Entry>,
    /// The receiver's PIN, when the sender was given one.
    pub pin: Option<String>,
    /// What is inside each folder of `entries`, one per folder in order.
    #[serde(deserialize_with = "bounded::contents")]
    pub contents: Vec<Contents>,
}

/// What one top-level folder of an offer holds (below it, itself not
/// counted): the receiver decides, checks space and bounds the listing by it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contents {
    /// Files inside, at any depth.
    pub files: u64,
    /// Folders inside, at any depth.
    pub folders: u64,
    /// Bytes of all those files.
    pub bytes: u64,
    /// SHA-256 of the listing as the sender walked it (see docs/PROTOCOL.md):
    /// the same folder offered again has the same fingerprint, so an
    /// unfinished copy of it can be continued.
    pub fingerprint: [u8; 32],
}

/// One file the receiver wants, and from which byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WantedFile {
    /// Index into the offer's entries.
    pub index: u32,
    /// Bytes the receiver already holds (a partial file from an earlier try).
    pub offset: u64,
}

/// Why a transfer is being stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CancelReason {
    /// A person pressed Cancel (or Ctrl-C).
    User,
    /// Something failed on the cancelling side; the text says what.
    Error(String),
}

/// What the receiver concluded about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileVerdict {
    /// Size and SHA-256 matched; the file has its final name.
    Verified,
    /// The SHA-256 or size differed; the data was discarded.
    Mismatch,
    /// The receiver could not store the file; the text says why.
    Failed(String),
}

/// Every control message. The first message on a connection is either
/// [`Message::Hello`] or [`Message::PairCommit`]; an offer comes only after
/// the pairing exchange (commit, nonce, reveal). New variants are appended:
/// a variant's number is its place in this list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// A probe: "who are you?" (and the answer). Used for peers added by address.
    Hello(Hello),
    /// Sender → receiver: the proposed transfer.
    Offer(Offer),
    /// Receiver → sender: the files wanted (a subset is fine) with resume offsets.
    Accept(#[serde(deserialize_with = "bounded::wanted")] Vec<WantedFile>),
    /// Receiver → sender: no thanks.
    Decline(String),
    /// Sender → receiver: bytes of file `index` follow, starting at `offset`.
    FileStart {
        /// Entry index.
        index: u32,
        /// First byte that follows.
        offset: u64,
    },
    /// Sender → receiver: the file is complete; SHA-256 of the whole file.
    FileEnd {
        /// Entry index.
        index: u32,
        /// SHA-256 of the file from byte 0.
        sha256: [u8; 32],
    },
    /// Sender → receiver: the file could not be sent whole (e.g. it changed on disk).
    FileAbandoned {
        /// Entry index.
        index: u32,
        /// Why, in a sentence.
        reason: String,
    },
    /// Receiver → sender: the outcome for one file.
    FileResult {
        /// Entry index.
        index: u32,
        /// What happened.
        verdict: FileVerdict,
    },
    /// Sender → receiver: nothing more follows.
    Done,
    /// Receiver → sender: final count, the last message of a transfer.
    Summary {
        /// Files verified under their final name.
        verified: u32,
        /// Files that failed.
        failed: u32,
    },
    /// Either side: stop now.
    Cancel(CancelReason),
    /// Receiver → sender: this receiver needs a PIN; the offer is refused.
    NeedPin {
        /// True if the offer carried a PIN and it was wrong.
        wrong: bool,
        /// Seconds before another attempt from this address is considered
        /// (0 unless too many wrong PINs arrived).
        retry_after_secs: u32,
    },
    /// Either side: "still here". Sent after a few idle seconds so a dead peer
    /// is noticed by its silence; carries nothing and needs no answer.
    Ping,
    /// Sender → receiver, the first message of a transfer: who is sending and
    /// its commitment to a fresh random value (see `secure::pairing`).
    PairCommit {
        /// The sending device (its id must be the one its certificate proves).
        device: DeviceInfo,
        /// SHA-256 of the sender's nonce, which stays secret until the reveal.
        commitment: [u8; 32],
    },
    /// Receiver → sender: who is receiving and its own fresh random value,
    /// sent before it knows the sender's.
    PairNonce {
        /// The receiving device (its id must be the one its certificate proves).
        device: DeviceInfo,
        /// The receiver's nonce.
        nonce: [u8; 32],
    },
    /// Sender → receiver: the value behind the commitment. Both sides now
    /// know the pairing code; the offer follows when the sender may send.
    PairReveal {
        /// The sender's nonce; it must open the commitment.
        nonce: [u8; 32],
        /// True when the sender's person is asked to compare the codes now
        /// (a new device, or a known name with another key): the receiver
        /// shows its code at once instead of waiting for the offer.
        confirming: bool,
    },
    /// Sender → receiver: the next entries of top-level folder `item`'s
    /// listing, parents before children, with entry indices `first`, `first + 1`, ...
    Page {
        /// Index of the top-level folder (an entry of the offer) being listed.
        item: u32,
        /// Entry index of `entries[0]`.
        first: u32,
        /// Files and folders inside it; full paths from the top-level name.
        #[serde(deserialize_with = "bounded::page")]
        entries: Vec<Entry>,
    },
    /// Receiver → sender: the answer to the page starting at `first`: the
    /// files wanted from it, ascending, with the bytes already held.
    Want {
        /// The `first` of the page answered.
        first: u32,
        /// Wanted files of that page.
        #[serde(deserialize_with = "bounded::page_wanted")]
        files: Vec<WantedFile>,
    },
    /// Either side, while files stream: this side's person paused the
    /// transfer. The sender sends no file data while either side holds a
    /// pause; pings keep the connection alive however long it lasts.
    /// Repeating it changes nothing.
    Pause,
    /// Either side: this side lifts its own pause (the other side's, if it
    /// holds one, stays). Repeating it changes nothing.
    Resume,
}

/// Payload of [`Message::Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The device speaking.
    pub device: DeviceInfo,
    /// Device ids whose beacons this device heard recently (lets a peer tell
    /// whether its own beacons arrive). Capped at [`MAX_HEARD`].
    #[serde(deserialize_with = "bounded::heard")]
    pub heard: Vec<String>,
}

/// Most device ids one hello may list.
pub const MAX_HEARD: usize = 256;

/// A received message broke a structural limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Too many entries in a page.
    #[error("a page has {0} entries; at most {MAX_PAGE_ENTRIES} are allowed")]
    TooManyEntries(usize),
    /// A path too deep.
    #[error("a path has {0} levels; at most {MAX_PATH_DEPTH} are allowed")]
    TooDeep(usize),
    /// A name too long.
    #[error("a name is {0} bytes long; at most {MAX_NAME_BYTES} are allowed")]
    NameTooLong(usize),
    /// Too much text.
    #[error("the offer carries {0} bytes of text; at most {MAX_TEXT_BYTES} are allowed")]
    TooMuchText(usize),
    /// An alias too long.
    #[error("the device name is {0} bytes long; at most {MAX_ALIAS_BYTES} are allowed")]
    AliasTooLong(usize),
    /// A reason too long.
    #[error("a message of {0} bytes is longer than the {MAX_REASON_BYTES} allowed")]
    ReasonTooLong(usize),
    /// An entry shape that makes no sense (e.g. a file with no path).
    #[error("the offer is malformed: {0}")]
    Malformed(&'static str),
}

impl DeviceInfo {
    /// Checks lengths of the fields a peer controls.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        if self.alias.len() > MAX_ALIAS_BYTES {
            return Err(LimitError::AliasTooLong(self.alias.len()));
        }
        if self.device_id.len() > MAX_ALIAS_BYTES || self.os.len() > MAX_ALIAS_BYTES {
            return Err(LimitError::Malformed("device id or OS name too long"));
        }
        Ok(())
    }
}

impl Offer {
    /// Checks every structural limit; names are judged later by `transfer::paths`.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        self.sender.check_limits()?;
        if let Some(pin) = self.pin.as_ref().filter(|pin| pin.len() > MAX_REASON_BYTES) {
            return Err(LimitError::ReasonTooLong(pin.len()));
        }
        let mut text_bytes = 0usize;
        let mut folders = 0usize;
        for entry in &self.entries {
            entry.check_limits()?;
            match &entry.kind {
                EntryKind::Text(text) => text_bytes = text_bytes.saturating_add(text.len()),
                _ if entry.path.len() != 1 => {
                    return Err(LimitError::Malformed(
                        "an offered file or folder is not a top-level name",
                    ));
                }
                EntryKind::Directory => folders += 1,
                EntryKind::File => {}
            }
        }
        if text_bytes > MAX_TEXT_BYTES {
            return Err(LimitError::TooMuchText(text_bytes));
        }
        if folders != self.contents.len() {
            return Err(LimitError::Malformed(
                "the offer does not say what each folder holds",
            ));
        }
        Ok(())
    }

    /// Total bytes of all files, top-level and inside folders.
    pub fn total_file_bytes(&self) -> u64 {
        let loose = self
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.size);
        let inside = self.contents.iter().map(|c| c.bytes);
        loose.chain(inside).fold(0u64, u64::saturating_add)
    }

    /// Each top-level folder's entry index with what it holds.
    pub fn folders(&self) -> impl Iterator<Item = (usize, &Contents)> {
        let indices = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == EntryKind::Directory)
            .map(|(i, _)| i);
        indices.zip(&self.contents)
    }
}

impl Entry {
    /// Depth and name length; a listed entry also has a name.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        if self.path.len() > MAX_PATH_DEPTH {
            return Err(LimitError::TooDeep(self.path.len()));
        }
        if let Some(long) = self.path.iter().find(|name| name.len() > MAX_NAME_BYTES) {
            return Err(LimitError::NameTooLong(long.len()));
        }
        Ok(())
    }
}

impl Message {
    /// Checks the free-form strings of messages other than offers and hellos.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        let reason_len = match self {
            Message::Offer(offer) => return offer.check_limits(),
            Message::Hello(hello) => {
                if hello.heard.len() > MAX_HEARD {
                    return Err(LimitError::Malformed("hello lists too many devices"));
                }
                if hello.heard.iter().any(|id| id.len() > MAX_ALIAS_BYTES) {
                    return Err(LimitError::Malformed(
                        "hello lists a device id that is too long",
                    ));
                }
                return hello.device.check_limits();
            }
            Message::PairCommit { device, .. } | Message::PairNonce { device, .. } => {
                return device.check_limits();
            }
            Message::Page { entries, .. } => {
                if entries.len() > MAX_PAGE_ENTRIES {
                    return Err(LimitError::TooManyEntries(entries.len()));
                }
                for entry in entries {
                    entry.check_limits()?;
                    if entry.path.len() < 2 || matches!(entry.kind, EntryKind::Text(_)) {
                        return Err(LimitError::Malformed(
                            "a listed entry is not a file or folder inside the folder",
                        ));
                    }
                }
                return Ok(());
            }
            Message::Decline(reason) => reason.len(),
            Message::FileAbandoned { reason, .. } => reason.len(),
            Message::FileResult {
                verdict: FileVerdict::Failed(reason),
                ..
            } => reason.len(),
            Message::Cancel(CancelReason::Error(reason)) => reason.len(),
            _ => 0,
        };
        if reason_len > MAX_REASON_BYTES {
            return Err(LimitError::ReasonTooLong(reason_len));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec;

    fn device() -> DeviceInfo {
        DeviceInfo {
            device_id: "ab".into(),
            alias: "box".into(),
            os: "linux".into(),
            port: 1,
        }
    }

    fn offer_with(entries: Vec<Entry>) -> Offer {
        let folders = entries
            .iter()
            .filter(|e| e.kind == EntryKind::Directory)
            .count();
        Offer {
            transfer_id: 1,
            sender: device(),
            entries,
            pin: None,
            contents: vec![
                Contents {
                    files: 0,
                    folders: 0,
                    bytes: 0,
                    fingerprint: [0; 32],
                };
                folders
            ],
        }
    }

    fn file(path: &[&str]) -> Entry {
        Entry {
            path: path.iter().map(|s| s.to_string()).collect(),
            kind: EntryKind::File,
            size: 1,
            modified_ms: None,
        }
    }

    #[test]
    fn every_message_round_trips() {
        let messages = vec![
            Message::Offer(offer_with(vec![file(&["b.txt"])])),
            Message::Page {
                item: 0,
                first: 1,
                entries: vec![file(&["a", "b.txt"])],
            },
            Message::Want {
                first: 1,
                files: vec![WantedFile {
                    index: 1,
                    offset: 0,
                }],
            },
            Message::Accept(vec![WantedFile {
                index: 0,
                offset: 5,
            }]),
            Message::Decline("busy".into()),
            Message::FileStart {
                index: 0,
                offset: 0,
            },
            Message::FileEnd {
                index: 0,
                sha256: [9; 32],
            },
            Message::FileAbandoned {
                index: 1,
                reason: "changed".into(),
            },
            Message::FileResult {
                index: 0,
                verdict: FileVerdict::Mismatch,
            },
            Message::Done,
            Message::Summary {
                verified: 1,
                failed: 0,
            },
            Message::Cancel(CancelReason::User),
            Message::Ping,
            Message::PairCommit {
                device: device(),
                commitment: [3; 32],
            },
            Message::PairNonce {
                device: device(),
                nonce: [4; 32],
            },
            Message::PairReveal {
                nonce: [5; 32],
                confirming: true,
            },
            Message::NeedPin {
                wrong: true,
                retry_after_secs: 30,
            },
            Message::Hello(Hello {
                device: device(),
                heard: vec!["cd".into()],
            }),
            Message::Pause,
            Message::Resume,
        ];
        for message in messages {
            let bytes = codec::encode(&message).expect("encode");
            let back: Message = codec::decode(&bytes).expect("decode");
            assert_eq!(back, message);
        }
    }

    #[test]
    fn limits_are_enforced() {
        let too_many = Message::Page {
            item: 0,
            first: 1,
            entries: vec![file(&["d", "x"]); MAX_PAGE_ENTRIES + 1],
        };
        assert_eq!(
            too_many.check_limits(),
            Err(LimitError::TooManyEntries(MAX_PAGE_ENTRIES + 1))
        );
        let deep: Vec<&str> = vec!["d"; MAX_PATH_DEPTH + 1];
        let deep_page = Message::Page {
            item: 0,
            first: 1,
            entries: vec![file(&deep)],
        };
        assert!(matches!(
            deep_page.check_limits(),
            Err(LimitError::TooDeep(_))
        ));
        // Offers name top-level items only; a folder needs its contents.
        assert!(offer_with(vec![file(&["a", "b"])]).check_limits().is_err());
        let mut folder = offer_with(vec![file(&["a"])]);
        folder.entries[0].kind = EntryKind::Directory;
        assert!(folder.check_limits().is_err());
        let long = "n".repeat(MAX_NAME_BYTES + 1);
        assert!(matches!(
            offer_with(vec![file(&[&long])]).check_limits(),
            Err(LimitError::NameTooLong(_))
        ));
        let text = Entry {
            path: vec![],
            kind: EntryKind::Text("t".repeat(MAX_TEXT_BYTES + 1)),
            size: 0,
            modified_ms: None,
        };
        assert!(matches!(
            offer_with(vec![text]).check_limits(),
            Err(LimitError::TooMuchText(_))
        ));
        assert!(offer_with(vec![file(&[])]).check_limits().is_err());
        let hello = |id: String| {
            Message::Hello(Hello {
                device: device(),
                heard: vec![id],
            })
        };
        assert!(hello("ab".into()).check_limits().is_ok());
        assert!(
            hello("x".repeat(MAX_ALIAS_BYTES + 1))
                .check_limits()
                .is_err()
        );
        assert!(offer_with(vec![file(&["fine.txt"])]).check_limits().is_ok());
    }
}
