//! The one seam between Ferry's wire messages and the engine's vocabulary
//! ([`crate::api`]): conversions both ways for devices and offer entries.
//! The window and the CLI only ever see the api side.

use super::messages::{DeviceInfo, Entry, EntryKind};
use crate::api::{Device, ItemKind, OfferItem, OfferSummary};

impl From<&DeviceInfo> for Device {
    fn from(info: &DeviceInfo) -> Self {
        Device {
            device_id: info.device_id.clone(),
            alias: info.alias.clone(),
            os: info.os.clone(),
            port: info.port,
        }
    }
}

impl From<&Device> for DeviceInfo {
    fn from(device: &Device) -> Self {
        DeviceInfo {
            device_id: device.device_id.clone(),
            alias: device.alias.clone(),
            os: device.os.clone(),
            port: device.port,
        }
    }
}

impl From<&Entry> for OfferItem {
    fn from(entry: &Entry) -> Self {
        OfferItem {
            path: entry.path.clone(),
            kind: match &entry.kind {
                EntryKind::File => ItemKind::File,
                EntryKind::Directory => ItemKind::Directory,
                EntryKind::Text(text) => ItemKind::Text(text.clone()),
            },
            size: entry.size,
            modified_ms: entry.modified_ms,
        }
    }
}

/// The view of every entry, for a prompt.
pub fn items(entries: &[Entry]) -> Vec<OfferItem> {
    entries.iter().map(OfferItem::from).collect()
}

/// The summary of an offer for a person to judge, listing every entry.
pub fn summary(entries: &[Entry], free_bytes: Option<u64>) -> OfferSummary {
    OfferSummary::of(items(entries), free_bytes)
}

/// Like [`summary`] listing only the top-level entries (what a transfer row
/// names): where nobody reads the whole list, 10,000 entries would be
/// megabytes copied for nothing.
pub fn outline(entries: &[Entry], free_bytes: Option<u64>) -> OfferSummary {
    let mut summary = OfferSummary::empty(free_bytes);
    for entry in entries {
        match &entry.kind {
            EntryKind::File => summary.count(&ItemKind::File, entry.size),
            EntryKind::Directory => summary.count(&ItemKind::Directory, 0),
            EntryKind::Text(text) => summary.texts.push(text.clone()),
        }
        if entry.path.len() == 1 {
            summary.entries.push(OfferItem::from(entry));
        }
    }
    summary
}
