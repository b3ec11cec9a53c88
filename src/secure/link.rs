//! The connection under a transfer or a hello: TCP, the plain-text greeting
//! (so a version mismatch is always readable), then TLS 1.3 with both devices
//! presenting their certificates. The result is a [`Link`] in two halves, so
//! one thread can stream while another listens for the peer (a cancel must be
//! heard mid-file), plus the peer's proven device id. No protocol flow here.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender, bounded};

use super::tls;
use crate::protocol::SealWrite;
use crate::protocol::frame::{read_greeting, write_greeting};
use crate::protocol::{Timeouts, WireError};
use crate::secure::identity::{Identity, fingerprint_of};

/// How long connecting to a peer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// TCP connect failed.
    #[error("{0}")]
    Connect(io::Error),
    /// The greeting failed (not Ferry, other version, closed).
    #[error(transparent)]
    Greeting(#[from] WireError),
    /// The TLS handshake failed.
    #[error("the secure connection could not be set up: {0}")]
    Tls(String),
    /// Greeting and handshake did not finish within the budget.
    #[error("the other side did not complete the connection setup within {} ms", .0.as_millis())]
    TimedOut(Duration),
}

/// An established, encrypted connection to a peer, in two halves.
pub struct Link {
    /// Plaintext from the peer.
    pub reader: Box<dyn Read + Send>,
    /// Plaintext to the peer.
    pub writer: Box<dyn SealWrite + Send>,
    /// The peer's address.
    pub peer: SocketAddr,
    /// The device id the peer proved in the handshake (its certificate's SHA-256).
    pub peer_id: String,
    closer: TcpStream,
}

fn configure(stream: &TcpStream, timeouts: &Timeouts) -> io::Result<()> {
    // Control frames are small and latency-bound; data frames are large anyway.
    stream.set_nodelay(true)?;
    // Per read; the whole setup is bounded by a [`Watchdog`] as well.
    stream.set_read_timeout(Some(timeouts.handshake))?;
    // A peer that stops reading must not block a writer forever.
    stream.set_write_timeout(Some(timeouts.idle))
}

fn greet(stream: &mut TcpStream) -> Result<(), WireError> {
    write_greeting(stream)?;
    read_greeting(stream)
}

fn split(established: tls::Established, closer: TcpStream, peer: SocketAddr) -> Link {
    Link {
        reader: Box::new(established.reader),
        writer: Box::new(established.writer),
        peer,
        peer_id: fingerprint_of(&established.peer_certificate),
        closer,
    }
}

impl Link {
    /// Connects to `addr` with the protocol's default timers.
    pub fn connect(addr: SocketAddr, identity: &Identity) -> Result<Link, LinkError> {
        Link::connect_with(addr, identity, &Timeouts::default())
    }

    /// Connects to `addr`: TCP, greeting, TLS as client presenting `identity`.
    /// Greeting and handshake together get `timeouts.handshake`, however the
    /// peer spreads its bytes.
    pub fn connect_with(
        addr: SocketAddr,
        identity: &Identity,
        timeouts: &Timeouts,
    ) -> Result<Link, LinkError> {
        let connect_timeout = CONNECT_TIMEOUT.min(timeouts.handshake);
        let mut stream =
            TcpStream::connect_timeout(&addr, connect_timeout).map_err(LinkError::Connect)?;
        configure(&stream, timeouts).map_err(LinkError::Connect)?;
        let watchdog = Watchdog::arm(&stream, timeouts.handshake);
        let result = greet(&mut stream).map_err(LinkError::from).and_then(|()| {
            let name = Identity::server_name().map_err(|e| LinkError::Tls(e.to_string()))?;
            let closer = stream.try_clone().map_err(LinkError::Connect)?;
            let established = tls::connect(stream, identity.client_config(), name)
                .map_err(|e| LinkError::Tls(e.to_string()))?;
            Ok(split(established, closer, addr))
        });
        if watchdog.disarm() {
            return Err(LinkError::TimedOut(timeouts.handshake));
        }
        result
    }

    /// Like [`Link::connect`] with shorter limits, for a probe of a peer added
    /// by address: `connect_timeout` caps the TCP connect (never above
    /// [`CONNECT_TIMEOUT`]) and `handshake_timeout` the greeting and handshake.
    pub fn connect_within(
        addr: SocketAddr,
        identity: &Identity,
        connect_timeout: Duration,
        handshake_timeout: Duration,
    ) -> Result<Link, LinkError> {
        let timeouts = Timeouts {
            handshake: handshake_timeout.max(connect_timeout),
            ..Timeouts::default()
        };
        Link::connect_with(addr, identity, &timeouts)
    }

    /// Serves an accepted TCP stream with the protocol's default timers.
    pub fn accept(stream: TcpStream, identity: &Identity) -> Result<Link, LinkError> {
        Link::accept_with(stream, identity, &Timeouts::default())
    }

    /// Serves an accepted TCP stream: greeting, TLS as server requiring the
    /// client's certificate. The caller bounds the whole setup with a
    /// [`Watchdog`] (it also covers the first message).
    pub fn accept_with(
        mut stream: TcpStream,
        identity: &Identity,
        timeouts: &Timeouts,
    ) -> Result<Link, LinkError> {
        let peer = stream.peer_addr().map_err(LinkError::Connect)?;
        configure(&stream, timeouts).map_err(LinkError::Connect)?;
        greet(&mut stream)?;
        let closer = stream.try_clone().map_err(LinkError::Connect)?;
        let established = tls::accept(stream, identity.server_config())
            .map_err(|e| LinkError::Tls(e.to_string()))?;
        Ok(split(established, closer, peer))
    }

    /// Returns a handle that can tear the connection down from any thread,
    /// which also wakes a reader blocked on it.
    pub fn closer(&self) -> io::Result<Closer> {
        Ok(Closer(self.closer.try_clone()?))
    }
}

/// Shuts a connection down unless it is disarmed in time. Socket timeouts
/// bound each read; this bounds a whole phase (greeting, TLS handshake, first
/// message), so a peer that trickles one byte a second cannot hold a
/// connection and its thread for ever. Costs one short-lived thread.
pub struct Watchdog {
    disarm: Option<Sender<()>>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    /// Starts the clock on `stream`. If no thread can be started the phase
    /// is bounded by the per-read timeouts alone (logged).
    pub fn arm(stream: &TcpStream, budget: Duration) -> Watchdog {
        let fired = Arc::new(AtomicBool::new(false));
        let (tx, rx) = bounded::<()>(0);
        let started = stream.try_clone().and_then(|victim| {
            let fired = fired.clone();
            thread::Builder::new()
                .name("ferry-deadline".into())
                .spawn(move || {
                    if rx.recv_timeout(budget) == Err(RecvTimeoutError::Timeout) {
                        fired.store(true, Ordering::SeqCst);
                        let _ = victim.shutdown(Shutdown::Both);
                    }
                })
        });
        if let Err(e) = started {
            tracing::warn!("cannot start a connection deadline: {e}");
        }
        Watchdog {
            disarm: Some(tx),
            fired,
        }
    }

    /// Stops the clock; true if it had already run out (and the connection
    /// was shut down, so whatever failed after that failed because of it).
    pub fn disarm(mut self) -> bool {
        self.disarm.take();
        self.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread, which then ends quietly.
        self.disarm.take();
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

    /// Sets how long a write may wait for the peer to make room before failing.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_write_timeout(timeout)
    }

    /// A closer for a bare socket (unit tests of what keeps closers).
    #[cfg(test)]
    pub(crate) fn for_test(stream: TcpStream) -> Closer {
        Closer(stream)
    }

    /// Another handle on the same connection (for a registry that may have
    /// to end it while its worker still holds this one).
    pub fn try_clone(&self) -> io::Result<Closer> {
        self.0.try_clone().map(Closer)
    }

    /// Stops sending (the peer reads EOF) but keeps reading.
    pub fn close_write(&self) {
        let _ = self.0.shutdown(Shutdown::Write);
    }
}
