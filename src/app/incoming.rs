//! What arrives: one prompt card per incoming offer (sender, entries —
//! collapsed when many — total size, free space, Accept / Decline / Always
//! accept), one per browser asking to upload through the share (address,
//! names when known, size, Accept / Decline), received text messages with
//! Copy, and notices about problems that belong to no transfer. Several
//! prompts can wait at once. Views only read state and return actions;
//! nothing is written before an Accept.

use egui::{Align, Layout, RichText, Stroke};

use super::share_control::ShareAction;
use super::share_state::{ShareInfo, UploadPrompt};
use super::state::{PendingOffer, UiState};
use super::{Action, fonts, style};
use crate::api::human_bytes;
use crate::api::{ItemKind, OfferSummary};
use crate::i18n::tr;
use crate::secure::identity::short_code;

/// Entries listed before the rest are folded away.
const SHOWN_ENTRIES: usize = 4;

/// Width kept for an entry's size beside its (cut) name.
const NAME_SIZE_ROOM: f32 = 110.0;

/// Draws prompts and messages.
pub fn show(ui: &mut egui::Ui, state: &UiState, actions: &mut Vec<Action>) {
    for prompt in &state.prompts {
        ui.push_id(("prompt", prompt.id.0), |ui| {
            prompt_card(ui, prompt, actions)
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
                    let title =
                        ui.label(RichText::new(tr!("message-from", name = &message.from)).strong());
                    fonts::on_hover_readable(title, &message.from);
                    ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                        if style::close_button(ui)
                            .on_hover_text(tr!("common-dismiss"))
                            .clicked()
                        {
                            actions.push(Action::DismissMessage(message.id));
                        }
                        if ui.button(tr!("common-copy")).clicked() {
                            actions.push(Action::Copy(message.text.clone()));
                        }
                    });
                });
                egui::ScrollArea::vertical()
                    .max_height(140.0)
                    .show(ui, |ui| {
                        let text = ui.add(egui::Label::new(&message.text).selectable(true).wrap());
                        fonts::on_hover_readable(text, &message.text);
                    });
            });
        });
        ui.add_space(10.0);
    }
}

fn prompt_card(ui: &mut egui::Ui, prompt: &PendingOffer, actions: &mut Vec<Action>) {
    let accent = style::accent(ui);
    style::card(ui)
        .stroke(Stroke::new(2.0, accent))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            offer_header(ui, prompt);
            if prompt.is_text_only() {
                ui.add_space(4.0);
                message_preview(ui, &prompt.offer.texts);
            } else {
                ui.add_space(4.0);
                entries(ui, prompt);
                ui.add_space(2.0);
                offer_total(ui, &prompt.offer);
            }
            pairing_line(ui, prompt);
            ui.add_space(6.0);
            answer_buttons(ui, prompt, actions);
        });
}

/// Who wants to send what, and from which device.
fn offer_header(ui: &mut egui::Ui, prompt: &PendingOffer) {
    let offer = &prompt.offer;
    let name = &prompt.from.alias;
    let title = if prompt.is_text_only() {
        tr!("offer-title-message", name = name)
    } else if offer.folders > 0 {
        tr!(
            "offer-title-files-in-folders",
            name = name,
            count = offer.files,
            folders = offer.folders
        )
    } else {
        tr!("offer-title-files", name = name, count = offer.files)
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new("📥").size(20.0));
        ui.vertical(|ui| {
            let title = ui.add(egui::Label::new(RichText::new(title).size(16.0).strong()).wrap());
            fonts::on_hover_readable(title, name);
            ui.label(
                RichText::new(tr!(
                    "offer-device-line",
                    os = style::os_name(&prompt.from.os),
                    address = prompt.addr.to_string(),
                    code = short_code(&prompt.from.device_id)
                ))
                .small()
                .weak(),
            );
        });
    });
}

/// What a message says, before the person takes it: its start, in full
/// on hover (the whole text shows once accepted).
fn message_preview(ui: &mut egui::Ui, texts: &[String]) {
    let whole = texts.join("\n\n");
    style::message_box(ui).show(ui, |ui| {
        ui.set_width(ui.available_width());
        let start = super::transfers::message_start(&whole);
        let shown = ui.add(egui::Label::new(RichText::new(start).italics()).wrap());
        fonts::on_hover_readable(shown, &whole);
    });
}

/// The total size, and whether the download folder has room for it.
fn offer_total(ui: &mut egui::Ui, offer: &OfferSummary) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(tr!("offer-total", size = human_bytes(offer.total_bytes))).strong());
        if offer.resumed_bytes > 0 {
            // Kept from an earlier try that was cancelled or cut off: only
            // the rest will cross the wire.
            ui.label(
                RichText::new(tr!(
                    "offer-resuming-after",
                    size = human_bytes(offer.resumed_bytes)
                ))
                .color(style::accent(ui)),
            );
        }
        if let Some(free) = offer.free_bytes {
            let needed = offer.total_bytes.saturating_sub(offer.resumed_bytes);
            let enough = free >= needed;
            let text = tr!("offer-free-space", size = human_bytes(free));
            let text = RichText::new(text).weak();
            ui.label(if enough {
                text
            } else {
                text.color(style::red())
            });
            if !enough {
                ui.label(
                    RichText::new(tr!("offer-not-enough-space"))
                        .color(style::red())
                        .strong(),
                );
            }
        }
    });
}

/// The connection's pairing code, which the sender shows too unless someone
/// is in between, and a warning when a remembered name has another key.
fn pairing_line(ui: &mut egui::Ui, prompt: &PendingOffer) {
    use super::pairing::text;
    if prompt.key_changed {
        super::pairing::warning(ui, text::offer_key_changed(&prompt.from.alias));
    }
    if prompt.code.is_empty() {
        // A LocalSend sender: its protocol has no pairing code to compare.
        let line = tr!(
            "offer-no-pairing-code",
            id = short_code(&prompt.from.device_id)
        );
        ui.add(egui::Label::new(RichText::new(line).weak()).wrap());
        return;
    }
    ui.horizontal(|ui| {
        super::pairing::code_label(ui, &prompt.code, super::pairing::OFFER_CODE_SIZE);
        let same = ui.add(
            egui::Label::new(
                RichText::new(tr!("offer-pairing-same", name = &prompt.from.alias)).weak(),
            )
            .wrap(),
        );
        fonts::on_hover_readable(same, &prompt.from.alias);
    });
}

/// Accept, Decline, or accept and trust the device from now on.
fn answer_buttons(ui: &mut egui::Ui, prompt: &PendingOffer, actions: &mut Vec<Action>) {
    // Wrapped: "Always accept from <a long name>" moves to the next line in
    // a narrow window instead of widening the card past it.
    ui.horizontal_wrapped(|ui| {
        if ui.add(style::primary(ui, &tr!("offer-accept"))).clicked() {
            actions.push(Action::Decide {
                id: prompt.id,
                accept: true,
                trust: false,
            });
        }
        if ui.button(tr!("offer-decline")).clicked() {
            actions.push(Action::Decide {
                id: prompt.id,
                accept: false,
                trust: false,
            });
        }
        let always = ui.button(tr!("offer-always-accept", name = &prompt.from.alias));
        let always = match fonts::readable(ui.ctx(), &prompt.from.alias) {
            Some(escaped) => always.on_hover_text(escaped),
            None => always.on_hover_text(tr!("offer-always-accept-hint")),
        };
        if always.clicked() {
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
                        RichText::new(tr!(
                            "upload-title",
                            address = prompt.from.ip().to_string(),
                            count = prompt.names.len()
                        ))
                        .size(16.0)
                        .strong(),
                    );
                    let through = match share {
                        Some(s) => tr!(
                            "upload-through-share-into",
                            folder = s.download_dir.display().to_string()
                        ),
                        None => tr!("upload-through-share"),
                    };
                    ui.label(RichText::new(through).small().weak());
                });
            });
            ui.add_space(4.0);
            for name in prompt.names.iter().take(SHOWN_ENTRIES) {
                ui.horizontal(|ui| {
                    ui.label(style::FILE);
                    fonts::on_hover_readable(ui.add(egui::Label::new(name).wrap()), name);
                });
            }
            if prompt.names.len() > SHOWN_ENTRIES {
                let rest = &prompt.names[SHOWN_ENTRIES..];
                egui::CollapsingHeader::new(tr!("offer-and-more", count = rest.len()))
                    .id_salt(("more-uploads", prompt.id.0))
                    .show(ui, |ui| {
                        egui::ScrollArea::vertical()
                            .max_height(180.0)
                            .show(ui, |ui| {
                                for name in rest {
                                    fonts::on_hover_readable(ui.label(name), name);
                                }
                            });
                    });
            }
            let size = match prompt.size {
                // Without names the size is the request's, a little over the files'.
                Some(bytes) if prompt.names.is_empty() => {
                    tr!("upload-about", size = human_bytes(bytes))
                }
                Some(bytes) => tr!("offer-total", size = human_bytes(bytes)),
                None => tr!("upload-size-unknown"),
            };
            ui.label(RichText::new(size).strong());
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                let id = prompt.id;
                if ui.add(style::primary(ui, &tr!("offer-accept"))).clicked() {
                    actions.push(Action::Share(ShareAction::Decide { id, accept: true }));
                }
                if ui.button(tr!("offer-decline")).clicked() {
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
            let name = entry.path.join("/");
            // A long name (Latin or CJK) is cut with "…", leaving room for the size.
            let room = (ui.available_width() - NAME_SIZE_ROOM).max(80.0);
            ui.scope(|ui| {
                ui.set_max_width(room);
                fonts::on_hover_readable(ui.add(egui::Label::new(&name).truncate()), &name);
            });
            // A folder's size is the bytes inside it (the offer is a summary).
            ui.label(RichText::new(human_bytes(entry.size)).weak());
        });
    };
    for entry in shown.iter().take(SHOWN_ENTRIES) {
        line(ui, entry);
    }
    if shown.len() > SHOWN_ENTRIES {
        let rest = shown.len() - SHOWN_ENTRIES;
        egui::CollapsingHeader::new(tr!("offer-and-more", count = rest))
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
                    if style::close_button(ui)
                        .on_hover_text(tr!("common-dismiss"))
                        .clicked()
                    {
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
