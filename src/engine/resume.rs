//! The resumer: one engine thread that sends an interrupted transfer again
//! by itself. A sending worker reports a send whose connection was lost
//! after the receiver accepted; the resumer shows it as waiting
//! ([`Event::ResumeWaiting`]), and each time the device is listed (or, in
//! an engine without discovery, at its old address) it tries again under the
//! same id and with the same wire id — so the receiver resumes it without
//! asking — with backoff (1 s doubling to 60 s; at once when the device
//! reappears), for [`RESUME_WINDOW`]. It never resumes a cancel, a decline or
//! a refusal (workers do not report those), and stops on
//! [`crate::api::Command::StopResume`]. It does no transfer work itself.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, select};

use crate::api::{Event, TransferId};
use crate::transfer::context::Context;
use crate::transfer::interrupted::{Attempt, RESUME_WINDOW, Resumable};
use crate::transfer::send;

/// The first wait before trying again; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two tries while the device seems present.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How often the device table is looked at.
const TICK: Duration = Duration::from_millis(250);
/// Reports waiting for the resumer (one per ending send at most).
const CAPACITY: usize = 64;

/// What the command loop tells the resumer.
pub(super) enum Order {
    /// The person stopped it, or sent it again another way.
    Stop(TransferId),
}

/// The channels to a running resumer.
pub(super) struct Handles {
    /// For the workers (goes into the [`Context`]).
    pub reports: Sender<Resumable>,
    /// For the command loop; dropping it ends the resumer.
    pub orders: Sender<Order>,
    pub(super) reports_rx: Receiver<Resumable>,
    pub(super) orders_rx: Receiver<Order>,
}

impl Handles {
    pub(super) fn new() -> Handles {
        let (reports, reports_rx) = bounded(CAPACITY);
        let (orders, orders_rx) = bounded(CAPACITY);
        Handles {
            reports,
            orders,
            reports_rx,
            orders_rx,
        }
    }
}

/// One send waiting to go on.
struct Waiting {
    note: Resumable,
    /// When the resumer gives up.
    deadline: Instant,
    /// The next try is not before this.
    next: Instant,
    backoff: Duration,
    /// A try runs now.
    trying: bool,
    /// The device was listed at the last look.
    present: bool,
}

/// The resumer's loop; returns when the command loop drops its orders
/// channel (the engine stops).
pub(super) fn run(
    shared: Context,
    reports: Receiver<Resumable>,
    orders: Receiver<Order>,
    discovery: bool,
) {
    let mut waiting: HashMap<TransferId, Waiting> = HashMap::new();
    loop {
        select! {
            recv(reports) -> note => match note {
                Ok(note) => on_report(&shared, &mut waiting, note),
                Err(_) => return,
            },
            recv(orders) -> order => match order {
                Ok(Order::Stop(id)) => {
                    if waiting.remove(&id).is_some() {
                        shared.sink.emit(Event::ResumeEnded { id });
                    }
                }
                Err(_) => return,
            },
            default(TICK) => {}
        }
        if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        tick(&shared, &mut waiting, discovery);
    }
}

fn on_report(shared: &Context, waiting: &mut HashMap<TransferId, Waiting>, note: Resumable) {
    let id = note.id;
    match note.state {
        Attempt::Over => {
            waiting.remove(&id);
        }
        Attempt::Lost | Attempt::Unreached => {
            let now = Instant::now();
            let entry = waiting.entry(id).or_insert_with(|| Waiting {
                note: note.clone(),
                deadline: now + RESUME_WINDOW,
                next: now,
                backoff: FIRST_BACKOFF,
                trying: false,
                present: true,
            });
            if entry.trying {
                // A try failed: wait longer before the next one.
                entry.backoff = (entry.backoff * 2).min(MAX_BACKOFF);
            }
            entry.trying = false;
            entry.next = now + entry.backoff;
            if !note.alias.is_empty() {
                entry.note.alias = note.alias.clone();
            }
            if note.state == Attempt::Lost {
                // Lost again (or the first time): the window shows it waiting.
                let until_secs = entry.deadline.saturating_duration_since(now).as_secs();
                shared.sink.emit(Event::ResumeWaiting {
                    id,
                    device: entry.note.alias.clone(),
                    until_secs,
                });
            }
        }
    }
}

/// Gives up what waited too long and tries what is due.
fn tick(shared: &Context, waiting: &mut HashMap<TransferId, Waiting>, discovery: bool) {
    let now = Instant::now();
    let expired: Vec<TransferId> = waiting
        .iter()
        .filter(|(_, w)| !w.trying && now >= w.deadline)
        .map(|(id, _)| *id)
        .collect();
    for id in expired {
        waiting.remove(&id);
        tracing::info!(%id, "gave up resuming: the device did not come back in time");
        shared.sink.emit(Event::ResumeEnded { id });
    }
    for (id, entry) in waiting.iter_mut().filter(|(_, w)| !w.trying) {
        let at = address(shared, &entry.note, discovery);
        let back = at.is_some() && !entry.present;
        entry.present = at.is_some();
        let Some(to) = at else { continue };
        // A device that reappears is tried at once; one that stayed listed
        // (its link may still be down) after the backoff.
        if back || now >= entry.next {
            entry.trying = true;
            tracing::info!(%id, %to, "resuming an interrupted send");
            let note = &entry.note;
            send::spawn_with(
                shared.clone(),
                *id,
                to,
                note.what.clone(),
                Some(note.wire_id),
            );
        }
    }
}

/// Where to reach the device now: its listed address (the old one if it is
/// still there), or with discovery off its old address.
fn address(shared: &Context, note: &Resumable, discovery: bool) -> Option<SocketAddr> {
    if !discovery {
        return Some(note.to);
    }
    shared.known.address_of(&note.device_id, note.to)
}
