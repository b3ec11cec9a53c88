//! A transfer connection from its pairing commitment to its offer: the
//! pairing exchange ([`crate::transfer::pair`]), the code shown at once when
//! the sender's person is comparing it, and the wait for the offer (which
//! comes only once that person confirmed), with both sides pinging. Then the
//! offer's identity and PIN checks and the hand-over to the receiving worker.
//! It writes nothing to disk and decides nothing about the offer itself.

use std::io::Read;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::accept::{PromptSlot, claim_prompt};
use super::offer::{identity_mismatch, pin_ok};
use super::receive;
use crate::api::{Device, Direction, Event, Outcome, Party, TransferId};
use crate::protocol::{DeviceInfo, Frame, FrameReader, Message, Offer};
use crate::secure::link::Closer;
use crate::secure::pairing::Commitment;
use crate::transfer::context::Context;
use crate::transfer::pair::{self, PairError, Paired};
use crate::transfer::pump::{self, Pump};
use crate::transfer::running::Entered;
use crate::transfer::worker::{Keepalive, Waiter, Wake, Writer, frame_name};

/// Serves a connection whose first message was a pairing commitment.
pub(super) fn serve(
    shared: &Context,
    peer: SocketAddr,
    peer_id: &str,
    commit: (DeviceInfo, Commitment),
    mut reader: FrameReader<Box<dyn Read + Send>>,
    mut writer: Writer,
    closer: &Closer,
) {
    let paired =
        match pair::as_receiver(&mut reader, &mut writer, &shared.device(), commit, peer_id) {
            Ok(paired) => paired,
            Err(PairError::Wire(e)) if e.is_disconnect() => return,
            Err(e) => {
                if !matches!(e, PairError::BadReveal | PairError::Declined(_)) {
                    // The sender is told why (a bad reveal was told already).
                    let _ = writer.send_now(&Message::Decline(e.to_string()));
                }
                return shared.sink.emit(Event::Problem(format!(
                    "Refused a connection from {peer}: {e}."
                )));
            }
        };
    let _ = closer.set_read_timeout(Some(shared.timeouts.idle));
    let pump = match pump::start(reader, format!("ferry-pair-rx-{}", peer.port())) {
        Ok(pump) => pump,
        Err(e) => return tracing::warn!("cannot start a thread: {e}"),
    };
    let id = TransferId::fresh();
    let control = shared.register(id);
    let mut waiting = Waiting {
        shared,
        id,
        peer,
        paired: &paired,
        pump,
        writer,
        keepalive: Keepalive::new(shared.timeouts.ping),
        shown: false,
        slot: None,
    };
    let offered = waiting.offer(&control);
    let shown = waiting.shown;
    // The window's row: this session's, or that of the session it continues.
    let mut row = id;
    let mut entered = None;
    let outcome = match offered {
        Err(outcome) => outcome,
        Ok(offer) if offer.sender.device_id != peer_id => {
            let problem =
                identity_mismatch(peer, &offer.sender.alias, &offer.sender.device_id, peer_id);
            let _ = waiting
                .writer
                .send_now(&Message::Decline("identity mismatch".into()));
            shared.sink.emit(Event::Problem(problem));
            None
        }
        Ok(offer) if !pin_ok(shared, peer, &offer, &mut waiting.writer) => None,
        Ok(offer) => {
            // The code card gives way to the offer, which takes a prompt
            // slot of its own if a person is asked.
            let Waiting {
                pump, writer, slot, ..
            } = waiting;
            drop(slot);
            let code = paired.display();
            let session = enter(shared, &offer, id, closer);
            if let Some(old) = session.as_ref().and_then(|s| s.superseded_id) {
                shared.adopt(old, id);
                row = old;
            }
            entered = session.map(|s| (s, offer.sender.device_id.clone(), offer.transfer_id));
            catch_unwind(AssertUnwindSafe(|| {
                receive(
                    shared, row, peer, offer, pump, writer, &control, closer, code,
                )
            }))
            .unwrap_or_else(|_| {
                Some(Outcome::Failed(
                    "Internal error in the receiving worker.".into(),
                ))
            })
        }
    };
    shared.unregister(id);
    if row != id {
        shared.unregister(row);
    }
    // Superseded by the same offer sent again, which continues the row: that
    // session reports the end.
    if entered.as_ref().is_some_and(|(session, device, wire_id)| {
        session.hand_over(shared.interrupted.holds(device, *wire_id))
    }) {
        return;
    }
    // A shown code is a card on the screen: its end must reach the window
    // even when the offer never came (the sender's person refused the code)
    // or was refused before anyone saw it (a Problem says why).
    let outcome = outcome.or_else(|| {
        shown.then(|| Outcome::Failed("The offer was refused before it was shown.".into()))
    });
    if let Some(outcome) = outcome {
        shared.sink.emit(Event::Finished {
            id: row,
            direction: Direction::Incoming,
            outcome,
        });
    }
}

/// Enters the session in the registry of running ones; a session of the
/// same offer from the same key still running there is ended first, and
/// continued by this one only if it handed its row over (its answer was
/// remembered: it had been accepted).
fn enter(shared: &Context, offer: &Offer, id: TransferId, closer: &Closer) -> Option<Entered> {
    let handle = closer.try_clone().ok()?;
    let device = &offer.sender.device_id;
    Some(shared.running.enter(device, offer.transfer_id, id, handle))
}

struct Waiting<'a> {
    shared: &'a Context,
    id: TransferId,
    peer: SocketAddr,
    paired: &'a Paired,
    pump: Pump,
    writer: Writer,
    keepalive: Keepalive,
    /// The code is on the screen ([`Event::PairingCode`]).
    shown: bool,
    /// Its place among the prompts while the code is shown.
    slot: Option<PromptSlot>,
}

impl Waiting<'_> {
    /// Shows the code when the sender's person compares it, then waits for
    /// the offer. `Err(Some(outcome))` ends a connection whose code was
    /// shown; `Err(None)` one nobody saw, quietly.
    fn offer(
        &mut self,
        control: &crossbeam_channel::Receiver<crate::transfer::context::Control>,
    ) -> Result<Offer, Option<Outcome>> {
        if self.paired.confirming {
            self.show()?;
        }
        let waiter = Waiter::new(&self.pump, self.shared.timeouts.tick());
        let since = Instant::now();
        loop {
            let frame = match waiter.next(&mut self.pump, control) {
                Wake::Peer(frame) => frame,
                Wake::Cancel => {
                    let _ = self
                        .writer
                        .send_now(&Message::Cancel(crate::protocol::CancelReason::User));
                    return self.end(Outcome::Cancelled { by: Party::Local });
                }
                Wake::Tick => {
                    let stopping = self.shared.stopping.load(Ordering::SeqCst);
                    if stopping || since.elapsed() >= self.shared.timeouts.prompt {
                        return self.end(Outcome::Failed(format!(
                            "{} did not send its offer in time.",
                            self.sender()
                        )));
                    }
                    if self.keepalive.ping_if_idle(&mut self.writer).is_err() {
                        return self.end(self.lost());
                    }
                    continue;
                }
                Wake::Decide(_) | Wake::Pause(_) | Wake::Other(_) => continue,
                Wake::ReaderStopped => return self.end(self.lost()),
            };
            return match frame {
                Ok(Frame::Message(Message::Offer(offer))) => Ok(offer),
                Ok(Frame::Message(Message::Cancel(_))) => {
                    self.end(Outcome::Cancelled { by: Party::Remote })
                }
                Ok(other) => {
                    let name = frame_name(&other);
                    let _ = self.writer.send_now(&Message::Decline(format!(
                        "expected an offer after pairing, not a {name} message"
                    )));
                    self.end(Outcome::Failed(format!(
                        "{} sent a {name} message instead of its offer.",
                        self.sender()
                    )))
                }
                Err(e) if e.is_disconnect() => self.end(self.lost()),
                Err(e) => {
                    // A hostile or broken offer (too large, malformed) ends
                    // here, with the reason for both sides.
                    let _ = self.writer.send_now(&Message::Decline(e.to_string()));
                    let problem = format!("Refused a connection from {}: {e}.", self.sender());
                    self.shared.sink.emit(Event::Problem(problem.clone()));
                    self.end(Outcome::Failed(problem))
                }
            };
        }
    }

    /// Puts the code on the screen, if there is room for one more prompt.
    fn show(&mut self) -> Result<(), Option<Outcome>> {
        match claim_prompt(&self.shared.prompts, self.peer.ip()) {
            Ok(slot) => self.slot = Some(slot),
            Err(why) => {
                let _ = self
                    .writer
                    .send_now(&Message::Decline(format!("busy: {why}")));
                self.shared.sink.emit(Event::Problem(format!(
                    "Refused a connection from {}: {why}.",
                    self.sender()
                )));
                return self.end(Outcome::Failed(why));
            }
        }
        self.shown = true;
        self.shared.sink.emit(Event::PairingCode {
            id: self.id,
            from: Device::from(&self.paired.peer),
            addr: self.peer,
            code: self.paired.display(),
        });
        Ok(())
    }

    /// How a wait ends: reported only if the code was on the screen.
    fn end<T>(&self, outcome: Outcome) -> Result<T, Option<Outcome>> {
        if !self.shown {
            tracing::debug!(peer = %self.peer, "paired connection ended before its offer: {outcome:?}");
        }
        Err(self.shown.then_some(outcome))
    }

    fn lost(&self) -> Outcome {
        Outcome::Cancelled { by: Party::Remote }
    }

    fn sender(&self) -> String {
        format!("{} ({})", self.paired.peer.alias, self.peer)
    }
}
