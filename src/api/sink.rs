//! How events reach the window or the CLI: one bounded channel, a waker called
//! after each delivery, and the three ways a producer may deliver (wait for
//! room, drop when the reader lags, or queue without ever waiting). Every
//! worker of the engine reports through an [`EventSink`]; nothing here knows
//! what the events mean.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use super::Event;

/// Called after every event so a sleeping UI wakes up to drain it.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Capacity of the event channel. Progress events are dropped when it is
/// full; all other events wait for room (workers mid-transfer wait in their
/// own backlog instead). Its slots are allocated up front, ~200 bytes each.
pub const EVENT_CAPACITY: usize = 1024;

/// Events of one kind a worker gathers before delivering them together (see
/// [`EventSink::emit_batched`]).
pub const EVENT_BATCH: usize = 64;

/// Where workers send events; wakes the UI after each one.
#[derive(Clone)]
pub struct EventSink {
    tx: Sender<Event>,
    waker: Waker,
}

impl EventSink {
    /// A sink and the receiving end of its bounded channel of `capacity`
    /// events; `waker` is called after each delivered event.
    pub fn channel(capacity: usize, waker: Waker) -> (EventSink, Receiver<Event>) {
        let (tx, rx) = bounded(capacity);
        (EventSink { tx, waker }, rx)
    }

    /// Delivers an event that must not be lost (waits for room).
    pub fn emit(&self, event: Event) {
        if self.tx.send(event).is_ok() {
            (self.waker)();
        }
    }

    /// Delivers an event if there is room now; otherwise hands it back, so
    /// a producer that must never wait (discovery) can keep it and retry.
    pub fn try_emit(&self, event: Event) -> Option<Event> {
        match self.tx.try_send(event) {
            Ok(()) => {
                (self.waker)();
                None
            }
            Err(e) => Some(e.into_inner()),
        }
    }

    /// Delivers an event that may be dropped when the UI lags (progress).
    pub fn emit_lossy(&self, event: Event) {
        if self.tx.try_send(event).is_ok() {
            (self.waker)();
        }
    }

    /// Delivers an event that must not be lost without ever waiting: when the
    /// channel is full it waits in `backlog`, in order, and goes out with a
    /// later call. For workers mid-transfer, whose peer would give up on them
    /// while they waited for a UI that stopped reading events.
    pub fn emit_queued(&self, backlog: &mut Backlog, event: Event) {
        backlog.0.push_back(event);
        self.flush(backlog, false);
    }

    /// Like [`EventSink::emit_queued`] for the many small events nobody waits
    /// on (one per verified file): they gather in `backlog` and go out
    /// [`EVENT_BATCH`] at a time, or with the next [`EventSink::flush`] (the
    /// workers flush on their timer tick and at the end). A UI thread woken
    /// once per file would take a core's time slices from the transfer: with
    /// 10,000 small files that cost a sixth of the wall time.
    pub fn emit_batched(&self, backlog: &mut Backlog, event: Event) {
        backlog.0.push_back(event);
        if backlog.0.len() >= EVENT_BATCH {
            self.flush(backlog, false);
        }
    }

    /// Sends what waits in `backlog`, in order; with `wait`, until all of it
    /// is delivered (call it once the connection needs nothing more).
    pub fn flush(&self, backlog: &mut Backlog, wait: bool) {
        while let Some(event) = backlog.0.pop_front() {
            match self.tx.try_send(event) {
                Ok(()) => (self.waker)(),
                Err(TrySendError::Full(event)) if wait => self.emit(event),
                Err(TrySendError::Full(event)) => {
                    backlog.0.push_front(event);
                    return;
                }
                // Nobody listens any more.
                Err(TrySendError::Disconnected(_)) => {
                    backlog.0.clear();
                    return;
                }
            }
        }
    }
}

/// Events a worker could not deliver yet (see [`EventSink::emit_queued`]).
/// Bounded by the work itself: at most a few events per file.
#[derive(Debug, Default)]
pub struct Backlog(std::collections::VecDeque<Event>);

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::api::TransferId;

    fn sink(capacity: usize) -> (EventSink, Receiver<Event>, Arc<AtomicUsize>) {
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = wakes.clone();
        let (sink, rx) = EventSink::channel(
            capacity,
            Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        );
        (sink, rx, wakes)
    }

    fn verified(n: usize) -> Event {
        Event::FileVerified {
            id: TransferId(1),
            path: PathBuf::from(n.to_string()),
        }
    }

    fn names(rx: &Receiver<Event>) -> Vec<String> {
        rx.try_iter()
            .map(|event| match event {
                Event::FileVerified { path, .. } => path.display().to_string(),
                Event::Problem(text) => text,
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn batched_events_go_out_a_batch_at_a_time_in_order() {
        let (sink, rx, wakes) = sink(EVENT_BATCH * 4);
        let mut backlog = Backlog::default();
        for n in 0..EVENT_BATCH - 1 {
            sink.emit_batched(&mut backlog, verified(n));
        }
        assert!(rx.is_empty(), "nothing before a whole batch");
        assert_eq!(wakes.load(Ordering::SeqCst), 0);
        sink.emit_batched(&mut backlog, verified(EVENT_BATCH - 1));
        let first: Vec<String> = (0..EVENT_BATCH).map(|n| n.to_string()).collect();
        assert_eq!(names(&rx), first);
        // A queued event pushes the waiting ones out ahead of itself.
        sink.emit_batched(&mut backlog, verified(EVENT_BATCH));
        sink.emit_queued(&mut backlog, Event::Problem("after".into()));
        assert_eq!(names(&rx), [EVENT_BATCH.to_string(), "after".to_string()]);
        // The end of a transfer delivers whatever is left.
        sink.emit_batched(&mut backlog, verified(7));
        sink.flush(&mut backlog, true);
        assert_eq!(names(&rx), ["7"]);
    }

    #[test]
    fn a_full_channel_keeps_batched_events_for_later() {
        let (sink, rx, _) = sink(EVENT_BATCH / 2);
        let mut backlog = Backlog::default();
        for n in 0..EVENT_BATCH {
            sink.emit_batched(&mut backlog, verified(n));
        }
        let got = names(&rx);
        assert_eq!(got.len(), EVENT_BATCH / 2);
        sink.flush(&mut backlog, false);
        let rest = names(&rx);
        let all: Vec<String> = got.into_iter().chain(rest).collect();
        let expected: Vec<String> = (0..EVENT_BATCH).map(|n| n.to_string()).collect();
        assert_eq!(all, expected);
    }
}
