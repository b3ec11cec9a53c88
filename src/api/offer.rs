//! The view of an offer: its items (files, folders, texts) and the summary a
//! person judges it by. The engine builds it from the wire's offer; paths are
//! the sender's, unsanitised, for display only.

use serde::{Deserialize, Serialize};

/// What one item of an offer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemKind {
    /// A regular file.
    File,
    /// A folder (possibly empty).
    Directory,
    /// A short text message.
    Text(String),
}

/// One item of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferItem {
    /// Relative path as separate components, as the sender named them.
    /// Empty for texts.
    pub path: Vec<String>,
    /// File, folder or text.
    pub kind: ItemKind,
    /// Size in bytes (files only; 0 otherwise).
    pub size: u64,
    /// Modification time in milliseconds since the Unix epoch, if known.
    pub modified_ms: Option<i64>,
}

/// What an incoming offer contains, for the prompt. Built by the service
/// that received the offer (for Ferry's wire: `protocol::views`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferSummary {
    /// The top-level items as offered (a folder's `size` is the bytes inside
    /// it); what is inside folders is counted, not listed.
    pub entries: Vec<OfferItem>,
    /// Number of files, at any depth.
    pub files: u32,
    /// Number of folders, at any depth.
    pub folders: u32,
    /// Bytes of all files.
    pub total_bytes: u64,
    /// Free bytes in the download folder, if known.
    pub free_bytes: Option<u64>,
    /// Text messages.
    pub texts: Vec<String>,
    /// Bytes of the offered top-level files that this device already holds
    /// from an earlier, interrupted try (kept partial files from the same
    /// sender): they will not cross the wire again ("Resuming after 612 MiB").
    pub resumed_bytes: u64,
}

impl OfferSummary {
    /// An empty summary, to be filled with [`OfferSummary::count`].
    pub fn empty(free_bytes: Option<u64>) -> Self {
        OfferSummary {
            entries: Vec::new(),
            files: 0,
            folders: 0,
            total_bytes: 0,
            free_bytes,
            texts: Vec::new(),
            resumed_bytes: 0,
        }
    }

    /// Counts one item (without listing it in `entries`).
    pub fn count(&mut self, kind: &ItemKind, size: u64) {
        match kind {
            ItemKind::File => {
                self.files = self.files.saturating_add(1);
                self.total_bytes = self.total_bytes.saturating_add(size);
            }
            ItemKind::Directory => self.folders = self.folders.saturating_add(1),
            ItemKind::Text(text) => self.texts.push(text.clone()),
        }
    }

    /// Counts what a folder holds (its files, folders and bytes), unlisted.
    pub fn add_inside(&mut self, files: u64, folders: u64, bytes: u64) {
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        self.files = self.files.saturating_add(clamp(files));
        self.folders = self.folders.saturating_add(clamp(folders));
        self.total_bytes = self.total_bytes.saturating_add(bytes);
    }

    /// Summarises `items` and lists every one, for a person to judge.
    pub fn of(items: Vec<OfferItem>, free_bytes: Option<u64>) -> Self {
        let mut summary = OfferSummary::empty(free_bytes);
        for item in &items {
            summary.count(&item.kind, item.size);
        }
        summary.entries = items;
        summary
    }
}
