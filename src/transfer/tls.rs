//! A TLS 1.3 connection split into a read half and a write half that two
//! threads can use at once. rustls keeps one state machine per connection, so
//! both halves share it behind a mutex — but neither half ever holds the lock
//! while blocked on the socket: the reader decrypts bytes it already read, the
//! writer encrypts into its own buffer and writes after unlocking. That keeps
//! a sender's streaming and its listening for a cancel from blocking each
//! other. This module knows nothing of Ferry's frames.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::Connection;

/// Raw bytes read from the socket per system call.
const RAW_READ: usize = 256 * 1024;

/// Most plaintext sealed per write: a data frame with its header and a few
/// small frames before it. It bounds the sealed records held at once (a
/// 10,000-file offer is megabytes, and is sent in pieces).
const MAX_SEAL: usize = 512 * 1024 + 16 * 1024;

fn lock(conn: &Mutex<Connection>) -> io::Result<MutexGuard<'_, Connection>> {
    conn.lock()
        .map_err(|_| io::Error::other("TLS state poisoned by a panicked thread"))
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS error: {e}"))
}

/// Splits an established (handshake finished) connection into two halves.
pub fn split(conn: Connection, stream: TcpStream) -> io::Result<(TlsReader, TlsWriter)> {
    let mut conn = conn;
    // Encrypt whole frames at once instead of in 64 KiB pieces.
    conn.set_buffer_limit(None);
    let shared = Arc::new(Mutex::new(conn));
    // The handshake may have read past its own end: the peer's first message
    // can already sit inside rustls. The reader drains rustls before it
    // waits on the socket, so those bytes are not lost.
    let reader = TlsReader {
        conn: shared.clone(),
        socket: stream.try_clone()?,
        raw: vec![0u8; RAW_READ],
        raw_pos: 0,
        raw_len: 0,
        socket_eof: false,
        eof_told: false,
    };
    let writer = TlsWriter {
        conn: shared,
        socket: stream,
        sealed: Vec::new(),
    };
    Ok((reader, writer))
}

/// The read half. Plaintext goes from rustls straight into the caller's
/// buffer: no copy in between.
pub struct TlsReader {
    conn: Arc<Mutex<Connection>>,
    socket: TcpStream,
    /// Raw bytes from the socket; `raw[raw_pos..raw_len]` not yet given to rustls.
    raw: Vec<u8>,
    raw_pos: usize,
    raw_len: usize,
    /// The socket reached EOF.
    socket_eof: bool,
    /// rustls has been told about that EOF.
    eof_told: bool,
}

impl TlsReader {
    /// Under the lock: moves decrypted plaintext into `buf`, feeding rustls
    /// the raw bytes already read while `buf` has room. Returns the bytes
    /// moved, `Ok(0)` only at a clean close, or `None` when the socket must
    /// be read first.
    fn drain(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut conn = lock(&self.conn)?;
        let mut filled = 0;
        loop {
            match conn.reader().read(&mut buf[filled..]) {
                Ok(0) if filled == 0 => return Ok(Some(0)),
                Ok(0) => return Ok(Some(filled)),
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(Some(filled));
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) if filled > 0 => return Ok(Some(filled)),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection cut without a TLS close",
                    ));
                }
                Err(e) => return Err(e),
            }
            if self.raw_pos < self.raw_len {
                let mut input = &self.raw[self.raw_pos..self.raw_len];
                let fed = conn.read_tls(&mut input)?;
                if fed == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "TLS error: input after the end of the stream",
                    ));
                }
                self.raw_pos += fed;
            } else if self.socket_eof && !self.eof_told {
                // Tell rustls, so it can tell a clean close from a cut one.
                conn.read_tls(&mut &[][..])?;
                self.eof_told = true;
            } else {
                return Ok((filled > 0).then_some(filled));
            }
            conn.process_new_packets().map_err(tls_error)?;
        }
    }
}

impl Read for TlsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(n) = self.drain(buf)? {
                return Ok(n);
            }
            // Block on the socket without holding the lock.
            let n = match self.socket.read(&mut self.raw) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.raw_pos = 0;
            self.raw_len = n;
            self.socket_eof = n == 0;
        }
    }
}

/// The write half.
pub struct TlsWriter {
    conn: Arc<Mutex<Connection>>,
    socket: TcpStream,
    sealed: Vec<u8>,
}

impl TlsWriter {
    fn flush_sealed(&mut self) -> io::Result<()> {
        {
            let mut conn = lock(&self.conn)?;
            while conn.wants_write() {
                conn.write_tls(&mut self.sealed)?;
            }
        }
        // Outside the lock: this may block until the peer reads.
        self.socket.write_all(&self.sealed)?;
        self.sealed.clear();
        Ok(())
    }
}

impl Write for TlsWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let buf = &buf[..buf.len().min(MAX_SEAL)];
        let n = lock(&self.conn)?.writer().write(buf)?;
        self.flush_sealed()?;
        Ok(n)
    }

    /// Encrypts the slices (up to [`MAX_SEAL`] bytes of them) as one stream
    /// of records and sends them in one go.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut total = 0;
        let mut take = Vec::with_capacity(bufs.len());
        for buf in bufs {
            let n = buf.len().min(MAX_SEAL - total);
            if n > 0 {
                take.push(io::IoSlice::new(&buf[..n]));
            }
            total += n;
        }
        let n = lock(&self.conn)?.writer().write_vectored(&take)?;
        self.flush_sealed()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_sealed()?;
        self.socket.flush()
    }
}

impl Drop for TlsWriter {
    fn drop(&mut self) {
        // A clean close lets the peer tell "finished" from "cut off".
        // Never hang here on a peer that stopped reading.
        let _ = self
            .socket
            .set_write_timeout(Some(std::time::Duration::from_secs(1)));
        if let Ok(mut conn) = self.conn.lock() {
            conn.send_close_notify();
        }
        let _ = self.flush_sealed();
    }
}
