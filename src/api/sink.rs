//! How events reach the window or the CLI: one bounded channel, a waker called
//! after each delivery, and the three ways a producer may deliver (wait for
//! room, drop when the reader lags, or queue without ever waiting). Every
//! worker of the engine reports through an [`EventSink`]; nothing here knows
//! what the events mean.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use super::{Event, TransferId};
use std::path::PathBuf;

/// Called after every event so a sleeping UI wakes up to drain it.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Capacity of the event channel. Progress events are dropped when it is
/// full; all other events wait for room (workers mid-transfer wait in their
/// own backlog instead). Its slots are allocated up front, ~200 bytes each.
pub const EVENT_CAPACITY: usize = 1024;

/// Verified files a worker gathers into one [`Event::FilesVerified`] (see
/// [`EventSink::emit_verified`]).
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

    /// Like [`EventSink::emit_queued`] for what nobody waits on and comes
    /// once per file: a verified file joins the [`Event::FilesVerified`] at
    /// the end of `backlog` (a new one after any other event, so the order
    /// holds), which goes out once it names [`EVENT_BATCH`] files, or with
    /// the next [`EventSink::flush`] (the workers flush on their timer tick
    /// and at the end). One channel message per batch: a UI or CLI thread
    /// parked on the channel is woken by each message, and woken once per
    /// file it takes a core's time slices from the transfer (with 10,000
    /// small files that once cost a sixth of the wall time).
    pub fn emit_verified(&self, backlog: &mut Backlog, id: TransferId, path: PathBuf) {
        if let Some(Event::FilesVerified { id: last, paths }) = backlog.0.back_mut()
            && *last == id
            && paths.len() < EVENT_BATCH
        {
            paths.push(path);
            if paths.len() == EVENT_BATCH {
                self.flush(backlog, false);
            }
            return;
        }
        let mut paths = Vec::with_capacity(EVENT_BATCH);
        paths.push(path);
        backlog.0.push_back(Event::FilesVerified { id, paths });
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
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    fn verify(sink: &EventSink, backlog: &mut Backlog, id: u64, n: usize) {
        sink.emit_verified(backlog, TransferId(id), PathBuf::from(n.to_string()));
    }

    /// Each delivered event as text: a batch as `id:` and its names.
    fn delivered(rx: &Receiver<Event>) -> Vec<String> {
        rx.try_iter()
            .map(|event| match event {
                Event::FilesVerified { id, paths } => {
                    let names: Vec<String> =
                        paths.iter().map(|p| p.display().to_string()).collect();
                    format!("{}:{}", id.0, names.join(","))
                }
                Event::Problem(text) => text,
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn batch(id: u64, names: std::ops::Range<usize>) -> String {
        let names: Vec<String> = names.map(|n| n.to_string()).collect();
        format!("{id}:{}", names.join(","))
    }

    #[test]
    fn verified_files_go_out_a_batch_per_event_in_order() {
        let (sink, rx, wakes) = sink(EVENT_BATCH * 4);
        let mut backlog = Backlog::default();
        for n in 0..EVENT_BATCH - 1 {
            verify(&sink, &mut backlog, 1, n);
        }
        assert!(rx.is_empty(), "nothing before a whole batch");
        assert_eq!(wakes.load(Ordering::SeqCst), 0);
        verify(&sink, &mut backlog, 1, EVENT_BATCH - 1);
        // One event, one wake-up, for the whole batch.
        assert_eq!(delivered(&rx), [batch(1, 0..EVENT_BATCH)]);
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        // A queued event pushes the waiting ones out ahead of itself, and a
        // file verified after it starts a new batch behind it.
        verify(&sink, &mut backlog, 1, EVENT_BATCH);
        sink.emit_queued(&mut backlog, Event::Problem("after".into()));
        verify(&sink, &mut backlog, 1, 7);
        // Another transfer's files never join this transfer's batch.
        verify(&sink, &mut backlog, 2, 8);
        verify(&sink, &mut backlog, 1, 9);
        assert_eq!(
            delivered(&rx),
            [batch(1, EVENT_BATCH..EVENT_BATCH + 1), "after".to_string()]
        );
        // The end of a transfer delivers whatever is left.
        sink.flush(&mut backlog, true);
        assert_eq!(delivered(&rx), ["1:7", "2:8", "1:9"]);
    }

    #[test]
    fn a_full_channel_keeps_verified_files_for_later_in_whole_batches() {
        let (sink, rx, _) = sink(2);
        let mut backlog = Backlog::default();
        for n in 0..EVENT_BATCH * 5 {
            verify(&sink, &mut backlog, 1, n);
        }
        // Two batches fit; the other three wait, none grown past a batch.
        let got = delivered(&rx);
        assert_eq!(
            got,
            [
                batch(1, 0..EVENT_BATCH),
                batch(1, EVENT_BATCH..2 * EVENT_BATCH)
            ]
        );
        assert_eq!(backlog.0.len(), 3);
        sink.flush(&mut backlog, false);
        let mut all = got;
        all.extend(delivered(&rx));
        sink.flush(&mut backlog, false);
        all.extend(delivered(&rx));
        let expected: Vec<String> = (0..5)
            .map(|b| batch(1, b * EVENT_BATCH..(b + 1) * EVENT_BATCH))
            .collect();
        assert_eq!(all, expected);
    }
}
