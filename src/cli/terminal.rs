//! Terminal output shared by the headless commands: progress bars with speed
//! and ETA, and one-line outcome sentences. Progress goes to stderr so stdout
//! stays clean for scripts.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{EXIT_CANCELLED, EXIT_DECLINED, EXIT_FAILED, EXIT_OK};
use crate::api::Progress;
use crate::api::{Direction, Outcome};

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
