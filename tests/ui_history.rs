//! Guards history: a finished transfer is listed in the History tab, is still
//! there after a restart (history.json in the data folder), and "Clear
//! history" empties it for good.

mod ui_support;

use egui_kittest::kittest::Queryable;
use ferry::api::AcceptPolicy;
use ui_support::{
    AppDirs, TestPeer, add_peer_by_address, confirm_pairing, drag_and_drop, harness,
    wait_for_label, write_file,
};

#[test]
fn finished_transfer_is_listed_kept_and_clearable() {
    let dirs = AppDirs::new("Desk");
    let mut peer = TestPeer::start("Laptop", AcceptPolicy::Everyone);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("History").click();
    wait_for_label(&mut harness, "No finished transfers yet");
    harness.get_by_label_contains("Transfers").click();
    harness.step();

    add_peer_by_address(&mut harness, &peer, "Laptop");
    let file = dirs.scratch().join("holiday.jpg");
    write_file(&file, 50_000);
    drag_and_drop(&mut harness, &[file]);
    confirm_pairing(&mut harness, &mut peer, "Laptop");
    wait_for_label(&mut harness, "Done");
    harness.get_by_label("History").click();
    wait_for_label(&mut harness, "1 finished transfer");
    harness.get_by_label("holiday.jpg");
    harness.get_by_label_contains("to Laptop · 1 file, 48.8 KiB");
    drop(harness);
    assert!(dirs.data().join("history.json").exists());

    let mut harness = ui_support::harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("History").click();
    wait_for_label(&mut harness, "holiday.jpg");
    harness.get_by_label("Done");
    harness.get_by_label("Clear history").click();
    wait_for_label(&mut harness, "No finished transfers yet");
    drop(harness);

    let mut harness = ui_support::harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("History").click();
    wait_for_label(&mut harness, "No finished transfers yet");
}
