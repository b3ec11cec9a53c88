//! The Transfers tab: one card per transfer in either direction — peer, what,
//! progress bar, bytes, speed, ETA, current file, Pause / Resume and Cancel
//! while it runs ("Paused by Studio desk" instead of a speed in a pause);
//! Open folder / Show file when done; the reason in a sentence and Retry
//! (which resumes) when it failed. Uploads from browsers through the share
//! are rows too ("from browser 192.168.1.31"), without Cancel or Retry.
//! Views only read state and return actions.

use egui::{Align, Layout, ProgressBar, RichText};

use super::state::{Phase, TransferRow, UiState};
use super::{Action, fonts, style};
use crate::api::human_bytes;
use crate::api::{Direction, Outcome};
use crate::i18n::tr;

/// Width kept right of a progress bar for its percentage.
const PERCENT_ROOM: f32 = 48.0;

/// Characters of a message shown before it is cut (the rest on hover).
pub const MESSAGE_START_CHARS: usize = 300;

/// Draws the Transfers tab.
pub fn show(ui: &mut egui::Ui, state: &UiState, actions: &mut Vec<Action>) {
    if state.transfers.is_empty() {
        style::empty_state(
            ui,
            &tr!("transfers-empty-title"),
            &tr!("transfers-empty-body"),
        );
        return;
    }
    if state.transfers.iter().any(|r| !r.is_active()) {
        ui.with_layout(Layout::right_to_left(Align::Min), |ui| {
            if ui.button(tr!("transfers-clear-finished")).clicked() {
                actions.push(Action::ClearFinished);
            }
            // Several failed sends (a device that went away, a network
            // outage): one click sends them all again, each resuming.
            let failed = state.transfers.iter().filter(|r| r.retryable()).count();
            if failed >= 2
                && ui
                    .button(tr!("transfers-retry-all", count = failed))
                    .on_hover_text(tr!("transfers-retry-hint"))
                    .clicked()
            {
                actions.push(Action::RetryAllFailed);
            }
        });
    }
    for row in &state.transfers {
        ui.push_id(row.id.0, |ui| card(ui, row, actions));
        ui.add_space(8.0);
    }
}

/// Below this card width the buttons get a row of their own: beside two or
/// three buttons and a state word, a 640×480 window left the file name "…".
const NARROW_CARD: f32 = 460.0;

fn card(ui: &mut egui::Ui, row: &TransferRow, actions: &mut Vec<Action>) {
    style::card(ui).show(ui, |ui| {
        ui.set_width(ui.available_width());
        let narrow = ui.available_width() < NARROW_CARD;
        ui.horizontal(|ui| {
            let (arrow, way) = match row.direction {
                Direction::Outgoing => ("↗", tr!("transfers-to", name = &row.peer)),
                Direction::Incoming => ("↙", tr!("transfers-from", name = &row.peer)),
            };
            ui.label(RichText::new(arrow).size(18.0).color(style::accent(ui)));
            // The buttons first (right to left), then the title and peer cut
            // with "…" to the room left, so a long name never pushes them out.
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                if !narrow {
                    buttons(ui, row, actions);
                }
                ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                    let title = row.title();
                    // At most two thirds of the room, so the peer shows too.
                    let room = ui.available_width() * 2.0 / 3.0;
                    ui.scope(|ui| {
                        ui.set_max_width(room);
                        let shown =
                            ui.add(egui::Label::new(RichText::new(&title).strong()).truncate());
                        fonts::on_hover_readable(shown, &title);
                    });
                    let peer = ui.add(egui::Label::new(RichText::new(way).weak()).truncate());
                    fonts::on_hover_readable(peer, &row.peer);
                });
            });
        });
        if narrow {
            ui.horizontal(|ui| {
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    buttons(ui, row, actions);
                });
            });
        }
        if row.is_text {
            message_line(ui, row);
            return;
        }
        if let Some(fraction) = bar_fraction(row) {
            progress_bar(ui, row, fraction);
        }
        status_line(ui, row);
    });
}

/// How far the bar is filled, or `None` when a bar would say nothing: an
/// offer that was declined, or a transfer that ended before a byte moved.
pub fn bar_fraction(row: &TransferRow) -> Option<f32> {
    match &row.phase {
        Phase::Finished(Outcome::Completed { .. }) => Some(1.0),
        Phase::Finished(Outcome::Declined(_)) => None,
        Phase::Finished(_) if row.bytes_done == 0 => None,
        _ => Some(row.fraction()),
    }
}

/// The bar, with its percentage beside it (never inside, where a short bar
/// would cut or overflow it).
fn progress_bar(ui: &mut egui::Ui, row: &TransferRow, fraction: f32) {
    ui.horizontal(|ui| {
        let percent = format!("{:.0}%", fraction * 100.0);
        let room = (ui.available_width() - PERCENT_ROOM).max(20.0);
        let bar = ProgressBar::new(fraction)
            .desired_height(10.0)
            .desired_width(room)
            .corner_radius(5);
        let bar = match &row.phase {
            Phase::Finished(Outcome::Completed { .. }) => bar.fill(style::green()),
            Phase::Finished(_) => bar.fill(ui.visuals().weak_text_color()),
            // Held: the bar greys out, so a paused row reads as still at a glance.
            _ if row.is_paused() => bar.fill(ui.visuals().weak_text_color()),
            _ => bar.fill(style::accent(ui)),
        };
        ui.add(bar);
        ui.label(RichText::new(percent).small().strong());
    });
}

/// The line under the bar. A failure's reason is the one red part; what
/// reassures (what arrived is kept) stays quiet.
fn status_line(ui: &mut egui::Ui, row: &TransferRow) {
    match &row.phase {
        Phase::Finished(Outcome::Failed(reason)) if !row.browser => {
            let (bad, calm) = split_reassurance(reason);
            let bad = RichText::new(bad);
            // Waiting to resume by itself, the cause is news, not a verdict.
            let bad = if row.resume_waiting.is_some() {
                bad.weak()
            } else {
                bad.color(style::red())
            };
            ui.add(egui::Label::new(bad).wrap());
            match calm {
                // The engine already said what was kept: said once, quietly.
                Some(calm) => {
                    ui.add(egui::Label::new(RichText::new(calm).weak()).wrap());
                }
                None if row.direction == Direction::Incoming => {
                    let kept = tr!("transfers-failed-kept-note", name = &row.peer);
                    let note = ui.add(egui::Label::new(RichText::new(kept).weak()).wrap());
                    fonts::on_hover_readable(note, &row.peer);
                }
                None => {}
            }
            if let Some(device) = &row.resume_waiting {
                let line = tr!("transfers-resume-waiting", name = device);
                let waiting =
                    ui.add(egui::Label::new(RichText::new(line).color(style::accent(ui))).wrap());
                fonts::on_hover_readable(waiting, device);
            }
        }
        _ => {
            ui.add(egui::Label::new(RichText::new(status(row)).weak()).wrap());
            code_line(ui, row);
        }
    }
}

/// While the receiver decides, the pairing code in the same large digits
/// as on the receiver's offer card, so the two people compare like with like.
fn code_line(ui: &mut egui::Ui, row: &TransferRow) {
    let (Phase::WaitingForAnswer, Some(code)) = (&row.phase, &row.pairing) else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        super::pairing::code_label(ui, code, super::pairing::OFFER_CODE_SIZE);
        let same = ui.add(
            egui::Label::new(RichText::new(tr!("offer-pairing-same", name = &row.peer)).weak())
                .wrap(),
        );
        fonts::on_hover_readable(same, &row.peer);
    });
}

/// Splits a failure's sentence into what went wrong and what reassures
/// (the engine's "The partial file was kept: …"), so only the first is red.
pub fn split_reassurance(reason: &str) -> (&str, Option<&str>) {
    let calm = reason
        .match_indices(". ")
        .map(|(at, _)| at + 2)
        .find(|&at| {
            let sentence = reason[at..].split(". ").next().unwrap_or_default();
            sentence.to_lowercase().contains("kept")
        });
    match calm {
        Some(at) => (reason[..at].trim(), Some(reason[at..].trim())),
        None => (reason.trim(), None),
    }
}

/// A message's row: where it stands, then the message itself (its start).
fn message_line(ui: &mut egui::Ui, row: &TransferRow) {
    status_line(ui, row);
    // A received message shows in its own card (and in History).
    if let Some(text) = row
        .text
        .as_ref()
        .filter(|_| row.direction == Direction::Outgoing)
    {
        let shown =
            ui.add(egui::Label::new(RichText::new(message_start(text)).italics()).truncate());
        fonts::on_hover_readable(shown, text);
    }
}

/// The start of a message: its first [`MESSAGE_START_CHARS`] characters,
/// with "…" when there is more.
pub fn message_start(text: &str) -> String {
    let text = text.trim();
    let mut start: String = text.chars().take(MESSAGE_START_CHARS).collect();
    if start.len() < text.len() {
        start.push('…');
    }
    start
}

fn buttons(ui: &mut egui::Ui, row: &TransferRow, actions: &mut Vec<Action>) {
    match &row.phase {
        Phase::Finished(outcome) => {
            if style::close_button(ui)
                .on_hover_text(tr!("transfers-remove"))
                .clicked()
            {
                actions.push(Action::Dismiss(row.id));
            }
            if row.resume_waiting.is_some()
                && ui
                    .button(tr!("transfers-stop-resume"))
                    .on_hover_text(tr!("transfers-stop-resume-hint"))
                    .clicked()
            {
                actions.push(Action::StopResume(row.id));
            }
            if row.retryable()
                && ui
                    .button(tr!("transfers-retry"))
                    .on_hover_text(tr!("transfers-retry-hint"))
                    .clicked()
            {
                actions.push(Action::Retry(row.id));
            }
            if outcome.is_success() && !row.is_text {
                if let Some(file) = row.single_file()
                    && ui.button(tr!("transfers-show-file")).clicked()
                {
                    actions.push(Action::ShowFile(file));
                }
                if let Some(folder) = row.folder()
                    && ui.button(tr!("transfers-open-folder")).clicked()
                {
                    actions.push(Action::OpenFolder(folder));
                }
            }
            if row.resume_waiting.is_some() {
                // Not over: it goes on by itself, so no red verdict yet.
                ui.label(RichText::new(tr!("transfers-interrupted")).color(style::accent(ui)));
            } else {
                style::outcome_label(ui, outcome, row.direction, row.browser);
            }
        }
        // A browser's upload has no cancel on this side: Stop sharing ends it.
        _ if row.browser => {}
        _ => {
            let cancel = egui::Button::new(if row.cancelling {
                tr!("transfers-cancelling")
            } else {
                tr!("common-cancel")
            });
            let cancel = ui
                .add_enabled(!row.cancelling, cancel)
                .on_hover_text(tr!("transfers-cancel-keeps-hint"));
            if cancel.clicked() {
                actions.push(Action::Cancel(row.id));
            }
            if !row.cancelling {
                pause_button(ui, row, actions);
            }
            // The receiver chooses about its own disk: keep what arrived for
            // a resume (Cancel) or delete it.
            if row.direction == Direction::Incoming
                && !row.is_text
                && !row.cancelling
                && ui
                    .button(tr!("transfers-cancel-discard"))
                    .on_hover_text(tr!("transfers-cancel-discard-hint"))
                    .clicked()
            {
                actions.push(Action::CancelAndDiscard(row.id));
            }
        }
    }
}

/// Pause, or Resume while this device holds the pause; only on a transfer
/// that can pause (a Ferry one whose files stream: LocalSend's protocol
/// cannot hold a transfer, and a browser's upload is not ours to hold).
fn pause_button(ui: &mut egui::Ui, row: &TransferRow, actions: &mut Vec<Action>) {
    // A message is over before anyone could hold it.
    let Some(pause) = row.pause.filter(|_| !row.is_text) else {
        return;
    };
    if pause.local {
        let hint = if pause.remote {
            tr!("transfers-resume-hint-both", name = &row.peer)
        } else {
            tr!("transfers-resume-hint")
        };
        if ui
            .button(tr!("transfers-resume"))
            .on_hover_text(hint)
            .clicked()
        {
            actions.push(Action::Resume(row.id));
        }
    } else if ui
        .button(tr!("transfers-pause"))
        .on_hover_text(tr!("transfers-pause-hint"))
        .clicked()
    {
        actions.push(Action::Pause(row.id));
    }
}

/// "Paused", "Paused by Studio desk" or "Paused by you and Studio desk"
/// while someone holds the row's transfer.
pub fn paused_words(row: &TransferRow) -> Option<String> {
    let pause = row.pause.filter(|_| row.is_paused())?;
    Some(match (pause.local, pause.remote) {
        (true, true) => tr!("transfers-paused-both", name = &row.peer),
        (false, true) => tr!("transfers-paused-by", name = &row.peer),
        _ => tr!("transfers-paused"),
    })
}

/// The line under the bar: where the transfer stands, in words and numbers.
pub fn status(row: &TransferRow) -> String {
    match &row.phase {
        Phase::Counting { files, bytes } => tr!(
            "transfers-counting",
            count = *files,
            size = human_bytes(*bytes)
        ),
        Phase::Checksumming {
            files,
            bytes,
            total_files,
            total_bytes,
        } => tr!(
            "transfers-checksumming",
            done = *files,
            count = *total_files,
            size = human_bytes(*bytes),
            total = human_bytes(*total_bytes)
        ),
        Phase::Connecting => tr!("transfers-connecting", name = &row.peer),
        Phase::WaitingForAnswer => waiting(row),
        Phase::Running if row.is_text => tr!("transfers-sending-message"),
        Phase::Running if row.browser && row.bytes_done == 0 => tr!("transfers-browser-waiting"),
        Phase::Running if row.browser => {
            let mut line = if row.bytes_total > 0 {
                tr!(
                    "transfers-browser-received-of",
                    done = human_bytes(row.bytes_done),
                    total = human_bytes(row.bytes_total)
                )
            } else {
                tr!(
                    "transfers-browser-received",
                    done = human_bytes(row.bytes_done)
                )
            };
            if !row.current.is_empty() {
                line.push_str(&format!(" · {}", row.current));
            }
            line
        }
        Phase::Finished(Outcome::Completed { .. }) if row.browser => match row.saved.as_slice() {
            [one] => tr!("transfers-saved-as", path = one.display().to_string()),
            many => tr!(
                "transfers-saved-in",
                count = many.len(),
                folder = row
                    .folder()
                    .map(|f| f.display().to_string())
                    .unwrap_or_default()
            ),
        },
        Phase::Finished(outcome) if row.browser => style::browser_outcome_sentence(outcome),
        Phase::Running => {
            let mut parts = vec![tr!(
                "transfers-bytes-of",
                done = human_bytes(row.bytes_done),
                total = human_bytes(row.bytes_total)
            )];
            if let Some(paused) = paused_words(row) {
                // In a pause the speed and time left mean nothing.
                parts.push(paused);
            } else {
                if row.rate > 0.0 {
                    parts.push(tr!("transfers-rate", size = human_bytes(row.rate as u64)));
                }
                if let Some(eta) = row.eta {
                    parts.push(tr!("transfers-time-left", time = style::duration(eta)));
                }
            }
            if row.files_total > 1 {
                parts.push(tr!(
                    "transfers-file-of",
                    index = (row.files_done + 1).min(row.files_total),
                    total = row.files_total
                ));
            }
            if row.files_total > 1 && !row.current.is_empty() {
                parts.push(row.current.clone());
            }
            if row.resumed_bytes > 0 {
                parts.push(tr!(
                    "transfers-resumed-after",
                    size = human_bytes(row.resumed_bytes)
                ));
            }
            parts.join(" · ")
        }
        Phase::Finished(outcome) => style::outcome_sentence(outcome, row.direction),
    }
}

/// "Waiting for … to accept …"; the pairing code gets a line of its own
/// ([`code_line`]).
fn waiting(row: &TransferRow) -> String {
    let name = &row.peer;
    if row.is_text {
        tr!("transfers-waiting-message", name = name)
    } else {
        tr!(
            "transfers-waiting-files",
            name = name,
            count = row.files_total,
            size = human_bytes(row.bytes_total)
        )
    }
}

/// Asks for the PIN a receiver wants, then sends again with it.
pub fn pin_dialog(
    ctx: &egui::Context,
    input: &mut String,
    state: &UiState,
    actions: &mut Vec<Action>,
) {
    let Some(request) = state.pin_requests.first() else {
        return;
    };
    style::dialog(ctx, "pin").show(ctx, |ui| {
        ui.set_width(360.0);
        let heading = ui.heading(tr!("pin-title", name = &request.peer));
        fonts::on_hover_readable(heading, &request.peer);
        let why = if request.wrong {
            tr!("pin-wrong")
        } else {
            tr!("pin-needed")
        };
        ui.label(RichText::new(why).weak());
        ui.add_space(4.0);
        let label = ui.label(tr!("pin-label"));
        let edit = ui
            .add(
                egui::TextEdit::singleline(input)
                    .password(true)
                    .desired_width(160.0),
            )
            .labelled_by(label.id);
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let ready = !input.trim().is_empty();
            if ui
                .add_enabled(ready, style::primary(ui, &tr!("pin-send")))
                .clicked()
                || (ready && enter)
            {
                actions.push(Action::SubmitPin {
                    id: request.id,
                    to: request.to,
                    pin: input.trim().to_string(),
                });
            }
            if ui.button(tr!("common-cancel")).clicked() {
                actions.push(Action::DismissPin(request.id));
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Event, Party, TransferId};
    use std::net::SocketAddr;
    use std::path::PathBuf;

    #[test]
    fn status_lines_read_as_sentences() {
        let mut state = UiState::default();
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        state.start_outgoing(TransferId(1), "bob", addr, vec![PathBuf::from("/a/b")]);
        assert_eq!(status(&state.transfers[0]), "Connecting to bob…");
        // A long count before the offer: the engine's reports move the row.
        let count = |files, bytes| Event::Counting {
            id: TransferId(1),
            files,
            bytes,
        };
        state.apply(count(1, 4096), 0);
        assert_eq!(
            status(&state.transfers[0]),
            "Counting the files to send: 1 file, 4.0 KiB so far…"
        );
        state.apply(count(250_000, 3 << 30), 0);
        assert_eq!(
            status(&state.transfers[0]),
            "Counting the files to send: 250,000 files, 3.0 GiB so far…"
        );
        // To a LocalSend device: reading the files for their checksums.
        state.apply(
            Event::Checksumming {
                id: TransferId(1),
                files: 2,
                bytes: 1536 << 20,
                total_files: 3,
                total_bytes: 4 << 30,
            },
            0,
        );
        assert_eq!(
            status(&state.transfers[0]),
            "Reading the files to send for their checksums: 2 of 3 files, 1.5 GiB of 4.0 GiB…"
        );
        let row = &mut state.transfers[0];
        row.phase = Phase::Running;
        row.bytes_total = 2048;
        row.bytes_done = 1024;
        row.rate = 1024.0;
        row.eta = Some(std::time::Duration::from_secs(1));
        row.current = "b".into();
        assert_eq!(status(row), "1.0 KiB of 2.0 KiB · 1.0 KiB/s · 1 s left");
        row.files_total = 3;
        assert_eq!(
            status(row),
            "1.0 KiB of 2.0 KiB · 1.0 KiB/s · 1 s left · file 1 of 3 · b"
        );
        row.phase = Phase::Finished(Outcome::Cancelled { by: Party::Remote });
        assert_eq!(status(row), "Cancelled by the receiver");
    }

    /// Issue 16, item 11: a bar only where it says something.
    #[test]
    fn declined_and_byte_less_ends_have_no_bar() {
        let mut state = UiState::default();
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        state.start_outgoing(TransferId(1), "bob", addr, vec![PathBuf::from("/a/b")]);
        let row = &mut state.transfers[0];
        row.bytes_total = 100;
        assert_eq!(bar_fraction(row), Some(0.0), "connecting: an empty bar");
        row.phase = Phase::Finished(Outcome::Declined(String::new()));
        assert_eq!(bar_fraction(row), None);
        row.phase = Phase::Finished(Outcome::Cancelled { by: Party::Local });
        assert_eq!(bar_fraction(row), None, "cancelled before a byte");
        row.bytes_done = 50;
        assert_eq!(bar_fraction(row), Some(0.5), "cancelled halfway");
        row.phase = Phase::Finished(Outcome::Completed {
            files: 1,
            bytes: 100,
        });
        assert_eq!(bar_fraction(row), Some(1.0));
    }

    /// Issue 16, item 11: only the bad part of a failure is red, and what
    /// was kept is said once.
    #[test]
    fn failures_split_into_the_problem_and_the_reassurance() {
        let reason = "The connection to Mia (127.0.0.1:1) was lost. 0 of 1 file had arrived. \
                      The partial file was kept: send again to resume.";
        let (bad, calm) = split_reassurance(reason);
        assert_eq!(
            bad,
            "The connection to Mia (127.0.0.1:1) was lost. 0 of 1 file had arrived."
        );
        assert_eq!(
            calm,
            Some("The partial file was kept: send again to resume.")
        );
        assert_eq!(split_reassurance("Disk full."), ("Disk full.", None));
    }

    /// A running transfer to "Studio desk", with `pause` if the engine
    /// reported one.
    fn paused_state(pause: Option<crate::api::Pauses>) -> UiState {
        use crate::api::Event;
        let mut state = UiState::default();
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        let id = TransferId(1);
        state.start_outgoing(id, "Studio desk", addr, vec![PathBuf::from("/a/b")]);
        let started = Event::Started {
            id,
            direction: Direction::Outgoing,
            files: 1,
            bytes: 100,
            resumed_bytes: 0,
        };
        state.apply(started, 0);
        if let Some(pause) = pause {
            state.apply(Event::PauseChanged { id, pause }, 0);
        }
        state
    }

    /// (Pause button, Resume button, "Paused by Studio desk") as drawn.
    fn drawn(pause: Option<crate::api::Pauses>) -> (bool, bool, bool) {
        use egui_kittest::kittest::Queryable;
        let state = paused_state(pause);
        let mut harness = egui_kittest::Harness::new_ui(move |ui| {
            let mut actions = Vec::new();
            show(ui, &state, &mut actions);
        });
        harness.run();
        let has = |label: &str| harness.query_by_label(label).is_some();
        let named = harness
            .query_by_label_contains("Paused by Studio desk")
            .is_some();
        (has("Pause"), has("Resume"), named)
    }

    /// Issue 16, item 5: Pause only where the engine said the transfer can
    /// pause (a LocalSend transfer never says so), Resume while this device
    /// holds it, and the pauser named instead of a speed.
    #[test]
    fn pause_buttons_follow_who_holds_the_transfer() {
        use crate::api::Pauses;
        let pause = |local, remote| Some(Pauses { local, remote });
        assert_eq!(drawn(None), (false, false, false), "not pausable");
        assert_eq!(drawn(pause(false, false)), (true, false, false));
        assert_eq!(drawn(pause(false, true)), (true, false, true));
        assert_eq!(drawn(pause(true, false)), (false, true, false));
        let row = |p| paused_state(p).transfers[0].clone();
        assert!(status(&row(pause(false, true))).ends_with("Paused by Studio desk"));
        assert!(status(&row(pause(true, true))).ends_with("Paused by you and Studio desk"));
        assert!(status(&row(pause(true, false))).ends_with("Paused"));
    }

    #[test]
    fn message_starts_are_cut_with_an_ellipsis() {
        assert_eq!(message_start("  hi there \n"), "hi there");
        let long = "x".repeat(MESSAGE_START_CHARS + 5);
        let start = message_start(&long);
        assert_eq!(start.chars().count(), MESSAGE_START_CHARS + 1);
        assert!(start.ends_with('…'));
    }
}
