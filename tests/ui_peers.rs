//! Guards the Devices panel: an empty list explains what to check; a device
//! beaconing on loopback appears by itself and turns offline when it leaves; a device added by address
//! (answering a real hello) appears with its name and state, selectable with
//! the mouse, and is remembered.

mod ui_support;

use egui_kittest::kittest::{NodeT, Queryable};
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

/// Issue 16, item 7: online devices come first; one that leaves is drawn
/// offline below them, gets no Send button, and × forgets it.
#[test]
fn offline_devices_sort_last_have_no_send_and_can_be_forgotten() {
    let dirs = AppDirs::new("Desk");
    let udp_port = ui_support::free_udp_port();
    let attic = TestPeer::start_beaconing("Attic", AcceptPolicy::Ask, udp_port);
    let basement = TestPeer::start_beaconing("Basement", AcceptPolicy::Ask, udp_port);
    let mut options = dirs.options();
    options.udp_port = Some(udp_port);
    let file = dirs.scratch().join("a.txt");
    ui_support::write_file(&file, 10);
    options.files = vec![file];
    let mut harness = ui_support::harness_with(options);
    ui_support::wait_for_label(&mut harness, "Attic");
    ui_support::wait_for_label(&mut harness, "Basement");
    assert_eq!(harness.get_all_by_label("Send").count(), 2, "both online");
    // Attic leaves: it says goodbye and drops below Basement.
    let attic_id = attic.id();
    drop(attic);
    ui_support::wait_until(&mut harness, "Attic offline", |h| {
        !h.state().state().peers[&attic_id].online
    });
    let order: Vec<String> = harness
        .state()
        .state()
        .peers_in_order()
        .iter()
        .map(|p| p.device.alias.clone())
        .collect();
    assert_eq!(order, ["Basement", "Attic"]);
    let (attic_tile, basement_tile) = (
        harness.get_by_label("Attic").rect(),
        harness.get_by_label("Basement").rect(),
    );
    assert!(
        attic_tile.min.y > basement_tile.max.y,
        "offline below online"
    );
    let sends: Vec<_> = harness.get_all_by_label("Send").map(|n| n.rect()).collect();
    assert_eq!(sends.len(), 1, "no Send on the offline tile");
    assert!(basement_tile.contains_rect(sends[0]));
    let forget = harness
        .get_all_by_label("×")
        .find(|n| attic_tile.contains_rect(n.rect()))
        .expect("× on the offline tile");
    forget.click();
    harness.run_steps(2);
    assert!(harness.query_by_label("Attic").is_none(), "forgotten");
    assert!(!harness.state().state().peers.contains_key(&attic_id));
    drop(basement);
}

/// Issue 16, item 7: an address where nothing answers is explained in plain
/// words; kept, it is listed as not answering and can be removed (and is
/// then no longer saved).
#[test]
fn an_address_nothing_answers_at_is_explained_and_removable() {
    let dirs = AppDirs::new("Desk");
    let gone = TestPeer::start("Gone", AcceptPolicy::Ask);
    let addr = gone.addr();
    drop(gone);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("➕ Add by address…").click();
    let field = "Address (IP or host name, optionally :port)";
    ui_support::wait_for_label(&mut harness, field);
    ui_support::type_into(&mut harness, field, &addr.to_string());
    harness.get_by_label("Add").click();
    ui_support::wait_until(&mut harness, "the explanation", |h| {
        h.query_by_label_contains("Nothing answered at 127.0.0.1")
            .is_some()
    });
    let why = harness
        .get_by_label_contains("Nothing answered at 127.0.0.1")
        .accesskit_node()
        .value()
        .unwrap_or_default();
    assert!(why.contains("Ferry is open there"), "{why}");
    assert!(!why.to_lowercase().contains("peer"), "no jargon: {why}");
    harness.get_by_label("Keep trying").click();
    ui_support::wait_for_label(&mut harness, &addr.to_string());
    harness.get_by_label_contains("No Ferry answers at this address yet");
    assert!(
        harness
            .state()
            .settings()
            .manual_peers
            .contains(&addr.to_string()),
        "kept"
    );
    harness.get_by_label("×").click();
    harness.run_steps(2);
    assert!(harness.query_by_label(&addr.to_string()).is_none());
    assert!(
        harness.state().settings().manual_peers.is_empty(),
        "no longer saved"
    );
    harness.get_by_label("No devices found yet");
}

/// Issue 16, item 8: two devices with the same name get the start of their
/// id, and a drop names the one it goes to.
#[test]
fn same_named_devices_are_told_apart() {
    let dirs = AppDirs::new("Desk");
    let udp_port = ui_support::free_udp_port();
    let one = TestPeer::start_beaconing("ubuntu", AcceptPolicy::Ask, udp_port);
    let two = TestPeer::start_beaconing("ubuntu", AcceptPolicy::Ask, udp_port);
    let mut options = dirs.options();
    options.udp_port = Some(udp_port);
    let mut harness = ui_support::harness_with(options);
    let short = |id: &str| id[..4].to_uppercase();
    let (first, second) = (
        format!("ubuntu ({})", short(&one.id())),
        format!("ubuntu ({})", short(&two.id())),
    );
    ui_support::wait_for_label(&mut harness, &first);
    ui_support::wait_for_label(&mut harness, &second);
    harness.get_by_label(&second).click();
    harness.run_steps(2);
    harness.input_mut().hovered_files = vec![egui::HoveredFile {
        path: Some(dirs.scratch().join("x.txt")),
        mime: String::new(),
    }];
    harness.run_steps(3);
    harness.get_by_label(&format!("Drop to send to {second}"));
    harness.input_mut().hovered_files.clear();
    harness.run_steps(2);
}

/// Adding by address a device that is already listed (heard by beacon)
/// does not leave the dialog waiting for an answer it already has.
#[test]
fn adding_a_listed_device_by_address_closes_at_once() {
    let (dirs, peer, mut harness) = ui_support::window_seeing_kitchen();
    harness.get_by_label("➕ Add by address…").click();
    let field = "Address (IP or host name, optionally :port)";
    ui_support::wait_for_label(&mut harness, field);
    ui_support::type_into(&mut harness, field, &peer.addr().to_string());
    harness.get_by_label("Add").click();
    ui_support::wait_until(&mut harness, "the dialog to close", |h| {
        h.query_by_label(field).is_none()
    });
    assert!(
        harness
            .state()
            .settings()
            .manual_peers
            .contains(&peer.addr().to_string())
    );
    drop(harness);
    drop(dirs);
}

/// Issue 16, item 8: a window still called by the host name that sees
/// another device of that name takes a suffix of its own id, says so,
/// saves it and announces it; the other device keeps its chosen name.
#[test]
fn a_default_name_that_clashes_takes_a_suffix() {
    let host = ferry::config::default_alias();
    let dirs = AppDirs::new(&host);
    let peer = TestPeer::start(&host, AcceptPolicy::Ask);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    let own_id = harness.state().state().own_id.clone();
    let suffix: String = own_id.chars().take(4).collect::<String>().to_lowercase();
    let renamed = format!("{host}-{suffix}");
    harness.get_by_label("➕ Add by address…").click();
    let field = "Address (IP or host name, optionally :port)";
    ui_support::wait_for_label(&mut harness, field);
    ui_support::type_into(&mut harness, field, &peer.addr().to_string());
    harness.get_by_label("Add").click();
    ui_support::wait_until(&mut harness, "the renamed alias on disk", |_| {
        ferry::config::Settings::load(&dirs.config()).alias == renamed
    });
    harness.get_by_label_contains(&format!("this one is now called “{renamed}”"));
    // The top bar names this device by its new name, and the peer is
    // still listed once.
    harness.run_steps(2);
    harness.get_by_label(&format!("This device: {renamed}"));
    assert_eq!(harness.state().state().peers.len(), 1);
}

/// With LocalSend off in Settings there is nothing to scan for: the Devices
/// panel offers no "Scan for LocalSend devices".
#[test]
fn no_localsend_scan_when_localsend_is_off() {
    let dirs = AppDirs::new("Desk");
    let mut settings = ferry::config::Settings::load(&dirs.config());
    settings.localsend = false;
    settings.save(&dirs.config()).expect("save settings");
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("➕ Add by address…");
    assert!(
        harness
            .query_by_label("Scan for LocalSend devices")
            .is_none()
    );
}
