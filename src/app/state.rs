//! The window's state as plain data: known peers, offers waiting for an
//! answer, received messages, one row per transfer, the "to send" tray, the
//! history list, notices and the browser share ([`ShareState`]).
//! [`UiState::apply`] folds one engine [`Event`] into it and says what else
//! should happen ([`Effect`]s) without doing it.
//! Nothing here draws, touches the disk or the network, or knows about egui,
//! so every rule can be unit-tested.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::api::Device;
use crate::api::{Direction, Outcome, TransferId};
use crate::api::{Event, OfferSummary};
use crate::api::{Peer, PeerSource, TrustedDevice};
use crate::i18n::tr;

use super::history::HistoryEntry;
pub use super::rows::{Phase, TransferRow};
pub use super::share_state::ShareState;
use transfers::incoming_row;

pub mod peers;
mod transfers;

/// Most notices kept; older ones drop off.
pub const MAX_NOTICES: usize = 6;

/// A device we can send to, as the peer list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerEntry {
    /// Who it says it is.
    pub device: Device,
    /// Where to send, best first.
    pub addrs: Vec<SocketAddr>,
    /// False after it said goodbye or stopped beaconing.
    pub online: bool,
    /// Heard by beacon or added by address.
    pub source: PeerSource,
    /// Chosen as a target for drops and "Send".
    pub selected: bool,
    /// When it went offline (ms since the Unix epoch); it leaves the list
    /// [`peers::OFFLINE_KEEP_MS`] later.
    pub offline_since_ms: Option<u64>,
}

impl PeerEntry {
    /// The address transfers go to.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addrs.first().copied()
    }
}

/// An incoming offer waiting for Accept / Decline.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOffer {
    /// Transfer id to answer with.
    pub id: TransferId,
    /// The sender.
    pub from: Device,
    /// The sender's address.
    pub addr: SocketAddr,
    /// What is offered.
    pub offer: OfferSummary,
    /// The connection's pairing code, as the sender shows it too.
    pub code: String,
    /// The sender uses a remembered device's name with another key.
    pub key_changed: bool,
}

/// Sender side: a receiver whose pairing code the person must compare
/// before anything is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerConfirmation {
    /// The waiting transfer.
    pub id: TransferId,
    /// The receiver's address.
    pub to: SocketAddr,
    /// The receiver as it describes itself.
    pub device: Device,
    /// The code the receiver should show.
    pub code: String,
    /// Its name belongs to a remembered device with another key.
    pub key_changed: bool,
    /// A LocalSend device: `code` is its certificate fingerprint's short
    /// form, with nothing on its screen to compare it to.
    pub localsend: bool,
}

/// Receiver side: a sender's person is comparing this code now.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownCode {
    /// The id the offer will have.
    pub id: TransferId,
    /// The sender.
    pub from: Device,
    /// The sender's address.
    pub addr: SocketAddr,
    /// This connection's pairing code.
    pub code: String,
}

impl PendingOffer {
    /// True when the offer is only a text message.
    pub fn is_text_only(&self) -> bool {
        self.offer.files == 0 && self.offer.folders == 0 && !self.offer.texts.is_empty()
    }
}

/// A received text message.
#[derive(Debug, Clone, PartialEq)]
pub struct TextMessage {
    /// Which transfer carried it.
    pub id: TransferId,
    /// The sender's name.
    pub from: String,
    /// The message.
    pub text: String,
}

/// A file or folder waiting in the "to send" tray.
#[derive(Debug, Clone, PartialEq)]
pub struct TrayItem {
    /// The local path.
    pub path: PathBuf,
    /// Bytes and file count once measured (on a helper thread), or why not.
    pub size: Option<Result<(u64, u64), String>>,
}

/// A receiver that wants a PIN before it looks at an offer.
#[derive(Debug, Clone, PartialEq)]
pub struct PinRequest {
    /// The transfer that was refused (it ends as failed).
    pub id: TransferId,
    /// The receiver's address.
    pub to: SocketAddr,
    /// The receiver's name.
    pub peer: String,
    /// True if a PIN was given and was wrong.
    pub wrong: bool,
}

/// Something the window should do because of an event; the caller does it.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Ask for the person's attention (title, taskbar) with this sentence.
    Attention(String),
    /// A transfer ended: append this to the saved history.
    Record(HistoryEntry),
    /// The engine remembered a device: keep it in the settings.
    Remember(TrustedDevice),
}

/// Everything the window shows, as plain data.
#[derive(Debug, Default)]
pub struct UiState {
    /// This device's id (its own beacons are ignored).
    pub own_id: String,
    /// Where the engine listens.
    pub listening: Option<SocketAddr>,
    /// Peers by device id.
    pub peers: BTreeMap<String, PeerEntry>,
    /// Offers waiting for an answer, oldest first.
    pub prompts: Vec<PendingOffer>,
    /// Sends waiting for the person to compare a receiver's code.
    pub confirmations: Vec<PeerConfirmation>,
    /// Codes shown while a sender's person compares them.
    pub codes: Vec<ShownCode>,
    /// Received messages, newest last.
    pub messages: Vec<TextMessage>,
    /// Transfers, newest first.
    pub transfers: Vec<TransferRow>,
    /// Paths waiting for a target.
    pub tray: Vec<TrayItem>,
    /// Finished transfers, newest first (persisted by the caller).
    pub history: Vec<HistoryEntry>,
    /// Sentences about problems that belong to no transfer.
    pub notices: Vec<String>,
    /// Receivers asking for a PIN.
    pub pin_requests: Vec<PinRequest>,
    /// The browser share (folded by `apply_share` in `share_state`).
    pub share: ShareState,
}

impl UiState {
    /// Folds one engine event into the state. Each kind of event has its own
    /// step; the transfer events' are in `transfers`.
    pub fn apply(&mut self, event: Event, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            Event::Listening { addr } => self.listening = Some(addr),
            Event::PeerSeen(peer) => self.peer_seen(peer),
            Event::PeerGone { device_id } => self.peer_gone(&device_id, now_ms),
            Event::Incoming {
                id,
                from,
                addr,
                offer,
                code,
                key_changed,
            } => effects.push(self.incoming(PendingOffer {
                id,
                from,
                addr,
                offer,
                code,
                key_changed,
            })),
            Event::ConfirmPeer {
                id,
                to,
                device,
                code,
                key_changed,
                localsend,
            } => {
                let sentence = if localsend {
                    tr!("title-confirm-localsend", name = &device.alias)
                } else {
                    tr!(
                        "title-compare-code",
                        code = code.as_str(),
                        name = &device.alias
                    )
                };
                effects.push(Effect::Attention(sentence));
                self.confirmations.push(PeerConfirmation {
                    id,
                    to,
                    device,
                    code,
                    key_changed,
                    localsend,
                });
            }
            Event::PairingCode {
                id,
                from,
                addr,
                code,
            } => {
                let sentence = tr!(
                    "title-comparing-code",
                    code = code.as_str(),
                    name = &from.alias
                );
                effects.push(Effect::Attention(sentence));
                self.codes.push(ShownCode {
                    id,
                    from,
                    addr,
                    code,
                });
            }
            Event::Remembered(device) => {
                // Its other sends waiting for a confirmation go on their own.
                self.confirmations
                    .retain(|c| c.device.device_id != device.device_id);
                effects.push(Effect::Remember(device));
            }
            Event::AutoAccepted {
                id,
                from,
                addr,
                offer,
            } => self.auto_accepted(id, &from, addr, &offer),
            Event::Counting { id, files, bytes } => self.counting(id, files, bytes),
            report @ Event::Checksumming { .. } => self.checksumming(report),
            Event::Offered {
                id,
                offer,
                peer_id,
                code,
                ..
            } => self.offered(id, &offer, peer_id, code),
            Event::Started {
                id,
                direction,
                files,
                bytes,
                resumed_bytes,
            } => self.started(id, direction, files, bytes, resumed_bytes),
            Event::Progress(report) => self.progress(report),
            Event::FilesVerified { id, paths } => self.files_verified(id, paths),
            Event::TextReceived { id, from, text } => {
                effects.push(self.text_received(id, from, text));
            }
            Event::Finished {
                id,
                direction,
                outcome,
            } => effects.extend(self.finished(id, direction, outcome, now_ms)),
            Event::Problem(sentence) => self.notice(sentence),
            Event::PauseChanged { id, pause } => self.pause_changed(id, pause),
            Event::PinRequired { id, to, wrong } => self.pin_required(id, to, wrong),
            // The share's events and measurements: `FerryApp::engine_event`
            // routes them before this is called.
            Event::ShareStarted(_)
            | Event::ShareFailed(_)
            | Event::ShareStopped
            | Event::Share(_)
            | Event::Measured { .. } => {}
            Event::ResumeWaiting { id, device, .. } => self.resume_waiting(id, Some(device)),
            Event::ResumeEnded { id } => self.resume_waiting(id, None),
        }
        effects
    }

    /// A peer stopped beaconing or said goodbye: kept a while, shown offline.
    fn peer_gone(&mut self, device_id: &str, now_ms: u64) {
        if let Some(entry) = self.peers.get_mut(device_id)
            && entry.online
        {
            entry.online = false;
            entry.offline_since_ms = Some(now_ms);
        }
    }

    /// An offer waits for Accept / Decline; the person is asked to look.
    fn incoming(&mut self, prompt: PendingOffer) -> Effect {
        let offer = &prompt.offer;
        let attention = Effect::Attention(if offer.files == 0 && offer.folders == 0 {
            tr!("title-offer-message", name = &prompt.from.alias)
        } else {
            tr!(
                "title-offer-files",
                name = &prompt.from.alias,
                count = offer.files
            )
        });
        // The offer replaces the code shown while the sender compared it.
        self.codes.retain(|c| c.id != prompt.id);
        self.prompts.push(prompt);
        attention
    }

    /// A text message arrived; the person is asked to look.
    fn text_received(&mut self, id: TransferId, from: Device, text: String) -> Effect {
        let attention = Effect::Attention(tr!("title-message", name = &from.alias));
        // The row keeps the text too, so History can show and copy it.
        if let Some(row) = self.row_mut(id) {
            row.text = Some(text.clone());
        }
        self.messages.push(TextMessage {
            id,
            from: from.alias,
            text,
        });
        attention
    }

    /// A receiver wants a PIN (again, if `wrong`): one request per receiver.
    fn pin_required(&mut self, id: TransferId, to: SocketAddr, wrong: bool) {
        let peer = self
            .row_mut(id)
            .map(|r| r.peer.clone())
            .unwrap_or_else(|| to.to_string());
        self.pin_requests.retain(|p| p.to != to);
        self.pin_requests.push(PinRequest {
            id,
            to,
            peer,
            wrong,
        });
    }

    fn peer_seen(&mut self, peer: Peer) {
        if peer.device.device_id == self.own_id {
            return;
        }
        let entry = self
            .peers
            .entry(peer.device.device_id.clone())
            .or_insert_with(|| PeerEntry {
                device: peer.device.clone(),
                addrs: Vec::new(),
                online: true,
                source: peer.source,
                selected: false,
                offline_since_ms: None,
            });
        entry.device = peer.device;
        entry.online = true;
        entry.offline_since_ms = None;
        if peer.source == PeerSource::Beacon {
            entry.source = PeerSource::Beacon;
        }
        if matches!(entry.source, PeerSource::LocalSend(_)) {
            entry.source = peer.source;
        }
        // A notice that nothing answers at one of its addresses is now wrong.
        let answering: Vec<String> = peer.addrs.iter().map(|a| a.to_string()).collect();
        self.notices
            .retain(|n| !answering.iter().any(|a| n.contains(a.as_str())));
        // Fresh addresses first, then the ones we knew that it no longer lists.
        let mut addrs = peer.addrs;
        for old in entry.addrs.drain(..) {
            if !addrs.contains(&old) {
                addrs.push(old);
            }
        }
        entry.addrs = addrs;
    }

    /// Adds a notice, dropping the oldest beyond [`MAX_NOTICES`].
    pub fn notice(&mut self, sentence: String) {
        if self.notices.last() != Some(&sentence) {
            self.notices.push(sentence);
        }
        if self.notices.len() > MAX_NOTICES {
            self.notices.remove(0);
        }
    }

    /// The row of a transfer.
    pub fn row_mut(&mut self, id: TransferId) -> Option<&mut TransferRow> {
        self.transfers.iter_mut().find(|r| r.id == id)
    }

    /// Records an outgoing transfer the window just asked the engine for.
    pub fn start_outgoing(
        &mut self,
        id: TransferId,
        peer: &str,
        addr: SocketAddr,
        paths: Vec<PathBuf>,
    ) {
        let mut row = TransferRow::new(id, Direction::Outgoing, peer.to_string(), Some(addr));
        row.names = paths
            .iter()
            .map(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| p.display().to_string())
            })
            .collect();
        row.paths = paths;
        self.transfers.insert(0, row);
    }

    /// Records an outgoing text message.
    pub fn start_text(&mut self, id: TransferId, peer: &str, addr: SocketAddr, text: &str) {
        let mut row = TransferRow::new(id, Direction::Outgoing, peer.to_string(), Some(addr));
        row.is_text = true;
        row.text = Some(text.to_string());
        self.transfers.insert(0, row);
    }

    /// Removes an answered prompt and gives it a row (running, or declined).
    pub fn answer(
        &mut self,
        id: TransferId,
        accept: bool,
        download_dir: PathBuf,
    ) -> Option<PendingOffer> {
        let at = self.prompts.iter().position(|p| p.id == id)?;
        let prompt = self.prompts.remove(at);
        let mut row = incoming_row(id, &prompt.from, prompt.addr, &prompt.offer, None);
        if accept {
            row.download_dir = Some(download_dir);
        } else {
            // The engine's Finished (which goes to history) follows at once.
            row.phase = Phase::Finished(Outcome::Declined(String::new()));
        }
        self.transfers.insert(0, row);
        Some(prompt)
    }

    /// Online peers.
    pub fn online_peers(&self) -> impl Iterator<Item = &PeerEntry> {
        self.peers.values().filter(|p| p.online)
    }

    /// Where dropped files go right now.
    pub fn drop_target(&self) -> DropTarget {
        let selected: Vec<String> = self
            .peers
            .values()
            .filter(|p| p.selected)
            .map(|p| p.device.device_id.clone())
            .collect();
        if !selected.is_empty() {
            return DropTarget::Peers(selected);
        }
        let mut online = self.online_peers();
        match (online.next(), online.next()) {
            (Some(only), None) => DropTarget::Peers(vec![only.device.device_id.clone()]),
            _ => DropTarget::Tray,
        }
    }

    /// Adds paths to the tray, skipping ones already there.
    pub fn add_to_tray(&mut self, paths: &[PathBuf]) -> Vec<PathBuf> {
        let mut added = Vec::new();
        for path in paths {
            if !self.tray.iter().any(|t| &t.path == path) {
                self.tray.push(TrayItem {
                    path: path.clone(),
                    size: None,
                });
                added.push(path.clone());
            }
        }
        added
    }

    /// Number of offers (from devices and browsers) the person has not answered.
    pub fn waiting_count(&self) -> usize {
        self.prompts.len() + self.share.prompts.len() + self.confirmations.len()
    }
}

/// Where a drop goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropTarget {
    /// Straight to these peers (device ids).
    Peers(Vec<String>),
    /// Into the tray, to wait for a choice.
    Tray,
}

#[cfg(test)]
mod tests;
