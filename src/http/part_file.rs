//! One uploaded file on its way to disk: created exclusively as
//! `NAME.ferry-part` beside the first free name (never replacing anything),
//! synced, then given its final name with the never-overwrite rename; removed
//! if the upload ends any other way. It reads no request; `upload` and
//! `resumable` feed it.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use crate::fs::names;
use crate::transfer::receive::resume;

/// A file being received: removed on drop unless it got its final name.
pub(crate) struct PartFile {
    pub(crate) file: tokio::fs::File,
    partial: Partial,
}

impl PartFile {
    /// Creates `NAME.ferry-part` beside the first name that is free (and
    /// whose partial name is free too) in `root/rel`; the folders of `rel`
    /// (cleaned names) are made one by one, never through a symlink.
    pub(crate) async fn create(
        root: PathBuf,
        rel: PathBuf,
        name: String,
    ) -> std::io::Result<PartFile> {
        let (file, part, planned) =
            tokio::task::spawn_blocking(move || open_part(&root, &rel, &name))
                .await
                .map_err(std::io::Error::other)??;
        Ok(PartFile {
            file: tokio::fs::File::from_std(file),
            partial: Partial::new(part, planned),
        })
    }

    /// Syncs the bytes to disk and gives the file its final name.
    pub(crate) async fn finish(mut self) -> std::io::Result<PathBuf> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let (part, planned) = (self.partial.part.clone(), self.partial.planned.clone());
        let landed = tokio::task::spawn_blocking(move || resume::promote_part(&part, &planned))
            .await
            .map_err(std::io::Error::other)??;
        self.partial.done = true;
        Ok(landed)
    }
}

/// The partial's paths: removed on drop unless it got its final name.
struct Partial {
    part: PathBuf,
    planned: PathBuf,
    done: bool,
}

impl Partial {
    fn new(part: PathBuf, planned: PathBuf) -> Partial {
        Partial {
            part,
            planned,
            done: false,
        }
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

/// Creates the download folder if needed, the folders of `rel` without
/// following links, and `NAME.ferry-part` exclusively beside the first free
/// name: the file, its partial path and its planned final path.
fn open_part(
    root: &Path,
    rel: &Path,
    name: &str,
) -> std::io::Result<(std::fs::File, PathBuf, PathBuf)> {
    std::fs::create_dir_all(root)?;
    let dir = names::create_dirs_inside(root, rel)?;
    for _ in 0..100 {
        let planned = names::first_free(&dir, name, |candidate| {
            !names::occupied(candidate) && !names::occupied(&names::part_path(candidate))
        })?;
        let part = names::part_path(&planned);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)
        {
            Ok(file) => return Ok((file, part, planned)),
            // Someone took that name a moment ago: look again.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "no free name",
    ))
}

/// [`PartFile`] for code that already runs on a blocking thread (one hop
/// for a whole file instead of one per step): same names, same
/// never-overwrite promotion, same removal on drop. It serves LocalSend
/// uploads, which, like Ferry's own transfers, are not forced to disk
/// before they take their name (docs/ARCHITECTURE.md, "what is synced").
pub(crate) struct BlockingPartFile {
    pub(crate) file: std::fs::File,
    partial: Partial,
}

impl BlockingPartFile {
    /// As [`PartFile::create`], on the calling thread.
    pub(crate) fn create(root: &Path, rel: &Path, name: &str) -> std::io::Result<BlockingPartFile> {
        let (file, part, planned) = open_part(root, rel, name)?;
        Ok(BlockingPartFile {
            file,
            partial: Partial::new(part, planned),
        })
    }

    /// Gives the file its final name, as [`PartFile::finish`] does but
    /// without syncing first, on the calling thread.
    pub(crate) fn finish(mut self) -> std::io::Result<PathBuf> {
        let landed = resume::promote_part(&self.partial.part, &self.partial.planned)?;
        self.partial.done = true;
        Ok(landed)
    }
}
