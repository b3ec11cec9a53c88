//! Finished transfers that outlive the window: the entry type, its JSON file
//! (`history.json` in the data folder, newest first, capped at
//! [`MAX_HISTORY`]) and the History tab. The view only reads entries and
//! returns [`Action`]s; writing the file is the caller's job, on a helper
//! thread, through [`to_json`].

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use egui::{Align, Layout, RichText};
use serde::{Deserialize, Serialize};

use super::state::{Phase, TransferRow};
use super::{Action, fonts, style};
use crate::api::human_bytes;
use crate::api::{Direction, Outcome, TransferId};
use crate::i18n::tr;

/// Most entries kept; older ones are dropped when a new one is added.
pub const MAX_HISTORY: usize = 500;

/// Version of the history file's layout.
const HISTORY_VERSION: u32 = 1;

/// One finished transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When it ended, milliseconds since the Unix epoch.
    pub finished_ms: u64,
    /// Which way.
    pub direction: Direction,
    /// The other device's name.
    pub peer: String,
    /// The other device's id, when known (names trusted devices in Settings).
    #[serde(default)]
    pub peer_id: Option<String>,
    /// The other device's address, if known.
    pub addr: Option<SocketAddr>,
    /// What was moved: "report.pdf and 2 more", "Message".
    pub what: String,
    /// Files in the transfer.
    pub files: u32,
    /// Bytes in the transfer.
    pub bytes: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// The folder "Open folder" shows.
    pub folder: Option<PathBuf>,
    /// An upload from a browser through the share.
    #[serde(default)]
    pub browser: bool,
    /// A text message's words (sent or received), to read and copy later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The transfer's id in this run of the window. A transfer that failed
    /// and then resumed by itself ends twice under one id; its second end
    /// replaces the first. Not saved: ids start again at every run.
    #[serde(skip)]
    pub transfer: Option<TransferId>,
}

impl HistoryEntry {
    /// The entry for a row that just finished (`phase` must be `Finished`).
    pub fn from_row(row: &TransferRow, now_ms: u64) -> Self {
        let outcome = match &row.phase {
            Phase::Finished(outcome) => outcome.clone(),
            _ => Outcome::Failed(tr!("history-still-running")),
        };
        let (files, bytes) = match outcome {
            Outcome::Completed { files, bytes } => (files, bytes),
            _ => (row.files_total, row.bytes_total),
        };
        HistoryEntry {
            finished_ms: now_ms,
            direction: row.direction,
            peer: row.peer.clone(),
            peer_id: row.peer_id.clone(),
            addr: row.addr,
            what: row.title(),
            files,
            bytes,
            outcome,
            // A message has no folder to open.
            folder: if row.is_text { None } else { row.folder() },
            browser: row.browser,
            text: row.text.clone(),
            transfer: Some(row.id),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct HistoryFile {
    version: u32,
    entries: Vec<HistoryEntry>,
}

/// The history file inside `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join("history.json")
}

/// Reads the history from `dir`; missing or damaged files give an empty list
/// (a damaged one with a warning in the log).
pub fn load(dir: &Path) -> Vec<HistoryEntry> {
    let path = path_in(dir);
    let Ok(bytes) = fs::read(&path) else {
        return Vec::new();
    };
    match serde_json::from_slice::<HistoryFile>(&bytes) {
        Ok(file) => {
            let mut entries = file.entries;
            entries.truncate(MAX_HISTORY);
            entries
        }
        Err(e) => {
            tracing::warn!("ignoring damaged history file {}: {e}", path.display());
            Vec::new()
        }
    }
}

/// The file's bytes for `entries` (`None` if they cannot be encoded, so a
/// caller never replaces a good file with an empty one).
pub fn to_json(entries: &[HistoryEntry]) -> Option<Vec<u8>> {
    let file = HistoryFile {
        version: HISTORY_VERSION,
        entries: entries.iter().take(MAX_HISTORY).cloned().collect(),
    };
    match serde_json::to_vec_pretty(&file) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::error!("cannot encode the history: {e}");
            None
        }
    }
}

/// Puts `entry` first and drops the oldest beyond [`MAX_HISTORY`]. An
/// earlier end of the same transfer (it failed, then resumed by itself and
/// ended again) is replaced: History tells how it ended, once.
pub fn push(entries: &mut Vec<HistoryEntry>, entry: HistoryEntry) {
    if entry.transfer.is_some() {
        entries.retain(|e| e.transfer != entry.transfer);
    }
    entries.insert(0, entry);
    entries.truncate(MAX_HISTORY);
}

/// The History tab: `entries` are the newest of `total`.
pub fn show(
    ui: &mut egui::Ui,
    entries: &[HistoryEntry],
    total: usize,
    now_ms: u64,
    actions: &mut Vec<Action>,
) {
    if entries.is_empty() {
        style::empty_state(ui, &tr!("history-empty-title"), &tr!("history-empty-body"));
        return;
    }
    ui.horizontal(|ui| {
        let count = if total > entries.len() {
            tr!("history-latest", shown = entries.len(), total = total)
        } else {
            tr!("history-count", count = total)
        };
        ui.label(RichText::new(count).weak());
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui.button(tr!("history-clear")).clicked() {
                actions.push(Action::ClearHistory);
            }
        });
    });
    ui.add_space(4.0);
    for (i, entry) in entries.iter().enumerate() {
        ui.push_id(i, |ui| entry_row(ui, entry, now_ms, actions));
    }
}

fn entry_row(ui: &mut egui::Ui, entry: &HistoryEntry, now_ms: u64, actions: &mut Vec<Action>) {
    style::card(ui).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            let way = match entry.direction {
                Direction::Outgoing => tr!("transfers-to", name = &entry.peer),
                Direction::Incoming => tr!("transfers-from", name = &entry.peer),
            };
            let when = style::relative_time(now_ms, entry.finished_ms);
            let detail = if entry.files > 0 {
                tr!(
                    "history-detail-files",
                    way = way,
                    count = entry.files,
                    size = human_bytes(entry.bytes),
                    when = when
                )
            } else {
                tr!("history-detail", way = way, when = when)
            };
            let arrow = match entry.direction {
                Direction::Outgoing => "↗",
                Direction::Incoming => "↙",
            };
            ui.label(RichText::new(arrow).size(18.0).color(style::accent(ui)));
            // The buttons first (right to left), then the names cut with "…"
            // to the room left, so a long name never pushes them out.
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                if let Some(text) = &entry.text {
                    if ui
                        .button(tr!("common-copy"))
                        .on_hover_text(tr!("history-copy-message"))
                        .clicked()
                    {
                        actions.push(Action::Copy(text.clone()));
                    }
                } else if entry.outcome.is_success()
                    // A message saved before History kept texts: still no folder.
                    && !matches!(entry.outcome, Outcome::Completed { files: 0, .. })
                    && let Some(folder) = &entry.folder
                    && ui.button(tr!("transfers-open-folder")).clicked()
                {
                    actions.push(Action::OpenFolder(folder.clone()));
                }
                style::outcome_label(ui, &entry.outcome, entry.direction, entry.browser);
                ui.with_layout(Layout::top_down(Align::Min), |ui| {
                    let what =
                        ui.add(egui::Label::new(RichText::new(&entry.what).strong()).truncate());
                    fonts::on_hover_readable(what, &entry.what);
                    let line =
                        ui.add(egui::Label::new(RichText::new(detail).small().weak()).truncate());
                    fonts::on_hover_readable(line, &entry.peer);
                });
            });
        });
        if let Some(text) = &entry.text {
            message_text(ui, text);
        }
    });
    ui.add_space(6.0);
}

/// A message as History shows it: its words, selectable, a few lines at
/// most before they scroll.
fn message_text(ui: &mut egui::Ui, text: &str) {
    style::message_box(ui).show(ui, |ui| {
        ui.set_width(ui.available_width());
        egui::ScrollArea::vertical()
            .max_height(90.0)
            .show(ui, |ui| {
                let shown = ui.add(egui::Label::new(text).selectable(true).wrap());
                fonts::on_hover_readable(shown, text);
            });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64) -> HistoryEntry {
        HistoryEntry {
            finished_ms: n,
            direction: Direction::Incoming,
            peer: "p".into(),
            peer_id: None,
            addr: None,
            what: format!("f{n}"),
            files: 1,
            bytes: n,
            outcome: Outcome::Completed { files: 1, bytes: n },
            folder: None,
            browser: false,
            text: None,
            transfer: None,
        }
    }

    /// Issue 16: an interrupted transfer that resumed by itself (same id)
    /// has one entry, with how it finally ended; other transfers stay.
    #[test]
    fn a_transfer_that_ends_again_replaces_its_earlier_end() {
        let mut entries = vec![entry(1)];
        let failed = HistoryEntry {
            outcome: Outcome::Failed("The connection was lost.".into()),
            transfer: Some(TransferId(7)),
            ..entry(2)
        };
        push(&mut entries, failed);
        push(
            &mut entries,
            HistoryEntry {
                transfer: Some(TransferId(8)),
                ..entry(3)
            },
        );
        push(
            &mut entries,
            HistoryEntry {
                transfer: Some(TransferId(7)),
                ..entry(4)
            },
        );
        let ends: Vec<_> = entries
            .iter()
            .map(|e| (e.finished_ms, e.transfer))
            .collect();
        assert_eq!(
            ends,
            [
                (4, Some(TransferId(7))),
                (3, Some(TransferId(8))),
                (1, None)
            ]
        );
        assert!(entries[0].outcome.is_success());
    }

    #[test]
    fn history_is_capped_and_round_trips() {
        let mut entries = Vec::new();
        for n in 0..(MAX_HISTORY as u64 + 10) {
            push(&mut entries, entry(n));
        }
        assert_eq!(entries.len(), MAX_HISTORY);
        assert_eq!(
            entries[0].finished_ms,
            MAX_HISTORY as u64 + 9,
            "newest first"
        );
        let dir = tempfile::tempdir().expect("tmp");
        crate::config::save_file(&path_in(dir.path()), &to_json(&entries).expect("json"))
            .expect("write");
        assert_eq!(load(dir.path()), entries);
        fs::write(path_in(dir.path()), b"[oops").expect("write");
        assert!(
            load(dir.path()).is_empty(),
            "a damaged file gives an empty history"
        );
    }
}
