//! TLS records after the handshake, read by the record layer's reader.
//! The properties live in `ferry::fuzzing::tls_record_reader`, shared with tests/fuzz_regressions.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ferry::fuzzing::tls_record_reader(data));
