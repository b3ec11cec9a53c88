//! The cards of first contact: on the sending side, "Does <device> show
//! this code?" with Confirm / Don't send (and a warning when a remembered name
//! comes with another key); on the receiving side, the code to read out
//! while the sender's person compares it; and the Settings card of the
//! remembered devices, with Forget. Views only: they read the state
//! and return actions. Every sentence comes from the catalogs through
//! [`text`].

use egui::{Align, Layout, RichText, Stroke};

use super::state::{PeerConfirmation, ShownCode, UiState};
use super::{Action, style};
use crate::api::TrustedDevice;
use crate::secure::identity::short_code;

/// The window's sentences about pairing codes, from the catalogs.
pub(super) mod text {
    use crate::i18n::tr;

    /// Sender card title.
    pub fn confirm_title(device: &str) -> String {
        tr!("pairing-confirm-title", name = device)
    }
    /// Sender card explanation.
    pub fn confirm_hint() -> String {
        tr!("pairing-confirm-hint")
    }
    /// Sender card: the remembered name has another key.
    pub fn key_changed(device: &str) -> String {
        tr!("pairing-key-changed-send", name = device)
    }
    /// Sender card: the codes match.
    pub fn confirm() -> String {
        tr!("pairing-confirm")
    }
    /// Sender card: the code was confirmed despite a changed key.
    pub fn confirm_changed() -> String {
        tr!("pairing-confirm-changed")
    }
    /// Sender card: refuse (the codes differ, or no one could check).
    pub fn refuse() -> String {
        tr!("pairing-refuse")
    }
    /// Sender card for a LocalSend device (no pairing code exists).
    pub fn localsend_title(device: &str) -> String {
        tr!("pairing-localsend-title", name = device)
    }
    /// Sender card for a LocalSend device: what Ferry can and cannot check.
    pub fn localsend_hint(device: &str) -> String {
        tr!("pairing-localsend-hint", name = device)
    }
    /// Sender card for a LocalSend device: its certificate changed.
    pub fn localsend_key_changed(device: &str) -> String {
        tr!("pairing-localsend-key-changed", name = device)
    }
    /// Sender card for a LocalSend device: send.
    pub fn localsend_confirm() -> String {
        tr!("pairing-localsend-confirm")
    }
    /// Sender card for a LocalSend device: send despite a changed certificate.
    pub fn localsend_confirm_changed() -> String {
        tr!("pairing-localsend-confirm-changed")
    }
    /// The label before a certificate fingerprint.
    pub fn fingerprint() -> String {
        tr!("pairing-fingerprint")
    }
    /// Receiver card title.
    pub fn shown_title(device: &str) -> String {
        tr!("pairing-shown-title", name = device)
    }
    /// Receiver card explanation.
    pub fn shown_hint(device: &str) -> String {
        tr!("pairing-shown-hint", name = device)
    }
    /// The receiver's offer card: a remembered name with another key.
    pub fn offer_key_changed(device: &str) -> String {
        tr!("pairing-key-changed-receive", name = device)
    }
    /// The label before a code.
    pub fn code() -> String {
        tr!("offer-pairing-code")
    }
    /// Settings card title.
    pub fn remembered() -> String {
        tr!("pairing-remembered")
    }
    /// Settings card, empty.
    pub fn remembered_none() -> String {
        tr!("pairing-remembered-none")
    }
    /// Settings card explanation.
    pub fn remembered_hint() -> String {
        tr!("pairing-remembered-hint")
    }
    /// Settings card button.
    pub fn forget(device: &str) -> String {
        tr!("pairing-forget", name = device)
    }
    /// The small line under a card title: address and short device id.
    pub fn where_and_who(addr: std::net::SocketAddr, short_id: &str) -> String {
        tr!("pairing-where", address = addr.to_string(), id = short_id)
    }
}

/// Draws the sender's confirmations and the receiver's shown codes.
pub fn show(ui: &mut egui::Ui, state: &UiState, actions: &mut Vec<Action>) {
    for confirmation in &state.confirmations {
        ui.push_id(("confirm", confirmation.id.0), |ui| {
            confirm_card(ui, confirmation, actions)
        });
        ui.add_space(10.0);
    }
    for shown in &state.codes {
        ui.push_id(("code", shown.id.0), |ui| shown_card(ui, shown));
        ui.add_space(10.0);
    }
}

/// The Settings card listing the remembered devices, each with Forget.
pub fn remembered_card(ui: &mut egui::Ui, remembered: &[TrustedDevice], actions: &mut Vec<Action>) {
    style::card(ui).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(text::remembered()).size(16.0).strong());
        if remembered.is_empty() {
            ui.label(RichText::new(text::remembered_none()).weak());
            return;
        }
        ui.label(RichText::new(text::remembered_hint()).weak());
        for device in remembered {
            ui.horizontal(|ui| {
                ui.label(&device.alias);
                let id = short_code(&device.device_id);
                ui.label(RichText::new(id).small().weak().monospace());
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    if ui.button(text::forget(&device.alias)).clicked() {
                        actions.push(Action::Forget(device.device_id.clone()));
                    }
                });
            });
        }
    });
}

/// The size of the code on an offer: the receiver's offer card and the
/// sender's waiting row draw it alike (issue 16, item 11).
pub const OFFER_CODE_SIZE: f32 = 20.0;

/// The code in large digits.
pub fn code_label(ui: &mut egui::Ui, code: &str, size: f32) {
    ui.horizontal(|ui| {
        ui.label(RichText::new(text::code()).weak());
        ui.label(RichText::new(code).monospace().strong().size(size));
    });
}

/// The small line under a title: the address and the short device id.
fn where_and_who(ui: &mut egui::Ui, addr: std::net::SocketAddr, device_id: &str) {
    let line = text::where_and_who(addr, &short_code(device_id));
    ui.label(RichText::new(line).small().weak());
}

/// A warning line in red.
pub fn warning(ui: &mut egui::Ui, sentence: String) {
    ui.label(RichText::new(sentence).color(style::red()).strong());
}

fn confirm_card(ui: &mut egui::Ui, confirmation: &PeerConfirmation, actions: &mut Vec<Action>) {
    let alias = &confirmation.device.alias;
    let changed = confirmation.key_changed;
    let stroke = if changed {
        style::red()
    } else {
        style::accent(ui)
    };
    // A LocalSend device has no pairing code: the card says what Ferry can
    // check (its certificate, remembered from now on) instead of asking for
    // a comparison nobody could make.
    let (title, hint, yes) = match (confirmation.localsend, changed) {
        (true, _) => (
            text::localsend_title(alias),
            text::localsend_hint(alias),
            if changed {
                text::localsend_confirm_changed()
            } else {
                text::localsend_confirm()
            },
        ),
        (false, true) => (
            text::confirm_title(alias),
            text::confirm_hint(),
            text::confirm_changed(),
        ),
        (false, false) => (
            text::confirm_title(alias),
            text::confirm_hint(),
            text::confirm(),
        ),
    };
    style::card(ui)
        .stroke(Stroke::new(2.0, stroke))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(title).size(16.0).strong());
            where_and_who(ui, confirmation.to, &confirmation.device.device_id);
            if changed {
                warning(
                    ui,
                    if confirmation.localsend {
                        text::localsend_key_changed(alias)
                    } else {
                        text::key_changed(alias)
                    },
                );
            }
            if confirmation.localsend {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(text::fingerprint()).weak());
                    ui.label(RichText::new(&confirmation.code).monospace().strong());
                });
            } else {
                code_label(ui, &confirmation.code, 22.0);
            }
            ui.label(RichText::new(hint).weak());
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                let answer = |confirmed| Action::ConfirmPeer {
                    id: confirmation.id,
                    confirmed,
                };
                if ui.add(style::primary(ui, &yes)).clicked() {
                    actions.push(answer(true));
                }
                if ui.button(text::refuse()).clicked() {
                    actions.push(answer(false));
                }
            });
        });
}

fn shown_card(ui: &mut egui::Ui, shown: &ShownCode) {
    let accent = style::accent(ui);
    style::card(ui)
        .stroke(Stroke::new(2.0, accent))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let alias = &shown.from.alias;
            ui.label(RichText::new(text::shown_title(alias)).size(16.0).strong());
            where_and_who(ui, shown.addr, &shown.from.device_id);
            code_label(ui, &shown.code, 22.0);
            ui.label(RichText::new(text::shown_hint(alias)).weak());
        });
}
