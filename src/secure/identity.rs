//! This device's cryptographic identity: a key pair and self-signed
//! certificate made on first start and kept in the config folder (owner-only),
//! whose SHA-256 fingerprint is the device id carried in beacons, hellos and
//! offers. Also the TLS 1.3 configurations built from it, and the short codes
//! people compare. It never decides whom to trust; that is the caller's rule.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};
use sha2::{Digest, Sha256};

/// File holding the certificate (DER).
const CERT_FILE: &str = "identity-cert.der";
/// File holding the private key (PKCS#8 DER), readable by the owner only.
const KEY_FILE: &str = "identity-key.der";

/// Why an identity could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Reading or writing the key files failed.
    #[error("cannot store this device's identity in {dir}: {source}")]
    Io {
        /// The folder.
        dir: String,
        /// Why.
        source: io::Error,
    },
    /// Key generation or TLS setup failed.
    #[error("cannot set up this device's identity: {0}")]
    Crypto(String),
}

/// A device's certificate, key and the TLS configurations that present them.
pub struct Identity {
    cert: CertificateDer<'static>,
    fingerprint: String,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Hex SHA-256 of a certificate: the device id.
pub fn fingerprint_of(cert: &[u8]) -> String {
    Sha256::digest(cert)
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// A device id shown to people: the first 80 bits in five groups of four,
/// e.g. `3F2A-91BC-0D4E-77A1-C2F0`. Enough to tell devices apart by eye.
pub fn short_code(device_id: &str) -> String {
    let upper: Vec<char> = device_id
        .chars()
        .take(20)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    upper
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A six-digit code derived from both devices' ids, the same on both
/// screens, for people to compare before trusting each other.
pub fn pairing_code(a: &str, b: &str) -> String {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let digest = Sha256::digest(format!("ferry-pairing\0{first}\0{second}").as_bytes());
    let number = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 1_000_000;
    format!("{:03} {:03}", number / 1000, number % 1000)
}

fn provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    // AES-128-GCM first: with AES-NI it is the fastest suite; ChaCha20 stays
    // as the fallback for peers without AES hardware.
    provider
        .cipher_suites
        .sort_by_key(|suite| match suite.suite() {
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256 => 0,
            rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => 1,
            _ => 2,
        });
    Arc::new(provider)
}

impl Identity {
    /// Loads the identity stored in `dir`, or makes and stores a new one.
    pub fn load_or_create(dir: &Path) -> Result<Identity, IdentityError> {
        let io_err = |source| IdentityError::Io {
            dir: dir.display().to_string(),
            source,
        };
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        if let (Ok(cert), Ok(key)) = (fs::read(&cert_path), fs::read(&key_path)) {
            match Identity::from_der(cert, key) {
                Ok(identity) => return Ok(identity),
                Err(e) => tracing::warn!("stored identity is unusable ({e}); making a new one"),
            }
        }
        let (cert, key) = generate()?;
        fs::create_dir_all(dir).map_err(io_err)?;
        crate::fs::write_atomic(&key_path, &key, Some(0o600)).map_err(io_err)?;
        crate::fs::write_atomic(&cert_path, &cert, None).map_err(io_err)?;
        Identity::from_der(cert, key)
    }

    /// A new identity kept only in memory (tests, throw-away engines).
    pub fn ephemeral() -> Result<Identity, IdentityError> {
        let (cert, key) = generate()?;
        Identity::from_der(cert, key)
    }

    fn from_der(cert: Vec<u8>, key: Vec<u8>) -> Result<Identity, IdentityError> {
        let crypto = |e: rustls::Error| IdentityError::Crypto(e.to_string());
        let fingerprint = fingerprint_of(&cert);
        let cert = CertificateDer::from(cert);
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
        let provider = provider();
        let algorithms = provider.signature_verification_algorithms;
        let mut client = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(crypto)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyPeerCert(algorithms)))
            .with_client_auth_cert(vec![cert.clone()], key.clone_key())
            .map_err(crypto)?;
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(crypto)?
            .with_client_cert_verifier(Arc::new(AnyPeerCert(algorithms)))
            .with_single_cert(vec![cert.clone()], key)
            .map_err(crypto)?;
        // After the handshake rustls hands the traffic secrets to
        // transfer::tls, which seals and opens the records itself (one copy
        // per byte instead of three; see that module). Ferry never resumes
        // sessions, so the server sends no tickets.
        client.enable_secret_extraction = true;
        server.enable_secret_extraction = true;
        server.send_tls13_tickets = 0;
        Ok(Identity {
            cert,
            fingerprint,
            client: Arc::new(client),
            server: Arc::new(server),
        })
    }

    /// This device's id: the hex SHA-256 of its certificate.
    pub fn device_id(&self) -> &str {
        &self.fingerprint
    }

    /// The certificate, DER-encoded.
    pub fn certificate(&self) -> &[u8] {
        &self.cert
    }

    /// TLS client configuration presenting this identity.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.client.clone()
    }

    /// TLS server configuration presenting this identity and requiring the peer's.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server.clone()
    }

    /// The name the client puts in its hello; Ferry does not check names.
    /// (A `Result` only because the conversion from a literal is fallible in
    /// the type system; it never fails.)
    pub fn server_name() -> Result<ServerName<'static>, rustls::pki_types::InvalidDnsNameError> {
        ServerName::try_from("ferry.local")
    }
}

fn generate() -> Result<(Vec<u8>, Vec<u8>), IdentityError> {
    let certified = rcgen::generate_simple_self_signed(vec!["ferry.local".to_string()])
        .map_err(|e| IdentityError::Crypto(e.to_string()))?;
    Ok((
        certified.cert.der().to_vec(),
        certified.signing_key.serialize_der(),
    ))
}

/// Accepts any certificate whose holder proves its key in the handshake.
/// Who the peer *is* is decided afterwards by comparing its certificate's
/// fingerprint with the id it announced (and with pinned devices); there is
/// no certificate authority on a LAN.
#[derive(Debug)]
struct AnyPeerCert(WebPkiSupportedAlgorithms);

impl AnyPeerCert {
    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0)
    }
}

/// The signature checks both verifier traits require, written once: the
/// handshake signature is always checked with the provider's algorithms (only
/// the certificate chain is not, since devices are trusted by fingerprint).
macro_rules! signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.tls12(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.tls13(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_schemes()
        }
    };
}

impl ServerCertVerifier for AnyPeerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    signature_checks!();
}

impl ClientCertVerifier for AnyPeerCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    signature_checks!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_persists_with_owner_only_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let first = Identity::load_or_create(dir.path()).expect("create");
        let again = Identity::load_or_create(dir.path()).expect("load");
        assert_eq!(first.device_id(), again.device_id());
        assert_eq!(first.device_id().len(), 64);
        assert_eq!(first.device_id(), fingerprint_of(first.certificate()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "key readable by others: {mode:o}");
        }
        assert_ne!(
            Identity::ephemeral().expect("new").device_id(),
            first.device_id()
        );
    }

    #[test]
    fn codes_for_people() {
        assert_eq!(
            short_code("3f2a91bc0d4e77a1c2f0ffff"),
            "3F2A-91BC-0D4E-77A1-C2F0"
        );
        assert_eq!(pairing_code("aa", "bb"), pairing_code("bb", "aa"));
        assert_eq!(pairing_code("aa", "bb").len(), 7);
        assert_ne!(pairing_code("aa", "bb"), pairing_code("aa", "bc"));
    }
}
