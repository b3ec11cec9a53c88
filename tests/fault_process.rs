//! Guards a receiver that dies mid-file (SIGKILL, power cut): the sender
//! reports the lost connection in a sentence, nothing appears under the
//! final name, and when the receiver is started again on the same folder the
//! next send of the same file from the same device resumes it ("Resuming:")
//! and ends verified with no partial left. Drives the real `ferry` binary on
//! 127.0.0.1. (The sender killed mid-file is in transfer_cancel_resume.rs.)

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Relay, partials, random_file, sha256_file, wait_for_len};

fn ferry(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
    command
        .env("FERRY_CONFIG_DIR", config)
        .env("FERRY_INTERFACES", "lo")
        // LocalSend's server on a free port, never the real 53317.
        .env("FERRY_LOCALSEND_PORT", "0")
        .env_remove("RUST_LOG");
    command
}

/// Starts `ferry receive --once --yes --port 0 --dir D` and returns it with
/// its port (read from its first line) and the rest of its output.
fn start_receiver(config: &Path, dir: &Path) -> (Child, u16, BufReader<ChildStdout>) {
    let mut child = ferry(config)
        .args(["receive", "--once", "--yes", "--port", "0", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferry receive");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("first line");
    let port = line
        .strip_prefix("Listening on port ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (child, port, out)
}

#[test]
fn a_receiver_killed_mid_file_resumes_after_a_restart() {
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("video.bin");
    let size: u64 = 32 << 20;
    random_file(&file, size as usize, 31);
    let rx_config = tempfile::tempdir().expect("tmp");
    let tx_config = tempfile::tempdir().expect("tmp");
    let dir = tempfile::tempdir().expect("tmp");
    let part = dir.path().join("video.bin.ferry-part");

    let (mut receiver, port, _) = start_receiver(rx_config.path(), dir.path());
    let slow = Relay::throttled(([127, 0, 0, 1], port).into(), 8 << 20);
    let sender = ferry(tx_config.path())
        .args(["send", "--trust-new", "--to", &slow.addr.to_string()])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry send");
    wait_for_len(&part, 4 << 20);
    receiver.kill().expect("SIGKILL the receiver");
    let _ = receiver.wait();
    let killed_at = Instant::now();

    let out = sender.wait_with_output().expect("sender ends");
    let said = String::from_utf8_lossy(&out.stderr);
    eprintln!("sender said: {said}");
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("closed the connection") || said.contains("was lost"),
        "{said}"
    );
    assert!(
        killed_at.elapsed() < Duration::from_secs(10),
        "the sender noticed after {:?}",
        killed_at.elapsed()
    );
    assert!(!dir.path().join("video.bin").exists(), "no final name");
    let kept = std::fs::metadata(&part).expect("partial kept").len();
    assert!(kept >= 4 << 20 && kept < size, "{kept}");

    // Same folder, same receiver identity, same sender identity.
    let (mut receiver, port, mut rx_out) = start_receiver(rx_config.path(), dir.path());
    let status = ferry(tx_config.path())
        .args(["send", "--trust-new", "--to", &format!("127.0.0.1:{port}")])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run ferry send");
    assert!(status.success(), "second send: {status}");
    assert!(receiver.wait().expect("receiver exits").success());
    let mut printed = String::new();
    rx_out
        .read_to_string(&mut printed)
        .expect("receiver output");
    assert!(printed.contains("Resuming:"), "{printed}");
    assert!(printed.contains("Received: 1 file,"), "{printed}");
    assert_eq!(
        sha256_file(&dir.path().join("video.bin")),
        sha256_file(&file)
    );
    assert!(partials(dir.path()).is_empty());
}
