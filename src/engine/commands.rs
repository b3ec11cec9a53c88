//! The engine's command loop: one thread that turns each [`Command`] into a
//! worker, a control message for a running transfer, or a settings change,
//! and on shutdown cancels everything that runs. It never does a transfer's
//! work itself, and hands the browser share's commands to
//! [`super::share`], which never blocks it.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;

use crossbeam_channel::{Receiver, Sender};

use super::share::ShareService;
use crate::api::{Command, Decision, Event, TransferId};
use crate::discovery::Controller;
use crate::transfer::context::{Context, Control};
use crate::transfer::send;

pub(super) fn command_loop(
    commands: Receiver<Command>,
    shared: Context,
    local_addr: Option<SocketAddr>,
    discovery: Option<Controller>,
    localsend: Option<std::sync::Arc<super::localsend::Service>>,
    resumer: Sender<super::resume::Order>,
) {
    let share = ShareService::new(shared.sink.clone());
    while let Ok(command) = commands.recv() {
        match command {
            // A LocalSend device's address goes over LocalSend's protocol.
            Command::Send { id, to, paths } => match localsend.as_ref().filter(|l| l.owns(to)) {
                Some(ls) => ls.send(id, to, crate::localsend::send::What::Paths(paths)),
                None => send::spawn(shared.clone(), id, to, send::What::Paths(paths)),
            },
            Command::SendText { id, to, text } => match localsend.as_ref().filter(|l| l.owns(to)) {
                Some(ls) => ls.send(id, to, crate::localsend::send::What::Text(text)),
                None => send::spawn(shared.clone(), id, to, send::What::Text(text)),
            },
            Command::Decide { id, decision } => deliver(&shared, id, Control::Decide(decision)),
            Command::ConfirmPeer { id, confirmed } => {
                // The sending worker reads any accept as "the codes match".
                let answer = if confirmed {
                    Decision::AcceptAll
                } else {
                    Decision::Decline
                };
                deliver(&shared, id, Control::Decide(answer))
            }
            Command::Cancel { id } => deliver(&shared, id, Control::Cancel),
            Command::UpdateReceive(settings) => {
                if let Ok(mut current) = shared.receive.write() {
                    *current = settings;
                }
            }
            Command::SetAlias(alias) => {
                if let Ok(mut device) = shared.device.write() {
                    device.alias = alias;
                }
                if let Some(discovery) = &discovery {
                    discovery.announce();
                }
                if let Some(localsend) = &localsend {
                    localsend.refresh();
                }
            }
            Command::AddPeer { addr } => match &discovery {
                Some(discovery) => {
                    if !discovery.add_peer(addr) {
                        shared.sink.emit(Event::Problem(format!(
                            "Cannot add {addr} now: discovery is busy or stopped."
                        )));
                    }
                }
                None => shared.sink.emit(Event::Problem(format!(
                    "Cannot add {addr}: discovery is off in this engine."
                ))),
            },
            Command::ForgetPeer { addr } => {
                if let Some(discovery) = &discovery
                    && !discovery.forget_peer(addr)
                {
                    tracing::warn!(%addr, "discovery is busy or stopped; {addr} is still probed");
                }
            }
            Command::ProvidePin { to, pin } => {
                if let Ok(mut pins) = shared.sender_pins.lock() {
                    pins.insert(to, pin);
                }
            }
            Command::StartShare(request) => share.start(request),
            Command::StopShare => share.stop(),
            Command::DecideUpload { id, accept } => share.decide(id, accept),
            Command::Measure(paths) => share.measure(paths),
            Command::ScanLocalSend => match &localsend {
                Some(localsend) => localsend.scan(),
                None => shared.sink.emit(Event::Problem(
                    "LocalSend is off, so there is nothing to scan with. Turn it on in the settings."
                        .into(),
                )),
            },
            Command::AddLocalSendPeer { addr } => match &localsend {
                Some(localsend) => localsend.add(addr),
                None => shared.sink.emit(Event::Problem(format!(
                    "Cannot ask {addr} for LocalSend: LocalSend is off in this engine."
                ))),
            },
            Command::Shutdown => break,
            Command::Pause { id } => deliver(&shared, id, Control::Pause(true)),
            Command::Resume { id } => deliver(&shared, id, Control::Pause(false)),
            Command::CancelAndDiscard { id } => {
                if let Ok(mut discard) = shared.discard.lock()
                    && shared.registry.lock().is_ok_and(|map| map.contains_key(&id))
                {
                    discard.insert(id);
                }
                deliver(&shared, id, Control::Cancel);
            }
            Command::StopResume { id } => {
                // A try that runs now stops too: the person said no more.
                let _ = resumer.try_send(super::resume::Order::Stop(id));
                deliver(&shared, id, Control::Cancel);
            }
        }
    }
    share.shutdown();
    drop(localsend);
    shared.stopping.store(true, Ordering::SeqCst);
    let running: Vec<Sender<Control>> = shared
        .registry
        .lock()
        .map(|map| map.values().cloned().collect())
        .unwrap_or_default();
    for control in running {
        let _ = control.try_send(Control::Cancel);
    }
    // Wake the blocking accept() so the listener thread sees the flag.
    if let Some(mut addr) = local_addr {
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500));
    }
}

fn deliver(shared: &Context, id: TransferId, control: Control) {
    let target = shared
        .registry
        .lock()
        .ok()
        .and_then(|map| map.get(&id).cloned());
    match target {
        Some(tx) => {
            let _ = tx.try_send(control);
        }
        None => tracing::debug!(%id, "command for a transfer that is not running"),
    }
}
