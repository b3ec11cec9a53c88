//! Approval per visitor, when the share asks for it: a device (a host: an
//! IPv4 address or an IPv6 /64) that has the link still waits for the
//! person at the computer before any request of its is served. The first
//! request from a new host asks once ([`ShareEvent::VisitorRequest`],
//! answered through the same waiting list as uploads); every request from
//! that host waits for the one answer. A "yes" holds for the share, a "no"
//! too (its requests get a 403 at once); no answer within
//! [`CONSENT_TIMEOUT`] refuses this time and asks again on the next visit.
//! Only requests that carry the token get here, so a guesser never causes
//! a prompt. This module writes nothing.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::StatusCode;
use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, Response};

use super::body::ResponseBody;
use super::server::respond_text;
use super::{CONSENT_TIMEOUT, State, connections, text};
use crate::api::{ShareEvent, TransferId};

/// What the person said about one host.
#[derive(Clone)]
pub(crate) enum Visitor {
    /// Let in for the rest of the share.
    Approved,
    /// Kept out for the rest of the share.
    Declined,
    /// Asked; the answer comes on this channel (`None` until then).
    Asking(tokio::sync::watch::Receiver<Option<bool>>),
}

/// `None` when `req` may be served; else the answer that refuses it.
pub async fn gate(
    req: &Request<Incoming>,
    state: &Arc<State>,
    peer: SocketAddr,
) -> Option<Response<ResponseBody>> {
    if !state.approve_visitors {
        return None;
    }
    let host = connections::host_of(peer.ip());
    let known = state.visitors.lock().ok()?.get(&host).cloned();
    let mut answer = match known {
        Some(Visitor::Approved) => return None,
        Some(Visitor::Declined) => return Some(declined()),
        Some(Visitor::Asking(rx)) => rx,
        None => {
            let browser = req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map_or("A browser", text::browser_name);
            start_asking(state, peer, browser)
        }
    };
    let decided = answer.wait_for(Option::is_some).await.ok().and_then(|v| *v);
    match decided {
        Some(true) => None,
        Some(false) => Some(declined()),
        None => Some(respond_text(
            StatusCode::FORBIDDEN,
            "Nobody at the computer let this device in. Reload the page to ask again.",
        )),
    }
}

fn declined() -> Response<ResponseBody> {
    respond_text(
        StatusCode::FORBIDDEN,
        "The person at the computer did not let this device in.",
    )
}

/// Records that `peer`'s host is being asked and asks, on a task of its own
/// so the answer outlives the request that caused it.
fn start_asking(
    state: &Arc<State>,
    peer: SocketAddr,
    browser: &str,
) -> tokio::sync::watch::Receiver<Option<bool>> {
    let host = connections::host_of(peer.ip());
    let (tx, rx) = tokio::sync::watch::channel(None);
    if let Ok(mut visitors) = state.visitors.lock() {
        // Two first requests at once: the one that got here first asks.
        if let Some(Visitor::Asking(existing)) = visitors.get(&host) {
            return existing.clone();
        }
        visitors.insert(host, Visitor::Asking(rx.clone()));
    }
    let id = TransferId::fresh();
    let (answer_tx, answer_rx) = tokio::sync::oneshot::channel();
    if let Ok(mut pending) = state.pending.lock() {
        pending.insert(id, answer_tx);
    }
    state.events.emit(ShareEvent::VisitorRequest {
        id,
        from: peer,
        browser: browser.to_string(),
    });
    let state = state.clone();
    tokio::spawn(async move {
        let answer = tokio::time::timeout(CONSENT_TIMEOUT, answer_rx).await;
        if let Ok(mut pending) = state.pending.lock() {
            pending.remove(&id);
        }
        let verdict = match answer {
            Ok(Ok(yes)) => Some(yes),
            // Nobody answered: refuse now, ask again next time.
            _ => None,
        };
        if let Ok(mut visitors) = state.visitors.lock() {
            match verdict {
                Some(true) => visitors.insert(host, Visitor::Approved),
                Some(false) => visitors.insert(host, Visitor::Declined),
                None => visitors.remove(&host),
            };
        }
        // `Some(false)` for "nobody answered" too, as far as the waiting requests go.
        let _ = tx.send(Some(verdict.unwrap_or(false)));
    });
    rx
}
