//! How the window runs the browser share: what the person asked for in the
//! share window and on upload prompts ([`ShareAction`]), turning those into
//! the engine's share commands ([`Command::StartShare`], [`Command::StopShare`],
//! [`Command::DecideUpload`], which also answers visitors), and folding the engine's answers
//! ([`crate::api::Event::ShareStarted`] and friends) into
//! [`super::state::UiState`]. The server, its runtime and the walking of
//! shared folders belong to the engine: this module must not start threads,
//! open sockets or import the server; it only sends commands, which never
//! block the UI thread.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use super::share_qr::QrTexture;
use super::share_state::{ShareInfo, SharePhase};
use super::state::TrayItem;
use super::{FerryApp, now_ms};
use crate::api::{Command, ShareRequest, ShareStarted, TransferId, UploadPolicy};
use crate::http::DEFAULT_MAX_UPLOAD_BYTES;
use crate::i18n::tr;

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
    /// Ask (or not) before each new visitor opens the next share's page.
    SetApproveVisitors(bool),
    /// Add a text to the next share (a Wi-Fi password, a link).
    AddText(String),
    /// Take a text out of the next share, by its place in the list.
    RemoveText(usize),
    /// Answer a visitor waiting to open the page (the same command the CLI
    /// sends for its prompt).
    DecideVisitor {
        /// Which request.
        id: TransferId,
        /// Let in or keep out.
        accept: bool,
    },
    /// Answer a browser's upload request.
    Decide {
        /// Which request.
        id: TransferId,
        /// Accept or decline.
        accept: bool,
    },
}

/// The window's side of the browser share: where shares listen, the share
/// the engine reported running (if any) and the QR code of its link.
pub(super) struct ShareRuntime {
    /// The running share, as the engine reported it.
    started: Option<ShareStarted>,
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
            started: None,
            bind_ip,
            port,
            qr: None,
        }
    }
}

impl FerryApp {
    /// The running browser share as the engine reported it, for tests and
    /// inspection.
    pub fn sharing(&self) -> Option<&ShareStarted> {
        self.share.started.as_ref()
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
            ShareAction::SetApproveVisitors(on) => share.approve_visitors = on,
            ShareAction::AddText(text) => {
                share.add_text(&text);
            }
            ShareAction::RemoveText(index) => {
                if index < share.texts.len() {
                    share.texts.remove(index);
                }
            }
            ShareAction::DecideVisitor { id, accept } => {
                let before = share.visitors.len();
                share.visitors.retain(|v| v.id != id);
                if share.visitors.len() != before && self.share.started.is_some() {
                    self.send_command(Command::DecideUpload { id, accept });
                }
            }
            ShareAction::Start => self.start_share(),
            ShareAction::Stop => {
                if self.share.started.take().is_some() {
                    // Whatever is still open ends now, in the window's words;
                    // the server's own last events for it are then ignored.
                    let effects = self.state.share_ended(now_ms());
                    self.effects(effects);
                    self.state.share.phase = SharePhase::Stopping;
                    self.send_command(Command::StopShare);
                }
            }
            ShareAction::Decide { id, accept } => {
                if self.share.started.is_some() {
                    // The engine hands the answer to the waiting request.
                    self.send_command(Command::DecideUpload { id, accept });
                }
                let download_dir = self.settings.download_dir.clone();
                let effects = self.state.answer_upload(id, accept, download_dir, now_ms());
                self.effects(effects);
            }
        }
    }

    fn start_share(&mut self) {
        let share = &mut self.state.share;
        if share.phase != SharePhase::Idle || !share.ready() {
            return;
        }
        share.problem = None;
        share.phase = SharePhase::Starting;
        let port = self.share.port.unwrap_or(self.settings.share_port);
        let interfaces = self.net.interfaces.clone().or_else(|| {
            (!self.settings.interfaces.is_empty()).then(|| self.settings.interfaces.clone())
        });
        let request = ShareRequest {
            items: share.draft.iter().map(|d| d.path.clone()).collect(),
            bind: SocketAddr::new(self.share.bind_ip, port),
            any_port_if_taken: true,
            uploads: share.uploads,
            download_dir: self.settings.download_dir.clone(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            device_name: self.settings.alias.clone(),
            texts: share.texts.clone(),
            approve_visitors: share.approve_visitors,
            interfaces,
        };
        self.send_command(Command::StartShare(request));
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

    /// The engine started the share, or says why not.
    pub(super) fn share_started(&mut self, result: Result<ShareStarted, String>) {
        let share = &mut self.state.share;
        match result {
            Ok(started) if share.phase == SharePhase::Starting => {
                share.phase = SharePhase::Sharing(ShareInfo {
                    url: started.url.clone(),
                    items: started.items.clone(),
                    uploads: started.uploads,
                    download_dir: started.download_dir.clone(),
                    note: start_note(&started),
                    texts: std::mem::take(&mut share.texts),
                    approve_visitors: share.approve_visitors,
                });
                share.draft.clear();
                share.visitors.clear();
                // The list is of this share's downloads.
                share.downloads.clear();
                self.share.started = Some(started);
            }
            // Nothing asked for it any more: let it go again.
            Ok(_) => self.send_command(Command::StopShare),
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

/// What is worth knowing about how a share started: another port, or a
/// link only this computer can open.
fn start_note(started: &ShareStarted) -> Option<String> {
    let mut notes = Vec::new();
    if let Some(wanted) = started.port_taken {
        notes.push(tr!(
            "share-note-port-taken",
            wanted = wanted.to_string(),
            port = started.local_addr.port().to_string()
        ));
    }
    if started.no_lan_address {
        notes.push(tr!("share-note-no-lan-address"));
    }
    (!notes.is_empty()).then(|| notes.join(" "))
}
