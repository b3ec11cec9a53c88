//! The pairing code two people compare at first contact, and the
//! commit-then-reveal exchange that makes it impossible to steer.
//!
//! Inside the TLS session (both certificates proven), the sender commits to
//! a fresh random value (`SHA-256` of it), the receiver answers with its own
//! fresh value, and only then the sender reveals its value; the receiver
//! checks it against the commitment. The code both screens show is derived
//! from the two device ids proven in this session and both values:
//!
//! `code = SHA-256("ferry pairing v1" ‖ sender id ‖ receiver id ‖ Ns ‖ Nr)`,
//! its first 8 bytes as a big-endian number, modulo 1,000,000.
//!
//! A machine in the middle runs two sessions with its own key, so the ids
//! hashed on each side differ and relaying the values unchanged gives two
//! unrelated codes. To make the codes equal it would have to choose values,
//! but it is bound before the last value arrives in each session: where it
//! receives, it sends its value before the sender's is revealed; where it
//! sends, it commits before the receiver's fresh value arrives. So at least
//! one code is uniform to it whatever it does: one
//! chance in a million per attempt, and every attempt is a connection the
//! person sees. (rustls' unbuffered API, which Ferry's record layer uses,
//! offers no TLS exporter; the proven ids play its part of binding the code
//! to the keys of this session.) This module is pure: no I/O, no state.

use sha2::{Digest, Sha256};

/// Bytes of each side's random value.
pub const NONCE_BYTES: usize = 32;

/// A side's random value for one pairing exchange.
pub type Nonce = [u8; NONCE_BYTES];

/// What the sender sends first: the SHA-256 of its nonce.
pub type Commitment = [u8; 32];

/// A fresh random nonce; fails only if the system has no randomness, in
/// which case no pairing can be trusted and the connection must end.
pub fn fresh_nonce() -> Result<Nonce, getrandom::Error> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce)?;
    Ok(nonce)
}

/// The commitment to `nonce`.
pub fn commit(nonce: &Nonce) -> Commitment {
    let mut hash = Sha256::new();
    hash.update(b"ferry pairing commit v1");
    hash.update(nonce);
    hash.finalize().into()
}

/// True when `revealed` is the nonce that `commitment` was made from.
/// Compared in constant time (the value is public by now; this is habit).
pub fn opens(commitment: &Commitment, revealed: &Nonce) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(commit(revealed).ct_eq(commitment))
}

/// The six-digit code for a session between `sender_id` and `receiver_id`
/// (device ids as proven by TLS) with both nonces.
pub fn code(sender_id: &str, receiver_id: &str, sender: &Nonce, receiver: &Nonce) -> u32 {
    let mut hash = Sha256::new();
    hash.update(b"ferry pairing v1");
    // Length-prefixed, so no two id pairs hash the same bytes.
    for id in [sender_id, receiver_id] {
        hash.update((id.len() as u32).to_be_bytes());
        hash.update(id.as_bytes());
    }
    hash.update(sender);
    hash.update(receiver);
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // 2^64 is not a multiple of 10^6; the bias is below 2^-44.
    (u64::from_be_bytes(first) % 1_000_000) as u32
}

/// "042 917": the code as both screens show it.
pub fn display(code: u32) -> String {
    format!("{:03} {:03}", code / 1000 % 1000, code % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revealed_nonce_opens_only_its_own_commitment() {
        let a = fresh_nonce().expect("rng");
        let b = fresh_nonce().expect("rng");
        assert!(opens(&commit(&a), &a));
        assert!(!opens(&commit(&a), &b));
    }

    #[test]
    fn both_sides_compute_the_same_code_and_it_depends_on_everything() {
        let (ns, nr) = ([1u8; 32], [2u8; 32]);
        let c = code("aa", "bb", &ns, &nr);
        assert_eq!(c, code("aa", "bb", &ns, &nr));
        assert!(c < 1_000_000);
        // Another key on either side, or another nonce: another code
        // (these inputs are fixed, so the test is deterministic).
        assert_ne!(c, code("aa", "bc", &ns, &nr));
        assert_ne!(c, code("ab", "bb", &ns, &nr));
        assert_ne!(c, code("bb", "aa", &ns, &nr));
        assert_ne!(c, code("aa", "bb", &nr, &ns));
        // Ids are length-prefixed: moving a character across the boundary
        // changes the code.
        assert_ne!(code("a", "abb", &ns, &nr), code("aa", "bb", &ns, &nr));
    }

    #[test]
    fn codes_are_spread_over_a_million_values() {
        // A machine in the middle matches a code with probability ~1e-6 only
        // if codes are uniform: 20,000 random sessions hit nearly 20,000
        // distinct codes (a birthday bound predicts ~200 repeats).
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20_000 {
            let (ns, nr) = (fresh_nonce().expect("rng"), fresh_nonce().expect("rng"));
            seen.insert(code("sender", "receiver", &ns, &nr));
        }
        assert!(seen.len() > 19_500, "{} distinct", seen.len());
    }

    #[test]
    fn the_display_form_has_six_digits_in_two_groups() {
        assert_eq!(display(42_917), "042 917");
        assert_eq!(display(999_999), "999 999");
        assert_eq!(display(7), "000 007");
    }
}
