//! The two-way check of other devices: is its TCP port reachable (a signed
//! hello), did it hear our beacons (its hello says), did we hear its, and is
//! it on a network discovery uses. Every problem comes with its fix. It
//! only says hello; it changes nothing and prints nothing.

use std::io;
use std::net::{IpAddr, SocketAddr};

use super::beacons::{firewall_fix, short};
use super::report::{Check, Section, Topic};
use crate::discovery::interfaces::Selection;
use crate::discovery::probe::{self, ProbeError};
use crate::discovery::{HeardBeacon, Report as Discovery, Via};
use crate::protocol::{Hello, WireError};
use crate::secure::identity::Identity;
use crate::secure::link::LinkError;

/// The devices to check: those discovery lists, then `extra` (given by the
/// caller, with a label), then saved peers; each address once.
pub fn targets(
    report: &Discovery,
    extra: &[(SocketAddr, String)],
    saved: &[SocketAddr],
) -> Vec<(SocketAddr, String)> {
    let mut targets: Vec<(SocketAddr, String)> = Vec::new();
    for peer in &report.peers {
        if let Some(addr) = peer.addrs.first() {
            targets.push((*addr, format!("{:?}", peer.device.alias)));
        }
    }
    let labelled = extra.iter().cloned();
    let saved = saved.iter().map(|addr| (*addr, "saved peer".to_string()));
    for (addr, label) in labelled.chain(saved) {
        if !targets.iter().any(|(a, _)| *a == addr) {
            targets.push((addr, label));
        }
    }
    targets
}

/// The section that says whether any device answered at all.
pub fn overview(checked: usize) -> Section {
    let checks = if checked == 0 {
        vec![Check::problem(
            "Other devices",
            "no other Ferry device answered",
            "if another device runs Ferry on this network: Wi-Fi client isolation (guest \
             networks, some routers' \"AP isolation\") blocks traffic between devices; \
             broadcasts do not cross routers, so both must be on the same subnet; a VPN may \
             capture the traffic. Check a device directly with `ferry doctor --peer HOST`.",
        )]
    } else {
        Vec::new()
    };
    Section {
        topic: Topic::Devices,
        heading: "Devices".into(),
        checks,
    }
}

/// Who is asking: our identity and the hello we send (with the beacons we
/// heard, so the other side's answer can be compared).
pub struct Asker<'a> {
    /// Our key.
    pub identity: &'a Identity,
    /// Our hello.
    pub hello: &'a Hello,
}

/// The two-way check of the device at `addr`.
pub fn check(
    report: &Discovery,
    selection: &Selection,
    (addr, label): (SocketAddr, String),
    asker: &Asker<'_>,
) -> Section {
    let mut checks = Vec::new();
    match probe::hello(addr, asker.identity, asker.hello) {
        Err(e) => checks.push(Check::problem(
            "Reachable",
            format!("cannot reach its TCP port: {e}"),
            connect_fix(&e, addr),
        )),
        Ok(theirs) => both_ways(report, &theirs, asker.hello, &mut checks),
    }
    if let Some(check) = route(selection, addr) {
        checks.push(check);
    }
    Section {
        topic: Topic::Device,
        heading: format!("{label} at {addr}"),
        checks,
    }
}

/// It answered: does it hear us, and do we hear it?
fn both_ways(report: &Discovery, theirs: &Hello, ours: &Hello, checks: &mut Vec<Check>) {
    let port = report.udp_port;
    let id = &theirs.device.device_id;
    checks.push(Check::ok(
        "Reachable",
        format!(
            "TCP port reachable: it is {:?} ({}, device id {})",
            theirs.device.alias,
            theirs.device.os,
            short(id)
        ),
    ));
    if theirs.heard.contains(&ours.device.device_id) {
        checks.push(Check::ok("It hears us", "it hears our beacons"));
    } else {
        checks.push(Check::problem(
            "It hears us",
            "it has not heard our beacons",
            format!(
                "our broadcasts do not reach it: Wi-Fi client isolation (guest networks), a \
                 different subnet (broadcasts do not cross routers), or a firewall there \
                 dropping UDP port {port}. Sending by address still works: add it with --peer \
                 or \"manual_peers\" in settings.json"
            ),
        ));
    }
    let from_it: Vec<&HeardBeacon> = report
        .recent
        .iter()
        .filter(|b| &b.device.device_id == id && b.ignored.is_none())
        .collect();
    let on_port = from_it.iter().any(|b| b.via == Via::BeaconPort);
    let direct = from_it.iter().any(|b| b.via == Via::Direct);
    if on_port {
        checks.push(Check::ok("We hear it", "we hear its broadcast beacons"));
    } else if direct {
        checks.push(Check::problem(
            "We hear it",
            "only its direct replies reach us, not its broadcast beacons",
            firewall_fix(port),
        ));
    } else {
        checks.push(Check::problem(
            "We hear it",
            "we hear no beacons from it",
            format!(
                "it may run without discovery, on other interfaces or another UDP port; else \
                 its broadcasts do not reach us (client isolation, another subnet) or {}",
                firewall_fix(port)
            ),
        ));
    }
}

/// A note when `addr` is not on a network discovery uses.
fn route(selection: &Selection, addr: SocketAddr) -> Option<Check> {
    let IpAddr::V4(ip) = addr.ip() else {
        return None;
    };
    if ip.is_loopback() || selection.interface_of(ip).is_some() {
        return None;
    }
    let (detail, fix) = match selection.skipped.iter().find(|s| s.contains(ip)) {
        Some(skipped) => (
            format!(
                "it is reached through {} ({}), which discovery does not use",
                skipped.name, skipped.reason
            ),
            "name it with --interfaces, or keep this device as a peer by address",
        ),
        None => (
            "it is not on the subnet of any interface discovery uses, so broadcasts cannot \
             reach it (another subnet, a router or a VPN in between)"
                .to_string(),
            "keep it as a peer by address (--peer, \"manual_peers\")",
        ),
    };
    let mut check = Check::warning("Network path", detail);
    check.fix = Some(fix.to_string());
    Some(check)
}

/// What to do when the hello to `addr` failed, by how it failed.
fn connect_fix(e: &ProbeError, addr: SocketAddr) -> String {
    let port = addr.port();
    match e {
        ProbeError::Connect { source, .. } => match source.kind() {
            io::ErrorKind::ConnectionRefused => format!(
                "nothing accepts connections on TCP port {port} there: is `ferry receive` (or \
                 the Ferry window) running, and on that port?"
            ),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => format!(
                "no answer at all: a firewall there may drop TCP port {port} (allow Ferry or \
                 the port), Wi-Fi client isolation may keep devices apart, or the address \
                 belongs to another network"
            ),
            io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
                "no route to that address: is it on this network? A VPN may have taken over \
                 the route"
                    .to_string()
            }
            _ => "check the address and that Ferry runs there".to_string(),
        },
        ProbeError::Setup {
            source: LinkError::Greeting(WireError::VersionMismatch { .. }),
            ..
        } => "install the same Ferry release on both devices".to_string(),
        ProbeError::Identity { .. } => {
            "the device at that address is not the one it claims to be; compare the short code \
             its own screen shows (`ferry doctor` there prints its device id)"
                .to_string()
        }
        _ => {
            format!("something that is not Ferry (or another Ferry release) answers on port {port}")
        }
    }
}
