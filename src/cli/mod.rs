//! The headless face of Ferry: `ferry send`, `ferry receive` and friends, on
//! the same [`Engine`](crate::engine::Engine) as the window. This module
//! parses arguments, prints progress to the terminal and turns outcomes into
//! exit codes; it holds no transfer logic of its own.

/// `println!` that never panics: a closed standard output (`ferry receive |
/// head -3`, a terminal gone) must not end a transfer or a share that others
/// depend on. Every line the headless commands print goes through it.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that never panics, for the same reason.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod doctor;
pub mod peers;
pub mod receive;
pub mod send;
pub mod share;
pub mod terminal;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use crate::config::NetOptions;

/// Exit code: everything verified.
pub const EXIT_OK: i32 = 0;
/// Exit code: the transfer failed (unreachable, mismatch, lost connection...).
pub const EXIT_FAILED: i32 = 1;
/// Exit code: bad usage (clap's own code).
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the receiver declined.
pub const EXIT_DECLINED: i32 = 3;
/// Exit code: cancelled by either side.
pub const EXIT_CANCELLED: i32 = 4;

/// Ferry moves files between computers on the same network.
///
/// Run without a command to open the window (files given are ready to send).
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without one, the window opens.
    #[command(subcommand)]
    pub command: Option<Commands>,

    /// Files or folders to put in the window's "to send" tray.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Network interfaces for discovery, comma-separated (e.g. "lo" or "eth0,wlan0").
    /// Also FERRY_INTERFACES. Default: every suitable IPv4 interface.
    #[arg(long, global = true, value_delimiter = ',', env = "FERRY_INTERFACES")]
    pub interfaces: Option<Vec<String>>,

    /// UDP port for discovery beacons; every device must use the same one.
    /// Also FERRY_UDP_PORT. Default: the settings file's, else 47812.
    #[arg(long, global = true, value_name = "PORT", env = "FERRY_UDP_PORT")]
    pub udp_port: Option<u16>,
}

impl Cli {
    /// The network options every command shares.
    pub fn net(&self) -> NetOptions {
        NetOptions {
            interfaces: self.interfaces.clone(),
            udp_port: self.udp_port,
        }
    }
}

/// A `--wait SECS` value as a duration (negative or absurd values: none).
pub fn seconds(secs: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or_default()
}

/// The headless commands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Send files, folders or a text message to another Ferry device.
    Send(send::SendArgs),
    /// Wait for transfers from other devices and save them.
    Receive(receive::ReceiveArgs),
    /// List the Ferry devices on the network.
    Peers(peers::PeersArgs),
    /// Explain why devices do or do not see each other.
    Doctor(doctor::DoctorArgs),
    /// Share files with any browser on the network (a web page with a QR code).
    Share(share::ShareArgs),
}

/// Runs a headless command and returns the process exit code.
pub fn run(command: Commands, net: NetOptions) -> anyhow::Result<i32> {
    match command {
        Commands::Send(args) => send::run(args, &net),
        Commands::Receive(args) => receive::run(args, &net),
        Commands::Peers(args) => peers::run(args, &net),
        Commands::Doctor(args) => doctor::run(args, &net),
        Commands::Share(args) => share::run(args, net.interfaces),
    }
}
