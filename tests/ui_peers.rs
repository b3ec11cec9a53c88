//! Guards the Devices panel: an empty list explains what to check; a device
//! beaconing on loopback appears by itself and turns offline when it leaves; a device added by address
//! (answering a real hello) appears with its name and state, selectable with
//! the mouse, and is remembered.

mod ui_support;

use egui_kittest::kittest::Queryable;
use ferry::api::AcceptPolicy;
use ui_support::{AppDirs, TestPeer, add_peer_by_address, harness};

#[test]
fn empty_list_says_what_to_check() {
    let dirs = AppDirs::new("Desk");
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("No devices found yet");
    harness.get_by_label_contains("same network");
    harness.get_by_label_contains("firewall");
    harness.get_by_label("Check network");
}

#[test]
fn peer_added_by_address_appears_and_can_be_selected() {
    let dirs = AppDirs::new("Desk");
    let peer = TestPeer::start("Laptop", AcceptPolicy::Ask);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    add_peer_by_address(&mut harness, &peer, "Laptop");
    assert!(harness.query_by_label("No devices found yet").is_none());
    let entry = &harness.state().state().peers[&peer.id()];
    assert!(entry.online);
    assert_eq!(entry.addr(), Some(peer.addr()));
    harness.get_by_label("Laptop").click();
    harness.run_steps(2);
    assert!(harness.state().state().peers[&peer.id()].selected);
    // The address is remembered for the next start.
    let saved = ferry::config::Settings::load(&dirs.config());
    // Saving happens on a helper thread; dropping the app waits for it.
    drop(harness);
    let saved_after = ferry::config::Settings::load(&dirs.config());
    assert!(
        saved_after.manual_peers.contains(&peer.addr().to_string()),
        "manual peers saved: before drop {:?}, after {:?}",
        saved.manual_peers,
        saved_after.manual_peers
    );
}

#[test]
fn beaconing_peer_appears_by_itself() {
    let (_dirs, peer, mut harness) = ui_support::window_seeing_kitchen();
    let entry = &harness.state().state().peers[&peer.id()];
    assert_eq!(entry.source, ferry::discovery::PeerSource::Beacon);
    assert!(entry.online);
    assert_eq!(entry.addr().map(|a| a.port()), Some(peer.addr().port()));
    harness.get_by_label_contains("1 online");
    // It says goodbye when it stops: the tile stays, marked offline.
    let id = peer.id();
    drop(peer);
    ui_support::wait_until(&mut harness, "the goodbye", |h| {
        !h.state().state().peers[&id].online
    });
    assert!(harness.query_by_label_contains("1 online").is_none());
}
