//! The checks an offer passes before anyone sees it: the sender proved the
//! identity it announces, knows the PIN (with a per-address limit on wrong
//! guesses), and every name is safe. It answers refusals itself; it never
//! touches the disk and never asks the person.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::api::Event;
use crate::fs::names;
use crate::protocol::{EntryKind, Message, Offer};
use crate::secure::identity::short_code;
use crate::transfer::context::Context;
use crate::transfer::worker::Writer;

/// Most wrong PINs one address may try within [`PIN_WINDOW`].
pub const MAX_WRONG_PINS: u32 = 5;
/// The window over which wrong PINs are counted, and the lock-out after too many.
pub const PIN_WINDOW: Duration = Duration::from_secs(60);

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

/// Checks the offer's PIN against ours, with a per-address limit on wrong
/// guesses. Answers the sender itself when the PIN does not pass.
pub(super) fn pin_ok(
    shared: &Context,
    peer: SocketAddr,
    offer: &Offer,
    writer: &mut Writer,
) -> bool {
    let Some(expected) = shared.receive_settings().pin.filter(|p| !p.is_empty()) else {
        return true;
    };
    let Ok(mut failures) = shared.pin_failures.lock() else {
        return false;
    };
    let now = Instant::now();
    let entry = failures.entry(peer.ip()).or_insert((0, now));
    if now.duration_since(entry.1) > PIN_WINDOW {
        *entry = (0, now);
    }
    if entry.0 >= MAX_WRONG_PINS {
        let retry = PIN_WINDOW
            .saturating_sub(now.duration_since(entry.1))
            .as_secs()
            .max(1) as u32;
        drop(failures);
        let _ = writer.send_now(&Message::NeedPin {
            wrong: true,
            retry_after_secs: retry,
        });
        return false;
    }
    match &offer.pin {
        Some(given) if given == &expected => {
            failures.remove(&peer.ip());
            true
        }
        given => {
            let wrong = given.is_some();
            if wrong {
                entry.0 += 1;
            }
            drop(failures);
            if wrong {
                shared.sink.emit(Event::Problem(format!(
                    "{:?} ({peer}) sent a wrong PIN.",
                    offer.sender.alias
                )));
            }
            let _ = writer.send_now(&Message::NeedPin {
                wrong,
                retry_after_secs: 0,
            });
            false
        }
    }
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
