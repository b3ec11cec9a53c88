//! A relay for tests on 127.0.0.1 that can be cut — every connection shut
//! at once and its port closed, as when a cable is pulled or a device
//! sleeps — and started again on the same port. Counts and can pace the
//! bytes it passes towards the target.
// Test helper threads need no names (clippy.toml asks it of the product).
#![allow(clippy::disallowed_methods)]
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A relay on a fixed local port that can be cut (all its connections shut
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
                let fwd = fwd.clone();
                thread::spawn(move || pipe(client, server, rate, Some(fwd)));
                thread::spawn(move || pipe(s2, c2, 0, None));
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

fn pipe(mut from: TcpStream, mut to: TcpStream, rate: u64, count: Option<Arc<AtomicU64>>) {
    let mut buf = vec![0u8; 64 * 1024];
    let started = Instant::now();
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        total += n as u64;
        if let Some(count) = &count {
            count.fetch_add(n as u64, Ordering::SeqCst);
        }
        if rate > 0 {
            let due = Duration::from_secs_f64(total as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                thread::sleep(wait);
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
