//! The transfer listener: accepts Ferry connections and gives each its own
//! named thread, up to a cap. It reads nothing from a connection itself; it
//! only decides, from the source address, whether a connection gets a slot:
//! the address must be on a network this device uses (or be a peer added by
//! address, or the `accept_from_anywhere` setting is on), no address takes
//! more than its share once the listener is busy, and the last
//! [`RESERVED_FOR_TRUSTED`] slots are kept for trusted devices.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::discovery::DiscoveryConfig;
use crate::discovery::interfaces;
use crate::transfer::context::Context;
use crate::transfer::receive;

/// Most connections served at once; more are closed on arrival.
pub const MAX_TRANSFER_CONNECTIONS: usize = 128;

/// Of [`MAX_TRANSFER_CONNECTIONS`], the slots kept for trusted devices: a
/// connection that arrives when only these are left goes through TLS and is
/// kept only if the device it proves is in the trusted list.
pub const RESERVED_FOR_TRUSTED: usize = 16;

/// Most connections one source address holds once the listener is busy
/// ([`BUSY_CONNECTIONS`] open); more from it are closed on arrival.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 8;

/// From this many open connections on, [`MAX_CONNECTIONS_PER_ADDRESS`]
/// applies: below it one machine may run many transfers at once (tests and
/// scripts do), above it no address takes more than its share.
pub const BUSY_CONNECTIONS: usize = 64;

pub(super) fn accept_loop(listener: TcpListener, shared: Context, scope: Scope) {
    let slots = Arc::new(Slots::default());
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        let anywhere = shared.receive_settings().accept_from_anywhere;
        if !scope.admits(peer.ip(), anywhere) {
            tracing::info!(%peer, "closed a connection from outside this device's networks");
            continue;
        }
        let (reserved, slot) = match slots.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(why) => {
                tracing::warn!(%peer, "closed a connection on arrival: {why}");
                continue;
            }
        };
        let shared = shared.clone();
        let spawned = thread::Builder::new()
            .name("ferry-conn".into())
            .spawn(move || {
                let _slot = slot;
                receive::serve(stream, shared, reserved);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a connection thread: {e}");
        }
    }
}

/// Open connections, in total and per source address.
#[derive(Default)]
struct Slots {
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Slots {
    /// A slot for a connection from `ip`, and whether it is one of the slots
    /// kept for trusted devices; `Err` says why there is none.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<(bool, Slot), &'static str> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mine = open.by_address.get(&ip).copied().unwrap_or(0);
        if open.total >= MAX_TRANSFER_CONNECTIONS {
            return Err("every connection slot is taken");
        }
        if open.total >= BUSY_CONNECTIONS && mine >= MAX_CONNECTIONS_PER_ADDRESS {
            return Err("this address already holds its share of the connection slots");
        }
        let reserved = open.total >= MAX_TRANSFER_CONNECTIONS - RESERVED_FOR_TRUSTED;
        open.total += 1;
        *open.by_address.entry(ip).or_default() += 1;
        Ok((
            reserved,
            Slot {
                slots: self.clone(),
                ip,
            },
        ))
    }
}

/// One connection's slot, released when its thread ends, however it ends.
struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_address.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.by_address.remove(&self.ip);
            }
        }
    }
}

/// Which source addresses the listener serves. Discovery only hears
/// devices on the subnets of the interfaces it uses, and the listener
/// answers only those too: connections from elsewhere are closed on arrival
/// unless they come from a peer added by address or `accept_from_anywhere`
/// is on. Loopback (this computer) and this device's own addresses are
/// always inside; so are IPv6 link-local addresses (the same link).
#[derive(Debug, Clone, Default)]
pub(super) struct Scope {
    /// The interface names discovery uses (empty: its defaults), or `None`
    /// when discovery is off: then the subnets of every local interface that
    /// is up count, so an engine without discovery still takes transfers
    /// from its own networks.
    interfaces: Option<Vec<String>>,
    /// Addresses of peers added by address.
    manual: Vec<IpAddr>,
}

impl Scope {
    /// The scope of an engine with this discovery configuration.
    pub(super) fn new(discovery: Option<&DiscoveryConfig>) -> Scope {
        Scope {
            interfaces: discovery.map(|d| d.interfaces.clone()),
            manual: discovery
                .map(|d| {
                    d.manual_peers
                        .iter()
                        .map(|a| a.ip().to_canonical())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Whether a connection from `ip` is served. Reads the interface list
    /// each time (it changes when a laptop moves), only for addresses that
    /// are not obviously inside.
    pub(super) fn admits(&self, ip: IpAddr, anywhere: bool) -> bool {
        admits(ip, anywhere, &self.manual, || {
            let all = interfaces::list().unwrap_or_default();
            subnets(&all, self.interfaces.as_deref())
        })
    }
}

/// (address, netmask) of each subnet counted as inside, plus each of our own
/// addresses as a /32.
fn subnets(all: &[interfaces::IfInfo], used: Option<&[String]>) -> Vec<(Ipv4Addr, Ipv4Addr)> {
    let mut nets: Vec<(Ipv4Addr, Ipv4Addr)> = match used {
        Some(names) => interfaces::select_from(all, names)
            .chosen
            .iter()
            .map(|c| (c.ip, c.netmask))
            .collect(),
        None => all
            .iter()
            .filter(|i| i.up)
            .filter_map(|i| match (i.addr, i.netmask) {
                (IpAddr::V4(ip), Some(mask)) => Some((ip, mask)),
                _ => None,
            })
            .collect(),
    };
    nets.extend(all.iter().filter_map(|i| match i.addr {
        IpAddr::V4(ip) => Some((ip, Ipv4Addr::BROADCAST)),
        IpAddr::V6(_) => None,
    }));
    nets
}

fn admits(
    ip: IpAddr,
    anywhere: bool,
    manual: &[IpAddr],
    subnets: impl FnOnce() -> Vec<(Ipv4Addr, Ipv4Addr)>,
) -> bool {
    let ip = ip.to_canonical();
    if anywhere || ip.is_loopback() || manual.contains(&ip) {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => subnets().iter().any(|(own, mask)| {
            let mask = u32::from(*mask);
            u32::from(v4) & mask == u32::from(*own) & mask
        }),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lan() -> Vec<(Ipv4Addr, Ipv4Addr)> {
        vec![(
            Ipv4Addr::new(192, 168, 1, 20),
            Ipv4Addr::new(255, 255, 255, 0),
        )]
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    /// Finding 7: the listener answered any address, though discovery only
    /// hears its own subnets.
    #[test]
    fn a_connection_from_another_network_is_refused() {
        assert!(admits(ip("192.168.1.77"), false, &[], lan));
        assert!(!admits(ip("10.9.8.7"), false, &[], lan));
        assert!(!admits(ip("192.168.2.77"), false, &[], lan));
        assert!(!admits(ip("2001:db8::1"), false, &[], lan));
    }

    #[test]
    fn manual_peers_loopback_and_the_setting_are_let_through() {
        assert!(admits(ip("10.9.8.7"), false, &[ip("10.9.8.7")], lan));
        assert!(admits(ip("10.9.8.7"), true, &[], lan));
        assert!(admits(ip("127.0.0.2"), false, &[], Vec::new));
        assert!(admits(ip("::1"), false, &[], Vec::new));
        assert!(admits(ip("::ffff:192.168.1.5"), false, &[], lan));
        assert!(admits(ip("fe80::1"), false, &[], Vec::new));
    }

    #[test]
    fn used_interfaces_decide_the_subnets() {
        let all = vec![
            interfaces::IfInfo {
                name: "eth0".into(),
                addr: ip("192.168.1.20"),
                netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
                broadcast: Some(Ipv4Addr::new(192, 168, 1, 255)),
                up: true,
                point_to_point: false,
            },
            interfaces::IfInfo {
                name: "wg0".into(),
                addr: ip("10.0.0.2"),
                netmask: Some(Ipv4Addr::new(255, 255, 255, 0)),
                broadcast: None,
                up: true,
                point_to_point: true,
            },
        ];
        // Discovery on its defaults leaves the tunnel out, so does the listener...
        let used = subnets(&all, Some(&[]));
        assert!(admits(ip("192.168.1.9"), false, &[], || used.clone()));
        assert!(!admits(ip("10.0.0.9"), false, &[], || used.clone()));
        // ...but our own address there is still this computer.
        assert!(admits(ip("10.0.0.2"), false, &[], || used.clone()));
        // Without discovery every local subnet counts.
        let every = subnets(&all, None);
        assert!(admits(ip("10.0.0.9"), false, &[], || every.clone()));
    }

    #[test]
    fn one_address_is_capped_only_when_busy_and_the_reserve_is_marked() {
        let slots = Arc::new(Slots::default());
        let one = ip("127.0.0.1");
        let mut held = Vec::new();
        for _ in 0..BUSY_CONNECTIONS {
            held.push(slots.admit(one).expect("room"));
        }
        assert!(slots.admit(one).is_err(), "over its share while busy");
        let other = ip("127.0.0.2");
        let (reserved, _slot) = slots.admit(other).expect("another address gets in");
        assert!(!reserved);
        drop(held);
        let (_, _a) = slots.admit(one).expect("released");
    }
}
