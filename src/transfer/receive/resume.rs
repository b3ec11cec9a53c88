//! The receiver's plan for an accepted offer: which folder and file names to
//! use, which partial files from an earlier, interrupted try can be continued
//! and from which byte, and the small markers that make that decision safe.
//! It creates folders and markers; file contents are written by `receive`.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::fs::names::{self, PART_META_SUFFIX};
use serde::{Deserialize, Serialize};

pub use super::plan::{PageError, PagePlan, plan, plan_avoiding, plan_page};

/// Name of the marker inside a received folder that is not complete yet.
pub const FOLDER_MARKER: &str = ".ferry-incomplete";

/// Files larger than this get their `.meta` sidecar when their partial file
/// is created, so even a receiver that crashes leaves them resumable. Smaller
/// files get it only if their transfer is interrupted in an orderly way
/// (connection lost, disk full): for them the sidecar would cost more than
/// sending the file again, and for 10,000 small files it doubled the file
/// system work.
pub const EAGER_META_BYTES: u64 = 1024 * 1024;

/// What a partial file or unfinished folder belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Provenance {
    pub(super) sender: String,
    pub(super) size: u64,
    pub(super) modified_ms: Option<i64>,
    pub(super) fingerprint: String,
}

/// Where one accepted top-level folder goes, and what of it is still to be listed.
#[derive(Debug, Clone)]
pub struct RootPlan {
    /// Its entry index in the offer.
    pub item: u32,
    /// The folder it is received into.
    pub path: PathBuf,
    /// An unfinished copy from an earlier try is continued.
    pub resumed: bool,
    /// Its modification time, set once it is complete.
    pub modified_ms: Option<i64>,
    /// What the offer announced and no page has listed yet.
    pub left: crate::protocol::Contents,
    /// Folders of the listing being received under another name than their
    /// own (their name, once made safe, was a file's), outermost first, as
    /// (planned path, path used), both relative to the download folder: only
    /// those enclosing the last entry listed, so at most the path depth.
    pub renamed: Vec<(PathBuf, PathBuf)>,
}

/// Where one accepted file goes.
#[derive(Debug, Clone)]
pub struct FilePlan {
    /// Entry index in the offer.
    pub index: u32,
    /// How many leading components of `final_path` are the download folder
    /// (see [`FilePlan::display`]; a stored name would cost ~64 bytes a file).
    pub root_depth: u16,
    /// Final path, if nothing takes it before the file is verified.
    pub final_path: PathBuf,
    /// Size promised by the offer.
    pub size: u64,
    /// Modification time promised by the offer.
    pub modified_ms: Option<i64>,
    /// Bytes already on disk that need not cross the wire again.
    pub offset: u64,
    /// The whole file is already under `final_path` from an earlier try.
    pub already_final: bool,
    /// A partial file of ours without a sidecar sits at the partial path
    /// (inside a resumed folder): it is replaced, not resumed.
    pub stale_part: bool,
    /// A partial of ours with its sidecar sits at the partial path (it may
    /// be empty): it is reopened and continued from `offset`, not created.
    /// Known from planning, so opening a new file looks for nothing first.
    pub kept_part: bool,
}

impl Plan {
    /// What [`plan_avoiding`] must keep other transfers away from: the
    /// folder roots and the files directly in `root_dir`. Files inside a root
    /// need no claim of their own (no other plan picks or resumes into a
    /// claimed root), which keeps this to a few paths for 10,000 files.
    pub fn claims(&self, root_dir: &Path) -> Vec<PathBuf> {
        let loose = self
            .files
            .iter()
            .filter(|f| f.final_path.parent() == Some(root_dir))
            .map(|f| f.final_path.clone());
        loose
            .chain(self.roots.iter().map(|r| r.path.clone()))
            .collect()
    }
}

impl FilePlan {
    /// The path for people, inside the download folder: "photos/a.jpg", or
    /// "photos (1)/a.jpg" when the name was taken.
    pub fn display(&self) -> String {
        let inside = self.final_path.iter().skip(usize::from(self.root_depth));
        let names: Vec<_> = inside.map(|name| name.to_string_lossy()).collect();
        names.join("/")
    }

    /// The partial file being written.
    pub fn part_path(&self) -> PathBuf {
        names::part_path(&self.final_path)
    }
}

/// The receiver's plan for the top-level items of one transfer (what is
/// inside folders is planned page by page, see [`plan_page`]).
#[derive(Debug, Default)]
pub struct Plan {
    /// Accepted top-level files in offer order.
    pub files: Vec<FilePlan>,
    /// Accepted top-level folders in offer order (their markers go when the
    /// transfer completes).
    pub roots: Vec<RootPlan>,
    /// Text messages of the offer.
    pub texts: Vec<String>,
    /// Folders to create before any file is written, relative to the download
    /// folder, parents first.
    pub create: Vec<PathBuf>,
    /// Markers to write into new top-level folders.
    pub(super) markers: Vec<(PathBuf, Provenance)>,
}

pub(super) fn meta_path(part: &Path) -> PathBuf {
    let mut name = part.file_name().unwrap_or_default().to_os_string();
    name.push(PART_META_SUFFIX);
    part.with_file_name(name)
}

pub(super) fn read_provenance(path: &Path) -> Option<Provenance> {
    // Never follow a link planted where a marker should be.
    if !path.symlink_metadata().ok()?.is_file() {
        return None;
    }
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// Writes a sidecar or marker. One that cannot be written whole (a full
/// disk) is removed: an empty or cut one would make its partial look like
/// somebody else's, so the next try would neither resume nor replace it but
/// leave it and take a numbered name beside it.
fn write_provenance(path: &Path, provenance: &Provenance) -> io::Result<()> {
    let bytes = serde_json::to_vec(provenance).map_err(io::Error::other)?;
    let written = fs::write(path, bytes);
    if written.is_err() {
        let _ = fs::remove_file(path);
    }
    written
}

/// Records what a partial file belongs to, so a later offer can resume it.
pub fn write_part_meta(plan: &FilePlan, sender: &str) -> io::Result<()> {
    let provenance = Provenance {
        sender: sender.to_string(),
        size: plan.size,
        modified_ms: plan.modified_ms,
        fingerprint: String::new(),
    };
    write_provenance(&meta_path(&plan.part_path()), &provenance)
}

/// Removes a partial file and its metadata (best effort: they may not exist).
pub fn discard_part(plan: &FilePlan) {
    let part = plan.part_path();
    let _ = fs::remove_file(meta_path(&part));
    let _ = fs::remove_file(part);
}

/// Removes the metadata of a partial file that has just become final.
pub fn forget_part_meta(plan: &FilePlan) {
    let _ = fs::remove_file(meta_path(&plan.part_path()));
}

/// Marks a top-level folder complete.
pub fn finish_root(root: &Path) {
    let _ = fs::remove_file(root.join(FOLDER_MARKER));
}

/// Length of a resumable partial at `part` for the given file, if any.
pub(super) fn resumable_part(
    part: &Path,
    sender: &str,
    size: u64,
    modified_ms: Option<i64>,
) -> Option<u64> {
    let meta = part.symlink_metadata().ok()?;
    let provenance = read_provenance(&meta_path(part))?;
    (meta.is_file()
        && provenance.sender == sender
        && provenance.size == size
        && provenance.modified_ms == modified_ms)
        .then(|| meta.len().min(size))
}

/// Bytes of the offer's top-level files that partial files kept from an
/// earlier try by the same sender already hold in `root_dir` (what the
/// offer card shows as "Resuming after …"; folders' contents are found only
/// as their pages come, so they are not counted).
pub fn resumable_bytes(
    root_dir: &Path,
    offer: &crate::protocol::Offer,
    safe_paths: &[Option<PathBuf>],
) -> u64 {
    let sender = offer.sender.device_id.as_str();
    let kept = offer
        .entries
        .iter()
        .zip(safe_paths)
        .filter_map(|(entry, path)| {
            let path = path.as_ref()?;
            (entry.kind == crate::protocol::EntryKind::File).then(|| {
                let part = names::part_path(&root_dir.join(path));
                resumable_part(&part, sender, entry.size, entry.modified_ms).unwrap_or(0)
            })
        });
    super::saturating_sum(kept)
}

/// Creates the planned folders (never through a symlink) and the markers of
/// new top-level folders.
pub fn materialize(root_dir: &Path, plan: &Plan) -> io::Result<()> {
    let mut made: HashSet<&Path> = HashSet::new();
    for rel in &plan.create {
        if made.insert(rel.as_path()) {
            names::create_dirs_inside(root_dir, rel)?;
        }
    }
    for (root, marker) in &plan.markers {
        write_provenance(&root.join(FOLDER_MARKER), marker)?;
    }
    Ok(())
}

/// Creates the folders of one planned page (never through a symlink).
pub fn materialize_page(root_dir: &Path, page: &PagePlan) -> io::Result<()> {
    let mut last: Option<&Path> = None;
    for rel in &page.create {
        if last != Some(rel.as_path()) {
            names::create_dirs_inside(root_dir, rel)?;
            last = Some(rel.as_path());
        }
    }
    Ok(())
}

/// Gives a verified partial file its final name without ever replacing an
/// existing file: if the planned name was taken meanwhile, the next free
/// numbered name is used. Returns the name used.
pub fn promote(plan: &FilePlan) -> io::Result<PathBuf> {
    promote_part(&plan.part_path(), &plan.final_path)
}

/// Renames the finished partial file `part` to `final_path`, or to the next
/// free numbered variant of it (`name (1).ext`, ...) if something already sits
/// there. Never replaces an existing file. Returns the name used. Shared by
/// every way a file arrives (TCP transfers and browser uploads).
pub fn promote_part(part: &Path, final_path: &Path) -> io::Result<PathBuf> {
    let dir = final_path.parent().unwrap_or(Path::new("."));
    let name = final_path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    // The planned name may itself be numbered already; count on from it.
    let mut n = 0;
    loop {
        let candidate = if n == 0 {
            final_path.to_path_buf()
        } else {
            dir.join(names::numbered(&name, n))
        };
        // An atomic rename that refuses to replace: one system call.
        match rename_no_replace(part, &candidate) {
            Ok(true) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            // Not supported here: a hard link fails if the target exists,
            // which makes "never overwrite" atomic too.
            Ok(false) | Err(_) => match fs::hard_link(part, &candidate) {
                Ok(()) => {
                    fs::remove_file(part)?;
                    return Ok(candidate);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(_) => {
                    // File systems without hard links (FAT, some network shares).
                    if !names::occupied(&candidate) {
                        fs::rename(part, &candidate)?;
                        return Ok(candidate);
                    }
                }
            },
        }
        n += 1;
        if n > names::MAX_NUMBERED {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "no free name"));
        }
    }
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists` then), in one
/// atomic step. `Ok(false)`: this system or file system cannot do that.
#[cfg(target_os = "linux")]
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<bool> {
    crate::fs::folder::rename_no_replace_at(rustix::fs::CWD, from, to)
}

#[cfg(not(target_os = "linux"))]
fn rename_no_replace(_from: &Path, _to: &Path) -> io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Contents, DeviceInfo, Entry, EntryKind, Offer};

    /// An offer of the top-level `entries`, and the listing of its folders.
    struct Offered {
        offer: Offer,
        inside: Vec<Entry>,
    }

    fn offer(entries: Vec<Entry>) -> Offered {
        let sender = DeviceInfo {
            device_id: "s1".into(),
            alias: "a".into(),
            os: "linux".into(),
            port: 0,
        };
        let (top, inside): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| e.path.len() == 1);
        let contents = top
            .iter()
            .filter(|e| e.kind == EntryKind::Directory)
            .map(|e| {
                let mine = inside.iter().filter(|i| i.path[0] == e.path[0]);
                let mut print = crate::transfer::send::count::Fingerprint::default();
                let mut contents = Contents::default();
                for entry in mine {
                    print.add(entry);
                    if entry.kind == EntryKind::File {
                        contents.files += 1;
                        contents.bytes += entry.size;
                    } else {
                        contents.folders += 1;
                    }
                }
                contents.fingerprint = print.finish();
                contents
            })
            .collect();
        Offered {
            offer: Offer {
                transfer_id: 1,
                sender,
                entries: top,
                pin: None,
                contents,
            },
            inside,
        }
    }

    fn entry(path: &str, kind: EntryKind, size: u64) -> Entry {
        Entry {
            path: path.split('/').map(String::from).collect(),
            kind,
            size,
            modified_ms: Some(5),
        }
    }

    /// Every file's plan, top-level first, then each folder's in one page.
    struct Planned {
        files: Vec<FilePlan>,
    }

    fn plan_all(dir: &Path, offered: &Offered) -> Planned {
        let offer = &offered.offer;
        let safe: Vec<Option<PathBuf>> = offer
            .entries
            .iter()
            .map(|e| names::sanitize_relative(&e.path).ok())
            .collect();
        let wanted = (0..offer.entries.len() as u32).collect();
        let mut planned = plan(dir, offer, &safe, &wanted).expect("plan");
        materialize(dir, &planned).expect("materialize");
        let mut files = std::mem::take(&mut planned.files);
        let mut first = offer.entries.len() as u32;
        for root in &mut planned.roots {
            let name = &offer.entries[root.item as usize].path[0];
            let page: Vec<Entry> = offered
                .inside
                .iter()
                .filter(|e| &e.path[0] == name)
                .cloned()
                .collect();
            let paged = plan_page(dir, root, "s1", first, &page).expect("page");
            materialize_page(dir, &paged).expect("materialize");
            first += page.len() as u32;
            files.extend(paged.files);
        }
        Planned { files }
    }

    #[test]
    fn existing_names_get_numbers_and_folders_too() {
        let dir = tempfile::tempdir().expect("tmp");
        fs::write(dir.path().join("report.pdf"), b"old").expect("write");
        fs::create_dir(dir.path().join("photos")).expect("mkdir");
        let o = offer(vec![
            entry("report.pdf", EntryKind::File, 3),
            entry("photos", EntryKind::Directory, 0),
            entry("photos/a.jpg", EntryKind::File, 1),
        ]);
        let p = plan_all(dir.path(), &o);
        assert_eq!(p.files[0].final_path, dir.path().join("report (1).pdf"));
        assert_eq!(
            p.files[1].final_path,
            dir.path().join("photos (1)").join("a.jpg")
        );
        assert_eq!(
            fs::read(dir.path().join("report.pdf")).expect("read"),
            b"old"
        );
        // People are shown the names the files really get.
        assert_eq!(p.files[0].display(), "report (1).pdf");
        assert_eq!(p.files[1].display(), "photos (1)/a.jpg");
    }

    /// A sidecar that cannot be written whole (here: its name leads to
    /// /dev/full, which fails every write with "no space") leaves nothing
    /// under its name. An empty one, as a full disk left it before, made the
    /// next try skip its partial and take "big (1).bin" beside it.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_sidecar_the_disk_has_no_room_for_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let o = offer(vec![entry("big.bin", EntryKind::File, 100)]);
        let plan = &plan_all(dir.path(), &o).files[0];
        fs::write(plan.part_path(), [0u8; 40]).expect("write");
        let meta = meta_path(&plan.part_path());
        std::os::unix::fs::symlink("/dev/full", &meta).expect("symlink");
        let e = write_part_meta(plan, "s1").expect_err("no space");
        assert_eq!(e.raw_os_error(), Some(28), "{e}"); // ENOSPC
        assert!(meta.symlink_metadata().is_err(), "nothing left at {meta:?}");
    }

    #[test]
    fn a_matching_partial_is_resumed_and_a_foreign_one_is_not() {
        let dir = tempfile::tempdir().expect("tmp");
        let o = offer(vec![entry("big.bin", EntryKind::File, 100)]);
        let first = plan_all(dir.path(), &o);
        fs::write(first.files[0].part_path(), [0u8; 40]).expect("write");
        write_part_meta(&first.files[0], "s1").expect("meta");
        let again = plan_all(dir.path(), &o);
        assert_eq!(again.files[0].offset, 40);
        assert_eq!(again.files[0].final_path, first.files[0].final_path);
        let changed = offer(vec![entry("big.bin", EntryKind::File, 101)]);
        let other = plan_all(dir.path(), &changed);
        assert_eq!(other.files[0].offset, 0);
        assert_eq!(other.files[0].final_path, dir.path().join("big (1).bin"));
    }

    /// Small files get no sidecar while they are written; if the receiver died
    /// mid-file, their partial sits in the unfinished folder without one. A new
    /// try of that folder must reuse the name (replacing the stale partial),
    /// not add "a (1).txt" beside it.
    #[test]
    fn a_stale_partial_in_a_resumed_folder_is_replaced_not_renamed_around() {
        let dir = tempfile::tempdir().expect("tmp");
        let o = offer(vec![
            entry("album", EntryKind::Directory, 0),
            entry("album/a.txt", EntryKind::File, 10),
            entry("album/b.txt", EntryKind::File, 10),
        ]);
        let first = plan_all(dir.path(), &o);
        assert!(first.files.iter().all(|f| !f.stale_part && f.offset == 0));
        fs::write(first.files[0].part_path(), b"12345").expect("write");
        let again = plan_all(dir.path(), &o);
        assert_eq!(again.files[0].final_path, first.files[0].final_path);
        assert!(again.files[0].stale_part);
        assert_eq!(again.files[0].offset, 0);
        assert!(!again.files[1].stale_part);
        assert_eq!(again.files[1].final_path, first.files[1].final_path);
    }

    #[test]
    fn a_partial_with_its_sidecar_in_a_resumed_folder_is_resumed() {
        let dir = tempfile::tempdir().expect("tmp");
        let o = offer(vec![
            entry("album", EntryKind::Directory, 0),
            entry("album/a.txt", EntryKind::File, 10),
        ]);
        let first = plan_all(dir.path(), &o);
        fs::write(first.files[0].part_path(), b"12345").expect("write");
        write_part_meta(&first.files[0], "s1").expect("meta");
        let again = plan_all(dir.path(), &o);
        assert_eq!(again.files[0].offset, 5);
        assert!(!again.files[0].stale_part);
    }

    #[test]
    fn promote_never_overwrites() {
        let dir = tempfile::tempdir().expect("tmp");
        let o = offer(vec![entry("a.txt", EntryKind::File, 3)]);
        let p = plan_all(dir.path(), &o);
        fs::write(p.files[0].part_path(), b"new").expect("write");
        fs::write(dir.path().join("a.txt"), b"raced").expect("write");
        let landed = promote(&p.files[0]).expect("promote");
        assert_eq!(landed, dir.path().join("a (1).txt"));
        assert_eq!(fs::read(dir.path().join("a.txt")).expect("read"), b"raced");
        assert_eq!(fs::read(landed).expect("read"), b"new");
    }
}
