//! Lands a LocalSend upload that arrived whole (small files: the server
//! reads a body of up to 512 KiB before touching the disk). The SHA-256 is
//! checked in memory first, so a refused body never reaches the disk; the
//! file is then written without a name (`O_TMPFILE`) in its folder and
//! linked under the first free name, never replacing anything (not forced
//! to disk first, as with Ferry's own transfers: docs/ARCHITECTURE.md). The
//! session keeps its folders open ([`Folders`]), so 2,000 files in one
//! folder cost no walk of their whole path each. Where a file system cannot
//! make unnamed files, the named `.ferry-part` way is used. It reads no
//! request and sends no answer.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::fs::folder::{Folder, part_name};
use crate::fs::names;

/// Folders a session keeps open at most; past it the oldest set is closed
/// (a sender spreading files over more folders just reopens them).
const OPEN_FOLDERS: usize = 64;

/// Why a small upload could not land: kept apart from HTTP so that the
/// caller maps it to LocalSend's answers.
#[derive(Debug)]
pub(super) enum Failure {
    /// The bytes do not match the SHA-256 the sender gave.
    Mismatch,
    /// The folder or the file could not be made.
    Create,
    /// Writing, syncing or naming the file failed.
    Save,
}

/// The open folders of one session, by their path inside the download folder.
#[derive(Default)]
pub(super) struct Folders {
    open: Mutex<HashMap<PathBuf, Arc<Folder>>>,
}

impl Folders {
    /// The folder `root/rel`, made if needed (the download folder itself
    /// may not exist yet; the folders of `rel` are made one by one, never
    /// through a symlink) and opened once per session.
    fn get(&self, root: &Path, rel: &Path) -> std::io::Result<Arc<Folder>> {
        if let Some(folder) = self
            .open
            .lock()
            .ok()
            .and_then(|open| open.get(rel).cloned())
        {
            return Ok(folder);
        }
        std::fs::create_dir_all(root)?;
        let dir = names::create_dirs_inside(root, rel)?;
        let folder = Arc::new(Folder::open(&dir)?);
        if let Ok(mut open) = self.open.lock() {
            if open.len() >= OPEN_FOLDERS {
                open.clear();
            }
            open.insert(rel.to_path_buf(), folder.clone());
        }
        Ok(folder)
    }

    /// Closes `rel` if it is open; true if it was. A folder removed while
    /// the session runs stays open under no name, and files cannot be made
    /// in it: forgetting it lets the next try make it again.
    fn forget(&self, rel: &Path) -> bool {
        self.open
            .lock()
            .is_ok_and(|mut open| open.remove(rel).is_some())
    }
}

/// Checks `bytes` against `expected`, then writes them as `name` in
/// `root/rel` under the first free name; returns the path it took.
pub(super) fn land(
    folders: &Folders,
    root: &Path,
    rel: &Path,
    name: &str,
    bytes: &[u8],
    expected: Option<[u8; 32]>,
) -> Result<PathBuf, Failure> {
    if let Some(expected) = expected
        && Sha256::digest(bytes).as_slice() != expected
    {
        return Err(Failure::Mismatch);
    }
    let land_in = |folder: std::io::Result<Arc<Folder>>| {
        let folder = folder.map_err(|_| Failure::Create)?;
        match folder.create_unnamed() {
            Some(file) => land_unnamed(&folder, file, name, bytes),
            None => land_named(&folder, name, bytes),
        }
    };
    match land_in(folders.get(root, rel)) {
        // The open folder may have been removed (or replaced) meanwhile:
        // once more through its path, made again if need be.
        Err(Failure::Create) if folders.forget(rel) => land_in(folders.get(root, rel)),
        landed => landed,
    }
}

/// Writes an unnamed file, then links it under the first name
/// that is free and whose partial name is free too (a partial there
/// belongs to another upload that planned that name).
fn land_unnamed(
    folder: &Folder,
    mut file: std::fs::File,
    name: &str,
    bytes: &[u8],
) -> Result<PathBuf, Failure> {
    file.write_all(bytes).map_err(|_| Failure::Save)?;
    loop {
        let planned = first_free(folder, name)?;
        let taken = planned.file_name().unwrap_or_default();
        match folder.link_new(&file, taken) {
            Ok(()) => return Ok(planned),
            // Taken between the look and the link: look again.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => return Err(Failure::Save),
        }
    }
}

/// The named way: `NAME.ferry-part` created exclusively, written, and
/// renamed without replacing; removed if any step fails.
fn land_named(folder: &Folder, name: &str, bytes: &[u8]) -> Result<PathBuf, Failure> {
    loop {
        let planned = first_free(folder, name)?;
        let taken = planned.file_name().unwrap_or_default().to_os_string();
        let part = part_name(&taken);
        let mut file = match folder.create_new(&part) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => return Err(Failure::Create),
        };
        let written = file.write_all(bytes);
        drop(file);
        let landed = written.and_then(|()| rename_or_keep_looking(folder, &part, &taken));
        match landed {
            Ok(true) => return Ok(planned),
            // The final name was taken meanwhile: the next free one.
            Ok(false) => {
                let _ = std::fs::remove_file(folder.path().join(&part));
            }
            Err(_) => {
                let _ = std::fs::remove_file(folder.path().join(&part));
                return Err(Failure::Save);
            }
        }
    }
}

/// Renames `part` to `taken` without replacing: `Ok(false)` if `taken`
/// appeared meanwhile. Where the system cannot rename without replacing,
/// the whole-path promotion (which falls back to hard links) does it.
fn rename_or_keep_looking(folder: &Folder, part: &OsStr, taken: &OsStr) -> std::io::Result<bool> {
    match folder.rename_no_replace(part, taken) {
        Ok(true) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
        Ok(false) => {
            let dir = folder.path();
            crate::transfer::receive::resume::promote_part(&dir.join(part), &dir.join(taken))
                .map(|_| true)
        }
    }
}

/// The first of `name`, `name (1)`, … free in `folder`, with its partial
/// name free too.
fn first_free(folder: &Folder, name: &str) -> Result<PathBuf, Failure> {
    names::first_free(folder.path(), name, |candidate| {
        let taken = candidate.file_name().unwrap_or_default();
        !folder.holds(taken) && !folder.holds(&part_name(taken))
    })
    .map_err(|_| Failure::Create)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// A fresh session: its temporary folder (kept alive by the caller),
    /// the download folder inside it (not made yet) and no folder open.
    fn session() -> (tempfile::TempDir, PathBuf, Folders) {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("Downloads");
        (dir, root, Folders::default())
    }

    #[test]
    fn lands_under_a_free_name_and_never_replaces() {
        let (_dir, root, folders) = session();
        let rel = Path::new("album/2026");
        let first =
            land(&folders, &root, rel, "a.jpg", b"one", Some(digest(b"one"))).expect("first");
        assert_eq!(first, root.join("album/2026/a.jpg"));
        // A partial of another upload holds the next name: skipped too.
        std::fs::write(root.join("album/2026/a (1).jpg.ferry-part"), b"busy").expect("part");
        let second = land(&folders, &root, rel, "a.jpg", b"two", None).expect("second");
        assert_eq!(second, root.join("album/2026/a (2).jpg"));
        assert_eq!(std::fs::read(&first).expect("read"), b"one");
        assert_eq!(std::fs::read(&second).expect("read"), b"two");
        let left: Vec<_> = std::fs::read_dir(root.join("album/2026"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            left.len(),
            3,
            "two files and the other upload's partial: {left:?}"
        );
    }

    #[test]
    fn a_folder_removed_during_the_session_is_made_again() {
        let (_dir, root, folders) = session();
        let rel = Path::new("album");
        land(&folders, &root, rel, "a.bin", b"one", None).expect("first");
        std::fs::remove_dir_all(root.join("album")).expect("remove");
        let again = land(&folders, &root, rel, "b.bin", b"two", None).expect("second");
        assert_eq!(again, root.join("album/b.bin"));
        assert_eq!(std::fs::read(&again).expect("read"), b"two");
    }

    #[test]
    fn a_wrong_hash_touches_nothing() {
        let (_dir, root, folders) = session();
        let wrong = land(
            &folders,
            &root,
            Path::new("x"),
            "a.bin",
            b"abc",
            Some([0; 32]),
        );
        assert!(matches!(wrong, Err(Failure::Mismatch)));
        assert!(!root.exists(), "not even the download folder was made");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_in_place_of_a_folder_is_refused() {
        let (dir, root, folders) = session();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&root).expect("root");
        std::fs::create_dir_all(&elsewhere).expect("elsewhere");
        std::os::unix::fs::symlink(&elsewhere, root.join("album")).expect("link");
        let refused = land(&folders, &root, Path::new("album"), "a.bin", b"abc", None);
        assert!(matches!(refused, Err(Failure::Create)));
        assert_eq!(std::fs::read_dir(&elsewhere).expect("list").count(), 0);
    }

    #[test]
    fn the_named_way_lands_the_same() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("a.txt"), b"old").expect("old");
        let folder = Folder::open(dir.path()).expect("open");
        let landed = land_named(&folder, "a.txt", b"new").expect("land");
        assert_eq!(landed, dir.path().join("a (1).txt"));
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).expect("read"),
            b"old"
        );
        assert_eq!(std::fs::read(&landed).expect("read"), b"new");
        assert!(!dir.path().join("a (1).txt.ferry-part").exists());
    }
}
