//! The check of LocalSend's side of this computer: whether it is on, whether
//! its port is free (or taken, by Ferry's own window or by a LocalSend app),
//! and on which interfaces the multicast group 224.0.0.167 can be joined. It
//! binds and joins only for a moment; it sends nothing.

use std::io;
use std::net::{SocketAddr, TcpListener};

use super::report::Check;
use crate::discovery::LocalSendConfig;
use crate::discovery::interfaces::Selection;
use crate::localsend::discovery::Sockets;

const TITLE: &str = "LocalSend";

/// The checks: the port, then the multicast group.
pub fn checks(config: Option<&LocalSendConfig>, selection: &Selection) -> Vec<Check> {
    let Some(config) = config else {
        return vec![Check::info(
            TITLE,
            "talking to LocalSend devices is off (\"localsend\": false in settings.json or FERRY_LOCALSEND=off)",
        )];
    };
    vec![port(config.port), group(config, selection)]
}

fn port(port: u16) -> Check {
    match TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port))) {
        Ok(_) => Check::ok(
            "LocalSend port",
            format!("TCP port {port} is free for LocalSend devices to send to"),
        ),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Check::warning(
            "LocalSend port",
            format!(
                "TCP port {port} is in use: by Ferry's own window or `ferry receive` (then all is well), \
                 or by a LocalSend app on this computer, which keeps Ferry's LocalSend side off; \
                 change \"localsend_port\" in settings.json to run both"
            ),
        ),
        Err(e) => Check::problem(
            "LocalSend port",
            format!("TCP port {port} cannot be used: {e}"),
            "choose another \"localsend_port\" in settings.json",
        ),
    }
}

fn group(config: &LocalSendConfig, selection: &Selection) -> Check {
    if selection.loopback_only() {
        return Check::info(
            "LocalSend multicast",
            "only loopback is chosen, which carries no multicast: LocalSend devices elsewhere cannot find this one",
        );
    }
    match Sockets::open(selection, config) {
        Ok(sockets) if !sockets.joined().is_empty() => Check::ok(
            "LocalSend multicast",
            format!(
                "joined {}:{} on {}",
                config.group,
                config.multicast_port,
                sockets.joined().join(", ")
            ),
        ),
        Ok(_) => Check::problem(
            "LocalSend multicast",
            format!("could not join {} on any interface", config.group),
            "check that the interface allows multicast (some Wi-Fi access points and VPNs do not)",
        ),
        Err(e) => Check::problem(
            "LocalSend multicast",
            format!("UDP port {} cannot be used: {e}", config.multicast_port),
            "another program holds the port without sharing it; stop it or change \"localsend_port\"",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Status;

    #[test]
    fn a_taken_port_is_a_warning_and_a_free_one_ok() {
        let taken = TcpListener::bind("0.0.0.0:0").unwrap();
        let port_number = taken.local_addr().unwrap().port();
        assert_eq!(port(port_number).status, Status::Warning);
        drop(taken);
        assert_eq!(port(port_number).status, Status::Ok);
    }

    #[test]
    fn off_and_loopback_only_are_said_plainly() {
        let checks = checks(None, &Selection::default());
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Info);
        let lo = crate::discovery::interfaces::select(&["lo".to_string()]).unwrap();
        let config = LocalSendConfig {
            port: 0,
            ..LocalSendConfig::default()
        };
        let checks = super::checks(Some(&config), &lo);
        assert_eq!(checks[1].status, Status::Info, "{:?}", checks[1]);
    }
}
