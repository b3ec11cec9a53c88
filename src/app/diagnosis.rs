//! The window's "Check network": starts the network check
//! ([`crate::diagnose`]) on a helper thread with this window's device,
//! port and network settings, and draws its [`Report`] natively: the
//! verdict first (icon and one sentence), then one row per check with a
//! status icon, problems with their fix in plain words, and technical
//! details folded away. The dialog keeps one size while the check runs and
//! after. It must not block the UI thread, run a subprocess, or print.

use egui::{Align2, CollapsingHeader, Color32, Id, RichText};

use super::{Action, FerryApp, fonts, style};
use crate::diagnose::{Check, Report, Status, Topic, Verdict};
use crate::engine::DiscoveryConfig;
use crate::i18n::tr;

/// Size of the dialog, the same while it runs and when it shows the report.
const SIZE: [f32; 2] = [600.0, 460.0];

/// Height of the scrolled list of checks inside the dialog.
const LIST_HEIGHT: f32 = 340.0;

/// The check's state as the dialog shows it.
#[derive(Debug)]
pub enum NetworkCheck {
    /// Running on a helper thread.
    Running,
    /// Finished with a report.
    Done(Box<Report>),
    /// Could not run; a sentence.
    Failed(String),
}

impl FerryApp {
    /// Opens the dialog and starts the check (unless one is running).
    pub(super) fn run_network_check(&mut self) {
        if matches!(self.view.network_check, Some(NetworkCheck::Running)) {
            return;
        }
        self.view.network_check = Some(NetworkCheck::Running);
        // The command line's interfaces win over the settings', as at start.
        let interfaces =
            crate::config::chosen_interfaces(self.net.interfaces.as_deref(), &self.settings);
        let device = self.engine.device();
        self.tasks.diagnose(super::tasks::CheckRequest {
            config_dir: self.config_dir.clone(),
            tcp_port: self
                .engine
                .local_addr()
                .map_or(self.settings.port, |a| a.port()),
            device,
            discovery: DiscoveryConfig {
                interfaces,
                udp_port: self.net.udp_port.unwrap_or(self.settings.udp_port),
                manual_peers: Vec::new(),
                localsend: None,
            },
            saved_peers: self.settings.manual_peers.clone(),
        });
    }

    /// The check finished: show its report, unless the dialog was closed.
    pub(super) fn network_checked(&mut self, result: Result<Box<Report>, String>) {
        if self.view.network_check.is_some() {
            self.view.network_check = Some(match result {
                Ok(report) => NetworkCheck::Done(report),
                Err(sentence) => NetworkCheck::Failed(sentence),
            });
        }
    }
}

/// Draws the "Network check" dialog when it is open.
pub fn window(ctx: &egui::Context, check: &mut Option<NetworkCheck>, actions: &mut Vec<Action>) {
    let Some(state) = check.as_ref() else {
        return;
    };
    let mut open = true;
    egui::Window::new(tr!("network-check-title"))
        .id(Id::unique("network-check"))
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .fixed_size(SIZE)
        .pivot(Align2::CENTER_CENTER)
        .default_pos(ctx.content_rect().center())
        .show(ctx, |ui| {
            ui.set_min_size(SIZE.into());
            match state {
                NetworkCheck::Running => running(ui),
                NetworkCheck::Failed(sentence) => {
                    verdict_line(ui, "✖", style::red(), sentence);
                    ui.add_space(LIST_HEIGHT);
                    buttons(ui, None, actions);
                }
                NetworkCheck::Done(report) => {
                    let (icon, colour) = verdict_icon(report.verdict);
                    verdict_line(ui, icon, colour, &report.summary);
                    list(ui, report);
                    buttons(ui, Some(report), actions);
                }
            }
        });
    if !open {
        *check = None;
    }
}

fn running(ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(RichText::new(tr!("network-check-running")).size(16.0));
    });
    ui.label(RichText::new(tr!("network-check-running-detail")).weak());
}

fn verdict_icon(verdict: Verdict) -> (&'static str, Color32) {
    match verdict {
        Verdict::Healthy => ("✔", style::green()),
        Verdict::Warnings => ("⚠", style::amber()),
        Verdict::Problems => ("✖", style::red()),
    }
}

fn status_icon(ui: &egui::Ui, status: Status) -> (&'static str, Color32) {
    match status {
        Status::Ok => ("✔", style::green()),
        Status::Info => ("ℹ", ui.visuals().weak_text_color()),
        Status::Warning => ("⚠", style::amber()),
        Status::Problem => ("✖", style::red()),
    }
}

fn verdict_line(ui: &mut egui::Ui, icon: &str, colour: Color32, sentence: &str) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(icon).size(20.0).color(colour));
        ui.label(RichText::new(sentence).size(16.0).strong());
    });
    ui.add_space(6.0);
}

/// A plain heading for a section.
fn title(topic: Topic, heading: &str) -> String {
    match topic {
        Topic::Interfaces => tr!("network-check-interfaces"),
        Topic::Ports => tr!("network-check-ports"),
        Topic::Beacons => tr!("network-check-beacons"),
        Topic::Devices => tr!("network-check-devices"),
        Topic::Device => heading.to_string(),
    }
}

fn list(ui: &mut egui::Ui, report: &Report) {
    egui::ScrollArea::vertical()
        .id_salt("network-check-list")
        .auto_shrink([false, false])
        .max_height(LIST_HEIGHT)
        .min_scrolled_height(LIST_HEIGHT)
        .show(ui, |ui| {
            let mut row = 0;
            for section in &report.sections {
                if section.checks.is_empty() {
                    continue;
                }
                ui.add_space(4.0);
                let heading = title(section.topic, &section.heading);
                let shown = ui.label(RichText::new(&heading).small().strong().weak());
                fonts::on_hover_readable(shown, &heading);
                for check in &section.checks {
                    check_row(ui, check, row);
                    row += 1;
                }
            }
        });
}

fn check_row(ui: &mut egui::Ui, check: &Check, row: usize) {
    let (icon, colour) = status_icon(ui, check.status);
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(icon).color(colour));
        ui.label(RichText::new(&check.title).strong());
        ui.label(capitalised(&check.detail));
    });
    if let Some(fix) = &check.fix {
        ui.horizontal_wrapped(|ui| {
            ui.add_space(18.0);
            ui.label(
                RichText::new(tr!("network-check-what-to-do"))
                    .strong()
                    .color(colour),
            );
            ui.label(capitalised(fix));
        });
    }
    if !check.details.is_empty() {
        ui.horizontal(|ui| {
            ui.add_space(18.0);
            CollapsingHeader::new(RichText::new(tr!("network-check-details")).small())
                .id_salt(("network-check-details", row))
                .default_open(false)
                .show(ui, |ui| {
                    for line in &check.details {
                        // The lines come in columns for the terminal; here
                        // one space between words reads better.
                        let words: Vec<&str> = line.split_whitespace().collect();
                        ui.label(RichText::new(words.join(" ")).small().weak());
                    }
                });
        });
    }
}

fn buttons(ui: &mut egui::Ui, report: Option<&Report>, actions: &mut Vec<Action>) {
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        if ui.button(tr!("network-check-run-again")).clicked() {
            actions.push(Action::RunDoctor);
        }
        if let Some(report) = report
            && ui.button(tr!("network-check-copy")).clicked()
        {
            actions.push(Action::Copy(format!(
                "Ferry network check: {}\n{report}",
                report.about
            )));
        }
    });
}

/// The sentence with its first letter upper-case.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
