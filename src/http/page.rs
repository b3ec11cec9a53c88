//! The share page: one self-contained HTML file (`page.html`, compiled into
//! the binary: no CDN, works offline) filled with the shared items on each
//! request. Everything taken from names is HTML-escaped; the page's own
//! script and style are allowed by their SHA-256 in a strict
//! Content-Security-Policy, so nothing else can run in it. This module
//! renders text; it touches no file and no socket.

use std::fmt::Write as _;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use sha2::{Digest, Sha256};

use super::State;
use super::body::{self, ResponseBody};
use super::items::ItemKind;
use super::server::with_common_headers;
use crate::api::UploadPolicy;
use crate::api::human_bytes;
use crate::i18n;

/// The page template.
pub const TEMPLATE: &str = include_str!("page.html");

/// How often the page asks whether sharing is still on.
const PING_INTERVAL_MS: u64 = 5_000;

/// How long the page keeps trying to resume an upload after its connection broke.
const RESUME_FOR_MS: u64 = 5 * 60 * 1000;

/// The page's sentences in the catalog `lang`: the `share-page-*` messages
/// of the Fluent catalogs (the one source of each sentence, translated with
/// the window's), keyed as the page's script asks for them (`download-label`
/// becomes `downloadLabel`), variables left as `{name}`, plus the size
/// units. Built once per language; both the server (for what it renders) and
/// the page's script (which gets it as a JSON block) read it.
fn strings(lang: &str) -> &'static serde_json::Map<String, serde_json::Value> {
    static STRINGS: OnceLock<Vec<serde_json::Map<String, serde_json::Value>>> = OnceLock::new();
    let all = STRINGS.get_or_init(|| {
        i18n::CATALOGS
            .iter()
            .map(|&(tag, _)| {
                let mut map: serde_json::Map<String, serde_json::Value> =
                    i18n::messages_with_prefix(tag, "share-page-")
                        .into_iter()
                        .map(|(id, text)| (camel_case(&id), text.into()))
                        .collect();
                map.insert("unit".into(), serde_json::json!(crate::api::BYTE_UNITS));
                map
            })
            .collect()
    });
    let index = i18n::CATALOGS
        .iter()
        .position(|&(tag, _)| tag == lang)
        .unwrap_or(0);
    &all[index.min(all.len() - 1)]
}

/// `download-all-label` -> `downloadAllLabel`.
fn camel_case(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    let mut upper = false;
    for c in id.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The language of the page for a request: the catalog that best fits its
/// `Accept-Language`.
pub fn language_of(headers: &hyper::HeaderMap) -> &'static str {
    i18n::negotiate_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// The sentence `key` in `lang` with `{name}` placeholders filled (values as
/// given: escape them first where the result is HTML).
pub(super) fn t(lang: &str, key: &str, vars: &[(&str, &str)]) -> String {
    let mut text = strings(lang)
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or(key)
        .to_string();
    for (name, value) in vars {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// Most files of one folder listed on the page (the ZIP always has them all).
const MAX_LISTED_FILES: usize = 500;

const FILE_ICON: &str = r#"<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M14 3H6a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9z"/><path d="M14 3v6h6"/></svg>"#;
const FOLDER_ICON: &str = r#"<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z"/></svg>"#;
const DOWNLOAD_ICON: &str = r#"<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M12 4v11"/><path d="m7 10 5 5 5-5"/><path d="M5 20h14"/></svg>"#;
const UPLOAD_ICON: &str = r#"<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M12 16V4"/><path d="m7 9 5-5 5 5"/><path d="M5 20h14"/></svg>"#;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Text between `open` and the next `close` in the template.
fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    text.find(open)
        .map(|start| &text[start + open.len()..])
        .and_then(|rest| rest.find(close).map(|end| &rest[..end]))
        .unwrap_or("")
}

/// A CSP source hash: standard base64 with padding, as CSP Level 3 asks.
fn csp_hash(source: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(source.as_bytes()))
    )
}

/// The Content-Security-Policy of the page: only its own script and style.
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let script = between(TEMPLATE, "<script>", "</script>");
        let style = between(TEMPLATE, "<style>", "</style>");
        format!(
            "default-src 'none'; script-src {}; style-src {}; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            csp_hash(script),
            csp_hash(style)
        )
    })
}

/// Fills `{{KEY}}` placeholders in one pass, so a value that itself contains
/// `{{...}}` is never expanded.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 4096);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = &after[..end];
                match values.iter().find(|(k, _)| *k == key) {
                    Some((_, value)) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// "1 file" / "3 files" from the strings `one` and `many`.
pub(super) fn plural(lang: &str, n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        t(lang, one, &[])
    } else {
        t(lang, many, &[("n", &n.to_string())])
    }
}

/// The page for `state`, as HTML.
pub fn render(state: &State, lang: &str) -> String {
    let mut items = String::new();
    let (mut files, mut folders, mut bytes) = (0, 0, 0u64);
    for (i, item) in state.items.iter().enumerate() {
        bytes = bytes.saturating_add(item.bytes);
        let name = escape(&item.name);
        match item.kind {
            ItemKind::File => {
                files += 1;
                let _ = write!(
                    items,
                    r#"<li class="item"><span class="icon" aria-hidden="true">{FILE_ICON}{thumb}</span><div class="meta"><span class="name">{name}</span><span class="size">{size}</span></div><a class="btn" href="d/{i}" download aria-label="{label}">{DOWNLOAD_ICON}{text}</a></li>"#,
                    size = human_bytes(item.bytes),
                    thumb = if super::thumbs::is_picture(&item.name) {
                        format!(r#"<img class="thumb" src="t/{i}" alt="" loading="lazy">"#)
                    } else {
                        String::new()
                    },
                    label = escape(&t(lang, "downloadLabel", &[("name", &item.name)])),
                    text = escape(&t(lang, "download", &[])),
                );
            }
            ItemKind::Folder { files: count } => {
                folders += 1;
                let _ = write!(
                    items,
                    r#"<li class="item"><span class="icon" aria-hidden="true">{FOLDER_ICON}</span><div class="meta"><span class="name">{name}</span><span class="size">{count_text} · {size}</span></div><a class="btn" href="d/{i}" download aria-label="{label}">{DOWNLOAD_ICON}{text}</a>"#,
                    count_text = escape(&plural(lang, count, "oneFile", "manyFiles")),
                    size = human_bytes(item.bytes),
                    label = escape(&t(lang, "zipLabel", &[("name", &item.name)])),
                    text = escape(&t(lang, "zip", &[])),
                );
                if count > 0 {
                    let _ = write!(
                        items,
                        r#"<details><summary>{}</summary><ul class="files">"#,
                        escape(&t(lang, "oneByOne", &[]))
                    );
                    for (j, f) in item.files.iter().take(MAX_LISTED_FILES).enumerate() {
                        let inside = f.rel.split_once('/').map_or(f.rel.as_str(), |(_, r)| r);
                        let _ = write!(
                            items,
                            r#"<li><a href="d/{i}/{j}" download>{}</a><span class="size">{}</span></li>"#,
                            escape(inside),
                            human_bytes(f.size)
                        );
                    }
                    if count > MAX_LISTED_FILES {
                        let more = (count - MAX_LISTED_FILES).to_string();
                        let _ = write!(
                            items,
                            r#"<li class="more">{}</li>"#,
                            escape(&t(lang, "more", &[("n", &more)]))
                        );
                    }
                    items.push_str("</ul></details>");
                }
                items.push_str("</li>");
            }
        }
    }
    if state.items.is_empty() {
        let _ = write!(
            items,
            r#"<li class="empty">{}</li>"#,
            escape(&t(lang, "nothing", &[]))
        );
    }
    let mut summary = Vec::new();
    if files > 0 {
        summary.push(plural(lang, files, "oneFile", "manyFiles"));
    }
    if folders > 0 {
        summary.push(plural(lang, folders, "oneFolder", "manyFolders"));
    }
    summary.push(human_bytes(bytes));
    let device = state.device_name.as_str();
    let upload = upload_section(state, lang);
    let config = serde_json::json!({
        "uploads": match state.policy {
            UploadPolicy::Off => "off",
            UploadPolicy::Ask => "ask",
            UploadPolicy::Allow => "allow",
        },
        "maxUploadBytes": state.max_upload_bytes,
        "pingMs": PING_INTERVAL_MS,
        "resumeMs": RESUME_FOR_MS,
    })
    .to_string()
    // Keep the JSON from ever closing its <script> element.
    .replace('<', "\\u003c");
    fill(
        TEMPLATE,
        &[
            ("TITLE", &escape(&t(lang, "title", &[("device", device)]))),
            (
                "HEADING",
                &escape(&t(lang, "heading", &[("device", device)])),
            ),
            ("SUMMARY", &escape(&summary.join(" · "))),
            ("DOWNLOAD_TITLE", &escape(&t(lang, "downloadTitle", &[]))),
            ("DOWNLOAD_ALL", &download_all(state, lang)),
            ("ITEMS", &items),
            ("UPLOAD", &upload),
            ("PASS", &pass_section(state, lang)),
            ("TEXTS", &texts_section(state, lang)),
            ("MESSAGE", &message_section(state, lang)),
            ("FOOTER", &escape(&t(lang, "footer", &[]))),
            ("CONFIG", &config),
            ("LANG", lang),
            ("STRINGS", &strings_json(lang)),
        ],
    )
}

/// The page's sentences in `lang` as the JSON its script reads, kept from
/// ever closing its `<script>` element.
fn strings_json(lang: &str) -> String {
    serde_json::Value::Object(strings(lang).clone())
        .to_string()
        .replace('<', "\\u003c")
}

/// "Download everything": one ZIP of every item, when there is more than
/// one file to get.
fn download_all(state: &State, lang: &str) -> String {
    let worth_it = state.items.len() > 1
        || state
            .items
            .iter()
            .any(|i| matches!(i.kind, ItemKind::Folder { files } if files > 1));
    if !worth_it {
        return String::new();
    }
    format!(
        r#"<div class="dl-all"><a class="btn ghost" id="download-all" href="d/all" download aria-label="{label}">{DOWNLOAD_ICON}{text}</a></div>"#,
        label = escape(&t(lang, "downloadAllLabel", &[])),
        text = escape(&t(lang, "downloadAll", &[])),
    )
}

/// The texts the sharer shares, each with a "Copy" button (shown when the
/// script runs).
fn texts_section(state: &State, lang: &str) -> String {
    if state.texts.is_empty() {
        return String::new();
    }
    let mut list = String::new();
    for (i, text) in state.texts.iter().enumerate() {
        let n = (i + 1).to_string();
        let _ = write!(
            list,
            r#"<li><p class="text-body" id="text-{i}">{text}</p><div class="row-end"><button class="btn ghost copy-text" type="button" data-for="text-{i}" aria-label="{label}" hidden>{copy}</button></div></li>"#,
            text = escape(text),
            label = escape(&t(lang, "copyTextLabel", &[("n", &n)])),
            copy = escape(&t(lang, "copy", &[])),
        );
    }
    format!(
        r#"<section class="card" aria-labelledby="texts-title"><h2 id="texts-title">{title}</h2><ul class="texts">{list}</ul></section>"#,
        title = escape(&t(lang, "textsTitle", &[])),
    )
}

/// "Send a message" to the sharer, when the share accepts uploads.
fn message_section(state: &State, lang: &str) -> String {
    if state.policy == UploadPolicy::Off {
        return String::new();
    }
    format!(
        r#"<section class="card" aria-labelledby="msg-title">
  <h2 id="msg-title">{title}</h2>
  <p class="hint">{hint}</p>
  <form id="message-form">
    <textarea id="message" aria-label="{label}" maxlength="{max}"></textarea>
    <div class="row-end"><p id="message-status" role="status" aria-live="polite"></p><button class="btn" type="submit">{send}</button></div>
  </form>
</section>"#,
        title = escape(&t(lang, "messageTitle", &[])),
        hint = escape(&t(lang, "messageHint", &[])),
        label = escape(&t(lang, "messageLabel", &[])),
        max = super::text::MAX_TEXT_CHARS,
        send = escape(&t(lang, "sendMessage", &[])),
    )
}

/// The QR code of the link and the link itself, to open the page on
/// another device ("Copy link" appears when the script runs).
fn pass_section(state: &State, lang: &str) -> String {
    format!(
        r#"<section class="card" aria-labelledby="pass-title">
  <h2 id="pass-title">{title}</h2>
  <div class="pass">
    <div class="qr" role="img" aria-label="{title}">{qr}</div>
    <div class="link-row">
      <p class="hint">{hint}</p>
      <div class="link" id="link">{url}</div>
      <div><button class="btn ghost" type="button" id="copy-link" hidden>{copy}</button></div>
    </div>
  </div>
</section>"#,
        title = escape(&t(lang, "passTitle", &[])),
        hint = escape(&t(lang, "passHint", &[])),
        qr = state.qr_svg,
        url = escape(&state.url),
        copy = escape(&t(lang, "copyLink", &[])),
    )
}

fn upload_section(state: &State, lang: &str) -> String {
    if state.policy == UploadPolicy::Off {
        return String::new();
    }
    let max = human_bytes(state.max_upload_bytes);
    let mut hint = t(
        lang,
        "upHint",
        &[("device", &state.device_name), ("max", &max)],
    );
    if state.policy == UploadPolicy::Ask {
        hint.push(' ');
        hint.push_str(&t(lang, "upAsk", &[]));
    }
    format!(
        r#"<section class="card" aria-labelledby="up-title">
  <h2 id="up-title">{title}</h2>
  <p class="hint">{hint}</p>
  <form id="upload-form" method="post" action="upload" enctype="multipart/form-data">
    <div class="drop" id="drop">
      {UPLOAD_ICON}
      <div class="pick">
        <label class="btn"><input type="file" name="file" multiple id="file-input">{files}</label>
        <label class="btn ghost" id="dir-pick" hidden><input type="file" multiple webkitdirectory id="dir-input">{folder}</label>
      </div>
      <span class="drop-sub">{drop}</span>
    </div>
    <noscript><button class="btn send" type="submit">{send}</button></noscript>
  </form>
  <p id="status" role="status" aria-live="polite"></p>
  <ul id="uploads"></ul>
</section>"#,
        title = escape(&t(lang, "upTitle", &[])),
        hint = escape(&hint),
        files = escape(&t(lang, "chooseFiles", &[])),
        folder = escape(&t(lang, "chooseFolder", &[])),
        drop = escape(&t(lang, "dropHere", &[])),
        send = escape(&t(lang, "send", &[])),
    )
}

fn html_response(status: StatusCode, html: String, csp: &str) -> Response<ResponseBody> {
    let mut response = with_common_headers(Response::new(body::full(html)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// The share page in `lang` (headers only for HEAD). It differs by the
/// request's `Accept-Language`, which caches are told.
pub fn respond(state: &State, lang: &str, head_only: bool) -> Response<ResponseBody> {
    let html = render(state, lang);
    let mut response = html_response(StatusCode::OK, html.clone(), content_security_policy());
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    if head_only {
        let len = html.len().to_string();
        *response.body_mut() = body::empty();
        if let Ok(len) = HeaderValue::from_str(&len) {
            response.headers_mut().insert(header::CONTENT_LENGTH, len);
        }
    }
    response
}

/// The answer to an upload from a browser without JavaScript (a plain form).
pub fn result_page(
    lang: &str,
    status: StatusCode,
    saved: &[String],
    skipped: &[String],
    error: Option<&str>,
) -> Response<ResponseBody> {
    let mut html = format!("<!doctype html><html lang=\"{lang}\">");
    html.push_str(
        "<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Upload · Ferry</title><style>body{font:16px/1.5 system-ui,sans-serif;\
         max-width:40rem;margin:2rem auto;padding:0 1rem}.bad{color:#b42318}</style></head><body>",
    );
    let heading = if saved.is_empty() {
        t(lang, "resultNothing", &[])
    } else {
        t(
            lang,
            "resultSaved",
            &[("files", &plural(lang, saved.len(), "oneFile", "manyFiles"))],
        )
    };
    let _ = write!(html, "<h1>{}</h1>", escape(&heading));
    if !saved.is_empty() {
        html.push_str("<ul>");
        for name in saved {
            let _ = write!(html, "<li>{}</li>", escape(name));
        }
        html.push_str("</ul>");
    }
    for line in skipped.iter().map(String::as_str).chain(error) {
        let _ = write!(html, "<p class=\"bad\">{}</p>", escape(line));
    }
    let _ = write!(
        html,
        "<p><a href=\"./\">{}</a></p></body></html>",
        escape(&t(lang, "back", &[]))
    );
    html_response(
        status,
        html,
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn placeholders_are_filled_once() {
        let out = fill("<{{A}}|{{B}}|{{C}}>", &[("A", "{{B}}"), ("B", "b")]);
        assert_eq!(out, "<{{B}}|b|{{C}}>");
    }

    #[test]
    fn csp_hashes_are_padded_standard_base64() {
        // SHA-256 of "" and of "a": the first has `+` and `/`, both end in `=`.
        assert_eq!(
            csp_hash(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
        assert_eq!(
            csp_hash("a"),
            "'sha256-ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs='"
        );
    }

    #[test]
    fn the_template_has_its_script_style_and_placeholders() {
        for key in [
            "TITLE",
            "HEADING",
            "SUMMARY",
            "DOWNLOAD_TITLE",
            "DOWNLOAD_ALL",
            "ITEMS",
            "UPLOAD",
            "PASS",
            "TEXTS",
            "MESSAGE",
            "FOOTER",
            "CONFIG",
            "LANG",
            "STRINGS",
        ] {
            assert!(TEMPLATE.contains(&format!("{{{{{key}}}}}")), "{key}");
        }
        assert!(between(TEMPLATE, "<script>", "</script>").contains("XMLHttpRequest"));
        assert!(between(TEMPLATE, "<style>", "</style>").contains(":root"));
        let csp = content_security_policy();
        assert!(csp.contains("script-src 'sha256-") && !csp.contains("unsafe"));
        // Every sentence the server renders is in the one strings block.
        for key in [
            "title",
            "download",
            "zipLabel",
            "upHint",
            "passTitle",
            "back",
            "stopped",
        ] {
            assert!(strings("en").contains_key(key), "{key}");
        }
        assert_eq!(t("en", "manyFiles", &[("n", "3")]), "3 files");
        assert_eq!(t("zh-CN", "manyFiles", &[("n", "3")]), "3 个文件");
        assert_eq!(t("xx", "title", &[("device", "A")]), "Files from A · Ferry");
        // No external resource of any kind: the page works offline.
        assert!(!TEMPLATE.contains("http://") && !TEMPLATE.contains("https://"));
    }

    #[test]
    fn every_sentence_asked_for_is_there_in_every_language() {
        let mut asked = Vec::new();
        for source in [TEMPLATE, include_str!("page.rs"), include_str!("server.rs")] {
            // Not this test module's own calls.
            let source = source.split("#[cfg(test)]").next().unwrap_or(source);
            for marker in ["t(\"", "t(lang, \""] {
                for (at, _) in source.match_indices(marker) {
                    let before = source[..at].chars().next_back().unwrap_or(' ');
                    if before.is_alphanumeric() || before == '_' {
                        continue;
                    }
                    let rest = &source[at + marker.len()..];
                    asked.push(rest[..rest.find('"').unwrap_or(0)].to_string());
                }
            }
        }
        assert!(asked.len() > 40, "found only {}", asked.len());
        let english = strings("en");
        for &(tag, _) in i18n::CATALOGS {
            let map = strings(tag);
            for key in &asked {
                assert!(map.contains_key(key), "{tag}: {key}");
            }
            let keys = |m: &serde_json::Map<String, serde_json::Value>| {
                m.keys().cloned().collect::<Vec<_>>()
            };
            assert_eq!(keys(map), keys(english), "{tag}");
        }
        // Variables stay placeholders for the script; nothing opens a tag.
        assert_eq!(t("zh-CN", "heading", &[]), "来自 {device} 的文件");
        assert!(strings_json("zh-CN").contains("\"hours\":\"{n} 小时 {m} 分钟\""));
        assert_eq!(strings("en")["unit"][1], "KiB");
    }
}
