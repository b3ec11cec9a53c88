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
        let request = self.build(method, path, body, length)?;
        self.try_send(request, limit).await.map_err(|(e, _)| e)
    }

    /// A request to this device (a file of `length` bytes when given, else JSON).
    pub fn build(
        &self,
        method: Method,
        path: &str,
        body: ReqBody,
        length: Option<u64>,
    ) -> Result<Request<ReqBody>, ClientError> {
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
        request
            .body(body)
            .map_err(|e| ClientError::Http(addr, e.to_string()))
    }

    /// Sends `request` and reads an answer of at most `limit` bytes. When
    /// it fails before any of it was written (the kept-alive connection was
    /// already closed by the device), the request comes back untouched with
    /// the error: the device cannot have seen it, so it may be sent again on
    /// a fresh connection. Once a byte of it left, it never comes back.
    pub async fn try_send(
        &mut self,
        request: Request<ReqBody>,
        limit: usize,
    ) -> Result<(StatusCode, Bytes), (ClientError, Option<Request<ReqBody>>)> {
        let addr = self.addr;
        let http = |e: &hyper::Error| ClientError::Http(addr, e.to_string());
        if let Err(e) = self.sender.ready().await {
            return Err((http(&e), Some(request)));
        }
        let response = match self.sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut e) => {
                let unsent = e.take_message();
                return Err((http(e.error()), unsent));
            }
        };
        let status = response.status();
        let bytes = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| (ClientError::Answer(addr, e.to_string()), None))?
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};

    /// Reads one request from `reader`: its body (by `content-length`).
    fn read_request(reader: &mut BufReader<std::net::TcpStream>) -> Vec<u8> {
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("head");
            let line = line.trim_end().to_ascii_lowercase();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("content-length:") {
                length = n.trim().parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        body
    }

    /// A device that ends a kept-alive connection (here after one answer,
    /// as a server with a keep-alive limit does): the next request on it
    /// fails before any of it is written, comes back untouched, and goes
    /// through whole on a fresh connection.
    #[test]
    fn a_request_the_closed_connection_never_took_comes_back_whole() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = std::thread::Builder::new()
            .name("one-answer-server".into())
            .spawn(move || {
                // The first connection: one answer, then closed.
                let (stream, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(stream);
                read_request(&mut reader);
                let mut stream = reader.into_inner();
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
                    .expect("answer");
                drop(stream);
                // The second: echoes the body it got.
                let (stream, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(stream);
                let body = read_request(&mut reader);
                let mut stream = reader.into_inner();
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                stream.write_all(head.as_bytes()).expect("answer");
                stream.write_all(&body).expect("answer");
            })
            .expect("thread");
        let identity = Identity::ephemeral().expect("identity");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let timeout = Duration::from_secs(5);
            let mut conn = Conn::open(&identity, addr, true, timeout)
                .await
                .expect("open");
            let (status, _) = conn
                .request(Method::POST, "/first", full("{}"), 1024)
                .await
                .expect("first");
            assert_eq!(status, StatusCode::OK);
            let request = conn
                .build(Method::POST, "/second", full("the whole body"), Some(14))
                .expect("request");
            let Err((_, Some(unsent))) = conn.try_send(request, 1024).await else {
                panic!("a request on a closed connection must come back unsent");
            };
            let mut fresh = Conn::open(&identity, addr, true, timeout)
                .await
                .expect("open");
            let Ok((status, echo)) = fresh.try_send(unsent, 1024).await else {
                panic!("the request sent again must go through");
            };
            assert_eq!(status, StatusCode::OK);
            assert_eq!(&echo[..], b"the whole body");
        });
        server.join().expect("server");
    }
}
