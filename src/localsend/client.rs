//! One HTTP(S) connection to a LocalSend device: TCP with a timeout, TLS
//! presenting Ferry's own certificate (LocalSend asks for one) and reading
//! the device's, whose SHA-256 is who the device is; then HTTP/1.1 requests
//! with bounded answers. Used by discovery (`register`) and by the sender.
//! It decides nothing about trust: callers compare [`Conn::fingerprint`]
//! with what they expect.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::Shared;
use super::wire::{Info, MAX_REGISTER_BODY};
use crate::secure::identity::{Identity, fingerprint_of};

/// A request body: JSON in memory or a file streamed from disk.
pub type ReqBody = BoxBody<Bytes, std::io::Error>;

/// Why a request to a LocalSend device failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// Where.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The TLS handshake failed.
    #[error("secure connection to {0} failed: {1}")]
    Tls(SocketAddr, String),
    /// HTTP went wrong (connection dropped, malformed answer).
    #[error("the device at {0} stopped answering: {1}")]
    Http(SocketAddr, String),
    /// The answer is not what the protocol says.
    #[error("the device at {0} answered something unexpected: {1}")]
    Answer(SocketAddr, String),
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// An open connection.
pub struct Conn {
    addr: SocketAddr,
    sender: SendRequest<ReqBody>,
    /// The lower-case hex SHA-256 of the device's certificate (HTTPS only).
    pub fingerprint: Option<String>,
}

/// A body from bytes.
pub fn full(bytes: impl Into<Bytes>) -> ReqBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

impl Conn {
    /// Connects to `addr` within `timeout`, over TLS unless `plain`.
    pub async fn open(
        identity: &Identity,
        addr: SocketAddr,
        plain: bool,
        timeout: Duration,
    ) -> Result<Conn, ClientError> {
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Connect {
                addr,
                reason: "no answer in time".into(),
            })?
            .map_err(|e| ClientError::Connect {
                addr,
                reason: e.to_string(),
            })?;
        let _ = tcp.set_nodelay(true);
        let (io, fingerprint): (Box<dyn Io>, Option<String>) = if plain {
            (Box::new(tcp), None)
        } else {
            let connector = tokio_rustls::TlsConnector::from(identity.client_config());
            let name =
                Identity::server_name().map_err(|e| ClientError::Tls(addr, e.to_string()))?;
            let tls = tokio::time::timeout(timeout, connector.connect(name, tcp))
                .await
                .map_err(|_| ClientError::Tls(addr, "no answer in time".into()))?
                .map_err(|e| ClientError::Tls(addr, e.to_string()))?;
            let fingerprint = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certs| certs.first())
                .map(|cert| fingerprint_of(cert));
            if fingerprint.is_none() {
                return Err(ClientError::Tls(addr, "it showed no certificate".into()));
            }
            (Box::new(tls), fingerprint)
        };
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| ClientError::Http(addr, e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("LocalSend connection ended: {e}");
            }
        });
        Ok(Conn {
            addr,
            sender,
            fingerprint,
        })
    }

    /// Sends one JSON request and reads an answer of at most `limit` bytes.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: ReqBody,
        limit: usize,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        self.send(method, path, body, None, limit).await
    }

    /// Sends one request (a file of `length` bytes when given, else JSON)
    /// and reads an answer of at most `limit` bytes.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: ReqBody,
        length: Option<u64>,
        limit: usize,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let addr = self.addr;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, addr.to_string());
        request = match length {
            Some(length) => request
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_LENGTH, length),
            None => request.header(header::CONTENT_TYPE, "application/json"),
        };
        let request = request
            .body(body)
            .map_err(|e| ClientError::Http(addr, e.to_string()))?;
        self.sender
            .ready()
            .await
            .map_err(|e| ClientError::Http(addr, e.to_string()))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| ClientError::Http(addr, e.to_string()))?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| ClientError::Answer(addr, e.to_string()))?
            .to_bytes();
        Ok((status, bytes))
    }

    /// Where it is connected.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// `POST /api/localsend/v2/register` with our info: the device's info and
/// its id (its certificate's fingerprint over HTTPS, its claim over HTTP).
/// An engine without a LocalSend server (`ferry send`, `ferry peers`) asks
/// `GET /api/localsend/v2/info` instead, so the device does not list a
/// device it cannot send to.
pub(crate) async fn register(
    shared: &Shared,
    addr: SocketAddr,
    plain: bool,
    timeout: Duration,
) -> Result<(Info, String), ClientError> {
    let mut conn = Conn::open(&shared.ctx.identity, addr, plain, timeout).await?;
    let (method, path, body) = if shared.port == 0 {
        (Method::GET, "/api/localsend/v2/info", full(Bytes::new()))
    } else {
        let body = full(shared.info(None).to_bytes());
        (Method::POST, "/api/localsend/v2/register", body)
    };
    let (status, bytes) =
        tokio::time::timeout(timeout, conn.request(method, path, body, MAX_REGISTER_BODY))
            .await
            .map_err(|_| ClientError::Http(addr, "no answer in time".into()))??;
    if !status.is_success() {
        return Err(ClientError::Answer(addr, format!("status {status}")));
    }
    let info = Info::parse(&bytes, MAX_REGISTER_BODY)
        .map_err(|e| ClientError::Answer(addr, e.to_string()))?;
    let id = conn
        .fingerprint
        .clone()
        .unwrap_or_else(|| info.fingerprint.clone());
    if id.is_empty() {
        return Err(ClientError::Answer(addr, "no fingerprint".into()));
    }
    Ok((info, id))
}
