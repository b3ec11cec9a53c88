//! Streaming the accepted files: each `FileStart` opens (or reopens, for a
//! resume) a partial file, data frames are written and hashed as they come,
//! and each `FileEnd` hands the file to [`super::verdict`]. The sender must
//! keep to the plan's order; anything else ends the transfer. Apart from
//! [`super::lander`], which writes small new files this module held in
//! memory until complete, this is the only place that writes file contents,
//! and only into partial files.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::lander::{Job, Landed, MAX_HELD_BYTES};
use super::landing::open_folder;
use super::resume::{self, FilePlan};
use super::verdict::describe_io;
use super::{Body, Current, Receiving, Stop};
use crate::api::{Event, Party};
use crate::protocol::{CancelReason, FileVerdict, Frame, Message};
use crate::transfer::hash::{HASH_PIECE, hash_in_pieces};
use crate::transfer::progress::Meter;
use crate::transfer::worker::{READER_STOPPED, Waiter, Wake, frame_name};

/// Longest a file's verdict waits in the write buffer before it is sent.
const VERDICT_FLUSH: Duration = Duration::from_millis(100);

/// Verdicts buffered before they go regardless of [`VERDICT_FLUSH`].
const VERDICT_BATCH: u32 = 512;

impl Receiving<'_> {
    /// Receives files until the sender's `Done`, then sends the summary.
    /// `current` is the file being written, left for the caller to keep or
    /// discard if this ends early.
    pub(super) fn stream(
        &mut self,
        meter: &mut Meter,
        current: &mut Option<Current>,
    ) -> Result<(), Stop> {
        let waiter = Waiter::new(&self.pump, VERDICT_FLUSH.min(self.shared.timeouts.tick()));
        self.hold.announce(&self.shared.sink, &mut self.backlog);
        let mut held = false;
        loop {
            let frame = self.next_frame(&waiter, meter)?;
            if held != self.hold.paused() {
                // The speed starts afresh after a pause and shows none in it.
                held = !held;
                meter.restart_rate();
                if let Some(report) = meter.poll(true) {
                    self.shared.sink.emit_lossy(Event::Progress(report));
                }
            }
            match frame {
                Frame::Data(bytes) => self.write_data(bytes, current, meter)?,
                Frame::Message(Message::FileStart { index, offset }) => {
                    if current.is_some() {
                        return Err(Stop::Remote(
                            "a file started before the previous one ended".into(),
                        ));
                    }
                    let plan = self.take_planned(index).ok_or_else(|| {
                        Stop::Remote(format!("file {index} was not requested or came twice"))
                    })?;
                    *current = Some(self.start_file(plan, offset, meter)?);
                }
                Frame::Message(Message::FileEnd { index, sha256 }) => {
                    let Some(open) = current.take() else {
                        return Err(Stop::Remote("a file ended that never started".into()));
                    };
                    if open.plan.index != index {
                        return Err(Stop::Remote("a file ended out of order".into()));
                    }
                    self.finish_file(open, sha256, meter)?;
                    self.settle_dirs();
                }
                Frame::Message(Message::FileAbandoned { index, reason }) => {
                    let (plan, named) = match current.take() {
                        Some(open) if open.plan.index == index => {
                            // Held bytes were never on disk: nothing to remove.
                            let named = !open.unnamed && matches!(open.body, Body::Disk(_));
                            (open.plan, named)
                        }
                        Some(_) => {
                            return Err(Stop::Remote("a file was abandoned out of order".into()));
                        }
                        None => (
                            self.take_planned(index).ok_or_else(|| {
                                Stop::Remote("an unknown file was abandoned".into())
                            })?,
                            true,
                        ),
                    };
                    // Verdicts go in the order the files came.
                    self.take_ready(meter, true)?;
                    self.abandoned(&plan, named, reason)?;
                    self.settle_dirs();
                }
                Frame::Message(Message::Page {
                    item,
                    first,
                    entries,
                }) => self.on_page(item, first, entries, current.is_none())?,
                Frame::Message(Message::Done) => {
                    if current.is_some() {
                        return Err(Stop::Remote(
                            "the transfer ended in the middle of a file".into(),
                        ));
                    }
                    self.take_ready(meter, true)?;
                    return self.send_summary();
                }
                Frame::Message(Message::Cancel(CancelReason::User)) => {
                    return Err(Stop::Cancelled(Party::Remote));
                }
                Frame::Message(Message::Cancel(CancelReason::Error(reason))) => {
                    return Err(Stop::Remote(format!(
                        "The sender stopped the transfer: {reason}"
                    )));
                }
                Frame::Message(other) => {
                    return Err(Stop::Remote(format!(
                        "unexpected {}",
                        frame_name(&Frame::Message(other))
                    )));
                }
            }
        }
    }

    /// The sender's next frame. Frames that arrived together are handled
    /// together; Cancel, pauses and the timer are looked at between batches.
    /// The sender's Pause and Resume are taken here (not returned).
    fn next_frame(&mut self, waiter: &Waiter, meter: &mut Meter) -> Result<Frame, Stop> {
        loop {
            match waiter.next(&mut self.pump, self.control) {
                Wake::Peer(Ok(Frame::Message(message @ (Message::Pause | Message::Resume)))) => {
                    let paused = message == Message::Pause;
                    self.hold
                        .there(paused, &self.shared.sink, &mut self.backlog);
                }
                Wake::Peer(frame) => return frame.map_err(|e| self.lost(&e)),
                Wake::Cancel => return Err(Stop::Cancelled(Party::Local)),
                Wake::Pause(paused) => {
                    // The sender stops; what is already on its way still lands.
                    if let Some(message) =
                        self.hold.here(paused, &self.shared.sink, &mut self.backlog)
                    {
                        self.writer.send_now(&message).map_err(|e| self.lost(&e))?;
                        self.keepalive.wrote();
                    }
                }
                Wake::Decide(_) | Wake::Other(_) => {}
                Wake::Tick => {
                    self.take_ready(meter, false)?;
                    self.hold.report(&self.shared.sink, &mut self.backlog);
                    self.shared.sink.flush(&mut self.backlog, false);
                    self.flush_verdicts()?;
                    self.ping_if_idle()?;
                }
                Wake::ReaderStopped => return Err(Stop::Lost(READER_STOPPED.into())),
            }
        }
    }

    /// Opens `plan`'s partial file after checking the sender resumes where
    /// the plan said.
    fn start_file(
        &mut self,
        plan: FilePlan,
        offset: u64,
        meter: &mut Meter,
    ) -> Result<Current, Stop> {
        if offset != plan.offset {
            return Err(Stop::Remote(format!(
                "{} resumed at the wrong byte",
                plan.display()
            )));
        }
        meter.set_current(&plan.display());
        meter.skip(offset);
        self.open(plan)
    }

    /// Writes and hashes one data frame into the current file; never more
    /// than the offer promised.
    fn write_data(
        &mut self,
        bytes: Vec<u8>,
        current: &mut Option<Current>,
        meter: &mut Meter,
    ) -> Result<(), Stop> {
        let Some(open) = current.as_mut() else {
            return Err(Stop::Remote("file data arrived outside a file".into()));
        };
        let plan = &open.plan;
        if open.received + bytes.len() as u64 > plan.size {
            return Err(Stop::Remote(format!(
                "more data than announced for {}",
                plan.display()
            )));
        }
        // Each piece is hashed first and written right after, while it is
        // in this core's cache: the frame was filled on the pump thread's
        // core, and the kernel's copy into the page cache from that cold
        // buffer cost twice socat's (the extra system time on ext4). If a
        // write fails the transfer ends, so the hash running ahead of the
        // file by one piece never matters.
        match &mut open.body {
            // Hashed here, checked by the lander once complete. A file
            // that arrives in one frame keeps that frame's buffer (no copy)
            // unless the buffer is much bigger than the file: the landing
            // queue's bound counts bytes, so it must not hold slack.
            Body::Held { bytes: held, .. } => {
                open.hasher.update(&bytes);
                let len = bytes.len();
                if held.is_empty() && len as u64 == plan.size && bytes.capacity() <= len + len / 8 {
                    *held = bytes;
                    open.received += len as u64;
                    meter.advance(len as u64);
                    return self.report(meter);
                }
                if held.capacity() == 0 {
                    // The size is the offer's, at most MAX_HELD_BYTES.
                    held.reserve_exact(plan.size as usize);
                }
                held.extend_from_slice(&bytes);
            }
            Body::Disk(file) => {
                for piece in bytes.chunks(HASH_PIECE) {
                    open.hasher.update(piece);
                    if let Err(e) = file.write_all(piece) {
                        return Err(Stop::Local(format!(
                            "Cannot write {}: {}.",
                            plan.display(),
                            describe_io(&e)
                        )));
                    }
                }
            }
        }
        open.received += bytes.len() as u64;
        meter.advance(bytes.len() as u64);
        let _ = self.pump.recycle.try_send(bytes);
        self.report(meter)
    }

    /// Progress, as often as the meter allows.
    fn report(&mut self, meter: &mut Meter) -> Result<(), Stop> {
        if let Some(report) = meter.poll(false) {
            self.shared.sink.emit_lossy(Event::Progress(report));
        }
        Ok(())
    }

    /// The sender could not send `plan`'s file: its partial goes, and the
    /// verdict says why.
    fn abandoned(&mut self, plan: &FilePlan, named: bool, reason: String) -> Result<(), Stop> {
        let index = plan.index;
        if named && !plan.already_final {
            resume::discard_part(plan);
        }
        self.failures.note(format!("{}: {reason}", plan.display()));
        self.reply(Message::FileResult {
            index,
            verdict: FileVerdict::Failed(reason),
        })
    }

    /// After `Done`: files never sent count as failed; the summary goes now.
    fn send_summary(&mut self) -> Result<(), Stop> {
        self.count_missing();
        let summary = Message::Summary {
            verified: self.verified,
            failed: self.failures.count(),
        };
        self.writer.send_now(&summary).map_err(|e| self.lost(&e))
    }

    pub(super) fn reply(&mut self, message: Message) -> Result<(), Stop> {
        // Verdicts are small and the sender needs them only at the end: they
        // go out together every VERDICT_FLUSH (10,000 small files would
        // otherwise mean thousands of tiny TLS records and wake-ups).
        self.writer.send(&message).map_err(|e| self.lost(&e))?;
        self.unflushed.get_or_insert_with(Instant::now);
        self.unflushed_verdicts += 1;
        // Many small files: the sender keeps each file until its verdict,
        // so they must not pile up for the whole interval either.
        if self.unflushed_verdicts >= VERDICT_BATCH {
            self.unflushed = Some(Instant::now() - VERDICT_FLUSH);
        }
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
            self.unflushed_verdicts = 0;
        }
        Ok(())
    }

    /// Opens (or reopens for resume) `plan`'s partial file, hashing the
    /// bytes already there.
    fn open(&mut self, plan: FilePlan) -> Result<Current, Stop> {
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
            let received = plan.offset;
            return Ok(Current {
                plan,
                body: Body::Disk(file),
                hasher,
                received,
                meta: true,
                unnamed: false,
            });
        }
        let part = plan.part_path();
        // A partial kept with its sidecar before its first byte arrived (cut
        // or cancelled right after it was created) is taken over from 0, not
        // created again (that would fail: the name exists). The plan found
        // it: nothing is looked up on disk per file here. A resumed partial
        // always has its sidecar.
        let mut meta = plan.offset > 0 || plan.kept_part;
        let mut unnamed = false;
        let body = if let Some(held) = self.held_body(&plan) {
            held
        } else if meta {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&part)
                .map_err(|e| fail("reopen", e))?;
            hash_prefix(&mut file, &mut hasher, plan.offset).map_err(|e| fail("read", e))?;
            file.set_len(plan.offset).map_err(|e| fail("resume", e))?;
            file.seek(SeekFrom::Start(plan.offset))
                .map_err(|e| fail("resume", e))?;
            Body::Disk(file)
        } else if let Some(file) = self.create_unnamed(&plan) {
            // Small and new: named only once verified (see `landing`).
            unnamed = true;
            Body::Disk(file)
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
                resume::write_part_meta(&plan, &sender).map_err(|e| fail("create", e))?;
                meta = true;
            }
            Body::Disk(file)
        };
        let received = plan.offset;
        Ok(Current {
            plan,
            body,
            hasher,
            received,
            meta,
            unnamed,
        })
    }
}

impl Receiving<'_> {
    /// An empty buffer for `plan` if it is a small new file the lander can
    /// take once complete (its folder opens).
    fn held_body(&mut self, plan: &FilePlan) -> Option<Body> {
        let fresh = plan.offset == 0 && !plan.kept_part && !plan.stale_part && !plan.already_final;
        if !fresh || plan.size > MAX_HELD_BYTES {
            return None;
        }
        let folder = open_folder(&mut self.folder, &plan.final_path)?.clone();
        // Allocated by the first data frame (or taken from it).
        Some(Body::Held {
            bytes: Vec::new(),
            folder,
        })
    }

    /// Hands a complete held file to the lander, first taking back (and
    /// answering) landed files until there is room for it.
    pub(super) fn hand_over(&mut self, job: Job, meter: &mut Meter) -> Result<(), Stop> {
        while !self.lander.has_room(&job) {
            match self.lander.next(true) {
                Some(landed) => self.take_landed(landed, meter)?,
                None => break,
            }
        }
        self.lander.hand_over(job);
        self.take_ready(meter, false)
    }

    /// Answers the files the lander has finished (`all`: waits for every
    /// one still on its way).
    pub(super) fn take_ready(&mut self, meter: &mut Meter, all: bool) -> Result<(), Stop> {
        let mut any = false;
        while let Some(landed) = self.lander.next(all) {
            self.take_landed(landed, meter)?;
            any = true;
        }
        if any {
            self.settle_dirs();
        }
        Ok(())
    }

    /// Counts one landed file and queues its verdict for the sender.
    fn take_landed(&mut self, landed: Landed, meter: &mut Meter) -> Result<(), Stop> {
        let (index, verdict) = match landed {
            Landed::Verified(plan, path) => {
                self.count_verified(&plan, path);
                (plan.index, FileVerdict::Verified)
            }
            Landed::Mismatch(plan) => {
                self.failures
                    .note(format!("{}: checksum mismatch", plan.display()));
                (plan.index, FileVerdict::Mismatch)
            }
            Landed::Failed(plan, reason) => {
                self.failures.note(format!("{}: {reason}", plan.display()));
                (plan.index, FileVerdict::Failed(reason))
            }
            Landed::Stopped(reason) => return Err(Stop::Local(reason)),
        };
        meter.file_done();
        self.reply(Message::FileResult { index, verdict })
    }
}

fn part_file_name(part: &Path) -> &std::ffi::OsStr {
    part.file_name().unwrap_or_default()
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
