//! Who holds one Ferry transfer paused (the person here, the other device,
//! or both) and how that reaches the window: a [`Hold`] per streaming
//! worker. Each side lifts only its own pause; the sender moves file bytes
//! only while nobody holds one. This module keeps the state and reports it;
//! it never touches the socket (the workers send the [`Message`] it hands
//! them) and never decides what a paused worker does.

use std::time::{Duration, Instant};

use crate::api::{Backlog, Event, EventSink, Party, Pauses, TransferId};
use crate::protocol::Message;

/// Least time between two reports caused by the peer: a peer that flips
/// Pause and Resume as fast as it can writes the window at most this often
/// (the last state always follows on a later tick).
const REPORT_INTERVAL: Duration = Duration::from_millis(100);

/// One transfer's pauses and what the window was last told about them.
#[derive(Debug)]
pub(crate) struct Hold {
    id: TransferId,
    now: Pauses,
    /// `None` until [`Hold::announce`]: nothing is reported before the
    /// transfer streams.
    reported: Option<Pauses>,
    last_report: Option<Instant>,
}

impl Hold {
    /// Nobody holds transfer `id`.
    pub fn new(id: TransferId) -> Hold {
        Hold {
            id,
            now: Pauses::default(),
            reported: None,
            last_report: None,
        }
    }

    /// True while either side holds the transfer.
    pub fn paused(&self) -> bool {
        self.now.any()
    }

    /// Files start to stream: the window learns the transfer can be paused.
    pub fn announce(&mut self, sink: &EventSink, backlog: &mut Backlog) {
        self.reported = None;
        self.emit(sink, backlog);
    }

    /// The person here paused (`true`) or resumed (`false`): the message to
    /// tell the peer when that changed anything, after reporting it. Ignored
    /// before [`Hold::announce`] (nothing streams to hold).
    pub fn here(
        &mut self,
        paused: bool,
        sink: &EventSink,
        backlog: &mut Backlog,
    ) -> Option<Message> {
        if self.reported.is_none() || self.now.local == paused {
            return None;
        }
        self.now = self.now.with(Party::Local, paused);
        self.emit(sink, backlog);
        Some(if paused {
            Message::Pause
        } else {
            Message::Resume
        })
    }

    /// The peer's Pause (`true`) or Resume (`false`). Repeats change
    /// nothing; reports are spaced by [`REPORT_INTERVAL`].
    pub fn there(&mut self, paused: bool, sink: &EventSink, backlog: &mut Backlog) {
        self.now = self.now.with(Party::Remote, paused);
        self.report(sink, backlog);
    }

    /// On the worker's tick: reports a change that waited for its turn.
    pub fn report(&mut self, sink: &EventSink, backlog: &mut Backlog) {
        let due = self
            .last_report
            .is_none_or(|at| at.elapsed() >= REPORT_INTERVAL);
        if due && self.reported.is_some_and(|told| told != self.now) {
            self.emit(sink, backlog);
        }
    }

    fn emit(&mut self, sink: &EventSink, backlog: &mut Backlog) {
        self.reported = Some(self.now);
        self.last_report = Some(Instant::now());
        let event = Event::PauseChanged {
            id: self.id,
            pause: self.now,
        };
        sink.emit_queued(backlog, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(rx: &crossbeam_channel::Receiver<Event>) -> Vec<Pauses> {
        rx.try_iter()
            .filter_map(|e| match e {
                Event::PauseChanged { pause, .. } => Some(pause),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_side_holds_its_own_pause_and_repeats_change_nothing() {
        let (sink, rx) = EventSink::channel(64, std::sync::Arc::new(|| {}));
        let mut backlog = Backlog::default();
        let mut hold = Hold::new(TransferId(1));
        // Before streaming nothing is held or said.
        assert!(hold.here(true, &sink, &mut backlog).is_none());
        assert!(states(&rx).is_empty());
        hold.announce(&sink, &mut backlog);
        assert_eq!(states(&rx), [Pauses::default()]);
        assert_eq!(hold.here(true, &sink, &mut backlog), Some(Message::Pause));
        assert!(hold.here(true, &sink, &mut backlog).is_none(), "a repeat");
        std::thread::sleep(REPORT_INTERVAL);
        hold.there(true, &sink, &mut backlog);
        hold.there(true, &sink, &mut backlog);
        let both = Pauses {
            local: true,
            remote: true,
        };
        assert_eq!(
            states(&rx),
            [
                Pauses {
                    local: true,
                    remote: false
                },
                both
            ]
        );
        assert_eq!(hold.here(false, &sink, &mut backlog), Some(Message::Resume));
        assert!(hold.paused(), "the peer's pause stays");
        hold.there(false, &sink, &mut backlog);
        assert!(!hold.paused());
    }

    #[test]
    fn a_peer_flipping_fast_is_reported_sparingly_and_ends_right() {
        let (sink, rx) = EventSink::channel(1024, std::sync::Arc::new(|| {}));
        let mut backlog = Backlog::default();
        let mut hold = Hold::new(TransferId(1));
        hold.announce(&sink, &mut backlog);
        for i in 0..10_000 {
            hold.there(i % 2 == 0, &sink, &mut backlog);
        }
        // The last message was a Resume: nobody holds it.
        assert!(!hold.paused());
        let told = states(&rx);
        assert!(told.len() <= 3, "{} reports", told.len());
        std::thread::sleep(REPORT_INTERVAL);
        hold.report(&sink, &mut backlog);
        let last = states(&rx).last().copied().or(told.last().copied());
        assert_eq!(last, Some(Pauses::default()));
    }
}
