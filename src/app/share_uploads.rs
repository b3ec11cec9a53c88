//! Uploads from browsers as window state: a request waiting for Accept /
//! Decline is an [`UploadPrompt`]; once answered (or at once, when the share
//! allows uploads) it is a row of the transfer list — a [`TransferRow`] with
//! `browser` set, "from browser 192.168.1.31" — that follows the server's
//! events to its end and then goes to history. A row ends once: the server's
//! later events for it (a refusal after a Decline, an error after Stop
//! sharing) change nothing. Plain data, no I/O, no egui.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::history::HistoryEntry;
use super::rows::{Phase, TransferRow};
use super::share_state::{UploadPrompt, browser_peer};
use super::state::{Effect, UiState};
use crate::api::ShareEvent;
use crate::api::{Direction, Outcome, TransferId};
use crate::i18n::tr;

impl UiState {
    /// Folds one upload event of the share server into the state.
    pub(super) fn apply_upload(&mut self, event: ShareEvent, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            ShareEvent::UploadRequest {
                id,
                from,
                names,
                size,
            } => {
                effects.push(Effect::Attention(tr!(
                    "title-upload",
                    address = from.ip().to_string(),
                    count = names.len()
                )));
                self.share.prompts.push(UploadPrompt {
                    id,
                    from,
                    names,
                    size,
                });
            }
            ShareEvent::UploadStarted {
                id,
                from,
                names,
                size,
            } => {
                self.share.prompts.retain(|p| p.id != id);
                if self.row_mut(id).is_none() {
                    let row = self.upload_row(id, from, Vec::new(), None);
                    self.transfers.insert(0, row);
                }
                if let Some(row) = self.row_mut(id)
                    && row.is_active()
                {
                    if !names.is_empty() {
                        row.files_total = names.len() as u32;
                        row.names = names;
                    }
                    row.bytes_total = size.unwrap_or(row.bytes_total);
                }
            }
            ShareEvent::UploadProgress {
                id,
                done,
                total,
                current,
            } => {
                if let Some(row) = self.row_mut(id)
                    && row.is_active()
                {
                    row.bytes_done = done;
                    row.bytes_total = total.unwrap_or(row.bytes_total).max(done);
                    row.current = current;
                }
            }
            ShareEvent::UploadSaved { id, path } => {
                if let Some(row) = self.row_mut(id)
                    && row.is_active()
                    && !row.saved.contains(&path)
                {
                    row.saved.push(path);
                    row.files_done = row.saved.len() as u32;
                }
            }
            ShareEvent::UploadFinished { id, result } => {
                if let Some(at) = self.share.prompts.iter().position(|p| p.id == id) {
                    // The browser left, or nobody answered in time.
                    let prompt = self.share.prompts.remove(at);
                    let row = self.upload_row(id, prompt.from, prompt.names, prompt.size);
                    self.transfers.insert(0, row);
                }
                if self.row_mut(id).is_none() {
                    let mut row =
                        TransferRow::new(id, Direction::Incoming, tr!("transfers-a-browser"), None);
                    row.browser = true;
                    self.transfers.insert(0, row);
                }
                let outcome = match result {
                    Ok(paths) => {
                        if let Some(row) = self.row_mut(id) {
                            row.saved = paths;
                        }
                        None
                    }
                    Err(reason) => Some(Outcome::Failed(reason)),
                };
                effects.extend(self.end_upload(id, outcome, now_ms));
            }
            // The window does not ask for visitor approval (`approve_visitors` is off).
            ShareEvent::VisitorRequest { .. }
            | ShareEvent::DownloadStarted { .. }
            | ShareEvent::DownloadProgress { .. }
            | ShareEvent::DownloadFinished { .. } => {}
        }
        effects
    }

    /// Answers an upload prompt: it becomes a row, waiting for the files
    /// (accept) or declined (which goes to history at once).
    pub fn answer_upload(
        &mut self,
        id: TransferId,
        accept: bool,
        download_dir: PathBuf,
        now_ms: u64,
    ) -> Vec<Effect> {
        let Some(at) = self.share.prompts.iter().position(|p| p.id == id) else {
            return Vec::new();
        };
        let prompt = self.share.prompts.remove(at);
        let mut row = self.upload_row(id, prompt.from, prompt.names, prompt.size);
        row.download_dir = Some(download_dir);
        self.transfers.insert(0, row);
        if accept {
            Vec::new()
        } else {
            self.end_upload(id, Some(Outcome::Declined(String::new())), now_ms)
        }
    }

    /// Ends every prompt still open and every upload still running, as
    /// the share stops.
    pub(super) fn end_open_uploads(&mut self, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        for prompt in std::mem::take(&mut self.share.prompts) {
            let row = self.upload_row(prompt.id, prompt.from, prompt.names, prompt.size);
            self.transfers.insert(0, row);
            let why = tr!("share-stopped-before-answer");
            effects.extend(self.end_upload(prompt.id, Some(Outcome::Failed(why)), now_ms));
        }
        let running: Vec<TransferId> = self
            .transfers
            .iter()
            .filter(|r| r.browser && r.is_active())
            .map(|r| r.id)
            .collect();
        for id in running {
            let why = tr!("share-stopped-before-finish");
            effects.extend(self.end_upload(id, Some(Outcome::Failed(why)), now_ms));
        }
        effects
    }

    /// Ends an upload row (`None`: completed with what was saved) and says
    /// what to record. A row that already ended is left alone.
    fn end_upload(&mut self, id: TransferId, outcome: Option<Outcome>, now_ms: u64) -> Vec<Effect> {
        let Some(row) = self.row_mut(id) else {
            return Vec::new();
        };
        if !row.is_active() {
            return Vec::new();
        }
        let outcome = outcome.unwrap_or_else(|| {
            // Received bytes are exact (the server reports each file's end);
            // the announced size stands in if no count arrived.
            let bytes = if row.bytes_done > 0 {
                row.bytes_done
            } else {
                row.bytes_total
            };
            Outcome::Completed {
                files: row.saved.len() as u32,
                bytes,
            }
        });
        if let Outcome::Completed { files, bytes } = outcome {
            row.files_total = files;
            row.files_done = files;
            row.bytes_total = bytes;
            row.bytes_done = bytes;
        }
        row.current.clear();
        row.phase = Phase::Finished(outcome);
        let mut effects = vec![Effect::Record(HistoryEntry::from_row(row, now_ms))];
        if matches!(row.phase, Phase::Finished(Outcome::Completed { .. })) {
            effects.push(Effect::Attention(tr!(
                "title-upload-ended",
                name = &row.peer
            )));
        }
        effects
    }

    fn upload_row(
        &self,
        id: TransferId,
        from: SocketAddr,
        names: Vec<String>,
        size: Option<u64>,
    ) -> TransferRow {
        let mut row = TransferRow::new(id, Direction::Incoming, browser_peer(from), Some(from));
        row.browser = true;
        row.phase = Phase::Running;
        row.files_total = names.len() as u32;
        row.names = names;
        row.bytes_total = size.unwrap_or(0);
        row.download_dir = self.share.info().map(|i| i.download_dir.clone());
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::UploadPolicy;
    use crate::app::share_state::{ShareInfo, SharePhase};

    fn from() -> SocketAddr {
        SocketAddr::from(([192, 168, 1, 31], 50123))
    }

    fn sharing(state: &mut UiState) {
        state.share.phase = SharePhase::Sharing(ShareInfo {
            url: "http://192.168.1.20:1/s/t/".into(),
            items: Vec::new(),
            uploads: UploadPolicy::Ask,
            download_dir: PathBuf::from("/in"),
            note: None,
            texts: Vec::new(),
            approve_visitors: false,
        });
    }

    fn records(effects: &[Effect]) -> Vec<&HistoryEntry> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Record(entry) => Some(entry),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_accepted_upload_becomes_a_row_and_goes_to_history() {
        let mut state = UiState::default();
        sharing(&mut state);
        let id = TransferId(7);
        let effects = state.apply_share(
            ShareEvent::UploadRequest {
                id,
                from: from(),
                names: vec!["a.jpg".into(), "b.jpg".into()],
                size: Some(300),
            },
            0,
        );
        assert!(
            matches!(&effects[..], [Effect::Attention(s)] if s.contains("192.168.1.31") && s.contains("2 files"))
        );
        assert_eq!(state.waiting_count(), 1);
        assert!(
            state
                .answer_upload(id, true, PathBuf::from("/in"), 0)
                .is_empty()
        );
        assert!(state.share.prompts.is_empty());
        let row = &state.transfers[0];
        assert!(row.browser && row.is_active());
        assert_eq!(row.peer, "browser 192.168.1.31");
        assert_eq!(row.title(), "a.jpg and 1 more");
        for event in [
            ShareEvent::UploadStarted {
                id,
                from: from(),
                names: vec!["a.jpg".into(), "b.jpg".into()],
                size: Some(300),
            },
            ShareEvent::UploadProgress {
                id,
                done: 120,
                total: Some(300),
                current: "a.jpg".into(),
            },
            ShareEvent::UploadSaved {
                id,
                path: "/in/a.jpg".into(),
            },
            ShareEvent::UploadProgress {
                id,
                done: 300,
                total: Some(300),
                current: "b.jpg".into(),
            },
            ShareEvent::UploadSaved {
                id,
                path: "/in/b (1).jpg".into(),
            },
        ] {
            state.apply_share(event, 0);
        }
        assert_eq!(state.transfers[0].files_done, 2);
        let effects = state.apply_share(
            ShareEvent::UploadFinished {
                id,
                result: Ok(vec!["/in/a.jpg".into(), "/in/b (1).jpg".into()]),
            },
            9,
        );
        let row = &state.transfers[0];
        assert_eq!(
            row.phase,
            Phase::Finished(Outcome::Completed {
                files: 2,
                bytes: 300
            })
        );
        assert_eq!(row.folder(), Some(PathBuf::from("/in")));
        let recorded = records(&effects);
        assert_eq!(recorded.len(), 1);
        assert!(recorded[0].browser);
        assert_eq!(recorded[0].peer, "browser 192.168.1.31");
        // A late event for an ended row changes nothing.
        let late = ShareEvent::UploadFinished {
            id,
            result: Err("x".into()),
        };
        assert!(state.apply_share(late, 10).is_empty());
    }

    #[test]
    fn declined_and_unanswered_uploads_end_in_words() {
        let mut state = UiState::default();
        sharing(&mut state);
        let ask = |id| ShareEvent::UploadRequest {
            id,
            from: from(),
            names: Vec::new(),
            size: Some(10),
        };
        state.apply_share(ask(TransferId(1)), 0);
        state.apply_share(ask(TransferId(2)), 0);
        state.apply_share(ask(TransferId(3)), 0);
        let effects = state.answer_upload(TransferId(1), false, PathBuf::from("/in"), 0);
        assert_eq!(records(&effects).len(), 1, "a decline is history at once");
        assert_eq!(
            state.transfers[0].phase,
            Phase::Finished(Outcome::Declined(String::new()))
        );
        // The server's own "declined" event that follows is ignored.
        let server_says = ShareEvent::UploadFinished {
            id: TransferId(1),
            result: Err("declined".into()),
        };
        assert!(state.apply_share(server_says, 0).is_empty());
        // The browser left while its prompt was open.
        let left = ShareEvent::UploadFinished {
            id: TransferId(2),
            result: Err("The browser left before the upload was accepted.".into()),
        };
        assert_eq!(records(&state.apply_share(left, 0)).len(), 1);
        assert_eq!(state.share.prompts.len(), 1);
        let row = state.row_mut(TransferId(2)).expect("row");
        assert_eq!(row.title(), "Files from a browser");
        assert!(matches!(&row.phase, Phase::Finished(Outcome::Failed(r)) if r.contains("left")));
        // Stopping the share ends the last prompt.
        let effects = state.share_ended(0);
        assert_eq!(records(&effects).len(), 1);
        assert!(state.share.prompts.is_empty());
        assert!(state.transfers.iter().all(|r| !r.is_active()));
        assert!(matches!(
            &state.row_mut(TransferId(3)).expect("row").phase,
            Phase::Finished(Outcome::Failed(r)) if r.contains("Sharing stopped")
        ));
    }

    #[test]
    fn an_allowed_upload_without_names_is_titled_by_what_was_saved() {
        let mut state = UiState::default();
        let id = TransferId(4);
        state.apply_share(
            ShareEvent::UploadStarted {
                id,
                from: from(),
                names: Vec::new(),
                size: Some(5000),
            },
            0,
        );
        state.apply_share(
            ShareEvent::UploadSaved {
                id,
                path: "/in/note.txt".into(),
            },
            0,
        );
        assert_eq!(state.transfers[0].title(), "note.txt");
        let effects = state.apply_share(
            ShareEvent::UploadFinished {
                id,
                result: Ok(vec!["/in/note.txt".into()]),
            },
            0,
        );
        assert_eq!(
            state.transfers[0].single_file(),
            Some(PathBuf::from("/in/note.txt"))
        );
        assert_eq!(records(&effects)[0].bytes, 5000, "the announced size");
    }
}
