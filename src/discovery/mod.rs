//! Finding other Ferry devices on the local network: UDP broadcast beacons,
//! the peer table with expiry, and peers added by address. This module owns
//! the UDP sockets; it never transfers files.

use std::net::SocketAddr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::protocol::DeviceInfo;

/// How a peer became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerSource {
    /// Heard its broadcast beacon.
    Beacon,
    /// Added by address and answered a hello.
    Manual,
}

/// A device we can send to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// Who it says it is (device id, alias, OS, TCP port).
    pub device: DeviceInfo,
    /// Addresses its transfers can be sent to (IP and TCP port), best first.
    pub addrs: Vec<SocketAddr>,
    /// When we last heard from it.
    pub last_seen: SystemTime,
    /// How we know it.
    pub source: PeerSource,
}

/// Default UDP port of discovery beacons.
pub const DEFAULT_UDP_PORT: u16 = 47_812;

/// How discovery runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// Interface names to beacon on; empty means every suitable IPv4 interface.
    pub interfaces: Vec<String>,
    /// UDP port for beacons.
    pub udp_port: u16,
    /// Peers to probe by address because broadcast may not reach them.
    pub manual_peers: Vec<SocketAddr>,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            interfaces: Vec::new(),
            udp_port: DEFAULT_UDP_PORT,
            manual_peers: Vec::new(),
        }
    }
}
