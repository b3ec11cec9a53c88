//! The device list as the window shows it: online devices first, offline
//! ones until [`OFFLINE_KEEP_MS`] after they left, and a name that tells
//! devices apart when two share one ("ubuntu (3F2A)"). Plain data rules
//! over [`UiState::peers`]; nothing here draws or talks to the engine.

use super::{PeerEntry, UiState};
use crate::secure::identity::short_code;

/// How long an offline device stays listed (faded) before it leaves.
pub const OFFLINE_KEEP_MS: u64 = 10 * 60 * 1000;

/// Hex digits of the device id shown first when names clash.
const SUFFIX_DIGITS: usize = 4;

impl UiState {
    /// The devices in the order the list shows them: online first, then by
    /// name (case-insensitive) and id, so the order does not jump.
    pub fn peers_in_order(&self) -> Vec<&PeerEntry> {
        let mut peers: Vec<&PeerEntry> = self.peers.values().collect();
        peers.sort_by_cached_key(|p| {
            (
                !p.online,
                p.device.alias.to_lowercase(),
                p.device.device_id.clone(),
            )
        });
        peers
    }

    /// The name to show for the device `device_id`: its alias, with the
    /// start of its id in brackets when another listed device has the same
    /// alias (as many digits as it takes to tell them apart).
    pub fn display_name(&self, device_id: &str) -> String {
        let Some(peer) = self.peers.get(device_id) else {
            return String::new();
        };
        let alias = &peer.device.alias;
        let key = alias.trim().to_lowercase();
        let twins: Vec<&str> = self
            .peers
            .values()
            .filter(|p| p.device.device_id != device_id)
            .filter(|p| p.device.alias.trim().to_lowercase() == key)
            .map(|p| p.device.device_id.as_str())
            .collect();
        if twins.is_empty() {
            return alias.clone();
        }
        let code = short_code(device_id).replace('-', "");
        let mut digits = SUFFIX_DIGITS.min(code.len());
        while digits < code.len()
            && twins
                .iter()
                .any(|t| short_code(t).replace('-', "").get(..digits) == code.get(..digits))
        {
            digits += 1;
        }
        format!("{} ({})", alias.trim(), code.get(..digits).unwrap_or(&code))
    }

    /// Drops devices that have been offline for [`OFFLINE_KEEP_MS`];
    /// true when one left.
    pub fn expire_offline(&mut self, now_ms: u64) -> bool {
        let before = self.peers.len();
        self.peers.retain(|_, p| {
            p.online
                || p.offline_since_ms
                    .is_none_or(|since| now_ms.saturating_sub(since) < OFFLINE_KEEP_MS)
        });
        self.peers.len() != before
    }

    /// True while some device is listed offline (the window then looks
    /// again now and then to let it leave on time).
    pub fn has_offline(&self) -> bool {
        self.peers.values().any(|p| !p.online)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Device, PeerSource};

    fn entry(id: &str, alias: &str, online: bool) -> PeerEntry {
        PeerEntry {
            device: Device {
                device_id: id.into(),
                alias: alias.into(),
                os: "linux".into(),
                port: 1,
            },
            addrs: Vec::new(),
            online,
            source: PeerSource::Beacon,
            selected: false,
            offline_since_ms: (!online).then_some(1_000),
        }
    }

    fn state(entries: Vec<PeerEntry>) -> UiState {
        let mut state = UiState::default();
        for e in entries {
            state.peers.insert(e.device.device_id.clone(), e);
        }
        state
    }

    #[test]
    fn online_devices_come_first() {
        let s = state(vec![
            entry("aa", "Attic", false),
            entry("bb", "Basement", true),
            entry("cc", "cellar", true),
        ]);
        let names: Vec<&str> = s
            .peers_in_order()
            .iter()
            .map(|p| p.device.alias.as_str())
            .collect();
        assert_eq!(names, ["Basement", "cellar", "Attic"]);
    }

    #[test]
    fn same_names_get_a_short_id() {
        let s = state(vec![
            entry("3f2a91bc", "ubuntu", true),
            entry("77a1c2f0", "Ubuntu", true),
            entry("3f2a0000", "ubuntu ", true),
            entry("0d4e0000", "desk", true),
        ]);
        assert_eq!(s.display_name("0d4e0000"), "desk");
        assert_eq!(s.display_name("77a1c2f0"), "Ubuntu (77A1)");
        // Two that share their first four digits get a fifth.
        assert_eq!(s.display_name("3f2a91bc"), "ubuntu (3F2A9)");
        assert_eq!(s.display_name("3f2a0000"), "ubuntu (3F2A0)");
    }

    #[test]
    fn offline_devices_leave_after_a_while() {
        let mut s = state(vec![entry("aa", "Attic", false), entry("bb", "Bob", true)]);
        assert!(!s.expire_offline(1_000 + OFFLINE_KEEP_MS - 1));
        assert!(s.expire_offline(1_000 + OFFLINE_KEEP_MS));
        assert_eq!(s.peers.keys().collect::<Vec<_>>(), ["bb"]);
        assert!(!s.has_offline());
    }
}
