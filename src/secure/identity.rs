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
    /// A stored key or certificate exists but cannot be read or used.
    #[error(
        "cannot use this device's key at {path}: {reason}. Ferry does not make a new \
         identity over it (devices that know this one would see a stranger): fix the \
         file's permissions, or remove {CERT_FILE} and {KEY_FILE} from that folder to \
         start as a new device"
    )]
    Unreadable {
        /// The file or folder.
        path: String,
        /// Why, from the system or the TLS library.
        reason: String,
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
    /// Loads the identity stored in `dir`, or makes and stores a new one when
    /// there is none. A key that exists but cannot be read or used is an
    /// error, never replaced: a new identity would make this device a
    /// stranger to every device that remembers it, silently.
    pub fn load_or_create(dir: &Path) -> Result<Identity, IdentityError> {
        let io_err = |source| IdentityError::Io {
            dir: dir.display().to_string(),
            source,
        };
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        crate::fs::private::private_dir(dir).map_err(io_err)?;
        let read = |path: &Path| match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IdentityError::Unreadable {
                path: path.display().to_string(),
                reason: source.to_string(),
            }),
        };
        match (read(&cert_path)?, read(&key_path)?) {
            (Some(cert), Some(key)) => {
                // A key left readable by others is closed before it is used.
                crate::fs::private::close_file(&key_path).map_err(io_err)?;
                Identity::from_der(cert, key).map_err(|e| IdentityError::Unreadable {
                    path: key_path.display().to_string(),
                    reason: e.to_string(),
                })
            }
            (None, None) => {
                let (cert, key) = generate()?;
                let private = Some(crate::fs::private::PRIVATE_FILE_MODE);
                crate::fs::write_atomic(&key_path, &key, private).map_err(io_err)?;
                crate::fs::write_atomic(&cert_path, &cert, None).map_err(io_err)?;
                Identity::from_der(cert, key)
            }
            (Some(_), None) | (None, Some(_)) => Err(IdentityError::Unreadable {
                path: dir.display().to_string(),
                reason: format!("only one of {CERT_FILE} and {KEY_FILE} is there"),
            }),
        }
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

    /// Regression (#14, finding 8): a key that could not be read silently
    /// became a new identity, so every device that remembered this one saw
    /// a stranger, and trust pinned by others broke without a word.
    #[test]
    fn an_unreadable_key_is_an_error_not_a_new_identity() {
        let dir = tempfile::tempdir().expect("tmp");
        let first = Identity::load_or_create(dir.path()).expect("create");
        let cert = fs::read(dir.path().join(CERT_FILE)).expect("cert");
        // A damaged key.
        fs::write(dir.path().join(KEY_FILE), b"not a key").expect("damage");
        let err = Identity::load_or_create(dir.path()).expect_err("refused");
        assert!(matches!(err, IdentityError::Unreadable { .. }), "{err}");
        assert!(
            err.to_string().contains("does not make a new identity"),
            "{err}"
        );
        assert_eq!(
            fs::read(dir.path().join(KEY_FILE)).expect("kept"),
            b"not a key"
        );
        assert_eq!(fs::read(dir.path().join(CERT_FILE)).expect("kept"), cert);
        // A key that cannot be read at all (a folder stands in its place).
        fs::remove_file(dir.path().join(KEY_FILE)).expect("rm");
        fs::create_dir(dir.path().join(KEY_FILE)).expect("mkdir");
        let err = Identity::load_or_create(dir.path()).expect_err("refused");
        assert!(matches!(err, IdentityError::Unreadable { .. }), "{err}");
        // Half an identity is refused too.
        fs::remove_dir(dir.path().join(KEY_FILE)).expect("rmdir");
        assert!(Identity::load_or_create(dir.path()).is_err());
        assert_eq!(fs::read(dir.path().join(CERT_FILE)).expect("kept"), cert);
        drop(first);
    }

    /// Regression (#14, finding 8): the key's 0600 was only set when its
    /// file was new, and the folder stayed 0755.
    #[cfg(unix)]
    #[test]
    fn a_key_and_folder_left_open_are_closed_at_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let home = dir.path().join("ferry");
        let first = Identity::load_or_create(&home).expect("create");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&home), 0o700);
        let open = fs::Permissions::from_mode(0o644);
        fs::set_permissions(home.join(KEY_FILE), open).expect("chmod");
        fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).expect("chmod");
        let again = Identity::load_or_create(&home).expect("load");
        assert_eq!(first.device_id(), again.device_id());
        assert_eq!(mode(&home.join(KEY_FILE)), 0o600);
        assert_eq!(mode(&home), 0o700);
    }

    #[test]
    fn codes_for_people() {
        assert_eq!(
            short_code("3f2a91bc0d4e77a1c2f0ffff"),
            "3F2A-91BC-0D4E-77A1-C2F0"
        );
    }
}
