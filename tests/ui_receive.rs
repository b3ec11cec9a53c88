//! Guards receiving in the window: an offer shows a prompt with sender and
//! size; Accept writes the file and both sides report success; Decline writes
//! nothing and the sender hears "declined"; several prompts can wait at once;
//! a text message shows with a Copy button that fills the clipboard.

mod ui_support;

use egui_kittest::kittest::Queryable;
use ferry::api::{AcceptPolicy, Command, Event};
use ferry::api::{Outcome, TransferId};
use ui_support::{AppDirs, TestPeer, harness, wait_for_label, wait_until, write_file};

fn finished(peer: &mut TestPeer, id: TransferId) -> Option<Outcome> {
    match peer.find(|e| matches!(e, Event::Finished { id: i, .. } if *i == id)) {
        Some(Event::Finished { outcome, .. }) => Some(outcome),
        _ => None,
    }
}

#[test]
fn accept_writes_the_file_and_decline_writes_nothing() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Laptop", AcceptPolicy::Ask);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let to = harness.state().local_addr().expect("listening");
    let scratch = tempfile::tempdir().expect("tmp");
    let wanted = scratch.path().join("wanted.bin");
    let bytes = write_file(&wanted, 200_000);
    let unwanted = scratch.path().join("unwanted.bin");
    write_file(&unwanted, 1000);

    let (first, second) = (TransferId::fresh(), TransferId::fresh());
    peer.engine.send(Command::Send {
        id: first,
        to,
        paths: vec![wanted],
    });
    wait_for_label(&mut harness, "Laptop wants to send you 1 file");
    peer.engine.send(Command::Send {
        id: second,
        to,
        paths: vec![unwanted],
    });
    wait_until(&mut harness, "two prompts", |h| {
        h.state().state().prompts.len() == 2
    });
    harness.get_by_label("Total 195.3 KiB");
    assert_eq!(
        harness
            .get_all_by_label_contains("free in the download folder")
            .count(),
        2
    );

    // The first prompt is on top.
    let accept = harness
        .get_all_by_label("Accept")
        .min_by(|a, b| a.rect().top().total_cmp(&b.rect().top()))
        .expect("Accept");
    accept.click();
    wait_until(&mut harness, "the sender's success", |_| {
        finished(&mut peer, first).is_some()
    });
    assert!(matches!(
        finished(&mut peer, first),
        Some(Outcome::Completed { files: 1, .. })
    ));
    wait_for_label(&mut harness, "Done");
    let received = std::fs::read(dirs.downloads().join("wanted.bin")).expect("written");
    assert!(received == bytes);

    harness.get_by_label("Decline").click();
    wait_until(&mut harness, "the sender's answer", |_| {
        finished(&mut peer, second).is_some()
    });
    assert!(matches!(
        finished(&mut peer, second),
        Some(Outcome::Declined(_))
    ));
    wait_for_label(&mut harness, "You declined");
    let names: Vec<_> = std::fs::read_dir(dirs.downloads())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec!["wanted.bin"], "declining wrote nothing");
}

#[test]
fn text_message_shows_with_copy() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Phone", AcceptPolicy::Ask);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let to = harness.state().local_addr().expect("listening");
    let id = TransferId::fresh();
    let text = "door code 4711";
    peer.engine.send(Command::SendText {
        id,
        to,
        text: text.into(),
    });
    wait_for_label(&mut harness, "Phone wants to send you a message");
    // Issue 16, item 9: the prompt shows what the message says.
    harness.get_by_label(text);
    harness.get_by_label("Accept").click();
    wait_until(&mut harness, "the prompt to close", |h| {
        h.query_by_label("Phone wants to send you a message")
            .is_none()
    });
    wait_for_label(&mut harness, text);
    harness.get_by_label("Message from Phone");
    harness.get_by_label("Copy").click();
    harness.step();
    assert!(
        copied(&harness, text),
        "Copy puts the message on the clipboard"
    );
    wait_until(&mut harness, "the sender's success", |_| {
        finished(&mut peer, id).is_some()
    });
    assert!(matches!(
        finished(&mut peer, id),
        Some(Outcome::Completed { .. })
    ));
    // History keeps it readable, with Copy and no folder to open.
    wait_until(&mut harness, "the history entry", |h| {
        !h.state().state().history.is_empty()
    });
    harness.get_by_label("History").click();
    harness.run_steps(3);
    assert_eq!(
        harness.state().state().history[0].text.as_deref(),
        Some(text)
    );
    // The message card above, and the History entry below it.
    assert_eq!(harness.get_all_by_label(text).count(), 2);
    assert!(harness.query_by_label("Open folder").is_none());
    let copy = harness
        .get_all_by_label("Copy")
        .last()
        .expect("History's Copy");
    copy.click();
    harness.step();
    assert!(
        copied(&harness, text),
        "History's Copy puts the message on the clipboard"
    );
}

/// True when the last frame put `text` on the clipboard.
fn copied(harness: &egui_kittest::Harness<'static, ferry::app::FerryApp>, text: &str) -> bool {
    harness
        .output()
        .platform_output
        .commands
        .iter()
        .any(|c| matches!(c, egui::OutputCommand::CopyText(t) if t == text))
}
