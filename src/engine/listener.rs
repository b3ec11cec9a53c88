//! The transfer listener: accepts Ferry connections and gives each its own
//! named thread, up to a cap. It reads nothing from a connection itself.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crate::transfer::context::Context;
use crate::transfer::receive;

/// Most connections served at once; more are closed on arrival.
pub const MAX_TRANSFER_CONNECTIONS: usize = 128;

pub(super) fn accept_loop(listener: TcpListener, shared: Context) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        if active.load(Ordering::SeqCst) >= MAX_TRANSFER_CONNECTIONS {
            tracing::warn!(
                "too many connections; closing one from {:?}",
                stream.peer_addr()
            );
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let shared = shared.clone();
        let guard = ActiveGuard(active.clone());
        let spawned = thread::Builder::new()
            .name("ferry-conn".into())
            .spawn(move || {
                let _guard = guard;
                receive::serve(stream, shared);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a connection thread: {e}");
        }
    }
}

/// Decrements the connection count when a connection thread ends, however it ends.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
