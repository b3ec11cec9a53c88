//! Uploads from a browser into the download folder. The page posts the
//! files as `multipart/form-data` with the ticket [`super::consent`] gave it;
//! a client without a ticket (a plain form, curl) is asked about, when the
//! share says so, in the same request. Each file streams into
//! `NAME.ferry-part`, is synced, and only then takes its final name through
//! [`resume::promote_part`], which never overwrites; names are cleaned by the
//! same rules as TCP transfers ([`names::sanitize_component`]). An
//! incomplete file is removed: a browser cannot resume an upload, so a
//! partial file would only be litter. Nothing is written outside the
//! download folder, and nothing before the upload is allowed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use http_body_util::BodyDataStream;
use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, Response, StatusCode};
use tokio::io::AsyncWriteExt;

use super::body::ResponseBody;
use super::consent::consent;
use super::server::{json, json_error};
use super::{STALL_TIMEOUT, ShareEvent, State, UploadPolicy, page};
use crate::api::TransferId;
use crate::api::human_bytes;
use crate::fs::names;
use crate::fs::names::{NameError, NameRules};
use crate::transfer::progress::PROGRESS_INTERVAL;
use crate::transfer::receive::resume;

/// Room for multipart boundaries and part headers on top of the file bytes.
const MULTIPART_OVERHEAD: u64 = 16 * 1024 * 1024;

/// How far a declared body may exceed the limit before it is refused unread
/// (the exact limit on file bytes is enforced while receiving).
const UPFRONT_SLACK: u64 = 1024 * 1024;

/// The name a browser sent, without any folder part (old browsers send
/// `C:\Users\...\photo.jpg`, folder uploads `album/photo.jpg`).
pub fn leaf_name(raw: &str) -> &str {
    raw.rsplit(['/', '\\']).next().unwrap_or(raw)
}

/// The name an upload is saved under, from the file name the browser sent:
/// its last segment ([`leaf_name`]), cleaned by the rules TCP transfers use
/// ([`names::sanitize_component_for`]). Hidden: public only so the
/// `upload_name` fuzz target can reach it (see `crate::fuzzing`).
#[doc(hidden)]
pub fn upload_name_for(raw: &str, rules: NameRules) -> Result<String, NameError> {
    names::sanitize_component_for(leaf_name(raw), rules)
}

pub(super) const NOT_ALLOWED: &str = "Uploads are not allowed for this share.";

pub(super) fn too_big(total: u64, max: u64) -> String {
    format!(
        "That is {} in total; this share accepts at most {} at once.",
        human_bytes(total),
        human_bytes(max)
    )
}

/// Bytes free where uploads go (the nearest existing folder on the way).
pub(super) fn free_space(dir: &Path) -> Option<u64> {
    let existing = dir.ancestors().find(|p| p.is_dir())?;
    fs4::available_space(existing).ok()
}

pub(super) fn no_room(needed: u64, free: u64) -> String {
    format!(
        "Not enough space on the computer: {} needed, {} free.",
        human_bytes(needed),
        human_bytes(free)
    )
}

/// A file being received: removed on drop unless it got its final name.
struct PartFile {
    file: tokio::fs::File,
    part: PathBuf,
    planned: PathBuf,
    done: bool,
}

impl PartFile {
    /// Creates `NAME.ferry-part` beside the first name that is free (and
    /// whose partial name is free too) in `dir`.
    async fn create(dir: PathBuf, name: String) -> std::io::Result<PartFile> {
        let (file, part, planned) = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            for _ in 0..100 {
                let planned = names::first_free(&dir, &name, |candidate| {
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
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(PartFile {
            file: tokio::fs::File::from_std(file),
            part,
            planned,
            done: false,
        })
    }

    /// Syncs the bytes to disk and gives the file its final name.
    async fn finish(mut self) -> std::io::Result<PathBuf> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let (part, planned) = (self.part.clone(), self.planned.clone());
        let landed = tokio::task::spawn_blocking(move || resume::promote_part(&part, &planned))
            .await
            .map_err(std::io::Error::other)??;
        self.done = true;
        Ok(landed)
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

/// What happened to one file of an upload, as the page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    /// The name the browser sent (last segment only).
    pub name: String,
    /// The name it was saved under, when saved.
    #[serde(rename = "savedAs", skip_serializing_if = "Option::is_none")]
    pub saved_as: Option<String>,
    /// Why it was not saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FileReport {
    fn skipped(name: &str, error: String) -> Self {
        FileReport {
            name: name.to_string(),
            saved_as: None,
            error: Some(error),
        }
    }
}

/// How an upload request ended.
#[derive(Default)]
struct Received {
    saved: Vec<PathBuf>,
    reports: Vec<FileReport>,
    fatal: Option<(StatusCode, String)>,
}

fn query_param<'a>(req: &'a Request<Incoming>, key: &str) -> Option<&'a str> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then_some(v)
    })
}

/// `POST upload`: receives the files of a multipart/form-data body.
pub async fn upload(
    req: Request<Incoming>,
    state: Arc<State>,
    peer: SocketAddr,
) -> Response<ResponseBody> {
    let wants_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let refuse = |status: StatusCode, message: &str| {
        if wants_json {
            json_error(status, message)
        } else {
            page::result_page(status, &[], &[], Some(message))
        }
    };
    if state.policy == UploadPolicy::Off {
        return refuse(StatusCode::FORBIDDEN, NOT_ALLOWED);
    }
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok());
    let Some(boundary) = boundary else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "This is not a file upload (multipart/form-data was expected).",
        );
    };
    let content_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());

    let ticket = query_param(&req, "ticket").map(str::to_string);
    let (id, announced, limit, expected) = if let Some(ticket) = ticket {
        let taken = state
            .tickets
            .lock()
            .ok()
            .and_then(|mut t| t.remove(&ticket));
        match taken {
            Some(t) if t.from == peer.ip() && t.expires > Instant::now() => {
                let size = t.size;
                (
                    t.id,
                    Some(t.names),
                    size.min(state.max_upload_bytes),
                    Some(size),
                )
            }
            _ => {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "This upload was not approved, or its approval expired. Please choose the files again.",
                );
            }
        }
    } else {
        // Part headers and boundaries add a little; a body well over the limit is refused unread.
        if let Some(n) =
            content_length.filter(|n| *n > state.max_upload_bytes.saturating_add(UPFRONT_SLACK))
        {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                &too_big(n, state.max_upload_bytes),
            );
        }
        if let Some(free) = content_length
            .zip(free_space(&state.download_dir))
            .and_then(|(needed, free)| {
                (needed > free.saturating_add(MULTIPART_OVERHEAD)).then_some(free)
            })
        {
            return refuse(
                StatusCode::INSUFFICIENT_STORAGE,
                &no_room(content_length.unwrap_or(0), free),
            );
        }
        let id = TransferId::fresh();
        if state.policy == UploadPolicy::Ask
            && let Err(why) = consent(&state, id, peer, Vec::new(), content_length).await
        {
            return refuse(StatusCode::FORBIDDEN, &why);
        }
        (id, None, state.max_upload_bytes, content_length)
    };
    state.events.emit(ShareEvent::UploadStarted {
        id,
        from: peer,
        names: announced.clone().unwrap_or_default(),
        size: expected,
    });

    let received = receive(
        req.into_body(),
        boundary,
        &state,
        id,
        announced,
        limit,
        expected,
    )
    .await;
    let skipped: Vec<String> = received
        .reports
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("“{}”: {e}", r.name)))
        .collect();
    let result = match (&received.fatal, received.saved.is_empty()) {
        (Some((_, why)), _) => Err(why.clone()),
        (None, true) if !skipped.is_empty() => Err(skipped.join(" ")),
        (None, true) => Err("No file was chosen.".to_string()),
        (None, false) => Ok(received.saved.clone()),
    };
    state.events.emit(ShareEvent::UploadFinished {
        id,
        result: result.clone(),
    });
    let status = match (&received.fatal, &result) {
        (Some((status, _)), _) => *status,
        (None, Err(_)) => StatusCode::BAD_REQUEST,
        (None, Ok(_)) => StatusCode::OK,
    };
    let error = match (received.fatal, &result) {
        (Some((_, why)), _) => Some(why),
        (None, Err(why)) if received.reports.is_empty() => Some(why.clone()),
        _ => None,
    };
    if wants_json {
        json(
            status,
            serde_json::json!({ "files": received.reports, "error": error }),
        )
    } else {
        let saved: Vec<String> = received
            .reports
            .iter()
            .filter_map(|r| r.saved_as.clone())
            .collect();
        page::result_page(status, &saved, &skipped, error.as_deref())
    }
}

/// Streams every file part of the body to disk.
async fn receive(
    body: Incoming,
    boundary: String,
    state: &State,
    id: TransferId,
    mut announced: Option<Vec<String>>,
    limit: u64,
    expected: Option<u64>,
) -> Received {
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new().whole_stream(limit.saturating_add(MULTIPART_OVERHEAD)),
    );
    let mut multipart =
        multer::Multipart::with_constraints(BodyDataStream::new(body), boundary, constraints);
    let ticketed = announced.is_some();
    let mut out = Received::default();
    let mut received: u64 = 0;
    let mut last_progress = Instant::now();
    let stalled = || {
        Some((
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "The upload stopped: no data arrived for {} seconds.",
                STALL_TIMEOUT.as_secs()
            ),
        ))
    };
    loop {
        let mut field = match tokio::time::timeout(STALL_TIMEOUT, multipart.next_field()).await {
            Err(_) => {
                out.fatal = stalled();
                break;
            }
            Ok(Err(e)) => {
                out.fatal = Some(multipart_failure(&e, limit));
                break;
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(field))) => field,
        };
        let Some(raw) = field.file_name().map(str::to_string) else {
            continue; // not a file (another form field)
        };
        if raw.is_empty() {
            continue; // a form sent without choosing a file
        }
        let leaf = leaf_name(&raw).to_string();
        if let Some(list) = announced.as_mut() {
            match list.iter().position(|n| *n == leaf) {
                Some(pos) => {
                    list.swap_remove(pos);
                }
                None => {
                    out.reports.push(FileReport::skipped(
                        &leaf,
                        "It was not part of the approved upload.".to_string(),
                    ));
                    continue;
                }
            }
        }
        let name = match upload_name_for(&raw, NameRules::HOST) {
            Ok(name) => name,
            Err(e) => {
                out.reports.push(FileReport::skipped(
                    &leaf,
                    format!("It cannot be saved: {e}."),
                ));
                continue;
            }
        };
        let mut part = match PartFile::create(state.download_dir.clone(), name).await {
            Ok(part) => part,
            Err(e) => {
                tracing::warn!(dir = %state.download_dir.display(), "cannot create an upload file: {e}");
                out.fatal = Some((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("The computer cannot write into its download folder: {e}."),
                ));
                break;
            }
        };
        let failure = loop {
            let chunk = match tokio::time::timeout(STALL_TIMEOUT, field.chunk()).await {
                Err(_) => break stalled(),
                Ok(Err(e)) => break Some(multipart_failure(&e, limit)),
                Ok(Ok(None)) => break None,
                Ok(Ok(Some(chunk))) => chunk,
            };
            received += chunk.len() as u64;
            if received > limit {
                break Some((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    if ticketed {
                        "More data arrived than the upload announced.".to_string()
                    } else {
                        format!(
                            "The upload is larger than the {} this share accepts.",
                            human_bytes(limit)
                        )
                    },
                ));
            }
            if let Err(e) = part.file.write_all(&chunk).await {
                break Some((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("Writing “{leaf}” failed on the computer: {e}."),
                ));
            }
            if last_progress.elapsed() >= PROGRESS_INTERVAL {
                last_progress = Instant::now();
                state.events.emit_lossy(ShareEvent::UploadProgress {
                    id,
                    done: received,
                    total: expected,
                    current: leaf.clone(),
                });
            }
        };
        if let Some((status, why)) = failure {
            out.reports.push(FileReport::skipped(&leaf, why.clone()));
            out.fatal = Some((status, why));
            break; // `part` is dropped here, which removes the partial file
        }
        // The exact count at the end of each file, whatever the throttle
        // skipped: a window shows (and records) the bytes really received.
        state.events.emit_lossy(ShareEvent::UploadProgress {
            id,
            done: received,
            total: expected,
            current: leaf.clone(),
        });
        match part.finish().await {
            Ok(path) => {
                state.events.emit(ShareEvent::UploadSaved {
                    id,
                    path: path.clone(),
                });
                out.reports.push(FileReport {
                    name: leaf,
                    saved_as: Some(
                        path.file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned(),
                    ),
                    error: None,
                });
                out.saved.push(path);
            }
            Err(e) => {
                let why = format!("Saving “{leaf}” failed on the computer: {e}.");
                out.reports.push(FileReport::skipped(&leaf, why.clone()));
                out.fatal = Some((StatusCode::INTERNAL_SERVER_ERROR, why));
                break;
            }
        }
    }
    out
}

/// A sentence for a multipart error.
fn multipart_failure(e: &multer::Error, limit: u64) -> (StatusCode, String) {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The upload is larger than the {} this share accepts.",
                human_bytes(limit)
            ),
        ),
        multer::Error::StreamReadFailed(_) => (
            StatusCode::BAD_REQUEST,
            "The connection broke during the upload.".to_string(),
        ),
        other => (
            StatusCode::BAD_REQUEST,
            format!("The upload was not understood: {other}."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_segment_of_a_browser_name_counts() {
        assert_eq!(leaf_name("photo.jpg"), "photo.jpg");
        assert_eq!(leaf_name("C:\\Users\\me\\photo.jpg"), "photo.jpg");
        assert_eq!(leaf_name("album/2024/photo.jpg"), "photo.jpg");
        assert_eq!(leaf_name("../../etc/passwd"), "passwd");
        assert_eq!(leaf_name("dir/"), "");
        assert_eq!(leaf_name(".."), "..");
    }
}
