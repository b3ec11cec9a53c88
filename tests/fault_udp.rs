//! Fault matrix row 10c: garbage on the UDP (discovery) port. Engines run
//! discovery confined to `lo` on a UDP port of this test's own; the test
//! sends random bytes, truncated and oversized datagrams, beacons with a
//! wrong magic or format version, beacons that break their limits, and valid
//! beacons in odd orders (a goodbye before any announce, replies and
//! goodbyes from ids nobody announced, a spoofed goodbye for a real peer, a
//! beacon claiming this device's own id) to 127.0.0.1 and 127.255.255.255
//! only. It asserts that no Ferry thread panics, that the bad datagrams are
//! counted in the discovery report and change nothing, and that real peers
//! still find each other and a transfer between them still completes.

mod discovery_support;
mod panic_watch;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use discovery_support::{Watch, direct_socket, engine, has_alias, udp_port};
use ferry::api::{Command, Event};
use ferry::api::{Direction, Outcome, TransferId};
use ferry::discovery::Stats;
use ferry::engine::Engine;
use ferry::protocol::beacon::{BEACON_MAGIC, CAP_HELLO, CAP_RECEIVE};
use ferry::protocol::limits::MAX_BEACON_BYTES;
use ferry::protocol::{Beacon, BeaconKind, DeviceInfo, PROTOCOL_VERSION, codec};
use panic_watch::{Noise, count_worker_panics, no_worker_panicked};

const SOON: Duration = Duration::from_secs(3);

fn beacon(kind: BeaconKind, id: &str, alias: &str, instance: u64) -> Beacon {
    Beacon {
        kind,
        instance,
        protocol: PROTOCOL_VERSION,
        device: DeviceInfo {
            device_id: id.into(),
            alias: alias.into(),
            os: "linux".into(),
            port: 47_813,
        },
        flags: CAP_RECEIVE | CAP_HELLO,
    }
}

/// Sends datagrams from loopback sockets, a fresh one every few datagrams so
/// the per-source rate limit never hides one from the counters.
struct Spray {
    socket: UdpSocket,
    used: usize,
    broadcast: SocketAddr,
    direct: SocketAddr,
    sent: usize,
}

impl Spray {
    fn new(udp_port: u16, direct: SocketAddr) -> Self {
        assert!(direct.ip().is_loopback(), "{direct}");
        Spray {
            socket: Spray::socket(),
            used: 0,
            broadcast: SocketAddr::from((Ipv4Addr::new(127, 255, 255, 255), udp_port)),
            direct,
            sent: 0,
        }
    }

    fn socket() -> UdpSocket {
        let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        s.set_broadcast(true).expect("broadcast");
        s
    }

    /// Sends `bytes` to the loopback broadcast address (every engine's
    /// beacon socket) and straight at the target's own socket.
    fn both(&mut self, bytes: &[u8]) {
        for to in [self.broadcast, self.direct] {
            if self.used >= 8 {
                self.socket = Spray::socket();
                self.used = 0;
            }
            self.used += 1;
            self.socket.send_to(bytes, to).expect("send on lo");
        }
        self.sent += 1;
    }
}

/// The target's discovery counters, once `done` holds (or after 3 s).
fn stats_when(target: &Engine, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + SOON;
    loop {
        let stats = target.discovery_report().expect("report").stats;
        if done(&stats) || Instant::now() > deadline {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn garbage_on_the_udp_port_is_counted_and_ignored_and_peers_still_meet() {
    count_worker_panics();
    let port = udp_port();
    let dir_t = tempfile::tempdir().expect("tmp");
    let dir_r = tempfile::tempdir().expect("tmp");
    let target = engine("target", port.port, dir_t.path(), true);
    let report = target.discovery_report().expect("report");
    let direct = report
        .sockets
        .iter()
        .find(|s| s.error.is_none() && s.purpose.contains("direct"))
        // Its port, on 127.0.0.1 whatever address it was bound to.
        .map(|s| SocketAddr::from((Ipv4Addr::LOCALHOST, s.addr.port())))
        .expect("the target's own socket");
    let before = report.stats;
    let mut spray = Spray::new(port.port, direct);
    let mut noise = Noise(0x2545_f491_4f6c_dd1d);
    let valid = beacon(BeaconKind::Announce, "ab12", "valid", 7)
        .encode()
        .expect("encode");

    // 1. Junk: not a beacon this build can use. Each is counted as junk.
    let mut junk = 0usize;
    let mut send_junk = |spray: &mut Spray, bytes: &[u8]| {
        spray.both(bytes);
        junk += 1;
    };
    send_junk(&mut spray, b"");
    for _ in 0..40 {
        let len = (noise.next() % 700) as usize;
        send_junk(&mut spray, &noise.bytes(len));
    }
    // Every truncation of a valid beacon, and one byte too many.
    for len in 1..valid.len() {
        send_junk(&mut spray, &valid[..len]);
    }
    send_junk(&mut spray, &[valid.clone(), vec![0]].concat());
    // Oversized: just over the limit, a valid beacon padded, and a datagram
    // near the largest UDP allows.
    send_junk(&mut spray, &vec![0x46; MAX_BEACON_BYTES + 1]);
    send_junk(&mut spray, &[valid.clone(), vec![0; 600]].concat());
    send_junk(&mut spray, &noise.bytes(60_000));
    // A wrong magic, and the right header with a garbage body.
    let mut wrong_magic = valid.clone();
    wrong_magic[5] = b'X';
    send_junk(&mut spray, &wrong_magic);
    for _ in 0..20 {
        let len = (noise.next() % 300) as usize;
        send_junk(&mut spray, &[&valid[..8], &noise.bytes(len)].concat());
    }
    // Well-formed bodies whose fields break the limits: a control character
    // in the alias, an empty or spaced device id, an over-long OS name.
    for device in [
        DeviceInfo {
            alias: "evil\u{1b}[2J".into(),
            ..beacon(BeaconKind::Announce, "ab12", "x", 1).device
        },
        DeviceInfo {
            device_id: String::new(),
            ..beacon(BeaconKind::Announce, "ab12", "x", 1).device
        },
        DeviceInfo {
            device_id: "a b".into(),
            ..beacon(BeaconKind::Announce, "ab12", "x", 1).device
        },
        DeviceInfo {
            os: "o".repeat(65),
            ..beacon(BeaconKind::Announce, "ab12", "x", 1).device
        },
    ] {
        let bad = Beacon {
            device,
            ..beacon(BeaconKind::Announce, "ab12", "x", 1)
        };
        let mut bytes = BEACON_MAGIC.to_vec();
        bytes.extend_from_slice(&1u16.to_be_bytes());
        bytes.extend(codec::encode(&bad).expect("raw body"));
        send_junk(&mut spray, &bytes);
    }

    // 2. Our magic with another beacon format version: counted apart.
    let mut versions = 0usize;
    for version in [0u16, 2, 0xffff] {
        let mut v = valid.clone();
        v[6..8].copy_from_slice(&version.to_be_bytes());
        spray.both(&v);
        versions += 1;
    }

    let stats = stats_when(&target, |s| {
        s.junk - before.junk >= 2 * junk as u64
            && s.other_version - before.other_version >= 2 * versions as u64
    });
    eprintln!("sent {} datagrams twice; stats {stats:?}", spray.sent);
    assert_eq!(stats.rate_limited, before.rate_limited, "{stats:?}");
    assert_eq!(
        stats.junk - before.junk,
        2 * junk as u64,
        "every junk datagram is counted once per socket it reached: {stats:?}"
    );
    assert_eq!(
        stats.other_version - before.other_version,
        2 * versions as u64,
        "{stats:?}"
    );

    // 3. Valid beacons in odd orders, from ids nobody announced.
    let mut w = Watch::new(&target);
    // A goodbye before any announce: nothing to forget, nothing happens.
    spray.both(
        &beacon(BeaconKind::Goodbye, "feed01", "never-seen", 5)
            .encode()
            .expect("encode"),
    );
    // A reply nobody asked for, from an unknown id: listed like any
    // beacon (it is one), never answered (replies are never answered).
    spray.both(
        &beacon(BeaconKind::Reply, "feed02", "ghost", 9)
            .encode()
            .expect("encode"),
    );
    w.until(SOON, |live| has_alias(live, "ghost"))
        .expect("a reply from an unknown id is listed like any beacon");
    // A goodbye for it from another run (wrong instance) is ignored ...
    spray.both(
        &beacon(BeaconKind::Goodbye, "feed02", "ghost", 10)
            .encode()
            .expect("encode"),
    );
    w.drain_for(Duration::from_millis(300));
    assert!(
        has_alias(&w.live, "ghost"),
        "a stale goodbye removed a peer"
    );
    // ... and the right one removes it at once.
    spray.both(
        &beacon(BeaconKind::Goodbye, "feed02", "ghost", 9)
            .encode()
            .expect("encode"),
    );
    w.until(SOON, |live| !has_alias(live, "ghost"))
        .expect("the goodbye of the run that announced removes it");
    assert_eq!(w.gone, vec!["feed02".to_string()]);
    // A query from an unknown id is answered with a unicast reply to its
    // socket, and the asker is never listed.
    let asker = Spray::socket();
    asker
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    asker
        .send_to(
            &beacon(BeaconKind::Query, "feed03", "asker", 3)
                .encode()
                .expect("encode"),
            direct,
        )
        .expect("send on lo");
    let mut buffer = [0u8; 2048];
    let (len, _) = asker.recv_from(&mut buffer).expect("a reply to the query");
    let reply = Beacon::decode(&buffer[..len]).expect("the reply is a beacon");
    assert_eq!(reply.kind, BeaconKind::Reply);
    assert_eq!(reply.device.device_id, target.device().device_id);
    // Another TCP protocol version: reported, never listed.
    let mut future = beacon(BeaconKind::Announce, "feed04", "future", 4);
    future.protocol = PROTOCOL_VERSION + 40;
    spray.both(&future.encode().expect("encode"));
    w.drain_for(Duration::from_millis(500));
    assert!(
        !has_alias(&w.live, "asker") && !has_alias(&w.live, "never-seen"),
        "{:?}",
        w.live.keys()
    );
    assert!(!has_alias(&w.live, "future"), "{:?}", w.live.keys());
    assert!(
        w.problems.iter().any(|p| p.contains("protocol version")),
        "{:?}",
        w.problems
    );

    // 4. A real peer still appears, survives a spoofed goodbye, and a
    //    transfer to it completes.
    let real = engine("real", port.port, dir_r.path(), true);
    let real_id = real.device().device_id;
    w.until(SOON, |live| has_alias(live, "real"))
        .expect("a real peer still shows up");
    let mut wr = Watch::new(&real);
    wr.until(SOON, |live| has_alias(live, "target"))
        .expect("the real peer sees the target");
    spray.both(
        &beacon(BeaconKind::Goodbye, &real_id, "real", 12_345)
            .encode()
            .expect("encode"),
    );
    w.drain_for(Duration::from_millis(500));
    assert!(
        has_alias(&w.live, "real"),
        "a spoofed goodbye removed a peer"
    );
    assert!(!w.gone.contains(&real_id));

    let to = w.by_alias("real").expect("listed").addrs[0];
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let file = dir_t.path().join("after-garbage.bin");
    std::fs::write(&file, &payload).expect("write");
    let id = TransferId::fresh();
    assert!(target.send(Command::Send {
        id,
        to,
        paths: vec![file],
    }));
    let deadline = Instant::now() + Duration::from_secs(20);
    let outcome = loop {
        match target.events().recv_deadline(deadline) {
            Ok(Event::Finished {
                id: done,
                direction: Direction::Outgoing,
                outcome,
            }) if done == id => break outcome,
            Ok(_) => {}
            Err(_) => panic!("the transfer did not finish"),
        }
    };
    assert!(
        matches!(outcome, Outcome::Completed { files: 1, .. }),
        "{outcome:?}"
    );
    let arrived = std::fs::read(dir_r.path().join("after-garbage.bin")).expect("arrived");
    assert!(arrived == payload, "bytes differ");

    let stats = target.discovery_report().expect("report").stats;
    eprintln!("after the transfer: {stats:?}");
    assert!(stats.own > before.own, "{stats:?}");
    no_worker_panicked();
}

/// Regression: `bug_a_beacon_with_our_own_id_listed_ourselves` (found by
/// this fault row). Discovery recognised its own beacons by device id *and*
/// instance, so a beacon carrying this device's id with another instance (a
/// stale beacon from an earlier run, or anyone copying the id off the
/// network) was taken for a peer: the device listed itself, and a send to
/// that entry would have gone to whoever sent the beacon.
#[test]
fn bug_a_beacon_with_our_own_id_listed_ourselves() {
    count_worker_panics();
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let target = engine("target", port.port, dir.path(), true);
    let direct = SocketAddr::from((Ipv4Addr::LOCALHOST, direct_socket(&target).port()));
    let own_id = target.device().device_id;
    let mut spray = Spray::new(port.port, direct);
    for kind in [BeaconKind::Announce, BeaconKind::Reply] {
        spray.both(&beacon(kind, &own_id, "me?", 1).encode().expect("encode"));
    }
    let mut w = Watch::new(&target);
    w.drain_for(Duration::from_millis(700));
    assert!(
        !w.live.contains_key(&own_id) && !has_alias(&w.live, "me?"),
        "a beacon with our own id listed ourselves: {:?}",
        w.live.keys()
    );
    let report = target.discovery_report().expect("report");
    assert!(report.peers.iter().all(|p| p.device.device_id != own_id));
    assert!(
        report
            .recent
            .iter()
            .any(|b| b.device.device_id == own_id && b.ignored.is_some()),
        "the beacon is shown as ignored in the report"
    );
    no_worker_panicked();
}
