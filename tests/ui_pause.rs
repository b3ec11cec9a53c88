//! Guards Pause and Resume in the window (issue #16, item 5): a running
//! transfer's row has a Pause button; pressing it holds the transfer on both
//! sides (the other device is told this device paused), the row says "Paused"
//! instead of a speed and offers Resume; a pause by the other device reads
//! "Paused by Laptop", and each side lifts only its own pause.

mod ui_support;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ferry::api::{AcceptPolicy, Command, Event, Pauses};
use ferry::app::FerryApp;
use ferry::app::state::Phase;
use ui_support::{AppDirs, TestPeer, harness, wait_for_label, wait_until};

/// Big enough to still be running while the test looks; sparse, so cheap.
const BIG: u64 = 2 << 30;

/// The row's transfer streams and can be paused.
fn pausable(app: &FerryApp) -> bool {
    app.state()
        .transfers
        .first()
        .is_some_and(|r| r.phase == Phase::Running && r.bytes_done > 0 && r.pause.is_some())
}

/// Steps the window until the peer reported `pause` for any transfer.
fn peer_reports(harness: &mut Harness<'static, FerryApp>, peer: &mut TestPeer, pause: Pauses) {
    wait_until(harness, &format!("the peer sees {pause:?}"), |_| {
        peer.poll();
        let last = peer.seen.iter().rev().find_map(|e| match e {
            Event::PauseChanged { pause, .. } => Some(*pause),
            _ => None,
        });
        last == Some(pause)
    });
}

fn wait_for_text(harness: &mut Harness<'static, FerryApp>, part: &str) {
    wait_until(harness, part, |h| h.query_by_label_contains(part).is_some());
}

fn no_text(harness: &Harness<'static, FerryApp>, part: &str) -> bool {
    harness.query_by_label_contains(part).is_none()
}

/// At 640×480 the paused row's title, buttons and status line stay apart
/// and inside the window.
fn fits_at_the_smallest_size(harness: &mut Harness<'static, FerryApp>) {
    harness.set_size(egui::Vec2::new(640.0, 480.0));
    harness.run_steps(4);
    let rects = [
        harness.get_by_label("video.mkv").rect(),
        harness.get_by_label("Resume").rect(),
        harness.get_by_label("Cancel").rect(),
        harness
            .get_by_label_contains("Paused by you and Laptop")
            .rect(),
    ];
    for (i, a) in rects.iter().enumerate() {
        assert!(a.max.x <= 640.5, "{a:?} past the right edge");
        for b in &rects[i + 1..] {
            assert!(!a.intersects(*b), "{a:?} overlaps {b:?}");
        }
    }
    harness.set_size(egui::Vec2::new(1040.0, 700.0));
    harness.run_steps(2);
}

/// Resume in the window lets the transfer go on both sides; then Cancel.
fn resume_then_cancel(harness: &mut Harness<'static, FerryApp>, peer: &mut TestPeer) {
    harness.get_by_label("Resume").click();
    wait_for_label(harness, "Pause");
    peer_reports(harness, peer, Pauses::default());
    assert!(no_text(harness, "Paused"));
    harness.get_by_label("Cancel").click();
    wait_for_label(harness, "Cancelled by you");
}

#[test]
fn pause_and_resume_while_sending_hold_the_receiver_too() {
    let (_dirs, mut peer, mut harness) = ui_support::window_sending_sparse(BIG);
    wait_until(&mut harness, "bytes flowing", |h| pausable(h.state()));
    assert!(harness.query_by_label("Resume").is_none());
    harness.get_by_label("Pause").click();
    wait_for_label(&mut harness, "Resume");
    peer_reports(
        &mut harness,
        &mut peer,
        Pauses {
            local: false,
            remote: true,
        },
    );
    // "Paused" where the speed and time left were.
    wait_for_text(&mut harness, "· Paused");
    assert!(no_text(&harness, "/s"), "no speed in a pause");
    assert!(no_text(&harness, " left"), "no time left in a pause");
    resume_then_cancel(&mut harness, &mut peer);
    assert!(
        harness.query_by_label("Pause").is_none(),
        "only while running"
    );
}

#[test]
fn a_pause_by_the_sender_is_named_and_each_side_lifts_its_own() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Laptop", AcceptPolicy::Ask);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let id = ui_support::accept_sparse_from(&mut harness, &peer, &dirs.scratch(), "video.mkv", BIG);
    wait_until(&mut harness, "bytes flowing", |h| pausable(h.state()));
    peer.engine.send(Command::Pause { id });
    wait_for_text(&mut harness, "Paused by Laptop");
    // The window can hold it too; then both hold it.
    harness.get_by_label("Pause").click();
    wait_for_text(&mut harness, "Paused by you and Laptop");
    harness.get_by_label("Resume");
    fits_at_the_smallest_size(&mut harness);
    peer_reports(
        &mut harness,
        &mut peer,
        Pauses {
            local: true,
            remote: true,
        },
    );
    // The sender lifts its pause: the window's stays.
    peer.engine.send(Command::Resume { id });
    wait_until(&mut harness, "only the window's pause", |h| {
        h.query_by_label_contains("Paused by").is_none() && h.query_by_label("Resume").is_some()
    });
    wait_for_text(&mut harness, "· Paused");
    resume_then_cancel(&mut harness, &mut peer);
}
