//! Issue #16 item 4: a send whose connection is lost mid-file resumes by
//! itself once the receiver can be reached again — same transfer, no new
//! prompt on the receiver (it recognises the offer its person accepted),
//! only the missing part re-sent — while a cancel or a decline never
//! resumes, and "Don't resume" stops the waiting. The link is a relay in
//! the test that is cut (every connection shut, the port closed) and
//! started again on the same port.

mod common;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Link, Node, kept_partial, partials, random_file, sha256_file};
use ferry::api::{AcceptPolicy, Command, Decision, Event, Outcome, Party, TransferId};

const SIZE: u64 = 32 << 20;

/// A receiver whose person is asked, a sender, and a paced link between
/// them, with `file` offered and accepted by the person (which remembers
/// the sender) and at least 4 MiB arrived.
struct Setup {
    receiver: Node,
    sender: Node,
    link: Link,
    id: TransferId,
    /// The file sent (random bytes from the test's seed).
    file: PathBuf,
    _src: tempfile::TempDir,
}

fn start_accepted(seed: u64) -> Setup {
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join("film.mkv");
    random_file(&file, SIZE as usize, seed);
    let mut receiver = Node::receiver("Studio desk", AcceptPolicy::Ask);
    let link = Link::start((Ipv4Addr::LOCALHOST, 0).into(), receiver.addr(), 8 << 20);
    let sender = Node::sender("laptop");
    let id = sender.send_file(link.addr, &file);
    receiver.accept_next_offer();
    receiver.wait("4 MiB arrived", |e| match e {
        Event::Progress(p) if p.bytes_done >= 4 << 20 => Some(()),
        _ => None,
    });
    Setup {
        receiver,
        sender,
        link,
        id,
        file,
        _src: src,
    }
}

/// Events that arrive within `window` (a bounded look for what must not come).
fn events_for(node: &mut Node, window: Duration) -> Vec<Event> {
    let deadline = Instant::now() + window;
    let mut got = Vec::new();
    while let Ok(event) = node
        .engine
        .events()
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        got.push(event);
    }
    got
}

#[test]
fn a_link_cut_mid_file_resumes_by_itself_when_the_device_is_back() {
    let Setup {
        mut receiver,
        mut sender,
        link,
        id,
        file,
        _src: _kept,
        ..
    } = start_accepted(41);
    let port = link.cut();

    // Both sides see the loss; the sender waits to resume, naming the device.
    assert!(matches!(sender.finished(), Outcome::Failed(_)));
    let (device, until) = sender.wait("waiting to resume", |e| match e {
        Event::ResumeWaiting {
            id: waiting,
            device,
            until_secs,
        } if *waiting == id => Some((device.clone(), *until_secs)),
        _ => None,
    });
    assert_eq!(device, "Studio desk");
    assert!(until > 29 * 60 && until <= 30 * 60, "{until}");
    assert!(matches!(receiver.finished(), Outcome::Failed(_)));
    let kept = kept_partial(receiver.root());
    assert!((4 << 20..SIZE).contains(&kept), "{kept}");

    // The device is back at the same address; nobody clicks anything.
    let back = Link::start(port, receiver.addr(), 0);
    let resumed = sender.started_again(id);
    assert_eq!(resumed, kept, "only the missing part is sent");
    assert!(sender.finished().is_success());
    // No prompt: the receiver recognised the offer its person accepted.
    let received_resumed = receiver.wait("the resumed transfer", |e| match e {
        Event::Incoming { .. } => panic!("the receiver was asked again"),
        Event::Started { resumed_bytes, .. } => Some(*resumed_bytes),
        _ => None,
    });
    assert_eq!(received_resumed, kept);
    assert!(
        receiver
            .seen
            .iter()
            .any(|e| matches!(e, Event::AutoAccepted { .. })),
        "taken as the accepted offer"
    );
    assert!(receiver.finished().is_success());
    assert_eq!(
        sha256_file(&receiver.root().join("film.mkv")),
        sha256_file(&file)
    );
    assert!(partials(receiver.root()).is_empty());
    let crossed = back.forwarded.load(Ordering::SeqCst);
    let rest = SIZE - kept;
    assert!(
        (rest..rest + (512 << 10)).contains(&crossed),
        "{crossed} bytes crossed for the {rest} that were missing"
    );
}

#[test]
fn another_offer_from_the_same_device_still_asks() {
    let Setup {
        mut receiver,
        mut sender,
        link,
        id,
        file,
        _src: _kept,
        ..
    } = start_accepted(42);
    let port = link.cut();
    assert!(matches!(sender.finished(), Outcome::Failed(_)));
    assert!(matches!(receiver.finished(), Outcome::Failed(_)));
    // The person sends the same file by hand instead (a new offer): the
    // receiver asks, and shows what it already has.
    sender.engine.send(Command::StopResume { id });
    sender.wait("no more waiting", |e| match e {
        Event::ResumeEnded { id: ended } if *ended == id => Some(()),
        _ => None,
    });
    let back = Link::start(port, receiver.addr(), 0);
    sender.send_file(back.addr, &file);
    let resumed = receiver.wait("a new prompt", |e| match e {
        Event::Incoming { offer, .. } => Some(offer.resumed_bytes),
        Event::AutoAccepted { .. } => panic!("a new offer was taken unasked"),
        _ => None,
    });
    assert!(
        resumed >= 4 << 20,
        "the card says 'resuming after' {resumed}"
    );
}

#[test]
fn a_cancel_or_a_decline_never_resumes_by_itself() {
    let Setup {
        mut receiver,
        mut sender,
        id,
        file,
        _src: _kept,
        ..
    } = start_accepted(43);
    sender.engine.send(Command::Cancel { id });
    assert_eq!(sender.finished(), Outcome::Cancelled { by: Party::Local });
    assert_eq!(
        receiver.finished(),
        Outcome::Cancelled { by: Party::Remote }
    );

    // A declined offer: the same file again, and the person says no.
    let declined = sender.send_file(receiver.addr(), &file);
    let offer = receiver.wait("the offer", |e| match e {
        Event::Incoming { id, .. } => Some(*id),
        _ => None,
    });
    receiver.engine.send(Command::Decide {
        id: offer,
        decision: Decision::Decline,
    });
    let outcome = sender.wait("declined", |e| match e {
        Event::Finished { id, outcome, .. } if *id == declined => Some(outcome.clone()),
        _ => None,
    });
    assert!(matches!(outcome, Outcome::Declined(_)), "{outcome:?}");
    let later = events_for(&mut sender, Duration::from_millis(2500));
    assert!(
        !later.iter().any(|e| matches!(
            e,
            Event::ResumeWaiting { .. } | Event::Started { .. } | Event::Offered { .. }
        )),
        "nothing resumes after a cancel or a decline: {later:?}"
    );
    assert!(
        !sender
            .seen
            .iter()
            .any(|e| matches!(e, Event::ResumeWaiting { .. })),
        "{:?}",
        sender.seen
    );
}
