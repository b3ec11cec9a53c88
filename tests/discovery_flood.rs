//! Guards discovery under a beacon flood on loopback: 50,000 junk and 50,000
//! valid-looking datagrams from many made-up devices leave memory bounded,
//! the real peers listed (never reported gone), and discovery working.

mod discovery_support;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use discovery_support::{Watch, direct_socket, engine, has_alias, udp_port};
use ferry::discovery::table::{MAX_IDS_PER_SOURCE, MAX_PEERS};
use ferry::discovery::{PEER_EXPIRY, limiter};
use ferry::protocol::messages::MAX_HEARD;
use ferry::protocol::{Beacon, BeaconKind, DeviceInfo, PROTOCOL_VERSION};

const SENDERS: usize = 128;
const EACH: usize = 50_000;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// A xorshift generator: deterministic junk without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn fake_beacon(i: usize) -> Vec<u8> {
    Beacon {
        kind: if i.is_multiple_of(2) {
            BeaconKind::Announce
        } else {
            BeaconKind::Reply
        },
        instance: i as u64,
        protocol: PROTOCOL_VERSION,
        device: DeviceInfo {
            device_id: format!("{i:032x}"),
            alias: format!("fake{i}"),
            os: "linux".into(),
            port: 1 + (i % 60_000) as u16,
        },
        flags: 1,
    }
    .encode()
    .expect("encode")
}

fn junk(i: usize, rng: &mut Rng, valid: &[u8]) -> Vec<u8> {
    match i % 5 {
        // Random bytes of random length (up to past the beacon limit).
        0 => (0..rng.next() % 700).map(|_| rng.next() as u8).collect(),
        // A valid beacon cut short.
        1 => valid[..(rng.next() as usize % valid.len())].to_vec(),
        // Our magic with an unknown format version.
        2 => {
            let mut v = valid.to_vec();
            v[7] = 9;
            v
        }
        // Oversized.
        3 => vec![0x46; 513 + (rng.next() % 900) as usize],
        // A valid header, garbage body.
        _ => {
            let mut v = valid[..8].to_vec();
            v.extend((0..rng.next() % 300).map(|_| rng.next() as u8));
            v
        }
    }
}

#[test]
fn a_flood_leaves_memory_bounded_and_real_peers_listed() {
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let target = engine("target", port.port, dir.path(), true);
    let real_b = engine("real-b", port.port, dir.path(), true);
    let real_c = engine("real-c", port.port, dir.path(), true);
    let real: HashSet<String> = [real_b.device().device_id, real_c.device().device_id]
        .into_iter()
        .collect();
    let mut w = Watch::new(&target);
    w.until(Duration::from_secs(3), |live| {
        has_alias(live, "real-b") && has_alias(live, "real-c")
    })
    .expect("real peers seen before the flood");
    // Let their start-up bursts finish: heard more than once, they are
    // established and can no longer be displaced by one-off ids.
    w.drain_for(Duration::from_millis(1200));
    let direct = direct_socket(&target);
    let rss_before = rss_kib();

    // The flood: broadcast on lo to the beacon port, plus straight at the
    // target's own socket; nothing leaves 127.0.0.0/8.
    let broadcast = SocketAddr::from((Ipv4Addr::new(127, 255, 255, 255), port.port));
    let senders: Vec<UdpSocket> = (0..SENDERS)
        .map(|_| {
            let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            s.set_broadcast(true).expect("broadcast");
            s
        })
        .collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let valid = fake_beacon(0);
    let started = Instant::now();
    let mut sent = 0usize;
    for i in 0..EACH {
        let s = &senders[i % SENDERS];
        let to = if i.is_multiple_of(10) {
            direct
        } else {
            broadcast
        };
        // A full socket buffer may refuse a send; that is part of a flood.
        if s.send_to(&junk(i, &mut rng, &valid), to).is_ok() {
            sent += 1;
        }
        if s.send_to(&fake_beacon(i + 1), to).is_ok() {
            sent += 1;
        }
        if i.is_multiple_of(2_000) {
            // Let the real peers' beacons interleave; the flood keeps going.
            w.drain_for(Duration::from_millis(1));
        }
    }
    let flood_took = started.elapsed();

    // Within two beacon intervals both real peers are still (or again) fresh.
    w.drain_for(Duration::from_millis(2500));
    let report = target.discovery_report().expect("report after the flood");
    let rss_after = rss_kib();
    let stats = &report.stats;
    eprintln!(
        "flood of {sent} datagrams in {flood_took:?}; stats {stats:?}; peers listed {}; \
         RSS {rss_before} -> {rss_after} KiB",
        report.peers.len()
    );
    for id in &real {
        assert!(
            report.peers.iter().any(|p| &p.device.device_id == id),
            "a real peer fell off the list"
        );
        assert!(!w.gone.contains(id), "a real peer was reported gone");
    }
    assert!(stats.junk > 0 && stats.other_version > 0, "{stats:?}");
    assert!(stats.rate_limited > 0, "{stats:?}");
    assert!(stats.refused > 0, "the table cap was reached: {stats:?}");
    assert!(stats.peers <= MAX_PEERS, "{stats:?}");
    assert!(
        stats.peers <= 2 + (SENDERS + 1) * MAX_IDS_PER_SOURCE,
        "{stats:?}"
    );
    assert!(stats.sources <= 2 * limiter::MAX_SOURCES, "{stats:?}");
    assert!(
        target.heard_devices().len() <= MAX_HEARD,
        "heard list unbounded"
    );
    assert!(
        rss_after.saturating_sub(rss_before) < 32 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );

    // Discovery still works: a newcomer appears, and the made-up devices expire.
    let _late = engine("late", port.port, dir.path(), true);
    w.until(Duration::from_secs(3), |live| has_alias(live, "late"))
        .expect("a new peer still shows up");
    let took = w
        .until(PEER_EXPIRY + Duration::from_secs(3), |live| {
            live.len() == 3 && live.values().all(|p| !p.device.alias.starts_with("fake"))
        })
        .unwrap_or_else(|| {
            let mut left: Vec<String> = w.live.values().map(|p| p.device.alias.clone()).collect();
            left.sort();
            let report = target.discovery_report().expect("report");
            panic!(
                "made-up devices did not expire: {} listed ({:?}...); table {:?}",
                left.len(),
                &left[..left.len().min(8)],
                report.stats
            )
        });
    eprintln!("made-up devices gone {took:?} after the check");
    for id in &real {
        assert!(!w.gone.contains(id), "a real peer was reported gone");
    }
    // Nobody reads the real peers' events (their channels fill up during
    // the flood), yet they kept beaconing: discovery never waits on its reader.
    eprintln!(
        "unread events queued at the real peers: {} and {}",
        real_b.events().len(),
        real_c.events().len()
    );
}
