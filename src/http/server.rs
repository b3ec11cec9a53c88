//! The HTTP side of a share: accepting connections (within the caps
//! `connections` keeps; those over them are refused before anything is
//! read), serving each with hyper's HTTP/1.1 server under timeouts, and
//! routing requests. Only `/s/TOKEN/...` with the share's own token reaches
//! a handler; every other request gets a bare 404 and its connection is
//! closed, and a connection that has sent no request with the token within
//! [`TOKEN_TIMEOUT`] is cut, so only clients that know the token hold a
//! slot for long. Items
//! are addressed by number, never by a path from the request, and nothing
//! in a URL is percent-decoded, so `..` in any spelling cannot match a route.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

use super::body::{self, ResponseBody};
use super::connections::{self, Admission, Slot};
use super::items::ItemKind;
use super::{
    HEADER_TIMEOUT, STALL_TIMEOUT, State, TOKEN_TIMEOUT, consent, download, page, resumable, text,
    thumbs, token, upload, visitors,
};

/// Largest request head (request line and headers) accepted, in bytes.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The IPv4 address to put in the share link: of an interface that is not
/// loopback, not link-local and not down, preferring (in order) the named
/// interfaces when given, interfaces reported up, and real interfaces over
/// container and VM bridges. `None` when there is none.
pub fn lan_ipv4(interfaces: Option<&[String]>) -> Option<Ipv4Addr> {
    let all = if_addrs::get_if_addrs().ok()?;
    let mut candidates: Vec<(u8, Ipv4Addr)> = all
        .into_iter()
        .filter(|i| {
            !i.is_loopback()
                && !i.is_link_local()
                && !matches!(
                    i.oper_status,
                    if_addrs::IfOperStatus::Down | if_addrs::IfOperStatus::NotPresent
                )
        })
        .filter_map(|i| {
            let std::net::IpAddr::V4(v4) = i.ip() else {
                return None;
            };
            let named = interfaces.is_some_and(|names| names.iter().any(|n| n == &i.name));
            let bridge = [
                "docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "lxc", "cni",
            ]
            .iter()
            .any(|prefix| i.name.starts_with(prefix));
            let rank = u8::from(!named) * 4 + u8::from(!i.is_oper_up()) * 2 + u8::from(bridge);
            Some((rank, v4))
        })
        .collect();
    candidates.sort_by_key(|(rank, _)| *rank);
    candidates.first().map(|(_, ip)| *ip)
}

/// The addresses of the named interfaces to listen on: IPv4 first, then
/// IPv6 (not link-local, which would need a scope in the link), in the
/// order the system lists them; loopback only when the names ask for it.
pub fn interface_addresses(names: &[String]) -> Vec<IpAddr> {
    let Ok(all) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    let mut found: Vec<IpAddr> = all
        .iter()
        .filter(|i| names.iter().any(|n| n == &i.name))
        .map(if_addrs::Interface::ip)
        .filter(|ip| match ip {
            IpAddr::V4(_) => true,
            IpAddr::V6(v6) => !v6.is_unicast_link_local(),
        })
        .collect();
    found.sort_by_key(IpAddr::is_ipv6);
    found.dedup();
    found
}

/// Accepts connections until `shutdown` flips, then cuts the connections
/// still being served (their tasks are dropped, which removes partial
/// uploads) and returns once they are gone.
pub async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Forget the connections that ended.
        while connections.try_join_next().is_some() {}
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match connections::admission(&state.slots, peer.ip()) {
                    Admission::Now(slot) => {
                        connections.spawn(serve_connection(stream, peer, slot, state.clone()));
                    }
                    Admission::Wait(waiter) => {
                        let state = state.clone();
                        connections.spawn(async move {
                            match waiter.slot(peer.ip()).await {
                                Some(slot) => serve_connection(stream, peer, slot, state).await,
                                None => connections::refuse(stream, peer),
                            }
                        });
                    }
                    Admission::Full => connections::refuse(stream, peer),
                },
                Err(e) => {
                    // Out of file descriptors and the like: back off, do not spin.
                    tracing::warn!("share server: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            },
        }
    }
    drop(listener);
    connections.shutdown().await;
    tracing::info!("share server stopped listening");
}

/// Serves one admitted connection until it ends, the client idles past
/// hyper's timeouts, or [`TOKEN_TIMEOUT`] passes before a request with the
/// token. `_slot` is given back when this returns.
async fn serve_connection(stream: TcpStream, peer: SocketAddr, _slot: Slot, state: Arc<State>) {
    // Notice peers that vanished (phone asleep, out of Wi-Fi) within about a minute.
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(std::time::Duration::from_secs(30))
        .with_interval(std::time::Duration::from_secs(10));
    if let Err(e) = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!("cannot enable TCP keepalive: {e}");
    }
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(StallGuard::new(stream));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES);
    let knows_token = Arc::new(AtomicBool::new(false));
    let proven = knows_token.clone();
    let connection = http.serve_connection(
        io,
        service_fn(move |req| {
            let state = state.clone();
            let proven = proven.clone();
            async move {
                if !has_token(req.uri().path(), &state.token) {
                    // A guess: answer, and give the slot back.
                    let mut response = not_found();
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    return Ok::<_, Infallible>(response);
                }
                proven.store(true, Ordering::SeqCst);
                Ok::<_, Infallible>(route(req, state, peer).await)
            }
        }),
    );
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = tokio::time::sleep(TOKEN_TIMEOUT) => {
            if !knows_token.load(Ordering::SeqCst) {
                tracing::debug!(%peer, "no request with the token in time; closing");
                return;
            }
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, "share connection ended: {e}");
    }
}

/// Whether `path` starts with `/s/TOKEN` for this share's token.
fn has_token(path: &str, secret: &str) -> bool {
    let mut segments = path.split('/');
    segments.next() == Some("")
        && segments.next() == Some("s")
        && segments
            .next()
            .is_some_and(|t| token::same_secret(t, secret))
}

/// The response for anything that is not a route of this share: 404, no
/// details, no server name.
pub fn not_found() -> Response<ResponseBody> {
    respond_text(StatusCode::NOT_FOUND, "Not found.")
}

/// Adds the headers every response carries.
pub fn with_common_headers(mut response: Response<ResponseBody>) -> Response<ResponseBody> {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // The token is in the URL: never leak it through Referer.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A short plain-text answer (a sentence for a person).
pub fn respond_text(status: StatusCode, text: &str) -> Response<ResponseBody> {
    let mut response = with_common_headers(Response::new(body::full(format!("{text}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A JSON answer.
pub fn json(status: StatusCode, value: serde_json::Value) -> Response<ResponseBody> {
    let mut response = with_common_headers(Response::new(body::full(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON answer `{"error": "a sentence"}`.
pub fn json_error(status: StatusCode, message: &str) -> Response<ResponseBody> {
    json(status, serde_json::json!({ "error": message }))
}

/// A strict decimal index: digits only, no sign, no leading zeros, small.
fn index(segment: &str) -> Option<usize> {
    let ok = !segment.is_empty()
        && segment.len() <= 9
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    ok.then(|| segment.parse().ok()).flatten()
}

async fn route(
    req: Request<Incoming>,
    state: Arc<State>,
    peer: SocketAddr,
) -> Response<ResponseBody> {
    let path = req.uri().path().to_string();
    if !has_token(&path, &state.token) {
        return not_found();
    }
    if let Some(refused) = visitors::gate(&req, &state, peer).await {
        return refused;
    }
    let rest: Vec<&str> = path.split('/').skip(3).collect();
    let method = req.method().clone();
    let read = method == Method::GET || method == Method::HEAD;
    match rest.as_slice() {
        // "/s/TOKEN" without the slash: send the browser to the page so relative links work.
        [] if read => {
            let mut response = respond_text(
                StatusCode::PERMANENT_REDIRECT,
                "The page is one slash further.",
            );
            if let Ok(location) = HeaderValue::from_str(&format!("/s/{}/", state.token)) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        [""] if read => page::respond(
            &state,
            page::language_of(req.headers()),
            method == Method::HEAD,
        ),
        ["ping"] if read => {
            // "Still sharing": the page asks every few seconds; the
            // connection is not kept, so idle pages hold no slot.
            let mut response = with_common_headers(Response::new(body::empty()));
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        ["t", i] if read => match index(i).and_then(|i| state.items.get(i)) {
            Some(item) if item.kind == ItemKind::File && thumbs::is_picture(&item.name) => {
                let path = item.path.clone();
                thumbs::respond(state, path).await
            }
            _ => not_found(),
        },
        ["d", "all"] if read => {
            let name = page::t(
                page::language_of(req.headers()),
                "allZipName",
                &[("device", &state.device_name)],
            );
            let all = super::items::everything(&state.items, name);
            download::zip(&req, &state, peer, &all)
        }
        ["d", i] if read => match index(i).and_then(|i| state.items.get(i)) {
            Some(item) if item.kind == ItemKind::File => {
                download::file(&req, &state, peer, &item.name, &item.path)
            }
            Some(item) => download::zip(&req, &state, peer, item),
            None => not_found(),
        },
        ["d", i, j] if read => {
            let file = index(i)
                .and_then(|i| state.items.get(i))
                .zip(index(j))
                .and_then(|(item, j)| item.folder_file(j));
            match file {
                Some(f) => {
                    let name = f.rel.rsplit('/').next().unwrap_or(&f.rel).to_string();
                    download::file(&req, &state, peer, &name, &f.local)
                }
                None => not_found(),
            }
        }
        ["ask"] if method == Method::POST => consent::ask(req, state, peer).await,
        ["text"] if method == Method::POST => text::receive(req, state, peer).await,
        ["upload"] if method == Method::POST => upload::upload(req, state, peer).await,
        ["up", ticket, n] => {
            let action = match method {
                Method::PUT => resumable::Action::Put,
                Method::GET => resumable::Action::Status,
                Method::DELETE => resumable::Action::Cancel,
                _ => return not_found(),
            };
            let (ticket, n) = (ticket.to_string(), index(n));
            match n {
                Some(n) => resumable::handle(req, state, peer, &ticket, n, action).await,
                None => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// Wraps a connection so that a write the client does not take for
/// [`STALL_TIMEOUT`] fails: a browser that stops reading a download cannot
/// hold the connection (and the file) open forever. Reads are bounded
/// elsewhere: by hyper's header timeout and the upload's own idle timeout.
struct StallGuard {
    inner: TcpStream,
    stalled_since: Option<Pin<Box<Sleep>>>,
}

impl StallGuard {
    fn new(inner: TcpStream) -> Self {
        StallGuard {
            inner,
            stalled_since: None,
        }
    }

    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Pending => {
                let timer = self
                    .stalled_since
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(STALL_TIMEOUT)));
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    )));
                }
                Poll::Pending
            }
            ready => {
                self.stalled_since = None;
                ready
            }
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_strict() {
        assert_eq!(index("0"), Some(0));
        assert_eq!(index("12"), Some(12));
        for bad in ["", "+1", "-1", "01", "1a", "１", "9999999999", "%30"] {
            assert_eq!(index(bad), None, "{bad}");
        }
    }
}
