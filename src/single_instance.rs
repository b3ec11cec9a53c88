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
//! ```no_run
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

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

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
pub type Waker = Arc<dyn Fn() + Send + Sync>;

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

/// Hands `files` to the primary instance for `dir`. Returns `Ok(false)` when
/// no primary is listening (nothing there, or a stale endpoint), `Ok(true)`
/// when it queued the files, and an error when it refused or did not answer.
pub fn forward(dir: &Path, files: &[PathBuf]) -> io::Result<bool> {
    forward_with(dir, files, EndpointKind::for_dir(dir))
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

/// Which kind of endpoint a folder uses; both sides derive it from the folder
/// alone, so they always agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndpointKind {
    #[cfg(unix)]
    Unix,
    Tcp,
}

impl EndpointKind {
    fn for_dir(dir: &Path) -> EndpointKind {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            if dir.join(SOCKET_FILE).as_os_str().as_bytes().len() <= MAX_SOCKET_PATH_BYTES {
                return EndpointKind::Unix;
            }
        }
        let _ = dir;
        EndpointKind::Tcp
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

/// A stream to the primary, with the token to present.
type Connection = (Box<dyn ReadWrite>, String);

trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}

fn connect(dir: &Path, kind: EndpointKind) -> io::Result<Option<Connection>> {
    let gone = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
        )
    };
    match kind {
        #[cfg(unix)]
        EndpointKind::Unix => {
            match std::os::unix::net::UnixStream::connect(dir.join(SOCKET_FILE)) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(IO_TIMEOUT))?;
                    stream.set_write_timeout(Some(IO_TIMEOUT))?;
                    Ok(Some((Box::new(stream), String::new())))
                }
                Err(e) if gone(&e) => Ok(None),
                Err(e) => Err(e),
            }
        }
        EndpointKind::Tcp => {
            let (port, token) = match read_port_file(&dir.join(PORT_FILE)) {
                Ok(found) => found,
                Err(e) if gone(&e) => return Ok(None),
                Err(e) => return Err(e),
            };
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            match TcpStream::connect_timeout(&addr, IO_TIMEOUT) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(IO_TIMEOUT))?;
                    stream.set_write_timeout(Some(IO_TIMEOUT))?;
                    Ok(Some((Box::new(stream), token)))
                }
                Err(e) if gone(&e) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }
}

fn encode_request(token: &str, files: &[PathBuf]) -> io::Result<Vec<u8>> {
    let too_big = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
    let mut body = Vec::new();
    let token_len = u8::try_from(token.len()).map_err(|_| too_big("token too long".into()))?;
    body.push(token_len);
    body.extend_from_slice(token.as_bytes());
    let count = u32::try_from(files.len()).map_err(|_| too_big("too many files".into()))?;
    body.extend_from_slice(&count.to_be_bytes());
    for file in files {
        let bytes = path_to_bytes(file);
        if bytes.len() > MAX_PATH_BYTES {
            return Err(too_big(format!("path too long: {}", file.display())));
        }
        // Cannot overflow: MAX_PATH_BYTES fits in a u32.
        body.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        body.extend_from_slice(&bytes);
    }
    if body.len() > MAX_REQUEST_BYTES {
        return Err(too_big(format!(
            "the file list is {} bytes; at most {MAX_REQUEST_BYTES} can be passed on",
            body.len()
        )));
    }
    let mut request = Vec::with_capacity(MAGIC.len() + 4 + body.len());
    request.extend_from_slice(MAGIC);
    request.extend_from_slice(&(body.len() as u32).to_be_bytes());
    request.extend_from_slice(&body);
    Ok(request)
}

/// Reads one request from `stream`, checking every length before allocating.
/// Returns the token and the files.
fn read_request(stream: &mut dyn Read) -> io::Result<(Vec<u8>, Vec<PathBuf>)> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut header = [0u8; MAGIC.len() + 4];
    stream.read_exact(&mut header)?;
    if &header[..MAGIC.len()] != MAGIC {
        return Err(invalid("not a Ferry instance request"));
    }
    let len = u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize;
    if len > MAX_REQUEST_BYTES {
        return Err(invalid("request too large"));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;

    let mut rest = body.as_slice();
    let mut take = |n: usize| -> io::Result<&[u8]> {
        if rest.len() < n {
            return Err(invalid("request cut short"));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    let token_len = take(1)?[0] as usize;
    if token_len > MAX_TOKEN_BYTES {
        return Err(invalid("token too long"));
    }
    let token = take(token_len)?.to_vec();
    let count = u32_at(take(4)?) as usize;
    if count > MAX_FILES {
        return Err(invalid("too many files"));
    }
    let mut files = Vec::with_capacity(count);
    for _ in 0..count {
        let path_len = u32_at(take(4)?) as usize;
        if path_len > MAX_PATH_BYTES {
            return Err(invalid("path too long"));
        }
        let path = path_from_bytes(take(path_len)?).ok_or_else(|| invalid("path not valid"))?;
        if !path.is_absolute() {
            return Err(invalid("path not absolute"));
        }
        files.push(path);
    }
    if !rest.is_empty() {
        return Err(invalid("trailing bytes after the file list"));
    }
    Ok((token, files))
}

fn u32_at(bytes: &[u8]) -> u32 {
    let mut four = [0u8; 4];
    four.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(four)
}

#[cfg(unix)]
fn path_to_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_to_bytes(path: &Path) -> Vec<u8> {
    // Windows paths that are not valid Unicode (unpaired surrogates) are
    // replaced lossily; such names are vanishingly rare and then fail to open.
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    if bytes.contains(&0) {
        return None;
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(bytes.to_vec())))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.contains('\0') {
        return None;
    }
    Some(PathBuf::from(text))
}

/// The listening side, once bound.
#[derive(Debug)]
enum BoundEndpoint {
    #[cfg(unix)]
    Unix { path: PathBuf },
    Tcp {
        addr: SocketAddr,
        port_file: PathBuf,
    },
}

enum Listener {
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener),
    Tcp(TcpListener),
}

impl Listener {
    fn accept(&self) -> io::Result<Box<dyn ReadWrite>> {
        match self {
            #[cfg(unix)]
            Listener::Unix(l) => {
                let (stream, _) = l.accept()?;
                stream.set_read_timeout(Some(IO_TIMEOUT))?;
                stream.set_write_timeout(Some(IO_TIMEOUT))?;
                Ok(Box::new(stream))
            }
            Listener::Tcp(l) => {
                let (stream, _) = l.accept()?;
                stream.set_read_timeout(Some(IO_TIMEOUT))?;
                stream.set_write_timeout(Some(IO_TIMEOUT))?;
                Ok(Box::new(stream))
            }
        }
    }
}

impl BoundEndpoint {
    fn wake(&self) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            BoundEndpoint::Unix { path } => std::os::unix::net::UnixStream::connect(path).map(drop),
            BoundEndpoint::Tcp { addr, .. } => {
                TcpStream::connect_timeout(addr, IO_TIMEOUT).map(drop)
            }
        }
    }

    fn remove_files(&self) {
        let path = match self {
            #[cfg(unix)]
            BoundEndpoint::Unix { path } => path,
            BoundEndpoint::Tcp { port_file, .. } => port_file,
        };
        if let Err(e) = fs::remove_file(path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!("could not remove {}: {e}", path.display());
        }
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

/// Binds the endpoint, first removing what a crashed primary left behind
/// (we hold the lock, so nothing there is alive).
fn bind(dir: &Path, kind: EndpointKind) -> io::Result<(Listener, BoundEndpoint, Vec<u8>)> {
    match kind {
        #[cfg(unix)]
        EndpointKind::Unix => {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(SOCKET_FILE);
            remove_stale(&path)?;
            let listener = std::os::unix::net::UnixListener::bind(&path)?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
            Ok((
                Listener::Unix(listener),
                BoundEndpoint::Unix { path },
                Vec::new(),
            ))
        }
        EndpointKind::Tcp => {
            let port_file = dir.join(PORT_FILE);
            remove_stale(&port_file)?;
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
            let addr = listener.local_addr()?;
            let token = new_token()?;
            write_port_file(&port_file, addr.port(), &token)?;
            Ok((
                Listener::Tcp(listener),
                BoundEndpoint::Tcp { addr, port_file },
                token.into_bytes(),
            ))
        }
    }
}

fn remove_stale(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {
            tracing::info!("removed stale {}", path.display());
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn new_token() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn write_port_file(path: &Path, port: u16, token: &str) -> io::Result<()> {
    let tmp = path.with_extension("port-tmp");
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(format!("{PORT_FILE_HEADER}\n{port}\n{token}\n").as_bytes())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)
}

fn read_port_file(path: &Path) -> io::Result<(u16, String)> {
    let invalid = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a Ferry port file", path.display()),
        )
    };
    let mut text = String::new();
    File::open(path)?.take(256).read_to_string(&mut text)?;
    let mut lines = text.lines();
    if lines.next() != Some(PORT_FILE_HEADER) {
        return Err(invalid());
    }
    let port: u16 = lines
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(invalid)?;
    let token = lines.next().ok_or_else(invalid)?.to_string();
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(invalid());
    }
    Ok((port, token))
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
            Ok((presented, _)) if !same_token(&presented, &token) => {
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

/// Compares tokens without stopping at the first difference.
fn same_token(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    const WAIT: Duration = Duration::from_secs(5);

    fn primary(instance: Instance) -> Primary {
        match instance {
            Instance::Primary(p) => p,
            Instance::Secondary { .. } => panic!("expected to become the primary"),
        }
    }

    /// Every endpoint kind this platform can use; both are tested on Unix.
    fn kinds() -> Vec<EndpointKind> {
        let mut kinds = vec![EndpointKind::Tcp];
        #[cfg(unix)]
        kinds.push(EndpointKind::Unix);
        kinds
    }

    #[test]
    fn primary_receives_files_forwarded_by_a_secondary() {
        for kind in kinds() {
            let dir = tempfile::tempdir().expect("tempdir");
            let first = primary(acquire_with(dir.path(), &[], kind).expect("first launch"));
            let wakes = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&wakes);
            assert!(first.set_waker(Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            })));

            let files = vec![dir.path().join("a.txt"), PathBuf::from("relative/b.bin")];
            match acquire_with(dir.path(), &files, kind).expect("second launch") {
                Instance::Secondary { files_passed } => assert_eq!(files_passed, 2),
                Instance::Primary(_) => panic!("{kind:?}: second launch became primary"),
            }
            let got = first.requests().recv_timeout(WAIT).expect("activation");
            let cwd = std::env::current_dir().expect("cwd");
            assert_eq!(
                got.files,
                vec![dir.path().join("a.txt"), cwd.join("relative/b.bin")],
                "{kind:?}"
            );
            assert_eq!(wakes.load(Ordering::SeqCst), 1, "{kind:?}");

            // A launch with no files is a plain "come to the front".
            assert!(forward_with(dir.path(), &[], kind).expect("forward"));
            let got = first.requests().recv_timeout(WAIT).expect("activation");
            assert!(got.files.is_empty());
        }
    }

    #[cfg(unix)]
    #[test]
    fn stale_socket_is_removed_and_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join(SOCKET_FILE);
        // A crashed primary leaves its socket file with no one listening.
        drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
        assert!(socket.exists());
        let file = vec![dir.path().join("x")];
        assert!(!forward_with(dir.path(), &file, EndpointKind::Unix).expect("forward"));

        let first = primary(acquire_with(dir.path(), &[], EndpointKind::Unix).expect("acquire"));
        assert!(forward_with(dir.path(), &file, EndpointKind::Unix).expect("forward"));
        let got = first.requests().recv_timeout(WAIT).expect("activation");
        assert_eq!(got.files, file);
    }

    #[test]
    fn stale_port_file_is_replaced_and_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A port nobody listens on any more.
        let dead_port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("bind")
            .port();
        write_port_file(&dir.path().join(PORT_FILE), dead_port, "00").expect("write");
        assert!(!forward_with(dir.path(), &[], EndpointKind::Tcp).expect("forward"));

        let first = primary(acquire_with(dir.path(), &[], EndpointKind::Tcp).expect("acquire"));
        assert!(forward_with(dir.path(), &[], EndpointKind::Tcp).expect("forward"));
        assert!(first.requests().recv_timeout(WAIT).is_ok());
    }

    #[test]
    fn a_lock_holder_that_never_listens_is_an_error_not_a_second_primary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = File::create(dir.path().join(LOCK_FILE)).expect("lock file");
        lock.try_lock().expect("lock");
        let started = Instant::now();
        let err = acquire(dir.path(), &[]).expect_err("must not become primary");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= STARTUP_GRACE);
    }

    #[test]
    fn wrong_token_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = primary(acquire_with(dir.path(), &[], EndpointKind::Tcp).expect("acquire"));
        let (port, _) = read_port_file(&dir.path().join(PORT_FILE)).expect("port file");
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
        let request = encode_request("not-the-token", &[dir.path().join("x")]).expect("encode");
        stream.write_all(&request).expect("write");
        let mut reply = [0u8; 1];
        stream.read_exact(&mut reply).expect("reply");
        assert_eq!(reply[0], REPLY_REFUSED);
        assert!(first.requests().try_recv().is_err());
    }

    #[test]
    fn oversized_request_is_refused_and_the_primary_keeps_serving() {
        for kind in kinds() {
            let dir = tempfile::tempdir().expect("tempdir");
            let first = primary(acquire_with(dir.path(), &[], kind).expect("acquire"));
            let (mut stream, _) = connect(dir.path(), kind)
                .expect("connect")
                .expect("listening");
            let mut header = MAGIC.to_vec();
            header.extend_from_slice(&u32::MAX.to_be_bytes());
            stream.write_all(&header).expect("write");
            let mut reply = [0u8; 1];
            stream.read_exact(&mut reply).expect("reply");
            assert_eq!(reply[0], REPLY_REFUSED, "{kind:?}");

            assert!(forward_with(dir.path(), &[], kind).expect("forward"));
            assert!(first.requests().recv_timeout(WAIT).is_ok());
        }
    }

    #[test]
    fn request_limits_are_checked_before_sending() {
        let too_many = vec![PathBuf::from("/f"); MAX_FILES + 1];
        let err = absolute_all(&too_many).expect_err("too many");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let long = PathBuf::from(format!("/{}", "a".repeat(MAX_PATH_BYTES)));
        let err = encode_request("", &[long]).expect_err("too long");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn request_round_trips_and_malformed_ones_are_rejected() {
        let files = vec![PathBuf::from("/home/a b/ü.txt"), PathBuf::from("/tmp")];
        let request = encode_request("tok", &files).expect("encode");
        let (token, got) = read_request(&mut request.as_slice()).expect("decode");
        assert_eq!(token, b"tok");
        assert_eq!(got, files);

        let mut bad_magic = request.clone();
        bad_magic[0] ^= 0xff;
        assert!(read_request(&mut bad_magic.as_slice()).is_err());
        let cut = &request[..request.len() - 1];
        assert!(read_request(&mut &cut[..]).is_err());
        let relative = encode_request("", &[PathBuf::from("relative")]).expect("encode");
        assert!(read_request(&mut relative.as_slice()).is_err());
    }

    #[test]
    fn dropping_the_primary_frees_the_endpoint_for_the_next_launch() {
        for kind in kinds() {
            let dir = tempfile::tempdir().expect("tempdir");
            let first = primary(acquire_with(dir.path(), &[], kind).expect("acquire"));
            drop(first);
            assert!(!dir.path().join(SOCKET_FILE).exists(), "{kind:?}");
            assert!(!dir.path().join(PORT_FILE).exists(), "{kind:?}");
            assert!(!forward_with(dir.path(), &[], kind).expect("forward"));
            let again = primary(acquire_with(dir.path(), &[], kind).expect("acquire"));
            assert!(forward_with(dir.path(), &[], kind).expect("forward"));
            assert!(again.requests().recv_timeout(WAIT).is_ok());
        }
    }

    #[test]
    fn long_folders_fall_back_to_tcp() {
        let short = Path::new("/run/user/1000/ferry");
        let long = PathBuf::from(format!("/tmp/{}", "d".repeat(120)));
        #[cfg(unix)]
        assert_eq!(EndpointKind::for_dir(short), EndpointKind::Unix);
        #[cfg(not(unix))]
        assert_eq!(EndpointKind::for_dir(short), EndpointKind::Tcp);
        assert_eq!(EndpointKind::for_dir(&long), EndpointKind::Tcp);
    }

    #[test]
    fn message_names_the_count() {
        assert_eq!(
            already_running_message(2),
            "Ferry is already running; passed 2 file(s) to it."
        );
    }
}
