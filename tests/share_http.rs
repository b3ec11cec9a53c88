//! Guards the browser share's HTTP surface, driven with real curl against the
//! real server on 127.0.0.1: exact downloads with the right headers, ranges,
//! ZIPs, a bare 404 for anything without the token or off the routes, and
//! uploads that land under safe names, never overwrite, respect the size
//! limit, the upload policy and the person's consent.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod curl;
mod require;
mod sharing;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use curl::curl;
use ferry::api::{Event, EventSink, ShareEvent, UploadPolicy};
use ferry::http::ShareServer;

struct Share {
    server: ShareServer,
    /// Where the server runs (in the app, the engine owns it); dropped after it.
    _runtime: tokio::runtime::Runtime,
    events: Receiver<Event>,
    shared: tempfile::TempDir,
    downloads: tempfile::TempDir,
}

fn shared_files(dir: &Path) -> (PathBuf, PathBuf) {
    let file = dir.join("report é.bin");
    let bytes: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, bytes).expect("write");
    let folder = dir.join("photos");
    std::fs::create_dir_all(folder.join("sub/empty")).expect("mkdir");
    std::fs::write(folder.join("a.txt"), b"alpha").expect("write");
    std::fs::write(folder.join("sub/b.txt"), vec![b'b'; 300_000]).expect("write");
    (file, folder)
}

fn start(uploads: UploadPolicy, max_upload_bytes: u64) -> Share {
    let shared = tempfile::tempdir().expect("tmp");
    let downloads = tempfile::tempdir().expect("tmp");
    let (file, folder) = shared_files(shared.path());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (sink, events) = EventSink::channel(10_000, Arc::new(|| {}));
    let server = ShareServer::start(
        sharing::config(
            vec![file, folder],
            uploads,
            downloads.path().join("in"),
            max_upload_bytes,
        ),
        runtime.handle(),
        sink,
    )
    .expect("start share");
    assert!(server.url().starts_with("http://127.0.0.1:"));
    Share {
        server,
        _runtime: runtime,
        events,
        shared,
        downloads,
    }
}

impl Share {
    fn url(&self, rest: &str) -> String {
        format!("{}{rest}", self.server.url())
    }

    fn inbox(&self) -> PathBuf {
        self.downloads.path().join("in")
    }

    /// Names in the upload folder, sorted.
    fn inbox_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.inbox())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Waits for the first event that `want` picks.
    fn wait_for<T>(&self, mut want: impl FnMut(ShareEvent) -> Option<T>) -> T {
        loop {
            let event = self
                .events
                .recv_timeout(Duration::from_secs(20))
                .expect("event in time");
            let Event::Share(event) = event else {
                continue;
            };
            if let Some(found) = want(event) {
                return found;
            }
        }
    }
}

/// GET with headers: (status, headers lowercased, body).
fn get(url: &str, extra: &[&str]) -> (u16, String, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tmp");
    let body = dir.path().join("body");
    let headers = dir.path().join("headers");
    let mut args = vec![
        "-o",
        body.to_str().expect("utf8"),
        "-D",
        headers.to_str().expect("utf8"),
        "-w",
        "%{http_code}",
    ];
    args.extend_from_slice(extra);
    args.push(url);
    let out = curl(&args);
    let status = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    let headers = std::fs::read_to_string(&headers)
        .unwrap_or_default()
        .to_lowercase();
    let body = std::fs::read(&body).unwrap_or_default();
    (status, headers, body)
}

fn upload(share: &Share, files: &[(&str, &Path)]) -> (u16, String) {
    let forms: Vec<String> = files
        .iter()
        .map(|(name, path)| format!("file=@{};filename={name}", path.display()))
        .collect();
    let mut args = vec!["-H", "Accept: application/json", "-w", "\n%{http_code}"];
    for form in &forms {
        args.push("-F");
        args.push(form);
    }
    let url = share.url("upload");
    args.push(&url);
    let out = curl(&args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn the_page_and_the_upload_result_speak_the_browsers_language() {
    if !curl::required() {
        return;
    }
    let share = start(UploadPolicy::Allow, 1 << 20);
    let page = |accept: Option<&str>| {
        let header = accept.map(|a| format!("Accept-Language: {a}"));
        let extra: Vec<&str> = header.iter().flat_map(|h| ["-H", h.as_str()]).collect();
        let (status, headers, body) = get(&share.url(""), &extra);
        assert_eq!(status, 200, "{accept:?}");
        assert!(headers.contains("vary: accept-language"), "{headers}");
        String::from_utf8(body).expect("utf-8 page")
    };
    for accept in [
        "zh-CN,zh;q=0.9",
        "zh",
        "zh-Hans",
        "zh-TW",
        "fr-FR, zh;q=0.5",
    ] {
        let zh = page(Some(accept));
        assert!(zh.contains(r#"<html lang="zh-CN">"#), "{accept}");
        // Rendered by the server, and handed to the script as JSON.
        assert!(zh.contains("在另一台设备上打开"), "{accept}");
        assert!(zh.contains("来自 test box 的文件"), "{accept}");
        assert!(zh.contains(r#""stopped":"共享已停止"#), "{accept}");
        assert!(!zh.contains("Open on another device"), "{accept}");
    }
    for accept in [
        Some("en-US"),
        Some("de-DE,fr;q=0.8"),
        Some("zh;q=0, en"),
        None,
    ] {
        let en = page(accept);
        assert!(en.contains(r#"<html lang="en">"#), "{accept:?}");
        assert!(en.contains("Open on another device"), "{accept:?}");
        assert!(en.contains("Files from test box"), "{accept:?}");
        assert!(
            en.contains(r#""stopped":"Sharing has stopped"#),
            "{accept:?}"
        );
        assert!(!en.contains("在另一台设备上打开"), "{accept:?}");
    }
    // A browser without JavaScript posts the form and gets the result page.
    let note = share.shared.path().join("note.txt");
    std::fs::write(&note, b"hello").expect("write");
    let form = format!("file=@{}", note.display());
    let url = share.url("upload");
    let out = curl(&["-H", "Accept-Language: zh-CN", "-F", &form, &url]);
    let result = String::from_utf8_lossy(&out.stdout);
    assert!(result.contains("已保存 1 个文件"), "{result}");
    assert!(result.contains("返回共享的文件"), "{result}");
}

#[test]
fn a_download_is_byte_exact_with_length_type_and_utf8_name() {
    if !curl::required() {
        return;
    }
    let share = start(UploadPolicy::Off, 1 << 20);
    let original = std::fs::read(share.shared.path().join("report é.bin")).expect("read");
    let (status, headers, body) = get(&share.url("d/0"), &[]);
    assert_eq!(status, 200);
    assert!(body == original, "downloaded bytes differ");
    assert!(
        headers.contains(&format!("content-length: {}", original.len())),
        "{headers}"
    );
    assert!(
        headers.contains("content-type: application/octet-stream"),
        "{headers}"
    );
    assert!(
        headers.contains("content-disposition: attachment; filename=\"report _.bin\"; filename*=utf-8''report%20%c3%a9.bin"),
        "{headers}"
    );
    assert!(headers.contains("accept-ranges: bytes"));
    assert!(!headers.contains("server:"), "no server banner: {headers}");
    let bytes = share.wait_for(|e| match e {
        ShareEvent::DownloadFinished { result, .. } => Some(result),
        _ => None,
    });
    assert_eq!(bytes, Ok(original.len() as u64));
}

#[test]
fn a_range_request_returns_exactly_that_slice_with_206() {
    if !curl::required() {
        return;
    }
    let share = start(UploadPolicy::Off, 1 << 20);
    let original = std::fs::read(share.shared.path().join("report é.bin")).expect("read");
    let (status, headers, body) = get(&share.url("d/0"), &["-r", "1000-1999"]);
    assert_eq!(status, 206);
    assert_eq!(body, &original[1000..2000]);
    assert!(
        headers.contains("content-range: bytes 1000-1999/700000"),
        "{headers}"
    );
    assert!(headers.contains("content-length: 1000"));

    let (status, _, body) = get(&share.url("d/0"), &["-H", "Range: bytes=-10"]);
    assert_eq!(status, 206);
    assert_eq!(body, &original[original.len() - 10..]);

    // Resuming a cut download with curl -C: the rest arrives and the file is whole.
    let dir = tempfile::tempdir().expect("tmp");
    let partial = dir.path().join("resumed");
    std::fs::write(&partial, &original[..123_456]).expect("write");
    let out = curl(&[
        "-C",
        "-",
        "-o",
        partial.to_str().expect("utf8"),
        &share.url("d/0"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&partial).expect("read") == original);

    let (status, headers, _) = get(&share.url("d/0"), &["-r", "700000-"]);
    assert_eq!(status, 416);
    assert!(
        headers.contains("content-range: bytes */700000"),
        "{headers}"
    );
}

#[test]
fn without_the_token_or_off_the_routes_everything_is_a_bare_404() {
    if !curl::required() {
        return;
    }
    let share = start(UploadPolicy::Allow, 1 << 20);
    let token = share.server.token().to_string();
    let base = share
        .server
        .url()
        .trim_end_matches('/')
        .trim_end_matches(token.as_str())
        .trim_end_matches("/s/")
        .to_string();
    let wrong = format!("{}A", &token[1..]);
    let paths = [
        "/".to_string(),
        "/favicon.ico".to_string(),
        "/s/".to_string(),
        format!("/s/{wrong}/"),
        format!("/s/{wrong}/d/0"),
        format!("/s/{}/", &token[..token.len() - 1]),
        format!("/S/{token}/"),
        format!("/s/{token}x/"),
        format!("/s/{token}/d/"),
        format!("/s/{token}/d/2"),
        format!("/s/{token}/d/00"),
        format!("/s/{token}/d/1/99"),
        format!("/s/{token}/d/0/0"),
        format!("/s/{token}/../../etc/passwd"),
        format!("/s/{token}/d/../../../etc/passwd"),
        format!("/s/{token}/d/%2e%2e/%2e%2e/etc/passwd"),
        format!("/s/{token}/d/..%2f..%2fetc%2fpasswd"),
        format!("/s/{token}/d/0%2f..%2f..%2fetc%2fpasswd"),
        format!("/s/{token}/%2e%2e/%2e%2e/etc/passwd"),
        format!("/s/{token}/d/%30"),
        format!("/s/{token}/photos/a.txt"),
        format!("/s/{token}/upload"),
    ];
    for path in &paths {
        let (status, headers, body) = get(&format!("{base}{path}"), &["--path-as-is"]);
        assert_eq!(status, 404, "{path}");
        assert_eq!(body, b"Not found.\n", "{path}");
        assert!(!headers.contains("server:"), "{path}: {headers}");
    }
    // The token of an earlier share opens nothing on a new one.
    let other = start(UploadPolicy::Off, 1);
    assert_ne!(other.server.token(), token);
    let (status, _, _) = get(&other.url("").replace(other.server.token(), &token), &[]);
    assert_eq!(status, 404);
}

#[test]
fn a_folder_downloads_as_a_zip_and_file_by_file() {
    if !curl::required() {
        return;
    }
    let share = start(UploadPolicy::Off, 1 << 20);
    let (status, headers, body) = get(&share.url("d/1"), &[]);
    assert_eq!(status, 200);
    assert!(headers.contains("content-type: application/zip"));
    assert!(headers.contains("filename=\"photos.zip\""), "{headers}");
    assert!(headers.contains("transfer-encoding: chunked"), "{headers}");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(body)).expect("a valid zip");
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("utf-8 name").into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "photos/",
            "photos/a.txt",
            "photos/sub/",
            "photos/sub/b.txt",
            "photos/sub/empty/"
        ]
    );
    let mut b = Vec::new();
    archive
        .by_name("photos/sub/b.txt")
        .expect("entry")
        .read_to_end(&mut b)
        .expect("read");
    assert_eq!(b, vec![b'b'; 300_000]);

    // File by file: index 0 is photos/a.txt (name order).
    let (status, headers, body) = get(&share.url("d/1/0"), &[]);
    assert_eq!(status, 200);
    assert_eq!(body, b"alpha");
    assert!(headers.contains("filename=\"a.txt\""), "{headers}");
    assert!(headers.contains("content-type: text/plain"));
}

#[test]
fn a_multipart_upload_lands_with_the_right_bytes_under_a_safe_name() {
    if !curl::required() {
        return;
    }
    let share = start(UploadPolicy::Allow, 10 << 20);
    let src = tempfile::tempdir().expect("tmp");
    let one = src.path().join("one");
    let two = src.path().join("two");
    let bytes: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&one, &bytes).expect("write");
    std::fs::write(&two, b"second").expect("write");
    let (status, body) = upload(
        &share,
        &[("../../escape.bin", &one), ("album/note.txt", &two)],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(share.inbox_names(), ["escape.bin", "note.txt"]);
    assert!(std::fs::read(share.inbox().join("escape.bin")).expect("read") == bytes);
    assert_eq!(
        std::fs::read(share.inbox().join("note.txt")).expect("read"),
        b"second"
    );
    assert!(!share.downloads.path().join("escape.bin").exists());

    // The same names again: never overwritten, numbered instead.
    let (status, body) = upload(&share, &[("note.txt", &one)]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"savedAs\":\"note (1).txt\""), "{body}");
    assert_eq!(
        std::fs::read(share.inbox().join("note.txt")).expect("read"),
        b"second"
    );
    assert_eq!(
        share.inbox_names(),
        ["escape.bin", "note (1).txt", "note.txt"]
    );

    // Issue 17: one name that cannot be used fails that file alone; a colon
    // is an ordinary character on Linux, and an over-long name is shortened
    // keeping its extension.
    let long = format!("{}.txt", "n".repeat(300));
    let (status, body) = upload(
        &share,
        &[("..", &two), ("a:b.txt", &two), (long.as_str(), &two)],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("cannot be saved"), "{body}");
    let names = share.inbox_names();
    assert_eq!(names.len(), 5, "{names:?}");
    #[cfg(unix)]
    assert!(names.contains(&"a:b.txt".to_string()), "{names:?}");
    let shortened = names
        .iter()
        .find(|n| n.starts_with("nnn"))
        .expect("the long name, shortened");
    assert!(
        shortened.ends_with(".txt") && shortened.len() < 255,
        "{shortened}"
    );

    let saved = share.wait_for(|e| match e {
        ShareEvent::UploadSaved { path, .. } => Some(path),
        _ => None,
    });
    assert!(saved.starts_with(share.inbox()));
}

#[test]
fn an_upload_over_the_limit_is_refused_and_leaves_nothing() {
    if !curl::required() {
        return;
    }
    let share = start(UploadPolicy::Allow, 100_000);
    let src = tempfile::tempdir().expect("tmp");
    let big = src.path().join("big");
    std::fs::write(&big, vec![1u8; 300_000]).expect("write");
    let (status, body) = upload(&share, &[("big.bin", &big)]);
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("larger than") || body.contains("accepts at most"),
        "{body}"
    );
    assert!(share.inbox_names().is_empty(), "{:?}", share.inbox_names());

    // Far over the limit: refused from the declared length, before any byte is read.
    let huge = src.path().join("huge");
    std::fs::write(&huge, vec![1u8; 3_000_000]).expect("write");
    let (status, body) = upload(&share, &[("huge.bin", &huge)]);
    assert_eq!(status, 413, "{body}");
    assert!(share.inbox_names().is_empty());
}

#[test]
fn an_upload_is_refused_when_the_share_does_not_allow_it() {
    if !curl::required() {
        return;
    }
    let share = start(UploadPolicy::Off, 1 << 20);
    let src = tempfile::tempdir().expect("tmp");
    let f = src.path().join("f");
    std::fs::write(&f, b"x").expect("write");
    let (status, body) = upload(&share, &[("f.txt", &f)]);
    assert_eq!(status, 403);
    assert!(body.contains("not allowed"), "{body}");
    assert!(!share.inbox().exists());
    let (_, _, page) = get(&share.url(""), &[]);
    assert!(!String::from_utf8_lossy(&page).contains("id=\"upload-form\""));
}

#[test]
fn with_ask_an_upload_waits_for_the_persons_answer() {
    if !curl::required() {
        return;
    }
    let share = Arc::new(start(UploadPolicy::Ask, 1 << 20));
    let src = tempfile::tempdir().expect("tmp");
    let f = src.path().join("f");
    std::fs::write(&f, b"consented").expect("write");
    for accept in [false, true] {
        let uploader = {
            let share = share.clone();
            let f = f.clone();
            std::thread::spawn(move || upload(&share, &[("gift.txt", &f)]))
        };
        let (id, size) = share.wait_for(|e| match e {
            ShareEvent::UploadRequest { id, size, .. } => Some((id, size)),
            _ => None,
        });
        assert!(size.is_some_and(|s| s > 9));
        assert!(
            !share.inbox().join("gift.txt").exists(),
            "nothing before consent"
        );
        assert!(share.server.decide_upload(id, accept));
        assert!(
            !share.server.decide_upload(id, accept),
            "answered only once"
        );
        let (status, body) = uploader.join().expect("join");
        if accept {
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                std::fs::read(share.inbox().join("gift.txt")).expect("read"),
                b"consented"
            );
        } else {
            assert_eq!(status, 403, "{body}");
            assert!(body.contains("declined"), "{body}");
            assert!(share.inbox_names().is_empty());
        }
    }
}

/// Regression (issue 17): a 33rd connection got an immediate 503, so a
/// browser's download over the cap failed; now it waits for a slot.
#[test]
fn over_the_connection_cap_a_client_waits_for_a_slot_instead_of_503() {
    if !curl::required() {
        return;
    }
    let share = start(UploadPolicy::Off, 1);
    let addr = share.server.local_addr();
    let held: Vec<std::net::TcpStream> = (0..ferry::http::MAX_CONNECTIONS_PER_ADDRESS)
        .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
        .collect();
    // Let the server count them all before the next one arrives.
    std::thread::sleep(Duration::from_millis(300));
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        drop(held);
    });
    let started = std::time::Instant::now();
    let (status, _, body) = get(&share.url("d/0"), &[]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "it waited"
    );
    let original = std::fs::read(share.shared.path().join("report é.bin")).expect("read");
    assert!(body == original, "the waiting download is byte-exact");
    release.join().expect("join");
}

/// Regression: tiny_http 0.12 (the first choice) aborted the whole process
/// when a request declared a huge Content-Length it did not send; the server
/// must shrug that off, with or without the token.
#[test]
fn a_huge_declared_length_does_not_take_the_server_down() {
    if !curl::required() {
        return;
    }
    use std::io::Write;
    let share = start(UploadPolicy::Allow, 1 << 20);
    let addr = share.server.local_addr();
    for path in [
        "/nope".to_string(),
        format!("/s/{}/upload", share.server.token()),
    ] {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=z\r\n\
             Content-Length: 4611686018427387904\r\n\r\n"
        )
        .expect("write");
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    }
    let (status, _, _) = get(&share.url(""), &[]);
    assert_eq!(status, 200, "still serving");
}

#[test]
fn the_ferry_share_command_prints_a_link_that_serves_the_files() {
    if !curl::required() {
        return;
    }
    use std::io::BufRead;
    let shared = tempfile::tempdir().expect("tmp");
    let (file, _) = shared_files(shared.path());
    let config = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["share", "--bind", "127.0.0.1", "--port", "0", "--no-qr"])
        .arg(&file)
        .env("FERRY_CONFIG_DIR", config.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start ferry share");
    let stdout = child.stdout.take().expect("stdout");
    let mut url = None;
    for line in std::io::BufReader::new(stdout).lines().take(10) {
        let line = line.expect("line");
        if let Some(found) = line.trim().strip_prefix("http://") {
            url = Some(format!("http://{found}"));
            break;
        }
    }
    let url = url.expect("a URL line");
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/s/"),
        "{url}"
    );
    let (status, _, body) = get(&format!("{url}d/0"), &[]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
    assert!(body == std::fs::read(&file).expect("read"));
}

#[test]
fn stopping_the_share_closes_the_port() {
    if !curl::required() {
        return;
    }
    let share = start(UploadPolicy::Off, 1);
    let page = share.url("");
    assert_eq!(get(&page, &[]).0, 200);
    share.server.stop();
    // Refused, or (if a parallel test's server got the port number) not our page.
    assert_ne!(get(&page, &[]).0, 200);
}
