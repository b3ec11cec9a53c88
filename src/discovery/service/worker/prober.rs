//! Peers added by address: one named prober thread each, which says hello
//! to its peer every [`PROBE_INTERVAL`] and hands the outcome back, and the
//! discovery thread's side (starting probers, judging their results). A
//! prober owns nothing but its address: it must not touch the peer table
//! (the discovery thread alone judges and lists) and stops as soon as
//! discovery does (its stop channel disconnects) or its peer is forgotten
//! (its own channel disconnects).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Instant, SystemTime};

use crossbeam_channel::{Receiver, Sender, bounded, select};

use super::super::super::{MAX_MANUAL_PEERS, ManualStatus, PROBE_INTERVAL, probe};
use super::Service;
use crate::api::Event;
use crate::protocol::Hello;
use crate::protocol::beacon::check_device;
use crate::transfer::context::Context;

/// One running prober, as the discovery thread holds it.
pub(in super::super) struct Prober {
    addr: SocketAddr,
    /// Dropping it stops this prober alone.
    forget: Sender<()>,
    handle: thread::JoinHandle<()>,
}

impl Prober {
    /// Tells the prober to stop (at its next wait) and hands back its thread.
    pub(in super::super) fn stop(self) -> thread::JoinHandle<()> {
        drop(self.forget);
        self.handle
    }
}

/// The result of one hello probe of a peer added by address.
pub(super) struct ProbeResult {
    addr: SocketAddr,
    result: Result<Hello, String>,
}

impl Service {
    /// Starts a prober thread for a peer added by address (once per address,
    /// at most [`MAX_MANUAL_PEERS`]).
    pub(super) fn add_peer(&mut self, addr: SocketAddr) {
        if self.probers.iter().any(|p| p.addr == addr) {
            return;
        }
        if self.probers.len() >= MAX_MANUAL_PEERS {
            self.emit(Event::Problem(format!(
                "Cannot add {addr}: at most {MAX_MANUAL_PEERS} peers can be added by address."
            )));
            return;
        }
        let shared = self.shared.clone();
        let results = self.probe_tx.clone();
        let stop = self.prober_stop_rx.clone();
        let (forget, forgotten) = bounded(0);
        let spawned = thread::Builder::new()
            .name("ferry-disc-probe".into())
            .spawn(move || prober(addr, &shared, &results, &stop, &forgotten));
        match spawned {
            Ok(handle) => {
                self.probers.push(Prober {
                    addr,
                    forget,
                    handle,
                });
                self.manual.push(ManualStatus {
                    addr,
                    device: None,
                    last_ok: None,
                    last_error: None,
                    heard_us: None,
                });
            }
            Err(e) => self.emit(Event::Problem(format!("Cannot start probing {addr}: {e}."))),
        }
    }

    /// Stops probing a peer added by address: its prober ends after the
    /// probe under way (its result is then ignored) and it is no longer
    /// listed in reports. A device it found leaves the table when its
    /// entry expires, as any silent device does.
    pub(super) fn forget_peer(&mut self, addr: SocketAddr) {
        if let Some(at) = self.probers.iter().position(|p| p.addr == addr) {
            let prober = self.probers.remove(at);
            self.retired.push(prober.stop());
        }
        self.manual.retain(|m| m.addr != addr);
        // Join the ones that already finished, so the list stays short.
        let (done, running) = std::mem::take(&mut self.retired)
            .into_iter()
            .partition::<Vec<_>, _>(|h| h.is_finished());
        self.retired = running;
        for handle in done {
            let _ = handle.join();
        }
    }

    /// Judges one probe result: a usable hello lists the peer, a failure is
    /// reported once (the prober keeps trying).
    pub(super) fn on_probe(&mut self, result: ProbeResult) {
        let ours = self.shared.device();
        let Some(index) = self.manual.iter().position(|m| m.addr == result.addr) else {
            return;
        };
        let outcome = result.result.and_then(|hello| {
            check_device(&hello.device)
                .map_err(|e| format!("{} sent an unusable hello: {e}", result.addr))?;
            if hello.device.device_id == ours.device_id && hello.device.port == ours.port {
                return Err(format!("{} is this Ferry itself", result.addr));
            }
            Ok(hello)
        });
        match outcome {
            Ok(hello) => {
                let status = &mut self.manual[index];
                status.device = Some(hello.device.clone());
                status.last_ok = Some(SystemTime::now());
                status.last_error = None;
                status.heard_us = Some(hello.heard.contains(&ours.device_id));
                let change = self.table.probed(
                    &hello.device,
                    result.addr,
                    Instant::now(),
                    SystemTime::now(),
                );
                self.apply(change);
            }
            Err(reason) => {
                let status = &mut self.manual[index];
                let first_failure = status.last_error.is_none();
                status.last_error = Some(reason.clone());
                if first_failure {
                    self.emit(Event::Problem(format!(
                        "Peer added by address: {reason} (Ferry keeps trying)."
                    )));
                }
            }
        }
    }
}

/// Probes one peer added by address every [`PROBE_INTERVAL`] until
/// discovery stops (its stop channel disconnects).
fn prober(
    addr: SocketAddr,
    shared: &Context,
    results: &Sender<ProbeResult>,
    stop: &Receiver<()>,
    forgotten: &Receiver<()>,
) {
    loop {
        let heard = shared.heard.read().map(|h| h.clone()).unwrap_or_default();
        let ours = Hello {
            device: shared.device(),
            heard,
        };
        let result = probe::hello(addr, &shared.identity, &ours).map_err(|e| e.to_string());
        if results
            .send_timeout(ProbeResult { addr, result }, PROBE_INTERVAL)
            .is_err()
            && shared.stopping.load(Ordering::SeqCst)
        {
            return;
        }
        // Either channel disconnecting (or a message on it) ends the prober.
        select! {
            recv(stop) -> _ => return,
            recv(forgotten) -> _ => return,
            default(PROBE_INTERVAL) => {}
        }
    }
}
