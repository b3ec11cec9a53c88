//! LocalSend's JSON messages (protocol v2.1, `localsend/protocol` README,
//! sections 3, 4 and 6) as serde types, with the hard limits Ferry puts on
//! everything that arrives: a datagram or body is checked against its size
//! limit before it is parsed, and a parsed message against its field limits
//! before anything else looks at it. It converts device types to the api's
//! view. It opens no socket and touches no file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::DeviceKind;

/// The protocol version Ferry speaks and announces.
pub const PROTOCOL_VERSION: &str = "2.1";

/// Largest announcement datagram taken (LocalSend's are ~250 bytes).
pub const MAX_ANNOUNCE_BYTES: usize = 4 * 1024;

/// Largest `register` / `info` body taken.
pub const MAX_REGISTER_BODY: usize = 8 * 1024;

/// Largest `prepare-upload` body taken: 10,000 files with long names and
/// their SHA-256 take about 3 MiB; a bigger body is cut off and refused.
pub const MAX_PREPARE_BODY: usize = 4 * 1024 * 1024;

/// Most files one `prepare-upload` may offer (Ferry's own offers allow more,
/// but each LocalSend file is one HTTP request).
pub const MAX_FILES: usize = 10_000;

/// Longest alias kept (longer ones are cut at a character boundary).
pub const MAX_ALIAS_CHARS: usize = 64;

/// Longest file id, token, session id or fingerprint taken.
pub const MAX_ID_BYTES: usize = 128;

/// Longest `fileName` taken (a relative path: folders included).
pub const MAX_FILE_NAME_BYTES: usize = 4096;

/// Who a LocalSend device says it is: an announcement (`announce` set), a
/// `register` body or answer, or `/info` (sections 3.1, 3.2, 6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    /// Its name.
    pub alias: String,
    /// Protocol version ("2.0", "2.1", ...).
    #[serde(default)]
    pub version: String,
    /// Model ("Samsung", "Windows"), if given.
    #[serde(default)]
    pub device_model: Option<String>,
    /// mobile | desktop | web | headless | server, if given.
    #[serde(default)]
    pub device_type: Option<String>,
    /// Over HTTPS the SHA-256 of its certificate; only a claim until a TLS
    /// handshake proves it.
    #[serde(default)]
    pub fingerprint: String,
    /// Its HTTP(S) port (absent in a `register` answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// "https" or "http" (absent in a `register` answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Whether its download API runs.
    #[serde(default)]
    pub download: bool,
    /// Announcements only: true asks everyone to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<bool>,
}

/// Why a message was not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// Over the size limit.
    #[error("message of {size} bytes is over the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not the JSON expected.
    #[error("invalid body: {0}")]
    Json(String),
    /// A field is out of bounds.
    #[error("invalid body: {0}")]
    Field(&'static str),
}

fn parse<T: for<'de> Deserialize<'de>>(bytes: &[u8], limit: usize) -> Result<T, WireError> {
    if bytes.len() > limit {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))
}

fn cut_alias(alias: &str) -> String {
    let cleaned: String = alias.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim();
    let cut: String = trimmed.chars().take(MAX_ALIAS_CHARS).collect();
    if cut.is_empty() {
        "LocalSend device".into()
    } else {
        cut
    }
}

impl Info {
    /// Parses an announcement, a `register` body or an `/info` answer of at
    /// most `limit` bytes and checks its fields.
    pub fn parse(bytes: &[u8], limit: usize) -> Result<Info, WireError> {
        let mut info: Info = parse(bytes, limit)?;
        info.check()?;
        Ok(info)
    }

    /// Checks bounds and tidies the alias (control characters out, length
    /// cut); the fingerprint is kept as sent, compared without case.
    pub fn check(&mut self) -> Result<(), WireError> {
        if self.fingerprint.len() > MAX_ID_BYTES {
            return Err(WireError::Field("fingerprint too long"));
        }
        if self.version.len() > 16 {
            return Err(WireError::Field("version too long"));
        }
        // Port 0 says nothing about where the device listens.
        if self.port == Some(0) {
            self.port = None;
        }
        self.alias = cut_alias(&self.alias);
        self.device_model = self
            .device_model
            .take()
            .map(|m| m.chars().filter(|c| !c.is_control()).take(64).collect());
        if self.device_type.as_ref().is_some_and(|t| t.len() > 16) {
            self.device_type = None;
        }
        Ok(())
    }

    /// True when the device speaks plain HTTP (it said so); HTTPS otherwise.
    pub fn plain_http(&self) -> bool {
        self.protocol.as_deref() == Some("http")
    }

    /// The api's view of its device type.
    pub fn kind(&self) -> DeviceKind {
        match self.device_type.as_deref() {
            Some("mobile") => DeviceKind::Mobile,
            Some("desktop") => DeviceKind::Desktop,
            Some("web") => DeviceKind::Web,
            Some("headless") => DeviceKind::Headless,
            Some("server") => DeviceKind::Server,
            _ => DeviceKind::Unknown,
        }
    }

    /// The datagram form.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A file's optional times (section 4.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTimes {
    /// ISO 8601, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// ISO 8601, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessed: Option<String>,
}

/// One file of a `prepare-upload` (section 4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileMeta {
    /// The sender's id for it.
    pub id: String,
    /// Its name; a relative path with `/` for a file inside a folder.
    pub file_name: String,
    /// Bytes.
    pub size: u64,
    /// MIME type.
    #[serde(default)]
    pub file_type: String,
    /// Lower- or upper-case hex SHA-256, if the sender gave one.
    #[serde(default)]
    pub sha256: Option<String>,
    /// A preview (for a text message: the text itself), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// Its times, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<FileTimes>,
}

impl FileMeta {
    /// The 32 bytes of `sha256`, if it is 64 hex digits; `Err` if it is
    /// given but malformed.
    pub fn digest(&self) -> Result<Option<[u8; 32]>, WireError> {
        let Some(hex) = self.sha256.as_deref().filter(|h| !h.is_empty()) else {
            return Ok(None);
        };
        decode_hex32(hex)
            .map(Some)
            .ok_or(WireError::Field("sha256 is not 64 hex digits"))
    }
}

/// 64 hex digits (either case) as 32 bytes.
pub fn decode_hex32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// `POST /api/localsend/v2/prepare-upload` (section 4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepareUpload {
    /// The sender.
    pub info: Info,
    /// The files by id.
    pub files: BTreeMap<String, FileMeta>,
}

impl PrepareUpload {
    /// Parses and checks a body of at most [`MAX_PREPARE_BODY`] bytes.
    pub fn parse(bytes: &[u8]) -> Result<PrepareUpload, WireError> {
        let mut body: PrepareUpload = parse(bytes, MAX_PREPARE_BODY)?;
        body.info.check()?;
        if body.files.is_empty() {
            return Err(WireError::Field("no files"));
        }
        if body.files.len() > MAX_FILES {
            return Err(WireError::Field("too many files"));
        }
        for (key, file) in &body.files {
            if key.len() > MAX_ID_BYTES || file.id.len() > MAX_ID_BYTES {
                return Err(WireError::Field("file id too long"));
            }
            if *key != file.id {
                return Err(WireError::Field("file id differs from its key"));
            }
            if file.file_name.is_empty() || file.file_name.len() > MAX_FILE_NAME_BYTES {
                return Err(WireError::Field("file name empty or too long"));
            }
            file.digest()?;
        }
        Ok(body)
    }
}

/// The answer to an accepted `prepare-upload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepareAnswer {
    /// The session.
    pub session_id: String,
    /// A token per accepted file id.
    pub files: BTreeMap<String, String>,
}

impl PrepareAnswer {
    /// Parses an answer (a sender reading a receiver's reply).
    pub fn parse(bytes: &[u8]) -> Result<PrepareAnswer, WireError> {
        let answer: PrepareAnswer = parse(bytes, MAX_PREPARE_BODY)?;
        if answer.session_id.len() > MAX_ID_BYTES || answer.files.len() > MAX_FILES {
            return Err(WireError::Field("session id or file list too long"));
        }
        Ok(answer)
    }
}

/// An error answer's body, as LocalSend writes it.
#[derive(Debug, Clone, Serialize)]
pub struct Message<'a> {
    /// The sentence.
    pub message: &'a str,
}

/// The query of an `upload`, `cancel` or `prepare-upload` (`?pin=`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Query {
    /// `sessionId`.
    pub session_id: Option<String>,
    /// `fileId`.
    pub file_id: Option<String>,
    /// `token`.
    pub token: Option<String>,
    /// `pin`.
    pub pin: Option<String>,
}

impl Query {
    /// Reads the parameters Ferry uses from a raw query string; unknown
    /// ones are ignored, over-long values dropped.
    pub fn parse(raw: Option<&str>) -> Query {
        let mut query = Query::default();
        for pair in raw.unwrap_or("").split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if value.len() > MAX_ID_BYTES * 3 {
                continue;
            }
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .into_owned();
            let slot = match key {
                "sessionId" => &mut query.session_id,
                "fileId" => &mut query.file_id,
                "token" => &mut query.token,
                "pin" => &mut query.pin,
                _ => continue,
            };
            *slot = Some(value);
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_announcement_parses() {
        let raw = br#"{"alias":"Nice Orange","version":"2.0","deviceModel":"Samsung",
            "deviceType":"mobile","fingerprint":"random string","port":53317,
            "protocol":"https","download":true,"announce":true}"#;
        let info = Info::parse(raw, MAX_ANNOUNCE_BYTES).unwrap();
        assert_eq!(info.alias, "Nice Orange");
        assert_eq!(info.kind(), DeviceKind::Mobile);
        assert_eq!(info.port, Some(53317));
        assert_eq!(info.announce, Some(true));
        assert!(!info.plain_http());
    }

    #[test]
    fn a_register_answer_without_port_parses_and_nulls_are_taken() {
        let raw = br#"{"alias":"x","version":"2.0","deviceModel":null,"deviceType":null,"fingerprint":"f"}"#;
        let info = Info::parse(raw, MAX_REGISTER_BODY).unwrap();
        assert_eq!(info.port, None);
        assert_eq!(info.kind(), DeviceKind::Unknown);
    }

    #[test]
    fn garbage_and_oversize_are_errors_not_panics() {
        assert!(matches!(
            Info::parse(b"\xff\x00garbage", MAX_ANNOUNCE_BYTES),
            Err(WireError::Json(_))
        ));
        let big = vec![b' '; MAX_ANNOUNCE_BYTES + 1];
        assert!(matches!(
            Info::parse(&big, MAX_ANNOUNCE_BYTES),
            Err(WireError::TooLarge { .. })
        ));
        let long = format!(r#"{{"alias":"a","fingerprint":"{}"}}"#, "f".repeat(200));
        assert!(Info::parse(long.as_bytes(), MAX_ANNOUNCE_BYTES).is_err());
    }

    #[test]
    fn alias_is_cleaned_and_cut() {
        let raw = format!(r#"{{"alias":"a\u0007b{}"}}"#, "c".repeat(100));
        let info = Info::parse(raw.as_bytes(), MAX_ANNOUNCE_BYTES).unwrap();
        assert!(info.alias.starts_with("ab"));
        assert_eq!(info.alias.chars().count(), MAX_ALIAS_CHARS);
    }

    #[test]
    fn prepare_upload_checks_ids_and_hashes() {
        let ok = br#"{"info":{"alias":"a"},"files":{"1":{"id":"1","fileName":"x.txt","size":3,"fileType":"text/plain","sha256":null}}}"#;
        assert_eq!(PrepareUpload::parse(ok).unwrap().files.len(), 1);
        let mismatch =
            br#"{"info":{"alias":"a"},"files":{"1":{"id":"2","fileName":"x","size":3}}}"#;
        assert!(PrepareUpload::parse(mismatch).is_err());
        let bad_hash = br#"{"info":{"alias":"a"},"files":{"1":{"id":"1","fileName":"x","size":3,"sha256":"zz"}}}"#;
        assert!(PrepareUpload::parse(bad_hash).is_err());
        let empty = br#"{"info":{"alias":"a"},"files":{}}"#;
        assert!(PrepareUpload::parse(empty).is_err());
    }

    #[test]
    fn query_reads_known_keys() {
        let q = Query::parse(Some("sessionId=s%201&fileId=f&token=t&pin=12&x=y"));
        assert_eq!(q.session_id.as_deref(), Some("s 1"));
        assert_eq!(q.file_id.as_deref(), Some("f"));
        assert_eq!(q.token.as_deref(), Some("t"));
        assert_eq!(q.pin.as_deref(), Some("12"));
        assert_eq!(Query::parse(None), Query::default());
    }

    #[test]
    fn hex_digests_decode_in_either_case() {
        let lower = "ab".repeat(32);
        assert_eq!(decode_hex32(&lower), Some([0xab; 32]));
        assert_eq!(decode_hex32(&lower.to_uppercase()), Some([0xab; 32]));
        assert_eq!(decode_hex32("ab"), None);
    }
}
