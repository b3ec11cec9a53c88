//! What a LocalSend send offers: the files of the paths (or a text) listed
//! with their sizes and SHA-256, small files' bytes kept from that same
//! read so that they need not be read again. It reads files and decides
//! nothing about devices, trust or the wire's answers (`send` does).

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::send::What;
use super::wire::FileMeta;

/// Small files are kept in memory from the hashing pass and sent from
/// there, without a second open, read and thread hop each: files of at most
/// this many bytes, [`KEEP_TOTAL`] in all (so memory stays bounded whatever
/// the count; the rest are streamed from disk). What is sent is then exactly
/// what was hashed.
const KEEP_FILE: u64 = 64 * 1024;

/// Most bytes of small files kept at once (see [`KEEP_FILE`]).
const KEEP_TOTAL: u64 = 16 * 1024 * 1024;

/// One file to send.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) meta: FileMeta,
    /// Where its bytes are (`None` for a text: `text` holds them).
    pub(super) local: Option<PathBuf>,
    /// A small file's bytes, kept from the hashing pass (see [`KEEP_FILE`]).
    pub(super) kept: Option<Bytes>,
    pub(super) text: Option<String>,
}

/// How far hashing the picked files has come, shared between the threads
/// that hash and the send that waits for them (and reports it).
#[derive(Debug, Default)]
pub(super) struct Hashing {
    /// Set on Cancel: hashing stops at its next read.
    pub(super) stop: AtomicBool,
    /// Files to hash, once the picked paths are listed (0 until then).
    total_files: AtomicU64,
    total_bytes: AtomicU64,
    /// Files hashed in full, and bytes read, so far.
    files: AtomicU64,
    bytes: AtomicU64,
}

impl Hashing {
    /// (files, bytes, total files, total bytes), once the files are listed.
    pub(super) fn so_far(&self) -> Option<(u64, u64, u64, u64)> {
        let total_files = self.total_files.load(Ordering::Relaxed);
        (total_files > 0).then(|| {
            (
                self.files.load(Ordering::Relaxed),
                self.bytes.load(Ordering::Relaxed),
                total_files,
                self.total_bytes.load(Ordering::Relaxed),
            )
        })
    }
}

/// Lists and hashes what will be sent (on a blocking thread: it reads files).
pub(super) fn collect(what: What, hashing: &Hashing) -> Result<Vec<Item>, String> {
    match what {
        What::Text(text) => Ok(vec![Item {
            meta: FileMeta {
                id: "0".into(),
                file_name: "message.txt".into(),
                size: text.len() as u64,
                file_type: "text/plain".into(),
                sha256: Some(crate::hex::lower(&Sha256::digest(text.as_bytes()))),
                preview: Some(text.clone()),
                metadata: None,
            },
            local: None,
            kept: None,
            text: Some(text),
        }]),
        What::Paths(paths) => {
            let entries =
                crate::transfer::send::source::collect(&paths).map_err(|e| e.to_string())?;
            let files: Vec<_> = entries
                .into_iter()
                .filter(|source| source.entry.kind == crate::protocol::EntryKind::File)
                .filter_map(|source| Some((source.local?, source.entry)))
                .collect();
            if files.len() > super::wire::MAX_FILES {
                return Err(format!(
                    "LocalSend takes at most {} files at once.",
                    super::wire::MAX_FILES
                ));
            }
            if files.is_empty() {
                return Err(
                    "There is no file to send (LocalSend does not take empty folders).".into(),
                );
            }
            let bytes = files.iter().map(|(_, entry)| entry.size).sum();
            hashing.total_bytes.store(bytes, Ordering::Relaxed);
            hashing
                .total_files
                .store(files.len() as u64, Ordering::Relaxed);
            let hashed = hash_all(&files, hashing)?;
            Ok(files
                .into_iter()
                .zip(hashed)
                .enumerate()
                .map(|(index, ((local, entry), (digest, kept)))| Item {
                    meta: FileMeta {
                        id: index.to_string(),
                        file_name: entry.path.join("/"),
                        size: entry.size,
                        file_type: "application/octet-stream".into(),
                        sha256: Some(digest),
                        preview: None,
                        metadata: None,
                    },
                    local: Some(local),
                    kept,
                    text: None,
                })
                .collect())
        }
    }
}

/// Threads that hash at once: the offer waits for every file's SHA-256,
/// and for many small files opening and reading them costs more than the
/// hash, so a second core halves the wait before the first byte.
const HASHERS: usize = 2;

/// The SHA-256 (and, for small files, the bytes) of each file, in order,
/// on up to [`HASHERS`] threads, each over its own contiguous share and
/// keeping at most its share of [`KEEP_TOTAL`].
fn hash_all(
    files: &[(PathBuf, crate::protocol::Entry)],
    hashing: &Hashing,
) -> Result<Vec<(String, Option<Bytes>)>, String> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, HASHERS)
        .min(files.len().max(1));
    let share = files.len().div_ceil(threads);
    let budget = KEEP_TOTAL / threads as u64;
    let hash_share = |share: &[(PathBuf, crate::protocol::Entry)]| {
        let mut buf = vec![0u8; 64 * 1024];
        let mut keep_left = budget;
        let mut out = Vec::with_capacity(share.len());
        for (local, entry) in share {
            let keep = entry.size <= KEEP_FILE && entry.size <= keep_left;
            let (digest, kept) = hash_file(local, entry.size, keep, &mut buf, hashing)
                .map_err(|e| format!("cannot read {}: {e}", local.display()))?;
            if let Some(kept) = &kept {
                keep_left -= kept.len() as u64;
            }
            hashing.files.fetch_add(1, Ordering::Relaxed);
            out.push((digest, kept));
        }
        Ok::<_, String>(out)
    };
    if threads == 1 {
        return hash_share(files);
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(share)
            .map(|part| scope.spawn(move || hash_share(part)))
            .collect();
        let mut all = Vec::with_capacity(files.len());
        for worker in workers {
            all.extend(
                worker
                    .join()
                    .map_err(|_| "a hashing thread failed".to_string())??,
            );
        }
        Ok(all)
    })
}

/// Hashes a file with `buf`; when `keep`, also returns its bytes if they
/// are exactly `size` (a file that changed size since it was listed is
/// streamed instead, and the receiver's size check decides).
fn hash_file(
    path: &std::path::Path,
    size: u64,
    keep: bool,
    buf: &mut [u8],
    hashing: &Hashing,
) -> std::io::Result<(String, Option<Bytes>)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let want = usize::try_from(size).unwrap_or(usize::MAX);
    let mut kept = keep.then(|| Vec::with_capacity(want));
    loop {
        if hashing.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("cancelled"));
        }
        let n = file.read(buf)?;
        hashing.bytes.fetch_add(n as u64, Ordering::Relaxed);
        if n == 0 {
            let kept = kept.filter(|k| k.len() == want).map(Bytes::from);
            return Ok((crate::hex::lower(&hasher.finalize()), kept));
        }
        hasher.update(&buf[..n]);
        if let Some(k) = kept.as_mut() {
            if k.len() + n > want {
                kept = None;
            } else {
                k.extend_from_slice(&buf[..n]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing is reported before the picked paths are listed; once all is
    /// hashed the counts are the totals, and each digest is the file's.
    #[test]
    fn hashing_counts_files_and_bytes_up_to_the_totals() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut sizes = 0u64;
        for (i, size) in [0usize, 5, 100_000, 300_000].into_iter().enumerate() {
            std::fs::write(dir.path().join(format!("f{i}")), vec![i as u8; size]).expect("write");
            sizes += size as u64;
        }
        let hashing = Hashing::default();
        assert_eq!(hashing.so_far(), None);
        let items =
            collect(What::Paths(vec![dir.path().to_path_buf()]), &hashing).expect("collect");
        assert_eq!(items.len(), 4);
        assert_eq!(hashing.so_far(), Some((4, sizes, 4, sizes)));
        for item in &items {
            let bytes = std::fs::read(item.local.as_ref().expect("local")).expect("read");
            let digest = crate::hex::lower(&Sha256::digest(&bytes));
            assert_eq!(item.meta.sha256.as_deref(), Some(digest.as_str()));
        }
    }
}
