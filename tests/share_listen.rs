//! Guards where `ferry share` listens (issue 17, item 5): without `--bind`
//! it listens only on the addresses of the interfaces Ferry is configured to
//! use (`FERRY_INTERFACES`, `--interfaces`, the settings) and puts that
//! address in the link; it used to listen on every address whatever the
//! setting. Drives the real binary on loopback with curl.

// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod curl;
mod require;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `ferry share`, killed on drop.
struct Sharing {
    child: Child,
    url: String,
    _config: tempfile::TempDir,
    _shared: tempfile::TempDir,
}

impl Drop for Sharing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `ferry share --port 0 EXTRA... FILE` with `FERRY_INTERFACES=lo`
/// and reads the link it prints.
fn share(extra: &[&str]) -> Sharing {
    let shared = tempfile::tempdir().expect("tmp");
    let file = shared.path().join("note.txt");
    std::fs::write(&file, b"listening").expect("write");
    let config = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["share", "--port", "0", "--no-qr"])
        .args(extra)
        .arg(&file)
        .env("FERRY_CONFIG_DIR", config.path())
        .env("FERRY_INTERFACES", "lo")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ferry share");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = lines
        .by_ref()
        .take(20)
        .map_while(Result::ok)
        .find_map(|line| line.trim().strip_prefix("http://").map(str::to_string))
        .map(|rest| format!("http://{rest}"))
        .expect("a URL line");
    // Keep reading what it prints, so it never writes into a closed pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    Sharing {
        child,
        url,
        _config: config,
        _shared: shared,
    }
}

fn port_of(url: &str) -> u16 {
    let rest = url.strip_prefix("http://").expect("http");
    let host_port = &rest[..rest.find('/').expect("path")];
    let port = host_port.rsplit_once(':').expect("port").1;
    port.parse().expect("port number")
}

fn reachable(ip: Ipv4Addr, port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((ip, port)), Duration::from_secs(2)).is_ok()
}

#[test]
fn without_bind_the_share_listens_only_on_the_chosen_interfaces() {
    if !curl::required() {
        return;
    }
    let sharing = share(&[]);
    assert!(
        sharing.url.starts_with("http://127.0.0.1:"),
        "the link names the chosen interface's address: {}",
        sharing.url
    );
    let port = port_of(&sharing.url);
    let out = curl::curl(&[&format!("{}d/0", sharing.url)]);
    assert_eq!(out.stdout, b"listening");
    // 127.0.0.2 is this machine too, but not lo's address: a wildcard
    // listener (what the share did before) would answer there.
    assert!(reachable(Ipv4Addr::LOCALHOST, port));
    assert!(
        !reachable(Ipv4Addr::new(127, 0, 0, 2), port),
        "the share also listens on addresses outside the chosen interfaces"
    );
}

#[test]
fn an_explicit_bind_address_still_wins() {
    if !curl::required() {
        return;
    }
    let sharing = share(&["--bind", "0.0.0.0"]);
    let port = port_of(&sharing.url);
    assert!(reachable(Ipv4Addr::new(127, 0, 0, 2), port));
}
