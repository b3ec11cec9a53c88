//! Whether the network-lab tests can run here (root, `ip netns`, the
//! netlab script in ../shared), shared by every netlab test file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The netlab script beside the checkout.
pub fn netlab_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/netlab/netlab")
}

/// Why netlab tests cannot run here, if they cannot.
pub fn skip_reason() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    if uid != "0" {
        return Some(format!("not root (uid {uid}); netlab needs root"));
    }
    if !netlab_script().exists() {
        return Some(format!("{} not found", netlab_script().display()));
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "`ip netns` is unavailable: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("`ip` is unavailable: {e}")),
    }
}
