//! Choosing where each accepted file goes: names that never overwrite and
//! never collide with a transfer still running, folders numbered as a whole,
//! and which partial files from an earlier try continue from which byte
//! (using the markers of [`super::resume`]). It decides; it creates nothing
//! (folders are made by [`super::resume::materialize`]).

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::path::{Path, PathBuf};

use super::resume::{
    FOLDER_MARKER, FilePlan, Plan, Provenance, fingerprint, meta_path, read_provenance,
    resumable_part,
};
use crate::fs::names;
use crate::protocol::{EntryKind, Offer};

/// Plans where each wanted entry of `offer` goes inside `root_dir`. Reads
/// the folder but writes nothing: [`materialize`] does that once the plan is
/// known to fit. `safe_paths[i]` is entry i's sanitised relative path (None for
/// texts); `wanted` holds the accepted indices.
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
    let mut result = Plan {
        files: Vec::with_capacity(wanted.len()),
        ..Plan::default()
    };
    let groups = group_by_top(offer, safe_paths, wanted, &mut result.texts);

    let mut taken = Taken::new(claimed);
    for (first, (top, members)) in groups {
        let first_entry = &offer.entries[first];
        let single_file = members.len() == 1
            && first_entry.kind == EntryKind::File
            && first_entry.path.len() == 1;
        if single_file {
            let (size, modified_ms) = (first_entry.size, first_entry.modified_ms);
            let mut offset = 0;
            let final_path = names::first_free(root_dir, &top, |candidate| {
                if taken.contains(candidate) {
                    return false;
                }
                let part = names::part_path(candidate);
                if let Some(len) = resumable_part(&part, sender, size, modified_ms) {
                    offset = len;
                    return true;
                }
                !names::occupied(candidate) && !names::occupied(&part)
            })?;
            taken.insert(&final_path);
            result.files.push(FilePlan {
                index: first as u32,
                root_depth,
                final_path,
                size,
                modified_ms,
                offset,
                already_final: false,
                stale_part: false,
            });
            continue;
        }

        // A folder root: reuse an unfinished one from the same sender and offer, else a free name.
        let print = fingerprint(offer, &members);
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
        result.roots.push(root.clone());
        for &i in &members {
            let entry = &offer.entries[i];
            let Some(Some(path)) = safe_paths.get(i) else {
                continue;
            };
            // Swap the top component for the root actually chosen ("photos (1)").
            let mut rel = PathBuf::from(&root_name);
            rel.extend(path.components().skip(1));
            match entry.kind {
                EntryKind::Directory => {
                    result.dirs.push((root_dir.join(&rel), entry.modified_ms));
                    result.create.push(rel);
                }
                EntryKind::File => {
                    let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
                    let dir = root_dir.join(&parent);
                    // Files of one folder come together: list the folder once.
                    if result.create.last() != Some(&parent) {
                        result.create.push(parent);
                    }
                    let name = path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    let file = plan_folder_file(&taken, sender, resumed, &dir, &name, entry)?;
                    taken.insert(&file.final_path);
                    result.files.push(FilePlan {
                        index: i as u32,
                        root_depth,
                        ..file
                    });
                }
                EntryKind::Text(_) => {}
            }
        }
    }
    // Indices are unique: an unstable sort needs no scratch copy of the plan.
    result.files.sort_unstable_by_key(|f| f.index);
    Ok(result)
}

/// Wanted entries grouped by their top-level name, in offer order (keyed by
/// the first member's index); texts go to `texts` instead.
fn group_by_top(
    offer: &Offer,
    safe_paths: &[Option<PathBuf>],
    wanted: &HashSet<u32>,
    texts: &mut Vec<String>,
) -> BTreeMap<usize, (String, Vec<usize>)> {
    // Group wanted entries by their top-level name, in offer order.
    let mut groups: BTreeMap<usize, (String, Vec<usize>)> = BTreeMap::new();
    let mut first_seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in offer.entries.iter().enumerate() {
        if let EntryKind::Text(text) = &entry.kind {
            if wanted.contains(&(i as u32)) {
                texts.push(text.clone());
            }
            continue;
        }
        if !wanted.contains(&(i as u32)) {
            continue;
        }
        let Some(Some(path)) = safe_paths.get(i) else {
            continue;
        };
        let top = path
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let Some(top) = top else { continue };
        let is_single_file = path.components().count() == 1 && entry.kind == EntryKind::File;
        // A single top-level file never shares a group: two files of one name are two roots.
        let key = if is_single_file {
            format!("\u{0}{i}")
        } else {
            top.clone()
        };
        let group = *first_seen.entry(key).or_insert(i);
        groups
            .entry(group)
            .or_insert_with(|| (top, Vec::new()))
            .1
            .push(i);
    }
    groups
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
    entry: &crate::protocol::Entry,
) -> io::Result<FilePlan> {
    let (size, modified_ms) = (entry.size, entry.modified_ms);
    let mut offset = 0;
    let mut already_final = false;
    let mut stale_part = false;
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
    })
}
