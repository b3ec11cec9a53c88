//! The browser share as plain window state: what the person is about to
//! share (a draft filled from the tray or file dialogs, and the upload
//! choice), whether a share is starting, running or stopping, the link and
//! items of the running share, a live list of downloads, uploads waiting
//! for Accept / Decline, the texts to share, and visitors waiting for Let in
//! / Refuse (when the share asks before each visitor). [`UiState::apply_share`] folds one [`ShareEvent`]
//! into it; uploads, which become rows of the transfer list and go to
//! history, are folded in `share_uploads`.
//! No drawing, no I/O, no egui: every rule is unit-tested.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::state::{Effect, TrayItem, UiState};
use crate::api::TransferId;
use crate::api::{ShareEvent, UploadPolicy};
use crate::i18n::tr;

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
    /// Texts the page shows for visitors to copy.
    pub texts: Vec<String>,
    /// Whether each new visitor waits for the person's answer.
    pub approve_visitors: bool,
}

/// One shared file or folder, as the engine summarised it.
pub use crate::api::SharedSummary as SharedEntry;

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

/// A device that has the link, waiting for Let in / Refuse.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitorPrompt {
    /// Id to answer with.
    pub id: TransferId,
    /// The device's address.
    pub from: SocketAddr,
    /// Its browser ("Chrome on Android").
    pub browser: String,
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
    /// Ask before each new visitor opens the page (for the next share).
    pub approve_visitors: bool,
    /// Texts to share with the next share, in page order.
    pub texts: Vec<String>,
    /// Visitors waiting for an answer, oldest first.
    pub visitors: Vec<VisitorPrompt>,
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

    /// Adds a text to share (trimmed; an empty or repeated one is not).
    pub fn add_text(&mut self, text: &str) -> bool {
        let text = text.trim();
        if text.is_empty() || self.texts.iter().any(|t| t == text) {
            return false;
        }
        self.texts.push(text.to_string());
        true
    }

    /// Whether there is anything to start a share with.
    pub fn ready(&self) -> bool {
        !self.draft.is_empty() || !self.texts.is_empty()
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
    tr!("transfers-browser-peer", address = from.ip().to_string())
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
            ShareEvent::VisitorRequest { id, from, browser } => {
                effects.push(Effect::Attention(tr!(
                    "title-visitor",
                    browser = &browser,
                    address = from.ip().to_canonical().to_string()
                )));
                if !self.share.visitors.iter().any(|v| v.id == id) {
                    self.share
                        .visitors
                        .push(VisitorPrompt { id, from, browser });
                }
            }
            upload => effects = self.apply_upload(upload, now_ms),
        }
        effects
    }

    /// The share is stopping: uploads still running and prompts still open
    /// end as failed, downloads still running as cut off. The phase is the
    /// caller's to set.
    pub fn share_ended(&mut self, now_ms: u64) -> Vec<Effect> {
        let effects = self.end_open_uploads(now_ms);
        // Unanswered visitors are kept out with the share.
        self.share.visitors.clear();
        for row in &mut self.share.downloads {
            if row.end.is_none() {
                row.end = Some(Err(tr!("share-stopped")));
            }
        }
        effects
    }

    fn download_mut(&mut self, id: TransferId) -> Option<&mut DownloadRow> {
        self.share.downloads.iter_mut().find(|d| d.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> SocketAddr {
        SocketAddr::from(([192, 168, 1, 31], 50123))
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
    fn visitors_wait_until_answered_or_the_share_ends() {
        let mut state = UiState::default();
        let ask = |n| ShareEvent::VisitorRequest {
            id: TransferId(n),
            from: from(),
            browser: "Chrome on Android".into(),
        };
        let effects = state.apply_share(ask(1), 0);
        assert!(
            matches!(&effects[..], [Effect::Attention(s)] if s.contains("Chrome on Android") && s.contains("192.168.1.31")),
            "{effects:?}"
        );
        state.apply_share(ask(1), 0);
        state.apply_share(ask(2), 0);
        assert_eq!(state.share.visitors.len(), 2, "one card per request");
        state.share_ended(0);
        assert!(state.share.visitors.is_empty());
    }

    #[test]
    fn texts_are_trimmed_and_taken_once() {
        let mut share = ShareState::default();
        assert!(!share.ready());
        assert!(!share.add_text("  \n "));
        assert!(share.add_text(" Wi-Fi: hunter2\nsecond line \n"));
        assert!(!share.add_text("Wi-Fi: hunter2\nsecond line"));
        assert_eq!(share.texts, ["Wi-Fi: hunter2\nsecond line"]);
        assert!(share.ready(), "a text alone is worth sharing");
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
