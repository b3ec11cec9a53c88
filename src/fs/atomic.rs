//! Replacing a file in one step: the bytes go to a temporary file next to the
//! target, created with the requested permissions from the start, are synced,
//! and the temporary file is renamed over the target, so a reader (or a
//! restart after a crash) sees the old content or the new, never a mix. This
//! is the only place that does so. It must not create or change folders,
//! interpret the bytes, or leave a temporary file behind when it succeeds.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically. With `mode` (Unix permission bits,
/// e.g. `0o600`), the file never exists with wider permissions, not even for
/// a moment and not even when a stale temporary file was left by a crash;
/// without it the file gets the process defaults (as `fs::write` does).
/// `mode` is ignored where there are no Unix permissions.
///
/// The folder must exist. One writer per target at a time: the temporary
/// file's name is derived from the target's, so callers serialise writes to
/// the same file (the settings saver is one thread; the instance lock guards
/// the port file).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let tmp = temp_path(path)?;
    let written = create_new(&tmp, mode).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        // Best effort: the error that matters is the one returned.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_folder(path)
}

/// `.NAME.tmp` in the target's folder: same file system, so the rename is
/// atomic; hidden, so it never shows up as a document of its own.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        )
    })?;
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(".tmp");
    Ok(path.with_file_name(tmp))
}

/// Creates `tmp` exclusively (`O_CREAT | O_EXCL`), so the permissions are the
/// ones asked for and a symlink planted there is not followed. A file left
/// there by a crashed write is removed and the creation tried once more.
fn create_new(tmp: &Path, mode: Option<u32>) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    match options.open(tmp) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(tmp)?;
            options.open(tmp)
        }
        other => other,
    }
}

/// Makes the rename itself durable: on Unix a rename is only on disk once
/// its folder is synced. File systems that cannot sync a folder say so with
/// `EINVAL`; that is not a failed write.
fn sync_folder(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        match File::open(folder).and_then(|f| f.sync_all()) {
            Err(e) if e.kind() != io::ErrorKind::InvalidInput => return Err(e),
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn content_is_replaced_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("settings.json");
        write_atomic(&path, b"first, and longer", None).expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"first, and longer");
        write_atomic(&path, b"second", None).expect("replace");
        assert_eq!(fs::read(&path).expect("read"), b"second");
        assert_eq!(names_in(dir.path()), ["settings.json"]);
    }

    #[test]
    fn a_missing_folder_is_an_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("missing").join("file");
        assert!(write_atomic(&path, b"x", None).is_err());
        assert!(names_in(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn the_mode_holds_even_over_a_stale_world_readable_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("key.der");
        let stale = temp_path(&path).expect("temp path");
        fs::write(&stale, b"left by a crash").expect("stale");
        fs::set_permissions(&stale, fs::Permissions::from_mode(0o644)).expect("chmod");
        // The target itself was world-readable too: the new one replaces it.
        fs::write(&path, b"old").expect("old");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");

        write_atomic(&path, b"secret", Some(0o600)).expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"secret");
        let mode = fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        assert_eq!(names_in(dir.path()), ["key.der"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("instance.port");
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, b"untouched").expect("write");
        std::os::unix::fs::symlink(&elsewhere, temp_path(&path).expect("temp path"))
            .expect("symlink");
        write_atomic(&path, b"port", Some(0o600)).expect("write");
        assert_eq!(fs::read(&elsewhere).expect("read"), b"untouched");
        assert_eq!(fs::read(&path).expect("read"), b"port");
    }
}
