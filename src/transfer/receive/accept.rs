//! The accept step: the trust rule or the person decides on the offer's
//! summary, then the plan of its top-level items (download folder usable,
//! enough space for everything offered, names picked and claimed, folders
//! created) and the Accept that tells the sender which files to send from
//! which byte and which folders to list. It creates folders and markers only; file contents are
//! [`super::stream`]'s, and nothing is created before the decision.

use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::verdict::describe_io;
use super::{Receiving, Stop, resume, saturating_sum};
use crate::api::{
    Decision, Device, Event, Outcome, Party, PeerTrust, TrustVerdict, TrustedDevice, human_bytes,
    recognise,
};
use crate::fs::free_space;
use crate::protocol::views;
use crate::protocol::{Frame, Message, Offer, WantedFile};
use crate::secure::identity::short_code;
use crate::transfer::context::Context;
use crate::transfer::worker::{READER_STOPPED, Waiter, Wake, Writer, frame_name};

/// Most offers waiting for the person's answer at once; more are refused
/// with a Decline ("too many offers are waiting") instead of shown.
pub const MAX_PENDING_PROMPTS: usize = 16;

/// Most offers from one source address waiting for an answer at once.
pub const MAX_PROMPTS_PER_ADDRESS: usize = 2;

/// What the sender is told when nobody answered within
/// [`crate::protocol::PROMPT_TIMEOUT`]; the receiver's outcome says the same.
pub const NO_ANSWER: &str = "no answer";

type Prompts = std::sync::Arc<Mutex<HashMap<IpAddr, usize>>>;

/// An offer's place among those waiting for an answer; dropping frees it.
pub(crate) struct PromptSlot {
    prompts: Prompts,
    ip: IpAddr,
}

impl Drop for PromptSlot {
    fn drop(&mut self) {
        let mut prompts = self
            .prompts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = prompts.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                prompts.remove(&self.ip);
            }
        }
    }
}

/// A place among the offers waiting for an answer, when the person is to be
/// asked about `offer` (`Ok(None)` when a trust rule decides). With no place
/// left the sender is told it is busy and a Problem is shown instead of the
/// offer (`None`, like any offer refused before it is shown).
pub(super) fn prompt_slot(
    shared: &Context,
    peer: SocketAddr,
    offer: &Offer,
    writer: &mut Writer,
) -> Option<Option<PromptSlot>> {
    let verdict = shared
        .receive_settings()
        .accept
        .judge(&offer.sender.device_id, &offer.sender.alias);
    if verdict != TrustVerdict::Ask {
        return Some(None);
    }
    let ip = peer.ip();
    match claim_prompt(&shared.prompts, ip) {
        Ok(slot) => Some(Some(slot)),
        Err(why) => {
            let _ = writer.send_now(&Message::Decline(format!("busy: {why}")));
            shared.sink.emit(Event::Problem(format!(
                "Refused an offer from {} ({peer}): {why}.",
                offer.sender.alias
            )));
            None
        }
    }
}

pub(super) fn claim_prompt(prompts: &Prompts, ip: IpAddr) -> Result<PromptSlot, String> {
    let mut waiting = prompts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let total: usize = waiting.values().sum();
    if total >= MAX_PENDING_PROMPTS {
        return Err(format!("{total} offers are already waiting for an answer"));
    }
    let mine = waiting.entry(ip).or_default();
    if *mine >= MAX_PROMPTS_PER_ADDRESS {
        return Err(format!(
            "{mine} offers from this address are already waiting for an answer"
        ));
    }
    *mine += 1;
    Ok(PromptSlot {
        prompts: prompts.clone(),
        ip,
    })
}

/// Paths claimed in [`Context::claimed`] by one transfer; dropping releases them.
pub(super) struct Claims {
    claimed: Arc<Mutex<HashSet<PathBuf>>>,
    paths: Vec<PathBuf>,
}

impl Drop for Claims {
    fn drop(&mut self) {
        let mut claimed = self
            .claimed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for path in &self.paths {
            claimed.remove(path);
        }
    }
}

impl Receiving<'_> {
    /// The trust rule's verdict, or else the person's answer (the link is kept
    /// alive meanwhile). `Err` is how the transfer already ended.
    pub(super) fn decide(&mut self, safe_paths: &[Option<PathBuf>]) -> Result<Decision, Outcome> {
        let settings = self.shared.receive_settings();
        let verdict = settings
            .accept
            .judge(&self.offer.sender.device_id, &self.offer.sender.alias);
        let mut summary = views::outline(
            &self.offer.entries,
            &self.offer.contents,
            free_space(&settings.download_dir),
        );
        summary.resumed_bytes =
            resume::resumable_bytes(&settings.download_dir, &self.offer, safe_paths);
        if verdict == TrustVerdict::Accept {
            self.shared.sink.emit(Event::AutoAccepted {
                id: self.id,
                from: Device::from(&self.offer.sender),
                addr: self.peer,
                offer: summary,
            });
            Ok(Decision::AcceptAll)
        } else if let TrustVerdict::Impostor { pinned } = verdict {
            let _ = self
                .writer
                .send_now(&Message::Decline("identity changed".into()));
            Err(Outcome::Failed(format!(
                "Refused {}: it uses the name of a trusted device, but its key {} is not the trusted key {}. \
                 If that device was really reinstalled, remove the old trust rule and trust it again.",
                self.sender_name(),
                short_code(&self.offer.sender.device_id),
                short_code(&pinned)
            )))
        } else if let Some(decision) = self.already_accepted(&settings.remembered) {
            // The offer this person accepted before the connection was lost,
            // sent again by the same remembered device: it goes on unasked.
            self.prompt = None;
            self.shared.sink.emit(Event::AutoAccepted {
                id: self.id,
                from: Device::from(&self.offer.sender),
                addr: self.peer,
                offer: summary,
            });
            Ok(decision)
        } else {
            let sender = &self.offer.sender;
            let trust = recognise(&settings.remembered, &sender.device_id, &[&sender.alias]);
            self.shared.sink.emit_queued(
                &mut self.backlog,
                Event::Incoming {
                    id: self.id,
                    from: Device::from(&self.offer.sender),
                    addr: self.peer,
                    offer: summary,
                    code: self.code.clone(),
                    key_changed: matches!(trust, PeerTrust::KeyChanged { .. }),
                },
            );
            let answer = self.await_decision();
            // Decided (or gone): the offer no longer waits for anyone.
            self.prompt = None;
            match answer {
                Ok(Some(decision)) => {
                    if decision != Decision::Decline {
                        // The person saw the code on this card and took the
                        // files: this key is the device from now on.
                        self.shared.remember(sender_of(&self.offer));
                    }
                    Ok(decision)
                }
                Ok(None) => {
                    let _ = self.writer.send_now(&Message::Decline(NO_ANSWER.into()));
                    Err(Outcome::Declined(NO_ANSWER.into()))
                }
                Err(stop) => Err(self.finish_stop(stop, None)),
            }
        }
    }

    /// The answer this person gave to this very offer (same wire id, same
    /// remembered key) before its connection was lost, within
    /// [`crate::transfer::interrupted::RESUME_WINDOW`].
    fn already_accepted(&self, remembered: &[TrustedDevice]) -> Option<Decision> {
        let sender = &self.offer.sender;
        if recognise(remembered, &sender.device_id, &[&sender.alias]) != PeerTrust::Remembered {
            return None;
        }
        self.shared
            .interrupted
            .take(&sender.device_id, self.offer.transfer_id)
    }

    /// Turns the decision into a plan on disk: names picked and claimed,
    /// folders created. A refusal (declined, no space, unusable folder) is
    /// told to the sender here and comes back as the outcome.
    pub(super) fn plan_accepted(
        &mut self,
        decision: Decision,
        safe_paths: Vec<Option<PathBuf>>,
    ) -> Result<(), Outcome> {
        let wanted: HashSet<u32> = match decision {
            Decision::Decline => {
                let _ = self.writer.send_now(&Message::Decline(String::new()));
                return Err(Outcome::Declined(String::new()));
            }
            Decision::AcceptAll => (0..self.offer.entries.len() as u32).collect(),
            Decision::AcceptSome(indices) => indices.into_iter().collect(),
        };
        // Settings may have changed while the prompt was open: use the current folder.
        let download_dir = self.shared.receive_settings().download_dir;
        let planning = Instant::now();
        let prepared = self.prepare(&download_dir, &safe_paths, &wanted);
        tracing::debug!(items = wanted.len(), elapsed = ?planning.elapsed(), "planned the top-level items");
        if let Err(reason) = prepared {
            let _ = self.writer.send_now(&Message::Decline(reason.clone()));
            return Err(Outcome::Failed(reason));
        }
        Ok(())
    }

    /// Tells the sender which top-level files to send, from which byte, and
    /// which folders to list; the top-level files are the first due.
    pub(super) fn send_accept(&mut self) -> Result<(), Outcome> {
        let files = self.plan.files.iter().map(|f| WantedFile {
            index: f.index,
            offset: f.offset,
        });
        let folders = self.plan.roots.iter().map(|r| WantedFile {
            index: r.item,
            offset: 0,
        });
        let mut accept: Vec<WantedFile> = files.chain(folders).collect();
        accept.sort_unstable_by_key(|w| w.index);
        if !self.plan.files.is_empty() {
            self.queue.push_back(self.plan.files.clone().into());
        }
        self.listing.next_index = self.offer.entries.len() as u32;
        if let Err(e) = self.writer.send_now(&Message::Accept(accept)) {
            return Err(self.finish_stop(
                Stop::Lost(format!(
                    "The connection to {} was lost: {e}.",
                    self.sender_name()
                )),
                None,
            ));
        }
        self.keepalive.wrote();
        Ok(())
    }

    /// Checks space, creates folders and picks names; nothing else is written.
    fn prepare(
        &mut self,
        dir: &Path,
        safe_paths: &[Option<PathBuf>],
        wanted: &HashSet<u32>,
    ) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "Cannot use the download folder {}: {}.",
                dir.display(),
                describe_io(&e)
            )
        })?;
        tempfile_probe(dir).map_err(|e| {
            format!(
                "Cannot write to the download folder {}: {}.",
                dir.display(),
                describe_io(&e)
            )
        })?;
        // Planning, the space check and creating folders happen under the claim
        // lock, and the plan's paths are claimed before it is released.
        let mut claimed = self
            .shared
            .claimed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let plan = resume::plan_avoiding(dir, &self.offer, safe_paths, wanted, &claimed)
            .map_err(|e| format!("Cannot prepare the download folder {}: {e}.", dir.display()))?;
        // What is inside folders counts in full: partial files in them are
        // found only as their pages come.
        let loose = plan.files.iter().map(|f| f.size.saturating_sub(f.offset));
        let needed = saturating_sum(loose.chain(plan.roots.iter().map(|r| r.left.bytes)));
        if let Some(free) = free_space(dir)
            && needed > free
        {
            return Err(format!(
                "Not enough space on the receiving device: {} needed, {} free in {}.",
                human_bytes(needed),
                human_bytes(free),
                dir.display()
            ));
        }
        resume::materialize(dir, &plan)
            .map_err(|e| format!("Cannot prepare the download folder {}: {e}.", dir.display()))?;
        let claims = plan.claims(dir);
        claimed.extend(claims.iter().cloned());
        drop(claimed);
        self.claims = Some(Claims {
            claimed: self.shared.claimed.clone(),
            paths: claims,
        });
        self.plan = plan;
        self.root_dir = dir.to_path_buf();
        Ok(())
    }

    /// The person's decision; `Ok(None)` when nobody answered within
    /// [`crate::protocol::Timeouts::prompt`].
    fn await_decision(&mut self) -> Result<Option<Decision>, Stop> {
        let waiter = Waiter::new(&self.pump, self.shared.timeouts.tick());
        let asked = Instant::now();
        loop {
            let frame = match waiter.next(&mut self.pump, self.control) {
                Wake::Decide(decision) => return Ok(Some(decision)),
                Wake::Cancel => return Ok(Some(Decision::Decline)),
                Wake::Peer(frame) => frame,
                Wake::Tick => {
                    if asked.elapsed() >= self.shared.timeouts.prompt {
                        tracing::info!(peer = %self.peer, "an offer got no answer in time");
                        return Ok(None);
                    }
                    self.shared.sink.flush(&mut self.backlog, false);
                    self.ping_if_idle()?;
                    continue;
                }
                Wake::Other(_) | Wake::Pause(_) => continue,
                Wake::ReaderStopped => return Err(Stop::Lost(READER_STOPPED.into())),
            };
            match frame {
                Ok(Frame::Message(Message::Cancel(_))) => {
                    return Err(Stop::Cancelled(Party::Remote));
                }
                Ok(other) => {
                    return Err(Stop::Remote(format!(
                        "unexpected {} before the answer",
                        frame_name(&other)
                    )));
                }
                Err(e) => return Err(self.lost(&e)),
            }
        }
    }
}

fn sender_of(offer: &Offer) -> TrustedDevice {
    TrustedDevice {
        device_id: offer.sender.device_id.clone(),
        alias: offer.sender.alias.clone(),
    }
}

/// Checks that the folder accepts new files, without leaving anything behind.
/// The probe's name is unique per call: offers prepared at the same moment in
/// one process must not collide on it.
fn tempfile_probe(dir: &Path) -> io::Result<()> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = dir.join(format!(".ferry-probe-{}-{n}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (seen as a flaky "Cannot write to the download folder ...:
    /// File exists" in the 50-senders fault test): the writability probe had
    /// one name per process, so two offers prepared at the same moment
    /// collided on it and one was declined.
    #[test]
    fn bug_concurrent_offers_failed_the_write_probe() {
        let dir = tempfile::tempdir().expect("tmp");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || (0..200).all(|_| tempfile_probe(&dir).is_ok()))
            })
            .collect();
        for thread in threads {
            assert!(thread.join().expect("thread"), "a probe collided");
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 0);
    }
}
