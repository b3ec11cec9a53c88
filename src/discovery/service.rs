//! The running discovery: the [`Discovery`] handle, which starts and stops
//! its sockets and named threads, and the [`Controller`] that sends it
//! requests. Two receiver threads (the shared beacon port, and our own
//! socket that gets direct replies; see `sockets`) parse and rate-limit
//! datagrams and pass beacons over a bounded channel to one discovery thread
//! (`worker`), which alone owns the peer table, sends beacons, answers
//! newcomers, expires the silent, and emits engine events. Peers added by
//! address each get a prober thread. Nothing here waits on the engine or its
//! reader: commands arrive with `try_send`, and events wait in an outbox
//! until the event channel has room, so a UI that stops draining never stops
//! the beacons.

mod sockets;
mod worker;

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded};

use super::interfaces::{self, Selection};
use super::{DiscoveryConfig, Report, Via};
use crate::api::Event;
use crate::protocol::Beacon;
use crate::transfer::context::Context;
use worker::{Service, Wiring};

/// Beacons waiting for the discovery thread; more are dropped (and counted).
const INCOMING_CAPACITY: usize = 1024;
/// Commands waiting for the discovery thread.
const CONTROL_CAPACITY: usize = 64;

/// What the engine (or a test) asks of running discovery.
#[derive(Debug)]
enum Request {
    AddPeer(SocketAddr),
    ForgetPeer(SocketAddr),
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

    /// Stops probing `addr` (a peer added by address that the person
    /// removed). False if discovery is stopped or too busy to take the request.
    pub fn forget_peer(&self, addr: SocketAddr) -> bool {
        self.tx.try_send(Request::ForgetPeer(addr)).is_ok()
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
        let selection = choose_interfaces(&config, &shared);
        let (bind_ip, port_ip) = bind_addresses(&selection);
        let opened = sockets::open(&config, &shared, bind_ip, port_ip)?;
        let counters = Arc::new(Counters::default());
        let (incoming_tx, incoming) = bounded(INCOMING_CAPACITY);
        let (control, control_rx) = bounded(CONTROL_CAPACITY);
        // Built first so that a failure below stops what already runs (Drop).
        let mut discovery = Discovery {
            control,
            halt: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
            receiving: Vec::new(),
        };
        let rx_own = opened.own.try_clone()?;
        discovery.spawn_receiver(rx_own, Via::Direct, &incoming_tx, &counters, &shared)?;
        if let Some(socket) = opened.port {
            discovery.spawn_receiver(socket, Via::BeaconPort, &incoming_tx, &counters, &shared)?;
        }
        // Only the receivers hold senders now: when they end, the
        // discovery thread sees the channel disconnect.
        drop(incoming_tx);
        let service = Service::new(Wiring {
            shared,
            config,
            announce,
            socket: opened.own,
            selection,
            sockets: opened.status,
            counters,
            incoming,
            control: control_rx,
            halt: discovery.halt.clone(),
        });
        discovery.threads.push(
            thread::Builder::new()
                .name("ferry-discovery".into())
                .spawn(move || service.run())?,
        );
        Ok(discovery)
    }

    /// Starts the receiver thread for `socket`, keeping a clone of it so that
    /// stopping can wake the thread.
    fn spawn_receiver(
        &mut self,
        socket: UdpSocket,
        via: Via,
        incoming: &Sender<Incoming>,
        counters: &Arc<Counters>,
        shared: &Context,
    ) -> io::Result<()> {
        // Each receiver counts its rate-limited sources in its own slot.
        let (slot, name) = match via {
            Via::Direct => (0, "ferry-disc-rx-direct"),
            Via::BeaconPort => (1, "ferry-disc-rx-port"),
        };
        self.receiving.push(socket.try_clone()?);
        let tx = incoming.clone();
        let counters = counters.clone();
        let halt = self.halt.clone();
        let stopping = shared.stopping.clone();
        let handle = thread::Builder::new().name(name.into()).spawn(move || {
            sockets::receive_loop(socket, via, slot, tx, &counters, &halt, &stopping);
        })?;
        self.threads.push(handle);
        Ok(())
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

/// The interfaces to beacon on, as configured. Problems (none usable, some
/// named but missing, none listable) are reported as events, not errors:
/// discovery still runs, and still hears direct replies.
fn choose_interfaces(config: &DiscoveryConfig, shared: &Context) -> Selection {
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
    selection
}

/// Where our own socket and the beacon port bind: (own, beacon port).
fn bind_addresses(selection: &Selection) -> (Ipv4Addr, Ipv4Addr) {
    // Confined to loopback: bind there too, so nothing can leave the
    // machine. The beacon port then binds the loopback broadcast address
    // itself: on Linux a socket bound to 127.0.0.1 does not receive
    // datagrams sent to 127.255.255.255, one bound to that address does.
    match selection.chosen.first() {
        Some(first) if selection.loopback_only() => (Ipv4Addr::LOCALHOST, first.broadcast),
        _ => (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED),
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
