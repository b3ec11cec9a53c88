//! The file name a browser sends with a multipart upload, under Unix and Windows name rules.
//! The properties live in `ferry::fuzzing::upload_name`, shared with tests/fuzz_regressions.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ferry::fuzzing::upload_name(data));
