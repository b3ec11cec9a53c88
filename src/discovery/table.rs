//! The peer table: every device currently known, keyed by device id, with
//! the addresses it was seen at and when, plus the list of device ids whose
//! beacons we heard lately (reported to others in hellos). Pure bookkeeping
//! with the clock passed in, so expiry is testable without waiting; it never
//! touches a socket or emits events (it returns what changed).
//!
//! It stays bounded whatever arrives: at most [`MAX_PEERS`] entries, at most
//! [`MAX_IDS_PER_SOURCE`] device ids per UDP source, and at most
//! [`MAX_ADDRS_PER_PEER`] addresses per device. When the table is full, a
//! newcomer takes the place of the oldest *unconfirmed* entry (heard only
//! once, as made-up ids in a flood are), so a flood cannot lock real devices
//! out; confirmed entries are never evicted, only expired.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use super::{Peer, PeerSource};
use crate::api::Device;
use crate::protocol::messages::MAX_HEARD;
use crate::protocol::{Beacon, DeviceInfo};

/// Most devices in the table; beacons from further new devices are refused
/// (and counted) until entries expire.
pub const MAX_PEERS: usize = 256;

/// Most live device ids one UDP source (address and port) may announce. A
/// real Ferry sends from one socket as one device; a flood of made-up ids
/// from one socket takes at most this many places.
pub const MAX_IDS_PER_SOURCE: usize = 4;

/// Most addresses remembered per device.
pub const MAX_ADDRS_PER_PEER: usize = 8;

/// What one beacon, probe, goodbye or sweep changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A device not listed before.
    Appeared(Peer),
    /// A listed device changed name, OS, port, addresses or source.
    Updated(Peer),
    /// Only its last-seen time moved.
    Refreshed,
    /// A device left (goodbye or expiry).
    Gone(String),
    /// Not taken: the table or the source's share of it is full.
    Refused,
    /// Nothing to do (e.g. a goodbye from a device not listed).
    Nothing,
}

#[derive(Debug, Clone)]
struct Entry {
    peer: Peer,
    instance: u64,
    udp_source: Option<SocketAddr>,
    last_beacon: Option<Instant>,
    last_probe: Option<Instant>,
    addr_seen: Vec<(SocketAddr, Instant)>,
    beacons: u32,
}

impl Entry {
    /// Heard more than once, or answering probes: not a one-off.
    fn confirmed(&self) -> bool {
        self.beacons >= 2 || self.last_probe.is_some()
    }

    fn alive(&self, now: Instant, expiry: Duration) -> bool {
        let fresh =
            |t: Option<Instant>| t.is_some_and(|t| now.saturating_duration_since(t) < expiry);
        fresh(self.last_beacon) || fresh(self.last_probe)
    }

    fn beacon_fresh(&self, now: Instant, expiry: Duration) -> bool {
        self.last_beacon
            .is_some_and(|t| now.saturating_duration_since(t) < expiry)
    }

    fn touch_addr(&mut self, addr: SocketAddr, now: Instant, expiry: Duration) {
        self.addr_seen
            .retain(|(_, t)| now.saturating_duration_since(*t) < expiry);
        match self.addr_seen.iter_mut().find(|(a, _)| *a == addr) {
            Some(seen) => seen.1 = now,
            None => {
                if self.addr_seen.len() >= MAX_ADDRS_PER_PEER {
                    self.addr_seen.remove(0);
                }
                self.addr_seen.push((addr, now));
            }
        }
    }

    /// Rebuilds the public view (not the time); true if it changed.
    fn publish(&mut self, now: Instant, expiry: Duration) -> bool {
        let addrs: Vec<SocketAddr> = self.addr_seen.iter().map(|(a, _)| *a).collect();
        let source = if self.beacon_fresh(now, expiry) {
            PeerSource::Beacon
        } else {
            PeerSource::Manual
        };
        let changed = addrs != self.peer.addrs || source != self.peer.source;
        self.peer.addrs = addrs;
        self.peer.source = source;
        changed
    }
}

/// Devices known right now.
#[derive(Debug)]
pub struct PeerTable {
    entries: HashMap<String, Entry>,
    expiry: Duration,
    evicted: Vec<String>,
}

impl PeerTable {
    /// An empty table whose entries expire after `expiry` of silence.
    pub fn new(expiry: Duration) -> Self {
        PeerTable {
            entries: HashMap::new(),
            expiry,
            evicted: Vec::new(),
        }
    }

    /// Number of devices listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no device is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every listed device, ordered by alias then id.
    pub fn peers(&self) -> Vec<Peer> {
        let mut peers: Vec<Peer> = self.entries.values().map(|e| e.peer.clone()).collect();
        peers.sort_by(|a, b| {
            (a.device.alias.to_lowercase(), &a.device.device_id)
                .cmp(&(b.device.alias.to_lowercase(), &b.device.device_id))
        });
        peers
    }

    /// Ids removed to make room since the last call (each was listed, so
    /// its removal must be reported like a departure).
    pub fn take_evicted(&mut self) -> Vec<String> {
        std::mem::take(&mut self.evicted)
    }

    /// Frees one place if the table is full; false if it cannot.
    fn make_room(&mut self) -> bool {
        if self.entries.len() < MAX_PEERS {
            return true;
        }
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| !e.confirmed())
            .min_by_key(|(_, e)| e.last_beacon)
            .map(|(id, _)| id.clone());
        match victim {
            Some(id) => {
                self.entries.remove(&id);
                self.evicted.push(id);
                true
            }
            None => false,
        }
    }

    /// One device, if listed.
    pub fn get(&self, device_id: &str) -> Option<&Peer> {
        self.entries.get(device_id).map(|e| &e.peer)
    }

    /// Takes an announce or reply that arrived from `from`. The second value
    /// is true when the sender is new to us (a new device, or a new run of a
    /// known one): an announce from it deserves an immediate reply.
    pub fn beacon(
        &mut self,
        beacon: &Beacon,
        from: SocketAddr,
        now: Instant,
        wall: SystemTime,
    ) -> (Change, bool) {
        let id = &beacon.device.device_id;
        let addr = SocketAddr::new(from.ip(), beacon.device.port);
        let expiry = self.expiry;
        if let Some(entry) = self.entries.get_mut(id) {
            let new_run = entry.instance != beacon.instance;
            let device = Device::from(&beacon.device);
            let device_changed = entry.peer.device != device;
            if new_run && entry.last_beacon.is_some() {
                // Its port may have changed with the new run: forget old addresses.
                entry.addr_seen.clear();
            }
            entry.instance = beacon.instance;
            entry.udp_source = Some(from);
            entry.peer.device = device;
            entry.peer.last_seen = wall;
            entry.last_beacon = Some(now);
            entry.beacons = entry.beacons.saturating_add(1);
            entry.touch_addr(addr, now, expiry);
            let changed = entry.publish(now, expiry) || device_changed;
            let change = if changed {
                Change::Updated(entry.peer.clone())
            } else {
                Change::Refreshed
            };
            return (change, new_run);
        }
        let from_source = self
            .entries
            .values()
            .filter(|e| e.udp_source == Some(from))
            .count();
        if from_source >= MAX_IDS_PER_SOURCE || !self.make_room() {
            return (Change::Refused, false);
        }
        let mut entry = Entry {
            peer: Peer {
                device: Device::from(&beacon.device),
                addrs: Vec::new(),
                last_seen: wall,
                source: PeerSource::Beacon,
            },
            instance: beacon.instance,
            udp_source: Some(from),
            last_beacon: Some(now),
            last_probe: None,
            addr_seen: Vec::new(),
            beacons: 1,
        };
        entry.touch_addr(addr, now, expiry);
        entry.publish(now, expiry);
        let peer = entry.peer.clone();
        self.entries.insert(id.clone(), entry);
        (Change::Appeared(peer), true)
    }

    /// Takes a successful hello probe of `addr` (a peer added by address).
    pub fn probed(
        &mut self,
        device: &DeviceInfo,
        addr: SocketAddr,
        now: Instant,
        wall: SystemTime,
    ) -> Change {
        let expiry = self.expiry;
        if let Some(entry) = self.entries.get_mut(&device.device_id) {
            let device = Device::from(device);
            let device_changed = entry.peer.device != device;
            entry.peer.device = device;
            entry.peer.last_seen = wall;
            entry.last_probe = Some(now);
            entry.touch_addr(addr, now, expiry);
            return if entry.publish(now, expiry) || device_changed {
                Change::Updated(entry.peer.clone())
            } else {
                Change::Refreshed
            };
        }
        if !self.make_room() {
            return Change::Refused;
        }
        let mut entry = Entry {
            peer: Peer {
                device: Device::from(device),
                addrs: Vec::new(),
                last_seen: wall,
                source: PeerSource::Manual,
            },
            instance: 0,
            udp_source: None,
            last_beacon: None,
            last_probe: Some(now),
            addr_seen: Vec::new(),
            beacons: 0,
        };
        entry.touch_addr(addr, now, expiry);
        entry.publish(now, expiry);
        let peer = entry.peer.clone();
        self.entries.insert(device.device_id.clone(), entry);
        Change::Appeared(peer)
    }

    /// Takes a goodbye: the device is removed if the goodbye is from the run
    /// we know (a late goodbye from an earlier run is ignored).
    pub fn goodbye(&mut self, device_id: &str, instance: u64) -> Change {
        match self.entries.get(device_id) {
            Some(entry) if entry.instance == instance || entry.last_beacon.is_none() => {
                self.entries.remove(device_id);
                Change::Gone(device_id.to_string())
            }
            _ => Change::Nothing,
        }
    }

    /// Removes devices silent for the expiry time and returns their ids;
    /// devices whose beacons stopped but whose probes still answer become
    /// [`PeerSource::Manual`] and are returned in the second list.
    pub fn expire(&mut self, now: Instant) -> (Vec<String>, Vec<Peer>) {
        let expiry = self.expiry;
        let mut gone = Vec::new();
        self.entries.retain(|id, entry| {
            let alive = entry.alive(now, expiry);
            if !alive {
                gone.push(id.clone());
            }
            alive
        });
        let mut updated = Vec::new();
        for entry in self.entries.values_mut() {
            if entry.publish(now, expiry) {
                updated.push(entry.peer.clone());
            }
        }
        gone.sort();
        (gone, updated)
    }
}

/// Device ids whose beacons arrived lately, newest first; at most
/// [`MAX_HEARD`] (the most a hello may carry).
#[derive(Debug)]
pub struct Heard {
    ids: HashMap<String, Instant>,
    expiry: Duration,
}

impl Heard {
    /// An empty list whose ids expire after `expiry`.
    pub fn new(expiry: Duration) -> Self {
        Heard {
            ids: HashMap::new(),
            expiry,
        }
    }

    /// Notes a beacon from `id`; true if the list of ids changed.
    pub fn record(&mut self, id: &str, now: Instant) -> bool {
        if let Some(seen) = self.ids.get_mut(id) {
            *seen = now;
            return false;
        }
        if self.ids.len() >= MAX_HEARD
            && let Some(oldest) = self
                .ids
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(id, _)| id.clone())
        {
            self.ids.remove(&oldest);
        }
        self.ids.insert(id.to_string(), now);
        true
    }

    /// Forgets `id` (it said goodbye); true if it was listed.
    pub fn forget(&mut self, id: &str) -> bool {
        self.ids.remove(id).is_some()
    }

    /// Drops ids not heard within the expiry; true if any were dropped.
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.ids.len();
        let expiry = self.expiry;
        self.ids
            .retain(|_, t| now.saturating_duration_since(*t) < expiry);
        self.ids.len() != before
    }

    /// The ids, newest first.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<(&String, &Instant)> = self.ids.iter().collect();
        ids.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        ids.into_iter().map(|(id, _)| id.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{BeaconKind, PROTOCOL_VERSION};

    const EXPIRY: Duration = Duration::from_secs(7);

    fn beacon(id: &str, alias: &str, port: u16, instance: u64) -> Beacon {
        Beacon {
            kind: BeaconKind::Announce,
            instance,
            protocol: PROTOCOL_VERSION,
            device: DeviceInfo {
                device_id: id.into(),
                alias: alias.into(),
                os: "linux".into(),
                port,
            },
            flags: 0,
        }
    }

    fn src(last: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, last], port))
    }

    #[test]
    fn appear_refresh_update_and_reply_only_to_newcomers() {
        let mut t = PeerTable::new(EXPIRY);
        let now = Instant::now();
        let wall = SystemTime::now();
        let (c, reply) = t.beacon(&beacon("a", "desk", 5000, 1), src(2, 40000), now, wall);
        assert!(matches!(c, Change::Appeared(ref p) if p.addrs == vec![src(2, 5000)]));
        assert!(reply);
        let (c, reply) = t.beacon(&beacon("a", "desk", 5000, 1), src(2, 40000), now, wall);
        assert_eq!(c, Change::Refreshed);
        assert!(!reply);
        let (c, reply) = t.beacon(&beacon("a", "den", 5000, 1), src(2, 40000), now, wall);
        assert!(matches!(c, Change::Updated(ref p) if p.device.alias == "den"));
        assert!(!reply);
        // Restarted (new instance) on another port: answered again, old address dropped.
        let (c, reply) = t.beacon(&beacon("a", "den", 6000, 2), src(2, 40001), now, wall);
        assert!(matches!(c, Change::Updated(ref p) if p.addrs == vec![src(2, 6000)]));
        assert!(reply);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn silent_peers_expire_and_goodbye_removes_at_once() {
        let mut t = PeerTable::new(EXPIRY);
        let start = Instant::now();
        let wall = SystemTime::now();
        t.beacon(&beacon("a", "a", 1, 1), src(2, 9), start, wall);
        t.beacon(&beacon("b", "b", 1, 1), src(3, 9), start, wall);
        let (gone, _) = t.expire(start + Duration::from_secs(6));
        assert!(gone.is_empty());
        t.beacon(
            &beacon("b", "b", 1, 1),
            src(3, 9),
            start + Duration::from_secs(6),
            wall,
        );
        let (gone, _) = t.expire(start + EXPIRY);
        assert_eq!(gone, vec!["a".to_string()]);
        // A goodbye from an earlier run is ignored; the current run's removes.
        assert_eq!(t.goodbye("b", 99), Change::Nothing);
        assert_eq!(t.goodbye("b", 1), Change::Gone("b".into()));
        assert!(t.is_empty());
        assert_eq!(t.goodbye("b", 1), Change::Nothing);
    }

    #[test]
    fn bounded_per_source_and_in_total() {
        let mut t = PeerTable::new(EXPIRY);
        let now = Instant::now();
        let wall = SystemTime::now();
        // One source making up ids gets only its share.
        for i in 0..1000 {
            t.beacon(
                &beacon(&format!("fake{i}"), "x", 1, i),
                src(9, 9),
                now,
                wall,
            );
        }
        assert_eq!(t.len(), MAX_IDS_PER_SOURCE);
        // A real device heard twice is confirmed.
        let real = src(100, 5);
        t.beacon(&beacon("real", "desk", 1, 7), real, now, wall);
        t.beacon(&beacon("real", "desk", 1, 7), real, now, wall);
        // Many sources fill the table up to its cap, never beyond; one-off
        // ids make room for each other, oldest first.
        for i in 0..(MAX_PEERS * 3) {
            let from = SocketAddr::from(([10, 1, (i / 250) as u8, (i % 250) as u8], 7));
            let later = now + Duration::from_millis(i as u64);
            t.beacon(&beacon(&format!("many{i}"), "x", 1, 0), from, later, wall);
        }
        assert_eq!(t.len(), MAX_PEERS);
        assert!(t.get("real").is_some(), "a confirmed device was evicted");
        assert!(t.get(&format!("many{}", MAX_PEERS * 3 - 1)).is_some());
        assert!(t.get("many0").is_none());
        let evicted = t.take_evicted();
        assert!(evicted.contains(&"many0".to_string()));
        assert!(!evicted.contains(&"real".to_string()));
        // Listed devices keep being refreshed while full.
        let (c, _) = t.beacon(&beacon("real", "desk", 1, 7), real, now, wall);
        assert_eq!(c, Change::Refreshed);
        // Once every entry is confirmed, newcomers wait for expiry.
        for (id, _) in t.entries.clone() {
            let from = t.entries[&id].udp_source.expect("source");
            let b = Beacon {
                instance: t.entries[&id].instance,
                ..beacon(&id, "x", 1, 0)
            };
            t.beacon(&b, from, now, wall);
        }
        let (c, _) = t.beacon(&beacon("late", "x", 1, 0), src(200, 1), now, wall);
        assert_eq!(c, Change::Refused);
        // Addresses per peer are capped too.
        for port in 0..100u16 {
            t.beacon(&beacon("real", "desk", port, 7), real, now, wall);
        }
        assert_eq!(
            t.get("real").map(|p| p.addrs.len()),
            Some(MAX_ADDRS_PER_PEER)
        );
    }

    #[test]
    fn probed_peers_are_manual_and_expire_without_answers() {
        let mut t = PeerTable::new(EXPIRY);
        let start = Instant::now();
        let wall = SystemTime::now();
        let device = beacon("m", "nas", 47813, 0).device;
        let c = t.probed(&device, src(5, 47813), start, wall);
        assert!(matches!(c, Change::Appeared(ref p) if p.source == PeerSource::Manual));
        assert_eq!(
            t.probed(&device, src(5, 47813), start + Duration::from_secs(2), wall),
            Change::Refreshed
        );
        // Heard by beacon too: becomes a beacon peer, then manual again when beacons stop.
        let (c, _) = t.beacon(
            &beacon("m", "nas", 47813, 3),
            src(5, 4000),
            start + Duration::from_secs(2),
            wall,
        );
        assert!(matches!(c, Change::Updated(ref p) if p.source == PeerSource::Beacon));
        t.probed(&device, src(5, 47813), start + Duration::from_secs(8), wall);
        let (gone, updated) = t.expire(start + Duration::from_secs(10));
        assert!(gone.is_empty());
        assert_eq!(updated.len(), 1);
        assert_eq!(updated[0].source, PeerSource::Manual);
        let (gone, _) = t.expire(start + Duration::from_secs(15));
        assert_eq!(gone, vec!["m".to_string()]);
    }

    #[test]
    fn heard_is_bounded_newest_first_and_expires() {
        let mut h = Heard::new(EXPIRY);
        let start = Instant::now();
        for i in 0..(MAX_HEARD + 50) {
            h.record(&format!("id{i}"), start + Duration::from_millis(i as u64));
        }
        let ids = h.ids();
        assert_eq!(ids.len(), MAX_HEARD);
        assert_eq!(ids[0], format!("id{}", MAX_HEARD + 49));
        assert!(!h.record("id299", start));
        assert!(h.forget("id299"));
        assert!(h.expire(start + Duration::from_secs(60)));
        assert!(h.ids().is_empty());
    }
}
