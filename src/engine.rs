//! The engine owns every socket and worker thread of a running Ferry. The
//! window and the CLI talk to it only through [`Command`]s in and [`Event`]s
//! out over bounded channels, plus a waker called after each event. It never
//! depends on the UI and never blocks on it: progress is dropped when the UI
//! lags rather than slowing a transfer.

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use serde::{Deserialize, Serialize};

use crate::discovery::{Controller, Discovery};
use crate::identity::Identity;
use crate::protocol::{DeviceInfo, Entry, EntryKind, Timeouts};
use crate::transfer::progress::Progress;
use crate::transfer::{Direction, Outcome, TransferId, incoming, outgoing};

/// Called after every event so a sleeping UI wakes up to drain it.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Most connections served at once; more are closed on arrival.
pub const MAX_CONNECTIONS: usize = 128;

/// Capacity of the event channel. Progress events are dropped when it is
/// full; all other events wait for room (workers mid-transfer wait in their
/// own backlog instead). Its slots are allocated up front, ~200 bytes each.
pub const EVENT_CAPACITY: usize = 1024;

/// Events of one kind a worker gathers before delivering them together (see
/// [`EventSink::emit_batched`]).
pub const EVENT_BATCH: usize = 64;

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

/// Settings that affect incoming transfers; may change while running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveSettings {
    /// Where received files go.
    pub download_dir: PathBuf,
    /// Who is accepted without a question.
    pub accept: AcceptPolicy,
    /// A PIN senders must supply, if set.
    pub pin: Option<String>,
}

/// How to start an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Who we are; the id is replaced by the identity's fingerprint and the
    /// port by the bound listener's.
    pub device: DeviceInfo,
    /// Our key and certificate.
    pub identity: Arc<Identity>,
    /// Where to accept transfers; `None` for a send-only engine. Port 0 picks one.
    pub listen: Option<SocketAddr>,
    /// Incoming-transfer settings.
    pub receive: ReceiveSettings,
    /// Beacons and the peer list; `None` keeps this engine silent on UDP.
    pub discovery: Option<crate::discovery::DiscoveryConfig>,
}

/// The receiver's answer to an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Take everything.
    AcceptAll,
    /// Take only these entry indices.
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
    /// discovered one ([`crate::discovery::PeerSource::Manual`]); it is
    /// probed again every few seconds and expires when it stops answering.
    /// Needs discovery on.
    AddPeer {
        /// The device's transfer address.
        addr: SocketAddr,
    },
    /// Remember the PIN to present when sending to `to` (asked by the receiver).
    ProvidePin {
        /// The receiver.
        to: SocketAddr,
        /// The PIN.
        pin: String,
    },
    /// Cancel everything and stop all threads.
    Shutdown,
}

/// What an incoming offer contains, for the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferSummary {
    /// Entries as offered (paths are the sender's, unsanitised, for display):
    /// all of them for a prompt ([`Event::Incoming`]), only the top-level
    /// ones elsewhere (see [`OfferSummary::outline`]).
    pub entries: Vec<Entry>,
    /// Number of files.
    pub files: u32,
    /// Number of folders.
    pub folders: u32,
    /// Bytes of all files.
    pub total_bytes: u64,
    /// Free bytes in the download folder, if known.
    pub free_bytes: Option<u64>,
    /// Text messages.
    pub texts: Vec<String>,
}

impl OfferSummary {
    /// Summarises a checked offer, with every entry, for a person to judge.
    pub fn of(entries: &[Entry], free_bytes: Option<u64>) -> Self {
        OfferSummary::showing(entries.to_vec(), entries, free_bytes)
    }

    /// Like [`OfferSummary::of`] with only the top-level entries (what a
    /// transfer row names): where nobody reads the whole list, 10,000 entries
    /// would be megabytes copied for nothing.
    pub fn outline(entries: &[Entry], free_bytes: Option<u64>) -> Self {
        let top = entries.iter().filter(|e| e.path.len() == 1).cloned();
        OfferSummary::showing(top.collect(), entries, free_bytes)
    }

    /// Counts over all `entries`, listing `shown`.
    fn showing(shown: Vec<Entry>, entries: &[Entry], free_bytes: Option<u64>) -> Self {
        let count = |kind: &EntryKind| entries.iter().filter(|e| &e.kind == kind).count() as u32;
        OfferSummary {
            entries: shown,
            files: count(&EntryKind::File),
            folders: count(&EntryKind::Directory),
            total_bytes: entries
                .iter()
                .filter(|e| e.kind == EntryKind::File)
                .map(|e| e.size)
                .fold(0, u64::saturating_add),
            free_bytes,
            texts: entries
                .iter()
                .filter_map(|e| match &e.kind {
                    EntryKind::Text(t) => Some(t.clone()),
                    _ => None,
                })
                .collect(),
        }
    }
}

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
        from: DeviceInfo,
        /// The sender's address.
        addr: SocketAddr,
        /// What is offered.
        offer: OfferSummary,
    },
    /// An offer was accepted by a trust rule without asking (no
    /// [`Event::Incoming`] comes for it); tells the UI who is sending.
    AutoAccepted {
        /// Transfer id of the incoming transfer.
        id: TransferId,
        /// The sender as it describes itself.
        from: DeviceInfo,
        /// The sender's address.
        addr: SocketAddr,
        /// What is offered (counts, and the top-level entries only).
        offer: OfferSummary,
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
    /// One file passed its checksum (receiver: final path; sender: relative name).
    FileVerified {
        /// Which transfer.
        id: TransferId,
        /// Where it is.
        path: PathBuf,
    },
    /// A text message arrived.
    TextReceived {
        /// Which transfer.
        id: TransferId,
        /// From whom.
        from: DeviceInfo,
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
    PeerSeen(crate::discovery::Peer),
    /// A device said goodbye or stopped beaconing.
    PeerGone {
        /// Its device id.
        device_id: String,
    },
}

/// Where workers send events; wakes the UI after each one.
#[derive(Clone)]
pub struct EventSink {
    tx: Sender<Event>,
    waker: Waker,
    known: Arc<RwLock<HashMap<SocketAddr, String>>>,
}

impl EventSink {
    /// Delivers an event that must not be lost (waits for room).
    pub fn emit(&self, event: Event) {
        self.remember(&event);
        if self.tx.send(event).is_ok() {
            (self.waker)();
        }
    }

    /// Remembers which device answers at which address, so a send to that
    /// address can insist on that device's key.
    fn remember(&self, event: &Event) {
        match event {
            Event::PeerSeen(peer) => {
                if let Ok(mut known) = self.known.write() {
                    for addr in &peer.addrs {
                        known.insert(*addr, peer.device.device_id.clone());
                    }
                }
            }
            Event::PeerGone { device_id } => {
                if let Ok(mut known) = self.known.write() {
                    known.retain(|_, id| id != device_id);
                }
            }
            _ => {}
        }
    }

    /// The device id last seen answering at `addr`, if any.
    pub fn expected_device(&self, addr: SocketAddr) -> Option<String> {
        self.known
            .read()
            .ok()
            .and_then(|known| known.get(&addr).cloned())
    }

    /// Delivers an event if there is room now; otherwise hands it back, so
    /// a producer that must never wait (discovery) can keep it and retry.
    pub fn try_emit(&self, event: Event) -> Option<Event> {
        self.remember(&event);
        match self.tx.try_send(event) {
            Ok(()) => {
                (self.waker)();
                None
            }
            Err(e) => Some(e.into_inner()),
        }
    }

    /// Delivers an event that may be dropped when the UI lags (progress).
    pub fn emit_lossy(&self, event: Event) {
        if self.tx.try_send(event).is_ok() {
            (self.waker)();
        }
    }

    /// Delivers an event that must not be lost without ever waiting: when the
    /// channel is full it waits in `backlog`, in order, and goes out with a
    /// later call. For workers mid-transfer, whose peer would give up on them
    /// while they waited for a UI that stopped reading events.
    pub fn emit_queued(&self, backlog: &mut Backlog, event: Event) {
        backlog.0.push_back(event);
        self.flush(backlog, false);
    }

    /// Like [`EventSink::emit_queued`] for the many small events nobody waits
    /// on (one per verified file): they gather in `backlog` and go out
    /// [`EVENT_BATCH`] at a time, or with the next [`EventSink::flush`] (the
    /// workers flush on their timer tick and at the end). A UI thread woken
    /// once per file would take a core's time slices from the transfer: with
    /// 10,000 small files that cost a sixth of the wall time.
    pub fn emit_batched(&self, backlog: &mut Backlog, event: Event) {
        backlog.0.push_back(event);
        if backlog.0.len() >= EVENT_BATCH {
            self.flush(backlog, false);
        }
    }

    /// Sends what waits in `backlog`, in order; with `wait`, until all of it
    /// is delivered (call it once the connection needs nothing more).
    pub fn flush(&self, backlog: &mut Backlog, wait: bool) {
        while let Some(event) = backlog.0.pop_front() {
            match self.tx.try_send(event) {
                Ok(()) => (self.waker)(),
                Err(TrySendError::Full(event)) if wait => self.emit(event),
                Err(TrySendError::Full(event)) => {
                    backlog.0.push_front(event);
                    return;
                }
                // Nobody listens any more.
                Err(TrySendError::Disconnected(_)) => {
                    backlog.0.clear();
                    return;
                }
            }
        }
    }
}

/// Events a worker could not deliver yet (see [`EventSink::emit_queued`]).
/// Bounded by the work itself: at most a few events per file.
#[derive(Debug, Default)]
pub struct Backlog(std::collections::VecDeque<Event>);

/// A message from the engine to one running transfer.
#[derive(Debug, Clone)]
pub enum Control {
    /// The person's answer to the offer.
    Decide(Decision),
    /// Stop.
    Cancel,
}

/// Running transfers, by id, with the channel that reaches each worker.
pub type Registry = Arc<Mutex<HashMap<TransferId, Sender<Control>>>>;

/// What every worker needs from the engine.
#[derive(Clone)]
pub struct Shared {
    /// Event output.
    pub sink: EventSink,
    /// Who we are.
    pub device: Arc<RwLock<DeviceInfo>>,
    /// Incoming-transfer settings.
    pub receive: Arc<RwLock<ReceiveSettings>>,
    /// Running transfers.
    pub registry: Registry,
    /// Set when the engine shuts down.
    pub stopping: Arc<AtomicBool>,
    /// Device ids whose beacons we heard lately, reported to peers in hellos
    /// (kept up to date by discovery; empty when discovery is off).
    pub heard: Arc<RwLock<Vec<String>>>,
    /// Our key and certificate.
    pub identity: Arc<Identity>,
    /// PINs to present per receiver address.
    pub sender_pins: Arc<Mutex<HashMap<SocketAddr, String>>>,
    /// Wrong PINs per sender address: (count, window start).
    pub pin_failures: Arc<Mutex<HashMap<std::net::IpAddr, (u32, std::time::Instant)>>>,
    /// Connection timers (handshake budget, ping interval, idle timeout).
    pub timeouts: Timeouts,
    /// Final paths and folder roots that running incoming transfers will
    /// write, so two offers planned at the same moment never pick the same name.
    pub claimed: Arc<Mutex<HashSet<PathBuf>>>,
}

impl Shared {
    /// A copy of our device description.
    pub fn device(&self) -> DeviceInfo {
        self.device
            .read()
            .map(|d| d.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// A copy of the current receive settings.
    pub fn receive_settings(&self) -> ReceiveSettings {
        self.receive
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Registers a transfer and returns its control channel.
    pub fn register(&self, id: TransferId) -> Receiver<Control> {
        let (tx, rx) = bounded(8);
        if let Ok(mut map) = self.registry.lock() {
            map.insert(id, tx);
        }
        rx
    }

    /// Forgets a finished transfer.
    pub fn unregister(&self, id: TransferId) {
        if let Ok(mut map) = self.registry.lock() {
            map.remove(&id);
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
    shared: Shared,
    threads: Vec<JoinHandle<()>>,
    discovery: Option<Discovery>,
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
        let (event_tx, events) = bounded(EVENT_CAPACITY);
        let (commands, command_rx) = bounded::<Command>(256);
        let sink = EventSink {
            tx: event_tx,
            waker,
            known: Arc::default(),
        };
        let mut device = config.device;
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
        let shared = Shared {
            sink: sink.clone(),
            device: Arc::new(RwLock::new(device)),
            receive: Arc::new(RwLock::new(config.receive)),
            registry: Arc::default(),
            stopping: Arc::default(),
            heard: Arc::default(),
            identity: config.identity,
            sender_pins: Arc::default(),
            pin_failures: Arc::default(),
            timeouts: timeouts.sanitized(),
            claimed: Arc::default(),
        };
        let mut threads = Vec::new();
        let local_addr = listener.as_ref().map(|(_, addr)| *addr);
        // A listening engine announces itself; a send-only one only looks.
        let discovery = match config.discovery {
            Some(discovery) => Some(
                Discovery::start(discovery, shared.clone(), listener.is_some())
                    .map_err(EngineError::Discovery)?,
            ),
            None => None,
        };
        let controller = discovery.as_ref().map(Discovery::controller);
        if let Some((listener, addr)) = listener {
            let shared = shared.clone();
            threads.push(
                thread::Builder::new()
                    .name("ferry-listener".into())
                    .spawn(move || accept_loop(listener, shared))
                    .map_err(EngineError::Thread)?,
            );
            sink.emit(Event::Listening { addr });
        }
        {
            let shared = shared.clone();
            threads.push(
                thread::Builder::new()
                    .name("ferry-engine".into())
                    .spawn(move || command_loop(command_rx, shared, local_addr, controller))
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
    pub fn device(&self) -> DeviceInfo {
        self.shared.device()
    }

    /// Internals shared with extensions that run beside the engine (discovery).
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// A snapshot of discovery (interfaces, sockets, recent beacons, peers,
    /// counters), or `None` when discovery is off. Waits up to a second:
    /// for the CLI and tests, not for a UI thread (which has the events).
    pub fn discovery_report(&self) -> Option<crate::discovery::Report> {
        self.discovery
            .as_ref()?
            .controller()
            .report(std::time::Duration::from_secs(1))
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
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

fn command_loop(
    commands: Receiver<Command>,
    shared: Shared,
    local_addr: Option<SocketAddr>,
    discovery: Option<Controller>,
) {
    while let Ok(command) = commands.recv() {
        match command {
            Command::Send { id, to, paths } => {
                outgoing::spawn(shared.clone(), id, to, outgoing::What::Paths(paths))
            }
            Command::SendText { id, to, text } => {
                outgoing::spawn(shared.clone(), id, to, outgoing::What::Text(text))
            }
            Command::Decide { id, decision } => deliver(&shared, id, Control::Decide(decision)),
            Command::Cancel { id } => deliver(&shared, id, Control::Cancel),
            Command::UpdateReceive(settings) => {
                if let Ok(mut current) = shared.receive.write() {
                    *current = settings;
                }
            }
            Command::SetAlias(alias) => {
                if let Ok(mut device) = shared.device.write() {
                    device.alias = alias;
                }
                if let Some(discovery) = &discovery {
                    discovery.announce();
                }
            }
            Command::AddPeer { addr } => match &discovery {
                Some(discovery) => {
                    if !discovery.add_peer(addr) {
                        shared.sink.emit(Event::Problem(format!(
                            "Cannot add {addr} now: discovery is busy or stopped."
                        )));
                    }
                }
                None => shared.sink.emit(Event::Problem(format!(
                    "Cannot add {addr}: discovery is off in this engine."
                ))),
            },
            Command::ProvidePin { to, pin } => {
                if let Ok(mut pins) = shared.sender_pins.lock() {
                    pins.insert(to, pin);
                }
            }
            Command::Shutdown => break,
        }
    }
    shared.stopping.store(true, Ordering::SeqCst);
    let running: Vec<Sender<Control>> = shared
        .registry
        .lock()
        .map(|map| map.values().cloned().collect())
        .unwrap_or_default();
    for control in running {
        let _ = control.try_send(Control::Cancel);
    }
    // Wake the blocking accept() so the listener thread sees the flag.
    if let Some(mut addr) = local_addr {
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500));
    }
}

fn deliver(shared: &Shared, id: TransferId, control: Control) {
    let target = shared
        .registry
        .lock()
        .ok()
        .and_then(|map| map.get(&id).cloned());
    match target {
        Some(tx) => {
            let _ = tx.try_send(control);
        }
        None => tracing::debug!(%id, "command for a transfer that is not running"),
    }
}

fn accept_loop(listener: TcpListener, shared: Shared) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            tracing::warn!(
                "too many connections; closing one from {:?}",
                stream.peer_addr()
            );
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let shared = shared.clone();
        let guard = ActiveGuard(active.clone());
        let spawned = thread::Builder::new()
            .name("ferry-conn".into())
            .spawn(move || {
                let _guard = guard;
                incoming::serve(stream, shared);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a connection thread: {e}");
        }
    }
}

/// Decrements the connection count when a connection thread ends, however it ends.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn sink(capacity: usize) -> (EventSink, Receiver<Event>, Arc<AtomicUsize>) {
        let (tx, rx) = bounded(capacity);
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = wakes.clone();
        let sink = EventSink {
            tx,
            waker: Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
            known: Arc::default(),
        };
        (sink, rx, wakes)
    }

    fn verified(n: usize) -> Event {
        Event::FileVerified {
            id: TransferId(1),
            path: PathBuf::from(n.to_string()),
        }
    }

    fn names(rx: &Receiver<Event>) -> Vec<String> {
        rx.try_iter()
            .map(|event| match event {
                Event::FileVerified { path, .. } => path.display().to_string(),
                Event::Problem(text) => text,
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn batched_events_go_out_a_batch_at_a_time_in_order() {
        let (sink, rx, wakes) = sink(EVENT_BATCH * 4);
        let mut backlog = Backlog::default();
        for n in 0..EVENT_BATCH - 1 {
            sink.emit_batched(&mut backlog, verified(n));
        }
        assert!(rx.is_empty(), "nothing before a whole batch");
        assert_eq!(wakes.load(Ordering::SeqCst), 0);
        sink.emit_batched(&mut backlog, verified(EVENT_BATCH - 1));
        let first: Vec<String> = (0..EVENT_BATCH).map(|n| n.to_string()).collect();
        assert_eq!(names(&rx), first);
        // A queued event pushes the waiting ones out ahead of itself.
        sink.emit_batched(&mut backlog, verified(EVENT_BATCH));
        sink.emit_queued(&mut backlog, Event::Problem("after".into()));
        assert_eq!(names(&rx), [EVENT_BATCH.to_string(), "after".to_string()]);
        // The end of a transfer delivers whatever is left.
        sink.emit_batched(&mut backlog, verified(7));
        sink.flush(&mut backlog, true);
        assert_eq!(names(&rx), ["7"]);
    }

    #[test]
    fn a_full_channel_keeps_batched_events_for_later() {
        let (sink, rx, _) = sink(EVENT_BATCH / 2);
        let mut backlog = Backlog::default();
        for n in 0..EVENT_BATCH {
            sink.emit_batched(&mut backlog, verified(n));
        }
        let got = names(&rx);
        assert_eq!(got.len(), EVENT_BATCH / 2);
        sink.flush(&mut backlog, false);
        let rest = names(&rx);
        let all: Vec<String> = got.into_iter().chain(rest).collect();
        let expected: Vec<String> = (0..EVENT_BATCH).map(|n| n.to_string()).collect();
        assert_eq!(all, expected);
    }
}
