//! Consent for uploads: the page's `POST ask` (names and sizes it is about
//! to send), the wait for the person's answer when the share says "ask",
//! and the one-time tickets that let the approved files follow. A ticket is
//! valid for [`TICKET_LIFETIME`], for the device that asked, for exactly the
//! names announced and at most the bytes announced. This module writes no
//! file; the files themselves arrive through [`super::upload`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;

use super::body::ResponseBody;
use super::server::{json, json_error};
use super::upload::{NOT_ALLOWED, free_space, leaf_name, no_room, too_big};
use super::{CONSENT_TIMEOUT, State, token};
use crate::api::TransferId;
use crate::api::{ShareEvent, UploadPolicy};
use crate::fs::names;

/// Most files one upload may announce.
pub const MAX_UPLOAD_FILES: usize = 10_000;

/// Largest `ask` request body (a JSON list of names and sizes).
const MAX_ASK_BYTES: usize = 1024 * 1024;

/// How long an approval (ticket) stays valid before its upload starts.
const TICKET_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// An approved upload the page may now send.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub(super) id: TransferId,
    pub(super) names: Vec<String>,
    pub(super) size: u64,
    pub(super) from: IpAddr,
    pub(super) expires: Instant,
}

#[derive(Debug, Deserialize)]
struct AskBody {
    files: Vec<AskFile>,
}

#[derive(Debug, Deserialize)]
struct AskFile {
    name: String,
    size: u64,
}

/// `POST ask`: the page announces names and sizes; answers with a ticket
/// once the upload is allowed, or a sentence why not.
pub async fn ask(
    req: Request<Incoming>,
    state: Arc<State>,
    peer: SocketAddr,
) -> Response<ResponseBody> {
    if state.policy == UploadPolicy::Off {
        return json_error(StatusCode::FORBIDDEN, NOT_ALLOWED);
    }
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
    let total = asked
        .files
        .iter()
        .map(|f| f.size)
        .fold(0, u64::saturating_add);
    if total > state.max_upload_bytes {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &too_big(total, state.max_upload_bytes),
        );
    }
    let mut names = Vec::with_capacity(asked.files.len());
    for f in &asked.files {
        let leaf = leaf_name(&f.name);
        if let Err(e) = names::sanitize_component(leaf) {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("“{leaf}” cannot be saved: {e}."),
            );
        }
        names.push(leaf.to_string());
    }
    if let Some(free) = free_space(&state.download_dir).filter(|free| *free < total) {
        return json_error(StatusCode::INSUFFICIENT_STORAGE, &no_room(total, free));
    }
    let id = TransferId::fresh();
    if state.policy == UploadPolicy::Ask
        && let Err(why) = consent(&state, id, peer, names.clone(), Some(total)).await
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
    let mut expired = Vec::new();
    if let Ok(mut tickets) = state.tickets.lock() {
        let now = Instant::now();
        tickets.retain(|_, t| {
            let alive = t.expires > now;
            if !alive {
                expired.push(t.id);
            }
            alive
        });
        tickets.insert(
            ticket.clone(),
            Ticket {
                id,
                names,
                size: total,
                from: peer.ip(),
                expires: now + TICKET_LIFETIME,
            },
        );
    }
    // Approved uploads whose files never came: close their rows in the window.
    if state.policy == UploadPolicy::Ask {
        for id in expired {
            state.events.emit(ShareEvent::UploadFinished {
                id,
                result: Err("The browser did not send the approved files.".to_string()),
            });
        }
    }
    json(StatusCode::OK, serde_json::json!({ "ticket": ticket }))
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
