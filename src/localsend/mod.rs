//! Ferry speaking LocalSend (protocol v2.1, the `localsend/protocol`
//! README): LocalSend phones and computers appear in Ferry's device list,
//! and files go both ways. This module owns LocalSend's wire ([`wire`]), its
//! device table ([`table`]), its multicast discovery ([`discovery`]), the
//! HTTPS server that receives ([`server`], [`session`]) and the client that
//! sends ([`client`], [`send`]). It runs as tasks on a tokio runtime the
//! engine owns and hands it ([`LocalSend::start`]); it owns no runtime and
//! starts no thread, and it reports only through the engine's event sink.
//!
//! What it keeps from Ferry whatever LocalSend does: nothing is written
//! without the person's consent (the same `Event::Incoming` and
//! `Command::Decide` as Ferry's transfers, with the same trust rules and
//! PIN guard), names are cleaned by `fs::names`, a file is written as
//! `NAME.ferry-part` and takes its final name only after its full size (and
//! its SHA-256 when the sender gave one), nothing is overwritten; and
//! nothing is sent to a device whose certificate does not match the
//! fingerprint it announced. It must never scan addresses by itself (the
//! legacy register scan runs only on [`LocalSend::scan`]), and never sends
//! multicast on an interface Ferry was not told to use.

pub mod client;
pub mod discovery;
mod offer;
pub mod send;
mod send_list;
pub mod server;
pub mod session;
mod session_files;
mod small_upload;
pub mod table;
mod trust;
mod upload_body;
pub mod wire;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::api::{Event, Peer};
use crate::discovery::interfaces::{self, Selection};
use crate::transfer::context::Context;

pub use crate::discovery::{
    LOCALSEND_GROUP as MULTICAST_GROUP, LOCALSEND_PORT as DEFAULT_PORT, LocalSendConfig,
};

/// How often Ferry announces itself again: LocalSend devices announce only
/// when they start, so Ferry's announcement (which every LocalSend device
/// answers) is also how it learns that they are still there.
pub const ANNOUNCE_INTERVAL: Duration = Duration::from_secs(10);

/// A LocalSend device not heard for this long is gone (three missed answers
/// and a margin).
pub const DEVICE_EXPIRY: Duration = Duration::from_secs(35);

/// When the start-up announcements go out (as LocalSend's own, which sends
/// three in the first two seconds in case one is lost).
pub const START_ANNOUNCEMENTS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_millis(2000),
];

/// What the LocalSend tasks share.
pub(crate) struct Shared {
    pub ctx: Context,
    pub config: LocalSendConfig,
    /// The chosen interfaces (their subnets bound who is listened to).
    pub selection: Selection,
    /// The devices heard.
    pub table: Mutex<table::Table>,
    /// The bound HTTPS port (0 when no server runs: a send-only engine).
    pub port: u16,
    /// The receiving session, if one is open.
    pub sessions: session::Sessions,
    /// Announce now (refresh, scan).
    pub announce_now: tokio::sync::Notify,
}

impl Shared {
    /// Who we are, as LocalSend messages say it.
    pub fn info(&self, announce: Option<bool>) -> wire::Info {
        let device = self.ctx.device();
        wire::Info {
            alias: device.alias,
            version: wire::PROTOCOL_VERSION.into(),
            device_model: Some("Ferry".into()),
            device_type: Some(
                if self.config.headless {
                    "headless"
                } else {
                    "desktop"
                }
                .into(),
            ),
            fingerprint: self.ctx.identity.device_id().to_string(),
            // A device without a server still names LocalSend's port (the
            // protocol has no way to say "none").
            port: Some(match (self.port, self.config.port) {
                (0, 0) => DEFAULT_PORT,
                (0, configured) => configured,
                (bound, _) => bound,
            }),
            protocol: Some("https".into()),
            download: false,
            announce,
        }
    }

    /// True when `ip` is on one of the chosen interfaces' networks.
    pub fn local_network(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => {
                self.selection.interface_of(v4).is_some()
                    || (v4.is_loopback() && self.selection.loopback_only())
            }
            IpAddr::V6(v6) => v6.is_loopback() && self.selection.loopback_only(),
        }
    }

    /// True when `id` is listed as a Ferry device right now.
    pub fn is_ferry(&self, id: &str) -> bool {
        self.ctx.known.has_device(id)
    }

    /// Takes a message from device `id` at `ip` and reports it if it is new
    /// or changed.
    pub fn heard(&self, id: &str, info: &wire::Info, ip: IpAddr) {
        if id.eq_ignore_ascii_case(self.ctx.identity.device_id()) {
            return;
        }
        let id = id.to_ascii_lowercase();
        let change = self.table.lock().map(|mut t| {
            t.heard(
                &id,
                info,
                ip,
                std::time::Instant::now(),
                std::time::SystemTime::now(),
                self.is_ferry(&id),
            )
        });
        if let Ok(table::Change::Seen(peer)) = change {
            self.ctx.sink.emit(Event::PeerSeen(peer));
        }
    }
}

/// A running LocalSend service.
pub struct LocalSend {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server_addr: Option<SocketAddr>,
}

impl LocalSend {
    /// Binds the HTTPS server (when `serve`) and the multicast sockets of the
    /// chosen `interfaces`, and starts their tasks on `runtime`. A port that
    /// is taken is an error; the engine reports it and runs without LocalSend.
    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        ctx: Context,
        config: LocalSendConfig,
        interfaces: &[String],
        serve: bool,
    ) -> std::io::Result<LocalSend> {
        let _entered = runtime.enter();
        let selection = interfaces::select(interfaces)?;
        let listener = if serve {
            let std_listener =
                std::net::TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], config.port)))?;
            std_listener.set_nonblocking(true)?;
            Some(tokio::net::TcpListener::from_std(std_listener)?)
        } else {
            None
        };
        let server_addr = listener.as_ref().and_then(|l| l.local_addr().ok());
        let sockets = discovery::Sockets::open(&selection, &config)?;
        let shared = Arc::new(Shared {
            ctx,
            port: server_addr.map_or(0, |a| a.port()),
            config,
            selection,
            table: Mutex::new(table::Table::new(DEVICE_EXPIRY)),
            sessions: session::Sessions::default(),
            announce_now: tokio::sync::Notify::new(),
        });
        let (stop, stopped) = watch::channel(false);
        if let Some(listener) = listener {
            runtime.spawn(server::accept_loop(
                listener,
                shared.clone(),
                stopped.clone(),
            ));
        }
        runtime.spawn(discovery::run(sockets, shared.clone(), stopped));
        Ok(LocalSend {
            shared,
            stop,
            server_addr,
        })
    }

    /// Where the HTTPS server listens, if it runs.
    pub fn server_addr(&self) -> Option<SocketAddr> {
        self.server_addr
    }

    /// Announces now (a refresh): every LocalSend device answers.
    pub fn refresh(&self) {
        self.shared.announce_now.notify_one();
    }

    /// The LocalSend devices listed (those that are not Ferry devices).
    pub fn peers(&self) -> Vec<Peer> {
        self.shared
            .table
            .lock()
            .map(|t| t.peers())
            .unwrap_or_default()
    }

    /// True when `addr` is a LocalSend device's server: sends to it use
    /// LocalSend's protocol.
    pub fn owns(&self, addr: SocketAddr) -> bool {
        self.shared.table.lock().is_ok_and(|t| t.at(addr).is_some())
    }

    /// Asks the device at `addr` with `register` over HTTPS and lists it
    /// under its certificate's fingerprint (a person gave the address).
    pub(crate) fn add(&self, runtime: &tokio::runtime::Handle, addr: SocketAddr) {
        let shared = self.shared.clone();
        runtime.spawn(async move {
            match client::register(&shared, addr, false, std::time::Duration::from_secs(5)).await {
                Ok((mut info, id)) => {
                    info.port = Some(addr.port());
                    info.protocol = Some("https".into());
                    shared.heard(&id, &info, addr.ip());
                }
                Err(e) => shared.ctx.sink.emit(Event::Problem(format!(
                    "No LocalSend device answers at {addr}: {e}."
                ))),
            }
        });
    }

    /// The legacy register scan of each chosen interface's own subnet (at
    /// most [`discovery::MAX_SCAN_HOSTS`] addresses each), run only when a
    /// person asks for it.
    pub fn scan(&self, runtime: &tokio::runtime::Handle) {
        if !self
            .shared
            .selection
            .chosen
            .iter()
            .any(|c| !c.ip.is_loopback())
        {
            self.shared.ctx.sink.emit(Event::Problem(
                "There is no network to look for LocalSend devices on: Ferry uses only this computer's loopback interface."
                    .into(),
            ));
            return;
        }
        runtime.spawn(discovery::scan(self.shared.clone()));
        self.refresh();
    }

    /// Sends files or a text to the LocalSend device at `to`.
    pub(crate) fn send(
        &self,
        runtime: &tokio::runtime::Handle,
        id: crate::api::TransferId,
        to: SocketAddr,
        what: send::What,
    ) {
        send::spawn(runtime, self.shared.clone(), id, to, what);
    }

    /// Stops the server and discovery tasks and ends an open session.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
        self.shared.sessions.end_all(&self.shared.ctx);
    }
}
