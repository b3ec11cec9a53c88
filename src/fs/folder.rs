//! A handle on the folder received files are being written into. On Linux it
//! holds the folder open and creates and renames files relative to it, so the
//! kernel does not walk the whole path again for each of 10,000 small files;
//! elsewhere it joins paths. It can also create a file with no name at all
//! (`O_TMPFILE`) and give it a name once it is complete, so a small file
//! costs no partial name and no rename. It only creates partial files
//! exclusively and renames or links without replacing: it never chooses
//! names and never overwrites.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// An open folder inside the download folder.
pub struct Folder {
    path: PathBuf,
    #[cfg(target_os = "linux")]
    fd: rustix::fd::OwnedFd,
    /// Creating an unnamed file here failed once: not tried again.
    #[cfg(target_os = "linux")]
    no_unnamed: std::sync::atomic::AtomicBool,
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
                no_unnamed: std::sync::atomic::AtomicBool::new(false),
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

    /// True if something (file, folder, or dangling symlink) sits at `name`
    /// in this folder.
    pub fn holds(&self, name: &OsStr) -> bool {
        #[cfg(target_os = "linux")]
        {
            rustix::fs::statat(&self.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).is_ok()
        }
        #[cfg(not(target_os = "linux"))]
        {
            super::names::occupied(&self.path.join(name))
        }
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

    /// Creates a file with no name in this folder (Linux `O_TMPFILE`), for
    /// writing: it takes a name only through [`Folder::link_new`], and
    /// vanishes with its last handle if it never gets one (a crash leaves
    /// nothing behind). `None` where this system, this file system or this
    /// process cannot create one and name it later: the caller creates a
    /// named partial file instead.
    pub fn create_unnamed(&self) -> Option<File> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags};
            if self.no_unnamed.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(&self.fd, ".", flags, Mode::from_bits_truncate(0o666));
            let file = fd.ok().map(File::from);
            let named = file.filter(|file| unnamed::how(file, &self.fd).is_some());
            self.no_unnamed
                .store(named.is_none(), std::sync::atomic::Ordering::Relaxed);
            named
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }

    /// Makes this folder behave as on a file system without unnamed files
    /// (tests of the named-partial path on systems that have them).
    #[cfg(test)]
    pub fn forget_unnamed(&self) {
        #[cfg(target_os = "linux")]
        self.no_unnamed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Gives `file`, made by [`Folder::create_unnamed`] here, the name
    /// `name` in this folder unless something already has it
    /// (`AlreadyExists` then): one atomic step that never replaces.
    pub fn link_new(&self, file: &File, name: &OsStr) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            unnamed::link(file, &self.fd, name)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (file, name);
            Err(io::Error::from(io::ErrorKind::Unsupported))
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

/// Naming a file created with `O_TMPFILE`: `linkat` with `AT_EMPTY_PATH`
/// (allowed without privileges for the file's own opener since Linux 6.10),
/// else through its `/proc/self/fd` entry (what open(2) documents for older
/// kernels). Which one works is the same for the whole process: found once,
/// with a link to "." that fails with `EEXIST` exactly when linking is
/// allowed, so the probe creates no name.
#[cfg(target_os = "linux")]
mod unnamed {
    use std::ffi::OsStr;
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::sync::OnceLock;

    use rustix::fd::OwnedFd;
    use rustix::fs::{AtFlags, CWD, linkat};
    use rustix::io::Errno;

    #[derive(Clone, Copy)]
    pub(super) enum How {
        EmptyPath,
        Proc,
    }

    static HOW: OnceLock<Option<How>> = OnceLock::new();

    /// How files like `file` (unnamed, in `dir`) can be named, if at all.
    pub(super) fn how(file: &File, dir: &OwnedFd) -> Option<How> {
        *HOW.get_or_init(|| {
            [How::EmptyPath, How::Proc]
                .into_iter()
                .find(|how| link_with(*how, file, dir, OsStr::new(".")) == Err(Errno::EXIST))
        })
    }

    pub(super) fn link(file: &File, dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
        let how = HOW
            .get()
            .copied()
            .flatten()
            .ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))?;
        Ok(link_with(how, file, dir, name)?)
    }

    fn link_with(how: How, file: &File, dir: &OwnedFd, name: &OsStr) -> Result<(), Errno> {
        match how {
            How::EmptyPath => linkat(file, "", dir, name, AtFlags::EMPTY_PATH),
            How::Proc => {
                let path = format!("/proc/self/fd/{}", file.as_raw_fd());
                linkat(CWD, path.as_str(), dir, name, AtFlags::SYMLINK_FOLLOW)
            }
        }
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

    #[test]
    fn an_unnamed_file_takes_a_free_name_only() {
        let dir = tempfile::tempdir().expect("tmp");
        let folder = Folder::open(dir.path()).expect("open");
        let Some(mut file) = folder.create_unnamed() else {
            // Not on this system or file system: callers name files first.
            assert!(!cfg!(target_os = "linux") || !on_tmpfs_or_ext4(dir.path()));
            return;
        };
        std::io::Write::write_all(&mut file, b"new").expect("write");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
        std::fs::write(dir.path().join("a.txt"), b"old").expect("write");
        let taken = folder
            .link_new(&file, OsStr::new("a.txt"))
            .expect_err("taken");
        assert_eq!(taken.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).expect("read"),
            b"old"
        );
        folder.link_new(&file, OsStr::new("b.txt")).expect("link");
        drop(file);
        assert_eq!(
            std::fs::read(dir.path().join("b.txt")).expect("read"),
            b"new"
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 2);
    }

    /// File systems known to support `O_TMPFILE` (where tests usually run).
    fn on_tmpfs_or_ext4(path: &Path) -> bool {
        #[cfg(target_os = "linux")]
        {
            const TMPFS: u64 = 0x0102_1994;
            const EXT4: u64 = 0xEF53;
            rustix::fs::statfs(path).is_ok_and(|fs| matches!(fs.f_type as u64, TMPFS | EXT4))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = path;
            false
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
