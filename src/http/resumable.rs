//! Uploads from the page, one file per request and resumable. After `POST
//! ask` approved a list of files ([`super::consent`]), the page sends each
//! file's bytes with `PUT up/TICKET/N?offset=K` (N: the file's place in the
//! list, K: where these bytes start). A dropped connection keeps what
//! arrived in `NAME.ferry-part`; `GET up/TICKET/N` says how much that is, and
//! the page goes on from there. `DELETE up/TICKET/N` cancels one file and
//! removes its part. Each file succeeds or fails on its own, and the answer
//! names what it was saved as. A newer request for a file supersedes one
//! still running (a phone that reconnected), so a half-open old connection
//! never blocks the resume.
//!
//! This module owns the per-file state of approved uploads and the bytes it
//! writes through [`PartFile`] (never overwriting, final name only when every
//! byte arrived); it asks nobody (that is `consent`) and never writes outside
//! the folder names `consent` cleaned.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::io::AsyncWriteExt;

use super::body::ResponseBody;
use super::part_file::PartFile;
use super::server::{json, json_error, not_found};
use super::{STALL_TIMEOUT, State};
use crate::api::{ShareEvent, TransferId};
use crate::transfer::progress::PROGRESS_INTERVAL;

/// How long an approved upload stays valid after its last request; then
/// its unfinished parts are removed.
pub const UPLOAD_IDLE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// How long a request waits for an older one on the same file to let go.
const SUPERSEDE_WAIT: Duration = Duration::from_secs(10);

/// One approved upload: its files in the order the page listed them.
pub(crate) struct Upload {
    pub(super) id: TransferId,
    /// The browser that asked; only its address may send.
    pub(super) from: SocketAddr,
    pub(super) total: u64,
    /// `None` for a file whose name could not be used (reported at `ask`).
    pub(super) files: Vec<Option<Arc<UpFile>>>,
    pub(super) books: Mutex<Books>,
}

/// What an upload has done so far.
pub(crate) struct Books {
    pub(super) expires: Instant,
    started: bool,
    /// Files not yet saved, failed or cancelled.
    pub(super) open: usize,
    saved: Vec<PathBuf>,
    failed: Vec<String>,
    last_progress: Instant,
}

impl Books {
    pub(super) fn new(open: usize, failed: Vec<String>) -> Self {
        Books {
            expires: Instant::now() + UPLOAD_IDLE_LIFETIME,
            started: false,
            open,
            saved: Vec::new(),
            failed,
            last_progress: Instant::now(),
        }
    }
}

/// One file of an approved upload.
pub(crate) struct UpFile {
    /// Folders under the download folder, cleaned (may be empty).
    pub(super) rel_dir: PathBuf,
    /// Cleaned file name.
    pub(super) name: String,
    /// The name the page showed, for messages.
    pub(super) shown: String,
    pub(super) size: u64,
    received: AtomicU64,
    /// Bumped by every new request for this file; an older one stops.
    generation: tokio::sync::watch::Sender<u64>,
    state: tokio::sync::Mutex<FileState>,
}

impl UpFile {
    pub(super) fn new(rel_dir: PathBuf, name: String, shown: String, size: u64) -> Self {
        UpFile {
            rel_dir,
            name,
            shown,
            size,
            received: AtomicU64::new(0),
            generation: tokio::sync::watch::Sender::new(0),
            state: tokio::sync::Mutex::new(FileState::Waiting),
        }
    }
}

enum FileState {
    /// No byte yet.
    Waiting,
    /// Some bytes are in the part file; more may follow.
    Partial(PartFile),
    /// Complete, under this name (relative to the download folder, `/`-separated).
    Saved(String),
    /// Given up, with the sentence why.
    Failed(String),
    /// The browser cancelled it.
    Cancelled,
}

/// What a request on `up/TICKET/N` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `PUT`: bytes from an offset.
    Put,
    /// `GET`: how many bytes arrived.
    Status,
    /// `DELETE`: cancel the file.
    Cancel,
}

/// Routes `up/TICKET/N`.
pub async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    peer: SocketAddr,
    ticket: &str,
    index: usize,
    action: Action,
) -> Response<ResponseBody> {
    sweep(&state);
    let Some(upload) = find(&state, ticket, peer.ip()) else {
        return json_error(
            StatusCode::FORBIDDEN,
            "This upload was not approved, or its approval expired. Please choose the files again.",
        );
    };
    let Some(file) = upload.files.get(index).cloned().flatten() else {
        return not_found();
    };
    // Supersede whatever request still works on this file, then wait for it.
    file.generation.send_modify(|g| *g += 1);
    let mut superseded = file.generation.subscribe();
    superseded.mark_unchanged();
    let Ok(mut guard) = tokio::time::timeout(SUPERSEDE_WAIT, file.state.lock()).await else {
        return busy();
    };
    if superseded.has_changed().unwrap_or(true) {
        return busy();
    }
    match action {
        Action::Status => status(&file, &guard),
        Action::Cancel => {
            if matches!(*guard, FileState::Waiting | FileState::Partial(_)) {
                *guard = FileState::Cancelled; // drops the part, which removes it
                settle(&state, &upload, &file, Err(None));
            }
            status(&file, &guard)
        }
        Action::Put => {
            let Some(offset) = query_u64(&req, "offset") else {
                return json_error(StatusCode::BAD_REQUEST, "The upload was not understood.");
            };
            put(req, &state, &upload, &file, &mut guard, offset, superseded).await
        }
    }
}

/// The approved upload behind `ticket`, when it is `from`'s and alive; its
/// life is extended.
fn find(state: &State, ticket: &str, from: IpAddr) -> Option<Arc<Upload>> {
    let upload = state.uploads.lock().ok()?.get(ticket).cloned()?;
    let mut books = upload.books.lock().ok()?;
    let now = Instant::now();
    if upload.from.ip() != from || books.expires <= now {
        return None;
    }
    books.expires = now + UPLOAD_IDLE_LIFETIME;
    drop(books);
    Some(upload)
}

/// Forgets uploads idle past their lifetime (their parts are removed once no
/// request holds them) and closes their rows in the window.
pub(super) fn sweep(state: &State) {
    let now = Instant::now();
    let mut gone = Vec::new();
    if let Ok(mut uploads) = state.uploads.lock() {
        uploads.retain(|_, u| {
            let alive = u.books.lock().is_ok_and(|b| b.expires > now);
            if !alive {
                gone.push(u.clone());
            }
            alive
        });
    }
    for upload in gone {
        let unfinished = upload.books.lock().map(|b| b.open).unwrap_or(0);
        if unfinished > 0 {
            state.events.emit(ShareEvent::UploadFinished {
                id: upload.id,
                result: Err("The browser stopped sending the approved files.".to_string()),
            });
        }
    }
}

/// Runs [`sweep`] once a minute until the share stops.
pub(super) async fn sweep_every_minute(
    state: Arc<State>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tick.tick() => sweep(&state),
        }
    }
}

fn busy() -> Response<ResponseBody> {
    json_error(
        StatusCode::CONFLICT,
        "This file is being sent by another request. Please try again.",
    )
}

fn query_u64(req: &Request<Incoming>, key: &str) -> Option<u64> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.parse().ok()).flatten()
    })
}

/// `{"received": N}`, plus `savedAs` or `error` once the file is settled.
fn status(file: &UpFile, state: &FileState) -> Response<ResponseBody> {
    let received = file.received.load(Ordering::SeqCst);
    let value = match state {
        FileState::Saved(name) => serde_json::json!({ "received": received, "savedAs": name }),
        FileState::Failed(why) => serde_json::json!({ "received": received, "error": why }),
        FileState::Cancelled => {
            serde_json::json!({ "received": received, "error": "Cancelled.", "cancelled": true })
        }
        FileState::Waiting | FileState::Partial(_) => serde_json::json!({ "received": received }),
    };
    json(StatusCode::OK, value)
}

/// Receives bytes for `file` from `offset`: they are appended when
/// `offset` is what already arrived, else the answer says where to start.
async fn put(
    req: Request<Incoming>,
    state: &State,
    upload: &Upload,
    file: &UpFile,
    guard: &mut FileState,
    offset: u64,
    superseded: tokio::sync::watch::Receiver<u64>,
) -> Response<ResponseBody> {
    let mut part = match std::mem::replace(guard, FileState::Waiting) {
        FileState::Partial(part) => part,
        FileState::Waiting => {
            match PartFile::create(
                state.download_dir.clone(),
                file.rel_dir.clone(),
                file.name.clone(),
            )
            .await
            {
                Ok(part) => part,
                Err(e) => {
                    tracing::warn!(dir = %state.download_dir.display(), "cannot create an upload file: {e}");
                    let why = format!("The computer cannot write into its download folder: {e}.");
                    *guard = FileState::Failed(why.clone());
                    settle(state, upload, file, Err(Some(why)));
                    return status(file, guard);
                }
            }
        }
        settled => {
            *guard = settled;
            return status(file, guard);
        }
    };
    if file.received.load(Ordering::SeqCst) != offset {
        *guard = FileState::Partial(part);
        let mut response = status(file, guard);
        *response.status_mut() = StatusCode::CONFLICT;
        return response;
    }
    started(state, upload);
    let outcome = receive(req.into_body(), &mut part, state, upload, file, superseded).await;
    let received = file.received.load(Ordering::SeqCst);
    match outcome {
        Err(Stop::Refuse(why)) => {
            *guard = FileState::Failed(why.clone());
            settle(state, upload, file, Err(Some(why)));
            drop(part); // removes the partial file
        }
        // The connection broke or a newer request took over: keep what arrived.
        Err(Stop::Pause) => *guard = FileState::Partial(part),
        Ok(()) if received < file.size => *guard = FileState::Partial(part),
        Ok(()) => match part.finish().await {
            Ok(path) => {
                let shown = relative_name(&state.download_dir, &path);
                state.events.emit(ShareEvent::UploadSaved {
                    id: upload.id,
                    path: path.clone(),
                });
                *guard = FileState::Saved(shown);
                settle(state, upload, file, Ok(path));
            }
            Err(e) => {
                let why = format!("Saving “{}” failed on the computer: {e}.", file.shown);
                *guard = FileState::Failed(why.clone());
                settle(state, upload, file, Err(Some(why)));
            }
        },
    }
    status(file, guard)
}

/// Why receiving stopped early.
enum Stop {
    /// The file cannot be saved: it is given up.
    Refuse(String),
    /// The bytes stopped coming for now; the part is kept for a resume.
    Pause,
}

/// Appends the body to `part`, never past the file's announced size.
async fn receive(
    mut body: Incoming,
    part: &mut PartFile,
    state: &State,
    upload: &Upload,
    file: &UpFile,
    mut superseded: tokio::sync::watch::Receiver<u64>,
) -> Result<(), Stop> {
    loop {
        let frame = tokio::select! {
            frame = tokio::time::timeout(STALL_TIMEOUT, body.frame()) => frame,
            _ = superseded.changed() => return Err(Stop::Pause),
        };
        let chunk = match frame {
            Err(_) | Ok(Some(Err(_))) => return Err(Stop::Pause),
            Ok(None) => return Ok(()),
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue, // trailers
            },
        };
        let before = file.received.load(Ordering::SeqCst);
        if before.saturating_add(chunk.len() as u64) > file.size {
            return Err(Stop::Refuse(
                "More data arrived than the file's announced size.".to_string(),
            ));
        }
        if let Err(e) = part.file.write_all(&chunk).await {
            return Err(Stop::Refuse(format!(
                "Writing “{}” failed on the computer: {e}.",
                file.shown
            )));
        }
        file.received
            .store(before + chunk.len() as u64, Ordering::SeqCst);
        progress(state, upload, file, false);
    }
}

/// Reports the upload's bytes so far (throttled unless `now`).
fn progress(state: &State, upload: &Upload, file: &UpFile, now: bool) {
    let Ok(mut books) = upload.books.lock() else {
        return;
    };
    if !now && books.last_progress.elapsed() < PROGRESS_INTERVAL {
        return;
    }
    books.last_progress = Instant::now();
    drop(books);
    let done = upload
        .files
        .iter()
        .flatten()
        .map(|f| f.received.load(Ordering::SeqCst))
        .fold(0, u64::saturating_add);
    state.events.emit_lossy(ShareEvent::UploadProgress {
        id: upload.id,
        done,
        total: Some(upload.total),
        current: file.shown.clone(),
    });
}

/// The first bytes of an upload: its row starts in the window.
fn started(state: &State, upload: &Upload) {
    let first = upload.books.lock().is_ok_and(|mut b| {
        let first = !b.started;
        b.started = true;
        first
    });
    if first {
        let names = upload
            .files
            .iter()
            .flatten()
            .map(|f| f.shown.clone())
            .collect();
        state.events.emit(ShareEvent::UploadStarted {
            id: upload.id,
            from: upload.from,
            names,
            size: Some(upload.total),
        });
    }
}

/// One file is settled (saved, failed with a sentence, or cancelled with
/// `Err(None)`); the last one settled finishes the upload's row.
fn settle(state: &State, upload: &Upload, file: &UpFile, result: Result<PathBuf, Option<String>>) {
    progress(state, upload, file, true);
    let finished = {
        let Ok(mut books) = upload.books.lock() else {
            return;
        };
        books.open = books.open.saturating_sub(1);
        match result {
            Ok(path) => books.saved.push(path),
            Err(Some(why)) => books.failed.push(why),
            Err(None) => {}
        }
        (books.open == 0).then(|| {
            if books.saved.is_empty() {
                Err(if books.failed.is_empty() {
                    "The browser cancelled the upload.".to_string()
                } else {
                    books.failed.join(" ")
                })
            } else {
                Ok(books.saved.clone())
            }
        })
    };
    if let Some(result) = finished {
        state.events.emit(ShareEvent::UploadFinished {
            id: upload.id,
            result,
        });
    }
}

/// `path` under `root`, with `/` between folders, for the page.
fn relative_name(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
