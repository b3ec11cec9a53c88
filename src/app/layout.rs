//! Where things sit in the window: the top bar (identity, the Send buttons
//! and Share via browser), the status bar, the Devices panel on the left, and the central
//! column (notices, prompts, messages, the tray, then the Transfers / History /
//! Settings tabs) in one scroll area. Drawing only: actions are collected and
//! carried out by [`FerryApp::handle`] after the frame is laid out.

use std::time::Duration;

use egui::{Align, Layout, Margin, RichText, Sense, Vec2};

use super::share_control::ShareAction;
use super::tasks::Pick;
use super::{Action, FerryApp, Tab, history, incoming, now_ms, pairing, peers, settings, style};
use super::{fonts, share, transfers, tray};
use crate::i18n::tr;

/// History entries drawn at once; older ones stay in the file.
const HISTORY_SHOWN: usize = 100;

/// Widest the central column grows; beyond it, the window's sides stay empty.
const CONTENT_MAX_WIDTH: f32 = 920.0;

/// Narrowest and widest the Devices panel can be.
const PEERS_MIN_WIDTH: f32 = 230.0;
const PEERS_MAX_WIDTH: f32 = 480.0;

/// Top-bar width from which the name and the buttons share one row.
const TOP_BAR_ONE_ROW: f32 = 860.0;

impl FerryApp {
    /// Draws the window and carries out what the person asked for.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let mut actions = Vec::new();
        self.top_bar(ui, &mut actions);
        self.status_bar(ui);
        // The devices take at most ~40% of a narrow window, so the central
        // column keeps room for its cards.
        let widest = (ui.available_width() * 0.4).clamp(PEERS_MIN_WIDTH, PEERS_MAX_WIDTH);
        let unanswered = self.unanswered();
        egui::Panel::left("peers")
            .resizable(true)
            .default_size(330.0_f32.min(widest))
            .size_range(PEERS_MIN_WIDTH..=widest)
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(Margin::same(12)))
            .show(ui, |ui| {
                peers::show(
                    ui,
                    &self.state,
                    self.discovery_on,
                    self.localsend_addr().is_some(),
                    &unanswered,
                    &mut actions,
                );
            });
        egui::CentralPanel::default()
            .frame(egui::Frame::central_panel(ui.style()).inner_margin(Margin::same(14)))
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("central")
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.central_column(ui, &mut actions));
            });
        peers::dialogs(ui.ctx(), &mut self.view, &self.state, &mut actions);
        transfers::pin_dialog(
            ui.ctx(),
            &mut self.view.pin_input,
            &self.state,
            &mut actions,
        );
        share::window(
            ui.ctx(),
            &mut self.view.share_open,
            &self.state,
            &self.settings.download_dir,
            self.view.dialog_open,
            share::Kept {
                qr: &mut self.share.qr,
                text: &mut self.view.share_text,
            },
            &mut actions,
        );
        tray::drop_overlay(ui.ctx(), &self.state);
        for action in actions {
            self.handle(action);
        }
        for text in self.copy_requests.drain(..) {
            ui.ctx().copy_text(text);
        }
        if self.theme_dirty {
            self.theme_dirty = false;
            style::apply(ui.ctx(), self.settings.theme);
        }
    }

    /// One whole frame, as eframe runs it: [`Self::logic`] then [`Self::draw`].
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        self.logic(ui.ctx());
        self.draw(ui);
    }

    fn top_bar(&self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        egui::Panel::top("top")
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(Margin::symmetric(14, 10)))
            .show(ui, |ui| {
                // Wide enough for the name and every button on one row? Else
                // the buttons wrap onto rows of their own under the name.
                if ui.available_width() >= TOP_BAR_ONE_ROW {
                    ui.horizontal(|ui| {
                        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                            self.top_buttons(ui, actions);
                            ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                                self.identity(ui);
                            });
                        });
                    });
                } else {
                    ui.horizontal(|ui| self.identity(ui));
                    ui.add_space(4.0);
                    ui.horizontal_wrapped(|ui| self.top_buttons(ui, actions));
                }
            });
    }

    /// The logo and this device's name, the name in large type (it is what
    /// other devices show); cut with "…" to the room left.
    fn identity(&self, ui: &mut egui::Ui) {
        if let Some(logo) = &self.logo {
            ui.add(egui::Image::new((logo.id(), Vec2::splat(32.0))));
        }
        ui.vertical(|ui| {
            ui.spacing_mut().item_spacing.y = 0.0;
            let alias = &self.settings.alias;
            let visuals = ui.visuals();
            let mut job = egui::text::LayoutJob::default();
            let caption = tr!("top-this-device-caption");
            // "This device: Desk", but "本机：Desk" (the wide colon has its own space).
            let gap = if caption.ends_with(|c: char| c.is_ascii()) {
                " "
            } else {
                ""
            };
            job.append(
                &caption,
                0.0,
                egui::TextFormat::simple(
                    egui::FontId::proportional(12.0),
                    visuals.weak_text_color(),
                ),
            );
            job.append(
                &format!("{gap}{alias}"),
                0.0,
                egui::TextFormat::simple(
                    egui::FontId::proportional(19.0),
                    visuals.strong_text_color(),
                ),
            );
            let own = ui
                .add(egui::Label::new(job).truncate())
                .on_hover_text(tr!("top-this-device-hint"));
            fonts::on_hover_readable(own, alias);
            ui.label(RichText::new(tr!("top-brand")).small().weak());
        });
    }

    /// Send files, Send folder, Send text, Share via browser: in reading
    /// order in a left-to-right layout, from the right edge in a right-to-left one.
    fn top_buttons(&self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        let free = !self.view.dialog_open;
        let mut order = [0, 1, 2, 3];
        if ui.layout().prefer_right_to_left() {
            order.reverse();
        }
        for which in order {
            let clicked = match which {
                0 => ui
                    .add_enabled(
                        free,
                        style::primary(ui, &tr!("top-send-files", icon = style::FILE)),
                    )
                    .clicked()
                    .then_some(Action::Pick(Pick::Files)),
                1 => ui
                    .add_enabled(
                        free,
                        egui::Button::new(tr!("top-send-folder", icon = style::FOLDER)),
                    )
                    .clicked()
                    .then_some(Action::Pick(Pick::Folder)),
                2 => ui
                    .add_enabled(free, egui::Button::new(tr!("top-send-text")))
                    .clicked()
                    .then_some(Action::OpenCompose),
                _ => self.share_button(ui),
            };
            actions.extend(clicked);
        }
    }

    /// Share via browser, with a green "Sharing" dot beside it while a share runs.
    fn share_button(&self, ui: &mut egui::Ui) -> Option<Action> {
        let sharing = self.state.share.info().is_some();
        let rtl = ui.layout().prefer_right_to_left();
        // "● Sharing" reads left to right whichever way the row is laid out.
        let dot = |ui: &mut egui::Ui| {
            if !sharing {
                return;
            }
            let word = |ui: &mut egui::Ui| {
                ui.label(
                    RichText::new(tr!("top-sharing"))
                        .small()
                        .color(style::green()),
                );
            };
            if rtl {
                word(ui);
            }
            let (rect, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
            ui.painter()
                .circle_filled(rect.center(), 4.0, style::green());
            if !rtl {
                word(ui);
            }
        };
        if !rtl {
            dot(ui);
        }
        let clicked = ui
            .button(tr!("top-share"))
            .on_hover_text(tr!("top-share-hint"))
            .clicked();
        if rtl {
            dot(ui);
        }
        clicked.then_some(Action::Share(ShareAction::Open))
    }

    fn status_bar(&self, ui: &mut egui::Ui) {
        egui::Panel::bottom("status")
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(Margin::symmetric(14, 5)))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let (listening, colour) = match self.state.listening {
                        Some(addr) => (
                            tr!("status-ready", port = addr.port().to_string()),
                            style::green(),
                        ),
                        None => (tr!("status-not-receiving"), style::red()),
                    };
                    let (rect, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
                    ui.painter().circle_filled(rect.center(), 4.0, colour);
                    ui.label(RichText::new(listening).small().weak());
                    ui.label(RichText::new("·").small().weak());
                    let folder = self.settings.download_dir.display().to_string();
                    // A long path is cut with "…"; all of it on hover.
                    let line = ui.add(
                        egui::Label::new(
                            RichText::new(tr!("status-download-dir", folder = folder.as_str()))
                                .small()
                                .weak(),
                        )
                        .truncate(),
                    );
                    fonts::on_hover_readable(line, &folder);
                });
            });
    }

    /// The central column, no wider than [`CONTENT_MAX_WIDTH`] and centred
    /// in a wide window, so a status never sits far from what it is about.
    fn central_column(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        let room = ui.available_width();
        if room <= CONTENT_MAX_WIDTH {
            return self.central(ui, actions);
        }
        let side = ((room - CONTENT_MAX_WIDTH) / 2.0).floor();
        ui.horizontal_top(|ui| {
            ui.spacing_mut().item_spacing.x = 0.0;
            ui.add_space(side);
            ui.vertical(|ui| {
                ui.set_width(CONTENT_MAX_WIDTH);
                ui.spacing_mut().item_spacing.x = 8.0;
                self.central(ui, actions);
            });
        });
    }

    fn central(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        for (i, notice) in self.state.notices.iter().enumerate() {
            incoming::notice(ui, i, notice, actions);
        }
        pairing::show(ui, &self.state, actions);
        incoming::show(ui, &self.state, actions);
        tray::show(ui, &self.state, actions);
        ui.horizontal(|ui| {
            let active = self
                .state
                .transfers
                .iter()
                .filter(|r| r.is_active())
                .count();
            let transfers = tr!("tab-transfers", active = active);
            for (tab, label) in [
                (Tab::Transfers, transfers),
                (Tab::History, tr!("tab-history")),
                (Tab::Settings, tr!("tab-settings")),
            ] {
                if ui.selectable_label(self.view.tab == tab, label).clicked() {
                    self.view.tab = tab;
                }
            }
        });
        ui.separator();
        ui.add_space(4.0);
        match self.view.tab {
            Tab::Transfers => transfers::show(ui, &self.state, actions),
            Tab::History => {
                let shown = self.state.history.len().min(HISTORY_SHOWN);
                history::show(
                    ui,
                    &self.state.history[..shown],
                    self.state.history.len(),
                    now_ms(),
                    actions,
                );
                // Keep "5 min ago" honest without busy repainting.
                ui.ctx().request_repaint_after(Duration::from_secs(30));
            }
            Tab::Settings => settings::show(
                ui,
                &mut self.view.settings,
                &self.settings,
                self.view.dialog_open,
                actions,
            ),
        }
    }
}
