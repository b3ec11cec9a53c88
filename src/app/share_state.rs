//! The browser share as plain window state: what the person is about to
//! share (a draft filled from the tray or file dialogs, and the upload
//! choice), whether a share is starting, running or stopping, the link and
//! items of the running share, a live list of downloads, and uploads waiting
//! for Accept / Decline. [`UiState::apply_share`] folds one [`ShareEvent`]
//! into it. Uploads become rows of the transfer list ([`TransferRow`] with
//! `browser` set, "from browser 192.168.1.31") and go to history when they
//! end, through the same [`Effect`]s as transfers between devices.
//! No drawing, no I/O, no egui: every rule is unit-tested.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::history::HistoryEntry;
use super::rows::{Phase, TransferRow};
use super::state::{Effect, TrayItem, UiState};
use crate::http::{ItemKind, ShareEvent, SharedItem, UploadPolicy};
use crate::transfer::{Direction, Outcome, TransferId};

/// Most download rows kept; the oldest finished ones drop off.
pub const MAX_DOWNLOADS: usize = 100;

/// Where the share stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SharePhase {
    /// Not sharing: the setup form shows.
    #[default]
    Idle,
    /// A helper thread is starting the server.
    Starting,
    /// Serving.
    Sharing(ShareInfo),
    /// A helper thread is stopping the server.
    Stopping,
}

/// The running share, as the window shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareInfo {
    /// The link to give people (with its secret token).
    pub url: String,
    /// What is shared, in page order.
    pub items: Vec<SharedEntry>,
    /// Who may upload.
    pub uploads: UploadPolicy,
    /// Where uploads go.
    pub download_dir: PathBuf,
    /// Something worth knowing about how it started (e.g. another port).
    pub note: Option<String>,
}

/// One shared file or folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedEntry {
    /// Its name.
    pub name: String,
    /// Files inside, for a folder.
    pub folder_files: Option<usize>,
    /// Bytes (of all files, for a folder).
    pub bytes: u64,
}

impl From<&SharedItem> for SharedEntry {
    fn from(item: &SharedItem) -> Self {
        SharedEntry {
            name: item.name.clone(),
            folder_files: match item.kind {
                ItemKind::File => None,
                ItemKind::Folder { files } => Some(files),
            },
            bytes: item.bytes,
        }
    }
}

/// One download by a browser (one HTTP request for an item).
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadRow {
    /// Event id.
    pub id: TransferId,
    /// The browser's address.
    pub from: SocketAddr,
    /// The file name the browser saves (`NAME.zip` for a folder).
    pub name: String,
    /// Bytes sent so far.
    pub done: u64,
    /// Bytes in the response, when known (not for a ZIP).
    pub total: Option<u64>,
    /// How it ended: bytes sent, or why not. `None` while running.
    pub end: Option<Result<u64, String>>,
}

impl DownloadRow {
    /// Fraction done, when the total is known.
    pub fn fraction(&self) -> Option<f32> {
        match (&self.end, self.total) {
            (Some(Ok(_)), _) => Some(1.0),
            (_, Some(total)) if total > 0 => {
                Some((self.done as f64 / total as f64).clamp(0.0, 1.0) as f32)
            }
            _ => None,
        }
    }
}

/// A browser asking to upload, waiting for Accept / Decline.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadPrompt {
    /// Id to answer with.
    pub id: TransferId,
    /// The browser's address.
    pub from: SocketAddr,
    /// File names the page announced (empty when unknown).
    pub names: Vec<String>,
    /// Total bytes announced, when known.
    pub size: Option<u64>,
}

/// Everything about the browser share.
#[derive(Debug, Default)]
pub struct ShareState {
    /// What to share when Start is pressed.
    pub draft: Vec<TrayItem>,
    /// The upload choice for the next share.
    pub uploads: UploadPolicy,
    /// Where the share stands.
    pub phase: SharePhase,
    /// Why the last start failed, as a sentence.
    pub problem: Option<String>,
    /// Downloads of this and earlier shares, newest first.
    pub downloads: Vec<DownloadRow>,
    /// Uploads waiting for an answer, oldest first.
    pub prompts: Vec<UploadPrompt>,
}

impl ShareState {
    /// Adds paths to the draft, skipping ones already there; returns the new ones.
    pub fn add_to_draft(&mut self, items: impl IntoIterator<Item = TrayItem>) -> Vec<PathBuf> {
        let mut added = Vec::new();
        for item in items {
            if !self.draft.iter().any(|d| d.path == item.path) {
                if item.size.is_none() {
                    added.push(item.path.clone());
                }
                self.draft.push(item);
            }
        }
        added
    }

    /// The running share.
    pub fn info(&self) -> Option<&ShareInfo> {
        match &self.phase {
            SharePhase::Sharing(info) => Some(info),
            _ => None,
        }
    }
}

/// The row title's "from …" part for a browser at `from`.
pub fn browser_peer(from: SocketAddr) -> String {
    format!("browser {}", from.ip())
}

impl UiState {
    /// Folds one share server event into the state.
    pub fn apply_share(&mut self, event: ShareEvent, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            ShareEvent::DownloadStarted {
                id,
                from,
                name,
                bytes,
            } => {
                let downloads = &mut self.share.downloads;
                downloads.insert(
                    0,
                    DownloadRow {
                        id,
                        from,
                        name,
                        done: 0,
                        total: bytes,
                        end: None,
                    },
                );
                if downloads.len() > MAX_DOWNLOADS {
                    let oldest = downloads.iter().rposition(|d| d.end.is_some());
                    downloads.remove(oldest.unwrap_or(downloads.len() - 1));
                }
            }
            ShareEvent::DownloadProgress { id, done, total } => {
                if let Some(row) = self.download_mut(id)
                    && row.end.is_none()
                {
                    row.done = done;
                    row.total = total.or(row.total);
                }
            }
            ShareEvent::DownloadFinished { id, result } => {
                if let Some(row) = self.download_mut(id)
                    && row.end.is_none()
                {
                    if let Ok(sent) = result {
                        row.done = sent;
                    }
                    row.end = Some(result);
                }
            }
            ShareEvent::UploadRequest {
                id,
                from,
                names,
                size,
            } => {
                effects.push(Effect::Attention(format!(
                    "A browser at {} wants to send {}",
                    from.ip(),
                    files_phrase(names.len())
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
                        TransferRow::new(id, Direction::Incoming, "a browser".into(), None);
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

    /// The share is stopping: uploads still running and prompts still open
    /// end as failed, downloads still running as cut off. The phase is the
    /// caller's to set.
    pub fn share_ended(&mut self, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        for prompt in std::mem::take(&mut self.share.prompts) {
            let row = self.upload_row(prompt.id, prompt.from, prompt.names, prompt.size);
            self.transfers.insert(0, row);
            let why = "Sharing stopped before the upload was answered.".to_string();
            effects.extend(self.end_upload(prompt.id, Some(Outcome::Failed(why)), now_ms));
        }
        let running: Vec<TransferId> = self
            .transfers
            .iter()
            .filter(|r| r.browser && r.is_active())
            .map(|r| r.id)
            .collect();
        for id in running {
            let why = "Sharing stopped before the upload finished.".to_string();
            effects.extend(self.end_upload(id, Some(Outcome::Failed(why)), now_ms));
        }
        for row in &mut self.share.downloads {
            if row.end.is_none() {
                row.end = Some(Err("Sharing stopped.".to_string()));
            }
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
            effects.push(Effect::Attention(format!("Upload from {} ended", row.peer)));
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

    fn download_mut(&mut self, id: TransferId) -> Option<&mut DownloadRow> {
        self.share.downloads.iter_mut().find(|d| d.id == id)
    }
}

/// "1 file", "3 files", or "files" when the browser did not say.
pub fn files_phrase(count: usize) -> String {
    match count {
        0 => "files".to_string(),
        1 => "1 file".to_string(),
        n => format!("{n} files"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn downloads_follow_their_events_and_are_capped() {
        let mut state = UiState::default();
        let id = TransferId(1);
        let started = ShareEvent::DownloadStarted {
            id,
            from: from(),
            name: "a.bin".into(),
            bytes: Some(100),
        };
        state.apply_share(started, 0);
        state.apply_share(
            ShareEvent::DownloadProgress {
                id,
                done: 40,
                total: Some(100),
            },
            0,
        );
        assert_eq!(state.share.downloads[0].fraction(), Some(0.4));
        state.apply_share(
            ShareEvent::DownloadFinished {
                id,
                result: Ok(100),
            },
            0,
        );
        assert_eq!(state.share.downloads[0].end, Some(Ok(100)));
        for n in 2..(MAX_DOWNLOADS as u64 + 5) {
            state.apply_share(
                ShareEvent::DownloadStarted {
                    id: TransferId(n),
                    from: from(),
                    name: "b".into(),
                    bytes: None,
                },
                0,
            );
        }
        assert_eq!(state.share.downloads.len(), MAX_DOWNLOADS);
        assert!(
            state.share.downloads.iter().all(|d| d.id != id),
            "the finished one went first"
        );
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

    #[test]
    fn the_draft_takes_each_path_once() {
        let mut share = ShareState::default();
        let item = |p: &str| TrayItem {
            path: PathBuf::from(p),
            size: None,
        };
        assert_eq!(share.add_to_draft([item("/a"), item("/b")]).len(), 2);
        assert_eq!(share.add_to_draft([item("/a")]), Vec::<PathBuf>::new());
        assert_eq!(share.draft.len(), 2);
    }
}
