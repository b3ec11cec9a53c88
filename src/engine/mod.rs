//! The engine: the only owner of Ferry's threads, sockets and runtimes. The
//! window and the CLI talk to it only through [`Command`]s in and [`Event`]s
//! out over bounded channels (the vocabulary is [`crate::api`]), plus a waker
//! called after each event. It starts the services — the transfer listener,
//! discovery, the browser share — and hands each a [`Context`] or a sink; it
//! never depends on the UI and never blocks on it: progress is dropped when
//! the UI lags rather than slowing a transfer.
//!
//! It must not hold protocol logic of its own: a service's wire lives in its
//! module (`transfer`, `discovery`, `http`); the engine wires them together.

mod commands;
mod listener;
mod localsend;
mod resume;
mod share;

pub use crate::transfer::receive::{MAX_PENDING_PROMPTS, MAX_PROMPTS_PER_ADDRESS};
pub use listener::{
    BUSY_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS, MAX_TRANSFER_CONNECTIONS, RESERVED_FOR_TRUSTED,
};

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, RwLock};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::api::{Command, Device, EVENT_CAPACITY, Event, EventSink, ReceiveSettings, Waker};
use crate::discovery::Discovery;
pub use crate::discovery::{DiscoveryConfig, Report as DiscoveryReport};
use crate::protocol::{DeviceInfo, Timeouts};
use crate::secure::identity::Identity;
use crate::transfer::context::Context;

/// How to start an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Who we are; the id is replaced by the identity's fingerprint and the
    /// port by the bound listener's.
    pub device: Device,
    /// Our key and certificate.
    pub identity: Arc<Identity>,
    /// Where to accept transfers; `None` for a send-only engine. Port 0 picks one.
    pub listen: Option<SocketAddr>,
    /// Incoming-transfer settings.
    pub receive: ReceiveSettings,
    /// Beacons and the peer list; `None` keeps this engine silent on UDP.
    pub discovery: Option<DiscoveryConfig>,
}

impl EngineConfig {
    /// An engine that accepts nothing: for sending, and with `discovery` for
    /// looking at the network (it queries, and is never listed by others).
    pub fn send_only(
        device: Device,
        identity: Arc<Identity>,
        discovery: Option<DiscoveryConfig>,
    ) -> Self {
        EngineConfig {
            device,
            identity,
            listen: None,
            receive: ReceiveSettings {
                download_dir: std::path::PathBuf::from("."),
                accept: crate::api::AcceptPolicy::Ask,
                pin: None,
                accept_from_anywhere: false,
                remembered: Vec::new(),
                trust_new: false,
            },
            discovery,
        }
    }
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The TCP port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start a worker thread: {0}")]
    Thread(std::io::Error),
    /// Discovery was asked for but could not open a UDP socket.
    #[error("cannot start discovery: {0}")]
    Discovery(std::io::Error),
}

/// A running engine. Dropping it shuts everything down.
pub struct Engine {
    commands: Sender<Command>,
    events: Receiver<Event>,
    local_addr: Option<SocketAddr>,
    shared: Context,
    threads: Vec<JoinHandle<()>>,
    discovery: Option<Discovery>,
    localsend: Option<Arc<localsend::Service>>,
}

impl Engine {
    /// Binds the listener (if any) and starts the engine's threads, with the
    /// protocol's timers (or the `FERRY_*_MS` overrides, see
    /// [`crate::config::timeouts_from_env`]).
    pub fn start(config: EngineConfig, waker: Waker) -> Result<Engine, EngineError> {
        Engine::start_with_timeouts(config, waker, crate::config::timeouts_from_env())
    }

    /// Like [`Engine::start`] with explicit connection timers; tests use it to
    /// show that dead peers are noticed without waiting for the real timeouts.
    pub fn start_with_timeouts(
        config: EngineConfig,
        waker: Waker,
        timeouts: Timeouts,
    ) -> Result<Engine, EngineError> {
        let (sink, events) = EventSink::channel(EVENT_CAPACITY, waker);
        let (commands, command_rx) = bounded::<Command>(256);
        let mut device = DeviceInfo::from(&config.device);
        device.device_id = config.identity.device_id().to_string();
        let listener = match config.listen {
            Some(addr) => {
                let listener =
                    TcpListener::bind(addr).map_err(|source| EngineError::Bind { addr, source })?;
                let bound = listener
                    .local_addr()
                    .map_err(|source| EngineError::Bind { addr, source })?;
                device.port = bound.port();
                Some((listener, bound))
            }
            None => None,
        };
        let resumer = resume::Handles::new();
        let shared = Context {
            sink: sink.clone(),
            device: Arc::new(RwLock::new(device)),
            receive: Arc::new(RwLock::new(config.receive)),
            registry: Arc::default(),
            stopping: Arc::default(),
            heard: Arc::default(),
            identity: config.identity,
            sender_pins: Arc::default(),
            pin_guard: Arc::default(),
            timeouts: timeouts.sanitized(),
            known: Default::default(),
            claimed: Arc::default(),
            prompts: Arc::default(),
            discard: Arc::default(),
            interrupted: Default::default(),
            running: Default::default(),
            resumer: Some(resumer.reports.clone()),
        };
        let mut threads = Vec::new();
        let local_addr = listener.as_ref().map(|(_, addr)| *addr);
        let scope = listener::Scope::new(config.discovery.as_ref());
        let localsend = config.discovery.as_ref().and_then(|d| {
            let ls = d.localsend.clone()?;
            localsend::Service::start(&shared, ls, &d.interfaces, listener.is_some()).map(Arc::new)
        });
        // A listening engine announces itself; a send-only one only looks.
        let discovery = match config.discovery {
            Some(discovery) => Some(
                Discovery::start(discovery, shared.clone(), listener.is_some())
                    .map_err(EngineError::Discovery)?,
            ),
            None => None,
        };
        let controller = discovery.as_ref().map(Discovery::controller);
        {
            let shared = shared.clone();
            let discovering = discovery.is_some();
            let (reports, orders) = (resumer.reports_rx.clone(), resumer.orders_rx.clone());
            threads.push(
                thread::Builder::new()
                    .name("ferry-resume".into())
                    .spawn(move || resume::run(shared, reports, orders, discovering))
                    .map_err(EngineError::Thread)?,
            );
        }
        let orders = resumer.orders;
        let commands_localsend = localsend.clone();
        if let Some((listener, addr)) = listener {
            let folder = shared.receive_settings().download_dir;
            let shared = shared.clone();
            threads.push(
                thread::Builder::new()
                    .name("ferry-listener".into())
                    .spawn(move || listener::accept_loop(listener, shared, scope))
                    .map_err(EngineError::Thread)?,
            );
            sink.emit(Event::Listening { addr });
            // Partial files kept for a resume that nobody resumed for a
            // week go (a short thread: the folder may be slow or large).
            let sweeping = thread::Builder::new()
                .name("ferry-sweep".into())
                .spawn(move || {
                    let swept = crate::transfer::receive::sweep::sweep(
                        &folder,
                        crate::transfer::receive::sweep::KEEP_PARTIALS,
                    );
                    if swept > 0 {
                        tracing::info!(swept, "deleted partial files kept for over a week");
                    }
                });
            if let Err(e) = sweeping {
                tracing::warn!("cannot start the partial-file clean-up: {e}");
            }
        }
        {
            let shared = shared.clone();
            threads.push(
                thread::Builder::new()
                    .name("ferry-engine".into())
                    .spawn(move || {
                        commands::command_loop(
                            command_rx,
                            shared,
                            local_addr,
                            controller,
                            commands_localsend,
                            orders,
                        )
                    })
                    .map_err(EngineError::Thread)?,
            );
        }
        Ok(Engine {
            commands,
            events,
            local_addr,
            shared,
            threads,
            discovery,
            localsend,
        })
    }

    /// Where commands go.
    pub fn commands(&self) -> &Sender<Command> {
        &self.commands
    }

    /// Where events come from.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// The bound transfer address, if listening.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Our device description (with the bound port).
    pub fn device(&self) -> Device {
        Device::from(&self.shared.device())
    }

    /// A snapshot of discovery (interfaces, sockets, recent beacons, peers,
    /// counters), or `None` when discovery is off. Waits up to a second:
    /// for the CLI and tests, not for a UI thread (which has the events).
    pub fn discovery_report(&self) -> Option<DiscoveryReport> {
        let mut report = self
            .discovery
            .as_ref()?
            .controller()
            .report(std::time::Duration::from_secs(1))?;
        // LocalSend devices are listed beside Ferry's (never a Ferry device
        // twice: LocalSend's table hides those), in the same order.
        if let Some(localsend) = &self.localsend {
            let ferry: std::collections::HashSet<String> = report
                .peers
                .iter()
                .map(|p| p.device.device_id.to_ascii_lowercase())
                .collect();
            report.peers.extend(
                localsend
                    .peers()
                    .into_iter()
                    .filter(|p| !ferry.contains(&p.device.device_id)),
            );
            report.peers.sort_by(|a, b| {
                (a.device.alias.to_lowercase(), &a.device.device_id)
                    .cmp(&(b.device.alias.to_lowercase(), &b.device.device_id))
            });
        }
        Some(report)
    }

    /// True when a LocalSend device (listed or hidden because it is a Ferry
    /// device) is known at `addr`: sends there use LocalSend's protocol.
    pub fn localsend_knows(&self, addr: SocketAddr) -> bool {
        self.localsend.as_ref().is_some_and(|l| l.owns(addr))
    }

    /// Where LocalSend's HTTPS server listens, when LocalSend runs.
    pub fn localsend_addr(&self) -> Option<SocketAddr> {
        self.localsend.as_ref()?.server_addr()
    }

    /// The device ids whose beacons this engine heard lately (empty when
    /// discovery is off); what a hello tells the devices it probes.
    pub fn heard_devices(&self) -> Vec<String> {
        self.shared
            .heard
            .read()
            .map(|heard| heard.clone())
            .unwrap_or_default()
    }

    /// Sends a command; errors only if the engine has stopped.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// Cancels running transfers and waits for the engine's own threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
        // After the command loop: the stopping flag is set, so discovery
        // says goodbye and its threads end.
        if let Some(discovery) = self.discovery.take() {
            discovery.stop();
        }
        // The command loop (which held the other handle) has ended.
        if let Some(localsend) = self.localsend.take().and_then(Arc::into_inner) {
            localsend.stop();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}
