//! Progress bookkeeping for one transfer: bytes and files done, a smoothed
//! rate, an ETA, and throttling so a fast transfer emits about ten progress
//! events a second instead of one per chunk. Pure arithmetic; no I/O.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Direction, TransferId};

/// Minimum time between two progress events of one transfer.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// A progress report, as sent to the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Which transfer.
    pub id: TransferId,
    /// Which way.
    pub direction: Direction,
    /// Bytes moved or skipped by resume so far.
    pub bytes_done: u64,
    /// Bytes of all accepted files.
    pub bytes_total: u64,
    /// Files finished.
    pub files_done: u32,
    /// Files accepted.
    pub files_total: u32,
    /// Smoothed bytes per second.
    pub rate: f64,
    /// Estimated time left, when the rate is known.
    pub eta: Option<Duration>,
    /// Relative path of the file in flight.
    pub current: String,
}

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

/// "1.5 MiB"-style sizes for people.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// "1 h 02 min", "3 min 05 s", "12 s" for people.
pub fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60),
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

    #[test]
    fn formats_for_people() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(64 * 1024 * 1024), "64.0 MiB");
        assert_eq!(human_duration(Duration::from_secs(65)), "1 min 05 s");
        assert_eq!(human_duration(Duration::from_secs(3720)), "1 h 02 min");
    }
}
