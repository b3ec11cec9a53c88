//! Guards LocalSend in the window: a LocalSend device (a client written from
//! the spec, registering over HTTPS) appears in the device list as a
//! LocalSend phone, its offer shows in the same prompt as a Ferry offer, and
//! Accept writes the file; the "Scan for LocalSend devices" action is there.
#![allow(clippy::disallowed_methods)]

mod localsend_support;
mod ui_support;

use egui_kittest::kittest::Queryable;
use ferry::api::{DeviceKind, PeerSource};
use localsend_support::{Spec, meta};
use serde_json::json;
use ui_support::{AppDirs, harness, wait_for_label, wait_until};

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
