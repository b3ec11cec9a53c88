//! What a test needs from the machine (curl, Chromium, root, network
//! namespaces) and the one rule for when it is missing: under CI (the `CI`
//! environment variable set and non-empty), `.ci/run` installs every such
//! tool, so a missing one fails the test loudly; anywhere else the test prints
//! `skipped: <reason>` on stderr and ends early, so a developer without, say,
//! Chromium can still run the suite. Tests never return early on their own
//! for a missing tool: they go through [`require`] or [`obtain`].
//!
//! Other helper modules use this one as `crate::require`, so a test file that
//! includes them declares `mod require;` too.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Where the browser test expects Chromium (Debian's `chromium` package).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// True when running under CI, where every tool the tests need is installed.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Whether a test that needs `tool` goes on: true when `missing` is `None`.
/// When it says why the tool is missing, the test fails under CI and is
/// skipped (with the reason printed) elsewhere; the caller then returns.
pub fn require(tool: &str, missing: Option<String>) -> bool {
    match missing {
        None => true,
        Some(reason) => {
            not_here(tool, &reason);
            false
        }
    }
}

/// Like [`require`] for something the test must make to find out whether it
/// can (a network lab, a mounted tmpfs): the thing, or `None` after the same
/// fail-in-CI / skip-elsewhere rule.
pub fn obtain<T>(tool: &str, made: Result<T, String>) -> Option<T> {
    match made {
        Ok(thing) => Some(thing),
        Err(reason) => {
            not_here(tool, &reason);
            None
        }
    }
}

fn not_here(tool: &str, reason: &str) {
    if in_ci() {
        panic!("CI installs {tool}; it is missing: {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// Why curl cannot be run here, if it cannot.
pub fn curl() -> Option<String> {
    match Command::new("curl").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("`curl --version` failed: {}", out.status)),
        Err(e) => Some(format!("curl is not installed (apt-get install curl): {e}")),
    }
}

/// Why [`CHROMIUM`] cannot be run here, if it cannot.
pub fn chromium() -> Option<String> {
    (!Path::new(CHROMIUM).exists())
        .then(|| format!("{CHROMIUM} is not installed (apt-get install chromium)"))
}

/// Why this process is not root, if it is not (`what` says what needs root).
pub fn root(what: &str) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    (uid != "0").then(|| format!("not root (uid {uid}); {what} needs root"))
}

/// Why the X virtual framebuffer cannot be run here, if it cannot (the
/// window tests that start the real binary draw into it).
pub fn xvfb() -> Option<String> {
    match Command::new("Xvfb").arg("-help").output() {
        Ok(_) => None,
        Err(e) => Some(format!("Xvfb is not installed (apt-get install xvfb): {e}")),
    }
}
