//! A minimal LocalSend peer written from the public protocol (the
//! `localsend/protocol` README, v2.1), for Ferry's LocalSend tests: plain
//! HTTP/1.1 requests with JSON bodies over TLS that presents a client
//! certificate (as LocalSend does), and a Ferry engine on 127.0.0.1 with
//! LocalSend's server on port 0. Nothing here leaves loopback.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]
#![allow(dead_code)]

#[path = "../common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::Arc;

use ferry::api::{AcceptPolicy, Command, Decision, Device, Event, ReceiveSettings};
use ferry::engine::{DiscoveryConfig, Engine, EngineConfig};
use ferry::localsend::LocalSendConfig;
use ferry::secure::identity::{Identity, fingerprint_of};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use common::WAIT;

/// A Ferry engine with LocalSend on, on loopback (a [`common::Node`]:
/// `engine`, `dir`, `seen`, `wait`, `finished`).
pub struct Ferry {
    node: common::Node,
    _udp: UdpSocket,
}

impl std::ops::Deref for Ferry {
    type Target = common::Node;
    fn deref(&self) -> &common::Node {
        &self.node
    }
}

impl std::ops::DerefMut for Ferry {
    fn deref_mut(&mut self) -> &mut common::Node {
        &mut self.node
    }
}

impl Ferry {
    /// Ferry receiving into a fresh folder with `accept` and `pin`.
    pub fn start(accept: AcceptPolicy, pin: Option<&str>) -> Ferry {
        Ferry::start_as(
            accept,
            pin,
            Arc::new(Identity::ephemeral().expect("identity")),
        )
    }

    /// Like [`Ferry::start`] with a given identity. As a sender it trusts
    /// LocalSend devices on first use (the tests of trust use
    /// [`Ferry::start_trusting`]).
    pub fn start_as(accept: AcceptPolicy, pin: Option<&str>, identity: Arc<Identity>) -> Ferry {
        Ferry::start_trusting(accept, pin, identity, Vec::new(), true)
    }

    /// Like [`Ferry::start_as`], remembering `remembered` and sending to a
    /// device never confirmed only if `trust_new`.
    pub fn start_trusting(
        accept: AcceptPolicy,
        pin: Option<&str>,
        identity: Arc<Identity>,
        remembered: Vec<ferry::api::TrustedDevice>,
        trust_new: bool,
    ) -> Ferry {
        let dir = tempfile::tempdir().expect("tempdir");
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("udp port");
        let udp_port = udp.local_addr().expect("addr").port();
        let engine = Engine::start(
            EngineConfig {
                device: Device {
                    device_id: identity.device_id().to_string(),
                    alias: "ferry-desk".into(),
                    os: "linux".into(),
                    port: 0,
                },
                identity,
                listen: Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
                receive: ReceiveSettings {
                    download_dir: dir.path().join("downloads"),
                    accept,
                    pin: pin.map(str::to_string),
                    accept_from_anywhere: false,
                    remembered,
                    trust_new,
                },
                discovery: Some(DiscoveryConfig {
                    localsend: Some(LocalSendConfig {
                        port: 0,
                        ..LocalSendConfig::default()
                    }),
                    ..DiscoveryConfig::loopback(udp_port)
                }),
            },
            Arc::new(|| {}),
        )
        .expect("engine");
        Ferry {
            node: common::Node {
                engine,
                dir,
                seen: Vec::new(),
            },
            _udp: udp,
        }
    }

    /// LocalSend's server address, on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        let port = self
            .engine
            .localsend_addr()
            .expect("LocalSend server")
            .port();
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    /// Where files land.
    pub fn downloads(&self) -> std::path::PathBuf {
        self.dir.path().join("downloads")
    }

    /// Answers the next offer.
    pub fn decide(&mut self, decision: Decision) -> ferry::api::OfferSummary {
        let (id, offer) = self.wait("an offer", |e| match e {
            Event::Incoming { id, offer, .. } => Some((*id, offer.clone())),
            _ => None,
        });
        assert!(self.engine.send(Command::Decide { id, decision }));
        offer
    }
}

/// Every file under `root` (relative path, bytes), sorted.
pub fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(e.path()).expect("read"))
        })
        .collect();
    out.sort();
    out
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A LocalSend peer as the spec describes it.
pub struct Spec {
    identity: Arc<Identity>,
    pub alias: String,
    /// The port its `info` announces.
    pub port: u16,
}

/// An answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// The server certificate's SHA-256 (its LocalSend fingerprint).
    pub server_fingerprint: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Spec {
    /// A peer with its own certificate.
    pub fn new(alias: &str) -> Spec {
        Spec::with_identity(
            alias,
            Arc::new(Identity::ephemeral().expect("identity")),
            53317,
        )
    }

    /// A peer presenting `identity` and announcing `port`.
    pub fn with_identity(alias: &str, identity: Arc<Identity>, port: u16) -> Spec {
        Spec {
            identity,
            alias: alias.into(),
            port,
        }
    }

    /// Registers at `addr` (section 3.2): Ferry lists it at the port its
    /// info announces.
    pub fn register(&self, addr: SocketAddr) {
        let answer = self.post(
            addr,
            "/api/localsend/v2/register",
            self.info().to_string().as_bytes(),
        );
        assert_eq!(answer.status, 200, "register");
    }

    /// Its fingerprint (SHA-256 of its certificate, lower-case hex).
    pub fn fingerprint(&self) -> String {
        self.identity.device_id().to_string()
    }

    /// The `info` object of section 3.1.
    pub fn info(&self) -> Value {
        json!({
            "alias": self.alias, "version": "2.1", "deviceModel": "Pixel",
            "deviceType": "mobile", "fingerprint": self.fingerprint(),
            "port": self.port, "protocol": "https", "download": false
        })
    }

    /// Opens a TLS connection presenting our certificate.
    pub fn connect(
        &self,
        addr: SocketAddr,
    ) -> (
        rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
        String,
    ) {
        let tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(WAIT)).expect("timeout");
        let name = Identity::server_name().expect("name");
        let conn = rustls::ClientConnection::new(self.identity.client_config(), name).expect("tls");
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).expect("handshake");
        }
        let fp = tls
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| fingerprint_of(c))
            .expect("server certificate");
        (tls, fp)
    }

    /// `POST path` with `body` on a fresh connection.
    pub fn post(&self, addr: SocketAddr, path: &str, body: &[u8]) -> Answer {
        let (mut tls, fp) = self.connect(addr);
        write_head(&mut tls, path, body.len());
        tls.write_all(body).expect("write body");
        tls.flush().expect("flush");
        read_answer(&mut tls, fp)
    }

    /// `POST /api/localsend/v2/prepare-upload` (with `?pin=` when given).
    pub fn prepare(&self, addr: SocketAddr, files: Value, pin: Option<&str>) -> Answer {
        let body = json!({"info": self.info(), "files": files});
        let path = match pin {
            Some(pin) => format!("/api/localsend/v2/prepare-upload?pin={pin}"),
            None => "/api/localsend/v2/prepare-upload".into(),
        };
        self.post(addr, &path, body.to_string().as_bytes())
    }

    /// `POST /api/localsend/v2/upload` of `bytes`.
    pub fn upload(
        &self,
        addr: SocketAddr,
        session: &str,
        file: &str,
        token: &str,
        bytes: &[u8],
    ) -> Answer {
        self.post(
            addr,
            &format!("/api/localsend/v2/upload?sessionId={session}&fileId={file}&token={token}"),
            bytes,
        )
    }
}

/// One file's metadata (section 4.1).
pub fn meta(id: &str, name: &str, bytes: &[u8], with_hash: bool) -> Value {
    json!({
        "id": id, "fileName": name, "size": bytes.len(), "fileType": "application/octet-stream",
        "sha256": if with_hash { Value::String(sha256_hex(bytes)) } else { Value::Null },
        "preview": Value::Null
    })
}

/// Writes a request head.
pub fn write_head(out: &mut impl Write, path: &str, len: usize) {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: ferry\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    out.write_all(head.as_bytes()).expect("write head");
}

/// Reads an answer to the end of the connection.
pub fn read_answer(input: &mut impl Read, server_fingerprint: String) -> Answer {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| raw[at + 4..].to_vec())
        .unwrap_or_default();
    Answer {
        status,
        body,
        server_fingerprint,
    }
}
