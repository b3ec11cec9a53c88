//! The record reader under fuzzing (`fuzz/fuzz_targets/tls_record_reader.rs`
//! through `ferry::fuzzing::tls_record_reader`): the input is a script of
//! records, sealed here under a known key schedule so the fuzzer gets past
//! the AEAD, mixed with raw bytes and flipped bits; the wire bytes it makes
//! are read back through [`TlsReader`] in uneven pieces. It opens no socket.

use std::io::{self, Read};
use std::sync::Arc;

use ring::aead::Aad;
use rustls::ConnectionTrafficSecrets;
use rustls::crypto::cipher::{AeadKey, Iv};

use super::record::{RAW_READ_ANSWERS, RAW_READ_BULK};
use super::{Cipher, KeySchedule, Rekey, TlsReader};

/// The known key schedule: generation `g` is AES-256-GCM with key and IV
/// all `g`.
struct Known(u8);

fn secrets(generation: u8) -> ConnectionTrafficSecrets {
    ConnectionTrafficSecrets::Aes256Gcm {
        key: AeadKey::from([generation; 32]),
        iv: Iv::from([generation; 12]),
    }
}

impl Rekey for Known {
    fn next_tx(&mut self) -> Result<ConnectionTrafficSecrets, rustls::Error> {
        Err(rustls::Error::General("the reader never sends".into()))
    }
    fn next_rx(&mut self) -> Result<ConnectionTrafficSecrets, rustls::Error> {
        self.0 = self.0.wrapping_add(1);
        Ok(secrets(self.0))
    }
}

/// The peer's side of the script: the wire bytes, and the application data
/// the reader may hand out (in order, as a prefix: a record that does not
/// authenticate can never add to it).
struct Peer {
    tx: Cipher,
    generation: u8,
    wire: Vec<u8>,
    data: Vec<u8>,
}

impl Peer {
    /// Seals `content` with its type byte and `padding` zeros as a record.
    fn seal(&mut self, content: &[u8], kind: u8, padding: usize) -> io::Result<()> {
        let mut inner = content.to_vec();
        inner.push(kind);
        inner.resize(inner.len() + padding, 0);
        let Ok(len) = u16::try_from(inner.len() + 16) else {
            return Ok(());
        };
        // What the reader will take this record for (RFC 8446 §5.4): the
        // content type is the last non-zero byte.
        let last = inner.iter().rposition(|&b| b != 0);
        if let Some(last) = last
            && inner[last] == 23
        {
            self.data.extend_from_slice(&inner[..last]);
        }
        let key_update = last.is_some_and(|l| inner[l] == 22)
            && matches!(inner[..last.unwrap_or(0)], [24, 0, 0, 1, 0 | 1]);
        let mut header = [23, 3, 3, 0, 0];
        header[3..].copy_from_slice(&len.to_be_bytes());
        let tag = self
            .tx
            .key
            .seal_in_place_separate_tag(self.tx.nonce(), Aad::from(header), &mut inner)
            .map_err(|_| io::Error::other("seal"))?;
        self.tx.seq += 1;
        self.wire.extend_from_slice(&header);
        self.wire.extend_from_slice(&inner);
        self.wire.extend_from_slice(tag.as_ref());
        if key_update {
            self.generation = self.generation.wrapping_add(1);
            self.tx = Cipher::new(secrets(self.generation), 0)?;
        }
        Ok(())
    }
}

/// Turns the script into wire bytes. Each step: an op byte, low two bits
/// the kind — 0: a record (type, 16-bit length, content); 2: the same with
/// `op >> 2` × 64 zeros of padding; 1: raw bytes (one length byte, then
/// them); 3: flip bit `op >> 5` of the byte at a 16-bit position.
fn script(mut input: &[u8]) -> io::Result<Peer> {
    let mut peer = Peer {
        tx: Cipher::new(secrets(0), 0)?,
        generation: 0,
        wire: Vec::new(),
        data: Vec::new(),
    };
    while let [op, rest @ ..] = input {
        input = rest;
        match (op & 3, input) {
            (0 | 2, [kind, hi, lo, rest @ ..]) => {
                let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
                let padding = if op & 3 == 2 {
                    usize::from(op >> 2) * 64
                } else {
                    0
                };
                peer.seal(&rest[..len], *kind, padding)?;
                input = &rest[len..];
            }
            (1, [len, rest @ ..]) => {
                let len = usize::from(*len).min(rest.len());
                peer.wire.extend_from_slice(&rest[..len]);
                input = &rest[len..];
            }
            (3, [hi, lo, rest @ ..]) => {
                if !peer.wire.is_empty() {
                    let at = usize::from(u16::from_be_bytes([*hi, *lo])) % peer.wire.len();
                    peer.wire[at] ^= 1 << (op >> 5);
                }
                input = rest;
            }
            _ => break,
        }
    }
    Ok(peer)
}

/// Hands the wire out in uneven pieces, as a socket would.
struct Pieces<'a> {
    wire: &'a [u8],
    step: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.step = self.step.wrapping_mul(31).wrapping_add(7) % 40_000;
        let n = out.len().min(self.wire.len()).min(self.step + 1);
        out[..n].copy_from_slice(&self.wire[..n]);
        self.wire = &self.wire[n..];
        Ok(n)
    }
}

/// The property check. Nothing panics; what the reader hands out is a prefix
/// of the application data the peer sealed; once a read fails, every later
/// read fails with the same error, and a TLS error is the connection's fatal
/// error, with an alert owed to the peer unless the peer sent one.
pub(crate) fn record_reader(data: &[u8]) {
    let _ = read_back(data);
}

/// The check itself; returns the plaintext read and how reading ended (an
/// error, or none for a clean close).
fn read_back(data: &[u8]) -> Option<(Vec<u8>, Option<io::Error>)> {
    let (&seed, input) = data.split_first()?;
    let peer = script(input).ok()?;
    let schedule = Arc::new(KeySchedule::new(Box::new(Known(0))));
    let rx = Cipher::new(secrets(0), 0).ok()?;
    let socket = Pieces {
        wire: &peer.wire,
        step: usize::from(seed),
    };
    // Both buffer sizes a reader can have, by turns.
    let raw_read = if seed % 2 == 0 {
        RAW_READ_BULK
    } else {
        RAW_READ_ANSWERS
    };
    let mut reader = TlsReader::new(
        socket,
        &[],
        Vec::new(),
        rx,
        schedule.clone(),
        false,
        raw_read,
    );
    let mut got = Vec::new();
    let mut out = vec![0u8; 70_001];
    let mut size = usize::from(seed) + 1;
    let first = loop {
        size = (size * 13 + 5) % 70_000 + 1;
        match reader.read(&mut out[..size]) {
            Ok(0) => {
                assert_eq!(reader.read(&mut out).ok(), Some(0), "reads after the close");
                assert!(peer.data.starts_with(&got), "data not sealed by the peer");
                return Some((got, None));
            }
            Ok(n) => got.extend_from_slice(&out[..n]),
            Err(e) => break e,
        }
        assert!(peer.data.starts_with(&got), "data not sealed by the peer");
    };
    assert!(peer.data.starts_with(&got), "data not sealed by the peer");
    for _ in 0..2 {
        let again = reader
            .read(&mut out[..64])
            .err()
            .map(|e| (e.kind(), e.to_string()));
        assert_eq!(
            again,
            Some((first.kind(), first.to_string())),
            "the error sticks"
        );
    }
    if first.kind() == io::ErrorKind::InvalidData {
        let fatal = schedule.fatal.get();
        assert!(fatal.is_some(), "a TLS error is the connection's: {first}");
        if let Some(fatal) = fatal {
            assert_eq!(fatal.error().to_string(), first.to_string());
            let theirs = fatal.message.starts_with("the peer sent alert");
            assert_eq!(fatal.alert.is_none(), theirs, "{first}");
        }
    } else {
        assert_eq!(first.kind(), io::ErrorKind::UnexpectedEof, "{first}");
    }
    Some((got, Some(first)))
}

#[cfg(test)]
mod tests;
