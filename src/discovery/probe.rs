//! The hello probe: connect to a device's TCP port, exchange greetings, run
//! the TLS handshake, send our `Hello` and read theirs. It is how peers added
//! by address are listed and kept alive, and how `ferry doctor` checks both
//! directions (the answer says which beacons the other device heard). One
//! short-lived connection per probe, with short timeouts; it never sends an
//! offer or file data.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::protocol::{FrameReader, FrameWriter, Hello, Message, WireError};
use crate::secure::identity::{Identity, short_code};
use crate::secure::link::{Link, LinkError};
use crate::transfer::send::describe_connect_error;

/// How long connecting may take.
pub const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

/// How long each step of the answer (greeting, handshake, hello) may take.
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
    /// Connected, but the greeting or the secure handshake failed.
    #[error("{addr} answered, but the connection could not be set up: {source}")]
    Setup {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: LinkError,
    },
    /// Connected, but the hello exchange failed.
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
    /// The device's hello names another device id than the key it proved.
    #[error(
        "identity mismatch at {addr}: it announced the device id {} but proved the key {}",
        short_code(.announced),
        short_code(.proved)
    )]
    Identity {
        /// Where.
        addr: SocketAddr,
        /// The id in its hello.
        announced: String,
        /// The id of its certificate.
        proved: String,
    },
}

impl ProbeError {
    /// True when nothing answered at TCP level (as opposed to a wrong answer).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ProbeError::Connect { .. })
    }
}

/// Probes `addr` as `identity` with our hello and returns the other device's
/// hello, whose device id it proved in the handshake.
pub fn hello(addr: SocketAddr, identity: &Identity, ours: &Hello) -> Result<Hello, ProbeError> {
    let link = Link::connect_within(addr, identity, PROBE_CONNECT_TIMEOUT, PROBE_ANSWER_TIMEOUT)
        .map_err(|e| match e {
            LinkError::Connect(source) => ProbeError::Connect { addr, source },
            other => ProbeError::Setup {
                addr,
                source: other,
            },
        })?;
    let wire = |source: WireError| ProbeError::Wire { addr, source };
    let proved = link.peer_id.clone();
    let closer = link.closer().map_err(|e| wire(e.into()))?;
    closer
        .set_read_timeout(Some(PROBE_ANSWER_TIMEOUT))
        .map_err(|e| wire(e.into()))?;
    FrameWriter::new(link.writer)
        .send_now(&Message::Hello(ours.clone()))
        .map_err(wire)?;
    let mut reader = FrameReader::new(link.reader);
    // The first message of a connection: a hello is small.
    reader.set_control_limit(crate::protocol::limits::MAX_FIRST_FRAME);
    let answer = reader.read_message().map_err(wire);
    closer.close();
    match answer? {
        Message::Hello(theirs) if theirs.device.device_id != proved => Err(ProbeError::Identity {
            addr,
            announced: theirs.device.device_id,
            proved,
        }),
        Message::Hello(theirs) => Ok(theirs),
        _ => Err(ProbeError::Unexpected(addr)),
    }
}
