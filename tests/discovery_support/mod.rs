//! Helpers shared by the discovery tests: loopback-only engines on a UDP port
//! of their own, a live peer list built from engine events with bounded
//! waits, and the `ferry` binary with discovery confined to `lo`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry::api::Device;
use ferry::api::{AcceptPolicy, Event, ReceiveSettings};
use ferry::discovery::{DiscoveryConfig, Peer};
use ferry::engine::{Engine, EngineConfig};
use ferry::secure::identity::Identity;

/// A UDP port number for one test's beacons. The guard keeps 127.0.0.1:port
/// bound (without address sharing) for the test's lifetime, so no other test
/// on this machine is handed the same number; it does not receive the
/// loopback broadcasts, so it does not disturb the test.
pub struct UdpPort {
    _guard: UdpSocket,
    /// The port number.
    pub port: u16,
}

/// Picks a free UDP port.
pub fn udp_port() -> UdpPort {
    let guard = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a UDP port");
    let port = guard.local_addr().expect("local addr").port();
    UdpPort {
        _guard: guard,
        port,
    }
}

/// An engine on loopback: listening on 127.0.0.1 (port 0) when `listen`,
/// accepting everything into `dir`, discovery confined to `lo` on `udp_port`.
pub fn engine(alias: &str, udp_port: u16, dir: &Path, listen: bool) -> Engine {
    engine_with(alias, DiscoveryConfig::loopback(udp_port), dir, listen)
}

/// Like [`engine`] with an explicit discovery configuration.
pub fn engine_with(alias: &str, discovery: DiscoveryConfig, dir: &Path, listen: bool) -> Engine {
    assert!(
        !discovery.interfaces.is_empty(),
        "tests outside netlab must confine discovery to lo"
    );
    let identity = Arc::new(Identity::ephemeral().expect("an identity"));
    Engine::start(
        EngineConfig {
            device: Device {
                device_id: identity.device_id().to_string(),
                alias: alias.into(),
                os: "linux".into(),
                port: 0,
            },
            identity,
            listen: listen.then(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
            receive: ReceiveSettings {
                download_dir: dir.to_path_buf(),
                accept: AcceptPolicy::Everyone,
                pin: None,
                accept_from_anywhere: false,
                remembered: Vec::new(),
                trust_new: true,
            },
            discovery: Some(discovery),
        },
        Arc::new(|| {}),
    )
    .expect("engine starts")
}

/// The peer list one engine sees, kept from its events.
pub struct Watch<'a> {
    /// The engine watched.
    pub engine: &'a Engine,
    /// Devices listed now, by id.
    pub live: HashMap<String, Peer>,
    /// Ids that were reported gone, in order.
    pub gone: Vec<String>,
    /// Problems reported.
    pub problems: Vec<String>,
}

impl<'a> Watch<'a> {
    /// Starts watching (events already queued count too).
    pub fn new(engine: &'a Engine) -> Self {
        Watch {
            engine,
            live: HashMap::new(),
            gone: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::PeerSeen(peer) => {
                self.live.insert(peer.device.device_id.clone(), peer);
            }
            Event::PeerGone { device_id } => {
                self.live.remove(&device_id);
                self.gone.push(device_id);
            }
            Event::Problem(problem) => self.problems.push(problem),
            _ => {}
        }
    }

    /// Applies events until `done` holds or `timeout` passes; the time it took.
    pub fn until(
        &mut self,
        timeout: Duration,
        done: impl Fn(&HashMap<String, Peer>) -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        let deadline = start + timeout;
        loop {
            if done(&self.live) {
                return Some(start.elapsed());
            }
            match self.engine.events().recv_deadline(deadline) {
                Ok(event) => self.apply(event),
                Err(_) => return None,
            }
        }
    }

    /// Applies whatever arrives during `span` (for "nothing happens" checks).
    pub fn drain_for(&mut self, span: Duration) {
        let deadline = Instant::now() + span;
        while let Ok(event) = self.engine.events().recv_deadline(deadline) {
            self.apply(event);
        }
    }

    /// The listed device called `alias`, if any.
    pub fn by_alias(&self, alias: &str) -> Option<&Peer> {
        self.live.values().find(|p| p.device.alias == alias)
    }
}

/// The address of `engine`'s own discovery socket (the one replies and
/// direct datagrams reach), from its discovery report.
pub fn direct_socket(engine: &Engine) -> SocketAddr {
    engine
        .discovery_report()
        .expect("report")
        .sockets
        .iter()
        .find(|s| s.error.is_none() && s.purpose.contains("direct"))
        .map(|s| s.addr)
        .expect("the target's own socket")
}

/// True if a device called `alias` is listed.
pub fn has_alias(live: &HashMap<String, Peer>, alias: &str) -> bool {
    live.values().any(|p| p.device.alias == alias)
}

/// The `ferry` binary, with its state in `config_dir` and discovery confined
/// to `lo` on `udp_port`.
pub fn ferry(config_dir: &Path, udp_port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
    command
        .env("FERRY_INTERFACES", "lo")
        .env("FERRY_UDP_PORT", udp_port.to_string())
        .env("FERRY_CONFIG_DIR", config_dir)
        .env("FERRY_DATA_DIR", config_dir.join("data"))
        // LocalSend's server on a free port, never the real 53317.
        .env("FERRY_LOCALSEND_PORT", "0")
        .env_remove("RUST_LOG");
    command
}

/// Says hello to `engine`'s listener as a device it has never met (a fresh
/// key called `alias`); returns that device's id and the answer.
pub fn hello_as_stranger(engine: &Engine, alias: &str) -> (String, ferry::protocol::Hello) {
    let identity = Identity::ephemeral().expect("identity");
    let hello = ferry::protocol::Hello {
        device: ferry::protocol::DeviceInfo {
            device_id: identity.device_id().to_string(),
            alias: alias.into(),
            os: "linux".into(),
            port: 0,
        },
        heard: Vec::new(),
    };
    let addr = engine.local_addr().expect("listens");
    let answer = ferry::discovery::probe::hello(addr, &identity, &hello).expect("hello");
    (hello.device.device_id, answer)
}
