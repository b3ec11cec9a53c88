//! The read half of a transfer connection, on its own thread: it turns the
//! peer's bytes into frames and hands them over a bounded channel, so the
//! worker can wait on the peer and on local commands at once, and so reading
//! the socket overlaps with hashing and disk writes. Keep-alive pings are
//! answered here by being swallowed. It never writes to the connection.

use std::io::Read;
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::transport::Closer;
use crate::protocol::{Frame, FrameReader, Message, WireError};

/// Frames the reader may run ahead of the worker. With 512 KiB data frames
/// this caps a transfer's read-ahead at about 4 MiB.
const READ_AHEAD: usize = 8;

/// The worker's end of a pump.
pub struct Pump {
    /// Frames (or the error that ended the stream), in order.
    pub frames: Receiver<Result<Frame, WireError>>,
    /// Spent data buffers go back here to be refilled.
    pub recycle: Sender<Vec<u8>>,
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
    let (frames_tx, frames) = bounded(READ_AHEAD);
    let (recycle, recycle_rx) = bounded::<Vec<u8>>(READ_AHEAD + 2);
    thread::Builder::new().name(name).spawn(move || {
        run(reader, &frames_tx, &recycle_rx);
        if let Some(closer) = closer {
            closer.close();
        }
    })?;
    Ok(Pump { frames, recycle })
}

/// Reads until the stream fails or the worker hangs up.
fn run<R: Read>(
    mut reader: FrameReader<R>,
    frames: &Sender<Result<Frame, WireError>>,
    recycle: &Receiver<Vec<u8>>,
) {
    loop {
        let frame = reader.read_frame(recycle.try_recv().ok());
        let ended = frame.is_err();
        if matches!(frame, Ok(Frame::Message(Message::Ping))) {
            continue;
        }
        // The worker hung up: nobody wants what comes next.
        if frames.send(frame).is_err() || ended {
            return;
        }
    }
}
