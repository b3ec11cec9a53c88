//! The one wait loop both workers share. A worker waits on three things at
//! once: the peer's frames (from the [`Pump`]), the engine's [`Control`]
//! messages, and a timer tick that drives pings, the idle check and the event
//! backlog; the sender while streaming also waits on its disk reader. This
//! module owns that `select!` and the keep-alive ping; it does not decide what
//! a frame, a cancel or a tick means — each worker answers those in its own
//! words (the two sides fail differently: a lost sender tells the receiver, a
//! lost receiver keeps its partial files), so each keeps its own `Stop`.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvError, select};

use super::context::Control;
use super::pump::{Batch, Pump};
use crate::protocol::{Frame, FrameWriter, Message, SealWrite, WireError};
use crate::secure::link::Closer;

/// How a worker writes frames to its peer.
pub(crate) type Writer = FrameWriter<Box<dyn SealWrite + Send>>;

/// Said when the pump's thread is gone without handing over an error.
pub(crate) const READER_STOPPED: &str = "The connection reader stopped.";

/// What woke a worker up.
pub(crate) enum Wake<T = ()> {
    /// The peer's next frame, or the error that ended its stream.
    Peer(Result<Frame, WireError>),
    /// Stop now: the engine said Cancel, or hung up (which means the same).
    Cancel,
    /// The person's answer to an offer (only the receiver waits for one).
    Decide(crate::api::Decision),
    /// The person paused (`true`) or resumed (`false`); only a streaming
    /// worker acts on it.
    Pause(bool),
    /// The timer: flush the event backlog, ping if idle.
    Tick,
    /// The extra channel passed to [`Waiter::next_or`] had something.
    Other(Result<T, RecvError>),
    /// The pump stopped without an error to report.
    ReaderStopped,
}

/// Waits on the peer, the engine and a timer; built once per phase.
pub(crate) struct Waiter {
    arrivals: Receiver<Batch>,
    tick: Receiver<Instant>,
}

impl Waiter {
    /// A waiter over `pump` whose timer fires every `tick`.
    pub fn new(pump: &Pump, tick: Duration) -> Waiter {
        Waiter {
            arrivals: pump.arrivals(),
            tick: crossbeam_channel::tick(tick),
        }
    }

    /// The next thing that happened. Frames already queued in the pump come
    /// first: a batch of them travels as one channel message.
    pub fn next(&self, pump: &mut Pump, control: &Receiver<Control>) -> Wake {
        self.next_or(pump, control, &crossbeam_channel::never::<()>())
    }

    /// Like [`Waiter::next`], also waiting on `other`.
    pub fn next_or<T>(
        &self,
        pump: &mut Pump,
        control: &Receiver<Control>,
        other: &Receiver<T>,
    ) -> Wake<T> {
        loop {
            if let Some(frame) = pump.queued() {
                return Wake::Peer(frame);
            }
            select! {
                recv(self.arrivals) -> batch => match batch {
                    Ok(batch) => {
                        if let Some(frame) = pump.take(batch) {
                            return Wake::Peer(frame);
                        }
                    }
                    Err(_) => return Wake::ReaderStopped,
                },
                recv(control) -> control => return match control {
                    Ok(Control::Decide(decision)) => Wake::Decide(decision),
                    Ok(Control::Pause(paused)) => Wake::Pause(paused),
                    Ok(Control::Cancel) | Err(_) => Wake::Cancel,
                },
                recv(self.tick) -> _ => return Wake::Tick,
                recv(other) -> item => return Wake::Other(item),
            }
        }
    }
}

/// Keeps a quiet connection alive: the peer's idle timeout must not mistake
/// a person deciding, or a slow disk, for a dead link.
pub(crate) struct Keepalive {
    last_write: Instant,
    every: Duration,
}

impl Keepalive {
    /// Pings after `every` without a write.
    pub fn new(every: Duration) -> Keepalive {
        Keepalive {
            last_write: Instant::now(),
            every,
        }
    }

    /// Something was just written to the peer.
    pub fn wrote(&mut self) {
        self.last_write = Instant::now();
    }

    /// Sends a Ping if nothing was written for a while.
    pub fn ping_if_idle(&mut self, writer: &mut Writer) -> Result<(), WireError> {
        if self.last_write.elapsed() >= self.every {
            writer.send_now(&Message::Ping)?;
            self.wrote();
        }
        Ok(())
    }
}

/// Longest a connection is kept open after our Cancel, waiting for the peer
/// to read it and close. The idle timeout usually ends it sooner.
const LINGER: Duration = Duration::from_secs(30);

/// After our Cancel (and our half of the connection closed behind it): a
/// thread reads and drops what the peer still sends until the peer closes,
/// then closes. Closing while the peer's bytes sit unread makes the kernel
/// reset the connection and throw away what we had not yet sent — the Cancel
/// itself, which on a slow link waits behind megabytes already in flight. It
/// runs apart so the cancel is reported at once, however slow the link.
pub(crate) fn linger_then_close(mut pump: Pump, closer: Closer) {
    let spawned = std::thread::Builder::new()
        .name("ferry-linger".into())
        .spawn(move || {
            let deadline = Instant::now() + LINGER;
            while let Ok(Ok(_)) = pump.next_deadline(deadline) {}
            closer.close();
        });
    if let Err(e) = spawned {
        // The connection just closes at once: the peer may see it cut.
        tracing::warn!("cannot start a thread to close a cancelled connection: {e}");
    }
}

/// A short name of a frame for error messages.
pub fn frame_name(frame: &Frame) -> &'static str {
    match frame {
        Frame::Data(_) => "file data",
        Frame::Message(message) => match message {
            Message::Hello(_) => "hello",
            Message::Offer(_) => "offer",
            Message::Accept(_) => "accept",
            Message::Decline(_) => "decline",
            Message::FileStart { .. } => "file start",
            Message::FileEnd { .. } => "file end",
            Message::FileAbandoned { .. } => "file abandoned",
            Message::FileResult { .. } => "file result",
            Message::Done => "done",
            Message::Summary { .. } => "summary",
            Message::Cancel(_) => "cancel",
            Message::Ping => "ping",
            Message::NeedPin { .. } => "PIN request",
            Message::PairCommit { .. } => "pairing commitment",
            Message::PairNonce { .. } => "pairing nonce",
            Message::PairReveal { .. } => "pairing reveal",
            Message::Page { .. } => "page",
            Message::Want { .. } => "want",
            Message::Pause => "pause",
            Message::Resume => "resume",
        },
    }
}

/// Failure sentences kept for an outcome; the rest are only counted.
const MAX_LISTED_FAILURES: usize = 20;

/// The files of a transfer that failed: counted, and the first few named,
/// so a million failures do not become a million sentences in memory.
#[derive(Debug, Default)]
pub(crate) struct Failures {
    listed: Vec<String>,
    count: u32,
}

impl Failures {
    /// Counts one failed file, described for people ("a.txt: changed").
    pub fn note(&mut self, sentence: String) {
        self.count = self.count.saturating_add(1);
        if self.listed.len() < MAX_LISTED_FAILURES {
            self.listed.push(sentence);
        }
    }

    /// Counts `files` failed files under one sentence (none: a note only).
    pub fn note_many(&mut self, sentence: String, files: u32) {
        self.count = self.count.saturating_add(files);
        if self.listed.len() < MAX_LISTED_FAILURES {
            self.listed.push(sentence);
        }
    }

    /// Failed files so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// True if no file failed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// "3 of 10 files failed: a: ...; b: ...", naming the first few.
    pub fn sentence(&self, total: u32) -> String {
        let more = (self.count as usize).saturating_sub(self.listed.len());
        let rest = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        format!(
            "{} of {} failed: {}{rest}.",
            self.count,
            crate::api::count(total, "file", "files"),
            self.listed.join("; ")
        )
    }
}
