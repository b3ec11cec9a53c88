//! Sharing with any browser: a small HTTP/1.1 server on its own port that
//! serves one self-contained web page, so a phone or a computer without Ferry
//! can download what the person shared and, when allowed, upload files into
//! Ferry's download folder.
//!
//! This module owns the share server's sockets, its tasks and the files it
//! writes; it does not own threads or a runtime: the engine starts
//! [`ShareServer::start`] on a tokio runtime it owns and hands it the
//! engine's [`EventSink`], so [`ShareEvent`]s (vocabulary of `crate::api`)
//! reach the window and the CLI as [`Event::Share`] beside every other
//! event. Consent comes back through [`ShareServer::decide_upload`]. It must
//! not import the engine, must not serve
//! anything but the shared items (chosen by number, never by a path from the
//! request), must not answer anything to a request without the share's token
//! but 404, and must not give an uploaded file its final name before every
//! byte arrived, nor ever overwrite a file.
//!
//! Access control is the unguessable token in the URL (`/s/TOKEN/`): the
//! page is plain HTTP on the local network, because browsers reject the
//! self-signed certificate a LAN device could offer. See `docs/SHARE.md`.

mod body;
mod connections;
mod consent;
mod download;
mod items;
mod page;
pub(crate) mod part_file;
mod qr;
mod range;
mod resumable;
mod server;
mod text;
mod thumbs;
mod token;
mod upload;
mod visitors;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use connections::{MAX_WAITING, MAX_WAITING_PER_ADDRESS, QUEUE_WAIT};
pub use items::{ItemKind, SharedItem};
pub use qr::{qr_matrix, qr_svg, qr_terminal};
pub use server::{interface_addresses, lan_ipv4};
#[doc(hidden)]
pub use upload::upload_name_for;

use crate::api::{Event, EventSink, TransferId};
use crate::api::{ShareEvent, UploadPolicy};

/// Port `ferry share` listens on unless told otherwise (the TCP transfer port + 1).
pub const DEFAULT_SHARE_PORT: u16 = 47814;

/// Default largest upload (all files of one upload together): 4 GiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Most connections served at once; a connection over the cap waits for a
/// slot (see [`MAX_WAITING`], [`QUEUE_WAIT`]).
pub const MAX_SHARE_CONNECTIONS: usize = 32;

/// Most connections served at once from one host (an IPv4 address or an
/// IPv6 /64); more wait like those over [`MAX_SHARE_CONNECTIONS`].
/// Browsers open at most six connections to one server.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 8;

/// A connection must send a request with the share's token within this
/// time of arriving, or it is closed; a request without the token is
/// answered 404 and its connection closed. Only a client that knows the
/// token holds a slot longer.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(5);

/// A client must send a request's headers within this time, and an idle
/// keep-alive connection is closed after it.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// An upload whose bytes stop arriving, or a download whose client stops
/// reading, is abandoned after this long without progress.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long an upload waits for the person at the computer to answer.
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(120);

/// How to start a share.
#[derive(Debug, Clone)]
pub struct ShareConfig {
    /// Files and folders to offer, in the order the page lists them.
    pub items: Vec<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Further addresses to listen on, on the port `bind` got (the other
    /// addresses of the interfaces Ferry is configured to use).
    pub also_listen: Vec<IpAddr>,
    /// Whether browsers may upload.
    pub uploads: UploadPolicy,
    /// Where uploads go (created when the first upload arrives).
    pub download_dir: PathBuf,
    /// Largest upload accepted (all files of one upload together), in bytes.
    pub max_upload_bytes: u64,
    /// Name of this device, shown on the page ("Files from NAME").
    pub device_name: String,
    /// Texts the page shows for visitors to copy.
    pub texts: Vec<String>,
    /// Ask the person before each new device may use the link.
    pub approve_visitors: bool,
    /// The address to put in the URL; `None` picks this machine's first
    /// LAN IPv4 address (or the bound address when it is not a wildcard).
    pub url_host: Option<IpAddr>,
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

/// Where the server's events go: the engine's sink, each wrapped in
/// [`Event::Share`].
#[derive(Clone)]
pub(crate) struct Events(EventSink);

impl Events {
    /// An event that must arrive: waits a little for room, then gives up
    /// with a log line rather than stall the server behind a hung window.
    pub(crate) fn emit(&self, event: ShareEvent) {
        self.emit_event(Event::Share(event));
    }

    /// Any event that must arrive (a browser's text message is an
    /// [`Event::TextReceived`] like one from a Ferry peer), as [`Self::emit`].
    pub(crate) fn emit_event(&self, mut event: Event) {
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while let Some(back) = self.0.try_emit(event) {
            if std::time::Instant::now() >= deadline {
                tracing::warn!("share event dropped, the receiver is not draining");
                return;
            }
            event = back;
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Progress: dropped when the UI lags.
    pub(crate) fn emit_lossy(&self, event: ShareEvent) {
        self.0.emit_lossy(Event::Share(event));
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
    pub(crate) texts: Vec<String>,
    pub(crate) approve_visitors: bool,
    /// What the person said about each device, by host.
    pub(crate) visitors: Mutex<HashMap<std::net::IpAddr, visitors::Visitor>>,
    /// Text messages lately received, per host, to keep a flood out.
    pub(crate) text_budget: Mutex<HashMap<std::net::IpAddr, (std::time::Instant, u32)>>,
    /// The link people are given, and its QR code as inline SVG.
    pub(crate) url: String,
    pub(crate) qr_svg: String,
    /// One thumbnail is decoded at a time.
    pub(crate) thumb_permit: tokio::sync::Semaphore,
    pub(crate) events: Events,
    /// Uploads waiting for the person's answer.
    pub(crate) pending: Mutex<HashMap<TransferId, tokio::sync::oneshot::Sender<bool>>>,
    /// Uploads the page announced and that were approved, by ticket.
    pub(crate) uploads: Mutex<HashMap<String, Arc<resumable::Upload>>>,
    /// Connections being served, in all and per host.
    pub(crate) slots: Arc<connections::Slots>,
}

/// A running share. Dropping it stops the server.
pub struct ShareServer {
    state: Arc<State>,
    local_addr: SocketAddr,
    url: String,
    shutdown: tokio::sync::watch::Sender<bool>,
    /// Closed (or sent on) when the accept loop and every connection ended.
    stopped: crossbeam_channel::Receiver<()>,
}

impl ShareServer {
    /// Lists the items, binds `config.bind`, picks a fresh token and starts
    /// serving on `runtime` (which the caller owns and keeps running). Events
    /// go to `sink`, each as an [`Event::Share`].
    pub fn start(
        config: ShareConfig,
        runtime: &tokio::runtime::Handle,
        sink: EventSink,
    ) -> Result<ShareServer, ShareError> {
        // A share of texts alone lists no items.
        let items = if config.items.is_empty() && !config.texts.is_empty() {
            Vec::new()
        } else {
            items::collect(&config.items)?
        };
        let token = token::random_token().map_err(ShareError::Start)?;
        let bind = |addr: SocketAddr| {
            let listener = std::net::TcpListener::bind(addr)
                .map_err(|source| ShareError::Bind { addr, source })?;
            listener.set_nonblocking(true).map_err(ShareError::Start)?;
            Ok::<_, ShareError>(listener)
        };
        let first = bind(config.bind)?;
        let local_addr = first.local_addr().map_err(|source| ShareError::Bind {
            addr: config.bind,
            source,
        })?;
        let mut listeners = vec![first];
        for ip in &config.also_listen {
            listeners.push(bind(SocketAddr::new(*ip, local_addr.port()))?);
        }
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
            texts: config.texts,
            approve_visitors: config.approve_visitors,
            visitors: Mutex::default(),
            text_budget: Mutex::default(),
            thumb_permit: tokio::sync::Semaphore::new(1),
            qr_svg: qr::qr_svg(&url).unwrap_or_default(),
            url: url.clone(),
            events: Events(sink),
            pending: Mutex::default(),
            uploads: Mutex::default(),
            slots: Arc::default(),
        });
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let (stopped_tx, stopped) = crossbeam_channel::bounded(1);
        {
            let _entered = runtime.enter();
            let mut loops = tokio::task::JoinSet::new();
            for listener in listeners {
                let listener =
                    tokio::net::TcpListener::from_std(listener).map_err(ShareError::Start)?;
                loops.spawn(server::accept_loop(
                    listener,
                    state.clone(),
                    shutdown_rx.clone(),
                ));
            }
            // Abandoned uploads lose their partial files even when no
            // request comes to notice them.
            loops.spawn(resumable::sweep_every_minute(
                state.clone(),
                shutdown_rx.clone(),
            ));
            runtime.spawn(async move {
                while loops.join_next().await.is_some() {}
                let _ = stopped_tx.send(());
            });
        }
        tracing::info!(addr = %local_addr, "sharing {} item(s) via browser", state.items.len());
        Ok(ShareServer {
            state,
            local_addr,
            url,
            shutdown,
            stopped,
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

    /// Answers a [`ShareEvent::UploadRequest`] or a
    /// [`ShareEvent::VisitorRequest`]. Returns false if it is no longer
    /// waiting (answered, timed out, or the browser left).
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
    /// and waits up to two seconds for that to be done.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if self.shutdown.send(true).is_ok() {
            let _ = self.stopped.recv_timeout(Duration::from_secs(2));
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
