//! The sending worker: pairs with one receiver and, once the receiver is
//! remembered or its person confirmed the code ([`verify`]), offers a
//! summary (top-level items, and what each folder holds), waits for its
//! answer, then lists the accepted folders in pages and streams each file
//! the receiver wants (hashing it as it goes, including any prefix the
//! receiver already has) and collects the receiver's verdicts.
//! It reads local files and writes the socket; it never writes to disk.

use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use crate::api::{Backlog, Direction, Event, Outcome, Party, TransferId};
use crate::protocol::views;
use crate::protocol::{Contents, Entry, FrameReader, FrameWriter, Message, Offer, WireError};
use crate::secure::identity::short_code;
use crate::secure::link::{Closer, Link, LinkError};
use crate::transfer::context::{Context, Control};
use crate::transfer::interrupted::{Attempt, Resumable};
use crate::transfer::pause::Hold;
use crate::transfer::pump::{self, Pump};
use crate::transfer::worker::{self, Failures, Keepalive, Writer};

mod accepted;
pub mod count;
pub mod pages;
pub mod readahead;
pub mod source;
mod verify;

/// How long the Cancel that reports a failure may take to leave.
const CANCEL_WRITE_TIMEOUT: Duration = Duration::from_millis(300);

/// What to send.
#[derive(Debug, Clone)]
pub enum What {
    /// Files and folders.
    Paths(Vec<PathBuf>),
    /// A text message.
    Text(String),
}

/// Starts a sending worker on its own thread; its end is always reported as
/// [`Event::Finished`], even if it panics.
pub(crate) fn spawn(shared: Context, id: TransferId, to: SocketAddr, what: What) {
    spawn_with(shared, id, to, what, None);
}

/// Like [`spawn`]; with `again` set (the offer's wire id) this is the
/// engine's own try to resume an interrupted send: the offer keeps its wire
/// id so the receiver recognises it, and a try that cannot reach the device
/// is reported only to the resumer (the window keeps showing "Will resume
/// when … is back" instead of a new failure).
pub(crate) fn spawn_with(
    shared: Context,
    id: TransferId,
    to: SocketAddr,
    what: What,
    again: Option<u64>,
) {
    let control = shared.register(id);
    let worker_shared = shared.clone();
    let spawned = thread::Builder::new()
        .name(format!("ferry-send-{}", id.0))
        .spawn(move || {
            let shared = worker_shared;
            let mut report = Report {
                wire_id: again,
                ..Report::default()
            };
            let kept = what.clone();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                run(&shared, id, to, what, &control, &mut report)
            }))
            .unwrap_or_else(|_| Outcome::Failed("Internal error in the sending worker.".into()));
            shared.unregister(id);
            let unreached = again.is_some() && !report.reached && !outcome.is_success();
            if !unreached {
                shared.sink.emit(Event::Finished {
                    id,
                    direction: Direction::Outgoing,
                    outcome: outcome.clone(),
                });
            }
            report_to_resumer(&shared, id, to, kept, &report, &outcome, unreached);
        });
    if let Err(e) = spawned {
        shared.unregister(id);
        let outcome = Outcome::Failed(format!("Cannot start a sending thread: {e}"));
        shared.sink.emit(Event::Finished {
            id,
            direction: Direction::Outgoing,
            outcome,
        });
    }
}

/// What a worker learnt that the engine's resumer needs.
#[derive(Default)]
struct Report {
    /// The offer's wire id (given for a resumer's try, else picked).
    wire_id: Option<u64>,
    /// The receiver's proven id and name, once connected and paired.
    peer: Option<(String, String)>,
    /// A connection to the receiver was made.
    reached: bool,
    /// The receiver accepted, then the connection broke or went silent.
    lost_after_accept: bool,
}

/// Tells the resumer how this send ended when it may go on by itself: lost
/// after the receiver accepted, or (a resumer's try) the device still away.
/// Resumer's tries are reported however they end, so it stops waiting.
fn report_to_resumer(
    shared: &Context,
    id: TransferId,
    to: SocketAddr,
    what: What,
    report: &Report,
    outcome: &Outcome,
    unreached: bool,
) {
    let (Some(resumer), Some(wire_id)) = (&shared.resumer, report.wire_id) else {
        return;
    };
    let retry = matches!(outcome, Outcome::Failed(_)) && (report.lost_after_accept || unreached);
    if !retry && report.wire_id.is_none() {
        return;
    }
    let (device_id, alias) = report.peer.clone().unwrap_or_default();
    let note = Resumable {
        id,
        to,
        device_id,
        alias,
        what,
        wire_id,
        state: if !retry {
            Attempt::Over
        } else if unreached {
            Attempt::Unreached
        } else {
            Attempt::Lost
        },
    };
    if resumer.try_send(note).is_err() {
        tracing::warn!(%id, "the resumer is busy or stopped; this send will not resume by itself");
    }
}

/// How streaming stopped early.
enum Stop {
    Cancelled(Party),
    Failed(String),
}

impl From<Stop> for Outcome {
    fn from(stop: Stop) -> Outcome {
        match stop {
            Stop::Cancelled(by) => Outcome::Cancelled { by },
            Stop::Failed(reason) => Outcome::Failed(reason),
        }
    }
}

/// Turns a connect error into a sentence with a hint.
pub fn describe_connect_error(to: SocketAddr, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            format!(
                "Nothing is accepting transfers at {to} (is Ferry running there, on that port?)."
            )
        }
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            format!("{to} did not answer (wrong address, or a firewall dropping the port?).")
        }
        _ => format!("Cannot reach {to}: {e}."),
    }
}

fn describe_wire_error(to: SocketAddr, e: &WireError) -> String {
    match e {
        WireError::Closed => format!("The receiver at {to} closed the connection."),
        WireError::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) =>
        {
            format!("The receiver at {to} stopped responding.")
        }
        e if e.is_disconnect() => format!("The connection to {to} was lost."),
        // rustls: a record failed its authentication, or the peer says one did.
        WireError::Io(io) if io.kind() == io::ErrorKind::InvalidData => {
            format!("The data to or from {to} arrived damaged ({io}); nothing was delivered.")
        }
        WireError::VersionMismatch { .. } => format!("{e}."),
        other => format!("Transfer to {to} failed: {other}."),
    }
}

struct Sending<'a> {
    shared: &'a Context,
    closer: &'a Closer,
    id: TransferId,
    to: SocketAddr,
    control: &'a Receiver<Control>,
    pump: Pump,
    writer: Writer,
    keepalive: Keepalive,
    /// The offered top-level entries (moved out of the offer once it is sent).
    entries: Vec<Entry>,
    /// Where each top-level file entry's bytes are, by entry index.
    locals: Vec<Option<PathBuf>>,
    /// What each top-level folder holds, in order.
    contents: Vec<Contents>,
    /// Where each top-level folder is, in order.
    folders: Vec<PathBuf>,
    verified: u32,
    verified_bytes: u64,
    failures: Failures,
    /// Files sent whose verdict has not come yet, oldest first.
    unanswered: std::collections::VecDeque<accepted::Sent>,
    /// Where the receiver's answers to pages go while files are streamed.
    wants: Option<crossbeam_channel::Sender<pages::Want>>,
    /// Events waiting for room in the engine's channel.
    backlog: Backlog,
    /// Who holds the transfer paused.
    hold: Hold,
    /// The receiver accepted the offer.
    accepted: bool,
    /// The connection broke or went silent after the offer.
    lost: bool,
}

/// Watches the count of the picked folders: reports it to the person while
/// it lasts ([`Event::Counting`], every `Timeouts::count_report`) and stops
/// it on Cancel.
struct CountWatch<'a> {
    shared: &'a Context,
    id: TransferId,
    control: &'a Receiver<Control>,
    last_report: Instant,
}

impl<'a> CountWatch<'a> {
    fn new(shared: &'a Context, id: TransferId, control: &'a Receiver<Control>) -> Self {
        CountWatch {
            shared,
            id,
            control,
            last_report: Instant::now(),
        }
    }

    /// False once the person cancelled.
    fn go_on(&mut self, counted: count::Counted) -> bool {
        if matches!(self.control.try_recv(), Ok(Control::Cancel)) {
            return false;
        }
        if self.last_report.elapsed() >= self.shared.timeouts.count_report {
            self.last_report = Instant::now();
            self.shared.sink.emit_lossy(Event::Counting {
                id: self.id,
                files: counted.files,
                bytes: counted.bytes,
            });
        }
        true
    }
}

/// An offer ready to send: the offer, each item's local path (`None` for a
/// text) and the folders to list once accepted.
type Prepared = (Offer, Vec<Option<PathBuf>>, Vec<PathBuf>);

/// The summary offer for `what` (top-level items and what each folder
/// holds; the folders are walked again, lazily, when listed), the local path
/// of each item and the folders to list.
fn prepare_offer(
    shared: &Context,
    (id, to): (TransferId, SocketAddr),
    what: What,
    wire_id: u64,
    control: &Receiver<Control>,
) -> Result<Prepared, Outcome> {
    let outline = match what {
        What::Paths(paths) => {
            let mut watch = CountWatch::new(shared, id, control);
            count::summarize_watched(&paths, &mut |counted| watch.go_on(counted)).map_err(|e| {
                match e {
                    source::SourceError::Stopped => Outcome::Cancelled { by: Party::Local },
                    e => Outcome::Failed(format!("Cannot send: {e}.")),
                }
            })?
        }
        What::Text(text) => count::Outline {
            entries: vec![source::text_entry(text)],
            ..count::Outline::default()
        },
    };
    let count::Outline {
        entries: mut sources,
        contents,
        folders,
    } = outline;
    let locals: Vec<Option<PathBuf>> = sources.iter_mut().map(|s| s.local.take()).collect();
    let entries: Vec<Entry> = sources.into_iter().map(|s| s.entry).collect();
    let pin = shared
        .sender_pins
        .lock()
        .ok()
        .and_then(|pins| pins.get(&to).cloned());
    let offer = Offer {
        transfer_id: wire_id,
        sender: shared.device(),
        entries,
        pin,
        contents,
    };
    offer
        .check_limits()
        .map_err(|e| Outcome::Failed(format!("Cannot send: {e}.")))?;
    Ok((offer, locals, folders))
}

fn run(
    shared: &Context,
    id: TransferId,
    to: SocketAddr,
    what: What,
    control: &Receiver<Control>,
    report: &mut Report,
) -> Outcome {
    let started = Instant::now();
    let wire_id = *report
        .wire_id
        .get_or_insert_with(crate::secure::random::random_u64);
    let (offer, locals, folders) = match prepare_offer(shared, (id, to), what, wire_id, control) {
        Ok(prepared) => prepared,
        Err(outcome) => return outcome,
    };
    tracing::debug!(items = offer.entries.len(), elapsed = ?started.elapsed(), "summarised the sources");
    let link = match Link::connect_with(to, &shared.identity, &shared.timeouts) {
        Ok(link) => link,
        Err(LinkError::Connect(e)) => return Outcome::Failed(describe_connect_error(to, &e)),
        Err(LinkError::Greeting(e)) => return Outcome::Failed(describe_wire_error(to, &e)),
        Err(e @ (LinkError::Tls(_) | LinkError::TimedOut(_))) => {
            return Outcome::Failed(format!("Connection to {to} failed: {e}."));
        }
    };
    let announced = shared.known.expected_device(to);
    if let Some((expected, _)) = announced.as_ref().filter(|(id, _)| *id != link.peer_id) {
        return Outcome::Failed(format!(
            "Identity mismatch: the device at {to} proved the key {} but {} was announced there. \
             Nothing was sent.",
            short_code(&link.peer_id),
            short_code(expected)
        ));
    }
    let (closer, pump_closer) = match link.closer().and_then(|a| Ok((a, link.closer()?))) {
        Ok(closers) => closers,
        Err(e) => return Outcome::Failed(format!("Connection to {to} failed: {e}.")),
    };
    if let Err(e) = closer.set_read_timeout(Some(shared.timeouts.idle)) {
        return Outcome::Failed(format!("Connection to {to} failed: {e}."));
    }
    report.reached = true;
    let peer_id = link.peer_id.clone();
    let mut writer = FrameWriter::new(link.writer);
    let mut reader = FrameReader::new(link.reader);
    let announced = announced.map(|(_, alias)| alias);
    let (paired, trust) = match verify::pair(
        shared,
        to,
        &peer_id,
        announced.as_deref(),
        &mut reader,
        &mut writer,
    ) {
        Ok(paired) => paired,
        Err(outcome) => return outcome,
    };
    report.peer = Some((peer_id.clone(), paired.peer.alias.clone()));
    let pump = match pump::start_closing(reader, format!("ferry-send-rx-{}", id.0), pump_closer) {
        Ok(pump) => pump,
        Err(e) => return Outcome::Failed(format!("Cannot start a thread: {e}.")),
    };
    let mut sending = Sending {
        shared,
        closer: &closer,
        id,
        to,
        control,
        pump,
        writer,
        keepalive: Keepalive::new(shared.timeouts.ping),
        entries: Vec::new(),
        locals,
        contents: Vec::new(),
        folders,
        verified: 0,
        verified_bytes: 0,
        failures: Failures::default(),
        unanswered: std::collections::VecDeque::new(),
        wants: None,
        backlog: Backlog::default(),
        hold: Hold::new(id),
        accepted: false,
        lost: false,
    };
    // Nothing of the transfer has left yet; it goes only to a receiver the
    // person confirmed (or remembers).
    if let Err(outcome) = sending.confirm(&paired, &trust) {
        closer.close();
        shared.sink.flush(&mut sending.backlog, true);
        return outcome;
    }
    let message = Message::Offer(offer);
    if let Err(e) = sending.writer.send_now(&message) {
        closer.close();
        shared.sink.flush(&mut sending.backlog, true);
        return Outcome::Failed(describe_wire_error(to, &e));
    }
    sending.keepalive.wrote();
    let Message::Offer(offer) = message else {
        unreachable!("built as an offer just above")
    };
    tracing::debug!(elapsed = ?started.elapsed(), "connected and sent the offer");
    shared.sink.emit_queued(
        &mut sending.backlog,
        Event::Offered {
            id,
            to,
            peer_id,
            offer: views::outline(&offer.entries, &offer.contents, None),
            code: paired.display(),
        },
    );
    sending.entries = offer.entries;
    sending.contents = offer.contents;
    let outcome = sending.run_accepted();
    report.lost_after_accept = sending.accepted && sending.lost;
    if matches!(outcome, Outcome::Cancelled { by: Party::Local }) {
        // Let the Cancel frame reach the peer before the connection goes.
        closer.close_write();
        let mut backlog = std::mem::take(&mut sending.backlog);
        worker::linger_then_close(sending.pump, closer);
        shared.sink.flush(&mut backlog, true);
        return outcome;
    }
    closer.close();
    // The connection is closed: now it is fine to wait for the UI.
    shared.sink.flush(&mut sending.backlog, true);
    outcome
}
