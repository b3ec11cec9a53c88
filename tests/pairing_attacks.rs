//! Attacks on first contact (issue 14, findings 1 and 2), each against real
//! engines on loopback with real keys: a machine in the middle that
//! terminates TLS on both sides, an impostor answering for a remembered
//! device's name with another key, a sender trying to steer the pairing
//! code, and a sender that would leak names before its person confirmed.
//! Every test here fails on a Ferry whose code is derived from the public
//! device ids alone, or that sends its offer right after the handshake.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{Node, pair_as_receiver, raw_device};
use ferry::api::{AcceptPolicy, Command, Decision, Event, Outcome, TransferId, TrustedDevice};
use ferry::protocol::{DeviceInfo, Frame, FrameReader, FrameWriter, Message, Timeouts};
use ferry::secure::identity::Identity;
use ferry::secure::link::Link;
use ferry::secure::pairing;
use ferry::transfer::pair::BAD_REVEAL;

const SECRET_NAME: &str = "secret-plans.txt";
const SECRET_TEXT: &[u8] = b"the launch code is 0000";

fn secret_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join(SECRET_NAME);
    std::fs::write(&path, SECRET_TEXT).expect("write");
    (src, path)
}

/// The sender's request to compare a code: (transfer, code, key changed).
fn confirm_request(sender: &mut Node) -> (TransferId, String, bool) {
    sender.wait("ConfirmPeer", |e| match e {
        Event::ConfirmPeer {
            id,
            code,
            key_changed,
            ..
        } => Some((*id, code.clone(), *key_changed)),
        _ => None,
    })
}

/// The code a receiver shows while the sender's person compares it.
fn shown_code(receiver: &mut Node) -> (TransferId, String) {
    receiver.wait("PairingCode", |e| match e {
        Event::PairingCode { id, code, .. } => Some((*id, code.clone())),
        _ => None,
    })
}

fn nothing_in(node: &Node) {
    let left: Vec<_> = std::fs::read_dir(node.root())
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "written: {left:?}");
}

type Seen = Arc<Mutex<Vec<Frame>>>;

type Half = (
    FrameReader<Box<dyn Read + Send>>,
    FrameWriter<Box<dyn Write + Send>>,
);

fn halves(link: Link) -> Half {
    (FrameReader::new(link.reader), FrameWriter::new(link.writer))
}

/// `device` with the relay's key in place of its own, so the other side's
/// identity check passes: all a machine in the middle can do.
fn as_relay(device: DeviceInfo, relay: &Identity) -> DeviceInfo {
    DeviceInfo {
        device_id: relay.device_id().to_string(),
        ..device
    }
}

/// A machine in the middle: accepts the sender's TLS with its own key,
/// opens its own TLS to the receiver, relays the pairing messages (with its
/// own id where a device describes itself) and then everything the sender
/// says, keeping a copy of every frame the sender sent it.
fn relay(receiver: SocketAddr) -> (SocketAddr, Seen, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: Seen = Arc::default();
    let copy = seen.clone();
    let handle = thread::spawn(move || {
        let mallory = Identity::ephemeral().expect("identity");
        let (stream, _) = listener.accept().expect("accept");
        let (mut from_sender, mut to_sender) =
            halves(Link::accept(stream, &mallory).expect("TLS with the sender"));
        let (mut from_receiver, mut to_receiver) =
            halves(Link::connect(receiver, &mallory).expect("TLS with the receiver"));
        let relay_one = |from: &mut FrameReader<_>, to: &mut FrameWriter<_>, log: bool| {
            let frame = from.read_frame(None)?;
            let forwarded = match &frame {
                Frame::Message(Message::PairCommit { device, commitment }) => Message::PairCommit {
                    device: as_relay(device.clone(), &mallory),
                    commitment: *commitment,
                },
                Frame::Message(Message::PairNonce { device, nonce }) => Message::PairNonce {
                    device: as_relay(device.clone(), &mallory),
                    nonce: *nonce,
                },
                Frame::Message(other) => other.clone(),
                Frame::Data(bytes) => {
                    to.send_data(bytes)?;
                    to.flush()?;
                    if log {
                        copy.lock().expect("lock").push(frame);
                    }
                    return Ok(());
                }
            };
            to.send_now(&forwarded)?;
            if log {
                copy.lock().expect("lock").push(frame);
            }
            Ok::<(), ferry::protocol::WireError>(())
        };
        // Commit, nonce, reveal: each relayed unchanged but for the ids.
        relay_one(&mut from_sender, &mut to_receiver, true).expect("commit");
        relay_one(&mut from_receiver, &mut to_sender, false).expect("nonce");
        relay_one(&mut from_sender, &mut to_receiver, true).expect("reveal");
        // Then whatever the sender says, until it hangs up.
        while relay_one(&mut from_sender, &mut to_receiver, true).is_ok() {}
    });
    (addr, seen, handle)
}

#[test]
fn a_machine_in_the_middle_gets_two_different_codes_and_not_one_name_or_byte() {
    let mut receiver = Node::receiver("desk", AcceptPolicy::Everyone);
    let mut sender =
        Node::confirming_sender("laptop", Arc::new(Identity::ephemeral().expect("identity")));
    let (relay_addr, seen, relay) = relay(receiver.addr());
    let (_src, path) = secret_file();
    sender.send_file(relay_addr, &path);

    let (id, sender_code) = {
        let (id, code, key_changed) = confirm_request(&mut sender);
        assert!(!key_changed, "nothing is remembered yet");
        (id, code)
    };
    let (_, receiver_code) = shown_code(&mut receiver);
    // Each side hashed the relay's id instead of the other's: two unrelated
    // codes (equal with probability 1e-6).
    assert_ne!(sender_code, receiver_code);

    // The person sees different codes and refuses.
    sender.engine.send(Command::ConfirmPeer {
        id,
        confirmed: false,
    });
    let Outcome::Failed(reason) = sender.finished() else {
        panic!("a refused code must fail the send")
    };
    assert!(reason.contains("not confirmed"), "{reason}");
    assert!(reason.contains("Nothing was sent"), "{reason}");
    relay.join().expect("relay");

    // What the machine in the middle got from the sender: the pairing
    // messages and a cancel. No offer, no name, no byte.
    let seen = seen.lock().expect("lock");
    for frame in seen.iter() {
        match frame {
            Frame::Message(
                Message::PairCommit { .. } | Message::PairReveal { .. } | Message::Ping,
            )
            | Frame::Message(Message::Cancel(_)) => {}
            other => panic!("the relay got {other:?} from the sender"),
        }
        let text = format!("{frame:?}");
        assert!(!text.contains(SECRET_NAME), "{text}");
    }
    assert!(
        seen.iter()
            .any(|f| matches!(f, Frame::Message(Message::PairReveal { .. })))
    );
    // And the receiver wrote nothing, showed no offer, and its code card ended.
    let outcome = receiver.finished();
    assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
    assert!(
        !receiver
            .seen
            .iter()
            .any(|e| matches!(e, Event::Incoming { .. } | Event::AutoAccepted { .. })),
        "{:#?}",
        receiver.seen
    );
    nothing_in(&receiver);
}

#[test]
fn codes_are_fresh_each_session_match_without_a_middle_and_a_confirmed_device_is_remembered() {
    let mut receiver = Node::receiver("desk", AcceptPolicy::Ask);
    let identity = Arc::new(Identity::ephemeral().expect("identity"));
    let (_src, path) = secret_file();
    let mut codes = Vec::new();
    for round in 0..2 {
        // A new engine each round: the same device, nothing remembered yet.
        let mut sender = Node::confirming_sender("laptop", identity.clone());
        sender.send_file(receiver.addr(), &path);
        let (id, code, _) = confirm_request(&mut sender);
        let (_, shown) = shown_code(&mut receiver);
        assert_eq!(
            code, shown,
            "no one in the middle: the same code on both screens"
        );
        codes.push(code.clone());
        if round == 0 {
            // Confirmed: the offer goes, carrying the same code, and the
            // sender remembers the receiver by its key.
            sender.engine.send(Command::ConfirmPeer {
                id,
                confirmed: true,
            });
            let (offer_id, offer_code) = receiver.wait("Incoming", |e| match e {
                Event::Incoming { id, code, .. } => Some((*id, code.clone())),
                _ => None,
            });
            assert_eq!(offer_code, code);
            receiver.engine.send(Command::Decide {
                id: offer_id,
                decision: Decision::AcceptAll,
            });
            assert!(sender.finished().is_success());
            let remembered: Vec<_> = sender
                .seen
                .iter()
                .filter_map(|e| match e {
                    Event::Remembered(device) => Some(device.alias.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(remembered, vec!["desk".to_string()]);
            // The receiver remembers the sender it accepted.
            receiver.wait("Remembered", |e| match e {
                Event::Remembered(d) if d.device_id == identity.device_id() => Some(()),
                _ => None,
            });
            assert!(receiver.finished().is_success());
            // A second send from the same engine needs no confirmation.
            sender.send_file(receiver.addr(), &path);
            let offer_id = receiver.wait("Incoming", |e| match e {
                Event::Incoming { id, .. } => Some(*id),
                _ => None,
            });
            receiver.engine.send(Command::Decide {
                id: offer_id,
                decision: Decision::Decline,
            });
            assert!(matches!(sender.finished(), Outcome::Declined(_)));
            let asked = sender
                .seen
                .iter()
                .filter(|e| matches!(e, Event::ConfirmPeer { .. }))
                .count();
            assert_eq!(asked, 1, "a remembered device is not asked about again");
        } else {
            sender.engine.send(Command::Cancel { id });
            assert!(matches!(sender.finished(), Outcome::Cancelled { .. }));
        }
    }
    // A ground code no longer matters: the same two keys, a new code.
    assert_ne!(codes[0], codes[1]);
}

#[test]
fn an_impostor_answering_for_a_remembered_name_with_another_key_gets_a_warning_and_nothing() {
    let real = Node::receiver("desk", AcceptPolicy::Everyone);
    let remembered = vec![TrustedDevice {
        device_id: real.engine.device().device_id,
        alias: "desk".into(),
    }];
    let mut impostor = Node::receiver("desk", AcceptPolicy::Everyone);
    let (_src, path) = secret_file();
    // Even a sender that trusts new devices on first use asks about a
    // remembered name with another key.
    for trust_new in [false, true] {
        let identity = Arc::new(Identity::ephemeral().expect("identity"));
        let mut sender = Node::sender_with_trust(
            "laptop",
            identity,
            remembered.clone(),
            trust_new,
            Timeouts::default(),
        );
        sender.send_file(impostor.addr(), &path);
        let (id, _, key_changed) = confirm_request(&mut sender);
        assert!(
            key_changed,
            "trust_new {trust_new}: the changed key is flagged"
        );
        sender.engine.send(Command::Cancel { id });
        assert!(matches!(sender.finished(), Outcome::Cancelled { .. }));
        assert!(
            !sender
                .seen
                .iter()
                .any(|e| matches!(e, Event::Offered { .. } | Event::Remembered(_))),
            "{:#?}",
            sender.seen
        );
        impostor.finished();
    }
    assert!(
        !impostor
            .seen
            .iter()
            .any(|e| matches!(e, Event::Incoming { .. } | Event::AutoAccepted { .. })),
        "the impostor saw an offer: {:#?}",
        impostor.seen
    );
    nothing_in(&impostor);
    // The real device, remembered, gets the file without a question.
    let mut sender = Node::sender_with_trust(
        "laptop",
        Arc::new(Identity::ephemeral().expect("identity")),
        remembered,
        false,
        Timeouts::default(),
    );
    sender.send_file(real.addr(), &path);
    assert!(sender.finished().is_success());
    assert!(
        !sender
            .seen
            .iter()
            .any(|e| matches!(e, Event::ConfirmPeer { .. }))
    );
}

#[test]
fn a_sender_cannot_steer_the_code_a_reveal_that_does_not_open_its_commitment_is_refused() {
    let mut receiver = Node::receiver("desk", AcceptPolicy::Everyone);
    let identity = Identity::ephemeral().expect("identity");
    let link = Link::connect(receiver.addr(), &identity).expect("connect");
    let (mut reader, mut writer) = halves(link);
    let committed = pairing::fresh_nonce().expect("rng");
    writer
        .send_now(&Message::PairCommit {
            device: raw_device(&identity, "mallory"),
            commitment: pairing::commit(&committed),
        })
        .expect("commit");
    let Ok(Message::PairNonce { nonce, .. }) = reader.read_message() else {
        panic!("expected the receiver's nonce")
    };
    // Having seen the receiver's value, reveal another one of our choosing
    // (the one a code-grinding attacker would pick).
    let mut chosen = nonce;
    chosen[0] ^= 1;
    writer
        .send_now(&Message::PairReveal {
            nonce: chosen,
            confirming: false,
        })
        .expect("reveal");
    let answer = reader.read_message();
    assert!(
        matches!(answer, Ok(Message::Decline(ref r)) if r == BAD_REVEAL),
        "{answer:?}"
    );
    let said = receiver.wait("problem", |e| match e {
        Event::Problem(p) => Some(p.clone()),
        _ => None,
    });
    assert!(said.contains("did not match its commitment"), "{said}");
    nothing_in(&receiver);
    common::still_serves(&mut receiver);
}

#[test]
fn the_sender_sends_no_name_before_its_person_confirms_the_code() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (pinged, pings) = std::sync::mpsc::channel::<()>();
    // A receiver speaking the wire by hand, recording what arrives.
    let fake = thread::spawn(move || {
        let identity = Identity::ephemeral().expect("identity");
        let (stream, _) = listener.accept().expect("accept");
        let link = Link::accept(stream, &identity).expect("TLS");
        let peer_id = link.peer_id.clone();
        let (mut reader, mut writer) = halves(link);
        let me = raw_device(&identity, "desk");
        let paired = pair_as_receiver(&mut reader, &mut writer, &me, &peer_id);
        assert!(
            paired.confirming,
            "a new device: the sender's person compares"
        );
        // The sender waits for its person: it pings and says nothing else.
        let mut before = Vec::new();
        loop {
            let frame = reader.read_frame(None).expect("frame");
            let ping = matches!(frame, Frame::Message(Message::Ping));
            before.push(frame);
            if before.len() == 3 {
                pinged.send(()).expect("tell");
            }
            if !ping {
                break;
            }
        }
        let Some(Frame::Message(Message::Offer(offer))) = before.pop() else {
            panic!("expected the offer after confirmation: {before:?}")
        };
        writer
            .send_now(&Message::Decline("only looking".into()))
            .expect("decline");
        (paired.display(), before, offer)
    });
    let timeouts = Timeouts {
        ping: Duration::from_millis(100),
        ..Timeouts::default()
    };
    let identity = Arc::new(Identity::ephemeral().expect("identity"));
    let mut sender = Node::sender_with_trust("laptop", identity, Vec::new(), false, timeouts);
    let (_src, path) = secret_file();
    sender.send_file(addr, &path);
    let (id, code, _) = confirm_request(&mut sender);
    // Three pings (300 ms of waiting for the person) before anything else.
    pings
        .recv_timeout(common::WAIT)
        .expect("the sender kept the link alive while waiting");
    sender.engine.send(Command::ConfirmPeer {
        id,
        confirmed: true,
    });
    let (their_code, before, offer) = fake.join().expect("fake receiver");
    assert_eq!(their_code, code);
    assert!(
        before
            .iter()
            .all(|f| matches!(f, Frame::Message(Message::Ping))),
        "{before:?}"
    );
    assert!(before.len() >= 3, "{before:?}");
    assert_eq!(offer.entries[0].path, vec![SECRET_NAME.to_string()]);
    assert_eq!(sender.finished(), Outcome::Declined("only looking".into()));
}

#[test]
fn confirming_a_key_once_lets_a_second_send_to_it_go_without_a_second_question() {
    let mut receiver = Node::receiver("desk", AcceptPolicy::Everyone);
    let mut sender =
        Node::confirming_sender("laptop", Arc::new(Identity::ephemeral().expect("identity")));
    let (_src, path) = secret_file();
    let first = sender.send_file(receiver.addr(), &path);
    let second = sender.send_file(receiver.addr(), &path);
    let mut asked = Vec::new();
    while asked.len() < 2 {
        asked.push(confirm_request(&mut sender).0);
    }
    asked.sort();
    let mut both = vec![first, second];
    both.sort();
    assert_eq!(asked, both, "both sends wait for the person");
    sender.engine.send(Command::ConfirmPeer {
        id: first,
        confirmed: true,
    });
    let mut ends = Vec::new();
    while ends.len() < 2 {
        ends.push(sender.wait("Finished", |e| match e {
            Event::Finished { id, outcome, .. } => Some((*id, outcome.clone())),
            _ => None,
        }));
    }
    assert!(ends.iter().all(|(_, o)| o.is_success()), "{ends:?}");
    let _ = receiver.finished();
}

#[test]
fn a_receiver_flags_an_offer_under_a_remembered_name_with_another_key() {
    let mut receiver = Node::receiver("desk", AcceptPolicy::Ask);
    // The receiver once accepted "laptop" with another key.
    receiver
        .engine
        .send(Command::UpdateReceive(ferry::api::ReceiveSettings {
            download_dir: receiver.root().to_path_buf(),
            accept: AcceptPolicy::Ask,
            pin: None,
            accept_from_anywhere: false,
            remembered: vec![TrustedDevice {
                device_id: "e".repeat(64),
                alias: "laptop".into(),
            }],
            trust_new: false,
        }));
    // Commands are taken in order: once this is answered, the settings apply.
    let root = receiver.root().to_path_buf();
    receiver.engine.send(Command::Measure(vec![root]));
    receiver.wait("Measured", |e| {
        matches!(e, Event::Measured { .. }).then_some(())
    });
    let mut sender = Node::sender("laptop");
    let (_src, path) = secret_file();
    sender.send_file(receiver.addr(), &path);
    let (id, key_changed) = receiver.wait("Incoming", |e| match e {
        Event::Incoming {
            id, key_changed, ..
        } => Some((*id, *key_changed)),
        _ => None,
    });
    assert!(key_changed, "the offer card warns about the new key");
    receiver.engine.send(Command::Decide {
        id,
        decision: Decision::Decline,
    });
    assert!(matches!(sender.finished(), Outcome::Declined(_)));
    nothing_in(&receiver);
}
