//! The network check: explains why devices do or do not see each other, and
//! returns the answer as a [`Report`] for any face to show (`ferry doctor`
//! prints it, the window draws it). It looks at the interfaces discovery
//! would use and why others are skipped, the ports it could or could not
//! bind, the beacons heard while it listens (from whom, on which interface,
//! by which path), and for every known device a two-way check: is its TCP
//! port reachable, did it hear our beacons (its hello says), did we hear
//! its. Every problem comes with its fix in plain words.
//!
//! It only queries and probes, through a send-only [`Engine`] of its own and
//! the engine's public API; it changes nothing. It must not print, and must
//! not depend on the CLI or the window: callers gather the [`Setup`].

mod beacons;
mod devices;
mod local;
mod localsend;
mod report;
mod text;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use report::{Check, Report, Section, Status, Topic, Verdict};

use crate::api::{Device, Event};
use crate::discovery::DiscoveryConfig;
use crate::engine::{Engine, EngineConfig, EngineError};
use crate::protocol::{DeviceInfo, Hello, PROTOCOL_VERSION};
use crate::secure::identity::Identity;

/// How long the check listens for beacons unless told otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(3);

/// What the check needs to know about this device and its settings.
#[derive(Clone)]
pub struct Setup {
    /// This device's key (the check says hello as this device).
    pub identity: Arc<Identity>,
    /// This device (alias, OS; the id is the key's).
    pub device: Device,
    /// The TCP port this device receives on (or would).
    pub tcp_port: u16,
    /// Interfaces, UDP port and saved peers, as discovery would use them.
    pub discovery: DiscoveryConfig,
    /// More devices to check by address, each with a label for the report.
    pub extra_peers: Vec<(SocketAddr, String)>,
    /// How long to listen for beacons.
    pub wait: Duration,
}

/// Why the check could not run at all (as opposed to what it found).
#[derive(Debug, thiserror::Error)]
pub enum DiagnoseError {
    /// Its own engine could not start.
    #[error("the network check could not start: {0}")]
    Engine(#[from] EngineError),
    /// Discovery did not answer when asked what it saw.
    #[error("the network check got no answer from discovery")]
    NoAnswer,
}

/// Runs the check: listens for `setup.wait`, then probes every device
/// known. Blocks for a few seconds; run it off any UI thread.
pub fn run(setup: &Setup) -> Result<Report, DiagnoseError> {
    let device = DeviceInfo {
        device_id: setup.identity.device_id().to_string(),
        ..DeviceInfo::from(&setup.device)
    };
    let about = format!(
        "{:?}, device id {}, Ferry {}, protocol version {PROTOCOL_VERSION}",
        device.alias,
        device.device_id,
        env!("CARGO_PKG_VERSION")
    );
    let (interfaces, selection) = local::interfaces(&setup.discovery.interfaces);
    let mut ports = Vec::new();
    let hello = Hello {
        device: device.clone(),
        heard: Vec::new(),
    };
    ports.push(local::tcp_port(setup.tcp_port, &setup.identity, &hello));
    ports.extend(localsend::checks(
        setup.discovery.localsend.as_ref(),
        &selection,
    ));

    let engine = looking_engine(setup, device)?;
    let messages = listen(&engine, setup.wait);
    let report = engine.discovery_report().ok_or(DiagnoseError::NoAnswer)?;
    let port_bound = local::sockets(&report, &mut ports);
    for message in messages {
        ports.push(Check::warning("Discovery", message));
    }
    let beacons = beacons::section(
        &report,
        port_bound && !selection.chosen.is_empty(),
        format!("Beacons heard in {:.1} s", setup.wait.as_secs_f64()),
    );

    let targets = devices::targets(&report, &setup.extra_peers, &setup.discovery.manual_peers);
    let mut sections = vec![
        interfaces,
        Section {
            topic: Topic::Ports,
            heading: "Ports".into(),
            checks: ports,
        },
        beacons,
        devices::overview(targets.len()),
    ];
    let hello = Hello {
        heard: report.heard.clone(),
        ..hello
    };
    let asker = devices::Asker {
        identity: &setup.identity,
        hello: &hello,
    };
    for target in targets {
        sections.push(devices::check(&report, &selection, target, &asker));
    }
    drop(engine);
    Ok(Report::new(about, setup.wait, sections))
}

/// A send-only engine with discovery: it queries and listens, and is never
/// listed by others.
fn looking_engine(setup: &Setup, device: DeviceInfo) -> Result<Engine, EngineError> {
    Engine::start(
        EngineConfig::send_only(
            Device::from(&device),
            setup.identity.clone(),
            Some(setup.discovery.clone()),
        ),
        Arc::new(|| {}),
    )
}

/// Waits `wait`, collecting the problems discovery reports meanwhile.
fn listen(engine: &Engine, wait: Duration) -> Vec<String> {
    let deadline = Instant::now() + wait;
    let mut messages = Vec::new();
    while let Ok(event) = engine.events().recv_deadline(deadline) {
        if let Event::Problem(problem) = event {
            messages.push(problem);
        }
    }
    messages
}
