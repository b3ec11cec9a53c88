//! The sending side's view of the disk: turning the paths a person picked
//! into an offer's top-level entries with what each folder holds, and
//! walking a folder lazily, parents first, for its listing and the files'
//! bytes. It never holds a whole folder's list; it reads metadata only and
//! never opens a socket.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::protocol::limits::{MAX_OFFER_ITEMS, MAX_PATH_DEPTH};
use crate::protocol::{Entry, EntryKind};

/// One offered entry and, for files, the local file behind it.
#[derive(Debug, Clone)]
pub struct SourceEntry {
    /// What goes on the wire.
    pub entry: Entry,
    /// Where the bytes are read from (files only).
    pub local: Option<PathBuf>,
}

/// Why the picked paths cannot be offered.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A path could not be read.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A path has no usable final name (e.g. `/` or `..`).
    #[error("{0} has no name that can be sent")]
    Nameless(PathBuf),
    /// A name is not valid UTF-8, which the protocol requires.
    #[error("the name of {0} is not valid Unicode")]
    NotUnicode(PathBuf),
    /// Too many separately picked items (folders hold any number).
    #[error(
        "too many items picked: at most {MAX_OFFER_ITEMS} files or folders can be picked at once \
         (pick the folder that holds them instead)"
    )]
    TooMany,
    /// Nothing picked.
    #[error("nothing to send")]
    Empty,
    /// The watcher of [`super::count::summarize_watched`] asked to stop (Cancel).
    #[error("stopped while counting the files")]
    Stopped,
}

pub(super) fn modified_ms(meta: &std::fs::Metadata) -> Option<i64> {
    let modified = meta.modified().ok()?;
    match modified.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).ok(),
        Err(before) => i64::try_from(before.duration().as_millis())
            .ok()
            .map(|ms| -ms),
    }
}

pub(super) fn name_of(path: &Path) -> Result<String, SourceError> {
    let name = path
        .file_name()
        .ok_or_else(|| SourceError::Nameless(path.to_path_buf()))?;
    name.to_str()
        .map(str::to_string)
        .ok_or_else(|| SourceError::NotUnicode(path.to_path_buf()))
}

/// Every entry of what a person picked, folders walked in full, parents
/// first and in name order: the whole list at once, for a snapshot that serves files by
/// index (the share page). A transfer never needs it: it uses
/// [`super::count::summarize`] and [`walk`], which hold no list.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<SourceEntry>, SourceError> {
    let outline = super::count::summarize(paths)?;
    let mut folders = outline.folders.iter();
    let mut out = Vec::new();
    for item in outline.entries {
        let is_folder = item.entry.kind == EntryKind::Directory;
        let name = item.entry.path.first().cloned().unwrap_or_default();
        out.push(item);
        if is_folder && let Some(top) = folders.next() {
            let from = out.len();
            for inside in walk(top.clone(), name) {
                out.push(inside?);
            }
            // Name order, parents first (a prefix sorts before what extends it).
            out[from..].sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
        }
    }
    Ok(out)
}

pub(super) fn unreadable(path: &Path, source: std::io::Error) -> SourceError {
    SourceError::Unreadable {
        path: path.to_path_buf(),
        source,
    }
}

/// Everything inside folder `top` (named `top_name` in the offer), lazily,
/// depth-first in the order the file system lists them (the same order each
/// time while nothing changes), parents before children; the folder itself
/// is not included. Not sorted: sorting would hold a whole folder's names,
/// and a folder may hold a million. Symlinks to files are sent as the file they point to;
/// symlinks to folders or to nothing are skipped (they can loop), as are
/// sockets, FIFOs, devices and paths nested deeper than the protocol allows.
/// Only the open folders along the current path are held, never the list.
pub fn walk(
    top: PathBuf,
    top_name: String,
) -> impl Iterator<Item = Result<SourceEntry, SourceError>> + Send + 'static {
    Walk {
        stack: vec![Level {
            listing: None,
            path: top,
            components: vec![top_name],
        }],
    }
}

/// A walk in progress. Each entry is looked at relative to its open folder
/// (`fstatat` on the folder's descriptor, through [`std::fs::DirEntry`]), so
/// the kernel does not walk the whole path again for each of a million
/// files, and its path in the offer is the folder's plus one name.
struct Walk {
    /// The folders being listed, outermost first.
    stack: Vec<Level>,
}

struct Level {
    /// Opened when its first entry is wanted (so a folder that cannot be
    /// read is listed itself first, then reported).
    listing: Option<std::fs::ReadDir>,
    path: PathBuf,
    components: Vec<String>,
}

impl Iterator for Walk {
    type Item = Result<SourceEntry, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let level = self.stack.last_mut()?;
            let listing = match &mut level.listing {
                Some(listing) => listing,
                None => match std::fs::read_dir(&level.path) {
                    Ok(listing) => level.listing.insert(listing),
                    Err(e) => {
                        let e = unreadable(&level.path, e);
                        return Some(Err(self.stop(e)));
                    }
                },
            };
            let Some(item) = listing.next() else {
                self.stack.pop();
                continue;
            };
            match self.visit(item) {
                Ok(Some(found)) => return Some(Ok(found)),
                Ok(None) => {}
                Err(e) => return Some(Err(self.stop(e))),
            }
        }
    }
}

impl Walk {
    /// Ends the walk after an error.
    fn stop(&mut self, e: SourceError) -> SourceError {
        self.stack.clear();
        e
    }

    /// One entry of the innermost folder: what to send of it, if anything.
    /// A folder is entered next.
    fn visit(
        &mut self,
        item: std::io::Result<std::fs::DirEntry>,
    ) -> Result<Option<SourceEntry>, SourceError> {
        let Some(level) = self.stack.last() else {
            return Ok(None);
        };
        let item = item.map_err(|e| unreadable(&level.path, e))?;
        let path = level.path.join(item.file_name());
        let Some(name) = item.file_name().to_str().map(str::to_string) else {
            return Err(SourceError::NotUnicode(path));
        };
        if level.components.len() >= MAX_PATH_DEPTH {
            tracing::warn!(path = %path.display(), "skipping: nested too deep");
            return Ok(None);
        }
        let mut components = Vec::with_capacity(level.components.len() + 1);
        components.extend_from_slice(&level.components);
        components.push(name);
        match classify(&item, &level.path)? {
            Some(Found::Folder { modified_ms }) => {
                let found = SourceEntry {
                    entry: Entry {
                        path: components.clone(),
                        kind: EntryKind::Directory,
                        size: 0,
                        modified_ms,
                    },
                    local: None,
                };
                self.stack.push(Level {
                    listing: None,
                    path,
                    components,
                });
                Ok(Some(found))
            }
            Some(Found::File(meta)) => Ok(Some(file_entry(components, &meta, path))),
            None => Ok(None),
        }
    }
}

/// What an entry of a folder is to a transfer (see [`classify`]).
pub(super) enum Found {
    /// A folder, entered (never a link to one).
    Folder {
        /// Its modification time.
        modified_ms: Option<i64>,
    },
    /// A regular file, or a link to one (the metadata is the file's).
    File(std::fs::Metadata),
}

/// Judges `item`, an entry of folder `dir`, the one way both the count
/// ([`super::count`]) and the listing ([`walk`]) do, so what the offer
/// counted is what the listing lists: folders are entered, regular files
/// and links to them are sent, links to folders or to nothing are skipped
/// (they can loop), as are sockets, FIFOs and devices.
pub(super) fn classify(item: &std::fs::DirEntry, dir: &Path) -> Result<Option<Found>, SourceError> {
    let path = || dir.join(item.file_name());
    let file_type = item.file_type().map_err(|e| unreadable(&path(), e))?;
    if file_type.is_dir() {
        let modified_ms = item.metadata().ok().as_ref().and_then(modified_ms);
        return Ok(Some(Found::Folder { modified_ms }));
    }
    if !(file_type.is_file() || file_type.is_symlink()) {
        return Ok(None);
    }
    // A link is judged by what it points to: only regular files are sent.
    let meta = if file_type.is_symlink() {
        std::fs::metadata(path())
    } else {
        item.metadata()
    };
    match meta {
        Ok(meta) if meta.is_file() => Ok(Some(Found::File(meta))),
        Ok(_) => {
            tracing::info!(path = %path().display(), "skipping a link to a folder or nothing");
            Ok(None)
        }
        Err(e) if file_type.is_symlink() => {
            tracing::info!(path = %path().display(), "skipping a link to nothing: {e}");
            Ok(None)
        }
        Err(e) => Err(unreadable(&path(), e)),
    }
}

/// Entries a walk on its own thread hands over at a time (one wake-up each:
/// a few microseconds against the ~20 µs it takes to stat 64 files).
const WALK_CHUNK: usize = 64;

/// Chunks a walk on its own thread may be ahead of its reader: with
/// [`WALK_CHUNK`], 256 entries. Each entry holds its path twice (offer
/// components and local path), ~300 bytes with the allocator's overhead, so
/// the walk keeps ~100 KiB ahead whatever the folder's size.
const WALK_AHEAD: usize = 4;

/// [`walk`] on a thread of its own named `thread`, a few chunks ahead of the
/// caller: reading folders and stat-ing their entries overlaps with what the
/// caller does with them (hashing, reading the files, the wire). The thread
/// stops after the first error and as soon as the iterator is dropped; it
/// holds at most [`WALK_AHEAD`] chunks. If no thread can be started, the
/// walk runs on the caller's.
pub fn walk_ahead(
    top: PathBuf,
    top_name: String,
    thread: String,
) -> Box<dyn Iterator<Item = Result<SourceEntry, SourceError>> + Send> {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Result<SourceEntry, SourceError>>>(WALK_AHEAD);
    let (walk_top, walk_name) = (top.clone(), top_name.clone());
    let started = std::thread::Builder::new().name(thread).spawn(move || {
        let mut chunk = Vec::with_capacity(WALK_CHUNK);
        for item in walk(walk_top, walk_name) {
            let failed = item.is_err();
            chunk.push(item);
            if chunk.len() == WALK_CHUNK || failed {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(WALK_CHUNK));
                if tx.send(full).is_err() || failed {
                    return;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = tx.send(chunk);
        }
    });
    match started {
        Ok(_) => Box::new(rx.into_iter().flatten()),
        Err(e) => {
            tracing::warn!("walking {} on the caller's thread: {e}", top.display());
            Box::new(walk(top, top_name))
        }
    }
}

pub(super) fn file_entry(
    path: Vec<String>,
    meta: &std::fs::Metadata,
    local: PathBuf,
) -> SourceEntry {
    SourceEntry {
        entry: Entry {
            path,
            kind: EntryKind::File,
            size: meta.len(),
            modified_ms: modified_ms(meta),
        },
        local: Some(local),
    }
}

/// A text message as an offer entry.
pub fn text_entry(text: String) -> SourceEntry {
    SourceEntry {
        entry: Entry {
            path: Vec::new(),
            kind: EntryKind::Text(text),
            size: 0,
            modified_ms: None,
        },
        local: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::count::summarize;
    use super::*;

    /// Many files plus links: every size lands on its own entry, in walk
    /// order, only links to regular files are kept (as the file they point
    /// to), and the summary counts exactly what the walk lists.
    #[cfg(unix)]
    #[test]
    fn sizes_land_on_their_entries_and_links_are_judged() {
        let dir = tempfile::tempdir().expect("tmp");
        let top = dir.path().join("top");
        std::fs::create_dir_all(top.join("sub")).expect("mkdir");
        const FILES: usize = 5000;
        for i in 0..FILES {
            std::fs::write(top.join(format!("sub/{i:05}")), vec![7u8; i % 13]).expect("write");
        }
        let outside = dir.path().join("outside.bin");
        std::fs::write(&outside, [1u8; 321]).expect("write");
        std::os::unix::fs::symlink(&outside, top.join("link-to-file")).expect("link");
        std::os::unix::fs::symlink(dir.path(), top.join("link-to-folder")).expect("link");
        std::os::unix::fs::symlink(dir.path().join("gone"), top.join("link-to-nothing"))
            .expect("link");
        let entries = collect(&[top]).expect("collect");
        let listed: Vec<(String, u64)> = entries
            .iter()
            .map(|e| (e.entry.path.join("/"), e.entry.size))
            .collect();
        let mut expected = vec![
            ("top".to_string(), 0),
            ("top/link-to-file".to_string(), 321),
        ];
        expected.push(("top/sub".into(), 0));
        expected.extend((0..FILES).map(|i| (format!("top/sub/{i:05}"), (i % 13) as u64)));
        assert_eq!(listed, expected);
        assert_eq!(
            entries[1].local.as_deref(),
            Some(dir.path().join("top/link-to-file").as_path())
        );
        let outline = summarize(&[dir.path().join("top")]).expect("summary");
        let contents = outline.contents[0];
        assert_eq!(contents.files, FILES as u64 + 1);
        assert_eq!(contents.folders, 1);
        let bytes: u64 = (0..FILES).map(|i| (i % 13) as u64).sum::<u64>() + 321;
        assert_eq!(contents.bytes, bytes);
        // The same folder walked again has the same fingerprint; a change does not.
        let again = summarize(&[dir.path().join("top")]).expect("summary");
        assert_eq!(again.contents[0].fingerprint, contents.fingerprint);
        std::fs::write(dir.path().join("top/sub/00000"), b"new").expect("write");
        let changed = summarize(&[dir.path().join("top")]).expect("summary");
        assert_ne!(changed.contents[0].fingerprint, contents.fingerprint);
    }

    #[test]
    fn folders_are_walked_parents_first_in_name_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let top = dir.path().join("top");
        std::fs::create_dir_all(top.join("b/empty")).expect("mkdir");
        std::fs::write(top.join("b/z.txt"), b"z").expect("write");
        std::fs::write(top.join("a.txt"), b"aa").expect("write");
        let entries = collect(&[top]).expect("collect");
        let listed: Vec<(String, u64)> = entries
            .iter()
            .map(|e| (e.entry.path.join("/"), e.entry.size))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("top".into(), 0),
                ("top/a.txt".into(), 2),
                ("top/b".into(), 0),
                ("top/b/empty".into(), 0),
                ("top/b/z.txt".into(), 1)
            ]
        );
    }

    /// Paths deeper than the protocol allows are skipped, with everything
    /// below them; what is shallower is listed.
    #[test]
    fn folders_nested_too_deep_are_skipped() {
        let dir = tempfile::tempdir().expect("tmp");
        let top = dir.path().join("top");
        let mut deep = top.clone();
        for i in 0..MAX_PATH_DEPTH + 2 {
            deep.push(format!("{i}"));
        }
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::write(deep.join("lost.txt"), b"x").expect("write");
        std::fs::write(top.join("kept.txt"), b"y").expect("write");
        let entries = collect(&[top]).expect("collect");
        assert!(entries.iter().all(|e| e.entry.path.len() <= MAX_PATH_DEPTH));
        let files: Vec<String> = entries
            .iter()
            .filter(|e| e.entry.kind == EntryKind::File)
            .map(|e| e.entry.path.join("/"))
            .collect();
        assert_eq!(files, ["top/kept.txt"]);
        // top plus folders 0..=MAX_PATH_DEPTH-2 fit in MAX_PATH_DEPTH names.
        let folders = entries
            .iter()
            .filter(|e| e.entry.kind == EntryKind::Directory);
        assert_eq!(folders.count(), MAX_PATH_DEPTH);
    }

    /// A folder that cannot be read is reported by its path (and stops
    /// the walk) rather than skipped in silence.
    #[cfg(unix)]
    #[test]
    fn an_unreadable_folder_is_a_clear_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let top = dir.path().join("top");
        let locked = top.join("locked");
        std::fs::create_dir_all(&locked).expect("mkdir");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        let err = without_powers_over_files(|| {
            assert!(
                std::fs::read_dir(&locked).is_err(),
                "the folder is unreadable"
            );
            collect(&[top]).expect_err("unreadable")
        });
        assert!(err.to_string().contains("locked"), "{err}");
    }

    /// Runs `f` on a thread without the power to read or enter any folder
    /// regardless of its permissions (root has it: CI runs as root). The
    /// threads `f` starts inherit that.
    fn without_powers_over_files<T: Send>(f: impl FnOnce() -> T + Send) -> T {
        use rustix::thread::{CapabilitySet, capabilities, set_capabilities};
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("unprivileged".into())
                .spawn_scoped(scope, || {
                    let mut sets = capabilities(None).expect("capget");
                    sets.effective -= CapabilitySet::DAC_OVERRIDE | CapabilitySet::DAC_READ_SEARCH;
                    set_capabilities(None, sets).expect("capset");
                    f()
                })
                .expect("thread")
                .join()
                .expect("no panic")
        })
    }

    #[test]
    fn missing_paths_are_a_clear_error() {
        let err = collect(&[PathBuf::from("/definitely/not/here")]).expect_err("missing");
        assert!(
            err.to_string()
                .starts_with("cannot read /definitely/not/here")
        );
    }
}
