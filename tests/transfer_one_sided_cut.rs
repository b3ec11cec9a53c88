//! Issue #16 item 4, the race left open: the sender sees its connection die
//! at once and resumes by itself while the receiver still thinks the old
//! session is alive (its socket open and silent, its idle timeout the long
//! default). The resumed offer — same key, same wire `transfer_id` — ends the
//! old session (its partial kept) and continues it: no second prompt, the
//! same row, the same name (no `NAME (1)`), only the missing part re-sent.
//! And a different key with the same wire id can neither end nor take over
//! another device's session (docs/SECURITY.md).
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Node, pair_as_sender, partials, random_file, sha256_file};
use ferry::api::{AcceptPolicy, Event, Outcome};
use ferry::protocol::{FrameReader, FrameWriter, Message, Timeouts};
use ferry::secure::identity::Identity;
use ferry::secure::link::Link;

const SIZE: u64 = 32 << 20;

/// A sender-side socket and its connection's "cut" flag.
type Cuttable = (TcpStream, Arc<AtomicBool>);

/// A relay whose cut reaches only the sender: the sender's sockets are shut,
/// the receiver's stay open and hear nothing more (what it sends is read and
/// dropped), as when a Wi-Fi glitch is seen by one side only. New
/// connections pass as before.
struct OneSided {
    addr: SocketAddr,
    /// Bytes passed towards the receiver.
    forwarded: Arc<AtomicU64>,
    /// The sender-side sockets and each connection's "cut" flag.
    conns: Arc<Mutex<Vec<Cuttable>>>,
    /// The receiver-side sockets, kept open.
    _held: Arc<Mutex<Vec<TcpStream>>>,
}

impl OneSided {
    fn start(target: SocketAddr, rate: u64) -> OneSided {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let forwarded = Arc::new(AtomicU64::new(0));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (fwd, all, keep) = (forwarded.clone(), conns.clone(), held.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let cut = Arc::new(AtomicBool::new(false));
                let clone = |s: &TcpStream| s.try_clone().expect("clone");
                all.lock()
                    .expect("lock")
                    .push((clone(&client), cut.clone()));
                keep.lock().expect("lock").push(clone(&server));
                let (c2, s2, cut2) = (clone(&client), clone(&server), cut.clone());
                let fwd = fwd.clone();
                thread::spawn(move || pipe(client, server, &cut, rate, Some(&fwd)));
                thread::spawn(move || pipe(s2, c2, &cut2, 0, None));
            }
        });
        OneSided {
            addr,
            forwarded,
            conns,
            _held: held,
        }
    }

    /// Cuts the sender's side of every connection so far.
    fn cut_sender_side(&self) {
        for (client, cut) in self.conns.lock().expect("lock").drain(..) {
            cut.store(true, Ordering::SeqCst);
            let _ = client.shutdown(Shutdown::Both);
        }
    }
}

/// Copies `from` to `to` at `rate` bytes/s (0: unpaced) until `cut`, then
/// only drains `from` and never closes `to` (the far side hears nothing).
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    cut: &AtomicBool,
    rate: u64,
    count: Option<&AtomicU64>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let started = Instant::now();
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if cut.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        total += n as u64;
        if let Some(count) = count {
            count.fetch_add(n as u64, Ordering::SeqCst);
        }
        if rate > 0 {
            let due = Duration::from_secs_f64(total as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                thread::sleep(wait);
            }
        }
    }
    if !cut.load(Ordering::SeqCst) {
        let _ = to.shutdown(Shutdown::Write);
    }
}

#[test]
fn a_cut_only_the_sender_sees_resumes_into_the_same_session() {
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("film.mkv");
    random_file(&file, SIZE as usize, 43);
    // The protocol's default timers: the receiver would notice the silence
    // only after its long idle timeout, far beyond this test.
    let mut receiver =
        Node::receiver_with_timeouts("Studio desk", AcceptPolicy::Ask, Timeouts::default());
    let relay = OneSided::start(receiver.addr(), 8 << 20);
    let mut sender = Node::sender("laptop");
    let id = sender.send_file(relay.addr, &file);
    let row = receiver.accept_next_offer();
    receiver.wait("4 MiB arrived", |e| match e {
        Event::Progress(p) if p.bytes_done >= 4 << 20 => Some(()),
        _ => None,
    });

    relay.cut_sender_side();
    let before = relay.forwarded.load(Ordering::SeqCst);
    assert!(matches!(sender.finished(), Outcome::Failed(_)));
    let resumed = sender.started_again(id);
    assert!((4 << 20..SIZE).contains(&resumed), "{resumed}");
    assert!(sender.finished().is_success());

    // The receiver: no second prompt, the old row continues, one end only.
    let outcome = receiver.wait("the end", |e| match e {
        Event::Incoming { .. } => panic!("the receiver was asked again"),
        Event::Finished { id, outcome, .. } => {
            assert_eq!(*id, row, "the same row ends");
            Some(outcome.clone())
        }
        _ => None,
    });
    assert!(outcome.is_success(), "{outcome:?}");
    let auto = receiver.seen.iter().find_map(|e| match e {
        Event::AutoAccepted { id, .. } => Some(*id),
        _ => None,
    });
    assert_eq!(auto, Some(row), "taken as the accepted offer, in its row");
    let started: Vec<u64> = receiver
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::Started { resumed_bytes, .. } => Some(*resumed_bytes),
            _ => None,
        })
        .collect();
    assert_eq!(started, vec![0, resumed], "resumed from the kept partial");
    let names: Vec<_> = std::fs::read_dir(receiver.root())
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("film.mkv")],
        "no NAME (1)"
    );
    assert_eq!(
        sha256_file(&receiver.root().join("film.mkv")),
        sha256_file(&file)
    );
    assert!(partials(receiver.root()).is_empty());
    let crossed = relay.forwarded.load(Ordering::SeqCst) - before;
    let rest = SIZE - resumed;
    assert!(
        (rest..rest + (512 << 10)).contains(&crossed),
        "{crossed} bytes crossed for the {rest} that were missing"
    );
}

type Reader = FrameReader<Box<dyn Read + Send>>;
type Writer = FrameWriter<Box<dyn Write + Send>>;

/// A hand-made sender with its own key, paired, that offers one file under
/// wire id `wire_id`; its reader and writer.
fn offer_as(to: SocketAddr, alias: &str, wire_id: u64) -> (Reader, Writer) {
    let identity = Identity::ephemeral().expect("identity");
    let link = Link::connect(to, &identity).expect("connect");
    let device = common::raw_device(&identity, alias);
    let mut reader: Reader = FrameReader::new(link.reader);
    let mut writer: Writer = FrameWriter::new(link.writer);
    pair_as_sender(&mut reader, &mut writer, &device, &link.peer_id).expect("pairing");
    let offer = common::one_file_offer(wire_id, device, "film.mkv", 1 << 20);
    writer.send_now(&Message::Offer(offer)).expect("offer");
    (reader, writer)
}

/// Another device offering with the wire id of a running session must not
/// end it or take it over: it is a new offer from a new device.
#[test]
fn another_key_with_the_same_wire_id_cannot_end_or_take_over_a_session() {
    let mut receiver =
        Node::receiver_with_timeouts("Studio desk", AcceptPolicy::Ask, Timeouts::default());
    let (mut victim_rx, victim_tx) = offer_as(receiver.addr(), "laptop", 77);
    let victim = receiver.accept_next_offer();
    let answer = victim_rx.read_message().expect("answer");
    assert!(matches!(answer, Message::Accept(_)), "{answer:?}");
    receiver.wait("the victim's session runs", |e| match e {
        Event::Started { id, .. } if *id == victim => Some(()),
        _ => None,
    });

    let _mallory = offer_as(receiver.addr(), "laptop", 77);
    let asked = receiver.wait("mallory's offer", |e| match e {
        Event::AutoAccepted { .. } => panic!("another key's offer was taken unasked"),
        Event::Finished { id, .. } if *id == victim => {
            panic!("another key ended the victim's session")
        }
        Event::Incoming { id, .. } => Some(*id),
        _ => None,
    });
    assert_ne!(asked, victim, "another key took over the victim's row");
    // Bounded look: the victim's session goes on.
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Ok(event) = receiver
        .engine
        .events()
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        assert!(
            !matches!(event, Event::Finished { id, .. } if id == victim),
            "another key ended the victim's session: {event:?}"
        );
    }
    // The victim's connection was still served: only its own end ends it.
    drop((victim_rx, victim_tx));
    let ended = receiver.wait("the victim's end", |e| match e {
        Event::Finished { id, outcome, .. } if *id == victim => Some(outcome.clone()),
        _ => None,
    });
    assert!(!matches!(ended, Outcome::Completed { .. }), "{ended:?}");
}
