//! Guards Ferry's security promises on a LAN: file bytes never cross the
//! network in clear text, a device must prove the identity it announces, a
//! trusted device's name cannot be borrowed by another key, and a receiver's
//! PIN is required, checked and rate-limited.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::{Node, Relay, RelayOptions, random_file, sha256_file};
use ferry::api::Outcome;
use ferry::api::{AcceptPolicy, Command, Event, TrustedDevice};
use ferry::protocol::{Beacon, BeaconKind, DeviceInfo, PROTOCOL_VERSION};
use ferry::secure::identity::Identity;

#[test]
fn a_passive_observer_sees_no_plaintext_of_the_file() {
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join("diary.txt");
    let secret = "MY-VERY-SECRET-DIARY-ENTRY ".repeat(40_000);
    std::fs::write(&path, &secret).expect("write");
    let receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let relay = Relay::start(
        receiver.addr(),
        RelayOptions {
            capture: true,
            ..Default::default()
        },
    );
    let mut sender = Node::sender("tx");
    sender.send_file(relay.addr, &path);
    assert!(sender.finished().is_success());
    assert_eq!(
        std::fs::read_to_string(receiver.root().join("diary.txt")).expect("read"),
        secret
    );
    let captured = relay.captured.lock().expect("lock").clone();
    assert!(
        captured.len() as u64 >= secret.len() as u64,
        "the relay saw the whole stream"
    );
    assert_eq!(
        relay.forwarded.load(Ordering::SeqCst),
        captured.len() as u64
    );
    let needle = b"SECRET-DIARY";
    assert!(
        !captured.windows(needle.len()).any(|w| w == needle),
        "plaintext on the wire"
    );
    let name = b"diary.txt";
    assert!(
        !captured.windows(name.len()).any(|w| w == name),
        "file names are encrypted too"
    );
    // Only the greeting is readable.
    assert_eq!(&captured[..6], b"FERRY\0");
}

#[test]
fn a_device_that_is_not_the_one_announced_at_an_address_gets_nothing() {
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join("a.txt");
    std::fs::write(&path, "for the real device only").expect("write");
    let receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    // Discovery tells the sender a different device lives at that address:
    // an unsigned beacon, sent to the sender's discovery port on loopback.
    let udp_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free UDP port")
        .port();
    let mut sender = Node::sender_discovering(
        "tx",
        ferry::engine::DiscoveryConfig {
            interfaces: vec!["lo".into()],
            udp_port,
            manual_peers: Vec::new(),
            localsend: None,
        },
    );
    let announced = Identity::ephemeral().expect("identity");
    let beacon = Beacon {
        kind: BeaconKind::Announce,
        instance: 7,
        protocol: PROTOCOL_VERSION,
        device: DeviceInfo {
            device_id: announced.device_id().to_string(),
            alias: "rx".into(),
            os: "linux".into(),
            port: receiver.addr().port(),
        },
        flags: 1,
    }
    .encode()
    .expect("encode");
    // Loopback discovery listens on the loopback broadcast address.
    let forger = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    forger.set_broadcast(true).expect("broadcast");
    let announced_id = announced.device_id().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        forger
            .send_to(&beacon, ("127.255.255.255", udp_port))
            .expect("send beacon");
        let seen = sender
            .engine
            .events()
            .recv_timeout(std::time::Duration::from_millis(200))
            .ok();
        if let Some(Event::PeerSeen(peer)) = seen
            && peer.device.device_id == announced_id
            && peer.addrs.contains(&receiver.addr())
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the beacon was never heard"
        );
    }
    sender.send_file(receiver.addr(), &path);
    let Outcome::Failed(reason) = sender.finished() else {
        panic!("must refuse")
    };
    assert!(reason.starts_with("Identity mismatch"), "{reason}");
    assert!(!receiver.root().join("a.txt").exists());
}

#[test]
fn a_trusted_name_with_a_new_key_is_refused_loudly_and_the_real_one_accepted() {
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join("a.txt");
    std::fs::write(&path, "hello").expect("write");
    let laptop = Arc::new(Identity::ephemeral().expect("identity"));
    let trusted = vec![TrustedDevice {
        device_id: laptop.device_id().to_string(),
        alias: "laptop".into(),
    }];
    let mut receiver = Node::receiver("rx", AcceptPolicy::Trusted(trusted));

    // Someone else calling itself "laptop".
    let mut impostor = Node::sender("laptop");
    impostor.send_file(receiver.addr(), &path);
    let Outcome::Failed(reason) = receiver.finished() else {
        panic!("must refuse")
    };
    assert!(
        reason.contains("uses the name of a trusted device"),
        "{reason}"
    );
    assert!(matches!(impostor.finished(), Outcome::Declined(r) if r == "identity changed"));
    assert!(
        !receiver
            .seen
            .iter()
            .any(|e| matches!(e, Event::Incoming { .. })),
        "no prompt either"
    );
    assert!(!receiver.root().join("a.txt").exists());

    // The pinned key is accepted without a question.
    let mut real = Node::sender_as("laptop", laptop);
    real.send_file(receiver.addr(), &path);
    assert!(real.finished().is_success());
    assert_eq!(
        sha256_file(&receiver.root().join("a.txt")),
        sha256_file(&path)
    );
}

#[test]
fn a_pin_is_required_checked_and_rate_limited() {
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join("a.bin");
    random_file(&path, 10_000, 5);
    let mut receiver = Node::with_pin("rx", "4711");
    let to = receiver.addr();
    let mut sender = Node::sender("tx");

    let id = sender.send_file(to, &path);
    let asked = sender.wait("pin request", |e| match e {
        Event::PinRequired { id: got, wrong, .. } if *got == id => Some(*wrong),
        _ => None,
    });
    assert!(!asked, "no PIN given is not a wrong PIN");
    assert!(matches!(sender.finished(), Outcome::Failed(r) if r.contains("requires a PIN")));

    sender.engine.send(Command::ProvidePin {
        to,
        pin: "0000".into(),
    });
    for _ in 0..5 {
        sender.send_file(to, &path);
        assert!(matches!(sender.finished(), Outcome::Failed(r) if r == "The PIN was wrong."));
    }
    // The sixth attempt is refused even with the right PIN: too many wrong ones.
    sender.engine.send(Command::ProvidePin {
        to,
        pin: "4711".into(),
    });
    sender.send_file(to, &path);
    assert!(
        matches!(sender.finished(), Outcome::Failed(r) if r.starts_with("Too many wrong PINs"))
    );
    assert!(!receiver.root().join("a.bin").exists());
    receiver.wait("wrong PIN problem", |e| match e {
        Event::Problem(p) if p.contains("wrong PIN") => Some(()),
        _ => None,
    });

    // The right PIN works (on a receiver that has not locked this address out).
    let mut fresh = Node::with_pin("rx2", "4711");
    let fresh_to = fresh.addr();
    sender.engine.send(Command::ProvidePin {
        to: fresh_to,
        pin: "4711".into(),
    });
    sender.send_file(fresh_to, &path);
    assert!(sender.finished().is_success());
    assert!(fresh.finished().is_success());
    assert_eq!(sha256_file(&fresh.root().join("a.bin")), sha256_file(&path));
}
