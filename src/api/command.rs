//! What the window and the CLI ask the engine to do. Every request is one
//! [`Command`] on a bounded channel; answers come back as events.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{ReceiveSettings, ShareRequest, TransferId};

/// The receiver's answer to an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Take everything.
    AcceptAll,
    /// Take only these top-level items (indices into the offer's items;
    /// a folder is taken whole).
    AcceptSome(Vec<u32>),
    /// Take nothing.
    Decline,
}

/// What the UI or CLI asks the engine to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Send files and folders. The caller picks the id (see [`TransferId::fresh`]).
    Send {
        /// Id for the events of this transfer.
        id: TransferId,
        /// The receiver's address.
        to: SocketAddr,
        /// Files and folders.
        paths: Vec<PathBuf>,
    },
    /// Send a text message.
    SendText {
        /// Id for the events of this transfer.
        id: TransferId,
        /// The receiver's address.
        to: SocketAddr,
        /// The message.
        text: String,
    },
    /// Answer an [`Event::Incoming`].
    Decide {
        /// Which offer.
        id: TransferId,
        /// The answer.
        decision: Decision,
    },
    /// Answer an [`super::Event::ConfirmPeer`]: `confirmed` when the person
    /// saw the same code on the receiver (the offer goes, and the device is
    /// remembered); otherwise nothing is sent and the transfer ends.
    ConfirmPeer {
        /// Which transfer.
        id: TransferId,
        /// The person's answer.
        confirmed: bool,
    },
    /// Stop a transfer in either direction.
    Cancel {
        /// Which transfer.
        id: TransferId,
    },
    /// Change where files go and who is auto-accepted.
    UpdateReceive(ReceiveSettings),
    /// Change the name other devices see (beaconed at once when discovery runs).
    SetAlias(String),
    /// Probe a device by address (a hello over TCP) and list it like a
    /// discovered one ([`super::PeerSource::Manual`]); it is
    /// probed again every few seconds and expires when it stops answering.
    /// Needs discovery on.
    AddPeer {
        /// The device's transfer address.
        addr: SocketAddr,
    },
    /// Stop probing a device added by address ([`Command::AddPeer`]): the
    /// person removed it. Its tile is the window's to drop; the engine only
    /// stops asking. Unknown addresses are ignored.
    ForgetPeer {
        /// The address it was added with.
        addr: SocketAddr,
    },
    /// Remember the PIN to present when sending to `to` (asked by the receiver).
    ProvidePin {
        /// The receiver.
        to: SocketAddr,
        /// The PIN.
        pin: String,
    },
    /// Start serving files to browsers; answered by [`super::Event::ShareStarted`]
    /// or [`super::Event::ShareFailed`]. One share at a time.
    StartShare(ShareRequest),
    /// Stop the browser share: the port closes and the link stops working;
    /// answered by [`super::Event::ShareStopped`].
    StopShare,
    /// Answer a [`super::ShareEvent::UploadRequest`] or a
    /// [`super::ShareEvent::VisitorRequest`].
    DecideUpload {
        /// Which upload.
        id: TransferId,
        /// Accept or decline.
        accept: bool,
    },
    /// Count the files and bytes under each path, as an offer or a share
    /// would; answered by one [`super::Event::Measured`] per path.
    Measure(Vec<PathBuf>),
    /// Look for LocalSend devices now: announce, and ask every address of
    /// each chosen interface's own subnet (LocalSend's "legacy" scan;
    /// bounded, only ever on a person's request).
    ScanLocalSend,
    /// Ask the LocalSend device at `addr` who it is (`register` over
    /// HTTPS) and list it, for when multicast cannot reach it; its
    /// certificate's fingerprint is what later sends insist on. Answered by
    /// [`super::Event::PeerSeen`] (unless it is a Ferry device listed
    /// already) or [`super::Event::Problem`].
    AddLocalSendPeer {
        /// Its LocalSend server (IP and port).
        addr: SocketAddr,
    },
    /// Cancel everything and stop all threads.
    Shutdown,
    /// Hold a running Ferry transfer (either direction): no file bytes move
    /// until it is resumed; the connection and the partial file stay.
    /// Answered by [`super::Event::PauseChanged`]; ignored for a transfer
    /// that cannot pause (LocalSend, or not streaming yet).
    Pause {
        /// Which transfer.
        id: TransferId,
    },
    /// Lift this device's pause of a transfer ([`Command::Pause`]). A pause
    /// the other device holds stays until that device lifts it.
    Resume {
        /// Which transfer.
        id: TransferId,
    },
    /// Stop an incoming transfer like [`Command::Cancel`], and delete what
    /// arrived of the file in flight instead of keeping it for a resume
    /// (files already verified stay). For an outgoing transfer it is a
    /// plain cancel: the receiver decides about its own disk.
    CancelAndDiscard {
        /// Which transfer.
        id: TransferId,
    },
    /// Stop waiting to resume an interrupted send by itself (answered by
    /// [`super::Event::ResumeEnded`]); it stays failed and can be retried.
    StopResume {
        /// Which transfer.
        id: TransferId,
    },
}
