//! The checks of what discovery heard while the check listened: did our own
//! beacons come back (sending and receiving work), which devices beaconed,
//! by which path, and what arrived that was not for us. Pure: it reads a
//! discovery report and returns a section; it neither listens nor prints.

use std::collections::BTreeMap;

use super::report::{Check, Section, Topic};
use crate::discovery::{HeardBeacon, Report as Discovery, Via};
use crate::protocol::BeaconKind;

/// What to do when a firewall on this computer seems to drop beacons.
pub fn firewall_fix(port: u16) -> String {
    format!(
        "a firewall on this computer probably drops incoming UDP port {port}: allow it (e.g. \
         `sudo ufw allow {port}/udp`, `sudo firewall-cmd --add-port={port}/udp`, or allow Ferry \
         on private networks in Windows Defender Firewall)"
    )
}

/// The first eight characters of a device id.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The beacons section. `can_hear` says whether our own beacons should
/// have come back (the beacon port is bound and an interface is in use).
pub fn section(report: &Discovery, can_hear: bool, heading: String) -> Section {
    let port = report.udp_port;
    let mut checks = Vec::new();
    if report.stats.own > 0 {
        checks.push(Check::ok(
            "Own beacons",
            format!(
                "our own beacons came back {} time(s): sending and receiving on UDP port {port} \
                 work",
                report.stats.own
            ),
        ));
    } else if can_hear {
        checks.push(Check::problem(
            "Own beacons",
            format!("our own broadcast beacons never came back on UDP port {port}"),
            firewall_fix(port),
        ));
    }
    let others = others(&report.recent);
    if others.heard > 0 {
        checks.push(
            Check::ok(
                "Other devices' beacons",
                format!("heard beacons from {} other device(s)", others.heard),
            )
            .with_details(others.lines),
        );
    } else {
        let check = Check::info("Other devices' beacons", "none from other devices");
        checks.push(check.with_details(others.lines));
    }
    strays(report, &mut checks);
    if others.direct_only {
        checks.push(Check::problem(
            "Broadcast beacons",
            format!(
                "other devices answer us directly, but none of their broadcast beacons arrived \
                 on UDP port {port}"
            ),
            firewall_fix(port),
        ));
    }
    Section {
        topic: Topic::Beacons,
        heading,
        checks,
    }
}

/// Beacons that were not for us: another format, not Ferry, other interfaces.
fn strays(report: &Discovery, checks: &mut Vec<Check>) {
    let (stats, port) = (&report.stats, report.udp_port);
    if stats.other_version > 0 {
        checks.push(Check::problem(
            "Ferry release",
            format!(
                "{} beacon(s) of another beacon format arrived",
                stats.other_version
            ),
            "another Ferry release is on the network; install the same release on every device",
        ));
    }
    if stats.junk > 0 {
        checks.push(Check::warning(
            "Other traffic",
            format!(
                "{} datagram(s) on the discovery sockets were not Ferry beacons (another \
                 program using UDP port {port}?)",
                stats.junk
            ),
        ));
    }
    if stats.foreign > 0 {
        let mut check = Check::warning(
            "Other networks",
            format!(
                "{} beacon(s) came from outside the interfaces discovery uses and were ignored",
                stats.foreign
            ),
        );
        check.fix =
            Some("name that interface with --interfaces if those devices should be seen".into());
        checks.push(check);
    }
}

/// What the beacons of other devices add up to.
struct Others {
    /// Devices heard (not ignored).
    heard: usize,
    /// Some device reached us only by direct replies.
    direct_only: bool,
    /// One line per device (and why it was ignored).
    lines: Vec<String>,
}

fn others(recent: &[HeardBeacon]) -> Others {
    let mut out = Others {
        heard: 0,
        direct_only: false,
        lines: Vec::new(),
    };
    for (id, seen) in &by_device(recent) {
        let Some(first) = seen.first() else {
            continue;
        };
        let interfaces = unique(seen.iter().map(|b| {
            b.interface
                .clone()
                .unwrap_or_else(|| "no interface in use".into())
        }));
        let on_port = seen.iter().filter(|b| b.via == Via::BeaconPort).count();
        let direct = seen.iter().filter(|b| b.via == Via::Direct).count();
        let kinds = unique(seen.iter().map(|b| kind_name(b.kind).to_string()));
        out.lines.push(format!(
            "{:?} ({}, {}) from {} on {}: {on_port} on the beacon port, {direct} direct ({})",
            first.device.alias,
            first.device.os,
            short(id),
            first.from,
            interfaces.join(", "),
            kinds.join(", ")
        ));
        if let Some(why) = seen.iter().find_map(|b| b.ignored.clone()) {
            out.lines.push(format!("         ignored: {why}"));
            continue;
        }
        out.heard += 1;
        if on_port == 0 && direct > 0 {
            out.direct_only = true;
        }
    }
    out
}

/// Beacons grouped by device id.
fn by_device(recent: &[HeardBeacon]) -> BTreeMap<String, Vec<HeardBeacon>> {
    let mut map: BTreeMap<String, Vec<HeardBeacon>> = BTreeMap::new();
    for beacon in recent {
        map.entry(beacon.device.device_id.clone())
            .or_default()
            .push(beacon.clone());
    }
    map
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn kind_name(kind: BeaconKind) -> &'static str {
    match kind {
        BeaconKind::Announce => "announce",
        BeaconKind::Reply => "reply",
        BeaconKind::Goodbye => "goodbye",
        BeaconKind::Query => "query",
    }
}
