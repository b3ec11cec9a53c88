//! What arrives: one prompt card per incoming offer (sender, entries —
//! collapsed when many — total size, free space, Accept / Decline / Always
//! accept), one per browser asking to upload through the share (address,
//! names when known, size, Accept / Decline), received text messages with
//! Copy, and notices about problems that belong to no transfer. Several
//! prompts can wait at once. Views only read state and return actions;
//! nothing is written before an Accept.

use egui::{Align, Layout, RichText, Stroke};

use super::share_control::ShareAction;
use super::share_state::{ShareInfo, UploadPrompt, files_phrase};
use super::state::{PendingOffer, UiState};
use super::{Action, style};
use crate::api::human_bytes;
use crate::api::{ItemKind, OfferSummary};
use crate::secure::identity::{pairing_code, short_code};

/// Entries listed before the rest are folded away.
const SHOWN_ENTRIES: usize = 4;

/// Draws prompts and messages.
pub fn show(ui: &mut egui::Ui, state: &UiState, actions: &mut Vec<Action>) {
    for prompt in &state.prompts {
        ui.push_id(("prompt", prompt.id.0), |ui| {
            prompt_card(ui, prompt, &state.own_id, actions)
        });
        ui.add_space(10.0);
    }
    for prompt in &state.share.prompts {
        ui.push_id(("upload-prompt", prompt.id.0), |ui| {
            upload_card(ui, prompt, state.share.info(), actions)
        });
        ui.add_space(10.0);
    }
    for message in state.messages.iter().rev() {
        ui.push_id(("message", message.id.0), |ui| {
            style::card(ui).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    ui.label(RichText::new("💬").size(18.0));
                    ui.label(RichText::new(format!("Message from {}", message.from)).strong());
                    ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                        if style::close_button(ui).on_hover_text("Dismiss").clicked() {
                            actions.push(Action::DismissMessage(message.id));
                        }
                        if ui.button("Copy").clicked() {
                            actions.push(Action::Copy(message.text.clone()));
                        }
                    });
                });
                egui::ScrollArea::vertical()
                    .max_height(140.0)
                    .show(ui, |ui| {
                        ui.add(egui::Label::new(&message.text).selectable(true).wrap());
                    });
            });
        });
        ui.add_space(10.0);
    }
}

fn prompt_card(ui: &mut egui::Ui, prompt: &PendingOffer, own_id: &str, actions: &mut Vec<Action>) {
    let accent = style::accent(ui);
    style::card(ui)
        .stroke(Stroke::new(2.0, accent))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            offer_header(ui, prompt);
            if !prompt.is_text_only() {
                ui.add_space(4.0);
                entries(ui, prompt);
                ui.add_space(2.0);
                offer_total(ui, &prompt.offer);
            }
            pairing_line(ui, prompt, own_id);
            ui.add_space(6.0);
            answer_buttons(ui, prompt, actions);
        });
}

/// Who wants to send what, and from which device.
fn offer_header(ui: &mut egui::Ui, prompt: &PendingOffer) {
    let offer = &prompt.offer;
    let what = if prompt.is_text_only() {
        "a message".to_string()
    } else {
        let files = plural(offer.files as usize, "file", "files");
        if offer.folders > 0 {
            format!(
                "{files} in {}",
                plural(offer.folders as usize, "folder", "folders")
            )
        } else {
            files
        }
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new("📥").size(20.0));
        ui.vertical(|ui| {
            ui.label(
                RichText::new(format!("{} wants to send you {what}", prompt.from.alias))
                    .size(16.0)
                    .strong(),
            );
            ui.label(
                RichText::new(format!(
                    "{} · {} · device {}",
                    style::os_name(&prompt.from.os),
                    prompt.addr,
                    short_code(&prompt.from.device_id)
                ))
                .small()
                .weak(),
            );
        });
    });
}

/// The total size, and whether the download folder has room for it.
fn offer_total(ui: &mut egui::Ui, offer: &OfferSummary) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("Total {}", human_bytes(offer.total_bytes))).strong());
        if let Some(free) = offer.free_bytes {
            let enough = free >= offer.total_bytes;
            let text = format!("· {} free in the download folder", human_bytes(free));
            let text = RichText::new(text).weak();
            ui.label(if enough {
                text
            } else {
                text.color(style::red())
            });
            if !enough {
                ui.label(
                    RichText::new("Not enough space")
                        .color(style::red())
                        .strong(),
                );
            }
        }
    });
}

/// The pairing code, which the sender shows too unless someone is in between.
fn pairing_line(ui: &mut egui::Ui, prompt: &PendingOffer, own_id: &str) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Pairing code").weak());
        ui.label(
            RichText::new(pairing_code(own_id, &prompt.from.device_id))
                .monospace()
                .strong(),
        );
        ui.label(
            RichText::new(format!(
                "— {} shows the same code if nobody is in between.",
                prompt.from.alias
            ))
            .weak(),
        );
    });
}

/// Accept, Decline, or accept and trust the device from now on.
fn answer_buttons(ui: &mut egui::Ui, prompt: &PendingOffer, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        if ui.add(style::primary(ui, "Accept")).clicked() {
            actions.push(Action::Decide {
                id: prompt.id,
                accept: true,
                trust: false,
            });
        }
        if ui.button("Decline").clicked() {
            actions.push(Action::Decide {
                id: prompt.id,
                accept: false,
                trust: false,
            });
        }
        if ui
            .button(format!("Always accept from {}", prompt.from.alias))
            .on_hover_text(
                "Accept this and future offers from this device without asking. \
                 You can revoke this in Settings.",
            )
            .clicked()
        {
            actions.push(Action::Decide {
                id: prompt.id,
                accept: true,
                trust: true,
            });
        }
    });
}

/// A browser asking to upload through the share: from where, the names
/// (when the page announced them), the size, and Accept / Decline.
fn upload_card(
    ui: &mut egui::Ui,
    prompt: &UploadPrompt,
    share: Option<&ShareInfo>,
    actions: &mut Vec<Action>,
) {
    let accent = style::accent(ui);
    style::card(ui)
        .stroke(Stroke::new(2.0, accent))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new("🌐").size(20.0));
                ui.vertical(|ui| {
                    ui.label(
                        RichText::new(format!(
                            "A browser at {} wants to send you {}",
                            prompt.from.ip(),
                            files_phrase(prompt.names.len())
                        ))
                        .size(16.0)
                        .strong(),
                    );
                    let whereto = share
                        .map(|s| format!(" · saved in {}", s.download_dir.display()))
                        .unwrap_or_default();
                    ui.label(
                        RichText::new(format!("Through your browser share{whereto}"))
                            .small()
                            .weak(),
                    );
                });
            });
            ui.add_space(4.0);
            for name in prompt.names.iter().take(SHOWN_ENTRIES) {
                ui.horizontal(|ui| {
                    ui.label(style::FILE);
                    ui.label(name);
                });
            }
            if prompt.names.len() > SHOWN_ENTRIES {
                let rest = &prompt.names[SHOWN_ENTRIES..];
                egui::CollapsingHeader::new(format!("and {} more", rest.len()))
                    .id_salt(("more-uploads", prompt.id.0))
                    .show(ui, |ui| {
                        egui::ScrollArea::vertical()
                            .max_height(180.0)
                            .show(ui, |ui| {
                                for name in rest {
                                    ui.label(name);
                                }
                            });
                    });
            }
            let size = match prompt.size {
                // Without names the size is the request's, a little over the files'.
                Some(bytes) if prompt.names.is_empty() => format!("About {}", human_bytes(bytes)),
                Some(bytes) => format!("Total {}", human_bytes(bytes)),
                None => "The browser did not say how much".to_string(),
            };
            ui.label(RichText::new(size).strong());
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                let id = prompt.id;
                if ui.add(style::primary(ui, "Accept")).clicked() {
                    actions.push(Action::Share(ShareAction::Decide { id, accept: true }));
                }
                if ui.button("Decline").clicked() {
                    actions.push(Action::Share(ShareAction::Decide { id, accept: false }));
                }
            });
        });
}

fn entries(ui: &mut egui::Ui, prompt: &PendingOffer) {
    let shown: Vec<_> = prompt
        .offer
        .entries
        .iter()
        // The offer's top-level items: a folder with the bytes inside it
        // (what it holds is counted in the total line, not listed).
        .filter(|e| !matches!(e.kind, ItemKind::Text(_)))
        .collect();
    let line = |ui: &mut egui::Ui, entry: &crate::api::OfferItem| {
        ui.horizontal(|ui| {
            let icon = if entry.kind == ItemKind::Directory {
                style::FOLDER
            } else {
                style::FILE
            };
            ui.label(icon);
            ui.label(entry.path.join("/"));
            ui.label(RichText::new(human_bytes(entry.size)).weak());
        });
    };
    for entry in shown.iter().take(SHOWN_ENTRIES) {
        line(ui, entry);
    }
    if shown.len() > SHOWN_ENTRIES {
        let rest = shown.len() - SHOWN_ENTRIES;
        egui::CollapsingHeader::new(format!("and {rest} more"))
            .id_salt(("more", prompt.id.0))
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .max_height(180.0)
                    .show(ui, |ui| {
                        for entry in shown.iter().skip(SHOWN_ENTRIES) {
                            line(ui, entry);
                        }
                    });
            });
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// One notice with a dismiss button.
pub fn notice(ui: &mut egui::Ui, index: usize, text: &str, actions: &mut Vec<Action>) {
    let amber = egui::Color32::from_rgb(0xc7, 0x7c, 0x02);
    style::card(ui)
        .fill(amber.gamma_multiply(0.12))
        .stroke(Stroke::new(1.0, amber.gamma_multiply(0.6)))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new("⚠").color(amber));
                ui.with_layout(Layout::right_to_left(Align::Min), |ui| {
                    if style::close_button(ui).on_hover_text("Dismiss").clicked() {
                        actions.push(Action::DismissNotice(index));
                    }
                    ui.with_layout(Layout::left_to_right(Align::Min), |ui| {
                        ui.add(egui::Label::new(text).wrap());
                    });
                });
            });
        });
    ui.add_space(8.0);
}
