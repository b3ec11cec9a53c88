//! Uploads as `multipart/form-data` into the download folder: a plain form
//! (a browser without JavaScript) or curl, asked about, when the share says
//! so, in the same request. (The page itself sends each file on its own,
//! resumably, through [`super::resumable`].) Each file streams into
//! `NAME.ferry-part`, is synced, and only then takes its final name through
//! [`resume::promote_part`], which never overwrites; names are made
//! storable by [`names::clean_component_for`]. An incomplete file is
//! removed: a form post cannot be resumed, so a partial file would only be
//! litter. Nothing is written outside the
//! download folder, and nothing before the upload is allowed.

use super::part_file::PartFile;
use std::net::SocketAddr;
use std::path::PathBuf;
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
use super::{STALL_TIMEOUT, State, page};
use crate::api::TransferId;
use crate::api::human_bytes;
use crate::api::{ShareEvent, UploadPolicy};
/// Bytes free where uploads go (the nearest existing folder on the way).
pub(super) use crate::fs::free_space;
use crate::fs::names;
use crate::fs::names::{NameError, NameRules};
use crate::transfer::progress::PROGRESS_INTERVAL;

/// Room for multipart boundaries and part headers on top of the file bytes.
const MULTIPART_OVERHEAD: u64 = 16 * 1024 * 1024;

/// How far a declared body may exceed the limit before it is refused unread
/// (the exact limit on file bytes is enforced while receiving).
const UPFRONT_SLACK: u64 = 1024 * 1024;

/// The name a browser sent, without a folder part a client may have put
/// before a `/` (`album/photo.jpg` from a folder upload or curl). A `\` is
/// not cut at: on Linux and macOS it is an ordinary character of a name
/// (`notes\draft v2.txt`), and browsers send no Windows paths today.
pub fn leaf_name(raw: &str) -> &str {
    raw.rsplit('/').next().unwrap_or(raw)
}

/// The name an upload is saved under, from the file name the browser sent:
/// its last segment ([`leaf_name`]), made storable under `rules`
/// ([`names::clean_component_for`]: replaced, shortened, refused only when
/// empty, `.` or `..`). Hidden: public only so the `upload_name` fuzz target
/// can reach it (see `crate::fuzzing`).
#[doc(hidden)]
pub fn upload_name_for(raw: &str, rules: NameRules) -> Result<String, NameError> {
    names::clean_component_for(leaf_name(raw), rules)
}

pub(super) const NOT_ALLOWED: &str = "Uploads are not allowed for this share.";

pub(super) fn too_big(total: u64, max: u64) -> String {
    format!(
        "That is {} in total; this share accepts at most {} at once.",
        human_bytes(total),
        human_bytes(max)
    )
}

pub(super) fn no_room(needed: u64, free: u64) -> String {
    format!(
        "Not enough space on the computer: {} needed, {} free.",
        human_bytes(needed),
        human_bytes(free)
    )
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

/// `POST upload`: receives the files of a multipart/form-data body. The
/// steps: refuse what cannot be an allowed upload, admit it (by ticket, or
/// by size and consent), stream its files to disk, report and answer.
pub async fn upload(
    req: Request<Incoming>,
    state: Arc<State>,
    peer: SocketAddr,
) -> Response<ResponseBody> {
    let reply = reply_for(&req);
    if state.policy == UploadPolicy::Off {
        return refusal(reply, StatusCode::FORBIDDEN, NOT_ALLOWED);
    }
    let Some(boundary) = boundary_of(&req) else {
        return refusal(
            reply,
            StatusCode::BAD_REQUEST,
            "This is not a file upload (multipart/form-data was expected).",
        );
    };
    let admitted = match admit(&req, &state, peer).await {
        Ok(admitted) => admitted,
        Err((status, why)) => return refusal(reply, status, &why),
    };
    state.events.emit(ShareEvent::UploadStarted {
        id: admitted.id,
        from: peer,
        names: Vec::new(),
        size: admitted.expected,
    });
    let id = admitted.id;
    let received = receive(req.into_body(), boundary, &state, admitted).await;
    answer(reply, &state, id, received)
}

/// How an upload is answered: JSON (the page's script asks for it) or a
/// result page in the browser's language (a plain form post).
#[derive(Clone, Copy)]
enum Reply {
    Json,
    Page(&'static str),
}

fn reply_for(req: &Request<Incoming>) -> Reply {
    let json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if json {
        Reply::Json
    } else {
        Reply::Page(page::language_of(req.headers()))
    }
}

/// A refused upload, as JSON or as a result page.
fn refusal(reply: Reply, status: StatusCode, message: &str) -> Response<ResponseBody> {
    match reply {
        Reply::Json => json_error(status, message),
        Reply::Page(lang) => page::result_page(lang, status, &[], &[], Some(message)),
    }
}

/// The multipart boundary, if the body is multipart/form-data.
fn boundary_of(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
}

/// An upload allowed to start.
struct Admitted {
    /// Row id of the upload.
    id: TransferId,
    /// Most bytes of file contents accepted.
    limit: u64,
    /// Bytes expected, when known.
    expected: Option<u64>,
}

/// Admits an upload by its declared size, the free space and, with
/// [`UploadPolicy::Ask`], the person's answer. Refusals come back as (status, sentence).
async fn admit(
    req: &Request<Incoming>,
    state: &State,
    peer: SocketAddr,
) -> Result<Admitted, (StatusCode, String)> {
    let content_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Part headers and boundaries add a little; a body well over the limit is refused unread.
    if let Some(n) =
        content_length.filter(|n| *n > state.max_upload_bytes.saturating_add(UPFRONT_SLACK))
    {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            too_big(n, state.max_upload_bytes),
        ));
    }
    if let Some(free) = content_length
        .zip(free_space(&state.download_dir))
        .and_then(|(needed, free)| {
            (needed > free.saturating_add(MULTIPART_OVERHEAD)).then_some(free)
        })
    {
        return Err((
            StatusCode::INSUFFICIENT_STORAGE,
            no_room(content_length.unwrap_or(0), free),
        ));
    }
    let id = TransferId::fresh();
    if state.policy == UploadPolicy::Ask
        && let Err(why) = consent(state, id, peer, Vec::new(), content_length).await
    {
        return Err((StatusCode::FORBIDDEN, why));
    }
    Ok(Admitted {
        id,
        limit: state.max_upload_bytes,
        expected: content_length,
    })
}

/// Reports how the upload ended and answers the browser.
fn answer(
    reply: Reply,
    state: &State,
    id: TransferId,
    received: Received,
) -> Response<ResponseBody> {
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
    match reply {
        Reply::Json => json(
            status,
            serde_json::json!({ "files": received.reports, "error": error }),
        ),
        Reply::Page(lang) => {
            let saved: Vec<String> = received
                .reports
                .iter()
                .filter_map(|r| r.saved_as.clone())
                .collect();
            page::result_page(lang, status, &saved, &skipped, error.as_deref())
        }
    }
}

/// Why an upload stopped, when its bytes stopped arriving.
fn stalled() -> (StatusCode, String) {
    (
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "The upload stopped: no data arrived for {} seconds.",
            STALL_TIMEOUT.as_secs()
        ),
    )
}

/// Streams every file part of the body to disk. Each part is named and
/// checked ([`Receiving::name_of`]), written ([`Receiving::write`]) and
/// given its final name ([`Receiving::save`]); the first fatal problem
/// ends the upload.
async fn receive(body: Incoming, boundary: String, state: &State, admitted: Admitted) -> Received {
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new().whole_stream(admitted.limit.saturating_add(MULTIPART_OVERHEAD)),
    );
    let mut multipart =
        multer::Multipart::with_constraints(BodyDataStream::new(body), boundary, constraints);
    let mut upload = Receiving {
        state,
        id: admitted.id,
        limit: admitted.limit,
        expected: admitted.expected,
        received: 0,
        last_progress: Instant::now(),
        out: Received::default(),
    };
    loop {
        let mut field = match tokio::time::timeout(STALL_TIMEOUT, multipart.next_field()).await {
            Err(_) => {
                upload.out.fatal = Some(stalled());
                break;
            }
            Ok(Err(e)) => {
                upload.out.fatal = Some(multipart_failure(&e, upload.limit));
                break;
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(field))) => field,
        };
        let Some((leaf, name)) = upload.name_of(field.file_name()) else {
            continue;
        };
        let mut part = match PartFile::create(state.download_dir.clone(), PathBuf::new(), name)
            .await
        {
            Ok(part) => part,
            Err(e) => {
                tracing::warn!(dir = %state.download_dir.display(), "cannot create an upload file: {e}");
                upload.out.fatal = Some((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("The computer cannot write into its download folder: {e}."),
                ));
                break;
            }
        };
        if let Some((status, why)) = upload.write(&mut field, &mut part, &leaf).await {
            upload
                .out
                .reports
                .push(FileReport::skipped(&leaf, why.clone()));
            upload.out.fatal = Some((status, why));
            break; // `part` is dropped here, which removes the partial file
        }
        if !upload.save(part, leaf).await {
            break;
        }
    }
    upload.out
}

/// One upload being received: its limits, its byte count and what became of
/// its files so far.
struct Receiving<'a> {
    state: &'a State,
    id: TransferId,
    limit: u64,
    expected: Option<u64>,
    /// Bytes of file contents received so far.
    received: u64,
    last_progress: Instant,
    out: Received,
}

impl Receiving<'_> {
    /// The name a part is shown under and the one it is saved under, or
    /// `None` to skip it: not a file, no file chosen, or a name that cannot
    /// be saved (reported).
    fn name_of(&mut self, file_name: Option<&str>) -> Option<(String, String)> {
        let raw = file_name?; // not a file (another form field)
        if raw.is_empty() {
            return None; // a form sent without choosing a file
        }
        let leaf = leaf_name(raw).to_string();
        match upload_name_for(raw, NameRules::HOST) {
            Ok(name) => Some((leaf, name)),
            Err(e) => {
                self.out.reports.push(FileReport::skipped(
                    &leaf,
                    format!("It cannot be saved: {e}."),
                ));
                None
            }
        }
    }

    /// Writes one part's bytes into `part`, within the limit and with
    /// throttled progress; a problem that ends the upload comes back.
    async fn write(
        &mut self,
        field: &mut multer::Field<'_>,
        part: &mut PartFile,
        leaf: &str,
    ) -> Option<(StatusCode, String)> {
        loop {
            let chunk = match tokio::time::timeout(STALL_TIMEOUT, field.chunk()).await {
                Err(_) => return Some(stalled()),
                Ok(Err(e)) => return Some(multipart_failure(&e, self.limit)),
                Ok(Ok(None)) => return None,
                Ok(Ok(Some(chunk))) => chunk,
            };
            self.received += chunk.len() as u64;
            if self.received > self.limit {
                return Some((StatusCode::PAYLOAD_TOO_LARGE, self.over_limit()));
            }
            if let Err(e) = part.file.write_all(&chunk).await {
                return Some((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("Writing “{leaf}” failed on the computer: {e}."),
                ));
            }
            if self.last_progress.elapsed() >= PROGRESS_INTERVAL {
                self.last_progress = Instant::now();
                self.progress(leaf);
            }
        }
    }

    /// Why more bytes than allowed are refused.
    fn over_limit(&self) -> String {
        format!(
            "The upload is larger than the {} this share accepts.",
            human_bytes(self.limit)
        )
    }

    fn progress(&self, leaf: &str) {
        self.state.events.emit_lossy(ShareEvent::UploadProgress {
            id: self.id,
            done: self.received,
            total: self.expected,
            current: leaf.to_string(),
        });
    }

    /// Gives a fully written part its final name and reports it; false when
    /// that failed, which ends the upload.
    async fn save(&mut self, part: PartFile, leaf: String) -> bool {
        // The exact count at the end of each file, whatever the throttle
        // skipped: a window shows (and records) the bytes really received.
        self.progress(&leaf);
        match part.finish().await {
            Ok(path) => {
                self.state.events.emit(ShareEvent::UploadSaved {
                    id: self.id,
                    path: path.clone(),
                });
                self.out.reports.push(FileReport {
                    name: leaf,
                    saved_as: Some(
                        path.file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned(),
                    ),
                    error: None,
                });
                self.out.saved.push(path);
                true
            }
            Err(e) => {
                let why = format!("Saving “{leaf}” failed on the computer: {e}.");
                self.out
                    .reports
                    .push(FileReport::skipped(&leaf, why.clone()));
                self.out.fatal = Some((StatusCode::INTERNAL_SERVER_ERROR, why));
                false
            }
        }
    }
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
        assert_eq!(leaf_name("notes\\draft v2.txt"), "notes\\draft v2.txt");
        assert_eq!(leaf_name("album/2024/photo.jpg"), "photo.jpg");
        assert_eq!(leaf_name("../../etc/passwd"), "passwd");
        assert_eq!(leaf_name("dir/"), "");
        assert_eq!(leaf_name(".."), "..");
    }
}
