//! The discovery thread: the service loop and what it does on each wake-up.
//! It alone owns the peer table, the heard list, the log of recent beacons
//! and the outbox; it sends our beacons (a burst, then one per interval),
//! answers newcomers, expires the silent, judges probe results, and emits
//! engine events. It must never wait on the engine or its event reader:
//! events wait in the [`Outbox`] until the channel has room, so a UI that
//! stops draining never stops the beacons.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, Sender, bounded, select};

use super::super::interfaces::{self, Selection};
use super::super::outbox::Outbox;
use super::super::table::{Change, Heard, PeerTable};
use super::super::{
    BEACON_INTERVAL, BURST, DiscoveryConfig, HeardBeacon, MAX_MANUAL_PEERS, ManualStatus,
    PEER_EXPIRY, Report, SocketStatus, Stats,
};
mod prober;

use super::{Counters, Incoming, Request, bump, chosen_names};
use crate::api::Event;
use crate::protocol::beacon::{CAP_HELLO, CAP_RECEIVE, CAP_RESUME, CAP_TEXT};
use crate::protocol::limits::MAX_ALIAS_BYTES;
use crate::protocol::messages::MAX_HEARD;
use crate::protocol::{Beacon, BeaconKind, PROTOCOL_VERSION};
use crate::transfer::context::Context;
use prober::ProbeResult;

/// How often the table is swept for silent devices.
const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// Beacons remembered for diagnostics.
const LOG_CAPACITY: usize = 64;
/// How soon undelivered events are retried when the event reader lags.
const OUTBOX_RETRY: Duration = Duration::from_millis(20);
/// Devices whose protocol-version mismatch was already reported.
const MAX_WARNED: usize = 256;

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
pub(super) struct Service {
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
    probers: Vec<prober::Prober>,
    /// Probers of forgotten peers, finishing their last probe; joined at the end.
    retired: Vec<JoinHandle<()>>,
    manual: Vec<ManualStatus>,
    warned: HashSet<String>,
    send_errors: HashMap<String, String>,
    started: Instant,
    burst_index: usize,
    next_beacon: Instant,
    next_sweep: Instant,
    halt: Arc<AtomicBool>,
}

/// What [`Discovery::start`](super::Discovery::start) hands the discovery
/// thread: the sockets and channels it set up, and the shared state.
pub(super) struct Wiring {
    pub(super) shared: Context,
    pub(super) config: DiscoveryConfig,
    pub(super) announce: bool,
    /// Our own socket, which every beacon and reply is sent from.
    pub(super) socket: UdpSocket,
    pub(super) selection: Selection,
    pub(super) sockets: Vec<SocketStatus>,
    pub(super) counters: Arc<Counters>,
    pub(super) incoming: Receiver<Incoming>,
    pub(super) control: Receiver<Request>,
    pub(super) halt: Arc<AtomicBool>,
}

impl Service {
    pub(super) fn new(wiring: Wiring) -> Self {
        let (probe_tx, probe_rx) = bounded(MAX_MANUAL_PEERS * 2);
        let (prober_stop, prober_stop_rx) = bounded(0);
        let now = Instant::now();
        Service {
            instance: crate::secure::random::random_u64(),
            announce: wiring.announce,
            socket: wiring.socket,
            selection: wiring.selection,
            table: PeerTable::new(PEER_EXPIRY),
            heard: Heard::new(PEER_EXPIRY),
            log: VecDeque::with_capacity(LOG_CAPACITY),
            outbox: Outbox::new(),
            sockets: wiring.sockets,
            counters: wiring.counters,
            incoming: wiring.incoming,
            control: wiring.control,
            probe_tx,
            probe_rx,
            prober_stop: Some(prober_stop),
            prober_stop_rx,
            probers: Vec::new(),
            retired: Vec::new(),
            manual: Vec::new(),
            warned: HashSet::new(),
            send_errors: HashMap::new(),
            started: now,
            burst_index: 0,
            next_beacon: now,
            next_sweep: now + SWEEP_EVERY,
            halt: wiring.halt,
            shared: wiring.shared,
            config: wiring.config,
        }
    }
}

impl Service {
    fn stopping(&self) -> bool {
        self.halt.load(Ordering::SeqCst) || self.shared.stopping.load(Ordering::SeqCst)
    }

    pub(super) fn run(mut self) {
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
                    Ok(Request::ForgetPeer(addr)) => self.forget_peer(addr),
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
        let probers = self.probers.drain(..).map(prober::Prober::stop);
        for handle in probers.chain(self.retired.drain(..)).collect::<Vec<_>>() {
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

    /// One beacon from a receiver thread: screened, remembered, acted on.
    fn on_beacon(&mut self, incoming: Incoming) {
        if self.admit(&incoming) {
            self.act_on(&incoming);
        }
    }

    /// True if `incoming` is a peer's beacon to act on. Our own echo is only
    /// counted; a beacon from outside our networks, one carrying our id, or
    /// one of another protocol version is remembered (with why it was
    /// ignored) but never acted on. An admitted beacon is remembered too.
    fn admit(&mut self, incoming: &Incoming) -> bool {
        let beacon = &incoming.beacon;
        let ours = self.shared.device();
        if is_own(beacon, &ours.device_id, self.instance) {
            bump(&self.counters.own);
            return false;
        }
        let interface = match incoming.from.ip() {
            IpAddr::V4(ip) => self.selection.interface_of(ip).map(|c| c.name.clone()),
            IpAddr::V6(_) => None,
        };
        let Some(interface) = interface else {
            // Not from a network we beacon on: never answered, never listed.
            bump(&self.counters.foreign);
            self.remember(
                incoming,
                None,
                Some("from outside the interfaces discovery uses".into()),
            );
            return false;
        };
        if beacon.device.device_id == ours.device_id {
            // Our id from another run: a stale beacon of ours, or someone
            // using our id. Never list ourselves as a peer (a send to
            // "ourselves" would go to whoever sent it).
            self.remember(
                incoming,
                Some(interface),
                Some("carries this device's own id from another run".into()),
            );
            return false;
        }
        if beacon.protocol != PROTOCOL_VERSION {
            let id = beacon.device.device_id.clone();
            let note = format!(
                "{} ({}) runs Ferry protocol version {}, this one speaks version {}; install \
                 the same Ferry release on both",
                beacon.device.alias, incoming.from, beacon.protocol, PROTOCOL_VERSION
            );
            self.remember(incoming, Some(interface), Some(note.clone()));
            if self.warned.len() < MAX_WARNED && self.warned.insert(id) {
                self.emit(Event::Problem(format!("Found {note}.")));
            }
            return false;
        }
        self.remember(incoming, Some(interface), None);
        true
    }

    /// Acts on an admitted beacon by its kind: an announce or reply lists
    /// (or refreshes) the peer and a newcomer's announce is answered, a query
    /// is answered, a goodbye unlists.
    fn act_on(&mut self, incoming: &Incoming) {
        let beacon = &incoming.beacon;
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
}
