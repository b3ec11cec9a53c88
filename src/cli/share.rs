//! `ferry share`: serve files and folders to any browser on the network,
//! print the link and its QR code, and report downloads and uploads until
//! Ctrl-C. The server itself lives in [`crate::http`]; this file only parses
//! arguments and prints.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use crossbeam_channel::{bounded, select};

use super::EXIT_OK;
use crate::api::human_bytes;
use crate::config;
use crate::http::{
    DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_SHARE_PORT, ShareConfig, ShareEvent, ShareServer,
    UploadPolicy, lan_ipv4, qr_terminal,
};

/// Arguments of `ferry share`.
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// Files and folders to share.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Port to listen on (default 47814; 0 picks a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on (default 0.0.0.0: every network).
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub bind: IpAddr,
    /// Let browsers upload files into the download folder, without asking each time.
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
}

/// Runs `ferry share` until Ctrl-C.
pub fn run(args: ShareArgs, interfaces: Option<Vec<String>>) -> anyhow::Result<i32> {
    let settings = config::Settings::load(&config::config_dir());
    let url_host = if args.bind.is_unspecified() {
        lan_ipv4(interfaces.as_deref()).map(IpAddr::V4)
    } else {
        None
    };
    let (event_tx, events) = bounded(1024);
    let upload = if args.allow_upload {
        UploadPolicy::Allow
    } else {
        UploadPolicy::Off
    };
    let server = ShareServer::start(
        ShareConfig {
            items: args.paths,
            bind: SocketAddr::new(args.bind, args.port.unwrap_or(DEFAULT_SHARE_PORT)),
            uploads: upload,
            download_dir: args.dir.unwrap_or(settings.download_dir),
            max_upload_bytes: args.max_upload_mib.map_or(DEFAULT_MAX_UPLOAD_BYTES, |mib| {
                mib.saturating_mul(1024 * 1024)
            }),
            device_name: settings.alias,
            url_host,
        },
        event_tx,
        Arc::new(|| {}),
    )
    .context("cannot start sharing")?;

    let items = server.items();
    let total = items.iter().map(|i| i.bytes).fold(0, u64::saturating_add);
    println!(
        "Sharing {} item(s), {}. Open this link on a phone or computer on the same network:",
        items.len(),
        human_bytes(total)
    );
    println!();
    println!("  {}", server.url());
    println!();
    if !args.no_qr
        && let Some(qr) = qr_terminal(server.url(), std::io::stdout().is_terminal())
    {
        println!("{qr}");
    }
    if args.bind.is_unspecified() && url_host.is_none() {
        println!("(No network address found: only this computer can open the link.)");
    }
    let uploads = match upload {
        UploadPolicy::Off => "Uploads are off (use --allow-upload to accept files).".to_string(),
        _ => format!(
            "Uploads are on: files go to {}.",
            server.download_dir().display()
        ),
    };
    println!("{uploads} Anyone with the link can use it. Press Ctrl-C to stop.");

    let (stop_tx, stop) = bounded::<()>(1);
    let _ = ctrlc::set_handler(move || {
        let _ = stop_tx.try_send(());
    });
    let mut names: HashMap<crate::api::TransferId, String> = HashMap::new();
    loop {
        select! {
            recv(stop) -> _ => break,
            recv(events) -> event => match event {
                Ok(event) => report(event, &mut names),
                Err(_) => break,
            },
        }
    }
    server.stop();
    println!("Stopped sharing.");
    Ok(EXIT_OK)
}

/// Prints one event as a line on stderr.
fn report(event: ShareEvent, names: &mut HashMap<crate::api::TransferId, String>) {
    match event {
        ShareEvent::DownloadStarted { id, from, name, .. } => {
            eprintln!("{}: downloading {name}", from.ip());
            names.insert(id, name);
        }
        ShareEvent::DownloadFinished { id, result } => {
            let name = names.remove(&id).unwrap_or_default();
            match result {
                Ok(bytes) => eprintln!("Sent {name} ({})", human_bytes(bytes)),
                Err(why) => eprintln!("Download of {name} stopped: {why}"),
            }
        }
        ShareEvent::UploadStarted { from, size, .. } => {
            let size = size
                .map(|s| format!(" ({})", human_bytes(s)))
                .unwrap_or_default();
            eprintln!("{}: uploading{size}", from.ip());
        }
        ShareEvent::UploadSaved { path, .. } => eprintln!("Saved {}", path.display()),
        ShareEvent::UploadFinished {
            result: Err(why), ..
        } => {
            eprintln!("Upload failed: {why}")
        }
        ShareEvent::UploadRequest { .. }
        | ShareEvent::UploadProgress { .. }
        | ShareEvent::DownloadProgress { .. }
        | ShareEvent::UploadFinished { .. } => {}
    }
}
