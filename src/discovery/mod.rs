//! Finding other Ferry devices on the local network: UDP broadcast beacons,
//! the peer table with expiry, and peers added by address (probed with a TCP
//! hello). This module owns the discovery sockets and threads and reports
//! through the engine's events; it never transfers files and never blocks the
//! engine's command loop (commands reach it through a bounded channel).
//!
//! How it behaves:
//! * A device that accepts transfers *announces*: a burst of beacons at start
//!   ([`BURST`]), then one every [`BEACON_INTERVAL`], to the broadcast address
//!   of every chosen interface ([`interfaces`]) on the UDP port
//!   ([`DEFAULT_UDP_PORT`] unless configured), and a goodbye on clean exit.
//! * A device that only looks (`ferry peers`, `ferry send --to NAME`,
//!   `ferry doctor`) sends *queries* instead and is never listed by others.
//! * Hearing an announce from a device new to it (or a query), an announcing
//!   device answers at once by unicast, so a newcomer's list fills in
//!   milliseconds rather than a beacon interval.
//! * A device not heard for [`PEER_EXPIRY`] (about three missed beacons) is
//!   gone. Peers added by address are probed every [`PROBE_INTERVAL`] and
//!   expire the same way.
//! * Only datagrams from the subnets of the chosen interfaces are taken or
//!   answered; everything else is counted and ignored. Sources are rate
//!   limited and the table is capped, so a flood costs bounded memory.

pub mod interfaces;
pub mod limiter;
pub mod outbox;
pub mod probe;
mod service;
pub mod table;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::protocol::{BeaconKind, DeviceInfo};

pub use crate::api::{Peer, PeerSource};
pub use service::{Controller, Discovery};

/// Default UDP port of discovery beacons.
pub const DEFAULT_UDP_PORT: u16 = 47_812;

/// When the start-up burst of beacons goes out, from the start.
pub const BURST: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(300),
    Duration::from_millis(1000),
];

/// Time between beacons after the burst.
pub const BEACON_INTERVAL: Duration = Duration::from_secs(2);

/// A device silent this long is removed: three missed beacons and a margin.
pub const PEER_EXPIRY: Duration = Duration::from_millis(7000);

/// Time between hello probes of a peer added by address.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// Most peers added by address at once.
pub const MAX_MANUAL_PEERS: usize = 32;

/// How discovery runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// Interface names to beacon on; empty means every suitable IPv4 interface.
    pub interfaces: Vec<String>,
    /// UDP port for beacons.
    pub udp_port: u16,
    /// Peers to probe by address because broadcast may not reach them.
    pub manual_peers: Vec<SocketAddr>,
    /// Also talk to LocalSend devices on these interfaces, if set.
    pub localsend: Option<LocalSendConfig>,
}

/// LocalSend's default port, for both its multicast and its HTTPS server
/// (protocol section 1).
pub const LOCALSEND_PORT: u16 = 53_317;

/// LocalSend's default multicast group (protocol section 1).
pub const LOCALSEND_GROUP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(224, 0, 0, 167);

/// How LocalSend runs beside discovery (`crate::localsend` does the work;
/// the configuration lives here because it travels with the interfaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSendConfig {
    /// TCP port of the HTTPS server; 0 picks one (announced as bound).
    pub port: u16,
    /// UDP port of the multicast announcements.
    pub multicast_port: u16,
    /// The multicast group.
    pub group: std::net::Ipv4Addr,
    /// Announce as `headless` (the CLI) rather than `desktop` (the window).
    pub headless: bool,
}

impl Default for LocalSendConfig {
    fn default() -> Self {
        LocalSendConfig {
            port: LOCALSEND_PORT,
            multicast_port: LOCALSEND_PORT,
            group: LOCALSEND_GROUP,
            headless: false,
        }
    }
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            interfaces: Vec::new(),
            udp_port: DEFAULT_UDP_PORT,
            manual_peers: Vec::new(),
            localsend: None,
        }
    }
}

impl DiscoveryConfig {
    /// Discovery confined to the loopback interface (`lo`) on `udp_port`:
    /// several Ferry instances on this machine find each other and nothing
    /// leaves it. What tests and local experiments should use.
    pub fn loopback(udp_port: u16) -> Self {
        DiscoveryConfig {
            interfaces: vec!["lo".into()],
            udp_port,
            manual_peers: Vec::new(),
            localsend: None,
        }
    }
}

/// Which socket a beacon arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Via {
    /// The shared beacon port (broadcasts, and unicast sent to the port).
    BeaconPort,
    /// Our own socket: a direct reply to one of our beacons.
    Direct,
}

/// One beacon received lately, for `ferry doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeardBeacon {
    /// When it arrived.
    pub at: SystemTime,
    /// Its UDP source.
    pub from: SocketAddr,
    /// Our interface whose subnet holds the source, if any.
    pub interface: Option<String>,
    /// Which socket received it.
    pub via: Via,
    /// What kind of beacon.
    pub kind: BeaconKind,
    /// Who sent it, as it says.
    pub device: DeviceInfo,
    /// Why it was ignored, if it was.
    pub ignored: Option<String>,
}

/// A discovery socket and whether it could be bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketStatus {
    /// What it is for.
    pub purpose: String,
    /// The address asked for (or bound, when the port was 0).
    pub addr: SocketAddr,
    /// Why binding failed, if it did.
    pub error: Option<String>,
}

/// The state of one peer added by address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualStatus {
    /// The address probed.
    pub addr: SocketAddr,
    /// The device that answered last, if any.
    pub device: Option<DeviceInfo>,
    /// When a probe last succeeded.
    pub last_ok: Option<SystemTime>,
    /// The last failure, as a sentence, if the last probe failed.
    pub last_error: Option<String>,
    /// Whether its last answer listed our device id among the beacons it heard.
    pub heard_us: Option<bool>,
}

/// Counters since discovery started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Datagrams received on either socket.
    pub datagrams: u64,
    /// Datagrams that were not a Ferry beacon or did not parse.
    pub junk: u64,
    /// Beacons of another beacon format version.
    pub other_version: u64,
    /// Datagrams dropped because their source sent too many.
    pub rate_limited: u64,
    /// Beacons dropped because discovery lagged behind (backlog full).
    pub backlog_dropped: u64,
    /// Beacons from outside the chosen interfaces' subnets (ignored).
    pub foreign: u64,
    /// Our own beacons heard back (shows that sending and receiving work).
    pub own: u64,
    /// New devices refused because the table (or the source's share) was full.
    pub refused: u64,
    /// Beacons sent.
    pub sent: u64,
    /// Beacons that could not be sent.
    pub send_failed: u64,
    /// Devices in the table now.
    pub peers: usize,
    /// UDP sources tracked by the rate limiters now.
    pub sources: usize,
}

/// A snapshot of discovery for diagnostics (`ferry doctor`, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Our device id.
    pub device_id: String,
    /// True if we announce (accept transfers), false if we only query.
    pub announcing: bool,
    /// The beacon UDP port.
    pub udp_port: u16,
    /// Interfaces in use and those skipped, with reasons.
    pub interfaces: interfaces::Selection,
    /// The sockets and whether they are bound.
    pub sockets: Vec<SocketStatus>,
    /// Beacons received lately (oldest first, bounded).
    pub recent: Vec<HeardBeacon>,
    /// Devices listed now.
    pub peers: Vec<Peer>,
    /// Peers added by address.
    pub manual: Vec<ManualStatus>,
    /// Interfaces where sending last failed, with the error.
    pub send_errors: Vec<(String, String)>,
    /// Device ids whose beacons we heard lately, newest first: what our
    /// hellos tell other devices (so a check can ask them the same way).
    pub heard: Vec<String>,
    /// Counters.
    pub stats: Stats,
}

/// The peers whose alias equals `name` (ignoring case) or whose device id
/// starts with it (at least 4 characters, ignoring case). An exact alias
/// match wins over id prefixes.
pub fn find_by_name<'a>(peers: impl IntoIterator<Item = &'a Peer>, name: &str) -> Vec<&'a Peer> {
    let name = name.trim();
    if name.is_empty() {
        return Vec::new();
    }
    let peers: Vec<&Peer> = peers.into_iter().collect();
    let by_alias: Vec<&Peer> = peers
        .iter()
        .copied()
        .filter(|p| p.device.alias.eq_ignore_ascii_case(name) || p.device.alias == name)
        .collect();
    if !by_alias.is_empty() {
        return by_alias;
    }
    if name.len() < 4 {
        return Vec::new();
    }
    let lower = name.to_ascii_lowercase();
    peers
        .into_iter()
        .filter(|p| p.device.device_id.to_ascii_lowercase().starts_with(&lower))
        .collect()
}

/// A peer for unit tests.
#[cfg(test)]
pub(crate) fn test_peer(id: &str, alias: &str) -> Peer {
    Peer {
        device: crate::api::Device {
            device_id: id.into(),
            alias: alias.into(),
            os: "linux".into(),
            port: 1,
        },
        addrs: vec![SocketAddr::from(([127, 0, 0, 1], 1))],
        last_seen: SystemTime::now(),
        source: PeerSource::Beacon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str, alias: &str) -> Peer {
        test_peer(id, alias)
    }

    #[test]
    fn names_resolve_by_alias_then_id_prefix() {
        let peers = vec![
            peer("aaaa1111", "Desk"),
            peer("aaaa2222", "twin"),
            peer("bbbb3333", "twin"),
        ];
        let ids = |found: Vec<&Peer>| -> Vec<String> {
            found.iter().map(|p| p.device.device_id.clone()).collect()
        };
        assert_eq!(ids(find_by_name(&peers, "desk")), vec!["aaaa1111"]);
        assert_eq!(ids(find_by_name(&peers, "twin")).len(), 2);
        assert_eq!(ids(find_by_name(&peers, "BBBB")), vec!["bbbb3333"]);
        assert_eq!(ids(find_by_name(&peers, "aaaa")).len(), 2);
        assert!(find_by_name(&peers, "aaa").is_empty());
        assert!(find_by_name(&peers, "nobody").is_empty());
        assert!(find_by_name(&peers, "").is_empty());
    }

    #[test]
    fn loopback_config_names_lo_only() {
        let c = DiscoveryConfig::loopback(5000);
        assert_eq!(c.interfaces, vec!["lo".to_string()]);
        assert_eq!(c.udp_port, 5000);
    }

    /// Three missed beacons must fit in the expiry, and only just.
    #[test]
    fn expiry_is_about_three_beacons() {
        assert!(PEER_EXPIRY > BEACON_INTERVAL * 3);
        assert!(PEER_EXPIRY < BEACON_INTERVAL * 4);
    }
}
