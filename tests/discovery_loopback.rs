//! Guards discovery on one machine: Ferry instances confined to `lo` (each
//! test on its own UDP port) find each other fast, send by alias, and forget
//! a peer at once on goodbye or after the expiry when it is killed.

mod discovery_support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use discovery_support::{Watch, engine, engine_with, ferry, has_alias, udp_port};
use ferry::api::Command;
use ferry::discovery::{DiscoveryConfig, PEER_EXPIRY, PeerSource};

const SOON: Duration = Duration::from_secs(3);

#[test]
fn two_engines_see_each_other_within_a_second() {
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let a = engine("alice", port.port, dir.path(), true);
    let b = engine("bob", port.port, dir.path(), true);
    let mut wa = Watch::new(&a);
    let mut wb = Watch::new(&b);
    let took_b = wb
        .until(SOON, |live| has_alias(live, "alice"))
        .expect("bob sees alice");
    let took_a = wa
        .until(SOON, |live| has_alias(live, "bob"))
        .expect("alice sees bob");
    eprintln!("newcomer saw the first: {took_b:?}; the first saw the newcomer: {took_a:?}");
    assert!(took_b < Duration::from_secs(1), "{took_b:?}");
    assert!(took_a < Duration::from_secs(1), "{took_a:?}");
    let bob = wa.by_alias("bob").expect("bob listed");
    assert_eq!(bob.source, PeerSource::Beacon);
    assert_eq!(bob.addrs, vec![b.local_addr().expect("bob listens")]);
    assert_eq!(bob.device.device_id, b.device().device_id);
    // Nobody lists itself.
    assert!(!wa.live.contains_key(&a.device().device_id));
}

#[test]
fn three_engines_and_a_file_sent_by_alias() {
    let port = udp_port();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("tmp")).collect();
    let names = ["ann", "ben", "cat"];
    let engines: Vec<_> = names
        .iter()
        .zip(&dirs)
        .map(|(name, dir)| engine(name, port.port, dir.path(), true))
        .collect();
    for (i, e) in engines.iter().enumerate() {
        let mut w = Watch::new(e);
        let others: Vec<&str> = names.iter().copied().filter(|n| *n != names[i]).collect();
        let took = w
            .until(SOON, |live| others.iter().all(|n| has_alias(live, n)))
            .unwrap_or_else(|| panic!("{} sees the other two", names[i]));
        assert_eq!(w.live.len(), 2);
        eprintln!("{} saw both others in {took:?}", names[i]);
    }
    // The binary finds "cat" by its alias (a short query) and sends to it.
    let home = tempfile::tempdir().expect("tmp");
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = home.path().join("data.bin");
    std::fs::write(&file, &payload).expect("write");
    let started = Instant::now();
    let out = ferry(home.path(), port.port)
        .args(["send", "--trust-new", "--to", "cat"])
        .arg(&file)
        .output()
        .expect("run ferry send");
    eprintln!(
        "send by alias took {:?}: {}",
        started.elapsed(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{out:?}");
    let received = std::fs::read(dirs[2].path().join("data.bin")).expect("arrived");
    assert!(received == payload, "bytes differ");
    // By device id prefix too.
    let id = engines[1].device().device_id;
    let out = ferry(home.path(), port.port)
        .args(["send", "--trust-new", "--to", &id[..8], "--text", "hi ben"])
        .output()
        .expect("run ferry send");
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn the_same_alias_twice_is_an_error_listing_both() {
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let one = engine("twin", port.port, dir.path(), true);
    let two = engine("twin", port.port, dir.path(), true);
    let home = tempfile::tempdir().expect("tmp");
    let out = ferry(home.path(), port.port)
        .args(["send", "--trust-new", "--to", "twin", "--text", "which?"])
        .output()
        .expect("run ferry send");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("2 devices answer to \"twin\""), "{stderr}");
    assert!(stderr.contains(&one.device().device_id), "{stderr}");
    assert!(stderr.contains(&two.device().device_id), "{stderr}");
}

#[test]
fn goodbye_removes_a_peer_at_once() {
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let a = engine("stays", port.port, dir.path(), true);
    let b = engine("leaves", port.port, dir.path(), true);
    let leaving_id = b.device().device_id;
    let mut w = Watch::new(&a);
    w.until(SOON, |live| has_alias(live, "leaves"))
        .expect("sees it first");
    let started = Instant::now();
    b.shutdown();
    let shut = started.elapsed();
    let took = w
        .until(SOON, |live| !live.contains_key(&leaving_id))
        .expect("gone after goodbye");
    eprintln!("shutdown took {shut:?}; gone {took:?} after it");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(w.gone, vec![leaving_id]);
}

/// Starts `ferry receive` as `alias` on `port` and waits until `watcher`
/// lists it; returns the child and its device id. Its output goes to a
/// thread that reads it to the end, so it never writes into a closed pipe.
fn receiver_seen_by(
    w: &mut Watch<'_>,
    home: &std::path::Path,
    port: u16,
    alias: &str,
) -> (std::process::Child, String) {
    let mut child = ferry(home, port)
        .args(["receive", "--port", "0", "--yes", "--alias", alias, "--dir"])
        .arg(home.join("in"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ferry receive");
    // It is up once it prints its port.
    let mut output = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    output.read_line(&mut line).expect("read");
    assert!(line.starts_with("Listening on port"), "{line}");
    std::thread::Builder::new()
        .name("receiver output".into())
        .spawn(move || std::io::copy(&mut output, &mut std::io::sink()))
        .expect("thread");
    w.until(SOON, |live| has_alias(live, alias))
        .expect("sees the receiver");
    let id = w.by_alias(alias).expect("listed").device.device_id.clone();
    (child, id)
}

#[test]
fn a_killed_receiver_expires_after_missed_beacons() {
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let a = engine("watcher", port.port, dir.path(), true);
    let home = tempfile::tempdir().expect("tmp");
    let mut w = Watch::new(&a);
    let (mut child, id) = receiver_seen_by(&mut w, home.path(), port.port, "ghost");
    child.kill().expect("kill -9");
    let _ = child.wait();
    let killed = Instant::now();
    w.until(PEER_EXPIRY + SOON, |live| !live.contains_key(&id))
        .expect("expires");
    // Expiry counts from its last beacon, which came up to one interval before the kill.
    let took = killed.elapsed();
    eprintln!("killed peer vanished after {took:?} (expiry {PEER_EXPIRY:?})");
    assert!(took > PEER_EXPIRY - Duration::from_millis(2500), "{took:?}");
    assert!(took < PEER_EXPIRY + Duration::from_millis(1500), "{took:?}");
}

/// Logout, `systemctl stop` and `kill` send SIGTERM: `ferry receive` ends
/// as on Ctrl-C, with a goodbye, so others drop it at once (before, SIGTERM
/// killed it outright and peers waited out the expiry).
#[test]
fn sigterm_makes_ferry_receive_say_goodbye() {
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let a = engine("watcher", port.port, dir.path(), true);
    let home = tempfile::tempdir().expect("tmp");
    let mut w = Watch::new(&a);
    let (mut child, id) = receiver_seen_by(&mut w, home.path(), port.port, "leaving");
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
    // SAFETY: kill(2) with a pid of our own live child (not yet waited for,
    // so the pid cannot have been reused) and a valid signal number.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0, "kill -TERM");
    let signalled = Instant::now();
    w.until(SOON, |live| !live.contains_key(&id))
        .expect("gone after SIGTERM");
    let took = signalled.elapsed();
    eprintln!("SIGTERM'd peer gone after {took:?}");
    assert!(
        took < Duration::from_secs(1),
        "{took:?}: no goodbye, it expired"
    );
    assert_eq!(w.gone, vec![id]);
    let status = child.wait().expect("wait");
    assert!(status.success(), "ends like Ctrl-C: {status:?}");
}

/// Two engines on different UDP ports ("prober" and "far"): their beacons
/// never meet, only a hello probe can link them.
fn prober_and_far() -> (
    discovery_support::UdpPort,
    discovery_support::UdpPort,
    tempfile::TempDir,
    ferry::engine::Engine,
    ferry::engine::Engine,
) {
    let port_a = udp_port();
    let port_b = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let a = engine("prober", port_a.port, dir.path(), true);
    let b = engine("far", port_b.port, dir.path(), true);
    (port_a, port_b, dir, a, b)
}

/// Adds `b` to `a` by address and waits until `a` lists it: its address and id.
fn add_by_address(
    a: &ferry::engine::Engine,
    w: &mut Watch,
    b: &ferry::engine::Engine,
) -> (SocketAddr, String) {
    let b_addr: SocketAddr = b.local_addr().expect("listens");
    let b_id = b.device().device_id;
    assert!(a.send(Command::AddPeer { addr: b_addr }));
    w.until(SOON, |live| live.contains_key(&b_id))
        .expect("listed after a probe");
    (b_addr, b_id)
}

#[test]
fn a_peer_added_by_address_is_listed_and_expires() {
    // Different UDP ports: beacons never meet, only the hello probe links them.
    let (port_a, port_b, dir, a, b) = prober_and_far();
    let mut w = Watch::new(&a);
    let (b_addr, b_id) = add_by_address(&a, &mut w, &b);
    let peer = &w.live[&b_id];
    assert_eq!(peer.source, PeerSource::Manual);
    assert_eq!(peer.addrs, vec![b_addr]);
    // A manual peer that stops answering expires too.
    b.shutdown();
    let took = w
        .until(PEER_EXPIRY + SOON, |live| !live.contains_key(&b_id))
        .expect("expires");
    eprintln!("manual peer expired {took:?} after it stopped");
    // Peers from the settings (DiscoveryConfig.manual_peers) are probed from the start.
    let c = engine("listed", port_b.port, dir.path(), true);
    let c_addr = c.local_addr().expect("listens");
    let d = engine_with(
        "configured",
        DiscoveryConfig {
            manual_peers: vec![c_addr],
            ..DiscoveryConfig::loopback(port_a.port)
        },
        dir.path(),
        false,
    );
    let mut wd = Watch::new(&d);
    wd.until(SOON, |live| has_alias(live, "listed"))
        .expect("configured manual peer listed");
}

/// Issue 16, item 7: a device added by address that the person removes is
/// no longer probed, so it leaves the list although it still runs.
#[test]
fn a_forgotten_peer_added_by_address_is_no_longer_probed() {
    let (_port_a, _port_b, _dir, a, b) = prober_and_far();
    let mut w = Watch::new(&a);
    let (b_addr, b_id) = add_by_address(&a, &mut w, &b);
    // Still answering, and still listed a full expiry later while probed.
    w.drain_for(PEER_EXPIRY + Duration::from_secs(1));
    assert!(w.live.contains_key(&b_id), "a probed peer stays listed");
    assert!(a.send(Command::ForgetPeer { addr: b_addr }));
    w.until(PEER_EXPIRY + SOON, |live| !live.contains_key(&b_id))
        .expect("no longer probed, so it expires while it still runs");
    assert!(b.local_addr().is_some(), "b kept running all along");
}

#[test]
fn an_alias_change_reaches_peers_at_once() {
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let a = engine("seer", port.port, dir.path(), true);
    let b = engine("before", port.port, dir.path(), true);
    let mut w = Watch::new(&a);
    w.until(SOON, |live| has_alias(live, "before"))
        .expect("sees it");
    b.send(Command::SetAlias("after".into()));
    let took = w
        .until(SOON, |live| has_alias(live, "after"))
        .expect("sees the new name");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(w.live.len(), 1);
}

#[test]
fn a_looker_is_answered_but_never_listed() {
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = engine("host", port.port, dir.path(), true);
    let looker = engine("looker", port.port, dir.path(), false);
    let mut wl = Watch::new(&looker);
    let took = wl
        .until(SOON, |live| has_alias(live, "host"))
        .expect("the looker sees the receiver");
    assert!(took < Duration::from_secs(1), "{took:?}");
    let mut wr = Watch::new(&receiver);
    wr.drain_for(Duration::from_millis(1500));
    assert!(wr.live.is_empty(), "listed a looker: {:?}", wr.live);
    // ...but it did hear it; a hello from a device it does not trust is told
    // only about that device itself (the doctor's two-way check), never
    // about others (issue 14, finding 7).
    assert!(
        receiver
            .heard_devices()
            .contains(&looker.device().device_id)
    );
    let (prober_id, answer) = discovery_support::hello_as_stranger(&receiver, "prober");
    assert_eq!(answer.device.alias, "host");
    assert!(!answer.heard.contains(&prober_id), "it never beaconed");
    assert!(
        !answer.heard.contains(&looker.device().device_id),
        "a stranger was told about another device"
    );
}

#[test]
fn peers_json_and_doctor_on_loopback() {
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let a = engine("json-a", port.port, dir.path(), true);
    let _b = engine("json-b", port.port, dir.path(), true);
    let home = tempfile::tempdir().expect("tmp");
    let out = ferry(home.path(), port.port)
        .args(["peers", "--json", "--wait", "3", "--expect", "2"])
        .output()
        .expect("run ferry peers");
    assert!(out.status.success(), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["format"], 1);
    let peers = doc["peers"].as_array().expect("peers array");
    assert_eq!(peers.len(), 2);
    assert_eq!(peers[0]["alias"], "json-a");
    assert_eq!(peers[0]["device_id"], a.device().device_id.as_str());
    assert_eq!(peers[0]["source"], "beacon");
    assert_eq!(
        peers[0]["addresses"][0],
        a.local_addr().expect("addr").to_string().as_str()
    );
    for key in [
        "os",
        "port",
        "last_seen_unix_ms",
        "last_seen_ago_ms",
        "addresses",
    ] {
        assert!(peers[1].get(key).is_some(), "missing {key}");
    }

    let out = ferry(home.path(), port.port)
        .args(["doctor", "--wait", "1.5"])
        .output()
        .expect("run ferry doctor");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("use      lo"), "{stdout}");
    assert!(stdout.contains("our own beacons came back"), "{stdout}");
    assert!(stdout.contains("\"json-a\""), "{stdout}");
    assert!(stdout.contains("it hears our beacons"), "{stdout}");
    assert!(stdout.contains("No problems found."), "{stdout}");

    // A device that is not running: the doctor names it and hints.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_addr = closed.local_addr().expect("addr");
    drop(closed);
    let out = ferry(home.path(), port.port)
        .args([
            "doctor",
            "--wait",
            "0.5",
            "--peer",
            &closed_addr.to_string(),
        ])
        .output()
        .expect("run ferry doctor");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("cannot reach its TCP port"), "{stdout}");
    assert!(stdout.contains("is `ferry receive`"), "{stdout}");
}

/// Issue 16, item 8: `ferry receive` still called by its host name, seeing
/// another device of that name, announces itself with a suffix of its id;
/// the other device (whose name was chosen) keeps its name.
#[test]
fn ferry_receive_with_a_clashing_host_name_takes_a_suffix() {
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let a = engine("twinhost", port.port, dir.path(), true);
    let home = tempfile::tempdir().expect("tmp");
    let mut w = Watch::new(&a);
    let mut child = ferry(home.path(), port.port)
        .env("HOSTNAME", "twinhost")
        .args(["receive", "--port", "0", "--yes", "--dir"])
        .arg(home.path().join("in"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ferry receive");
    let renamed = |live: &std::collections::HashMap<String, ferry::api::Peer>| {
        live.values().any(|p| {
            let alias = &p.device.alias;
            alias.len() == "twinhost-".len() + 4 && alias.starts_with("twinhost-")
        })
    };
    let seen = w.until(SOON * 2, renamed);
    let _ = child.kill();
    let _ = child.wait();
    seen.expect("the receiver renamed itself to twinhost-XXXX");
    let peer = w
        .live
        .values()
        .find(|p| p.device.alias.starts_with("twinhost-"))
        .expect("listed");
    let suffix = &peer.device.alias["twinhost-".len()..];
    assert_eq!(
        suffix,
        peer.device.device_id[..4].to_lowercase(),
        "the suffix comes from its own id"
    );
    assert_eq!(a.device().alias, "twinhost", "a chosen name never changes");
}
