//! Headless Chromium for the share page tests: launched talking to nothing
//! but loopback, driven over its DevTools protocol, killed on drop. Uses
//! `crate::require` for where Chromium is, so a test file that includes this
//! module declares `mod require;` too.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use crate::require::CHROMIUM;

/// A headless Chromium that talks to nothing but loopback, killed on drop.
pub struct Browser {
    child: Child,
    pub devtools: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub fn launch() -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-domain-reliability",
                "--disable-client-side-phishing-detection",
                "--no-proxy-server",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=420,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = bounded(1);
        std::thread::Builder::new()
            .name("chromium-stderr".into())
            .spawn(move || {
                // Keep reading so Chromium never blocks on a full pipe.
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(at) = line.find("ws://") {
                        let _ = tx.try_send(line[at..].trim().to_string());
                    }
                }
            })
            .expect("thread");
        let devtools = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("Chromium printed its DevTools address");
        assert!(devtools.starts_with("ws://127.0.0.1:"), "{devtools}");
        Browser {
            child,
            devtools,
            _profile: profile,
        }
    }

    /// host:port of the DevTools endpoint.
    pub fn endpoint(&self) -> &str {
        let rest = &self.devtools["ws://".len()..];
        &rest[..rest.find('/').unwrap_or(rest.len())]
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One DevTools connection (browser or page).
pub struct Cdp {
    ws: WebSocket<TcpStream>,
    next: u64,
}

impl Cdp {
    pub fn connect(url: &str) -> Cdp {
        let host = &url["ws://".len()..];
        let host = &host[..host.find('/').expect("path")];
        let stream = TcpStream::connect(host).expect("connect to DevTools");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let (ws, _) = tungstenite::client::client(url, stream).expect("websocket handshake");
        Cdp { ws, next: 1 }
    }

    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.ws.send(Message::Text(message.into())).expect("send");
        loop {
            let Message::Text(text) = self.ws.read().expect("read") else {
                continue;
            };
            let reply: Value = serde_json::from_str(text.as_str()).expect("json");
            if reply["id"] == json!(id) {
                assert!(reply.get("error").is_none(), "{method} failed: {reply}");
                return reply["result"].clone();
            }
        }
    }

    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        result["result"]["value"].clone()
    }
}

pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The page's "sharing has stopped" notice, once it shows (after the
/// script's next ping fails).
pub fn stopped_notice(page: &mut Cdp) -> String {
    wait_until("the stopped notice", || {
        let text = page.eval(
            "(() => { const e = document.getElementById('stopped'); \
             return e.classList.contains('show') ? e.textContent : null; })()",
        );
        text.as_str().map(str::to_string)
    })
}

/// A completed download in `dir` named `name` (no `.crdownload` left).
pub fn finished_download(dir: &Path, name: &str) -> Option<Vec<u8>> {
    let busy = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().ends_with(".crdownload"));
    if busy {
        return None;
    }
    std::fs::read(dir.join(name)).ok()
}

/// A new tab of `browser` sized `width` x `height` (a phone's screen when
/// `mobile`), saving downloads into `downloads`: (the browser's connection,
/// which must stay open for downloads to go there, and the tab's).
pub fn open_tab(
    browser: &Browser,
    downloads: &Path,
    width: u32,
    height: u32,
    mobile: bool,
) -> (Cdp, Cdp) {
    let mut root = Cdp::connect(&browser.devtools);
    root.call(
        "Browser.setDownloadBehavior",
        json!({ "behavior": "allow", "downloadPath": downloads }),
    );
    let target = root.call("Target.createTarget", json!({ "url": "about:blank" }));
    let target_id = target["targetId"].as_str().expect("target id").to_string();
    let mut page = Cdp::connect(&format!(
        "ws://{}/devtools/page/{target_id}",
        browser.endpoint()
    ));
    page.call("Page.enable", json!({}));
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
    );
    (root, page)
}

/// Saves a PNG of the whole page (beyond the screen) to `path`.
pub fn screenshot(page: &mut Cdp, path: &Path) {
    use base64::Engine as _;
    let shot = page.call(
        "Page.captureScreenshot",
        json!({ "format": "png", "captureBeyondViewport": true }),
    );
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("png data"))
        .expect("base64");
    std::fs::write(path, png).expect("write screenshot");
}

/// Clicks the element `selector` like a person (a real mouse event, which
/// counts as a user gesture), after scrolling it into view.
pub fn click(page: &mut Cdp, selector: &str) {
    let at = page.eval(&format!(
        "(() => {{ const e = document.querySelector({selector:?}); e.scrollIntoView({{block: 'center'}}); \
         const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
    ));
    for kind in ["mousePressed", "mouseReleased"] {
        page.call(
            "Input.dispatchMouseEvent",
            json!({ "type": kind, "x": at[0], "y": at[1], "button": "left", "clickCount": 1 }),
        );
    }
}
