//! Text messages from the page to the sharer (`POST text`), as PairDrop and
//! LocalSend offer: a visitor types a note or pastes a link, and it reaches
//! the window and the CLI as an [`Event::TextReceived`], like a text from a
//! Ferry peer, naming the browser and its address. Allowed whenever the
//! share accepts uploads (a text is shown, never written to disk), at most
//! [`MAX_TEXT_CHARS`] long and [`TEXTS_PER_MINUTE`] a minute from one host,
//! so a visitor cannot flood the window. This module writes nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, Response, StatusCode};

use super::State;
use super::body::ResponseBody;
use super::server::{json, json_error};
use super::upload::NOT_ALLOWED;
use crate::api::{Device, Event, TransferId, UploadPolicy};

/// Longest text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Most texts one host may send in a minute.
pub const TEXTS_PER_MINUTE: u32 = 20;

/// Largest request body: the text as JSON, every character escaped.
const MAX_BODY_BYTES: usize = MAX_TEXT_CHARS * 12 + 64;

#[derive(serde::Deserialize)]
struct TextBody {
    text: String,
}

/// `POST text`: `{"text": "..."}` from the page.
pub async fn receive(
    req: Request<Incoming>,
    state: Arc<State>,
    peer: SocketAddr,
) -> Response<ResponseBody> {
    if state.policy == UploadPolicy::Off {
        return json_error(StatusCode::FORBIDDEN, NOT_ALLOWED);
    }
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(browser_name)
        .unwrap_or("A browser");
    let Ok(body) = Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    else {
        return too_long();
    };
    let Ok(TextBody { text }) = serde_json::from_slice(&body.to_bytes()) else {
        return json_error(StatusCode::BAD_REQUEST, "The message was not understood.");
    };
    if text.trim().is_empty() {
        return json_error(StatusCode::BAD_REQUEST, "The message is empty.");
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return too_long();
    }
    if !within_budget(&state, peer) {
        return json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many messages at once. Please wait a minute.",
        );
    }
    let from = Device {
        device_id: String::new(),
        alias: format!("{agent} at {}", peer.ip().to_canonical()),
        os: "browser".to_string(),
        port: 0,
    };
    state.events.emit_event(Event::TextReceived {
        id: TransferId::fresh(),
        from,
        text,
    });
    json(StatusCode::OK, serde_json::json!({ "sent": true }))
}

fn too_long() -> Response<ResponseBody> {
    json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("A message can be at most {MAX_TEXT_CHARS} characters long."),
    )
}

/// Counts a text against its host's budget for the current minute.
fn within_budget(state: &State, peer: SocketAddr) -> bool {
    let Ok(mut budget) = state.text_budget.lock() else {
        return false;
    };
    let now = Instant::now();
    budget.retain(|_, (since, _)| now.duration_since(*since) < Duration::from_secs(60));
    let (_, count) = budget.entry(peer.ip().to_canonical()).or_insert((now, 0));
    *count += 1;
    *count <= TEXTS_PER_MINUTE
}

/// A short name for the browser behind a User-Agent: "Chrome on Android".
pub(crate) fn browser_name(agent: &str) -> &'static str {
    let has = |needle: &str| agent.contains(needle);
    let system = if has("Android") {
        "Android"
    } else if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("Windows") {
        "Windows"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("Linux") {
        "Linux"
    } else {
        ""
    };
    let browser = if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("Edg/") {
        "Edge"
    } else if has("Chrome/") || has("CriOS/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        ""
    };
    match (browser, system) {
        ("Firefox", "Android") => "Firefox on Android",
        ("Firefox", "iOS") => "Firefox on iOS",
        ("Firefox", "Windows") => "Firefox on Windows",
        ("Firefox", "macOS") => "Firefox on macOS",
        ("Firefox", "Linux") => "Firefox on Linux",
        ("Chrome", "Android") => "Chrome on Android",
        ("Chrome", "iOS") => "Chrome on iOS",
        ("Chrome", "Windows") => "Chrome on Windows",
        ("Chrome", "macOS") => "Chrome on macOS",
        ("Chrome", "Linux") => "Chrome on Linux",
        ("Edge", _) => "Edge",
        ("Safari", "iOS") => "Safari on iOS",
        ("Safari", "macOS") => "Safari on macOS",
        _ => "A browser",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_short_names() {
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                       (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(browser_name(android), "Chrome on Android");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_name(iphone), "Safari on iOS");
        assert_eq!(browser_name("curl/8.5.0"), "A browser");
    }
}
