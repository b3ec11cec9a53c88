//! The checks an offer passes before anyone sees it: the sender proved the
//! identity it announces, knows the PIN (wrong guesses limited by the
//! engine's PIN guard), and every name is safe. It answers refusals itself; it never
//! touches the disk and never asks the person.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use crate::api::Event;
use crate::fs::names;
use crate::protocol::{EntryKind, Message, Offer};
use crate::secure::identity::short_code;
use crate::secure::pin::PinVerdict;
use crate::transfer::context::Context;
use crate::transfer::worker::Writer;

pub use crate::secure::pin::{MAX_WRONG_PINS, PIN_WINDOW};

pub(super) fn identity_mismatch(
    peer: SocketAddr,
    alias: &str,
    announced: &str,
    proved: &str,
) -> String {
    format!(
        "Refused a connection from {alias:?} ({peer}): identity mismatch. It announced the device id {} \
         but proved the key {}.",
        short_code(announced),
        short_code(proved)
    )
}

/// Checks the offer's PIN against ours through the engine's guard (budgets
/// per address and for everyone together, see [`crate::secure::pin`]).
/// Answers the sender itself when the PIN does not pass.
pub(super) fn pin_ok(
    shared: &Context,
    peer: SocketAddr,
    offer: &Offer,
    writer: &mut Writer,
) -> bool {
    let Some(expected) = shared.receive_settings().pin.filter(|p| !p.is_empty()) else {
        return true;
    };
    let now = Instant::now();
    let verdict = shared
        .pin_guard
        .check(&expected, offer.pin.as_deref(), peer.ip(), now);
    let (wrong, retry_after_secs) = match verdict {
        PinVerdict::Accepted => return true,
        PinVerdict::Missing => (false, 0),
        PinVerdict::Wrong => {
            shared.sink.emit(Event::Problem(format!(
                "{:?} ({peer}) sent a wrong PIN.",
                offer.sender.alias
            )));
            if let Some(paused) = shared.pin_guard.locked_for(now) {
                shared.sink.emit(Event::Problem(format!(
                    "Too many wrong PINs from the network: nobody can try a PIN for the next {}.",
                    crate::api::human_duration(paused)
                )));
            }
            (true, 0)
        }
        PinVerdict::Locked { retry_after } => (true, retry_after.as_secs().max(1) as u32),
    };
    let _ = writer.send_now(&Message::NeedPin {
        wrong,
        retry_after_secs,
    });
    false
}

/// Every entry's name judged before anyone is asked, so a hostile offer never
/// reaches a prompt: its sanitised relative path (`None` for texts), or the
/// offer is declined and reported, and `None` comes back.
pub(super) fn safe_paths(
    shared: &Context,
    peer: SocketAddr,
    offer: &Offer,
    writer: &mut Writer,
) -> Option<Vec<Option<PathBuf>>> {
    let mut safe_paths = Vec::with_capacity(offer.entries.len());
    for entry in &offer.entries {
        match entry.kind {
            EntryKind::Text(_) => safe_paths.push(None),
            _ => match names::sanitize_relative(&entry.path) {
                Ok(path) => safe_paths.push(Some(path)),
                Err(e) => {
                    let _ = writer.send_now(&Message::Decline(format!("unsafe name: {e}")));
                    shared.sink.emit(Event::Problem(format!(
                        "Refused an offer from {} ({peer}): {e}.",
                        offer.sender.alias
                    )));
                    return None;
                }
            },
        }
    }
    Some(safe_paths)
}
