//! Guards settings: what is changed and saved in the Settings tab is there
//! after a restart, and an "Always accept" trust rule is saved, auto-accepts
//! the next offer after a restart, and can be revoked.

mod ui_support;

use egui_kittest::kittest::Queryable;
use ferry::api::{AcceptPolicy, Command, Event};
use ferry::api::{Outcome, TransferId};
use ferry::config::{Settings, Theme};
use ui_support::{AppDirs, TestPeer, harness, type_into, wait_for_label, wait_until, write_file};

#[test]
fn settings_survive_a_restart() {
    let dirs = AppDirs::new("Desk");
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("Settings").click();
    wait_for_label(&mut harness, "Device name");
    harness.get_by_label("Device name").focus();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.step();
    type_into(&mut harness, "Device name", "Studio");
    harness.get_by_label("Dark").click();
    harness.step();
    harness.get_by_label("Save").click();
    wait_for_label(&mut harness, "Saved.");
    harness.get_by_label("This device: Studio");
    drop(harness);

    let saved = Settings::load(&dirs.config());
    assert_eq!(saved.alias, "Studio");
    assert_eq!(saved.theme, Theme::Dark);
    let mut harness = ui_support::harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("This device: Studio");
    assert_eq!(harness.state().settings().theme, Theme::Dark);
    assert!(
        harness.ctx.global_style().visuals.dark_mode,
        "the dark theme is applied"
    );
}

#[test]
fn trust_rule_is_saved_applied_after_restart_and_revocable() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Laptop", AcceptPolicy::Ask);
    let scratch = tempfile::tempdir().expect("tmp");
    let file = scratch.path().join("a.txt");
    write_file(&file, 10);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let to = harness.state().local_addr().expect("listening");
    peer.engine.send(Command::Send {
        id: TransferId::fresh(),
        to,
        paths: vec![file.clone()],
    });
    wait_for_label(&mut harness, "Always accept from Laptop");
    harness.get_by_label("Always accept from Laptop").click();
    wait_for_label(&mut harness, "Done");
    drop(harness);
    let trusted = Settings::load(&dirs.config()).trusted_devices;
    assert_eq!(trusted.len(), 1);
    assert_eq!(trusted[0].device_id, peer.id(), "the key is pinned");
    assert_eq!(trusted[0].alias, "Laptop");

    // After a restart the next offer from Laptop is accepted without a prompt.
    let mut harness = ui_support::harness(&dirs);
    harness.run_steps(2);
    let to = harness.state().local_addr().expect("listening");
    let id = TransferId::fresh();
    peer.seen.clear();
    peer.engine.send(Command::Send {
        id,
        to,
        paths: vec![file.clone()],
    });
    wait_until(&mut harness, "the auto-accepted transfer", |_| {
        peer.find(|e| matches!(e, Event::Finished { id: i, .. } if *i == id))
            .is_some()
    });
    assert!(matches!(
        peer.find(|e| matches!(e, Event::Finished { id: i, .. } if *i == id)),
        Some(Event::Finished {
            outcome: Outcome::Completed { .. },
            ..
        })
    ));
    assert!(harness.state().state().prompts.is_empty());
    wait_for_label(&mut harness, "Done");
    harness.get_by_label("a.txt");
    assert!(
        dirs.downloads().join("a (1).txt").exists(),
        "never overwrites"
    );

    // Revoke it in Settings: the next offer asks again.
    harness.get_by_label("Settings").click();
    wait_for_label(&mut harness, "Revoke Laptop");
    harness.get_by_label("Revoke Laptop").click();
    harness.run_steps(2);
    assert!(harness.state().settings().trusted_devices.is_empty());
    peer.engine.send(Command::Send {
        id: TransferId::fresh(),
        to,
        paths: vec![file],
    });
    wait_for_label(&mut harness, "Laptop wants to send you 1 file");
    drop(harness);
    assert!(Settings::load(&dirs.config()).trusted_devices.is_empty());
}
