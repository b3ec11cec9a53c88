//! The receiving worker: greets a new connection, answers hellos, checks an
//! offer (limits and names) before anything else, waits for the person's
//! decision (or a trust rule), then writes each file to a partial file while
//! hashing it and gives it its final name only after size and SHA-256 match.
//! Nothing touches the disk before the offer is accepted.
//!
//! This file owns the connection's life (greeting, first message, the
//! worker's state and how it ends); the steps live beside it: [`paired`]
//! (the pairing exchange, the code shown, the wait for the offer), [`offer`]
//! (identity, PIN, names), [`accept`] (decision, plan, Accept), [`listing`]
//! (folder pages, planned and answered one at a time), [`stream`]
//! (partial files), [`landing`] (unnamed small files), [`lander`] (small
//! files landed on a thread of their own), [`verdict`] (checksums, final names, outcomes) and
//! [`resume`] (where files go and what an earlier try left). It never sends
//! files and never knows about the UI.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use sha2::Sha256;

use crate::api::{Backlog, Decision, Device, Direction, Event, Outcome, Party, TransferId};
use crate::fs::folder::Folder;
use crate::protocol::limits::MAX_FIRST_FRAME;
use crate::protocol::{Frame, FrameReader, FrameWriter, Hello, Message, Offer, WireError};
use crate::secure::link::{Closer, Link, LinkError, Watchdog};
use crate::transfer::context::{Context, Control};
use crate::transfer::pause::Hold;
use crate::transfer::progress::Meter;
use crate::transfer::pump::Pump;
use crate::transfer::worker::{self, Failures, Keepalive, Writer, frame_name};
use accept::{Claims, PromptSlot};
use lander::Lander;
use listing::Listing;
use offer::identity_mismatch;
use resume::{FilePlan, Plan};

mod accept;
mod lander;
mod landing;
mod listing;
mod offer;
mod paired;
mod plan;
pub mod resume;
mod stream;
pub mod sweep;
mod verdict;

pub use accept::{MAX_PENDING_PROMPTS, MAX_PROMPTS_PER_ADDRESS};
pub use offer::{MAX_WRONG_PINS, PIN_WINDOW};
pub use verdict::describe_io;

/// Serves one accepted TCP connection until it ends. A connection in one of
/// the slots kept for trusted devices (`reserved`) is served only if the
/// device it proves in the handshake is trusted.
pub(crate) fn serve(stream: TcpStream, shared: Context, reserved: bool) {
    let peer = match stream.peer_addr() {
        Ok(peer) => peer,
        Err(_) => return,
    };
    // Greeting, TLS and the first message share one budget, so a peer that
    // connects and goes silent (or trickles bytes) is dropped in seconds.
    let budget = shared.timeouts.handshake;
    let watchdog = Watchdog::arm(&stream, budget);
    let link = match Link::accept_with(stream, &shared.identity, &shared.timeouts) {
        Ok(link) => link,
        Err(LinkError::Greeting(e @ WireError::VersionMismatch { .. })) => {
            shared.sink.emit(Event::Problem(format!(
                "A device at {peer} could not connect: {e}."
            )));
            return;
        }
        Err(e) => {
            if watchdog.disarm() {
                return setup_timed_out(peer, budget);
            }
            return tracing::debug!(%peer, "connection setup failed: {e}");
        }
    };
    let Ok(closer) = link.closer() else { return };
    let peer_id = link.peer_id.clone();
    let mut reader = FrameReader::new(link.reader);
    // Nothing has been proven yet but a self-made key: the first message (a
    // hello or a pairing commitment) is small, and held to a small limit.
    reader.set_control_limit(MAX_FIRST_FRAME);
    let mut writer: Writer = FrameWriter::new(link.writer);
    let first = reader.read_message();
    if watchdog.disarm() {
        return setup_timed_out(peer, budget);
    }
    let first = match first {
        Ok(message) => message,
        Err(e) => {
            // Hostile or broken offers (too large, too many entries) end here.
            if !e.is_disconnect() {
                let reason = format!("Refused a connection from {peer}: {e}.");
                let _ = writer.send_now(&Message::Decline(e.to_string()));
                shared.sink.emit(Event::Problem(reason));
            }
            return;
        }
    };
    if reserved && !shared.receive_settings().accept.trusts(&peer_id) {
        tracing::info!(%peer, "closed a connection in a slot kept for trusted devices");
        let _ = writer.send_now(&Message::Decline(BUSY.into()));
        return closer.close();
    }
    match first {
        Message::Hello(hello) if hello.device.device_id != peer_id => {
            shared.sink.emit(Event::Problem(identity_mismatch(
                peer,
                &hello.device.alias,
                &hello.device.device_id,
                &peer_id,
            )));
        }
        Message::Hello(_) => {
            let _ = writer.send_now(&Message::Hello(Hello {
                device: shared.device(),
                heard: heard_for(&shared, &peer_id),
            }));
        }
        Message::PairCommit { device, commitment } => {
            return paired::serve(
                &shared,
                peer,
                &peer_id,
                (device, commitment),
                reader,
                writer,
                &closer,
            );
        }
        other => {
            let name = frame_name(&Frame::Message(other));
            tracing::debug!(%peer, "unexpected first message: {name}");
            let reason =
                format!("expected a pairing commitment or a hello first, not a {name} message");
            let _ = writer.send_now(&Message::Decline(reason));
        }
    }
    closer.close();
}

/// What a refused connection in a reserved slot is told.
const BUSY: &str = "busy: too many connections; only trusted devices are served now";

/// The `heard` list a hello answer carries for `peer_id`: everything for a
/// trusted device; for anyone else only whether we heard that device itself
/// (so its two-way check still works) and nothing about other devices.
fn heard_for(shared: &Context, peer_id: &str) -> Vec<String> {
    let heard = shared.heard.read().map(|h| h.clone()).unwrap_or_default();
    if shared.receive_settings().accept.trusts(peer_id) {
        heard
    } else {
        heard.into_iter().filter(|id| id == peer_id).collect()
    }
}

fn setup_timed_out(peer: SocketAddr, budget: Duration) {
    tracing::info!(
        %peer,
        "closed a connection that sent no complete offer or hello within {} ms",
        budget.as_millis()
    );
}

/// Receives one offer; `code` is the connection's pairing code. `None`
/// means the offer was refused before it was shown to anyone (a Problem
/// event was sent instead).
#[allow(clippy::too_many_arguments)]
fn receive(
    shared: &Context,
    id: TransferId,
    peer: SocketAddr,
    offer: Offer,
    pump: Pump,
    mut writer: Writer,
    control: &Receiver<Control>,
    closer: &Closer,
    code: String,
) -> Option<Outcome> {
    tracing::debug!(%peer, entries = offer.entries.len(), "offer received");
    let safe_paths = offer::safe_paths(shared, peer, &offer, &mut writer)?;
    let prompt = accept::prompt_slot(shared, peer, &offer, &mut writer)?;
    let mut session = Receiving {
        shared,
        folder: None,
        lander: Lander::default(),
        id,
        peer,
        offer,
        pump,
        writer,
        control,
        keepalive: Keepalive::new(shared.timeouts.ping),
        unflushed: None,
        unflushed_verdicts: 0,
        plan: Plan::default(),
        root_dir: PathBuf::new(),
        queue: VecDeque::new(),
        listing: Listing::default(),
        files_total: 0,
        verified: 0,
        verified_bytes: 0,
        failures: Failures::default(),
        claims: None,
        prompt,
        backlog: Backlog::default(),
        code,
        hold: Hold::new(id),
        accepted: None,
    };
    let outcome = session.run(safe_paths);
    // Asked for while it was ending some other way: nothing to discard.
    shared.take_discard(id);
    if matches!(outcome, Outcome::Cancelled { by: Party::Local }) {
        closer.close_write();
        match closer.try_clone() {
            Ok(lingering) => worker::linger_then_close(session.pump, lingering),
            Err(e) => tracing::debug!("closing a cancelled connection at once: {e}"),
        }
    }
    // The peer needs nothing more from us: now it is fine to wait for the UI.
    shared.sink.flush(&mut session.backlog, true);
    Some(outcome)
}

struct Receiving<'a> {
    shared: &'a Context,
    /// The folder the current files are written into, held open.
    folder: Option<Arc<Folder>>,
    /// Lands small files beside this thread.
    lander: Lander,
    id: TransferId,
    peer: SocketAddr,
    offer: Offer,
    pump: Pump,
    writer: Writer,
    control: &'a Receiver<Control>,
    keepalive: Keepalive,
    /// When the oldest verdict still in the write buffer was queued.
    unflushed: Option<Instant>,
    /// Verdicts in the write buffer.
    unflushed_verdicts: u32,
    /// Where the offer's top-level items go.
    plan: Plan,
    /// The download folder the plan is in.
    root_dir: PathBuf,
    /// Planned files not yet arrived, by page (the top-level files first),
    /// in the order they must come. At most
    /// [`crate::protocol::limits::MAX_OPEN_PAGES`] pages.
    queue: VecDeque<VecDeque<FilePlan>>,
    /// Where the listing of the accepted folders stands.
    listing: Listing,
    /// Files the accepted items hold, as offered.
    files_total: u32,
    verified: u32,
    verified_bytes: u64,
    failures: Failures,
    /// Released when the transfer ends, however it ends.
    claims: Option<Claims>,
    /// The offer's place among those waiting for an answer, when the
    /// person is to be asked; released once the decision is made.
    prompt: Option<PromptSlot>,
    /// Events waiting for room in the engine's channel.
    backlog: Backlog,
    /// The connection's pairing code, shown with the offer.
    code: String,
    /// Who holds the transfer paused.
    hold: Hold,
    /// The answer the offer got, remembered if the connection is lost so
    /// the same offer resumes unasked (see [`crate::transfer::interrupted`]).
    accepted: Option<Decision>,
}

/// The file being written right now.
struct Current {
    plan: FilePlan,
    body: Body,
    hasher: Sha256,
    received: u64,
    /// Its partial file has a `.meta` sidecar (see [`resume::EAGER_META_BYTES`]).
    meta: bool,
    /// It has no name yet, not even the partial one (see [`landing`]).
    unnamed: bool,
}

/// Where the current file's bytes go.
enum Body {
    /// Its file: a partial (named or not yet), or the final file whose
    /// checksum an earlier try left to confirm.
    Disk(File),
    /// Held until complete, then checked and landed by [`lander`] (a small
    /// new file); not hashed on this thread.
    Held { bytes: Vec<u8>, folder: Arc<Folder> },
}

enum Stop {
    Cancelled(Party),
    /// Connection trouble: partial files stay for a resume.
    Lost(String),
    /// We failed locally (disk): the peer is told.
    Local(String),
    /// The peer misbehaved or reported an error.
    Remote(String),
}

impl Receiving<'_> {
    fn sender_name(&self) -> String {
        format!("{} ({})", self.offer.sender.alias, self.peer)
    }

    /// The whole transfer after the offer passed its checks: decide, plan
    /// and accept, stream, and turn however it ended into an outcome.
    fn run(&mut self, safe_paths: Vec<Option<PathBuf>>) -> Outcome {
        let decision = match self.decide(&safe_paths) {
            Ok(decision) => decision,
            Err(outcome) => return outcome,
        };
        self.accepted = (decision != Decision::Decline).then(|| decision.clone());
        if let Err(outcome) = self
            .plan_accepted(decision, safe_paths)
            .and_then(|()| self.send_accept())
        {
            return outcome;
        }
        let mut meter = self.announce_start();
        let mut current: Option<Current> = None;
        let result = self.stream(&mut meter, &mut current);
        if let Some(report) = meter.poll(true) {
            self.shared.sink.emit_lossy(Event::Progress(report));
        }
        match result {
            Ok(()) => self.completed(),
            Err(stop) => self.finish_stop(stop, current),
        }
    }

    /// Shows the texts and announces the start; the meter counts from here.
    fn announce_start(&mut self) -> Meter {
        for text in &self.plan.texts {
            self.shared.sink.emit_queued(
                &mut self.backlog,
                Event::TextReceived {
                    id: self.id,
                    from: Device::from(&self.offer.sender),
                    text: text.clone(),
                },
            );
        }
        // Sizes come from the peer: add them without overflowing. What is
        // inside folders is as offered; what of it is resumed shows as the
        // pages come.
        let inside = self.plan.roots.iter().map(|r| r.left);
        let bytes = saturating_sum(
            self.plan
                .files
                .iter()
                .map(|f| f.size)
                .chain(inside.clone().map(|c| c.bytes)),
        );
        let files = saturating_sum(
            std::iter::once(self.plan.files.len() as u64).chain(inside.map(|c| c.files)),
        );
        self.files_total = u32::try_from(files).unwrap_or(u32::MAX);
        let resumed = saturating_sum(self.plan.files.iter().map(|f| f.offset));
        self.shared.sink.emit_queued(
            &mut self.backlog,
            Event::Started {
                id: self.id,
                direction: Direction::Incoming,
                files: self.files_total,
                bytes,
                resumed_bytes: resumed,
            },
        );
        Meter::new(self.id, Direction::Incoming, bytes, self.files_total)
    }

    fn ping_if_idle(&mut self) -> Result<(), Stop> {
        self.keepalive
            .ping_if_idle(&mut self.writer)
            .map_err(|e| self.lost(&e))
    }

    fn lost(&self, e: &WireError) -> Stop {
        let who = self.sender_name();
        match e {
            WireError::Closed => Stop::Lost(format!(
                "{who} closed the connection before the transfer finished."
            )),
            WireError::Io(io)
                if matches!(
                    io.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Stop::Lost(format!("{who} stopped responding."))
            }
            e if e.is_disconnect() => Stop::Lost(format!("The connection to {who} was lost.")),
            // rustls reports records that fail their authentication this way.
            WireError::Io(io) if io.kind() == io::ErrorKind::InvalidData => Stop::Remote(format!(
                "the data arrived damaged (it failed the connection's integrity check: {io})"
            )),
            other => Stop::Remote(format!("{who} sent something invalid: {other}")),
        }
    }

    fn progress_note(&self) -> String {
        if self.files_total == 0 {
            String::new()
        } else {
            format!(
                " {} of {} had arrived.",
                self.verified,
                crate::api::count(self.files_total, "file", "files")
            )
        }
    }
}

fn saturating_sum(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0, u64::saturating_add)
}
