//! The browser share in the vocabulary: what the window or the CLI asks for
//! ([`ShareRequest`]), what a running share looks like to them
//! ([`ShareStarted`], [`SharedSummary`]) and what it reports while browsers
//! download and upload ([`ShareEvent`]). Plain data only: the server, its
//! runtime and its sockets live in the engine and in `http`, never here.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::TransferId;

/// Who may upload through a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UploadPolicy {
    /// The page offers no upload and the server refuses every upload.
    #[default]
    Off,
    /// Each upload waits for a [`super::Command::DecideUpload`].
    Ask,
    /// Uploads are saved without asking (the person allowed it for this share).
    Allow,
}

/// How to start a share ([`super::Command::StartShare`]).
#[derive(Debug, Clone)]
pub struct ShareRequest {
    /// Files and folders to offer, in the order the page lists them.
    pub items: Vec<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    pub bind: SocketAddr,
    /// When the port in `bind` is taken, use a free one instead of failing
    /// (the window does; `ferry share` does not).
    pub any_port_if_taken: bool,
    /// Whether browsers may upload.
    pub uploads: UploadPolicy,
    /// Where uploads go (created when the first upload arrives).
    pub download_dir: PathBuf,
    /// Largest upload accepted (all files of one upload together), in bytes.
    pub max_upload_bytes: u64,
    /// Name of this device, shown on the page ("Files from NAME").
    pub device_name: String,
    /// Interfaces to prefer for the link's address when `bind` is a wildcard.
    pub interfaces: Option<Vec<String>>,
    /// Texts the page shows for visitors to copy (a Wi-Fi password, a
    /// link), in order.
    pub texts: Vec<String>,
    /// Ask the person before each new device (address) may use the link:
    /// a [`ShareEvent::VisitorRequest`], answered like an upload.
    pub approve_visitors: bool,
}

/// One shared file or folder, as a window lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedSummary {
    /// Its name.
    pub name: String,
    /// Files inside, for a folder.
    pub folder_files: Option<usize>,
    /// Bytes (of all files, for a folder).
    pub bytes: u64,
}

/// A share that is serving ([`super::Event::ShareStarted`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ShareStarted {
    /// The link to give people: `http://LAN-ADDRESS:PORT/s/TOKEN/`.
    pub url: String,
    /// The same page at the bound address (loopback for a wildcard).
    pub local_url: String,
    /// The bound address.
    pub local_addr: SocketAddr,
    /// The secret part of the URL.
    pub token: String,
    /// What is shared, in page order.
    pub items: Vec<SharedSummary>,
    /// Who may upload.
    pub uploads: UploadPolicy,
    /// Where uploads go.
    pub download_dir: PathBuf,
    /// The port asked for, when it was taken and a free one is used instead.
    pub port_taken: Option<u16>,
    /// The share listens on every interface but no LAN address was found,
    /// so the link names this computer only.
    pub no_lan_address: bool,
}

/// What the share server reports. Every event carries the id of the download
/// or upload it belongs to, so a window can show each as a row.
#[derive(Debug, Clone, PartialEq)]
pub enum ShareEvent {
    /// A browser started downloading an item (one event per HTTP request).
    DownloadStarted {
        /// Row id.
        id: TransferId,
        /// The browser's address.
        from: SocketAddr,
        /// File name as the browser saves it (`photos.zip` for a folder).
        name: String,
        /// Bytes this response carries, when known (not for a ZIP).
        bytes: Option<u64>,
    },
    /// Bytes handed to the network so far (throttled; may be dropped).
    DownloadProgress {
        /// Row id.
        id: TransferId,
        /// Bytes sent.
        done: u64,
        /// Bytes in this response, when known.
        total: Option<u64>,
    },
    /// A download ended: the bytes sent, or why it stopped.
    DownloadFinished {
        /// Row id.
        id: TransferId,
        /// Bytes sent, or a sentence.
        result: Result<u64, String>,
    },
    /// A browser wants to upload; answer with [`super::Command::DecideUpload`]
    /// in time (only with [`UploadPolicy::Ask`]).
    UploadRequest {
        /// Id to answer with.
        id: TransferId,
        /// The browser's address.
        from: SocketAddr,
        /// File names the page announced (empty when a client announced none).
        names: Vec<String>,
        /// Total bytes announced (`None` when unknown).
        size: Option<u64>,
    },
    /// A device that has the link wants in (only when the share was started
    /// with `approve_visitors`); answer with [`super::Command::DecideUpload`]
    /// in time. Its requests wait meanwhile; a "no" holds for the share.
    VisitorRequest {
        /// Id to answer with.
        id: TransferId,
        /// The device's address.
        from: SocketAddr,
        /// Its browser, from its User-Agent ("Chrome on Android").
        browser: String,
    },
    /// Upload bytes start flowing (after consent, or at once with `Allow`).
    UploadStarted {
        /// Row id.
        id: TransferId,
        /// The browser's address.
        from: SocketAddr,
        /// Announced file names (may be empty).
        names: Vec<String>,
        /// Total bytes expected, when known.
        size: Option<u64>,
    },
    /// Bytes received so far (throttled; may be dropped).
    UploadProgress {
        /// Row id.
        id: TransferId,
        /// Bytes of file contents received.
        done: u64,
        /// Bytes expected, when known.
        total: Option<u64>,
        /// File being received.
        current: String,
    },
    /// One uploaded file is complete under its final name.
    UploadSaved {
        /// Row id.
        id: TransferId,
        /// Where it is.
        path: PathBuf,
    },
    /// An upload ended: the files saved, or why it failed or was refused.
    UploadFinished {
        /// Row id.
        id: TransferId,
        /// Files saved, or a sentence.
        result: Result<Vec<PathBuf>, String>,
    },
}
