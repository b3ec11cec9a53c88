//! The pairing exchange on the wire, right after the TLS handshake and before
//! any offer: the sender commits to a fresh value, the receiver answers with
//! its own, the sender reveals, and both compute the same six-digit code
//! (the argument is in [`crate::secure::pairing`]). Each step's message is
//! read under [`MAX_FIRST_FRAME`]: a device that has proven nothing but a
//! self-made key gets no more than that before it has taken part in pairing.
//!
//! This module speaks three messages over a frame reader and writer and
//! checks what they claim against the ids TLS proved; it never decides
//! whether a device is trusted (the sending worker does) and never touches
//! the UI. It is public so tests speaking the wire by hand pair the same way.

use std::io::{Read, Write};

use crate::protocol::limits::{MAX_CONTROL_FRAME, MAX_FIRST_FRAME};
use crate::protocol::{DeviceInfo, Frame, FrameReader, FrameWriter, Message, WireError};
use crate::secure::identity::short_code;
use crate::secure::pairing::{self, Commitment, Nonce};
use crate::transfer::worker::frame_name;

/// What the receiver tells a sender whose revealed value does not open its
/// commitment, and what the receiver reports.
pub const BAD_REVEAL: &str = "the pairing value did not match its commitment";

/// A finished pairing exchange.
#[derive(Debug, Clone)]
pub struct Paired {
    /// The other device as it describes itself in the exchange (its id is
    /// the one TLS proved).
    pub peer: DeviceInfo,
    /// The six-digit code both sides computed.
    pub code: u32,
    /// Receiver side: whether the sender's person is comparing the codes
    /// now. Sender side: what the sender said.
    pub confirming: bool,
}

impl Paired {
    /// The code as both screens show it ("042 917").
    pub fn display(&self) -> String {
        pairing::display(self.code)
    }
}

/// Why a pairing exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// The connection failed or carried something malformed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The peer answered with a refusal instead of taking part.
    #[error("it declined: {0}")]
    Declined(String),
    /// The peer sent another message where a pairing step was due.
    #[error("it sent a {0} message where the pairing exchange was due")]
    Unexpected(&'static str),
    /// The device described in the exchange is not the one TLS proved.
    #[error(
        "identity mismatch: it announced the device id {announced} but proved the key {proved}"
    )]
    IdentityMismatch {
        /// Short form of the announced id.
        announced: String,
        /// Short form of the proven id.
        proved: String,
    },
    /// The sender's revealed value did not open its commitment: it tried to
    /// choose the code.
    #[error("{BAD_REVEAL}")]
    BadReveal,
    /// No randomness is available.
    #[error("no randomness is available for pairing: {0}")]
    Random(getrandom::Error),
}

fn proven(device: &DeviceInfo, proved_id: &str) -> Result<(), PairError> {
    if device.device_id == proved_id {
        Ok(())
    } else {
        Err(PairError::IdentityMismatch {
            announced: short_code(&device.device_id),
            proved: short_code(proved_id),
        })
    }
}

/// Reads one pairing step under the first-frame limit. Each step answers
/// the previous one at once, so nothing else (not even a ping) may come
/// between them: one read per step, each bounded by the socket's timeout,
/// keeps a peer from holding the exchange open.
fn next<R: Read>(reader: &mut FrameReader<R>) -> Result<Message, PairError> {
    reader.set_control_limit(MAX_FIRST_FRAME);
    match reader.read_message()? {
        Message::Decline(reason) => Err(PairError::Declined(reason)),
        message => Ok(message),
    }
}

/// The sender's half. `me` is this device, `own_id` and `peer_id` the ids
/// TLS proved. `confirming` is asked, once the receiver has described itself
/// and before the reveal, whether the person will compare the codes.
/// Afterwards the reader takes full-size control frames again.
pub fn as_sender<R: Read, W: Write>(
    reader: &mut FrameReader<R>,
    writer: &mut FrameWriter<W>,
    me: &DeviceInfo,
    peer_id: &str,
    confirming: impl FnOnce(&DeviceInfo) -> bool,
) -> Result<Paired, PairError> {
    let ours = pairing::fresh_nonce().map_err(PairError::Random)?;
    writer.send_now(&Message::PairCommit {
        device: me.clone(),
        commitment: pairing::commit(&ours),
    })?;
    let (peer, theirs) = match next(reader)? {
        Message::PairNonce { device, nonce } => (device, nonce),
        other => return Err(PairError::Unexpected(frame_name(&Frame::Message(other)))),
    };
    proven(&peer, peer_id)?;
    let confirming = confirming(&peer);
    writer.send_now(&Message::PairReveal {
        nonce: ours,
        confirming,
    })?;
    reader.set_control_limit(MAX_CONTROL_FRAME);
    Ok(Paired {
        code: pairing::code(&me.device_id, peer_id, &ours, &theirs),
        peer,
        confirming,
    })
}

/// The receiver's half, after the connection's first message turned out to
/// be a [`Message::PairCommit`] (`sender`, `commitment`). A reveal that does
/// not open the commitment is answered with a Decline and is an error.
/// Afterwards the reader takes full-size control frames again.
pub fn as_receiver<R: Read, W: Write>(
    reader: &mut FrameReader<R>,
    writer: &mut FrameWriter<W>,
    me: &DeviceInfo,
    (sender, commitment): (DeviceInfo, Commitment),
    peer_id: &str,
) -> Result<Paired, PairError> {
    proven(&sender, peer_id)?;
    let ours: Nonce = pairing::fresh_nonce().map_err(PairError::Random)?;
    writer.send_now(&Message::PairNonce {
        device: me.clone(),
        nonce: ours,
    })?;
    let (theirs, confirming) = match next(reader)? {
        Message::PairReveal { nonce, confirming } => (nonce, confirming),
        other => return Err(PairError::Unexpected(frame_name(&Frame::Message(other)))),
    };
    if !pairing::opens(&commitment, &theirs) {
        let _ = writer.send_now(&Message::Decline(BAD_REVEAL.into()));
        return Err(PairError::BadReveal);
    }
    reader.set_control_limit(MAX_CONTROL_FRAME);
    Ok(Paired {
        code: pairing::code(peer_id, &me.device_id, &theirs, &ours),
        peer: sender,
        confirming,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read, Write};
    use std::sync::mpsc;

    /// One direction of an in-memory connection.
    struct Pipe(mpsc::Receiver<Vec<u8>>, Cursor<Vec<u8>>);
    struct Tx(mpsc::Sender<Vec<u8>>);

    impl Read for Pipe {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            while self.1.position() as usize == self.1.get_ref().len() {
                match self.0.recv() {
                    Ok(bytes) => self.1 = Cursor::new(bytes),
                    Err(_) => return Ok(0),
                }
            }
            self.1.read(buf)
        }
    }

    impl Write for Tx {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.send(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn pipe() -> (FrameWriter<Tx>, FrameReader<Pipe>) {
        let (tx, rx) = mpsc::channel();
        (
            FrameWriter::new(Tx(tx)),
            FrameReader::new(Pipe(rx, Cursor::new(Vec::new()))),
        )
    }

    fn device(id: &str) -> DeviceInfo {
        DeviceInfo {
            device_id: id.into(),
            alias: id.into(),
            os: "linux".into(),
            port: 0,
        }
    }

    #[test]
    fn both_halves_agree_on_the_code_and_on_who_is_who() {
        let (mut to_receiver, mut receiver_reads) = pipe();
        let (mut to_sender, mut sender_reads) = pipe();
        let receiver = std::thread::Builder::new()
            .name("pair-test".into())
            .spawn(move || {
                let Message::PairCommit {
                    device: sender,
                    commitment,
                } = receiver_reads.read_message().expect("commit")
                else {
                    panic!("expected a commitment first")
                };
                as_receiver(
                    &mut receiver_reads,
                    &mut to_sender,
                    &device("rx"),
                    (sender, commitment),
                    "tx",
                )
                .expect("receiver pairs")
            })
            .expect("thread");
        let sent = as_sender(
            &mut sender_reads,
            &mut to_receiver,
            &device("tx"),
            "rx",
            |peer| peer.alias == "rx",
        )
        .expect("sender pairs");
        let received = receiver.join().expect("join");
        assert_eq!(sent.code, received.code);
        assert_eq!(sent.peer.device_id, "rx");
        assert_eq!(received.peer.device_id, "tx");
        assert!(sent.confirming && received.confirming);
    }

    #[test]
    fn a_receiver_describing_another_id_than_it_proved_is_refused() {
        let (mut to_receiver, _receiver_reads) = pipe();
        let (mut to_sender, mut sender_reads) = pipe();
        to_sender
            .send_now(&Message::PairNonce {
                device: device("someone-else"),
                nonce: [1; 32],
            })
            .expect("queue");
        let result = as_sender(
            &mut sender_reads,
            &mut to_receiver,
            &device("tx"),
            "rx",
            |_| false,
        );
        assert!(
            matches!(result, Err(PairError::IdentityMismatch { .. })),
            "{result:?}"
        );
    }
}
