//! What a LocalSend send offers: the files of the paths (or a text) listed
//! with their sizes and SHA-256, small files' bytes kept from that same
//! read so that they need not be read again. It reads files and decides
//! nothing about devices, trust or the wire's answers (`send` does).

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Lists and hashes what will be sent (on a blocking thread: it reads files).
pub(super) fn collect(what: What, stop: &AtomicBool) -> Result<Vec<Item>, String> {
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
            let mut items = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            let mut keep_left = KEEP_TOTAL;
            for source in entries {
                let Some(local) = source.local else { continue };
                if source.entry.kind != crate::protocol::EntryKind::File {
                    continue;
                }
                if items.len() >= super::wire::MAX_FILES {
                    return Err(format!(
                        "LocalSend takes at most {} files at once.",
                        super::wire::MAX_FILES
                    ));
                }
                let size = source.entry.size;
                let keep = size <= KEEP_FILE && size <= keep_left;
                let (digest, kept) = hash_file(&local, size, keep, &mut buf, stop)
                    .map_err(|e| format!("cannot read {}: {e}", local.display()))?;
                if let Some(kept) = &kept {
                    keep_left -= kept.len() as u64;
                }
                items.push(Item {
                    meta: FileMeta {
                        id: items.len().to_string(),
                        file_name: source.entry.path.join("/"),
                        size: source.entry.size,
                        file_type: "application/octet-stream".into(),
                        sha256: Some(digest),
                        preview: None,
                        metadata: None,
                    },
                    local: Some(local),
                    kept,
                    text: None,
                });
            }
            if items.is_empty() {
                return Err(
                    "There is no file to send (LocalSend does not take empty folders).".into(),
                );
            }
            Ok(items)
        }
    }
}

/// Hashes a file with `buf`; when `keep`, also returns its bytes if they
/// are exactly `size` (a file that changed size since it was listed is
/// streamed instead, and the receiver's size check decides).
fn hash_file(
    path: &std::path::Path,
    size: u64,
    keep: bool,
    buf: &mut [u8],
    stop: &AtomicBool,
) -> std::io::Result<(String, Option<Bytes>)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let want = usize::try_from(size).unwrap_or(usize::MAX);
    let mut kept = keep.then(|| Vec::with_capacity(want));
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("cancelled"));
        }
        let n = file.read(buf)?;
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
