//! Guards what a sender says and does while it counts a big pick before the
//! offer (a million files on a slow disk take minutes): it reports the
//! running count (`Event::Counting`, which the window and `ferry send` show),
//! the offer that follows has the counted totals, and Cancel stops the count
//! before anything reaches the receiver. The reports' interval is zero here
//! (`Timeouts::count_report`) so a small tree shows them; by default they
//! start after a tenth of a second.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Node, quick_timeouts};
use ferry::api::{AcceptPolicy, Command, Event, Outcome, Party};

/// `files` empty-ish files of 2 bytes in 20 folders under `top`.
fn tree(top: &Path, files: usize) {
    for i in 0..files {
        let folder = top.join(format!("d{:02}", i % 20));
        if i < 20 {
            std::fs::create_dir_all(&folder).expect("mkdir");
        }
        std::fs::write(folder.join(format!("f{i:05}")), b"ok").expect("write");
    }
}

fn reporting_sender() -> Node {
    let timeouts = ferry::protocol::Timeouts {
        count_report: Duration::ZERO,
        ..quick_timeouts()
    };
    Node::sender_with_timeouts("tx", timeouts)
}

#[test]
fn a_counted_pick_is_reported_as_it_grows_and_offered_with_its_totals() {
    let src = tempfile::tempdir().expect("tmp");
    let top = src.path().join("photos");
    tree(&top, 1500);
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut sender = reporting_sender();
    let id = sender.send_file(receiver.addr(), &top);
    let mut counts = Vec::new();
    let offered = sender.wait("the offer", |e| match e {
        Event::Counting {
            id: counting,
            files,
            bytes,
        } => {
            assert_eq!(*counting, id);
            counts.push((*files, *bytes));
            None
        }
        Event::Offered { offer, .. } => Some((offer.files, offer.total_bytes)),
        _ => None,
    });
    assert_eq!(offered, (1500, 3000));
    // 1,520 entries: reports after 256, 512, ... 1,280 (events may be
    // dropped only when the channel is full, which it is not here).
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(counts.windows(2).all(|w| w[0].0 < w[1].0), "{counts:?}");
    assert!(counts.iter().all(|&(files, bytes)| bytes == files * 2));
    assert!(sender.finished().is_success());
    assert!(receiver.finished().is_success());
    assert_eq!(
        common::tree(&receiver.root().join("photos")),
        common::tree(&top)
    );
}

#[test]
fn cancel_while_counting_stops_before_the_receiver_hears_of_it() {
    let src = tempfile::tempdir().expect("tmp");
    let top = src.path().join("library");
    // Long enough to count (tens of milliseconds) that the Cancel, sent
    // right behind the Send, reaches the worker while it counts.
    tree(&top, 20_000);
    let receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    let mut sender = reporting_sender();
    let id = sender.send_file(receiver.addr(), &top);
    assert!(sender.engine.send(Command::Cancel { id }));
    assert_eq!(sender.finished(), Outcome::Cancelled { by: Party::Local });
    assert!(
        !sender
            .seen
            .iter()
            .any(|e| matches!(e, Event::Offered { .. } | Event::ConfirmPeer { .. })),
        "the count was cancelled before the offer: {:#?}",
        sender.seen
    );
    // Nothing reached the receiver: no offer within a generous wait, and
    // its folder is empty.
    while let Ok(event) = receiver
        .engine
        .events()
        .recv_timeout(Duration::from_millis(500))
    {
        assert!(
            !matches!(event, Event::Incoming { .. } | Event::Started { .. }),
            "{event:?}"
        );
    }
    assert_eq!(std::fs::read_dir(receiver.root()).expect("read").count(), 0);
}
