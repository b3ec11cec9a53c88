//! Which network interfaces discovery beacons on, and why the others are
//! left out. The default is every up, non-loopback IPv4 interface that has a
//! broadcast address and does not look like a VPN or tunnel; a list of names
//! (`--interfaces`, `FERRY_INTERFACES`, the settings file) replaces it, and
//! may name `lo` (on Linux, 127.255.255.255 reaches every Ferry on this
//! machine). This module only reads the interface list; it opens no socket.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr};

/// One address of one interface, as the operating system reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfInfo {
    /// Interface name (`eth0`, `lo`, `wlan0`).
    pub name: String,
    /// One of its addresses.
    pub addr: IpAddr,
    /// IPv4 netmask, if IPv4.
    pub netmask: Option<Ipv4Addr>,
    /// IPv4 broadcast address, if the interface has one.
    pub broadcast: Option<Ipv4Addr>,
    /// Operationally up (running).
    pub up: bool,
    /// A point-to-point link (typical of VPNs).
    pub point_to_point: bool,
}

/// An interface discovery uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// Interface name.
    pub name: String,
    /// Our IPv4 address on it.
    pub ip: Ipv4Addr,
    /// Its netmask.
    pub netmask: Ipv4Addr,
    /// Where beacons are sent.
    pub broadcast: Ipv4Addr,
}

impl Chosen {
    /// True if `ip` is on this interface's subnet (loopback: all of 127/8).
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::from(self.netmask);
        u32::from(ip) & mask == u32::from(self.ip) & mask
    }
}

/// Why an interface is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The loopback interface (only used when named).
    Loopback,
    /// Not up.
    Down,
    /// No broadcast address (point-to-point or unusual setup).
    NoBroadcast,
    /// Its name or type looks like a VPN or tunnel.
    Tunnel,
    /// Only IPv6 addresses; beacons are IPv4.
    NoIpv4,
    /// An explicit interface list is set and does not name it.
    NotListed,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::Loopback => "loopback (only this computer; name it with --interfaces lo)",
            SkipReason::Down => "down (not connected)",
            SkipReason::NoBroadcast => "no broadcast address",
            SkipReason::Tunnel => {
                "looks like a VPN or tunnel (peers behind it rarely hear broadcasts)"
            }
            SkipReason::NoIpv4 => "no IPv4 address",
            SkipReason::NotListed => "not in the interface setting",
        })
    }
}

/// An interface left out, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Interface name.
    pub name: String,
    /// Its first IPv4 address, if any.
    pub ip: Option<Ipv4Addr>,
    /// That address's netmask, if any.
    pub netmask: Option<Ipv4Addr>,
    /// Why.
    pub reason: SkipReason,
}

impl Skipped {
    /// True if `ip` is on this interface's subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        match (self.ip, self.netmask) {
            (Some(own), Some(mask)) => {
                let mask = u32::from(mask);
                u32::from(ip) & mask == u32::from(own) & mask
            }
            _ => false,
        }
    }
}

/// The outcome of choosing interfaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Interfaces (one entry per IPv4 address) beacons go out on.
    pub chosen: Vec<Chosen>,
    /// Interfaces left out and why (one entry per interface).
    pub skipped: Vec<Skipped>,
    /// Names in the setting that match no interface.
    pub missing: Vec<String>,
}

impl Selection {
    /// The chosen interface whose subnet holds `ip`, if any.
    pub fn interface_of(&self, ip: Ipv4Addr) -> Option<&Chosen> {
        self.chosen.iter().find(|c| c.contains(ip))
    }

    /// True when every chosen interface is loopback (and at least one is).
    pub fn loopback_only(&self) -> bool {
        !self.chosen.is_empty() && self.chosen.iter().all(|c| c.ip.is_loopback())
    }
}

/// Name prefixes of common VPN and tunnel adapters.
const TUNNEL_PREFIXES: &[&str] = &[
    "tun",
    "tap",
    "wg",
    "utun",
    "ppp",
    "tailscale",
    "zt",
    "ipsec",
    "nordlynx",
    "proton",
    "cscotun",
    "gpd",
];

/// True if an interface name looks like a VPN or tunnel adapter.
pub fn looks_like_tunnel(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("vpn") || TUNNEL_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// Reads this machine's interfaces.
pub fn list() -> io::Result<Vec<IfInfo>> {
    Ok(if_addrs::get_if_addrs()?
        .into_iter()
        .map(|i| {
            let (netmask, broadcast) = match &i.addr {
                if_addrs::IfAddr::V4(v4) => (Some(v4.netmask), v4.broadcast),
                if_addrs::IfAddr::V6(_) => (None, None),
            };
            IfInfo {
                addr: i.ip(),
                up: i.is_oper_up(),
                point_to_point: i.is_p2p(),
                name: i.name,
                netmask,
                broadcast,
            }
        })
        .collect())
}

/// Chooses interfaces on this machine for the setting `wanted` (empty = defaults).
pub fn select(wanted: &[String]) -> io::Result<Selection> {
    Ok(select_from(&list()?, wanted))
}

/// Chooses among `all` for the setting `wanted` (empty = defaults).
pub fn select_from(all: &[IfInfo], wanted: &[String]) -> Selection {
    let mut selection = Selection::default();
    let mut names: Vec<&str> = Vec::new();
    for info in all {
        if !names.contains(&info.name.as_str()) {
            names.push(&info.name);
        }
    }
    for name in names {
        let addrs: Vec<&IfInfo> = all.iter().filter(|i| i.name == name).collect();
        let v4: Vec<(&IfInfo, Ipv4Addr)> = addrs
            .iter()
            .filter_map(|i| match i.addr {
                IpAddr::V4(ip) => Some((*i, ip)),
                IpAddr::V6(_) => None,
            })
            .collect();
        let first_ip = v4.first().map(|(_, ip)| *ip);
        let first_mask = v4.first().and_then(|(i, _)| i.netmask);
        let skip = |reason| Skipped {
            name: name.to_string(),
            ip: first_ip,
            netmask: first_mask,
            reason,
        };
        let named = wanted.iter().any(|w| w == name);
        if !wanted.is_empty() && !named {
            selection.skipped.push(skip(SkipReason::NotListed));
            continue;
        }
        if v4.is_empty() {
            selection.skipped.push(skip(SkipReason::NoIpv4));
            continue;
        }
        let loopback = v4.iter().all(|(_, ip)| ip.is_loopback());
        let up = addrs.iter().any(|i| i.up) || (named && loopback);
        let reason = if loopback && !named {
            Some(SkipReason::Loopback)
        } else if !up {
            Some(SkipReason::Down)
        } else if !named && (looks_like_tunnel(name) || v4.iter().all(|(i, _)| i.point_to_point)) {
            Some(SkipReason::Tunnel)
        } else {
            None
        };
        if let Some(reason) = reason {
            selection.skipped.push(skip(reason));
            continue;
        }
        let before = selection.chosen.len();
        for (info, ip) in v4 {
            let netmask = info.netmask.unwrap_or(Ipv4Addr::BROADCAST);
            // A named interface without a reported broadcast address (lo)
            // gets the subnet-directed one: 127.255.255.255 for lo.
            let broadcast = info.broadcast.or_else(|| {
                (named && netmask != Ipv4Addr::BROADCAST)
                    .then(|| Ipv4Addr::from(u32::from(ip) | !u32::from(netmask)))
            });
            if let Some(broadcast) = broadcast {
                selection.chosen.push(Chosen {
                    name: name.to_string(),
                    ip,
                    netmask,
                    broadcast,
                });
            }
        }
        if selection.chosen.len() == before {
            selection.skipped.push(skip(SkipReason::NoBroadcast));
        }
    }
    for want in wanted {
        if !all.iter().any(|i| &i.name == want) && !selection.missing.contains(want) {
            selection.missing.push(want.clone());
        }
    }
    selection
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(name: &str, ip: [u8; 4], prefix: u8, brd: Option<[u8; 4]>, up: bool) -> IfInfo {
        IfInfo {
            name: name.into(),
            addr: IpAddr::V4(Ipv4Addr::from(ip)),
            netmask: Some(Ipv4Addr::from(
                u32::MAX.checked_shl(32 - prefix as u32).unwrap_or(0),
            )),
            broadcast: brd.map(Ipv4Addr::from),
            up,
            point_to_point: false,
        }
    }

    fn machine() -> Vec<IfInfo> {
        let mut wg = v4("wg0", [10, 8, 0, 2], 32, None, true);
        wg.point_to_point = true;
        vec![
            v4("lo", [127, 0, 0, 1], 8, None, true),
            v4(
                "eth0",
                [192, 168, 1, 20],
                24,
                Some([192, 168, 1, 255]),
                true,
            ),
            v4(
                "wlan0",
                [192, 168, 7, 3],
                24,
                Some([192, 168, 7, 255]),
                false,
            ),
            wg,
            v4("tun0", [10, 9, 0, 2], 24, Some([10, 9, 0, 255]), true),
            v4("odd0", [10, 10, 0, 2], 24, None, true),
            IfInfo {
                name: "v6only".into(),
                addr: "fe80::1".parse().expect("v6"),
                netmask: None,
                broadcast: None,
                up: true,
                point_to_point: false,
            },
        ]
    }

    fn reason(s: &Selection, name: &str) -> Option<SkipReason> {
        s.skipped.iter().find(|k| k.name == name).map(|k| k.reason)
    }

    #[test]
    fn defaults_pick_real_broadcast_interfaces_and_explain_the_rest() {
        let s = select_from(&machine(), &[]);
        assert_eq!(s.chosen.len(), 1);
        assert_eq!(s.chosen[0].name, "eth0");
        assert_eq!(s.chosen[0].broadcast, Ipv4Addr::new(192, 168, 1, 255));
        assert_eq!(reason(&s, "lo"), Some(SkipReason::Loopback));
        assert_eq!(reason(&s, "wlan0"), Some(SkipReason::Down));
        assert_eq!(reason(&s, "wg0"), Some(SkipReason::Tunnel));
        assert_eq!(reason(&s, "tun0"), Some(SkipReason::Tunnel));
        assert_eq!(reason(&s, "odd0"), Some(SkipReason::NoBroadcast));
        assert_eq!(reason(&s, "v6only"), Some(SkipReason::NoIpv4));
        assert!(!s.loopback_only());
    }

    #[test]
    fn naming_lo_uses_the_loopback_broadcast_only() {
        let s = select_from(&machine(), &["lo".into(), "nope0".into()]);
        assert_eq!(s.chosen.len(), 1);
        assert_eq!(s.chosen[0].broadcast, Ipv4Addr::new(127, 255, 255, 255));
        assert!(s.loopback_only());
        assert_eq!(reason(&s, "eth0"), Some(SkipReason::NotListed));
        assert_eq!(s.missing, vec!["nope0".to_string()]);
        assert!(s.interface_of(Ipv4Addr::new(127, 0, 0, 1)).is_some());
        assert!(s.interface_of(Ipv4Addr::new(192, 168, 1, 5)).is_none());
    }

    #[test]
    fn a_named_tunnel_is_used_but_a_down_one_is_not() {
        let s = select_from(&machine(), &["tun0".into(), "wlan0".into()]);
        assert_eq!(s.chosen.len(), 1);
        assert_eq!(s.chosen[0].name, "tun0");
        assert_eq!(reason(&s, "wlan0"), Some(SkipReason::Down));
    }

    #[test]
    fn tunnel_names() {
        for name in ["tun0", "wg0", "utun3", "tailscale0", "ppp0", "MyVPN", "zt7"] {
            assert!(looks_like_tunnel(name), "{name}");
        }
        for name in ["eth0", "wlan0", "enp3s0", "br0"] {
            assert!(!looks_like_tunnel(name), "{name}");
        }
    }
}
