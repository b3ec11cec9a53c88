//! The record layer: the read half and the write half of an established
//! connection, each sealing or opening TLS 1.3 records (RFC 8446 §5) in place
//! with its own key and sequence number, so the two run on two threads with
//! no lock between them (the shared key schedule is locked only to update a
//! key). It owns close_notify on drop, key updates (ours before the limit,
//! and the peer's), and refusing anything else after the handshake. It must
//! not drive the handshake (`handshake` does) nor know Ferry's frames.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ring::aead::Aad;

use super::{Cipher, KeySchedule, tls_error};

/// Raw bytes read from the socket per system call (at most).
const RAW_READ: usize = 256 * 1024;

/// Largest plaintext in one record (RFC 8446 §5.1).
const MAX_PLAIN: usize = 16 * 1024;

/// Largest record body (encrypted inner plaintext) a peer may send (§5.2).
const MAX_BODY: usize = MAX_PLAIN + 256;

/// Record header: type, legacy version, length.
const HEADER: usize = 5;

/// AEAD tag length of every TLS 1.3 cipher suite.
const TAG: usize = 16;

/// Most plaintext sealed per write: a data frame with its header and a few
/// small frames before it. It bounds the sealed records held at once.
const MAX_SEAL: usize = 512 * 1024 + 16 * 1024;

const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_DATA: u8 = 23;
const HANDSHAKE_NEW_SESSION_TICKET: u8 = 4;
const HANDSHAKE_KEY_UPDATE: u8 = 24;

/// The read half.
pub struct TlsReader {
    socket: TcpStream,
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
}

impl TlsReader {
    /// The read half. `pending`: raw bytes read past the handshake's end (a
    /// partial record rustls left alone); `early`: plaintext rustls opened
    /// while finishing the handshake; `closed`: the peer already sent
    /// close_notify.
    pub(super) fn new(
        socket: TcpStream,
        pending: &[u8],
        early: Vec<u8>,
        rx: Cipher,
        schedule: Arc<KeySchedule>,
        closed: bool,
    ) -> TlsReader {
        let mut buf = vec![0u8; RAW_READ + HEADER + MAX_BODY];
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
        }
    }

    /// Opens the next whole record in the buffer, if there is one. Returns
    /// false when more bytes must be read first.
    fn open_next(&mut self) -> io::Result<bool> {
        let available = self.end - self.start;
        if available < HEADER {
            return Ok(false);
        }
        let mut header = [0u8; HEADER];
        header.copy_from_slice(&self.buf[self.start..self.start + HEADER]);
        let len = u16::from_be_bytes([header[3], header[4]]) as usize;
        if header[0] != CONTENT_DATA || header[1] != 3 || !(TAG + 1..=MAX_BODY).contains(&len) {
            return Err(tls_error(format!(
                "malformed record (type {}, length {len})",
                header[0]
            )));
        }
        if available < HEADER + len {
            return Ok(false);
        }
        if self.rx.seq >= self.rx.limit {
            return Err(tls_error("the peer did not update its key in time"));
        }
        let body = self.start + HEADER;
        let nonce = self.rx.nonce();
        let opened = self
            .rx
            .key
            .open_in_place(nonce, Aad::from(header), &mut self.buf[body..body + len])
            .map_err(|_| tls_error("a record failed authentication"))?
            .len();
        self.rx.seq += 1;
        self.start += HEADER + len;
        // The content type is the last non-zero byte; zeros after it are padding.
        let Some(last) = self.buf[body..body + opened].iter().rposition(|&b| b != 0) else {
            return Err(tls_error("a record without a content type"));
        };
        let content = body..body + last;
        match self.buf[body + last] {
            CONTENT_DATA => self.plain = content,
            CONTENT_ALERT => self.alert(content)?,
            CONTENT_HANDSHAKE => self.handshake(content)?,
            other => return Err(tls_error(format!("unexpected content type {other}"))),
        }
        Ok(true)
    }

    fn alert(&mut self, content: std::ops::Range<usize>) -> io::Result<()> {
        match self.buf[content] {
            [_, 0] => {
                self.closed = true;
                Ok(())
            }
            // user_canceled: a close_notify follows.
            [_, 90] => Ok(()),
            [_, description] => Err(tls_error(format!("the peer sent alert {description}"))),
            _ => Err(tls_error("a malformed alert")),
        }
    }

    /// Post-handshake messages; each must sit whole in one record.
    fn handshake(&mut self, content: std::ops::Range<usize>) -> io::Result<()> {
        let mut at = content.start;
        while at < content.end {
            let message = &self.buf[at..content.end];
            if message.len() < 4 {
                return Err(tls_error("a split handshake message"));
            }
            let len = u32::from_be_bytes([0, message[1], message[2], message[3]]) as usize;
            if message.len() < 4 + len {
                return Err(tls_error("a split handshake message"));
            }
            match (message[0], &message[4..4 + len]) {
                (HANDSHAKE_NEW_SESSION_TICKET, _) => {}
                (HANDSHAKE_KEY_UPDATE, &[request]) if request <= 1 => {
                    // A key change ends the record (§5.1).
                    if at + 4 + len != content.end {
                        return Err(tls_error("data after a key update in one record"));
                    }
                    let secrets = self.schedule.next(false)?;
                    self.rx = Cipher::new(secrets, 0, self.rx.limit)?;
                    if request == 1 {
                        self.schedule.update_requested.store(true, Ordering::SeqCst);
                    }
                }
                (kind, _) => {
                    return Err(tls_error(format!("unexpected handshake message {kind}")));
                }
            }
            at += 4 + len;
        }
        Ok(())
    }
}

impl Read for TlsReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < out.len() {
            if self.early_pos < self.early.len() {
                let n = (out.len() - filled).min(self.early.len() - self.early_pos);
                out[filled..filled + n]
                    .copy_from_slice(&self.early[self.early_pos..self.early_pos + n]);
                self.early_pos += n;
                filled += n;
                if self.early_pos == self.early.len() {
                    self.early = Vec::new();
                    self.early_pos = 0;
                }
                continue;
            }
            if !self.plain.is_empty() {
                let n = (out.len() - filled).min(self.plain.len());
                out[filled..filled + n]
                    .copy_from_slice(&self.buf[self.plain.start..self.plain.start + n]);
                self.plain.start += n;
                filled += n;
                continue;
            }
            if self.closed || self.open_next()? {
                if self.closed {
                    break;
                }
                continue;
            }
            // Never wait on the socket with plaintext in hand.
            if filled > 0 {
                break;
            }
            if self.buf.len() - self.end < HEADER + MAX_BODY {
                // Keep only the partial record, at the front.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                self.plain = 0..0;
            }
            let n = match self.socket.read(&mut self.buf[self.end..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection cut without a TLS close",
                ));
            }
            self.end += n;
        }
        Ok(filled)
    }
}

/// The write half.
pub struct TlsWriter {
    socket: TcpStream,
    /// Sealed records waiting to be written.
    out: Vec<u8>,
    tx: Cipher,
    /// Sequence number at which the sending key is updated.
    rekey_at: u64,
    schedule: Arc<KeySchedule>,
    /// A write failed: no close_notify then.
    failed: bool,
}

impl TlsWriter {
    /// The write half, sending under `tx`.
    pub(super) fn new(socket: TcpStream, tx: Cipher, schedule: Arc<KeySchedule>) -> TlsWriter {
        TlsWriter {
            socket,
            out: Vec::with_capacity(MAX_SEAL + MAX_SEAL / MAX_PLAIN * (HEADER + 1 + TAG) + 64),
            // Update the sending key at half the limit: far from it, whatever
            // the peer does.
            rekey_at: tx.limit / 2,
            tx,
            schedule,
            failed: false,
        }
    }

    /// Starts a record in `out`; returns where it starts.
    fn begin(&mut self) -> io::Result<usize> {
        if self.tx.seq >= self.rekey_at
            || self.schedule.update_requested.swap(false, Ordering::SeqCst)
        {
            // KeyUpdate(update_not_requested) under the old key, then the new key.
            let start = self.open_record();
            self.out
                .extend_from_slice(&[HANDSHAKE_KEY_UPDATE, 0, 0, 1, 0]);
            self.seal(start, CONTENT_HANDSHAKE)?;
            let secrets = self.schedule.next(true)?;
            self.tx = Cipher::new(secrets, 0, self.tx.limit)?;
        }
        Ok(self.open_record())
    }

    fn open_record(&mut self) -> usize {
        let start = self.out.len();
        self.out.extend_from_slice(&[CONTENT_DATA, 3, 3, 0, 0]);
        start
    }

    /// Seals the record begun at `start` whose plaintext is everything after
    /// its header, as `content` (RFC 8446 §5.2).
    fn seal(&mut self, start: usize, content: u8) -> io::Result<()> {
        self.out.push(content);
        let len = self.out.len() - start - HEADER + TAG;
        let len16 = u16::try_from(len).map_err(|_| tls_error("record too long"))?;
        self.out[start + 3..start + HEADER].copy_from_slice(&len16.to_be_bytes());
        let mut header = [0u8; HEADER];
        header.copy_from_slice(&self.out[start..start + HEADER]);
        if self.tx.seq >= self.tx.limit {
            return Err(tls_error("sending key used up"));
        }
        let nonce = self.tx.nonce();
        let tag = self
            .tx
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(header), &mut self.out[start + HEADER..])
            .map_err(|_| tls_error("sealing failed"))?;
        self.tx.seq += 1;
        self.out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    fn send(&mut self) -> io::Result<()> {
        let result = self.socket.write_all(&self.out);
        self.out.clear();
        if result.is_err() {
            self.failed = true;
        }
        result
    }
}

impl Write for TlsWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(buf)])
    }

    /// Seals the slices (up to [`MAX_SEAL`] bytes of them) as one stream of
    /// full records and sends them in one go.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut total = 0;
        let mut record: Option<(usize, usize)> = None; // (start, plaintext so far)
        for buf in bufs {
            let mut buf: &[u8] = buf;
            while !buf.is_empty() && total < MAX_SEAL {
                let (start, so_far) = match record {
                    Some(open) => open,
                    None => (self.begin()?, 0),
                };
                let n = buf.len().min(MAX_PLAIN - so_far).min(MAX_SEAL - total);
                self.out.extend_from_slice(&buf[..n]);
                buf = &buf[n..];
                total += n;
                if so_far + n == MAX_PLAIN {
                    self.seal(start, CONTENT_DATA)?;
                    record = None;
                } else {
                    record = Some((start, so_far + n));
                }
            }
        }
        if let Some((start, _)) = record {
            self.seal(start, CONTENT_DATA)?;
        }
        self.send()?;
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}

impl Drop for TlsWriter {
    fn drop(&mut self) {
        // A clean close lets the peer tell "finished" from "cut off".
        // Never hang here on a peer that stopped reading.
        if self.failed {
            return;
        }
        let _ = self
            .socket
            .set_write_timeout(Some(std::time::Duration::from_secs(1)));
        self.out.clear();
        let start = self.open_record();
        self.out.extend_from_slice(&[1, 0]); // warning, close_notify
        if self.seal(start, CONTENT_ALERT).is_ok() {
            let _ = self.send();
        }
    }
}

#[cfg(test)]
mod tests;
