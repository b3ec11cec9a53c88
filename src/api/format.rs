//! Sizes and durations written for people ("1.5 MiB", "3 min 05 s"). Pure
//! functions, shared by the window, the CLI and the engine's sentences.

use std::time::Duration;

/// The units of [`human_bytes`], smallest first (the share page's script
/// writes sizes with the same ones).
pub const BYTE_UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/// "1.5 MiB"-style sizes for people.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = BYTE_UNITS;
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

/// "1 file", "3 files": a count with its noun in English (the sentences the
/// engine and the CLI make; the window's words come from the catalogs,
/// whose plural rules cover other languages).
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", noun(n, one, many))
}

/// The noun for `n` things: `one` for exactly one, else `many`.
pub fn noun<'a>(n: impl Into<u64>, one: &'a str, many: &'a str) -> &'a str {
    if n.into() == 1 { one } else { many }
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
    fn formats_for_people() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(64 * 1024 * 1024), "64.0 MiB");
        assert_eq!(human_duration(Duration::from_secs(65)), "1 min 05 s");
        assert_eq!(human_duration(Duration::from_secs(3720)), "1 h 02 min");
    }

    /// Issue 16, item 11: no "file(s)" in the engine's and the CLI's sentences.
    #[test]
    fn counts_take_the_right_noun() {
        assert_eq!(count(0u32, "file", "files"), "0 files");
        assert_eq!(count(1u32, "file", "files"), "1 file");
        assert_eq!(count(2u64, "file", "files"), "2 files");
        assert_eq!(noun(1u32, "was", "were"), "was");
    }
}
