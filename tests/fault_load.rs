//! Guards many transfers at once: 50 senders offering a file of the same
//! name into one receiver at the same moment all verify, each under its own
//! name (nothing overwritten, no two transfers racing for one name), and one
//! sender serving 5 receivers at once gets every copy verified.

mod common;

use std::collections::BTreeSet;

use common::{Node, partials, random_file, sha256_file};
use ferry::api::{AcceptPolicy, Command};
use ferry::api::{Outcome, TransferId};

#[test]
fn fifty_senders_into_one_receiver_all_verify_under_distinct_names() {
    const SENDERS: usize = 50;
    let src = tempfile::tempdir().expect("tmp");
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut expected = BTreeSet::new();
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        // Every sender offers "report.pdf", each with different bytes.
        let dir = src.path().join(format!("s{i}"));
        let file = dir.join("report.pdf");
        random_file(&file, 256 * 1024 + i * 1000, 100 + i as u64);
        expected.insert(sha256_file(&file));
        senders.push((Node::sender(&format!("tx{i}")), file));
    }
    for (sender, file) in &senders {
        sender.engine.send(Command::Send {
            id: TransferId::fresh(),
            to: receiver.addr(),
            paths: vec![file.clone()],
        });
    }
    for (sender, _) in &mut senders {
        let outcome = sender.finished();
        assert!(outcome.is_success(), "{outcome:?}");
    }
    let mut outcomes = Vec::new();
    while outcomes.len() < SENDERS {
        outcomes.push(receiver.finished());
    }
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.is_success()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let verified = common::verified_files(&receiver.seen);
    assert_eq!(verified, SENDERS);
    let names: Vec<String> = std::fs::read_dir(receiver.root())
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), SENDERS, "{names:?}");
    let got: BTreeSet<[u8; 32]> = names
        .iter()
        .map(|n| sha256_file(&receiver.root().join(n)))
        .collect();
    assert_eq!(got, expected, "every sender's bytes, each exactly once");
    assert!(partials(receiver.root()).is_empty());
}

#[test]
fn one_sender_to_five_receivers_all_verify() {
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("broadcast.bin");
    random_file(&file, 8 << 20, 55);
    let want = sha256_file(&file);
    let mut receivers: Vec<Node> = (0..5)
        .map(|i| Node::receiver(&format!("rx{i}"), AcceptPolicy::Everyone))
        .collect();
    let mut sender = Node::sender("tx");
    for receiver in &receivers {
        sender.engine.send(Command::Send {
            id: TransferId::fresh(),
            to: receiver.addr(),
            paths: vec![file.clone()],
        });
    }
    for _ in 0..receivers.len() {
        let outcome = sender.finished();
        assert!(outcome.is_success(), "{outcome:?}");
    }
    for receiver in &mut receivers {
        assert!(receiver.finished().is_success());
        assert_eq!(sha256_file(&receiver.root().join("broadcast.bin")), want);
    }
}

/// Regression: `bug_concurrent_offers_raced_for_one_name`. Two offers planned
/// at the same moment both chose `report.pdf` (its partial did not exist yet),
/// and the second failed with "Cannot create report.pdf: File exists"; the
/// same device sending the same file twice at once could even "resume" into
/// the other transfer's partial while it was being written. Running transfers
/// now claim their names while they plan.
#[test]
fn bug_concurrent_offers_raced_for_one_name() {
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("report.pdf");
    random_file(&file, 4 << 20, 77);
    let want = sha256_file(&file);
    let identity = std::sync::Arc::new(ferry::secure::identity::Identity::ephemeral().expect("id"));
    for round in 0..5 {
        let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
        // The same device (same key) twice, and a third device, all at once.
        let mut senders = vec![
            Node::sender_as("tx", identity.clone()),
            Node::sender_as("tx", identity.clone()),
            Node::sender("other"),
        ];
        for sender in &senders {
            sender.engine.send(Command::Send {
                id: TransferId::fresh(),
                to: receiver.addr(),
                paths: vec![file.clone()],
            });
        }
        for sender in &mut senders {
            let outcome = sender.finished();
            assert!(outcome.is_success(), "round {round}: {outcome:?}");
        }
        for _ in 0..senders.len() {
            assert!(receiver.finished().is_success());
        }
        let mut names: Vec<String> = std::fs::read_dir(receiver.root())
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["report (1).pdf", "report (2).pdf", "report.pdf"]);
        for name in names {
            assert_eq!(sha256_file(&receiver.root().join(name)), want);
        }
    }
}
