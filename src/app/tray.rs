//! The "to send" tray and the drop overlay. Dropped or picked items wait in
//! the tray (with sizes measured on a helper thread, "…" until known) until
//! the person picks where they go. While files hover the window, the whole
//! window shows where a drop will go: on X11 the pointer position is unknown
//! during an OS drag, so the target is the selection (or the only peer), never
//! "the tile under the pointer". Views only read state and return actions.

use egui::{Align, Align2, Color32, Id, LayerId, Layout, Order, RichText, Stroke};

use super::state::{DropTarget, UiState};
use super::{Action, fonts, style};
use crate::api::human_bytes;
use crate::i18n::tr;

/// Draws the tray when it has items.
pub fn show(ui: &mut egui::Ui, state: &UiState, actions: &mut Vec<Action>) {
    if state.tray.is_empty() {
        return;
    }
    style::card(ui)
        .stroke(Stroke::new(1.5, style::accent(ui)))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new(tr!("tray-title")).size(16.0).strong());
                ui.label(RichText::new(summary(state)).weak());
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    if ui.button(tr!("tray-clear")).clicked() {
                        actions.push(Action::ClearTray);
                    }
                });
            });
            ui.add_space(2.0);
            let many = state.tray.len() > 6;
            egui::ScrollArea::vertical()
                .id_salt("tray")
                .max_height(if many { 170.0 } else { f32::INFINITY })
                .show(ui, |ui| {
                    for item in &state.tray {
                        ui.horizontal(|ui| {
                            let name = item
                                .path
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_else(|| item.path.display().to_string());
                            let icon = if item
                                .size
                                .as_ref()
                                .is_some_and(|s| s.as_ref().is_ok_and(|(_, files)| *files != 1))
                            {
                                style::FOLDER
                            } else {
                                style::FILE
                            };
                            ui.label(icon);
                            let path = item.path.display().to_string();
                            // The full path on hover, spelled out when no font draws it.
                            let hover = fonts::readable(ui.ctx(), &path).unwrap_or(path);
                            // × and the size first (from the right), then the
                            // name cut with "…" to the room left.
                            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                                if style::close_button(ui)
                                    .on_hover_text(tr!("tray-remove"))
                                    .clicked()
                                {
                                    actions.push(Action::RemoveFromTray(item.path.clone()));
                                }
                                match &item.size {
                                    None => ui.label(RichText::new("…").weak()),
                                    Some(Ok((bytes, files))) if *files == 1 => {
                                        ui.label(RichText::new(human_bytes(*bytes)).weak())
                                    }
                                    Some(Ok((bytes, files))) => ui.label(
                                        RichText::new(tr!(
                                            "tray-folder-size",
                                            count = *files,
                                            size = human_bytes(*bytes)
                                        ))
                                        .weak(),
                                    ),
                                    Some(Err(problem)) => ui.add(
                                        egui::Label::new(
                                            RichText::new(problem).color(style::red()),
                                        )
                                        .truncate(),
                                    ),
                                };
                                ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                                    ui.add(egui::Label::new(name).truncate())
                                        .on_hover_text(hover);
                                });
                            });
                        });
                    }
                });
            ui.add_space(4.0);
            footer(ui, state, actions);
        });
    ui.add_space(10.0);
}

fn footer(ui: &mut egui::Ui, state: &UiState, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| match state.drop_target() {
        DropTarget::Peers(ids) => {
            let one = match ids.as_slice() {
                [one] if state.peers.contains_key(one) => Some(state.display_name(one)),
                _ => None,
            };
            let label = match &one {
                Some(name) => tr!("tray-send-to-one", name = name.as_str()),
                None => tr!("tray-send-to-many", count = ids.len()),
            };
            let send = ui.add(style::primary(ui, &label));
            if fonts::on_hover_readable(send, one.as_deref().unwrap_or_default()).clicked() {
                actions.push(Action::SendTray(ids));
            }
        }
        DropTarget::Tray if state.peers.is_empty() => {
            ui.label(RichText::new(tr!("tray-no-device")).weak());
        }
        DropTarget::Tray => {
            ui.label(RichText::new(tr!("tray-choose-device")).weak());
        }
    });
}

fn summary(state: &UiState) -> String {
    let items = state.tray.len();
    let known: Vec<u64> = state
        .tray
        .iter()
        .filter_map(|t| t.size.as_ref().and_then(|s| s.as_ref().ok()).map(|s| s.0))
        .collect();
    if known.len() == items {
        tr!(
            "tray-summary-size",
            count = items,
            size = human_bytes(known.iter().sum())
        )
    } else {
        tr!("tray-summary", count = items)
    }
}

/// Where a drop would go, as a sentence for the overlay.
pub fn drop_sentence(state: &UiState) -> String {
    match state.drop_target() {
        DropTarget::Peers(ids) => {
            // Names that tell same-named devices apart ("ubuntu (3F2A)").
            let names: Vec<String> = ids
                .iter()
                .filter(|id| state.peers.contains_key(*id))
                .map(|id| state.display_name(id))
                .collect();
            match names.as_slice() {
                [one] => tr!("drop-send-to-one", name = one.as_str()),
                many => tr!(
                    "drop-send-to-many",
                    count = many.len(),
                    names = many.join(", ")
                ),
            }
        }
        DropTarget::Tray => tr!("drop-to-tray"),
    }
}

/// While files hover the window, covers it with a sign saying where they go.
pub fn drop_overlay(ctx: &egui::Context, state: &UiState) {
    let hovered = ctx.input(|i| i.raw.hovered_files.clone());
    if hovered.is_empty() {
        return;
    }
    let rect = ctx.content_rect();
    let painter = ctx.layer_painter(LayerId::new(Order::Foreground, Id::unique("drop-overlay")));
    let dark = ctx.global_style().visuals.dark_mode;
    let accent = if dark {
        style::ACCENT_DARK
    } else {
        style::ACCENT_LIGHT
    };
    // Opaque: rows showing through would compete with the sign.
    let veil = ctx.global_style().visuals.panel_fill;
    painter.rect_filled(rect, 0.0, veil);
    let inner = rect.shrink(18.0);
    painter.rect_stroke(
        inner,
        14.0,
        Stroke::new(3.0, accent),
        egui::StrokeKind::Inside,
    );
    let names: Vec<String> = hovered
        .iter()
        .filter_map(|f| f.path.as_ref())
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let detail = match names.len() {
        0 => tr!("drop-items", count = hovered.len()),
        1..=3 => names.join(", "),
        n => tr!("drop-names-more", names = names[..3].join(", "), count = n),
    };
    let text = if dark {
        Color32::from_gray(220)
    } else {
        Color32::from_gray(60)
    };
    // Real labels (not just paint), so screen readers and tests can read them.
    egui::Area::new(egui::Id::unique("drop-overlay-text"))
        .order(Order::Tooltip)
        .pivot(Align2::CENTER_CENTER)
        .fixed_pos(inner.center())
        .interactable(false)
        .show(ctx, |ui| {
            // As wide as the frame allows, so the sentence never folds into
            // a narrow column.
            ui.set_width((inner.width() - 48.0).max(120.0));
            ui.vertical_centered(|ui| {
                ui.add(
                    egui::Label::new(RichText::new(drop_sentence(state)).size(24.0).color(accent))
                        .wrap(),
                );
                ui.add_space(6.0);
                ui.add(egui::Label::new(RichText::new(detail).size(15.0).color(text)).wrap());
            });
        });
}
