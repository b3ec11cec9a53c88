//! How the window runs the browser share: what the person asked for in the
//! share window and on upload prompts ([`ShareAction`]), the helper jobs
//! that start and stop the [`ShareServer`], and folding their results into
//! [`super::state::UiState`]. The server runs on its own threads; the UI
//! thread only calls its non-blocking methods (`url`, `items`,
//! `decide_upload`) and drains its bounded event channel in `logic`, within
//! the same time budget as engine events.
//!
//! Starting runs on a helper thread: listing the shared items walks folders
//! on disk (a large folder takes a while) and binding asks the system.
//! Stopping does too: it waits up to two seconds for the server's threads.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crossbeam_channel::{Receiver, Sender};

use super::share_qr::QrTexture;
use super::share_state::{ShareInfo, SharePhase, SharedEntry};
use super::state::TrayItem;
use super::tasks::{TaskResult, Tasks};
use super::{FerryApp, now_ms};
use crate::api::TransferId;
use crate::api::Waker;
use crate::http::{
    DEFAULT_MAX_UPLOAD_BYTES, ShareConfig, ShareError, ShareEvent, ShareServer, UploadPolicy,
    lan_ipv4,
};

/// Something the person asked for about the browser share.
#[derive(Debug, Clone, PartialEq)]
pub enum ShareAction {
    /// Show the share window (filled with the tray's items when empty).
    Open,
    /// Add the tray's items to what will be shared.
    UseTray,
    /// Take one item out of what will be shared.
    Remove(PathBuf),
    /// Choose who may upload to the next share.
    SetUploads(UploadPolicy),
    /// Start sharing the chosen items (a new server, so a new link).
    Start,
    /// Stop sharing: the port closes and the link stops working.
    Stop,
    /// Answer a browser's upload request.
    Decide {
        /// Which request.
        id: TransferId,
        /// Accept or decline.
        accept: bool,
    },
}

/// Room in the share server's event channel.
const SHARE_EVENTS: usize = 1024;

/// The window's side of the browser share: the running server (if any), the
/// channel every share reports on (ids are unique per process, so one
/// channel serves one share after another), where shares listen, and the
/// QR code of the running share's link.
pub(super) struct ShareRuntime {
    /// The running server. Dropped with the app at exit, which waits up to
    /// 2 s for its threads so that partial uploads are removed.
    server: Option<ShareServer>,
    events: (Sender<ShareEvent>, Receiver<ShareEvent>),
    bind_ip: IpAddr,
    /// A port instead of the settings' one (tests: `Some(0)`).
    port: Option<u16>,
    /// The QR code's texture, made by the view.
    pub(super) qr: Option<QrTexture>,
}

impl ShareRuntime {
    /// Nothing shared yet; shares will listen on `bind_ip`.
    pub(super) fn new(bind_ip: IpAddr, port: Option<u16>) -> Self {
        ShareRuntime {
            server: None,
            events: crossbeam_channel::bounded(SHARE_EVENTS),
            bind_ip,
            port,
            qr: None,
        }
    }

    /// Events of the share servers, drained by `logic`.
    pub(super) fn events(&self) -> &Receiver<ShareEvent> {
        &self.events.1
    }
}

/// A share server that a helper thread started.
pub struct StartedShare {
    server: ShareServer,
    note: Option<String>,
}

impl fmt::Debug for StartedShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartedShare")
            .field("url", &self.server.url())
            .field("note", &self.note)
            .finish()
    }
}

impl Tasks {
    /// Starts a share server; `interfaces` rank the addresses for the link
    /// when `config` binds every interface.
    pub fn start_share(
        &self,
        config: ShareConfig,
        interfaces: Option<Vec<String>>,
        events: Sender<ShareEvent>,
        waker: Waker,
    ) {
        self.spawn("ferry-share-start", move || {
            Some(TaskResult::ShareStarted(start_blocking(
                config, interfaces, events, waker,
            )))
        });
    }

    /// Stops a share server and reports when its port is closed.
    pub fn stop_share(&self, server: ShareServer) {
        self.spawn("ferry-share-stop", move || {
            server.stop();
            Some(TaskResult::ShareStopped)
        });
    }
}

/// Binds and starts the server; a configured port that is taken falls back
/// to a free one (with a note saying so).
fn start_blocking(
    mut config: ShareConfig,
    interfaces: Option<Vec<String>>,
    events: Sender<ShareEvent>,
    waker: Waker,
) -> Result<StartedShare, String> {
    let mut notes = Vec::new();
    if config.bind.ip().is_unspecified() {
        config.url_host = lan_ipv4(interfaces.as_deref()).map(IpAddr::V4);
        if config.url_host.is_none() {
            notes.push(
                "No network address was found: only this computer can open the link.".to_string(),
            );
        }
    }
    let sentence = |e: ShareError| format!("Sharing could not start: {e}.");
    let server = match ShareServer::start(config.clone(), events.clone(), waker.clone()) {
        Ok(server) => server,
        Err(ShareError::Bind { .. }) if config.bind.port() != 0 => {
            let wanted = config.bind.port();
            config.bind.set_port(0);
            let server = ShareServer::start(config, events, waker).map_err(sentence)?;
            notes.insert(
                0,
                format!(
                    "Port {wanted} is in use, so this share uses port {}.",
                    server.local_addr().port()
                ),
            );
            server
        }
        Err(e) => return Err(sentence(e)),
    };
    Ok(StartedShare {
        server,
        note: (!notes.is_empty()).then(|| notes.join(" ")),
    })
}

impl FerryApp {
    /// The running browser share's server, for tests and inspection.
    pub fn share_server(&self) -> Option<&ShareServer> {
        self.share.server.as_ref()
    }

    /// The texture of the share link's QR code, once drawn.
    pub fn share_qr_texture(&self) -> Option<&egui::TextureHandle> {
        self.share.qr.as_ref().map(QrTexture::texture)
    }

    /// Carries out one share action.
    pub(super) fn handle_share(&mut self, action: ShareAction) {
        let share = &mut self.state.share;
        match action {
            ShareAction::Open => {
                self.view.share_open = true;
                if share.phase == SharePhase::Idle && share.draft.is_empty() {
                    self.handle_share(ShareAction::UseTray);
                }
            }
            ShareAction::UseTray => {
                let tray = self.state.tray.clone();
                let unmeasured = self.state.share.add_to_draft(tray);
                self.tasks.measure(unmeasured);
            }
            ShareAction::Remove(path) => share.draft.retain(|d| d.path != path),
            ShareAction::SetUploads(policy) => share.uploads = policy,
            ShareAction::Start => self.start_share(),
            ShareAction::Stop => {
                if let Some(server) = self.share.server.take() {
                    // Whatever is still open ends now, in the window's words;
                    // the server's own last events for it are then ignored.
                    let effects = self.state.share_ended(now_ms());
                    self.effects(effects);
                    self.state.share.phase = SharePhase::Stopping;
                    self.tasks.stop_share(server);
                }
            }
            ShareAction::Decide { id, accept } => {
                if let Some(server) = &self.share.server {
                    // Non-blocking: hands the answer to the waiting request.
                    server.decide_upload(id, accept);
                }
                let download_dir = self.settings.download_dir.clone();
                let effects = self.state.answer_upload(id, accept, download_dir, now_ms());
                self.effects(effects);
            }
        }
    }

    fn start_share(&mut self) {
        let share = &mut self.state.share;
        if share.phase != SharePhase::Idle || share.draft.is_empty() {
            return;
        }
        share.problem = None;
        share.phase = SharePhase::Starting;
        let port = self.share.port.unwrap_or(self.settings.share_port);
        let config = ShareConfig {
            items: share.draft.iter().map(|d| d.path.clone()).collect(),
            bind: SocketAddr::new(self.share.bind_ip, port),
            uploads: share.uploads,
            download_dir: self.settings.download_dir.clone(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            device_name: self.settings.alias.clone(),
            url_host: None,
        };
        let interfaces = self.net.interfaces.clone().or_else(|| {
            (!self.settings.interfaces.is_empty()).then(|| self.settings.interfaces.clone())
        });
        self.tasks.start_share(
            config,
            interfaces,
            self.share.events.0.clone(),
            self.waker.clone(),
        );
    }

    /// Files or a folder were picked for the share.
    pub(super) fn share_picked(&mut self, paths: Vec<PathBuf>) {
        let items = paths.into_iter().map(|path| TrayItem { path, size: None });
        let unmeasured = self.state.share.add_to_draft(items);
        self.tasks.measure(unmeasured);
    }

    /// A helper measured an item; the share's draft may list it too.
    pub(super) fn share_measured(
        &mut self,
        path: &std::path::Path,
        size: &Result<(u64, u64), String>,
    ) {
        for item in self.state.share.draft.iter_mut().filter(|d| d.path == path) {
            item.size = Some(size.clone());
        }
    }

    /// The start job finished.
    pub(super) fn share_started(&mut self, result: Result<StartedShare, String>) {
        let share = &mut self.state.share;
        match result {
            Ok(started) if share.phase == SharePhase::Starting => {
                let server = started.server;
                share.phase = SharePhase::Sharing(ShareInfo {
                    url: server.url().to_string(),
                    items: server.items().iter().map(SharedEntry::from).collect(),
                    uploads: server.upload_policy(),
                    download_dir: server.download_dir().to_path_buf(),
                    note: started.note,
                });
                share.draft.clear();
                // The list is of this share's downloads.
                share.downloads.clear();
                self.share.server = Some(server);
            }
            // Nothing asked for it any more: let it go again.
            Ok(started) => self.tasks.stop_share(started.server),
            Err(sentence) => {
                share.phase = SharePhase::Idle;
                share.problem = Some(sentence.clone());
                if !self.view.share_open {
                    // The window that would say it is closed.
                    self.state.notice(sentence);
                }
            }
        }
    }

    /// The stop job finished: the port is closed.
    pub(super) fn share_stopped(&mut self) {
        if self.state.share.phase == SharePhase::Stopping {
            self.state.share.phase = SharePhase::Idle;
        }
    }
}
