//! What the person asked for, as data ([`Action`]), and how the window
//! carries it out: commands to the engine, jobs for helper threads, and
//! changes to UI state. Views only produce actions; this is the one place
//! that turns them into effects, after the frame is drawn.

use std::path::PathBuf;

use super::share_control::ShareAction;
use super::state::{DropTarget, Phase};
use super::tasks::{Pick, TaskResult};
use super::{AddPeerDialog, ComposeDialog, FerryApp, Tab, settings};
use crate::api::{Command, Decision, TrustedDevice};
use crate::api::{Direction, TransferId};
use crate::i18n::{self, tr};

/// Something the person asked for in the window.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Files were dropped on the window.
    Drop(Vec<PathBuf>),
    /// Select or unselect a peer (by device id).
    TogglePeer(String),
    /// Send everything in the tray to these peers, then empty the tray.
    SendTray(Vec<String>),
    /// Open a file or folder dialog.
    Pick(Pick),
    /// Take one item out of the tray.
    RemoveFromTray(PathBuf),
    /// Empty the tray.
    ClearTray,
    /// Open the "Add by address…" dialog.
    OpenAddPeer,
    /// Look up a typed address and probe it.
    AddPeer(String),
    /// Keep probing an address where nothing answered yet (listed as not answering).
    KeepTrying,
    /// Close "Add by address…" (and stop probing what it was trying).
    CancelAddPeer,
    /// Forget a device (by id): off the list, and no longer probed when it
    /// was added by address.
    ForgetPeer(String),
    /// Stop trying an address added by hand where nothing answered.
    ForgetAddress(String),
    /// Open the "Send text…" dialog for the selected peers (or all if none).
    OpenCompose,
    /// Send a message to these peers.
    SendText {
        /// Device ids.
        to: Vec<String>,
        /// The message.
        text: String,
    },
    /// Run the network check.
    RunDoctor,
    /// Look for LocalSend devices (announce and the bounded subnet scan).
    ScanLocalSend,
    /// Answer an incoming offer.
    Decide {
        /// Which offer.
        id: TransferId,
        /// Accept or decline.
        accept: bool,
        /// Also trust the sender from now on.
        trust: bool,
    },
    /// Answer a receiver's pairing code: the person saw it there, or not.
    ConfirmPeer {
        /// The waiting send.
        id: TransferId,
        /// The codes match.
        confirmed: bool,
    },
    /// Stop a transfer.
    Cancel(TransferId),
    /// Hold a running transfer.
    Pause(TransferId),
    /// Lift this device's pause of a transfer.
    Resume(TransferId),
    /// Send a failed or cancelled outgoing transfer again (it resumes).
    Retry(TransferId),
    /// Remove a finished row from the list (it stays in history).
    Dismiss(TransferId),
    /// Stop an incoming transfer and delete what arrived of the file in
    /// flight (a plain Cancel keeps it for a resume).
    CancelAndDiscard(TransferId),
    /// Stop waiting to resume a send by itself.
    StopResume(TransferId),
    /// Send every failed or cancelled outgoing transfer again.
    RetryAllFailed,
    /// Remove every finished row.
    ClearFinished,
    /// Open a folder in the file manager.
    OpenFolder(PathBuf),
    /// Show a file in the file manager.
    ShowFile(PathBuf),
    /// Put text on the clipboard.
    Copy(String),
    /// Hide a received message.
    DismissMessage(TransferId),
    /// Hide a notice.
    DismissNotice(usize),
    /// Answer a receiver's PIN request and send again.
    SubmitPin {
        /// The refused transfer.
        id: TransferId,
        /// The receiver.
        to: std::net::SocketAddr,
        /// The PIN.
        pin: String,
    },
    /// Close a PIN request without sending again.
    DismissPin(TransferId),
    /// Save the settings draft.
    SaveSettings,
    /// Stop trusting a device.
    Revoke(String),
    /// Stop remembering a device (its next send asks for the code again).
    Forget(String),
    /// Forget all history.
    ClearHistory,
    /// Something about the browser share.
    Share(ShareAction),
}

impl FerryApp {
    /// Carries out one action.
    pub fn handle(&mut self, action: Action) {
        match action {
            Action::Drop(paths) => self.drop_paths(paths),
            Action::TogglePeer(id) => {
                if let Some(peer) = self.state.peers.get_mut(&id) {
                    peer.selected = !peer.selected;
                }
            }
            Action::SendTray(ids) => self.send_tray(&ids),
            Action::Pick(purpose) => {
                self.view.dialog_open = true;
                self.tasks.pick(purpose);
            }
            Action::RemoveFromTray(path) => self.state.tray.retain(|t| t.path != path),
            Action::ClearTray => self.state.tray.clear(),
            Action::OpenAddPeer => self.view.add_peer = Some(AddPeerDialog::default()),
            Action::AddPeer(input) => self.add_peer(input.trim()),
            Action::KeepTrying => self.keep_trying(),
            Action::CancelAddPeer => self.cancel_add_peer(),
            Action::ForgetPeer(id) => self.forget_peer(&id),
            Action::ForgetAddress(typed) => self.forget_address(&typed),
            Action::OpenCompose => self.open_compose(),
            Action::SendText { to, text } => self.send_text(to, &text),
            Action::RunDoctor => self.run_network_check(),
            Action::ScanLocalSend => self.send_command(Command::ScanLocalSend),
            Action::Decide { id, accept, trust } => self.decide(id, accept, trust),
            Action::ConfirmPeer { id, confirmed } => {
                self.state.confirmations.retain(|c| c.id != id);
                self.send_command(Command::ConfirmPeer { id, confirmed });
            }
            Action::Cancel(id) => {
                if let Some(row) = self.state.row_mut(id) {
                    row.cancelling = true;
                }
                self.send_command(Command::Cancel { id });
            }
            Action::Pause(id) => self.send_command(Command::Pause { id }),
            Action::Resume(id) => self.send_command(Command::Resume { id }),
            Action::Retry(id) => self.retry(id),
            Action::Dismiss(id) => {
                self.stop_resume(id);
                self.state.transfers.retain(|r| r.id != id || r.is_active());
            }
            Action::ClearFinished => {
                let finished: Vec<TransferId> = self
                    .state
                    .transfers
                    .iter()
                    .filter(|r| !r.is_active())
                    .map(|r| r.id)
                    .collect();
                for id in finished {
                    self.stop_resume(id);
                }
                self.state.transfers.retain(|r| r.is_active());
            }
            Action::CancelAndDiscard(id) => {
                if let Some(row) = self.state.row_mut(id) {
                    row.cancelling = true;
                }
                self.send_command(Command::CancelAndDiscard { id });
            }
            Action::StopResume(id) => self.stop_resume(id),
            Action::RetryAllFailed => {
                let failed: Vec<TransferId> = self
                    .state
                    .transfers
                    .iter()
                    .filter(|r| r.retryable())
                    .map(|r| r.id)
                    .collect();
                for id in failed {
                    self.retry(id);
                }
            }
            Action::OpenFolder(path) => self.tasks.open(path),
            Action::ShowFile(path) => self.tasks.show_file(path),
            Action::Copy(text) => self.copy_requests.push(text),
            Action::DismissMessage(id) => self.state.messages.retain(|m| m.id != id),
            Action::DismissNotice(i) => {
                if i < self.state.notices.len() {
                    self.state.notices.remove(i);
                }
            }
            Action::SubmitPin { id, to, pin } => {
                self.dismiss_pin(id);
                self.send_command(Command::ProvidePin { to, pin });
                self.retry(id);
            }
            Action::DismissPin(id) => self.dismiss_pin(id),
            Action::SaveSettings => self.save_draft(),
            Action::Revoke(device_id) => self.revoke(&device_id),
            Action::Forget(device_id) => {
                self.settings
                    .remembered_devices
                    .retain(|d| d.device_id != device_id);
                self.save_settings();
                self.apply_receive_settings();
            }
            Action::ClearHistory => {
                self.state.history.clear();
                self.save_history();
            }
            Action::Share(action) => self.handle_share(action),
        }
    }

    /// Dropped paths go straight to the selected peers, or else wait in the tray.
    fn drop_paths(&mut self, paths: Vec<PathBuf>) {
        match self.state.drop_target() {
            DropTarget::Peers(ids) => self.send_paths(&ids, paths),
            DropTarget::Tray => {
                let added = self.state.add_to_tray(&paths);
                self.tasks.measure(added);
            }
        }
    }

    /// Sends everything in the tray to `ids`, emptying it.
    fn send_tray(&mut self, ids: &[String]) {
        let paths: Vec<PathBuf> = self.state.tray.drain(..).map(|t| t.path).collect();
        if !paths.is_empty() {
            self.send_paths(ids, paths);
        }
    }

    /// Drops a device from the list; when it was added by address, also from
    /// the saved addresses, and the engine stops probing it.
    fn forget_peer(&mut self, id: &str) {
        if let Some(peer) = self.state.peers.remove(id) {
            let typed: Vec<String> = self
                .settings
                .manual_peers
                .iter()
                .filter(|m| self.manual_addr(m).is_some_and(|a| peer.addrs.contains(&a)))
                .cloned()
                .collect();
            for entry in typed {
                self.forget_address(&entry);
            }
        }
    }

    /// Stops trying an address added by hand: no longer saved or probed.
    fn forget_address(&mut self, typed: &str) {
        if let Some(addr) = self.manual_addr(typed) {
            self.send_command(Command::ForgetPeer { addr });
        }
        self.view.resolved.retain(|(t, _)| t != typed);
        let before = self.settings.manual_peers.len();
        self.settings.manual_peers.retain(|m| m != typed);
        if self.settings.manual_peers.len() != before {
            self.save_settings();
        }
    }

    /// The address a saved entry stands for: itself when it is one, else
    /// what its name was found at.
    pub(super) fn manual_addr(&self, typed: &str) -> Option<std::net::SocketAddr> {
        typed.parse().ok().or_else(|| {
            self.view
                .resolved
                .iter()
                .find(|(t, _)| t == typed)
                .map(|(_, a)| *a)
        })
    }

    /// Saved addresses where no listed device answers (yet), for the Devices panel.
    pub(super) fn unanswered(&self) -> Vec<String> {
        self.settings
            .manual_peers
            .iter()
            .filter(|typed| {
                let addr = self.manual_addr(typed);
                !self
                    .state
                    .peers
                    .values()
                    .any(|p| addr.is_some_and(|a| p.addrs.contains(&a)))
            })
            .cloned()
            .collect()
    }

    fn open_compose(&mut self) {
        // The same devices a drop would go to are ticked to start with.
        let targets = match self.state.drop_target() {
            DropTarget::Peers(ids) => ids,
            DropTarget::Tray => Vec::new(),
        };
        self.view.compose = Some(ComposeDialog {
            text: String::new(),
            targets,
        });
    }

    /// One text transfer per chosen device that has an address.
    fn send_text(&mut self, to: Vec<String>, text: &str) {
        self.view.compose = None;
        for device_id in to {
            let Some(peer) = self.state.peers.get(&device_id) else {
                continue;
            };
            let (alias, addr) = (self.state.display_name(&device_id), peer.addr());
            let Some(addr) = addr else {
                self.state.notice(tr!("notice-no-address", name = alias));
                continue;
            };
            let id = TransferId::fresh();
            self.state.start_text(id, &alias, addr, text);
            self.send_command(Command::SendText {
                id,
                to: addr,
                text: text.to_string(),
            });
        }
        self.view.tab = Tab::Transfers;
    }

    fn dismiss_pin(&mut self, id: TransferId) {
        self.state.pin_requests.retain(|p| p.id != id);
        self.view.pin_input.clear();
    }

    /// Stops trusting a device: saved, and the engine told at once.
    fn revoke(&mut self, device_id: &str) {
        self.settings
            .trusted_devices
            .retain(|d| d.device_id != device_id);
        self.save_settings();
        self.apply_receive_settings();
    }

    /// Starts one outgoing transfer of `paths` per peer.
    fn send_paths(&mut self, device_ids: &[String], paths: Vec<PathBuf>) {
        for device_id in device_ids {
            let Some(peer) = self.state.peers.get(device_id) else {
                continue;
            };
            let (alias, addr) = (self.state.display_name(device_id), peer.addr());
            let Some(addr) = addr else {
                self.state.notice(tr!("notice-no-address", name = alias));
                continue;
            };
            let id = TransferId::fresh();
            self.state.start_outgoing(id, &alias, addr, paths.clone());
            if let Some(row) = self.state.row_mut(id) {
                row.peer_id = Some(device_id.clone());
            }
            self.send_command(Command::Send {
                id,
                to: addr,
                paths: paths.clone(),
            });
        }
        self.view.tab = Tab::Transfers;
    }

    fn decide(&mut self, id: TransferId, accept: bool, trust: bool) {
        let download_dir = self.settings.download_dir.clone();
        let Some(prompt) = self.state.answer(id, accept, download_dir) else {
            return;
        };
        let known = self
            .settings
            .trusted_devices
            .iter()
            .any(|d| d.device_id == prompt.from.device_id);
        if trust && !known {
            self.settings.trusted_devices.push(TrustedDevice {
                device_id: prompt.from.device_id.clone(),
                alias: prompt.from.alias.clone(),
            });
            self.save_settings();
            self.apply_receive_settings();
        }
        let decision = if accept {
            Decision::AcceptAll
        } else {
            Decision::Decline
        };
        self.send_command(Command::Decide { id, decision });
    }

    /// Sends a failed or cancelled outgoing transfer again to the same
    /// address; files resume from what the receiver kept.
    fn retry(&mut self, id: TransferId) {
        let Some(row) = self.state.transfers.iter().find(|r| r.id == id) else {
            return;
        };
        let done = matches!(row.phase, Phase::Finished(ref o) if o.is_success());
        if row.direction != Direction::Outgoing || row.is_active() || done {
            return;
        }
        let Some(addr) = row.addr else {
            let name = row.peer.clone();
            self.state.notice(tr!("notice-no-address", name = name));
            return;
        };
        let old = row.clone();
        // Sent now by hand: the engine must not resume the old one too.
        self.stop_resume(id);
        let new_id = TransferId::fresh();
        let command = match &old.text {
            Some(text) => {
                self.state.start_text(new_id, &old.peer, addr, text);
                Command::SendText {
                    id: new_id,
                    to: addr,
                    text: text.clone(),
                }
            }
            None if !old.paths.is_empty() => {
                self.state
                    .start_outgoing(new_id, &old.peer, addr, old.paths.clone());
                Command::Send {
                    id: new_id,
                    to: addr,
                    paths: old.paths.clone(),
                }
            }
            None => return,
        };
        self.state.transfers.retain(|r| r.id != id);
        if let Some(row) = self.state.row_mut(new_id) {
            row.peer_id = old.peer_id;
        }
        self.send_command(command);
    }

    /// Another device announced our name while ours is still the host name
    /// nobody chose: take a suffix of our id, save it, announce it and say
    /// so (issue 16, item 8). A name the person chose is never changed.
    pub(super) fn rename_on_clash(&mut self, seen: &str, seen_id: &str) {
        let own_id = self.state.own_id.clone();
        if seen_id == own_id {
            return;
        }
        let default = crate::config::default_alias();
        let Some(renamed) =
            crate::config::alias_after_clash(&self.settings.alias, &default, seen, &own_id)
        else {
            return;
        };
        tracing::info!(from = %self.settings.alias, to = %renamed, "another device has our name");
        if self.view.settings.alias == self.settings.alias {
            self.view.settings.alias = renamed.clone();
        }
        self.settings.alias = renamed.clone();
        self.save_settings();
        self.send_command(Command::SetAlias(renamed.clone()));
        self.state
            .notice(tr!("notice-alias-clash", name = seen, renamed = renamed));
    }

    /// Tells the engine to stop waiting to resume `id`, if it does.
    fn stop_resume(&mut self, id: TransferId) {
        let waiting = self
            .state
            .row_mut(id)
            .and_then(|row| row.resume_waiting.take())
            .is_some();
        if waiting {
            self.send_command(Command::StopResume { id });
        }
    }

    fn save_draft(&mut self) {
        match self.view.settings.validate(&self.settings) {
            Ok(new) => {
                let restart = new.port != self.settings.port
                    || new.interfaces != self.settings.interfaces
                    || new.localsend != self.settings.localsend
                    || new.localsend_port != self.settings.localsend_port;
                let alias_changed = new.alias != self.settings.alias;
                self.settings = new;
                // Live: the next frame (and this note) is in the new language.
                i18n::set_language(self.settings.language.as_deref());
                self.save_settings();
                if alias_changed {
                    self.send_command(Command::SetAlias(self.settings.alias.clone()));
                }
                self.apply_receive_settings();
                self.theme_dirty = true;
                self.view.settings.note = Some(if restart {
                    settings::Note::Saved(tr!("settings-saved-restart"))
                } else {
                    settings::Note::Saved(tr!("settings-saved"))
                });
            }
            Err(problem) => self.view.settings.note = Some(settings::Note::Problem(problem)),
        }
    }

    /// Folds in one helper result.
    pub(super) fn task_done(&mut self, result: TaskResult) {
        match result {
            TaskResult::Picked { purpose, paths } => {
                self.view.dialog_open = false;
                match purpose {
                    Pick::Files | Pick::Folder if !paths.is_empty() => {
                        let added = self.state.add_to_tray(&paths);
                        self.tasks.measure(added);
                    }
                    Pick::ShareFiles | Pick::ShareFolder => self.share_picked(paths),
                    Pick::DownloadDir => {
                        if let Some(dir) = paths.into_iter().next() {
                            self.view.settings.download_dir = dir.display().to_string();
                        }
                    }
                    _ => {}
                }
            }
            TaskResult::Measured { path, size } => {
                self.share_measured(&path, &size);
                if let Some(item) = self.state.tray.iter_mut().find(|t| t.path == path) {
                    item.size = Some(size);
                }
            }
            TaskResult::ShareStarted(result) => self.share_started(result),
            TaskResult::ShareStopped => self.share_stopped(),
            TaskResult::Resolved { input, result } => self.resolved(input, result),
            TaskResult::Diagnosis(result) => self.network_checked(result),
            TaskResult::PickUnavailable(sentence) => {
                self.view.dialog_open = false;
                self.state.notice(sentence);
            }
            TaskResult::Failed(sentence) => self.state.notice(sentence),
        }
    }
}
