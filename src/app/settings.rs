//! The Settings tab: a draft of the person's settings (device name, download
//! folder, port, browser share port, discovery interfaces, theme) that becomes real on Save, and
//! the list of trusted devices with Revoke. The view edits only the draft;
//! validation is plain code ([`Draft::validate`]), and saving is the caller's
//! job (helper thread) through [`Action::SaveSettings`].

use std::path::PathBuf;

use egui::{Align, Layout, RichText};

use super::tasks::Pick;
use super::{Action, style};
use crate::config::MAX_ALIAS_BYTES;
use crate::config::{Settings, Theme};
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
            return Err("The device name cannot be empty.".into());
        }
        if alias.len() > MAX_ALIAS_BYTES {
            return Err(format!(
                "The device name is too long ({} bytes; at most {MAX_ALIAS_BYTES}).",
                alias.len()
            ));
        }
        let dir = self.download_dir.trim();
        if dir.is_empty() {
            return Err("Choose a download folder.".into());
        }
        let port: u16 = match self.port.trim().parse() {
            Ok(port) if port >= 1024 => port,
            _ => return Err("The port must be a number from 1024 to 65535.".into()),
        };
        let share_port: u16 = match self.share_port.trim().parse() {
            Ok(port) if port == 0 || port >= 1024 => port,
            _ => {
                return Err(
                    "The browser share port must be 0 (any free port) or a number from 1024 to 65535."
                        .into(),
                );
            }
        };
        let localsend_port: u16 = match self.localsend_port.trim().parse() {
            Ok(port) if port >= 1024 => port,
            _ => return Err("The LocalSend port must be a number from 1024 to 65535.".into()),
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
                    .add_enabled(changed, style::primary(ui, "Save"))
                    .clicked()
                {
                    actions.push(Action::SaveSettings);
                }
                if ui
                    .add_enabled(changed, egui::Button::new("Undo changes"))
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
    });
}

fn form(ui: &mut egui::Ui, draft: &mut Draft, dialog_open: bool, actions: &mut Vec<Action>) {
    egui::Grid::new("settings-form")
        .num_columns(2)
        .spacing([16.0, 10.0])
        .show(ui, |ui| {
            let label = ui.label("Device name");
            ui.add(egui::TextEdit::singleline(&mut draft.alias).desired_width(280.0))
                .labelled_by(label.id);
            ui.end_row();

            let label = ui.label("Save received files in");
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut draft.download_dir).desired_width(280.0))
                    .labelled_by(label.id);
                if ui
                    .add_enabled(!dialog_open, egui::Button::new("Choose…"))
                    .clicked()
                {
                    actions.push(Action::Pick(Pick::DownloadDir));
                }
            });
            ui.end_row();

            let label = ui.label("Port");
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut draft.port).desired_width(80.0))
                    .labelled_by(label.id);
                ui.label(
                    RichText::new("TCP, for incoming transfers (applies after restart)")
                        .small()
                        .weak(),
                );
            });
            ui.end_row();

            let label = ui.label("Browser share port");
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut draft.share_port).desired_width(80.0))
                    .labelled_by(label.id);
                ui.label(
                    RichText::new("TCP, for Share via browser; 0 picks a free port for each share")
                        .small()
                        .weak(),
                );
            });
            ui.end_row();

            ui.label("LocalSend");
            ui.horizontal(|ui| {
                ui.checkbox(&mut draft.localsend, "Also talk to LocalSend devices");
                let label = ui.label("port");
                ui.add(egui::TextEdit::singleline(&mut draft.localsend_port).desired_width(80.0))
                    .labelled_by(label.id);
                ui.label(RichText::new("(applies after restart)").small().weak());
            });
            ui.end_row();

            let label = ui.label("Network interfaces");
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut draft.interfaces)
                        .hint_text("all")
                        .desired_width(160.0),
                )
                .labelled_by(label.id);
                ui.label(
                    RichText::new("e.g. eth0, wlan0 — empty means all (applies after restart)")
                        .small()
                        .weak(),
                );
            });
            ui.end_row();

            let label = ui.label("PIN for senders");
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut draft.pin)
                        .hint_text("none")
                        .password(true)
                        .desired_width(120.0),
                )
                .labelled_by(label.id);
                ui.label(
                    RichText::new(
                        "Optional: devices that are not trusted must type it to send here",
                    )
                    .small()
                    .weak(),
                );
            });
            ui.end_row();

            ui.label("Theme");
            ui.horizontal(|ui| {
                ui.radio_value(&mut draft.theme, Theme::System, "Follow system");
                ui.radio_value(&mut draft.theme, Theme::Light, "Light");
                ui.radio_value(&mut draft.theme, Theme::Dark, "Dark");
            });
            ui.end_row();
        });
}

fn trusted(ui: &mut egui::Ui, saved: &Settings, actions: &mut Vec<Action>) {
    style::card(ui).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Accepted without asking").size(16.0).strong());
        if saved.trusted_devices.is_empty() {
            ui.label(
                RichText::new(
                    "No device is trusted: every offer asks first. Choose “Always accept from …” on an offer to add one.",
                )
                .weak(),
            );
            return;
        }
        ui.label(
            RichText::new(
                "Offers from these devices are accepted at once. The trust is tied to each device's key: \
                 another device using the same name is refused.",
            )
            .weak(),
        );
        for device in &saved.trusted_devices {
            ui.horizontal(|ui| {
                ui.label(RichText::new("🔓").size(14.0));
                ui.label(&device.alias);
                ui.label(
                    RichText::new(short_code(&device.device_id))
                        .small()
                        .weak()
                        .monospace(),
                );
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    if ui.button(format!("Revoke {}", device.alias)).clicked() {
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
