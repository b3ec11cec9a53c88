//! One Ferry window per user: the first window becomes the *primary* and
//! listens on a local endpoint; a later launch (a double-click, or
//! `ferry FILE...` from a file manager's "Open with") hands its files to the
//! primary, asks it to come to the front, and exits.
//!
//! This module owns the lock file, the endpoint (a Unix domain socket, or a TCP
//! listener on 127.0.0.1 whose port and token are kept in a file) and the
//! listener thread. It must not touch the window or the engine: requests leave
//! it only as [`Activation`]s on a bounded channel, followed by a call to the
//! waker. It never listens beyond loopback and never trusts what it reads:
//! every request is bounded ([`MAX_REQUEST_BYTES`], [`MAX_FILES`],
//! [`MAX_PATH_BYTES`]) before anything is allocated.
//!
//! Who is primary is decided by an exclusive lock on `instance.lock` in the
//! instance folder, held for the primary's lifetime and released by the
//! system if it crashes. A socket or port file left behind by a crash is
//! therefore stale by definition, and the next primary removes it.
//!
//! How the window uses it (the module is crate-private, so this sketch is
//! not compiled as a doc test; `app::native::run` is the real caller):
//!
//! ```ignore
//! use ferry::single_instance::{self, Instance};
//! # fn main() -> std::io::Result<()> {
//! let files = vec![std::path::PathBuf::from("holiday.jpg")];
//! match single_instance::acquire(&single_instance::default_dir(), &files)? {
//!     Instance::Primary(primary) => {
//!         // Open the window with `files`; in its creation closure:
//!         // primary.set_waker(std::sync::Arc::new(move || ctx.request_repaint()));
//!         // each frame: for a in primary.requests().try_iter() { focus, add a.files }
//!     }
//!     Instance::Secondary { files_passed } => {
//!         println!("{}", single_instance::already_running_message(files_passed));
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The wire between two instances (both ends are this module, same version):
//! `MAGIC` (8 bytes), a big-endian `u32` body length, then the body: a `u8`
//! token length and the token, a `u32` file count, and per file a `u32` length
//! and the path's bytes (raw `OsStr` bytes on Unix, UTF-8 elsewhere). The
//! primary answers one byte: [`REPLY_OK`], [`REPLY_BUSY`] or [`REPLY_REFUSED`].
//!
//! Inside: `endpoint` binds and connects the socket or TCP port, `wire`
//! encodes and decodes the request, this file decides who is primary and runs
//! the listener thread.

mod endpoint;
mod wire;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use subtle::ConstantTimeEq;

use endpoint::{BoundEndpoint, EndpointKind, Listener, bind, connect};
use wire::{encode_request, read_request};

/// Most files one launch can pass on.
pub const MAX_FILES: usize = 4096;
/// Longest path, in bytes, one request can carry.
pub const MAX_PATH_BYTES: usize = 32 * 1024;
/// Largest request body the primary reads; checked before allocating.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Requests the primary queues before the window drains them.
pub const QUEUE_CAPACITY: usize = 16;
/// First bytes of every request: protocol name and version.
pub const MAGIC: &[u8; 8] = b"FERRYSI\x01";
/// Reply byte: the request was queued for the window.
pub const REPLY_OK: u8 = 1;
/// Reply byte: the window has not drained earlier requests in time.
pub const REPLY_BUSY: u8 = 2;
/// Reply byte: the request was malformed, too large or had a wrong token.
pub const REPLY_REFUSED: u8 = 3;

const LOCK_FILE: &str = "instance.lock";
#[cfg_attr(not(unix), allow(dead_code))] // named in tests everywhere
const SOCKET_FILE: &str = "instance.sock";
const PORT_FILE: &str = "instance.port";
const PORT_FILE_HEADER: &str = "ferry-instance 1";
const MAX_TOKEN_BYTES: usize = 64;
/// How long either side waits for the other to read or write a request.
const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the primary waits for room in a full queue.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a second launch waits for a primary that holds the lock but is
/// still setting up its endpoint.
const STARTUP_GRACE: Duration = Duration::from_secs(3);
/// Unix socket paths longer than this use the TCP endpoint instead
/// (`sun_path` holds 108 bytes on Linux, 104 on macOS, with its NUL).
#[cfg(unix)]
const MAX_SOCKET_PATH_BYTES: usize = 100;

/// Called after each request is queued, so the window can repaint and drain it.
pub use crate::api::Waker;

/// A second launch asked the primary to come to the front and take `files`
/// (absolute paths, possibly none) into its "to send" tray.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// Files given on the second launch's command line, made absolute there.
    pub files: Vec<PathBuf>,
}

/// Result of [`acquire`].
#[derive(Debug)]
pub enum Instance {
    /// This process is the first: it owns the endpoint until dropped.
    Primary(Primary),
    /// Another Ferry was running and accepted this launch's files.
    Secondary {
        /// How many files were passed on.
        files_passed: usize,
    },
}

/// The running primary: its request channel and listener thread. Dropping it
/// stops the listener, removes the endpoint and releases the lock.
pub struct Primary {
    requests: Receiver<Activation>,
    waker: Arc<OnceLock<Waker>>,
    stop: Arc<AtomicBool>,
    endpoint: BoundEndpoint,
    thread: Option<JoinHandle<()>>,
    // Dropped last: the endpoint files are gone before another process can
    // become primary.
    _lock: File,
}

/// Where the instance folder is: `FERRY_CONFIG_DIR` when set (tests, several
/// instances side by side), else `$XDG_RUNTIME_DIR/ferry` on Unix when the
/// runtime folder exists, else Ferry's config folder.
pub fn default_dir() -> PathBuf {
    if std::env::var_os(crate::config::CONFIG_DIR_ENV).is_some() {
        return crate::config::config_dir();
    }
    if cfg!(unix)
        && let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from)
        && runtime.is_absolute()
        && runtime.is_dir()
    {
        return runtime.join("ferry");
    }
    crate::config::config_dir()
}

/// The sentence a second launch prints before it exits.
pub fn already_running_message(files_passed: usize) -> String {
    format!("Ferry is already running; passed {files_passed} file(s) to it.")
}

/// Becomes the primary instance for `dir`, or, when another process already
/// is, hands it `files` (made absolute against this process's working folder)
/// and returns [`Instance::Secondary`].
///
/// An error means neither worked (the folder cannot be created, the file
/// system has no locks, the primary does not answer); the caller should then
/// open its window on its own and log the error.
pub fn acquire(dir: &Path, files: &[PathBuf]) -> io::Result<Instance> {
    acquire_with(dir, files, EndpointKind::for_dir(dir))
}

impl Primary {
    /// Requests from later launches, oldest first. Drain it without blocking
    /// (`try_iter`) on the UI thread.
    pub fn requests(&self) -> &Receiver<Activation> {
        &self.requests
    }

    /// Sets the closure called after each queued request (e.g. one that
    /// repaints the window). Only the first call has an effect; it returns
    /// whether this call set it.
    pub fn set_waker(&self, waker: Waker) -> bool {
        self.waker.set(waker).is_ok()
    }
}

impl Drop for Primary {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The listener blocks in accept(): a connection of our own wakes it.
        let woke = self.endpoint.wake().is_ok();
        if let Some(thread) = self.thread.take() {
            if woke {
                if thread.join().is_err() {
                    tracing::warn!("single-instance listener panicked");
                }
            } else {
                tracing::debug!("single-instance listener not woken; leaving it to exit");
            }
        }
        self.endpoint.remove_files();
    }
}

impl std::fmt::Debug for Primary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Primary")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

fn acquire_with(dir: &Path, files: &[PathBuf], kind: EndpointKind) -> io::Result<Instance> {
    let files = absolute_all(files)?;
    create_private_dir(dir)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    match lock.try_lock() {
        Ok(()) => start_primary(dir, kind, lock).map(Instance::Primary),
        Err(fs::TryLockError::WouldBlock) => {
            // Another process is primary; it may still be binding its endpoint.
            let deadline = Instant::now() + STARTUP_GRACE;
            loop {
                if forward_with(dir, &files, kind)? {
                    return Ok(Instance::Secondary {
                        files_passed: files.len(),
                    });
                }
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "another Ferry holds {} but does not answer",
                            dir.join(LOCK_FILE).display()
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

fn forward_with(dir: &Path, files: &[PathBuf], kind: EndpointKind) -> io::Result<bool> {
    let files = absolute_all(files)?;
    let Some((mut stream, token)) = connect(dir, kind)? else {
        return Ok(false);
    };
    let request = encode_request(&token, &files)?;
    stream.write_all(&request)?;
    stream.flush()?;
    let mut reply = [0u8; 1];
    stream
        .read_exact(&mut reply)
        .map_err(|e| io::Error::new(e.kind(), format!("the running Ferry did not answer: {e}")))?;
    match reply[0] {
        REPLY_OK => Ok(true),
        REPLY_BUSY => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the running Ferry is busy and did not take the files",
        )),
        _ => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the running Ferry refused the request",
        )),
    }
}

fn absolute_all(files: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    if files.len() > MAX_FILES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} files given; at most {MAX_FILES} can be passed on",
                files.len()
            ),
        ));
    }
    files.iter().map(std::path::absolute).collect()
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}

fn start_primary(dir: &Path, kind: EndpointKind, lock: File) -> io::Result<Primary> {
    let (listener, endpoint, token) = bind(dir, kind)?;
    let (tx, rx) = bounded(QUEUE_CAPACITY);
    let waker: Arc<OnceLock<Waker>> = Arc::new(OnceLock::new());
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let waker = Arc::clone(&waker);
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("ferry-single-instance".into())
            .spawn(move || serve(listener, token, tx, waker, stop))
    };
    let thread = match thread {
        Ok(thread) => thread,
        Err(e) => {
            endpoint.remove_files();
            return Err(e);
        }
    };
    Ok(Primary {
        requests: rx,
        waker,
        stop,
        endpoint,
        thread: Some(thread),
        _lock: lock,
    })
}

/// The listener thread: one connection at a time, each bounded by
/// [`IO_TIMEOUT`], until `stop` is set.
fn serve(
    listener: Listener,
    token: Vec<u8>,
    tx: Sender<Activation>,
    waker: Arc<OnceLock<Waker>>,
    stop: Arc<AtomicBool>,
) {
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let mut stream = match accepted {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("single-instance listener: {e}");
                // Do not spin on a lasting error (e.g. too many open files).
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        let reply = match read_request(&mut stream) {
            // Constant time: no early answer at the first wrong byte.
            Ok((presented, _)) if !bool::from(presented.as_slice().ct_eq(&token)) => {
                tracing::warn!("single-instance request with a wrong token refused");
                REPLY_REFUSED
            }
            Ok((_, files)) => match tx.send_timeout(Activation { files }, QUEUE_TIMEOUT) {
                Ok(()) => {
                    if let Some(wake) = waker.get() {
                        wake();
                    }
                    REPLY_OK
                }
                Err(crossbeam_channel::SendTimeoutError::Timeout(_)) => REPLY_BUSY,
                // The Primary is being dropped.
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return,
            },
            Err(e) => {
                tracing::warn!("single-instance request refused: {e}");
                REPLY_REFUSED
            }
        };
        if let Err(e) = stream.write_all(&[reply]).and_then(|()| stream.flush()) {
            tracing::debug!("single-instance reply not delivered: {e}");
        }
    }
}

#[cfg(test)]
mod tests;
