//! The record layer: the read half and the write half of an established
//! connection, each sealing or opening TLS 1.3 records (RFC 8446 §5) in place
//! with its own key and sequence number, so the two run on two threads with
//! no lock between them (the shared key schedule is locked only to update a
//! key). It owns close_notify on drop, fatal alerts, key updates (ours before
//! the limit, and the peer's), and refusing anything else after the
//! handshake. It must not drive the handshake (`handshake` does) nor know
//! Ferry's frames.
//!
//! Errors: anything wrong in what the peer sent is fatal for the whole
//! connection. The reader records it (with the alert it deserves) in the
//! shared key schedule and returns it; from then on every read and every
//! write returns that same error, and the writer — on its next write or when
//! dropped, on its own thread — sends the alert under its current key and
//! shuts the socket.

mod writer;

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ring::aead::Aad;

pub use writer::TlsWriter;

use super::{
    ALERT_BAD_RECORD_MAC, ALERT_DECODE_ERROR, ALERT_RECORD_OVERFLOW, ALERT_UNEXPECTED_MESSAGE,
    Cipher, KeySchedule,
};

/// Raw bytes read from the socket per system call (at most) by a reader that
/// takes a transfer's bytes: the server's side.
pub(super) const RAW_READ_BULK: usize = 256 * 1024;

/// The same for a reader that takes only answers (the client's side: a
/// sender reading the receiver's verdicts, a probe reading one reply). Its
/// buffer is touched in full over a long transfer, so a bulk-sized one would
/// add a quarter MiB to a sender of many small files for nothing: 32 KiB
/// still takes hundreds of verdicts per read.
pub(super) const RAW_READ_ANSWERS: usize = 32 * 1024;

/// Reads at least this large are decrypted straight into the caller's
/// buffer ([`TlsReader::read_direct`]): the rest of a data frame. Smaller ones
/// (a frame reader filling its 32 KiB buffer) go through ours.
const DIRECT_READ: usize = 40 * 1024;

/// Largest plaintext in one record (RFC 8446 §5.1).
const MAX_PLAIN: usize = 16 * 1024;

/// Largest record body (encrypted inner plaintext) a peer may send (§5.2).
const MAX_BODY: usize = MAX_PLAIN + 256;

/// Record header: type, legacy version, length.
const HEADER: usize = 5;

/// AEAD tag length of every TLS 1.3 cipher suite.
const TAG: usize = 16;

/// KeyUpdates the peer may send in a row, with no application data between
/// them; one more ends the connection (unexpected_message).
pub(crate) const MAX_KEY_UPDATES_IN_A_ROW: u32 = 32;

const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_DATA: u8 = 23;
const HANDSHAKE_NEW_SESSION_TICKET: u8 = 4;
const HANDSHAKE_KEY_UPDATE: u8 = 24;

/// A socket error one half met, returned again on every later call.
#[derive(Default)]
struct Sticky(Option<(io::ErrorKind, String)>);

impl Sticky {
    fn set(&mut self, e: io::Error) -> io::Error {
        self.0 = Some((e.kind(), e.to_string()));
        e
    }

    fn check(&self) -> io::Result<()> {
        match &self.0 {
            Some((kind, message)) => Err(io::Error::new(*kind, message.clone())),
            None => Ok(()),
        }
    }
}

/// The read half, over a socket (or, fuzzed, over any bytes).
pub struct TlsReader<S = TcpStream> {
    socket: S,
    /// Raw bytes; `buf[start..end]` are not yet opened.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Opened plaintext not yet handed out, inside `buf`.
    plain: std::ops::Range<usize>,
    /// Plaintext rustls opened during the handshake.
    early: Vec<u8>,
    early_pos: usize,
    rx: Cipher,
    schedule: Arc<KeySchedule>,
    /// The peer sent close_notify.
    closed: bool,
    /// KeyUpdates since the last application data.
    key_updates: u32,
    /// A socket error or a cut stream.
    broken: Sticky,
}

impl<S: Read> TlsReader<S> {
    /// The read half. `pending`: raw bytes read past the handshake's end (a
    /// partial record rustls left alone); `early`: plaintext rustls opened
    /// while finishing the handshake; `closed`: the peer already sent
    /// close_notify; `raw_read`: bytes read per system call at most
    /// ([`RAW_READ_BULK`] or [`RAW_READ_ANSWERS`]).
    pub(super) fn new(
        socket: S,
        pending: &[u8],
        early: Vec<u8>,
        rx: Cipher,
        schedule: Arc<KeySchedule>,
        closed: bool,
        raw_read: usize,
    ) -> TlsReader<S> {
        let mut buf = vec![0u8; raw_read.max(pending.len()) + HEADER + MAX_BODY];
        buf[..pending.len()].copy_from_slice(pending);
        TlsReader {
            socket,
            buf,
            start: 0,
            end: pending.len(),
            plain: 0..0,
            early,
            early_pos: 0,
            rx,
            schedule,
            closed,
            key_updates: 0,
            broken: Sticky::default(),
        }
    }

    /// Ends the connection: the peer is owed `alert`.
    fn fail(&self, alert: u8, message: impl std::fmt::Display) -> io::Error {
        self.schedule.fail(Some(alert), message)
    }

    /// The length of the record at the front of `raw` (header and body)
    /// once it is whole there, after checking its header; `None` while more
    /// bytes must be read first.
    fn whole_record(&self, raw: &[u8]) -> io::Result<Option<usize>> {
        let Some(header) = raw.get(..HEADER) else {
            return Ok(None);
        };
        let len = u16::from_be_bytes([header[3], header[4]]) as usize;
        if header[0] != CONTENT_DATA {
            let message = format!("unexpected record type {}", header[0]);
            return Err(self.fail(ALERT_UNEXPECTED_MESSAGE, message));
        }
        if header[1] != 3 {
            return Err(self.fail(ALERT_DECODE_ERROR, "a record of another protocol"));
        }
        if len > MAX_BODY {
            let message = format!("a record of {len} bytes, over 2^14 + 256");
            return Err(self.fail(ALERT_RECORD_OVERFLOW, message));
        }
        Ok((raw.len() >= HEADER + len).then_some(HEADER + len))
    }

    /// Opens the whole record at `buf[record..record + total]`, its
    /// plaintext written to `buf[to..]` (`to` at most the body's start: ring
    /// decrypts and moves in one pass). Returns the inner plaintext's content
    /// type and the length of its content, which now starts at `to`.
    fn open_record(
        &mut self,
        buf: &mut [u8],
        to: usize,
        record: usize,
        total: usize,
    ) -> io::Result<(u8, usize)> {
        if self.rx.seq >= self.rx.limit {
            let message = "the peer did not update its key in time";
            return Err(self.fail(ALERT_UNEXPECTED_MESSAGE, message));
        }
        let mut header = [0u8; HEADER];
        header.copy_from_slice(&buf[record..record + HEADER]);
        let nonce = self.rx.nonce();
        let body = record + HEADER - to;
        let opened = self
            .rx
            .key
            .open_within(
                nonce,
                Aad::from(header),
                &mut buf[to..record + total],
                body..,
            )
            .map(|plain| plain.len());
        let Ok(opened) = opened else {
            return Err(self.fail(ALERT_BAD_RECORD_MAC, "a record failed authentication"));
        };
        self.rx.seq += 1;
        if opened > MAX_PLAIN + 1 {
            let message = format!("a record of {opened} bytes of plaintext, over 2^14 + 1");
            return Err(self.fail(ALERT_RECORD_OVERFLOW, message));
        }
        // The content type is the last non-zero byte; zeros after it are padding.
        let Some(last) = buf[to..to + opened].iter().rposition(|&b| b != 0) else {
            return Err(self.fail(ALERT_UNEXPECTED_MESSAGE, "a record without a content type"));
        };
        Ok((buf[to + last], last))
    }

    /// Takes a record that is not application data, its content in
    /// `self.buf[content]`.
    fn control(&mut self, kind: u8, content: std::ops::Range<usize>) -> io::Result<()> {
        match kind {
            CONTENT_ALERT => self.alert(content),
            CONTENT_HANDSHAKE => self.handshake(content),
            other => {
                let message = format!("unexpected content type {other}");
                Err(self.fail(ALERT_UNEXPECTED_MESSAGE, message))
            }
        }
    }

    /// Opens the next whole record in the buffer, if there is one. Returns
    /// false when more bytes must be read first.
    fn open_next(&mut self) -> io::Result<bool> {
        let Some(total) = self.whole_record(&self.buf[self.start..self.end])? else {
            return Ok(false);
        };
        let mut buf = std::mem::take(&mut self.buf);
        let body = self.start + HEADER;
        let opened = self.open_record(&mut buf, body, self.start, total);
        self.buf = buf;
        let (kind, len) = opened?;
        self.start += total;
        let content = body..body + len;
        if kind == CONTENT_DATA {
            if !content.is_empty() {
                self.key_updates = 0;
            }
            self.plain = content;
            return Ok(true);
        }
        self.control(kind, content)?;
        Ok(true)
    }

    /// Reads records from the socket straight into `out` and opens them
    /// there, each record's plaintext moved up behind the previous one's as
    /// it is decrypted: a large read (the rest of a data frame) then costs
    /// no copy of its bytes. Only called with no plaintext pending and less
    /// than a whole record buffered. A record that cannot end inside `out`
    /// goes back to the buffer, for [`TlsReader::read`]'s ordinary path.
    /// Returns the plaintext bytes now at the front of `out`.
    fn read_direct(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // out[..filled]: plaintext; out[at..raw]: bytes of records not opened yet.
        let mut raw = self.end - self.start;
        out[..raw].copy_from_slice(&self.buf[self.start..self.end]);
        self.start = 0;
        self.end = 0;
        self.plain = 0..0;
        let mut filled = 0;
        let mut at = 0;
        loop {
            if let Err(e) = self.open_direct(out, &mut filled, &mut at, raw) {
                // What came before the bad record is handed out first; the
                // error is the connection's and comes back on the next read.
                return if filled > 0 { Ok(filled) } else { Err(e) };
            }
            if self.closed || at == raw && filled > 0 {
                return Ok(filled);
            }
            if at == raw {
                // Nothing left over: read on from the front.
                at = 0;
                raw = 0;
            }
            // With plaintext in hand this waits only for the rest of a record
            // already begun (a peer writes records whole).
            let need = match &out[at..raw] {
                [_, _, _, a, b, ..] => HEADER + u16::from_be_bytes([*a, *b]) as usize,
                _ => HEADER + MAX_BODY,
            };
            if out.len() - at < need {
                self.buf[..raw - at].copy_from_slice(&out[at..raw]);
                self.end = raw - at;
                return Ok(filled);
            }
            let n = match self.socket.read(&mut out[raw..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf[..raw - at].copy_from_slice(&out[at..raw]);
                    self.end = raw - at;
                    if filled > 0 {
                        return Ok(filled);
                    }
                    return Err(self.broke(e));
                }
            };
            if n == 0 {
                self.buf[..raw - at].copy_from_slice(&out[at..raw]);
                self.end = raw - at;
                if filled > 0 {
                    return Ok(filled);
                }
                return Err(self.cut());
            }
            raw += n;
        }
    }

    /// Opens the whole records in `out[at..raw]`, their application data
    /// appended to `out[..filled]`.
    fn open_direct(
        &mut self,
        out: &mut [u8],
        filled: &mut usize,
        at: &mut usize,
        raw: usize,
    ) -> io::Result<()> {
        while !self.closed {
            let Some(total) = self.whole_record(&out[*at..raw])? else {
                break;
            };
            let (kind, len) = self.open_record(out, *filled, *at, total)?;
            *at += total;
            if kind == CONTENT_DATA {
                if len > 0 {
                    self.key_updates = 0;
                }
                *filled += len;
            } else {
                // Alerts and key updates are handled where they always are.
                self.buf[..len].copy_from_slice(&out[*filled..*filled + len]);
                self.control(kind, 0..len)?;
            }
        }
        Ok(())
    }

    /// The stream ended without close_notify.
    fn cut(&mut self) -> io::Error {
        let cut = io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection cut without a TLS close",
        );
        self.broke(cut)
    }

    fn alert(&mut self, content: std::ops::Range<usize>) -> io::Result<()> {
        match self.buf[content] {
            [_, 0] => {
                self.closed = true;
                Ok(())
            }
            // user_canceled: a close_notify follows.
            [_, 90] => Ok(()),
            // The peer's fatal alert: nothing is sent back (§6.2).
            [_, description] => Err(self
                .schedule
                .fail(None, format!("the peer sent alert {description}"))),
            _ => Err(self.fail(ALERT_DECODE_ERROR, "a malformed alert")),
        }
    }

    /// Post-handshake messages; each must sit whole in one record.
    fn handshake(&mut self, content: std::ops::Range<usize>) -> io::Result<()> {
        if content.is_empty() {
            // §5.1: no zero-length fragments of Handshake types.
            let message = "an empty handshake record";
            return Err(self.fail(ALERT_UNEXPECTED_MESSAGE, message));
        }
        let mut at = content.start;
        while at < content.end {
            let message = &self.buf[at..content.end];
            let len = match message {
                [_, a, b, c, ..] => u32::from_be_bytes([0, *a, *b, *c]) as usize,
                _ => return Err(self.fail(ALERT_UNEXPECTED_MESSAGE, "a split handshake message")),
            };
            if message.len() < 4 + len {
                return Err(self.fail(ALERT_UNEXPECTED_MESSAGE, "a split handshake message"));
            }
            match (message[0], &message[4..4 + len]) {
                (HANDSHAKE_NEW_SESSION_TICKET, _) => {}
                (HANDSHAKE_KEY_UPDATE, &[request]) if request <= 1 => {
                    // A key change ends the record (§5.1).
                    if at + 4 + len != content.end {
                        let message = "data after a key update in one record";
                        return Err(self.fail(ALERT_UNEXPECTED_MESSAGE, message));
                    }
                    self.key_update(request)?;
                }
                (HANDSHAKE_KEY_UPDATE, _) => {
                    return Err(self.fail(ALERT_DECODE_ERROR, "a malformed key update"));
                }
                (kind, _) => {
                    let message = format!("unexpected handshake message {kind}");
                    return Err(self.fail(ALERT_UNEXPECTED_MESSAGE, message));
                }
            }
            at += 4 + len;
        }
        Ok(())
    }

    /// Follows the peer's KeyUpdate; `request`: it asks for ours too.
    fn key_update(&mut self, request: u8) -> io::Result<()> {
        self.key_updates += 1;
        if self.key_updates > MAX_KEY_UPDATES_IN_A_ROW {
            let message =
                format!("more than {MAX_KEY_UPDATES_IN_A_ROW} key updates without data between");
            return Err(self.fail(ALERT_UNEXPECTED_MESSAGE, message));
        }
        let secrets = self
            .schedule
            .next(false)
            .map_err(|e| self.schedule.fail(None, e))?;
        self.rx = Cipher::new(secrets, 0).map_err(|e| self.schedule.fail(None, e))?;
        if request == 1 {
            self.schedule.update_requested.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    /// A socket error (or a cut stream), kept unless it is only a timeout.
    /// After the connection failed, its error instead.
    fn broke(&mut self, e: io::Error) -> io::Error {
        if let Err(fatal) = self.schedule.check() {
            return fatal;
        }
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => e,
            _ => self.broken.set(e),
        }
    }

    /// Hands out plaintext already opened (early data first); returns how many.
    fn take_plain(&mut self, out: &mut [u8]) -> usize {
        if self.early_pos < self.early.len() {
            let n = out.len().min(self.early.len() - self.early_pos);
            out[..n].copy_from_slice(&self.early[self.early_pos..self.early_pos + n]);
            self.early_pos += n;
            if self.early_pos == self.early.len() {
                self.early = Vec::new();
                self.early_pos = 0;
            }
            return n;
        }
        let n = out.len().min(self.plain.len());
        out[..n].copy_from_slice(&self.buf[self.plain.start..self.plain.start + n]);
        self.plain.start += n;
        n
    }
}

impl<S: Read> Read for TlsReader<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.schedule.check()?;
        self.broken.check()?;
        let mut filled = 0;
        while filled < out.len() {
            let n = self.take_plain(&mut out[filled..]);
            if n > 0 {
                filled += n;
                continue;
            }
            if self.closed {
                break;
            }
            match self.open_next() {
                Ok(true) => continue,
                Ok(false) => {}
                // What came before the bad record is handed out first; the
                // error sticks for the next read.
                Err(_) if filled > 0 => break,
                Err(e) => return Err(e),
            }
            // Never wait on the socket with plaintext in hand.
            if filled > 0 {
                break;
            }
            if out.len() >= DIRECT_READ && self.early_pos == self.early.len() {
                filled = self.read_direct(out)?;
                if filled > 0 || self.closed {
                    break;
                }
                // A record too long for what is left of `out`: it waits in
                // our buffer, read on the ordinary way.
            }
            if self.buf.len() - self.end < HEADER + MAX_BODY {
                // Keep only the partial record, at the front.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                self.plain = 0..0;
            }
            // No more than this read needs (and a record to spare): raw
            // bytes left here would be copied out later, where the next
            // large read could have decrypted them in its own buffer.
            let want = self.buf.len().min(self.end + out.len() + HEADER + MAX_BODY);
            let n = match self.socket.read(&mut self.buf[self.end..want]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.broke(e)),
            };
            if n == 0 {
                return Err(self.cut());
            }
            self.end += n;
        }
        Ok(filled)
    }
}

#[cfg(test)]
mod tests;
