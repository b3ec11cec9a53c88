//! Guards the share under load (issue 17, item 4): 100 downloads at once,
//! from ten addresses, more than the 32 served at a time, all complete
//! byte-exact (those over the cap wait for a slot; none gets a 503), and
//! the sharer (the real `ferry share` binary) stays under 64 MiB of memory.
//! `FERRY_LOAD_MIB` sets the file size (default 16 MiB; the figure
//! is 200: `FERRY_LOAD_MIB=200 cargo test --test share_load`).
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]

mod sharing;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use sharing::{FerryShare, connect_from};

/// The file repeats this many bytes of noise; every read is compared with it.
const BLOCK: usize = 1 << 20;

const CLIENTS: usize = 100;

/// Highest resident memory the sharer may reach.
const MAX_RSS_BYTES: u64 = 64 << 20;

fn noise() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..BLOCK)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Downloads `path` from `to` and checks every byte against the noise;
/// returns the status and the number of bytes that matched.
fn download(from: Ipv4Addr, to: SocketAddr, path: &str, block: &[u8]) -> (u16, u64) {
    let mut stream = connect_from(from, to);
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let mut buf = vec![0u8; 256 * 1024];
    let mut at = 0u64;
    loop {
        let n = reader.read(&mut buf).expect("body");
        if n == 0 {
            return (status, at);
        }
        let mut done = 0;
        while done < n {
            let offset = (at % BLOCK as u64) as usize;
            let take = (n - done).min(BLOCK - offset);
            assert!(
                buf[done..done + take] == block[offset..offset + take],
                "byte {at} differs"
            );
            done += take;
            at += take as u64;
        }
    }
}

/// The sharer's peak resident memory, from /proc.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(target_os = "linux")]
#[test]
fn a_hundred_downloads_at_once_all_complete_byte_exact_in_bounded_memory() {
    let mib: u64 = std::env::var("FERRY_LOAD_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let size = mib << 20;
    let block = noise();
    let shared = tempfile::tempdir().expect("tmp");
    let file = shared.path().join("big.bin");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
        for _ in 0..mib {
            out.write_all(&block).expect("write");
        }
        out.flush().expect("flush");
    }
    let sharing = FerryShare::start(&[file.to_str().expect("utf8")]).drain();
    let to = sharing.addr();
    let path = format!("{}d/0", sharing.path());
    let block = std::sync::Arc::new(block);
    let started = std::time::Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (block, path) = (block.clone(), path.clone());
            let from = Ipv4Addr::new(127, 0, 0, 10 + (i % 10) as u8);
            std::thread::spawn(move || download(from, to, &path, &block))
        })
        .collect();
    let results: Vec<(u16, u64)> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    let peak = peak_rss(sharing.pid());
    drop(sharing);
    eprintln!(
        "{CLIENTS} x {mib} MiB in {:?}; sharer peak RSS {} MiB",
        started.elapsed(),
        peak >> 20
    );
    for (i, (status, bytes)) in results.iter().enumerate() {
        assert_eq!(*status, 200, "client {i}");
        assert_eq!(*bytes, size, "client {i} got {bytes} of {size} bytes");
    }
    assert!(peak > 0, "the sharer's memory was measured");
    assert!(
        peak < MAX_RSS_BYTES,
        "the sharer peaked at {} MiB",
        peak >> 20
    );
}
