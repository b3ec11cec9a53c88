//! Guards sending from the window: files dropped while a device is selected
//! go to it at once, the row reaches 100% and Done, and the receiver holds the
//! same bytes; a drop with no clear target waits in the tray until the person
//! presses a device's Send. A first send waits on the confirm card; a known
//! name with another key gets a warning card and nothing unless chosen.

mod ui_support;

use egui_kittest::kittest::Queryable;
use ferry::api::{AcceptPolicy, Event, TrustedDevice};
use ferry::api::{Direction, Outcome};
use ferry::config::Settings;
use ui_support::{
    AppDirs, TestPeer, add_peer_by_address, confirm_pairing, drag_and_drop, harness, type_into,
    wait_for_label, wait_until, write_file,
};

#[test]
fn drop_on_selected_peer_sends_and_completes() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Laptop", AcceptPolicy::Everyone);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    add_peer_by_address(&mut harness, &peer, "Laptop");
    harness.get_by_label("Laptop").click();
    harness.run_steps(2);

    let file = dirs.scratch().join("report.pdf");
    let bytes = write_file(&file, 3 * 1024 * 1024 + 17);
    // While the file hovers, the whole window says where it will go.
    harness.input_mut().hovered_files = vec![egui::HoveredFile {
        path: Some(file.clone()),
        mime: String::new(),
    }];
    harness.run_steps(3);
    harness.get_by_label("Drop to send to Laptop");
    drag_and_drop(&mut harness, &[file]);
    assert!(harness.query_by_label("Drop to send to Laptop").is_none());
    confirm_pairing(&mut harness, &mut peer, "Laptop");

    wait_until(&mut harness, "Done", |h| h.query_by_label("Done").is_some());
    harness.get_by_label("100%");
    harness.get_by_label("report.pdf");
    harness.get_by_label("Open folder");
    harness.get_by_label("Show file");
    let received = std::fs::read(peer.downloads.path().join("report.pdf")).expect("received");
    assert!(received == bytes, "the receiver holds the same bytes");
    // The receiver reports its end just after the sender sees the summary.
    wait_until(&mut harness, "the receiver's verified end", |_| {
        peer.find(|e| {
            matches!(
                e,
                Event::Finished {
                    direction: Direction::Incoming,
                    outcome: Outcome::Completed { files: 1, .. },
                    ..
                }
            )
        })
        .is_some()
    });
    // The confirmed device is remembered, on disk too, and can be forgotten.
    wait_until(&mut harness, "the device remembered on disk", |_| {
        Settings::load(&dirs.config()).remembered_devices.len() == 1
    });
    harness.get_by_label("Settings").click();
    wait_for_label(&mut harness, "Forget Laptop");
    harness.get_by_label("Forget Laptop").click();
    wait_until(&mut harness, "the device forgotten on disk", |_| {
        Settings::load(&dirs.config()).remembered_devices.is_empty()
    });
}

#[test]
fn drop_without_target_waits_in_tray_until_send() {
    let dirs = AppDirs::new("Desk");
    let one = TestPeer::start("Laptop", AcceptPolicy::Everyone);
    let mut two = TestPeer::start("Tablet", AcceptPolicy::Everyone);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    add_peer_by_address(&mut harness, &one, "Laptop");
    add_peer_by_address(&mut harness, &two, "Tablet");

    let file = dirs.scratch().join("notes.txt");
    write_file(&file, 1500);
    harness.input_mut().hovered_files = vec![egui::HoveredFile {
        path: Some(file.clone()),
        mime: String::new(),
    }];
    harness.run_steps(3);
    harness.get_by_label("Drop to add to “To send”, then choose a device");
    drag_and_drop(&mut harness, &[file]);
    // Two devices, none selected: nothing is sent, the file waits with its size.
    wait_until(&mut harness, "the tray with the size", |h| {
        h.query_by_label("1.5 KiB").is_some()
    });
    harness.get_by_label("To send");
    harness.get_by_label("notes.txt");
    assert!(harness.state().state().transfers.is_empty());

    // Each tile now has a Send button; press the one on Tablet's tile.
    let tile = harness.get_by_label("Tablet").rect();
    let tablet_send = harness
        .get_all_by_label("Send")
        .find(|b| tile.contains(b.rect().center()))
        .expect("a Send button on Tablet's tile");
    tablet_send.click();
    confirm_pairing(&mut harness, &mut two, "Tablet");
    wait_until(&mut harness, "Done", |h| h.query_by_label("Done").is_some());
    assert!(
        harness.query_by_label("To send").is_none(),
        "the tray is empty"
    );
    assert!(two.downloads.path().join("notes.txt").exists());
    assert!(!one.downloads.path().join("notes.txt").exists());
}

#[test]
fn send_text_reaches_the_selected_device() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Laptop", AcceptPolicy::Everyone);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    add_peer_by_address(&mut harness, &peer, "Laptop");
    harness.get_by_label("💬 Send text…").click();
    wait_for_label(&mut harness, "Message");
    // The only device is already ticked as the recipient.
    type_into(&mut harness, "Message", "see you at 8");
    harness.get_by_label("Send message").click();
    confirm_pairing(&mut harness, &mut peer, "Laptop");
    wait_until(&mut harness, "the text at the receiver", |_| {
        peer.find(|e| matches!(e, Event::TextReceived { text, .. } if text == "see you at 8"))
            .is_some()
    });
    wait_for_label(&mut harness, "Message delivered");
}

#[test]
fn a_known_name_with_another_key_gets_a_warning_card_and_nothing_unless_chosen() {
    let dirs = AppDirs::new("Desk");
    // "Laptop" was confirmed once, with another key than the one answering now.
    let mut settings = Settings::load(&dirs.config());
    settings.remembered_devices.push(TrustedDevice {
        device_id: "f".repeat(64),
        alias: "Laptop".into(),
    });
    settings.save(&dirs.config()).expect("save");
    let mut peer = TestPeer::start("Laptop", AcceptPolicy::Everyone);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    add_peer_by_address(&mut harness, &peer, "Laptop");
    let file = dirs.scratch().join("payroll.xlsx");
    write_file(&file, 2048);
    drag_and_drop(&mut harness, &[file]);
    wait_for_label(&mut harness, "Does Laptop show this code?");
    harness.get_by_label_contains("remembered here with another key");
    harness.get_by_label("I checked with a person there — send");
    assert!(harness.state().state().confirmations[0].key_changed);
    harness.get_by_label("Don't send").click();
    wait_until(&mut harness, "the send ended", |h| {
        h.state()
            .state()
            .transfers
            .first()
            .is_some_and(|r| !r.is_active())
    });
    assert!(harness.state().state().confirmations.is_empty());
    peer.poll();
    assert!(
        !peer
            .seen
            .iter()
            .any(|e| matches!(e, Event::Incoming { .. } | Event::AutoAccepted { .. })),
        "{:#?}",
        peer.seen
    );
    assert!(!peer.downloads.path().join("payroll.xlsx").exists());
    // Nothing new was remembered for that name.
    assert_eq!(harness.state().settings().remembered_devices.len(), 1);
}

/// Issue 16, item 11: while the receiver decides, the sender's row shows the
/// pairing code on a line of its own, in the digits the offer card uses,
/// and it is the code the receiver's engine shows.
#[test]
fn waiting_row_shows_the_code_as_prominently_as_the_offer() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Laptop", AcceptPolicy::Ask);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    add_peer_by_address(&mut harness, &peer, "Laptop");
    harness.get_by_label("Laptop").click();
    harness.run_steps(2);
    let file = dirs.scratch().join("plan.txt");
    write_file(&file, 1000);
    drag_and_drop(&mut harness, &[file]);
    confirm_pairing(&mut harness, &mut peer, "Laptop");
    wait_until(&mut harness, "the offer on the peer", |_| {
        peer.find(|e| matches!(e, Event::Incoming { .. })).is_some()
    });
    let Some(Event::Incoming { code, .. }) = peer.find(|e| matches!(e, Event::Incoming { .. }))
    else {
        unreachable!("found above")
    };
    assert!(!code.is_empty(), "a Ferry offer carries its pairing code");
    wait_for_label(&mut harness, &code);
    harness.get_by_label("Pairing code");
    harness.get_by_label("— Laptop shows the same code if nobody is in between.");
    let digits = harness.get_by_label(&code);
    let size = digits.rect().height();
    assert!(
        size >= 20.0,
        "the code is drawn large ({size} px high), not inside a sentence"
    );
}
