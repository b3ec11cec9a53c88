//! Guards the sender's side of "never delivered as if fine": a source file
//! that shrinks, grows or is rewritten while it is being sent is detected,
//! abandoned with a sentence on both sides, its partial is deleted and it
//! never appears under its final name, while the other files of the same
//! transfer still arrive verified.

mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::{Node, Relay, partials, random_file, sha256_file};
use ferry::api::{AcceptPolicy, Command, Event};
use ferry::api::{Outcome, TransferId};

const SIZE: usize = 16 << 20;

/// Sends `ok.bin` (small) and `moving.bin` (16 MiB, throttled), lets
/// `meddle` touch `moving.bin` once the receiver has 3 MiB of it, and
/// returns both sides' sentences after checking the disk.
fn send_while(meddle: impl FnOnce(&Path)) -> (String, String) {
    let src = tempfile::tempdir().expect("tmp");
    let ok = src.path().join("ok.bin");
    let moving = src.path().join("moving.bin");
    random_file(&ok, 64 * 1024, 1);
    random_file(&moving, SIZE, 2);
    // An old modification time, so a rewrite within the same millisecond
    // as creating the file still shows as a change.
    let old = SystemTime::now() - Duration::from_secs(3600);
    OpenOptions::new()
        .write(true)
        .open(&moving)
        .and_then(|f| f.set_modified(old))
        .expect("set mtime");
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let slow = Relay::throttled(receiver.addr(), 8 << 20);
    let mut sender = Node::sender("tx");
    sender.engine.send(Command::Send {
        id: TransferId::fresh(),
        to: slow.addr,
        paths: vec![ok.clone(), moving.clone()],
    });
    receiver.wait("progress into moving.bin", |e| match e {
        Event::Progress(p) if p.current == "moving.bin" && p.bytes_done >= 3 << 20 => Some(()),
        _ => None,
    });
    meddle(&moving);
    let Outcome::Failed(said_rx) = receiver.finished() else {
        panic!("the receiver must not report success")
    };
    let Outcome::Failed(said_tx) = sender.finished() else {
        panic!("the sender must not report success")
    };
    eprintln!("receiver said: {said_rx}\nsender said: {said_tx}");
    for said in [&said_rx, &said_tx] {
        assert!(
            said.starts_with("1 of 2 files failed: moving.bin:"),
            "{said}"
        );
    }
    assert_eq!(
        sha256_file(&receiver.root().join("ok.bin")),
        sha256_file(&ok),
        "the unchanged file still arrives"
    );
    assert!(
        !receiver.root().join("moving.bin").exists(),
        "no final name"
    );
    assert!(partials(receiver.root()).is_empty(), "partial deleted");
    (said_rx, said_tx)
}

#[test]
fn a_source_that_shrinks_while_sent_is_abandoned() {
    let (rx, tx) = send_while(|path| {
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(1 << 20))
            .expect("truncate");
    });
    assert!(rx.contains("shrank on the sending device"), "{rx}");
    assert!(tx.contains("shrank on the sending device"), "{tx}");
}

#[test]
fn a_source_that_grows_while_sent_is_abandoned() {
    let (rx, tx) = send_while(|path| {
        let mut f = OpenOptions::new().append(true).open(path).expect("open");
        f.write_all(&[1u8; 4096]).expect("append");
    });
    assert!(rx.contains("grew on the sending device"), "{rx}");
    assert!(tx.contains("grew on the sending device"), "{tx}");
}

#[test]
fn a_source_rewritten_in_place_while_sent_is_abandoned() {
    let (rx, tx) = send_while(|path| {
        // Same size, different bytes near the end (not read yet).
        let mut f = OpenOptions::new().write(true).open(path).expect("open");
        f.seek(SeekFrom::Start(SIZE as u64 - 4096)).expect("seek");
        f.write_all(&[0u8; 4096]).expect("rewrite");
    });
    assert!(rx.contains("changed on the sending device"), "{rx}");
    assert!(tx.contains("changed on the sending device"), "{tx}");
}
