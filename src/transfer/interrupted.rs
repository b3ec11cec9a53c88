//! What both sides remember about a transfer the network interrupted, so it
//! can go on by itself: the receiver's table of offers it accepted whose
//! connection was lost (so the same offer — same wire `transfer_id` — from
//! the same remembered device is taken again without asking), and the
//! sender's report of a send the engine may resume. Plain data behind a
//! lock; it starts no thread and touches no socket or file.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::api::{Decision, TransferId};

use super::send::What;

/// How long an interrupted transfer waits to resume by itself: the sender
/// stops trying after this, and the receiver forgets the answer it gave.
pub const RESUME_WINDOW: Duration = Duration::from_secs(30 * 60);

/// Most interrupted offers a receiver remembers at once (the oldest goes).
const MAX_REMEMBERED: usize = 64;

/// The receiver's accepted offers whose connection was lost, by sender
/// device id and the offer's wire `transfer_id`.
#[derive(Clone, Default)]
pub(crate) struct Interrupted(Arc<Mutex<Table>>);

/// (sender device id in lower case, wire transfer id) → (answer, when lost).
type Table = HashMap<(String, u64), (Decision, Instant)>;

impl Interrupted {
    /// Remembers that the offer `transfer_id` from `device_id` was accepted
    /// with `decision` and then cut off.
    pub fn note(&self, device_id: &str, transfer_id: u64, decision: Decision) {
        let mut table = self.0.lock().unwrap_or_else(|p| p.into_inner());
        table.retain(|_, (_, at)| at.elapsed() < RESUME_WINDOW);
        if table.len() >= MAX_REMEMBERED
            && let Some(oldest) = table
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(key, _)| key.clone())
        {
            table.remove(&oldest);
        }
        table.insert(
            (device_id.to_ascii_lowercase(), transfer_id),
            (decision, Instant::now()),
        );
    }

    /// Whether the answer to this offer is remembered (not used up).
    pub fn holds(&self, device_id: &str, transfer_id: u64) -> bool {
        let table = self.0.lock().unwrap_or_else(|p| p.into_inner());
        table.contains_key(&(device_id.to_ascii_lowercase(), transfer_id))
    }

    /// The answer given to this very offer before it was cut off, if that
    /// was less than [`RESUME_WINDOW`] ago; it is used up.
    pub fn take(&self, device_id: &str, transfer_id: u64) -> Option<Decision> {
        let mut table = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (decision, at) = table.remove(&(device_id.to_ascii_lowercase(), transfer_id))?;
        (at.elapsed() < RESUME_WINDOW).then_some(decision)
    }
}

/// A send the network interrupted after the receiver accepted it, reported
/// by the sending worker to the engine's resumer.
#[derive(Debug, Clone)]
pub(crate) struct Resumable {
    /// The transfer (the same id is used when it goes again).
    pub id: TransferId,
    /// Where the receiver was.
    pub to: SocketAddr,
    /// The key the receiver proved.
    pub device_id: String,
    /// Its name, for the window.
    pub alias: String,
    /// What was sent.
    pub what: What,
    /// The offer's wire id, sent again so the receiver recognises it.
    pub wire_id: u64,
    /// How it went.
    pub state: Attempt,
}

/// How a send the resumer cares about ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The receiver had accepted, then the connection was lost: wait for
    /// the device and send again.
    Lost,
    /// A resumer's try could not reach the device: it is still away.
    Unreached,
    /// A resumer's try ended another way (done, declined, cancelled,
    /// refused): stop waiting; its `Finished` said how.
    Over,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_offer_from_the_same_device_is_recognised_once() {
        let table = Interrupted::default();
        table.note("ABC", 7, Decision::AcceptSome(vec![1]));
        assert_eq!(table.take("abc", 8), None, "another offer asks");
        assert_eq!(table.take("abd", 7), None, "another device asks");
        assert_eq!(table.take("abc", 7), Some(Decision::AcceptSome(vec![1])));
        assert_eq!(table.take("abc", 7), None, "used up");
    }

    #[test]
    fn the_table_stays_bounded() {
        let table = Interrupted::default();
        for n in 0..(MAX_REMEMBERED as u64 + 10) {
            table.note("dev", n, Decision::AcceptAll);
        }
        assert_eq!(table.0.lock().expect("lock").len(), MAX_REMEMBERED);
        assert_eq!(table.take("dev", 0), None, "the oldest went");
        assert!(table.take("dev", MAX_REMEMBERED as u64 + 9).is_some());
    }
}
