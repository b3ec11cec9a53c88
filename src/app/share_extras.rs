//! The parts of the "Share via browser" window beyond files: before sharing,
//! texts to share (typed into a multiline field, listed with a remove
//! button) and the choice to ask before each visitor opens the page; while
//! sharing, the shared texts and one card per visitor waiting for Let in /
//! Refuse. Views only: they read state and return actions; the typed text
//! is the one buffer they edit, owned by the window's view state.

use egui::{Align, Layout, RichText, Stroke};

use super::share_control::ShareAction;
use super::share_state::VisitorPrompt;
use super::{Action, fonts, style};
use crate::i18n::tr;

/// Rows of the text field before it scrolls.
const TEXT_ROWS: usize = 3;

/// "Texts to share": the ones added so far and a field to add another.
pub(super) fn texts_setup(
    ui: &mut egui::Ui,
    texts: &[String],
    typed: &mut String,
    enabled: bool,
    actions: &mut Vec<Action>,
) {
    let label = ui.label(RichText::new(tr!("share-texts")).strong());
    ui.label(RichText::new(tr!("share-texts-hint")).small().weak());
    for (index, text) in texts.iter().enumerate() {
        ui.push_id(("share-text", index), |ui| {
            ui.horizontal(|ui| {
                ui.label("📝");
                let first = text.lines().next().unwrap_or_default();
                let shown = if text.lines().nth(1).is_some() {
                    format!("{first} …")
                } else {
                    first.to_string()
                };
                fonts::on_hover_readable(ui.add(egui::Label::new(shown).truncate()), text);
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    if enabled
                        && style::close_button(ui)
                            .on_hover_text(tr!("share-text-remove"))
                            .clicked()
                    {
                        actions.push(Action::Share(ShareAction::RemoveText(index)));
                    }
                });
            });
        });
    }
    ui.add_enabled(
        enabled,
        egui::TextEdit::multiline(typed)
            .hint_text(tr!("share-text-placeholder"))
            .desired_rows(TEXT_ROWS)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    let worth_adding = enabled && !typed.trim().is_empty();
    if ui
        .add_enabled(worth_adding, egui::Button::new(tr!("share-text-add")))
        .clicked()
    {
        actions.push(Action::Share(ShareAction::AddText(std::mem::take(typed))));
    }
}

/// The "Ask before each visitor opens the page" checkbox.
pub(super) fn approve_checkbox(
    ui: &mut egui::Ui,
    on: bool,
    enabled: bool,
    actions: &mut Vec<Action>,
) {
    let mut ticked = on;
    let checkbox = egui::Checkbox::new(&mut ticked, tr!("share-approve-visitors"));
    if ui.add_enabled(enabled, checkbox).changed() {
        actions.push(Action::Share(ShareAction::SetApproveVisitors(ticked)));
    }
    ui.label(
        RichText::new(tr!("share-approve-visitors-hint"))
            .small()
            .weak(),
    );
}

/// One card per visitor waiting to open the page, oldest first.
pub(super) fn visitor_cards(
    ui: &mut egui::Ui,
    visitors: &[VisitorPrompt],
    actions: &mut Vec<Action>,
) {
    let accent = style::accent(ui);
    for visitor in visitors {
        ui.push_id(("visitor", visitor.id.0), |ui| {
            style::card(ui)
                .stroke(Stroke::new(2.0, accent))
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.horizontal(|ui| {
                        ui.label(RichText::new("🔔").size(18.0));
                        ui.add(
                            egui::Label::new(
                                RichText::new(tr!(
                                    "share-visitor-wants",
                                    browser = &visitor.browser,
                                    address = visitor.from.ip().to_canonical().to_string()
                                ))
                                .strong(),
                            )
                            .wrap(),
                        );
                    });
                    ui.horizontal(|ui| {
                        let id = visitor.id;
                        if ui
                            .add(style::primary(ui, &tr!("share-visitor-let-in")))
                            .clicked()
                        {
                            actions.push(Action::Share(ShareAction::DecideVisitor {
                                id,
                                accept: true,
                            }));
                        }
                        if ui.button(tr!("share-visitor-refuse")).clicked() {
                            actions.push(Action::Share(ShareAction::DecideVisitor {
                                id,
                                accept: false,
                            }));
                        }
                    });
                });
        });
        ui.add_space(4.0);
    }
}

/// While sharing: the texts on the page, and whether visitors are asked.
pub(super) fn sharing_extras(ui: &mut egui::Ui, texts: &[String], approve_visitors: bool) {
    if approve_visitors {
        ui.label(
            RichText::new(tr!("share-visitors-are-asked"))
                .small()
                .weak(),
        );
    }
    if texts.is_empty() {
        return;
    }
    ui.label(RichText::new(tr!("share-texts-shared", count = texts.len())).strong());
    for (index, text) in texts.iter().enumerate() {
        ui.push_id(("shared-text", index), |ui| {
            ui.add(
                egui::Label::new(RichText::new(text).monospace())
                    .wrap()
                    .selectable(true),
            );
        });
    }
}
