//! Guards the window's "Check network": it runs the check in the background
//! (the dialog shows a spinner meanwhile, the window keeps drawing), then
//! shows the verdict as a sentence and one row per check, natively, with no
//! subprocess. Everything stays on loopback.

mod ui_support;

use egui_kittest::kittest::Queryable;
use ui_support::{wait_for_label, wait_until};

#[test]
fn check_network_shows_a_verdict_and_rows() {
    let (_dirs, peer, mut harness) = ui_support::window_seeing_kitchen();

    harness.get_by_label("Check network").click();
    // The check listens for a few seconds: the dialog says so meanwhile.
    wait_for_label(&mut harness, "Checking the network…");
    // Let the window settle (it fades in), then remember where its title is.
    harness.run_steps(10);
    let running_at = harness.get_by_label("Network check").rect();
    wait_until(&mut harness, "the check's report", |h| {
        h.query_by_label("Run again").is_some()
    });
    assert!(harness.query_by_label("Checking the network…").is_none());
    // The dialog kept its size and place: the report does not make it jump.
    assert_eq!(harness.get_by_label("Network check").rect(), running_at);

    // The verdict first, as a sentence, then the rows.
    harness.get_by_label_contains("No problems found");
    harness.get_by_label("Transfers port");
    harness.get_by_label("Own beacons");
    harness.get_by_label("It hears us");
    harness.get_by_label("We hear it");
    harness.get_by_label("It hears our beacons");
    harness.get_by_label("Copy report");
    drop(peer);
}
