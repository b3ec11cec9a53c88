//! Sharing with any browser: a small HTTP/1.1 server on its own port that
//! serves one self-contained web page, so a phone or a computer without Ferry
//! can download what the person shared and, when allowed, upload files into
//! Ferry's download folder.
//!
//! This module owns the share server's sockets, its threads (one tokio
//! runtime named `ferry-http`, private to the share) and the files it writes.
//! It exposes a synchronous, UI-agnostic API: [`ShareServer::start`] with a
//! [`ShareConfig`], [`ShareEvent`]s out over a bounded crossbeam channel plus
//! a waker, and [`ShareServer::decide_upload`] for consent. It must not serve
//! anything but the shared items (chosen by number, never by a path from the
//! request), must not answer anything to a request without the share's token
//! but 404, and must not give an uploaded file its final name before every
//! byte arrived, nor ever overwrite a file.
//!
//! Access control is the unguessable token in the URL (`/s/TOKEN/`): the
//! page is plain HTTP on the local network, because browsers reject the
//! self-signed certificate a LAN device could offer. See `docs/SHARE.md`.

mod body;
mod consent;
mod download;
mod items;
mod page;
mod qr;
mod range;
mod server;
mod token;
mod upload;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::Sender;

pub use items::{ItemKind, SharedItem};
pub use qr::{qr_matrix, qr_terminal};
pub use server::lan_ipv4;
#[doc(hidden)]
pub use upload::upload_name_for;

use crate::api::TransferId;
use crate::api::Waker;

/// Port `ferry share` listens on unless told otherwise (the TCP transfer port + 1).
pub const DEFAULT_SHARE_PORT: u16 = 47814;

/// Default largest upload (all files of one upload together): 4 GiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Most connections served at once; a connection over the cap gets one
/// `503 Service Unavailable` and is closed.
pub const MAX_SHARE_CONNECTIONS: usize = 32;

/// A client must send a request's headers within this time, and an idle
/// keep-alive connection is closed after it.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// An upload whose bytes stop arriving, or a download whose client stops
/// reading, is abandoned after this long without progress.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long an upload waits for the person at the computer to answer.
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(120);

/// Who may upload through a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UploadPolicy {
    /// The page offers no upload and the server refuses every upload.
    #[default]
    Off,
    /// Each upload waits for [`ShareServer::decide_upload`].
    Ask,
    /// Uploads are saved without asking (the person allowed it for this share).
    Allow,
}

/// How to start a share.
#[derive(Debug, Clone)]
pub struct ShareConfig {
    /// Files and folders to offer, in the order the page lists them.
    pub items: Vec<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Whether browsers may upload.
    pub uploads: UploadPolicy,
    /// Where uploads go (created when the first upload arrives).
    pub download_dir: PathBuf,
    /// Largest upload accepted (all files of one upload together), in bytes.
    pub max_upload_bytes: u64,
    /// Name of this device, shown on the page ("Files from NAME").
    pub device_name: String,
    /// The address to put in the URL; `None` picks this machine's first
    /// LAN IPv4 address (or the bound address when it is not a wildcard).
    pub url_host: Option<IpAddr>,
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
    /// A browser wants to upload; answer with [`ShareServer::decide_upload`]
    /// within [`CONSENT_TIMEOUT`] (only with [`UploadPolicy::Ask`]).
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

/// Why a share could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// Nothing to share, or a shared path cannot be read.
    #[error(transparent)]
    Items(#[from] crate::transfer::send::source::SourceError),
    /// The port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime or a thread could not start, or no random token was available.
    #[error("cannot start the share server: {0}")]
    Start(std::io::Error),
}

/// Where the server's events go; wakes the UI after each one.
#[derive(Clone)]
pub(crate) struct Events {
    tx: Sender<ShareEvent>,
    waker: Waker,
}

impl Events {
    /// An event that must arrive: waits a little for room, then gives up
    /// with a log line rather than stall the server behind a hung window.
    pub(crate) fn emit(&self, event: ShareEvent) {
        match self.tx.send_timeout(event, Duration::from_secs(1)) {
            Ok(()) => (self.waker)(),
            Err(e) => tracing::warn!("share event dropped, the receiver is not draining: {e}"),
        }
    }

    /// Progress: dropped when the UI lags.
    pub(crate) fn emit_lossy(&self, event: ShareEvent) {
        if self.tx.try_send(event).is_ok() {
            (self.waker)();
        }
    }
}

/// Everything request handlers share. Only small maps sit behind locks, and
/// no lock is held across an `.await`.
pub(crate) struct State {
    pub(crate) token: String,
    pub(crate) items: Vec<SharedItem>,
    pub(crate) policy: UploadPolicy,
    pub(crate) download_dir: PathBuf,
    pub(crate) max_upload_bytes: u64,
    pub(crate) device_name: String,
    pub(crate) events: Events,
    /// Uploads waiting for the person's answer.
    pub(crate) pending: Mutex<HashMap<TransferId, tokio::sync::oneshot::Sender<bool>>>,
    /// Uploads the page announced and that were approved, by ticket.
    pub(crate) tickets: Mutex<HashMap<String, consent::Ticket>>,
    /// Connections being served.
    pub(crate) connections: std::sync::atomic::AtomicUsize,
}

/// A running share. Dropping it stops the server.
pub struct ShareServer {
    state: Arc<State>,
    local_addr: SocketAddr,
    url: String,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl ShareServer {
    /// Lists the items, binds `config.bind`, picks a fresh token and starts
    /// serving on background threads. Events go to `events`; `waker` is
    /// called after each one.
    pub fn start(
        config: ShareConfig,
        events: Sender<ShareEvent>,
        waker: Waker,
    ) -> Result<ShareServer, ShareError> {
        let items = items::collect(&config.items)?;
        let token = token::random_token().map_err(ShareError::Start)?;
        let listener =
            std::net::TcpListener::bind(config.bind).map_err(|source| ShareError::Bind {
                addr: config.bind,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ShareError::Bind {
            addr: config.bind,
            source,
        })?;
        listener.set_nonblocking(true).map_err(ShareError::Start)?;
        let host = config.url_host.unwrap_or_else(|| {
            if local_addr.ip().is_unspecified() {
                lan_ipv4(None)
                    .map(IpAddr::V4)
                    .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
            } else {
                local_addr.ip()
            }
        });
        let url = share_url(SocketAddr::new(host, local_addr.port()), &token);
        let state = Arc::new(State {
            token,
            items,
            policy: config.uploads,
            download_dir: config.download_dir,
            max_upload_bytes: config.max_upload_bytes,
            device_name: config.device_name,
            events: Events { tx: events, waker },
            pending: Mutex::default(),
            tickets: Mutex::default(),
            connections: Default::default(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(2 * MAX_SHARE_CONNECTIONS + 8)
            .thread_name("ferry-http")
            .enable_io()
            .enable_time()
            .build()
            .map_err(ShareError::Start)?;
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        {
            let _entered = runtime.enter();
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(ShareError::Start)?;
            runtime.spawn(server::accept_loop(listener, state.clone(), shutdown_rx));
        }
        tracing::info!(addr = %local_addr, "sharing {} item(s) via browser", state.items.len());
        Ok(ShareServer {
            state,
            local_addr,
            url,
            runtime: Some(runtime),
            shutdown,
        })
    }

    /// The URL to give people: `http://LAN-ADDRESS:PORT/s/TOKEN/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The same page at the bound address (loopback when bound to a wildcard);
    /// for tests and for opening the page on this machine.
    pub fn local_url(&self) -> String {
        let mut addr = self.local_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        share_url(addr, &self.state.token)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The secret part of the URL.
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// What is shared, in page order.
    pub fn items(&self) -> &[SharedItem] {
        &self.state.items
    }

    /// Where uploads go.
    pub fn download_dir(&self) -> &std::path::Path {
        &self.state.download_dir
    }

    /// Who may upload.
    pub fn upload_policy(&self) -> UploadPolicy {
        self.state.policy
    }

    /// Answers a [`ShareEvent::UploadRequest`]. Returns false if that upload
    /// is no longer waiting (answered, timed out, or the browser left).
    pub fn decide_upload(&self, id: TransferId, accept: bool) -> bool {
        let waiting = self
            .state
            .pending
            .lock()
            .ok()
            .and_then(|mut map| map.remove(&id));
        match waiting {
            Some(tx) => tx.send(accept).is_ok(),
            None => false,
        }
    }

    /// Stops listening, cuts every connection (partial uploads are removed)
    /// and waits briefly for the threads.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for ShareServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn share_url(addr: SocketAddr, token: &str) -> String {
    format!("http://{addr}/s/{token}/")
}
