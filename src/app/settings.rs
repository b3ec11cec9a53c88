//! The Settings tab: a draft of the person's settings (device name, download
//! folder, port, browser share port, discovery interfaces, trust on first
//! use, theme, language) that becomes real on Save, and
//! the list of trusted devices with Revoke. The view edits only the draft;
//! validation is plain code ([`Draft::validate`]), and saving is the caller's
//! job (helper thread) through [`Action::SaveSettings`].

use std::path::PathBuf;

use egui::{Align, Layout, RichText};

use super::tasks::Pick;
use super::{Action, fonts, style};
use crate::config::MAX_ALIAS_BYTES;
use crate::config::{Settings, Theme};
use crate::i18n::{self, tr};
use crate::secure::identity::short_code;

/// What the last Save said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Saved; the text may mention a restart.
    Saved(String),
    /// Not saved; why.
    Problem(String),
}

/// The editable copy of the settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    /// Device name.
    pub alias: String,
    /// Download folder as typed.
    pub download_dir: String,
    /// Port as typed.
    pub port: String,
    /// Interfaces, comma-separated, as typed.
    pub interfaces: String,
    /// PIN senders must give; empty for none.
    pub pin: String,
    /// Theme.
    pub theme: Theme,
    /// Language tag; `None` follows the system.
    pub language: Option<String>,
    /// Send to new devices without comparing the pairing code.
    pub trust_new: bool,
    /// Port of the browser share as typed; 0 for any free port.
    pub share_port: String,
    /// Also talk to LocalSend devices.
    pub localsend: bool,
    /// LocalSend's port as typed.
    pub localsend_port: String,
    /// Result of the last Save.
    pub note: Option<Note>,
}

impl From<&Settings> for Draft {
    fn from(settings: &Settings) -> Self {
        Draft {
            alias: settings.alias.clone(),
            download_dir: settings.download_dir.display().to_string(),
            port: settings.port.to_string(),
            interfaces: settings.interfaces.join(", "),
            pin: settings.pin.clone().unwrap_or_default(),
            theme: settings.theme,
            language: settings.language.clone(),
            trust_new: settings.trust_new,
            share_port: settings.share_port.to_string(),
            localsend: settings.localsend,
            localsend_port: settings.localsend_port.to_string(),
            note: None,
        }
    }
}

impl Draft {
    /// The settings this draft describes, on top of `current`, or why not.
    pub fn validate(&self, current: &Settings) -> Result<Settings, String> {
        let alias = self.alias.trim();
        if alias.is_empty() {
            return Err(tr!("settings-error-alias-empty"));
        }
        if alias.len() > MAX_ALIAS_BYTES {
            return Err(tr!(
                "settings-error-alias-long",
                bytes = alias.len(),
                max = MAX_ALIAS_BYTES
            ));
        }
        let dir = self.download_dir.trim();
        if dir.is_empty() {
            return Err(tr!("settings-error-download-dir"));
        }
        let port: u16 = match self.port.trim().parse() {
            Ok(port) if port >= 1024 => port,
            _ => return Err(tr!("settings-error-port")),
        };
        let share_port: u16 = match self.share_port.trim().parse() {
            Ok(port) if port == 0 || port >= 1024 => port,
            _ => return Err(tr!("settings-error-share-port")),
        };
        let localsend_port: u16 = match self.localsend_port.trim().parse() {
            Ok(port) if port >= 1024 => port,
            _ => return Err(tr!("settings-error-localsend-port")),
        };
        let interfaces = self
            .interfaces
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let pin = self.pin.trim();
        if !pin.is_empty() {
            crate::secure::pin::check_new_pin(pin)?;
        }
        Ok(Settings {
            alias: alias.to_string(),
            pin: (!pin.is_empty()).then(|| pin.to_string()),
            download_dir: PathBuf::from(dir),
            port,
            interfaces,
            theme: self.theme,
            language: self.language.clone(),
            trust_new: self.trust_new,
            share_port,
            localsend: self.localsend,
            localsend_port,
            ..current.clone()
        })
    }
}

/// Draws the Settings tab.
pub fn show(
    ui: &mut egui::Ui,
    draft: &mut Draft,
    saved: &Settings,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    ui.scope(|ui| {
        style::card(ui).show(ui, |ui| {
            ui.set_width(ui.available_width());
            form(ui, draft, dialog_open, actions);
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                let changed = draft.validate(saved).ok().as_ref() != Some(saved);
                if ui
                    .add_enabled(changed, style::primary(ui, &tr!("settings-save")))
                    .clicked()
                {
                    actions.push(Action::SaveSettings);
                }
                if ui
                    .add_enabled(changed, egui::Button::new(tr!("settings-undo")))
                    .clicked()
                {
                    *draft = Draft::from(saved);
                }
                match &draft.note {
                    Some(Note::Saved(text)) => {
                        ui.label(RichText::new(text).color(style::green()));
                    }
                    Some(Note::Problem(text)) => {
                        ui.label(RichText::new(text).color(style::red()));
                    }
                    None => {}
                }
            });
        });
        ui.add_space(12.0);
        trusted(ui, saved, actions);
        ui.add_space(12.0);
        super::pairing::remembered_card(ui, &saved.remembered_devices, actions);
    });
}

/// Narrower than this, each setting's name goes above its field.
const STACK_BELOW: f32 = 620.0;

/// Widest a text field of the form grows.
const FIELD_WIDTH: f32 = 280.0;

fn form(ui: &mut egui::Ui, draft: &mut Draft, dialog_open: bool, actions: &mut Vec<Action>) {
    if ui.available_width() < STACK_BELOW {
        ui.vertical(|ui| rows(ui, true, draft, dialog_open, actions));
    } else {
        egui::Grid::new("settings-form")
            .num_columns(2)
            .spacing([16.0, 10.0])
            .show(ui, |ui| rows(ui, false, draft, dialog_open, actions));
    }
}

/// Ends one setting: the grid's row, or a gap when stacked.
fn next(ui: &mut egui::Ui, stacked: bool) {
    if stacked {
        ui.add_space(8.0);
    } else {
        ui.end_row();
    }
}

/// A field as wide as `wanted`, or the room left when that is less.
fn field_width(ui: &egui::Ui, wanted: f32) -> f32 {
    wanted.min(ui.available_width() - 8.0).max(60.0)
}

/// A field with its hint: beside it in the grid, under it when stacked
/// (so a long hint wraps under the field, never over it).
fn with_hint(
    ui: &mut egui::Ui,
    stacked: bool,
    hint: String,
    field: impl FnOnce(&mut egui::Ui) -> egui::Response,
    label: egui::Id,
) {
    let hint = RichText::new(hint).small().weak();
    if stacked {
        ui.vertical(|ui| {
            field(ui).labelled_by(label);
            ui.add(egui::Label::new(hint).wrap());
        });
    } else {
        ui.horizontal(|ui| {
            field(ui).labelled_by(label);
            ui.label(hint);
        });
    }
}

fn rows(
    ui: &mut egui::Ui,
    stacked: bool,
    draft: &mut Draft,
    dialog_open: bool,
    actions: &mut Vec<Action>,
) {
    let label = ui.label(tr!("settings-device-name"));
    let width = field_width(ui, FIELD_WIDTH);
    ui.add(egui::TextEdit::singleline(&mut draft.alias).desired_width(width))
        .labelled_by(label.id);
    next(ui, stacked);

    let label = ui.label(tr!("settings-download-dir"));
    ui.horizontal_wrapped(|ui| {
        let choose = egui::Button::new(tr!("settings-choose"));
        // Room for "Choose…" beside the path, always.
        let width = field_width(ui, FIELD_WIDTH.min(ui.available_width() - 110.0));
        ui.add(egui::TextEdit::singleline(&mut draft.download_dir).desired_width(width))
            .labelled_by(label.id);
        if ui.add_enabled(!dialog_open, choose).clicked() {
            actions.push(Action::Pick(Pick::DownloadDir));
        }
    });
    next(ui, stacked);

    let label = ui.label(tr!("settings-port"));
    with_hint(
        ui,
        stacked,
        tr!("settings-port-hint"),
        |ui| ui.add(egui::TextEdit::singleline(&mut draft.port).desired_width(80.0)),
        label.id,
    );
    next(ui, stacked);

    let label = ui.label(tr!("settings-share-port"));
    with_hint(
        ui,
        stacked,
        tr!("settings-share-port-hint"),
        |ui| ui.add(egui::TextEdit::singleline(&mut draft.share_port).desired_width(80.0)),
        label.id,
    );
    next(ui, stacked);

    ui.label(tr!("settings-localsend"));
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut draft.localsend, tr!("settings-localsend-on"));
        let label = ui.label(tr!("settings-localsend-port"));
        ui.add(egui::TextEdit::singleline(&mut draft.localsend_port).desired_width(80.0))
            .labelled_by(label.id);
        ui.label(RichText::new(tr!("settings-after-restart")).small().weak());
    });
    next(ui, stacked);

    let label = ui.label(tr!("settings-interfaces"));
    with_hint(
        ui,
        stacked,
        tr!("settings-interfaces-hint"),
        |ui| {
            ui.add(
                egui::TextEdit::singleline(&mut draft.interfaces)
                    .hint_text(tr!("settings-interfaces-placeholder"))
                    .desired_width(160.0),
            )
        },
        label.id,
    );
    next(ui, stacked);

    let label = ui.label(tr!("settings-pin"));
    with_hint(
        ui,
        stacked,
        tr!("settings-pin-hint"),
        |ui| {
            ui.add(
                egui::TextEdit::singleline(&mut draft.pin)
                    .hint_text(tr!("settings-pin-placeholder"))
                    .password(true)
                    .desired_width(120.0),
            )
        },
        label.id,
    );
    next(ui, stacked);

    ui.label(tr!("settings-new-devices"));
    ui.vertical(|ui| {
        ui.checkbox(&mut draft.trust_new, tr!("settings-trust-new"));
        ui.add(
            egui::Label::new(RichText::new(tr!("settings-trust-new-hint")).small().weak()).wrap(),
        );
    });
    next(ui, stacked);

    ui.label(tr!("settings-theme"));
    ui.horizontal_wrapped(|ui| {
        ui.radio_value(
            &mut draft.theme,
            Theme::System,
            tr!("settings-theme-system"),
        );
        ui.radio_value(&mut draft.theme, Theme::Light, tr!("settings-theme-light"));
        ui.radio_value(&mut draft.theme, Theme::Dark, tr!("settings-theme-dark"));
    });
    next(ui, stacked);

    let label = ui.label(tr!("settings-language"));
    language(ui, &mut draft.language).labelled_by(label.id);
    next(ui, stacked);
}

/// The language choice: the system's (naming the language it gives now),
/// then each catalog's language in its own words.
fn language(ui: &mut egui::Ui, choice: &mut Option<String>) -> egui::Response {
    let languages = i18n::languages();
    let name_of = |tag: &str| {
        languages
            .iter()
            .find(|(t, _)| *t == tag)
            .map_or_else(|| tag.to_string(), |(_, name)| name.clone())
    };
    let system = tr!(
        "settings-language-system",
        language = name_of(i18n::system_language())
    );
    let selected = match choice.as_deref() {
        Some(tag) => name_of(tag),
        None => system.clone(),
    };
    egui::ComboBox::from_id_salt("settings-language")
        .selected_text(selected)
        .width(200.0)
        .show_ui(ui, |ui| {
            ui.selectable_value(choice, None, system);
            for (tag, name) in &languages {
                ui.selectable_value(choice, Some((*tag).to_string()), name);
            }
        })
        .response
}

fn trusted(ui: &mut egui::Ui, saved: &Settings, actions: &mut Vec<Action>) {
    style::card(ui).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(
            RichText::new(tr!("settings-trusted-title"))
                .size(16.0)
                .strong(),
        );
        if saved.trusted_devices.is_empty() {
            ui.label(RichText::new(tr!("settings-trusted-none")).weak());
            return;
        }
        ui.label(RichText::new(tr!("settings-trusted-intro")).weak());
        for device in &saved.trusted_devices {
            ui.horizontal(|ui| {
                ui.label(RichText::new("🔓").size(14.0));
                fonts::on_hover_readable(ui.label(&device.alias), &device.alias);
                ui.label(
                    RichText::new(short_code(&device.device_id))
                        .small()
                        .weak()
                        .monospace(),
                );
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    let revoke = ui.button(tr!("settings-revoke", name = &device.alias));
                    if fonts::on_hover_readable(revoke, &device.alias).clicked() {
                        actions.push(Action::Revoke(device.device_id.clone()));
                    }
                });
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_are_checked_before_saving() {
        let current = Settings::default();
        let mut draft = Draft::from(&current);
        assert_eq!(draft.validate(&current), Ok(current.clone()));
        draft.interfaces = " lo , eth0,".into();
        draft.alias = "  desk  ".into();
        let new = draft.validate(&current).expect("valid");
        assert_eq!(new.interfaces, vec!["lo", "eth0"]);
        assert_eq!(new.alias, "desk");
        draft.port = "80".into();
        assert!(draft.validate(&current).is_err());
        draft.port = "5000".into();
        draft.share_port = "47814".into();
        assert_eq!(draft.validate(&current).map(|s| s.share_port), Ok(47814));
        draft.share_port = "80".into();
        assert!(draft.validate(&current).is_err());
        draft.share_port = "0".into();
        draft.port = "5000".into();
        draft.alias = " ".into();
        assert!(draft.validate(&current).is_err());
    }
}
