//! For fault tests: counts panics on Ferry's own threads in the test process
//! (a worker must turn every failure into an event, never a panic), and
//! deterministic noise to throw at ports.
#![allow(dead_code)]

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Panics on Ferry's own threads (`ferry-*`) in this test process.
static WORKER_PANICS: AtomicUsize = AtomicUsize::new(0);

pub fn count_worker_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("ferry-"))
            {
                WORKER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

pub fn no_worker_panicked() {
    assert_eq!(
        WORKER_PANICS.load(Ordering::SeqCst),
        0,
        "a ferry thread panicked"
    );
}

/// Deterministic pseudo-random bytes.
pub struct Noise(pub u64);

impl Noise {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}
