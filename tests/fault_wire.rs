//! Guards the receiver against a damaged or hostile wire: a flipped byte in
//! transit is caught (nothing delivered, both sides say so); random bytes,
//! truncated frames and valid frames in the wrong order on the TCP port give
//! clear errors, delete partials, never panic a worker, and the listener keeps
//! serving. (Wrong file bytes with a valid frame layout, hostile names and
//! absurd lengths are in transfer_hostile.rs.)

mod common;
mod panic_watch;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{
    Node, Relay, RelayOptions, kept_partial, pair_as_sender, partials, random_file, raw_device,
    still_serves,
};
use ferry::api::{AcceptPolicy, Command, Event};
use ferry::api::{Outcome, TransferId};
use ferry::protocol::frame::write_greeting;
use ferry::protocol::{
    CancelReason, DeviceInfo, Entry, EntryKind, FileVerdict, FrameReader, FrameWriter, Message,
    Offer, WireError,
};
use ferry::secure::identity::Identity;
use ferry::secure::link::Link;
use panic_watch::{Noise, count_worker_panics, no_worker_panicked};
use sha2::{Digest, Sha256};

#[test]
fn a_byte_flipped_in_transit_delivers_nothing_and_both_sides_say_so() {
    count_worker_panics();
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("precious.bin");
    random_file(&file, 16 << 20, 11);
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    // Well inside the file's bytes (past greeting, handshake and offer).
    let relay = Relay::start(
        receiver.addr(),
        RelayOptions {
            flip_at: Some(5 << 20),
            ..Default::default()
        },
    );
    let mut sender = Node::sender("tx");
    sender.engine.send(Command::Send {
        id: TransferId::fresh(),
        to: relay.addr,
        paths: vec![file],
    });
    let Outcome::Failed(said_rx) = receiver.finished() else {
        panic!("the receiver must fail")
    };
    let Outcome::Failed(said_tx) = sender.finished() else {
        panic!("the sender must fail")
    };
    eprintln!("receiver said: {said_rx}\nsender said: {said_tx}");
    assert!(said_rx.contains("arrived damaged"), "{said_rx}");
    assert!(
        said_tx.contains("arrived damaged") || said_tx.contains("was lost"),
        "{said_tx}"
    );
    assert!(!said_rx.contains("Internal error") && !said_tx.contains("Internal error"));
    assert!(
        !receiver.root().join("precious.bin").exists(),
        "nothing delivered"
    );
    assert!(
        partials(receiver.root()).is_empty(),
        "damaged partial deleted"
    );
    no_worker_panicked();
    still_serves(&mut receiver);
}

#[test]
fn random_bytes_on_the_tcp_port_are_refused_and_the_listener_keeps_serving() {
    count_worker_panics();
    let mut receiver = Node::receiver("rx", AcceptPolicy::Ask);
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut greeting = Vec::new();
    write_greeting(&mut greeting).expect("greeting");
    for round in 0..120 {
        let mut stream = TcpStream::connect(receiver.addr()).expect("connect");
        let len = (noise.next() % 3000) as usize;
        let mut bytes = match round % 3 {
            // Pure noise (not Ferry at all).
            0 => noise.bytes(len),
            // A valid greeting, then noise where TLS should start.
            1 => [greeting.clone(), noise.bytes(len)].concat(),
            // A valid greeting and the start of a TLS record, then noise.
            _ => [greeting.clone(), vec![0x16, 0x03, 0x01], noise.bytes(len)].concat(),
        };
        bytes.truncate(bytes.len().max(1));
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        // The receiver closes its side instead of waiting for more.
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
    assert!(
        !receiver
            .seen
            .iter()
            .any(|e| matches!(e, Event::Incoming { .. })),
        "noise never reaches a prompt"
    );
    no_worker_panicked();
    still_serves(&mut receiver);
    assert_eq!(std::fs::read_dir(receiver.root()).expect("read").count(), 1);
}

/// A peer with real TLS that writes whatever the test wants.
struct Raw {
    reader: FrameReader<Box<dyn Read + Send>>,
    writer: FrameWriter<Box<dyn Write + Send>>,
    device: DeviceInfo,
    /// The receiver's proven id.
    peer_id: String,
}

impl Raw {
    /// Connected and paired: what follows is where the offer belongs.
    fn connect(addr: SocketAddr) -> Raw {
        Raw::connect_as(addr, &Identity::ephemeral().expect("identity"))
    }

    /// As [`Raw::connect`], proving `identity` (the same device again).
    fn connect_as(addr: SocketAddr, identity: &Identity) -> Raw {
        let mut raw = Raw::unpaired_as(addr, identity);
        let peer_id = raw.peer_id.clone();
        pair_as_sender(&mut raw.reader, &mut raw.writer, &raw.device, &peer_id).expect("pairing");
        raw
    }

    /// Connected, TLS done, nothing said: what follows is the first message.
    fn unpaired(addr: SocketAddr) -> Raw {
        Raw::unpaired_as(addr, &Identity::ephemeral().expect("identity"))
    }

    fn unpaired_as(addr: SocketAddr, identity: &Identity) -> Raw {
        let link = Link::connect(addr, identity).expect("connect");
        Raw {
            reader: FrameReader::new(link.reader),
            writer: FrameWriter::new(link.writer),
            device: raw_device(identity, "chaos"),
            peer_id: link.peer_id,
        }
    }

    /// Offers one 1 KiB file and expects it accepted.
    fn offer_one(&mut self) {
        let offer = common::one_file_offer(7, self.device.clone(), "victim.bin", 1024);
        self.writer.send_now(&Message::Offer(offer)).expect("offer");
        let answer = self.reader.read_message().expect("answer");
        assert!(matches!(answer, Message::Accept(_)), "{answer:?}");
    }
}

#[test]
fn garbage_and_truncated_frames_inside_tls_are_refused_with_a_reason() {
    count_worker_panics();
    let mut receiver = Node::receiver("rx", AcceptPolicy::Ask);
    let mut noise = Noise(42);
    // Random frames where the first message (and, after pairing, where the
    // offer) belongs: refused, with a Decline when the bytes form a frame
    // that is not a valid message.
    for round in 0..20 {
        let mut peer = if round % 2 == 0 {
            Raw::unpaired(receiver.addr())
        } else {
            Raw::connect(receiver.addr())
        };
        let mut frame = vec![0u8];
        let payload = noise.bytes(200);
        frame.extend((payload.len() as u32).to_be_bytes());
        frame.extend(payload);
        peer.writer
            .raw()
            .expect("raw")
            .write_all(&frame)
            .expect("write");
        peer.writer.flush().expect("flush");
        let answer = peer.reader.read_message();
        assert!(
            matches!(answer, Ok(Message::Decline(ref r)) if r.contains("malformed")),
            "{answer:?}"
        );
        let said = receiver.wait("problem", |e| match e {
            Event::Problem(p) => Some(p.clone()),
            _ => None,
        });
        assert!(said.contains("Refused a connection from"), "{said}");
    }
    // A frame cut short by a closed connection: dropped quietly.
    let mut peer = Raw::unpaired(receiver.addr());
    peer.writer
        .raw()
        .expect("raw")
        .write_all(&[0, 0, 0, 0, 100, 1, 2, 3])
        .expect("write");
    drop(peer);
    no_worker_panicked();
    still_serves(&mut receiver);
}

#[test]
fn valid_frames_in_the_wrong_order_fail_the_transfer_with_a_reason() {
    count_worker_panics();
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    // As the first message: anything but a pairing commitment or a hello —
    // an offer too: none is looked at before pairing.
    let offer = Offer {
        transfer_id: 7,
        sender: Raw::unpaired(receiver.addr()).device,
        entries: vec![],
        pin: None,
        contents: vec![],
    };
    for first in [
        Message::Done,
        Message::Ping,
        Message::FileStart {
            index: 0,
            offset: 0,
        },
        Message::Accept(vec![]),
        Message::Offer(offer),
    ] {
        let mut peer = Raw::unpaired(receiver.addr());
        peer.writer.send_now(&first).expect("send");
        let answer = peer.reader.read_message();
        assert!(
            matches!(answer, Ok(Message::Decline(ref r)) if r.contains("expected a pairing commitment")),
            "{first:?}: {answer:?}"
        );
    }
    // After pairing: anything but the offer (pings aside).
    for instead in [Message::Done, Message::Accept(vec![])] {
        let mut peer = Raw::connect(receiver.addr());
        peer.writer.send_now(&instead).expect("send");
        let answer = peer.reader.read_message();
        assert!(
            matches!(answer, Ok(Message::Decline(ref r)) if r.contains("expected an offer")),
            "{instead:?}: {answer:?}"
        );
    }
    // After the offer was accepted: steps out of order.
    let start = Message::FileStart {
        index: 0,
        offset: 0,
    };
    let end = Message::FileEnd {
        index: 0,
        sha256: [0; 32],
    };
    let cases: Vec<(Vec<Message>, bool, &str)> = vec![
        (vec![end.clone()], false, "a file ended that never started"),
        (vec![], true, "file data arrived outside a file"),
        (
            vec![start.clone(), start.clone()],
            false,
            "a file started before the previous one ended",
        ),
        (
            vec![Message::FileStart {
                index: 5,
                offset: 0,
            }],
            false,
            "file 5 was not requested",
        ),
        (
            vec![start.clone(), Message::Done],
            false,
            "the transfer ended in the middle of a file",
        ),
        (
            vec![Message::Summary {
                verified: 1,
                failed: 0,
            }],
            false,
            "unexpected summary",
        ),
        (
            vec![Message::FileStart {
                index: 0,
                offset: 9,
            }],
            false,
            "resumed at the wrong byte",
        ),
    ];
    for (messages, data_first, expected) in cases {
        let mut peer = Raw::connect(receiver.addr());
        peer.offer_one();
        if data_first {
            peer.writer.send_data(&[1; 10]).expect("data");
        }
        for message in &messages {
            peer.writer.send(message).expect("send");
        }
        // Mid-file for the cases that opened one: some real bytes first.
        if matches!(
            messages.first(),
            Some(Message::FileStart {
                index: 0,
                offset: 0
            })
        ) {
            peer.writer.send_data(&[2; 100]).expect("data");
        }
        let _ = peer.writer.flush();
        let Outcome::Failed(said) = receiver.finished() else {
            panic!("{expected}: the receiver must fail")
        };
        assert!(said.contains(expected), "{expected}: {said}");
        // The peer is told why.
        let told = loop {
            match peer.reader.read_message() {
                Ok(Message::Cancel(CancelReason::Error(reason))) => break reason,
                Ok(_) => continue,
                Err(WireError::Closed) | Err(_) => break String::new(),
            }
        };
        assert!(told.contains(expected), "{expected}: peer told {told:?}");
        assert!(!receiver.root().join("victim.bin").exists());
        assert!(partials(receiver.root()).is_empty(), "{expected}");
    }
    no_worker_panicked();
    still_serves(&mut receiver);
}

/// Regression: `bug_offer_sizes_overflowing_u64_killed_the_worker`. The space
/// check summed the offered sizes with `+`, so two files of 2^63 bytes
/// overflowed: a panic in a debug build ("Internal error", the peer left
/// without an answer) and, in a release build, a wrapped-around small total
/// that passed the free-space check.
#[test]
fn bug_offer_sizes_overflowing_u64_killed_the_worker() {
    count_worker_panics();
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut peer = Raw::connect(receiver.addr());
    let file = |name: &str| Entry {
        path: vec![name.into()],
        kind: EntryKind::File,
        size: 1 << 63,
        modified_ms: None,
    };
    let offer = Offer {
        transfer_id: 8,
        sender: peer.device.clone(),
        entries: vec![file("a.bin"), file("b.bin")],
        pin: None,
        contents: Vec::new(),
    };
    peer.writer.send_now(&Message::Offer(offer)).expect("offer");
    let answer = peer.reader.read_message();
    assert!(
        matches!(answer, Ok(Message::Decline(ref r)) if r.starts_with("Not enough space")),
        "{answer:?}"
    );
    let Outcome::Failed(said) = receiver.finished() else {
        panic!("must fail")
    };
    assert!(said.starts_with("Not enough space"), "{said}");
    no_worker_panicked();
    assert_eq!(std::fs::read_dir(receiver.root()).expect("read").count(), 0);
}

/// A small new file is held in memory until its last byte and landed beside
/// the connection's thread (transfer::receive::lander). A connection cut in
/// the middle of one still leaves what arrived as a partial with its
/// sidecar, never under the final name, and the next try resumes from it.
#[test]
fn a_small_file_cut_mid_way_is_kept_and_resumed_where_it_stopped() {
    count_worker_panics();
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let identity = Identity::ephemeral().expect("identity");
    let body: Vec<u8> = (0..100u8).collect();
    let mut peer = Raw::connect_as(receiver.addr(), &identity);
    let offer = common::one_file_offer(7, peer.device.clone(), "notes.txt", 100);
    peer.writer
        .send_now(&Message::Offer(offer.clone()))
        .expect("offer");
    let answer = peer.reader.read_message().expect("answer");
    assert!(
        matches!(answer, Message::Accept(ref w) if w.len() == 1 && w[0].offset == 0),
        "{answer:?}"
    );
    let start = Message::FileStart {
        index: 0,
        offset: 0,
    };
    peer.writer.send(&start).expect("start");
    peer.writer.send_data(&body[..40]).expect("data");
    peer.writer.flush().expect("flush");
    drop(peer);
    let Outcome::Failed(said) = receiver.finished() else {
        panic!("a cut mid-file must fail the transfer")
    };
    assert!(said.contains("partial file was kept"), "{said}");
    assert!(!receiver.root().join("notes.txt").exists());
    assert_eq!(kept_partial(receiver.root()), 40);

    let mut again = Raw::connect_as(receiver.addr(), &identity);
    again
        .writer
        .send_now(&Message::Offer(offer))
        .expect("offer");
    let answer = again.reader.read_message().expect("answer");
    assert!(
        matches!(answer, Message::Accept(ref w) if w.len() == 1 && w[0].offset == 40),
        "only the missing bytes are asked for: {answer:?}"
    );
    let resume = Message::FileStart {
        index: 0,
        offset: 40,
    };
    again.writer.send(&resume).expect("start");
    again.writer.send_data(&body[40..]).expect("data");
    let sha256 = Sha256::digest(&body).into();
    let end = Message::FileEnd { index: 0, sha256 };
    again.writer.send(&end).expect("end");
    again.writer.send_now(&Message::Done).expect("done");
    assert_eq!(
        again.reader.read_message().expect("verdict"),
        Message::FileResult {
            index: 0,
            verdict: FileVerdict::Verified
        }
    );
    assert_eq!(
        again.reader.read_message().expect("summary"),
        Message::Summary {
            verified: 1,
            failed: 0
        }
    );
    assert!(receiver.finished().is_success());
    let landed = std::fs::read(receiver.root().join("notes.txt")).expect("landed");
    assert_eq!(landed, body);
    assert!(partials(receiver.root()).is_empty());
    no_worker_panicked();
}

/// Verdicts must reach the sender in the order its files went (the sender
/// ends the transfer otherwise). A small file's verdict comes from the
/// landing thread, later than the connection's own: a file the sender gives
/// up right after it must still be answered second.
#[test]
fn verdicts_come_back_in_the_order_the_files_went() {
    count_worker_panics();
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut peer = Raw::connect(receiver.addr());
    let entry = |name: &str, size: u64| Entry {
        path: vec![name.into()],
        kind: EntryKind::File,
        size,
        modified_ms: None,
    };
    let mut offer = common::one_file_offer(7, peer.device.clone(), "a.txt", 5);
    offer.entries.push(entry("b.txt", 10));
    peer.writer.send_now(&Message::Offer(offer)).expect("offer");
    let answer = peer.reader.read_message().expect("answer");
    assert!(
        matches!(answer, Message::Accept(ref w) if w.len() == 2),
        "{answer:?}"
    );
    let start = Message::FileStart {
        index: 0,
        offset: 0,
    };
    peer.writer.send(&start).expect("start");
    peer.writer.send_data(b"hello").expect("data");
    let sha256 = Sha256::digest(b"hello").into();
    peer.writer
        .send(&Message::FileEnd { index: 0, sha256 })
        .expect("end");
    let gone = Message::FileAbandoned {
        index: 1,
        reason: "it vanished".into(),
    };
    peer.writer.send(&gone).expect("abandon");
    peer.writer.send_now(&Message::Done).expect("done");
    let verdicts: Vec<Message> = (0..3)
        .map(|_| peer.reader.read_message().expect("message"))
        .collect();
    assert_eq!(
        verdicts,
        [
            Message::FileResult {
                index: 0,
                verdict: FileVerdict::Verified
            },
            Message::FileResult {
                index: 1,
                verdict: FileVerdict::Failed("it vanished".into())
            },
            Message::Summary {
                verified: 1,
                failed: 1
            }
        ]
    );
    assert!(matches!(receiver.finished(), Outcome::Failed(_)));
    assert_eq!(
        std::fs::read(receiver.root().join("a.txt")).expect("a"),
        b"hello"
    );
    no_worker_panicked();
}
