//! Guards what fuzzing found and explored: every committed fuzz input
//! (`fuzz/corpus/<target>/*`, `fuzz/regressions/<target>/*`) is replayed
//! through the same property checks the fuzz targets run
//! (`ferry::fuzzing`), so CI keeps them true without running a fuzzer; and
//! each bug those properties exposed is shown end to end, named after it.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use common::Node;
use ferry::api::TransferId;
use ferry::api::{AcceptPolicy, Command};
use ferry::fuzzing::{COMPONENT_SEPARATOR, TARGETS};
use ferry::protocol::beacon::{CAP_HELLO, CAP_RECEIVE};
use ferry::protocol::codec;
use ferry::protocol::frame::write_greeting;
use ferry::protocol::limits::MAX_ALIAS_BYTES;
use ferry::protocol::{
    Beacon, BeaconKind, CancelReason, Contents, DeviceInfo, Entry, EntryKind, FileVerdict,
    FrameWriter, Hello, Message, Offer, PROTOCOL_VERSION, WantedFile,
};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_corpus_and_regression_input_keeps_its_properties() {
    // Panics are caught and listed below; keep the output readable.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    let mut replayed = 0;
    for kind in ["corpus", "regressions"] {
        let Ok(targets) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for target_dir in targets.filter_map(Result::ok).map(|e| e.path()) {
            let name = target_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some((_, property)) = TARGETS.iter().find(|(t, _)| *t == name) else {
                failures.push(format!("{}: no such fuzz target", target_dir.display()));
                continue;
            };
            for file in inputs(&target_dir) {
                let bytes = std::fs::read(&file).expect("read input");
                replayed += 1;
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| property(&bytes))) {
                    let why = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    failures.push(format!("{}: {why}", file.display()));
                }
            }
        }
    }
    std::panic::set_hook(quiet);
    assert!(failures.is_empty(), "{failures:#?}");
    for (target, _) in TARGETS {
        assert!(
            !inputs(&fuzz_dir().join("corpus").join(target)).is_empty(),
            "fuzz/corpus/{target} has no seed inputs"
        );
    }
    eprintln!("replayed {replayed} fuzz inputs");
}

/// Regression: `bug_longest_name_failed_once_numbered` (found by the
/// `received_name` property "room for `name (N).ext.ferry-part.meta`"). The
/// sanitiser kept 18 bytes of headroom for " (NNNN)" and ".ferry-part" but
/// not for the ".meta" beside a partial file, so a file with the longest
/// allowed name failed ("File name too long") as soon as its name was taken
/// and it had to become "name (1).ext".
#[test]
fn bug_longest_name_failed_once_numbered() {
    let src = tempfile::tempdir().expect("tmp");
    let file = src.path().join(format!("{}.pdf", "n".repeat(246)));
    std::fs::write(&file, "long name").expect("write");
    let mut receiver = Node::receiver("rx", AcceptPolicy::Everyone);
    for round in 0..2 {
        let mut sender = Node::sender("tx");
        sender.engine.send(Command::Send {
            id: TransferId::fresh(),
            to: receiver.addr(),
            paths: vec![file.clone()],
        });
        let outcome = receiver.finished();
        assert!(outcome.is_success(), "send {round}: {outcome:?}");
        assert!(sender.finished().is_success());
    }
    let mut names: Vec<String> = std::fs::read_dir(receiver.root())
        .expect("read")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| n.len() <= 255 && n.ends_with(".pdf")));
    assert!(names[1].ends_with(" (1).pdf") || names[0].ends_with(" (1).pdf"));
}

/// The seeds are generated from the real encoder, so they start the fuzzer
/// on valid traffic; this test checks them like any input (the committed
/// copies may be older than the code, which is fine for a fuzzer).
#[test]
fn generated_seeds_keep_their_properties() {
    for (target, _, bytes) in seeds() {
        let (_, property) = TARGETS
            .iter()
            .find(|(t, _)| *t == target)
            .expect("known target");
        property(&bytes);
    }
}

/// Refreshes `fuzz/corpus/<target>/seed-*` from the current encoder. Ignored
/// because it writes into the source tree; run it after a protocol change:
/// `cargo test --test fuzz_regressions -- --ignored write_seed_corpus`.
#[test]
#[ignore = "writes the seed corpus into fuzz/corpus; run by hand after a protocol change"]
fn write_seed_corpus() {
    for (target, name, bytes) in seeds() {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
    }
}

fn device() -> DeviceInfo {
    DeviceInfo {
        device_id: "3f2a91bc0d4e77a1c2f0".into(),
        alias: "Ada's laptop".into(),
        os: "linux".into(),
        port: 47_813,
    }
}

fn offer() -> Offer {
    Offer {
        transfer_id: 0x1234_5678,
        sender: device(),
        entries: vec![
            Entry {
                path: vec!["photos".into()],
                kind: EntryKind::Directory,
                size: 0,
                modified_ms: Some(1_700_000_000_000),
            },
            Entry {
                path: vec!["notes.txt".into()],
                kind: EntryKind::File,
                size: 11,
                modified_ms: Some(1_700_000_000_001),
            },
            Entry {
                path: vec![],
                kind: EntryKind::Text("hello".into()),
                size: 0,
                modified_ms: None,
            },
        ],
        pin: Some("1234".into()),
        contents: vec![Contents {
            files: 1,
            folders: 0,
            bytes: 11,
            fingerprint: [7; 32],
        }],
    }
}

/// The first page of the offer's folder.
fn page() -> Message {
    Message::Page {
        item: 0,
        first: 3,
        entries: vec![Entry {
            path: vec!["photos".into(), "été ☀.jpg".into()],
            kind: EntryKind::File,
            size: 11,
            modified_ms: Some(1_700_000_000_001),
        }],
    }
}

fn every_message() -> Vec<(&'static str, Message)> {
    vec![
        (
            "hello",
            Message::Hello(Hello {
                device: device(),
                heard: vec!["ab".into()],
            }),
        ),
        ("offer", Message::Offer(offer())),
        (
            "accept",
            Message::Accept(vec![
                WantedFile {
                    index: 1,
                    offset: 0,
                },
                WantedFile {
                    index: 3,
                    offset: 4096,
                },
            ]),
        ),
        ("decline", Message::Decline("busy".into())),
        (
            "file-start",
            Message::FileStart {
                index: 1,
                offset: 0,
            },
        ),
        (
            "file-end",
            Message::FileEnd {
                index: 1,
                sha256: [0xab; 32],
            },
        ),
        (
            "file-abandoned",
            Message::FileAbandoned {
                index: 1,
                reason: "changed".into(),
            },
        ),
        (
            "file-result",
            Message::FileResult {
                index: 1,
                verdict: FileVerdict::Failed("disk full".into()),
            },
        ),
        ("done", Message::Done),
        (
            "summary",
            Message::Summary {
                verified: 1,
                failed: 0,
            },
        ),
        ("cancel", Message::Cancel(CancelReason::Error("why".into()))),
        ("ping", Message::Ping),
        (
            "need-pin",
            Message::NeedPin {
                wrong: true,
                retry_after_secs: 30,
            },
        ),
        (
            "pair-commit",
            Message::PairCommit {
                device: device(),
                commitment: [0x5c; 32],
            },
        ),
        (
            "pair-nonce",
            Message::PairNonce {
                device: device(),
                nonce: [0x3a; 32],
            },
        ),
        (
            "pair-reveal",
            Message::PairReveal {
                nonce: [0x7e; 32],
                confirming: true,
            },
        ),
        ("page", page()),
        (
            "want",
            Message::Want {
                first: 3,
                files: vec![WantedFile {
                    index: 3,
                    offset: 0,
                }],
            },
        ),
        ("pause", Message::Pause),
        ("resume", Message::Resume),
    ]
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    codec::encode(value).expect("encode")
}

fn with_selector(selector: u8, bytes: Vec<u8>) -> Vec<u8> {
    let mut out = vec![selector];
    out.extend(bytes);
    out
}

/// (target, name, bytes) of every seed input.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    // message_decode: selector byte, then one encoded value (see ferry::fuzzing).
    for (name, message) in every_message() {
        out.push((
            "message_decode",
            format!("message-{name}"),
            with_selector(0, encode(&message)),
        ));
    }
    let o = offer();
    out.push((
        "message_decode",
        "offer".into(),
        with_selector(1, encode(&o)),
    ));
    let hello = Hello {
        device: device(),
        heard: vec![],
    };
    out.push((
        "message_decode",
        "hello".into(),
        with_selector(2, encode(&hello)),
    ));
    out.push((
        "message_decode",
        "device".into(),
        with_selector(3, encode(&device())),
    ));
    out.push((
        "message_decode",
        "entry".into(),
        with_selector(4, encode(&o.entries[1])),
    ));
    out.push((
        "message_decode",
        "wanted".into(),
        with_selector(
            5,
            encode(&vec![WantedFile {
                index: 0,
                offset: 7,
            }]),
        ),
    ));
    out.push((
        "message_decode",
        "verdict".into(),
        with_selector(6, encode(&FileVerdict::Mismatch)),
    ));
    out.push((
        "message_decode",
        "cancel-reason".into(),
        with_selector(7, encode(&CancelReason::User)),
    ));
    out.push((
        "message_decode",
        "strings".into(),
        with_selector(8, encode(&vec!["a".to_string(), "..".to_string()])),
    ));

    // frame_reader: what each side of a real transfer sends.
    let mut sender_side = Vec::new();
    {
        let mut w = FrameWriter::new(&mut sender_side);
        w.send(&Message::PairCommit {
            device: device(),
            commitment: [0x5c; 32],
        })
        .expect("commit");
        w.send(&Message::PairReveal {
            nonce: [0x7e; 32],
            confirming: false,
        })
        .expect("reveal");
        w.send(&Message::Offer(offer())).expect("offer");
        w.send(&page()).expect("page");
        w.send(&Message::Ping).expect("ping");
        w.send(&Message::FileStart {
            index: 1,
            offset: 0,
        })
        .expect("start");
        w.send_data(b"hello world").expect("data");
        w.send(&Message::FileEnd {
            index: 1,
            sha256: [1; 32],
        })
        .expect("end");
        w.send_now(&Message::Done).expect("done");
    }
    let mut receiver_side = Vec::new();
    {
        let mut w = FrameWriter::new(&mut receiver_side);
        for (_, message) in every_message() {
            w.send(&message).expect("send");
        }
        w.flush().expect("flush");
    }
    let mut greeted = Vec::new();
    write_greeting(&mut greeted).expect("greeting");
    greeted.extend_from_slice(&sender_side[..40.min(sender_side.len())]);
    out.push(("frame_reader", "sender-side".into(), sender_side));
    out.push(("frame_reader", "receiver-side".into(), receiver_side));
    out.push((
        "frame_reader",
        "greeting-and-truncated-offer".into(),
        greeted,
    ));
    out.push((
        "frame_reader",
        "data-frame-too-large".into(),
        vec![1, 0, 0x10, 0, 1],
    ));

    // received_name: components separated by 0xff.
    let names: [(&str, &[&str]); 12] = [
        ("plain", &["report.pdf"]),
        ("nested", &["photos", "2024", "été ☀.jpg"]),
        ("dotdot", &["a", "..", "..", "etc", "passwd"]),
        ("absolute", &["/etc/passwd"]),
        ("backslash", &["..\\..\\x"]),
        ("drive", &["C:", "x"]),
        ("control", &["a\nb\u{1b}[31m.txt"]),
        ("windows-device", &["CON.txt"]),
        ("windows-chars", &["a<b>c:d|e?f*.txt"]),
        ("trailing-dot", &["name. "]),
        ("empty", &[""]),
        ("dotfile", &[".bashrc"]),
    ];
    for (name, components) in names {
        let joined = components
            .iter()
            .map(|c| c.as_bytes().to_vec())
            .collect::<Vec<_>>()
            .join(&COMPONENT_SEPARATOR);
        out.push(("received_name", name.to_string(), joined));
    }
    let long = format!("{}.pdf", "x".repeat(250));
    out.push(("received_name", "long".into(), long.into_bytes()));

    // beacon_decode: a datagram as it arrives on the discovery port.
    for kind in [
        BeaconKind::Announce,
        BeaconKind::Reply,
        BeaconKind::Goodbye,
        BeaconKind::Query,
    ] {
        let datagram = beacon(kind).encode().expect("beacon");
        out.push((
            "beacon_decode",
            format!("{kind:?}").to_lowercase(),
            datagram,
        ));
    }
    let mut largest = beacon(BeaconKind::Announce);
    largest.device.device_id = "f".repeat(MAX_ALIAS_BYTES);
    largest.device.alias = "é".repeat(MAX_ALIAS_BYTES / 2);
    largest.device.os = "o".repeat(MAX_ALIAS_BYTES);
    out.push((
        "beacon_decode",
        "largest".into(),
        largest.encode().expect("largest beacon"),
    ));
    let valid = beacon(BeaconKind::Announce).encode().expect("beacon");
    let mut other_version = valid.clone();
    other_version[7] = 2;
    out.push(("beacon_decode", "other-version".into(), other_version));
    out.push((
        "beacon_decode",
        "truncated".into(),
        valid[..valid.len() / 2].to_vec(),
    ));
    out.push(("beacon_decode", "body-only".into(), valid[8..].to_vec()));
    let mut control = beacon(BeaconKind::Reply);
    control.device.alias = "evil\x1b[2J".into();
    let mut raw = b"FERRYB\x00\x01".to_vec();
    raw.extend(encode(&control));
    out.push(("beacon_decode", "control-alias".into(), raw));
    out.push((
        "beacon_decode",
        "junk".into(),
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    ));
    out.push((
        "beacon_decode",
        "oversized".into(),
        [valid.clone(), vec![0; 600]].concat(),
    ));

    // upload_name: the file name a browser sends.
    let uploads: [(&str, &str); 10] = [
        ("plain", "photo.jpg"),
        ("windows-path", "C:\\Users\\me\\Desktop\\report.pdf"),
        ("folder-upload", "album/2024/été ☀.jpg"),
        ("traversal", "../../etc/passwd"),
        ("dotdot", "a/.."),
        ("trailing-slash", "dir/"),
        ("drive", "C:evil.txt"),
        ("control", "a\nb\u{1b}[31m.txt"),
        ("windows-device", "x\\CON .tar.gz"),
        ("windows-chars", "a<b>c|d?*.txt. "),
    ];
    for (name, raw) in uploads {
        out.push(("upload_name", name.to_string(), raw.as_bytes().to_vec()));
    }
    out.push((
        "upload_name",
        "long".into(),
        format!("dir/{}.jpeg", "y".repeat(251)).into_bytes(),
    ));
    out
}

fn beacon(kind: BeaconKind) -> Beacon {
    Beacon {
        kind,
        instance: 0x0102_0304_0506_0708,
        protocol: PROTOCOL_VERSION,
        device: DeviceInfo {
            device_id: "9f86d081884c7d65".into(),
            alias: "desk".into(),
            os: "linux".into(),
            port: 47_813,
        },
        flags: CAP_RECEIVE | CAP_HELLO,
    }
}
