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

impl FerryApp {
    /// Draws the window and carries out what the person asked for.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let mut actions = Vec::new();
        self.top_bar(ui, &mut actions);
        self.status_bar(ui);
        egui::Panel::left("peers")
            .resizable(true)
            .default_size(330.0)
            .size_range(270.0..=480.0)
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(Margin::same(12)))
            .show(ui, |ui| {
                peers::show(ui, &self.state, self.discovery_on, &mut actions);
            });
        egui::CentralPanel::default()
            .frame(egui::Frame::central_panel(ui.style()).inner_margin(Margin::same(14)))
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("central")
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.central(ui, &mut actions));
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
            &mut self.share.qr,
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
                ui.horizontal(|ui| {
                    if let Some(logo) = &self.logo {
                        ui.add(egui::Image::new((logo.id(), Vec2::splat(32.0))));
                    }
                    ui.vertical(|ui| {
                        ui.spacing_mut().item_spacing.y = 0.0;
                        ui.label(RichText::new("Ferry").size(19.0).strong());
                        let alias = &self.settings.alias;
                        let own = ui.add(
                            egui::Label::new(
                                RichText::new(tr!("top-this-device", name = alias))
                                    .small()
                                    .weak(),
                            )
                            .truncate(),
                        );
                        fonts::on_hover_readable(own, alias);
                    });
                    ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                        let free = !self.view.dialog_open;
                        if ui
                            .button(tr!("top-share"))
                            .on_hover_text(tr!("top-share-hint"))
                            .clicked()
                        {
                            actions.push(Action::Share(ShareAction::Open));
                        }
                        if self.state.share.info().is_some() {
                            ui.label(
                                RichText::new(tr!("top-sharing"))
                                    .small()
                                    .color(style::green()),
                            );
                            let (rect, _) =
                                ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
                            ui.painter()
                                .circle_filled(rect.center(), 4.0, style::green());
                        }
                        if ui
                            .add_enabled(free, egui::Button::new(tr!("top-send-text")))
                            .clicked()
                        {
                            actions.push(Action::OpenCompose);
                        }
                        if ui
                            .add_enabled(
                                free,
                                egui::Button::new(tr!("top-send-folder", icon = style::FOLDER)),
                            )
                            .clicked()
                        {
                            actions.push(Action::Pick(Pick::Folder));
                        }
                        if ui
                            .add_enabled(
                                free,
                                style::primary(ui, &tr!("top-send-files", icon = style::FILE)),
                            )
                            .clicked()
                        {
                            actions.push(Action::Pick(Pick::Files));
                        }
                    });
                });
            });
    }

    fn status_bar(&self, ui: &mut egui::Ui) {
        egui::Panel::bottom("status")
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(Margin::symmetric(14, 5)))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let (listening, colour) = match self.state.listening {
                        Some(addr) => (tr!("status-ready", port = addr.port()), style::green()),
                        None => (tr!("status-not-receiving"), style::red()),
                    };
                    let (rect, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
                    ui.painter().circle_filled(rect.center(), 4.0, colour);
                    ui.label(RichText::new(listening).small().weak());
                    ui.label(RichText::new("·").small().weak());
                    ui.label(
                        RichText::new(tr!(
                            "status-download-dir",
                            folder = self.settings.download_dir.display().to_string()
                        ))
                        .small()
                        .weak(),
                    );
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
