//! `ferry send`: offer files, folders or a text to one device, show progress,
//! and exit 0 only when the receiver verified every file. The receiver is an
//! address, or a name found by a short discovery listen (alias or device id
//! prefix; two devices answering to the name is an error listing both).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use clap::Args;

use super::{EXIT_OK, NetOptions, terminal};
use crate::api::Device;
use crate::api::{Command, Event};
use crate::api::{Direction, TransferId};
use crate::config;
use crate::discovery::{self, DiscoveryConfig, Peer};
use crate::engine::{Engine, EngineConfig};
use crate::secure::identity::{Identity, short_code};

/// Longest wait for a device name to show up.
pub const NAME_WAIT: Duration = Duration::from_secs(2);

/// After a name first matches, how long to keep listening for a second
/// device with the same name (answers to our query arrive together).
const NAME_SETTLE: Duration = Duration::from_millis(300);

/// Arguments of `ferry send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The receiver: a device name seen on the network (its alias, or the
    /// start of its device id), or HOST, HOST:PORT, IP:PORT (default port 47813).
    #[arg(long, value_name = "NAME|HOST[:PORT]")]
    pub to: String,
    /// Send this text message instead of (or besides) files.
    #[arg(long)]
    pub text: Option<String>,
    /// The receiver's PIN, if it asks for one.
    #[arg(long)]
    pub pin: Option<String>,
    /// Send to a device never confirmed before without comparing the
    /// pairing code (trust on first use). A device whose name is remembered
    /// with another key is still asked about.
    #[arg(long)]
    pub trust_new: bool,
    /// Send over LocalSend's protocol to the LocalSend device at --to
    /// (HOST[:PORT], default port 53317), asked by address (for when
    /// multicast does not reach it, and for tests).
    #[arg(long)]
    pub localsend: bool,
    /// Files and folders to send.
    #[arg(value_name = "PATH", required_unless_present = "text")]
    pub paths: Vec<PathBuf>,
}

use crate::config::{direct_address, resolve_address};

/// What a name lookup found.
#[derive(Debug, Clone, Default)]
pub struct NameSearch {
    /// Devices answering to the name, by device id.
    pub found: Vec<Peer>,
    /// Every device seen meanwhile, by alias.
    pub seen: Vec<Peer>,
}

/// Listens on `engine`'s discovery for up to [`NAME_WAIT`] for devices
/// called `name`, returning as soon as the answers settle after a match.
pub fn find_by_name(engine: &Engine, name: &str) -> NameSearch {
    let deadline = Instant::now() + NAME_WAIT;
    let mut seen: HashMap<String, Peer> = HashMap::new();
    let mut matched_at: Option<Instant> = None;
    loop {
        let until = matched_at.map_or(deadline, |t| deadline.min(t + NAME_SETTLE));
        match engine.events().recv_deadline(until) {
            Ok(Event::PeerSeen(peer)) => {
                seen.insert(peer.device.device_id.clone(), peer);
                if matched_at.is_none() && !discovery::find_by_name(seen.values(), name).is_empty()
                {
                    matched_at = Some(Instant::now());
                }
            }
            Ok(Event::PeerGone { device_id }) => {
                seen.remove(&device_id);
            }
            Ok(Event::Problem(problem)) => note!("ferry: {problem}"),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let mut found: Vec<Peer> = discovery::find_by_name(seen.values(), name)
        .into_iter()
        .cloned()
        .collect();
    found.sort_by(|a, b| a.device.device_id.cmp(&b.device.device_id));
    let mut seen: Vec<Peer> = seen.into_values().collect();
    seen.sort_by(|a, b| a.device.alias.cmp(&b.device.alias));
    NameSearch { found, seen }
}

/// One line per candidate: alias, device id, address.
pub fn describe_candidates(peers: &[Peer]) -> String {
    peers
        .iter()
        .map(|p| {
            let addr = p
                .addrs
                .first()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "no address".into());
            format!(
                "  {} (device id {}) at {addr}",
                p.device.alias, p.device.device_id
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Turns the devices found for `name` into the one address to send to.
pub fn choose(name: &str, found: &[Peer]) -> anyhow::Result<SocketAddr> {
    match found {
        [one] => one
            .addrs
            .first()
            .copied()
            .ok_or_else(|| anyhow!("{name:?} was found but gave no address")),
        [] => bail!("no device called {name:?} was found"),
        many => bail!(
            "{} devices answer to {name:?}; name one by the start of its device id \
             (--to ID) or use its address:\n{}",
            many.len(),
            describe_candidates(many)
        ),
    }
}

/// This device's settings, identity and description, from the config folder.
pub fn local_device() -> anyhow::Result<(config::Settings, Arc<Identity>, Device)> {
    let dir = config::config_dir();
    let settings = config::Settings::load(&dir);
    let identity = Arc::new(config::identity(&dir)?);
    let device = Device {
        device_id: identity.device_id().to_string(),
        alias: settings.alias.clone(),
        os: config::os_name(),
        port: 0,
    };
    Ok((settings, identity, device))
}

/// An engine that accepts nothing: for sending, and with `discovery` for
/// looking at the network (it queries, and is never listed by others).
pub fn send_only_engine(
    identity: Arc<Identity>,
    device: Device,
    discovery: Option<DiscoveryConfig>,
) -> anyhow::Result<Engine> {
    Ok(Engine::start(
        EngineConfig::send_only(device, identity, discovery),
        Arc::new(|| {}),
    )?)
}

/// How long a LocalSend device asked by address has to answer.
const LOCALSEND_WAIT: Duration = Duration::from_secs(6);

/// `--localsend`: asks the device at `to` over LocalSend and returns its
/// address once it is known (its certificate is what the send insists on).
fn localsend_target(engine: &Engine, to: &str) -> anyhow::Result<SocketAddr> {
    let with_port = if to.parse::<SocketAddr>().is_ok()
        || to
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        to.to_string()
    } else {
        format!("{to}:{}", crate::localsend::DEFAULT_PORT)
    };
    let addr = resolve_address(&with_port)?;
    if !engine.send(Command::AddLocalSendPeer { addr }) {
        bail!("the engine stopped");
    }
    let deadline = Instant::now() + LOCALSEND_WAIT;
    while !engine.localsend_knows(addr) {
        match engine
            .events()
            .recv_deadline(deadline.min(Instant::now() + Duration::from_millis(20)))
        {
            Ok(Event::Problem(problem)) => bail!("{problem}"),
            Ok(_) => {}
            Err(_) if Instant::now() >= deadline => {
                bail!(
                    "the LocalSend device at {addr} did not answer in time (is LocalSend on here?)"
                )
            }
            Err(_) => {}
        }
    }
    note!("Found a LocalSend device at {addr}.");
    Ok(addr)
}

/// Runs `ferry send`.
pub fn run(args: SendArgs, net: &NetOptions) -> anyhow::Result<i32> {
    let direct = if args.localsend {
        None
    } else {
        direct_address(&args.to).transpose()?
    };
    let (settings, identity, device) = local_device()?;
    // Only a bare name needs discovery; an address never beacons.
    let discovery = match direct {
        Some(_) => None,
        None => Some(crate::config::discovery_config(net, &settings, &[])?),
    };
    let mut config = EngineConfig::send_only(device, identity, discovery);
    config.receive.remembered = settings.known_devices();
    config.receive.trust_new = args.trust_new || settings.trust_new;
    let engine = Engine::start(config, Arc::new(|| {}))?;
    let to = match direct {
        _ if args.localsend => localsend_target(&engine, &args.to)?,
        Some(addr) => addr,
        None => {
            let NameSearch { found, seen } = find_by_name(&engine, &args.to);
            if found.is_empty() {
                // Not a device on the network: perhaps a host name.
                resolve_address(&args.to).map_err(|_| {
                    let seen = if seen.is_empty() {
                        "no Ferry device answered (see `ferry doctor`)".to_string()
                    } else {
                        format!("devices seen:\n{}", describe_candidates(&seen))
                    };
                    anyhow!(
                        "no device called {:?} was found on the network; {seen}",
                        args.to
                    )
                })?
            } else {
                let addr = choose(&args.to, &found)?;
                note!("Found {:?} at {addr}.", args.to);
                addr
            }
        }
    };
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
    Ok(follow(&engine, pending))
}

/// Follows the transfers in `pending` to their ends: asks about pairing
/// codes, remembers confirmed devices, shows progress; the exit code.
fn follow(engine: &Engine, mut pending: Vec<TransferId>) -> i32 {
    let mut exit = EXIT_OK;
    let mut bar = None;
    let mut confirmed_keys = std::collections::HashSet::new();
    let mut pauses = terminal::PauseLines::default();
    // The "Counting the files..." (or, to a LocalSend device, "Reading the
    // files ... for their checksums") line, until the next step of the send.
    let mut counting: Option<indicatif::ProgressBar> = None;
    while !pending.is_empty() {
        let Ok(event) = engine.events().recv() else {
            break;
        };
        if !matches!(event, Event::Counting { .. } | Event::Checksumming { .. })
            && let Some(line) = counting.take()
        {
            line.finish_and_clear();
        }
        match event {
            Event::ConfirmPeer {
                id,
                to,
                device,
                code,
                key_changed,
                localsend,
            } if !confirmed_keys.contains(&device.device_id) => {
                let confirmed = if localsend {
                    confirm_localsend(&device, to, &code, key_changed)
                } else {
                    confirm_peer(&device, to, &code, key_changed)
                };
                if confirmed {
                    confirmed_keys.insert(device.device_id.clone());
                }
                engine.send(Command::ConfirmPeer { id, confirmed });
            }
            // A text and files go over two connections: once this key is
            // confirmed for one, the engine lets the other go too.
            Event::ConfirmPeer { .. } => {}
            Event::Remembered(device) => {
                confirmed_keys.insert(device.device_id.clone());
                persist_remembered(device);
            }
            Event::Offered {
                id,
                to,
                offer,
                peer_id,
                code,
            } => {
                pauses.name(id, format!("the receiver at {to}"));
                note!(
                    "Offered {}, {} to {to} (device {}, pairing code {code}); waiting for \
                     it to accept...",
                    crate::api::count(offer.files, "file", "files"),
                    crate::api::human_bytes(offer.total_bytes),
                    short_code(&peer_id)
                );
            }
            Event::Started {
                bytes,
                resumed_bytes,
                ..
            } => {
                if resumed_bytes > 0 {
                    note!(
                        "Resuming: {} already there.",
                        crate::api::human_bytes(resumed_bytes)
                    );
                }
                bar = Some(terminal::byte_bar(bytes));
            }
            Event::Counting { files, bytes, .. } => {
                let line = counting.get_or_insert_with(terminal::counting_line);
                terminal::update_count(line, files, bytes);
            }
            Event::Checksumming {
                files,
                bytes,
                total_files,
                total_bytes,
                ..
            } => {
                let line = counting.get_or_insert_with(terminal::counting_line);
                terminal::update_checksums(line, (files, total_files), (bytes, total_bytes));
            }
            Event::Progress(report) => {
                if let Some(bar) = &bar {
                    terminal::update(bar, &report);
                }
            }
            Event::PauseChanged { id, pause } => pauses.show(bar.as_ref(), id, pause),
            Event::Finished { id, outcome, .. } => {
                pauses.forget(id);
                pending.retain(|p| *p != id);
                if let Some(bar) = bar.take() {
                    bar.finish_and_clear();
                }
                exit = exit.max(terminal::report_outcome(&outcome, Direction::Outgoing));
            }
            _ => {}
        }
    }
    exit
}

/// Asks the person whether the receiver shows `code`: on a terminal, y/N;
/// without one the answer is no, with a sentence saying how to go on.
fn confirm_peer(device: &Device, to: SocketAddr, code: &str, key_changed: bool) -> bool {
    use std::io::IsTerminal;
    if key_changed {
        note!(
            "ferry: {}",
            super::receive::key_changed_warning(&device.alias)
        );
    }
    note!(
        "{} ({to}, device {}) has not been confirmed on this computer. Its pairing code is {code}.",
        device.alias,
        short_code(&device.device_id)
    );
    if !std::io::stdin().is_terminal() {
        let how = if key_changed {
            "run `ferry send` on a terminal and compare the code with a person at that device"
        } else {
            "run `ferry send` on a terminal to compare the code, or pass --trust-new to send to \
             devices never seen before without comparing"
        };
        note!("ferry: nothing was sent: there is no terminal to confirm the code on; {how}.");
        return false;
    }
    super::receive::ask_yes_no(&format!("Does {} show the code {code}?", device.alias))
}

/// Asks whether to send to a LocalSend device never confirmed here (or
/// whose certificate changed): it has no pairing code to compare, so the
/// question is whether this device is expected, with its fingerprint.
fn confirm_localsend(device: &Device, to: SocketAddr, fingerprint: &str, changed: bool) -> bool {
    use std::io::IsTerminal;
    if changed {
        note!(
            "ferry: warning: {} is remembered here with another certificate. LocalSend may have \
             been reinstalled on it, or another device is using its name.",
            device.alias
        );
    }
    note!(
        "{} ({to}) is a LocalSend device not confirmed on this computer; its certificate \
         fingerprint is {fingerprint}. LocalSend shows no pairing code, so nothing can be compared.",
        device.alias
    );
    if !std::io::stdin().is_terminal() {
        let how = if changed {
            "run `ferry send` on a terminal once you know why its certificate changed"
        } else {
            "run `ferry send` on a terminal to confirm it, or pass --trust-new to send to devices \
             never seen before"
        };
        note!("ferry: nothing was sent: there is no terminal to confirm on; {how}.");
        return false;
    }
    super::receive::ask_yes_no(&format!(
        "Send to {} and remember its certificate?",
        device.alias
    ))
}

/// Adds a device the engine remembered to the settings file, so the next
/// send to it needs no confirmation. A failure is said, never fatal.
pub(super) fn persist_remembered(device: crate::api::TrustedDevice) {
    let dir = config::config_dir();
    let mut settings = config::Settings::load(&dir);
    if settings.remember(device)
        && let Err(e) = settings.save(&dir)
    {
        note!("ferry: could not remember the device in the settings: {e}");
    }
}
