//! Per-source rate limiting of incoming datagrams: a token bucket for each
//! UDP source (address and port), in a map of bounded size. A real Ferry
//! sends a beacon every two seconds plus a few replies; anything far faster
//! is a flood and is dropped (and counted) before it reaches the peer table.
//! The clock is passed in; this module owns no socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Most sources tracked at once. When full, idle sources are forgotten; if
/// none is idle, datagrams from new sources are dropped until some are.
pub const MAX_SOURCES: usize = 1024;

/// Datagrams a source may send in a burst.
pub const BURST: f64 = 16.0;

/// Datagrams per second a source may send after its burst.
pub const RATE_PER_SEC: f64 = 8.0;

/// A source silent this long is forgotten when room is needed.
const IDLE: Duration = Duration::from_secs(10);

/// How often a full map may be swept for idle sources.
const SWEEP_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets by source.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: HashMap<SocketAddr, Bucket>,
    last_sweep: Option<Instant>,
}

impl RateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        RateLimiter::default()
    }

    /// Number of sources tracked.
    pub fn sources(&self) -> usize {
        self.buckets.len()
    }

    /// True if a datagram from `from` may be processed now.
    pub fn allow(&mut self, from: SocketAddr, now: Instant) -> bool {
        if !self.buckets.contains_key(&from) && self.buckets.len() >= MAX_SOURCES {
            let swept_lately = self
                .last_sweep
                .is_some_and(|t| now.saturating_duration_since(t) < SWEEP_EVERY);
            if swept_lately {
                return false;
            }
            self.last_sweep = Some(now);
            self.buckets
                .retain(|_, b| now.saturating_duration_since(b.last) < IDLE);
            if self.buckets.len() >= MAX_SOURCES {
                return false;
            }
        }
        let bucket = self.buckets.entry(from).or_insert(Bucket {
            tokens: BURST,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * RATE_PER_SEC).min(BURST);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(i: u32) -> SocketAddr {
        SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 7))
    }

    #[test]
    fn a_burst_then_the_steady_rate() {
        let mut l = RateLimiter::new();
        let t0 = Instant::now();
        let allowed = (0..1000).filter(|_| l.allow(src(1), t0)).count();
        assert_eq!(allowed, BURST as usize);
        // One second later: RATE_PER_SEC more.
        let t1 = t0 + Duration::from_secs(1);
        let allowed = (0..1000).filter(|_| l.allow(src(1), t1)).count();
        assert_eq!(allowed, RATE_PER_SEC as usize);
        // Another source is unaffected.
        assert!(l.allow(src(2), t1));
    }

    #[test]
    fn the_source_map_stays_bounded() {
        let mut l = RateLimiter::new();
        let t0 = Instant::now();
        for i in 0..(MAX_SOURCES as u32 * 4) {
            l.allow(src(i), t0);
        }
        assert_eq!(l.sources(), MAX_SOURCES);
        // Once the old ones have gone idle, new sources get in again.
        let later = t0 + IDLE + Duration::from_secs(1);
        assert!(l.allow(src(999_999), later));
        assert_eq!(l.sources(), 1);
    }
}
