//! Guards LocalSend in the window: a LocalSend device (a client written from
//! the spec, registering over HTTPS) appears in the device list as a
//! LocalSend phone, its offer shows in the same prompt as a Ferry offer, and
//! Accept writes the file; the "Scan for LocalSend devices" action is there;
//! a first send to a LocalSend device asks about it by its certificate
//! fingerprint (there is no pairing code) and remembers it.
#![allow(clippy::disallowed_methods)]

mod localsend_support;
mod ui_support;

use egui_kittest::kittest::Queryable;
use std::sync::Arc;

use ferry::api::{AcceptPolicy, DeviceKind, Event, Outcome, PeerSource};
use ferry::secure::identity::{Identity, short_code};
use localsend_support::{Ferry, Spec, meta};
use serde_json::json;
use ui_support::{AppDirs, drag_and_drop, harness, wait_for_label, wait_until, write_file};

#[test]
fn a_localsend_phone_is_listed_and_its_offer_uses_the_same_prompt() {
    let dirs = AppDirs::new("Desk");
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("Scan for LocalSend devices");
    let ls = harness.state().localsend_addr().expect("LocalSend runs");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], ls.port()));
    let spec = Spec::new("Ana's phone");
    spec.register(addr);
    wait_for_label(&mut harness, "Ana's phone");
    let id = spec.fingerprint();
    let entry = &harness.state().state().peers[&id];
    assert_eq!(entry.source, PeerSource::LocalSend(DeviceKind::Mobile));

    let bytes = b"a photo from the phone".to_vec();
    let files = json!({"p": meta("p", "photo.jpg", &bytes, true)});
    let answer = std::thread::scope(|s| {
        let asked = s.spawn(|| spec.prepare(addr, files, None));
        wait_for_label(&mut harness, "Ana's phone wants to send you 1 file");
        harness.get_by_label("Accept").click();
        harness.run_steps(2);
        asked.join().expect("prepare")
    });
    assert_eq!(
        answer.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    let json = answer.json();
    let session = json["sessionId"].as_str().expect("session");
    let token = json["files"]["p"].as_str().expect("token");
    assert_eq!(spec.upload(addr, session, "p", token, &bytes).status, 200);
    let landed = dirs.downloads().join("photo.jpg");
    wait_until(&mut harness, "the file", |_| landed.exists());
    assert_eq!(std::fs::read(&landed).expect("read"), bytes);
}

#[test]
fn the_localsend_setting_is_saved_and_says_it_applies_after_a_restart() {
    let dirs = AppDirs::new("Desk");
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("Settings").click();
    wait_for_label(&mut harness, "Also talk to LocalSend devices");
    harness
        .get_by_label("Also talk to LocalSend devices")
        .click();
    harness.step();
    harness.get_by_label("Save").click();
    wait_for_label(
        &mut harness,
        "Saved. Ports, interfaces and LocalSend take effect when Ferry restarts.",
    );
    drop(harness);
    let saved = ferry::config::Settings::load(&dirs.config());
    assert!(!saved.localsend);
    assert_eq!(saved.localsend_port, ferry::localsend::DEFAULT_PORT);
    // After the restart LocalSend is off.
    let mut harness = ui_support::harness(&dirs);
    harness.run_steps(2);
    assert!(harness.state().localsend_addr().is_none());
}

#[test]
fn a_first_send_to_a_localsend_device_asks_by_fingerprint_and_remembers_it() {
    let dirs = AppDirs::new("Desk");
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let ls = harness.state().localsend_addr().expect("LocalSend runs");
    // A LocalSend receiver (Ferry's own server) that announced itself to
    // the window with its own certificate.
    let identity = Arc::new(Identity::ephemeral().expect("identity"));
    let mut receiver = Ferry::start_as(AcceptPolicy::Everyone, None, identity.clone());
    Spec::with_identity("Ana's laptop", identity.clone(), receiver.addr().port())
        .register(std::net::SocketAddr::from(([127, 0, 0, 1], ls.port())));
    wait_for_label(&mut harness, "Ana's laptop");
    harness.get_by_label("Ana's laptop").click();
    harness.run_steps(2);

    let file = dirs.scratch().join("notes.txt");
    let bytes = write_file(&file, 40_000);
    drag_and_drop(&mut harness, &[file]);
    wait_for_label(&mut harness, "Send to Ana's laptop, a LocalSend device?");
    harness.get_by_label(&short_code(identity.device_id()));
    // Nothing was offered while the question is open.
    assert!(
        receiver
            .engine
            .events()
            .try_iter()
            .all(|e| !matches!(e, Event::Incoming { .. }))
    );
    harness.get_by_label("Send to this device").click();
    let landed = receiver.downloads().join("notes.txt");
    wait_until(&mut harness, "the file at the receiver", |_| {
        landed.exists()
    });
    assert!(matches!(
        receiver.finished(),
        Outcome::Completed { files: 1, .. }
    ));
    assert_eq!(std::fs::read(&landed).expect("arrived"), bytes);
    let id = identity.device_id().to_string();
    wait_until(&mut harness, "the device remembered", |_| {
        ferry::config::Settings::load(&dirs.config())
            .remembered_devices
            .iter()
            .any(|d| d.device_id == id)
    });
}
