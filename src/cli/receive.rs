//! `ferry receive`: accept transfers into a folder, asking y/N on the terminal
//! for each offer unless `--yes`, and print where each file landed. While it
//! runs it announces itself by discovery (on the interfaces set) and says
//! goodbye on Ctrl-C; devices appearing and leaving are noted on stderr.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use crossbeam_channel::{bounded, select};

use super::{EXIT_FAILED, EXIT_OK, NetOptions, terminal};
use crate::api::Direction;
use crate::api::human_bytes;
use crate::api::{AcceptPolicy, Command, Decision, Event, OfferSummary, ReceiveSettings};
use crate::api::{Device, ItemKind, TransferId};
use crate::engine::{Engine, EngineConfig};
use crate::secure::identity::short_code;

/// Arguments of `ferry receive`.
#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// Folder to save into (default: the settings' download folder, usually ~/Downloads).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// TCP port to listen on (default 47813; 0 picks a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Accept every offer without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Require senders to give this PIN (`ferry send --pin`).
    #[arg(long)]
    pub pin: Option<String>,
    /// Exit after the first transfer ends (exit code tells how it ended).
    #[arg(long)]
    pub once: bool,
    /// The name other devices see for this run (default: the settings' alias,
    /// usually the host name).
    #[arg(long, value_name = "NAME")]
    pub alias: Option<String>,
    /// Also list this device, found by address rather than broadcast
    /// (HOST[:PORT]; repeatable; adds to the settings' manual peers).
    #[arg(long = "peer", value_name = "HOST[:PORT]")]
    pub peers: Vec<String>,
    /// Do not announce this device or look for others (no UDP at all).
    #[arg(long)]
    pub no_discovery: bool,
}

/// Prints an offer the way a person can judge it, with the connection's
/// pairing code (the sender's screen shows the same one unless someone is
/// in the middle) and a warning when a remembered name comes with a new key.
pub fn print_offer(
    from: &Device,
    addr: SocketAddr,
    offer: &OfferSummary,
    code: &str,
    key_changed: bool,
) {
    if key_changed {
        say!("{}", key_changed_warning(&from.alias));
    }
    say!(
        "Incoming from {} ({addr}, {}), device {}, pairing code {code}:",
        from.alias,
        from.os,
        short_code(&from.device_id),
    );
    // The top-level items; a folder's size is what it holds.
    const SHOWN: usize = 10;
    let items: Vec<_> = offer
        .entries
        .iter()
        .filter(|e| !matches!(e.kind, ItemKind::Text(_)))
        .collect();
    for entry in items.iter().take(SHOWN) {
        let slash = if entry.kind == ItemKind::Directory {
            "/"
        } else {
            ""
        };
        say!(
            "  {}{slash}  ({})",
            entry.path.join("/"),
            human_bytes(entry.size)
        );
    }
    if items.len() > SHOWN {
        say!(
            "  ... and {} more",
            crate::api::count(
                u64::try_from(items.len() - SHOWN).unwrap_or(u64::MAX),
                "item",
                "items"
            )
        );
    }
    for text in &offer.texts {
        say!("  message: {text}");
    }
    let free = offer
        .free_bytes
        .map(|f| format!(", {} free here", human_bytes(f)))
        .unwrap_or_default();
    say!(
        "  {}, {}, {} in total{free}",
        crate::api::count(offer.files, "file", "files"),
        crate::api::count(offer.folders, "folder", "folders"),
        human_bytes(offer.total_bytes)
    );
}

/// The warning both ends print for a known name with an unknown key.
pub fn key_changed_warning(alias: &str) -> String {
    format!(
        "WARNING: {alias:?} is a device remembered here, but this one has another key. It may \
         have been reinstalled, or someone may be pretending to be it: compare the pairing code \
         with a person at that device before going on."
    )
}

pub(super) fn ask_yes_no(question: &str) -> bool {
    let _ = write!(std::io::stdout(), "{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => false,
        Ok(_) => matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"),
    }
}

/// Runs `ferry receive`: start the engine, say where it listens, then
/// follow its events until Ctrl-C (or, with `--once`, the first transfer's end).
pub fn run(args: ReceiveArgs, net: &NetOptions) -> anyhow::Result<i32> {
    // Ctrl-C, SIGTERM and SIGHUP end the loop; dropping the engine then says
    // goodbye to peers. Caught before the engine starts beaconing, so no
    // signal can kill a visible receiver without its goodbye.
    let (interrupt_tx, interrupted) = bounded::<()>(1);
    let _ = ctrlc::set_handler(move || {
        let _ = interrupt_tx.try_send(());
    });
    let engine = start_engine(&args, net)?;
    let mut session = Session {
        once: args.once,
        bar: None,
        peers: HashMap::new(),
        pauses: terminal::PauseLines::default(),
        listed: HashMap::new(),
    };
    loop {
        let event = select! {
            recv(engine.events()) -> event => match event {
                Ok(event) => event,
                Err(_) => break,
            },
            recv(interrupted) -> _ => {
                note!("ferry: stopping");
                return Ok(EXIT_OK);
            }
        };
        if let Some(code) = session.on_event(&engine, event) {
            return Ok(code);
        }
    }
    Ok(EXIT_FAILED)
}

/// Starts a receiving engine as the arguments and settings say, and prints
/// the line that says where it listens.
fn start_engine(args: &ReceiveArgs, net: &NetOptions) -> anyhow::Result<Engine> {
    let (settings, identity, mut device) = super::send::local_device()?;
    let download_dir = args.dir.clone().unwrap_or(settings.download_dir.clone());
    let accept = if args.yes {
        AcceptPolicy::Everyone
    } else {
        AcceptPolicy::Trusted(settings.trusted_devices.clone())
    };
    let port = args.port.unwrap_or(settings.port);
    let alias = args.alias.clone().unwrap_or(settings.alias.clone());
    let discovery = if args.no_discovery {
        None
    } else {
        Some(crate::config::discovery_config(
            net,
            &settings,
            &args.peers,
        )?)
    };
    device.alias = alias.clone();
    device.port = port;
    if let Some(pin) = args.pin.as_deref() {
        // A short PIN given now is refused; one already saved keeps working
        // (the window asks for a longer one when settings are next saved).
        crate::secure::pin::check_new_pin(pin).map_err(anyhow::Error::msg)?;
    }
    let pin = args
        .pin
        .clone()
        .or(settings.pin.clone())
        .filter(|p| !p.is_empty());
    let engine = Engine::start(
        EngineConfig {
            device,
            identity: identity.clone(),
            listen: Some(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))),
            receive: ReceiveSettings {
                download_dir: download_dir.clone(),
                accept,
                pin,
                accept_from_anywhere: settings.accept_from_anywhere,
                remembered: settings.known_devices(),
                trust_new: settings.trust_new,
            },
            discovery,
        },
        Arc::new(|| {}),
    )?;
    if let Some(addr) = engine.local_addr() {
        // Scripts read this line to learn the port when --port 0 is used.
        say!(
            "Listening on port {} as {:?}; saving to {}",
            addr.port(),
            alias,
            download_dir.display()
        );
        let _ = std::io::stdout().flush();
    }
    Ok(engine)
}

/// What the event loop remembers between events.
struct Session {
    /// Exit when the first transfer ends.
    once: bool,
    /// The running transfer's progress bar.
    bar: Option<indicatif::ProgressBar>,
    /// Peers seen, by device id, with their names (to say who left).
    peers: HashMap<String, String>,
    /// Who sends each transfer, to say who paused it.
    pauses: terminal::PauseLines,
    /// Files saved so far, by transfer (only the first are named).
    listed: HashMap<TransferId, u32>,
}

/// Files of one transfer named in a "Saved" line each.
const LISTED_FILES: u32 = 20;

impl Session {
    /// Lists a saved file: the first files by name, then the count at the
    /// end (a folder of a million files is not a million lines). False once
    /// no more are listed.
    fn saved(&mut self, id: TransferId, path: &std::path::Path) -> bool {
        let listed = self.listed.entry(id).or_default();
        *listed += 1;
        let line = match *listed {
            n if n <= LISTED_FILES => format!("Saved {}", path.display()),
            n if n == LISTED_FILES + 1 => {
                "Saving the other files without listing each one.".to_string()
            }
            _ => return false,
        };
        // Above a bar drawn on a terminal; to stdout otherwise (a hidden
        // bar's println prints nothing, and scripts read stdout).
        match &self.bar {
            Some(bar) if !bar.is_hidden() => bar.println(line),
            _ => say!("{line}"),
        }
        true
    }

    /// Prints (or asks about) one event. Returns the exit code once the
    /// command should end.
    fn on_event(&mut self, engine: &Engine, event: Event) -> Option<i32> {
        match event {
            Event::PeerSeen(peer) => self.peer_seen(engine, &peer),
            Event::PeerGone { device_id } => {
                let alias = self.peers.remove(&device_id).unwrap_or(device_id);
                note!("ferry: peer {alias:?} is gone");
            }
            Event::Incoming {
                id,
                from,
                addr,
                offer,
                code,
                key_changed,
            } => {
                self.pauses.name(id, from.alias.clone());
                print_offer(&from, addr, &offer, &code, key_changed);
                let decision = if ask_yes_no("Accept?") {
                    Decision::AcceptAll
                } else {
                    Decision::Decline
                };
                engine.send(Command::Decide { id, decision });
            }
            Event::Started {
                bytes,
                resumed_bytes,
                ..
            } => {
                if resumed_bytes > 0 {
                    say!("Resuming: {} already here.", human_bytes(resumed_bytes));
                }
                self.bar = Some(terminal::byte_bar(bytes));
            }
            Event::Progress(report) => {
                if let Some(bar) = &self.bar {
                    terminal::update(bar, &report);
                }
            }
            Event::FilesVerified { id, paths } => {
                for path in paths {
                    if !self.saved(id, &path) {
                        break;
                    }
                }
            }
            Event::TextReceived { from, text, .. } => {
                say!("Message from {}: {text}", from.alias)
            }
            Event::PairingCode {
                from, addr, code, ..
            } => say!(
                "{} ({addr}) is comparing pairing codes: this device's code is {code}.",
                from.alias
            ),
            Event::Remembered(device) => super::send::persist_remembered(device),
            Event::Problem(problem) => note!("ferry: {problem}"),
            Event::AutoAccepted { id, from, .. } => self.pauses.name(id, from.alias),
            Event::PauseChanged { id, pause } => self.pauses.show(self.bar.as_ref(), id, pause),
            Event::Finished {
                id,
                direction: Direction::Incoming,
                outcome,
            } => {
                self.pauses.forget(id);
                self.listed.remove(&id);
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let code = terminal::report_outcome(&outcome, Direction::Incoming);
                if self.once {
                    return Some(code);
                }
            }
            _ => {}
        }
        None
    }

    fn peer_seen(&mut self, engine: &Engine, peer: &crate::api::Peer) {
        // Another device with our name, while ours is the host name nobody
        // chose: take a suffix of our id for this run (issue 16, item 8).
        let own = engine.device();
        if peer.device.device_id != own.device_id
            && let Some(renamed) = crate::config::alias_after_clash(
                &own.alias,
                &crate::config::default_alias(),
                &peer.device.alias,
                &own.device_id,
            )
        {
            note!(
                "ferry: another device is also called {:?}, so this one is now called {renamed:?} \
                 (choose a name with --alias or in the window's Settings)",
                peer.device.alias
            );
            engine.send(Command::SetAlias(renamed));
        }
        let addr = peer
            .addrs
            .first()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let id = peer.device.device_id.clone();
        let verb = if self.peers.contains_key(&id) {
            "changed"
        } else {
            "appeared"
        };
        note!(
            "ferry: peer {:?} ({}) {verb} at {addr}",
            peer.device.alias,
            peer.device.os
        );
        self.peers.insert(id, peer.device.alias.clone());
    }
}
