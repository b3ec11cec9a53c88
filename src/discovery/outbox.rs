//! Discovery's events on their way to the engine's event channel. Discovery
//! must never wait for a slow (or absent) reader of events: that would stop
//! its beacons and make this device vanish from everyone's list. So events
//! are kept here and delivered when there is room, coalesced per device (only
//! its latest state is kept, and a device that came and went unseen is never
//! mentioned), which also bounds what is kept. Problems are kept in a short
//! queue and the oldest dropped when it is full. No sockets, no threads.

use std::collections::{BTreeMap, HashSet, VecDeque};

use super::Peer;
use crate::api::Event;

/// Most problem sentences kept while the reader lags.
const MAX_PROBLEMS: usize = 32;

/// Undelivered discovery events.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Devices the reader was told are present (and not yet told are gone).
    known: HashSet<String>,
    /// The state to report next, per device: present (with details) or gone.
    pending: BTreeMap<String, Option<Peer>>,
    problems: VecDeque<String>,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Outbox::default()
    }

    /// A device appeared or changed.
    pub fn seen(&mut self, peer: Peer) {
        self.pending
            .insert(peer.device.device_id.clone(), Some(peer));
    }

    /// A device left.
    pub fn gone(&mut self, device_id: String) {
        if self.known.contains(&device_id) {
            self.pending.insert(device_id, None);
        } else {
            // The reader never heard of it: say nothing at all.
            self.pending.remove(&device_id);
        }
    }

    /// A sentence for a person.
    pub fn problem(&mut self, text: String) {
        if self.problems.len() >= MAX_PROBLEMS
            && let Some(dropped) = self.problems.pop_front()
        {
            tracing::warn!("event reader lags; dropped: {dropped}");
        }
        self.problems.push_back(text);
    }

    /// Events not yet delivered.
    pub fn len(&self) -> usize {
        self.pending.len() + self.problems.len()
    }

    /// True when everything was delivered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Delivers as much as `deliver` accepts; it hands an event back when
    /// there is no room (`Some`), and the rest waits for the next call.
    pub fn flush(&mut self, mut deliver: impl FnMut(Event) -> Option<Event>) {
        while let Some(text) = self.problems.pop_front() {
            if let Some(back) = deliver(Event::Problem(text)) {
                if let Event::Problem(text) = back {
                    self.problems.push_front(text);
                }
                return;
            }
        }
        while let Some((id, state)) = self.pending.pop_first() {
            let is_seen = state.is_some();
            let event = match state {
                Some(peer) => Event::PeerSeen(peer),
                None => Event::PeerGone {
                    device_id: id.clone(),
                },
            };
            match deliver(event) {
                None if is_seen => {
                    self.known.insert(id);
                }
                None => {
                    self.known.remove(&id);
                }
                Some(back) => {
                    let state = match back {
                        Event::PeerSeen(peer) => Some(peer),
                        _ => None,
                    };
                    self.pending.insert(id, state);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str, alias: &str) -> Peer {
        crate::discovery::test_peer(id, alias)
    }

    fn describe(event: &Event) -> String {
        match event {
            Event::PeerSeen(p) => format!("seen {} {}", p.device.device_id, p.device.alias),
            Event::PeerGone { device_id } => format!("gone {device_id}"),
            Event::Problem(text) => format!("problem {text}"),
            _ => "other".into(),
        }
    }

    #[test]
    fn a_lagging_reader_gets_the_latest_state_and_nothing_it_missed_entirely() {
        let mut out = Outbox::new();
        out.seen(peer("a", "one"));
        out.seen(peer("a", "two"));
        out.seen(peer("b", "x"));
        out.gone("b".into()); // came and went unseen: never mentioned
        out.problem("p".into());
        let mut got = Vec::new();
        out.flush(|e| {
            got.push(describe(&e));
            None
        });
        assert_eq!(got, vec!["problem p", "seen a two"]);
        assert!(out.is_empty());
        // Now "a" is known: its departure must be told, even after a full channel.
        out.gone("a".into());
        out.flush(Some);
        assert_eq!(out.len(), 1);
        let mut got = Vec::new();
        out.flush(|e| {
            got.push(describe(&e));
            None
        });
        assert_eq!(got, vec!["gone a"]);
    }

    #[test]
    fn stays_bounded_when_nobody_reads() {
        let mut out = Outbox::new();
        for i in 0..10_000 {
            out.seen(peer(&format!("id{}", i % 300), "x"));
            out.gone(format!("id{}", (i + 150) % 300));
            out.problem(format!("problem {i}"));
            out.flush(Some);
        }
        assert!(out.len() <= 300 + MAX_PROBLEMS, "{}", out.len());
    }
}
