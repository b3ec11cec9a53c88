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

use crate::api::{Device, ItemKind};
use crate::api::{Direction, Outcome, TransferId};
use crate::api::{Event, OfferSummary};
use crate::api::{Peer, PeerSource};

use super::history::HistoryEntry;
pub use super::rows::{Phase, TransferRow};
pub use super::share_state::ShareState;

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
    /// Folds one engine event into the state.
    pub fn apply(&mut self, event: Event, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            Event::Listening { addr } => self.listening = Some(addr),
            Event::PeerSeen(peer) => self.peer_seen(peer),
            Event::PeerGone { device_id } => {
                if let Some(entry) = self.peers.get_mut(&device_id) {
                    entry.online = false;
                }
            }
            Event::Incoming {
                id,
                from,
                addr,
                offer,
            } => {
                let what = if offer.files == 0 && offer.folders == 0 {
                    "a message".to_string()
                } else {
                    format!("{} file(s)", offer.files)
                };
                effects.push(Effect::Attention(format!(
                    "{} wants to send {what}",
                    from.alias
                )));
                self.prompts.push(PendingOffer {
                    id,
                    from,
                    addr,
                    offer,
                });
            }
            Event::AutoAccepted {
                id,
                from,
                addr,
                offer,
            } => {
                let row = incoming_row(id, &from, addr, &offer, None);
                self.transfers.insert(0, row);
            }
            Event::Offered {
                id, offer, peer_id, ..
            } => {
                let pairing = crate::secure::identity::pairing_code(&self.own_id, &peer_id);
                if let Some(row) = self.row_mut(id) {
                    row.phase = Phase::WaitingForAnswer;
                    row.peer_id = Some(peer_id);
                    row.pairing = Some(pairing);
                    row.files_total = offer.files;
                    row.bytes_total = offer.total_bytes;
                }
            }
            Event::Started {
                id,
                direction,
                files,
                bytes,
                resumed_bytes,
            } => {
                if self.row_mut(id).is_none() {
                    let row = TransferRow::new(id, direction, "Unknown device".into(), None);
                    self.transfers.insert(0, row);
                }
                if let Some(row) = self.row_mut(id) {
                    row.phase = Phase::Running;
                    row.files_total = files;
                    row.bytes_total = bytes;
                    row.bytes_done = resumed_bytes;
                    row.resumed_bytes = resumed_bytes;
                }
            }
            Event::Progress(report) => {
                if let Some(row) = self.row_mut(report.id)
                    && row.is_active()
                {
                    row.bytes_done = report.bytes_done;
                    row.bytes_total = report.bytes_total;
                    row.files_done = report.files_done;
                    row.files_total = report.files_total;
                    row.rate = report.rate;
                    row.eta = report.eta;
                    row.current = report.current;
                }
            }
            Event::FileVerified { id, path } => {
                if let Some(row) = self.row_mut(id)
                    && row.direction == Direction::Incoming
                {
                    row.saved.push(path);
                }
            }
            Event::TextReceived { id, from, text } => {
                effects.push(Effect::Attention(format!("Message from {}", from.alias)));
                self.messages.push(TextMessage {
                    id,
                    from: from.alias,
                    text,
                });
            }
            Event::Finished {
                id,
                direction,
                outcome,
            } => {
                if let Some(at) = self.prompts.iter().position(|p| p.id == id) {
                    // The sender gave up while the prompt was open.
                    let prompt = self.prompts.remove(at);
                    let row = incoming_row(id, &prompt.from, prompt.addr, &prompt.offer, None);
                    self.transfers.insert(0, row);
                }
                if self.row_mut(id).is_none() {
                    let row = TransferRow::new(id, direction, "Unknown device".into(), None);
                    self.transfers.insert(0, row);
                }
                if let Some(row) = self.row_mut(id) {
                    if outcome.is_success() {
                        row.bytes_done = row.bytes_total;
                        row.files_done = row.files_total;
                    }
                    row.rate = 0.0;
                    row.eta = None;
                    row.cancelling = false;
                    row.phase = Phase::Finished(outcome);
                    let entry = HistoryEntry::from_row(row, now_ms);
                    if direction == Direction::Incoming && !row.is_text {
                        effects.push(Effect::Attention(format!(
                            "Transfer from {} ended",
                            row.peer
                        )));
                    }
                    effects.push(Effect::Record(entry));
                }
            }
            Event::Problem(sentence) => self.notice(sentence),
            Event::PinRequired { id, to, wrong } => {
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
            // The share's events and measurements: `FerryApp::engine_event`
            // routes them before this is called.
            Event::ShareStarted(_)
            | Event::ShareFailed(_)
            | Event::ShareStopped
            | Event::Share(_)
            | Event::Measured { .. } => {}
        }
        effects
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
            });
        entry.device = peer.device;
        entry.online = true;
        if peer.source == PeerSource::Beacon {
            entry.source = PeerSource::Beacon;
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
        self.prompts.len() + self.share.prompts.len()
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

fn incoming_row(
    id: TransferId,
    from: &Device,
    addr: SocketAddr,
    offer: &OfferSummary,
    download_dir: Option<PathBuf>,
) -> TransferRow {
    let mut row = TransferRow::new(id, Direction::Incoming, from.alias.clone(), Some(addr));
    row.peer_id = Some(from.device_id.clone());
    row.phase = Phase::Running;
    row.is_text = offer.files == 0 && offer.folders == 0 && !offer.texts.is_empty();
    row.files_total = offer.files;
    row.bytes_total = offer.total_bytes;
    row.download_dir = download_dir;
    for entry in &offer.entries {
        if matches!(entry.kind, ItemKind::Text(_)) {
            continue;
        }
        if let Some(top) = entry.path.first()
            && !row.names.contains(top)
        {
            row.names.push(top.clone());
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::OfferItem;
    use crate::api::Party;
    use std::time::SystemTime;

    fn device(id: &str) -> Device {
        Device {
            device_id: id.into(),
            alias: format!("alias-{id}"),
            os: "linux".into(),
            port: 1,
        }
    }

    fn seen(id: &str, port: u16) -> Event {
        Event::PeerSeen(Peer {
            device: device(id),
            addrs: vec![SocketAddr::from(([127, 0, 0, 1], port))],
            last_seen: SystemTime::now(),
            source: PeerSource::Beacon,
        })
    }

    fn offer(files: &[(&str, u64)]) -> OfferSummary {
        let entries: Vec<OfferItem> = files
            .iter()
            .map(|(name, size)| OfferItem {
                path: vec![name.to_string()],
                kind: ItemKind::File,
                size: *size,
                modified_ms: None,
            })
            .collect();
        OfferSummary::of(entries, Some(1 << 30))
    }

    #[test]
    fn peers_come_go_and_ignore_ourselves() {
        let mut state = UiState {
            own_id: "me".into(),
            ..UiState::default()
        };
        state.apply(seen("me", 1), 0);
        state.apply(seen("a", 2), 0);
        assert_eq!(state.peers.len(), 1);
        assert_eq!(state.drop_target(), DropTarget::Peers(vec!["a".into()]));
        state.apply(seen("b", 3), 0);
        assert_eq!(
            state.drop_target(),
            DropTarget::Tray,
            "two peers, none selected"
        );
        state.peers.get_mut("b").expect("b").selected = true;
        assert_eq!(state.drop_target(), DropTarget::Peers(vec!["b".into()]));
        state.apply(
            Event::PeerGone {
                device_id: "a".into(),
            },
            0,
        );
        assert!(!state.peers["a"].online);
    }

    #[test]
    fn declined_prompt_shows_declined_and_sender_cancel_closes_prompt() {
        let mut state = UiState::default();
        let from = device("s");
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        for id in [TransferId(1), TransferId(2)] {
            let effects = state.apply(
                Event::Incoming {
                    id,
                    from: from.clone(),
                    addr,
                    offer: offer(&[("a.txt", 3)]),
                },
                0,
            );
            assert!(matches!(effects[0], Effect::Attention(_)));
        }
        assert_eq!(state.prompts.len(), 2, "several prompts wait at once");
        assert!(state.answer(TransferId(1), false, PathBuf::new()).is_some());
        assert_eq!(
            state.transfers[0].phase,
            Phase::Finished(Outcome::Declined(String::new()))
        );
        let effects = state.apply(
            Event::Finished {
                id: TransferId(2),
                direction: Direction::Incoming,
                outcome: Outcome::Cancelled { by: Party::Remote },
            },
            5,
        );
        assert!(state.prompts.is_empty());
        assert_eq!(state.transfers.len(), 2);
        assert!(effects.iter().any(|e| matches!(e, Effect::Record(_))));
    }

    #[test]
    fn outgoing_row_follows_progress_to_completion() {
        let mut state = UiState::default();
        let id = TransferId(7);
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        state.start_outgoing(id, "bob", addr, vec![PathBuf::from("/tmp/x/file.bin")]);
        state.apply(
            Event::Started {
                id,
                direction: Direction::Outgoing,
                files: 1,
                bytes: 100,
                resumed_bytes: 40,
            },
            0,
        );
        assert!((state.transfers[0].fraction() - 0.4).abs() < 1e-6);
        let effects = state.apply(
            Event::Finished {
                id,
                direction: Direction::Outgoing,
                outcome: Outcome::Completed {
                    files: 1,
                    bytes: 100,
                },
            },
            0,
        );
        let row = &state.transfers[0];
        assert_eq!(row.fraction(), 1.0);
        assert_eq!(row.folder(), Some(PathBuf::from("/tmp/x")));
        assert_eq!(row.title(), "file.bin");
        assert!(matches!(&effects[..], [Effect::Record(_)]));
    }

    #[test]
    fn notices_are_capped_and_not_repeated() {
        let mut state = UiState::default();
        for i in 0..10 {
            state.apply(Event::Problem(format!("p{i}")), 0);
            state.apply(Event::Problem(format!("p{i}")), 0);
        }
        assert_eq!(state.notices.len(), MAX_NOTICES);
        assert_eq!(state.notices.last().map(String::as_str), Some("p9"));
    }
}
