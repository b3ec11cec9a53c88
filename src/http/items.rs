//! What a share offers: a snapshot, taken when the share starts, of the files
//! and folders the person picked, each reachable only by its number. A
//! request names an item (and a file inside a folder) by index into this
//! list, so no path from a request ever reaches the file system. This module
//! reads metadata only; it opens no file and no socket.

use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::protocol::EntryKind;
use crate::transfer::send::source::{self, SourceError};

/// One shared file or folder, as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedItem {
    /// Its name (the last component of the path the person picked).
    pub name: String,
    /// File or folder.
    pub kind: ItemKind,
    /// Bytes of the file, or of all files in the folder.
    pub bytes: u64,
    /// The path the person picked.
    pub path: PathBuf,
    pub(crate) files: Vec<FolderFile>,
    pub(crate) dirs: Vec<String>,
    /// Modification time of a file item (ms since the epoch), for ZIP entries.
    pub(crate) modified_ms: Option<i64>,
}

/// Whether an item is a file or a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A single file.
    File,
    /// A folder, offered as a ZIP and file by file.
    Folder {
        /// Files inside, at any depth.
        files: usize,
    },
}

/// A file inside a shared folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FolderFile {
    /// Path inside the folder, `/`-separated, starting with the folder's name.
    pub(crate) rel: String,
    /// Where the bytes are.
    pub(crate) local: PathBuf,
    /// Size when the share started.
    pub(crate) size: u64,
    /// Modification time (ms since the epoch), for ZIP entries.
    pub(crate) modified_ms: Option<i64>,
}

impl SharedItem {
    /// The file name a browser saves this item under.
    pub fn download_name(&self) -> String {
        match self.kind {
            ItemKind::File => self.name.clone(),
            ItemKind::Folder { .. } => format!("{}.zip", self.name),
        }
    }

    /// The file at `index` inside a folder item.
    pub(crate) fn folder_file(&self, index: usize) -> Option<&FolderFile> {
        match self.kind {
            ItemKind::Folder { .. } => self.files.get(index),
            ItemKind::File => None,
        }
    }
}

/// Takes the snapshot. Folders are walked the way a TCP transfer walks them
/// ([`source::collect`]): links to folders are skipped, links to files are
/// served as the file.
pub(crate) fn collect(paths: &[PathBuf]) -> Result<Vec<SharedItem>, SourceError> {
    if paths.is_empty() {
        return Err(SourceError::Empty);
    }
    let mut items = Vec::new();
    for path in paths {
        let entries = source::collect(std::slice::from_ref(path))?;
        let Some(first) = entries.first() else {
            continue;
        };
        let name = first.entry.path.first().cloned().unwrap_or_default();
        if first.entry.kind == EntryKind::File && first.entry.path.len() == 1 {
            items.push(SharedItem {
                name,
                kind: ItemKind::File,
                bytes: first.entry.size,
                path: first.local.clone().unwrap_or_else(|| path.clone()),
                files: Vec::new(),
                dirs: Vec::new(),
                modified_ms: first.entry.modified_ms,
            });
            continue;
        }
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for e in &entries {
            let rel = e.entry.path.join("/");
            match (&e.entry.kind, &e.local) {
                (EntryKind::File, Some(local)) => files.push(FolderFile {
                    rel,
                    local: local.clone(),
                    size: e.entry.size,
                    modified_ms: e.entry.modified_ms,
                }),
                (EntryKind::Directory, _) => dirs.push(rel),
                _ => {}
            }
        }
        items.push(SharedItem {
            name,
            kind: ItemKind::Folder { files: files.len() },
            bytes: files.iter().map(|f| f.size).fold(0, u64::saturating_add),
            path: path.clone(),
            files,
            dirs,
            modified_ms: None,
        });
    }
    Ok(items)
}

/// Every item as one folder-like item for "Download everything": its
/// entries are the items' files under their names (`report.pdf`,
/// `album/one.jpg`), a repeated top name getting a number (`report
/// (1).pdf`), so no two ZIP entries clash.
pub(crate) fn everything(items: &[SharedItem], name: String) -> SharedItem {
    let mut taken: Vec<String> = Vec::new();
    let mut unique = |wanted: &str| {
        let mut n = 0;
        loop {
            let candidate = crate::fs::names::numbered(wanted, n);
            if !taken.contains(&candidate) {
                taken.push(candidate.clone());
                return candidate;
            }
            n += 1;
        }
    };
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    for item in items {
        let top = unique(&item.name);
        match item.kind {
            ItemKind::File => files.push(FolderFile {
                rel: top,
                local: item.path.clone(),
                size: item.bytes,
                modified_ms: item.modified_ms,
            }),
            ItemKind::Folder { .. } => {
                // Each rel starts with the folder's name: swap in the unique one.
                let renamed = |rel: &str| match rel.split_once('/') {
                    Some((_, inside)) => format!("{top}/{inside}"),
                    None => top.clone(),
                };
                dirs.extend(item.dirs.iter().map(|d| renamed(d)));
                files.extend(item.files.iter().map(|f| FolderFile {
                    rel: renamed(&f.rel),
                    ..f.clone()
                }));
            }
        }
    }
    SharedItem {
        name,
        kind: ItemKind::Folder { files: files.len() },
        bytes: items.iter().map(|i| i.bytes).fold(0, u64::saturating_add),
        path: PathBuf::new(),
        files,
        dirs,
        modified_ms: None,
    }
}

/// A Content-Type for a file name, from its extension. Unknown types, and
/// every type a browser would render as a document that can run script
/// (HTML, XHTML, SVG, XML and its stylesheets, MHTML), are
/// `application/octet-stream`: with `nosniff`, the attachment disposition
/// and a `sandbox` policy on every download, a shared HTML file is saved,
/// never run in the page's origin, even by a client that ignores one of them.
pub(crate) fn content_type(name: &str) -> &'static str {
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "md" | "csv" | "log" => "text/plain; charset=utf-8",
        "html" | "htm" | "shtml" | "xhtml" | "xht" | "svg" | "svgz" | "xml" | "xsl" | "xslt"
        | "mht" | "mhtml" => "application/octet-stream",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" | "oga" => "audio/ogg",
        "wav" => "audio/wav",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "apk" => "application/vnd.android.package-archive",
        "epub" => "application/epub+zip",
        _ => "application/octet-stream",
    }
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266
/// and RFC 8187): old clients get a plain ASCII stand-in, current ones the
/// exact UTF-8 name.
pub(crate) fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' && c != '%' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = utf8_percent_encode(name, NOT_ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Bytes that RFC 8187 `attr-char` does not allow, so `filename*` encodes
/// them: all but ASCII letters, digits and `!#$&+-.^_`|~`.
const NOT_ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_folders_become_numbered_items() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("a.txt");
        std::fs::write(&file, b"hello").expect("write");
        let folder = dir.path().join("photos");
        std::fs::create_dir_all(folder.join("sub")).expect("mkdir");
        std::fs::write(folder.join("x.jpg"), b"12").expect("write");
        std::fs::write(folder.join("sub/y.jpg"), b"345").expect("write");
        let items = collect(&[file, folder]).expect("collect");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].kind, ItemKind::File);
        assert_eq!(items[0].bytes, 5);
        assert_eq!(items[1].kind, ItemKind::Folder { files: 2 });
        assert_eq!(items[1].bytes, 5);
        assert_eq!(items[1].download_name(), "photos.zip");
        let rels: Vec<&str> = items[1].files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels, ["photos/sub/y.jpg", "photos/x.jpg"]);
        assert_eq!(items[1].dirs, ["photos", "photos/sub"]);
        assert!(items[0].folder_file(0).is_none());
    }

    #[test]
    fn content_disposition_carries_utf8_and_a_safe_fallback() {
        assert_eq!(
            content_disposition("été \"1\".pdf"),
            "attachment; filename=\"_t_ _1_.pdf\"; filename*=UTF-8''%C3%A9t%C3%A9%20%221%22.pdf"
        );
        assert_eq!(
            content_disposition("a;b\r\n.txt"),
            "attachment; filename=\"a;b__.txt\"; filename*=UTF-8''a%3Bb%0D%0A.txt"
        );
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("A.JPG"), "image/jpeg");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(content_type("x.tar.gz"), "application/gzip");
        for active in [
            "a.html", "b.HTM", "c.svg", "d.xhtml", "e.xml", "f.xsl", "g.mhtml",
        ] {
            assert_eq!(content_type(active), "application/octet-stream", "{active}");
        }
    }
}
