//! The browser share as an engine service: starts and stops the one
//! [`ShareServer`] on [`Command::StartShare`] / [`Command::StopShare`],
//! passes consent ([`Command::DecideUpload`]) to it, and reports
//! [`Event::ShareStarted`], [`Event::ShareFailed`] and [`Event::ShareStopped`]
//! (the server itself reports [`Event::Share`] through the engine's sink).
//!
//! Why a tokio runtime: the share server speaks HTTP with hyper, which needs
//! an async executor. The engine is the only owner of runtimes, so the
//! runtime lives here, not in `http` and not in the window or the CLI. It is
//! built when a share starts and shut down when it stops, so a send-only or
//! receive-only process never pays for its threads or memory.
//!
//! Starting walks the shared folders and binds a port, and stopping waits up
//! to a few seconds for connections to end, so both run on named threads of
//! their own: this module must never block the engine's command loop.
//! [`Command::Measure`] walks folders too, on its own named thread.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::api::{Event, EventSink, ShareRequest, ShareStarted, SharedSummary, TransferId};
use crate::http::{
    ItemKind, MAX_SHARE_CONNECTIONS, ShareConfig, ShareError, ShareServer, SharedItem,
    interface_addresses, lan_ipv4,
};
use crate::protocol::EntryKind;

/// A share that serves, with the runtime it runs on.
struct Running {
    server: ShareServer,
    runtime: tokio::runtime::Runtime,
}

impl Running {
    /// Cuts every connection, then ends the runtime's threads.
    fn stop(self) {
        self.server.stop();
        self.runtime.shutdown_timeout(Duration::from_secs(2));
    }
}

/// Where the share stands.
#[derive(Default)]
enum Slot {
    /// Nothing shared.
    #[default]
    Idle,
    /// A start thread is at work; `cancelled` when a stop came meanwhile.
    Starting { cancelled: bool },
    /// Serving.
    Running(Running),
}

/// The engine's share service; lives in the command loop.
pub(super) struct ShareService {
    sink: EventSink,
    slot: Arc<Mutex<Slot>>,
}

impl ShareService {
    pub(super) fn new(sink: EventSink) -> Self {
        ShareService {
            sink,
            slot: Arc::default(),
        }
    }

    pub(super) fn start(&self, request: ShareRequest) {
        {
            let Ok(mut slot) = self.slot.lock() else {
                return;
            };
            if !matches!(*slot, Slot::Idle) {
                self.sink.emit(Event::ShareFailed(
                    "Sharing could not start: a share is already running.".into(),
                ));
                return;
            }
            *slot = Slot::Starting { cancelled: false };
        }
        let (sink, slot) = (self.sink.clone(), self.slot.clone());
        let spawned = thread::Builder::new()
            .name("ferry-share-start".into())
            .spawn(move || {
                let result = start_blocking(request, sink.clone());
                settle(&slot, &sink, result);
            });
        if let Err(e) = spawned {
            if let Ok(mut slot) = self.slot.lock() {
                *slot = Slot::Idle;
            }
            self.sink
                .emit(Event::ShareFailed(format!("Sharing could not start: {e}.")));
        }
    }

    pub(super) fn stop(&self) {
        let running = {
            let Ok(mut slot) = self.slot.lock() else {
                return;
            };
            match std::mem::take(&mut *slot) {
                Slot::Running(running) => running,
                Slot::Starting { .. } => {
                    // The start thread stops what it started and says so.
                    *slot = Slot::Starting { cancelled: true };
                    return;
                }
                Slot::Idle => {
                    self.sink.emit(Event::ShareStopped);
                    return;
                }
            }
        };
        let sink = self.sink.clone();
        let stopper = thread::Builder::new()
            .name("ferry-share-stop".into())
            .spawn(move || {
                running.stop();
                sink.emit(Event::ShareStopped);
            });
        if let Err(e) = stopper {
            tracing::warn!("cannot start a thread to stop the share: {e}");
        }
    }

    pub(super) fn decide(&self, id: TransferId, accept: bool) {
        if let Ok(slot) = self.slot.lock()
            && let Slot::Running(running) = &*slot
        {
            // Non-blocking: hands the answer to the waiting request.
            running.server.decide_upload(id, accept);
        }
    }

    pub(super) fn measure(&self, paths: Vec<PathBuf>) {
        let sink = self.sink.clone();
        let spawned = thread::Builder::new()
            .name("ferry-measure".into())
            .spawn(move || {
                for path in paths {
                    let size = measure(&path);
                    sink.emit(Event::Measured { path, size });
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start a thread to measure: {e}");
        }
    }

    /// On engine shutdown: stops a running share and waits for it.
    pub(super) fn shutdown(&self) {
        let running = match self.slot.lock() {
            Ok(mut slot) => match std::mem::take(&mut *slot) {
                Slot::Running(running) => Some(running),
                Slot::Starting { .. } => {
                    *slot = Slot::Starting { cancelled: true };
                    None
                }
                Slot::Idle => None,
            },
            Err(_) => None,
        };
        if let Some(running) = running {
            running.stop();
        }
    }
}

/// Records what a start thread achieved and reports it.
fn settle(slot: &Mutex<Slot>, sink: &EventSink, result: Result<(Running, ShareStarted), String>) {
    let Ok(mut guard) = slot.lock() else {
        return;
    };
    let cancelled = matches!(*guard, Slot::Starting { cancelled: true });
    match result {
        Ok((running, _)) if cancelled => {
            *guard = Slot::Idle;
            drop(guard);
            running.stop();
            sink.emit(Event::ShareStopped);
        }
        Ok((running, started)) => {
            *guard = Slot::Running(running);
            drop(guard);
            sink.emit(Event::ShareStarted(Box::new(started)));
        }
        Err(sentence) => {
            *guard = Slot::Idle;
            drop(guard);
            sink.emit(Event::ShareFailed(sentence));
        }
    }
}

/// The runtime the share server runs on: two workers for the connections,
/// and room for a blocking file task per connection.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(2 * MAX_SHARE_CONNECTIONS + 8)
        .thread_name("ferry-http")
        .enable_io()
        .enable_time()
        .build()
}

/// Builds the runtime, lists the items, binds and starts the server; a port
/// that is taken falls back to a free one when the request allows it.
fn start_blocking(
    request: ShareRequest,
    sink: EventSink,
) -> Result<(Running, ShareStarted), String> {
    let sentence = |e: ShareError| format!("Sharing could not start: {e}.");
    let runtime = runtime().map_err(|e| sentence(ShareError::Start(e)))?;
    let (bind, also_listen, url_host, no_lan_address) = where_to_listen(&request)?;
    let mut config = ShareConfig {
        items: request.items,
        bind,
        also_listen,
        uploads: request.uploads,
        download_dir: request.download_dir,
        max_upload_bytes: request.max_upload_bytes,
        device_name: request.device_name,
        texts: request.texts,
        approve_visitors: request.approve_visitors,
        url_host,
    };
    let mut port_taken = None;
    let server = match ShareServer::start(config.clone(), runtime.handle(), sink.clone()) {
        Ok(server) => server,
        Err(ShareError::Bind { .. }) if request.any_port_if_taken && config.bind.port() != 0 => {
            port_taken = Some(config.bind.port());
            config.bind.set_port(0);
            ShareServer::start(config, runtime.handle(), sink).map_err(sentence)?
        }
        Err(e) => return Err(sentence(e)),
    };
    let started = ShareStarted {
        url: server.url().to_string(),
        local_url: server.local_url(),
        local_addr: server.local_addr(),
        token: server.token().to_string(),
        items: server.items().iter().map(summary).collect(),
        uploads: server.upload_policy(),
        download_dir: server.download_dir().to_path_buf(),
        port_taken,
        no_lan_address,
    };
    Ok((Running { server, runtime }, started))
}

/// Where a share listens and which address its link names. An explicit
/// address is used as given. Without one (a wildcard), the share listens
/// only where Ferry is configured to be reachable: on the addresses of the
/// chosen interfaces (`--interfaces`, `FERRY_INTERFACES`, the settings),
/// the link naming the first IPv4 one; with no interface chosen, on every
/// address, the link naming this machine's LAN address.
fn where_to_listen(
    request: &ShareRequest,
) -> Result<(SocketAddr, Vec<IpAddr>, Option<IpAddr>, bool), String> {
    if !request.bind.ip().is_unspecified() {
        return Ok((request.bind, Vec::new(), None, false));
    }
    let chosen: Vec<String> = request
        .interfaces
        .iter()
        .flatten()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    if chosen.is_empty() {
        let host = lan_ipv4(None).map(IpAddr::V4);
        return Ok((request.bind, Vec::new(), host, host.is_none()));
    }
    let addresses = interface_addresses(&chosen);
    let Some((first, rest)) = addresses.split_first() else {
        return Err(format!(
            "Sharing could not start: the network interface{} {} {} no address.",
            if chosen.len() == 1 { "" } else { "s" },
            chosen.join(", "),
            if chosen.len() == 1 { "has" } else { "have" },
        ));
    };
    let bind = SocketAddr::new(*first, request.bind.port());
    // The link: an address a phone can reach, so loopback only when nothing else is chosen.
    let host = addresses
        .iter()
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
        .or_else(|| addresses.iter().find(|ip| !ip.is_loopback()))
        .unwrap_or(first);
    Ok((bind, rest.to_vec(), Some(*host), host.is_loopback()))
}

fn summary(item: &SharedItem) -> SharedSummary {
    SharedSummary {
        name: item.name.clone(),
        folder_files: match item.kind {
            ItemKind::File => None,
            ItemKind::Folder { files } => Some(files),
        },
        bytes: item.bytes,
    }
}

/// Bytes and files under `path`, as an offer would count them.
fn measure(path: &std::path::Path) -> Result<(u64, u64), String> {
    let entries =
        crate::transfer::send::source::collect(&[path.to_path_buf()]).map_err(|e| e.to_string())?;
    let files = entries.iter().filter(|e| e.entry.kind == EntryKind::File);
    Ok(files.fold((0, 0), |(bytes, n), e| {
        (bytes.saturating_add(e.entry.size), n + 1)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measuring_counts_files_in_folders() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("a"), b"abc").expect("write");
        std::fs::write(dir.path().join("sub/b"), b"de").expect("write");
        assert_eq!(measure(dir.path()), Ok((5, 2)));
        assert!(measure(&dir.path().join("missing")).is_err());
    }
}
