//! Where a new file is written before it is verified. A small file (one a
//! crash would make us send again anyway, see [`resume::EAGER_META_BYTES`])
//! is written with no name at all (`O_TMPFILE`) and linked to its final name
//! once verified: no partial name to create and rename away, and nothing
//! left behind if the receiver dies. If the transfer stops in an orderly way
//! it gets its partial name and sidecar then, so it resumes like any other.
//! Larger files, resumed ones and file systems without unnamed files use a
//! named partial file. This module never writes file contents and never
//! gives a file a name that is taken.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Receiving;
use super::resume::{self, FilePlan};
use crate::fs::folder::{self, Folder};

impl Receiving<'_> {
    /// A new, unnamed file for `plan` in its folder, if `plan` is a small
    /// new file and that folder can hold unnamed files.
    pub(super) fn create_unnamed(&mut self, plan: &FilePlan) -> Option<File> {
        let fresh = plan.offset == 0 && !plan.kept_part && !plan.stale_part && !plan.already_final;
        if !fresh || plan.size > resume::EAGER_META_BYTES {
            return None;
        }
        open_folder(&mut self.folder, &plan.final_path)?.create_unnamed()
    }

    /// Gives the verified unnamed `file` its final name, or the next free
    /// numbered one if the planned name was taken meanwhile; never replaces.
    pub(super) fn link_into_place(&self, plan: &FilePlan, file: &File) -> io::Result<PathBuf> {
        let (folder, _) = self.folder_of(plan)?;
        link_into_place(folder, plan, file)
    }

    /// Gives the unnamed `file` of an interrupted transfer its partial
    /// name, so its sidecar can be written and a resume continues it.
    pub(super) fn name_part(&self, plan: &FilePlan, file: &File) -> io::Result<()> {
        let (folder, name) = self.folder_of(plan)?;
        folder.link_new(file, &folder::part_name(name))
    }

    /// The open folder an unnamed file of `plan` was created in, and its name.
    fn folder_of<'f>(
        &'f self,
        plan: &'f FilePlan,
    ) -> io::Result<(&'f Folder, &'f std::ffi::OsStr)> {
        let folder = self
            .folder
            .as_deref()
            .filter(|open| plan.final_path.parent() == Some(open.path()));
        let name = plan.final_path.file_name();
        folder
            .zip(name)
            .ok_or_else(|| io::Error::other("the file's folder is no longer open"))
    }
}

/// Gives the verified unnamed `file`, made in `folder`, the final name of
/// `plan` (which is in `folder`), or the next free numbered one if that was
/// taken meanwhile; never replaces.
pub(super) fn link_into_place(
    folder: &Folder,
    plan: &FilePlan,
    file: &File,
) -> io::Result<PathBuf> {
    let name = plan
        .final_path
        .file_name()
        .ok_or_else(|| io::Error::other("the file has no name"))?;
    match folder.link_new(file, name) {
        Ok(()) => Ok(plan.final_path.clone()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // Rare: the partial name, then the usual numbered search.
            folder.link_new(file, &folder::part_name(name))?;
            resume::promote(plan)
        }
        Err(e) => Err(e),
    }
}

/// The open folder for a file about to be written into `final_path`'s
/// folder: the one already open, else that folder opened now (files of one
/// folder arrive together). `None` if it cannot be opened: paths then.
pub(super) fn open_folder<'f>(
    slot: &'f mut Option<Arc<Folder>>,
    final_path: &Path,
) -> Option<&'f Arc<Folder>> {
    let parent = final_path.parent()?;
    if slot.as_ref().is_none_or(|open| open.path() != parent) {
        *slot = Folder::open(parent).ok().map(Arc::new);
    }
    slot.as_ref()
}
