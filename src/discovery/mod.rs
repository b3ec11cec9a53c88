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
