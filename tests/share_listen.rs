//! Guards where `ferry share` listens (issue 17, item 5): without `--bind`
//! it listens only on the addresses of the interfaces Ferry is configured to
//! use (`FERRY_INTERFACES`, `--interfaces`, the settings) and puts that
//! address in the link; it used to listen on every address whatever the
//! setting. Drives the real binary on loopback with curl; also that a
//! closed standard output does not end it.

// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod curl;
mod require;
mod sharing;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use sharing::FerryShare;

/// `ferry share` of a small file with `extra` arguments.
fn share(extra: &[&str]) -> (FerryShare, tempfile::TempDir) {
    let shared = tempfile::tempdir().expect("tmp");
    let file = shared.path().join("note.txt");
    std::fs::write(&file, b"listening").expect("write");
    let file = file.to_str().expect("utf8").to_string();
    let mut args = extra.to_vec();
    args.push(&file);
    (FerryShare::start(&args).drain(), shared)
}

fn reachable(ip: Ipv4Addr, port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((ip, port)), Duration::from_secs(2)).is_ok()
}

#[test]
fn without_bind_the_share_listens_only_on_the_chosen_interfaces() {
    if !curl::required() {
        return;
    }
    let (sharing, _shared) = share(&[]);
    assert!(
        sharing.url.starts_with("http://127.0.0.1:"),
        "the link names the chosen interface's address: {}",
        sharing.url
    );
    let port = sharing.port();
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
    let (sharing, _shared) = share(&["--bind", "0.0.0.0"]);
    let port = sharing.port();
    assert!(reachable(Ipv4Addr::new(127, 0, 0, 2), port));
}

/// Regression: `ferry share` printed with `println!`, which panics when its
/// standard output is closed (`ferry share | head -3`), so the first message
/// after that ended the share for everyone.
#[test]
fn a_closed_standard_output_does_not_end_the_share() {
    if !curl::required() {
        return;
    }
    let (mut sharing, _shared) = {
        let shared = tempfile::tempdir().expect("tmp");
        let file = shared.path().join("note.txt");
        std::fs::write(&file, b"still here").expect("write");
        let share = FerryShare::start(&["--allow-upload", file.to_str().expect("utf8")]);
        (share, shared)
    };
    drop(sharing.lines.take());
    // A message makes it print a line into the closed pipe.
    let out = curl::curl(&[
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        r#"{"text":"hello"}"#,
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &format!("{}text", sharing.url),
    ]);
    assert_eq!(out.stdout, b"200");
    std::thread::sleep(Duration::from_millis(500));
    let out = curl::curl(&[&format!("{}d/0", sharing.url)]);
    assert_eq!(out.stdout, b"still here", "the share ended");
}
