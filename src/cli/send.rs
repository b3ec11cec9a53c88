//! `ferry send`: offer files, folders or a text to one device, show progress,
//! and exit 0 only when the receiver verified every file.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;

use super::{EXIT_OK, terminal};
use crate::config;
use crate::engine::{AcceptPolicy, Command, Engine, EngineConfig, Event, ReceiveSettings};
use crate::identity::{Identity, short_code};
use crate::protocol::{DEFAULT_TCP_PORT, DeviceInfo};
use crate::transfer::{Direction, TransferId};

/// Arguments of `ferry send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The receiver: HOST, HOST:PORT or IP:PORT (default port 47813).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub to: String,
    /// Send this text message instead of (or besides) files.
    #[arg(long)]
    pub text: Option<String>,
    /// The receiver's PIN, if it asks for one.
    #[arg(long)]
    pub pin: Option<String>,
    /// Files and folders to send.
    #[arg(value_name = "PATH", required_unless_present = "text")]
    pub paths: Vec<PathBuf>,
}

/// Turns "host", "host:port", "1.2.3.4:5" or "[::1]:5" into an address.
pub fn resolve_address(target: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = target.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let with_port = if target
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        target.to_string()
    } else {
        format!("{target}:{DEFAULT_TCP_PORT}")
    };
    let mut addrs = with_port
        .to_socket_addrs()
        .with_context(|| format!("cannot find a device called {target:?}"))?;
    match addrs.next() {
        Some(addr) => Ok(addr),
        None => bail!("cannot find a device called {target:?}"),
    }
}

/// This device's settings, identity and description, from the config folder.
pub fn local_device() -> anyhow::Result<(config::Settings, Arc<Identity>, DeviceInfo)> {
    let dir = config::config_dir();
    let settings = config::Settings::load(&dir);
    let identity = Arc::new(config::identity(&dir)?);
    let device = DeviceInfo {
        device_id: identity.device_id().to_string(),
        alias: settings.alias.clone(),
        os: config::os_name(),
        port: 0,
    };
    Ok((settings, identity, device))
}

/// Runs `ferry send`.
pub fn run(args: SendArgs) -> anyhow::Result<i32> {
    let to = resolve_address(&args.to)?;
    let (_, identity, device) = local_device()?;
    let engine = Engine::start(
        EngineConfig {
            device,
            identity,
            listen: None,
            receive: ReceiveSettings {
                download_dir: PathBuf::from("."),
                accept: AcceptPolicy::Ask,
                pin: None,
            },
            discovery: None,
        },
        Arc::new(|| {}),
    )?;
    if let Some(pin) = args.pin {
        engine.send(Command::ProvidePin { to, pin });
    }
    let mut pending = Vec::new();
    if let Some(text) = args.text {
        let id = TransferId::fresh();
        engine.send(Command::SendText { id, to, text });
        pending.push(id);
    }
    if !args.paths.is_empty() {
        let id = TransferId::fresh();
        engine.send(Command::Send {
            id,
            to,
            paths: args.paths,
        });
        pending.push(id);
    }
    {
        // Ctrl-C cancels cleanly, so the receiver learns it was a cancel.
        let commands = engine.commands().clone();
        let ids = pending.clone();
        let _ = ctrlc::set_handler(move || {
            for &id in &ids {
                let _ = commands.send(Command::Cancel { id });
            }
        });
    }
    let mut exit = EXIT_OK;
    let mut bar = None;
    while !pending.is_empty() {
        let Ok(event) = engine.events().recv() else {
            break;
        };
        match event {
            Event::Offered {
                to, offer, peer_id, ..
            } => {
                eprintln!(
                    "Offered {} file(s), {} to {to} (device {}); waiting for it to accept...",
                    offer.files,
                    crate::transfer::progress::human_bytes(offer.total_bytes),
                    short_code(&peer_id)
                );
            }
            Event::Started {
                bytes,
                resumed_bytes,
                ..
            } => {
                if resumed_bytes > 0 {
                    eprintln!(
                        "Resuming: {} already there.",
                        crate::transfer::progress::human_bytes(resumed_bytes)
                    );
                }
                bar = Some(terminal::byte_bar(bytes));
            }
            Event::Progress(report) => {
                if let Some(bar) = &bar {
                    terminal::update(bar, &report);
                }
            }
            Event::Finished { id, outcome, .. } => {
                pending.retain(|p| *p != id);
                if let Some(bar) = bar.take() {
                    bar.finish_and_clear();
                }
                exit = exit.max(terminal::report_outcome(&outcome, Direction::Outgoing));
            }
            _ => {}
        }
    }
    Ok(exit)
}
