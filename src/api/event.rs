//! What the engine reports to the window and the CLI. Every event is plain
//! data; an event about a transfer names it by [`TransferId`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    Device, Direction, OfferSummary, Outcome, Pauses, Peer, ShareEvent, ShareStarted, TransferId,
    TrustedDevice,
};

/// What the engine reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// The listener is up.
    Listening {
        /// Bound address.
        addr: SocketAddr,
    },
    /// An offer waits for a [`Command::Decide`].
    Incoming {
        /// Transfer id to answer with.
        id: TransferId,
        /// The sender as it describes itself.
        from: Device,
        /// The sender's address.
        addr: SocketAddr,
        /// What is offered.
        offer: OfferSummary,
        /// The pairing code of this connection ("042 917"); the sender's
        /// screen showed the same one unless someone is in the middle.
        code: String,
        /// The sender uses the name of a remembered device but another key.
        key_changed: bool,
    },
    /// Sender side, before anything of the transfer left: the receiver is
    /// new (or its name belongs to a remembered device with another key).
    /// Nothing is sent until [`super::Command::ConfirmPeer`] says the person saw
    /// `code` on the receiver's screen.
    ConfirmPeer {
        /// Which transfer.
        id: TransferId,
        /// The receiver's address.
        to: SocketAddr,
        /// The receiver as it describes itself (id proven by TLS).
        device: Device,
        /// The pairing code ("042 917") the receiver should show.
        code: String,
        /// The receiver's name belongs to a remembered device with another
        /// key: a reinstalled device, or an impostor.
        key_changed: bool,
        /// The receiver is a LocalSend device: it has no pairing code, so
        /// `code` is the short form of its certificate's fingerprint (which
        /// Ferry remembers once confirmed) and nothing can be compared.
        localsend: bool,
    },
    /// Receiver side: a sender's person is comparing pairing codes; show
    /// `code` until the offer ([`Event::Incoming`], same id) or the end
    /// ([`Event::Finished`]) comes.
    PairingCode {
        /// The id its offer will have.
        id: TransferId,
        /// The sender as it describes itself (id proven by TLS).
        from: Device,
        /// The sender's address.
        addr: SocketAddr,
        /// The pairing code ("042 917").
        code: String,
    },
    /// A device was remembered (a person confirmed its code, or accepted its
    /// offer): add it to the persisted settings.
    Remembered(TrustedDevice),
    /// An offer was accepted by a trust rule without asking (no
    /// [`Event::Incoming`] comes for it); tells the UI who is sending.
    AutoAccepted {
        /// Transfer id of the incoming transfer.
        id: TransferId,
        /// The sender as it describes itself.
        from: Device,
        /// The sender's address.
        addr: SocketAddr,
        /// What is offered (counts, and the top-level entries only).
        offer: OfferSummary,
    },
    /// Sender side, before the offer: the picked folders are being walked
    /// to count their files and bytes (a million files on a slow disk take
    /// a while). Sent about ten times a second once counting has taken more
    /// than a tenth of one, so small sends never see it; may be dropped.
    Counting {
        /// Which transfer.
        id: TransferId,
        /// Files counted so far.
        files: u64,
        /// Their bytes.
        bytes: u64,
    },
    /// Sender side, a send to a LocalSend device, before its offer: every
    /// picked file is read for its SHA-256 (LocalSend's offer carries each
    /// file's), which takes a while for big files. Sent about ten times a
    /// second once that has taken more than a tenth of one; may be dropped.
    Checksumming {
        /// Which transfer.
        id: TransferId,
        /// Files read in full so far.
        files: u64,
        /// Bytes read so far.
        bytes: u64,
        /// Files to read.
        total_files: u64,
        /// Their bytes.
        total_bytes: u64,
    },
    /// An outgoing offer was sent; waiting for the receiver's answer.
    Offered {
        /// Which transfer.
        id: TransferId,
        /// The receiver.
        to: SocketAddr,
        /// The device id the receiver proved (compare its short code).
        peer_id: String,
        /// What was offered (counts, and the top-level entries only).
        offer: OfferSummary,
        /// The pairing code of this connection ("042 917").
        code: String,
    },
    /// Bytes are about to flow (accepted, with how much is resumed).
    Started {
        /// Which transfer.
        id: TransferId,
        /// Which way.
        direction: Direction,
        /// Files accepted.
        files: u32,
        /// Bytes of the accepted files.
        bytes: u64,
        /// Bytes already present from an earlier try.
        resumed_bytes: u64,
    },
    /// Throttled progress (about ten a second per transfer; may be dropped).
    Progress(Progress),
    /// Files passed their checksums, in the order they did (receiver: final
    /// paths; sender: relative names). A transfer of many small files
    /// delivers them [`crate::api::EVENT_BATCH`] at a time: one event and one
    /// wake-up of the UI's thread per batch, not per file.
    FilesVerified {
        /// Which transfer.
        id: TransferId,
        /// Where they are, at least one.
        paths: Vec<PathBuf>,
    },
    /// A text message arrived.
    TextReceived {
        /// Which transfer.
        id: TransferId,
        /// From whom.
        from: Device,
        /// The text.
        text: String,
    },
    /// A transfer ended.
    Finished {
        /// Which transfer.
        id: TransferId,
        /// Which way.
        direction: Direction,
        /// How.
        outcome: Outcome,
    },
    /// Something a person should know that belongs to no transfer.
    Problem(String),
    /// The receiver wants a PIN (none was given, or it was wrong). Answer with
    /// [`Command::ProvidePin`] and send again.
    PinRequired {
        /// Which transfer (it finishes as failed right after).
        id: TransferId,
        /// The receiver.
        to: SocketAddr,
        /// True if a PIN was given and rejected.
        wrong: bool,
    },
    /// A device appeared or changed (discovery or a peer added by address).
    PeerSeen(Peer),
    /// A device said goodbye or stopped beaconing.
    PeerGone {
        /// Its device id.
        device_id: String,
    },
    /// The browser share serves (answers [`Command::StartShare`]). Boxed:
    /// every slot of the event channel is as large as the largest event.
    ShareStarted(Box<ShareStarted>),
    /// The browser share could not start, as a sentence.
    ShareFailed(String),
    /// The browser share stopped: its port is closed.
    ShareStopped,
    /// A download or upload of the browser share moved on.
    Share(ShareEvent),
    /// The files and bytes under a path (answers [`Command::Measure`]).
    Measured {
        /// The path as asked.
        path: PathBuf,
        /// (bytes, files), or why it cannot be read.
        size: Result<(u64, u64), String>,
    },
    /// Who holds a Ferry transfer paused, whenever that changes, and once
    /// with nobody when its bytes start to flow (from then on it can be
    /// paused; a LocalSend transfer never sends this). Each side lifts only
    /// its own pause; bytes flow when neither holds one.
    PauseChanged {
        /// Which transfer.
        id: TransferId,
        /// Who holds it now.
        pause: Pauses,
    },
    /// An outgoing transfer failed because the connection was lost or the
    /// receiver went away, after the receiver had accepted it: the engine
    /// sends it again by itself (same id, same offer, so the receiver
    /// resumes it without asking) when the device is seen again, with
    /// backoff, until `until_secs` from now. Ends with a new
    /// [`Event::Started`] for the same id, or [`Event::ResumeEnded`].
    ResumeWaiting {
        /// Which transfer (it has finished as failed).
        id: TransferId,
        /// The receiver's name, for "Will resume when … is back".
        device: String,
        /// Seconds left before the engine gives up.
        until_secs: u64,
    },
    /// The engine no longer waits to resume this transfer: it was stopped
    /// ([`super::Command::StopResume`]), it gave up after its time, or it
    /// was sent again another way. Its failure stands.
    ResumeEnded {
        /// Which transfer.
        id: TransferId,
    },
}

/// A progress report, as sent to the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Which transfer.
    pub id: TransferId,
    /// Which way.
    pub direction: Direction,
    /// Bytes moved or skipped by resume so far.
    pub bytes_done: u64,
    /// Bytes of all accepted files.
    pub bytes_total: u64,
    /// Files finished.
    pub files_done: u32,
    /// Files accepted.
    pub files_total: u32,
    /// Smoothed bytes per second.
    pub rate: f64,
    /// Estimated time left, when the rate is known.
    pub eta: Option<Duration>,
    /// Relative path of the file in flight.
    pub current: String,
}
