//! Guards approval per visitor (issue 17, item 11): with it on, a device
//! that has the link waits until the person at the computer lets it in,
//! named by its browser and address; a "yes" holds for that device, a "no"
//! keeps it out at once afterwards, and a request without the token never
//! causes a prompt. Also through `ferry share --approve-visitors`, answered
//! on standard input. Real curl from loopback addresses on 127.0.0.1.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod curl;
mod require;
mod sharing;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crossbeam_channel::Receiver;
use ferry::api::{Event, ShareEvent, TransferId, UploadPolicy};
use ferry::http::ShareConfig;
use sharing::FerryShare;

const PHONE: &str = "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36";

/// `curl` for the status of `url` from the loopback address `from`.
fn status_from(from: &str, url: &str) -> u16 {
    let out = curl::curl(&[
        "--interface",
        from,
        "-A",
        PHONE,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        url,
    ]);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn visitor_request(
    events: &Receiver<Event>,
    within: Duration,
) -> Option<(TransferId, SocketAddr, String)> {
    let deadline = std::time::Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match events.recv_timeout(left) {
            Ok(Event::Share(ShareEvent::VisitorRequest { id, from, browser })) => {
                return Some((id, from, browser));
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

#[test]
fn each_new_device_waits_for_the_persons_answer() {
    if !curl::required() {
        return;
    }
    let shared = tempfile::tempdir().expect("tmp");
    let file = shared.path().join("a.txt");
    std::fs::write(&file, b"for approved eyes").expect("write");
    let running = sharing::run(ShareConfig {
        approve_visitors: true,
        ..sharing::config(vec![file], UploadPolicy::Off, shared.path().join("in"), 1)
    });
    let (server, events) = (&running.server, &running.events);
    let page = server.url().to_string();

    // A guess at the token is a 404 and asks nobody.
    let guess = page.replace(server.token(), "AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(status_from("127.0.0.2", &guess), 404);
    assert!(visitor_request(events, Duration::from_millis(300)).is_none());

    // A new device waits; the person sees its browser and address.
    let visit =
        |from: &'static str, url: String| std::thread::spawn(move || status_from(from, &url));
    let waiting = visit("127.0.0.2", format!("{page}d/0"));
    let (id, from, browser) =
        visitor_request(events, Duration::from_secs(10)).expect("the person is asked");
    assert_eq!(from.ip(), Ipv4Addr::new(127, 0, 0, 2));
    assert_eq!(browser, "Chrome on Android");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !waiting.is_finished(),
        "nothing is served before the answer"
    );
    assert!(server.decide_upload(id, true));
    assert_eq!(waiting.join().expect("visit"), 200);
    // Let in once, let in for the share.
    assert_eq!(status_from("127.0.0.2", &page), 200);
    assert!(visitor_request(events, Duration::from_millis(300)).is_none());

    // Kept out: at once, and again later without asking.
    let refused = visit("127.0.0.3", page.clone());
    let (id, _, _) = visitor_request(events, Duration::from_secs(10)).expect("asked");
    assert!(server.decide_upload(id, false));
    assert_eq!(refused.join().expect("visit"), 403);
    assert_eq!(status_from("127.0.0.3", &page), 403);
    assert!(visitor_request(events, Duration::from_millis(300)).is_none());
}

#[test]
fn ferry_share_asks_on_standard_input() {
    if !curl::required() {
        return;
    }
    let shared = tempfile::tempdir().expect("tmp");
    let file = shared.path().join("a.txt");
    std::fs::write(&file, b"typed yes").expect("write");
    let mut sharing = FerryShare::start(&["--approve-visitors", file.to_str().expect("utf8")]);
    let mut stdin = sharing.stdin.take().expect("stdin");
    let mut lines = sharing.lines.take().expect("output");
    let url = sharing.url.clone();
    let visit = {
        let url = format!("{url}d/0");
        std::thread::spawn(move || {
            let out = curl::curl(&["-A", PHONE, &url]);
            out.stdout
        })
    };
    let prompt = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("wants to open the page"))
        .expect("a prompt");
    assert_eq!(
        prompt,
        "Chrome on Android at 127.0.0.1 wants to open the page. Let it in? [y/N]"
    );
    writeln!(stdin, "y").expect("answer");
    let body = visit.join().expect("visit");
    drop(sharing);
    assert_eq!(body, b"typed yes");
}
