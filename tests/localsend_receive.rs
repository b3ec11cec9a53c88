//! Ferry receives from a LocalSend sender (a client written from the public
//! spec) only with the person's consent, and keeps its guarantees: sizes and
//! SHA-256 checked before a file takes its final name, PIN, safe names, one
//! session at a time, cancel and bad bodies leave nothing behind.
#![allow(clippy::disallowed_methods)]

mod localsend_support;

use std::io::Write;

use ferry::api::{AcceptPolicy, Decision, Event, ItemKind, Outcome, Party, PeerSource};
use localsend_support::{Ferry, Spec, files, meta, read_answer, write_head};
use serde_json::{Value, json};

/// Runs a prepare on a thread while the person answers; returns the answer.
fn prepare_answered(
    ferry: &mut Ferry,
    spec: &Spec,
    files: Value,
    decision: Decision,
) -> (localsend_support::Answer, ferry::api::OfferSummary) {
    let addr = ferry.addr();
    let (answer, offer) = std::thread::scope(|s| {
        let asked = s.spawn(|| spec.prepare(addr, files, None));
        let offer = ferry.decide(decision);
        (asked.join().expect("prepare thread"), offer)
    });
    (answer, offer)
}

fn session_and_token(answer: &localsend_support::Answer, file: &str) -> (String, String) {
    let json = answer.json();
    (
        json["sessionId"].as_str().expect("sessionId").to_string(),
        json["files"][file].as_str().expect("token").to_string(),
    )
}

#[test]
fn register_lists_the_sender_by_its_certificate_and_answers_with_ferrys_identity() {
    let mut ferry = Ferry::start(AcceptPolicy::Ask, None);
    let spec = Spec::new("Pixel of Ana");
    let answer = spec.post(
        ferry.addr(),
        "/api/localsend/v2/register",
        spec.info().to_string().as_bytes(),
    );
    assert_eq!(answer.status, 200);
    let info = answer.json();
    let ferry_id = ferry.engine.device().device_id;
    assert_eq!(info["fingerprint"], Value::String(ferry_id.clone()));
    assert_eq!(
        answer.server_fingerprint, ferry_id,
        "the fingerprint is the certificate's"
    );
    assert_eq!(info["deviceType"], "desktop");
    let peer = ferry.wait("the LocalSend device listed", |e| match e {
        Event::PeerSeen(p) if p.device.alias == "Pixel of Ana" => Some(p.clone()),
        _ => None,
    });
    assert_eq!(peer.device.device_id, spec.fingerprint());
    assert_eq!(
        peer.source,
        PeerSource::LocalSend(ferry::api::DeviceKind::Mobile)
    );
    assert_eq!(peer.protocol(), "localsend");
    let report = ferry.engine.discovery_report().expect("report");
    assert!(
        report
            .peers
            .iter()
            .any(|p| p.device.device_id == spec.fingerprint())
    );
    // /info answers too.
    let info = spec.post(ferry.addr(), "/api/localsend/v2/info", b"");
    assert_eq!(info.status, 200);
    assert_eq!(info.json()["alias"], "ferry-desk");
}

#[test]
fn an_accepted_offer_lands_byte_exact_with_and_without_sha256_and_keeps_folders() {
    let mut ferry = Ferry::start(AcceptPolicy::Ask, None);
    let spec = Spec::new("phone");
    // Over 512 KiB: written piece by piece as it arrives (smaller uploads
    // are read whole first), and hashed on the way.
    let a: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let b = b"second file, no hash".to_vec();
    let offer = json!({"a": meta("a", "photo.jpg", &a, true), "b": meta("b", "album/notes.txt", &b, false)});
    let (answer, summary) = prepare_answered(&mut ferry, &spec, offer, Decision::AcceptAll);
    assert_eq!(
        answer.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(summary.files, 2);
    assert_eq!(summary.total_bytes, (a.len() + b.len()) as u64);
    let (session, token_a) = session_and_token(&answer, "a");
    let (_, token_b) = session_and_token(&answer, "b");
    assert_eq!(
        spec.upload(ferry.addr(), &session, "a", &token_a, &a)
            .status,
        200
    );
    assert_eq!(
        spec.upload(ferry.addr(), &session, "b", &token_b, &b)
            .status,
        200
    );
    assert_eq!(
        ferry.finished(),
        Outcome::Completed {
            files: 2,
            bytes: (a.len() + b.len()) as u64
        }
    );
    assert_eq!(
        files(&ferry.downloads()),
        vec![
            ("album/notes.txt".to_string(), b),
            ("photo.jpg".to_string(), a)
        ]
    );
    // The session slot is free again: a second offer is asked, not refused.
    let (again, _) = prepare_answered(
        &mut ferry,
        &spec,
        json!({"c": meta("c", "photo.jpg", b"x", true)}),
        Decision::AcceptAll,
    );
    let (session, token) = session_and_token(&again, "c");
    assert_eq!(
        spec.upload(ferry.addr(), &session, "c", &token, b"x")
            .status,
        200
    );
    ferry.finished();
    assert!(
        ferry.downloads().join("photo (1).jpg").exists(),
        "never overwritten"
    );
}

#[test]
fn a_wrong_sha256_or_size_leaves_nothing_and_says_why() {
    let mut ferry = Ferry::start(AcceptPolicy::Everyone, None);
    let spec = Spec::new("phone");
    let good = b"the real bytes".to_vec();
    let mut bad_hash = meta("h", "h.bin", &good, true);
    bad_hash["sha256"] = Value::String("00".repeat(32));
    // The same three faults on uploads over 512 KiB, which are written as
    // they arrive rather than read whole first.
    let big: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
    let mut bad_big_hash = meta("hbig", "hbig.bin", &big, true);
    bad_big_hash["sha256"] = Value::String("11".repeat(32));
    let offer = json!({
        "h": bad_hash,
        "long": meta("long", "long.bin", &good, false),
        "short": meta("short", "short.bin", &good, false),
        "hbig": bad_big_hash,
        "longbig": meta("longbig", "longbig.bin", &big[..1_000_000], false),
        "shortbig": meta("shortbig", "shortbig.bin", &big, false),
    });
    let answer = spec.prepare(ferry.addr(), offer, None);
    assert_eq!(answer.status, 200);
    let token = |f: &str| session_and_token(&answer, f);
    let (session, t) = token("h");
    let mismatch = spec.upload(ferry.addr(), &session, "h", &t, &good);
    assert_eq!(mismatch.status, 422);
    assert_eq!(mismatch.json()["message"], "Checksum mismatch");
    let (_, t) = token("long");
    let mut longer = good.clone();
    longer.extend_from_slice(b"extra");
    assert_eq!(
        spec.upload(ferry.addr(), &session, "long", &t, &longer)
            .status,
        400
    );
    let (_, t) = token("short");
    assert_eq!(
        spec.upload(ferry.addr(), &session, "short", &t, &good[..4])
            .status,
        400
    );
    let (_, t) = token("hbig");
    let mismatch = spec.upload(ferry.addr(), &session, "hbig", &t, &big);
    assert_eq!(mismatch.status, 422);
    assert_eq!(mismatch.json()["message"], "Checksum mismatch");
    let (_, t) = token("longbig");
    let longer = spec.upload(ferry.addr(), &session, "longbig", &t, &big);
    assert_eq!(longer.status, 400);
    assert_eq!(longer.json()["message"], "Body longer than announced");
    let (_, t) = token("shortbig");
    let shorter = spec.upload(ferry.addr(), &session, "shortbig", &t, &big[..700_000]);
    assert_eq!(shorter.status, 400);
    assert_eq!(shorter.json()["message"], "Body shorter than announced");
    assert!(matches!(ferry.finished(), Outcome::Failed(_)));
    assert!(files(&ferry.downloads()).is_empty(), "no file, no partial");
}

#[test]
fn pin_decline_second_session_wrong_token_and_bad_names_are_refused() {
    let mut ferry = Ferry::start(AcceptPolicy::Ask, Some("4711"));
    let spec = Spec::new("phone");
    let offer = || json!({"f": meta("f", "f.txt", b"hello", true)});
    assert_eq!(spec.prepare(ferry.addr(), offer(), None).status, 401);
    assert_eq!(
        spec.prepare(ferry.addr(), offer(), Some("1111")).status,
        401
    );
    // Names that would leave the download folder never reach the person.
    let evil = json!({"e": meta("e", "../../evil.txt", b"x", false)});
    assert_eq!(spec.prepare(ferry.addr(), evil, Some("4711")).status, 400);
    // A huge files map is refused before anyone is asked.
    let mut many = serde_json::Map::new();
    for i in 0..ferry::localsend::wire::MAX_FILES + 1 {
        many.insert(format!("{i}"), meta(&format!("{i}"), "x", b"", false));
    }
    assert_eq!(
        spec.prepare(ferry.addr(), Value::Object(many), Some("4711"))
            .status,
        400
    );
    // Declined.
    let addr = ferry.addr();
    let declined = std::thread::scope(|s| {
        let asked = s.spawn(|| spec.prepare(addr, offer(), Some("4711")));
        ferry.decide(Decision::Decline);
        asked.join().expect("thread")
    });
    assert_eq!(declined.status, 403);
    assert!(matches!(ferry.finished(), Outcome::Declined(_)));
    // Accepted; then a second session is blocked and a wrong token refused.
    let accepted = std::thread::scope(|s| {
        let asked = s.spawn(|| spec.prepare(addr, offer(), Some("4711")));
        ferry.decide(Decision::AcceptAll);
        asked.join().expect("thread")
    });
    assert_eq!(accepted.status, 200);
    let other = Spec::new("other phone");
    let blocked = other.prepare(addr, offer(), Some("4711"));
    assert_eq!(blocked.status, 409);
    let (session, token) = session_and_token(&accepted, "f");
    assert_eq!(
        spec.upload(addr, &session, "f", "wrong", b"hello").status,
        403
    );
    assert_eq!(
        spec.upload(addr, "nosuch", "f", &token, b"hello").status,
        409
    );
    assert_eq!(
        spec.upload(addr, &session, "f", &token, b"hello").status,
        200
    );
    ferry.finished();
    assert_eq!(
        files(&ferry.downloads()),
        vec![("f.txt".to_string(), b"hello".to_vec())]
    );
    assert!(!ferry.dir.path().join("evil.txt").exists());
}

#[test]
fn cancel_mid_file_removes_the_partial_and_reports_who_cancelled() {
    let mut ferry = Ferry::start(AcceptPolicy::Everyone, None);
    let spec = Spec::new("phone");
    let big = vec![7u8; 4 * 1024 * 1024];
    let answer = spec.prepare(
        ferry.addr(),
        json!({"big": meta("big", "big.bin", &big, true)}),
        None,
    );
    let (session, token) = session_and_token(&answer, "big");
    let (mut tls, fp) = spec.connect(ferry.addr());
    write_head(
        &mut tls,
        &format!("/api/localsend/v2/upload?sessionId={session}&fileId=big&token={token}"),
        big.len(),
    );
    tls.write_all(&big[..1024 * 1024]).expect("half");
    tls.flush().expect("flush");
    // Wait until the partial exists, then cancel.
    let part = ferry.downloads().join("big.bin.ferry-part");
    let deadline = std::time::Instant::now() + localsend_support::WAIT;
    while !part.exists() {
        assert!(std::time::Instant::now() < deadline, "no partial appeared");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let cancel = spec.post(
        ferry.addr(),
        &format!("/api/localsend/v2/cancel?sessionId={session}"),
        b"",
    );
    assert_eq!(cancel.status, 200);
    assert_eq!(ferry.finished(), Outcome::Cancelled { by: Party::Remote });
    let upload = read_answer(&mut tls, fp);
    assert_ne!(upload.status, 200);
    let deadline = std::time::Instant::now() + localsend_support::WAIT;
    while !files(&ferry.downloads()).is_empty() {
        assert!(std::time::Instant::now() < deadline, "partial left behind");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn a_text_message_is_shown_and_answered_204() {
    let mut ferry = Ferry::start(AcceptPolicy::Ask, None);
    let spec = Spec::new("phone");
    let text = "hello from LocalSend";
    let offer = json!({"t": {"id": "t", "fileName": "message.txt", "size": text.len(),
        "fileType": "text/plain", "sha256": null, "preview": text}});
    let (answer, summary) = prepare_answered(&mut ferry, &spec, offer, Decision::AcceptAll);
    assert_eq!(answer.status, 204);
    assert!(matches!(&summary.entries[0].kind, ItemKind::Text(t) if t == text));
    let got = ferry.wait("the text", |e| match e {
        Event::TextReceived { text, .. } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(got, text);
    assert!(files(&ferry.downloads()).is_empty());
}

#[test]
fn garbage_bodies_are_400_and_unknown_routes_404() {
    let ferry = Ferry::start(AcceptPolicy::Everyone, None);
    let spec = Spec::new("phone");
    assert_eq!(
        spec.post(
            ferry.addr(),
            "/api/localsend/v2/prepare-upload",
            b"{not json"
        )
        .status,
        400
    );
    assert_eq!(
        spec.post(ferry.addr(), "/api/localsend/v2/register", b"\xff\xfe")
            .status,
        400
    );
    assert_eq!(
        spec.post(ferry.addr(), "/api/localsend/v2/upload", b"")
            .status,
        400
    );
    assert_eq!(spec.post(ferry.addr(), "/etc/passwd", b"").status, 404);
}

#[test]
fn a_trusted_sender_is_accepted_by_certificate_and_its_name_with_another_is_refused() {
    let trusted = Spec::new("Ana's phone");
    let policy = AcceptPolicy::Trusted(vec![ferry::api::TrustedDevice {
        device_id: trusted.fingerprint(),
        alias: "Ana's phone".into(),
    }]);
    let mut ferry = Ferry::start(policy, None);
    // The same name with another certificate: refused, reported, nothing asked.
    let impostor = Spec::new("Ana's phone");
    let refused = impostor.prepare(
        ferry.addr(),
        json!({"x": meta("x", "x.bin", b"x", true)}),
        None,
    );
    assert_eq!(refused.status, 403);
    ferry.wait("the impostor reported", |e| match e {
        Event::Problem(text) if text.contains("not the one remembered") => Some(()),
        _ => None,
    });
    // The trusted certificate: accepted without a prompt.
    let answer = trusted.prepare(
        ferry.addr(),
        json!({"y": meta("y", "y.bin", b"yes", true)}),
        None,
    );
    assert_eq!(answer.status, 200);
    ferry.wait("auto-accepted", |e| {
        matches!(e, Event::AutoAccepted { .. }).then_some(())
    });
    let (session, token) = session_and_token(&answer, "y");
    assert_eq!(
        trusted
            .upload(ferry.addr(), &session, "y", &token, b"yes")
            .status,
        200
    );
    ferry.finished();
    assert_eq!(
        files(&ferry.downloads()),
        vec![("y.bin".to_string(), b"yes".to_vec())]
    );
    assert!(
        !ferry
            .seen
            .iter()
            .any(|e| matches!(e, Event::Incoming { .. }))
    );
}

#[test]
fn the_scan_on_loopback_only_says_there_is_no_network_and_sends_nothing() {
    let mut ferry = Ferry::start(AcceptPolicy::Ask, None);
    assert!(ferry.engine.send(ferry::api::Command::ScanLocalSend));
    let problem = ferry.wait("the scan's answer", |e| match e {
        Event::Problem(text) => Some(text.clone()),
        _ => None,
    });
    assert!(
        problem.contains("no network to look for LocalSend devices"),
        "{problem}"
    );
}
