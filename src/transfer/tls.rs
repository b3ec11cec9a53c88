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
    let mut reader = TlsReader {
        conn: shared.clone(),
        socket: stream.try_clone()?,
        raw: vec![0u8; RAW_READ],
        plain: Vec::new(),
        plain_pos: 0,
        eof: false,
    };
    // The handshake may have read past its own end: the peer's first message
    // can already sit inside rustls. Take it now, or the reader would wait on
    // the socket for bytes that already arrived.
    reader.absorb_buffered()?;
    let writer = TlsWriter {
        conn: shared,
        socket: stream,
        sealed: Vec::new(),
    };
    Ok((reader, writer))
}

/// The read half.
pub struct TlsReader {
    conn: Arc<Mutex<Connection>>,
    socket: TcpStream,
    raw: Vec<u8>,
    plain: Vec<u8>,
    plain_pos: usize,
    eof: bool,
}

impl TlsReader {
    /// Moves plaintext rustls already holds into `plain`.
    fn absorb_buffered(&mut self) -> io::Result<()> {
        let mut conn = lock(&self.conn)?;
        let state = conn.process_new_packets().map_err(tls_error)?;
        let pending = state.plaintext_bytes_to_read();
        if pending > 0 {
            let start = self.plain.len();
            self.plain.resize(start + pending, 0);
            conn.reader().read_exact(&mut self.plain[start..])?;
        }
        if state.peer_has_closed() {
            self.eof = true;
        }
        Ok(())
    }

    /// Feeds `n` raw bytes to rustls and moves all plaintext they yield into `plain`.
    fn absorb(&mut self, n: usize) -> io::Result<()> {
        let mut conn = lock(&self.conn)?;
        let mut input = &self.raw[..n];
        loop {
            if !input.is_empty() {
                conn.read_tls(&mut input)?;
            } else if n == 0 {
                // EOF: tell rustls so it can tell a clean close from a cut one.
                conn.read_tls(&mut input)?;
            }
            let state = conn.process_new_packets().map_err(tls_error)?;
            if state.plaintext_bytes_to_read() > 0 {
                let start = self.plain.len();
                self.plain
                    .resize(start + state.plaintext_bytes_to_read(), 0);
                conn.reader().read_exact(&mut self.plain[start..])?;
            }
            if state.peer_has_closed() {
                self.eof = true;
            }
            if input.is_empty() {
                return Ok(());
            }
        }
    }
}

impl Read for TlsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.plain_pos < self.plain.len() {
                let n = buf.len().min(self.plain.len() - self.plain_pos);
                buf[..n].copy_from_slice(&self.plain[self.plain_pos..self.plain_pos + n]);
                self.plain_pos += n;
                if self.plain_pos == self.plain.len() {
                    self.plain.clear();
                    self.plain_pos = 0;
                }
                return Ok(n);
            }
            if self.eof {
                return Ok(0);
            }
            // Block on the socket without holding the lock.
            let n = match self.socket.read(&mut self.raw) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.absorb(n)?;
            if n == 0 && !self.eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection cut without a TLS close",
                ));
            }
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
        let n = lock(&self.conn)?.writer().write(buf)?;
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
