//! A UDP datagram on the discovery port, decoded as a beacon (and the same bytes behind a valid header).
//! The properties live in `ferry::fuzzing::beacon_decode`, shared with tests/fuzz_regressions.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ferry::fuzzing::beacon_decode(data));
