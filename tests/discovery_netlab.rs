//! Guards discovery across real hosts: in a sealed netlab LAN (network
//! namespaces on one bridge), Ferry with default settings finds the other
//! hosts in under a second, sends a file by alias intact, forgets a host whose
//! link goes down within the expiry (and one that says goodbye at once), and
//! `ferry doctor` names a firewall that drops the beacon port. Needs root,
//! `ip netns` and nft or iptables: under CI a missing one fails the test,
//! elsewhere the test prints why it is skipped and passes.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod netlab;
mod require;

use netlab::Lab;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;
use std::time::{Duration, Instant};

use ferry::discovery::{DEFAULT_UDP_PORT, PEER_EXPIRY};

impl Lab {
    /// The ferry binary inside host `host`, with default network settings
    /// (every interface, default ports) and its own state folder.
    fn ferry(&self, host: usize, home: &Path) -> Command {
        self.ferry_default(host, home)
    }
}

/// Lines from the receivers' stderr, with arrival times.
struct Logs {
    tx: Sender<(Instant, usize, String)>,
    rx: Receiver<(Instant, usize, String)>,
    lines: Vec<(Instant, usize, String)>,
}

impl Logs {
    fn new() -> Self {
        let (tx, rx) = channel();
        Logs {
            tx,
            rx,
            lines: Vec::new(),
        }
    }

    fn follow(&self, host: usize, stream: impl Read + Send + 'static) {
        let tx = self.tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), host, line)).is_err() {
                    return;
                }
            }
        });
    }

    /// When host `host` first printed a line containing `text` (waiting up to `timeout`).
    fn wait(&mut self, host: usize, text: &str, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((at, _, _)) = self
                .lines
                .iter()
                .find(|(_, h, l)| *h == host && l.contains(text))
            {
                return Some(*at);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.rx.recv_timeout(left) {
                Ok(line) => self.lines.push(line),
                Err(_) => return None,
            }
        }
    }

    fn dump(&self) -> String {
        self.lines
            .iter()
            .map(|(_, h, l)| format!("h{h}: {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Starts `ferry receive` on `host` as alias "h{host}"; returns once it
/// listens, with when it was started and when it said it listens.
fn start_receiver(lab: &mut Lab, logs: &Logs, host: usize, home: &Path) -> (Instant, Instant) {
    let started = Instant::now();
    let mut child = lab
        .ferry(host, home)
        .args(["receive", "--yes", "--alias", &format!("h{host}"), "--dir"])
        .arg(home.join(format!("in{host}")))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferry receive");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    logs.follow(host, child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read");
    let listening = Instant::now();
    assert!(line.starts_with("Listening on port"), "h{host}: {line}");
    // Keep reading its stdout, or its next line would hit a closed pipe.
    logs.follow(host, stdout);
    lab.children.push(child);
    (started, listening)
}

/// Starts receivers on hosts 1 and 2 and waits until they see each other.
fn start_h1_and_h2(lab: &mut Lab, logs: &mut Logs, home: &Path) {
    start_receiver(lab, logs, 1, home);
    start_receiver(lab, logs, 2, home);
    logs.wait(1, &appeared(2), Duration::from_secs(3))
        .unwrap_or_else(|| panic!("h1 sees h2\n{}", logs.dump()));
}

fn appeared(host: usize) -> String {
    format!("peer \"h{host}\" (linux) appeared")
}

fn gone(host: usize) -> String {
    format!("peer \"h{host}\" is gone")
}

#[test]
fn three_hosts_see_each_other_fast_send_by_alias_and_vanish() {
    let Some(mut lab) = Lab::require("fda", 3) else {
        return;
    };
    let home = tempfile::tempdir().expect("tmp");
    let mut logs = Logs::new();
    start_h1_and_h2(&mut lab, &mut logs, home.path());

    // Time to see: the newcomer h3 fills its list, and the others list it.
    let (t0, listening) = start_receiver(&mut lab, &logs, 3, home.path());
    let limit = Duration::from_secs(3);
    let mut figures = Vec::new();
    for (host, other) in [(3, 1), (3, 2), (1, 3), (2, 3)] {
        let at = logs
            .wait(host, &appeared(other), limit)
            .unwrap_or_else(|| panic!("h{host} sees h{other}\n{}", logs.dump()));
        let took = at - t0;
        figures.push(format!(
            "h{host} saw h{other} {:.0} ms after h3's process started ({:.0} ms after it listened)",
            took.as_secs_f64() * 1e3,
            at.saturating_duration_since(listening).as_secs_f64() * 1e3
        ));
        assert!(
            took < Duration::from_secs(1),
            "h{host} saw h{other} after {took:?}"
        );
    }
    // A fresh looker (process start included) lists both others.
    let started = Instant::now();
    let out = lab
        .ferry(1, home.path())
        .args(["peers", "--wait", "3", "--expect", "2"])
        .output()
        .expect("ferry peers");
    let peers_took = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("10.231.0.2:47813") && listing.contains("10.231.0.3:47813"));
    figures.push(format!(
        "`ferry peers --expect 2` on h1 exited after {:.0} ms",
        peers_took.as_secs_f64() * 1e3
    ));
    assert!(peers_took < Duration::from_secs(1), "{peers_took:?}");

    // A file sent by alias arrives intact.
    let payload: Vec<u8> = (0..2_000_000u32).map(|i| (i * 31 % 253) as u8).collect();
    let file = home.path().join("payload.bin");
    std::fs::write(&file, &payload).expect("write");
    let out = lab
        .ferry(1, home.path())
        .args(["send", "--trust-new", "--to", "h3"])
        .arg(&file)
        .output()
        .expect("ferry send");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("10.231.0.3:47813"));
    let got = std::fs::read(home.path().join("in3/payload.bin")).expect("arrived on h3");
    assert!(got == payload, "bytes differ");

    // h2's link goes down: the others forget it within the expiry.
    let down_at = Instant::now();
    let out = lab.run(2, &["ip", "link", "set", "eth0", "down"]);
    assert!(out.status.success(), "{out:?}");
    for host in [1, 3] {
        let at = logs
            .wait(host, &gone(2), PEER_EXPIRY + Duration::from_secs(3))
            .unwrap_or_else(|| panic!("h{host} forgets h2\n{}", logs.dump()));
        let took = at - down_at;
        figures.push(format!(
            "h{host} forgot h2 (link down) after {:.0} ms",
            took.as_secs_f64() * 1e3
        ));
        assert!(
            took <= PEER_EXPIRY + Duration::from_millis(1000),
            "{took:?}"
        );
    }

    // h1 quits cleanly (Ctrl-C): h3 forgets it at once.
    let pid = lab.children[0].id().to_string();
    let quit_at = Instant::now();
    let out = Command::new("kill")
        .args(["-INT", &pid])
        .output()
        .expect("kill");
    assert!(out.status.success());
    let at = logs
        .wait(3, &gone(1), Duration::from_secs(3))
        .unwrap_or_else(|| panic!("h3 forgets h1\n{}", logs.dump()));
    let took = at - quit_at;
    figures.push(format!(
        "h3 forgot h1 (goodbye) after {:.0} ms",
        took.as_secs_f64() * 1e3
    ));
    assert!(took < Duration::from_secs(1), "{took:?}");
    eprintln!("netlab figures:\n  {}", figures.join("\n  "));
}

/// Adds a rule dropping incoming UDP to the beacon port inside `host`.
fn block_beacon_port(lab: &Lab, host: usize) -> Result<&'static str, String> {
    let port = DEFAULT_UDP_PORT.to_string();
    let nft = [
        vec!["nft", "add", "table", "inet", "ferrytest"],
        vec![
            "nft",
            "add",
            "chain",
            "inet",
            "ferrytest",
            "input",
            "{",
            "type",
            "filter",
            "hook",
            "input",
            "priority",
            "0",
            ";",
            "}",
        ],
        vec![
            "nft",
            "add",
            "rule",
            "inet",
            "ferrytest",
            "input",
            "udp",
            "dport",
            &port,
            "drop",
        ],
    ];
    if nft.iter().all(|args| lab.run(host, args).status.success()) {
        return Ok("nft");
    }
    let out = lab.run(
        host,
        &[
            "iptables", "-A", "INPUT", "-p", "udp", "--dport", &port, "-j", "DROP",
        ],
    );
    if out.status.success() {
        return Ok("iptables");
    }
    Err(format!(
        "neither nft nor iptables works in the lab: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

#[test]
fn doctor_names_a_blocked_beacon_port() {
    let Some(mut lab) = Lab::require("fdb", 3) else {
        return;
    };
    let home = tempfile::tempdir().expect("tmp");
    let mut logs = Logs::new();
    start_h1_and_h2(&mut lab, &mut logs, home.path());

    // A healthy host: nothing to report.
    let out = lab
        .ferry(1, home.path())
        .args(["doctor", "--wait", "2.5"])
        .output()
        .expect("doctor");
    let healthy = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{healthy}");
    assert!(healthy.contains("use      eth0"), "{healthy}");
    assert!(healthy.contains("skip     lo"), "{healthy}");
    assert!(healthy.contains("\"h2\""), "{healthy}");

    // h3 drops incoming UDP to the beacon port.
    let Some(tool) = require::obtain("nft or iptables in the lab", block_beacon_port(&lab, 3))
    else {
        return;
    };
    let out = lab
        .ferry(3, home.path())
        .args(["doctor", "--wait", "2.5"])
        .output()
        .expect("doctor");
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("doctor on h3 with a {tool} drop rule:\n{report}");
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("our own broadcast beacons never came back on UDP port 47812"),
        "{report}"
    );
    assert!(
        report.contains("firewall on this computer probably drops incoming UDP port 47812"),
        "{report}"
    );
    // The peers still answer directly and hear us; only their broadcasts are lost.
    assert!(report.contains("it hears our beacons"), "{report}");
    assert!(
        report.contains("only its direct replies reach us, not its broadcast beacons"),
        "{report}"
    );
}
