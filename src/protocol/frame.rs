//! Framing on a byte stream: the greeting that opens every connection, then
//! frames of `kind: u8, length: u32 BE, payload`. This module owns the rule
//! that a length is checked against its limit before a single byte of payload
//! is buffered; it does not interpret file bytes or decide protocol flow.

use std::io::{self, BufReader, BufWriter, Read, Write};

use super::codec::{self, CodecError};
use super::limits::{MAX_CONTROL_FRAME, MAX_DATA_FRAME};
use super::messages::{LimitError, Message};
use super::{MAGIC, PROTOCOL_VERSION};

/// Frame kind byte of a bincode control message.
pub const KIND_CONTROL: u8 = 0;
/// Frame kind byte of raw file bytes.
pub const KIND_DATA: u8 = 1;

/// Size of the buffers between a frame reader/writer and the socket.
const STREAM_BUFFER: usize = 256 * 1024;

/// Everything that can go wrong reading or writing the wire.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The socket failed.
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the connection between frames.
    #[error("the other device closed the connection")]
    Closed,
    /// The peer's greeting is not Ferry's.
    #[error("the other side is not a Ferry device (unexpected greeting)")]
    NotFerry,
    /// Both are Ferry, but they speak different protocol versions.
    #[error(
        "protocol version mismatch: the other device speaks Ferry protocol version {theirs}, \
         this one speaks version {ours}; install the same Ferry release on both"
    )]
    VersionMismatch {
        /// Our version.
        ours: u16,
        /// The peer's version.
        theirs: u16,
    },
    /// A frame header named an unknown kind.
    #[error("malformed frame: unknown kind {0}")]
    UnknownKind(u8),
    /// A frame header claimed more than its limit.
    #[error("malformed frame: {len} bytes claimed, the limit is {limit}")]
    FrameTooLarge {
        /// Claimed length.
        len: u32,
        /// Limit for that kind.
        limit: u32,
    },
    /// The payload was not a valid message.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The message broke a structural limit.
    #[error(transparent)]
    Limit(#[from] LimitError),
}

impl WireError {
    /// True when the connection ended abruptly (reset, EOF mid-frame, timeout).
    pub fn is_disconnect(&self) -> bool {
        match self {
            WireError::Closed => true,
            WireError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::WouldBlock
            ),
            _ => false,
        }
    }
}

/// Writes our greeting: the magic and our protocol version.
pub fn write_greeting(w: &mut impl Write) -> io::Result<()> {
    let mut greeting = [0u8; 8];
    greeting[..6].copy_from_slice(&MAGIC);
    greeting[6..].copy_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    w.write_all(&greeting)?;
    w.flush()
}

/// Reads the peer's greeting and checks magic and version.
pub fn read_greeting(r: &mut impl Read) -> Result<(), WireError> {
    let mut greeting = [0u8; 8];
    r.read_exact(&mut greeting).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            WireError::Closed
        } else {
            WireError::Io(e)
        }
    })?;
    if greeting[..6] != MAGIC {
        return Err(WireError::NotFerry);
    }
    let theirs = u16::from_be_bytes([greeting[6], greeting[7]]);
    if theirs != PROTOCOL_VERSION {
        return Err(WireError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs,
        });
    }
    Ok(())
}

/// One frame as read from the wire.
#[derive(Debug)]
pub enum Frame {
    /// A decoded, limit-checked control message.
    Message(Message),
    /// Raw file bytes.
    Data(Vec<u8>),
}

/// Reads frames from a byte stream, buffering small frames together.
pub struct FrameReader<R: Read> {
    inner: BufReader<R>,
}

impl<R: Read> FrameReader<R> {
    /// Wraps a stream; the greeting must already have been consumed.
    pub fn new(stream: R) -> Self {
        FrameReader {
            inner: BufReader::with_capacity(STREAM_BUFFER, stream),
        }
    }

    /// Reads the next frame. A data frame is read into `recycled` when given,
    /// so the steady state allocates nothing.
    pub fn read_frame(&mut self, recycled: Option<Vec<u8>>) -> Result<Frame, WireError> {
        let mut header = [0u8; 5];
        // A clean EOF before the first header byte is a close, not an error.
        let first = loop {
            match self.inner.read(&mut header[..1]) {
                Ok(0) => return Err(WireError::Closed),
                Ok(_) => break header[0],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        self.inner.read_exact(&mut header[1..])?;
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let limit = match first {
            KIND_CONTROL => MAX_CONTROL_FRAME,
            KIND_DATA => MAX_DATA_FRAME,
            other => return Err(WireError::UnknownKind(other)),
        };
        if len > limit {
            return Err(WireError::FrameTooLarge { len, limit });
        }
        if first == KIND_DATA {
            let mut buf = recycled.unwrap_or_default();
            buf.clear();
            buf.resize(len as usize, 0);
            self.inner.read_exact(&mut buf)?;
            return Ok(Frame::Data(buf));
        }
        // Grow with what actually arrives, so a peer that claims 16 MiB and
        // sends nothing costs us nothing.
        let mut payload = Vec::with_capacity((len as usize).min(64 * 1024));
        let got = (&mut self.inner)
            .take(u64::from(len))
            .read_to_end(&mut payload)?;
        if got != len as usize {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        let message: Message = codec::decode(&payload)?;
        message.check_limits()?;
        Ok(Frame::Message(message))
    }

    /// Reads the next frame and requires it to be a control message.
    pub fn read_message(&mut self) -> Result<Message, WireError> {
        match self.read_frame(None)? {
            Frame::Message(m) => Ok(m),
            Frame::Data(_) => Err(WireError::Codec(CodecError::Decode(
                "file data arrived where a control message was expected".into(),
            ))),
        }
    }
}

/// Writes frames to a byte stream through a buffer; call [`FrameWriter::flush`]
/// before waiting for an answer.
pub struct FrameWriter<W: Write> {
    inner: BufWriter<W>,
}

impl<W: Write> FrameWriter<W> {
    /// Wraps a stream; the greeting must already have been written.
    pub fn new(stream: W) -> Self {
        FrameWriter {
            inner: BufWriter::with_capacity(STREAM_BUFFER, stream),
        }
    }

    /// Queues one control message.
    pub fn send(&mut self, message: &Message) -> Result<(), WireError> {
        let payload = codec::encode(message)?;
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|&len| len <= MAX_CONTROL_FRAME)
            .ok_or(WireError::FrameTooLarge {
                len: u32::MAX,
                limit: MAX_CONTROL_FRAME,
            })?;
        self.write_header(KIND_CONTROL, len)?;
        self.inner.write_all(&payload)?;
        Ok(())
    }

    /// Queues one data frame; `bytes` must not exceed the data frame limit.
    pub fn send_data(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        let len = u32::try_from(bytes.len())
            .ok()
            .filter(|&len| len <= MAX_DATA_FRAME)
            .ok_or(WireError::FrameTooLarge {
                len: u32::MAX,
                limit: MAX_DATA_FRAME,
            })?;
        self.write_header(KIND_DATA, len)?;
        self.inner.write_all(bytes)?;
        Ok(())
    }

    /// Sends one control message and pushes everything to the socket.
    pub fn send_now(&mut self, message: &Message) -> Result<(), WireError> {
        self.send(message)?;
        self.flush()
    }

    /// Pushes buffered frames to the socket.
    pub fn flush(&mut self) -> Result<(), WireError> {
        self.inner.flush()?;
        Ok(())
    }

    /// Flushes and gives access to the stream underneath (for tests that must
    /// write bytes no well-behaved peer would).
    pub fn raw(&mut self) -> Result<&mut W, WireError> {
        self.flush()?;
        Ok(self.inner.get_mut())
    }

    fn write_header(&mut self, kind: u8, len: u32) -> io::Result<()> {
        let mut header = [kind, 0, 0, 0, 0];
        header[1..].copy_from_slice(&len.to_be_bytes());
        self.inner.write_all(&header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::CancelReason;

    #[test]
    fn frames_round_trip_through_a_byte_stream() {
        let mut wire = Vec::new();
        {
            let mut w = FrameWriter::new(&mut wire);
            w.send(&Message::Done).expect("send");
            w.send_data(b"hello").expect("data");
            w.send(&Message::Cancel(CancelReason::User)).expect("send");
            w.flush().expect("flush");
        }
        let mut r = FrameReader::new(&wire[..]);
        assert!(matches!(
            r.read_frame(None),
            Ok(Frame::Message(Message::Done))
        ));
        assert!(matches!(r.read_frame(None), Ok(Frame::Data(d)) if d == b"hello"));
        assert!(matches!(
            r.read_message(),
            Ok(Message::Cancel(CancelReason::User))
        ));
        assert!(matches!(r.read_frame(None), Err(WireError::Closed)));
    }

    #[test]
    fn oversized_lengths_are_refused_before_reading() {
        for (kind, limit) in [
            (KIND_CONTROL, MAX_CONTROL_FRAME),
            (KIND_DATA, MAX_DATA_FRAME),
        ] {
            let mut wire = vec![kind];
            wire.extend_from_slice(&u32::MAX.to_be_bytes());
            let err = FrameReader::new(&wire[..])
                .read_frame(None)
                .expect_err("must refuse");
            assert!(
                matches!(err, WireError::FrameTooLarge { len: u32::MAX, limit: l } if l == limit)
            );
        }
    }

    #[test]
    fn unknown_kind_and_truncation_are_errors() {
        let err = FrameReader::new(&[7u8, 0, 0, 0, 0][..])
            .read_frame(None)
            .expect_err("kind");
        assert!(matches!(err, WireError::UnknownKind(7)));
        let err = FrameReader::new(&[0u8, 0, 0, 0, 9, 1][..])
            .read_frame(None)
            .expect_err("short");
        assert!(err.is_disconnect());
    }

    #[test]
    fn greeting_checks_magic_and_version() {
        let mut ok = Vec::new();
        write_greeting(&mut ok).expect("write");
        assert!(read_greeting(&mut &ok[..]).is_ok());
        let mut other = ok.clone();
        other[7] = other[7].wrapping_add(1);
        let err = read_greeting(&mut &other[..]).expect_err("version");
        assert!(matches!(
            err,
            WireError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                ..
            }
        ));
        assert!(err.to_string().contains("version"));
        assert!(matches!(
            read_greeting(&mut &b"GET / HTTP/1.1"[..]),
            Err(WireError::NotFerry)
        ));
    }
}
