//! Guards the share page's round-two behaviour (issue 17) in real headless
//! Chromium, at a phone's size (390x844) and a desktop's (1280x800): the
//! page never grows wider than the screen, even with long names and error
//! sentences; "Download everything" saves one ZIP of every item; the QR code
//! and "Copy link" pass the page on; each uploaded file succeeds or fails on
//! its own and shows the name it was saved under (a `\` in a name is kept,
//! an over-long name is shortened); texts go both ways (a shared text to
//! copy, a message to the sharer); a whole folder keeps its structure;
//! uploads show speed and time left and can be cancelled one by one; and
//! the page says so when sharing stops. Without /usr/bin/chromium it fails
//! under CI and is skipped, with the reason, elsewhere.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod browser;
mod require;
mod sharing;

use std::path::Path;

use browser::{
    Browser, Cdp, click, finished_download, open_tab, screenshot, stopped_notice, wait_until,
};
use ferry::api::{Event, UploadPolicy};
use ferry::http::ShareConfig;
use require::require;
use serde_json::{Value, json};

struct Setup {
    running: sharing::Running,
    _shared: tempfile::TempDir,
    inbox: tempfile::TempDir,
    downloads: tempfile::TempDir,
    folder_src: tempfile::TempDir,
}

fn setup() -> Setup {
    let shared = tempfile::tempdir().expect("tmp");
    let file = shared.path().join("holiday é.bin");
    std::fs::write(&file, b"holiday bytes").expect("write");
    let folder = shared.path().join("album");
    std::fs::create_dir_all(folder.join("sub")).expect("mkdir");
    std::fs::write(folder.join("one.txt"), b"first").expect("write");
    std::fs::write(folder.join("sub/two.txt"), b"second").expect("write");
    let picture = shared.path().join("beach.png");
    image::RgbImage::from_fn(800, 600, |x, _| image::Rgb([(x % 256) as u8, 120, 200]))
        .save(&picture)
        .expect("png");
    let folder_src = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(folder_src.path().join("trip/day1")).expect("mkdir");
    std::fs::write(folder_src.path().join("trip/day1/a.txt"), b"day one").expect("write");
    std::fs::write(folder_src.path().join("trip/b.txt"), b"trip b").expect("write");
    let inbox = tempfile::tempdir().expect("tmp");
    let running = sharing::run(ShareConfig {
        texts: vec!["Wi-Fi password: correct horse battery staple".into()],
        ..sharing::config(
            vec![file, folder, picture],
            UploadPolicy::Allow,
            inbox.path().to_path_buf(),
            64 << 20,
        )
    });
    Setup {
        running,
        _shared: shared,
        inbox,
        downloads: tempfile::tempdir().expect("tmp"),
        folder_src,
    }
}

/// Whether the page, or any box on it, is wider than the screen (`width`,
/// not `innerWidth`, which a phone's browser widens to fit a page that
/// overflows: that is how the page once grew to 4,116 px): the right edge
/// that sticks out, or false.
fn overflows(page: &mut Cdp, width: u32) -> Value {
    page.eval(&format!(
        "(() => {{ const w = {width}; \
         const doc = Math.max(document.documentElement.scrollWidth, window.innerWidth); \
         if (doc > w) return doc; \
         const out = Array.from(document.querySelectorAll('body *')) \
           .map(e => e.getBoundingClientRect().right).filter(r => r > w + 1); \
         return out.length ? Math.max(...out) : false; }})()"
    ))
}

/// Picks `files` (name, text) in the page's file input, as a person would.
fn pick(page: &mut Cdp, files: &[(&str, &str)]) {
    let list = serde_json::to_string(files).expect("json");
    page.eval(&format!(
        "(() => {{ const dt = new DataTransfer(); \
         for (const [name, text] of {list}) dt.items.add(new File([text], name)); \
         const input = document.getElementById('file-input'); input.files = dt.files; \
         input.dispatchEvent(new Event('change')); }})()"
    ));
}

/// Picks one file of `size` zero bytes.
fn pick_big(page: &mut Cdp, name: &str, size: usize) {
    page.eval(&format!(
        "(() => {{ const dt = new DataTransfer(); dt.items.add(new File([new Uint8Array({size})], {name:?})); \
         const input = document.getElementById('file-input'); input.files = dt.files; \
         input.dispatchEvent(new Event('change')); }})()"
    ));
}

/// (class, state text) of each upload row.
fn rows(page: &mut Cdp) -> Vec<(String, String)> {
    let v = page.eval(
        "Array.from(document.querySelectorAll('#uploads li')).map(li => \
         [li.className, li.querySelector('.up-state').textContent])",
    );
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r[0].as_str().unwrap_or("").to_string(),
                        r[1].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn rows_settled(page: &mut Cdp, count: usize) -> Vec<(String, String)> {
    wait_until("the uploads to settle", || {
        let now = rows(page);
        (now.len() == count && now.iter().all(|(class, _)| class != "up")).then_some(now)
    })
}

fn shot(page: &mut Cdp, name: &str) {
    if let Some(dir) = std::env::var_os("FERRY_SHARE_SCREENSHOT_DIR") {
        screenshot(page, &Path::new(&dir).join(name));
    }
}

fn run(width: u32, height: u32, mobile: bool, label: &str) {
    if !require("Chromium", require::chromium()) {
        return;
    }
    let s = setup();
    let browser = Browser::launch();
    let (_root, mut page) = open_tab(&browser, s.downloads.path(), width, height, mobile);
    page.call("Page.navigate", json!({ "url": s.running.server.url() }));
    wait_until("the page to load", || {
        (page.eval("document.readyState") == json!("complete")).then_some(())
    });
    assert_eq!(
        overflows(&mut page, width),
        json!(false),
        "{label}: wider than the screen"
    );

    // Item 10: a thumbnail for the picture (96 px on its long side), none
    // for other files.
    let thumb = wait_until("the thumbnail", || {
        let size = page.eval(
            "(() => { const i = document.querySelector('img.thumb'); \
             return i && i.complete && i.naturalWidth ? [i.naturalWidth, i.naturalHeight] : null; })()",
        );
        (!size.is_null()).then_some(size)
    });
    assert_eq!(thumb, json!([96, 72]));
    assert_eq!(
        page.eval("document.querySelectorAll('img.thumb').length"),
        json!(1)
    );
    assert_eq!(page.eval("fetch('t/0').then(r => r.status)"), json!(404));

    // Item 8: the QR code and the link to pass the page on.
    assert_eq!(
        page.eval("document.querySelectorAll('.qr svg path').length"),
        json!(1)
    );
    assert_eq!(
        page.eval("document.getElementById('link').textContent"),
        json!(s.running.server.url())
    );
    click(&mut page, "#copy-link");
    let copied = wait_until("the copy to be confirmed", || {
        let text = page.eval("document.getElementById('copy-link').textContent");
        (text != json!("Copy link")).then_some(text)
    });
    assert_eq!(copied, json!("Link copied"), "{label}");

    // Item 7: a shared text to copy, and a message to the sharer.
    assert_eq!(
        page.eval("document.querySelector('.texts .text-body').textContent"),
        json!("Wi-Fi password: correct horse battery staple")
    );
    click(&mut page, ".copy-text");
    wait_until("the text to be copied", || {
        (page.eval("document.querySelector('.copy-text').textContent") == json!("Copied"))
            .then_some(())
    });
    page.eval("document.getElementById('message').value = 'see you at 8\\nhttps://example.org'");
    click(&mut page, "#message-form button");
    wait_until("the message to be sent", || {
        (page.eval("document.getElementById('message-status').textContent") == json!("Sent."))
            .then_some(())
    });
    let (from, text) = wait_until("the message at the computer", || {
        s.running.events.try_iter().find_map(|e| match e {
            Event::TextReceived { from, text, .. } => Some((from, text)),
            _ => None,
        })
    });
    assert_eq!(text, "see you at 8\nhttps://example.org");
    assert!(
        from.alias.starts_with("Chrome on Linux at 127.0.0.1"),
        "{}",
        from.alias
    );

    // Item 6: everything as one ZIP.
    click(&mut page, "#download-all");
    let zip = wait_until("the ZIP of everything", || {
        finished_download(s.downloads.path(), "Files from test box.zip")
    });
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("valid zip");
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("entry name").to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "album/",
            "album/one.txt",
            "album/sub/",
            "album/sub/two.txt",
            "beach.png",
            "holiday é.bin"
        ]
    );
    let mut two = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("album/sub/two.txt").expect("entry"),
        &mut two,
    )
    .expect("read");
    assert_eq!(two, "second");

    // Items 1-3: each file on its own, under the name it was saved as.
    let long = format!("{}.txt", "é".repeat(200));
    pick(
        &mut page,
        &[
            ("notes\\draft v2.txt", "draft"),
            (&long, "long"),
            ("..", "dots"),
            ("plain.txt", "plain"),
        ],
    );
    let settled = rows_settled(&mut page, 4);
    assert_eq!(
        settled[0],
        ("up ok".to_string(), "Saved".to_string()),
        "{label}"
    );
    assert_eq!(settled[1].0, "up ok", "{label}: {settled:?}");
    assert!(settled[1].1.starts_with("Saved as éé") && settled[1].1.ends_with("é.txt"));
    assert_eq!(settled[2].0, "up bad", "{label}: {settled:?}");
    assert!(settled[2].1.contains("cannot be saved"), "{settled:?}");
    assert_eq!(settled[3], ("up ok".to_string(), "Saved".to_string()));
    assert_eq!(
        page.eval("document.getElementById('status').textContent"),
        json!("3 of 4 files were saved on the computer.")
    );
    assert_eq!(
        std::fs::read(s.inbox.path().join("notes\\draft v2.txt")).expect("saved"),
        b"draft"
    );
    let shortened = settled[1].1.trim_start_matches("Saved as ").to_string();
    assert_eq!(
        std::fs::read(s.inbox.path().join(&shortened)).expect("saved"),
        b"long"
    );
    assert_eq!(
        overflows(&mut page, width),
        json!(false),
        "{label}: long names widen the page"
    );

    // Item 9: a whole folder, its structure kept.
    let document = page.call("DOM.getDocument", json!({ "depth": 0 }));
    let input = page.call(
        "DOM.querySelector",
        json!({ "nodeId": document["root"]["nodeId"], "selector": "#dir-input" }),
    );
    page.call(
        "DOM.setFileInputFiles",
        json!({ "nodeId": input["nodeId"], "files": [s.folder_src.path().join("trip")] }),
    );
    rows_settled(&mut page, 6);
    assert_eq!(
        std::fs::read(s.inbox.path().join("trip/day1/a.txt")).expect("folder file"),
        b"day one"
    );
    assert_eq!(
        std::fs::read(s.inbox.path().join("trip/b.txt")).expect("folder file"),
        b"trip b"
    );

    // Item 9: speed and time left, and Cancel for one file.
    page.call("Network.enable", json!({}));
    page.call(
        "Network.emulateNetworkConditions",
        json!({ "offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1_000_000 }),
    );
    pick_big(&mut page, "slow.bin", 8_000_000);
    let progress = wait_until("speed and time left", || {
        let now = rows(&mut page);
        let last = now.last().map(|(_, text)| text.clone()).unwrap_or_default();
        (last.contains("/s") && last.contains("left")).then_some(last)
    });
    assert!(progress.contains("% of 7.6 MiB"), "{progress}");
    shot(&mut page, &format!("share-page-{label}.png"));
    page.eval("document.querySelector('#uploads li:last-child .up-cancel').click()");
    let cancelled = rows_settled(&mut page, 7);
    assert_eq!(
        cancelled[6],
        ("up bad".to_string(), "Cancelled".to_string())
    );
    wait_until("the cancelled part to be removed", || {
        let left = std::fs::read_dir(s.inbox.path())
            .expect("inbox")
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with("slow.bin"));
        (!left).then_some(())
    });
    // Item 9: the connection breaks in the middle of a file, as a phone's
    // does (its sockets destroyed with ss -K, which needs root); the page
    // goes on from what the computer has, and the file arrives whole.
    let resumes = require("root", require::root("destroying sockets with ss -K"));
    if resumes {
        resume_after_a_break(&mut page, &s, label);
    } else {
        page.call(
            "Network.emulateNetworkConditions",
            json!({ "offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
        );
    }
    assert_eq!(overflows(&mut page, width), json!(false), "{label}");
    assert_eq!(
        page.eval("document.getElementById('status').textContent"),
        json!(if resumes {
            "6 of 7 files were saved on the computer."
        } else {
            "5 of 6 files were saved on the computer."
        }),
        "a cancelled file is not counted as a failure"
    );

    // Item 10: the page says so when sharing stops.
    s.running.server.stop();
    let notice = stopped_notice(&mut page);
    assert!(notice.starts_with("Sharing has stopped"), "{notice}");
    shot(&mut page, &format!("share-page-{label}-stopped.png"));
}

/// The upload of a 3 MB file breaks midway; the page resumes it.
fn resume_after_a_break(page: &mut Cdp, s: &Setup, label: &str) {
    page.eval(
        "(() => { const b = new Uint8Array(3000000); for (let i = 0; i < b.length; i++) b[i] = (i * 7) % 251; \
         const dt = new DataTransfer(); dt.items.add(new File([b], 'resumed.bin')); \
         const input = document.getElementById('file-input'); input.files = dt.files; \
         input.dispatchEvent(new Event('change')); })()",
    );
    let part = s.inbox.path().join("resumed.bin.ferry-part");
    wait_until("part of the file to arrive", || {
        let len = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        (len > 300_000).then_some(())
    });
    let port = s.running.server.local_addr().port();
    let killed = std::process::Command::new("ss")
        .args(["-K", &format!("sport = :{port}")])
        .output()
        .expect("run ss");
    assert!(killed.status.success(), "ss -K: {killed:?}");
    page.call(
        "Network.emulateNetworkConditions",
        json!({ "offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
    );
    let resumed = rows_settled(page, 8);
    assert_eq!(
        resumed[7],
        ("up ok".to_string(), "Saved".to_string()),
        "{label}"
    );
    let whole = std::fs::read(s.inbox.path().join("resumed.bin")).expect("resumed file");
    let expected: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    assert!(whole == expected, "the resumed file is byte-exact");
    // It went on from where it broke: a request started at a later offset.
    let offsets = page.eval(
        "performance.getEntriesByType('resource').map(e => e.name) \
         .filter(n => n.includes('/up/') && !n.endsWith('offset=0')).length",
    );
    assert!(
        offsets.as_u64().is_some_and(|n| n > 0),
        "no resumed request: {offsets}"
    );
}

#[test]
fn at_phone_size_the_page_does_what_issue_17_asks() {
    run(390, 844, true, "phone");
}

#[test]
fn at_desktop_size_the_page_does_what_issue_17_asks() {
    run(1280, 800, false, "desktop");
}
