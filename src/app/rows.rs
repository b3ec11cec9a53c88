//! One transfer as the window shows it: [`TransferRow`] with its
//! [`Phase`], progress numbers, and what its buttons act on (the folder to
//! open, the single file to show, the paths Retry sends again). A row is a
//! transfer with another Ferry device or an upload from a browser through
//! the share. Plain data, updated by [`super::state::UiState::apply`] and
//! `apply_share`; no drawing, no I/O.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::api::{Direction, Outcome, Pauses, TransferId};
use crate::i18n::tr;

/// Where a transfer is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Outgoing: counting the picked folders' files before the offer (shown
    /// once counting takes a while).
    Counting {
        /// Files counted so far.
        files: u64,
        /// Their bytes.
        bytes: u64,
    },
    /// Outgoing to a LocalSend device: reading the picked files for their
    /// SHA-256 before the offer (shown once that takes a while).
    Checksumming {
        /// Files read in full so far.
        files: u64,
        /// Bytes read so far.
        bytes: u64,
        /// Files to read.
        total_files: u64,
        /// Their bytes.
        total_bytes: u64,
    },
    /// Outgoing: connecting and offering.
    Connecting,
    /// Outgoing: offered; the receiver has not answered yet.
    WaitingForAnswer,
    /// Bytes are flowing (or about to, after an accept).
    Running,
    /// Ended.
    Finished(Outcome),
}

/// One transfer in either direction, as the transfer list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRow {
    /// Engine id.
    pub id: TransferId,
    /// Which way.
    pub direction: Direction,
    /// The other device's name.
    pub peer: String,
    /// The other device's id, when known.
    pub peer_id: Option<String>,
    /// The other device's address.
    pub addr: Option<SocketAddr>,
    /// Where it stands.
    pub phase: Phase,
    /// True for a text message.
    pub is_text: bool,
    /// Outgoing message text (Retry sends it again).
    pub text: Option<String>,
    /// Six digits both screens show for this pair of devices, once the
    /// receiver proved its key (outgoing).
    pub pairing: Option<String>,
    /// Top-level names, for the row title and history.
    pub names: Vec<String>,
    /// Files in the transfer (accepted files once started).
    pub files_total: u32,
    /// Files finished.
    pub files_done: u32,
    /// Bytes in the transfer.
    pub bytes_total: u64,
    /// Bytes done (including resumed ones).
    pub bytes_done: u64,
    /// Bytes that were already there from an earlier try.
    pub resumed_bytes: u64,
    /// Smoothed bytes per second.
    pub rate: f64,
    /// Estimated time left.
    pub eta: Option<Duration>,
    /// The file in flight.
    pub current: String,
    /// Outgoing: the local paths sent (Retry sends them again).
    pub paths: Vec<PathBuf>,
    /// Incoming: final paths of verified files.
    pub saved: Vec<PathBuf>,
    /// Incoming: the download folder used.
    pub download_dir: Option<PathBuf>,
    /// Cancel was pressed; waiting for the engine to confirm.
    pub cancelling: bool,
    /// An upload from a browser through the share (no Cancel, no resume).
    pub browser: bool,
    /// Who holds it paused, once it can be paused (a Ferry transfer whose
    /// files stream; never a LocalSend or browser one).
    pub pause: Option<Pauses>,
    /// Failed with the connection lost: the engine resumes it by itself
    /// when this device (its name) is back.
    pub resume_waiting: Option<String>,
}

impl TransferRow {
    pub(super) fn new(
        id: TransferId,
        direction: Direction,
        peer: String,
        addr: Option<SocketAddr>,
    ) -> Self {
        TransferRow {
            id,
            direction,
            peer,
            peer_id: None,
            addr,
            phase: Phase::Connecting,
            is_text: false,
            text: None,
            pairing: None,
            names: Vec::new(),
            files_total: 0,
            files_done: 0,
            bytes_total: 0,
            bytes_done: 0,
            resumed_bytes: 0,
            rate: 0.0,
            eta: None,
            current: String::new(),
            paths: Vec::new(),
            saved: Vec::new(),
            download_dir: None,
            cancelling: false,
            browser: false,
            pause: None,
            resume_waiting: None,
        }
    }

    /// A failed or cancelled outgoing transfer that Retry can send again.
    pub fn retryable(&self) -> bool {
        self.direction == Direction::Outgoing
            && (!self.paths.is_empty() || self.text.is_some())
            && matches!(
                self.phase,
                Phase::Finished(Outcome::Failed(_) | Outcome::Cancelled { .. })
            )
    }

    /// True until the engine reports the end.
    pub fn is_active(&self) -> bool {
        !matches!(self.phase, Phase::Finished(_))
    }

    /// True while it runs and either side holds it paused.
    pub fn is_paused(&self) -> bool {
        self.is_active() && self.pause.is_some_and(Pauses::any)
    }

    /// True once it ended well.
    pub fn phase_is_success(&self) -> bool {
        matches!(&self.phase, Phase::Finished(outcome) if outcome.is_success())
    }

    /// True when `other` moves the same thing between the same two devices
    /// (a retry, or the sender trying again): same direction, same device
    /// (by id when both know it, else by address), same names or text.
    pub fn same_transfer_as(&self, other: &TransferRow) -> bool {
        let same_device = match (&self.peer_id, &other.peer_id) {
            (Some(a), Some(b)) => a == b,
            _ => self.addr.is_some() && self.addr == other.addr,
        };
        self.direction == other.direction
            && same_device
            && self.is_text == other.is_text
            && self.names == other.names
            && self.text == other.text
            && self.browser == other.browser
    }

    /// Fraction done, 0..=1.
    pub fn fraction(&self) -> f32 {
        match &self.phase {
            Phase::Finished(Outcome::Completed { .. }) => 1.0,
            _ if self.bytes_total == 0 => 0.0,
            _ => (self.bytes_done as f64 / self.bytes_total as f64).clamp(0.0, 1.0) as f32,
        }
    }

    /// "report.pdf", "report.pdf and 2 more", or "Message".
    pub fn title(&self) -> String {
        if self.is_text {
            return tr!("transfers-title-message");
        }
        // A browser that announced no names: the names it was saved under.
        let saved: Vec<String>;
        let names = if self.names.is_empty() && !self.saved.is_empty() {
            saved = self
                .saved
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            &saved
        } else {
            &self.names
        };
        match names.as_slice() {
            [] if self.browser => tr!("transfers-title-browser"),
            [] => tr!("transfers-title-files", count = self.files_total),
            [one] => one.clone(),
            [first, rest @ ..] => tr!("transfers-title-more", first = first, count = rest.len()),
        }
    }

    /// The folder "Open folder" shows.
    pub fn folder(&self) -> Option<PathBuf> {
        match self.direction {
            Direction::Incoming => self
                .saved
                .first()
                .and_then(|p| p.parent().map(PathBuf::from))
                .or_else(|| self.download_dir.clone()),
            Direction::Outgoing => self
                .paths
                .first()
                .and_then(|p| p.parent().map(PathBuf::from)),
        }
    }

    /// The single file "Show file" reveals, when there is exactly one.
    pub fn single_file(&self) -> Option<PathBuf> {
        match self.direction {
            Direction::Incoming if self.saved.len() == 1 => self.saved.first().cloned(),
            Direction::Outgoing if self.paths.len() == 1 => self.paths.first().cloned(),
            _ => None,
        }
    }
}
