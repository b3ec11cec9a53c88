//! Guards pausing a running Ferry transfer (issue #16, item 5) with two real
//! engines on loopback: a pause from either side stops the sender's bytes
//! (none leave it while paused, and the receiver's partial stops growing once
//! what was on its way has landed), the other side is told who paused, a
//! resume finishes the file byte-exact; a pause longer than the idle timeout
//! keeps the connection; both sides can hold a pause at once and each lifts
//! only its own; and a cancel while paused ends both sides as a cancel.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Node, Relay, WAIT, partials, quick_timeouts, random_file, sha256_file};
use ferry::api::{AcceptPolicy, Command, Event, Outcome, Party, Pauses, TransferId};
use ferry::protocol::Timeouts;

/// How long "nothing moves" is watched.
const STILL: Duration = Duration::from_millis(600);

/// The transfer's size and the relay's pace: slow enough that a pause
/// surely lands mid-file, fast enough for a test.
const SIZE: usize = 24 << 20;
const RATE: u64 = 6 << 20;

struct Running {
    sender: Node,
    receiver: Node,
    /// Kept alive while the transfer runs; its count is what left the sender.
    relay: Relay,
    /// The transfer's id on the sender and on the receiver.
    tx: TransferId,
    rx: TransferId,
    source: PathBuf,
    _src: tempfile::TempDir,
}

/// A 24 MiB file on its way through a throttled relay, past its first MiB.
fn running(timeouts: Timeouts) -> Running {
    let src = tempfile::tempdir().expect("tmp");
    let source = src.path().join("big.bin");
    random_file(&source, SIZE, 16);
    let mut receiver =
        Node::receiver_with_timeouts("Studio desk", AcceptPolicy::Everyone, timeouts);
    let relay = Relay::throttled(receiver.addr(), RATE);
    let mut sender = Node::sender_with_timeouts("Laptop", timeouts);
    let tx = sender.send_file(relay.addr, &source);
    // Both sides say the transfer can be paused once its files stream.
    assert_eq!(pause_state(&mut sender), Pauses::default());
    assert_eq!(pause_state(&mut receiver), Pauses::default());
    let rx = receiver.wait("progress past 1 MiB", |e| match e {
        Event::Progress(p) if p.bytes_done >= 1 << 20 => Some(p.id),
        _ => None,
    });
    Running {
        sender,
        receiver,
        relay,
        tx,
        rx,
        source,
        _src: src,
    }
}

/// Waits for `node`'s next pause state.
fn pause_state(node: &mut Node) -> Pauses {
    node.wait("a pause change", |e| match e {
        Event::PauseChanged { pause, .. } => Some(*pause),
        _ => None,
    })
}

/// Every event of `node` for `window`, and none after it.
fn watch(node: &mut Node, window: Duration) -> Vec<Event> {
    let until = Instant::now() + window;
    let mut got = Vec::new();
    while let Ok(event) = node
        .engine
        .events()
        .recv_timeout(until.saturating_duration_since(Instant::now()))
    {
        got.push(event);
    }
    got
}

/// The sender sends nothing while paused: after its pause began, every
/// progress report (over [`STILL`] and what came before) has the same count.
fn sender_holds_still(sender: &mut Node) {
    let events = watch(sender, STILL);
    let counts: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress(p) => Some(p.bytes_done),
            _ => None,
        })
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] == w[1]),
        "the sender moved bytes while paused: {counts:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(e, Event::Finished { .. })),
        "{events:?}"
    );
}

/// The receiver's partial file.
fn partial(receiver: &Node) -> PathBuf {
    partials(receiver.root())
        .into_iter()
        .find(|p| !p.to_string_lossy().ends_with(".meta"))
        .expect("a partial file")
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// What was already on its way lands; then the partial stops growing for
/// [`STILL`], short of the whole file, and only pings pass the relay.
fn receiver_holds_still(run: &mut Running) {
    let part = partial(&run.receiver);
    let deadline = Instant::now() + WAIT;
    let mut before = len(&part);
    loop {
        let quiet = watch(&mut run.receiver, Duration::from_millis(300));
        assert!(
            !quiet.iter().any(|e| matches!(e, Event::Finished { .. })),
            "{quiet:?}"
        );
        let now = len(&part);
        if now == before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the partial never stopped growing"
        );
        before = now;
    }
    let relayed = run.relay.forwarded.load(Ordering::SeqCst);
    watch(&mut run.receiver, STILL);
    assert_eq!(len(&part), before, "file bytes landed while paused");
    assert!(before < SIZE as u64, "paused before the end");
    // A ping is a few dozen bytes; a data frame is up to 512 KiB.
    let passed = run.relay.forwarded.load(Ordering::SeqCst) - relayed;
    assert!(
        passed < 4096,
        "{passed} bytes passed the relay while paused"
    );
}

/// Both sides finish, and the file arrived byte-exact.
fn finishes_whole(mut run: Running) {
    let sent = run.sender.finished();
    assert!(sent.is_success(), "{sent:?}");
    let got = run.receiver.finished();
    assert!(got.is_success(), "{got:?}");
    assert_eq!(
        sha256_file(&run.receiver.root().join("big.bin")),
        sha256_file(&run.source)
    );
}

const BY_US: Pauses = Pauses {
    local: true,
    remote: false,
};
const BY_PEER: Pauses = Pauses {
    local: false,
    remote: true,
};
const BY_BOTH: Pauses = Pauses {
    local: true,
    remote: true,
};

#[test]
fn a_pause_from_the_sender_holds_the_bytes_and_resume_finishes_the_file() {
    let mut run = running(quick_timeouts());
    run.sender.engine.send(Command::Pause { id: run.tx });
    assert_eq!(pause_state(&mut run.sender), BY_US);
    assert_eq!(pause_state(&mut run.receiver), BY_PEER, "told who paused");
    sender_holds_still(&mut run.sender);
    receiver_holds_still(&mut run);
    // A second Pause changes nothing; Resume lets it go on.
    run.sender.engine.send(Command::Pause { id: run.tx });
    run.sender.engine.send(Command::Resume { id: run.tx });
    assert_eq!(pause_state(&mut run.sender), Pauses::default());
    assert_eq!(pause_state(&mut run.receiver), Pauses::default());
    finishes_whole(run);
}

#[test]
fn a_pause_from_the_receiver_stops_the_sender_and_resume_finishes_the_file() {
    let mut run = running(quick_timeouts());
    run.receiver.engine.send(Command::Pause { id: run.rx });
    assert_eq!(pause_state(&mut run.receiver), BY_US);
    assert_eq!(pause_state(&mut run.sender), BY_PEER, "told who paused");
    sender_holds_still(&mut run.sender);
    receiver_holds_still(&mut run);
    // The sender cannot lift the receiver's pause.
    run.sender.engine.send(Command::Resume { id: run.tx });
    sender_holds_still(&mut run.sender);
    run.receiver.engine.send(Command::Resume { id: run.rx });
    assert_eq!(pause_state(&mut run.receiver), Pauses::default());
    assert_eq!(pause_state(&mut run.sender), Pauses::default());
    finishes_whole(run);
}

/// Pings keep a paused connection: with a 1.2 s idle timeout, a pause of
/// three times that ends well. Both sides hold it; it goes on only once both
/// lifted theirs.
#[test]
fn a_pause_longer_than_the_idle_timeout_held_by_both_sides_survives() {
    let timeouts = quick_timeouts();
    let mut run = running(timeouts);
    run.sender.engine.send(Command::Pause { id: run.tx });
    assert_eq!(pause_state(&mut run.sender), BY_US);
    assert_eq!(pause_state(&mut run.receiver), BY_PEER);
    run.receiver.engine.send(Command::Pause { id: run.rx });
    assert_eq!(pause_state(&mut run.receiver), BY_BOTH);
    assert_eq!(pause_state(&mut run.sender), BY_BOTH);
    let long = watch(&mut run.receiver, timeouts.idle * 3);
    assert!(
        !long.iter().any(|e| matches!(e, Event::Finished { .. })),
        "the paused connection was dropped: {long:?}"
    );
    // The sender's pause stays after the receiver lifts its own.
    run.receiver.engine.send(Command::Resume { id: run.rx });
    assert_eq!(pause_state(&mut run.receiver), BY_PEER);
    assert_eq!(pause_state(&mut run.sender), BY_US);
    sender_holds_still(&mut run.sender);
    run.sender.engine.send(Command::Resume { id: run.tx });
    assert_eq!(pause_state(&mut run.sender), Pauses::default());
    finishes_whole(run);
}

/// One side pauses, the other cancels: both end as that side's cancel, and
/// the file never takes its final name.
fn cancel_while_paused(sender_pauses: bool) {
    let mut run = running(Timeouts::default());
    let (tx, rx) = (run.tx, run.rx);
    let (pauser, canceller, pause, cancel) = if sender_pauses {
        (&mut run.sender, &mut run.receiver, tx, rx)
    } else {
        (&mut run.receiver, &mut run.sender, rx, tx)
    };
    pauser.engine.send(Command::Pause { id: pause });
    assert_eq!(pause_state(canceller), BY_PEER);
    canceller.engine.send(Command::Cancel { id: cancel });
    assert_eq!(
        canceller.finished(),
        Outcome::Cancelled { by: Party::Local }
    );
    assert_eq!(pauser.finished(), Outcome::Cancelled { by: Party::Remote });
    assert!(
        !run.receiver.root().join("big.bin").exists(),
        "a cancelled file never takes its final name"
    );
}

#[test]
fn a_cancel_while_paused_ends_both_sides_as_a_cancel() {
    cancel_while_paused(true);
    cancel_while_paused(false);
}
