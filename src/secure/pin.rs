//! The receiver's PIN: what a PIN must look like, and the guard that checks
//! a given PIN so that guessing it is slower than waiting out the heat death
//! of the café's Wi-Fi.
//!
//! A wrong PIN counts against its sender's address ([`MAX_WRONG_PINS`] per
//! [`PIN_WINDOW`], then that address waits out the window) and against every
//! address together ([`MAX_WRONG_PINS_GLOBAL`] per window, then nobody may try
//! for a lockout that doubles each time, up to [`MAX_LOCKOUT`]), so a
//! thousand loopback or spoofed addresses gain nothing. The per-address table
//! is bounded ([`MAX_TRACKED_ADDRESSES`]); when it is full of fresh entries a
//! new address must wait. The comparison is constant-time. Locking out
//! everyone is a denial of service an attacker on the LAN can cause; it only
//! stops PIN entry (remembered devices and offers without a PIN prompt are
//! unaffected), and the person is told. This module keeps counters only: no
//! I/O, no clock of its own (callers pass `now`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

/// Most wrong PINs one address may try within [`PIN_WINDOW`].
pub const MAX_WRONG_PINS: u32 = 5;
/// The window the counts run over.
pub const PIN_WINDOW: Duration = Duration::from_secs(60);
/// Most wrong PINs from all addresses together within [`PIN_WINDOW`].
pub const MAX_WRONG_PINS_GLOBAL: u32 = 20;
/// The longest everyone is kept from trying after repeated global floods.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(3600);
/// Addresses whose wrong PINs are remembered at once.
pub const MAX_TRACKED_ADDRESSES: usize = 1024;
/// Fewest characters of a PIN a person may set (six digits: a million
/// guesses, which the limits above make take years).
pub const MIN_PIN_CHARS: usize = 6;
/// Most characters of a PIN.
pub const MAX_PIN_CHARS: usize = 32;

/// Whether `pin` may be set as a receiver's PIN; the sentence says why not.
pub fn check_new_pin(pin: &str) -> Result<(), String> {
    let chars = pin.chars().count();
    if chars < MIN_PIN_CHARS {
        return Err(format!(
            "A PIN needs at least {MIN_PIN_CHARS} characters (six digits or a word); shorter ones can be guessed."
        ));
    }
    if chars > MAX_PIN_CHARS {
        return Err(format!(
            "A PIN can have at most {MAX_PIN_CHARS} characters."
        ));
    }
    if pin.chars().any(char::is_control) {
        return Err("A PIN cannot contain control characters.".into());
    }
    Ok(())
}

/// What the guard says about one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinVerdict {
    /// The PIN is right.
    Accepted,
    /// No PIN was given (not counted as a guess).
    Missing,
    /// The PIN is wrong (counted).
    Wrong,
    /// Too many wrong PINs: this attempt was not even compared.
    Locked {
        /// When another attempt may be considered.
        retry_after: Duration,
    },
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    wrong: u32,
}

impl Window {
    fn fresh(now: Instant) -> Self {
        Window {
            start: now,
            wrong: 0,
        }
    }

    fn roll(&mut self, now: Instant) {
        if now.duration_since(self.start) >= PIN_WINDOW {
            *self = Window::fresh(now);
        }
    }

    fn left(&self, now: Instant) -> Duration {
        PIN_WINDOW.saturating_sub(now.duration_since(self.start))
    }
}

#[derive(Debug)]
struct State {
    per_address: HashMap<IpAddr, Window>,
    global: Window,
    locked_until: Option<Instant>,
    next_lockout: Duration,
}

/// Counts wrong PINs for one receiver (the engine keeps one).
#[derive(Debug)]
pub struct PinGuard {
    state: Mutex<State>,
}

impl Default for PinGuard {
    fn default() -> Self {
        PinGuard::new(Instant::now())
    }
}

impl PinGuard {
    /// A guard with no attempts counted.
    pub fn new(now: Instant) -> Self {
        PinGuard {
            state: Mutex::new(State {
                per_address: HashMap::new(),
                global: Window::fresh(now),
                locked_until: None,
                next_lockout: PIN_WINDOW,
            }),
        }
    }

    /// Checks `given` against `expected` for a sender at `from`.
    pub fn check(
        &self,
        expected: &str,
        given: Option<&str>,
        from: IpAddr,
        now: Instant,
    ) -> PinVerdict {
        let Ok(mut state) = self.state.lock() else {
            // A panicked holder: refuse rather than guess.
            return PinVerdict::Locked {
                retry_after: PIN_WINDOW,
            };
        };
        if let Some(until) = state.locked_until {
            if now < until {
                return PinVerdict::Locked {
                    retry_after: until - now,
                };
            }
            state.locked_until = None;
        }
        if !state.per_address.contains_key(&from)
            && state.per_address.len() >= MAX_TRACKED_ADDRESSES
        {
            state
                .per_address
                .retain(|_, w| now.duration_since(w.start) < PIN_WINDOW);
            if state.per_address.len() >= MAX_TRACKED_ADDRESSES {
                let oldest = state.per_address.values().map(|w| w.left(now)).min();
                return PinVerdict::Locked {
                    retry_after: oldest.unwrap_or(PIN_WINDOW),
                };
            }
        }
        let window = state
            .per_address
            .entry(from)
            .or_insert_with(|| Window::fresh(now));
        window.roll(now);
        if window.wrong >= MAX_WRONG_PINS {
            return PinVerdict::Locked {
                retry_after: window.left(now),
            };
        }
        let Some(given) = given else {
            return PinVerdict::Missing;
        };
        if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            state.per_address.remove(&from);
            state.next_lockout = PIN_WINDOW;
            return PinVerdict::Accepted;
        }
        window.wrong += 1;
        state.global.roll(now);
        state.global.wrong += 1;
        if state.global.wrong >= MAX_WRONG_PINS_GLOBAL {
            state.locked_until = Some(now + state.next_lockout);
            state.next_lockout = (state.next_lockout * 2).min(MAX_LOCKOUT);
            state.global = Window::fresh(now);
        }
        PinVerdict::Wrong
    }

    /// How long nobody may try a PIN, when a flood of wrong ones locked
    /// everyone out.
    pub fn locked_for(&self, now: Instant) -> Option<Duration> {
        let state = self.state.lock().ok()?;
        state
            .locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// Addresses remembered now (for tests and the diagnosis).
    pub fn tracked(&self) -> usize {
        self.state.lock().map(|s| s.per_address.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from(0x7f00_0000 + n))
    }

    #[test]
    fn new_pins_are_long_enough() {
        assert!(check_new_pin("4711").is_err());
        assert!(check_new_pin("12345").is_err());
        assert!(check_new_pin("493021").is_ok());
        assert!(check_new_pin("correct horse").is_ok());
        assert!(check_new_pin(&"9".repeat(33)).is_err());
        assert!(check_new_pin("12345\n6").is_err());
    }

    #[test]
    fn one_address_gets_five_guesses_a_minute() {
        let t0 = Instant::now();
        let guard = PinGuard::new(t0);
        assert_eq!(guard.check("493021", None, ip(1), t0), PinVerdict::Missing);
        for _ in 0..MAX_WRONG_PINS {
            assert_eq!(
                guard.check("493021", Some("000000"), ip(1), t0),
                PinVerdict::Wrong
            );
        }
        // Even the right PIN is not compared now.
        assert!(matches!(
            guard.check("493021", Some("493021"), ip(1), t0),
            PinVerdict::Locked { .. }
        ));
        // Another address is unaffected; after the window the first may try again.
        assert_eq!(
            guard.check("493021", Some("493021"), ip(2), t0),
            PinVerdict::Accepted
        );
        let later = t0 + PIN_WINDOW;
        assert_eq!(
            guard.check("493021", Some("493021"), ip(1), later),
            PinVerdict::Accepted
        );
    }

    /// Regression (#14, finding 5): a 4-digit PIN fell in 61 s to guesses
    /// spread over 968 loopback addresses, five each.
    #[test]
    fn many_addresses_together_get_no_more_than_the_global_budget() {
        let t0 = Instant::now();
        let guard = PinGuard::new(t0);
        let mut wrong = 0;
        let mut locked = 0;
        for n in 0..968 {
            for _ in 0..MAX_WRONG_PINS {
                match guard.check("493021", Some("000000"), ip(n), t0) {
                    PinVerdict::Wrong => wrong += 1,
                    PinVerdict::Locked { .. } => locked += 1,
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(
            wrong, MAX_WRONG_PINS_GLOBAL,
            "only the global budget was compared"
        );
        assert_eq!(locked, 968 * MAX_WRONG_PINS - MAX_WRONG_PINS_GLOBAL);
        // The lockout doubles with each flood.
        let first = match guard.check("493021", Some("x"), ip(5000), t0) {
            PinVerdict::Locked { retry_after } => retry_after,
            other => panic!("{other:?}"),
        };
        assert_eq!(first, PIN_WINDOW);
        let mut t = t0 + first;
        for n in 0..MAX_WRONG_PINS_GLOBAL {
            assert_eq!(
                guard.check("493021", Some("x"), ip(6000 + n), t),
                PinVerdict::Wrong
            );
        }
        let second = match guard.check("493021", Some("x"), ip(7000), t) {
            PinVerdict::Locked { retry_after } => retry_after,
            other => panic!("{other:?}"),
        };
        assert_eq!(second, PIN_WINDOW * 2);
        // The right PIN works once the lockout is over, and resets it.
        t += second;
        assert_eq!(
            guard.check("493021", Some("493021"), ip(7000), t),
            PinVerdict::Accepted
        );
    }

    #[test]
    fn the_address_table_stays_bounded() {
        let t0 = Instant::now();
        let guard = PinGuard::new(t0);
        for n in 0..(MAX_TRACKED_ADDRESSES as u32 + 50) {
            // Missing PINs are not guesses: no global lockout, only the table.
            let _ = guard.check("493021", None, ip(n), t0);
        }
        assert!(guard.tracked() <= MAX_TRACKED_ADDRESSES);
        // Once the entries are old, new addresses get their place.
        let later = t0 + PIN_WINDOW;
        assert_eq!(
            guard.check("493021", None, ip(99_999), later),
            PinVerdict::Missing
        );
        assert!(guard.tracked() <= MAX_TRACKED_ADDRESSES);
    }
}
