//! A received relative path (components split on 0xff) under Unix and Windows name rules.
//! The properties live in `ferry::fuzzing::received_name`, shared with tests/fuzz_regressions.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ferry::fuzzing::received_name(data));
