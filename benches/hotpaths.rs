//! Micro-benchmarks of Ferry's hot paths, without Criterion (no extra
//! dependency): SHA-256 at several piece sizes, TLS 1.3 sealing and opening
//! in memory, and Ferry's frame stream over loopback with and without TLS,
//! with SHA-256 on both ends — the cost of encryption inside the real framing
//! — and, beside Ferry's TLS link (its own record layer), rustls whole.
//!
//! `cargo bench --bench hotpaths` (add `-- MIB` to change the volume, default 256).
//! Medians of 5 runs; absolute speeds swing with the machine's load, compare
//! rows of one run with each other.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use ferry::protocol::limits::DATA_CHUNK;
use ferry::protocol::{Frame, FrameReader, FrameWriter};
use ferry::secure::identity::Identity;
use ferry::secure::link::Link;
use ferry::transfer::hash::hash_in_pieces;
use rustls::{ClientConnection, ServerConnection};
use sha2::{Digest, Sha256};

const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(name: &str, bytes: usize, times: Vec<Duration>) {
    let t = median(times);
    println!(
        "{name:<48} {:>8.0} MB/s  ({:.3} s for {} MiB)",
        bytes as f64 / t.as_secs_f64() / 1e6,
        t.as_secs_f64(),
        bytes >> 20
    );
}

fn pseudo_random(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
    out
}

fn bench_sha(total: usize, chunk: &[u8]) {
    for piece in [16 << 10, 64 << 10, 256 << 10, 512 << 10] {
        let times = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                let mut h = Sha256::new();
                for _ in 0..total / chunk.len() {
                    for p in chunk.chunks(piece) {
                        h.update(p);
                    }
                }
                std::hint::black_box(h.finalize());
                start.elapsed()
            })
            .collect();
        report(&format!("sha256, {} KiB pieces", piece >> 10), total, times);
    }
}

fn tls_pair() -> (ClientConnection, ServerConnection) {
    let a = Identity::ephemeral().expect("identity");
    let b = Identity::ephemeral().expect("identity");
    let mut client =
        ClientConnection::new(a.client_config(), Identity::server_name().expect("name"))
            .expect("client");
    let mut server = ServerConnection::new(b.server_config()).expect("server");
    let mut buf = Vec::new();
    while client.is_handshaking() || server.is_handshaking() {
        buf.clear();
        while client.wants_write() {
            client.write_tls(&mut buf).expect("write");
        }
        server.read_tls(&mut &buf[..]).expect("read");
        server.process_new_packets().expect("process");
        buf.clear();
        while server.wants_write() {
            server.write_tls(&mut buf).expect("write");
        }
        client.read_tls(&mut &buf[..]).expect("read");
        client.process_new_packets().expect("process");
    }
    client.set_buffer_limit(None);
    server.set_buffer_limit(None);
    (client, server)
}

/// Seals `total` bytes in DATA_CHUNK writes, then opens them; both timed apart.
fn bench_tls(total: usize, chunk: &[u8]) {
    let (mut seal_t, mut open_t) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (mut client, mut server) = tls_pair();
        let mut sealed = Vec::with_capacity(chunk.len() + chunk.len() / 50);
        let mut plain = vec![0u8; chunk.len()];
        let (mut s, mut o) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..total / chunk.len() {
            let t = Instant::now();
            client.writer().write_all(chunk).expect("write");
            sealed.clear();
            while client.wants_write() {
                client.write_tls(&mut sealed).expect("seal");
            }
            s += t.elapsed();
            let t = Instant::now();
            let mut input = &sealed[..];
            let mut got = 0;
            while !input.is_empty() {
                server.read_tls(&mut input).expect("read");
                server.process_new_packets().expect("open");
                loop {
                    match server.reader().read(&mut plain[got..]) {
                        Ok(0) => break,
                        Ok(n) => got += n,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            o += t.elapsed();
            assert_eq!(got, chunk.len());
        }
        seal_t.push(s);
        open_t.push(o);
    }
    report("TLS 1.3 AES-128-GCM seal (rustls+ring)", total, seal_t);
    report("TLS 1.3 AES-128-GCM open (rustls+ring)", total, open_t);
}

/// How the frame stream is carried.
#[derive(Clone, Copy, PartialEq)]
enum Carrier {
    Plain,
    /// Ferry's TLS link: rustls' handshake, Ferry's own record layer.
    Link,
    /// rustls whole, its own record layer included (`StreamOwned`).
    Rustls,
}

/// Streams `total` bytes as Ferry data frames from one thread to another over
/// 127.0.0.1, hashing on both ends, in plain TCP, through Ferry's TLS link, or
/// through plain rustls.
fn bench_stream(total: usize, chunk: &[u8], carrier: Carrier) -> Duration {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server_id = Identity::ephemeral().expect("identity");
    let receiver = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let reader: Box<dyn Read + Send> = match carrier {
            Carrier::Link => Link::accept(stream, &server_id).expect("tls").reader,
            Carrier::Rustls => {
                let conn = ServerConnection::new(server_id.server_config()).expect("server");
                Box::new(rustls::StreamOwned::new(conn, stream))
            }
            Carrier::Plain => Box::new(stream),
        };
        let mut frames = FrameReader::new(reader);
        let mut hasher = Sha256::new();
        let mut got = 0;
        let mut spare = None;
        while got < total {
            match frames.read_frame(spare.take()).expect("frame") {
                Frame::Data(bytes) => {
                    hash_in_pieces(&mut hasher, &bytes);
                    got += bytes.len();
                    spare = Some(bytes);
                }
                Frame::Message(_) => panic!("unexpected message"),
            }
        }
        hasher.finalize()
    });
    let client_id = Identity::ephemeral().expect("identity");
    let start;
    let digest = {
        let writer: Box<dyn Write + Send> = match carrier {
            Carrier::Link => {
                let link = Link::connect(addr, &client_id).expect("connect");
                start = Instant::now();
                link.writer
            }
            Carrier::Rustls => {
                let stream = TcpStream::connect(addr).expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let name = Identity::server_name().expect("name");
                let mut conn =
                    ClientConnection::new(client_id.client_config(), name).expect("client");
                let mut stream = stream;
                while conn.is_handshaking() {
                    conn.complete_io(&mut stream).expect("handshake");
                }
                start = Instant::now();
                Box::new(rustls::StreamOwned::new(conn, stream))
            }
            Carrier::Plain => {
                let stream = TcpStream::connect(addr).expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                start = Instant::now();
                Box::new(stream)
            }
        };
        let mut frames = FrameWriter::new(writer);
        let mut hasher = Sha256::new();
        for _ in 0..total / chunk.len() {
            hash_in_pieces(&mut hasher, chunk);
            frames.send_data(chunk).expect("send");
        }
        frames.flush().expect("flush");
        let digest = hasher.finalize();
        assert_eq!(receiver.join().expect("receiver"), digest);
        digest
    };
    std::hint::black_box(digest);
    start.elapsed()
}

fn main() {
    let mib: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(256);
    let total = mib << 20;
    let chunk = pseudo_random(DATA_CHUNK);
    println!("hot paths, {mib} MiB each, medians of {RUNS}");
    let copy = (0..RUNS)
        .map(|_| {
            let mut dst = vec![0u8; chunk.len()];
            let start = Instant::now();
            for _ in 0..total / chunk.len() {
                dst.copy_from_slice(std::hint::black_box(&chunk));
                std::hint::black_box(&mut dst);
            }
            start.elapsed()
        })
        .collect();
    report("memcpy, 512 KiB", total, copy);
    bench_sha(total, &chunk);
    bench_tls(total, &chunk);
    for (name, carrier) in [
        (
            "frames over loopback, plain TCP, SHA-256 x2",
            Carrier::Plain,
        ),
        ("frames over loopback, TLS link, SHA-256 x2", Carrier::Link),
        (
            "frames over loopback, rustls whole, SHA-256 x2",
            Carrier::Rustls,
        ),
    ] {
        let times = (0..RUNS)
            .map(|_| bench_stream(total, &chunk, carrier))
            .collect();
        report(name, total, times);
    }
}
