//! Guards the timers of docs/PROTOCOL.md ("Timeouts and keep-alive"): a peer
//! that connects and says nothing, trickles bytes, or goes silent mid-file is
//! dropped in about the configured time, its connection slot and threads are
//! freed, other transfers carry on, and a slow decision or a UI that stops
//! reading events never trips a timer. The engines here run with
//! `common::quick_timeouts()` (about a second) instead of the defaults (30 s).
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    Node, Relay, pair_as_receiver, pair_as_sender, partials, quick_timeouts, random_file,
    raw_device, sha256_file,
};
use ferry::api::Outcome;
use ferry::api::{AcceptPolicy, Command, Decision, Event};
use ferry::engine::MAX_TRANSFER_CONNECTIONS;
use ferry::protocol::{FrameReader, FrameWriter, Message, WantedFile};
use ferry::secure::identity::Identity;
use ferry::secure::link::Link;

/// The tests below count the process's connection threads, so they must not
/// run beside each other.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Threads of this process whose name starts with one of `prefixes`.
fn threads_named(prefixes: &[&str]) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .filter(|name| prefixes.iter().any(|p| name.trim_end().starts_with(p)))
        .count()
}

/// Waits (bounded) until the server side closes `stream`; returns how long
/// after `since` that happened, or None if it stayed open for `limit`.
fn closed_within(stream: &mut TcpStream, since: Instant, limit: Duration) -> Option<Duration> {
    let mut buf = [0u8; 4096];
    while since.elapsed() < limit {
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        match stream.read(&mut buf) {
            Ok(0) => return Some(since.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some(since.elapsed()),
        }
    }
    None
}

#[test]
fn a_peer_that_connects_and_says_nothing_is_dropped_and_others_are_unaffected() {
    let _serial = serial();
    let timeouts = quick_timeouts();
    let mut receiver = Node::receiver_with_timeouts("rx", AcceptPolicy::Everyone, timeouts);
    let before = threads_named(&["ferry-conn", "ferry-deadline"]);
    let opened = Instant::now();
    let mut silent: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(receiver.addr()).expect("connect"))
        .collect();

    // A real transfer while 20 silent peers hold connections.
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("meanwhile.bin");
    random_file(&file, 2 << 20, 8);
    let mut sender = Node::sender_with_timeouts("tx", timeouts);
    sender.send_file(receiver.addr(), &file);
    assert!(sender.finished().is_success());
    assert!(receiver.finished().is_success());
    assert_eq!(
        sha256_file(&receiver.root().join("meanwhile.bin")),
        sha256_file(&file)
    );

    for stream in &mut silent {
        let after = closed_within(stream, opened, Duration::from_secs(8))
            .expect("a silent peer must be disconnected");
        assert!(
            after >= timeouts.handshake.mul_f32(0.9) && after < timeouts.handshake * 4,
            "dropped after {after:?}, budget {:?}",
            timeouts.handshake
        );
    }
    // Their threads are gone too.
    let deadline = Instant::now() + Duration::from_secs(5);
    while threads_named(&["ferry-conn", "ferry-deadline"]) > before && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(threads_named(&["ferry-conn", "ferry-deadline"]), before);
}

/// Regression: `bug_trickling_peer_held_a_connection_forever`. The handshake
/// timeout used to be a per-read socket timeout, so a peer sending one byte
/// just before each read timed out kept its connection (and one of the
/// `MAX_TRANSFER_CONNECTIONS` slots) for ever; enough of them locked every sender out.
/// The budget now covers greeting, TLS handshake and first message together.
#[test]
fn bug_trickling_peer_held_a_connection_forever() {
    let _serial = serial();
    let timeouts = quick_timeouts();
    let mut receiver = Node::receiver_with_timeouts("rx", AcceptPolicy::Everyone, timeouts);
    // More tricklers than connection slots. Each sends, one byte every 300 ms
    // (well inside the per-read timeout), a valid greeting and then a TLS
    // record header announcing 16 KiB that never completes.
    let mut script = b"FERRY\0\x00\x02".to_vec();
    script.extend_from_slice(&[0x16, 0x03, 0x01, 0x40, 0x00]);
    script.resize(script.len() + 16 * 1024, 0);
    let count = MAX_TRANSFER_CONNECTIONS + 4;
    let opened = Instant::now();
    let mut streams: Vec<TcpStream> = (0..count)
        .map(|_| TcpStream::connect(receiver.addr()).expect("connect"))
        .collect();
    let writers: Vec<TcpStream> = streams
        .iter()
        .map(|s| s.try_clone().expect("clone"))
        .collect();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let trickler = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut writers: Vec<Option<TcpStream>> = writers.into_iter().map(Some).collect();
            for &byte in &script {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                for slot in &mut writers {
                    if let Some(w) = slot
                        && w.write_all(&[byte]).is_err()
                    {
                        *slot = None;
                    }
                }
                thread::sleep(Duration::from_millis(300));
            }
        })
    };
    for stream in &mut streams {
        let after = closed_within(stream, opened, Duration::from_secs(8));
        assert!(
            after.is_some_and(|t| t < timeouts.handshake * 4),
            "a trickling peer kept its connection for {after:?}"
        );
    }
    // Slots are free again: a real sender gets through while the flood is still running.
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("after.txt");
    std::fs::write(&file, "after the flood").expect("write");
    let mut sender = Node::sender_with_timeouts("tx", timeouts);
    sender.send_file(receiver.addr(), &file);
    assert!(sender.finished().is_success());
    assert!(receiver.finished().is_success());
    stop.store(true, Ordering::SeqCst);
    let _ = trickler.join();
}

#[test]
fn a_sender_that_goes_silent_mid_file_is_dropped_and_the_partial_kept() {
    let _serial = serial();
    let timeouts = quick_timeouts();
    let mut receiver = Node::receiver_with_timeouts("rx", AcceptPolicy::Everyone, timeouts);
    let identity = Identity::ephemeral().expect("identity");
    let link = Link::connect_with(receiver.addr(), &identity, &timeouts).expect("connect");
    let mut reader = FrameReader::new(link.reader);
    let mut writer = FrameWriter::new(link.writer);
    let me = raw_device(&identity, "mute");
    pair_as_sender(&mut reader, &mut writer, &me, &link.peer_id).expect("pairing");
    let offer = common::one_file_offer(1, me, "stalled.bin", 1 << 20);
    writer.send_now(&Message::Offer(offer)).expect("offer");
    assert!(matches!(
        reader.read_message().expect("answer"),
        Message::Accept(_)
    ));
    writer
        .send(&Message::FileStart {
            index: 0,
            offset: 0,
        })
        .expect("start");
    writer.send_data(&[7u8; 100 * 1024]).expect("data");
    writer.flush().expect("flush");
    let silent_since = Instant::now();
    // Now say nothing at all (not even pings) but keep the connection open.
    let outcome = receiver.finished();
    let took = silent_since.elapsed();
    let Outcome::Failed(reason) = &outcome else {
        panic!("expected a failure, got {outcome:?}")
    };
    assert!(reason.contains("stopped responding"), "{reason}");
    assert!(reason.contains("send again to resume"), "{reason}");
    assert!(
        took < timeouts.idle * 4,
        "noticed after {took:?}, idle timeout {:?}",
        timeouts.idle
    );
    assert!(!receiver.root().join("stalled.bin").exists());
    let part = receiver.root().join("stalled.bin.ferry-part");
    assert_eq!(
        std::fs::metadata(&part).expect("partial kept").len(),
        100 * 1024
    );
    drop(writer);
}

#[test]
fn a_receiver_that_accepts_and_goes_silent_fails_the_sender_quickly() {
    let _serial = serial();
    let timeouts = quick_timeouts();
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = server.local_addr().expect("addr");
    let (release, released) = std::sync::mpsc::channel::<()>();
    let fake = thread::spawn(move || {
        let identity = Identity::ephemeral().expect("identity");
        let (stream, _) = server.accept().expect("accept");
        let link = Link::accept_with(stream, &identity, &timeouts).expect("accept link");
        let mut reader = FrameReader::new(link.reader);
        let mut writer = FrameWriter::new(link.writer);
        let me = raw_device(&identity, "frozen");
        pair_as_receiver(&mut reader, &mut writer, &me, &link.peer_id);
        let Ok(Message::Offer(_)) = reader.read_message() else {
            panic!("expected an offer")
        };
        writer
            .send_now(&Message::Accept(vec![WantedFile {
                index: 0,
                offset: 0,
            }]))
            .expect("accept");
        // Never read again, never ping: a receiver whose machine froze.
        let _ = released.recv_timeout(Duration::from_secs(20));
        drop((reader, writer));
    });
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("big.bin");
    random_file(&file, 32 << 20, 4);
    let mut sender = Node::sender_with_timeouts("tx", timeouts);
    let started = Instant::now();
    sender.send_file(addr, &file);
    let outcome = sender.finished();
    let took = started.elapsed();
    let Outcome::Failed(reason) = &outcome else {
        panic!("expected a failure, got {outcome:?}")
    };
    assert!(reason.contains("stopped responding"), "{reason}");
    assert!(took < Duration::from_secs(6), "noticed after {took:?}");
    drop(release);
    let _ = fake.join();
}

#[test]
fn a_slow_decision_and_a_ui_that_stops_reading_events_never_trip_the_timers() {
    let _serial = serial();
    let timeouts = quick_timeouts();
    let mut receiver = Node::receiver_with_timeouts("rx", AcceptPolicy::Ask, timeouts);
    // Throttled so the transfer itself also outlasts the idle timeout.
    let relay = Relay::throttled(receiver.addr(), 4 << 20);
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("patient.bin");
    random_file(&file, 10 << 20, 5);
    let mut sender = Node::sender_with_timeouts("tx", timeouts);
    sender.send_file(relay.addr, &file);
    let id = receiver.wait("offer", |e| match e {
        Event::Incoming { id, .. } => Some(*id),
        _ => None,
    });
    // The person takes three idle timeouts to decide; nobody reads events.
    thread::sleep(timeouts.idle * 3);
    receiver.engine.send(Command::Decide {
        id,
        decision: Decision::AcceptAll,
    });
    // The transfer takes ~2.5 s; the "UI" reads no events meanwhile.
    thread::sleep(Duration::from_millis(1500));
    assert!(sender.finished().is_success());
    assert!(receiver.finished().is_success());
    assert_eq!(
        sha256_file(&receiver.root().join("patient.bin")),
        sha256_file(&file)
    );
    assert!(partials(receiver.root()).is_empty());
}

/// Regression: `bug_a_paused_ui_stalled_a_transfer_of_many_files`. Every
/// verified file is an event that must not be lost, and the worker used to
/// wait for room in the (bounded) event channel. A window that stopped
/// reading events (minimised, busy) during a transfer of more files than the
/// channel holds stalled the worker: no more pings or reads, and the peer gave
/// up after the idle timeout. Workers now queue such events in order and
/// never wait for the UI mid-transfer.
#[test]
fn bug_a_paused_ui_stalled_a_transfer_of_many_files() {
    let _serial = serial();
    let timeouts = quick_timeouts();
    // Thousands of tiny files: in a tmpfs when there is one (file creation on
    // a disk file system costs far more than the transfer).
    let fast = |()| match std::path::Path::new("/dev/shm") {
        shm if shm.is_dir() => tempfile::tempdir_in(shm),
        _ => tempfile::tempdir(),
    };
    let src = fast(()).expect("tmp");
    let saved = fast(()).expect("tmp");
    let top = src.path().join("many");
    std::fs::create_dir(&top).expect("mkdir");
    // Several times what the engine's event channel holds.
    const FILES: usize = 4500;
    const { assert!(FILES > 4 * ferry::api::EVENT_CAPACITY) };
    for i in 0..FILES {
        std::fs::write(top.join(format!("{i:05}.txt")), i.to_string()).expect("write");
    }
    let mut receiver =
        Node::receiver_saving_to_with("rx", AcceptPolicy::Everyone, saved.path(), timeouts);
    let mut sender = Node::sender_with_timeouts("tx", timeouts);
    sender.send_file(receiver.addr(), &top);
    // The sender's "UI" waits for the end; the receiver's reads nothing yet.
    let outcome = sender.finished();
    assert!(outcome.is_success(), "{outcome:?}");
    let outcome = receiver.finished();
    assert!(outcome.is_success(), "{outcome:?}");
    let verified = common::verified_files(&receiver.seen);
    assert_eq!(verified, FILES, "no event lost");
    let arrived = std::fs::read_dir(saved.path().join("many")).expect("read");
    assert_eq!(arrived.count(), FILES);
}
