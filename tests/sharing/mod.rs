//! Helpers for the browser share's tests: a [`ShareConfig`] with the usual
//! test values, the real `ferry share` binary on loopback with its link
//! read from its output, and TCP connections from a chosen loopback address
//! (127.0.0.2, 127.0.0.3, ... stand for other devices).
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Lines};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use ferry::api::UploadPolicy;
use ferry::http::ShareConfig;

/// A share of `items` on 127.0.0.1 (a free port) named "test box", with
/// no texts and no visitor approval.
pub fn config(
    items: Vec<PathBuf>,
    uploads: UploadPolicy,
    download_dir: PathBuf,
    max_upload_bytes: u64,
) -> ShareConfig {
    ShareConfig {
        items,
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        also_listen: Vec::new(),
        uploads,
        download_dir,
        max_upload_bytes,
        device_name: "test box".into(),
        texts: Vec::new(),
        approve_visitors: false,
        url_host: None,
    }
}

/// A running `ferry share` (with `FERRY_INTERFACES=lo` and a config folder
/// of its own), killed on drop.
pub struct FerryShare {
    child: Child,
    /// The link it printed.
    pub url: String,
    /// Its standard input (for answers).
    pub stdin: Option<ChildStdin>,
    /// What it prints after the link, unless [`FerryShare::drain`] took it.
    pub lines: Option<Lines<BufReader<ChildStdout>>>,
    _config: tempfile::TempDir,
}

impl FerryShare {
    /// Starts `ferry share --port 0 --no-qr ARGS...` and reads its link.
    pub fn start(args: &[&str]) -> FerryShare {
        let config = tempfile::tempdir().expect("tmp");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(["share", "--port", "0", "--no-qr"])
            .args(args)
            .env("FERRY_CONFIG_DIR", config.path())
            .env("FERRY_INTERFACES", "lo")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ferry share");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let url = lines
            .by_ref()
            .take(20)
            .map_while(Result::ok)
            .find_map(|line| line.trim().strip_prefix("http://").map(str::to_string))
            .map(|rest| format!("http://{rest}"))
            .expect("a URL line");
        FerryShare {
            stdin: child.stdin.take(),
            child,
            url,
            lines: Some(lines),
            _config: config,
        }
    }

    /// Keeps reading what it prints on a thread, so it never writes into a
    /// closed pipe.
    pub fn drain(mut self) -> Self {
        if let Some(lines) = self.lines.take() {
            std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        }
        self
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    /// host:port of the link.
    pub fn addr(&self) -> SocketAddr {
        let rest = self.url.strip_prefix("http://").expect("http");
        rest[..rest.find('/').expect("path")]
            .parse()
            .expect("address")
    }

    /// The path of the link (`/s/TOKEN/`).
    pub fn path(&self) -> &str {
        let rest = self.url.strip_prefix("http://").expect("http");
        &rest[rest.find('/').expect("path")..]
    }
}

impl Drop for FerryShare {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP connection to `to` from the loopback address `from`.
pub fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((from, 0)).into())
        .expect("bind a loopback address");
    socket
        .connect_timeout(&to.into(), Duration::from_secs(10))
        .expect("connect");
    socket.into()
}

/// A [`ShareServer`] on a runtime of its own, with its events.
pub struct Running {
    /// The server (dropped first: it stops before its runtime ends).
    pub server: ferry::http::ShareServer,
    /// What it reports.
    pub events: crossbeam_channel::Receiver<ferry::api::Event>,
    _runtime: tokio::runtime::Runtime,
}

/// Starts a share of `config` on a fresh runtime.
pub fn run(config: ShareConfig) -> Running {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (sink, events) = ferry::api::EventSink::channel(100_000, std::sync::Arc::new(|| {}));
    let server =
        ferry::http::ShareServer::start(config, runtime.handle(), sink).expect("start share");
    Running {
        server,
        events,
        _runtime: runtime,
    }
}

impl Running {
    /// `rest` under the share's link.
    pub fn url(&self, rest: &str) -> String {
        format!("{}{rest}", self.server.url())
    }

    /// Waits (20 s at most) for the first share event that `want` picks.
    pub fn wait_for<T>(&self, mut want: impl FnMut(ferry::api::ShareEvent) -> Option<T>) -> T {
        self.wait_for_event(|event| match event {
            ferry::api::Event::Share(event) => want(event),
            _ => None,
        })
    }

    /// Waits (20 s at most) for the first event that `want` picks.
    pub fn wait_for_event<T>(&self, mut want: impl FnMut(ferry::api::Event) -> Option<T>) -> T {
        loop {
            let event = self
                .events
                .recv_timeout(Duration::from_secs(20))
                .expect("event in time");
            if let Some(found) = want(event) {
                return found;
            }
        }
    }
}
