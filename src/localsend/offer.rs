//! What a LocalSend offer asks for, before anyone is asked: each file's
//! safe place under the download folder (names cleaned by `fs::names`, a
//! name that would leave the folder refused), whether it is a text message,
//! the summary the person judges it by, and, once accepted, the final names
//! of its top-level folders (an existing folder is never mixed into). It
//! touches the disk only to look for free names.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::session::Sender;
use super::wire::{FileMeta, PrepareUpload};
use crate::api::{Device, OfferItem, OfferSummary};

/// A file of the offer, its safe place and its display path.
pub(super) struct Planned {
    pub meta: FileMeta,
    pub components: Vec<String>,
    pub rel: PathBuf,
}

pub(super) fn plan(body: &PrepareUpload) -> Result<Vec<Planned>, String> {
    let mut planned = Vec::with_capacity(body.files.len());
    for meta in body.files.values() {
        let components: Vec<String> = meta
            .file_name
            .split(['/', '\\'])
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        let rel = crate::fs::names::sanitize_relative(&components)
            .map_err(|e| format!("{:?}: {e}", meta.file_name))?;
        planned.push(Planned {
            meta: meta.clone(),
            components,
            rel,
        });
    }
    Ok(planned)
}

/// A text message: every file is a `text/plain` whose preview is the whole
/// text (LocalSend's way to send a message).
pub(super) fn texts(files: &BTreeMap<String, FileMeta>) -> Option<Vec<String>> {
    files
        .values()
        .map(|f| match &f.preview {
            Some(text) if f.file_type.starts_with("text/") && text.len() as u64 == f.size => {
                Some(text.clone())
            }
            _ => None,
        })
        .collect()
}

pub(super) fn device_of(who: &Sender, offer: &PrepareUpload) -> Device {
    Device {
        device_id: who.fingerprint.clone(),
        alias: offer.info.alias.clone(),
        os: offer
            .info
            .device_model
            .clone()
            .unwrap_or_default()
            .to_lowercase(),
        port: offer.info.port.unwrap_or(super::DEFAULT_PORT),
    }
}

pub(super) fn summary(
    planned: &[Planned],
    texts: &Option<Vec<String>>,
    dir: &Path,
) -> OfferSummary {
    let items = match texts {
        Some(texts) => texts
            .iter()
            .map(|t| OfferItem {
                path: Vec::new(),
                kind: crate::api::ItemKind::Text(t.clone()),
                size: 0,
                modified_ms: None,
            })
            .collect(),
        None => planned
            .iter()
            .map(|p| OfferItem {
                path: p.components.clone(),
                kind: crate::api::ItemKind::File,
                size: p.meta.size,
                modified_ms: None,
            })
            .collect(),
    };
    OfferSummary::of(items, crate::fs::free_space(dir))
}

/// Claims final folder names for the offer's top-level folders (an existing
/// folder is never mixed into: it becomes `name (1)`).
pub(super) fn claim_roots(
    root: &Path,
    planned: &[&Planned],
) -> std::io::Result<HashMap<PathBuf, PathBuf>> {
    let mut roots = HashMap::new();
    for p in planned {
        let mut parts = p.rel.components();
        let (Some(first), Some(_)) = (parts.next(), parts.next()) else {
            continue;
        };
        let first = PathBuf::from(first.as_os_str());
        if roots.contains_key(&first) {
            continue;
        }
        let name = first.to_string_lossy().into_owned();
        let free = crate::fs::names::first_free(root, &name, |c| !crate::fs::names::occupied(c))?;
        let free = free
            .strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or(first.clone());
        roots.insert(first, free);
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(names: &[&str]) -> PrepareUpload {
        let files = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                format!(r#""{i}":{{"id":"{i}","fileName":"{n}","size":1,"fileType":"x"}}"#)
            })
            .collect::<Vec<_>>()
            .join(",");
        PrepareUpload::parse(
            format!(r#"{{"info":{{"alias":"a"}},"files":{{{files}}}}}"#).as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn names_that_leave_the_folder_are_refused_and_folders_kept() {
        assert!(plan(&offer(&["../evil"])).is_err());
        assert!(plan(&offer(&["/etc/passwd"])).is_ok_and(|p| p[0].rel == Path::new("etc/passwd")));
        let planned = plan(&offer(&["album/a.jpg", "b.txt"])).unwrap();
        assert_eq!(planned[0].rel, Path::new("album/a.jpg"));
        assert_eq!(planned[0].components, vec!["album", "a.jpg"]);
    }

    #[test]
    fn an_existing_folder_is_never_mixed_into() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("album")).unwrap();
        let planned = plan(&offer(&["album/a.jpg", "album/b.jpg", "top.txt"])).unwrap();
        let refs: Vec<&Planned> = planned.iter().collect();
        let roots = claim_roots(root.path(), &refs).unwrap();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[Path::new("album")], Path::new("album (1)"));
    }

    #[test]
    fn a_text_is_a_text_plain_file_whose_preview_is_all_of_it() {
        let body = PrepareUpload::parse(
            br#"{"info":{"alias":"a"},"files":{"t":{"id":"t","fileName":"m.txt","size":2,"fileType":"text/plain","preview":"hi"}}}"#,
        )
        .unwrap();
        assert_eq!(texts(&body.files), Some(vec!["hi".to_string()]));
        let not = offer(&["x.bin"]);
        assert_eq!(texts(&not.files), None);
    }
}
