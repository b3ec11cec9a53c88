//! The read half of a transfer connection, on its own thread: it turns the
//! peer's bytes into frames and hands them over a bounded channel, so the
//! worker can wait on the peer and on local commands at once, and so reading
//! the socket overlaps with hashing and disk writes. Frames that arrive
//! together travel together (one channel message and one wake-up for a run of
//! small frames, e.g. many small files). Keep-alive pings are answered here by
//! being swallowed. It never writes to the connection.

use std::collections::VecDeque;
use std::io::Read;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use crate::protocol::{Frame, FrameReader, Message, WireError};
use crate::secure::link::Closer;

/// Batches the reader may run ahead of the worker. A large data frame is
/// never read in the same go as the next one, so with 512 KiB data frames this
/// caps a transfer's read-ahead at about 2 MiB. (8 measured no faster and cost
/// 2 MiB more; the queue only absorbs jitter between decrypting and writing.)
const READ_AHEAD: usize = 4;

/// Most frames in one batch.
const BATCH_FRAMES: usize = 64;

/// A batch ends once its data frames hold this many bytes.
const BATCH_BYTES: usize = 256 * 1024;

/// Frames (or the error that ended the stream), in order.
pub type Batch = Vec<Result<Frame, WireError>>;

/// The worker's end of a pump.
pub struct Pump {
    batches: Receiver<Batch>,
    queue: VecDeque<Result<Frame, WireError>>,
    /// Spent data buffers go back here to be refilled.
    pub recycle: Sender<Vec<u8>>,
}

impl Pump {
    /// A frame that already arrived and waits here, if any. Check this before
    /// waiting on [`Pump::arrivals`].
    pub fn queued(&mut self) -> Option<Result<Frame, WireError>> {
        self.queue.pop_front()
    }

    /// For `select!`: ready when a batch arrives; hand it to [`Pump::take`].
    /// Disconnected once the reader has stopped and everything was taken.
    pub fn arrivals(&self) -> Receiver<Batch> {
        self.batches.clone()
    }

    /// A frame that is here already (queued, or in a batch that arrived),
    /// without waiting: the sender looks between pieces, and a `try_recv`
    /// costs next to nothing where a `select!` per piece does not.
    pub fn ready(&mut self) -> Option<Result<Frame, WireError>> {
        if self.queue.is_empty() {
            let batch = self.batches.try_recv().ok()?;
            self.queue.extend(batch);
        }
        self.queue.pop_front()
    }

    /// Keeps a batch from [`Pump::arrivals`] and returns its first frame.
    pub fn take(&mut self, batch: Batch) -> Option<Result<Frame, WireError>> {
        self.queue.extend(batch);
        self.queue.pop_front()
    }

    /// The next frame, waiting until `deadline` at most.
    pub fn next_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<Result<Frame, WireError>, RecvTimeoutError> {
        loop {
            if let Some(frame) = self.queue.pop_front() {
                return Ok(frame);
            }
            let batch = self.batches.recv_deadline(deadline)?;
            self.queue.extend(batch);
        }
    }

    /// The next frame, waiting `timeout` at most.
    pub fn next_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Result<Frame, WireError>, RecvTimeoutError> {
        self.next_deadline(Instant::now() + timeout)
    }
}

/// Starts the read thread for `reader`, which must be past the greeting.
pub fn start<R: Read + Send + 'static>(
    reader: FrameReader<R>,
    name: String,
) -> std::io::Result<Pump> {
    start_with(reader, name, None)
}

/// Like [`start`], and when reading fails (the peer went silent for the idle
/// timeout, reset, or closed) the connection is shut down right after the
/// error is handed over, so a worker blocked writing to a dead peer wakes up
/// at once instead of waiting out its own write timeout.
pub fn start_closing<R: Read + Send + 'static>(
    reader: FrameReader<R>,
    name: String,
    closer: Closer,
) -> std::io::Result<Pump> {
    start_with(reader, name, Some(closer))
}

fn start_with<R: Read + Send + 'static>(
    reader: FrameReader<R>,
    name: String,
    closer: Option<Closer>,
) -> std::io::Result<Pump> {
    let (batches_tx, batches) = bounded(READ_AHEAD);
    let (recycle, recycle_rx) = bounded::<Vec<u8>>(READ_AHEAD + 2);
    thread::Builder::new().name(name).spawn(move || {
        run(reader, &batches_tx, &recycle_rx);
        if let Some(closer) = closer {
            closer.close();
        }
    })?;
    Ok(Pump {
        batches,
        queue: VecDeque::new(),
        recycle,
    })
}

/// Reads until the stream fails or the worker hangs up.
fn run<R: Read>(mut reader: FrameReader<R>, batches: &Sender<Batch>, recycle: &Receiver<Vec<u8>>) {
    let mut spare = None;
    loop {
        let mut batch = Vec::new();
        let mut bytes = 0;
        let ended = loop {
            if spare.is_none() {
                spare = recycle.try_recv().ok();
            }
            let frame = reader.read_frame_with(&mut spare);
            let ended = frame.is_err();
            match &frame {
                Ok(Frame::Message(Message::Ping)) => {}
                Ok(Frame::Data(data)) => {
                    bytes += data.len();
                    batch.push(frame);
                }
                _ => batch.push(frame),
            }
            // Take more only while whole frames already sit in the buffer:
            // never wait on the socket with frames in hand.
            if ended
                || batch.len() >= BATCH_FRAMES
                || bytes >= BATCH_BYTES
                || !reader.frame_buffered()
            {
                break ended;
            }
        };
        // The worker hung up: nobody wants what comes next.
        if !batch.is_empty() && batches.send(batch).is_err() || ended {
            return;
        }
    }
}
