//! The sending side's trust in a LocalSend device, between the TLS
//! handshake and `prepare-upload`: the certificate the device proved (never
//! the fingerprint its announcement claims) judged against the remembered
//! devices, as Ferry judges its own peers. A remembered certificate goes at
//! once; a new device goes under trust on first use or after the person's
//! confirmation (LocalSend has no pairing code, so the card shows the
//! certificate fingerprint instead); a remembered name with another
//! certificate is flagged and always asked about. Until then nothing of the
//! transfer leaves. A child of `send`; it opens no socket itself.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;

use super::Shared;
use crate::api::{Device, Event, Outcome, Party, PeerTrust, TransferId, TrustedDevice, recognise};
use crate::secure::identity::short_code;

/// How often a waiting confirmation looks whether another send to the same
/// device (a text and files go as two) was confirmed meanwhile.
const RECHECK: Duration = Duration::from_millis(200);

/// What the person answered, as the engine forwards it to the send.
pub(crate) type Answers = watch::Receiver<Option<bool>>;

/// How the device at `to` was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vouched {
    /// Known already, or trusted on first use: no wait.
    AtOnce,
    /// A person confirmed it (the connection may have idled meanwhile).
    Confirmed,
}

/// Judges `device`, whose certificate `fingerprint` the TLS handshake just
/// proved, and lets the send go on — or not.
pub(crate) async fn vouch(
    shared: &Shared,
    id: TransferId,
    to: SocketAddr,
    device: &Device,
    fingerprint: &str,
    answers: &mut Answers,
    cancel: &mut watch::Receiver<bool>,
) -> Result<Vouched, Outcome> {
    let settings = shared.ctx.receive_settings();
    let trust = recognise(&settings.remembered, fingerprint, &[device.alias.as_str()]);
    let remembered = || TrustedDevice {
        device_id: fingerprint.to_string(),
        alias: device.alias.clone(),
    };
    match trust {
        PeerTrust::Remembered => return Ok(Vouched::AtOnce),
        PeerTrust::New if settings.trust_new => {
            shared.ctx.remember(remembered());
            return Ok(Vouched::AtOnce);
        }
        PeerTrust::New | PeerTrust::KeyChanged { .. } => {}
    }
    let key_changed = matches!(trust, PeerTrust::KeyChanged { .. });
    let code = short_code(fingerprint);
    shared.ctx.sink.emit(Event::ConfirmPeer {
        id,
        to,
        device: Device {
            device_id: fingerprint.to_string(),
            ..device.clone()
        },
        code: code.clone(),
        key_changed,
        localsend: true,
    });
    let mut recheck = tokio::time::interval(RECHECK);
    loop {
        tokio::select! {
            _ = cancel.wait_for(|c| *c) => return Err(Outcome::Cancelled { by: Party::Local }),
            answer = answers.wait_for(Option::is_some) => {
                let confirmed = answer.map(|a| *a == Some(true)).unwrap_or(false);
                if !confirmed {
                    return Err(Outcome::Failed(format!(
                        "Nothing was sent to {:?} ({to}): sending to this LocalSend device \
                         (certificate {code}) was not confirmed.",
                        device.alias
                    )));
                }
                shared.ctx.remember(remembered());
                return Ok(Vouched::Confirmed);
            }
            _ = recheck.tick() => {
                // Its person confirmed this very certificate meanwhile, for
                // another send to it: it is known now.
                let settings = shared.ctx.receive_settings();
                if settings.remembered.iter().any(|d| d.device_id == fingerprint) {
                    return Ok(Vouched::Confirmed);
                }
            }
        }
    }
}
