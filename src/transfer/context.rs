//! What the engine hands its workers: the event sink, our device and
//! identity, the receive settings, the registry of running transfers and the
//! small shared tables (PINs, claimed paths, addresses of known devices). The
//! engine builds one [`Context`] and every worker gets a clone; nothing here
//! starts a thread or opens a socket.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::api::{Decision, Event, EventSink, ReceiveSettings, TransferId, TrustedDevice};
use crate::protocol::{DeviceInfo, Timeouts};
use crate::secure::identity::Identity;

/// A message from the engine to one running transfer.
#[derive(Debug, Clone)]
pub(crate) enum Control {
    /// The person's answer: to the offer (receiver), or to the pairing code
    /// (sender: any accept means the codes match, `Decline` that they do not).
    Decide(Decision),
    /// Stop.
    Cancel,
    /// The person paused (`true`) or resumed (`false`) a streaming transfer.
    Pause(bool),
}

/// Running transfers, by id, with the channel that reaches each worker.
pub(crate) type Registry = Arc<Mutex<HashMap<TransferId, Sender<Control>>>>;

/// What every worker (transfers and discovery) needs from the engine that
/// started it. Built once by the engine; cloning shares the same state.
#[derive(Clone)]
pub(crate) struct Context {
    /// Event output.
    pub sink: EventSink,
    /// Who we are.
    pub device: Arc<RwLock<DeviceInfo>>,
    /// Incoming-transfer settings.
    pub receive: Arc<RwLock<ReceiveSettings>>,
    /// Running transfers.
    pub registry: Registry,
    /// Set when the engine shuts down.
    pub stopping: Arc<AtomicBool>,
    /// Device ids whose beacons we heard lately, reported to peers in hellos
    /// (kept up to date by discovery; empty when discovery is off).
    pub heard: Arc<RwLock<Vec<String>>>,
    /// Our key and certificate.
    pub identity: Arc<Identity>,
    /// PINs to present per receiver address.
    pub sender_pins: Arc<Mutex<HashMap<SocketAddr, String>>>,
    /// Counts wrong PINs (per address and overall) and locks guessing out.
    pub pin_guard: Arc<crate::secure::pin::PinGuard>,
    /// Connection timers (handshake budget, ping interval, idle timeout).
    pub timeouts: Timeouts,
    /// Which device answered at which address lately (from discovery), so a
    /// send to that address can insist on that device's key.
    pub known: KnownAddrs,
    /// Final paths and folder roots that running incoming transfers will
    /// write, so two offers planned at the same moment never pick the same name.
    pub claimed: Arc<Mutex<HashSet<PathBuf>>>,
    /// Offers waiting for the person's answer, per source address (see
    /// [`crate::transfer::receive::MAX_PENDING_PROMPTS`]).
    pub prompts: Arc<Mutex<HashMap<std::net::IpAddr, usize>>>,
    /// Incoming transfers whose person chose "Cancel and discard": their
    /// partial file goes instead of being kept for a resume.
    pub discard: Arc<Mutex<HashSet<TransferId>>>,
    /// Accepted offers whose connection was lost, and the answer given, so
    /// the same offer from the same remembered device resumes unasked.
    pub interrupted: crate::transfer::interrupted::Interrupted,
    /// Incoming sessions running, so the same offer sent again ends the
    /// old one instead of being taken for a new offer.
    pub running: crate::transfer::running::Running,
    /// Where a sending worker reports a send the engine may resume by
    /// itself (`None` in engines that do not, e.g. before it is wired).
    pub resumer: Option<Sender<crate::transfer::interrupted::Resumable>>,
}

impl Context {
    /// A copy of our device description.
    pub fn device(&self) -> DeviceInfo {
        self.device
            .read()
            .map(|d| d.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// A copy of the current receive settings.
    pub fn receive_settings(&self) -> ReceiveSettings {
        self.receive
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Remembers `device` by key (a person confirmed its code or accepted
    /// its offer) and reports it for the settings file, once per key.
    pub fn remember(&self, device: TrustedDevice) {
        let added = self
            .receive
            .write()
            .map(|mut settings| settings.remember(device.clone()))
            .unwrap_or(false);
        if added {
            self.sink.emit(Event::Remembered(device));
        }
    }

    /// Registers a transfer and returns its control channel.
    pub fn register(&self, id: TransferId) -> Receiver<Control> {
        let (tx, rx) = bounded(8);
        if let Ok(mut map) = self.registry.lock() {
            map.insert(id, tx);
        }
        rx
    }

    /// True once (and only once) when the person asked to discard what
    /// arrived of incoming transfer `id`.
    pub fn take_discard(&self, id: TransferId) -> bool {
        self.discard.lock().is_ok_and(|mut set| set.remove(&id))
    }

    /// Lets transfer `old`'s controls (the window's row) reach the session
    /// `new`, which continues it.
    pub fn adopt(&self, old: TransferId, new: TransferId) {
        if let Ok(mut map) = self.registry.lock()
            && let Some(tx) = map.get(&new).cloned()
        {
            map.insert(old, tx);
        }
    }

    /// Forgets a finished transfer.
    pub fn unregister(&self, id: TransferId) {
        if let Ok(mut map) = self.registry.lock() {
            map.remove(&id);
        }
    }
}

/// Which device id answered at which address lately; written by discovery
/// as it reports devices, read by the sender before it trusts a receiver.
#[derive(Clone, Default)]
pub(crate) struct KnownAddrs(Arc<RwLock<HashMap<SocketAddr, (String, String)>>>);

impl KnownAddrs {
    /// Remembers the addresses of a device that was reported present, or
    /// forgets a device reported gone.
    pub fn note(&self, event: &Event) {
        let Ok(mut known) = self.0.write() else {
            return;
        };
        match event {
            Event::PeerSeen(peer) => {
                for addr in &peer.addrs {
                    let device = &peer.device;
                    known.insert(*addr, (device.device_id.clone(), device.alias.clone()));
                }
            }
            Event::PeerGone { device_id } => known.retain(|_, (id, _)| id != device_id),
            _ => {}
        }
    }

    /// True when a device with this id (any case) is listed now; LocalSend
    /// uses it so that a Ferry device is never listed twice.
    pub fn has_device(&self, device_id: &str) -> bool {
        self.0.read().is_ok_and(|known| {
            known
                .values()
                .any(|(id, _)| id.eq_ignore_ascii_case(device_id))
        })
    }

    /// Where the device with this id (any case) answers now: `preferred`
    /// if it is one of its addresses, else any of them; `None` when it is
    /// not listed.
    pub fn address_of(&self, device_id: &str, preferred: SocketAddr) -> Option<SocketAddr> {
        let known = self.0.read().ok()?;
        let mut addrs = known
            .iter()
            .filter(|(_, (id, _))| id.eq_ignore_ascii_case(device_id))
            .map(|(addr, _)| *addr);
        let first = addrs.next()?;
        Some(if first == preferred || addrs.any(|a| a == preferred) {
            preferred
        } else {
            first
        })
    }

    /// The device id and name last seen answering at `addr`, if any.
    pub fn expected_device(&self, addr: SocketAddr) -> Option<(String, String)> {
        self.0
            .read()
            .ok()
            .and_then(|known| known.get(&addr).cloned())
    }
}
