//! Guards the window's side of issue #16 items 1 and 4: a Cancel keeps what
//! arrived and the next offer of it says "Resuming after …"; "Cancel and
//! discard" leaves nothing; a send cut off by the network shows "Will resume
//! when … is back" with "Don't resume", and goes on by itself when the device
//! is back (no failed row stays); "Retry all failed" sends every failed row
//! again.

mod common;
mod ui_support;

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use common::Link;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ferry::api::{AcceptPolicy, Command, Direction, Event, Outcome, TransferId, human_bytes};
use ferry::app::FerryApp;
use ferry::app::state::Phase;
use ui_support::{
    AppDirs, TestPeer, confirm_pairing, drag_and_drop, harness, type_into, wait_for_label,
    wait_until,
};

/// Big enough to be mid-file when the test strikes; sparse, so cheap to make.
const BIG: u64 = 2 << 30;

fn sparse(path: &Path, len: u64) -> PathBuf {
    File::create(path)
        .and_then(|f| f.set_len(len))
        .expect("sparse file");
    path.to_path_buf()
}

fn running_with_bytes(app: &FerryApp) -> bool {
    app.state()
        .transfers
        .first()
        .is_some_and(|r| r.phase == Phase::Running && r.bytes_done > 0)
}

/// Files whose name holds ".ferry-part" in `dir` (not recursive).
fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".ferry-part"))
        .collect()
}

/// `peer` offers a sparse file to the window; the window accepts it and
/// bytes flow.
fn offer_and_accept(harness: &mut Harness<'static, FerryApp>, peer: &TestPeer, file: &Path) {
    let to = harness.state().local_addr().expect("listening");
    peer.engine.send(Command::Send {
        id: TransferId::fresh(),
        to,
        paths: vec![file.to_path_buf()],
    });
    wait_for_label(harness, "Accept");
    harness.get_by_label("Accept").click();
    wait_until(harness, "bytes flowing", |h| running_with_bytes(h.state()));
}

#[test]
fn a_cancelled_receive_is_offered_again_as_resuming_and_discard_leaves_nothing() {
    let dirs = AppDirs::new("Desk");
    let peer = TestPeer::start("Laptop", AcceptPolicy::Ask);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let file = sparse(&dirs.scratch().join("video.mkv"), BIG);
    offer_and_accept(&mut harness, &peer, &file);
    harness.get_by_label("Cancel").click();
    wait_for_label(&mut harness, "Cancelled by you");
    assert_eq!(
        partials(&dirs.downloads()).len(),
        2,
        "kept, with its sidecar"
    );

    // The same file again: the card says how much is already here.
    let to = harness.state().local_addr().expect("listening");
    peer.engine.send(Command::Send {
        id: TransferId::fresh(),
        to,
        paths: vec![file.clone()],
    });
    wait_until(&mut harness, "the second offer", |h| {
        !h.state().state().prompts.is_empty()
    });
    let kept = harness.state().state().prompts[0].offer.resumed_bytes;
    assert!(kept > 0, "the offer counts what was kept");
    let line = format!(
        "Resuming after {}: only the rest will be sent",
        human_bytes(kept)
    );
    harness.get_by_label(&line);

    // Accept, then "Cancel and discard": nothing is left behind.
    harness.get_by_label("Accept").click();
    wait_until(&mut harness, "bytes flowing again", |h| {
        running_with_bytes(h.state())
    });
    harness.get_by_label("Cancel and discard").click();
    wait_until(&mut harness, "the cancel", |h| {
        h.state()
            .state()
            .transfers
            .first()
            .is_some_and(|r| matches!(r.phase, Phase::Finished(Outcome::Cancelled { .. })))
    });
    assert_eq!(partials(&dirs.downloads()), Vec::<String>::new());
    assert!(!dirs.downloads().join("video.mkv").exists());
}

/// Adds the device behind `link` through the "Add by address…" dialog.
fn add_by_address(harness: &mut Harness<'static, FerryApp>, addr: SocketAddr, alias: &str) {
    harness.get_by_label("➕ Add by address…").click();
    let field = "Address (IP or host name, optionally :port)";
    wait_for_label(harness, field);
    type_into(harness, field, &addr.to_string());
    harness.get_by_label("Add").click();
    wait_for_label(harness, alias);
}

fn outgoing_rows(app: &FerryApp) -> Vec<&ferry::app::state::TransferRow> {
    app.state()
        .transfers
        .iter()
        .filter(|r| r.direction == Direction::Outgoing)
        .collect()
}

#[test]
fn a_send_cut_off_waits_for_the_device_and_goes_on_by_itself() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Studio desk", AcceptPolicy::Everyone);
    let link = Link::start((Ipv4Addr::LOCALHOST, 0).into(), peer.addr(), 16 << 20);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    add_by_address(&mut harness, link.addr, "Studio desk");
    let file = sparse(&dirs.scratch().join("film.mkv"), 64 << 20);
    drag_and_drop(&mut harness, &[file]);
    confirm_pairing(&mut harness, &mut peer, "Studio desk");
    wait_until(&mut harness, "bytes flowing", |h| {
        running_with_bytes(h.state())
    });
    let port = link.cut();
    wait_for_label(&mut harness, "Will resume when Studio desk is back");
    harness.get_by_label("Don't resume");
    // Not a verdict yet: "Interrupted", no red "Failed".
    harness.get_by_label("Interrupted");
    assert!(harness.query_by_label("Failed").is_none());

    // The device is back: the same row runs again and ends done, no red row.
    let _back = Link::start(port, peer.addr(), 0);
    wait_until(&mut harness, "the resumed send done", |h| {
        let rows = outgoing_rows(h.state());
        rows.len() == 1 && rows[0].phase_is_success()
    });
    assert!(harness.query_by_label("Don't resume").is_none());
    // History tells how it ended, once.
    let history = &harness.state().state().history;
    assert_eq!(history.len(), 1, "{history:?}");
    assert!(history[0].outcome.is_success(), "{history:?}");
    let resumed =
        peer.find(|e| matches!(e, Event::Started { resumed_bytes, .. } if *resumed_bytes > 0));
    assert!(resumed.is_some(), "the receiver resumed: {:?}", peer.seen);
}

#[test]
fn dont_resume_stops_waiting_and_retry_all_sends_every_failed_row() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Studio desk", AcceptPolicy::Everyone);
    let link = Link::start((Ipv4Addr::LOCALHOST, 0).into(), peer.addr(), 4 << 20);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    add_by_address(&mut harness, link.addr, "Studio desk");
    let one = sparse(&dirs.scratch().join("one.bin"), 64 << 20);
    let two = sparse(&dirs.scratch().join("two.bin"), 64 << 20);
    drag_and_drop(&mut harness, &[one]);
    confirm_pairing(&mut harness, &mut peer, "Studio desk");
    drag_and_drop(&mut harness, &[two]);
    wait_until(&mut harness, "both sending", |h| {
        let rows = outgoing_rows(h.state());
        rows.len() == 2
            && rows
                .iter()
                .all(|r| r.phase == Phase::Running && r.bytes_done > 0)
    });
    let port = link.cut();
    wait_until(&mut harness, "both waiting to resume", |h| {
        h.query_all_by_label("Don't resume").count() == 2
    });
    harness.get_by_label("Retry all failed (2)");
    harness
        .get_all_by_label("Don't resume")
        .next()
        .expect("one")
        .click();
    wait_until(&mut harness, "one still waiting", |h| {
        h.query_all_by_label("Don't resume").count() == 1
    });
    harness.get_by_label("Don't resume").click();
    wait_until(&mut harness, "none waiting", |h| {
        h.query_by_label("Don't resume").is_none()
    });

    // Nothing goes by itself now; Retry all sends both again.
    let _back = Link::start(port, peer.addr(), 0);
    harness.get_by_label("Retry all failed (2)").click();
    wait_until(&mut harness, "both done", |h| {
        let rows = outgoing_rows(h.state());
        rows.len() == 2 && rows.iter().all(|r| r.phase_is_success())
    });
    assert!(harness.query_by_label_contains("Retry all").is_none());
}
