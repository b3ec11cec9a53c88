//! Property checks on untrusted input, shared by the fuzz targets in `fuzz/`
//! and by `tests/fuzz_regressions.rs`, which replays the committed corpus on
//! every `cargo test`. Each check takes arbitrary bytes, feeds them to one
//! decoder or sanitiser, and panics only when a promise is broken: a decoder
//! panicking, a decoded value that does not encode back to the same bytes, a
//! limit-breaking value getting through, or a received name that could leave
//! the download folder. Not a public API (hidden from the docs); it reads no
//! files and opens no sockets.

use std::fmt::Debug;
use std::path::{Component, Path};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::fs::names::{self, NameRules, PART_META_SUFFIX, PART_SUFFIX};
use crate::http::upload_name_for;
use crate::protocol::beacon::{BEACON_HEADER_BYTES, BEACON_MAGIC, BEACON_VERSION, BeaconError};
use crate::protocol::codec;
use crate::protocol::frame::read_greeting;
use crate::protocol::limits::{
    MAX_ALIAS_BYTES, MAX_BEACON_BYTES, MAX_DATA_FRAME, MAX_NAME_BYTES, MAX_PATH_DEPTH,
};
use crate::protocol::{
    Beacon, CancelReason, DeviceInfo, Entry, FileVerdict, Frame, FrameReader, FrameWriter, Hello,
    Message, Offer, WantedFile,
};
use crate::protocol::{MAGIC, PROTOCOL_VERSION};

/// A property check over arbitrary bytes; panics when a promise is broken.
pub type Property = fn(&[u8]);

/// The fuzz targets, by name: each is a directory under `fuzz/corpus/` and
/// `fuzz/regressions/`, a file under `fuzz/fuzz_targets/`, and one of the
/// functions below.
pub const TARGETS: [(&str, Property); 6] = [
    ("beacon_decode", beacon_decode),
    ("frame_reader", frame_reader),
    ("message_decode", message_decode),
    ("received_name", received_name),
    ("upload_name", upload_name),
    ("tls_record_reader", tls_record_reader),
];

/// Bytes as they arrive on a connection: the greeting check, then frames
/// until the first error. Properties: nothing panics; a data frame never
/// exceeds its limit; every control message that comes out has passed its
/// limits and survives a write/read round trip through the framing; names
/// in an offer are judged without panicking.
pub fn frame_reader(data: &[u8]) {
    let greeting_ok = read_greeting(&mut &data[..]).is_ok();
    let expected =
        data.len() >= 8 && data[..6] == MAGIC && data[6..8] == PROTOCOL_VERSION.to_be_bytes();
    assert_eq!(
        greeting_ok,
        expected,
        "greeting verdict for {:02x?}",
        data.get(..8)
    );

    let mut reader = FrameReader::new(data);
    let mut recycled = None;
    loop {
        match reader.read_frame(recycled.take()) {
            Ok(Frame::Data(bytes)) => {
                assert!(bytes.len() <= MAX_DATA_FRAME as usize);
                recycled = Some(bytes);
            }
            Ok(Frame::Message(message)) => {
                assert!(
                    message.check_limits().is_ok(),
                    "a message over its limits got through: {message:?}"
                );
                framed_round_trip(&message);
                judge_message(&message);
            }
            Err(e) => {
                // Every error must be a sentence a person can be shown.
                assert!(!e.to_string().is_empty());
                let _ = e.is_disconnect();
                return;
            }
        }
    }
}

fn framed_round_trip(message: &Message) {
    let mut wire = Vec::new();
    {
        let mut writer = FrameWriter::new(&mut wire);
        if let Err(e) = writer.send_now(message) {
            panic!("a message that was read cannot be written again: {e}");
        }
    }
    match FrameReader::new(&wire[..]).read_message() {
        Ok(back) => assert_eq!(&back, message),
        Err(e) => panic!("a message that was written cannot be read again: {e}"),
    }
}

/// What the receiver does with a message before anyone sees it.
fn judge_message(message: &Message) {
    if let Message::Offer(offer) = message {
        let _ = offer.total_file_bytes();
        let _ = crate::protocol::views::outline(&offer.entries, &offer.contents, None);
        for entry in &offer.entries {
            for rules in [NameRules::Unix, NameRules::Windows] {
                check_path(&entry.path, rules);
            }
        }
    }
    if let Message::Page { entries, .. } = message {
        for entry in entries {
            for rules in [NameRules::Unix, NameRules::Windows] {
                check_path(&entry.path, rules);
            }
        }
    }
}

/// One value of some wire type. The first byte picks the type (every message
/// and every structure inside one); the rest is its encoding. Properties:
/// decoding never panics; what decodes encodes back to exactly the same bytes
/// (the encoding is canonical) and decodes again to an equal value
/// (`decode(encode(x)) == x`); limit checks never panic.
pub fn message_decode(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 9 {
        0 => {
            if let Some(message) = round_trip::<Message>(bytes) {
                let _ = message.check_limits();
                if message.check_limits().is_ok() {
                    judge_message(&message);
                }
            }
        }
        1 => {
            if let Some(offer) = round_trip::<Offer>(bytes) {
                let _ = offer.check_limits();
            }
        }
        2 => {
            if let Some(hello) = round_trip::<Hello>(bytes) {
                let _ = Message::Hello(hello).check_limits();
            }
        }
        3 => {
            if let Some(device) = round_trip::<DeviceInfo>(bytes) {
                let _ = device.check_limits();
            }
        }
        4 => {
            round_trip::<Entry>(bytes);
        }
        5 => {
            round_trip::<Vec<WantedFile>>(bytes);
        }
        6 => {
            round_trip::<FileVerdict>(bytes);
        }
        7 => {
            round_trip::<CancelReason>(bytes);
        }
        _ => {
            round_trip::<Vec<String>>(bytes);
        }
    }
}

fn round_trip<T>(bytes: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let value: T = codec::decode(bytes).ok()?;
    let again = match codec::encode(&value) {
        Ok(again) => again,
        Err(e) => panic!("a decoded value cannot be encoded: {e}: {value:?}"),
    };
    assert_eq!(again, bytes, "encoding is not canonical for {value:?}");
    match codec::decode::<T>(&again) {
        Ok(back) => assert_eq!(back, value),
        Err(e) => panic!("an encoded value cannot be decoded: {e}: {value:?}"),
    }
    Some(value)
}

/// One UDP datagram as it arrives on the discovery port, decoded as a
/// beacon; and, so the fuzzer reaches the body decoder without first
/// guessing the header, the same bytes behind a valid header. Properties:
/// decoding never panics; a datagram over [`MAX_BEACON_BYTES`] is refused
/// as too large before anything else; whatever decodes carried the magic and
/// this build's version, passes `Beacon::check` (device id non-empty ASCII
/// letters, digits, `-`, `_`; every name within [`MAX_ALIAS_BYTES`]; no
/// control characters), encodes back to exactly the same datagram and
/// decodes again to an equal value.
pub fn beacon_decode(data: &[u8]) {
    check_datagram(data);
    let mut framed = Vec::with_capacity(BEACON_HEADER_BYTES + data.len());
    framed.extend_from_slice(&BEACON_MAGIC);
    framed.extend_from_slice(&BEACON_VERSION.to_be_bytes());
    framed.extend_from_slice(data);
    check_datagram(&framed);
}

fn check_datagram(datagram: &[u8]) {
    let result = Beacon::decode(datagram);
    if datagram.len() > MAX_BEACON_BYTES {
        assert!(
            matches!(result, Err(BeaconError::TooLarge(n)) if n == datagram.len()),
            "a datagram of {} bytes was not refused as too large: {result:?}",
            datagram.len()
        );
        return;
    }
    let beacon = match result {
        Err(e) => {
            // Every error must be a sentence a person (or `ferry doctor`) can be shown.
            assert!(!e.to_string().is_empty());
            return;
        }
        Ok(beacon) => beacon,
    };
    assert_eq!(datagram[..6], BEACON_MAGIC, "{beacon:?}");
    assert_eq!(datagram[6..8], BEACON_VERSION.to_be_bytes(), "{beacon:?}");
    let device = &beacon.device;
    assert!(
        beacon.check().is_ok(),
        "a beacon that fails its check got through: {beacon:?}"
    );
    assert!(
        !device.device_id.is_empty()
            && device.device_id.len() <= MAX_ALIAS_BYTES
            && device
                .device_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "bad device id got through: {beacon:?}"
    );
    assert!(
        device.alias.len() <= MAX_ALIAS_BYTES && device.os.len() <= MAX_ALIAS_BYTES,
        "an over-long name got through: {beacon:?}"
    );
    assert!(
        !device.alias.chars().any(char::is_control) && !device.os.chars().any(char::is_control),
        "a control character got through: {beacon:?}"
    );
    let again = match beacon.encode() {
        Ok(again) => again,
        Err(e) => panic!("a decoded beacon cannot be encoded: {e}: {beacon:?}"),
    };
    assert_eq!(
        again, datagram,
        "beacon encoding is not canonical: {beacon:?}"
    );
    match Beacon::decode(&again) {
        Ok(back) => assert_eq!(back, beacon),
        Err(e) => panic!("an encoded beacon cannot be decoded: {e}: {beacon:?}"),
    }
}

/// The file name a browser puts in a multipart upload (made UTF-8 lossily,
/// as the multipart parser only hands out strings), through the function the
/// HTTP upload uses, under both the Unix and the Windows rules. Properties:
/// only the last `/` segment counts; that segment is refused exactly when
/// it is empty, `.` or `..` and made storable otherwise (issue 17: a `\` is
/// an ordinary character on Unix, over-long names are shortened); an
/// accepted name is one plain component that
/// never leaves the folder it is joined to, with the same guarantees as a
/// received name (see [`check_path`]).
pub fn upload_name(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let leaf = raw.rsplit('/').next().unwrap_or(&raw);
    let must_refuse = leaf.is_empty() || leaf == "." || leaf == "..";
    for rules in [NameRules::Unix, NameRules::Windows] {
        let name = match upload_name_for(&raw, rules) {
            Err(e) => {
                assert!(must_refuse, "{raw:?} refused ({e}) under {rules:?}");
                continue;
            }
            Ok(name) => {
                assert!(!must_refuse, "{raw:?} accepted as {name:?} under {rules:?}");
                name
            }
        };
        let path = Path::new(&name);
        let mut components = path.components();
        assert!(
            matches!(components.next(), Some(Component::Normal(_))) && components.next().is_none(),
            "{raw:?} became {name:?}, not one plain name"
        );
        let root = Path::new("/download/folder");
        let joined = root.join(path);
        assert!(joined.starts_with(root), "{name:?} leaves the folder");
        assert_eq!(
            joined.parent(),
            Some(root),
            "{name:?} is not directly in the folder"
        );
        // A `\` is a plain character of a Unix name (one component, as the
        // join above showed); every other property is a received name's.
        let plain = if rules == NameRules::Unix {
            name.replace('\\', "_")
        } else {
            name.clone()
        };
        check_name(&plain, rules);
    }
}

/// Separates path components in a `received_name` input. Never valid UTF-8,
/// so it cannot collide with a character of a name.
pub const COMPONENT_SEPARATOR: u8 = 0xff;

/// A received path, as components separated by [`COMPONENT_SEPARATOR`]
/// (each made UTF-8 lossily, as the wire only carries UTF-8), checked under
/// both the Unix and the Windows rules. See [`check_path`].
pub fn received_name(data: &[u8]) {
    let components: Vec<String> = data
        .split(|&b| b == COMPONENT_SEPARATOR)
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect();
    for rules in [NameRules::Unix, NameRules::Windows] {
        check_path(&components, rules);
    }
}

/// Properties of the received-name sanitiser:
/// - it refuses exactly the documented cases (no path, too deep, a component
///   empty, `.`, `..`, with `/`, `\`, NUL, a drive letter, or too long), and
///   accepts everything else;
/// - an accepted path has one plain component per received one, never
///   climbs out of the folder it is joined to, and holds no separator, NUL
///   or control character;
/// - each name leaves room for the longest name Ferry derives from it
///   (`name (10000).ext.ferry-part.meta`) within [`MAX_NAME_BYTES`];
/// - under Windows rules no name holds a character Windows cannot store,
///   ends in a dot or space, or is a reserved device name.
pub fn check_path(components: &[String], rules: NameRules) {
    let refusable = |c: &String| {
        let b = c.as_bytes();
        c.is_empty()
            || c == "."
            || c == ".."
            || c.contains(['/', '\\', '\0'])
            || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
            || c.len() > MAX_NAME_BYTES
    };
    let must_refuse = components.is_empty()
        || components.len() > MAX_PATH_DEPTH
        || components.iter().any(refusable);
    let result = names::sanitize_relative_for(components, rules);
    let path = match result {
        Err(e) => {
            assert!(must_refuse, "{components:?} refused ({e}) under {rules:?}");
            return;
        }
        Ok(path) => {
            assert!(!must_refuse, "{components:?} accepted as {path:?}");
            path
        }
    };
    assert_eq!(path.components().count(), components.len(), "{path:?}");
    let root = Path::new("/download/folder");
    let joined = root.join(&path);
    assert!(joined.starts_with(root), "{path:?} leaves the folder");
    for component in path.components() {
        let Component::Normal(name) = component else {
            panic!("{path:?} has a non-plain component {component:?}");
        };
        let Some(name) = name.to_str() else {
            panic!("{path:?} is not UTF-8");
        };
        check_name(name, rules);
    }
}

fn check_name(name: &str, rules: NameRules) {
    assert!(!name.is_empty() && name != "." && name != "..", "{name:?}");
    assert!(!name.contains(['/', '\\', '\0']), "{name:?}");
    assert!(!name.chars().any(char::is_control), "{name:?}");
    let longest = format!(
        "{}{PART_SUFFIX}{PART_META_SUFFIX}",
        names::numbered(name, names::MAX_NUMBERED)
    );
    assert!(
        longest.len() <= MAX_NAME_BYTES,
        "{name:?} ({} bytes) leaves no room for {longest:?} ({} bytes)",
        name.len(),
        longest.len()
    );
    if rules == NameRules::Windows {
        assert!(
            !name.contains(['<', '>', ':', '"', '|', '?', '*']),
            "{name:?}"
        );
        assert!(
            !name.ends_with(['.', ' ']),
            "{name:?} ends in a dot or space"
        );
        // Windows ignores everything from the first dot, and trailing spaces
        // before it, when it looks for a device name ("CON.tar.gz" is CON).
        let device = name.split('.').next().unwrap_or("").trim_end_matches(' ');
        assert!(
            !names::is_windows_reserved(device),
            "{name:?} is a Windows device name"
        );
    }
}

/// TLS records as they arrive after the handshake, read by the record
/// layer's reader (`secure::tls::TlsReader`). The input is a script — records
/// sealed under a known key schedule (so the fuzzer reaches what lies past
/// the AEAD: content types, padding, alerts, key updates, sizes), raw bytes,
/// flipped bits — and the wire it makes is read in uneven pieces.
/// Properties: nothing panics; the plaintext handed out is a prefix of the
/// application data sealed; once a read fails every later read fails with
/// the same error; a TLS error is the connection's fatal error and owes the
/// peer an alert unless the peer sent one.
pub fn tls_record_reader(data: &[u8]) {
    crate::secure::tls::fuzz::record_reader(data);
}
