//! The network settings a command or the window starts with: options given
//! on the command line or in the environment (which win over the settings
//! file), the discovery configuration made from both, and the addresses
//! people type ("laptop", "10.0.0.5:47813") turned into socket addresses. It
//! opens no socket; a name is looked up through the system's resolver.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use anyhow::{Context, bail};

use super::Settings;
use crate::discovery::DiscoveryConfig;
use crate::protocol::DEFAULT_TCP_PORT;

/// Network options from the command line or the environment; what is not
/// given comes from the settings file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetOptions {
    /// `--interfaces` / `FERRY_INTERFACES`.
    pub interfaces: Option<Vec<String>>,
    /// `--udp-port` / `FERRY_UDP_PORT`.
    pub udp_port: Option<u16>,
}

/// The interfaces discovery uses: those given on the command line or in the
/// environment when any name is there, else the settings file's; blank
/// names dropped. Empty means every suitable interface.
pub fn chosen_interfaces(given: Option<&[String]>, settings: &Settings) -> Vec<String> {
    let cleaned = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    };
    match given.map(cleaned) {
        Some(names) if !names.is_empty() => names,
        _ => cleaned(&settings.interfaces),
    }
}

/// The discovery configuration for a command: interfaces and UDP port from
/// the command line, else the settings file; manual peers from the settings
/// file plus `extra_peers` (HOST[:PORT] each).
pub fn discovery_config(
    net: &NetOptions,
    settings: &Settings,
    extra_peers: &[String],
) -> anyhow::Result<DiscoveryConfig> {
    let interfaces = chosen_interfaces(net.interfaces.as_deref(), settings);
    let mut manual_peers = Vec::new();
    for target in settings.manual_peers.iter().chain(extra_peers) {
        let addr = resolve_address(target)
            .with_context(|| format!("cannot use the peer address {target:?}"))?;
        if !manual_peers.contains(&addr) {
            manual_peers.push(addr);
        }
    }
    Ok(DiscoveryConfig {
        interfaces,
        udp_port: net.udp_port.unwrap_or(settings.udp_port),
        manual_peers,
        localsend: super::localsend_config(settings, true),
    })
}

/// Turns "host", "host:port", "1.2.3.4:5" or "[::1]:5" into an address.
pub fn resolve_address(target: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = target.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let with_port = if target
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        target.to_string()
    } else {
        format!("{target}:{DEFAULT_TCP_PORT}")
    };
    let mut addrs = with_port
        .to_socket_addrs()
        .with_context(|| format!("cannot find a device called {target:?}"))?;
    match addrs.next() {
        Some(addr) => Ok(addr),
        None => bail!("cannot find a device called {target:?}"),
    }
}

/// The address when `target` is one (IP, IP:PORT, HOST:PORT); `None` when
/// it is a bare name that discovery should look up first.
pub fn direct_address(target: &str) -> Option<anyhow::Result<SocketAddr>> {
    if let Ok(addr) = target.parse::<SocketAddr>() {
        return Some(Ok(addr));
    }
    if let Ok(ip) = target.parse::<IpAddr>() {
        return Some(Ok(SocketAddr::new(ip, DEFAULT_TCP_PORT)));
    }
    let has_port = target
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    has_port.then(|| resolve_address(target))
}
