//! The sender's side of trust, between the TLS handshake and the offer: the
//! pairing exchange, the receiver judged against the remembered devices, and
//! — for a device never confirmed, or a remembered name with another key —
//! the person's confirmation that the receiver shows the same code. Until
//! then nothing of the transfer (no name, no text, no byte) leaves; a
//! refusal ends the connection with nothing sent. A child of `send`.

use std::io::{Read, Write};
use std::net::SocketAddr;

use super::{Sending, Stop, describe_wire_error};
use crate::api::{Decision, Device, Event, Outcome, Party, PeerTrust, TrustedDevice, recognise};
use crate::protocol::{CancelReason, Frame, FrameReader, FrameWriter, Message};
use crate::transfer::context::Context;
use crate::transfer::pair::{self, PairError, Paired};
use crate::transfer::worker::{READER_STOPPED, Waiter, Wake, frame_name};

/// Runs the pairing exchange with the receiver at `to`, which proved
/// `peer_id`, and judges it. `announced` is the name discovery showed for
/// that address, if any: a remembered name there with another key is a
/// changed key whatever name the receiver gives itself now.
pub(super) fn pair<R: Read, W: Write>(
    shared: &Context,
    to: SocketAddr,
    peer_id: &str,
    announced: Option<&str>,
    reader: &mut FrameReader<R>,
    writer: &mut FrameWriter<W>,
) -> Result<(Paired, PeerTrust), Outcome> {
    let settings = shared.receive_settings();
    let mut trust = PeerTrust::New;
    let paired = pair::as_sender(reader, writer, &shared.device(), peer_id, |receiver| {
        let aliases: Vec<&str> = std::iter::once(receiver.alias.as_str())
            .chain(announced)
            .collect();
        trust = recognise(&settings.remembered, peer_id, &aliases);
        match trust {
            PeerTrust::Remembered => false,
            PeerTrust::New => !settings.trust_new,
            PeerTrust::KeyChanged { .. } => true,
        }
    })
    .map_err(|e| match e {
        PairError::Wire(e) => Outcome::Failed(describe_wire_error(to, &e)),
        PairError::Declined(reason) => Outcome::Declined(reason),
        other => Outcome::Failed(format!(
            "Nothing was sent to {to}: the pairing failed ({other})."
        )),
    })?;
    Ok((paired, trust))
}

fn remembered(paired: &Paired) -> TrustedDevice {
    TrustedDevice {
        device_id: paired.peer.device_id.clone(),
        alias: paired.peer.alias.clone(),
    }
}

impl Sending<'_> {
    /// Lets the offer go: at once for a remembered receiver (or a new one
    /// under trust on first use, which is then remembered); otherwise after
    /// the person confirmed the code, and never if they refuse.
    pub(super) fn confirm(&mut self, paired: &Paired, trust: &PeerTrust) -> Result<(), Outcome> {
        if !paired.confirming {
            if *trust == PeerTrust::New {
                self.shared.remember(remembered(paired));
            }
            return Ok(());
        }
        self.shared.sink.emit_queued(
            &mut self.backlog,
            Event::ConfirmPeer {
                id: self.id,
                to: self.to,
                device: Device::from(&paired.peer),
                code: paired.display(),
                key_changed: matches!(trust, PeerTrust::KeyChanged { .. }),
                localsend: false,
            },
        );
        let waiter = Waiter::new(&self.pump, self.shared.timeouts.tick());
        let frame = loop {
            match waiter.next(&mut self.pump, self.control) {
                Wake::Decide(Decision::Decline) => {
                    let _ = self.writer.send_now(&Message::Cancel(CancelReason::Error(
                        "the pairing code was not confirmed".into(),
                    )));
                    return Err(Outcome::Failed(format!(
                        "Nothing was sent to {:?} ({}): its pairing code {} was not confirmed.",
                        paired.peer.alias,
                        self.to,
                        paired.display()
                    )));
                }
                Wake::Decide(_) => {
                    self.shared.remember(remembered(paired));
                    return Ok(());
                }
                Wake::Cancel => {
                    let _ = self.writer.send_now(&Message::Cancel(CancelReason::User));
                    return Err(Outcome::Cancelled { by: Party::Local });
                }
                Wake::Peer(frame) => break frame,
                Wake::Tick => {
                    self.on_tick().map_err(Outcome::from)?;
                    // Its person confirmed this very key meanwhile, on
                    // another connection (two sends at once): it is known now.
                    let key = &paired.peer.device_id;
                    let settings = self.shared.receive_settings();
                    if settings.remembered.iter().any(|d| d.device_id == *key) {
                        return Ok(());
                    }
                }
                Wake::Other(_) | Wake::Pause(_) => {}
                Wake::ReaderStopped => return Err(Outcome::Failed(READER_STOPPED.into())),
            }
        };
        Err(match frame {
            Ok(Frame::Message(Message::Cancel(_))) => Outcome::Cancelled { by: Party::Remote },
            Ok(Frame::Message(Message::Decline(reason))) => Outcome::Declined(reason),
            Ok(other) => Stop::Failed(format!(
                "The receiver at {} sent a {} message while the code was being compared.",
                self.to,
                frame_name(&other)
            ))
            .into(),
            Err(e) => Outcome::Failed(describe_wire_error(self.to, &e)),
        })
    }
}
