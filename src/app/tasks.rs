//! Work the window hands to helper threads so its own thread never blocks:
//! file dialogs (rfd blocks until the person answers), resolving typed
//! addresses, running the network check ([`crate::diagnose`]), opening
//! folders, writing settings and history. Each job runs on a named thread
//! and reports a [`TaskResult`] through a bounded channel, then wakes the
//! window. Measuring what sits in the tray and starting or stopping the
//! browser share are the engine's work ([`crate::api::Command::Measure`],
//! [`crate::api::Command::StartShare`]); their answers arrive as engine
//! events and are folded in as the same [`TaskResult`]s. This module must
//! not walk folders or run servers itself. Writes go through one saver thread, in order; dropping
//! [`Tasks`] waits for it so nothing saved is lost at exit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, bounded};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::api::{Command as EngineCommand, Device, Waker};
use crate::diagnose::{self, Report, Setup};
use crate::engine::DiscoveryConfig;
use crate::i18n::tr;

/// What a file dialog was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Files for the tray.
    Files,
    /// A folder for the tray.
    Folder,
    /// The download folder in settings.
    DownloadDir,
    /// Files for the browser share.
    ShareFiles,
    /// A folder for the browser share.
    ShareFolder,
}

/// A finished helper job.
#[derive(Debug)]
pub enum TaskResult {
    /// A dialog closed; empty when cancelled or when no dialog could be shown.
    Picked {
        /// Why it was opened.
        purpose: Pick,
        /// What was chosen.
        paths: Vec<PathBuf>,
    },
    /// A tray item was measured: (bytes, files) or why not.
    Measured {
        /// The item.
        path: PathBuf,
        /// Bytes and file count, or a sentence.
        size: Result<(u64, u64), String>,
    },
    /// A typed address was resolved.
    Resolved {
        /// What was typed.
        input: String,
        /// The address, or a sentence.
        result: Result<SocketAddr, String>,
    },
    /// The network check finished: its report, or why it could not run.
    Diagnosis(Result<Box<Report>, String>),
    /// A browser share started, or why not (from the engine's events).
    ShareStarted(Result<crate::api::ShareStarted, String>),
    /// A browser share stopped: its port is closed.
    ShareStopped,
    /// No file dialog can be shown on this desktop; a sentence saying what to install.
    PickUnavailable(String),
    /// Something could not be opened or saved; a sentence.
    Failed(String),
}

struct SaveJob {
    path: PathBuf,
    bytes: Vec<u8>,
}

/// Starts helper jobs and collects their results.
pub struct Tasks {
    tx: Sender<TaskResult>,
    rx: Receiver<TaskResult>,
    wake: Waker,
    saver: Option<Sender<SaveJob>>,
    saver_thread: Option<JoinHandle<()>>,
    /// The engine's commands, for the work it does for the window.
    engine: Sender<EngineCommand>,
}

impl Tasks {
    /// Starts the saver thread; `wake` is called after every result;
    /// `engine` takes the commands for work the engine does (measuring).
    pub fn new(wake: Waker, engine: Sender<EngineCommand>) -> std::io::Result<Tasks> {
        let (tx, rx) = bounded(256);
        let (save_tx, save_rx) = bounded::<SaveJob>(64);
        let (fail_tx, fail_wake) = (tx.clone(), wake.clone());
        let saver_thread =
            thread::Builder::new()
                .name("ferry-ui-saver".into())
                .spawn(move || {
                    for job in save_rx {
                        if let Err(e) = crate::config::save_file(&job.path, &job.bytes) {
                            let sentence = tr!(
                                "notice-cannot-save",
                                path = job.path.display().to_string(),
                                error = e.to_string()
                            );
                            if fail_tx.send(TaskResult::Failed(sentence)).is_ok() {
                                fail_wake();
                            }
                        }
                    }
                })?;
        Ok(Tasks {
            tx,
            rx,
            wake,
            saver: Some(save_tx),
            saver_thread: Some(saver_thread),
            engine,
        })
    }

    /// Results that are ready, without waiting.
    pub fn ready(&self) -> impl Iterator<Item = TaskResult> + '_ {
        self.rx.try_iter()
    }

    /// Runs `job` on a new thread called `name` and reports its result.
    pub(super) fn spawn(
        &self,
        name: &str,
        job: impl FnOnce() -> Option<TaskResult> + Send + 'static,
    ) {
        let (tx, wake) = (self.tx.clone(), self.wake.clone());
        let spawned = thread::Builder::new().name(name.into()).spawn(move || {
            if let Some(result) = job()
                && tx.send(result).is_ok()
            {
                wake();
            }
        });
        if let Err(e) = spawned {
            let _ = self.tx.try_send(TaskResult::Failed(tr!(
                "notice-cannot-start-thread",
                error = e.to_string()
            )));
            (self.wake)();
        }
    }

    /// Opens a file or folder dialog; when the desktop has no way to show
    /// one, says so instead of returning nothing silently.
    pub fn pick(&self, purpose: Pick) {
        self.spawn("ferry-dialog", move || {
            if !dialog_available() {
                let sentence = if purpose == Pick::DownloadDir {
                    tr!("notice-no-folder-dialog")
                } else {
                    tr!("notice-no-file-dialog")
                };
                return Some(TaskResult::PickUnavailable(sentence));
            }
            // Whatever happens in the dialog, report back: the window keeps
            // its Send buttons disabled until this result arrives.
            let paths = std::panic::catch_unwind(|| pick_blocking(purpose)).unwrap_or_else(|_| {
                tracing::error!("the file dialog failed");
                None
            });
            Some(TaskResult::Picked {
                purpose,
                paths: paths.unwrap_or_default(),
            })
        });
    }

    /// Measures tray items (bytes and files, walking folders): the engine
    /// does it and answers with one [`crate::api::Event::Measured`] each.
    pub fn measure(&self, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            return;
        }
        if self.engine.send(EngineCommand::Measure(paths)).is_err() {
            tracing::debug!("the engine stopped; nothing measured");
        }
    }

    /// Resolves "host", "host:port" or "ip:port".
    pub fn resolve(&self, input: String) {
        self.spawn("ferry-resolve", move || {
            let result = crate::config::resolve_address(input.trim()).map_err(|e| format!("{e:#}"));
            Some(TaskResult::Resolved { input, result })
        });
    }

    /// Runs the network check with what the window knows; the key is
    /// loaded and saved peers' names are looked up on the helper thread.
    pub fn diagnose(&self, request: CheckRequest) {
        self.spawn("ferry-diagnose", move || {
            let result = check_setup(request)
                .and_then(|setup| diagnose::run(&setup).map_err(|e| format!("{e}.")))
                .map(Box::new);
            Some(TaskResult::Diagnosis(result))
        });
    }

    /// Opens a folder (or file) in the desktop's default application.
    pub fn open(&self, path: PathBuf) {
        self.spawn("ferry-open", move || {
            open_path(&path).err().map(TaskResult::Failed)
        });
    }

    /// Shows a file selected in the file manager, or opens its folder.
    pub fn show_file(&self, path: PathBuf) {
        self.spawn("ferry-open", move || {
            if reveal(&path) {
                return None;
            }
            let folder = path.parent().map(Path::to_path_buf).unwrap_or(path);
            open_path(&folder).err().map(TaskResult::Failed)
        });
    }

    /// Writes `bytes` to `path` atomically, after earlier writes.
    pub fn save(&self, path: PathBuf, bytes: Vec<u8>) {
        if let Some(saver) = &self.saver
            && saver.send(SaveJob { path, bytes }).is_err()
        {
            tracing::warn!("the saver thread has stopped; a write was lost");
        }
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        self.saver.take();
        if let Some(thread) = self.saver_thread.take() {
            let _ = thread.join();
        }
    }
}

/// Shows the file dialog for `purpose` and waits for the person.
fn pick_blocking(purpose: Pick) -> Option<Vec<PathBuf>> {
    let dialog = rfd::FileDialog::new();
    match purpose {
        Pick::Files => dialog.set_title(tr!("dialog-pick-files")).pick_files(),
        Pick::Folder => dialog
            .set_title(tr!("dialog-pick-folder"))
            .pick_folder()
            .map(|p| vec![p]),
        Pick::DownloadDir => dialog
            .set_title(tr!("dialog-pick-download-dir"))
            .pick_folder()
            .map(|p| vec![p]),
        Pick::ShareFiles => dialog
            .set_title(tr!("dialog-pick-share-files"))
            .pick_files(),
        Pick::ShareFolder => dialog
            .set_title(tr!("dialog-pick-share-folder"))
            .pick_folder()
            .map(|p| vec![p]),
    }
}

/// Whether rfd can show a dialog here. On Linux it asks the XDG desktop
/// portal over the session bus, else runs `zenity`; with neither it returns
/// "nothing chosen" after a second, which would look like a cancel.
/// Elsewhere the system's own dialogs are always there.
fn dialog_available() -> bool {
    if !cfg!(target_os = "linux") || on_path("zenity") {
        return true;
    }
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|dir| Path::new(&dir).join("bus").exists());
    bus && portal_reachable()
}

/// True when `program` is an executable file in one of `PATH`'s folders.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Asks the session bus whether the desktop portal runs or can be started.
/// Without `dbus-send` to ask with, assumes it can (rfd will try).
fn portal_reachable() -> bool {
    const PORTAL: &str = "org.freedesktop.portal.Desktop";
    ["ListNames", "ListActivatableNames"].iter().any(|method| {
        let output = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                &format!("org.freedesktop.DBus.{method}"),
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        match output {
            Ok(out) => String::from_utf8_lossy(&out.stdout).contains(PORTAL),
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    })
}

/// What the window hands to the network check.
pub struct CheckRequest {
    /// Where this device's key is.
    pub config_dir: PathBuf,
    /// This device.
    pub device: Device,
    /// The TCP port the window receives on.
    pub tcp_port: u16,
    /// Interfaces and UDP port (saved peers are added from `saved_peers`).
    pub discovery: DiscoveryConfig,
    /// Saved peers as typed (IP:port or host names).
    pub saved_peers: Vec<String>,
}

/// The check's setup: the key from disk, saved peers resolved (those that
/// cannot be found are left out; the Devices panel already says so).
fn check_setup(request: CheckRequest) -> Result<Setup, String> {
    let identity = crate::config::identity(&request.config_dir)
        .map_err(|e| tr!("network-check-no-key", error = e.to_string()))?;
    let mut discovery = request.discovery;
    for saved in &request.saved_peers {
        if let Ok(addr) = crate::config::resolve_address(saved.trim())
            && !discovery.manual_peers.contains(&addr)
        {
            discovery.manual_peers.push(addr);
        }
    }
    Ok(Setup {
        identity: std::sync::Arc::new(identity),
        device: request.device,
        tcp_port: request.tcp_port,
        discovery,
        extra_peers: Vec::new(),
        wait: diagnose::DEFAULT_WAIT,
    })
}

fn opener() -> &'static str {
    if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    }
}

fn open_path(path: &Path) -> Result<(), String> {
    let status = Command::new(opener())
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(_) => Err(tr!("notice-cannot-open", path = path.display().to_string())),
        Err(e) => Err(tr!(
            "notice-cannot-open-no-opener",
            path = path.display().to_string(),
            opener = opener(),
            error = e.to_string()
        )),
    }
}

/// Asks the desktop's file manager (org.freedesktop.FileManager1) to show the
/// file selected. False when no file manager takes the request.
fn reveal(path: &Path) -> bool {
    if !cfg!(target_os = "linux") {
        return false;
    }
    let uri = file_uri(path);
    Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.FileManager1",
            "/org/freedesktop/FileManager1",
            "org.freedesktop.FileManager1.ShowItems",
            &format!("array:string:{uri}"),
            "string:",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `file://` URI with percent-encoding of everything but unreserved bytes and `/`.
fn file_uri(path: &Path) -> String {
    /// All but RFC 3986 unreserved bytes and the path separator.
    const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    format!(
        "file://{}",
        utf8_percent_encode(&path.to_string_lossy(), ESCAPED)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_are_escaped() {
        assert_eq!(
            file_uri(Path::new("/tmp/a b/ü.txt")),
            "file:///tmp/a%20b/%C3%BC.txt"
        );
    }
}
