//! Landing small files beside the connection's thread. A new file of at
//! most [`MAX_HELD_BYTES`] is held in memory (and hashed) while its frames
//! arrive; once its last byte is in, this module's thread checks its size
//! and SHA-256, writes it (unnamed where the folder allows, see [`super::landing`])
//! and gives it its final name, while the connection's thread reads on.
//! With many small files the file system's work per file (create, write,
//! time, link, close) was most of the receiver's time, all of it on the one
//! thread that also decrypts and parses, with the other core half idle.
//!
//! Files are landed in the order handed over and their results come back
//! in that order. What waits here is bounded ([`MAX_IN_FLIGHT`] files,
//! [`MAX_IN_FLIGHT_BYTES`] bytes). A file that fails its check never gets a
//! name; nothing is ever replaced. This module never touches the wire and
//! never chooses a file's name or folder: the plan did.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use super::landing::link_into_place;
use super::resume::{self, FilePlan};
use super::verdict::{describe_io, time_from_ms};
use crate::fs::folder::{self, Folder};

/// Largest file held in memory until it is complete. Small enough that
/// [`MAX_IN_FLIGHT_BYTES`] holds many, large enough for most of a source
/// tree or a photo library's sidecar files.
pub(super) const MAX_HELD_BYTES: u64 = 128 * 1024;

/// Files handed over and not yet landed, at most.
const MAX_IN_FLIGHT: usize = 256;

/// Bytes of those files, at most (one file over it still goes alone). This
/// thread sets the pace with many small files, so what waits only evens out
/// jitter: 512 KiB measured as fast as 1 MiB (10,000 files of 4 KiB, since
/// their hashing moved to the connection's thread) and the receiver's peak
/// RSS 0.66 MiB lower; 2 MiB was no faster either.
const MAX_IN_FLIGHT_BYTES: u64 = 512 * 1024;

/// Folders those files are in, at most: each job keeps its folder open, and
/// a tree of one file per folder must not hold hundreds of descriptors per
/// transfer (there may be many transfers at once).
const MAX_FOLDERS_IN_FLIGHT: usize = 4;

/// A complete small file and what it must be.
pub(super) struct Job {
    pub plan: FilePlan,
    /// The open folder `plan.final_path` is in.
    pub folder: Arc<Folder>,
    pub bytes: Vec<u8>,
    /// The SHA-256 of `bytes`, taken as they arrived: hashing them there,
    /// while each frame is still in the cache, left this thread (which sets
    /// the pace with many small files) a sixth less to do.
    pub digest: [u8; 32],
    /// The sender's SHA-256 of the file.
    pub sha256: [u8; 32],
}

/// What became of a [`Job`].
pub(super) enum Landed {
    /// Checked and named; the path it took.
    Verified(FilePlan, PathBuf),
    /// Its size or SHA-256 did not match: nothing was written.
    Mismatch(FilePlan),
    /// It could not be named (the reason, for the sender's verdict).
    Failed(FilePlan, String),
    /// The disk refused it (full, read-only): the transfer must stop.
    Stopped(String),
}

/// The landing thread and the files on their way through it.
#[derive(Default)]
pub(super) struct Lander {
    jobs: Option<Sender<Job>>,
    results: Option<Receiver<Landed>>,
    thread: Option<JoinHandle<()>>,
    /// The files handed over, oldest first.
    in_flight: VecDeque<InFlight>,
    bytes: u64,
    /// Jobs in flight whose folder differs from the job's before it.
    folders: usize,
    /// The folder of the last job handed over (weak: only to compare).
    last_folder: Option<Weak<Folder>>,
    /// Results of files landed on the caller's thread (no thread could start).
    landed_here: VecDeque<Landed>,
}

struct InFlight {
    index: u32,
    size: u64,
    /// Its folder differs from the job's before it.
    new_folder: bool,
}

impl Lander {
    /// Whether `job` can be handed over without waiting.
    pub fn has_room(&self, job: &Job) -> bool {
        self.in_flight.is_empty()
            || (self.in_flight.len() < MAX_IN_FLIGHT
                && self.bytes.saturating_add(job.plan.size) <= MAX_IN_FLIGHT_BYTES
                && (!self.is_new_folder(&job.folder) || self.folders < MAX_FOLDERS_IN_FLIGHT))
    }

    fn is_new_folder(&self, folder: &Arc<Folder>) -> bool {
        self.last_folder
            .as_ref()
            .is_none_or(|last| !std::ptr::eq(last.as_ptr(), Arc::as_ptr(folder)))
    }

    /// Hands `job` over; call only when [`Lander::has_room`].
    pub fn hand_over(&mut self, job: Job) {
        let new_folder = self.is_new_folder(&job.folder);
        if new_folder {
            self.folders += 1;
            self.last_folder = Some(Arc::downgrade(&job.folder));
        }
        self.in_flight.push_back(InFlight {
            index: job.plan.index,
            size: job.plan.size,
            new_folder,
        });
        self.bytes = self.bytes.saturating_add(job.plan.size);
        let job = match self.sender() {
            Some(jobs) => match jobs.send(job) {
                Ok(()) => return,
                Err(back) => back.into_inner(),
            },
            None => job,
        };
        // No thread: land it here, the way it would have been there.
        self.landed_here.push_back(land(job));
    }

    /// The oldest file handed over and not yet taken back, if any.
    pub fn oldest(&self) -> Option<u32> {
        self.in_flight.front().map(|job| job.index)
    }

    /// The next result if one is ready (`wait`: waits for it while files are
    /// in flight). `None` when nothing is (or, waiting, nothing is left).
    pub fn next(&mut self, wait: bool) -> Option<Landed> {
        if self.in_flight.is_empty() {
            return None;
        }
        let landed = match self.landed_here.pop_front() {
            Some(landed) => Some(landed),
            None => {
                let results = self.results.as_ref()?;
                if wait {
                    results.recv().ok()
                } else {
                    results.try_recv().ok()
                }
            }
        };
        match landed {
            Some(landed) => {
                if let Some(job) = self.in_flight.pop_front() {
                    self.bytes = self.bytes.saturating_sub(job.size);
                    self.folders -= usize::from(job.new_folder);
                }
                Some(landed)
            }
            None if wait => {
                // The thread is gone without answering (it cannot panic by
                // design; if it did, its files never got a name).
                self.in_flight.clear();
                self.bytes = 0;
                self.folders = 0;
                None
            }
            None => None,
        }
    }

    /// Lands what was handed over, stops the thread and gives back every
    /// result not yet taken.
    pub fn finish(&mut self) -> Vec<Landed> {
        self.jobs = None;
        let mut left = Vec::with_capacity(self.in_flight.len());
        while let Some(landed) = self.next(true) {
            left.push(landed);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        left
    }

    fn sender(&mut self) -> Option<&Sender<Job>> {
        if self.thread.is_none() && self.jobs.is_none() {
            let (jobs, queued) = crossbeam_channel::bounded::<Job>(MAX_IN_FLIGHT);
            // Never full: each result answers a job counted in `in_flight`,
            // so the thread never waits on the caller (who may be waiting
            // for room to hand a job over).
            let (done, results) = crossbeam_channel::bounded(MAX_IN_FLIGHT);
            let thread = std::thread::Builder::new()
                .name("ferry-land".into())
                .spawn(move || {
                    for job in queued {
                        if done.send(land(job)).is_err() {
                            return;
                        }
                    }
                })
                .ok()?;
            self.thread = Some(thread);
            self.jobs = Some(jobs);
            self.results = Some(results);
        }
        self.jobs.as_ref()
    }
}

impl Drop for Lander {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Checks one file and lands it; what went wrong is told in the result.
fn land(job: Job) -> Landed {
    let Job {
        plan,
        folder,
        bytes,
        digest,
        sha256,
    } = job;
    if bytes.len() as u64 != plan.size || digest != sha256 {
        return Landed::Mismatch(plan);
    }
    match write_and_name(&plan, &folder, &bytes) {
        Ok(path) => Landed::Verified(plan, path),
        Err(Trouble::Name(e)) => {
            let reason = format!("cannot be renamed into place: {e}");
            Landed::Failed(plan, reason)
        }
        Err(Trouble::Disk(what, e)) => {
            let reason = format!("Cannot {what} {}: {}.", plan.display(), describe_io(&e));
            Landed::Stopped(reason)
        }
    }
}

enum Trouble {
    Name(io::Error),
    Disk(&'static str, io::Error),
}

/// Writes the verified `bytes` and names them `plan.final_path` (or the
/// next free numbered name): unnamed first where the folder allows, else
/// through a partial name that is removed if the write fails.
fn write_and_name(plan: &FilePlan, folder: &Folder, bytes: &[u8]) -> Result<PathBuf, Trouble> {
    let time = plan.modified_ms.and_then(time_from_ms);
    if let Some(mut file) = folder.create_unnamed() {
        file.write_all(bytes)
            .map_err(|e| Trouble::Disk("write", e))?;
        if let Some(time) = time {
            let _ = file.set_modified(time);
        }
        return link_into_place(folder, plan, &file).map_err(Trouble::Name);
    }
    let name = plan.final_path.file_name().unwrap_or_default();
    let part = folder::part_name(name);
    let mut file = folder
        .create_new(&part)
        .map_err(|e| Trouble::Disk("create", e))?;
    if let Err(e) = file.write_all(bytes) {
        drop(file);
        resume::discard_part(plan);
        return Err(Trouble::Disk("write", e));
    }
    if let Some(time) = time {
        let _ = file.set_modified(time);
    }
    drop(file);
    match folder.rename_no_replace(&part, name) {
        Ok(true) => Ok(plan.final_path.clone()),
        _ => resume::promote(plan).map_err(Trouble::Name),
    }
}

/// Writes what arrived of a held file that will not be completed under its
/// partial name, so a resume continues it like any other partial; never
/// replaces anything, and leaves nothing if the write fails.
pub(super) fn keep_partial(plan: &FilePlan, folder: &Folder, bytes: &[u8]) -> io::Result<()> {
    let name = plan.final_path.file_name().unwrap_or_default();
    let mut file = folder.create_new(&folder::part_name(name))?;
    if let Err(e) = file.write_all(bytes) {
        drop(file);
        resume::discard_part(plan);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn plan(dir: &std::path::Path, index: u32, name: &str, size: u64) -> FilePlan {
        FilePlan {
            index,
            root_depth: dir.components().count() as u16,
            final_path: dir.join(name),
            size,
            modified_ms: Some(1_600_000_000_000),
            offset: 0,
            already_final: false,
            stale_part: false,
            kept_part: false,
        }
    }

    fn job(folder: &Arc<Folder>, index: u32, name: &str, bytes: &[u8]) -> Job {
        Job {
            plan: plan(folder.path(), index, name, bytes.len() as u64),
            folder: folder.clone(),
            bytes: bytes.to_vec(),
            digest: Sha256::digest(bytes).into(),
            sha256: Sha256::digest(bytes).into(),
        }
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn bytes_that_do_not_match_never_get_a_name() {
        let dir = tempfile::tempdir().expect("tmp");
        let folder = Arc::new(Folder::open(dir.path()).expect("open"));
        let mut wrong_hash = job(&folder, 0, "a.txt", b"hello");
        wrong_hash.sha256 = Sha256::digest(b"other").into();
        assert!(matches!(land(wrong_hash), Landed::Mismatch(p) if p.index == 0));
        let mut short = job(&folder, 1, "b.txt", b"hello");
        short.plan.size = 6;
        assert!(matches!(land(short), Landed::Mismatch(p) if p.index == 1));
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    }

    #[test]
    fn a_name_taken_meanwhile_is_never_replaced() {
        let dir = tempfile::tempdir().expect("tmp");
        let folder = Arc::new(Folder::open(dir.path()).expect("open"));
        std::fs::write(dir.path().join("a.txt"), b"theirs").expect("write");
        let Landed::Verified(_, path) = land(job(&folder, 0, "a.txt", b"ours")) else {
            panic!("must land under another name")
        };
        assert_ne!(path, dir.path().join("a.txt"));
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).expect("read"),
            b"theirs"
        );
        assert_eq!(std::fs::read(&path).expect("read"), b"ours");
        assert_eq!(names(dir.path()).len(), 2, "{:?}", names(dir.path()));
        let modified = std::fs::metadata(&path)
            .expect("meta")
            .modified()
            .expect("time");
        assert_eq!(time_from_ms(1_600_000_000_000), Some(modified));
    }

    #[test]
    fn a_folder_without_unnamed_files_lands_through_a_partial_name() {
        let dir = tempfile::tempdir().expect("tmp");
        let folder = Folder::open(dir.path()).expect("open");
        // As on a file system without O_TMPFILE: the partial-name path.
        folder.forget_unnamed();
        let folder = Arc::new(folder);
        let Landed::Verified(_, path) = land(job(&folder, 0, "a.txt", b"ours")) else {
            panic!("must land")
        };
        assert_eq!(path, dir.path().join("a.txt"));
        assert_eq!(std::fs::read(&path).expect("read"), b"ours");
        assert_eq!(names(dir.path()), ["a.txt"]);
    }

    #[test]
    fn results_come_back_in_order_and_what_waits_is_bounded() {
        let dir = tempfile::tempdir().expect("tmp");
        let folder = Arc::new(Folder::open(dir.path()).expect("open"));
        let mut lander = Lander::default();
        let mut landed = Vec::new();
        let total = MAX_IN_FLIGHT as u32 + 44;
        for index in 0..total {
            let body = format!("file {index}");
            let job = job(&folder, index, &format!("f{index}"), body.as_bytes());
            while !lander.has_room(&job) {
                assert_eq!(lander.in_flight.len(), MAX_IN_FLIGHT);
                landed.push(lander.next(true).expect("a result"));
            }
            lander.hand_over(job);
            assert!(lander.bytes <= MAX_IN_FLIGHT_BYTES);
        }
        landed.extend(lander.finish());
        assert!(lander.next(true).is_none());
        let order: Vec<u32> = landed
            .iter()
            .map(|l| match l {
                Landed::Verified(plan, _) => plan.index,
                _ => panic!("every file must verify"),
            })
            .collect();
        assert_eq!(order, (0..total).collect::<Vec<_>>());
        for index in 0..total {
            let got = std::fs::read(dir.path().join(format!("f{index}"))).expect("read");
            assert_eq!(got, format!("file {index}").as_bytes());
        }
        // Big files: the byte bound, not the count, makes room run out.
        let big = vec![7u8; MAX_HELD_BYTES as usize];
        let mut count = 0;
        loop {
            let next = job(&folder, count, &format!("big{count}"), &big);
            if !lander.has_room(&next) {
                break;
            }
            lander.hand_over(next);
            count += 1;
        }
        assert_eq!(u64::from(count), MAX_IN_FLIGHT_BYTES / MAX_HELD_BYTES);
        assert_eq!(lander.finish().len(), count as usize);
    }

    #[test]
    fn few_folders_are_held_open_at_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut lander = Lander::default();
        let mut handed = 0;
        for index in 0..40u32 {
            // One file per folder, as in a tree of tiny folders.
            let path = dir.path().join(format!("d{index}"));
            std::fs::create_dir(&path).expect("mkdir");
            let folder = Arc::new(Folder::open(&path).expect("open"));
            let next = job(&folder, index, "f", b"x");
            if !lander.has_room(&next) {
                break;
            }
            lander.hand_over(next);
            handed += 1;
        }
        assert_eq!(handed, MAX_FOLDERS_IN_FLIGHT);
        // A folder opened again is another descriptor, so another folder;
        // more files of the same open folder always fit.
        let last = Arc::new(Folder::open(&dir.path().join("d3")).expect("open"));
        let first = job(&last, 100, "g", b"y");
        assert!(
            !lander.has_room(&first),
            "another Arc is another descriptor"
        );
        let landed = lander.finish();
        assert_eq!(landed.len(), MAX_FOLDERS_IN_FLIGHT);
        lander.hand_over(first);
        let same = job(&last, 101, "h", b"z");
        assert!(lander.has_room(&same));
        lander.hand_over(same);
        assert_eq!(lander.finish().len(), 2);
        assert_eq!(std::fs::read(dir.path().join("d3/h")).expect("read"), b"z");
    }
}
