//! The one seam between Ferry's wire messages and the engine's vocabulary
//! ([`crate::api`]): conversions both ways for devices and offer entries.
//! The window and the CLI only ever see the api side.

use super::messages::{Contents, DeviceInfo, Entry, EntryKind};
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

/// The summary of an offer for a person to judge: the counts and bytes of
/// everything offered, and its top-level items (a folder's size is the bytes
/// inside it). Its size follows the number of top-level items, never the
/// number of files: a million files inside one folder are one item.
pub fn outline(entries: &[Entry], contents: &[Contents], free_bytes: Option<u64>) -> OfferSummary {
    let mut summary = OfferSummary::empty(free_bytes);
    let mut inside = contents.iter();
    for entry in entries {
        let mut item = OfferItem::from(entry);
        match &entry.kind {
            EntryKind::File => summary.count(&ItemKind::File, entry.size),
            EntryKind::Directory => {
                summary.count(&ItemKind::Directory, 0);
                if let Some(contents) = inside.next() {
                    summary.add_inside(contents.files, contents.folders, contents.bytes);
                    item.size = contents.bytes;
                }
            }
            EntryKind::Text(text) => {
                summary.texts.push(text.clone());
                continue;
            }
        }
        summary.entries.push(item);
    }
    summary
}
