//! The running discovery: its sockets and named threads. Two receiver
//! threads (the shared beacon port, and our own socket that gets direct
//! replies) parse and rate-limit datagrams and pass beacons over a bounded
//! channel to one discovery thread, which alone owns the peer table, sends
//! beacons, answers newcomers, expires the silent, and emits engine events.
//! Peers added by address each get a prober thread. Nothing here waits on
//! the engine or its reader: commands arrive with `try_send`, and events wait
//! in an [`Outbox`] until the event channel has room, so a UI that stops
//! draining never stops the beacons.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded, select};
use socket2::{Domain, Protocol, Socket, Type};

use super::interfaces::{self, Selection};
use super::limiter::RateLimiter;
use super::outbox::Outbox;
use super::table::{Change, Heard, PeerTable};
use super::{
    BEACON_INTERVAL, BURST, DiscoveryConfig, HeardBeacon, MAX_MANUAL_PEERS, ManualStatus,
    PEER_EXPIRY, PROBE_INTERVAL, Report, SocketStatus, Stats, Via, probe,
};
use crate::api::Event;
use crate::protocol::beacon::{
    BeaconError, CAP_HELLO, CAP_RECEIVE, CAP_RESUME, CAP_TEXT, check_device,
};
use crate::protocol::limits::{MAX_ALIAS_BYTES, MAX_BEACON_BYTES};
use crate::protocol::messages::MAX_HEARD;
use crate::protocol::{Beacon, BeaconKind, Hello, PROTOCOL_VERSION};
use crate::transfer::context::Context;

/// How often receiver threads wake to check for shutdown.
const RX_POLL: Duration = Duration::from_millis(100);
/// How often the table is swept for silent devices.
const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// Beacons waiting for the discovery thread; more are dropped (and counted).
const INCOMING_CAPACITY: usize = 1024;
/// Commands waiting for the discovery thread.
const CONTROL_CAPACITY: usize = 64;
/// Beacons remembered for diagnostics.
const LOG_CAPACITY: usize = 64;
/// Receive buffer asked of the kernel for each socket, to ride out bursts.
const SOCKET_BUFFER: usize = 256 * 1024;
/// How soon undelivered events are retried when the event reader lags.
const OUTBOX_RETRY: Duration = Duration::from_millis(20);
/// Devices whose protocol-version mismatch was already reported.
const MAX_WARNED: usize = 256;

/// What the engine (or a test) asks of running discovery.
#[derive(Debug)]
enum Request {
    AddPeer(SocketAddr),
    Announce,
    Report(Sender<Report>),
    Stop,
}

/// A cheap handle for sending requests to running discovery; never blocks.
#[derive(Debug, Clone)]
pub struct Controller {
    tx: Sender<Request>,
}

impl Controller {
    /// Starts probing `addr` (a peer added by address). False if discovery is
    /// stopped or too busy to take the request.
    pub fn add_peer(&self, addr: SocketAddr) -> bool {
        self.tx.try_send(Request::AddPeer(addr)).is_ok()
    }

    /// Sends a beacon now (e.g. after the alias changed).
    pub fn announce(&self) {
        let _ = self.tx.try_send(Request::Announce);
    }

    /// A diagnostic snapshot, waiting at most `timeout`. Blocks the caller
    /// briefly: not for a UI thread (which gets events instead).
    pub fn report(&self, timeout: Duration) -> Option<Report> {
        let (tx, rx) = bounded(1);
        self.tx.send_timeout(Request::Report(tx), timeout).ok()?;
        rx.recv_timeout(timeout).ok()
    }
}

/// Counters shared by the receiver threads and the discovery thread.
#[derive(Debug, Default)]
struct Counters {
    datagrams: AtomicU64,
    junk: AtomicU64,
    other_version: AtomicU64,
    rate_limited: AtomicU64,
    backlog_dropped: AtomicU64,
    foreign: AtomicU64,
    own: AtomicU64,
    refused: AtomicU64,
    sent: AtomicU64,
    send_failed: AtomicU64,
    sources: [AtomicUsize; 2],
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A beacon as handed from a receiver thread to the discovery thread.
struct Incoming {
    beacon: Beacon,
    from: SocketAddr,
    via: Via,
}

/// The result of one hello probe of a peer added by address.
struct ProbeResult {
    addr: SocketAddr,
    result: Result<Hello, String>,
}

/// Running discovery. Stopping (or dropping) it sends the goodbye and joins
/// its threads.
pub struct Discovery {
    control: Sender<Request>,
    halt: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// The receive threads' sockets, to wake them when stopping.
    receiving: Vec<UdpSocket>,
}

impl Discovery {
    /// Opens the sockets and starts the threads. `announce` is true for an
    /// engine that accepts transfers; false makes it a quiet looker that
    /// sends queries. Fails only if no UDP socket at all can be opened; a
    /// beacon port that cannot be bound is reported as a problem event (we
    /// still hear direct replies).
    pub(crate) fn start(
        config: DiscoveryConfig,
        shared: Context,
        announce: bool,
    ) -> io::Result<Self> {
        let selection = match interfaces::select(&config.interfaces) {
            Ok(selection) => selection,
            Err(e) => {
                shared.sink.emit(Event::Problem(format!(
                    "Cannot list the network interfaces ({e}); discovery cannot beacon."
                )));
                Selection::default()
            }
        };
        if selection.chosen.is_empty() {
            let named = if config.interfaces.is_empty() {
                "no up IPv4 interface with a broadcast address was found".to_string()
            } else {
                format!(
                    "none of the interfaces set ({}) is usable",
                    config.interfaces.join(", ")
                )
            };
            shared.sink.emit(Event::Problem(format!(
                "Discovery has no interface to beacon on: {named}. Run `ferry doctor` for details."
            )));
        } else if !selection.missing.is_empty() {
            shared.sink.emit(Event::Problem(format!(
                "No interface called {} exists; discovery uses {}.",
                selection.missing.join(", "),
                chosen_names(&selection)
            )));
        }
        // Confined to loopback: bind there too, so nothing can leave the
        // machine. The beacon port then binds the loopback broadcast address
        // itself: on Linux a socket bound to 127.0.0.1 does not receive
        // datagrams sent to 127.255.255.255, one bound to that address does.
        let (bind_ip, port_ip) = match selection.chosen.first() {
            Some(first) if selection.loopback_only() => (Ipv4Addr::LOCALHOST, first.broadcast),
            _ => (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED),
        };
        let counters = Arc::new(Counters::default());
        let halt = Arc::new(AtomicBool::new(false));
        let (incoming_tx, incoming) = bounded(INCOMING_CAPACITY);
        let (control, control_rx) = bounded(CONTROL_CAPACITY);
        let mut sockets = Vec::new();
        let own_addr = SocketAddr::from((bind_ip, 0));
        let own = udp_socket(own_addr, false)?;
        sockets.push(SocketStatus {
            purpose: "direct replies and sending".into(),
            addr: own.local_addr().unwrap_or(own_addr),
            error: None,
        });
        let port_addr = SocketAddr::from((port_ip, config.udp_port));
        let port_socket = match udp_socket(port_addr, true) {
            Ok(socket) => {
                sockets.push(SocketStatus {
                    purpose: "beacon port".into(),
                    addr: port_addr,
                    error: None,
                });
                Some(socket)
            }
            Err(e) => {
                shared.sink.emit(Event::Problem(format!(
                    "Cannot listen for beacons on UDP port {}: {e}. Other devices' beacons will \
                     not be heard (their direct replies still are).",
                    config.udp_port
                )));
                sockets.push(SocketStatus {
                    purpose: "beacon port".into(),
                    addr: port_addr,
                    error: Some(e.to_string()),
                });
                None
            }
        };
        // Built first so that a failure below stops what already runs (Drop).
        let mut discovery = Discovery {
            control,
            halt: halt.clone(),
            threads: Vec::new(),
            receiving: Vec::new(),
        };
        let spawn_rx = |socket: UdpSocket, via: Via, slot: usize, name: &str| {
            let tx = incoming_tx.clone();
            let counters = counters.clone();
            let halt = halt.clone();
            let stopping = shared.stopping.clone();
            thread::Builder::new()
                .name(name.into())
                .spawn(move || receive_loop(socket, via, slot, tx, &counters, &halt, &stopping))
        };
        let rx_own = own.try_clone()?;
        discovery.receiving.push(rx_own.try_clone()?);
        discovery
            .threads
            .push(spawn_rx(rx_own, Via::Direct, 0, "ferry-disc-rx-direct")?);
        if let Some(socket) = port_socket {
            discovery.receiving.push(socket.try_clone()?);
            discovery
                .threads
                .push(spawn_rx(socket, Via::BeaconPort, 1, "ferry-disc-rx-port")?);
        }
        drop(incoming_tx);
        let (probe_tx, probe_rx) = bounded(MAX_MANUAL_PEERS * 2);
        let (prober_stop, prober_stop_rx) = bounded(0);
        let now = Instant::now();
        let service = Service {
            instance: crate::secure::random::random_u64(),
            announce,
            socket: own,
            selection,
            table: PeerTable::new(PEER_EXPIRY),
            heard: Heard::new(PEER_EXPIRY),
            log: VecDeque::with_capacity(LOG_CAPACITY),
            outbox: Outbox::new(),
            sockets,
            counters,
            incoming,
            control: control_rx,
            probe_tx,
            probe_rx,
            prober_stop: Some(prober_stop),
            prober_stop_rx,
            probers: Vec::new(),
            manual: Vec::new(),
            warned: HashSet::new(),
            send_errors: HashMap::new(),
            started: now,
            burst_index: 0,
            next_beacon: now,
            next_sweep: now + SWEEP_EVERY,
            halt,
            shared,
            config,
        };
        discovery.threads.push(
            thread::Builder::new()
                .name("ferry-discovery".into())
                .spawn(move || service.run())?,
        );
        Ok(discovery)
    }

    /// A handle for requests.
    pub fn controller(&self) -> Controller {
        Controller {
            tx: self.control.clone(),
        }
    }

    /// Sends the goodbye (when announcing) and waits for every thread.
    pub fn stop(mut self) {
        self.stop_threads();
    }

    fn stop_threads(&mut self) {
        self.halt.store(true, Ordering::SeqCst);
        let _ = self.control.try_send(Request::Stop);
        // On Linux this wakes a thread blocked in recv_from at once (it
        // reports ENOTCONN for a UDP socket, but still wakes it); elsewhere
        // the threads notice within their read timeout. Sending stays
        // possible, so the goodbye still goes out.
        for socket in self.receiving.drain(..) {
            let _ = socket2::SockRef::from(&socket).shutdown(std::net::Shutdown::Read);
        }
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

fn chosen_names(selection: &Selection) -> String {
    let mut names: Vec<&str> = selection.chosen.iter().map(|c| c.name.as_str()).collect();
    names.dedup();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// A UDP socket for discovery: broadcast allowed, shared port when
/// `shared_port` (SO_REUSEADDR, so several Ferry instances on one machine
/// all hear the broadcasts), and a read timeout so its thread can stop.
fn udp_socket(addr: SocketAddr, shared_port: bool) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    if shared_port {
        socket.set_reuse_address(true)?;
    }
    socket.set_broadcast(true)?;
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    socket.bind(&addr.into())?;
    let socket: UdpSocket = socket.into();
    socket.set_read_timeout(Some(RX_POLL))?;
    Ok(socket)
}

/// One receiver thread: read, parse, rate-limit, pass on. Never panics on
/// input; junk and excess are counted and dropped.
fn receive_loop(
    socket: UdpSocket,
    via: Via,
    slot: usize,
    tx: Sender<Incoming>,
    counters: &Counters,
    halt: &AtomicBool,
    stopping: &AtomicBool,
) {
    // One byte more than a beacon may be, so an oversized datagram is seen as such.
    let mut buffer = [0u8; MAX_BEACON_BYTES + 1];
    let mut limiter = RateLimiter::new();
    while !halt.load(Ordering::Relaxed) && !stopping.load(Ordering::Relaxed) {
        let received = socket.recv_from(&mut buffer);
        if halt.load(Ordering::Relaxed) {
            break;
        }
        let (len, from) = match received {
            Ok(got) => got,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // e.g. an ICMP error reported on the socket; do not spin on it.
                tracing::debug!("discovery receive error: {e}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        bump(&counters.datagrams);
        let beacon = match Beacon::decode(&buffer[..len]) {
            Ok(beacon) => beacon,
            Err(BeaconError::Version(v)) => {
                bump(&counters.other_version);
                tracing::trace!(%from, "beacon of format version {v}");
                continue;
            }
            Err(e) => {
                bump(&counters.junk);
                tracing::trace!(%from, "ignored datagram: {e}");
                continue;
            }
        };
        let allowed = limiter.allow(from, Instant::now());
        counters.sources[slot].store(limiter.sources(), Ordering::Relaxed);
        if !allowed {
            bump(&counters.rate_limited);
            continue;
        }
        match tx.try_send(Incoming { beacon, from, via }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => bump(&counters.backlog_dropped),
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

/// True for a beacon this very discovery sent (broadcasts come back to their
/// sender). Another process of the same device (same id, other instance,
/// e.g. `ferry peers` beside `ferry receive`) is not us.
fn is_own(beacon: &Beacon, device_id: &str, instance: u64) -> bool {
    beacon.instance == instance && beacon.device.device_id == device_id
}

/// Cuts `text` to `max` bytes at a character boundary and replaces control characters.
fn clean_name(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = if c.is_control() { '?' } else { c };
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// The discovery thread's state.
struct Service {
    shared: Context,
    config: DiscoveryConfig,
    instance: u64,
    announce: bool,
    socket: UdpSocket,
    selection: Selection,
    table: PeerTable,
    heard: Heard,
    log: VecDeque<HeardBeacon>,
    outbox: Outbox,
    sockets: Vec<SocketStatus>,
    counters: Arc<Counters>,
    incoming: Receiver<Incoming>,
    control: Receiver<Request>,
    probe_tx: Sender<ProbeResult>,
    probe_rx: Receiver<ProbeResult>,
    prober_stop: Option<Sender<()>>,
    prober_stop_rx: Receiver<()>,
    probers: Vec<(SocketAddr, JoinHandle<()>)>,
    manual: Vec<ManualStatus>,
    warned: HashSet<String>,
    send_errors: HashMap<String, String>,
    started: Instant,
    burst_index: usize,
    next_beacon: Instant,
    next_sweep: Instant,
    halt: Arc<AtomicBool>,
}

impl Service {
    fn stopping(&self) -> bool {
        self.halt.load(Ordering::SeqCst) || self.shared.stopping.load(Ordering::SeqCst)
    }

    fn run(mut self) {
        for addr in self.config.manual_peers.clone() {
            self.add_peer(addr);
        }
        while !self.stopping() {
            let now = Instant::now();
            if now >= self.next_beacon {
                self.beacon_round(now);
            }
            if now >= self.next_sweep {
                self.sweep(now);
            }
            self.flush_outbox();
            let mut wait = self
                .next_beacon
                .min(self.next_sweep)
                .saturating_duration_since(Instant::now());
            if !self.outbox.is_empty() {
                // The reader lags: try again soon, without ever waiting on it.
                wait = wait.min(OUTBOX_RETRY);
            }
            select! {
                recv(self.incoming) -> got => match got {
                    Ok(incoming) => self.on_beacon(incoming),
                    Err(_) => break,
                },
                recv(self.control) -> got => match got {
                    Ok(Request::AddPeer(addr)) => self.add_peer(addr),
                    Ok(Request::Announce) => self.next_beacon = Instant::now(),
                    Ok(Request::Report(reply)) => {
                        let _ = reply.try_send(self.report());
                    }
                    Ok(Request::Stop) | Err(_) => break,
                },
                recv(self.probe_rx) -> got => {
                    if let Ok(result) = got {
                        self.on_probe(result);
                    }
                },
                default(wait) => {}
            }
        }
        self.finish();
    }

    /// Delivers what waits in the outbox without waiting for the reader,
    /// noting each device's addresses for the sender's key check as it goes.
    fn flush_outbox(&mut self) {
        let ctx = &self.shared;
        self.outbox.flush(|event| {
            ctx.known.note(&event);
            ctx.sink.try_emit(event)
        });
    }

    /// Goodbye, then stop the probers.
    fn finish(&mut self) {
        self.halt.store(true, Ordering::SeqCst);
        self.flush_outbox();
        if self.announce {
            // Twice: a lost goodbye costs the others a full expiry.
            self.broadcast(BeaconKind::Goodbye);
            self.broadcast(BeaconKind::Goodbye);
        }
        self.prober_stop = None;
        for (_, handle) in self.probers.drain(..) {
            let _ = handle.join();
        }
    }

    fn our_beacon(&self, kind: BeaconKind) -> Beacon {
        let mut device = self.shared.device();
        device.alias = clean_name(&device.alias, MAX_ALIAS_BYTES);
        if !self.announce {
            device.port = 0;
        }
        let flags = if self.announce {
            CAP_RECEIVE | CAP_TEXT | CAP_RESUME | CAP_HELLO
        } else {
            0
        };
        Beacon {
            kind,
            instance: self.instance,
            protocol: PROTOCOL_VERSION,
            device,
            flags,
        }
    }

    fn beacon_round(&mut self, now: Instant) {
        if self.burst_index > 0 {
            // Interfaces come and go (Wi-Fi, cables, VPNs): look again each round.
            if let Ok(selection) = interfaces::select(&self.config.interfaces) {
                if selection.chosen != self.selection.chosen {
                    tracing::info!("discovery now uses: {}", chosen_names(&selection));
                }
                self.selection = selection;
            }
        }
        let kind = if self.announce {
            BeaconKind::Announce
        } else {
            BeaconKind::Query
        };
        self.broadcast(kind);
        self.burst_index += 1;
        self.next_beacon = match BURST.get(self.burst_index) {
            Some(offset) => self.started + *offset,
            None => now + BEACON_INTERVAL,
        };
    }

    fn broadcast(&mut self, kind: BeaconKind) {
        let bytes = match self.our_beacon(kind).encode() {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!("cannot encode our beacon: {e}");
                return;
            }
        };
        let mut done: Vec<Ipv4Addr> = Vec::new();
        for chosen in self.selection.chosen.clone() {
            if done.contains(&chosen.broadcast) {
                continue;
            }
            done.push(chosen.broadcast);
            let to = SocketAddr::from((chosen.broadcast, self.config.udp_port));
            match self.socket.send_to(&bytes, to) {
                Ok(_) => {
                    bump(&self.counters.sent);
                    self.send_errors.remove(&chosen.name);
                }
                Err(e) => {
                    bump(&self.counters.send_failed);
                    tracing::debug!("cannot send a beacon to {to} on {}: {e}", chosen.name);
                    self.send_errors.insert(chosen.name.clone(), e.to_string());
                }
            }
        }
    }

    fn reply_to(&mut self, to: SocketAddr) {
        let Ok(bytes) = self.our_beacon(BeaconKind::Reply).encode() else {
            return;
        };
        match self.socket.send_to(&bytes, to) {
            Ok(_) => bump(&self.counters.sent),
            Err(e) => {
                bump(&self.counters.send_failed);
                tracing::debug!("cannot reply to {to}: {e}");
            }
        }
    }

    fn remember(
        &mut self,
        incoming: &Incoming,
        interface: Option<String>,
        ignored: Option<String>,
    ) {
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(HeardBeacon {
            at: SystemTime::now(),
            from: incoming.from,
            interface,
            via: incoming.via,
            kind: incoming.beacon.kind,
            device: incoming.beacon.device.clone(),
            ignored,
        });
    }

    fn on_beacon(&mut self, incoming: Incoming) {
        let beacon = &incoming.beacon;
        let ours = self.shared.device();
        if is_own(beacon, &ours.device_id, self.instance) {
            bump(&self.counters.own);
            return;
        }
        let interface = match incoming.from.ip() {
            IpAddr::V4(ip) => self.selection.interface_of(ip).map(|c| c.name.clone()),
            IpAddr::V6(_) => None,
        };
        let Some(interface) = interface else {
            // Not from a network we beacon on: never answered, never listed.
            bump(&self.counters.foreign);
            self.remember(
                &incoming,
                None,
                Some("from outside the interfaces discovery uses".into()),
            );
            return;
        };
        if beacon.device.device_id == ours.device_id {
            // Our id from another run: a stale beacon of ours, or someone
            // using our id. Never list ourselves as a peer (a send to
            // "ourselves" would go to whoever sent it).
            self.remember(
                &incoming,
                Some(interface),
                Some("carries this device's own id from another run".into()),
            );
            return;
        }
        if beacon.protocol != PROTOCOL_VERSION {
            let id = beacon.device.device_id.clone();
            let note = format!(
                "{} ({}) runs Ferry protocol version {}, this one speaks version {}; install \
                 the same Ferry release on both",
                beacon.device.alias, incoming.from, beacon.protocol, PROTOCOL_VERSION
            );
            self.remember(&incoming, Some(interface), Some(note.clone()));
            if self.warned.len() < MAX_WARNED && self.warned.insert(id) {
                self.emit(Event::Problem(format!("Found {note}.")));
            }
            return;
        }
        self.remember(&incoming, Some(interface), None);
        let id = beacon.device.device_id.clone();
        let now = Instant::now();
        match beacon.kind {
            BeaconKind::Announce | BeaconKind::Reply => {
                if self.heard.record(&id, now) {
                    self.publish_heard();
                }
                let (change, new) =
                    self.table
                        .beacon(beacon, incoming.from, now, SystemTime::now());
                let answer = beacon.kind == BeaconKind::Announce && new && self.announce;
                self.apply(change);
                if answer {
                    self.reply_to(incoming.from);
                }
            }
            BeaconKind::Query => {
                if self.heard.record(&id, now) {
                    self.publish_heard();
                }
                if self.announce {
                    self.reply_to(incoming.from);
                }
            }
            BeaconKind::Goodbye => {
                if self.heard.forget(&id) {
                    self.publish_heard();
                }
                let change = self.table.goodbye(&id, beacon.instance);
                self.apply(change);
            }
        }
    }

    /// Queues an event; [`Service::run`] delivers when the reader has room.
    fn emit(&mut self, event: Event) {
        match event {
            Event::PeerSeen(peer) => self.outbox.seen(peer),
            Event::PeerGone { device_id } => self.outbox.gone(device_id),
            Event::Problem(text) => self.outbox.problem(text),
            other => tracing::error!("discovery does not emit {other:?}"),
        }
    }

    fn apply(&mut self, change: Change) {
        for device_id in self.table.take_evicted() {
            self.emit(Event::PeerGone { device_id });
        }
        match change {
            Change::Appeared(peer) | Change::Updated(peer) => self.emit(Event::PeerSeen(peer)),
            Change::Gone(device_id) => self.emit(Event::PeerGone { device_id }),
            Change::Refused => bump(&self.counters.refused),
            Change::Refreshed | Change::Nothing => {}
        }
    }

    fn publish_heard(&self) {
        let mut ids = self.heard.ids();
        ids.truncate(MAX_HEARD);
        if let Ok(mut heard) = self.shared.heard.write() {
            *heard = ids;
        }
    }

    fn sweep(&mut self, now: Instant) {
        let (gone, updated) = self.table.expire(now);
        for device_id in gone {
            tracing::debug!(%device_id, "peer expired");
            self.emit(Event::PeerGone { device_id });
        }
        for peer in updated {
            self.emit(Event::PeerSeen(peer));
        }
        if self.heard.expire(now) {
            self.publish_heard();
        }
        self.next_sweep = now + SWEEP_EVERY;
    }

    fn add_peer(&mut self, addr: SocketAddr) {
        if self.probers.iter().any(|(a, _)| *a == addr) {
            return;
        }
        if self.probers.len() >= MAX_MANUAL_PEERS {
            self.emit(Event::Problem(format!(
                "Cannot add {addr}: at most {MAX_MANUAL_PEERS} peers can be added by address."
            )));
            return;
        }
        let shared = self.shared.clone();
        let results = self.probe_tx.clone();
        let stop = self.prober_stop_rx.clone();
        let spawned = thread::Builder::new()
            .name("ferry-disc-probe".into())
            .spawn(move || prober(addr, &shared, &results, &stop));
        match spawned {
            Ok(handle) => {
                self.probers.push((addr, handle));
                self.manual.push(ManualStatus {
                    addr,
                    device: None,
                    last_ok: None,
                    last_error: None,
                    heard_us: None,
                });
            }
            Err(e) => self.emit(Event::Problem(format!("Cannot start probing {addr}: {e}."))),
        }
    }

    fn on_probe(&mut self, result: ProbeResult) {
        let ours = self.shared.device();
        let Some(index) = self.manual.iter().position(|m| m.addr == result.addr) else {
            return;
        };
        let outcome = result.result.and_then(|hello| {
            check_device(&hello.device)
                .map_err(|e| format!("{} sent an unusable hello: {e}", result.addr))?;
            if hello.device.device_id == ours.device_id && hello.device.port == ours.port {
                return Err(format!("{} is this Ferry itself", result.addr));
            }
            Ok(hello)
        });
        match outcome {
            Ok(hello) => {
                let status = &mut self.manual[index];
                status.device = Some(hello.device.clone());
                status.last_ok = Some(SystemTime::now());
                status.last_error = None;
                status.heard_us = Some(hello.heard.contains(&ours.device_id));
                let change = self.table.probed(
                    &hello.device,
                    result.addr,
                    Instant::now(),
                    SystemTime::now(),
                );
                self.apply(change);
            }
            Err(reason) => {
                let status = &mut self.manual[index];
                let first_failure = status.last_error.is_none();
                status.last_error = Some(reason.clone());
                if first_failure {
                    self.emit(Event::Problem(format!(
                        "Peer added by address: {reason} (Ferry keeps trying)."
                    )));
                }
            }
        }
    }

    fn report(&self) -> Report {
        let mut send_errors: Vec<(String, String)> = self
            .send_errors
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        send_errors.sort();
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Report {
            device_id: self.shared.device().device_id,
            announcing: self.announce,
            udp_port: self.config.udp_port,
            interfaces: self.selection.clone(),
            sockets: self.sockets.clone(),
            recent: self.log.iter().cloned().collect(),
            peers: self.table.peers(),
            manual: self.manual.clone(),
            send_errors,
            heard: self
                .shared
                .heard
                .read()
                .map(|h| h.clone())
                .unwrap_or_default(),
            stats: Stats {
                datagrams: load(&c.datagrams),
                junk: load(&c.junk),
                other_version: load(&c.other_version),
                rate_limited: load(&c.rate_limited),
                backlog_dropped: load(&c.backlog_dropped),
                foreign: load(&c.foreign),
                own: load(&c.own),
                refused: load(&c.refused),
                sent: load(&c.sent),
                send_failed: load(&c.send_failed),
                peers: self.table.len(),
                sources: c.sources.iter().map(|s| s.load(Ordering::Relaxed)).sum(),
            },
        }
    }
}

/// Probes one peer added by address every [`PROBE_INTERVAL`] until
/// discovery stops (its stop channel disconnects).
fn prober(addr: SocketAddr, shared: &Context, results: &Sender<ProbeResult>, stop: &Receiver<()>) {
    loop {
        let heard = shared.heard.read().map(|h| h.clone()).unwrap_or_default();
        let ours = Hello {
            device: shared.device(),
            heard,
        };
        let result = probe::hello(addr, &shared.identity, &ours).map_err(|e| e.to_string());
        if results
            .send_timeout(ProbeResult { addr, result }, PROBE_INTERVAL)
            .is_err()
            && shared.stopping.load(Ordering::SeqCst)
        {
            return;
        }
        match stop.recv_timeout(PROBE_INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::DeviceInfo;

    #[test]
    fn only_our_own_run_is_filtered_as_own() {
        let beacon = Beacon {
            kind: BeaconKind::Announce,
            instance: 42,
            protocol: PROTOCOL_VERSION,
            device: DeviceInfo {
                device_id: "abcd".into(),
                alias: "me".into(),
                os: "linux".into(),
                port: 1,
            },
            flags: 0,
        };
        assert!(is_own(&beacon, "abcd", 42));
        assert!(
            !is_own(&beacon, "abcd", 43),
            "another process of this device"
        );
        assert!(!is_own(&beacon, "ef01", 42));
    }

    #[test]
    fn names_are_cut_and_cleaned() {
        assert_eq!(clean_name("a\u{1b}[2Jb", 64), "a?[2Jb");
        assert_eq!(clean_name(&"é".repeat(40), 64).len(), 64);
        assert_eq!(clean_name("short", 64), "short");
    }

    #[test]
    fn junk_datagrams_are_counted_and_a_flood_is_limited() {
        // Drive receive_loop over a loopback socket pair; nothing leaves 127.0.0.1.
        let socket = udp_socket(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), false).expect("socket");
        let target = socket.local_addr().expect("addr");
        let (tx, rx) = bounded(INCOMING_CAPACITY);
        let counters = Arc::new(Counters::default());
        let halt = Arc::new(AtomicBool::new(false));
        let never = Arc::new(AtomicBool::new(false));
        let worker = {
            let counters = counters.clone();
            let halt = halt.clone();
            thread::spawn(move || {
                receive_loop(socket, Via::Direct, 0, tx, &counters, &halt, &never)
            })
        };
        let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("sender");
        let beacon = Beacon {
            kind: BeaconKind::Announce,
            instance: 1,
            protocol: PROTOCOL_VERSION,
            device: DeviceInfo {
                device_id: "abcd".into(),
                alias: "x".into(),
                os: "linux".into(),
                port: 1,
            },
            flags: 0,
        }
        .encode()
        .expect("encode");
        for i in 0..50u32 {
            sender.send_to(&i.to_le_bytes(), target).expect("send junk");
            sender.send_to(&beacon, target).expect("send beacon");
        }
        let mut got = 0;
        while rx.recv_timeout(Duration::from_millis(500)).is_ok() {
            got += 1;
        }
        halt.store(true, Ordering::SeqCst);
        worker.join().expect("join");
        assert_eq!(counters.junk.load(Ordering::Relaxed), 50);
        // The burst, plus whatever trickled back in while sending (a few at most).
        let burst = super::super::limiter::BURST as usize;
        assert!((burst..burst + 4).contains(&got), "{got} beacons passed");
        assert_eq!(
            counters.rate_limited.load(Ordering::Relaxed),
            50 - got as u64
        );
    }
}
