//! Folders and files only their owner may read: Ferry's config folder (the
//! key, and settings that may hold a PIN) and data folder (history names
//! every file received). Creates such a folder with mode 0700 from the start
//! and closes one that was left open; a file found readable by others is
//! made owner-only. It never decides which paths are private; its callers do.
//! Where there are no Unix permissions it only creates folders.

use std::io;
use std::path::Path;

/// Permission bits of a private folder.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Permission bits of a private file.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) if missing, with mode 0700 for the folder
/// itself; an existing folder that others can enter is closed to them.
/// Returns true when it had to close an existing folder.
pub fn private_dir(dir: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if let Some(parent) = dir.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::DirBuilder::new()
            .mode(PRIVATE_DIR_MODE)
            .create(dir)
        {
            Ok(()) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let meta = std::fs::metadata(dir)?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR_MODE))?;
            return Ok(true);
        }
        Ok(false)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)?;
        Ok(false)
    }
}

/// Makes an existing file owner-only if group or others may read or write
/// it. Returns true when it had to; a missing file is not an error.
pub fn close_file(path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(PRIVATE_FILE_MODE))?;
            return Ok(true);
        }
        Ok(false)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(false)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn a_new_private_folder_is_owner_only_from_the_start() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("a/b/ferry");
        assert!(!private_dir(&dir).expect("create"));
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn a_folder_and_file_left_open_are_closed() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("ferry");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(private_dir(&dir).expect("close"));
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("settings.json");
        std::fs::write(&file, "{}").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(close_file(&file).expect("close"));
        assert_eq!(mode(&file), 0o600);
        assert!(!close_file(&file).expect("already closed"));
        assert!(!close_file(&dir.join("missing")).expect("missing is fine"));
    }
}
