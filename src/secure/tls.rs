//! TLS 1.3 for a transfer connection, in two halves that two threads use at
//! once. rustls makes the handshake (through its unbuffered API) and keeps
//! the secrets (its "kernel connection" API, made for kTLS); the record layer
//! — sealing and opening TLS 1.3 records (RFC 8446 §5) with the negotiated
//! AEAD — is done here with ring, in place. That is one copy of each byte per
//! direction instead of three, no allocation per record, and no lock between
//! the read half and the write half: each owns its key and sequence number.
//! rustls still derives the new secrets when a key is updated.
//!
//! What this layer does beyond encrypting application data: it sends a
//! close_notify when the writer is dropped and reports a stream cut without
//! one as an error; it updates its sending key (KeyUpdate) well before the
//! cipher's confidentiality limit, and when the peer asks; it follows the
//! peer's KeyUpdates; it ignores NewSessionTicket; any other alert or
//! post-handshake message ends the connection. The records on the wire are
//! ordinary TLS 1.3 records. This module knows nothing of Ferry's frames.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::kernel::KernelConnection;
use rustls::pki_types::ServerName;
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{ConnectionState, EncodeError, InsufficientSizeError, UnbufferedStatus};
use rustls::{ClientConfig, ConnectionTrafficSecrets, ServerConfig, SupportedCipherSuite};

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

fn tls_error(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS error: {what}"))
}

/// A connection after its handshake.
pub struct Established {
    /// Plaintext from the peer.
    pub reader: TlsReader,
    /// Plaintext to the peer.
    pub writer: TlsWriter,
    /// The certificate the peer presented (DER).
    pub peer_certificate: Vec<u8>,
}

/// Makes the handshake as client on `stream` and splits the connection.
pub fn connect(
    stream: TcpStream,
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
) -> io::Result<Established> {
    let conn = UnbufferedClientConnection::new(config, name).map_err(tls_error)?;
    establish(conn, stream)
}

/// Makes the handshake as server on `stream` and splits the connection.
pub fn accept(stream: TcpStream, config: Arc<ServerConfig>) -> io::Result<Established> {
    let conn = UnbufferedServerConnection::new(config).map_err(tls_error)?;
    establish(conn, stream)
}

/// The two kinds of unbuffered connection, as the handshake driver needs them.
trait Handshaking:
    std::ops::DerefMut<Target = rustls::unbuffered::UnbufferedConnectionCommon<Self::Data>>
{
    type Data: Send + Sync + 'static;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data>;
    fn into_kernel(
        self,
    ) -> Result<(rustls::ExtractedSecrets, KernelConnection<Self::Data>), rustls::Error>;
}

// rustls gives the client and the server the same methods but no common
// trait for them: one implementation, written once for both.
macro_rules! handshaking {
    ($connection:ty, $data:ty) => {
        impl Handshaking for $connection {
            type Data = $data;
            fn process<'c, 'i>(
                &'c mut self,
                incoming: &'i mut [u8],
            ) -> UnbufferedStatus<'c, 'i, Self::Data> {
                self.process_tls_records(incoming)
            }
            fn into_kernel(
                self,
            ) -> Result<(rustls::ExtractedSecrets, KernelConnection<Self::Data>), rustls::Error>
            {
                self.dangerous_into_kernel_connection()
            }
        }
    };
}

handshaking!(UnbufferedClientConnection, ClientConnectionData);
handshaking!(UnbufferedServerConnection, ServerConnectionData);

/// New traffic secrets after a key update, from rustls.
trait Rekey: Send {
    fn next_tx(&mut self) -> Result<ConnectionTrafficSecrets, rustls::Error>;
    fn next_rx(&mut self) -> Result<ConnectionTrafficSecrets, rustls::Error>;
}

impl<D> Rekey for KernelConnection<D>
where
    KernelConnection<D>: Send,
{
    fn next_tx(&mut self) -> Result<ConnectionTrafficSecrets, rustls::Error> {
        self.update_tx_secret().map(|(_, secrets)| secrets)
    }
    fn next_rx(&mut self) -> Result<ConnectionTrafficSecrets, rustls::Error> {
        self.update_rx_secret().map(|(_, secrets)| secrets)
    }
}

/// What the halves share: rustls' key schedule (locked only to update a key)
/// and the peer's request for a new sending key.
struct KeySchedule {
    rekey: Mutex<Box<dyn Rekey>>,
    update_requested: AtomicBool,
}

impl KeySchedule {
    fn next(&self, tx: bool) -> io::Result<ConnectionTrafficSecrets> {
        let mut rekey = self
            .rekey
            .lock()
            .map_err(|_| io::Error::other("TLS state poisoned by a panicked thread"))?;
        if tx { rekey.next_tx() } else { rekey.next_rx() }.map_err(tls_error)
    }
}

/// One direction's AEAD state.
struct Cipher {
    key: LessSafeKey,
    iv: [u8; 12],
    seq: u64,
    /// Records after which this key must not be used any more.
    limit: u64,
}

impl Cipher {
    fn new(secrets: ConnectionTrafficSecrets, seq: u64, limit: u64) -> io::Result<Cipher> {
        let (algorithm, key, iv) = match &secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&aead::AES_128_GCM, key, iv),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&aead::AES_256_GCM, key, iv),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                (&aead::CHACHA20_POLY1305, key, iv)
            }
            _ => return Err(tls_error("unsupported cipher suite")),
        };
        let key = UnboundKey::new(algorithm, key.as_ref()).map_err(|_| tls_error("bad key"))?;
        let iv: [u8; 12] = iv
            .as_ref()
            .try_into()
            .map_err(|_| tls_error("bad IV length"))?;
        Ok(Cipher {
            key: LessSafeKey::new(key),
            iv,
            seq,
            limit,
        })
    }

    /// The per-record nonce: the IV XOR the sequence number (RFC 8446 §5.3).
    fn nonce(&self) -> Nonce {
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        Nonce::assume_unique_for_key(nonce)
    }
}

/// Drives the handshake to its end, then hands the connection to the halves.
fn establish<C: Handshaking>(mut conn: C, mut stream: TcpStream) -> io::Result<Established>
where
    KernelConnection<C::Data>: Send,
{
    let mut incoming = vec![0u8; 64 * 1024];
    let mut used = 0;
    let mut outgoing = vec![0u8; 16 * 1024];
    let mut out_used = 0;
    // Application data rustls decrypted while finishing the handshake.
    let mut early = Vec::new();
    let mut peer_closed = false;
    loop {
        let UnbufferedStatus { mut discard, state } = conn.process(&mut incoming[..used]);
        let mut read_more = false;
        let mut done = false;
        match state.map_err(tls_error)? {
            ConnectionState::EncodeTlsData(mut data) => loop {
                match data.encode(&mut outgoing[out_used..]) {
                    Ok(n) => {
                        out_used += n;
                        break;
                    }
                    Err(EncodeError::InsufficientSize(InsufficientSizeError { required_size })) => {
                        outgoing.resize(out_used + required_size, 0);
                    }
                    Err(e) => return Err(tls_error(e)),
                }
            },
            ConnectionState::TransmitTlsData(data) => {
                stream.write_all(&outgoing[..out_used])?;
                out_used = 0;
                data.done();
            }
            ConnectionState::BlockedHandshake => read_more = true,
            ConnectionState::ReadTraffic(mut data) => {
                while let Some(record) = data.next_record() {
                    let record = record.map_err(tls_error)?;
                    // rustls' contract: a record's own discard counts too
                    // (0 while rustls buffers records itself).
                    discard += record.discard;
                    early.extend_from_slice(record.payload);
                }
            }
            ConnectionState::WriteTraffic(_) => done = true,
            // A short exchange (a probe's hello) may send its first record
            // and close_notify right behind its Finished: what came before
            // the close is still read, then the stream ends cleanly.
            // (Whether the handshake was complete is checked below.)
            ConnectionState::PeerClosed => {
                peer_closed = true;
                done = true;
            }
            ConnectionState::Closed => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection during the TLS handshake",
                ));
            }
            other => return Err(tls_error(format!("unexpected state {other:?}"))),
        }
        if discard > 0 {
            incoming.copy_within(discard..used, 0);
            used -= discard;
        }
        if done {
            break;
        }
        if read_more {
            if used == incoming.len() {
                // rustls caps handshake messages at 64 KiB; a record more.
                if incoming.len() >= 128 * 1024 {
                    return Err(tls_error("handshake too large"));
                }
                incoming.resize(incoming.len() * 2, 0);
            }
            let n = stream.read(&mut incoming[used..])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection during the TLS handshake",
                ));
            }
            used += n;
        }
    }
    if peer_closed && conn.is_handshaking() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the peer closed the connection during the TLS handshake",
        ));
    }
    let peer_certificate = conn
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|cert| cert.as_ref().to_vec())
        .ok_or_else(|| tls_error("the peer presented no certificate"))?;
    let (secrets, kernel) = conn.into_kernel().map_err(tls_error)?;
    let limit = match kernel.negotiated_cipher_suite() {
        SupportedCipherSuite::Tls13(suite) => suite.common.confidentiality_limit,
        #[allow(unreachable_patterns)]
        _ => return Err(tls_error("not TLS 1.3")),
    };
    let schedule = Arc::new(KeySchedule {
        rekey: Mutex::new(Box::new(kernel)),
        update_requested: AtomicBool::new(false),
    });
    let (tx_seq, tx_secrets) = secrets.tx;
    let (rx_seq, rx_secrets) = secrets.rx;
    // Bytes after the handshake that rustls left alone (a partial record).
    let mut buf = vec![0u8; RAW_READ + HEADER + MAX_BODY];
    buf[..used].copy_from_slice(&incoming[..used]);
    let reader = TlsReader {
        socket: stream.try_clone()?,
        buf,
        start: 0,
        end: used,
        plain: 0..0,
        early,
        early_pos: 0,
        rx: Cipher::new(rx_secrets, rx_seq, limit)?,
        schedule: schedule.clone(),
        closed: peer_closed,
    };
    let writer = TlsWriter {
        socket: stream,
        out: Vec::with_capacity(MAX_SEAL + MAX_SEAL / MAX_PLAIN * (HEADER + 1 + TAG) + 64),
        tx: Cipher::new(tx_secrets, tx_seq, limit)?,
        // Update the sending key at half the limit: far from it, whatever
        // the peer does.
        rekey_at: limit / 2,
        schedule,
        failed: false,
    };
    Ok(Established {
        reader,
        writer,
        peer_certificate,
    })
}

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
