//! One value of a wire type (first byte picks Message, Offer, Hello, ...): canonical round trip.
//! The properties live in `ferry::fuzzing::message_decode`, shared with tests/fuzz_regressions.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ferry::fuzzing::message_decode(data));
