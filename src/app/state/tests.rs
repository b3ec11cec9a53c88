//! The rules of folding events into the window state, one event sequence at a time.

use super::*;
use crate::api::Party;
use crate::api::{ItemKind, OfferItem};
use std::time::SystemTime;

fn device(id: &str) -> Device {
    Device {
        device_id: id.into(),
        alias: format!("alias-{id}"),
        os: "linux".into(),
        port: 1,
    }
}

fn seen(id: &str, port: u16) -> Event {
    Event::PeerSeen(Peer {
        device: device(id),
        addrs: vec![SocketAddr::from(([127, 0, 0, 1], port))],
        last_seen: SystemTime::now(),
        source: PeerSource::Beacon,
    })
}

fn offer(files: &[(&str, u64)]) -> OfferSummary {
    let entries: Vec<OfferItem> = files
        .iter()
        .map(|(name, size)| OfferItem {
            path: vec![name.to_string()],
            kind: ItemKind::File,
            size: *size,
            modified_ms: None,
        })
        .collect();
    OfferSummary::of(entries, Some(1 << 30))
}

#[test]
fn peers_come_go_and_ignore_ourselves() {
    let mut state = UiState {
        own_id: "me".into(),
        ..UiState::default()
    };
    state.apply(seen("me", 1), 0);
    state.apply(seen("a", 2), 0);
    assert_eq!(state.peers.len(), 1);
    assert_eq!(state.drop_target(), DropTarget::Peers(vec!["a".into()]));
    state.apply(seen("b", 3), 0);
    assert_eq!(
        state.drop_target(),
        DropTarget::Tray,
        "two peers, none selected"
    );
    state.peers.get_mut("b").expect("b").selected = true;
    assert_eq!(state.drop_target(), DropTarget::Peers(vec!["b".into()]));
    state.apply(
        Event::PeerGone {
            device_id: "a".into(),
        },
        0,
    );
    assert!(!state.peers["a"].online);
}

#[test]
fn declined_prompt_shows_declined_and_sender_cancel_closes_prompt() {
    let mut state = UiState::default();
    let from = device("s");
    let addr = SocketAddr::from(([127, 0, 0, 1], 9));
    for id in [TransferId(1), TransferId(2)] {
        let effects = state.apply(
            Event::Incoming {
                id,
                from: from.clone(),
                addr,
                offer: offer(&[("a.txt", 3)]),
                code: "042 917".into(),
                key_changed: false,
            },
            0,
        );
        assert!(matches!(effects[0], Effect::Attention(_)));
    }
    assert_eq!(state.prompts.len(), 2, "several prompts wait at once");
    assert!(state.answer(TransferId(1), false, PathBuf::new()).is_some());
    assert_eq!(
        state.transfers[0].phase,
        Phase::Finished(Outcome::Declined(String::new()))
    );
    let effects = state.apply(
        Event::Finished {
            id: TransferId(2),
            direction: Direction::Incoming,
            outcome: Outcome::Cancelled { by: Party::Remote },
        },
        5,
    );
    assert!(state.prompts.is_empty());
    assert_eq!(state.transfers.len(), 2);
    assert!(effects.iter().any(|e| matches!(e, Effect::Record(_))));
}

#[test]
fn outgoing_row_follows_progress_to_completion() {
    let mut state = UiState::default();
    let id = TransferId(7);
    let addr = SocketAddr::from(([127, 0, 0, 1], 9));
    state.start_outgoing(id, "bob", addr, vec![PathBuf::from("/tmp/x/file.bin")]);
    state.apply(
        Event::Started {
            id,
            direction: Direction::Outgoing,
            files: 1,
            bytes: 100,
            resumed_bytes: 40,
        },
        0,
    );
    assert!((state.transfers[0].fraction() - 0.4).abs() < 1e-6);
    let effects = state.apply(
        Event::Finished {
            id,
            direction: Direction::Outgoing,
            outcome: Outcome::Completed {
                files: 1,
                bytes: 100,
            },
        },
        0,
    );
    let row = &state.transfers[0];
    assert_eq!(row.fraction(), 1.0);
    assert_eq!(row.folder(), Some(PathBuf::from("/tmp/x")));
    assert_eq!(row.title(), "file.bin");
    assert!(matches!(&effects[..], [Effect::Record(_)]));
}

#[test]
fn notices_are_capped_and_not_repeated() {
    let mut state = UiState::default();
    for i in 0..10 {
        state.apply(Event::Problem(format!("p{i}")), 0);
        state.apply(Event::Problem(format!("p{i}")), 0);
    }
    assert_eq!(state.notices.len(), MAX_NOTICES);
    assert_eq!(state.notices.last().map(String::as_str), Some("p9"));
}

#[test]
fn a_code_shown_while_the_sender_compares_gives_way_to_its_offer_or_leaves_no_trace() {
    let mut state = UiState::default();
    let from = device("s");
    let addr = SocketAddr::from(([127, 0, 0, 1], 9));
    for id in [TransferId(1), TransferId(2)] {
        state.apply(
            Event::PairingCode {
                id,
                from: from.clone(),
                addr,
                code: "123 456".into(),
            },
            0,
        );
    }
    assert_eq!(state.codes.len(), 2);
    state.apply(
        Event::Incoming {
            id: TransferId(1),
            from: from.clone(),
            addr,
            offer: offer(&[("a.txt", 3)]),
            code: "123 456".into(),
            key_changed: false,
        },
        0,
    );
    assert_eq!(state.codes.len(), 1, "the offer replaces its code card");
    assert_eq!(state.prompts[0].code, "123 456");
    // The sender's person said the codes differ: the card goes, no row, no history.
    let effects = state.apply(
        Event::Finished {
            id: TransferId(2),
            direction: Direction::Incoming,
            outcome: Outcome::Cancelled { by: Party::Remote },
        },
        0,
    );
    assert!(state.codes.is_empty());
    assert!(state.transfers.is_empty());
    assert!(effects.is_empty());
    // A trusted sender's offer is taken at once: its code card goes too.
    state.apply(
        Event::PairingCode {
            id: TransferId(4),
            from: from.clone(),
            addr,
            code: "654 321".into(),
        },
        0,
    );
    state.apply(
        Event::AutoAccepted {
            id: TransferId(4),
            from,
            addr,
            offer: offer(&[("b.txt", 1)]),
        },
        0,
    );
    assert!(state.codes.is_empty());
    assert_eq!(state.transfers.len(), 1);
}

#[test]
fn a_confirmation_waits_until_answered_or_ended_and_remembering_is_an_effect() {
    let mut state = UiState::default();
    let addr = SocketAddr::from(([127, 0, 0, 1], 9));
    state.start_outgoing(TransferId(3), "bob", addr, vec![PathBuf::from("/tmp/f")]);
    let effects = state.apply(
        Event::ConfirmPeer {
            id: TransferId(3),
            to: addr,
            device: device("bob"),
            code: "000 007".into(),
            key_changed: true,
            localsend: false,
        },
        0,
    );
    assert!(matches!(&effects[..], [Effect::Attention(s)] if s.contains("000 007")));
    assert_eq!(state.waiting_count(), 1);
    assert!(state.confirmations[0].key_changed);
    state.apply(
        Event::Finished {
            id: TransferId(3),
            direction: Direction::Outgoing,
            outcome: Outcome::Cancelled { by: Party::Local },
        },
        0,
    );
    assert!(state.confirmations.is_empty());
    let known = crate::api::TrustedDevice {
        device_id: "k".into(),
        alias: "bob".into(),
    };
    let effects = state.apply(Event::Remembered(known.clone()), 0);
    assert_eq!(effects, vec![Effect::Remember(known)]);
}

/// Issue 16, item 11: once a retry of the same files to the same device
/// succeeded, the failed try's row goes (other devices' and files' stay).
#[test]
fn a_success_drops_the_failed_tries_it_supersedes() {
    let mut state = UiState::default();
    let addr = SocketAddr::from(([127, 0, 0, 1], 9));
    let other = SocketAddr::from(([127, 0, 0, 1], 10));
    let paths = vec![PathBuf::from("/a/report.pdf")];
    state.start_outgoing(TransferId(1), "bob", addr, paths.clone());
    state.start_outgoing(TransferId(2), "eve", other, paths.clone());
    state.start_outgoing(TransferId(3), "bob", addr, vec![PathBuf::from("/a/x")]);
    for id in [1, 2, 3] {
        state.apply(
            Event::Finished {
                id: TransferId(id),
                direction: Direction::Outgoing,
                outcome: Outcome::Failed("The connection to bob was lost.".into()),
            },
            0,
        );
    }
    state.start_outgoing(TransferId(4), "bob", addr, paths);
    state.apply(
        Event::Finished {
            id: TransferId(4),
            direction: Direction::Outgoing,
            outcome: Outcome::Completed { files: 1, bytes: 1 },
        },
        0,
    );
    let ids: Vec<u64> = state.transfers.iter().map(|r| r.id.0).collect();
    assert_eq!(
        ids,
        [4, 3, 2],
        "the failed try of the same files to bob is gone"
    );
}

/// Issue 16, item 7: a device that leaves is kept offline, with the time.
#[test]
fn a_device_that_leaves_is_marked_with_the_time() {
    let mut state = UiState::default();
    state.apply(seen("a", 1), 5);
    state.apply(
        Event::PeerGone {
            device_id: "a".into(),
        },
        7,
    );
    assert_eq!(state.peers["a"].offline_since_ms, Some(7));
    state.apply(seen("a", 1), 9);
    assert_eq!(state.peers["a"].offline_since_ms, None);
    assert!(state.peers["a"].online);
}

/// The same offer sent again after a cut only the sender saw: the engine
/// gives the new session the old row's id, and that row continues (no
/// second row, nothing left as a failure).
#[test]
fn an_offer_that_continues_a_session_continues_its_row() {
    let mut state = UiState::default();
    let addr = SocketAddr::from(([127, 0, 0, 1], 9));
    let accepted = |state: &mut UiState| {
        state.apply(
            Event::AutoAccepted {
                id: TransferId(4),
                from: device("bob"),
                addr,
                offer: offer(&[("b.txt", 10)]),
            },
            0,
        );
    };
    accepted(&mut state);
    state.start_outgoing(TransferId(5), "carol", addr, vec![PathBuf::from("/tmp/f")]);
    state.apply(
        Event::Started {
            id: TransferId(4),
            direction: Direction::Incoming,
            files: 1,
            bytes: 10,
            resumed_bytes: 0,
        },
        0,
    );
    accepted(&mut state);
    let ids: Vec<_> = state.transfers.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![TransferId(5), TransferId(4)], "one row, in place");
}
