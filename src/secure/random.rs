//! Random numbers that are not keys: ids for transfers on the wire and for a
//! discovery run. A failing system RNG is not fatal for these (an id
//! collision only confuses logs, a weak run number only makes a restart look
//! like the same run), so this never returns an error. Keys and tokens use
//! `getrandom` directly and fail when it fails.

/// A random 64-bit number; zero if the system RNG failed.
pub fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}
