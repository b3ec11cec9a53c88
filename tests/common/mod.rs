//! Shared helpers for the end-to-end tests: engines on 127.0.0.1 with their
//! own temporary folders, bounded waits on events, random files, tree
//! comparison, bounded waits on a growing file, and a TCP relay that can
//! throttle, count or corrupt bytes.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ferry::api::Device;
use ferry::api::TransferId;
use ferry::api::{AcceptPolicy, Command, Decision, Event, ReceiveSettings};
use ferry::engine::{Engine, EngineConfig};
use ferry::protocol::Timeouts;
use ferry::secure::identity::Identity;
use sha2::{Digest, Sha256};

/// Generous bound for any single wait; tests normally finish far sooner.
pub const WAIT: Duration = Duration::from_secs(60);

/// The longest a wait may last while events keep coming (a long transfer
/// reports progress all along): a busy CI machine makes a 150,000-file
/// transfer slow, not silent, and only silence or a runaway means a fault.
pub const WAIT_WHILE_BUSY: Duration = Duration::from_secs(600);

/// Short connection timers for fault tests: a silent peer is dropped after
/// about a second instead of 30 (the protocol's defaults, see
/// docs/PROTOCOL.md); pings every 150 ms keep healthy connections alive.
pub fn quick_timeouts() -> Timeouts {
    Timeouts {
        handshake: Duration::from_millis(1000),
        ping: Duration::from_millis(150),
        idle: Duration::from_millis(1200),
        ..Timeouts::default()
    }
}

/// One engine with its own download folder. Test engines send to devices
/// they never met without comparing the pairing code (`trust_new`, like
/// `ferry send --trust-new`), so tests about moving bytes need no person;
/// the confirmation itself is tested in tests/pairing_attacks.rs with
/// [`Node::confirming_sender`].
pub struct Node {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
    pub seen: Vec<Event>,
}

pub fn device(name: &str) -> Device {
    Device {
        device_id: format!("{name}-id"),
        alias: name.to_string(),
        os: "linux".into(),
        port: 0,
    }
}

/// How many files the events in `seen` report verified.
#[allow(dead_code)]
pub fn verified_files(seen: &[Event]) -> usize {
    seen.iter()
        .map(|e| match e {
            Event::FilesVerified { paths, .. } => paths.len(),
            _ => 0,
        })
        .sum()
}

impl Node {
    /// A receiving engine on 127.0.0.1 (port 0) with the given policy.
    pub fn receiver(name: &str, accept: AcceptPolicy) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        Node::with_dir(name, accept, dir)
    }

    pub fn with_dir(name: &str, accept: AcceptPolicy, dir: tempfile::TempDir) -> Node {
        Node::with_identity(
            name,
            accept,
            None,
            dir,
            Identity::ephemeral().expect("identity"),
        )
    }

    /// A receiver that requires `pin`.
    pub fn with_pin(name: &str, pin: &str) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let identity = Identity::ephemeral().expect("identity");
        Node::with_identity(
            name,
            AcceptPolicy::Everyone,
            Some(pin.to_string()),
            dir,
            identity,
        )
    }

    pub fn with_identity(
        name: &str,
        accept: AcceptPolicy,
        pin: Option<String>,
        dir: tempfile::TempDir,
        identity: Identity,
    ) -> Node {
        let config = EngineConfig {
            device: device(name),
            identity: Arc::new(identity),
            listen: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
            receive: ReceiveSettings {
                download_dir: dir.path().to_path_buf(),
                accept,
                pin,
                accept_from_anywhere: false,
                remembered: Vec::new(),
                trust_new: true,
            },
            discovery: None,
        };
        Node::start(config, dir, Timeouts::default())
    }

    /// A receiving engine that saves into `download_dir` (a folder the test
    /// made, e.g. a small tmpfs) instead of its own temporary folder.
    pub fn receiver_saving_to(name: &str, accept: AcceptPolicy, download_dir: &Path) -> Node {
        Node::receiver_saving_to_with(name, accept, download_dir, Timeouts::default())
    }

    /// [`Node::receiver_saving_to`] with the given connection timers.
    pub fn receiver_saving_to_with(
        name: &str,
        accept: AcceptPolicy,
        download_dir: &Path,
        timeouts: Timeouts,
    ) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        Node::receiver_full(name, accept, download_dir.to_path_buf(), dir, timeouts)
    }

    /// A receiving engine on 127.0.0.1 with the given connection timers.
    pub fn receiver_with_timeouts(name: &str, accept: AcceptPolicy, timeouts: Timeouts) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let download_dir = dir.path().to_path_buf();
        Node::receiver_full(name, accept, download_dir, dir, timeouts)
    }

    /// A receiver on 127.0.0.1 (port 0), no PIN, saving into `download_dir`.
    fn receiver_full(
        name: &str,
        accept: AcceptPolicy,
        download_dir: PathBuf,
        dir: tempfile::TempDir,
        timeouts: Timeouts,
    ) -> Node {
        let config = EngineConfig {
            device: device(name),
            identity: Arc::new(Identity::ephemeral().expect("identity")),
            listen: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
            receive: ReceiveSettings {
                download_dir,
                accept,
                pin: None,
                accept_from_anywhere: false,
                remembered: Vec::new(),
                trust_new: true,
            },
            discovery: None,
        };
        Node::start(config, dir, timeouts)
    }

    /// A send-only engine.
    pub fn sender(name: &str) -> Node {
        Node::sender_as(name, Arc::new(Identity::ephemeral().expect("identity")))
    }

    /// A send-only engine with a given identity (the same device again).
    pub fn sender_as(name: &str, identity: Arc<Identity>) -> Node {
        Node::sender_full(name, identity, Timeouts::default())
    }

    /// A send-only engine that asks for every device it has not confirmed
    /// (the default of the window and the CLI): each send waits for
    /// [`Command::ConfirmPeer`] after [`Event::ConfirmPeer`].
    pub fn confirming_sender(name: &str, identity: Arc<Identity>) -> Node {
        Node::sender_with_trust(name, identity, Vec::new(), false, Timeouts::default())
    }

    /// A send-only engine that remembers `remembered` and trusts new
    /// devices on first use if `trust_new`.
    pub fn sender_with_trust(
        name: &str,
        identity: Arc<Identity>,
        remembered: Vec<ferry::api::TrustedDevice>,
        trust_new: bool,
        timeouts: Timeouts,
    ) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = EngineConfig {
            device: device(name),
            identity,
            listen: None,
            receive: ReceiveSettings {
                download_dir: dir.path().to_path_buf(),
                accept: AcceptPolicy::Ask,
                pin: None,
                accept_from_anywhere: false,
                remembered,
                trust_new,
            },
            discovery: None,
        };
        Node::start(config, dir, timeouts)
    }

    /// A send-only engine with the given connection timers.
    pub fn sender_with_timeouts(name: &str, timeouts: Timeouts) -> Node {
        let identity = Arc::new(Identity::ephemeral().expect("identity"));
        Node::sender_full(name, identity, timeouts)
    }

    /// A send-only engine that listens to discovery beacons as configured.
    pub fn sender_discovering(name: &str, discovery: ferry::engine::DiscoveryConfig) -> Node {
        let identity = Arc::new(Identity::ephemeral().expect("identity"));
        let mut node = Node::sender_full(name, identity.clone(), Timeouts::default());
        let config = EngineConfig {
            device: device(name),
            identity,
            listen: None,
            receive: ReceiveSettings {
                download_dir: node.dir.path().to_path_buf(),
                accept: AcceptPolicy::Ask,
                pin: None,
                accept_from_anywhere: false,
                remembered: Vec::new(),
                trust_new: true,
            },
            discovery: Some(discovery),
        };
        node.engine = Engine::start(config, Arc::new(|| {})).expect("engine starts");
        node
    }

    fn sender_full(name: &str, identity: Arc<Identity>, timeouts: Timeouts) -> Node {
        Node::sender_with_trust(name, identity, Vec::new(), true, timeouts)
    }

    fn start(config: EngineConfig, dir: tempfile::TempDir, timeouts: Timeouts) -> Node {
        let engine =
            Engine::start_with_timeouts(config, Arc::new(|| {}), timeouts).expect("engine starts");
        Node {
            engine,
            dir,
            seen: Vec::new(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.engine.local_addr().expect("listening")
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Sends `paths` to `to` as one fresh transfer; its id.
    pub fn send_paths(&self, to: SocketAddr, paths: Vec<PathBuf>) -> TransferId {
        let id = TransferId::fresh();
        self.engine.send(Command::Send { id, to, paths });
        id
    }

    /// Sends the one file or folder at `path` to `to`; the transfer's id.
    pub fn send_file(&self, to: SocketAddr, path: &Path) -> TransferId {
        self.send_paths(to, vec![path.to_path_buf()])
    }

    /// Waits (bounded) for the first event for which `pick` returns Some.
    pub fn wait<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        // Fails after WAIT without any event, or after WAIT_WHILE_BUSY even
        // while events keep coming.
        let cap = Instant::now() + WAIT_WHILE_BUSY;
        loop {
            let left = WAIT.min(cap.saturating_duration_since(Instant::now()));
            match self.engine.events().recv_timeout(left) {
                Ok(event) => {
                    let found = pick(&event);
                    self.seen.push(event);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Err(_) => panic!(
                    "timed out waiting for {what}; events so far: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Waits for the next offer's prompt and accepts all of it; its id.
    pub fn accept_next_offer(&mut self) -> TransferId {
        let id = self.wait("the offer", |e| match e {
            Event::Incoming { id, .. } => Some(*id),
            _ => None,
        });
        self.engine.send(Command::Decide {
            id,
            decision: Decision::AcceptAll,
        });
        id
    }

    /// Waits for transfer `id` to start again (a resume) and returns the
    /// bytes it resumed after.
    #[allow(dead_code)] // not every test binary resumes
    pub fn started_again(&mut self, id: TransferId) -> u64 {
        self.wait("the same transfer starts again", |e| match e {
            Event::Started {
                id: again,
                resumed_bytes,
                ..
            } if *again == id => Some(*resumed_bytes),
            _ => None,
        })
    }

    /// Waits for a transfer to finish and returns its outcome.
    pub fn finished(&mut self) -> ferry::api::Outcome {
        self.wait("Finished", |e| match e {
            Event::Finished { outcome, .. } => Some(outcome.clone()),
            _ => None,
        })
    }
}

/// The receiver still takes a normal file after whatever happened.
pub fn still_serves(receiver: &mut Node) {
    let src = tempfile::tempdir().expect("tmp");
    let path = src.path().join("after.txt");
    std::fs::write(&path, "still here").expect("write");
    let mut sender = Node::sender("good");
    sender.send_paths(receiver.addr(), vec![path]);
    let offer = receiver.wait("offer or finish", |e| match e {
        Event::Incoming { id, .. } => Some(Some(*id)),
        Event::Finished { outcome, .. } if outcome.is_success() => Some(None),
        _ => None,
    });
    if let Some(id) = offer {
        receiver.engine.send(Command::Decide {
            id,
            decision: Decision::AcceptAll,
        });
        assert!(receiver.finished().is_success());
    }
    assert!(sender.finished().is_success());
}

/// Writes `len` pseudo-random bytes (fast, deterministic per seed).
pub fn random_file(path: &Path, len: usize, seed: u64) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut block = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let v = state.wrapping_mul(0x2545F4914F6CDD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        let n = left.min(block.len());
        out.write_all(&block[..n]).expect("write");
        left -= n;
    }
    out.flush().expect("flush");
}

pub fn sha256_file(path: &Path) -> [u8; 32] {
    let mut file =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hasher.finalize().into()
}

/// Every file and folder under `root`, relative, sorted, with file hashes.
pub fn tree(root: &Path) -> Vec<(PathBuf, Option<[u8; 32]>)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let entry = entry.expect("walk");
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("prefix")
            .to_path_buf();
        let hash = entry
            .file_type()
            .is_file()
            .then(|| sha256_file(entry.path()));
        out.push((rel, hash));
    }
    out
}

/// Waits (bounded by [`WAIT`]) until the file at `path` holds at least
/// `at_least` bytes, e.g. a partial a transfer is filling.
pub fn wait_for_len(path: &Path, at_least: u64) {
    let deadline = Instant::now() + WAIT;
    while std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) < at_least {
        assert!(Instant::now() < deadline, "{} never grew", path.display());
        thread::sleep(Duration::from_millis(20));
    }
}

/// Files ending in .ferry-part (or their .meta) anywhere under `root`.
pub fn partials(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".ferry-part"))
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// The length of the one partial file kept under `root` (with its
/// `.meta` sidecar, so that it resumes).
pub fn kept_partial(root: &Path) -> u64 {
    let found = partials(root);
    let parts: Vec<&PathBuf> = found
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".ferry-part"))
        .collect();
    assert_eq!(parts.len(), 1, "one partial file is kept: {found:?}");
    assert_eq!(found.len(), 2, "with its sidecar: {found:?}");
    std::fs::metadata(parts[0]).expect("partial").len()
}

/// A TCP relay on 127.0.0.1 in front of `target`: counts the bytes it passes
/// from client to server, can throttle them, and can flip one byte.
pub struct Relay {
    pub addr: SocketAddr,
    pub forwarded: Arc<AtomicU64>,
    pub captured: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
}

#[derive(Clone, Copy, Default)]
pub struct RelayOptions {
    /// Bytes per second client → server (0 = unlimited).
    pub rate: u64,
    /// Flip the byte at this offset of the client → server stream.
    pub flip_at: Option<u64>,
    /// Keep a copy of the first MiBs of client → server bytes.
    pub capture: bool,
    /// Forward only this many client → server bytes, then cut the connection
    /// (the server sees the stream end without a TLS close).
    pub cut_after: Option<u64>,
}

impl Relay {
    /// A relay that only paces client → server bytes to `rate` bytes per
    /// second, so a transfer is surely mid-file when the test strikes.
    pub fn throttled(target: SocketAddr, rate: u64) -> Relay {
        Relay::start(
            target,
            RelayOptions {
                rate,
                ..Default::default()
            },
        )
    }

    pub fn start(target: SocketAddr, options: RelayOptions) -> Relay {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind relay");
        let addr = listener.local_addr().expect("addr");
        let forwarded = Arc::new(AtomicU64::new(0));
        let captured = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (fwd, cap, stop2) = (forwarded.clone(), captured.clone(), stop.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let (c2, s2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let (fwd, cap) = (fwd.clone(), cap.clone());
                thread::spawn(move || pipe(client, server, options, Some((fwd, cap))));
                thread::spawn(move || pipe(s2, c2, RelayOptions::default(), None));
            }
        });
        Relay {
            addr,
            forwarded,
            captured,
            stop,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

type Counters = (Arc<AtomicU64>, Arc<Mutex<Vec<u8>>>);

fn pipe(mut from: TcpStream, mut to: TcpStream, options: RelayOptions, counters: Option<Counters>) {
    let mut buf = vec![0u8; 64 * 1024];
    let started = Instant::now();
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(at) = options
            .flip_at
            .filter(|&at| at >= total && at < total + n as u64)
        {
            buf[(at - total) as usize] ^= 0x55;
        }
        if let Some((count, capture)) = &counters {
            count.fetch_add(n as u64, Ordering::SeqCst);
            if options.capture {
                let mut cap = capture.lock().expect("lock");
                if cap.len() < 64 << 20 {
                    cap.extend_from_slice(&buf[..n]);
                }
            }
        }
        let n = match options.cut_after {
            Some(cut) if total + n as u64 >= cut => {
                let _ = to.write_all(&buf[..(cut - total) as usize]);
                break;
            }
            _ => n,
        };
        total += n as u64;
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        if options.rate > 0 {
            // Pace to the rate: sleep until the bytes so far are "due".
            let due = Duration::from_secs_f64(total as f64 / options.rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                thread::sleep(wait);
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// A relay (like [`Relay`]) on a fixed local port that can be cut (all its connections shut
/// at once, its port closed) and started again on the same port. Counts the
/// bytes it passes towards the receiver and can pace them.
pub struct Link {
    pub addr: SocketAddr,
    pub forwarded: Arc<AtomicU64>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl Link {
    pub fn start(at: SocketAddr, target: SocketAddr, rate: u64) -> Link {
        let listener = bind_again(at);
        let addr = listener.local_addr().expect("addr");
        let forwarded = Arc::new(AtomicU64::new(0));
        let open = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (fwd, conns, stopping) = (forwarded.clone(), open.clone(), stop.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let mut held = conns.lock().expect("lock");
                held.push(client.try_clone().expect("clone"));
                held.push(server.try_clone().expect("clone"));
                let (c2, s2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let counters = (fwd.clone(), Arc::new(Mutex::new(Vec::new())));
                let options = RelayOptions {
                    rate,
                    ..RelayOptions::default()
                };
                thread::spawn(move || pipe(client, server, options, Some(counters)));
                thread::spawn(move || pipe(s2, c2, RelayOptions::default(), None));
            }
        });
        Link {
            addr,
            forwarded,
            open,
            stop,
        }
    }

    /// The cable is pulled: every connection dies and nothing answers.
    pub fn cut(self) -> SocketAddr {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        for conn in self.open.lock().expect("lock").drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
        self.addr
    }
}

/// Binds `at` (port 0 for any), retrying briefly while the old socket goes.
fn bind_again(at: SocketAddr) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpListener::bind(at) {
            Ok(listener) => return listener,
            Err(e) if Instant::now() < deadline => {
                eprintln!("rebinding {at}: {e}");
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("cannot bind {at} again: {e}"),
        }
    }
}

/// This identity as a hand-made peer describes itself on the wire.
/// An offer of one file `name` of `size` bytes (for raw-protocol peers).
#[allow(dead_code)] // not every test binary speaks the raw protocol
pub fn one_file_offer(
    transfer_id: u64,
    sender: ferry::protocol::DeviceInfo,
    name: &str,
    size: u64,
) -> ferry::protocol::Offer {
    use ferry::protocol::{Entry, EntryKind, Offer};
    Offer {
        transfer_id,
        sender,
        entries: vec![Entry {
            path: vec![name.into()],
            kind: EntryKind::File,
            size,
            modified_ms: None,
        }],
        pin: None,
        contents: Vec::new(),
    }
}

pub fn raw_device(identity: &Identity, alias: &str) -> ferry::protocol::DeviceInfo {
    ferry::protocol::DeviceInfo {
        device_id: identity.device_id().to_string(),
        alias: alias.to_string(),
        os: "linux".into(),
        port: 0,
    }
}

/// The pairing exchange a hand-made sender runs after TLS, before its offer
/// (protocol version 3), describing itself as `me` to the receiver that
/// proved `peer_id`. It never asks its person to compare the code.
pub fn pair_as_sender<R: Read, W: Write>(
    reader: &mut ferry::protocol::FrameReader<R>,
    writer: &mut ferry::protocol::FrameWriter<W>,
    me: &ferry::protocol::DeviceInfo,
    peer_id: &str,
) -> Result<ferry::transfer::pair::Paired, ferry::transfer::pair::PairError> {
    ferry::transfer::pair::as_sender(reader, writer, me, peer_id, |_| false)
}

/// The pairing exchange a hand-made receiver runs: the connection's first
/// message must be the sender's commitment.
pub fn pair_as_receiver<R: Read, W: Write>(
    reader: &mut ferry::protocol::FrameReader<R>,
    writer: &mut ferry::protocol::FrameWriter<W>,
    me: &ferry::protocol::DeviceInfo,
    peer_id: &str,
) -> ferry::transfer::pair::Paired {
    let ferry::protocol::Message::PairCommit { device, commitment } =
        reader.read_message().expect("first message")
    else {
        panic!("expected a pairing commitment first")
    };
    ferry::transfer::pair::as_receiver(reader, writer, me, (device, commitment), peer_id)
        .expect("pairing")
}

/// A send of folder `top` from a fresh identity through a throttled relay,
/// so that a test can cut it part way and send it again as the same device.
#[allow(dead_code)] // not every test binary resumes
pub struct ThrottledSend {
    /// The receiving engine (accepts everyone).
    pub receiver: Node,
    /// The sending engine.
    pub sender: Node,
    /// Kept alive while the transfer runs.
    pub relay: Relay,
    /// The running transfer.
    pub id: TransferId,
    /// The sender's identity, for sending again as the same device.
    pub identity: Arc<Identity>,
}

#[allow(dead_code)] // not every test binary resumes
impl ThrottledSend {
    /// Starts sending `top` through a relay passing `bytes_per_sec`.
    pub fn start(top: &Path, bytes_per_sec: u64) -> ThrottledSend {
        let receiver = Node::receiver("rx", ferry::api::AcceptPolicy::Everyone);
        let relay = Relay::throttled(receiver.addr(), bytes_per_sec);
        let identity = Arc::new(Identity::ephemeral().expect("identity"));
        let sender = Node::sender_as("tx", identity.clone());
        let id = TransferId::fresh();
        sender.engine.send(Command::Send {
            id,
            to: relay.addr,
            paths: vec![top.to_path_buf()],
        });
        ThrottledSend {
            receiver,
            sender,
            relay,
            id,
            identity,
        }
    }
}

/// Cancels transfer `id` from `sender` (both sides must report the sender's
/// cancel), then sends `paths` again from the same `identity` through a
/// counting relay and waits for both sides to succeed. Returns the files
/// verified before the cancel and the bytes that crossed the second time.
#[allow(dead_code)] // not every test binary resumes
pub fn cancel_and_send_again(
    sender: &mut Node,
    receiver: &mut Node,
    id: TransferId,
    identity: Arc<Identity>,
    paths: Vec<PathBuf>,
) -> (u64, u64) {
    use ferry::api::{Outcome, Party};
    sender.engine.send(Command::Cancel { id });
    assert_eq!(sender.finished(), Outcome::Cancelled { by: Party::Local });
    assert_eq!(
        receiver.finished(),
        Outcome::Cancelled { by: Party::Remote }
    );
    let arrived = verified_files(&receiver.seen) as u64;
    let counting = Relay::start(receiver.addr(), RelayOptions::default());
    let mut second = Node::sender_as("tx", identity);
    second.engine.send(Command::Send {
        id: TransferId::fresh(),
        to: counting.addr,
        paths,
    });
    let sent = second.finished();
    assert!(sent.is_success(), "{sent:?}");
    let received = receiver.finished();
    assert!(received.is_success(), "{received:?}");
    (arrived, counting.forwarded.load(Ordering::SeqCst))
}

/// The folder `top` arrived whole under its own name, resumed in place (no
/// numbered copy beside it).
#[allow(dead_code)] // not every test binary resumes
pub fn assert_resumed_in_place(receiver: &Node, top: &Path) {
    let name = top.file_name().expect("a folder name").to_string_lossy();
    assert_eq!(tree(&receiver.root().join(name.as_ref())), tree(top));
    assert!(
        !receiver.root().join(format!("{name} (1)")).exists(),
        "resumed into the same folder"
    );
}
