//! The network lab shared by every netlab test file: a sealed LAN of network
//! namespaces on one bridge (addresses 10.231.0.x only), made with the
//! netlab script in ../shared, and removed again when the [`Lab`] is dropped.
//! Making one needs root, `ip netns` and the script; [`Lab::require`] goes
//! through `crate::require`, so without them a test fails under CI and is
//! skipped elsewhere. A file that includes this module declares
//! `mod require;` too, and adds its own `impl Lab` for how it runs `ferry`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// The netlab script beside the checkout.
pub fn netlab_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/netlab/netlab")
}

/// Why netlab tests cannot run here, if they cannot.
pub fn missing() -> Option<String> {
    if let Some(reason) = crate::require::root("netlab") {
        return Some(reason);
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

/// A running lab; dropping it stops its processes and removes it.
pub struct Lab {
    prefix: String,
    /// Processes started in the lab, killed when it is dropped.
    pub children: Vec<Child>,
}

impl Lab {
    /// A lab of `hosts` hosts, or `None` (after failing under CI or printing
    /// why it is skipped) when none can be made here. `tag` (at most 5
    /// characters) keeps the namespaces of different tests apart.
    pub fn require(tag: &str, hosts: usize) -> Option<Lab> {
        const TOOL: &str = "root and network namespaces (netlab)";
        if !crate::require::require(TOOL, missing()) {
            return None;
        }
        crate::require::obtain(TOOL, Lab::up(tag, hosts))
    }

    /// Makes the lab, or says why it cannot be made here (e.g. root
    /// without the right to create namespaces, inside some containers).
    fn up(tag: &str, hosts: usize) -> Result<Lab, String> {
        // Unique per test and run, at most 10 characters (netlab's limit).
        let prefix = format!("{tag}{}", std::process::id() % 100_000);
        let lab = Lab {
            prefix,
            children: Vec::new(),
        };
        let out = lab
            .netlab()
            .args(["up", &hosts.to_string()])
            .output()
            .map_err(|e| format!("cannot run netlab: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`netlab up {hosts}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(lab)
    }

    /// The netlab script, aimed at this lab.
    pub fn netlab(&self) -> Command {
        let mut command = Command::new(netlab_script());
        command.env("NETLAB_PREFIX", &self.prefix);
        command
    }

    /// `program` run inside host `host`.
    pub fn exec(&self, host: usize, program: &str) -> Command {
        let mut command = self.netlab();
        command.args(["exec", &host.to_string(), program]);
        command
    }

    /// The ferry binary inside host `host` with default network settings
    /// (every interface of the lab host, default ports, LocalSend on) and
    /// its own state folders under `home`.
    pub fn ferry_default(&self, host: usize, home: &Path) -> Command {
        let mut command = self.exec(host, env!("CARGO_BIN_EXE_ferry"));
        command
            .env_remove("FERRY_INTERFACES")
            .env_remove("FERRY_UDP_PORT")
            .env_remove("FERRY_LOCALSEND")
            .env_remove("FERRY_LOCALSEND_PORT")
            .env_remove("RUST_LOG")
            .env("FERRY_CONFIG_DIR", home.join(format!("cfg{host}")))
            .env("FERRY_DATA_DIR", home.join(format!("data{host}")));
        command
    }

    /// Runs `args` inside host `host` and returns what happened.
    pub fn run(&self, host: usize, args: &[&str]) -> Output {
        self.exec(host, args[0])
            .args(&args[1..])
            .output()
            .expect("run in the lab")
    }

    /// Runs `args` inside host `host` and requires it to succeed.
    pub fn run_ok(&self, host: usize, args: &[&str]) {
        let out = self.run(host, args);
        assert!(
            out.status.success(),
            "{args:?} in host {host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.netlab().arg("down").output();
    }
}
