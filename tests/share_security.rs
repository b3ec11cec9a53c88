//! Guards the browser share against the attacks of issue 14, finding 9, over
//! real loopback sockets: a shared HTML or SVG file must not run script in
//! the share page's origin, a flood of half-sent requests must not hold more
//! file descriptors than the connection cap, and idle connections (from one
//! address or several) must not lock a visitor out of the page. Clients bind
//! to other loopback addresses (127.0.0.2, 127.0.0.3, ...; all of 127/8 is
//! `lo` on Linux) to stand for other hosts. The tests take one lock, so the
//! file-descriptor count of this process is not disturbed by a neighbour.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod curl;
mod require;
mod sharing;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use curl::curl;
use ferry::api::{EventSink, UploadPolicy};
use ferry::http::{
    MAX_CONNECTIONS_PER_ADDRESS, MAX_SHARE_CONNECTIONS, MAX_WAITING, MAX_WAITING_PER_ADDRESS,
    ShareServer,
};
use sharing::connect_from;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Share {
    server: ShareServer,
    _runtime: tokio::runtime::Runtime,
    _events: crossbeam_channel::Receiver<ferry::api::Event>,
    _shared: tempfile::TempDir,
}

/// A share of `evil.html`, `evil.svg` and a folder `more` holding
/// `page.xhtml` and `feed.xml`, each a script that would run if rendered.
fn start() -> Share {
    let shared = tempfile::tempdir().expect("tmp");
    let dir = shared.path();
    let script = "<script>fetch('/steal?'+location.href)</script>";
    std::fs::write(dir.join("evil.html"), format!("<html>{script}</html>")).expect("write");
    std::fs::write(
        dir.join("evil.svg"),
        format!("<svg xmlns=\"http://www.w3.org/2000/svg\">{script}</svg>"),
    )
    .expect("write");
    std::fs::create_dir_all(dir.join("more")).expect("mkdir");
    std::fs::write(
        dir.join("more/feed.xml"),
        "<x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">alert(1)</x:script>",
    )
    .expect("write");
    std::fs::write(
        dir.join("more/page.xhtml"),
        format!("<html xmlns=\"http://www.w3.org/1999/xhtml\">{script}</html>"),
    )
    .expect("write");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (sink, events) = EventSink::channel(10_000, Arc::new(|| {}));
    let server = ShareServer::start(
        sharing::config(
            vec![
                dir.join("evil.html"),
                dir.join("evil.svg"),
                dir.join("more"),
            ],
            UploadPolicy::Off,
            dir.join("in"),
            1,
        ),
        runtime.handle(),
        sink,
    )
    .expect("start share");
    Share {
        server,
        _runtime: runtime,
        _events: events,
        _shared: shared,
    }
}

/// `curl -D - -o /dev/null` from `from`: (status, headers lowercased).
fn head_of(url: &str, from: Ipv4Addr) -> (u16, String) {
    let from = from.to_string();
    let out = curl(&[
        "--interface",
        &from,
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        url,
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    let (headers, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), headers.to_string())
}

/// Whether the server has closed `stream` (EOF or reset), reading what it
/// sent without waiting.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// Polls `streams` until `want` of them are closed by the server or
/// `within` passed; returns how many were closed.
fn count_closed(streams: &mut [TcpStream], want: usize, within: Duration) -> usize {
    for s in streams.iter() {
        s.set_nonblocking(true).expect("nonblocking");
    }
    let mut closed = vec![false; streams.len()];
    let deadline = Instant::now() + within;
    loop {
        for (s, done) in streams.iter_mut().zip(closed.iter_mut()) {
            if !*done {
                *done = closed_by_server(s);
            }
        }
        let count = closed.iter().filter(|c| **c).count();
        if count >= want || Instant::now() >= deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc").count()
}

#[test]
fn a_shared_html_or_svg_file_cannot_run_script_in_the_share_origin() {
    if !curl::required() {
        return;
    }
    let _one = serial();
    let share = start();
    // evil.html, evil.svg, more/feed.xml, more/page.xhtml (folder files in name order).
    for rest in ["d/0", "d/1", "d/2/0", "d/2/1"] {
        let (status, headers) = head_of(
            &format!("{}{rest}", share.server.local_url()),
            Ipv4Addr::LOCALHOST,
        );
        assert_eq!(status, 200, "{rest}");
        assert!(
            headers.contains("\ncontent-security-policy: sandbox\r"),
            "{rest}: {headers}"
        );
        assert!(
            headers.contains("\nx-content-type-options: nosniff\r"),
            "{rest}: {headers}"
        );
        assert!(
            headers.contains("\ncontent-disposition: attachment;"),
            "{rest}: {headers}"
        );
        assert!(
            headers.contains("\ncontent-type: application/octet-stream\r"),
            "{rest}: never a type a browser renders: {headers}"
        );
    }
    // The folder's ZIP is sandboxed too.
    let (status, headers) = head_of(
        &format!("{}d/2", share.server.local_url()),
        Ipv4Addr::LOCALHOST,
    );
    assert_eq!(status, 200);
    assert!(
        headers.contains("\ncontent-security-policy: sandbox\r"),
        "{headers}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_flood_of_half_sent_requests_holds_no_more_descriptors_than_the_cap() {
    let _one = serial();
    let share = start();
    let addr = share.server.local_addr();
    let before = open_fds();
    // Served, waiting and 100 more, from many addresses with at most the
    // per-address cap each, so only the overall caps stop them.
    let capacity = MAX_SHARE_CONNECTIONS + MAX_WAITING;
    let count = capacity + 100;
    let hosts = count.div_ceil(MAX_CONNECTIONS_PER_ADDRESS);
    let mut clients: Vec<TcpStream> = (0..count)
        .map(|i| {
            let host = u8::try_from(10 + i % hosts).expect("small");
            let mut s = connect_from(Ipv4Addr::new(127, 0, 0, host), addr);
            s.write_all(b"GET /s/ HTTP/1.1\r\nHost: x\r\n")
                .expect("half a request");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    let held_by_server = open_fds().saturating_sub(before + clients.len());
    assert!(
        held_by_server <= capacity + 8,
        "the server holds {held_by_server} descriptors for {count} half-sent requests"
    );
    let over = clients.len() - capacity;
    let closed = count_closed(&mut clients, over, Duration::from_secs(3));
    assert!(
        closed >= over,
        "only {closed} of the {over} connections over the caps were closed"
    );
}

#[test]
fn idle_connections_from_one_address_do_not_lock_out_another_visitor() {
    if !curl::required() {
        return;
    }
    let _one = serial();
    let share = start();
    let addr = share.server.local_addr();
    let attacker = Ipv4Addr::new(127, 0, 0, 2);
    // As many as one address may hold and queue, and one more.
    let mut idle: Vec<TcpStream> = (0..MAX_CONNECTIONS_PER_ADDRESS + MAX_WAITING_PER_ADDRESS + 1)
        .map(|_| connect_from(attacker, addr))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (status, _) = head_of(&share.server.local_url(), Ipv4Addr::new(127, 0, 0, 3));
    assert_eq!(status, 200, "a visitor from another address gets the page");
    assert!(started.elapsed() < Duration::from_secs(3));
    // The one over the address's queue was closed at once.
    assert!(count_closed(&mut idle, 1, Duration::from_secs(2)) >= 1);
}

#[test]
fn idle_connections_from_several_addresses_give_up_their_slots_within_seconds() {
    if !curl::required() {
        return;
    }
    let _one = serial();
    let share = start();
    let addr = share.server.local_addr();
    let hosts = MAX_SHARE_CONNECTIONS.div_ceil(MAX_CONNECTIONS_PER_ADDRESS);
    let mut idle: Vec<TcpStream> = (0..MAX_SHARE_CONNECTIONS)
        .map(|i| {
            let host = u8::try_from(40 + i % hosts).expect("small");
            connect_from(Ipv4Addr::new(127, 0, 0, host), addr)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let visitor = Ipv4Addr::new(127, 0, 0, 61);
    let status = loop {
        let (status, _) = head_of(&share.server.local_url(), visitor);
        if status == 200 || started.elapsed() > Duration::from_secs(10) {
            break status;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(
        status,
        200,
        "a visitor still has no page after {:?}",
        started.elapsed()
    );
    let all = idle.len();
    assert_eq!(count_closed(&mut idle, all, Duration::from_secs(2)), all);
    // A request without the token does not keep its connection either.
    let mut guesser = connect_from(Ipv4Addr::new(127, 0, 0, 60), addr);
    guesser
        .write_all(b"GET /s/guess/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    guesser
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let mut answer = Vec::new();
    let ended = guesser.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 404"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        ended.is_ok(),
        "the 404 ends the connection: {ended:?} after {}",
        String::from_utf8_lossy(&answer)
    );
}
