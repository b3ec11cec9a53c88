//! Where Ferry keeps its state on disk and what it keeps: the device id, the
//! user's settings, and the folders for history and logs. Environment
//! overrides (`FERRY_CONFIG_DIR`, `FERRY_DATA_DIR`) let tests and several
//! instances on one machine keep separate state. Reading a damaged file falls
//! back to defaults with a warning; this module never touches the network.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod net;

/// Longest alias, in bytes (the wire's limit; longer names are cut).
pub use crate::protocol::limits::MAX_ALIAS_BYTES;
pub use net::{NetOptions, chosen_interfaces, direct_address, discovery_config, resolve_address};

use crate::api::TrustedDevice;
use crate::protocol::DEFAULT_TCP_PORT;
use crate::secure::identity::{Identity, IdentityError};

/// Env var that replaces the configuration folder.
pub const CONFIG_DIR_ENV: &str = "FERRY_CONFIG_DIR";
/// Env var that replaces the data folder (history, logs).
pub const DATA_DIR_ENV: &str = "FERRY_DATA_DIR";
/// Env vars that shorten the connection timers, in milliseconds. Meant for
/// tests that drive the real binary (a dead peer noticed in a second instead
/// of 30); see docs/RELIABILITY.md. Unset or unparsable means the default.
pub const HANDSHAKE_TIMEOUT_ENV: &str = "FERRY_HANDSHAKE_TIMEOUT_MS";
/// See [`HANDSHAKE_TIMEOUT_ENV`].
pub const PING_INTERVAL_ENV: &str = "FERRY_PING_INTERVAL_MS";
/// See [`HANDSHAKE_TIMEOUT_ENV`].
pub const IDLE_TIMEOUT_ENV: &str = "FERRY_IDLE_TIMEOUT_MS";
/// Overrides how long an offer waits for an answer ([`crate::protocol::PROMPT_TIMEOUT`]), in milliseconds.
pub const PROMPT_TIMEOUT_ENV: &str = "FERRY_PROMPT_TIMEOUT_MS";

/// Colour scheme of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Theme {
    /// Follow the desktop.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

/// Everything a person can set. Missing fields take their defaults, so old
/// settings files keep loading after new settings are added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Name other devices see.
    pub alias: String,
    /// Where received files go.
    pub download_dir: PathBuf,
    /// TCP port for transfers.
    pub port: u16,
    /// Interfaces discovery uses; empty means every suitable one.
    pub interfaces: Vec<String>,
    /// UDP port of discovery beacons (all devices must agree).
    pub udp_port: u16,
    /// Devices whose offers are accepted without asking (pinned keys).
    pub trusted_devices: Vec<TrustedDevice>,
    /// Devices whose pairing code was confirmed, or whose offer was
    /// accepted, by key (like SSH's known hosts): sending to them needs no
    /// confirmation, and their names arriving with another key are flagged.
    pub remembered_devices: Vec<TrustedDevice>,
    /// Trust on first use: send to a device never seen before without
    /// comparing the pairing code (docs/SECURITY.md explains why it is off).
    pub trust_new: bool,
    /// PIN that senders must supply; empty or absent means none.
    pub pin: Option<String>,
    /// Peers added by address ("host:port").
    pub manual_peers: Vec<String>,
    /// Serve transfer connections from any address. Off: only the subnets
    /// of the interfaces discovery uses, this computer, and peers added by
    /// address are served (docs/SECURITY.md).
    pub accept_from_anywhere: bool,
    /// Window colours.
    pub theme: Theme,
    /// TCP port the window's browser share listens on; 0 picks a free one
    /// for each share.
    pub share_port: u16,
    /// The window's language as a tag of one of its catalogs ("en",
    /// "zh-CN"); absent means the system's languages decide.
    pub language: Option<String>,
    /// Also talk to LocalSend devices (list them, receive from and send to
    /// them; docs/LOCALSEND.md).
    pub localsend: bool,
    /// LocalSend's port (its HTTPS server and its multicast announcements).
    pub localsend_port: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            alias: default_alias(),
            download_dir: default_download_dir(),
            port: DEFAULT_TCP_PORT,
            interfaces: Vec::new(),
            udp_port: crate::discovery::DEFAULT_UDP_PORT,
            trusted_devices: Vec::new(),
            remembered_devices: Vec::new(),
            trust_new: false,
            pin: None,
            manual_peers: Vec::new(),
            accept_from_anywhere: false,
            theme: Theme::System,
            share_port: 0,
            language: None,
            localsend: true,
            localsend_port: crate::localsend::DEFAULT_PORT,
        }
    }
}

impl Settings {
    /// Every device known by key: the remembered ones and the trusted
    /// (pinned) ones, which were confirmed when they were trusted.
    pub fn known_devices(&self) -> Vec<TrustedDevice> {
        let mut known = self.remembered_devices.clone();
        for device in &self.trusted_devices {
            crate::api::remember_in(&mut known, device.clone());
        }
        known
    }

    /// Adds a device the engine reported as remembered; false if its key
    /// already was.
    pub fn remember(&mut self, device: TrustedDevice) -> bool {
        crate::api::remember_in(&mut self.remembered_devices, device)
    }
}

/// Turns LocalSend off when set to `0`, `off` or `false`.
pub const LOCALSEND_ENV: &str = "FERRY_LOCALSEND";

/// Overrides LocalSend's port (HTTPS and multicast); `0` lets the system
/// pick the HTTPS port (tests).
pub const LOCALSEND_PORT_ENV: &str = "FERRY_LOCALSEND_PORT";

/// LocalSend's configuration from the settings and the environment, or
/// `None` when it is off. `headless` for the CLI.
pub fn localsend_config(
    settings: &Settings,
    headless: bool,
) -> Option<crate::localsend::LocalSendConfig> {
    let off = std::env::var(LOCALSEND_ENV).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "off" | "false"
        )
    });
    if off || !settings.localsend {
        return None;
    }
    let port = std::env::var(LOCALSEND_PORT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u16>().ok())
        .unwrap_or(settings.localsend_port);
    Some(crate::localsend::LocalSendConfig {
        port,
        multicast_port: if port == 0 {
            crate::localsend::DEFAULT_PORT
        } else {
            port
        },
        headless,
        ..Default::default()
    })
}

/// The host name, or "Ferry device" when it cannot be read.
pub fn default_alias() -> String {
    let from_env = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty());
    let from_file = || {
        fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
    };
    let name = from_env.or_else(from_file).filter(|h| !h.is_empty());
    let mut alias = name.unwrap_or_else(|| "Ferry device".to_string());
    // Aliases are limited on the wire; cut at a character boundary.
    while alias.len() > crate::protocol::limits::MAX_ALIAS_BYTES {
        alias.pop();
    }
    alias
}

/// The name to take when another device announces ours (issue 16, item 8):
/// `None` unless `current` is still `default` (the host name — the person
/// never chose a name) and `seen` is the same name; then the host name with
/// the first four characters of our own device id ("ubuntu-1a2b"). The
/// suffix comes from our key, so it is the same on every start and differs
/// between the two devices even when both rename at once.
pub fn alias_after_clash(current: &str, default: &str, seen: &str, own_id: &str) -> Option<String> {
    let clashes = current == default && seen.trim().to_lowercase() == current.trim().to_lowercase();
    let suffix: String = own_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(4)
        .collect::<String>()
        .to_ascii_lowercase();
    if !clashes || suffix.is_empty() {
        return None;
    }
    let mut base = current.trim().to_string();
    while base.len() + 1 + suffix.len() > crate::protocol::limits::MAX_ALIAS_BYTES {
        base.pop();
    }
    Some(format!("{base}-{suffix}"))
}

/// The user's Downloads folder, else the home folder, else the current one.
pub fn default_download_dir() -> PathBuf {
    let dirs = directories::UserDirs::new();
    dirs.as_ref()
        .and_then(|d| d.download_dir().map(Path::to_path_buf))
        .or_else(|| dirs.as_ref().map(|d| d.home_dir().join("Downloads")))
        .unwrap_or_else(|| PathBuf::from("."))
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("org", "Ferry", "ferry")
}

/// Folder for settings and identity.
pub fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV) {
        return PathBuf::from(dir);
    }
    project_dirs()
        .map(|p| p.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".ferry"))
}

/// Folder for history and logs.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV) {
        return PathBuf::from(dir);
    }
    project_dirs()
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".ferry"))
}

/// The connection timers: the protocol's defaults, each replaced by its
/// `FERRY_*_MS` environment variable when that is set to a number.
pub fn timeouts_from_env() -> crate::protocol::Timeouts {
    let mut timeouts = crate::protocol::Timeouts::default();
    for (var, slot) in [
        (HANDSHAKE_TIMEOUT_ENV, &mut timeouts.handshake),
        (PING_INTERVAL_ENV, &mut timeouts.ping),
        (IDLE_TIMEOUT_ENV, &mut timeouts.idle),
        (PROMPT_TIMEOUT_ENV, &mut timeouts.prompt),
    ] {
        let Some(raw) = std::env::var_os(var) else {
            continue;
        };
        match raw.to_str().and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(ms) => *slot = std::time::Duration::from_millis(ms),
            None => tracing::warn!("ignoring {var}={raw:?}: not a number of milliseconds"),
        }
    }
    timeouts.sanitized()
}

/// Saves a settings-like file (settings, history): creates its folder when
/// missing (owner-only: settings may hold the PIN, history names every file
/// received), then replaces the file atomically and owner-only, so a crash
/// never leaves a half-written one and nobody else can read it.
pub fn save_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        crate::fs::private::private_dir(parent)?;
    }
    crate::fs::write_atomic(path, bytes, Some(crate::fs::private::PRIVATE_FILE_MODE))
}

/// Closes Ferry's folder `dir` and the file `name` in it to everyone but
/// their owner if they were left open (an older Ferry, a copy, a umask),
/// with a warning in the log. Called when a file is loaded.
fn keep_private(dir: &Path, name: &str) {
    if dir.exists() {
        match crate::fs::private::private_dir(dir) {
            Ok(true) => {
                tracing::warn!("{} was open to others; it is owner-only now", dir.display())
            }
            Ok(false) => {}
            Err(e) => tracing::warn!("cannot make {} owner-only: {e}", dir.display()),
        }
    }
    let path = dir.join(name);
    match crate::fs::private::close_file(&path) {
        Ok(true) => tracing::warn!(
            "{} was readable by others; it is owner-only now",
            path.display()
        ),
        Ok(false) => {}
        Err(e) => tracing::warn!("cannot make {} owner-only: {e}", path.display()),
    }
}

impl Settings {
    /// The settings file inside `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join("settings.json")
    }

    /// Loads settings from `dir`; a missing file gives defaults, a damaged one
    /// gives defaults and a warning.
    pub fn load(dir: &Path) -> Settings {
        keep_private(dir, "settings.json");
        let path = Settings::path_in(dir);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("ignoring damaged settings file {}: {e}", path.display());
                Settings::default()
            }),
            Err(_) => Settings::default(),
        }
    }

    /// Saves settings into `dir`.
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        save_file(&Settings::path_in(dir), &bytes)
    }
}

/// This device's identity (key and certificate), created on first use in `dir`.
pub fn identity(dir: &Path) -> Result<Identity, IdentityError> {
    Identity::load_or_create(dir)
}

/// This device's id: the fingerprint of the identity stored in `dir`.
pub fn device_id(dir: &Path) -> Result<String, IdentityError> {
    Ok(identity(dir)?.device_id().to_string())
}

/// The operating system family as carried on the wire.
pub fn os_name() -> String {
    std::env::consts::OS.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (#14, finding 8): settings.json, which holds the PIN, was
    /// written 0644 into a 0755 folder.
    #[cfg(unix)]
    #[test]
    fn settings_holding_the_pin_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("config");
        let settings = Settings {
            pin: Some("493021".into()),
            ..Settings::default()
        };
        settings.save(&dir).expect("save");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&Settings::path_in(&dir)), 0o600);
        // A file and folder left open (an older Ferry) are closed on load.
        fs::set_permissions(Settings::path_in(&dir), fs::Permissions::from_mode(0o644))
            .expect("chmod");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(Settings::load(&dir).pin.as_deref(), Some("493021"));
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&Settings::path_in(&dir)), 0o600);
    }

    #[test]
    fn settings_round_trip_and_survive_damage() {
        let dir = tempfile::tempdir().expect("tmp");
        let settings = Settings {
            alias: "desk".into(),
            trusted_devices: vec![TrustedDevice {
                device_id: "abc".into(),
                alias: "laptop".into(),
            }],
            remembered_devices: vec![TrustedDevice {
                device_id: "def".into(),
                alias: "phone".into(),
            }],
            pin: Some("1234".into()),
            ..Settings::default()
        };
        assert_eq!(settings.known_devices().len(), 2);
        settings.save(dir.path()).expect("save");
        assert_eq!(Settings::load(dir.path()), settings);
        fs::write(Settings::path_in(dir.path()), b"{not json").expect("write");
        assert_eq!(Settings::load(dir.path()), Settings::default());
    }

    #[test]
    fn device_id_is_stable() {
        let dir = tempfile::tempdir().expect("tmp");
        let first = device_id(dir.path()).expect("id");
        assert_eq!(first.len(), 64);
        assert_eq!(device_id(dir.path()).expect("id"), first);
    }

    /// Issue 16, item 8: only a name nobody chose changes, once, to a
    /// suffix of our own id; a chosen name or another name stays.
    #[test]
    fn a_default_alias_takes_a_suffix_of_our_id_on_a_clash() {
        let id = "1A2B3C4D5E6F";
        assert_eq!(
            alias_after_clash("ubuntu", "ubuntu", "Ubuntu", id).as_deref(),
            Some("ubuntu-1a2b")
        );
        assert_eq!(alias_after_clash("ubuntu", "ubuntu", "debian", id), None);
        assert_eq!(alias_after_clash("Studio", "ubuntu", "Studio", id), None);
        assert_eq!(
            alias_after_clash("ubuntu-1a2b", "ubuntu", "ubuntu-1a2b", id),
            None
        );
        assert_eq!(alias_after_clash("ubuntu", "ubuntu", "ubuntu", ""), None);
        let long = "é".repeat(crate::protocol::limits::MAX_ALIAS_BYTES / 2);
        let renamed = alias_after_clash(&long, &long, &long, id).expect("renamed");
        assert!(renamed.len() <= crate::protocol::limits::MAX_ALIAS_BYTES);
        assert!(renamed.ends_with("-1a2b"));
    }
}
