//! Ferry moves files between computers on the same local network: it finds
//! other Ferry devices, offers files, folders or text, waits for the other
//! side to accept, streams the bytes with a SHA-256 check on both ends, and
//! only then gives each file its final name.
//!
//! The library does all the work; the `ferry` binary is a thin face over it.
//! [`engine::Engine`] owns sockets and threads and is driven by commands and
//! events, so the desktop window, the CLI and the tests share one code path.

#![forbid(unsafe_code)]
// No panics on data from the network, the disk or a channel: outside tests,
// `unwrap`/`expect` are refused (docs/RELIABILITY.md).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// House rules (clippy.toml): named threads, bounded channels, short functions.
#![warn(clippy::disallowed_methods, clippy::too_many_lines)]
// Unit tests may start unnamed helper threads.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

// The surface: the vocabulary and the engine (what a face or a test drives),
// the two faces, settings, and the network check. The wire, the keys, the
// discovery table and the transfer and share internals stay public for the
// end-to-end tests, benches and fuzz targets that attack them directly;
// what nothing outside the crate needs is crate-private.
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod diagnose;
pub mod engine;

pub mod discovery;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod i18n;
pub mod localsend;
pub mod protocol;
pub mod secure;
pub mod transfer;

pub(crate) mod fs;
pub(crate) mod hex;
pub(crate) mod single_instance;
