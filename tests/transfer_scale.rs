//! Transfers of many files (issue #18): a folder of more entries than any
//! offer could once hold crosses whole, every name and byte checked, and a
//! many-file transfer cut half way resumes without sending again the files
//! already verified. Real engines, sockets and files; the big tree lives in
//! a tmpfs where there is one, so the test measures Ferry, not the disk.

mod common;

use std::path::{Path, PathBuf};

use common::{Node, random_file};
use ferry::api::{AcceptPolicy, Event, Outcome};

/// A temporary folder in RAM (Linux's /dev/shm) when there is one.
fn ram_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).expect("tmpfs dir")
    } else {
        tempfile::tempdir().expect("tmp")
    }
}

/// What file `i` of the big tree holds: every tenth has its own name in it.
fn content(i: usize) -> Vec<u8> {
    if i.is_multiple_of(10) {
        format!("file {i}").into_bytes()
    } else {
        Vec::new()
    }
}

fn big_tree_path(top: &Path, i: usize) -> PathBuf {
    top.join(format!("d{:03}", i / 1000))
        .join(format!("f{i:06}.txt"))
}

/// 150,000 files: half again the 100,000 entries an offer could hold
/// before protocol 3. Every file arrives under its name with its bytes,
/// and nothing else appears.
#[test]
fn a_folder_of_150_000_files_crosses_with_every_name_and_byte() {
    const FILES: usize = 150_000;
    let src = ram_dir();
    let top = src.path().join("many");
    for d in 0..FILES / 1000 {
        std::fs::create_dir_all(top.join(format!("d{d:03}"))).expect("mkdir");
    }
    for i in 0..FILES {
        std::fs::write(big_tree_path(&top, i), content(i)).expect("write");
    }
    let dest = ram_dir();
    let mut receiver = Node::receiver_saving_to("rx", AcceptPolicy::Everyone, dest.path());
    let mut sender = Node::sender("tx");
    sender.send_file(receiver.addr(), &top);
    let received = receiver.finished();
    let sent = sender.finished();
    let expected = Outcome::Completed {
        files: FILES as u32,
        bytes: (0..FILES).map(|i| content(i).len() as u64).sum(),
    };
    assert_eq!(received, expected);
    assert_eq!(sent, expected);
    let got = dest.path().join("many");
    for i in 0..FILES {
        let path = big_tree_path(&got, i);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(bytes, content(i), "{}", path.display());
    }
    let mut count = 0;
    for dir in std::fs::read_dir(&got).expect("read") {
        let dir = dir.expect("entry");
        assert!(dir.file_type().expect("type").is_dir(), "{:?}", dir.path());
        count += std::fs::read_dir(dir.path()).expect("read").count();
    }
    assert_eq!(count, FILES, "no extra files, no partials, no marker left");
    assert_eq!(std::fs::read_dir(dest.path()).expect("read").count(), 1);
}

/// 2,000 files of 16 KiB, cut by a cancel once about half are verified:
/// the next send continues in the same folder, and only the files not yet
/// verified cross again (each verified one costs a few header bytes).
#[test]
fn many_files_cut_half_way_resume_without_sending_the_verified_ones_again() {
    const FILES: u64 = 2000;
    const SIZE: u64 = 16 * 1024;
    let src = tempfile::tempdir().expect("tmp");
    let top = src.path().join("shots");
    for i in 0..FILES {
        let path = top.join(format!("s{}", i % 7)).join(format!("{i:05}.raw"));
        random_file(&path, SIZE as usize, i);
    }
    // Slow enough that the cancel lands long before the end on a busy machine.
    let common::ThrottledSend {
        mut receiver,
        mut sender,
        relay: _relay,
        id,
        identity,
    } = common::ThrottledSend::start(&top, 2 << 20);
    let mut verified = 0u64;
    receiver.wait("half of the files", |e| {
        if let Event::FilesVerified { paths, .. } = e {
            verified += paths.len() as u64;
        }
        (verified >= FILES / 2).then_some(())
    });
    let (arrived, crossed) =
        common::cancel_and_send_again(&mut sender, &mut receiver, id, identity, vec![top.clone()]);
    assert!((FILES / 2..FILES).contains(&arrived), "{arrived}");
    // The missing files' bytes, plus the offer, pages and per-file headers.
    let allowed = (FILES - arrived) * SIZE * 102 / 100 + 512 * 1024;
    assert!(
        crossed <= allowed,
        "{crossed} bytes crossed for {} missing files (at most {allowed})",
        FILES - arrived
    );
    common::assert_resumed_in_place(&receiver, &top);
}

/// Regression: a small folder's only page sat in the sender's write buffer
/// until the next keep-alive ping flushed it (5 s for every small folder).
/// With pings 20 s apart, a stalled page would show as a 20 s transfer.
#[test]
fn a_small_folder_does_not_wait_for_a_ping_to_be_listed() {
    let src = tempfile::tempdir().expect("tmp");
    let top = src.path().join("few");
    for i in 0..3 {
        random_file(&top.join(format!("sub/{i}.txt")), 100, i);
    }
    let slow_pings = ferry::protocol::Timeouts {
        ping: std::time::Duration::from_secs(20),
        idle: std::time::Duration::from_secs(60),
        ..ferry::protocol::Timeouts::default()
    };
    let mut receiver = Node::receiver_with_timeouts("rx", AcceptPolicy::Everyone, slow_pings);
    let mut sender = Node::sender_with_timeouts("tx", slow_pings);
    let started = std::time::Instant::now();
    sender.send_file(receiver.addr(), &top);
    assert!(receiver.finished().is_success());
    assert!(sender.finished().is_success());
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

/// Folder times survive when a folder's listing spans several pages: each
/// folder gets its time once its files are in (not before, or writing them
/// would move it again), the top one last.
#[test]
fn folder_times_survive_a_listing_of_several_pages() {
    let src = tempfile::tempdir().expect("tmp");
    let top = src.path().join("years");
    let mut dirs = vec![top.clone()];
    for a in 0..5 {
        let year = top.join(format!("y{a}"));
        for i in 0..100 {
            random_file(&year.join(format!("{i:03}.jpg")), 10, i);
        }
        let inner = year.join("best");
        for i in 0..20 {
            random_file(&inner.join(format!("{i:03}.jpg")), 10, 1000 + i);
        }
        std::fs::create_dir_all(year.join("empty")).expect("mkdir");
        dirs.extend([year.join("empty"), inner, year]);
    }
    // Deepest first, so a child's time never moves its parent's.
    for (n, dir) in dirs.iter().rev().enumerate() {
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000 + n as u64);
        std::fs::File::open(dir)
            .and_then(|f| f.set_modified(when))
            .expect("folder time");
    }
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut sender = Node::sender("tx");
    sender.send_file(receiver.addr(), &top);
    assert!(receiver.finished().is_success());
    assert!(sender.finished().is_success());
    for dir in &dirs {
        let inside = dir.strip_prefix(src.path()).expect("inside");
        let got = receiver.root().join(inside);
        let time = |p: &Path| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .expect("time")
        };
        assert_eq!(time(&got), time(dir), "{}", inside.display());
    }
}

/// Two names that sanitising makes one ("x\u{1}" and "x_": a control
/// character becomes `_`), listed more pages apart than the sender lists
/// ahead (so the first is written before the second is planned): each gets its own
/// safe name, whether both are files or a file took the name before a
/// folder, and the transfer completes. In a tmpfs a folder lists newest
/// first, so the names made last are listed first.
#[cfg(unix)]
#[test]
fn names_made_one_by_sanitising_a_page_apart_get_distinct_names() {
    const FILLERS: usize = 2000;
    let src = ram_dir();
    let top = src.path().join("clash");
    random_file(&top.join("x\u{1}").join("inner.bin"), 300, 1);
    std::fs::write(top.join("y\u{1}"), b"first y").expect("write");
    for i in 0..FILLERS {
        std::fs::write(top.join(format!("f{i:04}")), i.to_string()).expect("write");
    }
    std::fs::write(top.join("x_"), b"a file named x_").expect("write");
    std::fs::write(top.join("y_"), b"second y").expect("write");
    let dest = ram_dir();
    let mut receiver = Node::receiver_saving_to("rx", AcceptPolicy::Everyone, dest.path());
    let mut sender = Node::sender("tx");
    sender.send_file(receiver.addr(), &top);
    let expected = Outcome::Completed {
        files: FILLERS as u32 + 4,
        bytes: (0..FILLERS)
            .map(|i| i.to_string().len() as u64)
            .sum::<u64>()
            + 300
            + 7
            + 15
            + 8,
    };
    assert_eq!(receiver.finished(), expected);
    assert_eq!(sender.finished(), expected);
    let got = dest.path().join("clash");
    for i in 0..FILLERS {
        let bytes = std::fs::read(got.join(format!("f{i:04}"))).expect("filler");
        assert_eq!(bytes, i.to_string().into_bytes());
    }
    // The folder and the file named x_: one keeps the name, the other is numbered.
    let (x, x1) = (got.join("x_"), got.join("x_ (1)"));
    let (file, folder) = if x.is_file() { (&x, &x1) } else { (&x1, &x) };
    assert_eq!(std::fs::read(file).expect("x file"), b"a file named x_");
    assert_eq!(
        common::sha256_file(&folder.join("inner.bin")),
        common::sha256_file(&top.join("x\u{1}").join("inner.bin"))
    );
    let mut ys = [
        std::fs::read(got.join("y_")).expect("y_"),
        std::fs::read(got.join("y_ (1)")).expect("y_ (1)"),
    ];
    ys.sort();
    assert_eq!(ys, [b"first y".to_vec(), b"second y".to_vec()]);
    let names = std::fs::read_dir(&got).expect("read").count();
    assert_eq!(names, FILLERS + 4, "nothing else, no partial left");
}
