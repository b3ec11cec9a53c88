//! Terminal output shared by the headless commands: progress bars with speed
//! and ETA, and one-line outcome sentences. Progress goes to stderr so stdout
//! stays clean for scripts.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{EXIT_CANCELLED, EXIT_DECLINED, EXIT_FAILED, EXIT_OK};
use crate::api::{Direction, Outcome, Pauses, Progress, TransferId};

/// A byte progress bar on stderr (hidden when stderr is not a terminal).
pub fn byte_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// A spinner line on stderr while the picked folders are counted (hidden
/// when stderr is not a terminal): a million files on a slow disk take a
/// while, and a silent wait looks like a hang.
pub fn counting_line() -> ProgressBar {
    let line = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        line.set_style(style);
    }
    line
}

/// Moves a counting line to the latest count.
pub fn update_count(line: &ProgressBar, files: u64, bytes: u64) {
    line.set_message(format!(
        "Counting the files to send: {}, {} so far...",
        crate::api::count(files, "file", "files"),
        crate::api::human_bytes(bytes)
    ));
    line.tick();
}

/// Moves a counting line to how far reading the files for their checksums
/// came (before a LocalSend offer): files and bytes, each done and in all.
pub fn update_checksums(line: &ProgressBar, files: (u64, u64), bytes: (u64, u64)) {
    line.set_message(format!(
        "Reading the files to send for their checksums: {} of {}, {} of {}...",
        files.0,
        crate::api::count(files.1, "file", "files"),
        crate::api::human_bytes(bytes.0),
        crate::api::human_bytes(bytes.1)
    ));
    line.tick();
}

/// Moves a bar to a progress report.
pub fn update(bar: &ProgressBar, report: &Progress) {
    bar.set_length(report.bytes_total);
    bar.set_position(report.bytes_done);
    bar.set_message(format!(
        "{}/{} {}",
        report.files_done, report.files_total, report.current
    ));
}

/// Prints how a transfer ended (success on stdout, anything else as one
/// `ferry: ...` line on stderr) and returns the matching exit code.
pub fn report_outcome(outcome: &Outcome, direction: Direction) -> i32 {
    let sentence = outcome.describe(direction);
    let code = match outcome {
        Outcome::Completed { .. } => EXIT_OK,
        Outcome::Declined(_) => EXIT_DECLINED,
        Outcome::Cancelled { .. } => EXIT_CANCELLED,
        Outcome::Failed(_) => EXIT_FAILED,
    };
    match (code, direction) {
        (EXIT_OK, Direction::Outgoing) => say!("Sent: {sentence}"),
        (EXIT_OK, Direction::Incoming) => say!("Received: {sentence}"),
        _ => note!("ferry: {sentence}"),
    }
    code
}

/// Says on the terminal when the other device pauses or resumes a
/// transfer, once per change ("Paused by Studio desk: …"). Remembers, per
/// transfer, who is named and whether it held the pause.
#[derive(Debug, Default)]
pub struct PauseLines(std::collections::HashMap<TransferId, (String, bool)>);

impl PauseLines {
    /// Transfer `id` is with `name` (its pauses will say so).
    pub fn name(&mut self, id: TransferId, name: String) {
        self.0.insert(id, (name, false));
    }

    /// The pause line for a change of the other device's pause, if any.
    pub fn line(&mut self, id: TransferId, pause: Pauses) -> Option<String> {
        let (name, held) = self
            .0
            .entry(id)
            .or_insert_with(|| ("the other device".into(), false));
        if *held == pause.remote {
            return None;
        }
        *held = pause.remote;
        Some(if pause.remote {
            format!("Paused by {name}: nothing moves until it resumes; what arrived is kept.")
        } else {
            let mut first = name.chars();
            let upper: String = first
                .next()
                .into_iter()
                .flat_map(char::to_uppercase)
                .collect();
            format!("{upper}{} resumed the transfer.", first.as_str())
        })
    }

    /// Prints [`PauseLines::line`] above `bar` (on stderr, like the bar),
    /// and while paused the bar says so instead of the file in flight (the
    /// next progress report puts that back).
    pub fn show(&mut self, bar: Option<&ProgressBar>, id: TransferId, pause: Pauses) {
        let Some(line) = self.line(id, pause) else {
            return;
        };
        match bar {
            Some(bar) => {
                bar.suspend(|| note!("{line}"));
                if pause.remote {
                    bar.set_message("paused");
                }
            }
            None => note!("{line}"),
        }
    }

    /// Transfer `id` ended.
    pub fn forget(&mut self, id: TransferId) {
        self.0.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_lines_name_the_pauser_once_per_change() {
        let mut lines = PauseLines::default();
        let id = TransferId(7);
        lines.name(id, "Studio desk".into());
        let remote = Pauses {
            local: false,
            remote: true,
        };
        assert_eq!(lines.line(id, Pauses::default()), None);
        let paused = lines.line(id, remote).expect("a line");
        assert!(paused.starts_with("Paused by Studio desk"), "{paused}");
        assert_eq!(lines.line(id, remote), None, "said once");
        // Our own pause is ours to know, not a line.
        let both = Pauses {
            local: true,
            remote: true,
        };
        assert_eq!(lines.line(id, both), None);
        assert_eq!(
            lines.line(id, Pauses::default()).as_deref(),
            Some("Studio desk resumed the transfer.")
        );
    }
}
