//! LocalSend's multicast discovery (protocol section 3.1) on the chosen
//! interfaces only: Ferry announces itself at start, again every
//! [`super::ANNOUNCE_INTERVAL`] and on a refresh; it answers an
//! announcement that asks for answers with `POST /register` to the
//! announcer and falls back to a multicast reply; it lists what it hears and
//! expires the silent. The legacy register scan (section 3.2) is here too,
//! run only when a person asks ([`scan`]), bounded to each interface's own
//! subnet. Loopback never carries multicast: with only `lo` chosen no socket
//! is opened and nothing is sent. Sources outside the chosen subnets are
//! ignored, and each source is rate limited.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, watch};

use super::wire::{Info, MAX_ANNOUNCE_BYTES};
use super::{LocalSendConfig, Shared, client};
use crate::api::Event;
use crate::discovery::interfaces::{Chosen, Selection};
use crate::discovery::limiter::RateLimiter;

/// Most hosts the legacy scan tries per interface (a /22); a bigger subnet
/// is scanned only in its /22 around our own address.
pub const MAX_SCAN_HOSTS: u32 = 1024;

/// Register requests of a scan in flight at once.
const SCAN_PARALLEL: usize = 32;

/// How long a scanned address gets to answer.
const SCAN_TIMEOUT: Duration = Duration::from_millis(800);

/// Answers to announcements in flight at once.
const MAX_ANSWERS: usize = 8;

/// A device is answered at most this often, whatever it announces.
const ANSWER_EVERY: Duration = Duration::from_secs(2);

/// The sockets of LocalSend's discovery: one that listens on the group's
/// port (joined on every chosen interface that can carry multicast) and
/// one per such interface that sends from it.
pub(crate) struct Sockets {
    listen: Option<std::net::UdpSocket>,
    send: Vec<(Chosen, std::net::UdpSocket)>,
}

fn multicast_capable(selection: &Selection) -> Vec<Chosen> {
    selection
        .chosen
        .iter()
        .filter(|c| !c.ip.is_loopback())
        .cloned()
        .collect()
}

impl Sockets {
    /// The interfaces whose group membership and sending socket worked.
    pub(crate) fn joined(&self) -> Vec<String> {
        self.send.iter().map(|(c, _)| c.name.clone()).collect()
    }

    /// Opens the sockets for the chosen interfaces; none at all when only
    /// loopback is chosen.
    pub(crate) fn open(selection: &Selection, config: &LocalSendConfig) -> std::io::Result<Self> {
        let interfaces = multicast_capable(selection);
        if interfaces.is_empty() {
            return Ok(Sockets {
                listen: None,
                send: Vec::new(),
            });
        }
        let listen = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        listen.set_reuse_address(true)?;
        #[cfg(unix)]
        listen.set_reuse_port(true)?;
        listen.bind(&SocketAddr::from(([0, 0, 0, 0], config.multicast_port)).into())?;
        let mut send = Vec::new();
        for chosen in interfaces {
            if let Err(e) = listen.join_multicast_v4(&config.group, &chosen.ip) {
                tracing::warn!(
                    "LocalSend: cannot join {} on {}: {e}",
                    config.group,
                    chosen.name
                );
                continue;
            }
            let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            socket.bind(&SocketAddr::from((chosen.ip, 0)).into())?;
            socket.set_multicast_if_v4(&chosen.ip)?;
            socket.set_multicast_ttl_v4(1)?;
            socket.set_nonblocking(true)?;
            send.push((chosen, socket.into()));
        }
        listen.set_nonblocking(true)?;
        Ok(Sockets {
            listen: Some(listen.into()),
            send,
        })
    }
}

/// Discovery's tasks: announcing, listening, expiring. Ends when `stop` flips.
pub(crate) async fn run(sockets: Sockets, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let senders: Vec<(Chosen, UdpSocket)> = sockets
        .send
        .into_iter()
        .filter_map(|(chosen, s)| UdpSocket::from_std(s).ok().map(|s| (chosen, s)))
        .collect();
    let senders = Arc::new(senders);
    let listen = sockets.listen.and_then(|s| UdpSocket::from_std(s).ok());
    let listener =
        listen.map(|socket| tokio::spawn(listen_loop(socket, shared.clone(), senders.clone())));
    let started = tokio::time::Instant::now();
    let mut next_start = 0;
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    loop {
        let next_announce = match super::START_ANNOUNCEMENTS.get(next_start) {
            Some(at) => started + *at,
            None => {
                let last = super::START_ANNOUNCEMENTS
                    .last()
                    .copied()
                    .unwrap_or_default();
                let since = started.elapsed().saturating_sub(last);
                let periods = since.as_secs_f64() / super::ANNOUNCE_INTERVAL.as_secs_f64();
                started + last + super::ANNOUNCE_INTERVAL.mul_f64(periods.floor() + 1.0)
            }
        };
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep_until(next_announce) => {
                next_start += 1;
                announce(&shared, &senders, true).await;
            }
            () = shared.announce_now.notified() => announce(&shared, &senders, true).await,
            _ = sweep.tick() => {
                expire(&shared);
                check_quiet(&shared);
            }
        }
    }
    if let Some(task) = listener {
        task.abort();
    }
}

/// Sends our announcement (or, with `announce` false, a reply) on every
/// interface, or only on `only`.
async fn announce(shared: &Shared, senders: &[(Chosen, UdpSocket)], announce: bool) {
    let bytes = shared.info(Some(announce)).to_bytes();
    let group = SocketAddrV4::new(shared.config.group, shared.config.multicast_port);
    for (chosen, socket) in senders {
        if let Err(e) = socket.send_to(&bytes, group).await {
            tracing::debug!("LocalSend: announcing on {} failed: {e}", chosen.name);
        }
    }
}

fn expire(shared: &Shared) {
    let (gone, again) = match shared.table.lock() {
        Ok(mut table) => {
            let gone = table.expire(Instant::now());
            let again = table.reconcile(|id| shared.is_ferry(id));
            (gone, again)
        }
        Err(_) => return,
    };
    for device_id in gone {
        shared.ctx.sink.emit(Event::PeerGone { device_id });
    }
    for peer in again {
        shared.ctx.sink.emit(Event::PeerSeen(peer));
    }
}

/// Asks devices that went quiet whether they are still there (a direct
/// `register`, as LocalSend's answer to an announcement is); only an answer
/// from the same device (same certificate) keeps it listed.
fn check_quiet(shared: &Arc<Shared>) {
    let due = match shared.table.lock() {
        Ok(mut table) => table.to_check(
            Instant::now(),
            super::ANNOUNCE_INTERVAL + Duration::from_secs(2),
            super::ANNOUNCE_INTERVAL,
        ),
        Err(_) => return,
    };
    for (id, addr, plain) in due {
        let shared = shared.clone();
        tokio::spawn(async move {
            if let Ok((mut info, answered)) =
                client::register(&shared, addr, plain, Duration::from_secs(3)).await
                && answered.eq_ignore_ascii_case(&id)
            {
                info.port = Some(addr.port());
                if plain {
                    info.protocol = Some("http".into());
                }
                shared.heard(&id, &info, addr.ip());
            }
        });
    }
}

async fn listen_loop(
    socket: UdpSocket,
    shared: Arc<Shared>,
    senders: Arc<Vec<(Chosen, UdpSocket)>>,
) {
    let mut buf = vec![0u8; MAX_ANNOUNCE_BYTES + 1];
    let mut limiter = RateLimiter::new();
    let answers = Arc::new(Semaphore::new(MAX_ANSWERS));
    let mut answered: HashMap<String, Instant> = HashMap::new();
    loop {
        let (len, from) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(e) => {
                tracing::debug!("LocalSend: receive failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let now = Instant::now();
        if !shared.local_network(from.ip()) || !limiter.allow(from, now) {
            continue;
        }
        let Ok(info) = Info::parse(&buf[..len], MAX_ANNOUNCE_BYTES) else {
            tracing::debug!(
                "LocalSend: ignored {len} bytes from {from} that are not an announcement"
            );
            continue;
        };
        if info.fingerprint.is_empty()
            || info
                .fingerprint
                .eq_ignore_ascii_case(shared.ctx.identity.device_id())
        {
            continue;
        }
        shared.heard(&info.fingerprint, &info, from.ip());
        // Only a device that receives answers: one without a server (it
        // only looks) is not to be listed by others.
        if info.announce != Some(true) || shared.port == 0 {
            continue;
        }
        answered.retain(|_, at| now.saturating_duration_since(*at) < ANSWER_EVERY);
        if answered.contains_key(&info.fingerprint) || answered.len() >= 256 {
            continue;
        }
        answered.insert(info.fingerprint.clone(), now);
        let Ok(permit) = answers.clone().try_acquire_owned() else {
            continue;
        };
        let (shared, senders) = (shared.clone(), senders.clone());
        tokio::spawn(async move {
            answer(&shared, &senders, &info, from.ip()).await;
            drop(permit);
        });
    }
}

/// Answers an announcement: `POST /register` to the announcer, else a
/// multicast reply on the interface it came from.
async fn answer(shared: &Shared, senders: &[(Chosen, UdpSocket)], info: &Info, ip: IpAddr) {
    let addr = SocketAddr::new(ip, info.port.unwrap_or(super::DEFAULT_PORT));
    match client::register(shared, addr, info.plain_http(), Duration::from_secs(2)).await {
        Ok((mut theirs, id)) => {
            theirs.port = theirs.port.or(info.port);
            theirs.protocol = theirs.protocol.clone().or(info.protocol.clone());
            shared.heard(&id, &theirs, ip);
        }
        Err(e) => {
            tracing::debug!("LocalSend: register at {addr} failed ({e}); replying by multicast");
            let IpAddr::V4(v4) = ip else { return };
            let on: Vec<&(Chosen, UdpSocket)> =
                senders.iter().filter(|(c, _)| c.contains(v4)).collect();
            let bytes = shared.info(Some(false)).to_bytes();
            let group = SocketAddrV4::new(shared.config.group, shared.config.multicast_port);
            for (_, socket) in on {
                let _ = socket.send_to(&bytes, group).await;
            }
        }
    }
}

/// The addresses the legacy scan tries on one interface: its subnet (at
/// most [`MAX_SCAN_HOSTS`] around our address), without the network and
/// broadcast addresses and our own.
pub fn scan_targets(chosen: &Chosen) -> Vec<Ipv4Addr> {
    let ours = u32::from(chosen.ip);
    let mut mask = u32::from(chosen.netmask);
    // Narrow a big subnet to the block of MAX_SCAN_HOSTS around us.
    let smallest = !(MAX_SCAN_HOSTS - 1);
    if mask < smallest {
        mask = smallest;
    }
    let network = ours & mask;
    let broadcast = network | !mask;
    (network.saturating_add(1)..broadcast)
        .filter(|ip| *ip != ours)
        .map(Ipv4Addr::from)
        .collect()
}

/// The legacy scan (protocol section 3.2): `POST /register` to every
/// address of each chosen interface's own subnet, a few at a time. Only
/// when a person asks for it; never on loopback.
pub(crate) async fn scan(shared: Arc<Shared>) {
    let port = match shared.config.port {
        0 => super::DEFAULT_PORT,
        port => port,
    };
    let limit = Arc::new(Semaphore::new(SCAN_PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for chosen in multicast_capable(&shared.selection) {
        for ip in scan_targets(&chosen) {
            let Ok(permit) = limit.clone().acquire_owned().await else {
                return;
            };
            let shared = shared.clone();
            tasks.spawn(async move {
                let addr = SocketAddr::new(IpAddr::V4(ip), port);
                if let Ok((mut info, id)) =
                    client::register(&shared, addr, false, SCAN_TIMEOUT).await
                {
                    info.port = Some(port);
                    shared.heard(&id, &info, addr.ip());
                }
                drop(permit);
            });
            while tasks.try_join_next().is_some() {}
        }
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(ip: [u8; 4], mask: [u8; 4]) -> Chosen {
        Chosen {
            name: "eth0".into(),
            ip: Ipv4Addr::from(ip),
            netmask: Ipv4Addr::from(mask),
            broadcast: Ipv4Addr::UNSPECIFIED,
        }
    }

    #[test]
    fn the_scan_stays_in_our_subnet_and_is_bounded() {
        let small = scan_targets(&chosen([10, 231, 0, 1], [255, 255, 255, 0]));
        assert_eq!(small.len(), 253);
        assert!(!small.contains(&Ipv4Addr::new(10, 231, 0, 1)));
        assert!(!small.contains(&Ipv4Addr::new(10, 231, 0, 0)));
        assert!(!small.contains(&Ipv4Addr::new(10, 231, 0, 255)));
        assert!(small.iter().all(|ip| ip.octets()[..3] == [10, 231, 0]));
        let big = scan_targets(&chosen([10, 1, 2, 3], [255, 0, 0, 0]));
        assert!(big.len() < MAX_SCAN_HOSTS as usize);
        assert!(big.iter().all(|ip| ip.octets()[..2] == [10, 1]));
    }
}
