//! Folding the transfer events into the transfer rows: an offer answered or
//! auto-accepted, a transfer started, its progress, a verified file, its end
//! (which is recorded in the history). It owns only how a row follows its
//! transfer; it must not draw or decide what the window does (an end only
//! returns the [`Effect`]s for the caller to carry out).

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{Effect, HistoryEntry, Phase, TransferRow, UiState};
use crate::api::{
    Device, Direction, Event, ItemKind, OfferSummary, Outcome, Pauses, Progress, TransferId,
};
use crate::i18n::tr;

impl UiState {
    /// A transfer that starts without a prompt (a trusted sender).
    pub(super) fn auto_accepted(
        &mut self,
        id: TransferId,
        from: &Device,
        addr: SocketAddr,
        offer: &OfferSummary,
    ) {
        // The code shown while the sender compared it gives way to the row.
        self.codes.retain(|c| c.id != id);
        let row = incoming_row(id, from, addr, offer, None);
        // An offer sent again after its connection was lost continues the
        // row of the session it superseded (the engine gives it that id).
        match self.transfers.iter().position(|r| r.id == id) {
            Some(at) => self.transfers[at] = row,
            None => self.transfers.insert(0, row),
        }
    }

    /// Our offer reached the receiver, which now decides; the connection's
    /// pairing code lets both people check nobody is in between.
    pub(super) fn offered(
        &mut self,
        id: TransferId,
        offer: &OfferSummary,
        peer_id: String,
        code: String,
    ) {
        // A confirmation answered elsewhere (the same key confirmed for
        // another send) ends with the offer.
        self.confirmations.retain(|c| c.id != id);
        if let Some(row) = self.row_mut(id) {
            row.phase = Phase::WaitingForAnswer;
            row.peer_id = Some(peer_id);
            row.pairing = Some(code);
            row.files_total = offer.files;
            row.bytes_total = offer.total_bytes;
        }
    }

    /// The sender is still counting the picked folders' files.
    pub(super) fn counting(&mut self, id: TransferId, files: u64, bytes: u64) {
        self.before_offer(id, Phase::Counting { files, bytes });
    }

    /// The sender (to a LocalSend device) is still reading the picked files
    /// for their checksums; `report` is that event.
    pub(super) fn checksumming(&mut self, report: Event) {
        if let Event::Checksumming {
            id,
            files,
            bytes,
            total_files,
            total_bytes,
        } = report
        {
            let phase = Phase::Checksumming {
                files,
                bytes,
                total_files,
                total_bytes,
            };
            self.before_offer(id, phase);
        }
    }

    /// A report from before the offer moves the row to `phase`, only while
    /// nothing later (the offer, the answer) has been reported: reports may
    /// arrive late.
    fn before_offer(&mut self, id: TransferId, phase: Phase) {
        if let Some(row) = self.row_mut(id)
            && matches!(
                row.phase,
                Phase::Connecting | Phase::Counting { .. } | Phase::Checksumming { .. }
            )
        {
            row.phase = phase;
        }
    }

    /// Data starts to flow (after `resumed_bytes` already there).
    pub(super) fn started(
        &mut self,
        id: TransferId,
        direction: Direction,
        files: u32,
        bytes: u64,
        resumed_bytes: u64,
    ) {
        self.ensure_row(id, direction);
        if let Some(row) = self.row_mut(id) {
            // A send resumed by the engine runs again in its own row.
            row.resume_waiting = None;
            row.phase = Phase::Running;
            row.files_total = files;
            row.bytes_total = bytes;
            row.bytes_done = resumed_bytes;
            row.resumed_bytes = resumed_bytes;
        }
    }

    /// The engine waits to resume failed send `id` when `device` is back
    /// (`None`: it no longer does).
    pub(super) fn resume_waiting(&mut self, id: TransferId, device: Option<String>) {
        if let Some(row) = self.row_mut(id) {
            // The engine names the device as it proved itself; the row's
            // name stands in if it had none.
            let peer = row.peer.clone();
            row.resume_waiting = device.map(|d| if d.is_empty() { peer } else { d });
        }
    }

    /// Progress of a running transfer; late reports after its end are ignored.
    pub(super) fn progress(&mut self, report: Progress) {
        if let Some(row) = self.row_mut(report.id)
            && row.is_active()
        {
            row.bytes_done = report.bytes_done;
            row.bytes_total = report.bytes_total;
            row.files_done = report.files_done;
            row.files_total = report.files_total;
            // Bytes already on their way still land in a pause; no speed then.
            let paused = row.pause.is_some_and(Pauses::any);
            row.rate = if paused { 0.0 } else { report.rate };
            row.eta = report.eta.filter(|_| !paused);
            row.current = report.current;
        }
    }

    /// Who holds a running transfer paused changed (or, the first time,
    /// it can be paused from now on). A pause shows no speed or time left.
    pub(super) fn pause_changed(&mut self, id: TransferId, pause: Pauses) {
        if let Some(row) = self.row_mut(id)
            && row.is_active()
        {
            row.pause = Some(pause);
            if pause.any() {
                row.rate = 0.0;
                row.eta = None;
            }
        }
    }

    /// A received file passed its check and is saved at `path`.
    pub(super) fn files_verified(&mut self, id: TransferId, paths: Vec<PathBuf>) {
        // A row names its transfer by the offer's items; the saved paths
        // only stand in for missing names, and a few do that: a million
        // files must not become a million paths in the window.
        if let Some(row) = self.row_mut(id)
            && row.direction == Direction::Incoming
            && row.names.is_empty()
        {
            let room = SAVED_LISTED.saturating_sub(row.saved.len());
            row.saved.extend(paths.into_iter().take(room));
        }
    }

    /// A transfer ended: its row shows the outcome and the end is recorded
    /// (and, for a received transfer of files, brought to the person's attention).
    pub(super) fn finished(
        &mut self,
        id: TransferId,
        direction: Direction,
        outcome: Outcome,
        now_ms: u64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.confirmations.retain(|c| c.id != id);
        let shown = self.codes.len();
        self.codes.retain(|c| c.id != id);
        if self.codes.len() < shown && self.row_mut(id).is_none() {
            // A code was shown but no offer came (the sender's person said
            // the codes differ, or gave up): nothing was transferred.
            return effects;
        }
        if let Some(at) = self.prompts.iter().position(|p| p.id == id) {
            // The sender gave up while the prompt was open.
            let prompt = self.prompts.remove(at);
            let row = incoming_row(id, &prompt.from, prompt.addr, &prompt.offer, None);
            self.transfers.insert(0, row);
        }
        self.ensure_row(id, direction);
        if let Some(row) = self.row_mut(id) {
            if outcome.is_success() {
                row.bytes_done = row.bytes_total;
                row.files_done = row.files_total;
            }
            row.rate = 0.0;
            row.eta = None;
            row.cancelling = false;
            row.pause = None;
            row.phase = Phase::Finished(outcome);
            let entry = HistoryEntry::from_row(row, now_ms);
            if direction == Direction::Incoming && !row.is_text {
                effects.push(Effect::Attention(tr!(
                    "title-transfer-ended",
                    name = &row.peer
                )));
            }
            effects.push(Effect::Record(entry));
        }
        if self.row_mut(id).is_some_and(|r| r.phase_is_success()) {
            self.drop_superseded(id);
        }
        effects
    }

    /// A transfer succeeded: earlier tries of the same thing with the same
    /// device that failed or were cancelled say nothing useful any more.
    fn drop_superseded(&mut self, id: TransferId) {
        let Some(done) = self.transfers.iter().find(|r| r.id == id).cloned() else {
            return;
        };
        self.transfers.retain(|r| {
            r.id == id || r.is_active() || r.phase_is_success() || !r.same_transfer_as(&done)
        });
    }

    /// A row for an event about a transfer the window never saw begin.
    fn ensure_row(&mut self, id: TransferId, direction: Direction) {
        if self.row_mut(id).is_none() {
            let row = TransferRow::new(id, direction, tr!("transfer-unknown-device"), None);
            self.transfers.insert(0, row);
        }
    }
}

/// Saved paths a transfer row keeps when its offer named nothing.
const SAVED_LISTED: usize = 16;

/// The row of a transfer we receive, named after what is offered.
pub(super) fn incoming_row(
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
