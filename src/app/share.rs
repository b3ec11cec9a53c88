//! The "Share via browser" window. Before sharing: what to share (the
//! tray's items, or files and folders from the desktop's dialogs), whether
//! browsers may upload (off, ask each time, allow for this share), and Start
//! sharing. While sharing: the link (selectable, with Copy), its QR code,
//! what is shared, a live list of downloads, and Stop sharing. Uploads show
//! as prompts (`incoming`) and transfer rows (`transfers`), not here.
//!
//! Texts to share, the visitor approval choice and the visitors' cards are
//! drawn by `share_extras`.
//!
//! Views only read state and return actions; the QR code's texture and the
//! text being typed are the things kept between frames ([`Kept`]); the
//! texture is made in `share_qr`.

use std::path::Path;

use egui::{Align, Align2, Color32, Layout, ProgressBar, RichText, Vec2};

use super::share_control::ShareAction;
use super::share_qr::{self, QrTexture};
use super::share_state::{DownloadRow, ShareInfo, SharePhase, ShareState};
use super::state::{TrayItem, UiState};
use super::tasks::Pick;
use super::{Action, fonts, share_extras, style};
use crate::api::UploadPolicy;
use crate::api::human_bytes;
use crate::i18n::tr;

/// What the share window keeps between frames.
pub struct Kept<'a> {
    /// The QR code's texture.
    pub qr: &'a mut Option<QrTexture>,
    /// The text being typed to share.
    pub text: &'a mut String,
}

/// Draws the share window when it is open.
pub fn window(
    ctx: &egui::Context,
    open: &mut bool,
    state: &UiState,
    download_dir: &Path,
    dialog_open: bool,
    kept: Kept<'_>,
    actions: &mut Vec<Action>,
) {
    let Kept { qr, text } = kept;
    share_qr::forget_unless(qr, state.share.info().map(|i| i.url.as_str()));
    if !*open {
        return;
    }
    let room = ctx.content_rect();
    let top_right = room.right_top() + Vec2::new(-20.0, 64.0);
    // Never wider or taller than the window leaves room for (640×480 too):
    // what does not fit scrolls inside (issue 16, item 2).
    let width = (room.width() - 40.0).clamp(280.0, 470.0);
    let max_height = (room.height() - 120.0).max(180.0);
    egui::Window::new(tr!("share-title"))
        // Its place stays put when the language (and so the title) changes.
        .id(egui::Id::unique("share-window"))
        .open(open)
        .collapsible(false)
        .resizable(false)
        .pivot(Align2::RIGHT_TOP)
        .default_pos(top_right)
        .default_width(width)
        .constrain(true)
        .show(ctx, |ui| {
            ui.set_width(width);
            egui::ScrollArea::vertical()
                .id_salt("share-window-body")
                .max_height(max_height)
                // As tall as the content up to max_height: a window's own
                // default height would otherwise cut it short.
                .min_scrolled_height(max_height)
                .show(ui, |ui| {
                    ui.set_width(width - 12.0);
                    body(ui, state, download_dir, dialog_open, qr, text, actions);
                });
        });
}

/// The window's content for the share's phase.
fn body(
    ui: &mut egui::Ui,
    state: &UiState,
    download_dir: &Path,
    dialog_open: bool,
    qr: &mut Option<QrTexture>,
    text: &mut String,
    actions: &mut Vec<Action>,
) {
    match &state.share.phase {
        SharePhase::Idle | SharePhase::Starting => {
            setup(
                ui,
                &state.share,
                &state.tray,
                download_dir,
                dialog_open,
                text,
                actions,
            );
        }
        SharePhase::Sharing(info) => {
            share_extras::visitor_cards(ui, &state.share.visitors, actions);
            sharing(ui, info, &state.share.downloads, qr, actions);
        }
        SharePhase::Stopping => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(tr!("share-stopping"));
            });
        }
    }
}

fn setup(
    ui: &mut egui::Ui,
    share: &ShareState,
    tray: &[TrayItem],
    download_dir: &Path,
    dialog_open: bool,
    typed: &mut String,
    actions: &mut Vec<Action>,
) {
    let starting = share.phase == SharePhase::Starting;
    ui.label(RichText::new(tr!("share-intro")).weak());
    ui.add_space(8.0);
    ui.label(RichText::new(tr!("share-what")).strong());
    if share.draft.is_empty() {
        ui.label(RichText::new(tr!("share-nothing-chosen")).weak());
    }
    scrolled(ui, "share-draft", 200.0, |ui| {
        for item in &share.draft {
            item_line(ui, item, !starting, actions);
        }
    });
    ui.horizontal(|ui| {
        let free = !dialog_open && !starting;
        let pick = |ui: &mut egui::Ui, text: String, purpose: Pick, actions: &mut Vec<Action>| {
            if ui.add_enabled(free, egui::Button::new(text)).clicked() {
                actions.push(Action::Pick(purpose));
            }
        };
        pick(
            ui,
            tr!("share-add-files", icon = style::FILE),
            Pick::ShareFiles,
            actions,
        );
        pick(
            ui,
            tr!("share-add-folder", icon = style::FOLDER),
            Pick::ShareFolder,
            actions,
        );
        let from_tray = tray
            .iter()
            .filter(|t| !share.draft.iter().any(|d| d.path == t.path))
            .count();
        if from_tray > 0
            && ui
                .add_enabled(
                    !starting,
                    egui::Button::new(tr!("share-add-from-tray", count = from_tray)),
                )
                .clicked()
        {
            actions.push(Action::Share(ShareAction::UseTray));
        }
    });
    ui.add_space(10.0);
    ui.label(RichText::new(tr!("share-uploads")).strong());
    for (policy, text) in [
        (UploadPolicy::Off, tr!("share-uploads-off")),
        (UploadPolicy::Ask, tr!("share-uploads-ask")),
        (UploadPolicy::Allow, tr!("share-uploads-allow")),
    ] {
        let button = egui::RadioButton::new(share.uploads == policy, text);
        if ui.add_enabled(!starting, button).clicked() {
            actions.push(Action::Share(ShareAction::SetUploads(policy)));
        }
    }
    if share.uploads != UploadPolicy::Off {
        ui.label(
            RichText::new(tr!(
                "share-uploads-folder",
                folder = download_dir.display().to_string()
            ))
            .small()
            .weak(),
        );
    }
    ui.add_space(4.0);
    share_extras::approve_checkbox(ui, share.approve_visitors, !starting, actions);
    ui.add_space(10.0);
    share_extras::texts_setup(ui, &share.texts, typed, !starting, actions);
    ui.add_space(10.0);
    ui.horizontal(|ui| {
        let ready = !starting && share.ready();
        if ui
            .add_enabled(ready, style::primary(ui, &tr!("share-start")))
            .clicked()
        {
            actions.push(Action::Share(ShareAction::Start));
        }
        if starting {
            ui.spinner();
            ui.label(tr!("share-starting"));
        }
    });
    if let Some(problem) = &share.problem {
        ui.add(egui::Label::new(RichText::new(problem).color(style::red())).wrap());
    }
}

fn item_line(ui: &mut egui::Ui, item: &TrayItem, removable: bool, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        let folder =
            matches!(&item.size, Some(Ok((_, files))) if *files != 1) || item.path.is_dir();
        ui.label(if folder { style::FOLDER } else { style::FILE });
        let name = item
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| item.path.display().to_string());
        let path = item.path.display().to_string();
        let hover = fonts::readable(ui.ctx(), &path).unwrap_or(path);
        ui.label(name).on_hover_text(hover);
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if removable
                && style::close_button(ui)
                    .on_hover_text(tr!("share-remove"))
                    .clicked()
            {
                actions.push(Action::Share(ShareAction::Remove(item.path.clone())));
            }
            let size = match &item.size {
                None => RichText::new("…").weak(),
                Some(Ok((bytes, 1))) => RichText::new(human_bytes(*bytes)).weak(),
                Some(Ok((bytes, files))) => RichText::new(tr!(
                    "tray-folder-size",
                    count = *files,
                    size = human_bytes(*bytes)
                ))
                .weak(),
                Some(Err(problem)) => RichText::new(problem).color(style::red()),
            };
            ui.label(size);
        });
    });
}

fn sharing(
    ui: &mut egui::Ui,
    info: &ShareInfo,
    downloads: &[DownloadRow],
    qr: &mut Option<QrTexture>,
    actions: &mut Vec<Action>,
) {
    let total = info
        .items
        .iter()
        .map(|i| i.bytes)
        .fold(0, u64::saturating_add);
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(Vec2::splat(12.0), egui::Sense::hover());
        ui.painter()
            .circle_filled(rect.center(), 5.0, style::green());
        ui.label(
            RichText::new(tr!(
                "share-sharing",
                count = info.items.len(),
                size = human_bytes(total)
            ))
            .size(16.0)
            .strong(),
        );
    });
    ui.add_space(6.0);
    ui.horizontal_top(|ui| {
        share_qr::show(ui, &info.url, qr);
        ui.vertical(|ui| {
            ui.label(tr!("share-open-link"));
            ui.add(
                egui::Label::new(RichText::new(&info.url).monospace().strong())
                    .selectable(true)
                    .wrap(),
            );
            if ui.button(tr!("share-copy-link")).clicked() {
                actions.push(Action::Copy(info.url.clone()));
            }
            ui.label(RichText::new(tr!("share-scan")).weak());
            ui.add_space(4.0);
            let uploads = match info.uploads {
                UploadPolicy::Off => tr!("share-uploads-are-off"),
                UploadPolicy::Ask => tr!(
                    "share-uploads-are-ask",
                    folder = info.download_dir.display().to_string()
                ),
                UploadPolicy::Allow => tr!(
                    "share-uploads-are-allowed",
                    folder = info.download_dir.display().to_string()
                ),
            };
            ui.add(egui::Label::new(RichText::new(uploads).small().weak()).wrap());
        });
    });
    if let Some(note) = &info.note {
        ui.add(egui::Label::new(RichText::new(note).color(style::amber())).wrap());
    }
    ui.separator();
    ui.label(RichText::new(tr!("share-shared")).strong());
    scrolled(ui, "share-items", 160.0, |ui| {
        for item in &info.items {
            ui.horizontal(|ui| {
                let (icon, size) = match item.folder_files {
                    None => (style::FILE, human_bytes(item.bytes)),
                    Some(files) => (
                        style::FOLDER,
                        tr!(
                            "share-folder-zip",
                            count = files,
                            size = human_bytes(item.bytes)
                        ),
                    ),
                };
                ui.label(icon);
                fonts::on_hover_readable(ui.label(&item.name), &item.name);
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    ui.label(RichText::new(size).weak());
                });
            });
        }
    });
    share_extras::sharing_extras(ui, &info.texts, info.approve_visitors);
    ui.separator();
    ui.label(RichText::new(tr!("share-downloads")).strong());
    if downloads.is_empty() {
        ui.label(RichText::new(tr!("share-no-downloads")).weak());
    }
    scrolled(ui, "share-downloads", 220.0, |ui| {
        for row in downloads {
            ui.push_id(("download", row.id.0), |ui| download_line(ui, row));
        }
    });
    ui.separator();
    ui.horizontal(|ui| {
        let stop = egui::Button::new(RichText::new(tr!("share-stop")).color(Color32::WHITE))
            .fill(style::red());
        if ui.add(stop).clicked() {
            actions.push(Action::Share(ShareAction::Stop));
        }
        ui.label(RichText::new(tr!("share-stop-hint")).small().weak());
    });
}

fn download_line(ui: &mut egui::Ui, row: &DownloadRow) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("↗").color(style::accent(ui)));
        fonts::on_hover_readable(ui.label(RichText::new(&row.name).strong()), &row.name);
        let size = match (row.total, &row.end) {
            (_, Some(Ok(sent))) => human_bytes(*sent),
            (Some(total), _) => tr!(
                "transfers-bytes-of",
                done = human_bytes(row.done),
                total = human_bytes(total)
            ),
            (None, _) => human_bytes(row.done),
        };
        ui.label(
            RichText::new(tr!(
                "share-download-to",
                address = row.from.ip().to_string(),
                size = size
            ))
            .weak(),
        );
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            let (word, colour) = match (&row.end, row.fraction()) {
                (Some(Ok(_)), _) => (tr!("outcome-word-done"), style::green()),
                (Some(Err(_)), _) => (tr!("outcome-word-failed"), style::red()),
                (None, Some(fraction)) => (
                    format!("{:.0}%", fraction * 100.0),
                    ui.visuals().strong_text_color(),
                ),
                (None, None) => ("…".to_string(), ui.visuals().strong_text_color()),
            };
            ui.label(RichText::new(word).strong().color(colour));
        });
    });
    match &row.end {
        None => {
            // A ZIP's size is not known up front: the bar then just moves.
            let bar = ProgressBar::new(row.fraction().unwrap_or(0.0))
                .desired_height(6.0)
                .fill(style::accent(ui))
                .animate(row.fraction().is_none());
            ui.add(bar);
        }
        Some(Err(why)) => {
            ui.add(egui::Label::new(RichText::new(why).small().color(style::red())).wrap());
        }
        Some(Ok(_)) => {}
    }
}

/// A list that scrolls past `max_height`, with room on the right for the
/// floating scroll bar so it never covers right-aligned sizes.
fn scrolled(ui: &mut egui::Ui, id: &str, max_height: f32, add: impl FnOnce(&mut egui::Ui)) {
    egui::ScrollArea::vertical()
        .id_salt(id)
        .max_height(max_height)
        .show(ui, |ui| {
            egui::Frame::new()
                .inner_margin(egui::Margin {
                    right: 10,
                    ..egui::Margin::ZERO
                })
                .show(ui, add);
        });
}
