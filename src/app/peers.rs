//! The Devices panel: one tile per discovered or address-added peer (OS
//! badge, name, address, online state, selection, Send), an empty state
//! that says what to check and runs the network check, and the small
//! dialogs that belong to peers ("Add by address…", "Send text…"; the
//! check's own dialog is `diagnosis`). Views only read state and return
//! [`Action`]s.

use egui::{
    Align2, Color32, CornerRadius, FontId, RichText, Role, Sense, Stroke, StrokeKind, Vec2,
    WidgetInfo,
};

use super::state::{PeerEntry, UiState};
use super::{Action, ViewState, fonts, style};
use crate::api::PeerSource;
use crate::i18n::tr;

/// Height of one peer tile.
const TILE_HEIGHT: f32 = 60.0;

/// How strongly an offline device's tile is drawn.
const OFFLINE_OPACITY: f32 = 0.5;

/// Draws the Devices panel; `unanswered` are addresses added by hand that
/// no device has answered at yet; `localsend_on` says whether the engine
/// talks to LocalSend devices (else there is nothing to scan for).
pub fn show(
    ui: &mut egui::Ui,
    state: &UiState,
    discovery_on: bool,
    localsend_on: bool,
    unanswered: &[String],
    actions: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        ui.heading(tr!("peers-title"));
        let online = state.online_peers().count();
        if online > 0 {
            ui.label(
                RichText::new(tr!("peers-online-count", count = online))
                    .small()
                    .weak(),
            );
        }
    });
    ui.add_space(2.0);
    if state.peers.is_empty() && unanswered.is_empty() {
        empty(ui, discovery_on, actions);
    } else {
        let hint = if state.peers.len() > 1 {
            tr!("peers-hint-several")
        } else {
            tr!("peers-hint-one")
        };
        ui.label(RichText::new(hint).small().weak());
        ui.add_space(6.0);
        let tray_full = !state.tray.is_empty();
        egui::ScrollArea::vertical()
            .id_salt("peers")
            .auto_shrink([false, true])
            // Room below for the buttons: one row, or two when they wrap.
            .max_height((ui.available_height() - footer_room(ui)).max(80.0))
            .show(ui, |ui| {
                for peer in state.peers_in_order() {
                    let name = state.display_name(&peer.device.device_id);
                    tile(ui, peer, &name, tray_full, actions);
                    ui.add_space(6.0);
                }
                for addr in unanswered {
                    not_answering(ui, addr, actions);
                    ui.add_space(6.0);
                }
            });
    }
    ui.add_space(6.0);
    ui.horizontal_wrapped(|ui| {
        if ui.button(tr!("peers-add-by-address")).clicked() {
            actions.push(Action::OpenAddPeer);
        }
        if !state.peers.is_empty() && ui.button(tr!("peers-check-network")).clicked() {
            actions.push(Action::RunDoctor);
        }
        if localsend_on
            && ui
                .button(tr!("peers-scan-localsend"))
                .on_hover_text(tr!("peers-scan-localsend-hint"))
                .clicked()
        {
            actions.push(Action::ScanLocalSend);
        }
    });
}

/// Height the buttons under the list need: "Add by address…" and "Check
/// network" share a row in a panel wide enough for both.
fn footer_room(ui: &egui::Ui) -> f32 {
    if ui.available_width() >= 290.0 {
        44.0
    } else {
        80.0
    }
}

fn empty(ui: &mut egui::Ui, discovery_on: bool, actions: &mut Vec<Action>) {
    style::card(ui).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(tr!("peers-empty-title")).size(16.0).strong());
        ui.add_space(2.0);
        let looking = if discovery_on {
            tr!("peers-empty-looking")
        } else {
            tr!("peers-empty-discovery-off")
        };
        ui.label(RichText::new(looking).weak());
        ui.add_space(6.0);
        ui.label(tr!("peers-empty-check-intro"));
        for hint in [
            tr!("peers-empty-check-open"),
            tr!("peers-empty-check-network"),
            tr!("peers-empty-check-firewall"),
        ] {
            // The bullet hangs: a long hint wraps beside it, not under it.
            ui.horizontal(|ui| {
                ui.label(RichText::new("•").color(style::accent(ui)));
                ui.add(egui::Label::new(hint).wrap());
            });
        }
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui
                .add(style::primary(ui, &tr!("peers-check-network")))
                .clicked()
            {
                actions.push(Action::RunDoctor);
            }
        });
    });
}

/// An address added by hand where nothing has answered (yet): said plainly,
/// with × to stop trying it.
fn not_answering(ui: &mut egui::Ui, addr: &str, actions: &mut Vec<Action>) {
    style::card(ui).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let forget = style::close_button(ui).on_hover_text(tr!("peers-forget-address"));
                if forget.clicked() {
                    actions.push(Action::ForgetAddress(addr.to_string()));
                }
                ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
                    ui.spacing_mut().item_spacing.y = 2.0;
                    ui.add(egui::Label::new(RichText::new(addr).strong()).truncate());
                    ui.add(
                        egui::Label::new(RichText::new(tr!("peers-not-answering")).small().weak())
                            .wrap(),
                    );
                });
            });
        });
    });
}

fn tile(
    ui: &mut egui::Ui,
    peer: &PeerEntry,
    name: &str,
    tray_full: bool,
    actions: &mut Vec<Action>,
) {
    let width = ui.available_width();
    let (rect, response) = ui.allocate_exact_size(Vec2::new(width, TILE_HEIGHT), Sense::click());
    let label = name.to_string();
    response
        .widget_info(|| WidgetInfo::selected(Role::CheckBox, true, peer.selected, label.clone()));
    let mut painter = ui.painter_at(rect);
    // An offline device is drawn faded: there, but not reachable now.
    if !peer.online {
        painter.set_opacity(OFFLINE_OPACITY);
    }
    paint_card(ui, &painter, rect, peer, response.hovered());
    // Room on the right: the selection ring, plus a Send button when the
    // tray has items and the device is online (or × to forget it when not).
    let right_room = match (peer.online, tray_full) {
        (true, true) => 112.0,
        (false, _) => 70.0,
        (true, false) => 40.0,
    };
    paint_text(ui, &painter, rect, peer, name, right_room);
    let ring = rect.right_center() - Vec2::new(22.0, 0.0);
    paint_ring(ui, &painter, ring, peer.selected);
    tile_actions(ui, response, ring, peer, name, tray_full, actions);
}

/// The card (tinted when selected or hovered) and the OS badge (dimmed offline).
fn paint_card(
    ui: &egui::Ui,
    painter: &egui::Painter,
    rect: egui::Rect,
    peer: &PeerEntry,
    hovered: bool,
) {
    let accent = style::accent(ui);
    let visuals = ui.visuals();
    let base = style::card(ui).fill;
    let fill = if peer.selected {
        accent.gamma_multiply(0.16)
    } else if hovered {
        visuals.widgets.hovered.weak_bg_fill
    } else {
        base
    };
    let stroke = if peer.selected {
        Stroke::new(1.5, accent)
    } else {
        visuals.widgets.noninteractive.bg_stroke
    };
    painter.rect(
        rect,
        CornerRadius::same(8),
        fill,
        stroke,
        StrokeKind::Inside,
    );
    let badge = rect.left_center() + Vec2::new(28.0, 0.0);
    let os = match peer.source {
        PeerSource::LocalSend(crate::api::DeviceKind::Mobile) => "phone",
        _ => peer.device.os.as_str(),
    };
    style::paint_os_badge(painter, badge, 36.0, os);
}

/// The name, and below it online or offline and the address, each cut to one line.
fn paint_text(
    ui: &egui::Ui,
    painter: &egui::Painter,
    rect: egui::Rect,
    peer: &PeerEntry,
    name: &str,
    right_room: f32,
) {
    let visuals = ui.visuals();
    let text_left = rect.left() + 56.0;
    let text_width = (rect.right() - right_room - text_left).max(20.0);
    let strong = visuals.strong_text_color();
    let weak = visuals.weak_text_color();
    let name = one_line(ui, name, FontId::proportional(15.5), strong, text_width);
    painter.galley(egui::pos2(text_left, rect.top() + 11.0), name, strong);
    let (dot, state) = if peer.online {
        (style::green(), tr!("peers-online"))
    } else {
        (weak, tr!("peers-offline"))
    };
    let addr = peer
        .addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|| tr!("peers-no-address"));
    let sub = match peer.source {
        PeerSource::LocalSend(kind) => {
            tr!(
                "peers-localsend-sub",
                state = state.as_str(),
                kind = kind_word(kind),
                address = addr
            )
        }
        _ => format!("{state} · {addr}"),
    };
    let sub_pos = egui::pos2(text_left, rect.top() + 35.0);
    painter.circle_filled(sub_pos + Vec2::new(4.0, 7.0), 4.0, dot);
    let sub = one_line(
        ui,
        &sub,
        FontId::proportional(12.5),
        weak,
        text_width - 12.0,
    );
    painter.galley(sub_pos + Vec2::new(12.0, 0.0), sub, weak);
}

/// The selection ring: ticked when the peer is a target.
fn paint_ring(ui: &egui::Ui, painter: &egui::Painter, ring: egui::Pos2, selected: bool) {
    if selected {
        painter.circle_filled(ring, 10.0, style::accent(ui));
        painter.text(
            ring,
            Align2::CENTER_CENTER,
            "✔",
            FontId::proportional(12.0),
            Color32::WHITE,
        );
    } else {
        painter.circle_stroke(ring, 9.0, Stroke::new(1.5, ui.visuals().weak_text_color()));
    }
}

/// What the tile does: a click toggles the target, Send sends the tray to
/// this peer, the context menu offers text and (for a manual peer) forgetting.
#[allow(clippy::too_many_arguments)] // one tile's parts, each used once
fn tile_actions(
    ui: &mut egui::Ui,
    response: egui::Response,
    ring: egui::Pos2,
    peer: &PeerEntry,
    shown: &str,
    tray_full: bool,
    actions: &mut Vec<Action>,
) {
    let id = peer.device.device_id.clone();
    // A name no font can draw is spelled out (escaped) here instead.
    let name = fonts::readable(ui.ctx(), shown).unwrap_or_else(|| shown.to_string());
    let os = style::os_name(&peer.device.os);
    let hover = match (peer.source, peer.selected) {
        (PeerSource::Beacon, false) => tr!(
            "peers-tile-hover-found-select",
            name = name.as_str(),
            os = os
        ),
        (PeerSource::Beacon, true) => tr!(
            "peers-tile-hover-found-unselect",
            name = name.as_str(),
            os = os
        ),
        (PeerSource::Manual, false) => tr!(
            "peers-tile-hover-added-select",
            name = name.as_str(),
            os = os
        ),
        (PeerSource::Manual, true) => tr!(
            "peers-tile-hover-added-unselect",
            name = name.as_str(),
            os = os
        ),
        (PeerSource::LocalSend(kind), false) => tr!(
            "peers-tile-hover-localsend-select",
            name = name.as_str(),
            kind = kind_word(kind)
        ),
        (PeerSource::LocalSend(kind), true) => tr!(
            "peers-tile-hover-localsend-unselect",
            name = name.as_str(),
            kind = kind_word(kind)
        ),
    };
    let hover = if peer.online {
        hover
    } else {
        format!("{hover}\n{}", tr!("peers-tile-hover-offline"))
    };
    let response = response.on_hover_text(hover);
    if response.clicked() {
        actions.push(Action::TogglePeer(id.clone()));
    }
    if tray_full && peer.online {
        let button =
            egui::Rect::from_center_size(ring - Vec2::new(58.0, 0.0), Vec2::new(64.0, 28.0));
        if ui
            .place(button, style::primary(ui, &tr!("peers-send")))
            .clicked()
        {
            actions.push(Action::SendTray(vec![id.clone()]));
        }
    }
    if !peer.online {
        let button =
            egui::Rect::from_center_size(ring - Vec2::new(38.0, 0.0), Vec2::new(26.0, 26.0));
        let forget = ui
            .place(
                button,
                egui::Button::new(
                    RichText::new("×")
                        .size(17.0)
                        .color(ui.visuals().weak_text_color()),
                )
                .frame(false),
            )
            .on_hover_text(tr!("peers-forget-hint", name = name.as_str()));
        if forget.clicked() {
            actions.push(Action::ForgetPeer(id.clone()));
        }
    }
    response.context_menu(|ui| {
        if peer.online && ui.button(tr!("peers-menu-send-text")).clicked() {
            actions.push(Action::OpenCompose);
        }
        // A device that beacons would be back at once: only offline or
        // hand-added ones can be forgotten.
        let forgettable = !peer.online || peer.source == PeerSource::Manual;
        if forgettable && ui.button(tr!("peers-menu-forget")).clicked() {
            actions.push(Action::ForgetPeer(id.clone()));
        }
    });
}

fn one_line(
    ui: &egui::Ui,
    text: &str,
    font: FontId,
    colour: Color32,
    width: f32,
) -> std::sync::Arc<egui::Galley> {
    let mut job = egui::text::LayoutJob::simple_singleline(text.to_string(), font, colour);
    job.wrap = egui::text::TextWrapping::truncate_at_width(width);
    ui.fonts_mut(|f| f.layout_job(job))
}

/// The peer dialogs, drawn over everything when open.
pub fn dialogs(
    ctx: &egui::Context,
    view: &mut ViewState,
    state: &UiState,
    actions: &mut Vec<Action>,
) {
    add_peer_dialog(ctx, view, actions);
    compose_dialog(ctx, view, state, actions);
    super::diagnosis::window(ctx, &mut view.network_check, actions);
}

fn add_peer_dialog(ctx: &egui::Context, view: &mut ViewState, actions: &mut Vec<Action>) {
    let Some(dialog) = &mut view.add_peer else {
        return;
    };
    style::dialog(ctx, "add-peer").show(ctx, |ui| {
        ui.set_width(400.0);
        ui.heading(tr!("add-peer-title"));
        ui.label(RichText::new(tr!("add-peer-intro")).weak());
        ui.add_space(6.0);
        let label = ui.label(tr!("add-peer-address"));
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut dialog.input)
                    .hint_text("192.168.1.20:47813")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        if let Some(error) = &dialog.error {
            ui.add_space(4.0);
            ui.add(egui::Label::new(RichText::new(error).color(style::red())).wrap());
        }
        ui.add_space(6.0);
        ui.horizontal_wrapped(|ui| {
            let ready = !dialog.busy && !dialog.input.trim().is_empty();
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui
                .add_enabled(ready, style::primary(ui, &tr!("add-peer-add")))
                .clicked()
                || (ready && enter)
            {
                actions.push(Action::AddPeer(dialog.input.clone()));
            }
            // Nothing answered yet: it may be switched off; keep it listed.
            if dialog.error.is_some()
                && dialog.probing.is_some()
                && ui
                    .button(tr!("add-peer-keep-trying"))
                    .on_hover_text(tr!("add-peer-keep-trying-hint"))
                    .clicked()
            {
                actions.push(Action::KeepTrying);
            }
            if ui.button(tr!("common-cancel")).clicked() {
                actions.push(Action::CancelAddPeer);
            }
            if dialog.busy {
                ui.spinner();
                ui.label(tr!("add-peer-looking"));
            }
        });
    });
}

fn compose_dialog(
    ctx: &egui::Context,
    view: &mut ViewState,
    state: &UiState,
    actions: &mut Vec<Action>,
) {
    let Some(compose) = &mut view.compose else {
        return;
    };
    let mut close = false;
    style::dialog(ctx, "compose").show(ctx, |ui| {
        ui.set_width(440.0);
        ui.heading(tr!("compose-title"));
        ui.add_space(4.0);
        if state.peers.is_empty() {
            ui.label(RichText::new(tr!("compose-no-devices")).weak());
        }
        ui.horizontal_wrapped(|ui| {
            ui.label(tr!("compose-to"));
            for peer in state.peers_in_order().into_iter().filter(|p| p.online) {
                let id = &peer.device.device_id;
                let mut on = compose.targets.contains(id);
                let alias = state.display_name(id);
                if fonts::on_hover_readable(ui.checkbox(&mut on, &alias), &alias).changed() {
                    if on {
                        compose.targets.push(id.clone());
                    } else {
                        compose.targets.retain(|t| t != id);
                    }
                }
            }
        });
        let label = ui.label(tr!("compose-message"));
        ui.add(
            egui::TextEdit::multiline(&mut compose.text)
                .hint_text(tr!("compose-placeholder"))
                .desired_rows(5)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let ready = !compose.text.trim().is_empty() && !compose.targets.is_empty();
            if ui
                .add_enabled(ready, style::primary(ui, &tr!("compose-send")))
                .clicked()
            {
                actions.push(Action::SendText {
                    to: compose.targets.clone(),
                    text: compose.text.clone(),
                });
            }
            if ui.button(tr!("common-cancel")).clicked() {
                close = true;
            }
        });
    });
    if close {
        view.compose = None;
    }
}

/// The word for a LocalSend device's kind ("phone", "desktop", ...).
fn kind_word(kind: crate::api::DeviceKind) -> String {
    use crate::api::DeviceKind;
    match kind {
        DeviceKind::Mobile => tr!("device-kind-phone"),
        DeviceKind::Desktop => tr!("device-kind-desktop"),
        DeviceKind::Web => tr!("device-kind-browser"),
        DeviceKind::Headless => tr!("device-kind-headless"),
        DeviceKind::Server => tr!("device-kind-server"),
        DeviceKind::Unknown => tr!("device-kind-device"),
    }
}
