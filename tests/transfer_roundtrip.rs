//! Guards the core promise: what is sent arrives byte for byte, with its
//! folder structure, empty files and folders, odd names and modification
//! times, and texts arrive as messages.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use common::{Node, partials, random_file, sha256_file, tree};
use ferry::api::{AcceptPolicy, Command, Event};
use ferry::api::{Outcome, TransferId};

fn send(sender: &mut Node, receiver: &mut Node, paths: Vec<PathBuf>) -> (Outcome, Outcome) {
    let id = TransferId::fresh();
    sender.engine.send(Command::Send {
        id,
        to: receiver.addr(),
        paths,
    });
    let receiver_outcome = receiver.finished();
    let sender_outcome = sender.finished();
    (sender_outcome, receiver_outcome)
}

#[test]
fn a_64_mib_random_file_arrives_byte_for_byte() {
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("big.bin");
    random_file(&file, 64 << 20, 7);
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut sender = Node::sender("tx");
    let started = Instant::now();
    let (sent, received) = send(&mut sender, &mut receiver, vec![file.clone()]);
    let elapsed = started.elapsed();
    assert_eq!(
        sent,
        Outcome::Completed {
            files: 1,
            bytes: 64 << 20
        }
    );
    assert_eq!(
        received,
        Outcome::Completed {
            files: 1,
            bytes: 64 << 20
        }
    );
    let landed = receiver.root().join("big.bin");
    assert_eq!(sha256_file(&landed), sha256_file(&file));
    assert!(partials(receiver.root()).is_empty());
    // A figure for the record, not a pass/fail: speed is measured by benches/.
    eprintln!(
        "64 MiB over loopback (debug build): {:.2} s, {:.0} MiB/s",
        elapsed.as_secs_f64(),
        64.0 / elapsed.as_secs_f64()
    );
}

#[test]
fn two_thousand_small_files_in_nested_folders_keep_their_tree() {
    let src = tempfile::tempdir().expect("tmp");
    let top = src.path().join("project");
    for i in 0..2000u64 {
        let path = top
            .join(format!("d{}", i % 7))
            .join(format!("s{}", i % 13))
            .join(format!("f{i}.dat"));
        random_file(&path, (i as usize * 37) % 5000, i);
    }
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut sender = Node::sender("tx");
    let (sent, received) = send(&mut sender, &mut receiver, vec![top.clone()]);
    assert!(
        matches!(sent, Outcome::Completed { files: 2000, .. }),
        "{sent:?}"
    );
    assert!(
        matches!(received, Outcome::Completed { files: 2000, .. }),
        "{received:?}"
    );
    assert_eq!(tree(&receiver.root().join("project")), tree(&top));
    assert!(
        !receiver.root().join("project/.ferry-incomplete").exists(),
        "marker removed on completion"
    );
}

#[test]
fn empty_files_empty_folders_odd_names_and_times_survive() {
    let src = tempfile::tempdir().expect("tmp");
    let top = src.path().join("Fotos été 2024");
    std::fs::create_dir_all(top.join("leer/auch leer")).expect("mkdir");
    std::fs::write(top.join("empty.txt"), b"").expect("write");
    std::fs::write(top.join("naïve ☃ file (final).txt"), "snow").expect("write");
    std::fs::write(top.join("  spaced  name .txt"), "s").expect("write");
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    std::fs::File::options()
        .write(true)
        .open(top.join("empty.txt"))
        .and_then(|f| f.set_modified(old))
        .expect("mtime");
    let single = src.path().join("日本語.md");
    std::fs::write(&single, "こんにちは").expect("write");
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut sender = Node::sender("tx");
    let (sent, _) = send(
        &mut sender,
        &mut receiver,
        vec![top.clone(), single.clone()],
    );
    assert!(sent.is_success(), "{sent:?}");
    assert_eq!(tree(&receiver.root().join("Fotos été 2024")), tree(&top));
    assert!(
        receiver
            .root()
            .join("Fotos été 2024/leer/auch leer")
            .is_dir()
    );
    assert_eq!(
        std::fs::read_to_string(receiver.root().join("日本語.md")).expect("read"),
        "こんにちは"
    );
    let mtime = std::fs::metadata(receiver.root().join("Fotos été 2024/empty.txt"))
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(mtime, old);
}

#[test]
fn a_text_message_arrives_as_a_message_and_writes_nothing() {
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut sender = Node::sender("tx");
    let id = TransferId::fresh();
    let text = "Meeting moved to 3 pm — bring the 🍰".to_string();
    sender.engine.send(Command::SendText {
        id,
        to: receiver.addr(),
        text: text.clone(),
    });
    let got = receiver.wait("text", |e| match e {
        Event::TextReceived { text, from, .. } => Some((text.clone(), from.alias.clone())),
        _ => None,
    });
    assert_eq!(got, (text, "tx".to_string()));
    assert!(receiver.finished().is_success());
    assert!(sender.finished().is_success());
    assert_eq!(std::fs::read_dir(receiver.root()).expect("read").count(), 0);
}

#[test]
fn existing_names_are_never_overwritten() {
    let src = tempfile::tempdir().expect("tmp");
    std::fs::write(src.path().join("report.pdf"), b"new report").expect("write");
    std::fs::create_dir_all(src.path().join("photos")).expect("mkdir");
    std::fs::write(src.path().join("photos/a.jpg"), b"new photo").expect("write");
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    std::fs::write(receiver.root().join("report.pdf"), b"old report").expect("write");
    std::fs::create_dir(receiver.root().join("photos")).expect("mkdir");
    std::fs::write(receiver.root().join("photos/a.jpg"), b"old photo").expect("write");
    let mut sender = Node::sender("tx");
    let paths = vec![src.path().join("report.pdf"), src.path().join("photos")];
    let (sent, _) = send(&mut sender, &mut receiver, paths.clone());
    assert!(sent.is_success(), "{sent:?}");
    let root = receiver.root().to_path_buf();
    let read = |p: &str| std::fs::read(root.join(p)).expect(p);
    assert_eq!(read("report.pdf"), b"old report");
    assert_eq!(read("report (1).pdf"), b"new report");
    assert_eq!(read("photos/a.jpg"), b"old photo");
    assert_eq!(read("photos (1)/a.jpg"), b"new photo");
    // Again: the next free numbers.
    let (sent, _) = send(&mut sender, &mut receiver, paths);
    assert!(sent.is_success(), "{sent:?}");
    assert_eq!(read("report (2).pdf"), b"new report");
    assert_eq!(read("photos (2)/a.jpg"), b"new photo");
}

#[test]
fn several_senders_into_one_receiver_all_verify() {
    let src = tempfile::tempdir().expect("tmp");
    let receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut senders: Vec<Node> = (0..4).map(|i| Node::sender(&format!("tx{i}"))).collect();
    for (i, sender) in senders.iter().enumerate() {
        let file = src.path().join(format!("from-{i}.bin"));
        random_file(&file, 3 << 20, i as u64);
        sender.engine.send(Command::Send {
            id: TransferId::fresh(),
            to: receiver.addr(),
            paths: vec![file],
        });
    }
    for sender in &mut senders {
        assert!(sender.finished().is_success());
    }
    for i in 0..4 {
        let name = format!("from-{i}.bin");
        assert_eq!(
            sha256_file(&receiver.root().join(&name)),
            sha256_file(&src.path().join(&name))
        );
    }
}
