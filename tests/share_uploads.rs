//! Guards the share page's upload protocol (issue 17), driven with real curl
//! against the real server on 127.0.0.1: `POST ask` then one `PUT` per file.
//! Each file is matched by its number and succeeds or fails on its own, the
//! answer names what it was saved as, names are made storable rather than
//! cut or refused, folders keep their structure (never mixed into an
//! existing folder), a broken upload resumes from what arrived, a cancelled
//! one leaves nothing, and no file takes its final name before its last byte.
//! Text messages (`POST text`) reach the window as a text from the browser,
//! within their limits, and texts the sharer shares are on the page.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod curl;
mod require;
mod sharing;

use std::path::{Path, PathBuf};

use curl::curl;
use ferry::api::{Event, ShareEvent, UploadPolicy};
use ferry::http::ShareConfig;
use serde_json::Value;
use sharing::Running;

struct Share {
    running: Running,
    _shared: tempfile::TempDir,
    downloads: tempfile::TempDir,
    src: tempfile::TempDir,
}

impl std::ops::Deref for Share {
    type Target = Running;
    fn deref(&self) -> &Running {
        &self.running
    }
}

fn start(max_upload_bytes: u64) -> Share {
    start_with(max_upload_bytes, UploadPolicy::Allow, Vec::new())
}

fn start_with(max_upload_bytes: u64, uploads: UploadPolicy, texts: Vec<String>) -> Share {
    let shared = tempfile::tempdir().expect("tmp");
    let file = shared.path().join("shared.txt");
    std::fs::write(&file, b"shared").expect("write");
    let downloads = tempfile::tempdir().expect("tmp");
    let config = sharing::config(
        vec![file],
        uploads,
        downloads.path().join("in"),
        max_upload_bytes,
    );
    Share {
        running: sharing::run(ShareConfig { texts, ..config }),
        _shared: shared,
        downloads,
        src: tempfile::tempdir().expect("tmp"),
    }
}

impl Share {
    fn inbox(&self) -> PathBuf {
        self.downloads.path().join("in")
    }

    /// Everything under the upload folder, `/`-separated, sorted.
    fn inbox_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self.inbox()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(self.inbox()).expect("inside");
                    out.push(rel.to_string_lossy().replace('\\', "\\\\"));
                }
            }
        }
        out.sort();
        out
    }

    /// `POST ask` with `body`: (status, answer).
    fn ask(&self, body: &str) -> (u16, Value) {
        self.call(&[
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
            &self.url("ask"),
        ])
    }

    /// A file with `bytes` in the source folder.
    fn source(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.src.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    /// `PUT up/TICKET/N?offset=K` with the bytes of `file`.
    fn put(&self, ticket: &str, n: usize, offset: u64, file: &Path) -> (u16, Value) {
        let url = self.url(&format!("up/{ticket}/{n}?offset={offset}"));
        let data = format!("@{}", file.display());
        self.call(&[
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &data,
            &url,
        ])
    }

    fn call(&self, args: &[&str]) -> (u16, Value) {
        let mut all = vec!["-H", "Accept: application/json", "-w", "\n%{http_code}"];
        all.extend_from_slice(args);
        let out = curl(&all);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        let value = serde_json::from_str(body).unwrap_or(Value::Null);
        (status.trim().parse().unwrap_or(0), value)
    }
}

fn ticket(answer: &Value) -> String {
    answer["ticket"].as_str().expect("a ticket").to_string()
}

/// Regression (issue 17, items 1 and 2): the page matched results by the
/// full name while the server reported the part after the last `\`, so
/// `notes\draft v2.txt` was saved but shown "Not saved"; and one bad name
/// failed the whole selection.
#[test]
fn each_file_is_matched_by_number_and_saved_under_a_storable_name() {
    if !curl::required() {
        return;
    }
    let share = start(10 << 20);
    let long = format!("{}.jpeg", "x".repeat(300));
    let asked = serde_json::json!({ "files": [
        { "name": "notes\\draft v2.txt", "size": 5 },
        { "name": "..", "size": 1 },
        { "name": long, "size": 4 },
        { "name": "a:b.txt", "size": 3 },
    ]});
    let (status, answer) = share.ask(&asked.to_string());
    assert_eq!(status, 200, "{answer}");
    let t = ticket(&answer);
    assert!(answer["files"][0].get("error").is_none(), "{answer}");
    assert!(
        answer["files"][1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot be saved")),
        "{answer}"
    );
    let (status, got) = share.put(&t, 0, 0, &share.source("0", b"draft"));
    assert_eq!(status, 200, "{got}");
    let (_, got_long) = share.put(&t, 2, 0, &share.source("2", b"jpeg"));
    let (_, got_colon) = share.put(&t, 3, 0, &share.source("3", b"a:b"));
    // The refused file has no upload slot at all.
    assert_eq!(share.put(&t, 1, 0, &share.source("1", b"x")).0, 404);
    if cfg!(unix) {
        assert_eq!(got["savedAs"], "notes\\draft v2.txt", "{got}");
        assert_eq!(got_colon["savedAs"], "a:b.txt", "{got_colon}");
    }
    let saved_long = got_long["savedAs"].as_str().expect("saved").to_string();
    assert!(
        saved_long.ends_with("x.jpeg") && saved_long.len() < 255,
        "{saved_long}"
    );
    assert_eq!(
        std::fs::read(share.inbox().join(&saved_long)).expect("read"),
        b"jpeg"
    );
    let draft = share
        .inbox()
        .join(got["savedAs"].as_str().expect("saved as"));
    assert_eq!(std::fs::read(draft).expect("read"), b"draft");
    // The window hears of each file, then of the upload as a whole.
    let saved = share.wait_for(|e| match e {
        ShareEvent::UploadFinished { result, .. } => Some(result),
        _ => None,
    });
    assert_eq!(saved.expect("saved files").len(), 3);
    // Only cleaned names, and nothing left half-done.
    assert_eq!(share.inbox_files().len(), 3, "{:?}", share.inbox_files());
}

/// Issue 17, item 9: a folder keeps its structure, and a second upload of
/// a folder with the same name goes into `album (1)`, never into the first.
#[test]
fn folders_keep_their_structure_in_a_folder_of_their_own() {
    if !curl::required() {
        return;
    }
    let share = start(10 << 20);
    let body = r#"{"files":[
        {"name":"one.txt","path":["album"],"size":3},
        {"name":"two.txt","path":["album","2024","..x"],"size":3}]}"#;
    for round in ["album", "album (1)"] {
        let (status, answer) = share.ask(body);
        assert_eq!(status, 200, "{answer}");
        let t = ticket(&answer);
        let (_, one) = share.put(&t, 0, 0, &share.source("one", b"one"));
        let (_, two) = share.put(&t, 1, 0, &share.source("two", b"two"));
        assert_eq!(one["savedAs"], format!("{round}/one.txt"), "{one}");
        assert_eq!(two["savedAs"], format!("{round}/2024/..x/two.txt"), "{two}");
    }
    assert_eq!(
        share.inbox_files(),
        [
            "album (1)/2024/..x/two.txt",
            "album (1)/one.txt",
            "album/2024/..x/two.txt",
            "album/one.txt"
        ]
    );
    // A folder named `..` cannot be used.
    let (_, answer) = share.ask(r#"{"files":[{"name":"a","path":[".."],"size":1}]}"#);
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot be saved")),
        "{answer}"
    );
}

/// Issue 17, item 9: a dropped connection keeps what arrived, the page asks
/// how much that is and sends the rest; the file takes its name only at the
/// end. A cancelled file leaves nothing; more bytes than announced are refused.
#[test]
fn an_interrupted_upload_resumes_and_a_cancelled_one_leaves_nothing() {
    if !curl::required() {
        return;
    }
    let share = start(10 << 20);
    let whole: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let body = r#"{"files":[{"name":"big.bin","size":300000},{"name":"gone.bin","size":10},{"name":"small.bin","size":2}]}"#;
    let (_, answer) = share.ask(body);
    let t = ticket(&answer);
    // The first 100,000 bytes arrive, then the connection ends.
    let (status, got) = share.put(&t, 0, 0, &share.source("head", &whole[..100_000]));
    assert_eq!(
        (status, got["received"].as_u64()),
        (200, Some(100_000)),
        "{got}"
    );
    assert_eq!(share.inbox_files(), ["big.bin.ferry-part"]);
    // The page asks where to go on; a wrong offset is told the right one.
    let (_, status_now) = share.call(&[&share.url(&format!("up/{t}/0"))]);
    assert_eq!(status_now["received"], 100_000);
    let (status, got) = share.put(&t, 0, 0, &share.source("again", &whole));
    assert_eq!((status, got["received"].as_u64()), (409, Some(100_000)));
    let (status, got) = share.put(&t, 0, 100_000, &share.source("tail", &whole[100_000..]));
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["savedAs"], "big.bin");
    assert!(std::fs::read(share.inbox().join("big.bin")).expect("read") == whole);

    // Cancel: the part goes, and the file cannot be sent afterwards.
    share.put(&t, 1, 0, &share.source("g", b"12345"));
    assert!(share.inbox().join("gone.bin.ferry-part").exists());
    let url = share.url(&format!("up/{t}/1"));
    let (status, got) = share.call(&["-X", "DELETE", &url]);
    assert_eq!(status, 200);
    assert_eq!(got["cancelled"], true, "{got}");
    assert!(!share.inbox().join("gone.bin.ferry-part").exists());
    let (_, got) = share.put(&t, 1, 5, &share.source("g2", b"67890"));
    assert_eq!(got["cancelled"], true, "{got}");

    // More than announced: refused, nothing kept.
    let (_, got) = share.put(&t, 2, 0, &share.source("s", b"three"));
    assert!(
        got["error"]
            .as_str()
            .is_some_and(|e| e.contains("announced")),
        "{got}"
    );
    assert_eq!(share.inbox_files(), ["big.bin"]);

    // The ticket belongs to the address that asked.
    let other = share.url(&format!("up/{t}/0"));
    let (status, _) = share.call(&["--interface", "127.0.0.2", &other]);
    assert_eq!(status, 403);
}

/// What `ask` refuses, in words: more than the limit, nothing usable.
#[test]
fn ask_refuses_what_cannot_be_an_upload() {
    if !curl::required() {
        return;
    }
    let share = start(1 << 20);
    let (status, body) = share.ask(r#"{"files":[{"name":"big","size":99999999}]}"#);
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("accepts at most"))
    );
    let (status, body) = share.ask(r#"{"files":[{"name":"..","size":1}]}"#);
    assert_eq!(status, 400, "{body}");
    let (status, _) = share.ask("not json");
    assert_eq!(status, 400);
    // A ticket nobody was given opens nothing.
    let (status, _) = share.put("AAAAAAAAAAAAAAAAAAAAAA", 0, 0, &share.source("x", b"x"));
    assert_eq!(status, 403);
}

/// Issue 17, item 7: a text typed on the page reaches the sharer as a
/// message naming the browser and its address; shared texts are on the page.
#[test]
fn texts_go_both_ways_within_their_limits() {
    if !curl::required() {
        return;
    }
    let shared = vec!["Wi-Fi: <guest> & \"friends\"".to_string()];
    let share = start_with(1 << 20, UploadPolicy::Ask, shared);
    let page = curl(&[&share.url("")]);
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(
        page.contains("Wi-Fi: &lt;guest&gt; &amp; &quot;friends&quot;"),
        "the shared text, escaped, is on the page"
    );
    let send = |text: &str| {
        let body = serde_json::json!({ "text": text }).to_string();
        share.call(&[
            "-A",
            "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &body,
            &share.url("text"),
        ])
    };
    let (status, answer) = send("héllo\nhttps://example.org/x");
    assert_eq!(status, 200, "{answer}");
    let (from, text) = share.wait_for_event(|e| match e {
        Event::TextReceived { from, text, .. } => Some((from, text)),
        _ => None,
    });
    assert_eq!(text, "héllo\nhttps://example.org/x");
    assert_eq!(from.alias, "Chrome on Android at 127.0.0.1");
    assert_eq!(send("   ").0, 400);
    assert_eq!(send(&"x".repeat(10_001)).0, 413);
    // A flood from one host is cut off after 20 a minute.
    let statuses: Vec<u16> = (0..25).map(|i| send(&format!("n{i}")).0).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));
    // With uploads off, no messages either.
    let closed = start_with(1 << 20, UploadPolicy::Off, Vec::new());
    let (status, _) = closed.call(&[
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        r#"{"text":"hi"}"#,
        &closed.url("text"),
    ]);
    assert_eq!(status, 403);
}
