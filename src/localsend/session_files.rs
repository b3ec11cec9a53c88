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
use super::small_upload::{self, Failure};
use super::wire::Query;
use crate::api::{Direction, Event, Outcome, Party, Progress};
use crate::http::part_file::BlockingPartFile;
use crate::transfer::context::Control;
use crate::transfer::hash::hash_in_pieces;

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
            shared.ctx.sink.emit(Event::FilesVerified {
                id: session.transfer,
                paths: vec![path],
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

/// Uploads up to this size are read whole before the file is made
/// ([`small_upload`]): a refused body never touches the disk, and the file
/// is created, written and named in one go.
const SMALL_UPLOAD: u64 = 512 * 1024;

/// Receives one file into `NAME.ferry-part`, verifies it and gives it its
/// final name.
async fn receive(
    shared: &Shared,
    session: &Arc<Session>,
    dir: &std::path::Path,
    name: String,
    meta: &super::wire::FileMeta,
    mut body: Incoming,
) -> Result<std::path::PathBuf, Refusal> {
    let (root, rel) = (session.root.clone(), dir.to_path_buf());
    let expected = meta.digest().ok().flatten();
    let mut cancelled = session.cancelled.subscribe();
    let mut tally = Tally::new(meta.size);
    if meta.size <= SMALL_UPLOAD {
        // At most SMALL_UPLOAD bytes in this branch.
        let mut whole = Vec::with_capacity(usize::try_from(meta.size).unwrap_or(0));
        while let Some(data) = next_data(&mut body, &mut cancelled).await? {
            tally.count(data.len())?;
            whole.extend_from_slice(&data);
        }
        tally.end()?;
        account(shared, session, meta, whole.len());
        // Landed here, on the runtime thread: creating, writing and linking
        // a small file in an open folder take microseconds (nothing is
        // forced to disk), less than a hop to a blocking thread and back,
        // which was a fifth of this server's CPU for 2,000 small files.
        return small_upload::land(&session.folders, &root, &rel, &name, &whole, expected).map_err(
            |failure| match failure {
                Failure::Mismatch => Refusal(StatusCode::UNPROCESSABLE_ENTITY, "Checksum mismatch"),
                Failure::Create => Refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Cannot create the folder or the file",
                ),
                Failure::Save => Refusal(StatusCode::INTERNAL_SERVER_ERROR, "Cannot save the file"),
            },
        );
    }
    let mut part = blocking(move || create_part(&root, &rel, &name)).await?;
    let mut hasher = expected.map(|_| Sha256::new());
    while let Some(data) = next_data(&mut body, &mut cancelled).await? {
        tally.count(data.len())?;
        // Hashed and written here, on the runtime thread that decrypted
        // it, straight from hyper's buffer: handing it to a writer thread
        // cost a copy (or, holding hyper's buffers, fresh memory for each
        // read) and a wake-up per batch, ~10 % of this server's CPU. A
        // write into the page cache returns in microseconds; when a slow
        // disk makes it wait, this connection waits with it (as TCP would
        // make the sender), and the runtime's other worker serves the rest.
        write_piece(&mut part, hasher.as_mut(), &data)?;
        account(shared, session, meta, data.len());
    }
    tally.end()?;
    // Dropped on a refusal above, the partial removes itself.
    blocking(move || land(part, hasher, expected)).await
}

/// Runs file work that may wait on the disk on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or(Err(Refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unknown error",
        )))
}

/// The next piece of the body (`None` at its end), unless the session was
/// cancelled or the body broke.
async fn next_data(
    body: &mut Incoming,
    cancelled: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<Option<bytes::Bytes>, Refusal> {
    loop {
        let frame = tokio::select! {
            _ = cancelled.wait_for(|c| *c) => {
                return Err(Refusal(StatusCode::CONFLICT, "Session cancelled"));
            }
            frame = body.frame() => frame,
        };
        match frame {
            None => return Ok(None),
            Some(Err(_)) => return Err(Refusal(StatusCode::BAD_REQUEST, "Upload interrupted")),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
                // Trailers carry no file bytes.
            }
        }
    }
}

/// Counts a body against its announced size.
struct Tally {
    received: u64,
    announced: u64,
}

impl Tally {
    fn new(announced: u64) -> Tally {
        Tally {
            received: 0,
            announced,
        }
    }

    /// Refuses as soon as the body runs past the announced size.
    fn count(&mut self, bytes: usize) -> Result<(), Refusal> {
        self.received = self.received.saturating_add(bytes as u64);
        if self.received > self.announced {
            return Err(Refusal(
                StatusCode::BAD_REQUEST,
                "Body longer than announced",
            ));
        }
        Ok(())
    }

    /// Refuses a body that ended short.
    fn end(&self) -> Result<(), Refusal> {
        if self.received != self.announced {
            return Err(Refusal(
                StatusCode::BAD_REQUEST,
                "Body shorter than announced",
            ));
        }
        Ok(())
    }
}

/// Counts received bytes as progress and as activity (for the idle timeout).
fn account(shared: &Shared, session: &Session, meta: &super::wire::FileMeta, bytes: usize) {
    session
        .bytes_done
        .fetch_add(bytes as u64, Ordering::Relaxed);
    session.touch();
    progress(shared, session, &meta.file_name);
}

/// Creates `NAME.ferry-part` (the download folder itself may not exist yet;
/// what is below it is created without following links).
fn create_part(
    root: &std::path::Path,
    rel: &std::path::Path,
    name: &str,
) -> Result<BlockingPartFile, Refusal> {
    BlockingPartFile::create(root, rel, name).map_err(|_| {
        Refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot create the folder or the file",
        )
    })
}

/// Hashes (when the sender gave a SHA-256) and then writes one piece: the
/// kernel copies from bytes the hash just brought into this core's cache.
fn write_piece(
    part: &mut BlockingPartFile,
    hasher: Option<&mut Sha256>,
    bytes: &[u8],
) -> Result<(), Refusal> {
    if let Some(hasher) = hasher {
        hash_in_pieces(hasher, bytes);
    }
    part.file
        .write_all(bytes)
        .map_err(|_| Refusal(StatusCode::INTERNAL_SERVER_ERROR, "Cannot write the file"))
}

/// Checks the SHA-256 when the sender gave one, then renames without
/// replacing; a mismatch drops (removes) the partial.
fn land(
    part: BlockingPartFile,
    hasher: Option<Sha256>,
    expected: Option<[u8; 32]>,
) -> Result<std::path::PathBuf, Refusal> {
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
