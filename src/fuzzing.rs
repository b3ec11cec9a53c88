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

use crate::engine::OfferSummary;
use crate::protocol::codec;
use crate::protocol::frame::read_greeting;
use crate::protocol::limits::{MAX_DATA_FRAME, MAX_NAME_BYTES, MAX_PATH_DEPTH};
use crate::protocol::{
    CancelReason, DeviceInfo, Entry, FileVerdict, Frame, FrameReader, FrameWriter, Hello, Message,
    Offer, WantedFile,
};
use crate::protocol::{MAGIC, PROTOCOL_VERSION};
use crate::transfer::paths::{self, NameRules, PART_SUFFIX};
use crate::transfer::resume::PART_META_SUFFIX;

/// A property check over arbitrary bytes; panics when a promise is broken.
pub type Property = fn(&[u8]);

/// The fuzz targets, by name: each is a directory under `fuzz/corpus/` and
/// `fuzz/regressions/`, a file under `fuzz/fuzz_targets/`, and one of the
/// functions below.
pub const TARGETS: [(&str, Property); 3] = [
    ("frame_reader", frame_reader),
    ("message_decode", message_decode),
    ("received_name", received_name),
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
        let _ = OfferSummary::of(&offer.entries, None);
        for entry in &offer.entries {
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
    let result = paths::sanitize_relative_for(components, rules);
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
        paths::numbered(name, paths::MAX_NUMBERED)
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
            !paths::is_windows_reserved(device),
            "{name:?} is a Windows device name"
        );
    }
}
