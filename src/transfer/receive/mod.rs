//! The receiving worker: greets a new connection, answers hellos, checks an
//! offer (limits and names) before anything else, waits for the person's
//! decision (or a trust rule), then writes each file to a partial file while
//! hashing it and gives it its final name only after size and SHA-256 match.
//! Nothing touches the disk before the offer is accepted.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Receiver;
use sha2::{Digest, Sha256};

use crate::api::{
    Backlog, Decision, Device, Direction, Event, Outcome, Party, TransferId, TrustVerdict,
    human_bytes,
};
use crate::fs::folder::{self, Folder};
use crate::fs::names;
use crate::protocol::views;
use crate::protocol::{
    CancelReason, EntryKind, FileVerdict, Frame, FrameReader, FrameWriter, Hello, Message, Offer,
    WantedFile, WireError,
};
use crate::secure::identity::short_code;
use crate::secure::link::{Closer, Link, LinkError, Watchdog};
use crate::transfer::context::{Context, Control};
use crate::transfer::hash::hash_in_pieces;
use crate::transfer::progress::Meter;
use crate::transfer::pump::{self, Pump};
use crate::transfer::worker::{self, Keepalive, READER_STOPPED, Waiter, Wake, Writer, frame_name};
use resume::{FilePlan, Plan};

pub mod resume;

/// Serves one accepted TCP connection until it ends.
pub(crate) fn serve(stream: TcpStream, shared: Context) {
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
            let heard = shared.heard.read().map(|h| h.clone()).unwrap_or_default();
            let _ = writer.send_now(&Message::Hello(Hello {
                device: shared.device(),
                heard,
            }));
        }
        Message::Offer(offer) if offer.sender.device_id != peer_id => {
            let problem =
                identity_mismatch(peer, &offer.sender.alias, &offer.sender.device_id, &peer_id);
            let _ = writer.send_now(&Message::Decline("identity mismatch".into()));
            shared.sink.emit(Event::Problem(problem));
        }
        Message::Offer(offer) if !pin_ok(&shared, peer, &offer, &mut writer) => {}
        Message::Offer(offer) => {
            let _ = closer.set_read_timeout(Some(shared.timeouts.idle));
            let id = TransferId::fresh();
            let control = shared.register(id);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                receive(&shared, id, peer, offer, reader, writer, &control, &closer)
            }))
            .unwrap_or_else(|_| {
                Some(Outcome::Failed(
                    "Internal error in the receiving worker.".into(),
                ))
            });
            shared.unregister(id);
            if let Some(outcome) = outcome {
                shared.sink.emit(Event::Finished {
                    id,
                    direction: Direction::Incoming,
                    outcome,
                });
            }
        }
        other => {
            let name = frame_name(&Frame::Message(other));
            tracing::debug!(%peer, "unexpected first message: {name}");
            let reason = format!("expected an offer or a hello first, not a {name} message");
            let _ = writer.send_now(&Message::Decline(reason));
        }
    }
    closer.close();
}

fn setup_timed_out(peer: SocketAddr, budget: Duration) {
    tracing::info!(
        %peer,
        "closed a connection that sent no complete offer or hello within {} ms",
        budget.as_millis()
    );
}

/// The open folder for a file about to be written into `final_path`'s
/// folder: the one already open, else that folder opened now (files of one
/// folder arrive together). `None` if it cannot be opened: paths then.
fn open_folder<'f>(slot: &'f mut Option<Folder>, final_path: &Path) -> Option<&'f Folder> {
    let parent = final_path.parent()?;
    if slot.as_ref().is_none_or(|open| open.path() != parent) {
        *slot = Folder::open(parent).ok();
    }
    slot.as_ref()
}

fn part_file_name(part: &Path) -> &std::ffi::OsStr {
    part.file_name().unwrap_or_default()
}

fn identity_mismatch(peer: SocketAddr, alias: &str, announced: &str, proved: &str) -> String {
    format!(
        "Refused a connection from {alias:?} ({peer}): identity mismatch. It announced the device id {} \
         but proved the key {}.",
        short_code(announced),
        short_code(proved)
    )
}

/// Longest a file's verdict waits in the write buffer before it is sent.
const VERDICT_FLUSH: Duration = Duration::from_millis(100);

/// Most wrong PINs one address may try within [`PIN_WINDOW`].
pub const MAX_WRONG_PINS: u32 = 5;
/// The window over which wrong PINs are counted, and the lock-out after too many.
pub const PIN_WINDOW: Duration = Duration::from_secs(60);

/// Checks the offer's PIN against ours, with a per-address limit on wrong
/// guesses. Answers the sender itself when the PIN does not pass.
fn pin_ok(shared: &Context, peer: SocketAddr, offer: &Offer, writer: &mut Writer) -> bool {
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

/// Free bytes at `dir` or its nearest existing ancestor.
fn free_space(dir: &Path) -> Option<u64> {
    dir.ancestors()
        .find(|p| p.exists())
        .and_then(|p| fs4::available_space(p).ok())
}

/// Receives one offer. `None` means the offer was refused before it was
/// shown to anyone (a Problem event was sent instead).
#[allow(clippy::too_many_arguments)]
fn receive(
    shared: &Context,
    id: TransferId,
    peer: SocketAddr,
    offer: Offer,
    reader: FrameReader<Box<dyn Read + Send>>,
    mut writer: Writer,
    control: &Receiver<Control>,
    closer: &Closer,
) -> Option<Outcome> {
    tracing::debug!(%peer, entries = offer.entries.len(), "offer received");
    // Every name is judged before anyone is asked: a hostile offer never reaches a prompt.
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
    let pump = match pump::start(reader, format!("ferry-recv-rx-{}", id.0)) {
        Ok(pump) => pump,
        Err(e) => return Some(Outcome::Failed(format!("Cannot start a thread: {e}."))),
    };
    let mut session = Receiving {
        shared,
        folder: None,
        id,
        peer,
        offer,
        pump,
        writer,
        control,
        keepalive: Keepalive::new(shared.timeouts.ping),
        unflushed: None,
        plan: Plan::default(),
        verified: 0,
        verified_bytes: 0,
        failures: Vec::new(),
        claims: None,
        backlog: Backlog::default(),
    };
    let outcome = session.run(safe_paths);
    if matches!(outcome, Outcome::Cancelled { by: Party::Local }) {
        closer.close_write();
        session.linger();
    }
    // The peer needs nothing more from us: now it is fine to wait for the UI.
    shared.sink.flush(&mut session.backlog, true);
    Some(outcome)
}

struct Receiving<'a> {
    shared: &'a Context,
    /// The folder the current files are written into, held open.
    folder: Option<Folder>,
    id: TransferId,
    peer: SocketAddr,
    offer: Offer,
    pump: Pump,
    writer: Writer,
    control: &'a Receiver<Control>,
    keepalive: Keepalive,
    /// When the oldest verdict still in the write buffer was queued.
    unflushed: Option<Instant>,
    plan: Plan,
    verified: u32,
    verified_bytes: u64,
    failures: Vec<String>,
    /// Released when the transfer ends, however it ends.
    claims: Option<Claims>,
    /// Events waiting for room in the engine's channel.
    backlog: Backlog,
}

/// Paths claimed in [`Context::claimed`] by one transfer; dropping releases them.
struct Claims {
    claimed: Arc<Mutex<HashSet<PathBuf>>>,
    paths: Vec<PathBuf>,
}

impl Drop for Claims {
    fn drop(&mut self) {
        let mut claimed = self
            .claimed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for path in &self.paths {
            claimed.remove(path);
        }
    }
}

/// The file being written right now.
struct Current {
    slot: usize,
    file: File,
    hasher: Sha256,
    received: u64,
    /// Its partial file has a `.meta` sidecar (see [`resume::EAGER_META_BYTES`]).
    meta: bool,
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

    fn run(&mut self, safe_paths: Vec<Option<PathBuf>>) -> Outcome {
        let settings = self.shared.receive_settings();
        let verdict = settings
            .accept
            .judge(&self.offer.sender.device_id, &self.offer.sender.alias);
        let decision = if verdict == TrustVerdict::Accept {
            let summary = views::outline(&self.offer.entries, free_space(&settings.download_dir));
            self.shared.sink.emit(Event::AutoAccepted {
                id: self.id,
                from: Device::from(&self.offer.sender),
                addr: self.peer,
                offer: summary,
            });
            Decision::AcceptAll
        } else if let TrustVerdict::Impostor { pinned } = verdict {
            let _ = self
                .writer
                .send_now(&Message::Decline("identity changed".into()));
            return Outcome::Failed(format!(
                "Refused {}: it uses the name of a trusted device, but its key {} is not the trusted key {}. \
                 If that device was really reinstalled, remove the old trust rule and trust it again.",
                self.sender_name(),
                short_code(&self.offer.sender.device_id),
                short_code(&pinned)
            ));
        } else {
            // Only when someone is asked: for 10,000 entries it is megabytes.
            let summary = views::summary(&self.offer.entries, free_space(&settings.download_dir));
            self.shared.sink.emit_queued(
                &mut self.backlog,
                Event::Incoming {
                    id: self.id,
                    from: Device::from(&self.offer.sender),
                    addr: self.peer,
                    offer: summary,
                },
            );
            match self.await_decision() {
                Ok(decision) => decision,
                Err(stop) => return self.finish_stop(stop, None),
            }
        };
        let wanted: HashSet<u32> = match decision {
            Decision::Decline => {
                let _ = self.writer.send_now(&Message::Decline(String::new()));
                return Outcome::Declined(String::new());
            }
            Decision::AcceptAll => (0..self.offer.entries.len() as u32).collect(),
            Decision::AcceptSome(indices) => indices.into_iter().collect(),
        };
        // Settings may have changed while the prompt was open: use the current folder.
        let download_dir = self.shared.receive_settings().download_dir;
        let planning = Instant::now();
        let prepared = self.prepare(&download_dir, &safe_paths, &wanted);
        tracing::debug!(files = wanted.len(), elapsed = ?planning.elapsed(), "planned the download");
        // The plan holds all that is needed from here on: free the entries
        // (megabytes for 10,000 files) for the length of the transfer.
        drop(safe_paths);
        self.offer.entries = Vec::new();
        if let Err(reason) = prepared {
            let _ = self.writer.send_now(&Message::Decline(reason.clone()));
            return Outcome::Failed(reason);
        }
        let accept: Vec<WantedFile> = self
            .plan
            .files
            .iter()
            .map(|f| WantedFile {
                index: f.index,
                offset: f.offset,
            })
            .collect();
        if let Err(e) = self.writer.send_now(&Message::Accept(accept)) {
            return self.finish_stop(
                Stop::Lost(format!(
                    "The connection to {} was lost: {e}.",
                    self.sender_name()
                )),
                None,
            );
        }
        self.keepalive.wrote();
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
        // Sizes come from the peer: add them without overflowing.
        let bytes = saturating_sum(self.plan.files.iter().map(|f| f.size));
        let resumed = saturating_sum(self.plan.files.iter().map(|f| f.offset));
        self.shared.sink.emit_queued(
            &mut self.backlog,
            Event::Started {
                id: self.id,
                direction: Direction::Incoming,
                files: self.plan.files.len() as u32,
                bytes,
                resumed_bytes: resumed,
            },
        );
        let mut meter = Meter::new(
            self.id,
            Direction::Incoming,
            bytes,
            self.plan.files.len() as u32,
        );
        let mut current: Option<Current> = None;
        let result = self.stream(&mut meter, &mut current);
        if let Some(report) = meter.poll(true) {
            self.shared.sink.emit_lossy(Event::Progress(report));
        }
        match result {
            Ok(()) => {
                let total = self.plan.files.len();
                if self.failures.is_empty() {
                    for root in &self.plan.roots {
                        resume::finish_root(root);
                    }
                    set_dir_times(&self.plan.dirs);
                    Outcome::Completed {
                        files: self.verified,
                        bytes: self.verified_bytes,
                    }
                } else {
                    Outcome::Failed(format!(
                        "{} of {total} file(s) failed: {}.",
                        self.failures.len(),
                        self.failures.join("; ")
                    ))
                }
            }
            Err(stop) => self.finish_stop(stop, current),
        }
    }

    /// Checks space, creates folders and picks names; nothing else is written.
    fn prepare(
        &mut self,
        dir: &Path,
        safe_paths: &[Option<PathBuf>],
        wanted: &HashSet<u32>,
    ) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "Cannot use the download folder {}: {}.",
                dir.display(),
                describe_io(&e)
            )
        })?;
        tempfile_probe(dir).map_err(|e| {
            format!(
                "Cannot write to the download folder {}: {}.",
                dir.display(),
                describe_io(&e)
            )
        })?;
        // Planning, the space check and creating folders happen under the claim
        // lock, and the plan's paths are claimed before it is released.
        let mut claimed = self
            .shared
            .claimed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let plan = resume::plan_avoiding(dir, &self.offer, safe_paths, wanted, &claimed)
            .map_err(|e| format!("Cannot prepare the download folder {}: {e}.", dir.display()))?;
        let needed = saturating_sum(plan.files.iter().map(|f| f.size.saturating_sub(f.offset)));
        if let Some(free) = free_space(dir)
            && needed > free
        {
            return Err(format!(
                "Not enough space on the receiving device: {} needed, {} free in {}.",
                human_bytes(needed),
                human_bytes(free),
                dir.display()
            ));
        }
        resume::materialize(dir, &plan)
            .map_err(|e| format!("Cannot prepare the download folder {}: {e}.", dir.display()))?;
        let claims = plan.claims(dir);
        claimed.extend(claims.iter().cloned());
        drop(claimed);
        self.claims = Some(Claims {
            claimed: self.shared.claimed.clone(),
            paths: claims,
        });
        self.plan = plan;
        Ok(())
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

    fn await_decision(&mut self) -> Result<Decision, Stop> {
        let waiter = Waiter::new(&self.pump, self.shared.timeouts.tick());
        loop {
            let frame = match waiter.next(&mut self.pump, self.control) {
                Wake::Decide(decision) => return Ok(decision),
                Wake::Cancel => return Ok(Decision::Decline),
                Wake::Peer(frame) => frame,
                Wake::Tick => {
                    self.shared.sink.flush(&mut self.backlog, false);
                    self.ping_if_idle()?;
                    continue;
                }
                Wake::Other(_) => continue,
                Wake::ReaderStopped => return Err(Stop::Lost(READER_STOPPED.into())),
            };
            match frame {
                Ok(Frame::Message(Message::Cancel(_))) => {
                    return Err(Stop::Cancelled(Party::Remote));
                }
                Ok(other) => {
                    return Err(Stop::Remote(format!(
                        "unexpected {} before the answer",
                        frame_name(&other)
                    )));
                }
                Err(e) => return Err(self.lost(&e)),
            }
        }
    }

    fn stream(&mut self, meter: &mut Meter, current: &mut Option<Current>) -> Result<(), Stop> {
        let waiter = Waiter::new(&self.pump, VERDICT_FLUSH.min(self.shared.timeouts.tick()));
        let mut next_slot = 0usize;
        loop {
            // Frames that arrived together are handled together; Cancel and
            // the timer are looked at between batches.
            let frame = match waiter.next(&mut self.pump, self.control) {
                Wake::Peer(frame) => frame,
                Wake::Cancel => return Err(Stop::Cancelled(Party::Local)),
                Wake::Decide(_) | Wake::Other(_) => continue,
                Wake::Tick => {
                    self.shared.sink.flush(&mut self.backlog, false);
                    self.flush_verdicts()?;
                    self.ping_if_idle()?;
                    continue;
                }
                Wake::ReaderStopped => return Err(Stop::Lost(READER_STOPPED.into())),
            };
            match frame {
                Ok(Frame::Data(bytes)) => {
                    let Some(open) = current.as_mut() else {
                        return Err(Stop::Remote("file data arrived outside a file".into()));
                    };
                    let plan = &self.plan.files[open.slot];
                    if open.received + bytes.len() as u64 > plan.size {
                        return Err(Stop::Remote(format!(
                            "more data than announced for {}",
                            plan.display()
                        )));
                    }
                    if let Err(e) = open.file.write_all(&bytes) {
                        return Err(Stop::Local(format!(
                            "Cannot write {}: {}.",
                            plan.display(),
                            describe_io(&e)
                        )));
                    }
                    hash_in_pieces(&mut open.hasher, &bytes);
                    open.received += bytes.len() as u64;
                    meter.advance(bytes.len() as u64);
                    let _ = self.pump.recycle.try_send(bytes);
                    if let Some(report) = meter.poll(false) {
                        self.shared.sink.emit_lossy(Event::Progress(report));
                    }
                }
                Ok(Frame::Message(Message::FileStart { index, offset })) => {
                    if current.is_some() {
                        return Err(Stop::Remote(
                            "a file started before the previous one ended".into(),
                        ));
                    }
                    let slot = self.plan.files[next_slot..]
                        .iter()
                        .position(|f| f.index == index)
                        .map(|p| p + next_slot)
                        .ok_or_else(|| {
                            Stop::Remote(format!("file {index} was not requested or came twice"))
                        })?;
                    next_slot = slot + 1;
                    let plan = &self.plan.files[slot];
                    if offset != plan.offset {
                        return Err(Stop::Remote(format!(
                            "{} resumed at the wrong byte",
                            plan.display()
                        )));
                    }
                    meter.set_current(&plan.display());
                    meter.skip(offset);
                    *current = Some(self.open(slot)?);
                }
                Ok(Frame::Message(Message::FileEnd { index, sha256 })) => {
                    let Some(open) = current.take() else {
                        return Err(Stop::Remote("a file ended that never started".into()));
                    };
                    if self.plan.files[open.slot].index != index {
                        return Err(Stop::Remote("a file ended out of order".into()));
                    }
                    self.finish_file(open, sha256)?;
                    meter.file_done();
                }
                Ok(Frame::Message(Message::FileAbandoned { index, reason })) => {
                    let slot = match current.take() {
                        Some(open) if self.plan.files[open.slot].index == index => open.slot,
                        Some(_) => {
                            return Err(Stop::Remote("a file was abandoned out of order".into()));
                        }
                        None => {
                            let slot = self.plan.files[next_slot..]
                                .iter()
                                .position(|f| f.index == index)
                                .map(|p| p + next_slot)
                                .ok_or_else(|| {
                                    Stop::Remote("an unknown file was abandoned".into())
                                })?;
                            next_slot = slot + 1;
                            slot
                        }
                    };
                    let plan = &self.plan.files[slot];
                    resume::discard_part(plan);
                    self.failures.push(format!("{}: {reason}", plan.display()));
                    self.reply(Message::FileResult {
                        index,
                        verdict: FileVerdict::Failed(reason),
                    })?;
                }
                Ok(Frame::Message(Message::Done)) => {
                    if current.is_some() {
                        return Err(Stop::Remote(
                            "the transfer ended in the middle of a file".into(),
                        ));
                    }
                    for missing in &self.plan.files[next_slot..] {
                        self.failures
                            .push(format!("{}: never sent", missing.display()));
                    }
                    let summary = Message::Summary {
                        verified: self.verified,
                        failed: self.failures.len() as u32,
                    };
                    self.writer.send_now(&summary).map_err(|e| self.lost(&e))?;
                    return Ok(());
                }
                Ok(Frame::Message(Message::Cancel(CancelReason::User))) => {
                    return Err(Stop::Cancelled(Party::Remote));
                }
                Ok(Frame::Message(Message::Cancel(CancelReason::Error(reason)))) => {
                    return Err(Stop::Remote(format!(
                        "The sender stopped the transfer: {reason}"
                    )));
                }
                Ok(Frame::Message(other)) => {
                    return Err(Stop::Remote(format!(
                        "unexpected {}",
                        frame_name(&Frame::Message(other))
                    )));
                }
                Err(e) => return Err(self.lost(&e)),
            }
        }
    }

    fn reply(&mut self, message: Message) -> Result<(), Stop> {
        // Verdicts are small and the sender needs them only at the end: they
        // go out together every VERDICT_FLUSH (10,000 small files would
        // otherwise mean thousands of tiny TLS records and wake-ups).
        self.writer.send(&message).map_err(|e| self.lost(&e))?;
        self.unflushed.get_or_insert_with(Instant::now);
        self.flush_verdicts()?;
        self.keepalive.wrote();
        Ok(())
    }

    /// Sends buffered verdicts if they have waited long enough.
    fn flush_verdicts(&mut self) -> Result<(), Stop> {
        if self
            .unflushed
            .is_some_and(|since| since.elapsed() >= VERDICT_FLUSH)
        {
            self.writer.flush().map_err(|e| self.lost(&e))?;
            self.unflushed = None;
        }
        Ok(())
    }

    /// Opens (or reopens for resume) the partial file of plan slot `slot`,
    /// hashing the bytes already there.
    fn open(&mut self, slot: usize) -> Result<Current, Stop> {
        let plan = &self.plan.files[slot];
        let sender = self.offer.sender.device_id.clone();
        let fail = |what: &str, e: io::Error| {
            Stop::Local(format!(
                "Cannot {what} {}: {}.",
                plan.display(),
                describe_io(&e)
            ))
        };
        let mut hasher = Sha256::new();
        if plan.already_final {
            // Completed in an earlier try: only its checksum needs confirming.
            let mut file = File::open(&plan.final_path).map_err(|e| fail("read", e))?;
            hash_prefix(&mut file, &mut hasher, plan.offset).map_err(|e| fail("read", e))?;
            return Ok(Current {
                slot,
                file,
                hasher,
                received: plan.offset,
                meta: true,
            });
        }
        let part = plan.part_path();
        // A resumed partial always has its sidecar.
        let mut meta = plan.offset > 0;
        let file = if plan.offset > 0 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&part)
                .map_err(|e| fail("reopen", e))?;
            hash_prefix(&mut file, &mut hasher, plan.offset).map_err(|e| fail("read", e))?;
            file.set_len(plan.offset).map_err(|e| fail("resume", e))?;
            file.seek(SeekFrom::Start(plan.offset))
                .map_err(|e| fail("resume", e))?;
            file
        } else {
            if plan.stale_part {
                // Ours, from a try cut before it had a sidecar; removing a
                // link removes the link, never what it points to.
                std::fs::remove_file(&part).map_err(|e| fail("replace", e))?;
            }
            // create_new: never clobber, never follow a planted symlink.
            let file = match open_folder(&mut self.folder, &plan.final_path) {
                Some(folder) => folder.create_new(part_file_name(&part)),
                None => OpenOptions::new().write(true).create_new(true).open(&part),
            }
            .map_err(|e| fail("create", e))?;
            if plan.size > resume::EAGER_META_BYTES {
                resume::write_part_meta(plan, &sender).map_err(|e| fail("create", e))?;
                meta = true;
            }
            file
        };
        Ok(Current {
            slot,
            file,
            hasher,
            received: plan.offset,
            meta,
        })
    }

    fn finish_file(&mut self, open: Current, sha256: [u8; 32]) -> Result<(), Stop> {
        let plan = self.plan.files[open.slot].clone();
        let ours: [u8; 32] = open.hasher.finalize().into();
        let verdict = if open.received != plan.size || ours != sha256 {
            drop(open.file);
            if !plan.already_final {
                resume::discard_part(&plan);
            }
            self.failures
                .push(format!("{}: checksum mismatch", plan.display()));
            FileVerdict::Mismatch
        } else if plan.already_final {
            self.count_verified(&plan, plan.final_path.clone());
            FileVerdict::Verified
        } else {
            if let Some(time) = plan.modified_ms.and_then(time_from_ms) {
                let _ = open.file.set_modified(time);
            }
            drop(open.file);
            match self
                .promote_here(&plan)
                .map_or_else(|| resume::promote(&plan), Ok)
            {
                Ok(path) => {
                    if open.meta {
                        resume::forget_part_meta(&plan);
                    }
                    self.count_verified(&plan, path);
                    FileVerdict::Verified
                }
                Err(e) => {
                    let reason = format!("cannot be renamed into place: {e}");
                    self.failures.push(format!("{}: {reason}", plan.display()));
                    FileVerdict::Failed(reason)
                }
            }
        };
        self.reply(Message::FileResult {
            index: plan.index,
            verdict,
        })
    }

    /// Renames the verified partial through the open folder when it is the
    /// file's folder and the planned name is free; `None` sends the caller to
    /// [`resume::promote`], which also finds a numbered name if needed.
    fn promote_here(&self, plan: &FilePlan) -> Option<PathBuf> {
        let folder = self.folder.as_ref()?;
        if plan.final_path.parent() != Some(folder.path()) {
            return None;
        }
        let name = plan.final_path.file_name()?;
        match folder.rename_no_replace(&folder::part_name(name), name) {
            Ok(true) => Some(plan.final_path.clone()),
            _ => None,
        }
    }

    fn count_verified(&mut self, plan: &FilePlan, path: PathBuf) {
        self.verified += 1;
        self.verified_bytes += plan.size;
        let event = Event::FileVerified { id: self.id, path };
        self.shared.sink.emit_batched(&mut self.backlog, event);
    }

    /// Says the right thing to the peer, cleans up, and describes the end.
    fn finish_stop(&mut self, stop: Stop, current: Option<Current>) -> Outcome {
        let in_flight = current.map(|open| {
            drop(open.file);
            (open.slot, open.meta)
        });
        let in_flight_meta = in_flight.map(|(_, meta)| meta);
        let in_flight = in_flight.map(|(slot, _)| slot);
        // The partial of a small file is kept for a resume too: give it the
        // sidecar it was created without (best effort: the disk may be full).
        let keep = |this: &Self| {
            if let (Some(slot), Some(false)) = (in_flight, in_flight_meta) {
                let plan = &this.plan.files[slot];
                let _ = resume::write_part_meta(plan, &this.offer.sender.device_id);
            }
        };
        let discard = |this: &Self| {
            if let Some(slot) = in_flight {
                let plan = &this.plan.files[slot];
                if !plan.already_final {
                    resume::discard_part(plan);
                }
            }
        };
        match stop {
            Stop::Cancelled(Party::Local) => {
                let _ = self.writer.send_now(&Message::Cancel(CancelReason::User));
                discard(self);
                Outcome::Cancelled { by: Party::Local }
            }
            Stop::Cancelled(Party::Remote) => {
                discard(self);
                Outcome::Cancelled { by: Party::Remote }
            }
            Stop::Lost(reason) => {
                keep(self);
                let kept = if in_flight.is_some() {
                    " The partial file was kept: send again to resume."
                } else {
                    ""
                };
                Outcome::Failed(
                    format!("{reason}{} {}", self.progress_note(), kept)
                        .trim_end()
                        .to_string(),
                )
            }
            Stop::Local(reason) => {
                keep(self);
                let _ = self
                    .writer
                    .send_now(&Message::Cancel(CancelReason::Error(reason.clone())));
                // Say "kept" only when there is a partial (creating it may be what failed).
                let kept = if in_flight.is_some() {
                    " The partial file was kept: send again to resume once that is fixed."
                } else {
                    ""
                };
                Outcome::Failed(format!("{reason}{kept}"))
            }
            Stop::Remote(reason) => {
                let _ = self
                    .writer
                    .send_now(&Message::Cancel(CancelReason::Error(reason.clone())));
                discard(self);
                Outcome::Failed(format!(
                    "Transfer from {} failed: {reason}.",
                    self.sender_name()
                ))
            }
        }
    }

    fn progress_note(&self) -> String {
        if self.plan.files.is_empty() {
            String::new()
        } else {
            format!(
                " {} of {} file(s) had arrived.",
                self.verified,
                self.plan.files.len()
            )
        }
    }

    fn linger(&mut self) {
        worker::linger(&mut self.pump);
    }
}

/// Checks that the folder accepts new files, without leaving anything behind.
/// The probe's name is unique per call: offers prepared at the same moment in
/// one process must not collide on it.
fn tempfile_probe(dir: &Path) -> io::Result<()> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = dir.join(format!(".ferry-probe-{}-{n}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

fn hash_prefix(file: &mut File, hasher: &mut Sha256, len: u64) -> io::Result<()> {
    let mut buffer = vec![0u8; 256 * 1024];
    let mut left = len;
    while left > 0 {
        let want = buffer.len().min(left as usize);
        let got = file.read(&mut buffer[..want])?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the partial file is shorter than expected",
            ));
        }
        hash_in_pieces(hasher, &buffer[..got]);
        left -= got as u64;
    }
    Ok(())
}

fn saturating_sum(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0, u64::saturating_add)
}

/// The time a peer gave in ms since 1970, if this system can represent it
/// (Windows' clock panics on `+`/`-` beyond 1601..30828).
fn time_from_ms(ms: i64) -> Option<SystemTime> {
    let span = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH.checked_add(span)
    } else {
        UNIX_EPOCH.checked_sub(span)
    }
}

fn set_dir_times(dirs: &[(PathBuf, Option<i64>)]) {
    // Deepest first, so setting a child does not bump its parent afterwards.
    for (dir, ms) in dirs.iter().rev() {
        if let Some(time) = ms.and_then(time_from_ms)
            && let Ok(handle) = File::open(dir)
        {
            let _ = handle.set_modified(time);
        }
    }
}

/// "No space left on device" and friends, for people.
pub fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::StorageFull => "not enough space on the disk".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::ReadOnlyFilesystem => "the disk is read-only".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (seen as a flaky "Cannot write to the download folder ...:
    /// File exists" in the 50-senders fault test): the writability probe had
    /// one name per process, so two offers prepared at the same moment
    /// collided on it and one was declined.
    #[test]
    fn bug_concurrent_offers_failed_the_write_probe() {
        let dir = tempfile::tempdir().expect("tmp");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || (0..200).all(|_| tempfile_probe(&dir).is_ok()))
            })
            .collect();
        for thread in threads {
            assert!(thread.join().expect("thread"), "a probe collided");
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 0);
    }

    /// Modification times come from the peer: extremes must not panic on any
    /// system (Windows' clock cannot go before 1601).
    #[test]
    fn extreme_peer_times_never_panic() {
        for ms in [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX] {
            let _ = time_from_ms(ms);
        }
        assert_eq!(time_from_ms(0), Some(UNIX_EPOCH));
        assert_eq!(saturating_sum([u64::MAX, 1, 2].into_iter()), u64::MAX);
    }
}
