//! Choosing where each accepted file goes: names that never overwrite and
//! never collide with a transfer still running, folders numbered as a whole,
//! and which partial files from an earlier try continue from which byte
//! (using the markers of [`super::resume`]). The offer's top-level items are
//! planned at once, what is inside folders one page at a time, so nothing
//! here grows with the number of files. It decides; it creates nothing
//! (folders are made by [`super::resume::materialize`]).

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::path::{Path, PathBuf};

use super::resume::{
    FOLDER_MARKER, FilePlan, Plan, Provenance, RootPlan, meta_path, read_provenance, resumable_part,
};
use crate::fs::names;
use crate::protocol::{Entry, EntryKind, Offer};

/// Plans where each wanted top-level item of `offer` goes inside
/// `root_dir`: loose files get a free name (or continue their partial), each
/// folder a root (an unfinished one from the same sender and folder is
/// reused). What is inside folders is planned page by page ([`plan_page`]).
/// Reads the folder but writes nothing: [`super::resume::materialize`] does
/// that once the plan is known to fit. `safe_paths[i]` is entry i's sanitised
/// name (None for texts); `wanted` holds the accepted indices.
pub fn plan(
    root_dir: &Path,
    offer: &Offer,
    safe_paths: &[Option<PathBuf>],
    wanted: &HashSet<u32>,
) -> io::Result<Plan> {
    plan_avoiding(root_dir, offer, safe_paths, wanted, &HashSet::new())
}

/// Like [`plan`], but never picks (nor resumes into) a path in `claimed`:
/// the final paths and folder roots of transfers still running, whose partial
/// files may not exist yet or are still being written.
pub fn plan_avoiding(
    root_dir: &Path,
    offer: &Offer,
    safe_paths: &[Option<PathBuf>],
    wanted: &HashSet<u32>,
    claimed: &HashSet<PathBuf>,
) -> io::Result<Plan> {
    let sender = offer.sender.device_id.as_str();
    let root_depth = u16::try_from(root_dir.iter().count()).unwrap_or(u16::MAX);
    let mut result = Plan::default();
    let mut taken = Taken::new(claimed);
    let mut contents = offer.contents.iter();
    for (i, entry) in offer.entries.iter().enumerate() {
        let inside = match entry.kind {
            EntryKind::Directory => contents.next().copied(),
            _ => None,
        };
        if !wanted.contains(&(i as u32)) {
            continue;
        }
        if let EntryKind::Text(text) = &entry.kind {
            result.texts.push(text.clone());
            continue;
        }
        let Some(Some(path)) = safe_paths.get(i) else {
            continue;
        };
        let top = path.to_string_lossy().into_owned();
        if entry.kind == EntryKind::File {
            let (size, modified_ms) = (entry.size, entry.modified_ms);
            let mut offset = 0;
            let mut kept_part = false;
            let final_path = names::first_free(root_dir, &top, |candidate| {
                if taken.contains(candidate) {
                    return false;
                }
                let part = names::part_path(candidate);
                if let Some(len) = resumable_part(&part, sender, size, modified_ms) {
                    offset = len;
                    kept_part = true;
                    return true;
                }
                !names::occupied(candidate) && !names::occupied(&part)
            })?;
            taken.insert(&final_path);
            result.files.push(FilePlan {
                index: i as u32,
                root_depth,
                final_path,
                size,
                modified_ms,
                offset,
                already_final: false,
                stale_part: false,
                kept_part,
            });
            continue;
        }
        let Some(inside) = inside else { continue };
        // A folder root: reuse an unfinished one from the same sender and
        // folder, else a free name.
        let print = crate::hex::lower(&inside.fingerprint);
        let mut resumed = false;
        let root = names::first_free(root_dir, &top, |candidate| {
            if taken.contains(candidate) {
                return false;
            }
            if candidate.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                let marker = read_provenance(&candidate.join(FOLDER_MARKER));
                if marker.is_some_and(|m| m.sender == sender && m.fingerprint == print) {
                    resumed = true;
                    return true;
                }
            }
            !names::occupied(candidate)
        })?;
        taken.insert(&root);
        let root_name = root.file_name().unwrap_or_default().to_os_string();
        result.create.push(PathBuf::from(&root_name));
        if !resumed {
            let marker = Provenance {
                sender: sender.to_string(),
                size: 0,
                modified_ms: None,
                fingerprint: print,
            };
            result.markers.push((root.clone(), marker));
        }
        result.roots.push(RootPlan {
            item: i as u32,
            path: root,
            resumed,
            modified_ms: entry.modified_ms,
            left: inside,
            renamed: Vec::new(),
        });
    }
    Ok(result)
}

/// Where the entries of one page go, inside `root`.
#[derive(Debug, Default)]
pub struct PagePlan {
    /// The page's files, in index order.
    pub files: Vec<FilePlan>,
    /// Its folders: path, time and entry index.
    pub dirs: Vec<(PathBuf, Option<i64>, u32)>,
    /// Folders to create before its files are written, relative to the
    /// download folder, parents first.
    pub create: Vec<PathBuf>,
}

/// Plans one page of `root`'s listing (entries `first`, `first + 1`, ...):
/// every name judged, never more than the offer announced for the folder
/// (`root.left` shrinks as pages come), names that never overwrite, and
/// partial or complete files of an earlier try continued. An `Err` is a
/// sentence about the sender's breach; reading the disk can fail too.
pub fn plan_page(
    root_dir: &Path,
    root: &mut RootPlan,
    sender: &str,
    first: u32,
    entries: &[Entry],
) -> Result<PagePlan, PageError> {
    let root_depth = u16::try_from(root_dir.iter().count()).unwrap_or(u16::MAX);
    let root_name = root.path.file_name().unwrap_or_default().to_os_string();
    let mut page = PagePlan::default();
    // Names given out within the page: sanitising can make two names one.
    let mut taken = Taken::new(&HashSet::new());
    for (n, entry) in entries.iter().enumerate() {
        let index = first
            .checked_add(n as u32)
            .ok_or(PageError::Breach("more entries than can be numbered"))?;
        let path =
            names::sanitize_relative(&entry.path).map_err(|e| PageError::Name(e.to_string()))?;
        let left = &mut root.left;
        match entry.kind {
            EntryKind::File if left.files > 0 && entry.size <= left.bytes => {
                left.files -= 1;
                left.bytes -= entry.size;
            }
            EntryKind::Directory if left.folders > 0 => left.folders -= 1,
            EntryKind::Text(_) => return Err(PageError::Breach("a text inside a folder")),
            _ => return Err(PageError::Breach("a folder holds more than was offered")),
        }
        // Swap the top component for the root actually chosen ("photos (1)").
        let mut rel = PathBuf::from(&root_name);
        rel.extend(path.components().skip(1));
        let mut rel = inside_renamed(&mut root.renamed, rel);
        if entry.kind == EntryKind::Directory {
            if let Some(other) = folder_elsewhere(root_dir, &rel)? {
                root.renamed.push((rel, other.clone()));
                rel = other;
            }
            page.dirs
                .push((root_dir.join(&rel), entry.modified_ms, index));
            page.create.push(rel);
            continue;
        }
        let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        let dir = root_dir.join(&parent);
        // Files of one folder come together: list the folder once.
        if page.create.last() != Some(&parent) {
            page.create.push(parent);
        }
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let file = plan_folder_file(&taken, sender, root.resumed, &dir, &name, entry)
            .map_err(PageError::Disk)?;
        taken.insert(&file.final_path);
        page.files.push(FilePlan {
            index,
            root_depth,
            ..file
        });
    }
    Ok(page)
}

/// `rel` inside the folders received under another name: each renamed
/// folder that encloses it swaps in its new name. Renamed folders that do
/// not enclose `rel` are forgotten (a listing gives a folder's contents
/// right after it, so they are done).
fn inside_renamed(renamed: &mut Vec<(PathBuf, PathBuf)>, mut rel: PathBuf) -> PathBuf {
    let mut enclosing = 0;
    for (planned, used) in renamed.iter() {
        match rel.strip_prefix(planned) {
            Ok(rest) if !rest.as_os_str().is_empty() => rel = used.join(rest),
            _ => break,
        }
        enclosing += 1;
    }
    renamed.truncate(enclosing);
    rel
}

/// Where a listed folder planned at `rel` goes when something that is not
/// a folder already sits there (two names made one by sanitising, more
/// than a page apart: a file took the name first): the first numbered name
/// that is free or a folder already. `None`: `rel` itself will do.
fn folder_elsewhere(root_dir: &Path, rel: &Path) -> Result<Option<PathBuf>, PageError> {
    let fits = |path: &Path| match path.symlink_metadata() {
        Ok(meta) => meta.is_dir(),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    };
    if fits(&root_dir.join(rel)) {
        return Ok(None);
    }
    let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
        return Ok(None);
    };
    let dir = root_dir.join(parent);
    let name = name.to_string_lossy();
    let found = names::first_free(&dir, &name, fits).map_err(PageError::Disk)?;
    let used = found.file_name().map(|n| parent.join(n));
    Ok(used)
}

/// Why a page cannot be planned.
#[derive(Debug)]
pub enum PageError {
    /// The sender broke the offer's terms.
    Breach(&'static str),
    /// An unsafe name.
    Name(String),
    /// The download folder could not be read.
    Disk(io::Error),
}

/// Names this plan already gave out (and paths other transfers claimed), as
/// hashes: a clone of every path would cost megabytes for 10,000 files. A
/// (vanishingly rare) collision only gives a file a numbered name.
struct Taken {
    hasher: RandomState,
    hashes: HashSet<u64>,
}

impl Taken {
    fn new(claimed: &HashSet<PathBuf>) -> Taken {
        let hasher = RandomState::new();
        let hashes = claimed.iter().map(|path| hasher.hash_one(path)).collect();
        Taken { hasher, hashes }
    }

    fn contains(&self, path: &Path) -> bool {
        self.hashes.contains(&self.hasher.hash_one(path))
    }

    fn insert(&mut self, path: &Path) {
        self.hashes.insert(self.hasher.hash_one(path));
    }
}

/// Where one file of a folder root goes: resumed from its partial, already
/// final from an earlier try, replacing a stale partial of ours, or a free
/// name. Index and root depth are the caller's to fill in.
fn plan_folder_file(
    taken: &Taken,
    sender: &str,
    resumed: bool,
    dir: &Path,
    name: &str,
    entry: &Entry,
) -> io::Result<FilePlan> {
    let (size, modified_ms) = (entry.size, entry.modified_ms);
    let mut offset = 0;
    let mut already_final = false;
    let mut stale_part = false;
    let mut kept_part = false;
    let final_path = names::first_free(dir, name, |candidate| {
        if taken.contains(candidate) {
            return false;
        }
        if !resumed {
            // A new root did not exist a moment ago: nothing
            // inside it can be taken but by this plan (and
            // files are created with create_new regardless).
            return true;
        }
        let part = names::part_path(candidate);
        if let Some(len) = resumable_part(&part, sender, size, modified_ms) {
            offset = len;
            kept_part = true;
            return true;
        }
        let done = candidate.symlink_metadata();
        if done.is_ok_and(|m| m.is_file() && m.len() == size) {
            offset = size;
            already_final = true;
            return true;
        }
        if !names::occupied(candidate)
            && part.symlink_metadata().is_ok_and(|m| m.is_file())
            && !names::occupied(&meta_path(&part))
        {
            // A small file's partial, cut before it got a
            // sidecar, inside this sender's unfinished folder.
            stale_part = true;
            return true;
        }
        !names::occupied(candidate) && !names::occupied(&part)
    })?;
    Ok(FilePlan {
        index: 0,
        root_depth: 0,
        final_path,
        size,
        modified_ms,
        offset,
        already_final,
        stale_part,
        kept_part,
    })
}
