//! TLS 1.3 for a transfer connection, in two halves that two threads use at
//! once. rustls makes the handshake (through its unbuffered API) and keeps
//! the secrets (its "kernel connection" API, made for kTLS); the record layer
//! — sealing and opening TLS 1.3 records (RFC 8446 §5) with the negotiated
//! AEAD — is done here with ring, in place. That is one copy of each byte per
//! direction instead of three, no allocation per record, and no lock between
//! the read half and the write half: each owns its key and sequence number.
//! rustls still derives the new secrets when a key is updated.
//!
//! What this layer does beyond encrypting application data (RFC 8446 §5,
//! §6): it sends a close_notify when the writer is dropped and reports a
//! stream cut without one as an error; it updates its sending key (KeyUpdate)
//! well before the cipher's confidentiality limit, and when the peer asks;
//! it follows the peer's KeyUpdates (at most 32 in a row without data) and
//! accepts its records up to the AEAD's limit; it ignores NewSessionTicket.
//! Anything else — a record that fails authentication, is too long or
//! malformed, an unexpected message — is fatal: the error is kept for every
//! later read and write, and the writer sends the matching alert. The records
//! on the wire are ordinary TLS 1.3 records. This module knows nothing of
//! Ferry's frames.
//!
//! The handshake driver is in `handshake`, the two halves in `record`; this
//! file holds what both share: the key schedule and one direction's cipher.

pub(crate) mod fuzz;
mod handshake;
mod record;

use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, OnceLock};

use ring::aead::{self, LessSafeKey, Nonce, UnboundKey};
use rustls::ConnectionTrafficSecrets;
use rustls::kernel::KernelConnection;

pub use handshake::{accept, connect};
pub use record::{TlsReader, TlsWriter};

fn tls_error(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS error: {what}"))
}

/// A connection after its handshake.
pub struct Established {
    /// Plaintext from the peer.
    pub reader: TlsReader,
    /// Plaintext to the peer.
    pub writer: TlsWriter,
    /// The certificate the peer presented (DER).
    pub peer_certificate: Vec<u8>,
}

/// New traffic secrets after a key update, from rustls.
trait Rekey: Send {
    fn next_tx(&mut self) -> Result<ConnectionTrafficSecrets, rustls::Error>;
    fn next_rx(&mut self) -> Result<ConnectionTrafficSecrets, rustls::Error>;
}

impl<D> Rekey for KernelConnection<D>
where
    KernelConnection<D>: Send,
{
    fn next_tx(&mut self) -> Result<ConnectionTrafficSecrets, rustls::Error> {
        self.update_tx_secret().map(|(_, secrets)| secrets)
    }
    fn next_rx(&mut self) -> Result<ConnectionTrafficSecrets, rustls::Error> {
        self.update_rx_secret().map(|(_, secrets)| secrets)
    }
}

/// What the halves share: rustls' key schedule (locked only to update a key),
/// the peer's request for a new sending key, and the connection's fatal
/// error, set once by whichever half meets it first.
struct KeySchedule {
    rekey: Mutex<Box<dyn Rekey>>,
    update_requested: AtomicBool,
    fatal: OnceLock<Fatal>,
}

/// Alert descriptions (RFC 8446 §6).
const ALERT_UNEXPECTED_MESSAGE: u8 = 10;
const ALERT_BAD_RECORD_MAC: u8 = 20;
const ALERT_RECORD_OVERFLOW: u8 = 22;
const ALERT_DECODE_ERROR: u8 = 50;

/// The error that ended the connection. Every later read and write returns
/// it again; the writer sends `alert` (when there is one to send) under its
/// current key, then shuts the socket.
#[derive(Debug, Clone)]
struct Fatal {
    message: String,
    /// The fatal alert owed to the peer: none when the peer sent one itself
    /// or when our own sending key is what failed.
    alert: Option<u8>,
}

impl Fatal {
    fn error(&self) -> io::Error {
        tls_error(&self.message)
    }
}

impl KeySchedule {
    fn new(rekey: Box<dyn Rekey>) -> KeySchedule {
        KeySchedule {
            rekey: Mutex::new(rekey),
            update_requested: AtomicBool::new(false),
            fatal: OnceLock::new(),
        }
    }

    /// Ends the connection with `message` (the first fatal error wins) and
    /// returns the error to report, the first one's.
    fn fail(&self, alert: Option<u8>, message: impl std::fmt::Display) -> io::Error {
        let _ = self.fatal.set(Fatal {
            message: message.to_string(),
            alert,
        });
        self.fatal
            .get()
            .map_or_else(|| tls_error("fatal error"), Fatal::error)
    }

    /// The fatal error, if the connection has one.
    fn check(&self) -> io::Result<()> {
        self.fatal.get().map_or(Ok(()), |f| Err(f.error()))
    }

    fn next(&self, tx: bool) -> io::Result<ConnectionTrafficSecrets> {
        let mut rekey = self
            .rekey
            .lock()
            .map_err(|_| io::Error::other("TLS state poisoned by a panicked thread"))?;
        if tx { rekey.next_tx() } else { rekey.next_rx() }.map_err(tls_error)
    }
}

/// One direction's AEAD state.
struct Cipher {
    key: LessSafeKey,
    iv: [u8; 12],
    seq: u64,
    /// Records after which this key must not be used any more: the AEAD's
    /// limit (RFC 8446 §5.5), or the sequence number's end.
    limit: u64,
}

/// AES-GCM may seal 2^24.5 full-size records under one key (RFC 8446 §5.5).
const AES_GCM_LIMIT: u64 = 23_726_566;

/// ChaCha20-Poly1305 has no practical limit: the sequence number must only
/// never wrap (RFC 8446 §5.3).
const SEQ_LIMIT: u64 = u64::MAX;

impl Cipher {
    fn new(secrets: ConnectionTrafficSecrets, seq: u64) -> io::Result<Cipher> {
        let (algorithm, key, iv) = match &secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&aead::AES_128_GCM, key, iv),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&aead::AES_256_GCM, key, iv),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                (&aead::CHACHA20_POLY1305, key, iv)
            }
            _ => return Err(tls_error("unsupported cipher suite")),
        };
        let key = UnboundKey::new(algorithm, key.as_ref()).map_err(|_| tls_error("bad key"))?;
        let iv: [u8; 12] = iv
            .as_ref()
            .try_into()
            .map_err(|_| tls_error("bad IV length"))?;
        let limit = if *algorithm == aead::CHACHA20_POLY1305 {
            SEQ_LIMIT
        } else {
            AES_GCM_LIMIT
        };
        Ok(Cipher {
            key: LessSafeKey::new(key),
            iv,
            seq,
            limit,
        })
    }

    /// The per-record nonce: the IV XOR the sequence number (RFC 8446 §5.3).
    fn nonce(&self) -> Nonce {
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        Nonce::assume_unique_for_key(nonce)
    }
}
