//! `ferry share`: serve files and folders to any browser on the network,
//! print the link and its QR code, and report downloads and uploads until
//! Ctrl-C. The server runs in an engine started with no listener and no
//! discovery ([`Command::StartShare`], [`Event::Share`]); this file only
//! parses arguments, sends commands and prints. It must not start the
//! server or a runtime itself.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use crossbeam_channel::{bounded, select};

use super::EXIT_OK;
use crate::api::{
    Command, Device, Event, ShareEvent, ShareRequest, ShareStarted, UploadPolicy, human_bytes,
};
use crate::config;
use crate::engine::Engine;
use crate::http::{DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_SHARE_PORT, qr_terminal};
use crate::secure::identity::Identity;

/// Arguments of `ferry share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// Files and folders to share.
    #[arg(value_name = "PATH", required_unless_present = "text")]
    pub paths: Vec<PathBuf>,
    /// A text the page shows for visitors to copy (a Wi-Fi password, a
    /// link); may be given more than once.
    #[arg(long, value_name = "TEXT")]
    pub text: Vec<String>,
    /// Port to listen on (default 47814; 0 picks a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on (default: the addresses of the interfaces Ferry
    /// is set to use, from --interfaces, FERRY_INTERFACES or the settings;
    /// with none set, 0.0.0.0: every network).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
    /// Let browsers upload files into the download folder, and send text
    /// messages, without asking each time.
    #[arg(long)]
    pub allow_upload: bool,
    /// Folder uploads are saved in (default: the settings' download folder).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Largest upload accepted, in MiB (default 4096).
    #[arg(long, value_name = "MIB")]
    pub max_upload_mib: Option<u64>,
    /// Do not print the QR code.
    #[arg(long)]
    pub no_qr: bool,
    /// Ask here (y/N on standard input) before each new device may use the
    /// link, naming its browser and address.
    #[arg(long)]
    pub approve_visitors: bool,
}

/// Runs `ferry share` until Ctrl-C.
pub fn run(args: ShareArgs, interfaces: Option<Vec<String>>) -> anyhow::Result<i32> {
    let settings = config::Settings::load(&config::config_dir());
    let engine = share_engine(&settings.alias)?;
    let upload = if args.allow_upload {
        UploadPolicy::Allow
    } else {
        UploadPolicy::Off
    };
    // An explicit address wins (0.0.0.0: every network); without one, the
    // engine listens on the chosen interfaces' addresses.
    let interfaces = match args.bind {
        Some(_) => Vec::new(),
        None => config::chosen_interfaces(interfaces.as_deref(), &settings),
    };
    let bind_ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    engine.send(Command::StartShare(ShareRequest {
        items: args.paths,
        bind: SocketAddr::new(bind_ip, args.port.unwrap_or(DEFAULT_SHARE_PORT)),
        any_port_if_taken: false,
        uploads: upload,
        download_dir: args.dir.unwrap_or(settings.download_dir),
        max_upload_bytes: args.max_upload_mib.map_or(DEFAULT_MAX_UPLOAD_BYTES, |mib| {
            mib.saturating_mul(1024 * 1024)
        }),
        interfaces: Some(interfaces),
        device_name: settings.alias,
        texts: args.text,
        approve_visitors: args.approve_visitors,
    }));
    let started = wait_started(&engine)?;

    let total = started
        .items
        .iter()
        .map(|i| i.bytes)
        .fold(0, u64::saturating_add);
    say!(
        "Sharing {}, {}. Open this link on a phone or computer on the same network:",
        crate::api::count(
            u64::try_from(started.items.len()).unwrap_or(u64::MAX),
            "item",
            "items"
        ),
        human_bytes(total)
    );
    say!();
    say!("  {}", started.url);
    say!();
    if !args.no_qr
        && let Some(qr) = qr_terminal(&started.url, std::io::stdout().is_terminal())
    {
        say!("{qr}");
    }
    if started.no_lan_address {
        say!("(No network address found: only this computer can open the link.)");
    }
    let uploads = match upload {
        UploadPolicy::Off => "Uploads are off (use --allow-upload to accept files).".to_string(),
        _ => format!(
            "Uploads are on: files go to {}.",
            started.download_dir.display()
        ),
    };
    say!("{uploads} Anyone with the link can use it. Press Ctrl-C to stop.");

    let (stop_tx, stop) = bounded::<()>(1);
    let _ = ctrlc::set_handler(move || {
        let _ = stop_tx.try_send(());
    });
    let mut names: HashMap<crate::api::TransferId, String> = HashMap::new();
    // Visitors waiting for an answer, oldest first; each line typed answers one.
    let mut waiting: std::collections::VecDeque<crate::api::TransferId> = Default::default();
    let answers = if args.approve_visitors {
        read_answers()?
    } else {
        crossbeam_channel::never()
    };
    let closed = crossbeam_channel::never();
    let mut stdin_open = true;
    loop {
        select! {
            recv(stop) -> _ => break,
            recv(if stdin_open { &answers } else { &closed }) -> line => match (line, waiting.pop_front()) {
                (Ok(line), Some(id)) => {
                    let accept = matches!(line.trim(), "y" | "Y" | "yes" | "Yes");
                    engine.send(Command::DecideUpload { id, accept });
                    say!("{}", if accept { "Let in." } else { "Kept out." });
                    if !waiting.is_empty() {
                        say!("Next device: let it in? [y/N]");
                    }
                }
                (Ok(_), None) => {}
                // Standard input closed: no more answers (prompts time out).
                (Err(_), id) => {
                    if let Some(id) = id {
                        waiting.push_front(id);
                    }
                    stdin_open = false;
                }
            },
            recv(engine.events()) -> event => match event {
                Ok(Event::Share(ShareEvent::VisitorRequest { id, from, browser })) => {
                    say!(
                        "{browser} at {} wants to open the page. Let it in? [y/N]",
                        from.ip().to_canonical()
                    );
                    waiting.push_back(id);
                }
                Ok(Event::Share(event)) => report(event, &mut names),
                // A message typed on the page (texts need uploads on).
                Ok(Event::TextReceived { from, text, .. }) => {
                    say!("Message from {}: {text}", from.alias);
                }
                Ok(_) => {}
                Err(_) => break,
            },
        }
    }
    engine.send(Command::StopShare);
    wait_stopped(&engine);
    engine.shutdown();
    say!("Stopped sharing.");
    Ok(EXIT_OK)
}

/// An engine that only shares: no transfer listener, no discovery, and a
/// throw-away identity (a share proves nothing with it).
fn share_engine(alias: &str) -> anyhow::Result<Engine> {
    let identity = Arc::new(Identity::ephemeral()?);
    let device = Device {
        device_id: identity.device_id().to_string(),
        alias: alias.to_string(),
        os: config::os_name(),
        port: 0,
    };
    super::send::send_only_engine(identity, device, None)
}

/// Lines typed on standard input, read on a thread of their own (reading
/// blocks) into a small channel; it closes when standard input does.
fn read_answers() -> anyhow::Result<crossbeam_channel::Receiver<String>> {
    let (tx, rx) = bounded(4);
    std::thread::Builder::new()
        .name("ferry-share-answers".into())
        .spawn(move || {
            for line in std::io::stdin().lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        })?;
    Ok(rx)
}

/// Waits for the engine's answer to the start command.
fn wait_started(engine: &Engine) -> anyhow::Result<ShareStarted> {
    loop {
        match engine.events().recv() {
            Ok(Event::ShareStarted(started)) => return Ok(*started),
            Ok(Event::ShareFailed(sentence)) => {
                // The engine says "Sharing could not start: WHY."; the CLI
                // has always said "cannot start sharing: WHY".
                let why = sentence
                    .strip_prefix("Sharing could not start: ")
                    .map(|why| why.strip_suffix('.').unwrap_or(why))
                    .unwrap_or(&sentence);
                anyhow::bail!("cannot start sharing: {why}");
            }
            Ok(_) => {}
            Err(_) => anyhow::bail!("cannot start sharing: the engine stopped"),
        }
    }
}

/// Waits (a few seconds at most) until the share's port is closed.
fn wait_stopped(engine: &Engine) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match engine.events().recv_timeout(left) {
            Ok(Event::ShareStopped) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Prints one event as a line on stderr.
fn report(event: ShareEvent, names: &mut HashMap<crate::api::TransferId, String>) {
    match event {
        ShareEvent::DownloadStarted { id, from, name, .. } => {
            note!("{}: downloading {name}", from.ip());
            names.insert(id, name);
        }
        ShareEvent::DownloadFinished { id, result } => {
            let name = names.remove(&id).unwrap_or_default();
            match result {
                Ok(bytes) => note!("Sent {name} ({})", human_bytes(bytes)),
                Err(why) => note!("Download of {name} stopped: {why}"),
            }
        }
        ShareEvent::UploadStarted { from, size, .. } => {
            let size = size
                .map(|s| format!(" ({})", human_bytes(s)))
                .unwrap_or_default();
            note!("{}: uploading{size}", from.ip());
        }
        ShareEvent::UploadSaved { path, .. } => note!("Saved {}", path.display()),
        ShareEvent::UploadFinished {
            result: Err(why), ..
        } => {
            note!("Upload failed: {why}")
        }
        ShareEvent::UploadRequest { .. }
        | ShareEvent::VisitorRequest { .. }
        | ShareEvent::UploadProgress { .. }
        | ShareEvent::DownloadProgress { .. }
        | ShareEvent::UploadFinished { .. } => {}
    }
}
