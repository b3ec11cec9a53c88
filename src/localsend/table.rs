//! The LocalSend devices heard lately, keyed by fingerprint (lower-case),
//! with the address their server answers at, when they were last heard and
//! whether they are shown (a Ferry device heard over LocalSend too is never
//! shown twice: the Ferry protocol wins). Pure bookkeeping with the clock
//! passed in; it never touches a socket or emits an event (it returns what
//! changed). Bounded: at most [`MAX_DEVICES`] entries.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use super::wire::Info;
use crate::api::{Device, Peer, PeerSource};

/// Most LocalSend devices listed; newcomers past it are ignored until
/// entries expire.
pub const MAX_DEVICES: usize = 128;

/// Most devices one IP address may stand for (a host running LocalSend and
/// Ferry, say); made-up fingerprints from one host take no more places.
pub const MAX_DEVICES_PER_ADDRESS: usize = 4;

/// What hearing a device changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Listed now, or its name, type or address changed: report it.
    Seen(Peer),
    /// Nothing to report.
    Nothing,
}

#[derive(Debug, Clone)]
struct Entry {
    peer: Peer,
    plain_http: bool,
    last: Instant,
    shown: bool,
    /// When it was last asked directly whether it is still there.
    checked: Option<Instant>,
}

/// LocalSend devices by fingerprint.
#[derive(Debug)]
pub struct Table {
    entries: HashMap<String, Entry>,
    expiry: Duration,
}

/// A device as a LocalSend message describes it, at `ip`.
fn peer_of(id: &str, info: &Info, ip: IpAddr, wall: SystemTime) -> Peer {
    let port = info.port.unwrap_or(super::DEFAULT_PORT);
    Peer {
        device: Device {
            device_id: id.to_string(),
            alias: info.alias.clone(),
            os: info.device_model.clone().unwrap_or_default().to_lowercase(),
            port,
        },
        addrs: vec![SocketAddr::new(ip, port)],
        last_seen: wall,
        source: PeerSource::LocalSend(info.kind()),
    }
}

impl Table {
    /// An empty table whose entries expire after `expiry` of silence.
    pub fn new(expiry: Duration) -> Self {
        Table {
            entries: HashMap::new(),
            expiry,
        }
    }

    /// Takes a message from the device `id` (lower-case fingerprint) at
    /// `ip`. `is_ferry` says the id is listed as a Ferry device right now,
    /// so it is kept but not shown.
    pub fn heard(
        &mut self,
        id: &str,
        info: &Info,
        ip: IpAddr,
        now: Instant,
        wall: SystemTime,
        is_ferry: bool,
    ) -> Change {
        let fresh = peer_of(id, info, ip, wall);
        if let Some(entry) = self.entries.get_mut(id) {
            let changed = entry.peer.device != fresh.device
                || entry.peer.addrs != fresh.addrs
                || entry.peer.source != fresh.source;
            entry.peer = fresh;
            entry.plain_http = info.plain_http();
            entry.last = now;
            let show = !is_ferry && (changed || !entry.shown);
            entry.shown = !is_ferry;
            return if show {
                Change::Seen(entry.peer.clone())
            } else {
                Change::Nothing
            };
        }
        let from_ip = self
            .entries
            .values()
            .filter(|e| e.peer.addrs.iter().any(|a| a.ip() == ip))
            .count();
        if self.entries.len() >= MAX_DEVICES || from_ip >= MAX_DEVICES_PER_ADDRESS {
            return Change::Nothing;
        }
        self.entries.insert(
            id.to_string(),
            Entry {
                peer: fresh.clone(),
                plain_http: info.plain_http(),
                last: now,
                shown: !is_ferry,
                checked: None,
            },
        );
        if is_ferry {
            Change::Nothing
        } else {
            Change::Seen(fresh)
        }
    }

    /// Removes devices silent for the expiry; returns the ids of those that
    /// were shown (their departure must be reported).
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let expiry = self.expiry;
        let mut gone = Vec::new();
        self.entries.retain(|id, e| {
            let alive = now.saturating_duration_since(e.last) < expiry;
            if !alive && e.shown {
                gone.push(id.clone());
            }
            alive
        });
        gone.sort();
        gone
    }

    /// Hides the devices that are now listed as Ferry devices (without a
    /// departure: the Ferry entry replaced them), and returns the hidden
    /// ones that are no longer Ferry devices, to show again.
    pub fn reconcile(&mut self, is_ferry: impl Fn(&str) -> bool) -> Vec<Peer> {
        let mut again = Vec::new();
        for (id, entry) in &mut self.entries {
            let ferry = is_ferry(id);
            if ferry {
                entry.shown = false;
            } else if !entry.shown {
                entry.shown = true;
                again.push(entry.peer.clone());
            }
        }
        again
    }

    /// Devices silent for `silent` and not asked within `every`: each is
    /// returned once (id, server address, plain HTTP) and noted as asked.
    /// A LocalSend device announces only when it starts; asking it with
    /// `register` now and then is how a quiet but present device stays listed.
    pub fn to_check(
        &mut self,
        now: Instant,
        silent: Duration,
        every: Duration,
    ) -> Vec<(String, SocketAddr, bool)> {
        let mut due = Vec::new();
        for (id, entry) in &mut self.entries {
            let quiet = now.saturating_duration_since(entry.last) >= silent;
            let asked = entry
                .checked
                .is_some_and(|at| now.saturating_duration_since(at) < every);
            if quiet
                && !asked
                && let Some(addr) = entry.peer.addrs.first()
            {
                entry.checked = Some(now);
                due.push((id.clone(), *addr, entry.plain_http));
            }
        }
        due.sort();
        due
    }

    /// The devices shown, by alias.
    pub fn peers(&self) -> Vec<Peer> {
        let mut peers: Vec<Peer> = self
            .entries
            .values()
            .filter(|e| e.shown)
            .map(|e| e.peer.clone())
            .collect();
        peers.sort_by(|a, b| {
            (a.device.alias.to_lowercase(), &a.device.device_id)
                .cmp(&(b.device.alias.to_lowercase(), &b.device.device_id))
        });
        peers
    }

    /// The device whose server is at `addr` (its id is the fingerprint it
    /// announced) and whether it speaks plain HTTP.
    pub fn at(&self, addr: SocketAddr) -> Option<(Device, bool)> {
        self.entries
            .values()
            .find(|e| e.peer.addrs.contains(&addr))
            .map(|e| (e.peer.device.clone(), e.plain_http))
    }

    /// Number of entries (shown or not).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::DeviceKind;

    fn info(alias: &str) -> Info {
        Info::parse(
            format!(r#"{{"alias":"{alias}","deviceType":"mobile","port":53317}}"#).as_bytes(),
            1024,
        )
        .unwrap()
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_device_appears_once_changes_and_expires() {
        let mut t = Table::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let Change::Seen(p) = t.heard("ab", &info("Phone"), IP, t0, wall, false) else {
            panic!("not shown");
        };
        assert_eq!(p.source, PeerSource::LocalSend(DeviceKind::Mobile));
        assert_eq!(p.addrs, vec![SocketAddr::new(IP, 53317)]);
        assert_eq!(
            t.heard("ab", &info("Phone"), IP, t0, wall, false),
            Change::Nothing
        );
        assert!(matches!(
            t.heard("ab", &info("Phone 2"), IP, t0, wall, false),
            Change::Seen(_)
        ));
        let (device, plain) = t.at(SocketAddr::new(IP, 53317)).expect("listed");
        assert_eq!((device.device_id.as_str(), plain), ("ab", false));
        assert!(t.expire(t0 + Duration::from_secs(5)).is_empty());
        assert_eq!(
            t.expire(t0 + Duration::from_secs(11)),
            vec!["ab".to_string()]
        );
        assert!(t.is_empty());
    }

    #[test]
    fn ferry_devices_are_never_shown_twice() {
        let mut t = Table::new(Duration::from_secs(10));
        let now = Instant::now();
        let wall = SystemTime::now();
        assert_eq!(
            t.heard("ab", &info("Desk"), IP, now, wall, true),
            Change::Nothing
        );
        assert!(t.peers().is_empty());
        // Hidden entries leave silently.
        assert!(t.expire(now + Duration::from_secs(11)).is_empty());
        // Shown first, then the Ferry beacon arrives: hidden without a departure.
        t.heard("cd", &info("Lap"), IP, now, wall, false);
        assert!(t.reconcile(|id| id == "cd").is_empty());
        assert!(t.peers().is_empty());
        // The Ferry device went quiet: LocalSend shows it again.
        assert_eq!(t.reconcile(|_| false).len(), 1);
        assert_eq!(t.peers().len(), 1);
    }

    #[test]
    fn quiet_devices_are_checked_once_per_period() {
        let mut t = Table::new(Duration::from_secs(30));
        let t0 = Instant::now();
        t.heard("ab", &info("Phone"), IP, t0, SystemTime::now(), false);
        let (silent, every) = (Duration::from_secs(10), Duration::from_secs(10));
        assert!(
            t.to_check(t0 + Duration::from_secs(5), silent, every)
                .is_empty()
        );
        let due = t.to_check(t0 + Duration::from_secs(11), silent, every);
        assert_eq!(
            due,
            vec![("ab".to_string(), SocketAddr::new(IP, 53317), false)]
        );
        assert!(
            t.to_check(t0 + Duration::from_secs(12), silent, every)
                .is_empty()
        );
        assert_eq!(
            t.to_check(t0 + Duration::from_secs(22), silent, every)
                .len(),
            1
        );
    }

    #[test]
    fn the_table_is_bounded_in_all_and_per_address() {
        let mut t = Table::new(Duration::from_secs(10));
        let now = Instant::now();
        let wall = SystemTime::now();
        for i in 0..MAX_DEVICES + 10 {
            t.heard(&format!("one{i}"), &info("x"), IP, now, wall, false);
        }
        assert_eq!(t.len(), MAX_DEVICES_PER_ADDRESS, "one host, few places");
        for i in 0..MAX_DEVICES + 10 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 1, (i % 250) as u8));
            t.heard(&format!("{i}"), &info("x"), ip, now, wall, false);
        }
        assert_eq!(t.len(), MAX_DEVICES);
    }
}
