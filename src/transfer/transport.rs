//! The byte pipe under a transfer, split into a read half and a write half so
//! one thread can stream while another listens for the peer's answers (a
//! cancel must be heard mid-file). Plain TCP today; an encrypted transport
//! only has to produce the same [`Link`]. No protocol logic lives here.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

/// How long connecting to a peer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An established connection to a peer, in two halves.
pub struct Link {
    /// Bytes from the peer.
    pub reader: Box<dyn Read + Send>,
    /// Bytes to the peer.
    pub writer: Box<dyn Write + Send>,
    /// The peer's address.
    pub peer: SocketAddr,
    closer: TcpStream,
}

impl Link {
    /// Wraps a plain TCP stream.
    pub fn plain(stream: TcpStream) -> io::Result<Link> {
        // Control frames are small and latency-bound; data frames are large anyway.
        stream.set_nodelay(true)?;
        // A peer that stops reading must not block a writer forever.
        stream.set_write_timeout(Some(crate::protocol::IDLE_TIMEOUT))?;
        let peer = stream.peer_addr()?;
        Ok(Link {
            reader: Box::new(stream.try_clone()?),
            closer: stream.try_clone()?,
            writer: Box::new(stream),
            peer,
        })
    }

    /// Connects to `addr` over plain TCP.
    pub fn connect(addr: SocketAddr) -> io::Result<Link> {
        Link::plain(TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?)
    }

    /// Returns a handle that can tear the connection down from any thread,
    /// which also wakes a reader blocked on it.
    pub fn closer(&self) -> io::Result<Closer> {
        Ok(Closer(self.closer.try_clone()?))
    }

    /// Sets how long a read may wait for the peer before failing.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.closer.set_read_timeout(timeout)
    }
}

/// Closes a connection from outside the threads using it.
pub struct Closer(TcpStream);

impl Closer {
    /// Shuts both directions down; errors mean it was already closed.
    pub fn close(&self) {
        let _ = self.0.shutdown(Shutdown::Both);
    }

    /// Sets how long a read may wait for the peer before failing.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(timeout)
    }

    /// Stops sending (the peer reads EOF) but keeps reading.
    pub fn close_write(&self) {
        let _ = self.0.shutdown(Shutdown::Write);
    }
}
