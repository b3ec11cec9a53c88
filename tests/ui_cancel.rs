//! Guards Cancel: pressed mid-transfer in the window, both sides end as
//! cancelled (the other side learns it was the remote who stopped); a cancel
//! by the sender shows "Cancelled by the sender" in the window; Retry sends
//! the same files again to the same device.

mod ui_support;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ferry::api::{AcceptPolicy, Command, Event};
use ferry::api::{Direction, Outcome, Party, TransferId};
use ferry::app::FerryApp;
use ferry::app::state::Phase;
use ui_support::{AppDirs, TestPeer, harness, wait_for_label, wait_until};

/// Big enough to still be running when Cancel is pressed; sparse, so cheap to make.
const BIG: u64 = 2 << 30;

fn running_with_bytes(app: &ferry::app::FerryApp) -> bool {
    app.state()
        .transfers
        .first()
        .is_some_and(|r| r.phase == Phase::Running && r.bytes_done > 0)
}

#[test]
fn cancel_while_sending_ends_both_sides_and_retry_sends_again() {
    let (_dirs, mut peer, mut harness) = ui_support::window_sending_sparse(BIG);
    wait_until(&mut harness, "bytes flowing", |h| {
        running_with_bytes(h.state())
    });
    harness.get_by_label("Cancel").click();
    wait_for_label(&mut harness, "Cancelled by you");
    harness.get_by_label("Cancelled");
    wait_until(&mut harness, "the receiver's end", |_| {
        peer.find(|e| {
            matches!(
                e,
                Event::Finished {
                    direction: Direction::Incoming,
                    ..
                }
            )
        })
        .is_some()
    });
    let end = peer.find(|e| {
        matches!(
            e,
            Event::Finished {
                direction: Direction::Incoming,
                ..
            }
        )
    });
    assert!(
        matches!(
            end,
            Some(Event::Finished {
                outcome: Outcome::Cancelled { by: Party::Remote },
                ..
            })
        ),
        "the receiver learns the sender cancelled: {end:?}"
    );

    // Retry offers the same file to the same device again.
    peer.seen.clear();
    harness.get_by_label("Retry").click();
    wait_until(&mut harness, "the retried transfer running", |h| {
        running_with_bytes(h.state())
    });
    assert!(peer.find(|e| matches!(e, Event::Started { .. })).is_some());
    harness.get_by_label("Cancel").click();
    wait_for_label(&mut harness, "Cancelled by you");
}

/// The app, accepting a big transfer from `peer` that is now running;
/// returns the peer's transfer id. The scratch folder must outlive the transfer.
fn receive_big(
    harness: &mut Harness<'static, FerryApp>,
    peer: &TestPeer,
    scratch: &std::path::Path,
    name: &str,
) -> TransferId {
    let id = ui_support::accept_sparse_from(harness, peer, scratch, name, BIG);
    wait_until(harness, "bytes flowing", |h| running_with_bytes(h.state()));
    id
}

#[test]
fn cancel_by_the_sender_is_shown_as_such() {
    let dirs = AppDirs::new("Desk");
    let peer = TestPeer::start("Laptop", AcceptPolicy::Ask);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let id = receive_big(&mut harness, &peer, &dirs.scratch(), "video.mkv");
    peer.engine.send(Command::Cancel { id });
    wait_for_label(&mut harness, "Cancelled by the sender");
    harness.get_by_label("Cancelled");
    assert!(
        !dirs.downloads().join("video.mkv").exists(),
        "nothing appears under the final name"
    );
}

#[test]
fn cancel_while_receiving_tells_the_sender() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Laptop", AcceptPolicy::Ask);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let id = receive_big(&mut harness, &peer, &dirs.scratch(), "backup.tar");
    harness.get_by_label("Cancel").click();
    wait_for_label(&mut harness, "Cancelled by you");
    wait_until(&mut harness, "the sender's end", |_| {
        peer.find(|e| matches!(e, Event::Finished { id: i, .. } if *i == id))
            .is_some()
    });
    let end = peer.find(|e| matches!(e, Event::Finished { id: i, .. } if *i == id));
    assert!(
        matches!(
            end,
            Some(Event::Finished {
                outcome: Outcome::Cancelled { by: Party::Remote },
                ..
            })
        ),
        "the sender learns the receiver cancelled: {end:?}"
    );
}
