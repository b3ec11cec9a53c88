//! `ferry doctor`: explains why devices do or do not see each other. It
//! prints the interfaces discovery would use and why others are skipped, the
//! ports it could or could not bind, the beacons heard while it listens (from
//! whom, on which interface, by which path), and for every known device a
//! two-way check: is its TCP port reachable, did it hear our beacons (its
//! hello says), did we hear its. Every problem comes with a plain hint. It
//! only queries and probes; it changes nothing. Exit 0 when nothing is wrong.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::time::Instant;

use clap::Args;

use super::{EXIT_FAILED, EXIT_OK, NetOptions};
use crate::api::Event;
use crate::discovery::interfaces::{self, Selection};
use crate::discovery::probe::{self, ProbeError};
use crate::discovery::{HeardBeacon, Report, Via};
use crate::protocol::WireError;
use crate::protocol::{BeaconKind, Hello, PROTOCOL_VERSION};
use crate::secure::identity::Identity;
use crate::secure::link::LinkError;

/// Arguments of `ferry doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also check this device (HOST[:PORT]; repeatable), e.g. one that does
    /// not show up.
    #[arg(long = "peer", value_name = "HOST[:PORT]")]
    pub peers: Vec<String>,
    /// Seconds to listen for beacons.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub wait: f64,
}

/// Counts and prints findings.
#[derive(Debug, Default)]
struct Findings {
    problems: usize,
}

impl Findings {
    fn ok(&self, what: &str) {
        println!("  ok       {what}");
    }

    fn note(&self, what: &str) {
        println!("  note     {what}");
    }

    fn problem(&mut self, what: &str, hint: &str) {
        self.problems += 1;
        println!("  PROBLEM  {what}");
        println!("           hint: {hint}");
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Runs `ferry doctor`.
pub fn run(args: DoctorArgs, net: &NetOptions) -> anyhow::Result<i32> {
    let (settings, identity, device) = super::send::local_device()?;
    let config = crate::config::discovery_config(net, &settings, &[])?;
    let mut f = Findings::default();
    println!(
        "Ferry doctor: {:?}, device id {}, Ferry {}, protocol version {PROTOCOL_VERSION}",
        device.alias,
        device.device_id,
        env!("CARGO_PKG_VERSION")
    );

    // 1. Interfaces.
    let setting = if config.interfaces.is_empty() {
        "default, every suitable interface".to_string()
    } else {
        config.interfaces.join(", ")
    };
    println!("\nInterfaces (setting: {setting}):");
    let selection = match interfaces::select(&config.interfaces) {
        Ok(selection) => selection,
        Err(e) => {
            f.problem(
                &format!("cannot list the network interfaces: {e}"),
                "this is unusual; run Ferry as a normal user on a normal system",
            );
            Selection::default()
        }
    };
    print_interfaces(&selection);
    for missing in &selection.missing {
        f.problem(
            &format!("no interface is called {missing:?}"),
            "list names with `ip link` (Linux), `ifconfig` (macOS) or `ipconfig` (Windows); \
             the setting is --interfaces, FERRY_INTERFACES or \"interfaces\" in settings.json",
        );
    }
    if selection.chosen.is_empty() {
        let hint = if config.interfaces.is_empty() {
            "connect to a network (Wi-Fi or cable); VPN and tunnel adapters are skipped on \
             purpose, name one with --interfaces to use it anyway"
        } else {
            "name an interface that is up and has an IPv4 address"
        };
        f.problem("discovery has no interface to beacon on", hint);
    }

    // 2. Ports, and listening.
    println!("\nPorts:");
    let hello = Hello {
        device: crate::protocol::DeviceInfo::from(&device),
        heard: Vec::new(),
    };
    check_tcp_port(&mut f, settings.port, &identity, &hello);
    let engine =
        super::send::send_only_engine(identity.clone(), device.clone(), Some(config.clone()))?;
    let wait = super::seconds(args.wait);
    let deadline = Instant::now() + wait;
    let mut messages = Vec::new();
    while let Ok(event) = engine.events().recv_deadline(deadline) {
        if let Event::Problem(problem) = event {
            messages.push(problem);
        }
    }
    let Some(report) = engine.discovery_report() else {
        anyhow::bail!("discovery did not answer");
    };
    let port = report.udp_port;
    let port_bound = check_sockets(&mut f, &report);
    for (interface, error) in &report.send_errors {
        f.problem(
            &format!("cannot send beacons on {interface}: {error}"),
            "the interface may be going down or have no route; check it with `ip addr` and \
             `ip route`",
        );
    }
    for message in &messages {
        f.note(message);
    }

    // 3. Beacons heard.
    println!("\nBeacons heard in {:.1} s:", wait.as_secs_f64());
    let firewall_hint = format!(
        "a firewall on this computer probably drops incoming UDP port {port}: allow it (e.g. \
         `sudo ufw allow {port}/udp`, `sudo firewall-cmd --add-port={port}/udp`, or allow Ferry \
         on private networks in Windows Defender Firewall)"
    );
    if report.stats.own > 0 {
        f.ok(&format!(
            "our own beacons came back {} time(s): sending and receiving on UDP port {port} work",
            report.stats.own
        ));
    } else if port_bound && !selection.chosen.is_empty() {
        f.problem(
            &format!("our own broadcast beacons never came back on UDP port {port}"),
            &firewall_hint,
        );
    }
    let by_device = summarise(&report.recent);
    let mut direct_only = false;
    let mut heard_others = false;
    for (id, seen) in &by_device {
        let first = &seen[0];
        let interfaces: Vec<String> = unique(seen.iter().map(|b| {
            b.interface
                .clone()
                .unwrap_or_else(|| "no interface in use".into())
        }));
        let on_port = seen.iter().filter(|b| b.via == Via::BeaconPort).count();
        let direct = seen.iter().filter(|b| b.via == Via::Direct).count();
        let kinds: Vec<String> = unique(seen.iter().map(|b| kind_name(b.kind).to_string()));
        println!(
            "  {:?} ({}, {}) from {} on {}: {on_port} on the beacon port, {direct} direct ({})",
            first.device.alias,
            first.device.os,
            short(id),
            first.from,
            interfaces.join(", "),
            kinds.join(", ")
        );
        if let Some(why) = seen.iter().find_map(|b| b.ignored.clone()) {
            println!("           ignored: {why}");
            continue;
        }
        heard_others = true;
        if on_port == 0 && direct > 0 {
            direct_only = true;
        }
    }
    if report.stats.other_version > 0 {
        f.problem(
            &format!(
                "{} beacon(s) of another beacon format arrived",
                report.stats.other_version
            ),
            "another Ferry release is on the network; install the same release on every device",
        );
    }
    if report.stats.junk > 0 {
        f.note(&format!(
            "{} datagram(s) on the discovery sockets were not Ferry beacons (another program \
             using UDP port {port}?)",
            report.stats.junk
        ));
    }
    if report.stats.foreign > 0 {
        f.note(&format!(
            "{} beacon(s) came from outside the interfaces discovery uses and were ignored; name \
             that interface with --interfaces if those devices should be seen",
            report.stats.foreign
        ));
    }
    if direct_only {
        f.problem(
            &format!(
                "other devices answer us directly, but none of their broadcast beacons arrived on \
                 UDP port {port}"
            ),
            &firewall_hint,
        );
    }
    if !heard_others {
        println!("  (none from other devices)");
    }

    // 4. Two-way checks.
    println!("\nDevices:");
    let mut targets: Vec<(SocketAddr, String)> = Vec::new();
    for peer in &report.peers {
        if let Some(addr) = peer.addrs.first() {
            targets.push((*addr, format!("{:?}", peer.device.alias)));
        }
    }
    for target in &args.peers {
        let addr = crate::config::resolve_address(target)?;
        if !targets.iter().any(|(a, _)| *a == addr) {
            targets.push((addr, target.clone()));
        }
    }
    for addr in &config.manual_peers {
        if !targets.iter().any(|(a, _)| a == addr) {
            targets.push((*addr, "saved peer".into()));
        }
    }
    if targets.is_empty() {
        f.problem(
            "no other Ferry device answered",
            "if another device runs Ferry on this network: Wi-Fi client isolation (guest \
             networks, some routers' \"AP isolation\") blocks traffic between devices; \
             broadcasts do not cross routers, so both must be on the same subnet; a VPN may \
             capture the traffic. Check a device directly with `ferry doctor --peer HOST`.",
        );
    }
    let heard = engine.heard_devices();
    let hello = Hello { heard, ..hello };
    for (addr, label) in targets {
        println!("  {label} at {addr}:");
        check_device(
            &mut f,
            &report,
            &selection,
            addr,
            (&identity, &hello),
            &firewall_hint,
        );
    }
    drop(engine);

    println!();
    if f.problems == 0 {
        println!("No problems found.");
        Ok(EXIT_OK)
    } else {
        println!("{} problem(s) found.", f.problems);
        Ok(EXIT_FAILED)
    }
}

fn print_interfaces(selection: &Selection) {
    for chosen in &selection.chosen {
        let prefix = u32::from(chosen.netmask).count_ones();
        println!(
            "  use      {:<12} {}/{prefix}, beacons to {}",
            chosen.name, chosen.ip, chosen.broadcast
        );
    }
    for skipped in &selection.skipped {
        let ip = skipped
            .ip
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "-".into());
        println!(
            "  skip     {:<12} {ip:<15} {}",
            skipped.name, skipped.reason
        );
    }
}

/// Can this computer accept transfers on the configured TCP port?
fn check_tcp_port(f: &mut Findings, port: u16, identity: &Identity, hello: &Hello) {
    match TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)) {
        Ok(_) => f.note(&format!(
            "TCP port {port} is free: nothing here accepts transfers now (run `ferry receive` \
             or open the window to receive)"
        )),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            let local = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            match probe::hello(local, identity, hello) {
                Ok(theirs) => f.ok(&format!(
                    "TCP port {port} is in use by Ferry {:?} on this computer",
                    theirs.device.alias
                )),
                Err(_) => f.problem(
                    &format!("TCP port {port} is taken by another program"),
                    "Ferry cannot receive on it; choose another port (ferry receive --port, or \
                     \"port\" in settings.json) and tell senders HOST:PORT",
                ),
            }
        }
        Err(e) => f.problem(
            &format!("cannot bind TCP port {port}: {e}"),
            "ports below 1024 need privileges; use the default 47813 or another high port",
        ),
    }
}

/// Prints the discovery sockets; true if the beacon port is bound.
fn check_sockets(f: &mut Findings, report: &Report) -> bool {
    let mut port_bound = false;
    for socket in &report.sockets {
        match &socket.error {
            None => {
                if socket.purpose == "beacon port" {
                    port_bound = true;
                }
                f.ok(&format!("UDP {} bound ({})", socket.addr, socket.purpose))
            }
            Some(error) => f.problem(
                &format!(
                    "cannot bind UDP {} ({}): {error}",
                    socket.addr, socket.purpose
                ),
                &format!(
                    "another program holds UDP port {} without sharing it (Ferry instances \
                     share it); find it with `ss -ulpn | grep {}`, or have every device use \
                     another --udp-port",
                    socket.addr.port(),
                    socket.addr.port()
                ),
            ),
        }
    }
    port_bound
}

/// The two-way check of one device.
fn check_device(
    f: &mut Findings,
    report: &Report,
    selection: &Selection,
    addr: SocketAddr,
    (identity, hello): (&Identity, &Hello),
    firewall_hint: &str,
) {
    let port = report.udp_port;
    match probe::hello(addr, identity, hello) {
        Err(e) => {
            let hint = connect_hint(&e, addr);
            f.problem(&format!("cannot reach its TCP port: {e}"), &hint);
        }
        Ok(theirs) => {
            let id = theirs.device.device_id.clone();
            f.ok(&format!(
                "TCP port reachable: it is {:?} ({}, device id {})",
                theirs.device.alias,
                theirs.device.os,
                short(&id)
            ));
            if theirs.heard.contains(&hello.device.device_id) {
                f.ok("it hears our beacons");
            } else {
                f.problem(
                    "it has not heard our beacons",
                    &format!(
                        "our broadcasts do not reach it: Wi-Fi client isolation (guest \
                         networks), a different subnet (broadcasts do not cross routers), or a \
                         firewall there dropping UDP port {port}. Sending by address still \
                         works: add it with --peer or \"manual_peers\" in settings.json"
                    ),
                );
            }
            let from_it: Vec<&HeardBeacon> = report
                .recent
                .iter()
                .filter(|b| b.device.device_id == id && b.ignored.is_none())
                .collect();
            let on_port = from_it.iter().any(|b| b.via == Via::BeaconPort);
            let direct = from_it.iter().any(|b| b.via == Via::Direct);
            if on_port {
                f.ok("we hear its broadcast beacons");
            } else if direct {
                f.problem(
                    "only its direct replies reach us, not its broadcast beacons",
                    firewall_hint,
                );
            } else {
                f.problem(
                    "we hear no beacons from it",
                    &format!(
                        "it may run without discovery, on other interfaces or another UDP \
                         port; else its broadcasts do not reach us (client isolation, another \
                         subnet) or {firewall_hint}"
                    ),
                );
            }
        }
    }
    if let IpAddr::V4(ip) = addr.ip()
        && !ip.is_loopback()
        && selection.interface_of(ip).is_none()
    {
        match selection.skipped.iter().find(|s| s.contains(ip)) {
            Some(skipped) => f.note(&format!(
                "it is reached through {} ({}), which discovery does not use; name it with \
                 --interfaces, or keep this device as a peer by address",
                skipped.name, skipped.reason
            )),
            None => f.note(
                "it is not on the subnet of any interface discovery uses, so broadcasts cannot \
                 reach it (another subnet, a router or a VPN in between); keep it as a peer by \
                 address (--peer, \"manual_peers\")",
            ),
        }
    }
}

fn connect_hint(e: &ProbeError, addr: SocketAddr) -> String {
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

/// Beacons grouped by device id, in order of first arrival.
fn summarise(recent: &[HeardBeacon]) -> BTreeMap<String, Vec<HeardBeacon>> {
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
