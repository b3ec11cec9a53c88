//! The accepted folders' listings, one page at a time: each page is checked
//! (in order, inside its folder, within what the offer announced), its names
//! judged and planned, its folders created, and answered with the files
//! wanted from it and from which byte. Planned files wait in a queue of at
//! most [`MAX_OPEN_PAGES`] pages, and folders get their times once their
//! files are in, so the receiver holds a few pages, never the whole list,
//! whatever count the sender claims. File contents are [`super::stream`]'s.

use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;

use super::resume::{self, FilePlan, PageError};
use super::verdict::{describe_io, time_from_ms};
use super::{Receiving, Stop};
use crate::protocol::limits::MAX_OPEN_PAGES;
use crate::protocol::{Entry, Message, WantedFile};

/// Where the listing of the accepted folders stands.
#[derive(Debug, Default)]
pub(super) struct Listing {
    /// The entry index the next page must start at.
    pub(super) next_index: u32,
    /// The root (in `plan.roots`) being listed: pages never go back.
    root: usize,
    /// Folders whose listing is still open, outermost first.
    open: Vec<(PathBuf, Option<i64>)>,
    /// Folders fully listed, with the index of the entry that closed them:
    /// their time is set once every file before that entry is in.
    closing: VecDeque<(PathBuf, Option<i64>, u32)>,
}

impl Receiving<'_> {
    /// One page of a folder's listing: checked, planned, its folders
    /// created, and answered with the wanted files. `idle`: no file is being
    /// written now (folders may then get their times).
    pub(super) fn on_page(
        &mut self,
        item: u32,
        first: u32,
        entries: Vec<Entry>,
        idle: bool,
    ) -> Result<(), Stop> {
        if self.queue.len() >= MAX_OPEN_PAGES {
            return Err(Stop::Remote(
                "the sender listed too far ahead of its files".into(),
            ));
        }
        if first != self.listing.next_index {
            return Err(Stop::Remote("a page came out of order".into()));
        }
        let from = self.listing.root;
        let Some(at) = self.plan.roots[from..].iter().position(|r| r.item == item) else {
            return Err(Stop::Remote(
                "a page of a folder that was not accepted, or out of order".into(),
            ));
        };
        let root = from + at;
        if root != self.listing.root {
            // The previous folder is listed: its folders close here.
            self.close_dirs_until(0, first);
            self.listing.root = root;
        }
        let top = self.offer.entries[item as usize].path.first();
        if entries.iter().any(|e| e.path.first() != top) {
            return Err(Stop::Remote("a listed entry is outside its folder".into()));
        }
        let sender = self.offer.sender.device_id.clone();
        let page = resume::plan_page(
            &self.root_dir,
            &mut self.plan.roots[root],
            &sender,
            first,
            &entries,
        )
        .map_err(|e| match e {
            PageError::Breach(what) => Stop::Remote(what.into()),
            PageError::Name(e) => Stop::Remote(format!("unsafe name: {e}")),
            PageError::Disk(e) => self.cannot_prepare(&e),
        })?;
        resume::materialize_page(&self.root_dir, &page).map_err(|e| self.cannot_prepare(&e))?;
        self.listing.next_index = u32::try_from(entries.len())
            .ok()
            .and_then(|n| first.checked_add(n))
            .ok_or_else(|| Stop::Remote("more entries than can be numbered".into()))?;
        let root_path = self.plan.roots[root].path.clone();
        for (dir, modified_ms, index) in page.dirs {
            let depth = dir
                .strip_prefix(&root_path)
                .map_or(0, |inside| inside.components().count());
            // Everything deeper than this folder's parent is complete.
            self.close_dirs_until(depth.saturating_sub(1), index);
            self.listing.open.push((dir, modified_ms));
        }
        let wanted: Vec<WantedFile> = page
            .files
            .iter()
            .map(|f| WantedFile {
                index: f.index,
                offset: f.offset,
            })
            .collect();
        if !page.files.is_empty() {
            self.queue.push_back(page.files.into());
        }
        // The sender waits for this answer before the page's bytes: now.
        self.writer
            .send_now(&Message::Want {
                first,
                files: wanted,
            })
            .map_err(|e| self.lost(&e))?;
        self.unflushed = None;
        self.unflushed_verdicts = 0;
        self.keepalive.wrote();
        if idle {
            self.settle_dirs();
        }
        Ok(())
    }

    fn cannot_prepare(&self, e: &std::io::Error) -> Stop {
        Stop::Local(format!(
            "Cannot prepare the download folder {}: {}.",
            self.root_dir.display(),
            describe_io(e)
        ))
    }

    /// Moves the open folders deeper than `depth` (inside their root) to
    /// the closing ones, closed by entry `index`.
    fn close_dirs_until(&mut self, depth: usize, index: u32) {
        while self.listing.open.len() > depth {
            let Some((dir, modified_ms)) = self.listing.open.pop() else {
                break;
            };
            self.listing.closing.push_back((dir, modified_ms, index));
        }
    }

    /// The planned file `index`, if it is the next one due. Planned files
    /// before it were skipped by the sender: they count as never sent.
    pub(super) fn take_planned(&mut self, index: u32) -> Option<FilePlan> {
        loop {
            let page = self.queue.front_mut()?;
            let Some(next) = page.front() else {
                self.queue.pop_front();
                continue;
            };
            if next.index > index {
                return None;
            }
            let plan = page.pop_front()?;
            if page.is_empty() {
                self.queue.pop_front();
            }
            if plan.index == index {
                return Some(plan);
            }
            self.failures
                .note(format!("{}: never sent", plan.display()));
        }
    }

    /// After `Done`: planned files that never came, and offered files that
    /// were never listed, count as failed.
    pub(super) fn count_missing(&mut self) {
        while let Some(mut page) = self.queue.pop_front() {
            while let Some(plan) = page.pop_front() {
                self.failures
                    .note(format!("{}: never sent", plan.display()));
            }
        }
        for root in &self.plan.roots {
            if root.left.files > 0 {
                let name = root.path.file_name().unwrap_or_default().to_string_lossy();
                self.failures.note_many(
                    format!(
                        "{name}: {} offered {} never listed",
                        crate::api::count(root.left.files, "file", "files"),
                        crate::api::noun(root.left.files, "was", "were")
                    ),
                    u32::try_from(root.left.files).unwrap_or(u32::MAX),
                );
            }
        }
    }

    /// Gives listed folders whose files have all arrived their times
    /// (deepest first, so a child's never bumps its parent's afterwards).
    /// Call only between files.
    pub(super) fn settle_dirs(&mut self) {
        let due = self
            .queue
            .front()
            .and_then(|page| page.front())
            .map_or(self.listing.next_index, |next| next.index);
        // A file still with the lander is not in its folder yet.
        let due = self.lander.oldest().map_or(due, |landing| due.min(landing));
        while self
            .listing
            .closing
            .front()
            .is_some_and(|(_, _, closed_by)| *closed_by <= due)
        {
            if let Some((dir, modified_ms, _)) = self.listing.closing.pop_front() {
                set_dir_time(&dir, modified_ms);
            }
        }
    }

    /// At the end of a complete transfer: every folder gets its time, the
    /// roots last (after their markers went).
    pub(super) fn settle_all_dirs(&mut self) {
        self.close_dirs_until(0, u32::MAX);
        while let Some((dir, modified_ms, _)) = self.listing.closing.pop_front() {
            set_dir_time(&dir, modified_ms);
        }
        for root in &self.plan.roots {
            set_dir_time(&root.path, root.modified_ms);
        }
    }
}

fn set_dir_time(dir: &std::path::Path, modified_ms: Option<i64>) {
    if let Some(time) = modified_ms.and_then(time_from_ms)
        && let Ok(handle) = File::open(dir)
    {
        let _ = handle.set_modified(time);
    }
}
