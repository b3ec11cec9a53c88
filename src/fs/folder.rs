//! A handle on the folder received files are being written into. On Linux it
//! holds the folder open and creates and renames files relative to it, so the
//! kernel does not walk the whole path again for each of 10,000 small files;
//! elsewhere it joins paths. It only creates partial files exclusively and
//! renames without replacing: it never chooses names and never overwrites.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// An open folder inside the download folder.
pub struct Folder {
    path: PathBuf,
    #[cfg(target_os = "linux")]
    fd: rustix::fd::OwnedFd,
}

impl Folder {
    /// Opens `path`, which must be a real folder (a symlink in its place is
    /// refused, not followed).
    pub fn open(path: &Path) -> io::Result<Folder> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = rustix::fs::open(path, flags, Mode::empty())?;
            Ok(Folder {
                path: path.to_path_buf(),
                fd,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            if !std::fs::symlink_metadata(path)?.is_dir() {
                return Err(io::Error::new(io::ErrorKind::NotADirectory, "not a folder"));
            }
            Ok(Folder {
                path: path.to_path_buf(),
            })
        }
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates `name` in this folder for writing; fails if anything, even a
    /// dangling symlink, already sits there.
    pub fn create_new(&self, name: &OsStr) -> io::Result<File> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_bits_truncate(0o666))?;
            Ok(File::from(fd))
        }
        #[cfg(not(target_os = "linux"))]
        {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(self.path.join(name))
        }
    }

    /// Renames `from` to `to` inside this folder unless `to` exists
    /// (`AlreadyExists` then), in one atomic step. `Ok(false)`: this system or
    /// file system cannot do that; the caller renames another way.
    pub fn rename_no_replace(&self, from: &OsStr, to: &OsStr) -> io::Result<bool> {
        #[cfg(target_os = "linux")]
        {
            rename_no_replace_at(&self.fd, from, to)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (from, to);
            Ok(false)
        }
    }
}

/// Renames `from` to `to`, both relative to `dir` (which may be
/// `rustix::fs::CWD` for whole paths), unless `to` exists (`AlreadyExists`
/// then), in one atomic step. `Ok(false)`: this file system cannot do that.
#[cfg(target_os = "linux")]
pub fn rename_no_replace_at<P: rustix::path::Arg, Q: rustix::path::Arg>(
    dir: impl rustix::fd::AsFd,
    from: P,
    to: Q,
) -> io::Result<bool> {
    use rustix::fs::{RenameFlags, renameat_with};
    let dir = dir.as_fd();
    match renameat_with(dir, from, dir, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The partial file's name for a final name (`a.jpg` → `a.jpg.ferry-part`).
pub fn part_name(final_name: &OsStr) -> OsString {
    let mut name = final_name.to_os_string();
    name.push(super::names::PART_SUFFIX);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_exclusively_and_renames_without_replacing() {
        let dir = tempfile::tempdir().expect("tmp");
        let folder = Folder::open(dir.path()).expect("open");
        let part = part_name(OsStr::new("a.txt"));
        assert_eq!(part, "a.txt.ferry-part");
        std::io::Write::write_all(&mut folder.create_new(&part).expect("create"), b"new")
            .expect("write");
        let again = folder.create_new(&part).expect_err("exists");
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        std::fs::write(dir.path().join("a.txt"), b"old").expect("write");
        if cfg!(target_os = "linux") {
            let taken = folder
                .rename_no_replace(&part, OsStr::new("a.txt"))
                .expect_err("taken");
            assert_eq!(taken.kind(), io::ErrorKind::AlreadyExists);
            assert_eq!(
                std::fs::read(dir.path().join("a.txt")).expect("read"),
                b"old"
            );
            assert!(
                folder
                    .rename_no_replace(&part, OsStr::new("b.txt"))
                    .expect("rename")
            );
            assert_eq!(
                std::fs::read(dir.path().join("b.txt")).expect("read"),
                b"new"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_in_place_of_the_folder_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let elsewhere = tempfile::tempdir().expect("tmp");
        let link = dir.path().join("photos");
        std::os::unix::fs::symlink(elsewhere.path(), &link).expect("link");
        assert!(Folder::open(&link).is_err());
        // A planted symlink at the partial name is never followed either.
        let folder = Folder::open(dir.path()).expect("open");
        std::os::unix::fs::symlink(elsewhere.path().join("x"), dir.path().join("x.ferry-part"))
            .expect("link");
        assert!(folder.create_new(OsStr::new("x.ferry-part")).is_err());
        assert!(!elsewhere.path().join("x").exists());
    }
}
