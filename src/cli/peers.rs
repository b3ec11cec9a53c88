//! `ferry peers`: listen for a few seconds and list the Ferry devices seen
//! (alias, OS, address, when last heard), as a table or as stable JSON
//! (documented in docs/DISCOVERY.md). It only queries: other devices answer
//! it but never list it.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use serde::Serialize;

use super::{EXIT_FAILED, EXIT_OK, NetOptions};
use crate::api::Event;
use crate::discovery::{Peer, PeerSource};

/// Arguments of `ferry peers`.
#[derive(Debug, Args)]
pub struct PeersArgs {
    /// Seconds to listen before printing.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub wait: f64,
    /// Print JSON (a stable format for scripts) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Stop listening as soon as this many devices are seen; exit 1 if fewer
    /// are seen within --wait.
    #[arg(long, value_name = "N")]
    pub expect: Option<usize>,
    /// Also probe this device by address (HOST[:PORT]; repeatable).
    #[arg(long = "peer", value_name = "HOST[:PORT]")]
    pub peers: Vec<String>,
}

/// Version of the JSON document `ferry peers --json` prints.
pub const JSON_FORMAT: u32 = 1;

/// `ferry peers --json` output (format [`JSON_FORMAT`]).
#[derive(Debug, Serialize)]
pub struct PeersJson {
    /// Format version of this document.
    pub format: u32,
    /// The devices, sorted by alias then device id.
    pub peers: Vec<PeerJson>,
}

/// One device in `ferry peers --json`.
#[derive(Debug, Serialize)]
pub struct PeerJson {
    /// Stable device id (hex).
    pub device_id: String,
    /// Its name.
    pub alias: String,
    /// Operating system family ("linux", "windows", "macos"...).
    pub os: String,
    /// Its transfer (TCP) port.
    pub port: u16,
    /// "ip:port" addresses to send to, best first.
    pub addresses: Vec<String>,
    /// "beacon", "manual" or "localsend".
    pub source: &'static str,
    /// "ferry" or "localsend": the protocol sends to it use.
    pub protocol: &'static str,
    /// A LocalSend device's type ("phone", "desktop", ...); absent for Ferry devices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_type: Option<&'static str>,
    /// When last heard, in milliseconds since the Unix epoch.
    pub last_seen_unix_ms: u64,
    /// How long ago that was, in milliseconds.
    pub last_seen_ago_ms: u64,
}

impl PeerJson {
    /// The JSON view of a peer, relative to `now`.
    pub fn of(peer: &Peer, now: SystemTime) -> Self {
        PeerJson {
            device_id: peer.device.device_id.clone(),
            alias: peer.device.alias.clone(),
            os: peer.device.os.clone(),
            port: peer.device.port,
            addresses: peer.addrs.iter().map(|a| a.to_string()).collect(),
            source: match peer.source {
                PeerSource::Beacon => "beacon",
                PeerSource::Manual => "manual",
                PeerSource::LocalSend(_) => "localsend",
            },
            protocol: peer.protocol(),
            device_type: peer.kind().map(|k| k.label()),
            last_seen_unix_ms: millis(peer.last_seen.duration_since(UNIX_EPOCH).ok()),
            last_seen_ago_ms: millis(now.duration_since(peer.last_seen).ok()),
        }
    }
}

fn millis(d: Option<Duration>) -> u64 {
    d.map_or(0, |d| d.as_millis().min(u128::from(u64::MAX)) as u64)
}

/// "0.4 s ago" and the like.
pub fn ago(then: SystemTime, now: SystemTime) -> String {
    let secs = now.duration_since(then).unwrap_or_default().as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1} s ago")
    } else {
        format!("{:.0} min ago", secs / 60.0)
    }
}

/// Runs `ferry peers`.
pub fn run(args: PeersArgs, net: &NetOptions) -> anyhow::Result<i32> {
    let (settings, identity, device) = super::send::local_device()?;
    let discovery = crate::config::discovery_config(net, &settings, &args.peers)?;
    let engine = super::send::send_only_engine(identity, device, Some(discovery))?;
    let deadline = Instant::now() + super::seconds(args.wait);
    let mut live: HashSet<String> = HashSet::new();
    loop {
        if args.expect.is_some_and(|n| live.len() >= n) {
            break;
        }
        match engine.events().recv_deadline(deadline) {
            Ok(Event::PeerSeen(peer)) => {
                live.insert(peer.device.device_id);
            }
            Ok(Event::PeerGone { device_id }) => {
                live.remove(&device_id);
            }
            Ok(Event::Problem(problem)) => note!("ferry: {problem}"),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let peers = engine
        .discovery_report()
        .map(|report| report.peers)
        .unwrap_or_default();
    let now = SystemTime::now();
    if args.json {
        let doc = PeersJson {
            format: JSON_FORMAT,
            peers: peers.iter().map(|p| PeerJson::of(p, now)).collect(),
        };
        say!("{}", serde_json::to_string_pretty(&doc)?);
    } else if peers.is_empty() {
        say!("No Ferry device seen. `ferry doctor` explains what it can see.");
    } else {
        let width = peers
            .iter()
            .map(|p| p.device.alias.chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        say!(
            "{:<width$}  {:<8}  {:<21}  {:<11}  DEVICE ID",
            "NAME",
            "OS",
            "ADDRESS",
            "LAST SEEN"
        );
        for peer in &peers {
            let addr = peer
                .addrs
                .first()
                .map(|a| a.to_string())
                .unwrap_or_default();
            let manual = if peer.source == PeerSource::Manual {
                " (by address)"
            } else {
                ""
            };
            say!(
                "{:<width$}  {:<8}  {:<21}  {:<11}  {}{manual}",
                peer.device.alias,
                peer.device.os,
                addr,
                ago(peer.last_seen, now),
                peer.device.device_id
            );
        }
    }
    match args.expect {
        Some(n) if peers.len() < n => {
            note!(
                "ferry: {} of {n} expected {} seen",
                peers.len(),
                crate::api::noun(u64::try_from(n).unwrap_or(u64::MAX), "device", "devices")
            );
            Ok(EXIT_FAILED)
        }
        _ => Ok(EXIT_OK),
    }
}
