//! Guards docs/PROTOCOL.md against drifting from the code: its tables
//! (greeting and beacon header bytes, frame kinds, message and enum variant
//! numbers, limits, timers, capability bits, discovery timings) and its
//! worked examples (the `Ping` frame, the `Announce` datagram) must match what
//! `ferry::protocol` (and, for discovery timings, `ferry::discovery`) really
//! defines and encodes. Variant numbers are read off the encoder, so the test
//! sees the order the enum has, not the order someone believes it has.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry::protocol::beacon::{
    BEACON_MAGIC, BEACON_VERSION, CAP_HELLO, CAP_RECEIVE, CAP_RESUME, CAP_TEXT,
};
use ferry::protocol::frame::{KIND_CONTROL, KIND_DATA, write_greeting};
use ferry::protocol::limits::{
    DATA_CHUNK, MAX_ALIAS_BYTES, MAX_BEACON_BYTES, MAX_CONTROL_FRAME, MAX_DATA_FRAME,
    MAX_FIRST_FRAME, MAX_NAME_BYTES, MAX_OFFER_ITEMS, MAX_OPEN_PAGES, MAX_PAGE_ENTRIES,
    MAX_PATH_DEPTH, MAX_REASON_BYTES, MAX_TEXT_BYTES,
};
use ferry::protocol::messages::MAX_HEARD;
use ferry::protocol::{
    Beacon, BeaconKind, CancelReason, DEFAULT_TCP_PORT, DeviceInfo, EntryKind, FileVerdict,
    FrameWriter, HANDSHAKE_TIMEOUT, Hello, IDLE_TIMEOUT, MAGIC, Message, Offer, PING_INTERVAL,
    PROMPT_TIMEOUT, PROTOCOL_VERSION, codec,
};

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PROTOCOL.md");

fn doc() -> String {
    std::fs::read_to_string(DOC_PATH).expect("read docs/PROTOCOL.md")
}

/// The text of the section whose `## ` heading starts with `heading`, up to
/// the next `## ` heading.
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc
        .find(&format!("\n## {heading}"))
        .unwrap_or_else(|| panic!("docs/PROTOCOL.md has no section \"## {heading}\""));
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |at| at + 3);
    &rest[..end]
}

/// Every Markdown table in `text`: its body rows (header and rule dropped),
/// each a list of trimmed cells.
fn tables(text: &str) -> Vec<Vec<Vec<String>>> {
    let mut out = Vec::new();
    let mut current: Vec<Vec<String>> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        let line = line.trim();
        if line.starts_with('|') {
            let cells = line
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            current.push(cells);
        } else if !current.is_empty() {
            // Drop the header row and the |---| rule.
            out.push(current.split_off(2.min(current.len())));
            current.clear();
        }
    }
    out
}

/// The table in `text` whose header row has exactly these cells.
fn table(text: &str, header: &[&str]) -> Vec<Vec<String>> {
    let mut found = None;
    let mut rows: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        let line = line.trim();
        if line.starts_with('|') {
            rows.push(line);
            continue;
        }
        if let Some(first) = rows.first() {
            let cells: Vec<&str> = first.trim_matches('|').split('|').map(str::trim).collect();
            if cells == header {
                found = Some(rows.join("\n"));
                break;
            }
        }
        rows.clear();
    }
    let found = found.unwrap_or_else(|| panic!("no table with header {header:?}"));
    tables(&found).remove(0)
}

/// The first `backticked` word of a cell.
fn code(cell: &str) -> &str {
    cell.split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no `name` in {cell:?}"))
}

/// A number written with spaces between thousands ("16 777 216").
fn number(cell: &str) -> u64 {
    let digits: String = cell
        .trim_matches('*')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    digits
        .parse()
        .unwrap_or_else(|e| panic!("{cell:?} is not a number: {e}"))
}

/// A duration written as "10 s" or "0.3 s" (to the millisecond).
fn seconds(cell: &str) -> Duration {
    let value = cell
        .strip_suffix(" s")
        .unwrap_or_else(|| panic!("{cell:?} is not in seconds"));
    millis(value)
}

/// Seconds written as "0.3", to the millisecond.
fn millis(value: &str) -> Duration {
    let secs: f64 = value
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{value:?} is not seconds: {e}"));
    Duration::from_millis((secs * 1000.0).round() as u64)
}

/// Hex bytes written as "46 45 52" (backticks and line breaks allowed).
fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b.trim_matches('`'), 16).expect("hex byte"))
        .collect()
}

/// The variant index a value of a wire enum is encoded with (bincode's u32
/// LE tag, the first four bytes).
fn tag<T: serde::Serialize>(value: &T) -> u32 {
    let bytes = codec::encode(value).expect("encode");
    u32::from_le_bytes(bytes[..4].try_into().expect("a tag"))
}

fn device() -> DeviceInfo {
    DeviceInfo {
        device_id: "ab12".into(),
        alias: "desk".into(),
        os: "linux".into(),
        port: 47813,
    }
}

/// One value of every `Message` variant, by name. The match makes a new
/// variant a compile error here until the test (and the doc) know it.
fn messages() -> Vec<(&'static str, Message)> {
    let all = vec![
        Message::Hello(Hello {
            device: device(),
            heard: Vec::new(),
        }),
        Message::Offer(Offer {
            transfer_id: 1,
            sender: device(),
            entries: Vec::new(),
            pin: None,
            contents: Vec::new(),
        }),
        Message::Accept(Vec::new()),
        Message::Decline(String::new()),
        Message::FileStart {
            index: 0,
            offset: 0,
        },
        Message::FileEnd {
            index: 0,
            sha256: [0; 32],
        },
        Message::FileAbandoned {
            index: 0,
            reason: String::new(),
        },
        Message::FileResult {
            index: 0,
            verdict: FileVerdict::Verified,
        },
        Message::Done,
        Message::Summary {
            verified: 0,
            failed: 0,
        },
        Message::Cancel(CancelReason::User),
        Message::NeedPin {
            wrong: false,
            retry_after_secs: 0,
        },
        Message::Ping,
        Message::PairCommit {
            device: device(),
            commitment: [0; 32],
        },
        Message::PairNonce {
            device: device(),
            nonce: [0; 32],
        },
        Message::PairReveal {
            nonce: [0; 32],
            confirming: false,
        },
        Message::Page {
            item: 0,
            first: 0,
            entries: Vec::new(),
        },
        Message::Want {
            first: 0,
            files: Vec::new(),
        },
        Message::Pause,
        Message::Resume,
    ];
    all.into_iter()
        .map(|m| {
            let name = match &m {
                Message::Hello(_) => "Hello",
                Message::Offer(_) => "Offer",
                Message::Accept(_) => "Accept",
                Message::Decline(_) => "Decline",
                Message::FileStart { .. } => "FileStart",
                Message::FileEnd { .. } => "FileEnd",
                Message::FileAbandoned { .. } => "FileAbandoned",
                Message::FileResult { .. } => "FileResult",
                Message::Done => "Done",
                Message::Summary { .. } => "Summary",
                Message::Cancel(_) => "Cancel",
                Message::NeedPin { .. } => "NeedPin",
                Message::Ping => "Ping",
                Message::PairCommit { .. } => "PairCommit",
                Message::PairNonce { .. } => "PairNonce",
                Message::PairReveal { .. } => "PairReveal",
                Message::Page { .. } => "Page",
                Message::Want { .. } => "Want",
                Message::Pause => "Pause",
                Message::Resume => "Resume",
            };
            (name, m)
        })
        .collect()
}

#[test]
fn the_message_table_numbers_every_variant_as_the_encoder_does() {
    let doc = doc();
    let rows = table(
        section(&doc, "2. Frames"),
        &["#", "variant", "fields", "direction"],
    );
    let documented: BTreeMap<String, u32> = rows
        .iter()
        .map(|row| (code(&row[1]).to_string(), number(&row[0]) as u32))
        .collect();
    assert_eq!(rows.len(), documented.len(), "a variant listed twice");
    let actual: BTreeMap<String, u32> = messages()
        .iter()
        .map(|(name, m)| (name.to_string(), tag(m)))
        .collect();
    assert_eq!(
        documented, actual,
        "docs/PROTOCOL.md's Message table (left) differs from the code (right)"
    );
    // The table is in index order, as the encoding section promises.
    let numbers: Vec<u64> = rows.iter().map(|row| number(&row[0])).collect();
    assert_eq!(numbers, (0..rows.len() as u64).collect::<Vec<_>>());
}

#[test]
fn the_enum_lines_number_variants_as_the_encoder_does() {
    let doc = doc();
    // Lines such as `EntryKind  = 0 File | 1 Directory | 2 Text(String)`.
    let mut documented: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
    for line in doc.lines() {
        let Some((name, variants)) = line.split_once(" = ") else {
            continue;
        };
        let name = name.trim();
        if name.contains(' ') || !name.chars().all(char::is_alphanumeric) {
            continue;
        }
        let parsed = variants
            .split('|')
            .map(|v| {
                let (n, variant) = v.trim().split_once(' ').expect("`N Name`");
                let variant = variant.split('(').next().expect("name");
                (n.parse().expect("variant number"), variant.to_string())
            })
            .collect();
        documented.insert(name.to_string(), parsed);
    }
    let entry_kind = [
        (EntryKind::File, "File"),
        (EntryKind::Directory, "Directory"),
        (EntryKind::Text(String::new()), "Text"),
    ]
    .map(|(v, n)| (tag(&v), n.to_string()));
    let cancel = [
        (CancelReason::User, "User"),
        (CancelReason::Error(String::new()), "Error"),
    ]
    .map(|(v, n)| (tag(&v), n.to_string()));
    let verdict = [
        (FileVerdict::Verified, "Verified"),
        (FileVerdict::Mismatch, "Mismatch"),
        (FileVerdict::Failed(String::new()), "Failed"),
    ]
    .map(|(v, n)| (tag(&v), n.to_string()));
    let beacon_kind = [
        (BeaconKind::Announce, "Announce"),
        (BeaconKind::Reply, "Reply"),
        (BeaconKind::Goodbye, "Goodbye"),
        (BeaconKind::Query, "Query"),
    ]
    .map(|(v, n)| (tag(&v), n.to_string()));
    let actual: BTreeMap<String, Vec<(u32, String)>> = [
        ("EntryKind", entry_kind.to_vec()),
        ("CancelReason", cancel.to_vec()),
        ("FileVerdict", verdict.to_vec()),
        ("BeaconKind", beacon_kind.to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(documented, actual);
}

#[test]
fn the_frame_kinds_and_the_ping_example_match_the_writer() {
    let doc = doc();
    let frames = section(&doc, "2. Frames");
    let header = table(frames, &["offset", "size", "field"]);
    let kind = &header[0][2];
    assert!(
        kind.contains(&format!("`{KIND_CONTROL}` = control message")),
        "{kind}"
    );
    assert!(
        kind.contains(&format!("`{KIND_DATA}` = file data")),
        "{kind}"
    );

    // "Example: `Ping` is the frame `00 00 00 00 04 0c 00 00 00`."
    let example = frames
        .split("Example: `Ping` is the frame `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("the Ping example");
    let mut written = Vec::new();
    let mut writer = FrameWriter::new(&mut written);
    writer.send_now(&Message::Ping).expect("write Ping");
    drop(writer);
    assert_eq!(hex(example), written, "the Ping example frame");
}

#[test]
fn the_greeting_table_matches_the_greeting_written() {
    let doc = doc();
    let rows = table(section(&doc, "1. Greeting"), &["offset", "size", "value"]);
    let magic = hex(rows[0][2].split('`').nth(1).expect("magic bytes"));
    assert_eq!(magic, MAGIC);
    let version = rows[1][2]
        .split("this document: `")
        .nth(1)
        .and_then(|v| v.split('`').next())
        .expect("version");
    assert_eq!(version.parse::<u16>().expect("version"), PROTOCOL_VERSION);
    assert!(doc.starts_with(&format!(
        "# Ferry wire protocol, version {PROTOCOL_VERSION}\n"
    )));
    let mut greeting = Vec::new();
    write_greeting(&mut greeting).expect("greeting");
    assert_eq!(greeting[..6], magic[..]);
    assert_eq!(greeting[6..], PROTOCOL_VERSION.to_be_bytes());
}

#[test]
fn the_limit_tables_match_the_constants() {
    let doc = doc();
    let frames = section(&doc, "2. Frames");
    let mut documented = BTreeMap::new();
    for row in table(frames, &["limit", "value", "meaning"])
        .iter()
        .chain(&table(frames, &["limit", "value"]))
    {
        documented.insert(code(&row[0]).to_string(), number(&row[1]));
    }
    let actual: BTreeMap<String, u64> = [
        ("MAX_CONTROL_FRAME", u64::from(MAX_CONTROL_FRAME)),
        ("MAX_FIRST_FRAME", u64::from(MAX_FIRST_FRAME)),
        ("MAX_DATA_FRAME", u64::from(MAX_DATA_FRAME)),
        ("DATA_CHUNK", DATA_CHUNK as u64),
        ("MAX_OFFER_ITEMS", MAX_OFFER_ITEMS as u64),
        ("MAX_PAGE_ENTRIES", MAX_PAGE_ENTRIES as u64),
        ("MAX_OPEN_PAGES", MAX_OPEN_PAGES as u64),
        ("MAX_PATH_DEPTH", MAX_PATH_DEPTH as u64),
        ("MAX_NAME_BYTES", MAX_NAME_BYTES as u64),
        ("MAX_TEXT_BYTES", MAX_TEXT_BYTES as u64),
        ("MAX_ALIAS_BYTES", MAX_ALIAS_BYTES as u64),
        ("MAX_REASON_BYTES", MAX_REASON_BYTES as u64),
        ("MAX_HEARD", MAX_HEARD as u64),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(documented, actual);

    // The beacon checks table: "at most `MAX_BEACON_BYTES` = **512** bytes".
    let checks = table(section(&doc, "5. Discovery"), &["check", "rule"]);
    let size = checks
        .iter()
        .find(|row| row[0] == "size")
        .expect("the size check");
    let beacon_max = size[1]
        .split("`MAX_BEACON_BYTES` = **")
        .nth(1)
        .and_then(|v| v.split("**").next())
        .expect("MAX_BEACON_BYTES value");
    assert_eq!(number(beacon_max), MAX_BEACON_BYTES as u64);
    let alias = checks
        .iter()
        .find(|row| row[0] == "alias, OS")
        .expect("the alias check");
    assert!(
        alias[1].contains(&format!("`MAX_ALIAS_BYTES` ({MAX_ALIAS_BYTES})")),
        "{alias:?}"
    );
}

#[test]
fn the_timer_tables_match_the_constants() {
    let doc = doc();
    let timers = table(
        section(&doc, "3. A transfer"),
        &["constant", "value", "meaning"],
    );
    let documented: BTreeMap<String, Duration> = timers
        .iter()
        .map(|row| (code(&row[0]).to_string(), seconds(&row[1])))
        .collect();
    let actual: BTreeMap<String, Duration> = [
        ("HANDSHAKE_TIMEOUT", HANDSHAKE_TIMEOUT),
        ("PING_INTERVAL", PING_INTERVAL),
        ("IDLE_TIMEOUT", IDLE_TIMEOUT),
        ("PROMPT_TIMEOUT", PROMPT_TIMEOUT),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(documented, actual);

    let behaviour = table(
        section(&doc, "5. Discovery"),
        &["constant", "value", "meaning"],
    );
    let value = |name: &str| {
        behaviour
            .iter()
            .find(|row| code(&row[0]) == name)
            .map(|row| row[1].clone())
            .unwrap_or_else(|| panic!("{name} is not in the behaviour table"))
    };
    assert_eq!(
        seconds(&value("BEACON_INTERVAL")),
        ferry::discovery::BEACON_INTERVAL
    );
    assert_eq!(
        seconds(&value("PEER_EXPIRY")),
        ferry::discovery::PEER_EXPIRY
    );
    let burst: Vec<Duration> = value("BURST")
        .trim_end_matches(" s")
        .split(", ")
        .map(millis)
        .collect();
    assert_eq!(burst, ferry::discovery::BURST);
    assert_eq!(behaviour.len(), 3, "a constant the test does not check");
}

#[test]
fn constants_named_in_the_text_match_the_code() {
    let doc = doc();
    // "`NAME` (value)" in running text.
    let mut named = BTreeMap::new();
    for piece in doc.split('`').collect::<Vec<_>>().windows(2) {
        let (name, after) = (piece[0], piece[1]);
        if !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') || name.is_empty() {
            continue;
        }
        if let Some(value) = after
            .strip_prefix(" (")
            .and_then(|rest| rest.split(')').next())
        {
            named
                .entry(name.to_string())
                .or_insert_with(Vec::new)
                .push(value.to_string());
        }
    }
    let expect = |name: &str, value: String| {
        let said = named
            .get(name)
            .unwrap_or_else(|| panic!("{name} (value) is not in the text"));
        assert!(
            said.iter().all(|v| *v == value),
            "{name}: {said:?} vs {value}"
        );
    };
    expect(
        "MAX_WRONG_PINS",
        ferry::transfer::receive::MAX_WRONG_PINS.to_string(),
    );
    expect("MAX_HEARD", MAX_HEARD.to_string());
    expect("MAX_ALIAS_BYTES", MAX_ALIAS_BYTES.to_string());
    let secs = |d: Duration| format!("{} s", d.as_secs_f64());
    expect("PEER_EXPIRY", secs(ferry::discovery::PEER_EXPIRY));
    expect("PROBE_INTERVAL", secs(ferry::discovery::PROBE_INTERVAL));
    assert!(doc.contains("1 MiB (`EAGER_META_BYTES`)"));
    assert_eq!(ferry::transfer::receive::resume::EAGER_META_BYTES, 1 << 20);

    // Default ports, in the conventions and in section 5.
    assert!(doc.contains(&format!("Default TCP port: **{DEFAULT_TCP_PORT}**")));
    let udp = ferry::discovery::DEFAULT_UDP_PORT;
    assert!(doc.contains(&format!("default port **{udp}**")));
    assert!(doc.contains(&format!("UDP port: **{udp}** by default")));
}

#[test]
fn the_beacon_header_flags_and_example_match_the_encoder() {
    let doc = doc();
    let discovery = section(&doc, "5. Discovery");
    let header = table(discovery, &["offset", "size", "value"]);
    let magic = hex(header[0][2].split('`').nth(1).expect("magic bytes"));
    assert_eq!(magic, BEACON_MAGIC);
    let version = header[1][2]
        .split("this document: `")
        .nth(1)
        .and_then(|v| v.split('`').next())
        .expect("version");
    assert_eq!(version.parse::<u16>().expect("version"), BEACON_VERSION);

    let flags: BTreeMap<String, u32> = table(discovery, &["bit", "name", "meaning"])
        .iter()
        .map(|row| {
            let shift = code(&row[0])
                .strip_prefix("1 << ")
                .expect("`1 << n`")
                .parse::<u32>()
                .expect("shift");
            (code(&row[1]).to_string(), 1 << shift)
        })
        .collect();
    let actual: BTreeMap<String, u32> = [
        ("CAP_RECEIVE", CAP_RECEIVE),
        ("CAP_TEXT", CAP_TEXT),
        ("CAP_RESUME", CAP_RESUME),
        ("CAP_HELLO", CAP_HELLO),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(flags, actual);

    // The worked example: the described Announce, byte for byte.
    let example = discovery
        .split("(real device ids are 64 hex digits, see section 1b):\n\n```\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the beacon example");
    let beacon = Beacon {
        kind: BeaconKind::Announce,
        instance: 0x0102030405060708,
        protocol: PROTOCOL_VERSION,
        device: device(),
        flags: 9,
    };
    let bytes = beacon.encode().expect("encode");
    assert_eq!(hex(example), bytes);
    assert!(discovery.contains(&format!("is these {} bytes", bytes.len())));
}
