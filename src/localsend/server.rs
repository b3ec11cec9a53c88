//! LocalSend's HTTPS server (protocol sections 3.2, 4 and 6.1): accepting
//! connections within the caps (at most [`MAX_CONNECTIONS`], at most
//! [`MAX_CONNECTIONS_PER_ADDRESS`] from one address; those over a cap are
//! closed before anything is read), the TLS handshake with Ferry's own
//! certificate that requires the client's (as LocalSend does: the sender's
//! identity is its certificate's SHA-256), and routing. `register` and
//! `info` are answered here; the upload routes are [`super::session`]'s.
//! Every body is read with a size limit; nothing else is served.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::Shared;
use super::session;
use super::wire::{Info, MAX_REGISTER_BODY, Message};
use crate::secure::identity::fingerprint_of;

/// Most connections served at once.
pub const MAX_CONNECTIONS: usize = 64;

/// Most connections from one address at once (LocalSend uploads a few
/// files in parallel, each on its own connection).
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 16;

/// Time for the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time for a request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes read from the socket at once beneath TLS. rustls asks for a few
/// KiB per read (about one record, so ~65,000 `recvfrom` calls per GiB);
/// a buffer below it turns those into one call per socket-full.
const SOCKET_READ: usize = 256 * 1024;

/// An answer.
pub type Answer = Response<Full<Bytes>>;

/// An answer with a JSON body.
pub fn json(status: StatusCode, body: Vec<u8>) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// An answer with LocalSend's `{"message": ...}` body.
pub fn message(status: StatusCode, text: &str) -> Answer {
    json(
        status,
        serde_json::to_vec(&Message { message: text }).unwrap_or_default(),
    )
}

/// An answer without a body.
pub fn empty(status: StatusCode) -> Answer {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// Reads a whole body of at most `limit` bytes; `Err` is the answer to give.
pub async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, Answer> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
        )),
        Err(_) => Err(message(StatusCode::BAD_REQUEST, "Invalid body")),
    }
}

/// Connections per address.
#[derive(Default)]
struct Slots(Mutex<HashMap<IpAddr, usize>>);

struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Slots {
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut counts = self.0.lock().ok()?;
        let total: usize = counts.values().sum();
        let mine = counts.get(&ip).copied().unwrap_or(0);
        if total >= MAX_CONNECTIONS || mine >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        counts.insert(ip, mine + 1);
        Some(Slot {
            slots: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.slots.0.lock()
            && let Some(n) = counts.get_mut(&self.ip)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Accepts connections until `stop` flips, then drops those still served
/// (which removes their partial files).
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(shared.ctx.identity.server_config());
    let slots = Arc::new(Slots::default());
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let allowed = shared.ctx.receive_settings().accept_from_anywhere
                        || shared.local_network(peer.ip());
                    match slots.admit(peer.ip()) {
                        Some(slot) if allowed => {
                            connections.spawn(serve(stream, peer, acceptor.clone(), shared.clone(), slot));
                        }
                        _ => drop(stream),
                    }
                }
                Err(e) => {
                    tracing::warn!("LocalSend server: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
    _slot: Slot,
) {
    let _ = stream.set_nodelay(true);
    let stream = tokio::io::BufReader::with_capacity(SOCKET_READ, stream);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!("LocalSend: TLS with {peer} failed: {e}");
            return;
        }
        Err(_) => return,
    };
    let Some(fingerprint) = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|cert| fingerprint_of(cert))
    else {
        return;
    };
    let service = service_fn(move |request| {
        let (shared, fingerprint) = (shared.clone(), fingerprint.clone());
        async move { Ok::<_, Infallible>(route(shared, peer, fingerprint, request).await) }
    });
    let result = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(tls), service)
        .await;
    if let Err(e) = result {
        tracing::debug!("LocalSend: connection from {peer} ended: {e}");
    }
}

async fn route(
    shared: Arc<Shared>,
    peer: SocketAddr,
    fingerprint: String,
    request: Request<Incoming>,
) -> Answer {
    let path = request.uri().path().to_string();
    let query = request.uri().query().map(str::to_string);
    let method = request.method().clone();
    match (method, path.as_str()) {
        (Method::POST, "/api/localsend/v2/register") => {
            register(&shared, peer, &fingerprint, request.into_body()).await
        }
        (Method::GET | Method::POST, "/api/localsend/v2/info") => {
            json(StatusCode::OK, shared.info(None).to_bytes())
        }
        (Method::POST, "/api/localsend/v2/prepare-upload") => {
            let who = session::Sender { peer, fingerprint };
            session::prepare(shared, who, query.as_deref(), request.into_body()).await
        }
        (Method::POST, "/api/localsend/v2/upload") => {
            session::upload(shared, peer, query.as_deref(), request.into_body()).await
        }
        (Method::POST, "/api/localsend/v2/cancel") => {
            session::cancel(&shared, peer, query.as_deref())
        }
        _ => message(StatusCode::NOT_FOUND, "Not found"),
    }
}

/// `register`: the device is listed (by its certificate's fingerprint) and
/// gets our info back.
async fn register(shared: &Shared, peer: SocketAddr, fingerprint: &str, body: Incoming) -> Answer {
    let bytes = match read_body(body, MAX_REGISTER_BODY).await {
        Ok(bytes) => bytes,
        Err(answer) => return answer,
    };
    let Ok(info) = Info::parse(&bytes, MAX_REGISTER_BODY) else {
        return message(StatusCode::BAD_REQUEST, "Invalid body");
    };
    if shared.local_network(peer.ip()) {
        shared.heard(fingerprint, &info, peer.ip());
    }
    json(StatusCode::OK, shared.info(None).to_bytes())
}
