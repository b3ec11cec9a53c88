//! The endpoint a primary listens on and a later launch connects to: a Unix
//! domain socket, or a TCP listener on 127.0.0.1 whose port and token are kept
//! in a file readable only by the user. Both sides derive the kind from the
//! instance folder alone.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};

#[cfg(unix)]
use super::MAX_SOCKET_PATH_BYTES;
use super::{IO_TIMEOUT, MAX_TOKEN_BYTES, PORT_FILE, PORT_FILE_HEADER, SOCKET_FILE};

/// Which kind of endpoint a folder uses; both sides derive it from the folder
/// alone, so they always agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndpointKind {
    #[cfg(unix)]
    Unix,
    Tcp,
}

impl EndpointKind {
    pub(super) fn for_dir(dir: &Path) -> EndpointKind {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            if dir.join(SOCKET_FILE).as_os_str().as_bytes().len() <= MAX_SOCKET_PATH_BYTES {
                return EndpointKind::Unix;
            }
        }
        #[cfg(not(unix))]
        let _ = dir; // only Unix has a choice to make
        EndpointKind::Tcp
    }
}

/// A stream to the primary, with the token to present.
pub(super) type Connection = (Box<dyn ReadWrite>, String);

/// A connected stream of either kind.
pub(super) trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}

pub(super) fn connect(dir: &Path, kind: EndpointKind) -> io::Result<Option<Connection>> {
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

/// The listening side, once bound.
#[derive(Debug)]
pub(super) enum BoundEndpoint {
    #[cfg(unix)]
    Unix { path: PathBuf },
    Tcp {
        addr: SocketAddr,
        port_file: PathBuf,
    },
}

pub(super) enum Listener {
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener),
    Tcp(TcpListener),
}

impl Listener {
    pub(super) fn accept(&self) -> io::Result<Box<dyn ReadWrite>> {
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
    pub(super) fn wake(&self) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            BoundEndpoint::Unix { path } => std::os::unix::net::UnixStream::connect(path).map(drop),
            BoundEndpoint::Tcp { addr, .. } => {
                TcpStream::connect_timeout(addr, IO_TIMEOUT).map(drop)
            }
        }
    }

    pub(super) fn remove_files(&self) {
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

/// Binds the endpoint, first removing what a crashed primary left behind
/// (we hold the lock, so nothing there is alive).
pub(super) fn bind(
    dir: &Path,
    kind: EndpointKind,
) -> io::Result<(Listener, BoundEndpoint, Vec<u8>)> {
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
    Ok(crate::hex::lower(&bytes))
}

pub(super) fn write_port_file(path: &Path, port: u16, token: &str) -> io::Result<()> {
    let text = format!("{PORT_FILE_HEADER}\n{port}\n{token}\n");
    crate::fs::write_atomic(path, text.as_bytes(), Some(0o600))
}

pub(super) fn read_port_file(path: &Path) -> io::Result<(u16, String)> {
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
