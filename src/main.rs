//! The `ferry` binary: parse the command line, start logging, then open the
//! window (no subcommand) or run a headless command. All work is in the library.

// A release build on Windows is a GUI program: no console window opens when it
// is double-clicked. The CLI then prints nothing in a terminal; see
// packaging/windows/README.md for the trade-off.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use clap::Parser;
use ferry::cli::{Cli, EXIT_FAILED};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let net = cli.net();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Some(command) => ferry::cli::run(command, net),
        None => ferry::app::run(cli.files, net).map(|()| ferry::cli::EXIT_OK),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            // One readable sentence with its causes, never a Debug dump.
            eprintln!("ferry: {e:#}");
            ExitCode::from(EXIT_FAILED as u8)
        }
    }
}
