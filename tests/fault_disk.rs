//! Guards the receiver's disk faults: a disk that fills up mid-file gives a
//! clear "not enough space" on both sides, keeps the partial for a resume and
//! never uses the final name; an offer that cannot fit is refused before any
//! byte; a disk that fills while many small files land stops cleanly and
//! resumes; a read-only download folder is refused before any byte. Each test
//! mounts a small tmpfs, so it needs root: under CI its absence fails the
//! test, elsewhere the test prints why it is skipped and passes.

mod common;
mod require;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;

use common::{Node, Relay, RelayOptions, partials, random_file, sha256_file, tree};
use ferry::api::Outcome;
use ferry::api::{AcceptPolicy, Event};
use ferry::secure::identity::Identity;

/// A tmpfs mounted for one test, unmounted when dropped.
struct Mount {
    _base: tempfile::TempDir,
    path: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs with `options` (e.g. "size=16m"), or says why it cannot.
    fn tmpfs(options: &str) -> Result<Mount, String> {
        if let Some(reason) = require::root("mounting a tmpfs") {
            return Err(reason);
        }
        let base = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = base.path().join("mnt");
        std::fs::create_dir(&path).map_err(|e| e.to_string())?;
        let out = Process::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs -o {options} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Mount { _base: base, path })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        // Lazy: a file still open somewhere must not leave the mount behind.
        let _ = Process::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// A mounted tmpfs, or `None` once `require` has failed the test (CI) or
/// said why it is skipped (elsewhere).
fn tmpfs(options: &str) -> Option<Mount> {
    require::obtain("root (to mount a tmpfs)", Mount::tmpfs(options))
}

/// A receiver that saves into `dir`.
fn receiver_into(dir: &Path) -> Node {
    Node::receiver_saving_to("rx", AcceptPolicy::Everyone, dir)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn no_bytes_flowed(node: &Node) {
    assert!(
        !node
            .seen
            .iter()
            .any(|e| matches!(e, Event::Started { .. } | Event::Progress(_))),
        "no transfer may start: {:#?}",
        node.seen
    );
}

/// Sends `file` to a receiver saving into `dir` and requires the offer to be
/// refused before any byte moved: the sender declined, the receiver failed.
/// What each said, sender first.
fn refused_before_any_byte(dir: &Path, file: PathBuf) -> [String; 2] {
    let mut receiver = receiver_into(dir);
    let mut sender = Node::sender("tx");
    sender.send_paths(receiver.addr(), vec![file]);
    let Outcome::Declined(said_tx) = sender.finished() else {
        panic!("the sender must be declined")
    };
    let Outcome::Failed(said_rx) = receiver.finished() else {
        panic!("the receiver must report a failure")
    };
    eprintln!("receiver said: {said_rx}\nsender said: {said_tx}");
    no_bytes_flowed(&receiver);
    no_bytes_flowed(&sender);
    [said_tx, said_rx]
}

/// Sends `source` at `rate` bytes a second into a receiver saving into
/// `mount`; once 2 MiB arrived, another program fills the disk. Both sides
/// must fail saying there is not enough space. Gives back the receiver (it
/// keeps serving), the sender's identity (to send again), what the receiver
/// said, and the file that fills the disk.
fn fill_the_disk_mid_transfer(
    mount: &Mount,
    source: &Path,
    rate: u64,
) -> (Node, Arc<Identity>, String, PathBuf) {
    let mut receiver = receiver_into(&mount.path);
    let slow = Relay::throttled(receiver.addr(), rate);
    let identity = Arc::new(Identity::ephemeral().expect("id"));
    let mut sender = Node::sender_as("tx", identity.clone());
    sender.send_paths(slow.addr, vec![source.to_path_buf()]);
    receiver.wait("progress", |e| match e {
        Event::Progress(p) if p.bytes_done >= 2 << 20 => Some(()),
        _ => None,
    });
    let filler = mount.path.join("filler");
    {
        let mut out = std::fs::File::create(&filler).expect("filler");
        let block = vec![0xeeu8; 64 * 1024];
        while out.write_all(&block).is_ok() {}
    }
    let Outcome::Failed(said_rx) = receiver.finished() else {
        panic!("the receiver must fail")
    };
    let Outcome::Failed(said_tx) = sender.finished() else {
        panic!("the sender must fail")
    };
    eprintln!("receiver said: {said_rx}\nsender said: {said_tx}");
    assert!(said_rx.contains("not enough space"), "{said_rx}");
    assert!(said_tx.contains("not enough space"), "{said_tx}");
    (receiver, identity, said_rx, filler)
}

#[test]
fn a_disk_that_fills_mid_file_says_so_keeps_the_partial_and_resumes_later() {
    let Some(mount) = tmpfs("size=16m") else {
        return;
    };
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("movie.bin");
    let size = 12 << 20;
    random_file(&file, size, 21);
    let (mut receiver, identity, said_rx, filler) =
        fill_the_disk_mid_transfer(&mount, &file, 8 << 20);
    assert!(said_rx.contains("send again to resume"), "{said_rx}");
    assert!(!mount.path.join("movie.bin").exists(), "no final name");
    let part = mount.path.join("movie.bin.ferry-part");
    let kept = std::fs::metadata(&part).expect("partial kept").len();
    assert!(kept > 0 && kept < size as u64, "{kept}");

    // Space is freed; the same sender sends again and only the rest moves.
    std::fs::remove_file(&filler).expect("remove filler");
    let mut again = Node::sender_as("tx", identity);
    again.send_paths(receiver.addr(), vec![file.clone()]);
    let resumed = receiver.wait("start", |e| match e {
        Event::Started { resumed_bytes, .. } => Some(*resumed_bytes),
        _ => None,
    });
    assert_eq!(resumed, kept);
    assert!(receiver.finished().is_success());
    assert!(again.finished().is_success());
    assert_eq!(
        sha256_file(&mount.path.join("movie.bin")),
        sha256_file(&file)
    );
    assert!(partials(&mount.path).is_empty());
}

/// Small files are held in memory and landed beside the connection's
/// thread (transfer::receive::lander). A disk that fills while they land
/// stops the transfer with the reason on both sides; every file that has a
/// name is whole; once there is room the same sender finishes the folder in
/// place, and the files that had landed do not cross again.
#[test]
fn a_disk_that_fills_while_small_files_land_says_so_and_resumes_later() {
    let Some(mount) = tmpfs("size=16m") else {
        return;
    };
    let src = tempfile::tempdir().expect("tmp");
    let top = src.path().join("notes");
    std::fs::create_dir(&top).expect("mkdir");
    let (count, size) = (600, 16 * 1024);
    for i in 0..count {
        random_file(&top.join(format!("n{i:03}.txt")), size, 100 + i as u64);
    }
    let (mut receiver, identity, _, filler) = fill_the_disk_mid_transfer(&mount, &top, 2 << 20);
    let landed: Vec<String> = entries(&mount.path.join("notes"))
        .into_iter()
        .filter(|name| !name.starts_with(".ferry") && !name.contains(".ferry-part"))
        .collect();
    assert!(
        !landed.is_empty() && landed.len() < count,
        "{} landed",
        landed.len()
    );
    for name in &landed {
        assert_eq!(
            sha256_file(&mount.path.join("notes").join(name)),
            sha256_file(&top.join(name)),
            "{name} has its name only if it is whole"
        );
    }

    std::fs::remove_file(&filler).expect("remove filler");
    let counting = Relay::start(receiver.addr(), RelayOptions::default());
    let mut again = Node::sender_as("tx", identity);
    again.send_paths(counting.addr, vec![top.clone()]);
    assert!(again.finished().is_success());
    assert!(receiver.finished().is_success());
    // Whole, and in place: no numbered copy beside it.
    assert_eq!(tree(&mount.path.join("notes")), tree(&top));
    assert!(!mount.path.join("notes (1)").exists());
    assert!(partials(&mount.path).is_empty());
    let crossed = counting.forwarded.load(std::sync::atomic::Ordering::SeqCst);
    let missing = ((count - landed.len()) * size) as u64;
    assert!(
        crossed < missing + (1 << 20),
        "{crossed} bytes crossed for {missing} missing"
    );
}

#[test]
fn an_offer_that_cannot_fit_is_refused_before_any_byte() {
    let Some(mount) = tmpfs("size=8m") else {
        return;
    };
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("too-big.iso");
    // Sparse on the sender: 20 MiB offered into 8 MiB of space.
    std::fs::File::create(&file)
        .and_then(|f| f.set_len(20 << 20))
        .expect("sparse file");
    for said in refused_before_any_byte(&mount.path, file) {
        assert!(said.contains("Not enough space"), "{said}");
        assert!(said.contains("20.0 MiB needed"), "{said}");
    }
    assert!(
        entries(&mount.path).is_empty(),
        "{:?}",
        entries(&mount.path)
    );
}

#[test]
fn a_read_only_download_folder_is_refused_before_any_byte() {
    let Some(mount) = tmpfs("ro,size=1m") else {
        return;
    };
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("a.txt");
    std::fs::write(&file, "hello").expect("write");
    // The folder itself, and a folder still to be created inside it.
    for dir in [mount.path.clone(), mount.path.join("Downloads")] {
        for said in refused_before_any_byte(&dir, file.clone()) {
            assert!(said.contains("download folder"), "{said}");
            assert!(said.contains("read-only"), "{said}");
        }
    }
    assert!(entries(&mount.path).is_empty());
}
