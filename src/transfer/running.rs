//! The receiver's registry of incoming sessions that are running, by the
//! sender's proven key and the offer's wire `transfer_id`, so an offer sent
//! again (the sender saw its connection die before we did) ends the old
//! session at once instead of being taken for a new offer. Keyed by the key
//! the TLS handshake proved, so no other device can end or take over a
//! session. Plain data behind one lock and a condition variable; it starts
//! no thread and touches no file (it only shuts a superseded socket down).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::api::TransferId;
use crate::secure::link::Closer;

/// Longest a new offer waits for the session it supersedes to end (its
/// socket is shut down, so this is only a bound, never the usual wait).
const SUPERSEDE_WAIT: Duration = Duration::from_secs(5);

type Key = (String, u64);

/// A session's state as seen by the one superseding it.
const RUNNING: u8 = 0;
/// A newer offer of it waits for it to end.
const SUPERSEDED: u8 = 1;
/// The newer offer stopped waiting: this one reports its own end.
const ABANDONED: u8 = 2;
/// It ended and leaves its row to the newer offer, which continues it.
const HANDED_OVER: u8 = 3;

struct Entry {
    token: u64,
    id: TransferId,
    closer: Closer,
    state: Arc<AtomicU8>,
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
    state: Arc<AtomicU8>,
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
        let mut waited_for: Option<(TransferId, Arc<AtomicU8>)> = None;
        while let Some(old) = sessions.get(&key) {
            let swapped =
                old.state
                    .compare_exchange(RUNNING, SUPERSEDED, Ordering::SeqCst, Ordering::SeqCst);
            if swapped.is_ok() {
                old.closer.close();
            }
            waited_for = Some((old.id, old.state.clone()));
            let left = deadline.saturating_duration_since(Instant::now());
            // Giving up is only possible before the old one handed its row
            // over (then it is about to go: wait on).
            if left.is_zero()
                && old
                    .state
                    .compare_exchange(SUPERSEDED, ABANDONED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                tracing::warn!("a superseded session did not end in time");
                break;
            }
            let left = left.max(Duration::from_millis(10));
            sessions = self
                .0
                .ended
                .wait_timeout(sessions, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let superseded_id = waited_for
            .filter(|(_, state)| state.load(Ordering::SeqCst) == HANDED_OVER)
            .map(|(old, _)| old);
        let state = Arc::new(AtomicU8::new(RUNNING));
        sessions.insert(
            key.clone(),
            Entry {
                token,
                id,
                closer,
                state: state.clone(),
            },
        );
        Entered {
            running: self.clone(),
            key,
            token,
            state,
            superseded_id,
        }
    }
}

impl Entered {
    /// When a newer offer of the same session ended this one and still
    /// waits, and `continued` (this one's answer is remembered for it),
    /// hands this session's row over to it: true means the newer session
    /// reports the end, so this one must not.
    pub fn hand_over(&self, continued: bool) -> bool {
        continued
            && self
                .state
                .compare_exchange(SUPERSEDED, HANDED_OVER, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    /// True when a newer offer of the same session ended this one.
    #[cfg(test)]
    pub fn is_superseded(&self) -> bool {
        self.state.load(Ordering::SeqCst) != RUNNING
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
            assert!(first.hand_over(true));
            drop(first);
        });
        let again = running.enter("abc", 7, TransferId(4), closer);
        assert_eq!(again.superseded_id, Some(TransferId(1)));
        ender.join().expect("ender");
    }
}
