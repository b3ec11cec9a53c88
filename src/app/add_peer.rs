//! "Add by address…" from the typed text to a listed device: the name is
//! looked up on a helper thread, then the engine probes the address while
//! the dialog waits. The dialog closes when the device answers; when it
//! does not, it says why in plain words (nothing answered, something that is
//! not Ferry answered, it is this computer) and offers to keep trying in
//! the background or to give up. It owns only this flow's state changes;
//! drawing the dialog is `peers`' job.

use std::net::SocketAddr;

use super::FerryApp;
use crate::api::{Command, Event};
use crate::i18n::tr;

impl FerryApp {
    /// Resolves a typed address on a helper thread; the dialog waits for it.
    pub(super) fn add_peer(&mut self, input: &str) {
        let mut given_up = None;
        if let Some(dialog) = &mut self.view.add_peer {
            dialog.busy = true;
            dialog.error = None;
            given_up = dialog.probing.take();
        }
        // A corrected address replaces the one that did not answer.
        if let Some(old) = given_up
            && !self.settings.manual_peers.contains(&old.to_string())
        {
            self.send_command(Command::ForgetPeer { addr: old });
        }
        self.view.pending_manual.push(input.to_string());
        self.tasks.resolve(input.to_string());
    }

    /// A typed or saved address was looked up: probe it, or say why not.
    pub(super) fn resolved(&mut self, input: String, result: Result<SocketAddr, String>) {
        let typed = self.view.pending_manual.iter().position(|p| p == &input);
        if let Some(at) = typed {
            self.view.pending_manual.remove(at);
        }
        let listed = |state: &super::state::UiState, addr: SocketAddr| {
            state.peers.values().any(|p| p.addrs.contains(&addr))
        };
        match (result, &mut self.view.add_peer, typed) {
            // Typed, but the dialog was closed before the lookup ended.
            (Ok(_), None, Some(_)) => {}
            (Ok(addr), Some(_), Some(_)) if listed(&self.state, addr) => {
                // Already in the list (heard by beacon): nothing to wait for.
                self.view.add_peer = None;
                self.remember_resolved(input, addr);
                self.save_manual(addr);
                self.send_command(Command::AddPeer { addr });
            }
            (Ok(addr), dialog, typed) => {
                if let (Some(dialog), Some(_)) = (dialog, typed) {
                    // Stay open until the device answers or the probe fails.
                    dialog.probing = Some(addr);
                }
                self.remember_resolved(input, addr);
                self.send_command(Command::AddPeer { addr });
            }
            (Err(_), Some(dialog), Some(_)) => {
                dialog.busy = false;
                dialog.error = Some(tr!("add-peer-error-not-found", name = input.as_str()));
            }
            (Err(sentence), _, _) => self.state.notice(tr!(
                "notice-saved-device-not-found",
                address = input,
                reason = sentence
            )),
        }
    }

    /// Lets the dialog see the answer to its probe first: the device
    /// answered (saved, dialog closed) or the probe failed (explained in
    /// the dialog instead of a notice). True when the event was about the
    /// dialog's probe and should not become a notice.
    pub(super) fn add_peer_event(&mut self, event: &Event) -> bool {
        let Some(dialog) = &mut self.view.add_peer else {
            return false;
        };
        let Some(addr) = dialog.probing else {
            return false;
        };
        match event {
            Event::PeerSeen(peer) if peer.addrs.contains(&addr) => {
                self.view.add_peer = None;
                self.save_manual(addr);
                false
            }
            Event::Problem(sentence) if sentence.contains(&addr.to_string()) => {
                dialog.busy = false;
                dialog.error = Some(plain_probe_problem(addr, sentence));
                true
            }
            _ => false,
        }
    }

    /// Keeps the dialog's address: saved, probed in the background, listed
    /// as not answering until it does.
    pub(super) fn keep_trying(&mut self) {
        if let Some(addr) = self.view.add_peer.take().and_then(|d| d.probing) {
            self.save_manual(addr);
        }
    }

    /// Closes the dialog; an address it was probing is no longer probed.
    pub(super) fn cancel_add_peer(&mut self) {
        if let Some(addr) = self.view.add_peer.take().and_then(|d| d.probing) {
            let saved = self.settings.manual_peers.contains(&addr.to_string());
            if !saved {
                self.send_command(Command::ForgetPeer { addr });
            }
        }
    }

    fn remember_resolved(&mut self, input: String, addr: SocketAddr) {
        self.view.resolved.retain(|(t, _)| t != &input);
        self.view.resolved.push((input, addr));
    }

    fn save_manual(&mut self, addr: SocketAddr) {
        let saved = addr.to_string();
        if !self.settings.manual_peers.contains(&saved) {
            self.settings.manual_peers.push(saved);
            self.save_settings();
        }
    }
}

/// Why a probe of `addr` failed, in words for someone who is not a network
/// engineer, from the engine's sentence (which names the address).
pub fn plain_probe_problem(addr: SocketAddr, engine_sentence: &str) -> String {
    let address = addr.ip().to_string();
    if engine_sentence.contains("is this Ferry itself") {
        tr!("add-peer-error-itself", address = address)
    } else if engine_sentence.contains("answered") {
        tr!("add-peer-error-not-ferry", address = address)
    } else {
        tr!(
            "add-peer-error-no-answer",
            address = address,
            port = addr.port().to_string()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_problems_read_as_plain_words() {
        let addr: SocketAddr = "192.168.1.20:47813".parse().expect("addr");
        let refused = plain_probe_problem(
            addr,
            "Peer added by address: nothing accepts connections at 192.168.1.20:47813 (Ferry keeps trying).",
        );
        assert!(
            refused.starts_with("Nothing answered at 192.168.1.20"),
            "{refused}"
        );
        assert!(!refused.contains("peer"), "{refused}");
        let wrong = plain_probe_problem(
            addr,
            "Peer added by address: 192.168.1.20:47813 answered, but not with a Ferry hello: bad magic",
        );
        assert!(wrong.contains("not Ferry"), "{wrong}");
        let me = plain_probe_problem(addr, "192.168.1.20:47813 is this Ferry itself");
        assert!(me.contains("this computer"), "{me}");
    }
}
