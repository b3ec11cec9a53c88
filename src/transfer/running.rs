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
