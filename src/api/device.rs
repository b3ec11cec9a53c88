//! The views of devices: who a device says it is ([`Device`]) and a device we
//! can send to ([`Peer`]). Built by the engine from whatever protocol found
//! the device; the window and the CLI read them and never see a beacon.

use std::net::SocketAddr;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// Who a device says it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Device {
    /// The device id: the SHA-256 of its certificate, lowercase hex, proven
    /// by the TLS handshake on every connection.
    pub device_id: String,
    /// Human-readable name chosen by its owner (defaults to the host name).
    pub alias: String,
    /// Operating system family, e.g. "linux", "windows", "macos".
    pub os: String,
    /// TCP port it accepts transfers on (0 when it does not listen).
    pub port: u16,
}

/// How we know a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerSource {
    /// Heard its broadcast beacon.
    Beacon,
    /// Added by address and answered a hello.
    Manual,
    /// A LocalSend device (its announcement or `register`), of this type.
    /// Sends to it use LocalSend's protocol; its `device_id` is the
    /// fingerprint it announced, proven by TLS before anything is sent.
    LocalSend(DeviceKind),
}

/// What kind of device a LocalSend peer says it is (only for showing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeviceKind {
    /// A phone or tablet.
    Mobile,
    /// A desktop or laptop computer.
    Desktop,
    /// A browser.
    Web,
    /// A program without a window.
    Headless,
    /// A server.
    Server,
    /// It did not say.
    Unknown,
}

impl DeviceKind {
    /// The word shown for it: "phone", "desktop", ...
    pub fn label(self) -> &'static str {
        match self {
            DeviceKind::Mobile => "phone",
            DeviceKind::Desktop => "desktop",
            DeviceKind::Web => "browser",
            DeviceKind::Headless => "headless",
            DeviceKind::Server => "server",
            DeviceKind::Unknown => "device",
        }
    }
}

impl Peer {
    /// The protocol sends to it use: "ferry" or "localsend".
    pub fn protocol(&self) -> &'static str {
        match self.source {
            PeerSource::LocalSend(_) => "localsend",
            PeerSource::Beacon | PeerSource::Manual => "ferry",
        }
    }

    /// Its device type when it is a LocalSend device.
    pub fn kind(&self) -> Option<DeviceKind> {
        match self.source {
            PeerSource::LocalSend(kind) => Some(kind),
            PeerSource::Beacon | PeerSource::Manual => None,
        }
    }
}

/// A device we can send to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// Who it says it is (device id, alias, OS, TCP port).
    pub device: Device,
    /// Addresses its transfers can be sent to (IP and TCP port), best first.
    pub addrs: Vec<SocketAddr>,
    /// When we last heard from it.
    pub last_seen: SystemTime,
    /// How we know it.
    pub source: PeerSource,
}
