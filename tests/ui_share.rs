//! Guards "Share via browser" in the window: sharing a file shows its link
//! and a QR code texture, the link serves the same bytes (curl on 127.0.0.1)
//! and the download is listed until Done; with "Ask me each time" an upload
//! waits for the prompt, Accept saves it in the download folder as a
//! transfer row (and history), Decline answers 403 and writes nothing; with
//! "Allow" it is saved without a prompt; Stop sharing closes the port, and
//! the next share gets a new link.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod curl;
mod require;
mod ui_support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ferry::app::FerryApp;
use ferry::app::share_state::SharePhase;
use ui_support::{
    AppDirs, drag_and_drop, harness, type_into, wait_for_label, wait_until, write_file,
};

/// The accessible name the window gives the QR code image.
const QR_ALT: &str = "QR code of the share link";

/// Runs curl against loopback only; returns (HTTP status, body).
fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    let with_status: Vec<&str> = ["-w", "\n%{http_code}"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    let mut body = curl::curl(&with_status).stdout;
    let at = body.iter().rposition(|b| *b == b'\n').expect("status line");
    let status = String::from_utf8_lossy(&body[at + 1..]).trim().parse();
    body.truncate(at);
    (status.unwrap_or(0), body)
}

/// Posts `file` as a browser form would (no ticket: asks and uploads in one request).
fn upload(url: &str, file: &Path, name: &str) -> (u16, String) {
    let form = format!("file=@{};filename={name}", file.display());
    let target = format!("{url}upload");
    let (status, body) = curl(&["-H", "Accept: application/json", "-F", &form, &target]);
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Opens the share window with `file` from the tray, chooses `uploads` and
/// starts sharing; returns the link.
fn share(harness: &mut Harness<'static, FerryApp>, file: &Path, uploads: Option<&str>) -> String {
    drag_and_drop(harness, &[file.to_path_buf()]);
    harness.get_by_label("🌐 Share via browser…").click();
    wait_for_label(harness, "Start sharing");
    if let Some(choice) = uploads {
        harness.get_by_label(choice).click();
        harness.run_steps(2);
    }
    harness.get_by_label("Start sharing").click();
    wait_until(harness, "the share to start", |h| {
        h.state().sharing().is_some()
    });
    let url = harness
        .state()
        .sharing()
        .map(|s| s.url.clone())
        .expect("sharing");
    assert!(url.starts_with("http://127.0.0.1:"), "loopback only: {url}");
    wait_for_label(harness, &url);
    url
}

/// A fresh app sharing a small file with uploads set to `uploads`: its
/// folders, its harness and the link.
fn sharing_with_uploads(uploads: &str) -> (AppDirs, Harness<'static, FerryApp>, String) {
    let dirs = AppDirs::new("Desk");
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let shared = dirs.scratch().join("shared.txt");
    write_file(&shared, 1000);
    let url = share(&mut harness, &shared, Some(uploads));
    (dirs, harness, url)
}

fn downloads_folder_names(dirs: &AppDirs) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dirs.downloads())
        .expect("downloads")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_shared_file_downloads_with_its_bytes_and_stop_closes_the_port() {
    if !curl::required() {
        return;
    }
    let dirs = AppDirs::new("Desk");
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let file = dirs.scratch().join("report.bin");
    let bytes = write_file(&file, 700_000);
    let url = share(&mut harness, &file, None);

    // The link's QR code is drawn from a texture: one texel per module plus
    // a quiet zone of 4 modules on each side.
    harness.get_by_label(QR_ALT);
    harness.get_by_label("Stop sharing");
    let modules = ferry::http::qr_matrix(&url).expect("matrix").len();
    let texture = harness.state().share_qr_texture().expect("a QR texture");
    assert_eq!(texture.size(), [modules + 8, modules + 8]);

    let (status, body) = curl(&[&format!("{url}d/0")]);
    assert_eq!(status, 200);
    assert!(body == bytes, "the browser gets the same bytes");
    wait_until(&mut harness, "the finished download", |h| {
        h.state()
            .state()
            .share
            .downloads
            .first()
            .is_some_and(|d| d.end == Some(Ok(bytes.len() as u64)))
    });
    harness.get_by_label_contains("to 127.0.0.1");
    harness.get_by_label("Done");

    let addr = harness.state().sharing().expect("sharing").local_addr;
    harness.get_by_label("Stop sharing").click();
    wait_until(&mut harness, "the share to stop", |h| {
        h.state().state().share.phase == SharePhase::Idle
    });
    let refused = TcpStream::connect(addr).expect_err("the port is closed");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    // Sharing again starts a new server with a new link.
    wait_for_label(&mut harness, "Add 1 from To send");
    harness.get_by_label("Add 1 from To send").click();
    harness.run_steps(2);
    harness.get_by_label("Start sharing").click();
    wait_until(&mut harness, "the second share", |h| {
        h.state().sharing().is_some()
    });
    let second = harness.state().sharing().expect("sharing").url.clone();
    assert_ne!(second, url, "a new share has a new token");
    assert_ne!(curl(&[&format!("{url}d/0")]).0, 200, "the old link is dead");
}

#[test]
fn with_ask_an_upload_waits_for_accept_or_decline() {
    if !curl::required() {
        return;
    }
    let (dirs, mut harness, url) = sharing_with_uploads("Ask me each time");
    let gift: PathBuf = dirs.scratch().join("gift.bin");
    let gift_bytes = write_file(&gift, 150_000);

    // Accept: the file lands in the download folder and shows as a transfer row.
    let uploader = {
        let (url, gift) = (url.clone(), gift.clone());
        std::thread::spawn(move || upload(&url, &gift, "gift.bin"))
    };
    wait_for_label(
        &mut harness,
        "A browser at 127.0.0.1 wants to send you files",
    );
    assert!(
        downloads_folder_names(&dirs).is_empty(),
        "nothing before consent"
    );
    harness.get_by_label("Accept").click();
    wait_until(&mut harness, "the browser's answer", |_| {
        uploader.is_finished()
    });
    let (status, body) = uploader.join().expect("uploader");
    assert_eq!(status, 200, "{body}");
    let saved = dirs.downloads().join("gift.bin");
    assert!(std::fs::read(&saved).expect("saved") == gift_bytes);
    wait_until(&mut harness, "the upload row to finish", |h| {
        h.query_by_label("Done").is_some()
    });
    harness.get_by_label("from browser 127.0.0.1");
    harness.get_by_label("gift.bin");
    harness.get_by_label("Show file");
    harness.get_by_label("Open folder");
    let history = &harness.state().state().history;
    assert!(
        history
            .first()
            .is_some_and(|e| e.browser && e.outcome.is_success()),
        "the upload is in history: {history:?}"
    );

    // Decline: the browser hears 403 and nothing is written.
    let uploader = {
        let (url, gift) = (url.clone(), gift.clone());
        std::thread::spawn(move || upload(&url, &gift, "unwanted.bin"))
    };
    wait_for_label(
        &mut harness,
        "A browser at 127.0.0.1 wants to send you files",
    );
    harness.get_by_label("Decline").click();
    wait_until(&mut harness, "the browser's answer", |_| {
        uploader.is_finished()
    });
    let (status, body) = uploader.join().expect("uploader");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("declined"), "{body}");
    wait_for_label(&mut harness, "You declined");
    assert_eq!(downloads_folder_names(&dirs), ["gift.bin"]);
}

#[test]
fn with_allow_an_upload_is_saved_without_a_prompt() {
    if !curl::required() {
        return;
    }
    let (dirs, mut harness, url) = sharing_with_uploads("Allow without asking (this share only)");
    let note = dirs.scratch().join("note");
    let bytes = write_file(&note, 5000);
    let uploader = std::thread::spawn(move || upload(&url, &note, "note.txt"));
    wait_until(&mut harness, "the upload", |_| uploader.is_finished());
    let (status, body) = uploader.join().expect("uploader");
    assert_eq!(status, 200, "{body}");
    assert!(std::fs::read(dirs.downloads().join("note.txt")).expect("saved") == bytes);
    wait_for_label(&mut harness, "note.txt");
    wait_until(&mut harness, "the row's end", |h| {
        h.query_by_label("Done").is_some()
    });
    assert!(
        harness.state().state().share.prompts.is_empty(),
        "no prompt"
    );
    harness.get_by_label("from browser 127.0.0.1");
}

/// A phone's Chrome, as its User-Agent says.
const ANDROID_CHROME: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

/// Opens the page as a phone's Chrome from the loopback address `from`;
/// returns (HTTP status, page).
fn visit(url: &str, from: &str) -> (u16, String) {
    let (status, body) = curl(&["--interface", from, "-A", ANDROID_CHROME, url]);
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn asking_before_each_visitor_lets_one_in_and_keeps_another_out_and_texts_are_shared() {
    if !curl::required() {
        return;
    }
    let dirs = AppDirs::new("Desk");
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let shared = dirs.scratch().join("shared.txt");
    write_file(&shared, 1000);
    drag_and_drop(&mut harness, &[shared]);
    harness.get_by_label("🌐 Share via browser…").click();
    wait_for_label(&mut harness, "Start sharing");
    harness
        .get_by_label("Ask before each visitor opens the page")
        .click();
    harness.run_steps(2);
    assert!(harness.state().state().share.approve_visitors);
    // A text typed on two lines, added to the share.
    type_into(
        &mut harness,
        "Texts to share",
        "Wi-Fi: harbour-42\nguest network",
    );
    harness.get_by_label("Add text").click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().state().share.texts,
        ["Wi-Fi: harbour-42\nguest network"]
    );
    harness.get_by_label("Start sharing").click();
    wait_until(&mut harness, "the share to start", |h| {
        h.state().sharing().is_some()
    });
    let url = harness.state().sharing().expect("sharing").url.clone();
    wait_for_label(&mut harness, "Shared text");

    // The first visitor waits for the card's answer, then gets the page with the text.
    let visitor = {
        let url = url.clone();
        std::thread::spawn(move || visit(&url, "127.0.0.1"))
    };
    let card = "Chrome on Android at 127.0.0.1 wants to open the page";
    wait_for_label(&mut harness, card);
    assert!(!visitor.is_finished(), "the page waits for the answer");
    harness.get_by_label("Let in").click();
    wait_until(&mut harness, "the visitor's page", |_| {
        visitor.is_finished()
    });
    let (status, page) = visitor.join().expect("visitor");
    assert_eq!(status, 200);
    assert!(page.contains("Wi-Fi: harbour-42\nguest network"), "{page}");
    assert!(harness.query_by_label(card).is_none(), "the card is gone");

    // Another device is refused: 403, now and on its next try.
    let other = {
        let url = url.clone();
        std::thread::spawn(move || visit(&url, "127.0.0.2"))
    };
    wait_for_label(
        &mut harness,
        "Chrome on Android at 127.0.0.2 wants to open the page",
    );
    harness.get_by_label("Refuse").click();
    wait_until(&mut harness, "the refusal", |_| other.is_finished());
    assert_eq!(other.join().expect("other").0, 403);
    assert_eq!(visit(&url, "127.0.0.2").0, 403, "a no holds for the share");
    assert!(harness.state().state().share.visitors.is_empty());
    // The first visitor is still in, without asking again.
    assert_eq!(visit(&url, "127.0.0.1").0, 200);
    assert!(harness.state().state().share.visitors.is_empty());
}

/// Issue 16, item 2: at 640×480 the share window fits the window, before
/// and while sharing, and what does not fit scrolls inside it.
#[test]
fn the_share_window_fits_a_640x480_window() {
    let dirs = AppDirs::new("Desk");
    let mut harness = harness(&dirs);
    harness.set_size(egui::Vec2::new(640.0, 480.0));
    harness.run_steps(2);
    let files: Vec<PathBuf> = (0..8)
        .map(|i| {
            let path = dirs
                .scratch()
                .join(format!("holiday photo {i} at the lake.jpg"));
            write_file(&path, 1000 + i);
            path
        })
        .collect();
    drag_and_drop(&mut harness, &files);
    harness.get_by_label("🌐 Share via browser…").click();
    wait_for_label(&mut harness, "Start sharing");
    harness.run_steps(4);
    let screen = harness.ctx.content_rect();
    let window = |harness: &Harness<'static, FerryApp>| {
        harness
            .ctx
            .memory(|m| m.area_rect(egui::Id::unique("share-window")))
            .expect("the share window is shown")
    };
    let shown = window(&harness);
    assert!(
        screen.expand(0.5).contains_rect(shown),
        "setup: the share window {shown:?} leaves the window {screen:?}"
    );
    // The button at the end is reachable: scrolled to, it is inside too.
    harness.get_by_label("Start sharing").scroll_to_me();
    harness.run_steps(3);
    let start = harness.get_by_label("Start sharing").rect();
    assert!(
        shown.contains_rect(start),
        "Start sharing {start:?} scrolls into the share window {shown:?}"
    );
    harness.get_by_label("Start sharing").click();
    wait_until(&mut harness, "the share to start", |h| {
        h.state().sharing().is_some()
    });
    harness.run_steps(4);
    let shown = window(&harness);
    assert!(
        screen.expand(0.5).contains_rect(shown),
        "sharing: the share window {shown:?} leaves the window {screen:?}"
    );
}
