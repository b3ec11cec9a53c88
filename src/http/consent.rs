//! Consent for uploads: the page's `POST ask` (names, folders and sizes it
//! is about to send), the wait for the person's answer when the share says
//! "ask", and the ticket that lets the approved files follow, one request
//! each ([`super::resumable`]). A ticket is valid for the device that asked,
//! for exactly the files announced (each at most its announced size), until
//! it has been idle for [`UPLOAD_IDLE_LIFETIME`]. Names are cleaned here,
//! once, by the rules of every name from the wire; a name that cannot be
//! used fails that file alone. This module creates the top folders of an
//! approved folder upload (after consent) and writes no file.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;

use super::body::ResponseBody;
use super::resumable::{Books, UPLOAD_IDLE_LIFETIME, UpFile, Upload, sweep};
use super::server::{json, json_error};
use super::upload::{NOT_ALLOWED, free_space, no_room, too_big};
use super::{CONSENT_TIMEOUT, State, token};
use crate::api::TransferId;
use crate::api::{ShareEvent, UploadPolicy};
use crate::fs::names::{self, NameRules};
use crate::protocol::limits::MAX_PATH_DEPTH;

/// Most files one upload may announce.
pub const MAX_UPLOAD_FILES: usize = 10_000;

/// Largest `ask` request body (a JSON list of names, folders and sizes).
const MAX_ASK_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Deserialize)]
struct AskBody {
    files: Vec<AskFile>,
}

#[derive(Debug, Deserialize)]
struct AskFile {
    name: String,
    /// Folders above the file inside a chosen folder (`webkitRelativePath`
    /// without the file name); empty for a single file.
    #[serde(default)]
    path: Vec<String>,
    size: u64,
}

/// A file as it will be saved: cleaned folders and name, or why it cannot be.
type Planned = Result<(Vec<String>, String), String>;

/// Cleans what the page announced for one file.
fn plan(file: &AskFile) -> Planned {
    let shown = shown_name(file);
    if file.path.len() >= MAX_PATH_DEPTH {
        return Err(format!(
            "“{shown}” is in too many folders (at most {MAX_PATH_DEPTH})."
        ));
    }
    let clean = |raw: &str| {
        names::clean_component_for(raw, NameRules::HOST)
            .map_err(|e| format!("“{shown}” cannot be saved: {e}."))
    };
    let folders = file
        .path
        .iter()
        .map(|p| clean(p))
        .collect::<Result<_, _>>()?;
    Ok((folders, clean(&file.name)?))
}

/// The name the page shows for a file: its folders and name with `/`.
fn shown_name(file: &AskFile) -> String {
    let mut parts = file.path.clone();
    parts.push(file.name.clone());
    parts.join("/")
}

/// `POST ask`: the page announces its files; answers with a ticket and, per
/// file, whether it can be saved, once the upload is allowed, or a sentence
/// why not.
pub async fn ask(
    req: Request<Incoming>,
    state: Arc<State>,
    peer: SocketAddr,
) -> Response<ResponseBody> {
    if state.policy == UploadPolicy::Off {
        return json_error(StatusCode::FORBIDDEN, NOT_ALLOWED);
    }
    sweep(&state);
    let bytes = match Limited::new(req.into_body(), MAX_ASK_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return json_error(StatusCode::PAYLOAD_TOO_LARGE, "Too many files at once."),
    };
    let Ok(asked) = serde_json::from_slice::<AskBody>(&bytes) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "The upload request was not understood.",
        );
    };
    if asked.files.is_empty() {
        return json_error(StatusCode::BAD_REQUEST, "No file was chosen.");
    }
    if asked.files.len() > MAX_UPLOAD_FILES {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("At most {MAX_UPLOAD_FILES} files can be sent at once."),
        );
    }
    let plans: Vec<Planned> = asked.files.iter().map(plan).collect();
    let total = asked
        .files
        .iter()
        .zip(&plans)
        .filter(|(_, p)| p.is_ok())
        .map(|(f, _)| f.size)
        .fold(0, u64::saturating_add);
    if total > state.max_upload_bytes {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &too_big(total, state.max_upload_bytes),
        );
    }
    if let Some(free) = free_space(&state.download_dir).filter(|free| *free < total) {
        return json_error(StatusCode::INSUFFICIENT_STORAGE, &no_room(total, free));
    }
    let shown: Vec<String> = asked.files.iter().map(shown_name).collect();
    let usable: Vec<String> = shown
        .iter()
        .zip(&plans)
        .filter(|(_, p)| p.is_ok())
        .map(|(s, _)| s.clone())
        .collect();
    if usable.is_empty() {
        let why: Vec<&str> = plans
            .iter()
            .filter_map(|p| p.as_ref().err())
            .map(String::as_str)
            .collect();
        return json_error(StatusCode::BAD_REQUEST, &why.join(" "));
    }
    let id = TransferId::fresh();
    if state.policy == UploadPolicy::Ask
        && let Err(why) = consent(&state, id, peer, usable, Some(total)).await
    {
        return json_error(StatusCode::FORBIDDEN, &why);
    }
    let ticket = match token::random_token() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("no randomness for an upload ticket: {e}");
            return json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The computer could not start the upload.",
            );
        }
    };
    let tops = match top_folders(&state.download_dir, &plans).await {
        Ok(tops) => tops,
        Err(e) => {
            let why = format!("The computer cannot write into its download folder: {e}.");
            state.events.emit(ShareEvent::UploadFinished {
                id,
                result: Err(why.clone()),
            });
            return json_error(StatusCode::INTERNAL_SERVER_ERROR, &why);
        }
    };
    let (upload, answers) = approved(id, peer, total, plans, &asked.files, shown, &tops);
    if let Ok(mut uploads) = state.uploads.lock() {
        uploads.insert(ticket.clone(), Arc::new(upload));
    }
    json(
        StatusCode::OK,
        serde_json::json!({ "ticket": ticket, "files": answers, "idleSeconds": UPLOAD_IDLE_LIFETIME.as_secs() }),
    )
}

/// The approved upload, with the verdict on each file for the page; the
/// first folder of each file is the one [`top_folders`] chose.
fn approved(
    id: TransferId,
    peer: SocketAddr,
    total: u64,
    plans: Vec<Planned>,
    asked: &[AskFile],
    shown: Vec<String>,
    tops: &HashMap<String, String>,
) -> (Upload, Vec<serde_json::Value>) {
    let mut answers = Vec::with_capacity(plans.len());
    let mut files = Vec::with_capacity(plans.len());
    let mut failed = Vec::new();
    for ((plan, asked), shown) in plans.into_iter().zip(asked).zip(shown) {
        match plan {
            Ok((mut folders, name)) => {
                if let Some(top) = folders.first_mut()
                    && let Some(chosen) = tops.get(top.as_str())
                {
                    top.clone_from(chosen);
                }
                let rel: PathBuf = folders.iter().collect();
                files.push(Some(Arc::new(UpFile::new(rel, name, shown, asked.size))));
                answers.push(serde_json::json!({}));
            }
            Err(why) => {
                files.push(None);
                answers.push(serde_json::json!({ "error": why }));
                failed.push(why);
            }
        }
    }
    let open = files.iter().flatten().count();
    let upload = Upload {
        id,
        from: peer,
        total,
        files,
        books: Mutex::new(Books::new(open, failed)),
    };
    (upload, answers)
}

/// For each top folder of a folder upload, the folder it goes into: a new
/// one, `album (1)` when `album` exists, so an upload never mixes its files
/// into an existing folder.
async fn top_folders(root: &Path, plans: &[Planned]) -> std::io::Result<HashMap<String, String>> {
    let mut wanted: Vec<String> = plans
        .iter()
        .filter_map(|p| p.as_ref().ok()?.0.first().cloned())
        .collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&root)?;
        let mut chosen = HashMap::new();
        for top in wanted {
            let mut made = None;
            for _ in 0..100 {
                let candidate = names::first_free(&root, &top, |c| !names::occupied(c))?;
                match std::fs::create_dir(&candidate) {
                    Ok(()) => {
                        made = candidate
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned());
                        break;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                }
            }
            let made = made.ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "no free folder name")
            })?;
            chosen.insert(top, made);
        }
        Ok(chosen)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Removes a consent request that nobody answered when its request ends early.
struct PendingGuard<'a> {
    state: &'a State,
    id: TransferId,
    armed: bool,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut pending) = self.state.pending.lock() {
            pending.remove(&self.id);
        }
        if self.armed {
            self.state.events.emit(ShareEvent::UploadFinished {
                id: self.id,
                result: Err("The browser left before the upload was accepted.".to_string()),
            });
        }
    }
}

/// Asks the person and waits for the answer (at most [`CONSENT_TIMEOUT`]).
pub(super) async fn consent(
    state: &State,
    id: TransferId,
    peer: SocketAddr,
    names: Vec<String>,
    size: Option<u64>,
) -> Result<(), String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if let Ok(mut pending) = state.pending.lock() {
        pending.insert(id, tx);
    }
    let mut guard = PendingGuard {
        state,
        id,
        armed: true,
    };
    state.events.emit(ShareEvent::UploadRequest {
        id,
        from: peer,
        names,
        size,
    });
    let asked = Instant::now();
    let answer = tokio::time::timeout(CONSENT_TIMEOUT, rx).await;
    guard.armed = false;
    drop(guard);
    let refusal = match answer {
        Ok(Ok(true)) => return Ok(()),
        Ok(_) => "The person at the computer declined this upload.".to_string(),
        // Stopping the share ends the runtime, which fires every timer early.
        Err(_) if asked.elapsed() < CONSENT_TIMEOUT => {
            "Sharing was stopped at the computer.".to_string()
        }
        Err(_) => format!(
            "Nobody accepted this upload at the computer within {} minutes.",
            CONSENT_TIMEOUT.as_secs() / 60
        ),
    };
    state.events.emit(ShareEvent::UploadFinished {
        id,
        result: Err(refusal.clone()),
    });
    Err(refusal)
}
