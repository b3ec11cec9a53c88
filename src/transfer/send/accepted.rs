//! The sending worker after the offer went out: waiting for the answer,
//! checking what the receiver wants, forwarding folder pages and the
//! receiver's answers to them, streaming each wanted file from the disk
//! thread with its SHA-256, and collecting the verdicts. A child
//! of `send` so it can use the worker's state without making it public.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, TryRecvError};

use super::pages::{self, FolderJob, Want, Work};
use super::readahead::{Job, Piece, ReadAhead};
use crate::api::{Direction, Event, Outcome, Party};
use crate::protocol::{
    CancelReason, EntryKind, FileVerdict, Frame, Message, WantedFile, WireError,
};
use crate::transfer::context::Control;
use crate::transfer::progress::Meter;
use crate::transfer::worker::{READER_STOPPED, Waiter, Wake, frame_name};

use super::{CANCEL_WRITE_TIMEOUT, Sending, Stop, describe_wire_error};

impl Sending<'_> {
    pub(super) fn run_accepted(&mut self) -> Outcome {
        let wanted = match self.await_answer() {
            Ok(wanted) => wanted,
            Err(outcome) => return outcome,
        };
        // From here a lost connection is worth resuming by itself.
        self.accepted = true;
        if let Err(reason) = self.check_wanted(&wanted) {
            let _ = self
                .writer
                .send_now(&Message::Cancel(CancelReason::Error(reason.clone())));
            return Outcome::Failed(reason);
        }
        let work = self.work(&wanted);
        let files =
            work.files.len() as u64 + work.folders.iter().map(|f| f.budget.files).sum::<u64>();
        let bytes = work
            .files
            .iter()
            .map(|job| job.size)
            .chain(work.folders.iter().map(|f| f.budget.bytes))
            .fold(0u64, u64::saturating_add);
        let resumed: u64 = work.files.iter().map(|job| job.offset).sum();
        let files = u32::try_from(files).unwrap_or(u32::MAX);
        self.shared.sink.emit_queued(
            &mut self.backlog,
            Event::Started {
                id: self.id,
                direction: Direction::Outgoing,
                files,
                bytes,
                resumed_bytes: resumed,
            },
        );
        let mut meter = Meter::new(self.id, Direction::Outgoing, bytes, files);
        let streamed = self.stream(work, &mut meter);
        self.wants = None;
        if let Err(stop) = streamed {
            return self.stop(stop);
        }
        if let Err(e) = self.writer.send_now(&Message::Done) {
            let stop = self.wire_stop(&e);
            return self.stop(stop);
        }
        self.keepalive.wrote();
        if let Some(report) = meter.poll(true) {
            self.shared.sink.emit_lossy(Event::Progress(report));
        }
        match self.await_summary() {
            Ok(()) if self.failures.is_empty() => Outcome::Completed {
                files: self.verified,
                bytes: self.verified_bytes,
            },
            Ok(()) => Outcome::Failed(self.failures.sentence(files)),
            Err(stop) => self.stop(stop),
        }
    }

    /// What the disk thread is to do for the accepted `wanted` items.
    fn work(&mut self, wanted: &[WantedFile]) -> Work {
        let mut work = Work {
            first_index: self.entries.len() as u32,
            ..Work::default()
        };
        // Folder k of the offer is the k-th directory entry.
        let folder_rank: Vec<usize> = self
            .entries
            .iter()
            .scan(0usize, |rank, e| {
                let mine = *rank;
                if e.kind == EntryKind::Directory {
                    *rank += 1;
                }
                Some(mine)
            })
            .collect();
        for want in wanted {
            let i = want.index as usize;
            let entry = &self.entries[i];
            let name = entry.path.join("/");
            if entry.kind == EntryKind::Directory {
                let rank = folder_rank[i];
                work.folders.push(FolderJob {
                    item: want.index,
                    top: self.folders[rank].clone(),
                    name,
                    budget: self.contents[rank],
                });
            } else {
                work.files.push(Job {
                    index: want.index,
                    name,
                    offset: want.offset,
                    size: entry.size,
                    modified_ms: entry.modified_ms,
                    local: self.locals[i].take(),
                });
            }
        }
        work
    }

    /// Sends our Cancel when we are the ones stopping, and turns `stop` into an outcome.
    fn stop(&mut self, stop: Stop) -> Outcome {
        match &stop {
            Stop::Cancelled(Party::Local) => {
                let _ = self.writer.send_now(&Message::Cancel(CancelReason::User));
            }
            Stop::Failed(reason) => {
                // Best effort: the link may be what failed, and a writer stuck
                // behind a full socket would wait out the idle timeout again.
                let _ = self.closer.set_write_timeout(Some(CANCEL_WRITE_TIMEOUT));
                let _ = self
                    .writer
                    .send_now(&Message::Cancel(CancelReason::Error(reason.clone())));
            }
            Stop::Cancelled(Party::Remote) => {}
        }
        stop.into()
    }

    /// The timer's work: events that waited for room, and a ping if idle.
    pub(super) fn on_tick(&mut self) -> Result<(), Stop> {
        self.hold.report(&self.shared.sink, &mut self.backlog);
        self.shared.sink.flush(&mut self.backlog, false);
        self.keepalive
            .ping_if_idle(&mut self.writer)
            .map_err(|e| self.wire_stop(&e))
    }

    fn wire_stop(&mut self, e: &WireError) -> Stop {
        // A write error often means the peer cancelled and closed: look for its Cancel first.
        let deadline = Instant::now() + Duration::from_millis(500);
        while let Ok(frame) = self.pump.next_deadline(deadline) {
            match frame {
                Ok(Frame::Message(Message::Cancel(CancelReason::User))) => {
                    return Stop::Cancelled(Party::Remote);
                }
                Ok(Frame::Message(Message::Cancel(CancelReason::Error(reason)))) => {
                    return Stop::Failed(format!("The receiver stopped the transfer: {reason}"));
                }
                Ok(_) => continue,
                // The reader failed first (e.g. the receiver went silent and
                // the reader shut the link, which is why the write failed):
                // that is the cause to report.
                Err(cause) => return self.lost(&cause),
            }
        }
        self.lost(e)
    }

    fn await_answer(&mut self) -> Result<Vec<WantedFile>, Outcome> {
        let waiter = Waiter::new(&self.pump, self.shared.timeouts.tick());
        let frame = loop {
            match waiter.next(&mut self.pump, self.control) {
                Wake::Peer(frame) => break frame,
                Wake::Cancel => return Err(self.stop(Stop::Cancelled(Party::Local))),
                Wake::Decide(_) | Wake::Pause(_) | Wake::Other(_) => {}
                Wake::Tick => self.on_tick().map_err(Outcome::from)?,
                Wake::ReaderStopped => return Err(Outcome::Failed(READER_STOPPED.into())),
            }
        };
        match frame {
            Ok(Frame::Message(Message::Accept(wanted))) => Ok(wanted),
            Ok(Frame::Message(Message::Decline(reason))) => Err(Outcome::Declined(reason)),
            Ok(Frame::Message(Message::NeedPin {
                wrong,
                retry_after_secs,
            })) => {
                self.shared.sink.emit(Event::PinRequired {
                    id: self.id,
                    to: self.to,
                    wrong,
                });
                Err(Outcome::Failed(if retry_after_secs > 0 {
                    format!(
                        "Too many wrong PINs: the receiver refuses this device for {retry_after_secs} s."
                    )
                } else if wrong {
                    "The PIN was wrong.".to_string()
                } else {
                    "The receiver requires a PIN.".to_string()
                }))
            }
            Ok(Frame::Message(Message::Cancel(CancelReason::User))) => {
                Err(Outcome::Cancelled { by: Party::Remote })
            }
            Ok(Frame::Message(Message::Cancel(CancelReason::Error(reason)))) => {
                Err(Outcome::Failed(format!("The receiver refused: {reason}")))
            }
            Ok(other) => Err(Outcome::Failed(format!(
                "The receiver answered with an unexpected message ({}).",
                frame_name(&other)
            ))),
            Err(e) => Err(Outcome::Failed(describe_wire_error(self.to, &e))),
        }
    }

    /// The Accept names offered files (from a byte within them) and folders
    /// (offset 0: list them), ascending.
    fn check_wanted(&self, wanted: &[WantedFile]) -> Result<(), String> {
        let mut previous: Option<u32> = None;
        for want in wanted {
            let entry = self.entries.get(want.index as usize);
            let valid = entry.is_some_and(|e| match e.kind {
                EntryKind::File => want.offset <= e.size,
                EntryKind::Directory => want.offset == 0,
                EntryKind::Text(_) => false,
            }) && previous.is_none_or(|p| p < want.index);
            if !valid {
                return Err("The receiver's answer was malformed.".into());
            }
            previous = Some(want.index);
        }
        Ok(())
    }

    fn handle_peer(&mut self, frame: Result<Frame, WireError>) -> Result<bool, Stop> {
        match frame {
            Ok(Frame::Message(Message::FileResult { index, verdict })) => {
                // Verdicts come in the order the files went.
                let Some(sent) = self.unanswered.pop_front().filter(|s| s.index == index) else {
                    return Err(Stop::Failed(
                        "The receiver reported on a file that was not sent.".into(),
                    ));
                };
                let name = sent.name;
                match verdict {
                    FileVerdict::Verified => {
                        self.verified += 1;
                        self.verified_bytes += sent.size;
                        let path = PathBuf::from(name);
                        (self.shared.sink).emit_verified(&mut self.backlog, self.id, path);
                    }
                    FileVerdict::Mismatch => {
                        self.failures.note(format!("{name}: checksum mismatch"))
                    }
                    FileVerdict::Failed(reason) => self.failures.note(format!("{name}: {reason}")),
                }
                Ok(false)
            }
            Ok(Frame::Message(Message::Want { first, files })) => {
                let forwarded = self
                    .wants
                    .as_ref()
                    .is_some_and(|wants| wants.try_send(Want { first, files }).is_ok());
                if forwarded {
                    Ok(false)
                } else {
                    Err(Stop::Failed(
                        "The receiver answered a page that was not listed.".into(),
                    ))
                }
            }
            Ok(Frame::Message(Message::Summary { .. })) => Ok(true),
            Ok(Frame::Message(message @ (Message::Pause | Message::Resume))) => {
                let paused = message == Message::Pause;
                self.hold
                    .there(paused, &self.shared.sink, &mut self.backlog);
                Ok(false)
            }
            Ok(Frame::Message(Message::Cancel(CancelReason::User))) => {
                Err(Stop::Cancelled(Party::Remote))
            }
            Ok(Frame::Message(Message::Cancel(CancelReason::Error(reason)))) => Err(Stop::Failed(
                format!("The receiver stopped the transfer: {reason}"),
            )),
            Ok(other) => Err(Stop::Failed(format!(
                "The receiver sent an unexpected message ({}).",
                frame_name(&other)
            ))),
            Err(e) => Err(self.lost(&e)),
        }
    }

    /// A wire error as the stop it is; a connection that broke or went
    /// silent is noted, so the engine may send again once the device is back.
    fn lost(&mut self, e: &WireError) -> Stop {
        // Broken or silent, not refused nor malformed.
        self.lost |= e.is_disconnect();
        Stop::Failed(describe_wire_error(self.to, e))
    }

    /// Waits for the receiver's verdicts and summary. A cancel now races the
    /// receiver finishing the bytes it already has: the Cancel is sent, and
    /// whichever the receiver saw first decides, so both sides report the same.
    /// That is why this wait is not [`Waiter`]'s: a Cancel here does not end
    /// it, and an engine that hung up is no reason to cancel a finished send.
    fn await_summary(&mut self) -> Result<(), Stop> {
        let mut cancel_sent = false;
        loop {
            match self.pump.next_timeout(self.shared.timeouts.tick()) {
                Ok(Err(_)) if cancel_sent => return Err(Stop::Cancelled(Party::Local)),
                Ok(frame) => {
                    if self.handle_peer(frame)? {
                        return Ok(());
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.on_tick()?,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Stop::Failed(READER_STOPPED.into()));
                }
            }
            if !cancel_sent && matches!(self.control.try_recv(), Ok(Control::Cancel)) {
                let cancel = Message::Cancel(CancelReason::User);
                self.writer
                    .send_now(&cancel)
                    .map_err(|e| self.wire_stop(&e))?;
                cancel_sent = true;
            }
        }
    }

    /// Sends every wanted file: a disk thread lists folders in pages and
    /// reads and hashes ahead while this thread frames, encrypts and writes,
    /// and listens to the peer (whose answers to pages go back to the disk
    /// thread).
    fn stream(&mut self, work: Work, meter: &mut Meter) -> Result<(), Stop> {
        let disk = pages::start(work, format!("ferry-send-read-{}", self.id.0))
            .map_err(|e| Stop::Failed(format!("Cannot start a thread: {e}.")))?;
        self.wants = Some(disk.wants);
        let reader = disk.read;
        // The tick pings: a pause may keep the wire quiet for any time.
        let waiter = Waiter::new(&self.pump, self.shared.timeouts.tick());
        self.hold.announce(&self.shared.sink, &mut self.backlog);
        let mut held = false;
        loop {
            // The peer's verdicts, answers and Cancel, without waiting: a
            // try_recv on an empty channel costs next to nothing, a select
            // per piece does not.
            while let Some(frame) = self.pump.ready() {
                self.handle_peer(frame)?;
            }
            match self.control.try_recv() {
                Ok(Control::Cancel) | Err(TryRecvError::Disconnected) => {
                    return Err(Stop::Cancelled(Party::Local));
                }
                Ok(Control::Pause(paused)) => self.pause_here(paused)?,
                _ => {}
            }
            if held != self.hold.paused() {
                held = !held;
                self.held(held, meter)?;
            }
            let piece = if held || self.unanswered.len() >= MAX_UNANSWERED {
                // A receiver that holds back its verdicts is not outrun:
                // what waits for them stays bounded.
                None
            } else {
                match reader.pieces.try_recv() {
                    Ok(piece) => Some(Ok(piece)),
                    Err(TryRecvError::Disconnected) => Some(Err(crossbeam_channel::RecvError)),
                    Err(TryRecvError::Empty) => None,
                }
            };
            let piece = match piece {
                Some(piece) => piece,
                None => {
                    let pieces = if held || self.unanswered.len() >= MAX_UNANSWERED {
                        crossbeam_channel::never()
                    } else {
                        reader.pieces.clone()
                    };
                    match waiter.next_or(&mut self.pump, self.control, &pieces) {
                        Wake::Other(piece) => piece,
                        Wake::Peer(frame) => {
                            self.handle_peer(frame)?;
                            continue;
                        }
                        Wake::Cancel => return Err(Stop::Cancelled(Party::Local)),
                        Wake::Pause(paused) => {
                            self.pause_here(paused)?;
                            continue;
                        }
                        Wake::Decide(_) => continue,
                        // A slow disk must not look like a dead connection.
                        Wake::Tick => {
                            self.on_tick()?;
                            continue;
                        }
                        Wake::ReaderStopped => return Err(Stop::Failed(READER_STOPPED.into())),
                    }
                }
            };
            if self.forward(piece, meter, &reader)? {
                return Ok(());
            }
        }
    }

    /// Puts one piece from the disk thread on the wire; `true` once the
    /// disk thread has finished.
    fn forward(
        &mut self,
        piece: Result<Piece, crossbeam_channel::RecvError>,
        meter: &mut Meter,
        reader: &ReadAhead,
    ) -> Result<bool, Stop> {
        let message = match piece {
            Ok(Piece::Data(mut buffer)) => {
                let len = buffer.len();
                self.writer
                    .send_data_in_place(&mut buffer)
                    .map_err(|e| self.wire_stop(&e))?;
                self.keepalive.wrote();
                meter.advance(len as u64);
                if let Some(report) = meter.poll(false) {
                    self.shared.sink.emit_lossy(Event::Progress(report));
                }
                let _ = reader.recycle.try_send(buffer);
                return Ok(false);
            }
            Ok(Piece::Whole {
                index,
                offset,
                bytes,
                sha256,
                size,
                name,
            }) => {
                self.starting(meter, Sent { index, size, name }, offset);
                let start = Message::FileStart { index, offset };
                self.writer.send(&start).map_err(|e| self.wire_stop(&e))?;
                if !bytes.is_empty() {
                    self.writer
                        .send_data(&bytes)
                        .map_err(|e| self.wire_stop(&e))?;
                    meter.advance(bytes.len() as u64);
                }
                meter.file_done();
                if let Some(report) = meter.poll(false) {
                    self.shared.sink.emit_lossy(Event::Progress(report));
                }
                Message::FileEnd { index, sha256 }
            }
            Ok(Piece::Start {
                index,
                offset,
                size,
                name,
            }) => {
                self.starting(meter, Sent { index, size, name }, offset);
                Message::FileStart { index, offset }
            }
            Ok(Piece::End { index, sha256 }) => {
                meter.file_done();
                Message::FileEnd { index, sha256 }
            }
            Ok(Piece::Abandoned {
                index,
                reason,
                name,
            }) => {
                // Abandoned before it started: its verdict still comes.
                if self.unanswered.back().is_none_or(|s| s.index != index) {
                    self.unanswered.push_back(Sent {
                        index,
                        size: 0,
                        name,
                    });
                }
                Message::FileAbandoned { index, reason }
            }
            Ok(Piece::Page {
                item,
                first,
                entries,
            }) => {
                // Out at once: the page's bytes wait for its answer, and a
                // small page would otherwise sit in the write buffer.
                let page = Message::Page {
                    item,
                    first,
                    entries,
                };
                self.writer
                    .send_now(&page)
                    .map_err(|e| self.wire_stop(&e))?;
                self.keepalive.wrote();
                return Ok(false);
            }
            Ok(Piece::Batch(pieces)) => {
                for piece in pieces {
                    self.forward(Ok(piece), meter, reader)?;
                }
                return Ok(false);
            }
            Ok(Piece::Unlisted(sentence, files)) => {
                self.failures.note_many(sentence, files);
                return Ok(false);
            }
            Ok(Piece::Failed(reason)) => return Err(Stop::Failed(reason)),
            Ok(Piece::Finished) => return Ok(true),
            Err(_) => {
                return Err(Stop::Failed(
                    "Internal error in the file reading thread.".into(),
                ));
            }
        };
        self.writer.send(&message).map_err(|e| self.wire_stop(&e))?;
        self.keepalive.wrote();
        Ok(false)
    }
}

impl Sending<'_> {
    /// The person here paused or resumed: the receiver is told.
    fn pause_here(&mut self, paused: bool) -> Result<(), Stop> {
        if let Some(message) = self.hold.here(paused, &self.shared.sink, &mut self.backlog) {
            self.writer
                .send_now(&message)
                .map_err(|e| self.wire_stop(&e))?;
            self.keepalive.wrote();
        }
        Ok(())
    }

    /// Someone paused (`true`) or nobody holds it any more: what was framed
    /// goes out now (a pause must not strand it in the buffer), and the
    /// speed starts afresh.
    fn held(&mut self, held: bool, meter: &mut Meter) -> Result<(), Stop> {
        if held {
            self.writer.flush().map_err(|e| self.wire_stop(&e))?;
        }
        meter.restart_rate();
        if let Some(report) = meter.poll(true) {
            self.shared.sink.emit_lossy(Event::Progress(report));
        }
        Ok(())
    }

    /// A file's bytes from `offset` go out now: progress names it, and its
    /// verdict is awaited.
    fn starting(&mut self, meter: &mut Meter, sent: Sent, offset: u64) {
        meter.set_current(&sent.name);
        meter.skip(offset);
        self.unanswered.push_back(sent);
    }
}

/// A file sent whose verdict is awaited.
pub(super) struct Sent {
    index: u32,
    size: u64,
    name: String,
}

/// Files sent without a verdict yet before the sender waits for verdicts.
const MAX_UNANSWERED: usize = 1024;
