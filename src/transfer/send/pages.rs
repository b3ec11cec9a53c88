//! The sender's disk thread once the offer is accepted: it lists each wanted
//! folder lazily in pages (walking as it goes, a few pages ahead of the
//! bytes), takes the receiver's answer to each page, and reads the wanted
//! files of answered pages in order through [`super::readahead`]. It holds at
//! most [`PAGES_AHEAD`] pages, never a folder's whole list, so memory does not
//! grow with the number of files. It reads the disk; it never touches the
//! connection (the worker forwards pages and answers).

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::thread;

use crossbeam_channel::{Receiver, Sender, TryRecvError, bounded};

use super::readahead::{self, Gone, Job, Piece, ReadAhead, Reader};
use super::source::{self, SourceEntry, SourceError};
use crate::protocol::limits::{MAX_OPEN_PAGES, MAX_PAGE_ENTRIES};
use crate::protocol::{Contents, Entry, EntryKind, WantedFile};

/// Pages listed ahead of the bytes: the receiver plans them while earlier
/// files cross, so the wire never waits a round trip per page.
pub const PAGES_AHEAD: usize = 4;

/// Entries a page holds (the wire allows up to [`MAX_PAGE_ENTRIES`]):
/// with [`PAGES_AHEAD`] pages listed ahead, about a thousand entries are in
/// flight, plenty to cover a round trip, and little memory on both sides.
const PAGE_ENTRIES: usize = 256;

/// A page is cut at this many bytes of names, well inside one control frame.
const PAGE_NAME_BYTES: usize = 64 * 1024;

const _: () = assert!(PAGE_ENTRIES <= MAX_PAGE_ENTRIES);

// The receiver holds every page we list ahead, plus the one being sent.
const _: () = assert!(PAGES_AHEAD < MAX_OPEN_PAGES);

/// A wanted top-level folder.
#[derive(Debug, Clone)]
pub struct FolderJob {
    /// Its entry index in the offer.
    pub item: u32,
    /// Where it is.
    pub top: PathBuf,
    /// Its name in the offer.
    pub name: String,
    /// What the offer said it holds: the listing never goes beyond it.
    pub budget: Contents,
}

/// Everything the receiver accepted.
#[derive(Debug, Default)]
pub struct Work {
    /// Wanted top-level files, ascending.
    pub files: Vec<Job>,
    /// Wanted top-level folders, ascending.
    pub folders: Vec<FolderJob>,
    /// The first entry index of listings (the offer's entry count).
    pub first_index: u32,
}

/// The receiver's answer to one page.
#[derive(Debug)]
pub struct Want {
    /// The page's first entry index.
    pub first: u32,
    /// Wanted files of the page.
    pub files: Vec<WantedFile>,
}

/// The worker's end of the disk thread.
pub struct DiskSide {
    /// Pieces (and pages) in wire order, and the recycled buffers.
    pub read: ReadAhead,
    /// The receiver's answers go here, in order.
    pub wants: Sender<Want>,
}

/// Starts the disk thread. It stops early when the worker drops its end.
pub fn start(work: Work, name: String) -> io::Result<DiskSide> {
    let (reader, read) = readahead::reader();
    // More answers than pages listed is a breach the worker reports.
    let (wants, answers) = bounded(PAGES_AHEAD + 1);
    thread::Builder::new().name(name).spawn(move || {
        let mut disk = Disk {
            reader,
            answers,
            pending: VecDeque::new(),
            listed_pages: 0,
            next_index: work.first_index,
        };
        if disk.run(work).is_ok() {
            let _ = disk.reader.send(Piece::Finished);
        }
    })?;
    Ok(DiskSide { read, wants })
}

/// A listed file, until its page is answered.
struct Listed {
    index: u32,
    name: String,
    size: u64,
    modified_ms: Option<i64>,
    local: Option<PathBuf>,
}

/// A page sent (or the offer's own files), waiting for its answer or to be read.
struct Pending {
    /// `None` for the offer's top-level files (answered by the Accept).
    first: Option<u32>,
    files: Vec<Listed>,
    /// The files to read, once answered.
    jobs: Option<Vec<Job>>,
}

/// A folder being listed, with what is left of its budget.
struct Listing {
    item: u32,
    name: String,
    walk: Box<dyn Iterator<Item = Result<SourceEntry, SourceError>> + Send>,
    left: Contents,
}

struct Disk {
    reader: Reader,
    answers: Receiver<Want>,
    pending: VecDeque<Pending>,
    /// Pages in `pending` (not counting the offer's own files).
    listed_pages: usize,
    next_index: u32,
}

impl Disk {
    fn run(&mut self, work: Work) -> Result<(), Gone> {
        self.pending.push_back(Pending {
            first: None,
            files: Vec::new(),
            jobs: Some(work.files),
        });
        let mut folders = work.folders.into_iter();
        let mut listing = folders.next().map(Listing::of);
        loop {
            loop {
                match self.answers.try_recv() {
                    Ok(want) => self.answer(want)?,
                    Err(TryRecvError::Empty) => break,
                    // The worker is gone.
                    Err(TryRecvError::Disconnected) => return Err(Gone),
                }
            }
            if self.listed_pages < PAGES_AHEAD
                && let Some(folder) = listing.as_mut()
            {
                if !self.list_page(folder)? {
                    if folder.left.files > 0 {
                        // Both sides count them: the receiver misses them too.
                        let gone = u32::try_from(folder.left.files).unwrap_or(u32::MAX);
                        self.reader.send(Piece::Unlisted(
                            format!(
                                "{}: {gone} offered file(s) were gone when it was sent",
                                folder.name
                            ),
                            gone,
                        ))?;
                    }
                    listing = folders.next().map(Listing::of);
                }
                continue;
            }
            if let Some(jobs) = self.pending.front_mut().and_then(|p| p.jobs.take()) {
                if self.pending.pop_front().is_some_and(|p| p.first.is_some()) {
                    self.listed_pages -= 1;
                }
                for job in &jobs {
                    self.reader.file(job)?;
                }
                continue;
            }
            if self.pending.is_empty() && listing.is_none() {
                return Ok(());
            }
            // Small files already read go to the worker before we wait.
            self.reader.flush()?;
            let want = self.answers.recv().map_err(|_| Gone)?;
            self.answer(want)?;
        }
    }

    /// Lists the next page of `folder`; `false` when it has nothing more.
    fn list_page(&mut self, folder: &mut Listing) -> Result<bool, Gone> {
        let first = self.next_index;
        let mut entries = Vec::new();
        let mut files = Vec::new();
        let mut name_bytes = 0usize;
        while entries.len() < PAGE_ENTRIES && name_bytes < PAGE_NAME_BYTES {
            let Some(found) = folder.walk.next() else {
                break;
            };
            let found = match found {
                Ok(found) => found,
                Err(e) => return self.fail(format!("Cannot send: {e}.")),
            };
            if !folder.fits(&found.entry) {
                let name = found.entry.path.join("/");
                let files = u32::from(found.entry.kind == EntryKind::File);
                self.reader.send(Piece::Unlisted(
                    format!("{name}: appeared or grew after the offer was made; not sent"),
                    files,
                ))?;
                continue;
            }
            let Some(index) = first.checked_add(entries.len() as u32) else {
                return self.fail("Cannot send more than 4,294,967,295 entries at once.".into());
            };
            name_bytes += found.entry.path.iter().map(String::len).sum::<usize>();
            if found.entry.kind == EntryKind::File {
                files.push(Listed {
                    index,
                    name: found.entry.path.join("/"),
                    size: found.entry.size,
                    modified_ms: found.entry.modified_ms,
                    local: found.local,
                });
            }
            entries.push(found.entry);
        }
        if entries.is_empty() {
            return Ok(false);
        }
        let Some(next) = first.checked_add(entries.len() as u32) else {
            return self.fail("Cannot send more than 4,294,967,295 entries at once.".into());
        };
        self.next_index = next;
        self.pending.push_back(Pending {
            first: Some(first),
            files,
            jobs: None,
        });
        self.listed_pages += 1;
        self.reader.send(Piece::Page {
            item: folder.item,
            first,
            entries,
        })?;
        Ok(true)
    }

    /// Takes the receiver's answer to the oldest unanswered page: only its
    /// files, ascending, from a byte within them.
    fn answer(&mut self, want: Want) -> Result<(), Gone> {
        let page = self
            .pending
            .iter_mut()
            .find(|p| p.first.is_some() && p.jobs.is_none());
        let Some(page) = page.filter(|p| p.first == Some(want.first)) else {
            return self.fail("The receiver answered a page that was not listed.".into());
        };
        let mut jobs = Vec::with_capacity(want.files.len());
        let mut listed = page.files.iter_mut();
        for wanted in &want.files {
            let file = listed.find(|f| f.index >= wanted.index);
            let Some(file) = file.filter(|f| f.index == wanted.index && wanted.offset <= f.size)
            else {
                return self.fail("The receiver's answer was malformed.".into());
            };
            jobs.push(Job {
                index: file.index,
                name: std::mem::take(&mut file.name),
                offset: wanted.offset,
                size: file.size,
                modified_ms: file.modified_ms,
                local: file.local.take(),
            });
        }
        page.files = Vec::new();
        page.jobs = Some(jobs);
        Ok(())
    }

    fn fail<T>(&mut self, reason: String) -> Result<T, Gone> {
        self.reader.send(Piece::Failed(reason))?;
        Err(Gone)
    }
}

impl Listing {
    fn of(folder: FolderJob) -> Listing {
        Listing {
            item: folder.item,
            name: folder.name.clone(),
            walk: source::walk_ahead(
                folder.top,
                folder.name,
                format!("ferry-list-{}", folder.item),
            ),
            left: folder.budget,
        }
    }

    /// Counts `entry` against what the offer announced; `false` if it does
    /// not fit (the folder changed since the offer was made).
    fn fits(&mut self, entry: &Entry) -> bool {
        let left = &mut self.left;
        match entry.kind {
            EntryKind::File if left.files > 0 && entry.size <= left.bytes => {
                left.files -= 1;
                left.bytes -= entry.size;
                true
            }
            EntryKind::Directory if left.folders > 0 => {
                left.folders -= 1;
                true
            }
            _ => false,
        }
    }
}
