//! The clean-up of kept partial files: a cancelled or interrupted transfer
//! keeps what arrived (`NAME.ferry-part` with its `.meta`) so that it can
//! resume, but not forever. Partial files at the top of the download folder
//! untouched for [`KEEP_PARTIALS`] are deleted with their sidecar. It only
//! deletes Ferry's own partial files (never a final name, never through a
//! link) and starts no thread: the engine runs it on one of its own.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::fs::names::{PART_META_SUFFIX, PART_SUFFIX};

/// How long a kept partial file waits for its transfer to be sent again.
pub const KEEP_PARTIALS: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Deletes the partial files (and their sidecars) directly in `root_dir`
/// whose last write is older than `older_than`, and sidecars whose partial
/// is gone; returns how many partial files went.
pub fn sweep(root_dir: &Path, older_than: Duration) -> usize {
    let Ok(entries) = fs::read_dir(root_dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // The sidecar's name ends in ".ferry-part.meta", the partial's in ".ferry-part".
        let meta_of_part = name
            .strip_suffix(PART_META_SUFFIX)
            .filter(|part| part.ends_with(PART_SUFFIX));
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|at| now.duration_since(at).ok())
            .is_some_and(|age| age >= older_than);
        if let Some(part) = meta_of_part {
            // An orphaned sidecar: its partial went (or became final).
            if !root_dir.join(part).exists() && old {
                let _ = fs::remove_file(entry.path());
            }
        } else if name.ends_with(PART_SUFFIX) && old {
            let mut sidecar = entry.path().into_os_string();
            sidecar.push(PART_META_SUFFIX);
            if fs::remove_file(entry.path()).is_ok() {
                removed += 1;
                let _ = fs::remove_file(sidecar);
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_partials_and_their_sidecars_go() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        for name in [
            "a.bin.ferry-part",
            "a.bin.ferry-part.meta",
            "keep.bin",
            "b.ferry-part.meta",
        ] {
            fs::write(root.join(name), b"x").expect("write");
        }
        assert_eq!(sweep(root, Duration::from_secs(3600)), 0, "all are fresh");
        assert_eq!(fs::read_dir(root).expect("dir").count(), 4);
        assert_eq!(sweep(root, Duration::ZERO), 1);
        let left: Vec<String> = fs::read_dir(root)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["keep.bin".to_string()]);
    }
}
