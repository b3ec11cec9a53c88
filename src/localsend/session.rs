//! Receiving from a LocalSend sender (protocol section 4): `prepare-upload`
//! becomes the same incoming offer as Ferry's (trust rules, PIN guard, the
//! person's answer), an accepted offer becomes one session with a token per
//! file, each `upload` streams into `NAME.ferry-part` and takes its final
//! name only after its announced size (and SHA-256 when given) matched, and
//! `cancel`, a dropped connection, a quiet sender or the person's Cancel end
//! it cleanly. One session at a time, as LocalSend expects (409 for a
//! second). Names come from `fs::names`; nothing is overwritten.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::StatusCode;
use hyper::body::Incoming;
use tokio::sync::watch;

use super::offer::{Planned, claim_roots, device_of, plan, summary, texts};
use super::server::{Answer, empty, json, message, read_body};
use super::wire::{FileMeta, PrepareAnswer, PrepareUpload, Query};
use super::{Shared, session_files};
use crate::api::{
    Device, Direction, Event, OfferSummary, Outcome, Party, TransferId, TrustVerdict,
};
use crate::secure::pin::PinVerdict;

pub(crate) use session_files::upload;

/// A session with no upload activity for this long ends (a sender that
/// vanished must not hold LocalSend's one session slot forever).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Who sent a request: its address and its certificate's fingerprint.
#[derive(Debug, Clone)]
pub struct Sender {
    /// Its address.
    pub peer: SocketAddr,
    /// SHA-256 of its certificate, lower-case hex.
    pub fingerprint: String,
}

/// Where the one session slot stands.
#[derive(Default)]
enum Slot {
    #[default]
    Free,
    /// An offer waits for the person's answer.
    Asking,
    /// Accepted: uploads are expected.
    Open(Arc<Session>),
}

/// Most `prepare-upload` bodies read at once (each up to
/// [`super::wire::MAX_PREPARE_BODY`]), so many connections cannot make
/// Ferry hold many large bodies in memory.
pub const MAX_PREPARES_READ: usize = 2;

/// LocalSend's one session at a time, and the permits to read offers.
pub(crate) struct Sessions(Mutex<Slot>, tokio::sync::Semaphore);

impl Default for Sessions {
    fn default() -> Self {
        Sessions(
            Mutex::default(),
            tokio::sync::Semaphore::new(MAX_PREPARES_READ),
        )
    }
}

impl Sessions {
    /// The open session, if any.
    pub(super) fn open(&self) -> Option<Arc<Session>> {
        match &*self.0.lock().ok()? {
            Slot::Open(session) => Some(session.clone()),
            _ => None,
        }
    }

    fn set(&self, slot: Slot) {
        if let Ok(mut current) = self.0.lock() {
            *current = slot;
        }
    }

    /// Frees the slot if `session` holds it.
    pub(super) fn release(&self, session: &Session) {
        if let Ok(mut current) = self.0.lock()
            && matches!(&*current, Slot::Open(s) if s.id == session.id)
        {
            *current = Slot::Free;
        }
    }

    /// Ends the open session (the engine stops).
    pub(crate) fn end_all(&self, ctx: &crate::transfer::context::Context) {
        if let Some(session) = self.open() {
            session.end(ctx, Outcome::Cancelled { by: Party::Local });
            self.release(&session);
        }
    }
}

/// One file of a session.
pub(super) struct FileSlot {
    pub token: String,
    pub meta: FileMeta,
    /// The folders under the download folder, already safe.
    pub dir: PathBuf,
    /// Its final name (safe).
    pub name: String,
    pub state: FileState,
}

/// Where a file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileState {
    Waiting,
    Receiving,
    Done,
    Failed,
}

/// An accepted offer.
pub(super) struct Session {
    pub id: String,
    pub transfer: TransferId,
    pub sender_ip: IpAddr,
    pub root: PathBuf,
    pub files: Mutex<HashMap<String, FileSlot>>,
    pub total_files: u32,
    pub total_bytes: u64,
    pub bytes_done: AtomicU64,
    pub files_done: AtomicU32,
    pub files_failed: AtomicU32,
    pub cancelled: watch::Sender<bool>,
    pub last_activity: Mutex<Instant>,
    pub started: Instant,
    pub last_progress: Mutex<Instant>,
    /// The folders its small uploads land in, kept open.
    pub folders: super::small_upload::Folders,
    ended: AtomicBool,
}

impl Session {
    /// Reports how it ended, once; tells running uploads to stop.
    pub(super) fn end(&self, ctx: &crate::transfer::context::Context, outcome: Outcome) {
        if self.ended.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.cancelled.send(true);
        ctx.unregister(self.transfer);
        ctx.sink.emit(Event::Finished {
            id: self.transfer,
            direction: Direction::Incoming,
            outcome,
        });
    }

    /// Notes activity (the idle watchdog looks at it).
    pub(super) fn touch(&self) {
        if let Ok(mut at) = self.last_activity.lock() {
            *at = Instant::now();
        }
    }

    /// Ends the session when every file is done or failed.
    pub(super) fn finish_if_complete(&self, shared: &Shared) {
        let done = self.files_done.load(Ordering::SeqCst);
        let failed = self.files_failed.load(Ordering::SeqCst);
        if done + failed < self.total_files {
            return;
        }
        let outcome = if failed == 0 {
            Outcome::Completed {
                files: done,
                bytes: self.bytes_done.load(Ordering::SeqCst),
            }
        } else {
            Outcome::Failed(format!(
                "{failed} of {} files from the LocalSend device could not be received.",
                self.total_files
            ))
        };
        self.end(&shared.ctx, outcome);
        shared.sessions.release(self);
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    crate::hex::lower(&bytes)
}

/// Frees the slot when a prepare ends without opening a session.
struct Asking<'a>(&'a Shared, bool);

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.sessions.set(Slot::Free);
        }
    }
}

/// `POST /api/localsend/v2/prepare-upload`.
pub(crate) async fn prepare(
    shared: Arc<Shared>,
    who: Sender,
    query: Option<&str>,
    body: Incoming,
) -> Answer {
    // A busy receiver says so before reading anything.
    if shared
        .sessions
        .0
        .lock()
        .map_or(true, |s| !matches!(*s, Slot::Free))
    {
        return message(StatusCode::CONFLICT, "Blocked by another session");
    }
    let Ok(reading) = shared.sessions.1.try_acquire() else {
        return message(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
    };
    let bytes = match read_body(body, super::wire::MAX_PREPARE_BODY).await {
        Ok(bytes) => bytes,
        Err(answer) => return answer,
    };
    drop(reading);
    let offer = match PrepareUpload::parse(&bytes) {
        Ok(offer) => offer,
        Err(e) => return message(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    {
        let Ok(mut slot) = shared.sessions.0.lock() else {
            return message(StatusCode::INTERNAL_SERVER_ERROR, "Unknown error");
        };
        if !matches!(*slot, Slot::Free) {
            return message(StatusCode::CONFLICT, "Blocked by another session");
        }
        *slot = Slot::Asking;
    }
    let mut asking = Asking(&shared, false);
    if let Some(answer) = check_pin(&shared, &who, query) {
        return answer;
    }
    let planned = match plan(&offer) {
        Ok(planned) => planned,
        Err(e) => return message(StatusCode::BAD_REQUEST, &format!("Invalid file name {e}")),
    };
    let answer = decide_and_open(&shared, &who, &offer, planned).await;
    asking.1 = shared.sessions.open().is_some();
    answer
}

fn check_pin(shared: &Shared, who: &Sender, query: Option<&str>) -> Option<Answer> {
    let expected = shared
        .ctx
        .receive_settings()
        .pin
        .filter(|p| !p.is_empty())?;
    let given = Query::parse(query).pin;
    match shared
        .ctx
        .pin_guard
        .check(&expected, given.as_deref(), who.peer.ip(), Instant::now())
    {
        PinVerdict::Accepted => None,
        PinVerdict::Missing => Some(message(StatusCode::UNAUTHORIZED, "PIN required")),
        PinVerdict::Wrong => {
            shared.ctx.sink.emit(Event::Problem(format!(
                "A LocalSend device at {} sent a wrong PIN.",
                who.peer.ip()
            )));
            Some(message(StatusCode::UNAUTHORIZED, "Invalid PIN"))
        }
        PinVerdict::Locked { .. } => {
            Some(message(StatusCode::TOO_MANY_REQUESTS, "Too many requests"))
        }
    }
}

/// Asks (or applies the trust rule), then opens the session.
async fn decide_and_open(
    shared: &Arc<Shared>,
    who: &Sender,
    offer: &PrepareUpload,
    planned: Vec<Planned>,
) -> Answer {
    let settings = shared.ctx.receive_settings();
    let texts = texts(&offer.files);
    let from = device_of(who, offer);
    let summary = summary(&planned, &texts, &settings.download_dir);
    let id = TransferId::fresh();
    let decision = match settings.accept.judge(&from.device_id, &from.alias) {
        TrustVerdict::Accept => {
            shared.ctx.sink.emit(Event::AutoAccepted {
                id,
                from: from.clone(),
                addr: who.peer,
                offer: summary.clone(),
            });
            crate::api::Decision::AcceptAll
        }
        TrustVerdict::Impostor { .. } => {
            shared.ctx.sink.emit(Event::Problem(format!(
                "A LocalSend device calling itself {:?} offered files with a certificate that is not the one remembered for that name; it was refused.",
                from.alias
            )));
            return message(StatusCode::FORBIDDEN, "Rejected");
        }
        TrustVerdict::Ask => match ask(shared, id, &from, who.peer, summary.clone()).await {
            Some(decision) => decision,
            None => return message(StatusCode::FORBIDDEN, "Rejected"),
        },
    };
    let keep: Vec<usize> = match &decision {
        crate::api::Decision::AcceptAll => (0..planned.len()).collect(),
        crate::api::Decision::AcceptSome(which) => which
            .iter()
            .map(|i| *i as usize)
            .filter(|i| *i < planned.len())
            .collect(),
        crate::api::Decision::Decline => Vec::new(),
    };
    if keep.is_empty() {
        // Taking nothing is declining (LocalSend's 204 would say "done").
        finish_now(shared, id, Outcome::Declined("You declined.".into()));
        return message(StatusCode::FORBIDDEN, "Rejected");
    }
    if let Some(texts) = texts {
        let kept = texts
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(i));
        for (_, text) in kept {
            shared.ctx.sink.emit(Event::TextReceived {
                id,
                from: from.clone(),
                text,
            });
        }
        finish_now(shared, id, Outcome::Completed { files: 0, bytes: 0 });
        return empty(StatusCode::NO_CONTENT);
    }
    open(shared, id, who, planned, keep, &settings.download_dir).await
}

fn finish_now(shared: &Shared, id: TransferId, outcome: Outcome) {
    shared.ctx.unregister(id);
    shared.ctx.sink.emit(Event::Finished {
        id,
        direction: Direction::Incoming,
        outcome,
    });
}

/// Shows the offer and waits for the person (or the prompt timeout).
/// `None` when nobody answered; the transfer is then finished here.
async fn ask(
    shared: &Arc<Shared>,
    id: TransferId,
    from: &Device,
    addr: SocketAddr,
    offer: OfferSummary,
) -> Option<crate::api::Decision> {
    let rx = shared.ctx.register(id);
    // LocalSend has no pairing code; a remembered name arriving with another
    // certificate is still flagged, as for Ferry senders.
    let remembered = shared.ctx.receive_settings().remembered;
    let trust = crate::api::recognise(&remembered, &from.device_id, &[&from.alias]);
    shared.ctx.sink.emit(Event::Incoming {
        id,
        from: from.clone(),
        addr,
        offer,
        code: String::new(),
        key_changed: matches!(trust, crate::api::PeerTrust::KeyChanged { .. }),
    });
    // If the sender hangs up, this future is dropped: the guard
    // unregisters the offer, which ends the waiting thread too.
    struct Waiting(crate::transfer::context::Context, TransferId, bool);
    impl Drop for Waiting {
        fn drop(&mut self) {
            if !self.2 {
                self.0.unregister(self.1);
                self.0.sink.emit(Event::Finished {
                    id: self.1,
                    direction: Direction::Incoming,
                    outcome: Outcome::Cancelled { by: Party::Remote },
                });
            }
        }
    }
    let mut guard = Waiting(shared.ctx.clone(), id, false);
    let timeout = shared.ctx.timeouts.prompt;
    let answer = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + timeout;
        loop {
            break match rx.recv_deadline(deadline) {
                Ok(crate::transfer::context::Control::Decide(decision)) => Some(decision),
                // Cancel on an offer not yet answered: the person said no.
                Ok(crate::transfer::context::Control::Cancel) => {
                    Some(crate::api::Decision::Decline)
                }
                // Nothing to hold before an answer (nor on LocalSend's wire).
                Ok(crate::transfer::context::Control::Pause(_)) => continue,
                Err(_) => None,
            };
        }
    })
    .await
    .ok()
    .flatten();
    guard.2 = true;
    if answer.is_none() {
        finish_now(
            shared,
            id,
            Outcome::Declined("Nobody answered the offer in time.".into()),
        );
    }
    answer
}

async fn open(
    shared: &Arc<Shared>,
    id: TransferId,
    who: &Sender,
    planned: Vec<Planned>,
    keep: Vec<usize>,
    root: &Path,
) -> Answer {
    let kept: Vec<&Planned> = keep.iter().filter_map(|i| planned.get(*i)).collect();
    let total_bytes: u64 = kept
        .iter()
        .map(|p| p.meta.size)
        .fold(0, u64::saturating_add);
    if let Some(free) = crate::fs::free_space(root)
        && total_bytes > free
    {
        finish_now(
            shared,
            id,
            Outcome::Failed(format!(
                "Not enough space: the LocalSend offer needs {total_bytes} bytes, {free} are free."
            )),
        );
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not enough space on the receiver",
        );
    }
    let roots = match claim_roots(root, &kept) {
        Ok(roots) => roots,
        Err(e) => {
            finish_now(
                shared,
                id,
                Outcome::Failed(format!("Cannot write to the download folder: {e}")),
            );
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Cannot write to the download folder",
            );
        }
    };
    let mut files = HashMap::new();
    let mut tokens = BTreeMap::new();
    for p in &kept {
        let mut rel = p.rel.clone();
        if let Some(first) = p.rel.components().next()
            && let Some(renamed) = roots.get(Path::new(first.as_os_str()))
        {
            rel = renamed.join(p.rel.strip_prefix(first.as_os_str()).unwrap_or(&p.rel));
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let token = random_token();
        tokens.insert(p.meta.id.clone(), token.clone());
        files.insert(
            p.meta.id.clone(),
            FileSlot {
                token,
                meta: p.meta.clone(),
                dir,
                name,
                state: FileState::Waiting,
            },
        );
    }
    let (cancelled, _) = watch::channel(false);
    let session = Arc::new(Session {
        id: random_token(),
        transfer: id,
        sender_ip: who.peer.ip(),
        root: root.to_path_buf(),
        files: Mutex::new(files),
        total_files: kept.len() as u32,
        total_bytes,
        bytes_done: AtomicU64::new(0),
        files_done: AtomicU32::new(0),
        files_failed: AtomicU32::new(0),
        cancelled,
        last_activity: Mutex::new(Instant::now()),
        started: Instant::now(),
        last_progress: Mutex::new(Instant::now()),
        folders: Default::default(),
        ended: AtomicBool::new(false),
    });
    let control = shared.ctx.register(id);
    shared.sessions.set(Slot::Open(session.clone()));
    shared.ctx.sink.emit(Event::Started {
        id,
        direction: Direction::Incoming,
        files: session.total_files,
        bytes: total_bytes,
        resumed_bytes: 0,
    });
    session_files::watch(shared.clone(), session.clone(), control);
    let answer = PrepareAnswer {
        session_id: session.id.clone(),
        files: tokens,
    };
    json(
        StatusCode::OK,
        serde_json::to_vec(&answer).unwrap_or_default(),
    )
}

/// `POST /api/localsend/v2/cancel`: the sender ends its session.
pub(crate) fn cancel(shared: &Shared, peer: SocketAddr, query: Option<&str>) -> Answer {
    let query = Query::parse(query);
    match shared.sessions.open() {
        Some(session)
            if query.session_id.as_deref() == Some(session.id.as_str())
                && session.sender_ip == peer.ip() =>
        {
            session.end(&shared.ctx, Outcome::Cancelled { by: Party::Remote });
            shared.sessions.release(&session);
            empty(StatusCode::OK)
        }
        _ => message(StatusCode::FORBIDDEN, "Invalid session"),
    }
}
