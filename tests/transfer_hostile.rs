//! Guards the receiver against peers that lie or misbehave: wrong bytes,
//! names that try to escape the download folder, absurd offers and frame
//! lengths, and a different protocol version. Each gives a clear error, writes
//! nothing outside the folder, allocates nothing huge, and the receiver keeps
//! serving afterwards.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use common::{Node, pair_as_sender, partials, still_serves};
use ferry::api::{AcceptPolicy, Command, Event};
use ferry::transfer::pair::PairError;

use ferry::api::{Outcome, TransferId};
use ferry::protocol::limits::MAX_OPEN_PAGES;
use ferry::protocol::{
    CancelReason, Contents, DeviceInfo, Entry, EntryKind, FileVerdict, FrameReader, FrameWriter,
    Message, Offer, PROTOCOL_VERSION, WireError,
};
use ferry::secure::identity::Identity;
use ferry::secure::link::Link;
use sha2::{Digest, Sha256};

type Reader = FrameReader<Box<dyn Read + Send>>;
type Writer = FrameWriter<Box<dyn Write + Send>>;

/// A hand-made peer: real TLS and framing, but it says whatever the test wants.
struct RawPeer {
    reader: Reader,
    writer: Writer,
    device: DeviceInfo,
    /// The receiver's proven id.
    peer_id: String,
}

impl RawPeer {
    /// Connected and paired: what follows is where the offer belongs.
    fn connect(addr: SocketAddr) -> RawPeer {
        let identity = Identity::ephemeral().expect("identity");
        let id = identity.device_id().to_string();
        let mut peer = RawPeer::connect_as(addr, &identity, &id);
        let peer_id = peer.peer_id.clone();
        pair_as_sender(&mut peer.reader, &mut peer.writer, &peer.device, &peer_id)
            .expect("pairing");
        peer
    }

    /// Connects with `identity` but announces `claimed_id` in its messages;
    /// nothing said yet.
    fn connect_as(addr: SocketAddr, identity: &Identity, claimed_id: &str) -> RawPeer {
        let link = Link::connect(addr, identity).expect("connect");
        let device = DeviceInfo {
            device_id: claimed_id.to_string(),
            alias: "mallory".into(),
            os: "linux".into(),
            port: 0,
        };
        RawPeer {
            reader: FrameReader::new(link.reader),
            writer: FrameWriter::new(link.writer),
            device,
            peer_id: link.peer_id,
        }
    }

    /// Writes the header of a control frame claiming `len` bytes, and no payload.
    fn claim_control_frame(&mut self, len: u32) {
        let mut header = vec![0u8];
        header.extend(len.to_be_bytes());
        let raw = self.writer.raw().expect("raw");
        raw.write_all(&header).expect("header");
        raw.flush().expect("flush");
    }

    /// Announces the bytes of entry `index` from offset 0.
    fn start_file(&mut self, index: u32) {
        self.writer
            .send(&Message::FileStart { index, offset: 0 })
            .expect("start");
    }

    /// Sends all of entry `index` as `bytes`, ends it claiming `sha256`, and
    /// says `Done`.
    fn send_file(&mut self, index: u32, bytes: &[u8], sha256: [u8; 32]) {
        self.start_file(index);
        self.writer.send_data(bytes).expect("data");
        self.writer
            .send(&Message::FileEnd { index, sha256 })
            .expect("end");
        self.writer.send_now(&Message::Done).expect("done");
    }

    fn offer(&mut self, entries: Vec<Entry>) -> Result<Message, WireError> {
        self.offer_with_pin(entries, None)
    }

    fn offer_with_pin(
        &mut self,
        entries: Vec<Entry>,
        pin: Option<&str>,
    ) -> Result<Message, WireError> {
        // Folders offered empty: what they hold comes in pages (see the
        // tests that send pages).
        let folders = entries
            .iter()
            .filter(|e| e.kind == EntryKind::Directory)
            .count();
        let empty = Contents {
            files: 0,
            folders: 0,
            bytes: 0,
            fingerprint: [0; 32],
        };
        let offer = Offer {
            transfer_id: 9,
            sender: self.device.clone(),
            entries,
            pin: pin.map(String::from),
            contents: vec![empty; folders],
        };
        self.writer.send_now(&Message::Offer(offer))?;
        self.reader.read_message()
    }
}

fn file(path: &[&str], size: u64) -> Entry {
    Entry {
        path: path.iter().map(|s| s.to_string()).collect(),
        kind: EntryKind::File,
        size,
        modified_ms: None,
    }
}

fn dir(path: &[&str]) -> Entry {
    Entry {
        path: path.iter().map(|s| s.to_string()).collect(),
        kind: EntryKind::Directory,
        size: 0,
        modified_ms: None,
    }
}

fn problem(node: &mut Node) -> String {
    node.wait("problem", |e| match e {
        Event::Problem(p) => Some(p.clone()),
        _ => None,
    })
}

#[test]
fn wrong_bytes_are_a_mismatch_and_never_take_the_final_name() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut peer = RawPeer::connect(receiver.addr());
    let answer = peer.offer(vec![file(&["doc.txt"], 11)]).expect("answer");
    assert!(
        matches!(answer, Message::Accept(ref w) if w.len() == 1 && w[0].offset == 0),
        "{answer:?}"
    );
    let wrong: [u8; 32] = Sha256::digest(b"something else").into();
    peer.send_file(0, b"hello world", wrong);
    assert_eq!(
        peer.reader.read_message().expect("verdict"),
        Message::FileResult {
            index: 0,
            verdict: FileVerdict::Mismatch
        }
    );
    assert_eq!(
        peer.reader.read_message().expect("summary"),
        Message::Summary {
            verified: 0,
            failed: 1
        }
    );
    let Outcome::Failed(reason) = receiver.finished() else {
        panic!("must fail")
    };
    assert!(reason.contains("checksum mismatch"), "{reason}");
    assert!(!receiver.root().join("doc.txt").exists());
    assert!(partials(receiver.root()).is_empty(), "bad data is deleted");
}

/// A small file is held in memory and hashed frame by frame as it arrives;
/// a sender may cut it into any number of data frames (Ferry sends one).
/// Three frames with the right SHA-256 land byte-exact; the same three with
/// one byte changed in the middle one are a mismatch and leave nothing.
#[test]
fn a_small_file_in_several_frames_is_checked_as_a_whole() {
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha: [u8; 32] = Sha256::digest(&bytes).into();
    for damaged in [false, true] {
        let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
        let mut peer = RawPeer::connect(receiver.addr());
        let answer = peer.offer(vec![file(&["notes.txt"], bytes.len() as u64)]);
        assert!(matches!(answer, Ok(Message::Accept(_))), "{answer:?}");
        peer.start_file(0);
        let mut sent = bytes.clone();
        if damaged {
            sent[5_000] ^= 1;
        }
        for piece in [&sent[..3_000], &sent[3_000..7_000], &sent[7_000..]] {
            peer.writer.send_data(piece).expect("data");
        }
        peer.writer
            .send(&Message::FileEnd {
                index: 0,
                sha256: sha,
            })
            .expect("end");
        peer.writer.send_now(&Message::Done).expect("done");
        let verdict = if damaged {
            FileVerdict::Mismatch
        } else {
            FileVerdict::Verified
        };
        assert_eq!(
            peer.reader.read_message().expect("verdict"),
            Message::FileResult { index: 0, verdict }
        );
        let landed = receiver.root().join("notes.txt");
        if damaged {
            assert!(!receiver.finished().is_success());
            assert!(!landed.exists());
            assert!(partials(receiver.root()).is_empty(), "bad data is deleted");
        } else {
            assert!(receiver.finished().is_success());
            assert_eq!(std::fs::read(&landed).expect("landed"), bytes);
        }
    }
}

#[test]
fn more_bytes_than_announced_end_the_transfer() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut peer = RawPeer::connect(receiver.addr());
    peer.offer(vec![file(&["small.txt"], 3)]).expect("answer");
    peer.start_file(0);
    peer.writer.send_data(b"way too many bytes").expect("data");
    peer.writer.flush().expect("flush");
    assert!(
        matches!(receiver.finished(), Outcome::Failed(r) if r.contains("more data than announced"))
    );
    assert!(!receiver.root().join("small.txt").exists());
}

#[test]
fn names_that_escape_the_folder_are_refused_before_anyone_is_asked() {
    let outside = tempfile::tempdir().expect("tmp");
    let mut receiver = Node::receiver("rx", AcceptPolicy::Ask);
    for hostile in [
        vec![file(&[".."], 1)],
        vec![file(&["."], 1)],
        vec![file(&["/etc/x"], 1)],
        vec![file(&["C:\\x"], 1)],
        vec![file(&[&format!("{}/x", outside.path().display())], 1)],
        vec![file(&[""], 1)],
    ] {
        let mut peer = RawPeer::connect(receiver.addr());
        let answer = peer.offer(hostile.clone()).expect("answer");
        assert!(
            matches!(answer, Message::Decline(ref r) if r.contains("unsafe name")),
            "{hostile:?}: {answer:?}"
        );
        let said = problem(&mut receiver);
        assert!(said.contains("Refused an offer from mallory"), "{said}");
    }
    assert!(
        !receiver
            .seen
            .iter()
            .any(|e| matches!(e, Event::Incoming { .. })),
        "never prompted"
    );
    assert_eq!(std::fs::read_dir(receiver.root()).expect("read").count(), 0);
    assert_eq!(std::fs::read_dir(outside.path()).expect("read").count(), 0);
    still_serves(&mut receiver);
}

#[cfg(unix)]
#[test]
fn a_symlinked_subfolder_cannot_carry_a_write_outside() {
    let outside = tempfile::tempdir().expect("tmp");
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    std::os::unix::fs::symlink(outside.path(), receiver.root().join("sub")).expect("symlink");
    let mut peer = RawPeer::connect(receiver.addr());
    let offer = Offer {
        transfer_id: 9,
        sender: peer.device.clone(),
        entries: vec![dir(&["sub"])],
        pin: None,
        contents: vec![Contents {
            files: 1,
            folders: 0,
            bytes: 2,
            fingerprint: [0; 32],
        }],
    };
    peer.writer.send_now(&Message::Offer(offer)).expect("offer");
    let answer = peer.reader.read_message().expect("answer");
    assert!(matches!(answer, Message::Accept(_)), "{answer:?}");
    let page = Message::Page {
        item: 0,
        first: 1,
        entries: vec![file(&["sub", "x"], 2)],
    };
    peer.writer.send_now(&page).expect("page");
    let want = peer.reader.read_message().expect("want");
    assert!(
        matches!(want, Message::Want { first: 1, ref files } if files.len() == 1),
        "{want:?}"
    );
    let hash: [u8; 32] = Sha256::digest(b"hi").into();
    peer.send_file(1, b"hi", hash);
    assert!(receiver.finished().is_success());
    assert_eq!(
        std::fs::read_dir(outside.path()).expect("read").count(),
        0,
        "nothing outside"
    );
    assert_eq!(
        std::fs::read(receiver.root().join("sub (1)/x")).expect("read"),
        b"hi"
    );
}

#[test]
fn too_many_entries_are_refused_with_a_clear_reason() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Ask);
    let mut peer = RawPeer::connect(receiver.addr());
    let answer = peer.offer(vec![file(&["x"], 1); 200_000]).expect("answer");
    assert!(
        matches!(answer, Message::Decline(ref r) if r.contains("at most 65536")),
        "{answer:?}"
    );
    assert!(problem(&mut receiver).contains("entries"));
    still_serves(&mut receiver);
}

#[test]
fn a_million_entries_overflow_the_frame_limit_without_a_huge_allocation() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Ask);
    let mut peer = RawPeer::connect(receiver.addr());
    // Our own writer refuses to build such a frame, so encode it by hand:
    // Message::Offer (variant 1), transfer id, DeviceInfo, then 10^6 entries.
    let text = |s: &str| {
        [
            (s.len() as u64).to_le_bytes().to_vec(),
            s.as_bytes().to_vec(),
        ]
        .concat()
    };
    let mut payload = 1u32.to_le_bytes().to_vec();
    payload.extend(9u64.to_le_bytes());
    payload.extend([text(&peer.device.device_id), text("mallory"), text("linux")].concat());
    payload.extend(0u16.to_le_bytes());
    payload.extend(1_000_000u64.to_le_bytes());
    let entry = [
        1u64.to_le_bytes().to_vec(),
        text("x"),
        0u32.to_le_bytes().to_vec(),
        1u64.to_le_bytes().to_vec(),
        vec![0],
    ]
    .concat();
    for _ in 0..1_000_000 {
        payload.extend_from_slice(&entry);
    }
    let mut frame = vec![0u8];
    frame.extend((payload.len() as u32).to_be_bytes());
    frame.extend(payload);
    // The receiver may close before we finish writing 30 MB; that is the point.
    let _ = peer.writer.raw().map(|w| w.write_all(&frame));
    let said = problem(&mut receiver);
    assert!(said.contains("limit is 16777216"), "{said}");
    still_serves(&mut receiver);
}

#[test]
fn a_length_prefix_claiming_4_gib_is_refused_at_once() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Ask);
    let mut peer = RawPeer::connect(receiver.addr());
    peer.claim_control_frame(u32::MAX);
    let said = problem(&mut receiver);
    assert!(said.contains("4294967295 bytes claimed"), "{said}");
    // The receiver answers and closes instead of waiting for 4 GiB.
    let answer = peer.reader.read_message();
    assert!(
        matches!(answer, Ok(Message::Decline(ref r)) if r.contains("limit")),
        "{answer:?}"
    );
    still_serves(&mut receiver);
}

#[test]
fn a_different_protocol_version_is_named_on_both_sides() {
    // Receiving side: a client that speaks version 99.
    let mut receiver = Node::receiver("rx", AcceptPolicy::Ask);
    let mut stream = TcpStream::connect(receiver.addr()).expect("connect");
    stream.write_all(b"FERRY\0\x00\x63").expect("greeting v99");
    let said = problem(&mut receiver);
    assert!(
        said.contains("version 99") && said.contains(&format!("version {PROTOCOL_VERSION}")),
        "{said}"
    );
    let mut theirs = [0u8; 8];
    stream.read_exact(&mut theirs).expect("their greeting");
    assert_eq!(&theirs[..6], b"FERRY\0");

    // Sending side: a server that speaks version 99.
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = server.local_addr().expect("addr");
    let fake = std::thread::spawn(move || {
        let (mut conn, _) = server.accept().expect("accept");
        conn.write_all(b"FERRY\0\x00\x63").expect("greeting");
        let mut sink = [0u8; 64];
        let _ = conn.read(&mut sink);
    });
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join("a.txt");
    std::fs::write(&path, "x").expect("write");
    let mut sender = Node::sender("tx");
    sender.engine.send(Command::Send {
        id: TransferId::fresh(),
        to: addr,
        paths: vec![path],
    });
    let Outcome::Failed(reason) = sender.finished() else {
        panic!("must fail")
    };
    assert!(
        reason.contains("version 99") && reason.contains(&format!("version {PROTOCOL_VERSION}")),
        "{reason}"
    );
    let _ = fake.join();
}

#[test]
fn an_offer_larger_than_the_free_space_is_refused_before_any_byte() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut peer = RawPeer::connect(receiver.addr());
    let answer = peer
        .offer(vec![file(&["huge.iso"], 1 << 60)])
        .expect("answer");
    assert!(
        matches!(answer, Message::Decline(ref r) if r.starts_with("Not enough space")),
        "{answer:?}"
    );
    let Outcome::Failed(reason) = receiver.finished() else {
        panic!("must fail")
    };
    assert!(
        reason.contains("needed") && reason.contains("free"),
        "{reason}"
    );
    assert_eq!(
        std::fs::read_dir(receiver.root()).expect("read").count(),
        0,
        "nothing written"
    );
}

#[test]
fn a_peer_that_announces_one_id_and_proves_another_is_refused() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let real = Identity::ephemeral().expect("identity");
    let impostor = Identity::ephemeral().expect("identity");
    let mut peer = RawPeer::connect_as(receiver.addr(), &impostor, real.device_id());
    let peer_id = peer.peer_id.clone();
    let paired = pair_as_sender(&mut peer.reader, &mut peer.writer, &peer.device, &peer_id);
    assert!(
        matches!(paired, Err(PairError::Declined(ref r)) if r.starts_with("identity mismatch")),
        "{paired:?}"
    );
    let said = problem(&mut receiver);
    assert!(said.contains("identity mismatch"), "{said}");
    assert_eq!(std::fs::read_dir(receiver.root()).expect("read").count(), 0);
}

/// Issue 14, finding 4: before pairing a peer has proven nothing but a
/// self-made key, so the first message of a connection is held to
/// `MAX_FIRST_FRAME` (64 KiB), not the 16 MiB an offer may take.
#[test]
fn the_first_message_of_a_connection_is_held_to_the_small_first_frame_limit() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Ask);
    let identity = Identity::ephemeral().expect("identity");
    let id = identity.device_id().to_string();
    let mut peer = RawPeer::connect_as(receiver.addr(), &identity, &id);
    let claimed = ferry::protocol::limits::MAX_FIRST_FRAME + 1;
    peer.claim_control_frame(claimed);
    let said = problem(&mut receiver);
    assert!(
        said.contains(&format!("{claimed} bytes claimed")) && said.contains("limit is 65536"),
        "{said}"
    );
    let answer = peer.reader.read_message();
    assert!(
        matches!(answer, Ok(Message::Decline(ref r)) if r.contains("limit is 65536")),
        "{answer:?}"
    );
    still_serves(&mut receiver);
}
/// Offers one folder claiming `contents`, expects it accepted.
fn offer_folder(peer: &mut RawPeer, name: &str, contents: Contents) {
    let offer = Offer {
        transfer_id: 9,
        sender: peer.device.clone(),
        entries: vec![dir(&[name])],
        pin: None,
        contents: vec![contents],
    };
    peer.writer.send_now(&Message::Offer(offer)).expect("offer");
    let answer = peer.reader.read_message().expect("answer");
    assert!(
        matches!(answer, Message::Accept(ref w) if w.len() == 1 && w[0].index == 0),
        "{answer:?}"
    );
}

/// A page of `count` empty files of folder `name`, from entry `first`.
fn empty_files(name: &str, first: u32, count: u32) -> Message {
    let entries = (first..first + count)
        .map(|i| file(&[name, &format!("f{i}")], 0))
        .collect();
    Message::Page {
        item: 0,
        first,
        entries,
    }
}

/// A sender may claim any count (here 10^12 files); the receiver holds
/// only the few pages it lists ahead, never what it claims, and ends the
/// transfer when it lists further without sending their files.
#[test]
fn a_claimed_trillion_files_hold_only_a_few_pages_on_the_receiver() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut peer = RawPeer::connect(receiver.addr());
    let claim = Contents {
        files: 1_000_000_000_000,
        folders: 0,
        bytes: 0,
        fingerprint: [0; 32],
    };
    offer_folder(&mut peer, "flood", claim);
    let started = receiver.wait("started", |e| match e {
        Event::Started { files, .. } => Some(*files),
        _ => None,
    });
    assert_eq!(started, u32::MAX, "a claimed count is shown, saturated");
    let mut answered = 0;
    let mut first = 1;
    let ended = loop {
        // The receiver may close once it has had enough.
        if peer
            .writer
            .send_now(&empty_files("flood", first, 1024))
            .is_err()
        {
            break None;
        }
        first += 1024;
        match peer.reader.read_message() {
            Ok(Message::Want { files, .. }) => {
                assert_eq!(files.len(), 1024);
                answered += 1;
            }
            Ok(other) => break Some(other),
            Err(_) => break None,
        }
        assert!(
            answered <= MAX_OPEN_PAGES,
            "answered {answered} pages ahead"
        );
    };
    assert!(
        matches!(ended, Some(Message::Cancel(CancelReason::Error(ref r))) if r.contains("too far ahead")),
        "{ended:?}"
    );
    assert_eq!(answered, MAX_OPEN_PAGES);
    let Outcome::Failed(reason) = receiver.finished() else {
        panic!("must fail")
    };
    assert!(reason.contains("too far ahead"), "{reason}");
    still_serves(&mut receiver);
}

/// Files sent as promised, page after page, but more of them than the
/// offer announced: the receiver stops at the first one beyond it.
#[test]
fn a_listing_beyond_the_offered_count_ends_the_transfer() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut peer = RawPeer::connect(receiver.addr());
    let claim = Contents {
        files: 3,
        folders: 0,
        bytes: 0,
        fingerprint: [0; 32],
    };
    offer_folder(&mut peer, "small", claim);
    peer.writer
        .send_now(&empty_files("small", 1, 4))
        .expect("page");
    let answer = peer.reader.read_message();
    assert!(
        matches!(answer, Ok(Message::Cancel(CancelReason::Error(ref r))) if r.contains("more than was offered")),
        "{answer:?}"
    );
    assert!(matches!(receiver.finished(), Outcome::Failed(_)));
    assert!(partials(receiver.root()).is_empty());
}

/// A name from a page is judged like one from the offer: one that leaves
/// the folder ends the transfer, and nothing is written outside.
#[test]
fn an_unsafe_name_in_a_page_ends_the_transfer_and_writes_nothing_outside() {
    let outside = tempfile::tempdir().expect("tmp");
    let escape = format!("{}/x", outside.path().display());
    for hostile in [
        vec!["album", "..", "..", "x"],
        vec!["album", &escape],
        vec!["album", ""],
        vec!["other", "x"],
    ] {
        let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
        let mut peer = RawPeer::connect(receiver.addr());
        let claim = Contents {
            files: 1,
            folders: 0,
            bytes: 1,
            fingerprint: [0; 32],
        };
        offer_folder(&mut peer, "album", claim);
        let page = Message::Page {
            item: 0,
            first: 1,
            entries: vec![file(&hostile, 1)],
        };
        peer.writer.send_now(&page).expect("page");
        let answer = peer.reader.read_message();
        assert!(
            matches!(answer, Ok(Message::Cancel(CancelReason::Error(_)))),
            "{hostile:?}: {answer:?}"
        );
        let Outcome::Failed(reason) = receiver.finished() else {
            panic!("must fail")
        };
        assert!(
            reason.contains("unsafe name") || reason.contains("outside its folder"),
            "{reason}"
        );
        assert_eq!(std::fs::read_dir(outside.path()).expect("read").count(), 0);
    }
}

/// Issue #16 item 5: `Pause` and `Resume` where no transfer streams are
/// refused like any message out of place, and the receiver keeps serving.
#[test]
fn a_pause_where_no_transfer_streams_is_refused() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Ask);
    // As the first message of a connection: no transfer to pause.
    let identity = Identity::ephemeral().expect("identity");
    let id = identity.device_id().to_string();
    let mut peer = RawPeer::connect_as(receiver.addr(), &identity, &id);
    peer.writer.send_now(&Message::Pause).expect("pause");
    assert!(
        matches!(peer.reader.read_message(), Ok(Message::Decline(_))),
        "a first Pause is declined"
    );
    // After pairing, instead of the offer.
    let mut peer = RawPeer::connect(receiver.addr());
    peer.writer.send_now(&Message::Resume).expect("resume");
    assert!(matches!(
        peer.reader.read_message(),
        Ok(Message::Decline(_))
    ));
    // Before the person answered the offer.
    let mut peer = RawPeer::connect(receiver.addr());
    let offer = Offer {
        transfer_id: 9,
        sender: peer.device.clone(),
        entries: vec![file(&["a.txt"], 1)],
        pin: None,
        contents: Vec::new(),
    };
    peer.writer.send_now(&Message::Offer(offer)).expect("offer");
    receiver.wait("the offer", |e| {
        matches!(e, Event::Incoming { .. }).then_some(())
    });
    peer.writer.send_now(&Message::Pause).expect("pause");
    assert!(
        matches!(receiver.finished(), Outcome::Failed(r) if r.contains("pause")),
        "{:?}",
        receiver.seen.last()
    );
    assert!(partials(receiver.root()).is_empty());
    still_serves(&mut receiver);
}

/// A sender that floods Pause and Resume mid-file changes nothing but the
/// pause: the window hears of it sparingly, and the file still arrives.
#[test]
fn a_flood_of_pauses_mid_file_is_harmless() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut peer = RawPeer::connect(receiver.addr());
    let bytes = b"hello world";
    let answer = peer.offer(vec![file(&["doc.txt"], 11)]).expect("answer");
    assert!(matches!(answer, Message::Accept(_)), "{answer:?}");
    peer.start_file(0);
    peer.writer.send_data(&bytes[..5]).expect("data");
    for i in 0..20_000 {
        let message = if i % 3 == 2 {
            Message::Resume
        } else {
            Message::Pause
        };
        peer.writer.send(&message).expect("pause");
    }
    // The last word is Resume, and the rest of the file follows.
    peer.writer.send(&Message::Resume).expect("resume");
    peer.writer.send_data(&bytes[5..]).expect("data");
    peer.writer
        .send(&Message::FileEnd {
            index: 0,
            sha256: Sha256::digest(bytes).into(),
        })
        .expect("end");
    peer.writer.send_now(&Message::Done).expect("done");
    assert!(matches!(
        peer.reader.read_message(),
        Ok(Message::FileResult {
            verdict: FileVerdict::Verified,
            ..
        })
    ));
    assert!(receiver.finished().is_success());
    assert_eq!(
        std::fs::read(receiver.root().join("doc.txt")).expect("read"),
        bytes
    );
    let told = receiver
        .seen
        .iter()
        .filter(|e| matches!(e, Event::PauseChanged { .. }))
        .count();
    assert!(told <= 10, "{told} pause reports for one flood");
    still_serves(&mut receiver);
}
