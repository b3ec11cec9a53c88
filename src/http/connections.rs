//! Who may hold one of the share server's connection slots: at most
//! [`MAX_SHARE_CONNECTIONS`] connections at once, and at most
//! [`MAX_CONNECTIONS_PER_ADDRESS`] from one host (one IPv4 address, or one
//! IPv6 /64, since a single IPv6 host can use many addresses of its prefix),
//! so one host cannot take every slot. The count is taken in the accept loop,
//! before anything is read. A connection over either cap waits in a short
//! queue (its request unread) until a slot frees, for at most
//! [`QUEUE_WAIT`]: a 33rd download starts when one of the 32 ends instead of
//! failing in the browser (issue 17). The queue is bounded too
//! ([`MAX_WAITING`], [`MAX_WAITING_PER_ADDRESS`]); a connection over it
//! gets a short `503` written at once and is closed, so it holds no task and
//! no file descriptor and the listen backlog keeps draining. This module
//! owns only these counts; it spawns nothing and opens nothing.

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpStream;

use super::{MAX_CONNECTIONS_PER_ADDRESS, MAX_SHARE_CONNECTIONS};

/// Most connections waiting for a slot at once.
pub const MAX_WAITING: usize = 256;

/// Most connections from one host waiting for a slot at once.
pub const MAX_WAITING_PER_ADDRESS: usize = 32;

/// How long a connection waits for a slot before it gets `503`.
pub const QUEUE_WAIT: Duration = Duration::from_secs(120);

/// The whole answer to a connection over a cap, written before its request is read.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
x-content-type-options: nosniff\r\n\
cache-control: no-store\r\n\
retry-after: 5\r\n\
connection: close\r\n\
content-length: 62\r\n\
\r\n\
Too many connections right now. Please try again in a moment.\n";

/// Connections being served and waiting, in all and per host.
#[derive(Default)]
pub(crate) struct Slots {
    counts: Mutex<Counts>,
    /// Told whenever a slot is given back.
    freed: tokio::sync::Notify,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_host: HashMap<IpAddr, usize>,
    waiting: usize,
    waiting_per_host: HashMap<IpAddr, usize>,
}

/// One place in the queue; given back when dropped.
pub(crate) struct Waiter {
    slots: Arc<Slots>,
    host: IpAddr,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.slots.counts.lock() {
            counts.waiting = counts.waiting.saturating_sub(1);
            release(&mut counts.waiting_per_host, self.host);
        }
    }
}

fn release(map: &mut HashMap<IpAddr, usize>, host: IpAddr) {
    if let Some(n) = map.get_mut(&host) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(&host);
        }
    }
}

/// What the accept loop does with a new connection.
pub(crate) enum Admission {
    /// Serve it now.
    Now(Slot),
    /// Let it wait for a slot ([`Waiter::slot`]).
    Wait(Waiter),
    /// Refuse it ([`refuse`]).
    Full,
}

/// A slot now, a place in the queue, or neither.
pub(crate) fn admission(slots: &Arc<Slots>, peer: IpAddr) -> Admission {
    if let Some(slot) = admit(slots, peer) {
        return Admission::Now(slot);
    }
    let host = host_of(peer);
    let Ok(mut counts) = slots.counts.lock() else {
        return Admission::Full;
    };
    let from_host = counts.waiting_per_host.get(&host).copied().unwrap_or(0);
    if counts.waiting >= MAX_WAITING || from_host >= MAX_WAITING_PER_ADDRESS {
        return Admission::Full;
    }
    counts.waiting += 1;
    counts.waiting_per_host.insert(host, from_host + 1);
    Admission::Wait(Waiter {
        slots: slots.clone(),
        host,
    })
}

impl Waiter {
    /// Waits up to [`QUEUE_WAIT`] for a slot for this host.
    pub(crate) async fn slot(self, peer: IpAddr) -> Option<Slot> {
        let deadline = tokio::time::Instant::now() + QUEUE_WAIT;
        loop {
            // Registered before looking, so a slot freed in between still wakes us.
            let freed = self.slots.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(slot) = admit(&self.slots, peer) {
                return Some(slot);
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return None;
            }
        }
    }
}

/// One connection's slot; given back when dropped.
pub(crate) struct Slot {
    slots: Arc<Slots>,
    host: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.slots.counts.lock() {
            counts.total = counts.total.saturating_sub(1);
            release(&mut counts.per_host, self.host);
        }
        self.slots.freed.notify_waiters();
    }
}

/// A slot for a connection from `peer`, or `None` when either cap is reached.
fn admit(slots: &Arc<Slots>, peer: IpAddr) -> Option<Slot> {
    let host = host_of(peer);
    let mut counts = slots.counts.lock().ok()?;
    let from_host = counts.per_host.get(&host).copied().unwrap_or(0);
    if counts.total >= MAX_SHARE_CONNECTIONS || from_host >= MAX_CONNECTIONS_PER_ADDRESS {
        return None;
    }
    counts.total += 1;
    counts.per_host.insert(host, from_host + 1);
    Some(Slot {
        slots: slots.clone(),
        host,
    })
}

/// Answers `503` without waiting and closes (a connection over the queue,
/// or one that waited [`QUEUE_WAIT`] in vain). What already arrived of the
/// request is read (without waiting) first, so the close is a FIN the client
/// reads after the answer rather than a reset that may discard it.
pub(crate) fn refuse(stream: TcpStream, peer: SocketAddr) {
    tracing::debug!(%peer, "too many connections; answering 503 and closing");
    let socket = socket2::SockRef::from(&stream);
    // A fresh socket's send buffer takes these few bytes whole, or nothing is lost by not sending.
    let _ = socket.send(REFUSAL);
    let _ = socket.shutdown(std::net::Shutdown::Write);
    let mut drain = [0u8; 4096];
    let _ = (&*socket).read(&mut drain);
}

/// The host a connection counts against: the IPv4 address (also when
/// IPv4-mapped), or the /64 an IPv6 address is in.
pub(crate) fn host_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_declares_its_length() {
        let text = std::str::from_utf8(REFUSAL).expect("ascii");
        let (_, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(text.contains(&format!("content-length: {}\r\n", body.len())));
    }

    #[test]
    fn hosts_are_capped_separately_and_slots_come_back() {
        let slots = Arc::new(Slots::default());
        let a: IpAddr = "192.168.1.2".parse().expect("ip");
        let held: Vec<Slot> = (0..MAX_CONNECTIONS_PER_ADDRESS)
            .filter_map(|_| admit(&slots, a))
            .collect();
        assert_eq!(held.len(), MAX_CONNECTIONS_PER_ADDRESS);
        assert!(admit(&slots, a).is_none());
        // Another address of the same IPv6 /64 is the same host.
        let v6a: IpAddr = "fd00::1".parse().expect("ip");
        let v6b: IpAddr = "fd00::2:3".parse().expect("ip");
        let v6: Vec<Slot> = (0..MAX_CONNECTIONS_PER_ADDRESS)
            .filter_map(|_| admit(&slots, v6a))
            .collect();
        assert_eq!(v6.len(), MAX_CONNECTIONS_PER_ADDRESS);
        assert!(admit(&slots, v6b).is_none());
        drop(held);
        assert!(admit(&slots, a).is_some());
        let others: Vec<Slot> = (0..=255u8)
            .filter_map(|i| admit(&slots, IpAddr::from([10, 0, 0, i])))
            .collect();
        assert_eq!(others.len() + v6.len(), MAX_SHARE_CONNECTIONS);
    }
}
