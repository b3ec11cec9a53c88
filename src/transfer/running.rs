//! The receiver's registry of incoming sessions that are running, by the
//! sender's proven key and the offer's wire `transfer_id`, so an offer sent
//! again (the sender saw its connection die before we did) ends the old
//! session at once instead of being taken for a new offer. Keyed by the key
//! the TLS handshake proved, so no other device can end or take over a
//! session. Plain data behind one lock and a condition variable; it starts
//! no thread and touches no file (it only shuts a superseded socket down).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::api::TransferId;
use crate::secure::link::Closer;

/// Longest a new offer waits for the session it supersedes to end (its
/// socket is shut down, so this is only a bound, never the usual wait).
const SUPERSEDE_WAIT: Duration = Duration::from_secs(5);

type Key = (String, u64);

struct Entry {
    token: u64,
    id: TransferId,
    closer: Closer,
    superseded: Arc<AtomicBool>,
}

#[derive(Default)]
struct Inner {
    sessions: Mutex<HashMap<Key, Entry>>,
    ended: Condvar,
}

/// The running incoming sessions (see the module text).
#[derive(Clone, Default)]
pub(crate) struct Running(Arc<Inner>);

/// One session's place in [`Running`]; dropping it (after the session's
/// end was reported and its control channel unregistered) frees the key.
pub(crate) struct Entered {
    running: Running,
    key: Key,
    token: u64,
    superseded: Arc<AtomicBool>,
    /// The local id of the session this one superseded, once it ended.
    pub superseded_id: Option<TransferId>,
}

impl Running {
    /// Enters the session `id` for the offer `wire_id` from `device_id`
    /// (the key the connection proved). A session still running under the
    /// same key and wire id is superseded: its socket is shut down (it ends
    /// as a lost connection, its partial kept) and this waits, bounded, for
    /// it to end.
    pub fn enter(&self, device_id: &str, wire_id: u64, id: TransferId, closer: Closer) -> Entered {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let token = NEXT.fetch_add(1, Ordering::Relaxed);
        let key = (device_id.to_ascii_lowercase(), wire_id);
        let deadline = Instant::now() + SUPERSEDE_WAIT;
        let mut sessions = self.0.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let mut superseded_id = None;
        while let Some(old) = sessions.get(&key) {
            if !old.superseded.swap(true, Ordering::SeqCst) {
                old.closer.close();
            }
            superseded_id = Some(old.id);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!("a superseded session did not end in time");
                superseded_id = None;
                break;
            }
            sessions = self
                .0
                .ended
                .wait_timeout(sessions, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let superseded = Arc::new(AtomicBool::new(false));
        sessions.insert(
            key.clone(),
            Entry {
                token,
                id,
                closer,
                superseded: superseded.clone(),
            },
        );
        Entered {
            running: self.clone(),
            key,
            token,
            superseded,
            superseded_id,
        }
    }
}

impl Entered {
    /// True when a newer offer of the same session ended this one.
    pub fn is_superseded(&self) -> bool {
        self.superseded.load(Ordering::SeqCst)
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let inner = &self.running.0;
        let mut sessions = inner.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if sessions
            .get(&self.key)
            .is_some_and(|e| e.token == self.token)
        {
            sessions.remove(&self.key);
        }
        drop(sessions);
        inner.ended.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    /// A connected pair: the server side's closer and the client side.
    fn connection() -> (Closer, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        (Closer::for_test(server), client)
    }

    /// Whether the peer shut the connection within `wait`.
    fn closed(mut client: &TcpStream, wait: Duration) -> bool {
        client.set_read_timeout(Some(wait)).expect("timeout");
        matches!(client.read(&mut [0u8; 1]), Ok(0))
    }

    #[test]
    fn only_the_same_key_and_wire_id_supersede_a_session() {
        let running = Running::default();
        let (closer, client) = connection();
        let first = running.enter("ABC", 7, TransferId(1), closer);
        // Another key, or another offer, is another session.
        let (other_closer, _other) = connection();
        let other = running.enter("abd", 7, TransferId(2), other_closer);
        let (third_closer, _third) = connection();
        let third = running.enter("abc", 8, TransferId(3), third_closer);
        assert!(!first.is_superseded() && !closed(&client, Duration::from_millis(300)));
        assert_eq!((other.superseded_id, third.superseded_id), (None, None));

        // The same offer again: the old socket is shut at once, and the new
        // session enters once the old one ended.
        let (closer, _again) = connection();
        let ender = std::thread::spawn(move || {
            assert!(closed(&client, SUPERSEDE_WAIT), "the old socket was shut");
            assert!(first.is_superseded());
            drop(first);
        });
        let again = running.enter("abc", 7, TransferId(4), closer);
        assert_eq!(again.superseded_id, Some(TransferId(1)));
        ender.join().expect("ender");
    }
}
