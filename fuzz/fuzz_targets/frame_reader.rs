//! Bytes arriving on a connection: greeting check, then frames until the first error.
//! The properties live in `ferry::fuzzing::frame_reader`, shared with tests/fuzz_regressions.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ferry::fuzzing::frame_reader(data));
