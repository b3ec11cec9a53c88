//! Byte ranges (RFC 9110 §14): reading one `Range: bytes=...` header against
//! a file's length. Single ranges are served as `206 Partial Content`;
//! several ranges are answered with the whole file (allowed by the RFC and
//! simpler than multipart/byteranges); a range that cannot be satisfied is a
//! `416`. Pure parsing, no I/O.

/// What to send for a request, given its `Range` header and the file length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// The whole file (no header, another unit, or several ranges).
    Full,
    /// `start..=end` (inclusive), answered with 206.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
    },
    /// Cannot be satisfied or malformed: 416 with `Content-Range: bytes */LEN`.
    Unsatisfiable,
}

/// Decides how to answer `header` (the value of `Range`) for a file of `len` bytes.
pub fn answer(header: Option<&str>, len: u64) -> RangeAnswer {
    let Some(header) = header else {
        return RangeAnswer::Full;
    };
    let header = header.trim();
    let Some(spec) = header
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .map(|_| &header[6..])
    else {
        // An unknown range unit must be ignored.
        return RangeAnswer::Full;
    };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Unsatisfiable;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match number(last) {
            Some(0) | None => RangeAnswer::Unsatisfiable,
            Some(_) if len == 0 => RangeAnswer::Unsatisfiable,
            Some(n) => RangeAnswer::Partial {
                start: len.saturating_sub(n),
                end: len - 1,
            },
        },
        // bytes=A-: from A to the end.
        (false, true) => match number(first) {
            Some(start) if start < len => RangeAnswer::Partial {
                start,
                end: len - 1,
            },
            _ => RangeAnswer::Unsatisfiable,
        },
        // bytes=A-B.
        (false, false) => match (number(first), number(last)) {
            (Some(start), Some(end)) if start <= end && start < len => RangeAnswer::Partial {
                start,
                end: end.min(len - 1),
            },
            _ => RangeAnswer::Unsatisfiable,
        },
        (true, true) => RangeAnswer::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(start: u64, end: u64) -> RangeAnswer {
        RangeAnswer::Partial { start, end }
    }

    #[test]
    fn single_ranges_of_every_form() {
        assert_eq!(answer(None, 100), RangeAnswer::Full);
        assert_eq!(answer(Some("bytes=0-9"), 100), partial(0, 9));
        assert_eq!(answer(Some("bytes=90-"), 100), partial(90, 99));
        assert_eq!(answer(Some("bytes=-10"), 100), partial(90, 99));
        assert_eq!(answer(Some("bytes=-500"), 100), partial(0, 99));
        assert_eq!(answer(Some("bytes=50-5000"), 100), partial(50, 99));
        assert_eq!(answer(Some("Bytes = 1-2"), 100), RangeAnswer::Full);
        assert_eq!(answer(Some("BYTES=1-2"), 100), partial(1, 2));
    }

    #[test]
    fn impossible_or_malformed_ranges_are_416_and_others_full() {
        for bad in [
            "bytes=100-",
            "bytes=100-200",
            "bytes=5-1",
            "bytes=-0",
            "bytes=-",
            "bytes=x-1",
            "bytes=+1-2",
            "bytes=1",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(answer(Some(bad), 100), RangeAnswer::Unsatisfiable, "{bad}");
        }
        assert_eq!(answer(Some("bytes=-1"), 0), RangeAnswer::Unsatisfiable);
        assert_eq!(answer(Some("items=1-2"), 100), RangeAnswer::Full);
        assert_eq!(answer(Some("bytes=0-1,5-6"), 100), RangeAnswer::Full);
    }
}
