//! Guards the share page in a real browser: headless Chromium, driven over
//! its DevTools protocol, loads the page from 127.0.0.1, saves a file and a
//! folder's ZIP that match the originals, and uploads a file chosen in the
//! form and a file dropped on the page (each with the person's consent) that
//! arrive byte-exact. Without /usr/bin/chromium it fails under CI (which
//! installs it) and says it skipped, and why, elsewhere.

mod browser;
mod require;
mod sharing;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use browser::{Browser, finished_download, open_tab, screenshot, stopped_notice, wait_until};
use ferry::api::{Event, EventSink, ShareEvent, UploadPolicy};
use ferry::http::ShareServer;
use require::require;
use serde_json::json;

#[test]
fn chromium_loads_the_page_downloads_and_uploads() {
    if !require("Chromium", require::chromium()) {
        return;
    }
    let shared = tempfile::tempdir().expect("tmp");
    let file = shared.path().join("holiday é.bin");
    let bytes: Vec<u8> = (0..1_500_000u32).map(|i| (i * 31 % 256) as u8).collect();
    std::fs::write(&file, &bytes).expect("write");
    let folder = shared.path().join("album");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("one.txt"), b"first").expect("write");
    let inbox = tempfile::tempdir().expect("tmp");
    // Where the server runs (in the app, the engine owns it).
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (sink, events) = EventSink::channel(10_000, Arc::new(|| {}));
    let server = Arc::new(
        ShareServer::start(
            sharing::config(
                vec![file.clone(), folder],
                UploadPolicy::Ask,
                inbox.path().to_path_buf(),
                50 << 20,
            ),
            runtime.handle(),
            sink,
        )
        .expect("share"),
    );
    // The person at the computer: accepts every upload, remembering what it was asked.
    let asked = {
        let server = server.clone();
        std::thread::Builder::new()
            .name("consent".into())
            .spawn(move || {
                let mut asked: Vec<Vec<String>> = Vec::new();
                let mut finished = 0;
                while let Ok(event) = events.recv_timeout(Duration::from_secs(90)) {
                    let Event::Share(event) = event else {
                        continue;
                    };
                    match event {
                        ShareEvent::UploadRequest { id, names, .. } => {
                            asked.push(names);
                            server.decide_upload(id, true);
                        }
                        ShareEvent::UploadFinished { .. } => {
                            finished += 1;
                            if finished == 2 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                asked
            })
            .expect("thread")
    };

    let browser = Browser::launch();
    let downloads = tempfile::tempdir().expect("tmp");
    // A phone-sized screen.
    let (_root, mut page) = open_tab(&browser, downloads.path(), 390, 844, true);
    page.call("Page.navigate", json!({ "url": server.url() }));
    wait_until("the page to load", || {
        (page.eval("document.readyState") == json!("complete")).then_some(())
    });
    assert_eq!(
        page.eval("document.querySelector('h1').textContent"),
        json!("Files from test box")
    );
    let listed =
        page.eval("Array.from(document.querySelectorAll('.item .name')).map(e => e.textContent)");
    assert_eq!(listed, json!(["holiday é.bin", "album"]));

    // Download: a click on the link saves the file under its UTF-8 name, byte-exact.
    page.eval("document.querySelector('a[href=\"d/0\"]').click()");
    let got = wait_until("the download", || {
        finished_download(downloads.path(), "holiday é.bin")
    });
    assert!(got == bytes, "the downloaded file differs");
    page.eval("document.querySelector('a[href=\"d/1\"]').click()");
    let zip = wait_until("the ZIP", || {
        finished_download(downloads.path(), "album.zip")
    });
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("valid zip");
    assert!(
        archive
            .file_names()
            .any(|n| n.is_ok_and(|n| n == "album/one.txt"))
    );

    // Upload: a file chosen in the form arrives, after the person accepted it.
    let src = tempfile::tempdir().expect("tmp");
    let upload: PathBuf = src.path().join("from the phone.txt");
    let upload_bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 97) as u8).collect();
    std::fs::write(&upload, &upload_bytes).expect("write");
    let document = page.call("DOM.getDocument", json!({ "depth": 0 }));
    let root_node = document["root"]["nodeId"].clone();
    let input = page.call(
        "DOM.querySelector",
        json!({ "nodeId": root_node, "selector": "#file-input" }),
    );
    page.call(
        "DOM.setFileInputFiles",
        json!({ "nodeId": input["nodeId"], "files": [upload] }),
    );
    let arrived = wait_until("the upload", || {
        std::fs::read(inbox.path().join("from the phone.txt")).ok()
    });
    assert!(arrived == upload_bytes, "the uploaded file differs");
    let status = wait_until("the page to report success", || {
        let text = page.eval("document.getElementById('status').textContent");
        text.as_str()
            .filter(|t| t.contains("saved on the computer"))
            .map(str::to_string)
    });
    assert_eq!(status, "1 file was saved on the computer.");
    assert_eq!(
        page.eval("document.querySelector('.up-state').textContent"),
        json!("Saved")
    );
    // Drag and drop: files dropped anywhere on the page are sent too.
    let dropped = src.path().join("dropped.jpg");
    std::fs::write(&dropped, b"not really a jpeg").expect("write");
    let zone = page.eval(
        "(() => { const r = document.getElementById('drop').getBoundingClientRect(); \
         return [r.x + r.width / 2, r.y + r.height / 2]; })()",
    );
    let (x, y) = (zone[0].clone(), zone[1].clone());
    for kind in ["dragEnter", "dragOver", "drop"] {
        page.call(
            "Input.dispatchDragEvent",
            json!({ "type": kind, "x": x, "y": y, "data": {
                "items": [], "files": [dropped], "dragOperationsMask": 1
            } }),
        );
    }
    let arrived = wait_until("the dropped file", || {
        std::fs::read(inbox.path().join("dropped.jpg")).ok()
    });
    assert_eq!(arrived, b"not really a jpeg");
    wait_until("both rows saved", || {
        (page.eval("document.querySelectorAll('.up.ok').length") == json!(2)).then_some(())
    });

    let no_part_left = std::fs::read_dir(inbox.path())
        .expect("inbox")
        .filter_map(|e| e.ok())
        .all(|e| !e.file_name().to_string_lossy().ends_with(".ferry-part"));
    assert!(no_part_left);
    if let Some(path) = std::env::var_os("FERRY_SHARE_SCREENSHOT") {
        // For a person to look at: the page after a download and an upload.
        screenshot(&mut page, std::path::Path::new(&path));
    }
    let asked = asked.join().expect("consent thread");
    assert_eq!(
        asked,
        vec![
            vec!["from the phone.txt".to_string()],
            vec!["dropped.jpg".to_string()]
        ]
    );
}

/// A browser that asks for Chinese (`Accept-Language: zh-CN,zh`) gets the
/// page in Chinese: what the server renders and what its script writes
/// later (the notice when sharing stops).
#[test]
fn chromium_asking_for_chinese_gets_the_page_in_chinese() {
    if !require("Chromium", require::chromium()) {
        return;
    }
    let shared = tempfile::tempdir().expect("tmp");
    let file = shared.path().join("a.txt");
    std::fs::write(&file, b"a").expect("write");
    let running = sharing::run(sharing::config(
        vec![file],
        UploadPolicy::Off,
        shared.path().to_path_buf(),
        1 << 20,
    ));
    let browser = Browser::launch();
    let downloads = tempfile::tempdir().expect("tmp");
    let (mut root, mut page) = open_tab(&browser, downloads.path(), 390, 844, true);
    let version = root.call("Browser.getVersion", json!({}));
    page.call(
        "Emulation.setUserAgentOverride",
        json!({ "userAgent": version["userAgent"], "acceptLanguage": "zh-CN,zh" }),
    );
    page.call("Page.navigate", json!({ "url": running.url("") }));
    wait_until("the page to load", || {
        (page.eval("document.readyState") == json!("complete")).then_some(())
    });
    assert_eq!(page.eval("document.documentElement.lang"), json!("zh-CN"));
    assert_eq!(
        page.eval("document.querySelector('h1').textContent"),
        json!("来自 test box 的文件")
    );
    assert_eq!(
        page.eval("document.querySelector('.item .btn').textContent"),
        json!("下载")
    );
    running.server.stop();
    let notice = stopped_notice(&mut page);
    assert!(notice.starts_with("共享已停止"), "{notice}");
}
