//! Guards the headless commands as a script would use them: the real `ferry`
//! binary, `receive --once --yes` and `send`, exit codes that say how a
//! transfer ended, and errors as one readable sentence.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use common::{random_file, sha256_file};

fn ferry(config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
    // A UDP port of its own, so receivers' loopback beacons never meet
    // another test's (or a developer's running Ferry).
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let udp_port = udp.local_addr().expect("addr").port().to_string();
    command
        .env("FERRY_CONFIG_DIR", config)
        .env("FERRY_INTERFACES", "lo")
        .env("FERRY_UDP_PORT", udp_port)
        // LocalSend's server on a free port, never the real 53317.
        .env("FERRY_LOCALSEND_PORT", "0")
        .env_remove("RUST_LOG");
    command
}

/// Starts `ferry receive` on a free port and returns it with its port.
fn start_receiver(
    config: &Path,
    dir: &Path,
    extra: &[&str],
) -> (Child, BufReader<ChildStdout>, u16) {
    let mut child = ferry(config)
        .args(["receive", "--port", "0", "--once", "--dir"])
        .arg(dir)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn receive");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("first line");
    let port = line
        .split_whitespace()
        .nth(3)
        .and_then(|p| p.trim_end_matches(';').parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (child, stdout, port)
}

/// `ferry send --trust-new` of `paths` to the receiver on `port`, which must
/// succeed; returns what it printed on stdout.
fn send_new_ok(config: &Path, port: u16, paths: &[&Path]) -> String {
    let sent = ferry(config)
        .args(["send", "--trust-new", "--to", &format!("127.0.0.1:{port}")])
        .args(paths)
        .output()
        .expect("run send");
    assert!(
        sent.status.success(),
        "send failed: {}",
        String::from_utf8_lossy(&sent.stderr)
    );
    String::from_utf8_lossy(&sent.stdout).into_owned()
}

#[test]
fn send_and_receive_once_with_yes_move_the_bytes() {
    let work = tempfile::tempdir().expect("tmp");
    let src = work.path().join("src");
    random_file(&src.join("pics/a.bin"), 300_000, 1);
    random_file(&src.join("pics/deep/b.bin"), 5, 2);
    std::fs::write(src.join("note.txt"), "hello").expect("write");
    let out = work.path().join("out");
    let (mut receiver, _stdout, port) = start_receiver(&work.path().join("rcfg"), &out, &["--yes"]);
    let printed = send_new_ok(
        &work.path().join("scfg"),
        port,
        &[&src.join("pics"), &src.join("note.txt")],
    );
    assert!(printed.contains("3 files"), "{printed}");
    assert!(receiver.wait().expect("receiver exits").success());
    for rel in ["pics/a.bin", "pics/deep/b.bin", "note.txt"] {
        assert_eq!(
            sha256_file(&out.join(rel)),
            sha256_file(&src.join(rel)),
            "{rel}"
        );
    }
    // Trusted on first use, the receiver is remembered in the sender's
    // settings: the next send to it (same key) needs neither the flag nor a
    // terminal.
    let (mut receiver, _stdout, port) = start_receiver(&work.path().join("rcfg"), &out, &["--yes"]);
    let again = ferry(&work.path().join("scfg"))
        .args([
            "send",
            "--to",
            &format!("127.0.0.1:{port}"),
            "--text",
            "again",
        ])
        .output()
        .expect("run send");
    assert!(
        again.status.success(),
        "send to a remembered device failed: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(receiver.wait().expect("receiver exits").success());
}

#[test]
fn a_new_receiver_gets_nothing_without_a_terminal_or_trust_new_and_both_print_one_code() {
    let work = tempfile::tempdir().expect("tmp");
    let file = work.path().join("secret.txt");
    std::fs::write(&file, "for your eyes only").expect("write");
    let out = work.path().join("out");
    let (mut receiver, mut stdout, port) =
        start_receiver(&work.path().join("rcfg"), &out, &["--yes"]);
    // stdin is not a terminal here.
    let sent = ferry(&work.path().join("scfg"))
        .args(["send", "--to", &format!("127.0.0.1:{port}")])
        .arg(&file)
        .output()
        .expect("run send");
    let stderr = String::from_utf8_lossy(&sent.stderr);
    assert_eq!(sent.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--trust-new"), "{stderr}");
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    // The receiver showed the code the sender's person was asked about.
    let code = |text: &str, marker: &str| -> String {
        let at = text
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker:?} in {text}"));
        text[at + marker.len()..].chars().take(7).collect()
    };
    let mut shown = String::new();
    stdout.read_line(&mut shown).expect("read");
    assert_eq!(
        code(&shown, "this device's code is "),
        code(&stderr, "Its pairing code is "),
        "{shown}"
    );
    assert_eq!(receiver.wait().expect("exits").code(), Some(4));
    assert!(!out.exists() || std::fs::read_dir(&out).expect("read").count() == 0);
}

#[test]
fn answering_no_at_the_prompt_declines_with_distinct_exit_codes() {
    let work = tempfile::tempdir().expect("tmp");
    let file = work.path().join("secret.txt");
    std::fs::write(&file, "no thanks").expect("write");
    let out = work.path().join("out");
    let (mut receiver, mut stdout, port) = start_receiver(&work.path().join("rcfg"), &out, &[]);
    let sender = ferry(&work.path().join("scfg"))
        .args(["send", "--trust-new", "--to", &format!("127.0.0.1:{port}")])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn send");
    // Read the offer (with the connection's pairing code) as a person
    // would, then answer "n".
    let mut shown = String::new();
    while !shown.contains("secret.txt") {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "receiver ended early: {shown}"
        );
        shown.push_str(&line);
    }
    receiver
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"n\n")
        .expect("answer");
    assert!(shown.contains("pairing code "), "{shown}");
    let sent = sender.wait_with_output().expect("send exits");
    assert_eq!(sent.status.code(), Some(3), "declined is exit code 3");
    assert!(String::from_utf8_lossy(&sent.stderr).contains("Declined by the receiver"));
    assert_eq!(receiver.wait().expect("exits").code(), Some(3));
    assert!(!out.join("secret.txt").exists());
}

#[test]
fn an_unreachable_receiver_is_one_readable_sentence() {
    let work = tempfile::tempdir().expect("tmp");
    let file = work.path().join("a.txt");
    std::fs::write(&file, "x").expect("write");
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let sent = ferry(work.path())
        .args(["send", "--to", &format!("127.0.0.1:{port}")])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(sent.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&sent.stderr);
    assert!(
        stderr.contains("Nothing is accepting transfers at 127.0.0.1"),
        "{stderr}"
    );
    assert_eq!(
        stderr
            .trim()
            .lines()
            .filter(|l| l.starts_with("ferry:"))
            .count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains("Os {"), "no Debug dumps: {stderr}");
}

#[test]
fn help_and_version_work_for_every_command() {
    let work = tempfile::tempdir().expect("tmp");
    let version = ferry(work.path()).arg("--version").output().expect("run");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("ferry "));
    for command in [
        vec!["--help"],
        vec!["send", "--help"],
        vec!["receive", "--help"],
    ] {
        let out = ferry(work.path()).args(&command).output().expect("run");
        assert!(out.status.success(), "{command:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{command:?}"
        );
    }
    let missing = ferry(work.path())
        .args(["send", "--to", "127.0.0.1:1"])
        .output()
        .expect("run");
    assert_eq!(
        missing.status.code(),
        Some(2),
        "usage errors are exit code 2"
    );
}

#[test]
fn a_remembered_name_answering_with_another_key_gets_a_warning_and_nothing_even_with_trust_new() {
    let work = tempfile::tempdir().expect("tmp");
    let file = work.path().join("secret.txt");
    std::fs::write(&file, "for the real desk only").expect("write");
    // The sender remembers a device called "desk" under another key.
    let scfg = work.path().join("scfg");
    let settings = ferry::config::Settings {
        remembered_devices: vec![ferry::api::TrustedDevice {
            device_id: "d".repeat(64),
            alias: "desk".into(),
        }],
        ..ferry::config::Settings::default()
    };
    settings.save(&scfg).expect("save");
    let out = work.path().join("out");
    let (mut receiver, _stdout, port) = start_receiver(
        &work.path().join("rcfg"),
        &out,
        &["--yes", "--alias", "desk"],
    );
    let sent = ferry(&scfg)
        .args(["send", "--trust-new", "--to", &format!("127.0.0.1:{port}")])
        .arg(&file)
        .output()
        .expect("run send");
    let stderr = String::from_utf8_lossy(&sent.stderr);
    assert_eq!(sent.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("WARNING"), "{stderr}");
    assert!(stderr.contains("another key"), "{stderr}");
    assert!(stderr.contains("nothing was sent"), "{stderr}");
    assert_eq!(receiver.wait().expect("exits").code(), Some(4));
    assert!(!out.join("secret.txt").exists());
}

/// `ferry receive` whose standard output is closed (`| head -1`, a terminal
/// gone) still receives, verifies and exits 0: its lines are dropped, it
/// never panics on them.
#[test]
fn a_receiver_with_a_closed_stdout_still_receives() {
    let work = tempfile::tempdir().expect("tmp");
    let src = work.path().join("a.bin");
    random_file(&src, 200_000, 7);
    let out = work.path().join("out");
    let (mut receiver, stdout, port) = start_receiver(&work.path().join("rcfg"), &out, &["--yes"]);
    drop(stdout);
    send_new_ok(&work.path().join("scfg"), port, &[&src]);
    let status = receiver.wait().expect("receiver exits");
    let mut err = String::new();
    use std::io::Read as _;
    if let Some(mut stderr) = receiver.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    assert!(status.success(), "{status:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(sha256_file(&out.join("a.bin")), sha256_file(&src));
}

/// Issue #16 item 5: `ferry receive` says who paused the transfer and when
/// it goes on, and the file still arrives whole.
#[test]
fn receive_says_when_the_sender_pauses_and_resumes() {
    use ferry::api::{Command as EngineCommand, Event};
    let work = tempfile::tempdir().expect("tmp");
    let source = work.path().join("big.bin");
    random_file(&source, 24 << 20, 3);
    let out = work.path().join("out");
    let (mut receiver, _stdout, port) = start_receiver(&work.path().join("rcfg"), &out, &["--yes"]);
    let stderr = BufReader::new(receiver.stderr.take().expect("stderr"));
    let (lines_tx, lines) = crossbeam_channel::bounded::<String>(256);
    #[allow(clippy::disallowed_methods)] // a test's reader thread needs no name
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let relay = common::Relay::throttled(target, 6 << 20);
    let mut sender = common::Node::sender("Laptop");
    let id = sender.send_file(relay.addr, &source);
    sender.wait("bytes flowing", |e| match e {
        Event::Progress(p) if p.bytes_done >= 1 << 20 => Some(()),
        _ => None,
    });
    let said = |what: &str| {
        let deadline = std::time::Instant::now() + common::WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("ferry receive never said {what:?}"));
            if line.contains(what) {
                return line;
            }
        }
    };
    sender.engine.send(EngineCommand::Pause { id });
    let paused = said("Paused by");
    assert!(paused.starts_with("Paused by Laptop"), "{paused}");
    sender.engine.send(EngineCommand::Resume { id });
    said("Laptop resumed the transfer.");
    assert!(sender.finished().is_success());
    assert!(receiver.wait().expect("receiver exits").success());
    assert_eq!(sha256_file(&out.join("big.bin")), sha256_file(&source));
}

/// A folder of many files is not one line per file: the first 20 are named,
/// one line says the rest are not, and the end gives the count.
#[test]
fn receive_names_the_first_files_then_counts_the_rest() {
    let work = tempfile::tempdir().expect("tmp");
    let src = work.path().join("src/shots");
    for i in 0..30 {
        random_file(&src.join(format!("{i:02}.raw")), 100, i);
    }
    let out = work.path().join("out");
    let (mut receiver, mut stdout, port) =
        start_receiver(&work.path().join("rcfg"), &out, &["--yes"]);
    send_new_ok(&work.path().join("scfg"), port, &[&src]);
    assert!(receiver.wait().expect("receiver exits").success());
    let mut printed = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut printed).expect("stdout");
    let saved = printed.lines().filter(|l| l.starts_with("Saved ")).count();
    assert_eq!(saved, 20, "{printed}");
    assert_eq!(
        printed
            .lines()
            .filter(|l| *l == "Saving the other files without listing each one.")
            .count(),
        1,
        "{printed}"
    );
    assert!(printed.contains("Received: 30 files"), "{printed}");
    assert_eq!(
        std::fs::read_dir(out.join("shots")).expect("out").count(),
        30
    );
}
