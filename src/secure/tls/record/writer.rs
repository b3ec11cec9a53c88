//! The write half: seals application data into records in one buffer and
//! sends them in one go; updates its own key before the limit; sends the
//! connection's fatal alert, or close_notify when it is dropped cleanly.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ring::aead::Aad;

use super::{
    CONTENT_ALERT, CONTENT_DATA, CONTENT_HANDSHAKE, HANDSHAKE_KEY_UPDATE, HEADER, MAX_PLAIN,
    Sticky, TAG,
};
use crate::protocol::inplace::{DataBuf, RECORD_HEADER, RECORD_PLAIN, RECORD_TRAILER, SealWrite};
use crate::secure::tls::{Cipher, Fatal, KeySchedule};

/// Most plaintext sealed per write: a data frame with its header and a few
/// small frames before it. It bounds the sealed records held at once.
const MAX_SEAL: usize = 512 * 1024 + 16 * 1024;

/// How long an alert or close_notify may wait for a peer that stopped reading.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(1);

/// The write half.
pub struct TlsWriter {
    pub(super) socket: TcpStream,
    /// Sealed records waiting to be written; never plaintext after a
    /// failed write.
    pub(super) out: Vec<u8>,
    pub(super) tx: Cipher,
    /// Sequence number at which the sending key is updated.
    pub(super) rekey_at: u64,
    pub(super) schedule: Arc<KeySchedule>,
    /// Nothing more may be sent: a write failed, or the connection ended
    /// with a fatal alert (no close_notify then).
    pub(super) failed: bool,
    /// A socket error, returned again on every later write.
    broken: Sticky,
    /// The connection's fatal error was dealt with (alert sent, socket shut).
    fatal_done: bool,
}

impl TlsWriter {
    /// The write half, sending under `tx`. `rustls_limit`: the records
    /// rustls would seal under one key of this suite.
    pub(in crate::secure::tls) fn new(
        socket: TcpStream,
        tx: Cipher,
        rustls_limit: u64,
        schedule: Arc<KeySchedule>,
    ) -> TlsWriter {
        TlsWriter {
            socket,
            out: Vec::with_capacity(MAX_SEAL + MAX_SEAL / MAX_PLAIN * (HEADER + 1 + TAG) + 64),
            // Update the sending key at half the limit: far from it, whatever
            // the peer does.
            rekey_at: rustls_limit.min(tx.limit) / 2,
            tx,
            schedule,
            failed: false,
            broken: Sticky::default(),
            fatal_done: false,
        }
    }

    /// Fails with the connection's error, if it has one (sending the fatal
    /// alert the first time), or with this half's own.
    fn check(&mut self) -> io::Result<()> {
        if let Some(fatal) = self.schedule.fatal.get().cloned() {
            self.end_with(&fatal);
            return Err(fatal.error());
        }
        self.broken.check()
    }

    /// Sends `fatal`'s alert under the current key when the writer is still
    /// usable (RFC 8446 §6.2), then shuts the socket, both ways.
    fn end_with(&mut self, fatal: &Fatal) {
        if self.fatal_done {
            return;
        }
        self.fatal_done = true;
        if let (Some(description), false) = (fatal.alert, self.failed) {
            let _ = self.socket.set_write_timeout(Some(GOODBYE_TIMEOUT));
            self.out.clear();
            let start = self.open_record();
            self.out.extend_from_slice(&[2, description]); // fatal
            if self.seal(start, CONTENT_ALERT).is_ok() {
                let _ = self.socket.write_all(&self.out);
            }
            self.out.clear();
        }
        self.failed = true;
        let _ = self.socket.shutdown(Shutdown::Both);
    }

    /// Updates the sending key when it is due or the peer asked: a
    /// KeyUpdate(update_not_requested) sealed into `out` under the old key,
    /// then the new key.
    fn rekey_if_due(&mut self) -> io::Result<()> {
        if self.tx.seq >= self.rekey_at
            || self.schedule.update_requested.swap(false, Ordering::SeqCst)
        {
            let start = self.open_record();
            self.out
                .extend_from_slice(&[HANDSHAKE_KEY_UPDATE, 0, 0, 1, 0]);
            self.seal(start, CONTENT_HANDSHAKE)?;
            let secrets = self
                .schedule
                .next(true)
                .map_err(|e| self.schedule.fail(None, e))?;
            self.tx = Cipher::new(secrets, 0).map_err(|e| self.schedule.fail(None, e))?;
        }
        Ok(())
    }

    /// Starts a record in `out`; returns where it starts.
    pub(super) fn begin(&mut self) -> io::Result<usize> {
        self.rekey_if_due()?;
        Ok(self.open_record())
    }

    pub(super) fn open_record(&mut self) -> usize {
        let start = self.out.len();
        self.out.extend_from_slice(&[CONTENT_DATA, 3, 3, 0, 0]);
        start
    }

    /// Seals the record begun at `start` whose plaintext is everything after
    /// its header, as `content` (RFC 8446 §5.2). An error is the
    /// connection's: the caller must drop `out`.
    pub(super) fn seal(&mut self, start: usize, content: u8) -> io::Result<()> {
        self.out.push(content);
        let len = self.out.len() - start - HEADER + TAG;
        let len16 = u16::try_from(len).map_err(|_| self.schedule.fail(None, "record too long"))?;
        self.out[start + 3..start + HEADER].copy_from_slice(&len16.to_be_bytes());
        let mut header = [0u8; HEADER];
        header.copy_from_slice(&self.out[start..start + HEADER]);
        if self.tx.seq >= self.tx.limit {
            return Err(self.schedule.fail(None, "sending key used up"));
        }
        let nonce = self.tx.nonce();
        let tag = self
            .tx
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(header), &mut self.out[start + HEADER..])
            .map_err(|_| self.schedule.fail(None, "sealing failed"))?;
        self.tx.seq += 1;
        self.out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    pub(super) fn send(&mut self) -> io::Result<()> {
        let result = self.socket.write_all(&self.out);
        self.out.clear();
        if let Err(e) = result {
            self.failed = true;
            return Err(self.broken.set(e));
        }
        Ok(())
    }

    /// Seals the slices (up to [`MAX_SEAL`] bytes of them) as one stream of
    /// full records in `out`; returns how many bytes.
    fn seal_all(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
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
        Ok(total)
    }
}

// The data buffer's layout is this layer's record geometry.
const _: () =
    assert!(RECORD_PLAIN == MAX_PLAIN && RECORD_HEADER == HEADER && RECORD_TRAILER == 1 + TAG);

impl TlsWriter {
    /// Seals the `plain` bytes laid out as records in `buf` (see
    /// [`DataBuf::records_mut`]) where they lie: headers, content types and
    /// tags go into the gaps. Returns where the last record ends.
    fn seal_records(&mut self, buf: &mut [u8], plain: usize) -> io::Result<usize> {
        let mut at = 0;
        let mut done = 0;
        while done < plain {
            let n = MAX_PLAIN.min(plain - done);
            if self.tx.seq >= self.tx.limit {
                return Err(self.schedule.fail(None, "sending key used up"));
            }
            // n + 17 is at most 2^14 + 17: it fits.
            let [hi, lo] = ((n + 1 + TAG) as u16).to_be_bytes();
            let header = [CONTENT_DATA, 3, 3, hi, lo];
            buf[at..at + HEADER].copy_from_slice(&header);
            let body = at + HEADER;
            buf[body + n] = CONTENT_DATA;
            let nonce = self.tx.nonce();
            let tag = self
                .tx
                .key
                .seal_in_place_separate_tag(nonce, Aad::from(header), &mut buf[body..=body + n])
                .map_err(|_| self.schedule.fail(None, "sealing failed"))?;
            self.tx.seq += 1;
            buf[body + n + 1..body + n + 1 + TAG].copy_from_slice(tag.as_ref());
            at = body + n + 1 + TAG;
            done += n;
        }
        Ok(at)
    }
}

impl SealWrite for TlsWriter {
    /// Seals the frame's records in its own buffer and sends them in one
    /// go, after a key update when one is due.
    fn write_in_place(&mut self, data: &mut DataBuf) -> io::Result<()> {
        self.check()?;
        let (buf, plain) = data.records_mut();
        let sealed = self.rekey_if_due().and_then(|()| {
            if !self.out.is_empty() {
                self.send()?;
            }
            self.seal_records(buf, plain)
        });
        let end = match sealed {
            Ok(end) => end,
            Err(e) => {
                self.out.clear();
                self.failed = true;
                return Err(e);
            }
        };
        if let Err(e) = self.socket.write_all(&buf[..end]) {
            self.failed = true;
            return Err(self.broken.set(e));
        }
        Ok(())
    }
}

impl Write for TlsWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(buf)])
    }

    /// Seals the slices (up to [`MAX_SEAL`] bytes of them) and sends them.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.check()?;
        match self.seal_all(bufs) {
            Ok(total) => {
                self.send()?;
                Ok(total)
            }
            Err(e) => {
                // Plaintext waits in `out` for sealing: none may ever be sent.
                self.out.clear();
                self.failed = true;
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.socket.flush()
    }
}

impl Drop for TlsWriter {
    fn drop(&mut self) {
        if let Some(fatal) = self.schedule.fatal.get().cloned() {
            self.end_with(&fatal);
            return;
        }
        // A clean close lets the peer tell "finished" from "cut off".
        // Never hang here on a peer that stopped reading.
        if self.failed {
            return;
        }
        let _ = self.socket.set_write_timeout(Some(GOODBYE_TIMEOUT));
        self.out.clear();
        let start = self.open_record();
        self.out.extend_from_slice(&[1, 0]); // warning, close_notify
        if self.seal(start, CONTENT_ALERT).is_ok() {
            let _ = self.send();
        }
    }
}
