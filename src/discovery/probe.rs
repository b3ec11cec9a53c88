//! The hello probe: connect to a device's TCP port, exchange greetings, send
//! our `Hello` and read theirs. It is how peers added by address are listed
//! and kept alive, and how `ferry doctor` checks both directions (the answer
//! says which beacons the other device heard). One short-lived connection per
//! probe, with short timeouts; it never sends an offer or file data.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::protocol::frame::{read_greeting, write_greeting};
use crate::protocol::{FrameReader, FrameWriter, Hello, Message, WireError};
use crate::transfer::outgoing::describe_connect_error;
use crate::transfer::transport::Link;

/// How long connecting may take.
pub const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

/// How long the other side may take to answer once connected.
pub const PROBE_ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The TCP connection could not be made.
    #[error("{}", describe_connect_error(*.addr, .source))]
    Connect {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// Connected, but the exchange failed.
    #[error("{addr} answered, but not with a Ferry hello: {source}")]
    Wire {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: WireError,
    },
    /// The answer was some other message.
    #[error("{0} answered a hello with something else")]
    Unexpected(SocketAddr),
}

impl ProbeError {
    /// True when nothing answered at TCP level (as opposed to a wrong answer).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ProbeError::Connect { .. })
    }
}

/// Probes `addr` with our hello and returns the other device's hello.
pub fn hello(addr: SocketAddr, ours: &Hello) -> Result<Hello, ProbeError> {
    let stream = TcpStream::connect_timeout(&addr, PROBE_CONNECT_TIMEOUT)
        .map_err(|source| ProbeError::Connect { addr, source })?;
    let wire = |source: WireError| ProbeError::Wire { addr, source };
    let mut link = Link::plain(stream).map_err(|e| wire(e.into()))?;
    link.set_read_timeout(Some(PROBE_ANSWER_TIMEOUT))
        .map_err(|e| wire(e.into()))?;
    write_greeting(&mut link.writer).map_err(|e| wire(e.into()))?;
    read_greeting(&mut link.reader).map_err(wire)?;
    let closer = link.closer().map_err(|e| wire(e.into()))?;
    FrameWriter::new(link.writer)
        .send_now(&Message::Hello(ours.clone()))
        .map_err(wire)?;
    let answer = FrameReader::new(link.reader).read_message().map_err(wire);
    closer.close();
    match answer? {
        Message::Hello(theirs) => Ok(theirs),
        _ => Err(ProbeError::Unexpected(addr)),
    }
}
