//! Ferry sends to a LocalSend device only when its certificate is the one
//! the device announced, over LocalSend's prepare-upload / upload, with
//! the receiver's answers mapped to Ferry's outcomes: here the receiver is a
//! second Ferry speaking LocalSend (its server is checked against a
//! spec-written client in localsend_receive.rs), all on 127.0.0.1.
#![allow(clippy::disallowed_methods)]

mod localsend_support;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ferry::api::{
    AcceptPolicy, Command, Decision, Event, Outcome, Party, TransferId, TrustedDevice,
};
use ferry::secure::identity::Identity;
use ferry::secure::identity::short_code;
use localsend_support::{Ferry, Spec, files};

/// A sender and a receiver; the receiver made itself known to the sender
/// with `register` (as multicast discovery would), presenting its own
/// certificate. Returns the receiver's LocalSend address as the sender lists it.
fn pair(accept: AcceptPolicy, pin: Option<&str>) -> (Ferry, Ferry, SocketAddr) {
    pair_with(Ferry::start(AcceptPolicy::Ask, None), accept, pin)
}

/// Like [`pair`] with a given sender.
fn pair_with(
    mut sender: Ferry,
    accept: AcceptPolicy,
    pin: Option<&str>,
) -> (Ferry, Ferry, SocketAddr) {
    let identity = Arc::new(Identity::ephemeral().expect("identity"));
    let receiver = Ferry::start_as(accept, pin, identity.clone());
    let port = receiver.addr().port();
    Spec::with_identity("receiver", identity, port).register(sender.addr());
    let to = sender.wait("the receiver listed", |e| match e {
        Event::PeerSeen(p) if p.device.alias == "receiver" => Some(p.addrs[0]),
        _ => None,
    });
    assert_eq!(to, SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    (sender, receiver, to)
}

/// The sender never made an offer and the receiver never saw one.
fn nothing_was_offered(sender: &Ferry, receiver: &Ferry) {
    assert!(
        !sender
            .seen
            .iter()
            .any(|e| matches!(e, Event::Offered { .. }))
    );
    saw_no_offer(receiver);
}

/// The receiver saw no offer (among the events it has not read yet).
fn saw_no_offer(receiver: &Ferry) {
    assert!(
        receiver
            .engine
            .events()
            .try_iter()
            .all(|e| !matches!(e, Event::Incoming { .. })),
        "the receiver saw an offer"
    );
}

fn outcome_of(node: &mut Ferry, id: TransferId) -> Outcome {
    node.wait("the transfer's end", |e| match e {
        Event::Finished {
            id: done, outcome, ..
        } if *done == id => Some(outcome.clone()),
        _ => None,
    })
}

#[test]
fn files_and_a_folder_arrive_byte_exact_after_consent() {
    let (mut sender, mut receiver, to) = pair(AcceptPolicy::Ask, None);
    let src = tempfile::tempdir().expect("tmp");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(src.path().join("big.bin"), &big).expect("write");
    std::fs::create_dir_all(src.path().join("album/inner")).expect("mkdir");
    for i in 0..40 {
        std::fs::write(
            src.path().join(format!("album/inner/{i}.txt")),
            format!("file {i}"),
        )
        .expect("write");
    }
    let id = TransferId::fresh();
    assert!(sender.engine.send(Command::Send {
        id,
        to,
        paths: vec![src.path().join("big.bin"), src.path().join("album")],
    }));
    let peer_id = sender.wait("Offered", |e| match e {
        Event::Offered { peer_id, .. } => Some(peer_id.clone()),
        _ => None,
    });
    assert_eq!(
        peer_id,
        receiver.engine.device().device_id,
        "the fingerprint shown is the receiver's"
    );
    let offer = receiver.decide(Decision::AcceptAll);
    assert_eq!(offer.files, 41);
    assert_eq!(
        outcome_of(&mut sender, id),
        Outcome::Completed {
            files: 41,
            bytes: big.len() as u64
                + (0..40)
                    .map(|i| format!("file {i}").len() as u64)
                    .sum::<u64>()
        }
    );
    assert!(matches!(
        receiver.finished(),
        Outcome::Completed { files: 41, .. }
    ));
    assert_eq!(files(&receiver.downloads()), files(src.path()));
}

#[test]
fn decline_pin_and_text_map_to_ferrys_outcomes() {
    let (mut sender, mut receiver, to) = pair(AcceptPolicy::Ask, Some("2468"));
    let src = tempfile::tempdir().expect("tmp");
    std::fs::write(src.path().join("a.txt"), b"abc").expect("write");
    let send = |sender: &Ferry| {
        let id = TransferId::fresh();
        assert!(sender.engine.send(Command::Send {
            id,
            to,
            paths: vec![src.path().join("a.txt")]
        }));
        id
    };
    // No PIN: asked for one.
    let id = send(&sender);
    let wrong = sender.wait("PinRequired", |e| match e {
        Event::PinRequired { wrong, .. } => Some(*wrong),
        _ => None,
    });
    assert!(!wrong);
    assert!(matches!(outcome_of(&mut sender, id), Outcome::Failed(_)));
    // With the PIN, declined.
    assert!(sender.engine.send(Command::ProvidePin {
        to,
        pin: "2468".into()
    }));
    let id = send(&sender);
    receiver.decide(Decision::Decline);
    assert!(matches!(outcome_of(&mut sender, id), Outcome::Declined(_)));
    // A text is shown on the receiver and needs no upload.
    let id = TransferId::fresh();
    assert!(sender.engine.send(Command::SendText {
        id,
        to,
        text: "hi there".into()
    }));
    receiver.decide(Decision::AcceptAll);
    let text = receiver.wait("the text", |e| match e {
        Event::TextReceived { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(text, "hi there");
    assert_eq!(
        outcome_of(&mut sender, id),
        Outcome::Completed { files: 0, bytes: 0 }
    );
    assert!(files(&receiver.downloads()).is_empty());
}

#[test]
fn a_device_whose_certificate_differs_from_its_announcement_gets_nothing() {
    let mut sender = Ferry::start(AcceptPolicy::Ask, None);
    let receiver = Ferry::start(AcceptPolicy::Everyone, None);
    // Someone else registers claiming the receiver's port: the sender
    // lists that someone's fingerprint at the receiver's address.
    Spec::with_identity(
        "impostor",
        Arc::new(Identity::ephemeral().expect("id")),
        receiver.addr().port(),
    )
    .register(sender.addr());
    let to = sender.wait("listed", |e| match e {
        Event::PeerSeen(p) if p.device.alias == "impostor" => Some(p.addrs[0]),
        _ => None,
    });
    let src = tempfile::tempdir().expect("tmp");
    std::fs::write(src.path().join("secret.txt"), b"secret").expect("write");
    let id = TransferId::fresh();
    assert!(sender.engine.send(Command::Send {
        id,
        to,
        paths: vec![src.path().join("secret.txt")]
    }));
    let Outcome::Failed(why) = outcome_of(&mut sender, id) else {
        panic!("must fail")
    };
    assert!(why.contains("certificate differs"), "{why}");
    nothing_was_offered(&sender, &receiver);
    assert!(files(&receiver.downloads()).is_empty());
}

#[test]
fn cancel_mid_transfer_ends_both_sides_and_leaves_no_partial() {
    let (mut sender, mut receiver, to) = pair(AcceptPolicy::Everyone, None);
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join("huge.bin");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(2 * 1024 * 1024 * 1024).expect("sparse 2 GiB");
    let id = TransferId::fresh();
    assert!(sender.engine.send(Command::Send {
        id,
        to,
        paths: vec![path]
    }));
    sender.wait("bytes flowing", |e| match e {
        Event::Progress(p) if p.id == id && p.bytes_done > 0 => Some(()),
        _ => None,
    });
    assert!(sender.engine.send(Command::Cancel { id }));
    assert_eq!(
        outcome_of(&mut sender, id),
        Outcome::Cancelled { by: Party::Local }
    );
    let ended = receiver.finished();
    assert!(
        matches!(ended, Outcome::Cancelled { .. } | Outcome::Failed(_)),
        "{ended:?}"
    );
    let deadline = std::time::Instant::now() + localsend_support::WAIT;
    while !files(&receiver.downloads()).is_empty() {
        assert!(std::time::Instant::now() < deadline, "partial left behind");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `ferry` on the command line with its own folders under `home`, on
/// loopback only.
fn ferry_cli(home: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"));
    command
        .env("FERRY_CONFIG_DIR", home.join("cfg"))
        .env("FERRY_DATA_DIR", home.join("data"))
        .env("FERRY_INTERFACES", "lo")
        .env("FERRY_UDP_PORT", "0")
        .env("FERRY_LOCALSEND_PORT", "0")
        .env_remove("RUST_LOG");
    command
}

#[test]
fn ferry_send_localsend_asks_by_address_sends_and_is_not_listed_by_the_receiver() {
    let mut receiver = Ferry::start(AcceptPolicy::Everyone, None);
    let home = tempfile::tempdir().expect("tmp");
    let file = home.path().join("note.txt");
    std::fs::write(&file, b"over LocalSend from the command line").expect("write");
    let out = ferry_cli(home.path())
        .args(["send", "--localsend", "--to"])
        .arg(receiver.addr().to_string())
        .arg(&file)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ferry send");
    // Never confirmed and no terminal to ask on: nothing is sent.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("no terminal to confirm on"), "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
    saw_no_offer(&receiver);
    assert!(files(&receiver.downloads()).is_empty());
    // With trust on first use it goes, and the device is remembered.
    let out = ferry_cli(home.path())
        .args(["send", "--localsend", "--trust-new", "--to"])
        .arg(receiver.addr().to_string())
        .arg(&file)
        .output()
        .expect("ferry send");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let settings =
        std::fs::read_to_string(home.path().join("cfg/settings.json")).expect("settings saved");
    assert!(
        settings.contains(&receiver.engine.device().device_id),
        "{settings}"
    );
    assert!(stderr.contains("Found a LocalSend device at"), "{stderr}");
    assert!(matches!(
        receiver.finished(),
        Outcome::Completed { files: 1, .. }
    ));
    assert_eq!(
        files(&receiver.downloads()),
        vec![(
            "note.txt".to_string(),
            b"over LocalSend from the command line".to_vec()
        )]
    );
    // The sender only asked (/info): it is not listed as a device.
    assert!(
        !receiver
            .seen
            .iter()
            .any(|e| matches!(e, Event::PeerSeen(_)))
    );
    // Nobody at an address: a clear error, exit code not 0.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let nobody = closed.local_addr().expect("addr");
    drop(closed);
    let out = ferry_cli(home.path())
        .args(["send", "--localsend", "--to"])
        .arg(nobody.to_string())
        .arg(&file)
        .output()
        .expect("ferry send");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No LocalSend device answers"));
}

#[test]
fn cancel_while_hashing_ends_at_once_and_offers_nothing() {
    let (mut sender, receiver, to) = pair(AcceptPolicy::Everyone, None);
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join("huge.bin");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(16 * 1024 * 1024 * 1024)
        .expect("sparse 16 GiB");
    let id = TransferId::fresh();
    assert!(sender.engine.send(Command::Send {
        id,
        to,
        paths: vec![path]
    }));
    // Commands are handled in order: the send is registered before this.
    let asked = std::time::Instant::now();
    assert!(sender.engine.send(Command::Cancel { id }));
    assert_eq!(
        outcome_of(&mut sender, id),
        Outcome::Cancelled { by: Party::Local }
    );
    // Hashing 16 GiB takes many seconds; the cancel does not wait for it.
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    nothing_was_offered(&sender, &receiver);
}

/// Before a LocalSend offer every file is read for its SHA-256; for a big
/// file that takes seconds, and the sender reports how far it got (growing,
/// against the right totals) until it is cancelled.
#[test]
fn hashing_a_big_file_is_reported_as_it_goes() {
    let (mut sender, receiver, to) = pair(AcceptPolicy::Everyone, None);
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join("big.bin");
    let file = std::fs::File::create(&path).expect("create");
    // Sparse: no disk, but every byte is read and hashed (a few seconds).
    const SIZE: u64 = 8 * 1024 * 1024 * 1024;
    file.set_len(SIZE).expect("sparse 8 GiB");
    let id = send_file(&sender, to, &path);
    let mut reports = Vec::new();
    while reports.len() < 3 {
        let report = sender.wait("a report of the hashing", |e| match e {
            Event::Checksumming {
                id: hashing,
                files,
                bytes,
                total_files,
                total_bytes,
            } if *hashing == id => Some((*files, *bytes, *total_files, *total_bytes)),
            Event::Finished { .. } | Event::Offered { .. } => panic!("ended early: {e:?}"),
            _ => None,
        });
        reports.push(report);
    }
    assert!(
        reports
            .iter()
            .all(|&(files, bytes, total_files, total_bytes)| files == 0
                && bytes < SIZE
                && total_files == 1
                && total_bytes == SIZE),
        "{reports:?}"
    );
    assert!(reports.windows(2).all(|w| w[0].1 <= w[1].1), "{reports:?}");
    assert!(reports[2].1 > reports[0].1, "{reports:?}");
    assert!(sender.engine.send(Command::Cancel { id }));
    assert_eq!(
        outcome_of(&mut sender, id),
        Outcome::Cancelled { by: Party::Local }
    );
    nothing_was_offered(&sender, &receiver);
}

/// What the sender asked the person: (transfer, device, code, key changed).
fn confirmation(sender: &mut Ferry) -> (TransferId, String, String, bool) {
    sender.wait("ConfirmPeer", |e| match e {
        Event::ConfirmPeer {
            id,
            device,
            code,
            key_changed,
            localsend: true,
            ..
        } => Some((*id, device.device_id.clone(), code.clone(), *key_changed)),
        _ => None,
    })
}

fn one_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join("hello.txt");
    std::fs::write(&path, b"hello over LocalSend").expect("write");
    (src, path)
}

fn send_file(sender: &Ferry, to: SocketAddr, path: &std::path::Path) -> TransferId {
    let id = TransferId::fresh();
    assert!(sender.engine.send(Command::Send {
        id,
        to,
        paths: vec![path.to_path_buf()]
    }));
    id
}

fn confirming_sender(remembered: Vec<TrustedDevice>) -> Ferry {
    let identity = Arc::new(Identity::ephemeral().expect("identity"));
    Ferry::start_trusting(AcceptPolicy::Ask, None, identity, remembered, false)
}

#[test]
fn a_known_alias_with_a_new_certificate_is_flagged_and_gets_nothing_unless_chosen() {
    // "receiver" was remembered with another certificate: this one is an
    // impostor (or LocalSend was reinstalled there).
    let old = TrustedDevice {
        device_id: "ab".repeat(32),
        alias: "receiver".into(),
    };
    let sender = confirming_sender(vec![old]);
    let (mut sender, receiver, to) = pair_with(sender, AcceptPolicy::Everyone, None);
    let (_src, path) = one_file();
    let id = send_file(&sender, to, &path);
    let (asked, fingerprint, code, key_changed) = confirmation(&mut sender);
    assert_eq!(asked, id);
    assert!(key_changed, "a changed certificate is flagged");
    assert_eq!(fingerprint, receiver.engine.device().device_id);
    assert_eq!(
        code,
        short_code(&fingerprint),
        "the code is its fingerprint"
    );
    // Nothing left while the question is open.
    assert!(files(&receiver.downloads()).is_empty());
    assert!(sender.engine.send(Command::ConfirmPeer {
        id,
        confirmed: false
    }));
    let Outcome::Failed(why) = outcome_of(&mut sender, id) else {
        panic!("a refused device must fail the send")
    };
    assert!(why.contains("not confirmed"), "{why}");
    nothing_was_offered(&sender, &receiver);
    assert!(files(&receiver.downloads()).is_empty());
    assert!(
        !sender
            .seen
            .iter()
            .any(|e| matches!(e, Event::Remembered(_))),
        "a refused device is not remembered"
    );
}

#[test]
fn a_new_device_is_sent_to_after_confirmation_and_remembered() {
    let sender = confirming_sender(Vec::new());
    let (mut sender, mut receiver, to) = pair_with(sender, AcceptPolicy::Ask, None);
    let (_src, path) = one_file();
    let id = send_file(&sender, to, &path);
    let (asked, fingerprint, _, key_changed) = confirmation(&mut sender);
    assert_eq!(asked, id);
    assert!(!key_changed);
    assert!(sender.engine.send(Command::ConfirmPeer {
        id,
        confirmed: true
    }));
    let remembered = sender.wait("Remembered", |e| match e {
        Event::Remembered(device) => Some(device.clone()),
        _ => None,
    });
    assert_eq!(
        remembered,
        TrustedDevice {
            device_id: fingerprint,
            alias: "receiver".into()
        }
    );
    receiver.decide(Decision::AcceptAll);
    assert!(matches!(
        outcome_of(&mut sender, id),
        Outcome::Completed { files: 1, .. }
    ));
    assert_eq!(
        files(&receiver.downloads()),
        vec![("hello.txt".to_string(), b"hello over LocalSend".to_vec())]
    );
    // The second send to it asks nothing.
    let again = send_file(&sender, to, &path);
    receiver.decide(Decision::AcceptAll);
    assert!(matches!(
        outcome_of(&mut sender, again),
        Outcome::Completed { files: 1, .. }
    ));
    assert!(
        sender
            .seen
            .iter()
            .filter(|e| matches!(e, Event::ConfirmPeer { .. }))
            .count()
            == 1
    );
}

#[test]
fn a_remembered_device_needs_no_confirmation() {
    let identity = Arc::new(Identity::ephemeral().expect("identity"));
    let known = TrustedDevice {
        device_id: identity.device_id().to_string(),
        // Renamed since: the certificate is what counts.
        alias: "old name".into(),
    };
    let mut sender = confirming_sender(vec![known]);
    let receiver = Ferry::start_as(AcceptPolicy::Everyone, None, identity.clone());
    Spec::with_identity("receiver", identity, receiver.addr().port()).register(sender.addr());
    let to = sender.wait("the receiver listed", |e| match e {
        Event::PeerSeen(p) if p.device.alias == "receiver" => Some(p.addrs[0]),
        _ => None,
    });
    let (_src, path) = one_file();
    let id = send_file(&sender, to, &path);
    assert!(matches!(
        outcome_of(&mut sender, id),
        Outcome::Completed { files: 1, .. }
    ));
    assert!(
        !sender
            .seen
            .iter()
            .any(|e| matches!(e, Event::ConfirmPeer { .. } | Event::Remembered(_)))
    );
    assert_eq!(files(&receiver.downloads()).len(), 1);
}
