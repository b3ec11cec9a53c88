//! Guards the window's layout from its smallest size (640×480) to 4K (issue
//! 16, item 2): with devices, a message offer, the tray and finished
//! transfers on screen, no two widgets in the Transfers, History or
//! Settings view overlap at any of several sizes, Settings keeps its
//! "Choose…" button inside the window, and a wide window keeps the central
//! column at a readable width.

mod ui_support;

use egui::accesskit::Role;
use egui::{Rect, Vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};
use ferry::api::{AcceptPolicy, Command, TransferId};
use ferry::app::FerryApp;
use ui_support::{AppDirs, TestPeer, free_udp_port, harness_with, wait_for_label, wait_until};

/// Sizes the window is checked at: the minimum, the sizes of the bug
/// report (800×600, 720×480, 2190 wide), the default, and 4K.
const SIZES: [[f32; 2]; 6] = [
    [640.0, 480.0],
    [720.0, 480.0],
    [800.0, 600.0],
    [1040.0, 700.0],
    [2190.0, 900.0],
    [3840.0, 2160.0],
];

/// Roles of the widgets that must not overlap one another.
const LEAF_ROLES: [Role; 9] = [
    Role::Label,
    Role::Button,
    Role::CheckBox,
    Role::TextInput,
    Role::MultilineTextInput,
    Role::ComboBox,
    Role::RadioButton,
    Role::ProgressIndicator,
    Role::Link,
];

struct Widget {
    name: String,
    role: Role,
    /// Where it is drawn, clipped as the window clips it.
    rect: Rect,
    /// Where it was laid out (a widget wider than its column shows here).
    laid_out: Rect,
}

/// Every visible widget with its rectangle, clipped to the band between the
/// top bar and the status bar for what lies in the scrolling middle (the
/// scroll areas clip it there).
fn widgets(harness: &Harness<'static, FerryApp>) -> Vec<Widget> {
    let top = harness.get_by_label("🗋 Send files…").rect().max.y;
    let status = harness
        .get_by_label_contains("Ready to receive on port")
        .rect();
    let bottom = status.min.y;
    let screen = Rect::from_min_size(egui::Pos2::ZERO, harness.ctx.content_rect().size());
    let mut found = Vec::new();
    let by = By::new()
        .include_labels()
        .predicate(|node| LEAF_ROLES.contains(&node.role()));
    for node in harness.query_all(by) {
        let rect = node.rect();
        // The bars' own widgets sit on their rows; anything else beyond
        // the band is scrolled content hidden under a bar.
        let in_bar = rect.max.y <= top + 0.5
            || (rect.min.y >= bottom - 0.5 && rect.max.y <= status.max.y + 0.5);
        let band = Rect::from_x_y_ranges(screen.x_range(), top..=bottom);
        let shown = if in_bar {
            rect.intersect(screen)
        } else {
            rect.intersect(band)
        };
        if shown.width() < 1.0 || shown.height() < 1.0 {
            continue;
        }
        let ak = node.accesskit_node();
        let name = ak.label().or_else(|| ak.value()).unwrap_or_default();
        found.push(Widget {
            name,
            role: ak.role(),
            rect: shown,
            laid_out: rect,
        });
    }
    found
}

/// Pairs of widgets drawn over each other. Only a device tile (a check box
/// drawn as a card) may hold another widget: its Send or × button.
fn overlaps(widgets: &[Widget]) -> Vec<String> {
    let mut bad = Vec::new();
    for (i, a) in widgets.iter().enumerate() {
        for b in &widgets[i + 1..] {
            let both = a.rect.intersect(b.rect);
            if both.width() <= 1.0 || both.height() <= 1.0 {
                continue;
            }
            let holds = |outer: &Widget, inner: &Widget| {
                outer.role == Role::CheckBox && outer.rect.expand(0.5).contains_rect(inner.rect)
            };
            let nested = holds(a, b) || holds(b, a);
            if !nested {
                bad.push(format!(
                    "{:?} {:?} overlaps {:?} {:?}",
                    a.name, a.rect, b.name, b.rect
                ));
            }
        }
    }
    bad
}

fn check(harness: &mut Harness<'static, FerryApp>, view: &str, size: [f32; 2]) {
    let found = widgets(harness);
    assert!(
        found.len() > 10,
        "{view} at {size:?}: only {} widgets",
        found.len()
    );
    let bad = overlaps(&found);
    assert!(
        bad.is_empty(),
        "{view} at {size:?}: {} overlaps:\n{}",
        bad.len(),
        bad.join("\n")
    );
    let window = harness.ctx.content_rect();
    for widget in &found {
        assert!(
            widget.laid_out.max.x <= window.max.x + 0.5,
            "{view} at {size:?}: {:?} reaches past the right edge ({:?})",
            widget.name,
            widget.laid_out
        );
    }
}

fn show_tab(harness: &mut Harness<'static, FerryApp>, label: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(3);
}

#[test]
fn no_widgets_overlap_from_640x480_to_4k() {
    let dirs = AppDirs::new("Studio desk in the back room");
    let udp_port = free_udp_port();
    let mut kitchen = TestPeer::start_beaconing("Kitchen laptop", AcceptPolicy::Everyone, udp_port);
    let mut options = dirs.options();
    options.udp_port = Some(udp_port);
    let scratch = dirs.scratch();
    let file = scratch.join("holiday photos from the summer of 2026 at the lake.jpg");
    ui_support::write_file(&file, 70_000);
    let other = scratch.join("notes.txt");
    ui_support::write_file(&other, 1_000);
    options.files = vec![file.clone(), other.clone()];
    let mut harness = harness_with(options);
    wait_for_label(&mut harness, "Kitchen laptop");
    // A finished transfer: the tray sent to Kitchen.
    harness.get_by_label("Send").click();
    // A new device: its pairing code is compared first (issue 14).
    ui_support::confirm_pairing(&mut harness, &mut kitchen, "Kitchen laptop");
    wait_until(&mut harness, "the transfer to finish", |h| {
        h.state()
            .state()
            .transfers
            .first()
            .is_some_and(|r| r.phase_is_success())
    });
    // The tray again, and a message offer waiting for an answer.
    harness.state_mut().add_files(&[file, other]);
    let to = harness.state().local_addr().expect("listening");
    kitchen.engine.send(Command::SendText {
        id: TransferId::fresh(),
        to,
        text: "The keys are under the blue flower pot by the back door.".into(),
    });
    wait_for_label(&mut harness, "Kitchen laptop wants to send you a message");
    kitchen.poll();
    // Issue 16, item 11: this device's name is the large text of the top bar.
    let own = harness
        .get_by_label("This device: Studio desk in the back room")
        .rect();
    let brand = harness.get_by_label("Ferry").rect();
    assert!(
        own.height() >= 20.0 && own.height() > brand.height() * 1.4,
        "name {own:?}, brand {brand:?}"
    );
    for size in SIZES {
        harness.set_size(Vec2::from(size));
        harness.run_steps(4);
        check(&mut harness, "Transfers", size);
        show_tab(&mut harness, "History");
        check(&mut harness, "History", size);
        show_tab(&mut harness, "Settings");
        check(&mut harness, "Settings", size);
        show_tab(&mut harness, "Transfers");
    }
}

#[test]
fn settings_keep_choose_and_hints_at_every_size() {
    let dirs = AppDirs::new("Desk");
    let mut harness = ui_support::harness(&dirs);
    harness.run_steps(2);
    show_tab(&mut harness, "Settings");
    for size in SIZES {
        harness.set_size(Vec2::from(size));
        harness.run_steps(3);
        let window = harness.ctx.content_rect();
        let choose = harness.get_by_label("Choose…").rect();
        assert!(
            choose.max.x <= window.max.x,
            "Choose… at {choose:?} is outside the {window:?} window"
        );
        check(&mut harness, "Settings", size);
    }
}

/// The status bar names the port the window listens on as a number people
/// type, never grouped like a count ("47813", not "47,813"): counts are
/// grouped, ports are passed as text.
#[test]
fn the_status_bar_writes_the_port_as_digits() {
    let dirs = AppDirs::new("Desk");
    let mut harness = ui_support::harness(&dirs);
    harness.run_steps(2);
    let status = harness.get_by_label_contains("Ready to receive on port");
    let ak = status.accesskit_node();
    let line = ak.label().or_else(|| ak.value()).unwrap_or_default();
    let port = line
        .split("on port ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default();
    // Port 0 was asked for: the system picked one above 1023.
    assert!(port.parse::<u16>().is_ok_and(|p| p > 1023), "{line:?}");
}

#[test]
fn the_central_column_stays_readable_in_a_wide_window() {
    let dirs = AppDirs::new("Desk");
    let mut harness = ui_support::harness(&dirs);
    harness.set_size(Vec2::new(2190.0, 900.0));
    harness.run_steps(3);
    show_tab(&mut harness, "History");
    let clear = harness.get_by_label("No finished transfers yet").rect();
    // Centred in a column of at most 920 points, not spread over 1800.
    show_tab(&mut harness, "Settings");
    let name = harness.get_by_label("Device name").rect();
    let choose = harness.get_by_label("Choose…").rect();
    assert!(
        choose.max.x - name.min.x <= 920.0,
        "Settings spans {:?} to {:?}",
        name,
        choose
    );
    assert!(clear.center().x > 900.0, "centred: {clear:?}");
}

/// Issue 16, item 11: the drop sign in tray mode reads as a line across the
/// window, not a narrow column.
#[test]
fn the_drop_sign_spans_the_window() {
    let dirs = AppDirs::new("Desk");
    let mut harness = ui_support::harness(&dirs);
    harness.set_size(Vec2::new(640.0, 480.0));
    harness.run_steps(2);
    harness.input_mut().hovered_files = vec![egui::HoveredFile {
        path: Some(dirs.scratch().join("x.txt")),
        mime: String::new(),
    }];
    harness.run_steps(4);
    let sign = harness
        .get_by_label("Drop to add to “To send”, then choose a device")
        .rect();
    assert!(sign.width() > 400.0, "{sign:?}");
    assert!(sign.height() < 70.0, "at most two lines: {sign:?}");
    harness.input_mut().hovered_files.clear();
    harness.run_steps(2);
}
