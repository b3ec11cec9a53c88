//! Helpers for the window tests: an isolated app (temporary config, data and
//! download folders, TCP port 0 on 127.0.0.1, discovery confined to `lo` on a
//! UDP port of its own, the browser share on 127.0.0.1 port 0) inside an
//! egui_kittest harness, a headless engine playing the other device, and
//! bounded waits that step the harness until a condition holds.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ferry::api::Device;
use ferry::api::{AcceptPolicy, Event, ReceiveSettings};
use ferry::app::{AppOptions, FerryApp};
use ferry::config::Settings;
use ferry::discovery::DiscoveryConfig;
use ferry::engine::{Engine, EngineConfig};
use ferry::secure::identity::Identity;
use tempfile::TempDir;

/// How long any wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Folders of one app instance; they outlive restarts of the app.
pub struct AppDirs {
    root: TempDir,
}

impl AppDirs {
    /// Fresh folders, with settings naming the app `alias`.
    pub fn new(alias: &str) -> AppDirs {
        let dirs = AppDirs {
            root: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir_all(dirs.downloads()).expect("mkdir");
        let settings = Settings {
            alias: alias.into(),
            download_dir: dirs.downloads(),
            // English whatever the machine's locale: the tests look for English labels.
            language: Some("en".into()),
            ..Settings::default()
        };
        settings.save(&dirs.config()).expect("save settings");
        dirs
    }

    /// Settings and identity.
    pub fn config(&self) -> PathBuf {
        self.root.path().join("config")
    }

    /// History.
    pub fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// Where the app saves received files.
    pub fn downloads(&self) -> PathBuf {
        self.root.path().join("downloads")
    }

    /// A scratch folder for files to send.
    pub fn scratch(&self) -> PathBuf {
        let dir = self.root.path().join("scratch");
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    /// Options for an isolated app over these folders.
    pub fn options(&self) -> AppOptions {
        AppOptions {
            config_dir: self.config(),
            data_dir: self.data(),
            bind_ip: Ipv4Addr::LOCALHOST.into(),
            port: Some(0),
            // Discovery on loopback only, on a UDP port of its own, so tests
            // running side by side never hear each other (and nothing leaves
            // this machine).
            discovery: true,
            udp_port: Some(free_udp_port()),
            interfaces: Some(vec!["lo".into()]),
            files: Vec::new(),
            // The browser share too stays on loopback, on a free port.
            share_bind_ip: Ipv4Addr::LOCALHOST.into(),
            share_port: Some(0),
            // LocalSend's server on a free port (multicast never runs on lo).
            localsend_port: Some(0),
        }
    }
}

/// A UDP port nothing on 127.0.0.1 uses right now.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// The real app in a headless harness.
pub fn harness(dirs: &AppDirs) -> Harness<'static, FerryApp> {
    harness_with(dirs.options())
}

/// The real app with these options in a headless harness.
pub fn harness_with(options: AppOptions) -> Harness<'static, FerryApp> {
    let app = FerryApp::new(options).expect("app starts");
    Harness::builder()
        .with_size([1200.0, 1000.0])
        .build_ui_state(|ui, app: &mut FerryApp| app.frame(ui), app)
}

/// Like [`harness`], but a character no font has is drawn as a box instead
/// of failing the test: for tests about such names, and for tests of the
/// window's words that must not depend on which fonts are installed.
pub fn harness_allowing_tofu(dirs: &AppDirs) -> Harness<'static, FerryApp> {
    let app = FerryApp::new(dirs.options()).expect("app starts");
    Harness::builder()
        .with_size([1200.0, 1000.0])
        .allow_missing_glyphs()
        .build_ui_state(|ui, app: &mut FerryApp| app.frame(ui), app)
}

/// A headless engine playing the other device, listening on 127.0.0.1.
pub struct TestPeer {
    /// The engine.
    pub engine: Engine,
    /// Where it saves received files.
    pub downloads: TempDir,
    /// Events seen so far.
    pub seen: Vec<Event>,
}

impl TestPeer {
    /// Starts a peer called `alias` that accepts offers per `accept`.
    pub fn start(alias: &str, accept: AcceptPolicy) -> TestPeer {
        TestPeer::start_with(alias, accept, None)
    }

    /// Starts a peer that also beacons on loopback at `udp_port`.
    pub fn start_beaconing(alias: &str, accept: AcceptPolicy, udp_port: u16) -> TestPeer {
        TestPeer::start_with(alias, accept, Some(DiscoveryConfig::loopback(udp_port)))
    }

    fn start_with(
        alias: &str,
        accept: AcceptPolicy,
        discovery: Option<DiscoveryConfig>,
    ) -> TestPeer {
        let downloads = tempfile::tempdir().expect("tempdir");
        let engine = Engine::start(
            EngineConfig {
                identity: Arc::new(Identity::ephemeral().expect("a key")),
                device: Device {
                    device_id: String::new(),
                    alias: alias.into(),
                    os: "linux".into(),
                    port: 0,
                },
                listen: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
                receive: ReceiveSettings {
                    download_dir: downloads.path().to_path_buf(),
                    accept,
                    pin: None,
                    accept_from_anywhere: false,
                    remembered: Vec::new(),
                    trust_new: true,
                },
                discovery,
            },
            Arc::new(|| {}),
        )
        .expect("peer engine starts");
        TestPeer {
            engine,
            downloads,
            seen: Vec::new(),
        }
    }

    /// Its device id (its key's fingerprint).
    pub fn id(&self) -> String {
        self.engine.device().device_id
    }

    /// Its transfer address.
    pub fn addr(&self) -> SocketAddr {
        self.engine.local_addr().expect("listening")
    }

    /// Collects events that arrived, without waiting.
    pub fn poll(&mut self) {
        self.seen.extend(self.engine.events().try_iter());
    }

    /// The first event seen that matches.
    pub fn find(&mut self, matches: impl Fn(&Event) -> bool) -> Option<Event> {
        self.poll();
        self.seen.iter().find(|e| matches(e)).cloned()
    }
}

/// Steps the harness until `done` holds; fails after [`DEADLINE`].
pub fn wait_until(
    harness: &mut Harness<'static, FerryApp>,
    what: &str,
    mut done: impl FnMut(&mut Harness<'static, FerryApp>) -> bool,
) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        harness.step();
        if done(harness) {
            harness.step();
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// Steps until a node with exactly this label exists.
/// A window named "Desk" and a device "Kitchen" beaconing on loopback, with
/// the window showing the device already (the start of every discovery test).
pub fn window_seeing_kitchen() -> (AppDirs, TestPeer, Harness<'static, FerryApp>) {
    let dirs = AppDirs::new("Desk");
    let udp_port = free_udp_port();
    let peer = TestPeer::start_beaconing("Kitchen", AcceptPolicy::Ask, udp_port);
    let mut options = dirs.options();
    options.udp_port = Some(udp_port);
    let mut harness = harness_with(options);
    wait_for_label(&mut harness, "Kitchen");
    (dirs, peer, harness)
}

pub fn wait_for_label(harness: &mut Harness<'static, FerryApp>, label: &str) {
    wait_until(harness, label, |h| h.query_by_label(label).is_some());
}

/// A first send to `peer`: the window asks "Does <peer> show this code?";
/// the code on the card is the one the peer shows, and pressing the confirm
/// button lets the offer go (the device is remembered afterwards).
pub fn confirm_pairing(harness: &mut Harness<'static, FerryApp>, peer: &mut TestPeer, alias: &str) {
    wait_for_label(harness, &format!("Does {alias} show this code?"));
    let code = harness.state().state().confirmations[0].code.clone();
    harness.get_by_label(&code);
    wait_until(harness, "the code on the peer", |_| {
        peer.find(|e| matches!(e, Event::PairingCode { .. }))
            .is_some()
    });
    let shown = peer.find(|e| matches!(e, Event::PairingCode { .. }));
    assert!(
        matches!(&shown, Some(Event::PairingCode { code: c, .. }) if *c == code),
        "the window shows {code}, the peer {shown:?}"
    );
    harness.get_by_label("Codes match — send").click();
    wait_until(harness, "the card gone", |h| {
        h.state().state().confirmations.is_empty()
    });
}

/// Adds `peer` by address through the "Add by address…" dialog and waits for its tile.
pub fn add_peer_by_address(harness: &mut Harness<'static, FerryApp>, peer: &TestPeer, alias: &str) {
    harness.get_by_label("➕ Add by address…").click();
    // The dialog fades in over a few frames; it is not reachable before.
    let field = "Address (IP or host name, optionally :port)";
    wait_for_label(harness, field);
    type_into(harness, field, &peer.addr().to_string());
    harness.get_by_label("Add").click();
    wait_for_label(harness, alias);
}

/// Focuses the text field labelled `label` and types `text` into it.
pub fn type_into(harness: &mut Harness<'static, FerryApp>, label: &str, text: &str) {
    harness.get_by_label(label).focus();
    harness.step();
    harness.get_by_label(label).type_text(text);
    harness.step();
    let typed = harness.get_by_label(label).value().unwrap_or_default();
    assert!(
        typed.ends_with(text),
        "typed {text:?}, field holds {typed:?}"
    );
}

/// A dropped file as the windowing layer would hand it over.
#[derive(Debug)]
pub struct Dropped(pub PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// Hovers `paths` over the window for a few frames, then drops them.
pub fn drag_and_drop(harness: &mut Harness<'static, FerryApp>, paths: &[PathBuf]) {
    harness.input_mut().hovered_files = paths
        .iter()
        .map(|p| egui::HoveredFile {
            path: Some(p.clone()),
            mime: String::new(),
        })
        .collect();
    // run() would panic while files hover (egui keeps repainting): step instead.
    harness.run_steps(3);
    harness.input_mut().hovered_files.clear();
    harness.input_mut().dropped_files = paths
        .iter()
        .map(|p| Arc::new(Dropped(p.clone())) as egui::DroppedFileHandle)
        .collect();
    harness.step();
}

/// Writes `len` pseudo-random bytes to `path`.
pub fn write_file(path: &Path, len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64 ^ len as u64;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(path, &bytes).expect("write");
    bytes
}

/// A window "Desk" that dropped a sparse file of `len` bytes (`disk.img`)
/// on a new device "Laptop" (accepting everything), added by address, and
/// confirmed its pairing code: the send is on its way when this returns.
pub fn window_sending_sparse(len: u64) -> (AppDirs, TestPeer, Harness<'static, FerryApp>) {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Laptop", AcceptPolicy::Everyone);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    add_peer_by_address(&mut harness, &peer, "Laptop");
    let big = dirs.scratch().join("disk.img");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(len))
        .expect("sparse file");
    // The only device is the target of a drop.
    drag_and_drop(&mut harness, &[big]);
    confirm_pairing(&mut harness, &mut peer, "Laptop");
    (dirs, peer, harness)
}

/// `peer` offers the window a sparse file of `len` bytes called `name`
/// (made in `scratch`, which must outlive the transfer); the offer card
/// shows the connection's pairing code and Accept is clicked. Returns the
/// peer's transfer id.
pub fn accept_sparse_from(
    harness: &mut Harness<'static, FerryApp>,
    peer: &TestPeer,
    scratch: &Path,
    name: &str,
    len: u64,
) -> ferry::api::TransferId {
    let to = harness.state().local_addr().expect("listening");
    let big = scratch.join(name);
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(len))
        .expect("sparse file");
    let id = ferry::api::TransferId::fresh();
    peer.engine.send(ferry::api::Command::Send {
        id,
        to,
        paths: vec![big],
    });
    wait_for_label(harness, "Accept");
    let code = harness.state().state().prompts[0].code.clone();
    assert_eq!(code.len(), 7, "{code}");
    harness.get_by_label(&code);
    harness.get_by_label("Accept").click();
    id
}
