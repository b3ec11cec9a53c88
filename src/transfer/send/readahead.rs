//! The sender's disk side, on its own thread: it opens each accepted file,
//! reads it in L2-sized pieces and hashes each piece while it is still in the
//! cache, and hands full buffers to the sending worker over a bounded channel.
//! Reading and hashing one buffer thus overlaps with encrypting and writing
//! the previous one. Spent buffers come back to be refilled, so the steady
//! state allocates nothing and memory stays at a few buffers. It reads files;
//! it never touches the connection.

use std::fs::File;
use std::io::{self, IoSliceMut, Read};
use std::path::PathBuf;

use crossbeam_channel::{Receiver, Sender, bounded};
use sha2::{Digest, Sha256};

use crate::protocol::DataBuf;
use crate::protocol::limits::DATA_CHUNK;

/// Bytes read from the file per system call, then hashed at once while they
/// are hot in the cache (SHA-256 over 512 KiB pieces is markedly slower).
pub const READ_PIECE: usize = 128 * 1024;

/// Pieces the reader may run ahead of the writer (many small files).
/// Four batches (256 KiB) keep the writer fed as well as eight or sixteen
/// did (12 alternating runs of 10,000 × 4 KiB: medians 0.251 s and 0.253 s),
/// and every byte of them is touched over a long transfer, so each halving
/// took a quarter MiB off the sender's peak memory with many files. (Big
/// files are bounded by [`POOL`], not by this.)
const READ_AHEAD: usize = 4;

/// `DATA_CHUNK` buffers in existence at most: one being filled, one being
/// written, two waiting (2 MiB). They are recycled, never freed early.
const POOL: usize = 4;

/// Files (or remainders) up to this size are read whole into a buffer of
/// their own size and handed over as one [`Piece::Whole`]. With
/// [`READ_AHEAD`] and [`BATCH_BYTES`] this bounds small-file read-ahead at
/// about 256 KiB.
pub const SMALL_FILE: u64 = 64 * 1024;

/// Small files gathered into one [`Piece::Batch`] at most: a hand-off per
/// file costs two futex calls and a thread wake-up, more than reading a
/// 1 KiB file.
const BATCH_FILES: usize = 64;

/// A batch is handed over once its files hold this many bytes.
const BATCH_BYTES: usize = 64 * 1024;

/// One accepted file, as the reader needs it.
#[derive(Debug, Clone)]
pub struct Job {
    /// Entry index in the offer.
    pub index: u32,
    /// Its path in the offer, for people ("photos/a.jpg").
    pub name: String,
    /// Bytes the receiver already has: hashed here, not sent.
    pub offset: u64,
    /// Size promised by the offer.
    pub size: u64,
    /// Modification time promised by the offer.
    pub modified_ms: Option<i64>,
    /// Where the bytes are.
    pub local: Option<PathBuf>,
}

/// What the reader hands to the sending worker, in wire order.
#[derive(Debug)]
pub enum Piece {
    /// The file's bytes from `offset` follow.
    Start {
        /// Entry index.
        index: u32,
        /// First byte that will be sent.
        offset: u64,
        /// Its size.
        size: u64,
        /// Its path in the offer.
        name: String,
    },
    /// The next bytes of the current file (never empty), laid out for
    /// sealing in place.
    Data(DataBuf),
    /// The current file ended; its SHA-256 from byte 0.
    End {
        /// Entry index.
        index: u32,
        /// Hash of the whole file.
        sha256: [u8; 32],
    },
    /// The file cannot be sent (it may or may not have started).
    Abandoned {
        /// Entry index.
        index: u32,
        /// A phrase for people.
        reason: String,
        /// Its path in the offer.
        name: String,
    },
    /// A small file at once: `FileStart`, its bytes (if any) and `FileEnd`.
    Whole {
        /// Entry index.
        index: u32,
        /// First byte of `bytes` in the file.
        offset: u64,
        /// The bytes from `offset` to the end.
        bytes: Vec<u8>,
        /// Hash of the whole file.
        sha256: [u8; 32],
        /// Its size.
        size: u64,
        /// Its path in the offer.
        name: String,
    },
    /// The next page of a folder's listing, to go out as [`crate::protocol::Message::Page`].
    Page {
        /// Entry index of the folder listed.
        item: u32,
        /// Entry index of the first entry.
        first: u32,
        /// The entries.
        entries: Vec<crate::protocol::Entry>,
    },
    /// Entries the listing cannot send as offered (the folder changed
    /// since): a sentence, and how many files it counts as failed.
    Unlisted(String, u32),
    /// Small files read one after another ([`Piece::Whole`]s), handed over
    /// together: one channel hand-off (and wake-up) for many files.
    Batch(Vec<Piece>),
    /// The transfer cannot go on.
    Failed(String),
    /// Every job is done.
    Finished,
}

/// The worker's end of a reader.
pub struct ReadAhead {
    /// Pieces in wire order.
    pub pieces: Receiver<Piece>,
    /// Spent data buffers go back here.
    pub recycle: Sender<DataBuf>,
}

/// The worker went away; stop.
pub(super) struct Gone;

/// Reads files into pieces for the worker (see [`super::pages`] for the
/// thread that drives it).
pub(super) struct Reader {
    tx: Sender<Piece>,
    spare: Receiver<DataBuf>,
    /// Pool buffers made so far.
    made: usize,
    /// A pool buffer the reader used itself and has not handed over.
    held: Option<DataBuf>,
    /// Small files read but not handed over yet, and their bytes.
    batch: Vec<Piece>,
    batch_bytes: usize,
}

/// A reader and the worker's end of it.
pub(super) fn reader() -> (Reader, ReadAhead) {
    let (tx, pieces) = bounded(READ_AHEAD);
    let (recycle, spare) = bounded::<DataBuf>(POOL);
    let reader = Reader {
        tx,
        spare,
        made: 0,
        held: None,
        batch: Vec::new(),
        batch_bytes: 0,
    };
    (reader, ReadAhead { pieces, recycle })
}

impl Reader {
    /// Hands `piece` over after the small files gathered before it.
    pub(super) fn send(&mut self, piece: Piece) -> Result<(), Gone> {
        self.flush()?;
        self.tx.send(piece).map_err(|_| Gone)
    }

    /// Hands over the small files gathered so far. Call before waiting for
    /// anything: the worker must not wait for files already read.
    pub(super) fn flush(&mut self) -> Result<(), Gone> {
        self.batch_bytes = 0;
        let piece = match self.batch.len() {
            0 => return Ok(()),
            1 => self.batch.pop().ok_or(Gone)?,
            _ => Piece::Batch(std::mem::take(&mut self.batch)),
        };
        self.tx.send(piece).map_err(|_| Gone)
    }

    /// Gathers a small file's [`Piece::Whole`] into the next batch.
    fn send_small(&mut self, piece: Piece) -> Result<(), Gone> {
        if let Piece::Whole { bytes, .. } = &piece {
            self.batch_bytes += bytes.len();
        }
        self.batch.push(piece);
        if self.batch.len() >= BATCH_FILES || self.batch_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn abandon(&mut self, job: &Job, reason: String) -> Result<(), Gone> {
        self.send(Piece::Abandoned {
            index: job.index,
            reason,
            name: job.name.clone(),
        })
    }

    /// A `DATA_CHUNK` buffer from the pool, waiting for one to come back
    /// when all are in use.
    fn buffer(&mut self) -> Result<DataBuf, Gone> {
        if let Some(buffer) = self.held.take() {
            return Ok(buffer);
        }
        if let Ok(buffer) = self.spare.try_recv() {
            return Ok(buffer);
        }
        if self.made < POOL {
            self.made += 1;
            return Ok(DataBuf::new(DATA_CHUNK));
        }
        self.spare.recv().map_err(|_| Gone)
    }

    pub(super) fn file(&mut self, job: &Job) -> Result<(), Gone> {
        let index = job.index;
        let Some(local) = &job.local else {
            return self.send(Piece::Failed(format!(
                "entry {index} of the offer has no local file"
            )));
        };
        let mut file = match File::open(local) {
            Ok(file) => file,
            Err(e) => {
                return self.abandon(job, format!("cannot be read on the sending device: {e}"));
            }
        };
        let left = job.size - job.offset;
        // A small new file is checked once, after it was read (one fstat less
        // per file, which shows with 10,000 of them). The check must not even
        // be made: a `match` on `file.metadata()` makes the call whatever
        // its arms say.
        let checked_later = job.offset == 0 && left <= SMALL_FILE;
        if !checked_later {
            match file.metadata() {
                Ok(meta) if meta.len() == job.size => {}
                Ok(_) => {
                    return self.abandon(
                        job,
                        "changed on the sending device since it was offered".into(),
                    );
                }
                Err(e) => {
                    return self.abandon(job, format!("cannot be read on the sending device: {e}"));
                }
            }
        }
        let mut hasher = Sha256::new();
        // The receiver has bytes [0, offset): hash them here without sending them.
        let mut skipped = 0u64;
        if job.offset > 0 {
            let mut buffer = self.buffer()?;
            while skipped < job.offset {
                let want = DATA_CHUNK.min((job.offset - skipped) as usize);
                match fill(&mut file, &mut buffer.scratch()[..want], &mut hasher) {
                    Ok(0) => break,
                    Ok(got) => skipped += got as u64,
                    Err(e) => {
                        let reason = format!("read error on the sending device: {e}");
                        return self.abandon(job, reason);
                    }
                }
            }
            self.held = Some(buffer);
            if skipped < job.offset {
                return self.abandon(job, "shrank on the sending device".into());
            }
        }
        if left <= SMALL_FILE {
            let mut bytes = vec![0u8; left as usize];
            match fill(&mut file, &mut bytes, &mut hasher) {
                Ok(got) if got as u64 == left => {}
                Ok(_) if checked_later => {
                    let reason = "changed on the sending device since it was offered";
                    return self.abandon(job, reason.into());
                }
                Ok(_) => {
                    return self
                        .abandon(job, "shrank on the sending device while being sent".into());
                }
                Err(e) => {
                    return self.abandon(job, format!("read error on the sending device: {e}"));
                }
            }
            if let Some(reason) = changed_since_offer(&file, job) {
                return self.abandon(job, reason);
            }
            return self.send_small(Piece::Whole {
                index,
                offset: job.offset,
                bytes,
                sha256: hasher.finalize().into(),
                size: job.size,
                name: job.name.clone(),
            });
        }
        self.send(Piece::Start {
            index,
            offset: job.offset,
            size: job.size,
            name: job.name.clone(),
        })?;
        let mut sent = job.offset;
        while sent < job.size {
            let mut buffer = self.buffer()?;
            let want = DATA_CHUNK.min((job.size - sent) as usize);
            let got = match fill_data(&mut file, &mut buffer, want, &mut hasher) {
                Ok(0) => {
                    return self
                        .abandon(job, "shrank on the sending device while being sent".into());
                }
                Ok(got) => got,
                Err(e) => {
                    return self.abandon(job, format!("read error on the sending device: {e}"));
                }
            };
            sent += got as u64;
            self.send(Piece::Data(buffer))?;
        }
        if let Some(reason) = changed_since_offer(&file, job) {
            return self.abandon(job, reason);
        }
        self.send(Piece::End {
            index,
            sha256: hasher.finalize().into(),
        })
    }
}

/// After the last byte: a file whose size or modification time moved
/// changed while it was read. All `size` bytes were read, so a length of
/// `size` now means nothing is left to read (no probing read needed: one
/// system call less per file).
fn changed_since_offer(file: &File, job: &Job) -> Option<String> {
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => return Some(format!("cannot be read on the sending device: {e}")),
    };
    if meta.len() > job.size {
        return Some("grew on the sending device while being sent".into());
    }
    if meta.len() != job.size {
        return Some("changed on the sending device while being sent".into());
    }
    let now_mtime = Some(meta).and_then(|m| {
        m.modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_millis()
            .try_into()
            .ok()
    });
    (job.modified_ms.is_some() && now_mtime.is_some() && now_mtime != job.modified_ms)
        .then(|| "changed on the sending device while being sent".into())
}

/// Reads up to `want` bytes of `file` into `data`'s payload slots in
/// [`READ_PIECE`]s (one vectored read each), each hashed right after it
/// arrives. Returns the bytes read, fewer than `want` only at the end of the
/// file.
fn fill_data(
    file: &mut File,
    data: &mut DataBuf,
    want: usize,
    hasher: &mut Sha256,
) -> io::Result<usize> {
    let want = want.min(data.capacity());
    let mut filled = 0;
    while filled < want {
        let mut slots = data.slots_mut(filled, want.min(filled + READ_PIECE));
        let mut slices: Vec<IoSliceMut<'_>> =
            slots.iter_mut().map(|slot| IoSliceMut::new(slot)).collect();
        let n = match file.read_vectored(&mut slices) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        drop(slices);
        let mut left = n;
        for slot in &slots {
            let take = left.min(slot.len());
            hasher.update(&slot[..take]);
            left -= take;
            if left == 0 {
                break;
            }
        }
        filled += n;
    }
    data.set_len(filled);
    Ok(filled)
}

/// Fills `buffer` from `file` in [`READ_PIECE`]s, each hashed right after it
/// arrives. Returns the bytes read (fewer than the buffer only at the end of
/// the file).
fn fill(file: &mut File, buffer: &mut [u8], hasher: &mut Sha256) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let end = buffer.len().min(filled + READ_PIECE);
        match file.read(&mut buffer[filled..end]) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[filled..filled + n]);
                filled += n;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
