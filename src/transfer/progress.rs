//! Progress bookkeeping for one transfer: bytes and files done, a smoothed
//! rate, an ETA, and throttling so a fast transfer emits about ten progress
//! events a second instead of one per chunk. Pure arithmetic; no I/O.

use std::time::{Duration, Instant};

use crate::api::{Direction, Progress, TransferId};

/// Minimum time between two progress events of one transfer.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Accumulates progress and decides when to report it.
#[derive(Debug)]
pub struct Meter {
    report: Progress,
    started: Instant,
    last_emit: Option<Instant>,
    window_start: Instant,
    window_bytes: u64,
}

impl Meter {
    /// A meter for a transfer of `bytes_total` bytes in `files_total` files.
    pub fn new(id: TransferId, direction: Direction, bytes_total: u64, files_total: u32) -> Self {
        let now = Instant::now();
        Meter {
            report: Progress {
                id,
                direction,
                bytes_done: 0,
                bytes_total,
                files_done: 0,
                files_total,
                rate: 0.0,
                eta: None,
                current: String::new(),
            },
            started: now,
            last_emit: None,
            window_start: now,
            window_bytes: 0,
        }
    }

    /// Names the file in flight.
    pub fn set_current(&mut self, name: &str) {
        name.clone_into(&mut self.report.current);
    }

    /// Counts bytes already present at the receiver (resume): done, but not moved.
    pub fn skip(&mut self, bytes: u64) {
        self.report.bytes_done += bytes;
    }

    /// Counts bytes moved over the wire.
    pub fn advance(&mut self, bytes: u64) {
        self.report.bytes_done += bytes;
        self.window_bytes += bytes;
    }

    /// Counts one finished file.
    pub fn file_done(&mut self) {
        self.report.files_done += 1;
    }

    /// The transfer was paused or resumed: the speed starts afresh (no
    /// speed falling towards zero through a pause, none dragged down after it).
    pub fn restart_rate(&mut self) {
        self.report.rate = 0.0;
        self.report.eta = None;
        self.window_start = Instant::now();
        self.window_bytes = 0;
    }

    /// Time since the meter started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Returns a report if enough time has passed since the last one (or if `force`).
    pub fn poll(&mut self, force: bool) -> Option<Progress> {
        let now = Instant::now();
        if !force
            && self
                .last_emit
                .is_some_and(|t| now.duration_since(t) < PROGRESS_INTERVAL)
        {
            return None;
        }
        let window = now.duration_since(self.window_start).as_secs_f64();
        if window >= 0.05 {
            let instant_rate = self.window_bytes as f64 / window;
            // Exponential smoothing: steady enough to read, quick to follow real changes.
            self.report.rate = if self.report.rate == 0.0 {
                instant_rate
            } else {
                0.7 * self.report.rate + 0.3 * instant_rate
            };
            self.window_start = now;
            self.window_bytes = 0;
        }
        let left = self
            .report
            .bytes_total
            .saturating_sub(self.report.bytes_done);
        self.report.eta = (self.report.rate > 1.0)
            .then(|| Duration::from_secs_f64(left as f64 / self.report.rate));
        self.last_emit = Some(now);
        Some(self.report.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_but_forced_reports_always_come() {
        let mut meter = Meter::new(TransferId(1), Direction::Outgoing, 100, 1);
        assert!(meter.poll(false).is_some());
        meter.advance(10);
        assert!(
            meter.poll(false).is_none(),
            "second report within 100 ms is dropped"
        );
        let forced = meter.poll(true).expect("forced");
        assert_eq!(forced.bytes_done, 10);
    }
}
