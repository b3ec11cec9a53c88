//! LocalSend as an engine service: the tokio runtime its server, discovery
//! and sends run on (built only when LocalSend is on, so an engine without
//! it pays nothing), started with the engine and stopped with it. A port
//! that is taken is reported as a problem and the engine runs on without
//! LocalSend. The protocol itself lives in `crate::localsend`.

use std::time::Duration;

use crate::api::{Event, Peer};
use crate::localsend::{LocalSend, LocalSendConfig};
use crate::transfer::context::Context;

/// Worker threads of LocalSend's runtime: its work is I/O.
const WORKERS: usize = 2;

/// The running LocalSend service.
pub(crate) struct Service {
    runtime: tokio::runtime::Runtime,
    localsend: LocalSend,
}

impl Service {
    /// Starts LocalSend; `None` (with a problem reported) if it cannot.
    pub(crate) fn start(
        shared: &Context,
        config: LocalSendConfig,
        interfaces: &[String],
        serve: bool,
    ) -> Option<Service> {
        let port = config.port;
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("ferry-localsend")
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                shared.sink.emit(Event::Problem(format!(
                    "LocalSend is off: cannot start its threads ({e})."
                )));
                return None;
            }
        };
        match LocalSend::start(runtime.handle(), shared.clone(), config, interfaces, serve) {
            Ok(localsend) => Some(Service { runtime, localsend }),
            Err(e) => {
                shared.sink.emit(Event::Problem(format!(
                    "LocalSend is off: its port {port} cannot be used ({e}). Another LocalSend app may be running; the LocalSend port can be changed in the settings."
                )));
                runtime.shutdown_background();
                None
            }
        }
    }

    /// The LocalSend devices listed.
    pub(crate) fn peers(&self) -> Vec<Peer> {
        self.localsend.peers()
    }

    /// Where the HTTPS server listens, if it runs.
    pub(crate) fn server_addr(&self) -> Option<std::net::SocketAddr> {
        self.localsend.server_addr()
    }

    /// Asks the LocalSend device at `addr` who it is, and lists it.
    pub(crate) fn add(&self, addr: std::net::SocketAddr) {
        self.localsend.add(self.runtime.handle(), addr);
    }

    /// Announces now (the alias changed).
    pub(crate) fn refresh(&self) {
        self.localsend.refresh();
    }

    /// A person asked to look for LocalSend devices: announce, and run the
    /// bounded register scan of the chosen interfaces' subnets.
    pub(crate) fn scan(&self) {
        self.localsend.scan(self.runtime.handle());
    }

    /// True when `to` is a LocalSend device's server: a send there goes
    /// over LocalSend's protocol.
    pub(crate) fn owns(&self, to: std::net::SocketAddr) -> bool {
        self.localsend.owns(to)
    }

    /// Sends to the LocalSend device at `to`.
    pub(crate) fn send(
        &self,
        id: crate::api::TransferId,
        to: std::net::SocketAddr,
        what: crate::localsend::send::What,
    ) {
        self.localsend.send(self.runtime.handle(), id, to, what);
    }

    /// Stops everything and ends the runtime.
    pub(crate) fn stop(self) {
        self.localsend.stop();
        self.runtime.shutdown_timeout(Duration::from_secs(2));
    }
}
