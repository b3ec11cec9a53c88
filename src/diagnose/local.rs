//! The checks of this computer alone: which network interfaces discovery
//! uses and why others are skipped, whether the transfer port is free, ours
//! or taken, and whether the beacon sockets could be bound and used. It only
//! binds, queries and says hello on loopback; it changes nothing and prints
//! nothing.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use super::report::{Check, Section, Topic};
use crate::discovery::Report as Discovery;
use crate::discovery::interfaces::{self, Selection};
use crate::discovery::probe;
use crate::protocol::Hello;
use crate::secure::identity::Identity;

/// The interfaces section and the selection it found (empty when the
/// interfaces could not be listed).
pub fn interfaces(setting: &[String]) -> (Section, Selection) {
    let heading = if setting.is_empty() {
        "Interfaces (setting: default, every suitable interface)".to_string()
    } else {
        format!("Interfaces (setting: {})", setting.join(", "))
    };
    let mut checks = Vec::new();
    let selection = match interfaces::select(setting) {
        Ok(selection) => selection,
        Err(e) => {
            checks.push(Check::problem(
                "Network interfaces",
                format!("cannot list the network interfaces: {e}"),
                "this is unusual; run Ferry as a normal user on a normal system",
            ));
            Selection::default()
        }
    };
    if !selection.chosen.is_empty() {
        let names: Vec<&str> = selection.chosen.iter().map(|c| c.name.as_str()).collect();
        checks.push(
            Check::ok(
                "Network interfaces",
                format!("discovery looks for devices on {}", names.join(", ")),
            )
            .with_details(interface_lines(&selection)),
        );
    }
    for missing in &selection.missing {
        checks.push(Check::problem(
            "Interface setting",
            format!("no interface is called {missing:?}"),
            "list names with `ip link` (Linux), `ifconfig` (macOS) or `ipconfig` (Windows); \
             the setting is --interfaces, FERRY_INTERFACES or \"interfaces\" in settings.json",
        ));
    }
    if selection.chosen.is_empty() {
        let fix = if setting.is_empty() {
            "connect to a network (Wi-Fi or cable); VPN and tunnel adapters are skipped on \
             purpose, name one with --interfaces to use it anyway"
        } else {
            "name an interface that is up and has an IPv4 address"
        };
        checks.push(
            Check::problem(
                "Network interfaces",
                "discovery has no interface to beacon on",
                fix,
            )
            .with_details(interface_lines(&selection)),
        );
    }
    let section = Section {
        topic: Topic::Interfaces,
        heading,
        checks,
    };
    (section, selection)
}

/// One line per interface used or skipped, in columns.
fn interface_lines(selection: &Selection) -> Vec<String> {
    let mut lines = Vec::new();
    for chosen in &selection.chosen {
        let prefix = u32::from(chosen.netmask).count_ones();
        lines.push(format!(
            "use      {:<12} {}/{prefix}, beacons to {}",
            chosen.name, chosen.ip, chosen.broadcast
        ));
    }
    for skipped in &selection.skipped {
        let ip = skipped
            .ip
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "-".into());
        lines.push(format!(
            "skip     {:<12} {ip:<15} {}",
            skipped.name, skipped.reason
        ));
    }
    lines
}

/// Can this computer accept transfers on `port`? Free (nothing receives
/// now), held by Ferry (found by a hello on loopback), or taken.
pub fn tcp_port(port: u16, identity: &Identity, hello: &Hello) -> Check {
    const TITLE: &str = "Transfers port";
    match TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)) {
        Ok(_) => Check::info(
            TITLE,
            format!(
                "TCP port {port} is free: nothing here accepts transfers now (run `ferry \
                 receive` or open the window to receive)"
            ),
        ),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            let local = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            match probe::hello(local, identity, hello) {
                Ok(theirs) => Check::ok(
                    TITLE,
                    format!(
                        "TCP port {port} is in use by Ferry {:?} on this computer",
                        theirs.device.alias
                    ),
                ),
                Err(_) => Check::problem(
                    TITLE,
                    format!("TCP port {port} is taken by another program"),
                    "Ferry cannot receive on it; choose another port (ferry receive --port, or \
                     \"port\" in settings.json) and tell senders HOST:PORT",
                ),
            }
        }
        Err(e) => Check::problem(
            TITLE,
            format!("cannot bind TCP port {port}: {e}"),
            "ports below 1024 need privileges; use the default 47813 or another high port",
        ),
    }
}

/// The discovery sockets (bound or not) and interfaces where sending
/// failed; true if the beacon port is bound.
pub fn sockets(report: &Discovery, checks: &mut Vec<Check>) -> bool {
    let mut port_bound = false;
    for socket in &report.sockets {
        match &socket.error {
            None => {
                if socket.purpose == "beacon port" {
                    port_bound = true;
                }
                checks.push(Check::ok(
                    "Beacon socket",
                    format!("UDP {} bound ({})", socket.addr, socket.purpose),
                ));
            }
            Some(error) => {
                let port = socket.addr.port();
                checks.push(Check::problem(
                    "Beacon socket",
                    format!(
                        "cannot bind UDP {} ({}): {error}",
                        socket.addr, socket.purpose
                    ),
                    format!(
                        "another program holds UDP port {port} without sharing it (Ferry \
                         instances share it); find it with `ss -ulpn | grep {port}`, or have \
                         every device use another --udp-port"
                    ),
                ));
            }
        }
    }
    for (interface, error) in &report.send_errors {
        checks.push(Check::problem(
            "Sending beacons",
            format!("cannot send beacons on {interface}: {error}"),
            "the interface may be going down or have no route; check it with `ip addr` and \
             `ip route`",
        ));
    }
    port_bound
}
