//! Verdicts and endings: a finished file is checked (size and SHA-256)
//! and only then given its final name; the transfer's end is turned into an
//! outcome, with the right word to the sender and the partial files kept
//! (connection lost, disk trouble: a resume continues them) or removed
//! (cancelled, the peer misbehaved). It never writes file contents.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::Digest;

use super::lander::{Job, Landed, keep_partial};
use super::resume::{self, FilePlan};
use super::{Body, Current, Receiving, Stop};
use crate::api::{Outcome, Party};
use crate::fs::folder::{self, Folder};
use crate::protocol::{CancelReason, FileVerdict, Message};
use crate::transfer::progress::Meter;

impl Receiving<'_> {
    /// Checks the file that just ended against the sender's `sha256` and
    /// names it, or hands it to the lander if it was held in memory.
    pub(super) fn finish_file(
        &mut self,
        open: Current,
        sha256: [u8; 32],
        meter: &mut Meter,
    ) -> Result<(), Stop> {
        let Current {
            plan,
            body,
            hasher,
            received,
            meta,
            unnamed,
        } = open;
        let file = match body {
            Body::Disk(file) => file,
            Body::Held { bytes, folder } => {
                let job = Job {
                    plan,
                    folder,
                    bytes,
                    digest: hasher.finalize().into(),
                    sha256,
                };
                return self.hand_over(job, meter);
            }
        };
        // Verdicts go in the order the files came: the lander's first.
        self.take_ready(meter, true)?;
        meter.file_done();
        let ours: [u8; 32] = hasher.finalize().into();
        let verdict = if received != plan.size || ours != sha256 {
            drop(file);
            if !plan.already_final && !unnamed {
                resume::discard_part(&plan);
            }
            self.failures
                .note(format!("{}: checksum mismatch", plan.display()));
            FileVerdict::Mismatch
        } else if plan.already_final {
            self.count_verified(&plan, plan.final_path.clone());
            FileVerdict::Verified
        } else {
            if let Some(time) = plan.modified_ms.and_then(time_from_ms) {
                let _ = file.set_modified(time);
            }
            let placed = if unnamed {
                self.link_into_place(&plan, &file)
            } else {
                drop(file);
                self.promote_here(&plan)
                    .map_or_else(|| resume::promote(&plan), Ok)
            };
            match placed {
                Ok(path) => {
                    if meta {
                        resume::forget_part_meta(&plan);
                    }
                    self.count_verified(&plan, path);
                    FileVerdict::Verified
                }
                Err(e) => {
                    let reason = format!("cannot be renamed into place: {e}");
                    self.failures.note(format!("{}: {reason}", plan.display()));
                    FileVerdict::Failed(reason)
                }
            }
        };
        self.reply(Message::FileResult {
            index: plan.index,
            verdict,
        })
    }

    /// Renames the verified partial through the open folder when it is the
    /// file's folder and the planned name is free; `None` sends the caller to
    /// [`resume::promote`], which also finds a numbered name if needed.
    fn promote_here(&self, plan: &FilePlan) -> Option<PathBuf> {
        let folder = self.folder.as_ref()?;
        if plan.final_path.parent() != Some(folder.path()) {
            return None;
        }
        let name = plan.final_path.file_name()?;
        match folder.rename_no_replace(&folder::part_name(name), name) {
            Ok(true) => Some(plan.final_path.clone()),
            _ => None,
        }
    }

    pub(super) fn count_verified(&mut self, plan: &FilePlan, path: PathBuf) {
        self.verified += 1;
        self.verified_bytes += plan.size;
        (self.shared.sink).emit_verified(&mut self.backlog, self.id, path);
    }

    /// A file the lander finished after the transfer stopped: counted (its
    /// verdict cannot go any more; a resume finds it in place).
    fn count_landed_at_stop(&mut self, landed: Landed) {
        match landed {
            Landed::Verified(plan, path) => self.count_verified(&plan, path),
            Landed::Mismatch(plan) => self
                .failures
                .note(format!("{}: checksum mismatch", plan.display())),
            Landed::Failed(plan, reason) => {
                self.failures.note(format!("{}: {reason}", plan.display()));
            }
            Landed::Stopped(..) => {}
        }
    }

    /// The end of a transfer that ran to the sender's `Done`: complete only
    /// if every file verified.
    pub(super) fn completed(&mut self) -> Outcome {
        if self.failures.is_empty() {
            for root in &self.plan.roots {
                resume::finish_root(&root.path);
            }
            self.settle_all_dirs();
            Outcome::Completed {
                files: self.verified,
                bytes: self.verified_bytes,
            }
        } else {
            Outcome::Failed(self.failures.sentence(self.files_total))
        }
    }

    /// Says the right thing to the peer, cleans up, and describes the end.
    pub(super) fn finish_stop(&mut self, stop: Stop, current: Option<Current>) -> Outcome {
        // Files already complete are landed (and counted) whatever the stop.
        for landed in self.lander.finish() {
            self.count_landed_at_stop(landed);
        }
        // An unnamed file stays open until it is kept (named) or dropped; a
        // held one was never on disk.
        let in_flight = current.map(|open| {
            let partial = match open.body {
                Body::Held { bytes, folder } => Partial::Held(bytes, folder),
                Body::Disk(file) if open.unnamed => Partial::Unnamed(file),
                Body::Disk(_) => Partial::Named,
            };
            (open.plan, open.meta, partial)
        });
        // The partial of a small file is kept for a resume too: give it its
        // partial name if it has none yet, and the sidecar it was created
        // without (best effort: the disk may be full). A partial whose
        // sidecar cannot be written goes: without it the next try could not
        // tell it is ours. A held file of which nothing arrived is not kept.
        let keep = |this: &Self| {
            if let Some((plan, false, partial)) = &in_flight {
                let named = match partial {
                    Partial::Named => true,
                    Partial::Unnamed(file) => this.name_part(plan, file).is_ok(),
                    Partial::Held(bytes, _) if bytes.is_empty() => false,
                    Partial::Held(bytes, folder) => keep_partial(plan, folder, bytes).is_ok(),
                };
                if named
                    && resume::write_part_meta(plan, &this.offer.sender.device_id).is_err()
                    && !plan.already_final
                {
                    resume::discard_part(plan);
                }
            }
        };
        let discard = |_: &Self| {
            if let Some((plan, _, Partial::Named)) = &in_flight
                && !plan.already_final
            {
                resume::discard_part(plan);
            }
        };
        match stop {
            // A cancel keeps the partial for a resume (a retry goes on from
            // it), unless the person chose "Cancel and discard".
            Stop::Cancelled(Party::Local) => {
                let _ = self.writer.send_now(&Message::Cancel(CancelReason::User));
                if self.shared.take_discard(self.id) {
                    discard(self);
                } else {
                    keep(self);
                }
                Outcome::Cancelled { by: Party::Local }
            }
            Stop::Cancelled(Party::Remote) => {
                keep(self);
                Outcome::Cancelled { by: Party::Remote }
            }
            Stop::Lost(reason) => {
                keep(self);
                // The same offer from this device, sent again by its engine
                // once the device is back, goes on without asking.
                if let Some(decision) = self.accepted.take() {
                    self.shared.interrupted.note(
                        &self.offer.sender.device_id,
                        self.offer.transfer_id,
                        decision,
                    );
                }
                let kept = if in_flight.is_some() {
                    " The partial file was kept: send again to resume."
                } else {
                    ""
                };
                Outcome::Failed(format!("{reason}{}{kept}", self.progress_note()))
            }
            Stop::Local(reason) => {
                keep(self);
                let _ = self
                    .writer
                    .send_now(&Message::Cancel(CancelReason::Error(reason.clone())));
                // Say "kept" only when there is a partial (creating it may be what failed).
                let kept = if in_flight.is_some() {
                    " The partial file was kept: send again to resume once that is fixed."
                } else {
                    ""
                };
                Outcome::Failed(format!("{reason}{kept}"))
            }
            Stop::Remote(reason) => {
                let _ = self
                    .writer
                    .send_now(&Message::Cancel(CancelReason::Error(reason.clone())));
                discard(self);
                Outcome::Failed(format!(
                    "Transfer from {} failed: {reason}.",
                    self.sender_name()
                ))
            }
        }
    }
}

/// Where the file being received when the transfer stopped is.
enum Partial {
    /// Under its partial name.
    Named,
    /// Open, with no name yet.
    Unnamed(std::fs::File),
    /// In memory only (a small new file).
    Held(Vec<u8>, Arc<Folder>),
}

/// The time a peer gave in ms since 1970, if this system can represent it
/// (Windows' clock panics on `+`/`-` beyond 1601..30828).
pub(super) fn time_from_ms(ms: i64) -> Option<SystemTime> {
    let span = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH.checked_add(span)
    } else {
        UNIX_EPOCH.checked_sub(span)
    }
}

/// "No space left on device" and friends, for people.
pub fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::StorageFull => "not enough space on the disk".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::ReadOnlyFilesystem => "the disk is read-only".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::receive::saturating_sum;

    /// Modification times come from the peer: extremes must not panic on any
    /// system (Windows' clock cannot go before 1601).
    #[test]
    fn extreme_peer_times_never_panic() {
        for ms in [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX] {
            let _ = time_from_ms(ms);
        }
        assert_eq!(time_from_ms(0), Some(UNIX_EPOCH));
        assert_eq!(saturating_sum([u64::MAX, 1, 2].into_iter()), u64::MAX);
    }
}
