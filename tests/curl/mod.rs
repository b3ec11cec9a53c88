//! curl against the browser share on loopback, for the tests that drive the
//! share as a browser would (`share_http`, `ui_share`). Every run passes
//! `--noproxy '*'`, so a proxy setting cannot send anything off this machine,
//! and a 60 s cap. Whether curl is here goes through `crate::require`, so a
//! file that includes this module declares `mod require;` too.
#![allow(dead_code)]

use std::process::{Command, Output};

/// True when curl can be run; see [`crate::require::require`] for what
/// happens when it cannot (fails under CI, skips elsewhere).
pub fn required() -> bool {
    crate::require::require("curl", crate::require::curl())
}

/// Runs curl with `args` against loopback only.
pub fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--noproxy",
            "*",
            "--max-time",
            "60",
        ])
        .args(args)
        .output()
        .expect("run curl")
}
