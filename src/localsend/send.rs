//! Sending to a LocalSend device (protocol section 4, client side): the
//! person picked the device (its address in the table), the TLS handshake
//! must show the certificate whose SHA-256 the device announced (a device
//! we cannot vouch for — another certificate, or plain HTTP with nothing to
//! check — gets nothing), that certificate is judged against the remembered
//! devices (`trust`: a new one confirmed by the person, a changed one
//! flagged), then `prepare-upload` with each file's SHA-256
//! and the PIN when one was given, and the files streamed from disk over a
//! few kept-alive connections in parallel, with progress, Cancel (which
//! tells the receiver with `/cancel`) and LocalSend's answers mapped to
//! Ferry's outcomes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Method, StatusCode};
use tokio::sync::watch;

use super::Shared;
use super::client::{Conn, full};
use super::send_list::{Hashing, Item, collect};
use super::upload_body::FileBody;
use super::wire::{PrepareAnswer, PrepareUpload};
use crate::api::{Decision, Direction, Event, Outcome, Party, Progress, TransferId};
use crate::transfer::context::Control;

/// Uploads in flight at once (each on its own kept-alive connection). Eight,
/// not four: 2,000 × 4 KiB into Ferry's own server took 0.167 s instead of
/// 0.184 s (medians of 10 alternating runs), since each small upload waits a
/// round trip for its answer; a receiver's per-address limit (Ferry's: 16)
/// still leaves room for `/cancel`.
pub const PARALLEL_UPLOADS: usize = 8;

/// Reports of the hashing before the offer come at most this often (the
/// engine's `count_report`, which tests set to zero, is the usual interval).
const MIN_REPORT_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

/// Longest answer body read from a receiver.
const MAX_ANSWER: usize = 64 * 1024;

/// What to send.
#[derive(Debug, Clone)]
pub enum What {
    /// Files and folders.
    Paths(Vec<PathBuf>),
    /// A text message.
    Text(String),
}

/// Starts a send on the runtime; it reports through the engine's events.
pub(crate) fn spawn(
    runtime: &tokio::runtime::Handle,
    shared: Arc<Shared>,
    id: TransferId,
    to: SocketAddr,
    what: What,
) {
    let control = shared.ctx.register(id);
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let (answer_tx, answer_rx) = watch::channel(None);
    // The person's Cancel, and their answer about a device never confirmed,
    // arrive through the engine's registry.
    runtime.spawn_blocking(move || {
        while let Ok(message) = control.recv() {
            match message {
                Control::Cancel => {
                    let _ = cancel_tx.send(true);
                    return;
                }
                Control::Decide(decision) => {
                    let _ = answer_tx.send(Some(decision != Decision::Decline));
                }
                // LocalSend's wire cannot hold a transfer (docs/LOCALSEND.md).
                Control::Pause(_) => {}
            }
        }
    });
    runtime.spawn(async move {
        let outcome = run(&shared, id, to, what, cancel_rx, answer_rx).await;
        shared.ctx.unregister(id);
        shared.ctx.sink.emit(Event::Finished {
            id,
            direction: Direction::Outgoing,
            outcome,
        });
    });
}

/// Opens a connection and insists on the certificate the device announced.
async fn connect(shared: &Shared, to: SocketAddr, expected: &str) -> Result<Conn, Outcome> {
    let conn = Conn::open(
        &shared.ctx.identity,
        to,
        false,
        std::time::Duration::from_secs(10),
    )
    .await
    .map_err(|e| Outcome::Failed(format!("{e}.")))?;
    match &conn.fingerprint {
        Some(fp) if fp.eq_ignore_ascii_case(expected) => Ok(conn),
        _ => Err(Outcome::Failed(format!(
            "The device at {to} is not the LocalSend device that announced itself there (its certificate differs). Nothing was sent."
        ))),
    }
}

async fn run(
    shared: &Arc<Shared>,
    id: TransferId,
    to: SocketAddr,
    what: What,
    mut cancel: watch::Receiver<bool>,
    mut answers: super::trust::Answers,
) -> Outcome {
    let Some((device, plain)) = shared.table.lock().ok().and_then(|t| t.at(to)) else {
        return Outcome::Failed(format!("No LocalSend device is listed at {to} any more."));
    };
    let expected = device.device_id.clone();
    if plain {
        return Outcome::Failed(format!(
            "The LocalSend device at {to} speaks only plain HTTP, so Ferry cannot tell that it is the device you picked. Nothing was sent; turn on encryption in its LocalSend settings."
        ));
    }
    // Hashing a big file takes a while: Cancel must not wait for it, and
    // the person sees how far it got.
    let hashing = Arc::new(Hashing::default());
    let hashing_here = hashing.clone();
    let mut collecting = tokio::task::spawn_blocking(move || collect(what, &hashing_here));
    let every = shared.ctx.timeouts.count_report.max(MIN_REPORT_EVERY);
    let collected = loop {
        tokio::select! {
            _ = cancel.wait_for(|c| *c) => {
                hashing.stop.store(true, Ordering::SeqCst);
                return Outcome::Cancelled { by: Party::Local };
            }
            collected = &mut collecting => break collected,
            () = tokio::time::sleep(every) => {
                if let Some((files, bytes, total_files, total_bytes)) = hashing.so_far() {
                    shared.ctx.sink.emit_lossy(Event::Checksumming {
                        id,
                        files,
                        bytes,
                        total_files,
                        total_bytes,
                    });
                }
            }
        }
    };
    let items = match collected {
        Ok(Ok(items)) => items,
        Ok(Err(e)) => return Outcome::Failed(e),
        Err(_) => return Outcome::Failed("Reading the files failed.".into()),
    };
    let mut conn = match connect(shared, to, &expected).await {
        Ok(conn) => conn,
        Err(outcome) => return outcome,
    };
    // `connect` proved the certificate; judge it before anything leaves.
    match super::trust::vouch(
        shared,
        id,
        to,
        &device,
        &expected,
        &mut answers,
        &mut cancel,
    )
    .await
    {
        Ok(super::trust::Vouched::AtOnce) => {}
        // The person may have taken a while: the kept-alive connection may
        // have been closed by the receiver meanwhile, so open a fresh one.
        Ok(super::trust::Vouched::Confirmed) => match connect(shared, to, &expected).await {
            Ok(fresh) => conn = fresh,
            Err(outcome) => return outcome,
        },
        Err(outcome) => return outcome,
    }
    let offer = outline(&items);
    shared.ctx.sink.emit(Event::Offered {
        id,
        to,
        peer_id: expected.clone(),
        offer,
        // LocalSend has no pairing exchange: the certificate was checked
        // against the announced fingerprint instead.
        code: String::new(),
    });
    let answer = tokio::select! {
        _ = cancel.wait_for(|c| *c) => return Outcome::Cancelled { by: Party::Local },
        answer = prepare(shared, &mut conn, id, to, &items) => answer,
    };
    let answer = match answer {
        Ok(Some(answer)) => answer,
        Ok(None) => return Outcome::Completed { files: 0, bytes: 0 },
        Err(outcome) => return outcome,
    };
    let accepted: Vec<Item> = items
        .into_iter()
        .filter(|i| answer.files.contains_key(&i.meta.id))
        .collect();
    let bytes: u64 = accepted.iter().map(|i| i.meta.size).sum();
    shared.ctx.sink.emit(Event::Started {
        id,
        direction: Direction::Outgoing,
        files: accepted.len() as u32,
        bytes,
        resumed_bytes: 0,
    });
    let job = Arc::new(Job {
        shared: shared.clone(),
        id,
        to,
        expected,
        session: answer.session_id.clone(),
        tokens: answer.files,
        queue: Mutex::new(accepted.clone().into_iter().rev().collect()),
        files_total: accepted.len() as u32,
        bytes_total: bytes,
        bytes_done: AtomicU64::new(0),
        files_done: AtomicU64::new(0),
        failed: Mutex::new(None),
        stop: AtomicBool::new(false),
        started: Instant::now(),
        last_progress: Mutex::new(Instant::now()),
    });
    let outcome = tokio::select! {
        _ = cancel.wait_for(|c| *c) => {
            job.stop.store(true, Ordering::SeqCst);
            Outcome::Cancelled { by: Party::Local }
        }
        outcome = upload_all(job.clone(), conn) => outcome,
    };
    if !outcome.is_success() {
        tell_cancel(shared, to, &job.expected, &job.session).await;
    }
    outcome
}

fn outline(items: &[Item]) -> crate::api::OfferSummary {
    let entries: Vec<crate::api::OfferItem> = items
        .iter()
        .map(|i| crate::api::OfferItem {
            path: match &i.text {
                Some(_) => Vec::new(),
                None => i.meta.file_name.split('/').map(str::to_string).collect(),
            },
            kind: match &i.text {
                Some(text) => crate::api::ItemKind::Text(text.clone()),
                None => crate::api::ItemKind::File,
            },
            size: i.meta.size,
            modified_ms: None,
        })
        .collect();
    crate::api::OfferSummary::of(entries, None)
}

/// `prepare-upload`: `Ok(None)` when the receiver needs no upload (204).
async fn prepare(
    shared: &Shared,
    conn: &mut Conn,
    id: TransferId,
    to: SocketAddr,
    items: &[Item],
) -> Result<Option<PrepareAnswer>, Outcome> {
    let body = PrepareUpload {
        info: shared.info(None),
        files: items
            .iter()
            .map(|i| (i.meta.id.clone(), i.meta.clone()))
            .collect::<BTreeMap<_, _>>(),
    };
    let pin = shared
        .ctx
        .sender_pins
        .lock()
        .ok()
        .and_then(|pins| pins.get(&to).cloned());
    let path = match &pin {
        Some(pin) => format!(
            "/api/localsend/v2/prepare-upload?pin={}",
            percent_encoding::utf8_percent_encode(pin, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => "/api/localsend/v2/prepare-upload".into(),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let (status, bytes) = conn
        .request(
            Method::POST,
            &path,
            full(json),
            super::wire::MAX_PREPARE_BODY,
        )
        .await
        .map_err(|e| Outcome::Failed(format!("{e}.")))?;
    match status {
        StatusCode::OK => PrepareAnswer::parse(&bytes)
            .map(Some)
            .map_err(|e| Outcome::Failed(format!("The LocalSend device answered oddly: {e}."))),
        StatusCode::NO_CONTENT => Ok(None),
        StatusCode::UNAUTHORIZED => {
            shared.ctx.sink.emit(Event::PinRequired {
                id,
                to,
                wrong: pin.is_some(),
            });
            Err(Outcome::Failed(if pin.is_some() {
                "The PIN was wrong.".into()
            } else {
                "The receiver requires a PIN.".into()
            }))
        }
        StatusCode::FORBIDDEN => Err(Outcome::Declined("Declined by the receiver.".into())),
        StatusCode::CONFLICT => Err(Outcome::Failed(
            "The LocalSend device is busy with another transfer; try again when it is done.".into(),
        )),
        StatusCode::TOO_MANY_REQUESTS => Err(Outcome::Failed(
            "Too many tries: the LocalSend device refuses this one for a while.".into(),
        )),
        other => Err(Outcome::Failed(format!(
            "The LocalSend device refused the offer ({other}: {}).",
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(200)
                .collect::<String>()
        ))),
    }
}

/// A running upload of accepted files.
struct Job {
    shared: Arc<Shared>,
    id: TransferId,
    to: SocketAddr,
    expected: String,
    session: String,
    tokens: BTreeMap<String, String>,
    queue: Mutex<Vec<Item>>,
    files_total: u32,
    bytes_total: u64,
    bytes_done: AtomicU64,
    files_done: AtomicU64,
    failed: Mutex<Option<String>>,
    stop: AtomicBool,
    started: Instant,
    last_progress: Mutex<Instant>,
}

impl Job {
    fn next(&self) -> Option<Item> {
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        self.queue.lock().ok()?.pop()
    }

    fn fail(&self, why: String) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut failed) = self.failed.lock() {
            failed.get_or_insert(why);
        }
    }

    fn progress(&self, current: &str, force: bool) {
        let now = Instant::now();
        if let Ok(mut last) = self.last_progress.lock() {
            if !force && now.duration_since(*last) < std::time::Duration::from_millis(100) {
                return;
            }
            *last = now;
        }
        let done = self.bytes_done.load(Ordering::Relaxed);
        let secs = now.duration_since(self.started).as_secs_f64();
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        self.shared.ctx.sink.emit_lossy(Event::Progress(Progress {
            id: self.id,
            direction: Direction::Outgoing,
            bytes_done: done,
            bytes_total: self.bytes_total,
            files_done: self.files_done.load(Ordering::Relaxed) as u32,
            files_total: self.files_total,
            rate,
            eta: (rate > 0.0).then(|| {
                std::time::Duration::from_secs_f64(
                    self.bytes_total.saturating_sub(done) as f64 / rate,
                )
            }),
            current: current.to_string(),
        }));
    }
}

async fn upload_all(job: Arc<Job>, first: Conn) -> Outcome {
    let mut workers = tokio::task::JoinSet::new();
    let mut first = Some(first);
    let count = PARALLEL_UPLOADS.min(job.files_total as usize).max(1);
    for _ in 0..count {
        let job = job.clone();
        let conn = first.take();
        workers.spawn(async move { worker(job, conn).await });
    }
    while workers.join_next().await.is_some() {}
    if let Some(why) = job.failed.lock().ok().and_then(|f| f.clone()) {
        return Outcome::Failed(why);
    }
    job.progress("", true);
    Outcome::Completed {
        files: job.files_total,
        bytes: job.bytes_done.load(Ordering::SeqCst),
    }
}

async fn worker(job: Arc<Job>, conn: Option<Conn>) {
    let mut conn = conn;
    while let Some(item) = job.next() {
        match upload_one(&job, &mut conn, &item).await {
            Ok(()) => {
                job.files_done.fetch_add(1, Ordering::SeqCst);
                job.shared.ctx.sink.emit(Event::FilesVerified {
                    id: job.id,
                    paths: vec![PathBuf::from(&item.meta.file_name)],
                });
            }
            Err(why) => return job.fail(why),
        }
    }
}

/// This worker's connection, opened when it has none.
async fn open<'a>(job: &Job, conn: &'a mut Option<Conn>) -> Result<&'a mut Conn, String> {
    if conn.is_none() {
        *conn = Some(match connect(&job.shared, job.to, &job.expected).await {
            Ok(c) => c,
            Err(Outcome::Failed(why)) => return Err(why),
            Err(_) => return Err("Cannot connect.".into()),
        });
    }
    conn.as_mut().ok_or_else(|| "Cannot connect.".into())
}

async fn upload_one(job: &Arc<Job>, conn: &mut Option<Conn>, item: &Item) -> Result<(), String> {
    let token = job.tokens.get(&item.meta.id).cloned().unwrap_or_default();
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let path = format!(
        "/api/localsend/v2/upload?sessionId={}&fileId={}&token={}",
        enc(&job.session),
        enc(&item.meta.id),
        enc(&token)
    );
    let body = match (&item.text, &item.local) {
        _ if item.kept.is_some() => {
            let kept = item.kept.clone().unwrap_or_default();
            job.bytes_done
                .fetch_add(kept.len() as u64, Ordering::Relaxed);
            job.progress(&item.meta.file_name, false);
            full(kept)
        }
        (Some(text), _) => {
            job.bytes_done
                .fetch_add(text.len() as u64, Ordering::Relaxed);
            full(Bytes::from(text.clone().into_bytes()))
        }
        (None, Some(local)) => {
            let (stop, sent, name) = (job.clone(), job.clone(), item.meta.file_name.clone());
            FileBody::read(
                local.clone(),
                item.meta.size,
                move || stop.stop.load(Ordering::SeqCst),
                move |n| {
                    sent.bytes_done.fetch_add(n as u64, Ordering::Relaxed);
                    sent.progress(&name, false);
                },
            )
            .boxed()
        }
        (None, None) => return Err("Nothing to read.".into()),
    };
    let mut request = open(job, conn)
        .await?
        .build(Method::POST, &path, body, Some(item.meta.size))
        .map_err(|e| format!("{e}."))?;
    let mut retried = false;
    let (status, answer) = loop {
        match open(job, conn).await?.try_send(request, MAX_ANSWER).await {
            Ok(answer) => break answer,
            // None of it was written (the kept-alive connection was closed
            // under it): the device never saw it, so once, on a fresh one.
            Err((e, Some(unsent))) if !retried => {
                tracing::debug!("LocalSend upload not sent ({e}); again on a new connection");
                (retried, request, *conn) = (true, unsent, None);
            }
            Err((e, _)) => {
                *conn = None;
                return Err(format!("{e}."));
            }
        }
    };
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "The LocalSend device refused {} ({status}: {}).",
            item.meta.file_name,
            String::from_utf8_lossy(&answer)
                .chars()
                .take(200)
                .collect::<String>()
        ))
    }
}

/// Tells the receiver that the session ends (after a Cancel or a failure).
async fn tell_cancel(shared: &Shared, to: SocketAddr, expected: &str, session: &str) {
    let Ok(mut conn) = connect(shared, to, expected).await else {
        return;
    };
    let path = format!(
        "/api/localsend/v2/cancel?sessionId={}",
        percent_encoding::utf8_percent_encode(session, percent_encoding::NON_ALPHANUMERIC)
    );
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        conn.request(Method::POST, &path, full(Bytes::new()), MAX_ANSWER),
    )
    .await;
}
