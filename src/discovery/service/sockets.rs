//! Discovery's UDP sockets and the receiver threads that read them. This
//! owns opening the sockets (the shared beacon port, and our own socket that
//! gets direct replies and sends), and turning datagrams into beacons: read,
//! parse, rate-limit, pass on over a bounded channel. It must never block on
//! the discovery thread (a full channel drops and counts), never panic on
//! input, and never touch the peer table, which the discovery thread alone owns.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use socket2::{Domain, Protocol, Socket, Type};

use super::super::limiter::RateLimiter;
use super::super::{DiscoveryConfig, SocketStatus, Via};
use super::{Counters, Incoming, bump};
use crate::api::Event;
use crate::protocol::Beacon;
use crate::protocol::beacon::BeaconError;
use crate::protocol::limits::MAX_BEACON_BYTES;
use crate::transfer::context::Context;

/// How often receiver threads wake to check for shutdown.
const RX_POLL: Duration = Duration::from_millis(100);
/// Receive buffer asked of the kernel for each socket, to ride out bursts.
const SOCKET_BUFFER: usize = 256 * 1024;

/// The sockets discovery runs on, and what they are for (for the report).
pub(super) struct Opened {
    /// Our own socket: direct replies arrive here and every send leaves from it.
    pub(super) own: UdpSocket,
    /// The shared beacon port, if it could be bound.
    pub(super) port: Option<UdpSocket>,
    pub(super) status: Vec<SocketStatus>,
}

/// Opens our own socket on `bind_ip` (failing if it cannot be opened) and the
/// beacon port on `port_ip` (reporting a problem event if it cannot be bound:
/// direct replies are still heard without it).
pub(super) fn open(
    config: &DiscoveryConfig,
    shared: &Context,
    bind_ip: Ipv4Addr,
    port_ip: Ipv4Addr,
) -> io::Result<Opened> {
    let mut status = Vec::new();
    let own_addr = SocketAddr::from((bind_ip, 0));
    let own = udp_socket(own_addr, false)?;
    status.push(SocketStatus {
        purpose: "direct replies and sending".into(),
        addr: own.local_addr().unwrap_or(own_addr),
        error: None,
    });
    let port_addr = SocketAddr::from((port_ip, config.udp_port));
    let port = match udp_socket(port_addr, true) {
        Ok(socket) => {
            status.push(SocketStatus {
                purpose: "beacon port".into(),
                addr: port_addr,
                error: None,
            });
            Some(socket)
        }
        Err(e) => {
            shared.sink.emit(Event::Problem(format!(
                "Cannot listen for beacons on UDP port {}: {e}. Other devices' beacons will \
                 not be heard (their direct replies still are).",
                config.udp_port
            )));
            status.push(SocketStatus {
                purpose: "beacon port".into(),
                addr: port_addr,
                error: Some(e.to_string()),
            });
            None
        }
    };
    Ok(Opened { own, port, status })
}

/// `shared_port` (SO_REUSEADDR, so several Ferry instances on one machine
/// all hear the broadcasts), and a read timeout so its thread can stop.
pub(super) fn udp_socket(addr: SocketAddr, shared_port: bool) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    if shared_port {
        socket.set_reuse_address(true)?;
    }
    socket.set_broadcast(true)?;
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    socket.bind(&addr.into())?;
    let socket: UdpSocket = socket.into();
    socket.set_read_timeout(Some(RX_POLL))?;
    Ok(socket)
}

/// One receiver thread: read, parse, rate-limit, pass on. Never panics on
/// input; junk and excess are counted and dropped.
pub(super) fn receive_loop(
    socket: UdpSocket,
    via: Via,
    slot: usize,
    tx: Sender<Incoming>,
    counters: &Counters,
    halt: &AtomicBool,
    stopping: &AtomicBool,
) {
    // One byte more than a beacon may be, so an oversized datagram is seen as such.
    let mut buffer = [0u8; MAX_BEACON_BYTES + 1];
    let mut limiter = RateLimiter::new();
    while !halt.load(Ordering::Relaxed) && !stopping.load(Ordering::Relaxed) {
        let received = recv_from(&socket, &mut buffer);
        if halt.load(Ordering::Relaxed) {
            break;
        }
        let (len, from) = match received {
            Ok(got) => got,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // e.g. an ICMP error reported on the socket; do not spin on it.
                tracing::debug!("discovery receive error: {e}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        bump(&counters.datagrams);
        let beacon = match Beacon::decode(&buffer[..len]) {
            Ok(beacon) => beacon,
            Err(BeaconError::Version(v)) => {
                bump(&counters.other_version);
                tracing::trace!(%from, "beacon of format version {v}");
                continue;
            }
            Err(e) => {
                bump(&counters.junk);
                tracing::trace!(%from, "ignored datagram: {e}");
                continue;
            }
        };
        let allowed = limiter.allow(from, Instant::now());
        counters.sources[slot].store(limiter.sources(), Ordering::Relaxed);
        if !allowed {
            bump(&counters.rate_limited);
            continue;
        }
        match tx.try_send(Incoming { beacon, from, via }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => bump(&counters.backlog_dropped),
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

/// One datagram and who sent it. On Linux, `Discovery::stop` wakes a thread
/// blocked here by shutting the socket's read side, and the kernel then
/// returns an empty read with no address, which std's `recv_from` turns into
/// a panic (an assertion on the address length); rustix hands back "no
/// address" instead, reported as `WouldBlock` so the loop looks at its stop
/// flags again.
#[cfg(target_os = "linux")]
fn recv_from(socket: &UdpSocket, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    let (len, _, from) = rustix::net::recvfrom(socket, buffer, rustix::net::RecvFlags::empty())?;
    match from.and_then(|from| SocketAddr::try_from(from).ok()) {
        Some(from) => Ok((len, from)),
        None => Err(io::ErrorKind::WouldBlock.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn recv_from(socket: &UdpSocket, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    socket.recv_from(buffer)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crossbeam_channel::bounded;

    use super::super::INCOMING_CAPACITY;
    use super::*;
    use crate::protocol::{BeaconKind, DeviceInfo, PROTOCOL_VERSION};

    #[test]
    fn junk_datagrams_are_counted_and_a_flood_is_limited() {
        // Drive receive_loop over a loopback socket pair; nothing leaves 127.0.0.1.
        let socket = udp_socket(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), false).expect("socket");
        let target = socket.local_addr().expect("addr");
        let (tx, rx) = bounded(INCOMING_CAPACITY);
        let counters = Arc::new(Counters::default());
        let halt = Arc::new(AtomicBool::new(false));
        let never = Arc::new(AtomicBool::new(false));
        let worker = {
            let counters = counters.clone();
            let halt = halt.clone();
            thread::spawn(move || {
                receive_loop(socket, Via::Direct, 0, tx, &counters, &halt, &never)
            })
        };
        let sender = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("sender");
        let beacon = Beacon {
            kind: BeaconKind::Announce,
            instance: 1,
            protocol: PROTOCOL_VERSION,
            device: DeviceInfo {
                device_id: "abcd".into(),
                alias: "x".into(),
                os: "linux".into(),
                port: 1,
            },
            flags: 0,
        }
        .encode()
        .expect("encode");
        for i in 0..50u32 {
            sender.send_to(&i.to_le_bytes(), target).expect("send junk");
            sender.send_to(&beacon, target).expect("send beacon");
        }
        let mut got = 0;
        while rx.recv_timeout(Duration::from_millis(500)).is_ok() {
            got += 1;
        }
        halt.store(true, Ordering::SeqCst);
        worker.join().expect("join");
        assert_eq!(counters.junk.load(Ordering::Relaxed), 50);
        // The burst, plus whatever trickled back in while sending (a few at most).
        let burst = crate::discovery::limiter::BURST as usize;
        assert!((burst..burst + 4).contains(&got), "{got} beacons passed");
        assert_eq!(
            counters.rate_limited.load(Ordering::Relaxed),
            50 - got as u64
        );
    }
}
