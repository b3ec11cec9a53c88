//! Issue 14, findings 3 and 7: one host must not be able to lock every
//! sender out of the transfer listener without authenticating (slots per
//! address, slots kept for trusted devices, prompts capped and timed out),
//! and a hello must not tell strangers which devices this one heard.
//!
//! Everything runs on loopback: the "other hosts" are other 127.0.0.0/8
//! addresses, reached through a relay whose outgoing socket is bound to
//! that address before it connects.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod common;
mod discovery_support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::Node;
use ferry::api::{AcceptPolicy, Event, Outcome, TrustedDevice};
use ferry::protocol::Timeouts;
use ferry::secure::identity::Identity;
use socket2::{Domain, Socket, Type};

/// A TCP connection to `to` whose source address is `from` (any 127.0.0.0/8
/// address is ours on Linux).
fn connect_from(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::V4(SocketAddrV4::new(from, 0)).into())?;
    socket.connect(&to.into())?;
    Ok(socket.into())
}

/// A relay on 127.0.0.1 that forwards each connection to `target` from
/// the source address `from`, so the target sees that address.
fn relay_from(from: Ipv4Addr, target: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind relay");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = connect_from(from, target) else {
                continue;
            };
            let (c2, s2) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            thread::spawn(move || pipe(client, server));
            thread::spawn(move || pipe(s2, c2));
        }
    });
    addr
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// Opens `count` silent connections from `from`; they stay open while the
/// returned streams live.
fn hold(from: Ipv4Addr, to: SocketAddr, count: usize) -> Vec<TcpStream> {
    (0..count)
        .filter_map(|_| connect_from(from, to).ok())
        .collect()
}

/// The first event `pick` accepts within `within`, or `None`.
fn wait_within<T>(
    node: &mut Node,
    within: Duration,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = node.engine.events().recv_timeout(left).ok()?;
        let found = pick(&event);
        node.seen.push(event);
        if found.is_some() {
            return found;
        }
    }
}

fn finished_within(node: &mut Node, within: Duration) -> Option<Outcome> {
    wait_within(node, within, |e| match e {
        Event::Finished { outcome, .. } => Some(outcome.clone()),
        _ => None,
    })
}

fn small_file(dir: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("hello from {name}")).expect("write");
    path
}

/// Silent connections live this long on the receivers below, so the
/// attacker's connections outlast each test.
fn patient() -> Timeouts {
    Timeouts {
        handshake: Duration::from_secs(30),
        ..Timeouts::default()
    }
}

/// Attack: one address opens more connections than the listener has slots
/// and keeps them open; before the fix every other sender was closed on
/// arrival until the attacker let go.
#[test]
fn one_address_holding_every_slot_locks_out_no_other_sender() {
    let mut receiver = Node::receiver_with_timeouts("rx", AcceptPolicy::Everyone, patient());
    let _held = hold(
        Ipv4Addr::LOCALHOST,
        receiver.addr(),
        ferry::engine::MAX_TRANSFER_CONNECTIONS + 20,
    );
    thread::sleep(Duration::from_millis(300));
    let src = tempfile::tempdir().expect("tmp");
    let mut sender = Node::sender("neighbour");
    let via = relay_from(Ipv4Addr::new(127, 0, 0, 2), receiver.addr());
    sender.send_file(via, &small_file(&src, "note.txt"));
    let outcome = finished_within(&mut sender, Duration::from_secs(20));
    assert!(
        matches!(&outcome, Some(o) if o.is_success()),
        "a sender from another address was locked out: {outcome:?}"
    );
    assert!(receiver.finished().is_success());
}

/// Attack: strangers on many addresses fill every general slot; the slots
/// kept for trusted devices must not go to one more stranger, and a trusted
/// device still gets in.
#[test]
fn strangers_cannot_take_the_slots_kept_for_trusted_devices() {
    let trusted = Arc::new(Identity::ephemeral().expect("id"));
    let policy = AcceptPolicy::Trusted(vec![TrustedDevice {
        device_id: trusted.device_id().to_string(),
        alias: "friend".into(),
    }]);
    let mut receiver = Node::receiver_with_timeouts("rx", policy, patient());
    let general = ferry::engine::MAX_TRANSFER_CONNECTIONS - ferry::engine::RESERVED_FOR_TRUSTED;
    let per = ferry::engine::MAX_CONNECTIONS_PER_ADDRESS;
    let mut held = Vec::new();
    for i in 0..general.div_ceil(per) {
        let from = Ipv4Addr::new(127, 0, 1, 10 + i as u8);
        held.extend(hold(from, receiver.addr(), per.min(general - held.len())));
    }
    assert_eq!(held.len(), general);
    thread::sleep(Duration::from_millis(300));
    let src = tempfile::tempdir().expect("tmp");
    // A stranger with a real offer: refused, not prompted.
    let mut stranger = Node::sender("stranger");
    let via = relay_from(Ipv4Addr::new(127, 0, 0, 3), receiver.addr());
    stranger.send_file(via, &small_file(&src, "spam.txt"));
    let outcome = finished_within(&mut stranger, Duration::from_secs(10));
    assert!(
        matches!(&outcome, Some(o) if !o.is_success()),
        "a stranger got a slot kept for trusted devices: {outcome:?}"
    );
    // The trusted device gets in and its file is accepted without asking.
    let mut friend = Node::sender_as("friend", trusted);
    let via = relay_from(Ipv4Addr::new(127, 0, 0, 4), receiver.addr());
    friend.send_file(via, &small_file(&src, "report.txt"));
    let outcome = finished_within(&mut friend, Duration::from_secs(20));
    assert!(
        matches!(&outcome, Some(o) if o.is_success()),
        "the trusted device was locked out: {outcome:?}"
    );
    assert!(receiver.finished().is_success());
    drop(held);
}

/// Attack: an offer nobody answers, kept alive by pings, held its
/// connection and its prompt forever. Now it expires: the sender is told
/// "no answer" and the receiver reports the same Finished event a decline gives.
#[test]
fn an_offer_nobody_answers_expires() {
    let timeouts = Timeouts {
        prompt: Duration::from_millis(1500),
        ..common::quick_timeouts()
    };
    let mut receiver = Node::receiver_with_timeouts("rx", AcceptPolicy::Ask, timeouts);
    let src = tempfile::tempdir().expect("tmp");
    let mut sender = Node::sender_with_timeouts("tx", common::quick_timeouts());
    let started = Instant::now();
    sender.send_file(receiver.addr(), &small_file(&src, "waiting.txt"));
    wait_within(&mut receiver, Duration::from_secs(10), |e| {
        matches!(e, Event::Incoming { .. }).then_some(())
    })
    .expect("the offer is shown");
    let outcome = finished_within(&mut receiver, Duration::from_secs(10));
    assert!(
        matches!(&outcome, Some(Outcome::Declined(reason)) if reason.contains("no answer")),
        "the prompt did not expire: {outcome:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let told = finished_within(&mut sender, Duration::from_secs(10));
    assert!(
        matches!(&told, Some(Outcome::Declined(reason)) if reason.contains("no answer")),
        "{told:?}"
    );
    assert!(
        std::fs::read_dir(receiver.root())
            .expect("read")
            .next()
            .is_none()
    );
}

/// Attack: one address queues offers nobody has answered yet; past
/// MAX_PROMPTS_PER_ADDRESS they are refused at once instead of shown.
#[test]
fn one_address_cannot_queue_more_prompts_than_its_share() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Ask);
    let src = tempfile::tempdir().expect("tmp");
    let file = small_file(&src, "again.txt");
    let allowed = ferry::engine::MAX_PROMPTS_PER_ADDRESS;
    let mut senders: Vec<Node> = (0..=allowed)
        .map(|i| Node::sender(&format!("tx{i}")))
        .collect();
    for sender in &senders[..allowed] {
        sender.send_file(receiver.addr(), &file);
    }
    for _ in 0..allowed {
        wait_within(&mut receiver, Duration::from_secs(10), |e| {
            matches!(e, Event::Incoming { .. }).then_some(())
        })
        .expect("the first offers are shown");
    }
    let last = &mut senders[allowed];
    last.send_file(receiver.addr(), &file);
    let outcome = finished_within(last, Duration::from_secs(10));
    assert!(
        matches!(&outcome, Some(o) if !o.is_success()),
        "one more prompt from the same address: {outcome:?}"
    );
    let shown = wait_within(&mut receiver, Duration::from_millis(500), |e| {
        matches!(e, Event::Incoming { .. }).then_some(())
    });
    assert!(shown.is_none(), "the extra offer was shown");
}

/// Attack: anyone who connects sends a hello and learns which devices this
/// one heard (a map of the network). A stranger now hears about itself only.
#[test]
fn a_stranger_is_not_told_which_devices_were_heard() {
    let port = discovery_support::udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let receiver = discovery_support::engine("host", port.port, dir.path(), true);
    let looker = discovery_support::engine("looker", port.port, dir.path(), false);
    let looker_id = looker.device().device_id;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !receiver.heard_devices().contains(&looker_id) {
        assert!(Instant::now() < deadline, "the receiver never heard it");
        thread::sleep(Duration::from_millis(50));
    }
    let (_, answer) = discovery_support::hello_as_stranger(&receiver, "stranger");
    assert_eq!(answer.device.alias, "host");
    assert!(
        answer.heard.is_empty(),
        "a stranger was told what this device heard: {:?}",
        answer.heard
    );
}
