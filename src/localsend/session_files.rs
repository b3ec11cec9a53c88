//! The files of an open LocalSend session: each `upload` streams its body
//! into `NAME.ferry-part` (inside the download folder, folders created
//! without following links), counts it against the announced size, hashes
//! it when the sender gave a SHA-256, and renames it without replacing only
//! when both match; anything else removes the partial. Also the session's
//! watchers: the person's Cancel, and the idle timeout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::body::Incoming;
use sha2::{Digest, Sha256};
use std::io::Write;
use subtle::ConstantTimeEq;

use super::Shared;
use super::server::{Answer, empty, message};
use super::session::{FileState, IDLE_TIMEOUT, Session};
use super::wire::Query;
use crate::api::{Direction, Event, Outcome, Party, Progress};
use crate::http::part_file::BlockingPartFile;
use crate::transfer::context::Control;

/// Why one upload failed: the status and message LocalSend expects.
struct Refusal(StatusCode, &'static str);

/// `POST /api/localsend/v2/upload?sessionId=..&fileId=..&token=..`.
pub(crate) async fn upload(
    shared: Arc<Shared>,
    peer: SocketAddr,
    query: Option<&str>,
    body: Incoming,
) -> Answer {
    let query = Query::parse(query);
    let (Some(session_id), Some(file_id), Some(token)) =
        (query.session_id, query.file_id, query.token)
    else {
        return message(StatusCode::BAD_REQUEST, "Missing parameters");
    };
    let Some(session) = shared.sessions.open() else {
        return message(StatusCode::FORBIDDEN, "Invalid token or IP address");
    };
    if session.id != session_id {
        return message(StatusCode::CONFLICT, "Blocked by another session");
    }
    if session.sender_ip != peer.ip() {
        return message(StatusCode::FORBIDDEN, "Invalid token or IP address");
    }
    let (dir, name, meta) = {
        let Ok(mut files) = session.files.lock() else {
            return message(StatusCode::INTERNAL_SERVER_ERROR, "Unknown error");
        };
        let Some(slot) = files.get_mut(&file_id) else {
            return message(StatusCode::FORBIDDEN, "Invalid token or IP address");
        };
        if !bool::from(slot.token.as_bytes().ct_eq(token.as_bytes())) {
            return message(StatusCode::FORBIDDEN, "Invalid token or IP address");
        }
        if slot.state != FileState::Waiting {
            return message(StatusCode::CONFLICT, "File already received");
        }
        slot.state = FileState::Receiving;
        (slot.dir.clone(), slot.name.clone(), slot.meta.clone())
    };
    session.touch();
    let result = receive(&shared, &session, &dir, name, &meta, body).await;
    let state = if result.is_ok() {
        FileState::Done
    } else {
        FileState::Failed
    };
    if let Ok(mut files) = session.files.lock()
        && let Some(slot) = files.get_mut(&file_id)
    {
        slot.state = state;
    }
    let answer = match result {
        Ok(path) => {
            session.files_done.fetch_add(1, Ordering::SeqCst);
            shared.ctx.sink.emit(Event::FileVerified {
                id: session.transfer,
                path,
            });
            empty(StatusCode::OK)
        }
        Err(Refusal(status, text)) => {
            session.files_failed.fetch_add(1, Ordering::SeqCst);
            tracing::info!("LocalSend upload of {:?} failed: {text}", meta.file_name);
            message(status, text)
        }
    };
    session.finish_if_complete(&shared);
    answer
}

/// Body bytes gathered before they go to the writer: one hop to the
/// blocking thread and one `write` per batch instead of one per TLS record.
const BATCH: usize = 512 * 1024;

/// Batches queued for the writer (bounds the memory of a fast sender over a
/// slow disk to about `(QUEUE + 2) * BATCH`: the queue, the batch being
/// written and the one being filled).
const QUEUE: usize = 4;

/// What the network side hands the writer.
enum Piece {
    /// Body bytes, in order.
    Data(Vec<u8>),
    /// The whole body arrived with the announced size: verify and land it.
    End,
}

/// Batch buffers the writer hands back once written. The body's bytes are
/// copied out of hyper's buffers into these at once: holding hyper's own
/// `Bytes` until the writer got to them made hyper allocate fresh memory
/// for every read (and glibc give it back and fault it in again: ~12 % of
/// the receiver's CPU in page faults and `madvise`), while a handful of
/// reused buffers cost one copy that stays in the cache.
#[derive(Clone)]
struct Pool {
    free: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    /// Capacity of each buffer: a batch, or the whole file when smaller.
    size: usize,
}

impl Pool {
    fn new(file_size: u64) -> Pool {
        Pool {
            free: Arc::default(),
            size: usize::try_from(file_size).map_or(BATCH, |n| n.min(BATCH)),
        }
    }

    fn take(&self) -> Vec<u8> {
        self.free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_else(|| Vec::with_capacity(self.size))
    }

    fn give(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        if let Ok(mut free) = self.free.lock() {
            free.push(buffer);
        }
    }
}

/// Receives one file: the network side (here, on the runtime) reads the
/// body, counts it against the announced size and watches for a cancel; a
/// blocking thread ([`write_part`]) creates `NAME.ferry-part`, hashes,
/// writes, verifies and renames. Hashing and disk writes then overlap the
/// TLS decryption instead of stalling the runtime thread that does it.
async fn receive(
    shared: &Shared,
    session: &Session,
    dir: &std::path::Path,
    name: String,
    meta: &super::wire::FileMeta,
    body: Incoming,
) -> Result<std::path::PathBuf, Refusal> {
    let (root, rel) = (session.root.clone(), dir.to_path_buf());
    let expected = meta.digest().ok().flatten();
    let pool = Pool::new(meta.size);
    let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
    let returns = pool.clone();
    let write = move || write_part(&root, &rel, &name, expected, rx, &returns);
    if meta.size <= pool.size as u64 {
        // A file that fits one batch: read it whole, then one hop to a
        // blocking thread that creates, writes and lands it (the queue holds
        // its one batch and `End`), instead of a writer waiting on the
        // queue for every piece. A refused body never touches the disk.
        stream_body(shared, session, meta, body, &tx, &pool)
            .await
            .map_err(|stop| match stop {
                Stop::Refused(refusal) => refusal,
                Stop::WriterGone => Refusal(StatusCode::INTERNAL_SERVER_ERROR, "Unknown error"),
            })?;
        let _ = tx.send(Piece::End).await;
        drop(tx);
        return tokio::task::spawn_blocking(write)
            .await
            .unwrap_or(Err(Refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Unknown error",
            )));
    }
    let writer = tokio::task::spawn_blocking(write);
    let streamed = stream_body(shared, session, meta, body, &tx, &pool).await;
    if streamed.is_ok() {
        // Fails only when the writer already gave up: its answer says why.
        let _ = tx.send(Piece::End).await;
    }
    // Without `End` the writer removes the partial; wait for it either way,
    // so that the answer is given only once the disk agrees with it.
    drop(tx);
    let written = writer.await.unwrap_or(Err(Refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Unknown error",
    )));
    match streamed {
        // When the writer stopped first, its reason is the real one.
        Ok(()) | Err(Stop::WriterGone) => written,
        Err(Stop::Refused(refusal)) => Err(refusal),
    }
}

/// Why the network side stopped early.
enum Stop {
    /// The upload is refused (cancel, wrong length, broken body).
    Refused(Refusal),
    /// The writer ended first (it could not create or write the file).
    WriterGone,
}

/// Reads the body into batches for the writer, counting it against the
/// announced size, until it ends, the session is cancelled or it breaks.
async fn stream_body(
    shared: &Shared,
    session: &Session,
    meta: &super::wire::FileMeta,
    mut body: Incoming,
    tx: &tokio::sync::mpsc::Sender<Piece>,
    pool: &Pool,
) -> Result<(), Stop> {
    let refuse = |status, text| Err(Stop::Refused(Refusal(status, text)));
    let mut received: u64 = 0;
    let mut batch = pool.take();
    let mut cancelled = session.cancelled.subscribe();
    loop {
        let frame = tokio::select! {
            _ = cancelled.wait_for(|c| *c) => {
                return refuse(StatusCode::CONFLICT, "Session cancelled");
            }
            frame = body.frame() => frame,
        };
        let data = match frame {
            None => None,
            Some(Err(_)) => return refuse(StatusCode::BAD_REQUEST, "Upload interrupted"),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => Some(data),
                Err(_) => continue,
            },
        };
        let Some(data) = data else {
            if !batch.is_empty() {
                hand_over(shared, session, meta, tx, std::mem::take(&mut batch)).await?;
            }
            break;
        };
        received = received.saturating_add(data.len() as u64);
        if received > meta.size {
            return refuse(StatusCode::BAD_REQUEST, "Body longer than announced");
        }
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = (pool.size - batch.len()).min(rest.len());
            batch.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if batch.len() >= pool.size {
                let full = std::mem::replace(&mut batch, pool.take());
                hand_over(shared, session, meta, tx, full).await?;
            }
        }
    }
    if received != meta.size {
        return refuse(StatusCode::BAD_REQUEST, "Body shorter than announced");
    }
    Ok(())
}

/// Queues one full batch for the writer and reports the progress.
async fn hand_over(
    shared: &Shared,
    session: &Session,
    meta: &super::wire::FileMeta,
    tx: &tokio::sync::mpsc::Sender<Piece>,
    batch: Vec<u8>,
) -> Result<(), Stop> {
    session
        .bytes_done
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    if tx.send(Piece::Data(batch)).await.is_err() {
        return Err(Stop::WriterGone);
    }
    session.touch();
    progress(shared, session, &meta.file_name);
    Ok(())
}

/// The blocking half of [`receive`]: creates the partial, hashes and writes
/// each batch (then hands its buffer back), and on [`Piece::End`] checks the
/// SHA-256 (when the sender gave one), syncs and renames. The channel
/// closing without `End` (a refused or dropped upload) drops the partial,
/// which removes it.
fn write_part(
    root: &std::path::Path,
    rel: &std::path::Path,
    name: &str,
    expected: Option<[u8; 32]>,
    mut rx: tokio::sync::mpsc::Receiver<Piece>,
    pool: &Pool,
) -> Result<std::path::PathBuf, Refusal> {
    // The download folder itself may not exist yet; what is below it is
    // created without following links (BlockingPartFile::create does both).
    let mut part = BlockingPartFile::create(root, rel, name).map_err(|_| {
        Refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot create the folder or the file",
        )
    })?;
    let mut hasher = expected.map(|_| Sha256::new());
    let cannot_write = |_| Refusal(StatusCode::INTERNAL_SERVER_ERROR, "Cannot write the file");
    loop {
        match rx.blocking_recv() {
            Some(Piece::Data(batch)) => {
                // Hashed first, then written: the kernel copies from a
                // buffer the hash just brought into this core's cache.
                if let Some(hasher) = hasher.as_mut() {
                    hasher.update(&batch);
                }
                part.file.write_all(&batch).map_err(cannot_write)?;
                pool.give(batch);
            }
            Some(Piece::End) => break,
            None => return Err(Refusal(StatusCode::BAD_REQUEST, "Upload interrupted")),
        }
    }
    if let (Some(hasher), Some(expected)) = (hasher, expected)
        && hasher.finalize().as_slice() != expected
    {
        return Err(Refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Checksum mismatch",
        ));
    }
    part.finish()
        .map_err(|_| Refusal(StatusCode::INTERNAL_SERVER_ERROR, "Cannot save the file"))
}

/// At most ten progress events a second per session; dropped when the UI lags.
fn progress(shared: &Shared, session: &Session, current: &str) {
    let now = Instant::now();
    if let Ok(mut last) = session.last_progress.lock() {
        if now.duration_since(*last) < std::time::Duration::from_millis(100) {
            return;
        }
        *last = now;
    }
    let done = session.bytes_done.load(Ordering::Relaxed);
    let elapsed = now.duration_since(session.started).as_secs_f64();
    let rate = if elapsed > 0.0 {
        done as f64 / elapsed
    } else {
        0.0
    };
    let eta = (rate > 0.0).then(|| {
        std::time::Duration::from_secs_f64(session.total_bytes.saturating_sub(done) as f64 / rate)
    });
    shared.ctx.sink.emit_lossy(Event::Progress(Progress {
        id: session.transfer,
        direction: Direction::Incoming,
        bytes_done: done,
        bytes_total: session.total_bytes,
        files_done: session.files_done.load(Ordering::Relaxed),
        files_total: session.total_files,
        rate,
        eta,
        current: current.to_string(),
    }));
}

/// Watches an open session: the person's Cancel (through the engine's
/// registry) and the idle timeout ([`IDLE_TIMEOUT`] without a byte or a
/// new upload).
pub(super) fn watch(
    shared: Arc<Shared>,
    session: Arc<Session>,
    control: crossbeam_channel::Receiver<Control>,
) {
    let (s, sess) = (shared.clone(), session.clone());
    tokio::task::spawn_blocking(move || {
        // Ends when the session unregisters (its sender is dropped).
        while let Ok(message) = control.recv() {
            if matches!(message, Control::Cancel) {
                sess.end(&s.ctx, Outcome::Cancelled { by: Party::Local });
                s.sessions.release(&sess);
                return;
            }
        }
    });
    tokio::spawn(async move {
        let mut ended = session.cancelled.subscribe();
        loop {
            tokio::select! {
                _ = ended.wait_for(|c| *c) => return,
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
            let idle = session
                .last_activity
                .lock()
                .map(|at| at.elapsed())
                .unwrap_or_default();
            // Every piece of every upload counts as activity, so an upload
            // that stalls for this long ends the session too (its partial
            // is removed), and a stalled sender cannot hold the slot.
            if idle > IDLE_TIMEOUT {
                session.end(
                    &shared.ctx,
                    Outcome::Failed("The LocalSend sender went quiet.".into()),
                );
                shared.sessions.release(&session);
                return;
            }
        }
    });
}
