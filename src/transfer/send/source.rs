//! The sending side's view of the disk: turning the paths a person picked
//! into offer entries (walking folders, parents first) and remembering where
//! each entry's bytes live. It reads metadata only; it never opens a socket.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::protocol::limits::{MAX_OFFER_ENTRIES, MAX_PATH_DEPTH};
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
    /// Too many entries.
    #[error("too many files: at most {MAX_OFFER_ENTRIES} entries can be sent at once")]
    TooMany,
    /// Nothing picked.
    #[error("nothing to send")]
    Empty,
}

fn modified_ms(meta: &std::fs::Metadata) -> Option<i64> {
    let modified = meta.modified().ok()?;
    match modified.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).ok(),
        Err(before) => i64::try_from(before.duration().as_millis())
            .ok()
            .map(|ms| -ms),
    }
}

fn name_of(path: &Path) -> Result<String, SourceError> {
    let name = path
        .file_name()
        .ok_or_else(|| SourceError::Nameless(path.to_path_buf()))?;
    name.to_str()
        .map(str::to_string)
        .ok_or_else(|| SourceError::NotUnicode(path.to_path_buf()))
}

/// Builds offer entries from files and folders picked by a person.
///
/// Folders are walked depth-first in name order, parents before children.
/// Symlinks to files are sent as the file they point to; symlinks to folders
/// are skipped (they can loop). Sockets, FIFOs and devices are skipped.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<SourceEntry>, SourceError> {
    if paths.is_empty() {
        return Err(SourceError::Empty);
    }
    let unreadable = |path: &Path, source| SourceError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    // Indices in `out` of walked files whose metadata is still to be read.
    let mut unread = Vec::new();
    for top in paths {
        let top_name = name_of(top)?;
        let meta = std::fs::metadata(top).map_err(|e| unreadable(top, e))?;
        if meta.is_file() {
            out.push(file_entry(vec![top_name], &meta, top.clone()));
        } else if meta.is_dir() {
            for item in walkdir::WalkDir::new(top)
                .follow_links(false)
                .sort_by_file_name()
            {
                let item = item.map_err(|e| {
                    let path = e.path().unwrap_or(top).to_path_buf();
                    let source = e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("loop"));
                    SourceError::Unreadable { path, source }
                })?;
                let mut components = vec![top_name.clone()];
                for part in item
                    .path()
                    .strip_prefix(top)
                    .unwrap_or(Path::new(""))
                    .components()
                {
                    let part = part.as_os_str();
                    let part = part
                        .to_str()
                        .ok_or_else(|| SourceError::NotUnicode(item.path().to_path_buf()))?;
                    components.push(part.to_string());
                }
                if components.len() > MAX_PATH_DEPTH {
                    tracing::warn!(path = %item.path().display(), "skipping: nested too deep");
                    continue;
                }
                let file_type = item.file_type();
                if file_type.is_dir() {
                    out.push(SourceEntry {
                        entry: Entry {
                            path: components,
                            kind: EntryKind::Directory,
                            size: 0,
                            modified_ms: item.metadata().ok().as_ref().and_then(modified_ms),
                        },
                        local: None,
                    });
                } else if file_type.is_file() || file_type.is_symlink() {
                    // Size and time are read below, all files at once.
                    unread.push(out.len());
                    out.push(SourceEntry {
                        entry: Entry {
                            path: components,
                            kind: EntryKind::File,
                            size: 0,
                            modified_ms: None,
                        },
                        local: Some(item.path().to_path_buf()),
                    });
                }
                if out.len() > MAX_OFFER_ENTRIES {
                    return Err(SourceError::TooMany);
                }
            }
        } else {
            tracing::info!(path = %top.display(), "skipping: not a file or folder");
        }
    }
    read_file_metadata(&mut out, &unread);
    // Links to folders or to nothing were marked by taking their local path.
    out.retain(|e| e.entry.kind != EntryKind::File || e.local.is_some());
    if out.len() > MAX_OFFER_ENTRIES {
        return Err(SourceError::TooMany);
    }
    if out.is_empty() {
        return Err(SourceError::Empty);
    }
    Ok(out)
}

/// Fills in size and time of the walked files at `unread` (ascending
/// indices), following symlinks to regular files; anything else (a link to a
/// folder or to nothing, a file gone meanwhile) loses its local path, which
/// marks it for removal. One stat per file is most of a big folder's walk —
/// path lookups in the kernel — so the files are shared among a few threads;
/// before the offer is out, the other cores have nothing else to do.
fn read_file_metadata(out: &mut [SourceEntry], unread: &[usize]) {
    fn fill(source: &mut SourceEntry) {
        let Some(local) = &source.local else { return };
        match std::fs::metadata(local) {
            Ok(meta) if meta.is_file() => {
                source.entry.size = meta.len();
                source.entry.modified_ms = modified_ms(&meta);
            }
            _ => {
                tracing::info!(path = %local.display(), "skipping a link to a folder or nothing");
                source.local = None;
            }
        }
    }
    const SMALLEST_SHARE: usize = 1024;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let share = unread.len().div_ceil(threads).max(SMALLEST_SHARE);
    // Shares whose thread could not start; read here afterwards.
    let mut left_over: Vec<&[usize]> = Vec::new();
    std::thread::scope(|scope| {
        let mut rest: &mut [SourceEntry] = &mut *out;
        let mut base = 0;
        let mut shares = unread.chunks(share).peekable();
        while let Some(indices) = shares.next() {
            let end = indices.last().map_or(base, |&last| last + 1);
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(end - base);
            rest = tail;
            let offset = base;
            base = end;
            let mut work = move || {
                for &i in indices {
                    fill(&mut mine[i - offset]);
                }
            };
            // The last share runs on this thread.
            if shares.peek().is_none() {
                work();
            } else if let Err(e) = std::thread::Builder::new()
                .name("ferry-stat".into())
                .spawn_scoped(scope, work)
            {
                tracing::debug!("reading file sizes without a helper thread: {e}");
                left_over.push(indices);
            }
        }
    });
    for &i in left_over.concat().iter() {
        fill(&mut out[i]);
    }
}

fn file_entry(path: Vec<String>, meta: &std::fs::Metadata, local: PathBuf) -> SourceEntry {
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
    use super::*;

    /// Enough files for the sizes to be read on several threads, plus links:
    /// every size lands on its own entry, in walk order, and only links to
    /// regular files are kept (as the file they point to).
    #[cfg(unix)]
    #[test]
    fn sizes_read_in_parallel_land_on_their_entries_and_links_are_judged() {
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

    #[test]
    fn missing_paths_are_a_clear_error() {
        let err = collect(&[PathBuf::from("/definitely/not/here")]).expect_err("missing");
        assert!(
            err.to_string()
                .starts_with("cannot read /definitely/not/here")
        );
    }
}
