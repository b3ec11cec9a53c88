//! Counting what a person picked, for the offer: one entry per picked file
//! or folder and, for each folder, how many files and folders it holds,
//! their bytes and a fingerprint. A folder is counted by a few threads at
//! once, each taking folders from a shared, bounded queue: before the offer
//! nothing else runs, and stat-ing every entry on one core left the others
//! idle for a tenth of the time a folder of 10,000 small files takes to
//! cross. Only counts are kept, never the list, so memory does not grow with
//! the number of files. It reads metadata only; it opens no file and no
//! socket. What counts as an entry is [`super::source::classify`]'s, the same as
//! the listing's ([`super::source::walk`]), so the offer counts what is listed.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crossbeam_channel::bounded;
use sha2::{Digest, Sha256};

use super::source::{
    Found, SourceEntry, SourceError, classify, file_entry, modified_ms, name_of, unreadable,
};
use crate::protocol::limits::{MAX_OFFER_ITEMS, MAX_PATH_DEPTH};
use crate::protocol::{Contents, Entry, EntryKind};

/// How far counting what was picked has come: files and their bytes so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    /// Files counted.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Entries counted between two calls of a [`summarize_watched`] watcher:
/// often enough for ten reports a second on a slow disk, rarely enough to
/// cost nothing on a fast one.
const WATCH_EVERY: u64 = 256;

/// Threads counting one folder, at most (fewer on fewer cores). On a disk,
/// more requests in flight help too; past a few, the folders' locks in the
/// kernel do not.
const MAX_COUNTERS: usize = 4;

/// Folders waiting for a counter, at most: past that a counter enters a
/// folder it finds itself, so a folder of a million folders does not queue
/// a million paths.
const MAX_QUEUED: usize = 256;

/// Entries a counter tallies on its own before adding them to the shared
/// running count (one lock per entry would make the counters take turns).
const TALLY_EVERY: u64 = 16;

// A report falls due at most once per tally added, so none is skipped.
const _: () = assert!(TALLY_EVERY < WATCH_EVERY);

/// The offer's top-level side of what a person picked: one entry per
/// picked file or folder, where its bytes are, and what each folder holds.
#[derive(Debug, Default)]
pub struct Outline {
    /// The top-level entries, in the order picked.
    pub entries: Vec<SourceEntry>,
    /// What each folder among `entries` holds, in order.
    pub contents: Vec<Contents>,
    /// Where each folder among `entries` is, in order.
    pub folders: Vec<PathBuf>,
}

/// Summarises files and folders picked by a person: their top-level entries
/// and, for each folder, the counts, bytes and fingerprint of everything
/// inside it. Folders are counted here and walked again while sending
/// ([`super::source::walk`]); nothing of the count is kept.
pub fn summarize(paths: &[PathBuf]) -> Result<Outline, SourceError> {
    summarize_watched(paths, &mut |_| true)
}

/// [`summarize`], telling `go_on` the running count each time another
/// [`WATCH_EVERY`] entries inside folders are counted (a million files on a
/// cold disk take minutes to count); the count stops with
/// [`SourceError::Stopped`] when `go_on` returns false.
pub fn summarize_watched(
    paths: &[PathBuf],
    go_on: &mut dyn FnMut(Counted) -> bool,
) -> Result<Outline, SourceError> {
    if paths.is_empty() {
        return Err(SourceError::Empty);
    }
    if paths.len() > MAX_OFFER_ITEMS {
        return Err(SourceError::TooMany);
    }
    let mut outline = Outline::default();
    let mut progress = Progress::default();
    for top in paths {
        let top_name = name_of(top)?;
        let meta = std::fs::metadata(top).map_err(|e| unreadable(top, e))?;
        if meta.is_file() {
            progress.counted.files += 1;
            progress.counted.bytes = progress.counted.bytes.saturating_add(meta.len());
            outline
                .entries
                .push(file_entry(vec![top_name], &meta, top.clone()));
        } else if meta.is_dir() {
            let counters = std::thread::available_parallelism()
                .map_or(1, NonZeroUsize::get)
                .clamp(1, MAX_COUNTERS);
            let (contents, after) = count_folder(top, &top_name, progress, go_on, counters)?;
            progress = after;
            outline.entries.push(SourceEntry {
                entry: Entry {
                    path: vec![top_name],
                    kind: EntryKind::Directory,
                    size: 0,
                    modified_ms: modified_ms(&meta),
                },
                local: None,
            });
            outline.contents.push(contents);
            outline.folders.push(top.clone());
        } else {
            tracing::info!(path = %top.display(), "skipping: not a file or folder");
        }
    }
    if outline.entries.is_empty() {
        return Err(SourceError::Empty);
    }
    Ok(outline)
}

/// The fingerprint of a folder's listing (docs/PROTOCOL.md, `Contents`):
/// the SHA-256 of the sum, modulo 2^256, of each entry's SHA-256 over its
/// path, size, time and kind. A sum does not depend on the order entries
/// are added in, so counters working side by side find the same
/// fingerprint as the listing, which comes in another order.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fingerprint {
    /// The sum, least significant 64 bits first.
    sum: [u64; 4],
}

impl Fingerprint {
    /// Adds an entry of the listing.
    pub fn add(&mut self, entry: &Entry) {
        let mut hash = Sha256::new();
        for (i, name) in entry.path.iter().enumerate() {
            if i > 0 {
                hash.update(b"/");
            }
            hash.update(name.as_bytes());
        }
        self.add_tail(
            hash,
            entry.size,
            entry.modified_ms,
            entry.kind == EntryKind::Directory,
        );
    }

    /// Adds entry `name` of the folder whose path in the offer is `folder`
    /// (its names joined with `/`): the same as [`Fingerprint::add`] of it.
    fn add_named(&mut self, folder: &str, name: &str, size: u64, time: Option<i64>, dir: bool) {
        let mut hash = Sha256::new();
        hash.update(folder.as_bytes());
        hash.update(b"/");
        hash.update(name.as_bytes());
        self.add_tail(hash, size, time, dir);
    }

    fn add_tail(&mut self, mut hash: Sha256, size: u64, time: Option<i64>, dir: bool) {
        hash.update([0]);
        hash.update(size.to_le_bytes());
        hash.update(time.unwrap_or(i64::MIN).to_le_bytes());
        hash.update([u8::from(dir)]);
        let digest: [u8; 32] = hash.finalize().into();
        let mut limbs = [0u64; 4];
        for (limb, bytes) in limbs.iter_mut().zip(digest.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(bytes);
            *limb = u64::from_le_bytes(le);
        }
        self.merge(&Fingerprint { sum: limbs });
    }

    /// Adds everything `other` holds.
    fn merge(&mut self, other: &Fingerprint) {
        let mut carry = false;
        for (mine, theirs) in self.sum.iter_mut().zip(other.sum) {
            let (sum, over) = mine.overflowing_add(theirs);
            let (sum, over_again) = sum.overflowing_add(u64::from(carry));
            *mine = sum;
            carry = over || over_again;
        }
    }

    /// The SHA-256 of the sum of everything added.
    pub fn finish(self) -> [u8; 32] {
        let mut hash = Sha256::new();
        for limb in self.sum {
            hash.update(limb.to_le_bytes());
        }
        hash.finalize().into()
    }
}

/// The running count shared by a folder's counters.
#[derive(Debug, Default, Clone, Copy)]
struct Progress {
    /// Entries inside folders counted so far (what reports are due by).
    seen: u64,
    /// Files and bytes so far, top-level files included.
    counted: Counted,
}

/// A folder waiting to be counted.
struct Folder {
    path: PathBuf,
    /// Its path in the offer, names joined with `/`.
    offered: String,
    /// How many names that path has.
    depth: usize,
}

/// What one counter found, and what it has not yet added to the running count.
#[derive(Default)]
struct Tally {
    files: u64,
    folders: u64,
    bytes: u64,
    print: Fingerprint,
    unreported: Progress,
}

/// What a folder's counters share.
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a folder is queued, when the last busy counter is
    /// done, and on a stop.
    changed: Condvar,
    stopped: AtomicBool,
    progress: Mutex<Progress>,
}

struct Queue {
    folders: Vec<Folder>,
    /// Counters inside a folder they took from the queue.
    busy: usize,
    /// The first error, which stopped the count.
    error: Option<SourceError>,
}

/// Counts folder `top` (named `top_name` in the offer) on `counters`
/// threads, `progress` being the count so far, reported to `go_on` as it
/// grows. Returns what the folder holds and the count after it.
fn count_folder(
    top: &Path,
    top_name: &str,
    progress: Progress,
    go_on: &mut dyn FnMut(Counted) -> bool,
    counters: usize,
) -> Result<(Contents, Progress), SourceError> {
    let shared = Shared {
        queue: Mutex::new(Queue {
            folders: vec![Folder {
                path: top.to_path_buf(),
                offered: top_name.to_string(),
                depth: 1,
            }],
            busy: 0,
            error: None,
        }),
        changed: Condvar::new(),
        stopped: AtomicBool::new(false),
        progress: Mutex::new(progress),
    };
    let tallies = std::thread::scope(|scope| {
        // Reports wait here for this thread, which alone may call `go_on`.
        let (reports, due) = bounded::<Counted>(16);
        let mut running = Vec::new();
        for n in 0..counters {
            let (shared, reports) = (&shared, reports.clone());
            let counter = std::thread::Builder::new()
                .name(format!("ferry-count-{n}"))
                .spawn_scoped(scope, move || {
                    count(shared, &mut |counted| {
                        let _ = reports.send(counted);
                    })
                });
            match counter {
                Ok(counter) => running.push(counter),
                Err(e) => tracing::warn!("counting on fewer threads: {e}"),
            }
        }
        drop(reports);
        if running.is_empty() {
            let alone = count(&shared, &mut |counted| {
                if !go_on(counted) {
                    shared.stop(SourceError::Stopped);
                }
            });
            return vec![alone];
        }
        for counted in due {
            if !shared.stopped.load(Ordering::Relaxed) && !go_on(counted) {
                shared.stop(SourceError::Stopped);
            }
        }
        running
            .into_iter()
            .map(|counter| {
                counter
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
            })
            .collect::<Vec<Tally>>()
    });
    let queue = shared
        .queue
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(error) = queue.error {
        return Err(error);
    }
    let mut contents = Contents::default();
    let mut print = Fingerprint::default();
    for tally in &tallies {
        contents.files += tally.files;
        contents.folders += tally.folders;
        contents.bytes = contents.bytes.saturating_add(tally.bytes);
        print.merge(&tally.print);
    }
    contents.fingerprint = print.finish();
    let after = shared
        .progress
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    Ok((contents, after))
}

/// One counter: takes folders from the queue until none is left (or the
/// count stopped) and returns what it found.
fn count(shared: &Shared, report: &mut dyn FnMut(Counted)) -> Tally {
    let mut tally = Tally::default();
    while let Some(folder) = shared.next_folder() {
        let taken = Taken(shared);
        let counted = count_in(shared, &folder, &mut tally, report);
        std::mem::forget(taken);
        shared.done_with(counted);
    }
    tally.add_to_running(shared, report);
    tally
}

/// Counts the entries of `folder`; a folder found inside is queued for any
/// counter, or, when the queue is full, counted right here.
fn count_in(
    shared: &Shared,
    folder: &Folder,
    tally: &mut Tally,
    report: &mut dyn FnMut(Counted),
) -> Result<(), SourceError> {
    let listing = std::fs::read_dir(&folder.path).map_err(|e| unreadable(&folder.path, e))?;
    for item in listing {
        if shared.stopped.load(Ordering::Relaxed) {
            return Ok(());
        }
        let item = item.map_err(|e| unreadable(&folder.path, e))?;
        let os_name = item.file_name();
        let Some(name) = os_name.to_str() else {
            return Err(SourceError::NotUnicode(folder.path.join(&os_name)));
        };
        // As the listing: nothing below the deepest path the protocol allows.
        if folder.depth >= MAX_PATH_DEPTH {
            continue;
        }
        match classify(&item, &folder.path)? {
            Some(Found::Folder { modified_ms }) => {
                tally.folders += 1;
                (tally.print).add_named(&folder.offered, name, 0, modified_ms, true);
                let inside = Folder {
                    path: folder.path.join(&os_name),
                    offered: format!("{}/{name}", folder.offered),
                    depth: folder.depth + 1,
                };
                if let Some(inside) = shared.queue_or_return(inside) {
                    count_in(shared, &inside, tally, report)?;
                }
            }
            Some(Found::File(meta)) => {
                let (size, time) = (meta.len(), modified_ms(&meta));
                tally.files += 1;
                tally.bytes = tally.bytes.saturating_add(size);
                (tally.print).add_named(&folder.offered, name, size, time, false);
                tally.unreported.counted.files += 1;
                tally.unreported.counted.bytes =
                    tally.unreported.counted.bytes.saturating_add(size);
            }
            None => continue,
        }
        tally.unreported.seen += 1;
        if tally.unreported.seen >= TALLY_EVERY {
            tally.add_to_running(shared, report);
        }
    }
    Ok(())
}

/// A folder a counter took from the queue. Dropped only if counting it
/// panicked: the others must not wait for it (they would wait forever for
/// the last busy counter), and the panic reaches the caller when the
/// counter is joined.
struct Taken<'a>(&'a Shared);

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.0.done_with(Err(SourceError::Stopped));
    }
}

impl Tally {
    /// Adds what this counter found since it last did to the running count,
    /// and reports the count if that crossed another [`WATCH_EVERY`]
    /// entries (under the lock, so reports leave in order).
    fn add_to_running(&mut self, shared: &Shared, report: &mut dyn FnMut(Counted)) {
        let new = std::mem::take(&mut self.unreported);
        if new.seen == 0 {
            return;
        }
        let mut progress = lock(&shared.progress);
        let before = progress.seen;
        progress.seen += new.seen;
        progress.counted.files += new.counted.files;
        progress.counted.bytes = progress.counted.bytes.saturating_add(new.counted.bytes);
        if before / WATCH_EVERY != progress.seen / WATCH_EVERY {
            report(progress.counted);
        }
    }
}

impl Shared {
    /// The next folder to count, waiting while other counters may still
    /// queue some; `None` once all is counted or the count stopped.
    fn next_folder(&self) -> Option<Folder> {
        let mut queue = lock(&self.queue);
        loop {
            if self.stopped.load(Ordering::Relaxed) {
                return None;
            }
            if let Some(folder) = queue.folders.pop() {
                queue.busy += 1;
                return Some(folder);
            }
            if queue.busy == 0 {
                return None;
            }
            queue = self
                .changed
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// A counter finished a folder it took from the queue.
    fn done_with(&self, counted: Result<(), SourceError>) {
        let mut queue = lock(&self.queue);
        queue.busy -= 1;
        if let Err(e) = counted {
            queue.error.get_or_insert(e);
            self.stopped.store(true, Ordering::Relaxed);
        }
        if queue.busy == 0 || self.stopped.load(Ordering::Relaxed) {
            self.changed.notify_all();
        }
    }

    /// Queues `folder` for any counter; hands it back when the queue is full.
    fn queue_or_return(&self, folder: Folder) -> Option<Folder> {
        let mut queue = lock(&self.queue);
        if queue.folders.len() >= MAX_QUEUED {
            return Some(folder);
        }
        queue.folders.push(folder);
        self.changed.notify_one();
        None
    }

    /// Stops every counter; `why` is what the count ends with (unless an
    /// error came first).
    fn stop(&self, why: SourceError) {
        let mut queue = lock(&self.queue);
        queue.error.get_or_insert(why);
        self.stopped.store(true, Ordering::Relaxed);
        self.changed.notify_all();
    }
}

/// A counter that panicked stops the count (its panic is raised again when
/// it is joined); the others only need the data it guarded.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A count of 1,000 files in ten folders and one picked file: the
    /// watcher sees the running count grow (every 256 entries), the outline
    /// has the same totals, and a watcher that says stop ends the count with
    /// `Stopped` at its first call.
    #[test]
    fn a_watched_count_reports_as_it_goes_and_stops_when_told() {
        let dir = tempfile::tempdir().expect("tmp");
        let top = dir.path().join("top");
        for i in 0..1000 {
            let folder = top.join(format!("d{}", i % 10));
            std::fs::create_dir_all(&folder).expect("mkdir");
            std::fs::write(folder.join(format!("{i:04}")), [1u8; 3]).expect("write");
        }
        let single = dir.path().join("single.bin");
        std::fs::write(&single, [2u8; 100]).expect("write");
        let picked = [single, top];
        let mut seen = Vec::new();
        let outline = summarize_watched(&picked, &mut |counted| {
            seen.push(counted);
            true
        })
        .expect("count");
        // 1,010 entries in the folder: calls after 256, 512 and 768.
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0].files < w[1].files), "{seen:?}");
        assert!(
            seen.iter().all(|c| c.bytes == 100 + (c.files - 1) * 3),
            "{seen:?}"
        );
        assert_eq!(outline.contents[0].files, 1000);
        assert_eq!(outline.contents[0].bytes, 3000);
        let mut calls = 0;
        let stopped = summarize_watched(&picked, &mut |_| {
            calls += 1;
            false
        });
        assert!(matches!(stopped, Err(SourceError::Stopped)), "{stopped:?}");
        assert_eq!(calls, 1);
    }

    /// A tree with folders to spare (more than the queue holds), nested
    /// folders, an empty one, links and a name nested too deep: counted on
    /// one thread and on four, it has the counts and the fingerprint of the
    /// listing, which walks it in another order.
    #[cfg(unix)]
    #[test]
    fn counters_side_by_side_agree_with_the_listing() {
        let dir = tempfile::tempdir().expect("tmp");
        let top = dir.path().join("top");
        for i in 0..MAX_QUEUED + 60 {
            let folder = top.join(format!("d{i:03}"));
            std::fs::create_dir_all(folder.join("inner")).expect("mkdir");
            std::fs::write(folder.join("a"), vec![1u8; i % 7]).expect("write");
            std::fs::write(folder.join("inner/b"), vec![2u8; i % 5 + 1]).expect("write");
        }
        std::fs::create_dir_all(top.join("empty")).expect("mkdir");
        let mut deep = top.clone();
        for i in 0..MAX_PATH_DEPTH + 1 {
            deep.push(format!("{i}"));
        }
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::write(deep.join("lost.txt"), b"x").expect("write");
        let outside = dir.path().join("outside.bin");
        std::fs::write(&outside, [3u8; 99]).expect("write");
        std::os::unix::fs::symlink(&outside, top.join("link-to-file")).expect("link");
        std::os::unix::fs::symlink(dir.path(), top.join("link-to-folder")).expect("link");
        let mut listed = Contents::default();
        let mut print = Fingerprint::default();
        for item in super::super::source::walk(top.clone(), "top".into()) {
            let entry = item.expect("walk").entry;
            print.add(&entry);
            match entry.kind {
                EntryKind::File => {
                    listed.files += 1;
                    listed.bytes += entry.size;
                }
                _ => listed.folders += 1,
            }
        }
        listed.fingerprint = print.finish();
        assert_eq!(listed.files, (MAX_QUEUED as u64 + 60) * 2 + 1);
        for counters in [1, 4] {
            let (counted, after) =
                count_folder(&top, "top", Progress::default(), &mut |_| true, counters)
                    .expect("count");
            assert_eq!(counted, listed, "{counters} counters");
            assert_eq!(after.counted.files, listed.files);
            assert_eq!(after.counted.bytes, listed.bytes);
            assert_eq!(after.seen, listed.files + listed.folders);
        }
    }

    /// The fingerprint is a sum: the order entries come in does not matter,
    /// each entry's every part does, and so does every entry.
    #[test]
    fn the_fingerprint_depends_on_every_entry_and_not_on_their_order() {
        let entry = |path: &str, size: u64, time: Option<i64>, kind: EntryKind| Entry {
            path: path.split('/').map(String::from).collect(),
            kind,
            size,
            modified_ms: time,
        };
        let entries = [
            entry("top/a", 5, Some(7), EntryKind::File),
            entry("top/b", 0, None, EntryKind::Directory),
            entry("top/b/c", 9, Some(-3), EntryKind::File),
        ];
        let of = |entries: &[Entry]| {
            let mut print = Fingerprint::default();
            entries.iter().for_each(|e| print.add(e));
            print.finish()
        };
        let forward = of(&entries);
        let mut reversed = entries.clone();
        reversed.reverse();
        assert_eq!(of(&reversed), forward);
        let mut named = Fingerprint::default();
        named.add_named("top/b", "c", 9, Some(-3), false);
        named.add_named("top", "b", 0, None, true);
        named.add_named("top", "a", 5, Some(7), false);
        assert_eq!(named.finish(), forward);
        let changes = [
            entry("top/a", 6, Some(7), EntryKind::File),
            entry("top/a", 5, Some(8), EntryKind::File),
            entry("top/a", 5, None, EntryKind::File),
            entry("top/A", 5, Some(7), EntryKind::File),
            entry("top/a", 5, Some(7), EntryKind::Directory),
        ];
        for changed in changes {
            let mut other = entries.clone();
            other[0] = changed;
            assert_ne!(of(&other), forward, "{:?}", other[0]);
        }
        assert_ne!(of(&entries[1..]), forward);
        assert_ne!(of(&[]), forward);
    }
}
