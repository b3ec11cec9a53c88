//! The handshake driver: feeds rustls' unbuffered connection from the socket
//! until the handshake is done, then takes the secrets out of rustls and
//! builds the two halves. It owns the handshake's buffers and its failure
//! modes (a peer that closes, an oversized handshake); it must not seal or
//! open application records itself (`record` does).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::kernel::KernelConnection;
use rustls::pki_types::ServerName;
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncodeTlsData, InsufficientSizeError, ReadTraffic,
    UnbufferedStatus,
};
use rustls::{ClientConfig, ServerConfig, SupportedCipherSuite};

use super::record::{RAW_READ_ANSWERS, RAW_READ_BULK};
use super::{Cipher, Established, KeySchedule, TlsReader, TlsWriter, tls_error};

/// Makes the handshake as client on `stream` and splits the connection.
pub fn connect(
    stream: TcpStream,
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
) -> io::Result<Established> {
    let conn = UnbufferedClientConnection::new(config, name).map_err(tls_error)?;
    establish(conn, stream, RAW_READ_ANSWERS)
}

/// Makes the handshake as server on `stream` and splits the connection.
pub fn accept(stream: TcpStream, config: Arc<ServerConfig>) -> io::Result<Established> {
    let conn = UnbufferedServerConnection::new(config).map_err(tls_error)?;
    establish(conn, stream, RAW_READ_BULK)
}

/// The two kinds of unbuffered connection, as the handshake driver needs them.
trait Handshaking:
    std::ops::DerefMut<Target = rustls::unbuffered::UnbufferedConnectionCommon<Self::Data>>
{
    type Data: Send + Sync + 'static;
    fn process<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data>;
    fn into_kernel(
        self,
    ) -> Result<(rustls::ExtractedSecrets, KernelConnection<Self::Data>), rustls::Error>;
}

// rustls gives the client and the server the same methods but no common
// trait for them: one implementation, written once for both.
macro_rules! handshaking {
    ($connection:ty, $data:ty) => {
        impl Handshaking for $connection {
            type Data = $data;
            fn process<'c, 'i>(
                &'c mut self,
                incoming: &'i mut [u8],
            ) -> UnbufferedStatus<'c, 'i, Self::Data> {
                self.process_tls_records(incoming)
            }
            fn into_kernel(
                self,
            ) -> Result<(rustls::ExtractedSecrets, KernelConnection<Self::Data>), rustls::Error>
            {
                self.dangerous_into_kernel_connection()
            }
        }
    };
}

handshaking!(UnbufferedClientConnection, ClientConnectionData);
handshaking!(UnbufferedServerConnection, ServerConnectionData);

/// What the handshake leaves besides the connection itself.
struct Leftover {
    /// `incoming[..used]`: raw bytes read past the handshake (a partial record).
    incoming: Vec<u8>,
    used: usize,
    /// Application data rustls decrypted while finishing the handshake.
    early: Vec<u8>,
    /// The peer sent close_notify right behind its Finished.
    peer_closed: bool,
}

/// What to do after rustls took a step.
enum Next {
    Process,
    ReadMore,
    Done { peer_closed: bool },
}

/// Drives the handshake to its end, then hands the connection to the halves
/// (the reader reading up to `raw_read` bytes at a time).
fn establish<C: Handshaking>(
    mut conn: C,
    mut stream: TcpStream,
    raw_read: usize,
) -> io::Result<Established>
where
    KernelConnection<C::Data>: Send,
{
    let leftover = drive(&mut conn, &mut stream)?;
    if leftover.peer_closed && conn.is_handshaking() {
        return Err(closed_during_handshake());
    }
    let peer_certificate = conn
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|cert| cert.as_ref().to_vec())
        .ok_or_else(|| tls_error("the peer presented no certificate"))?;
    let (reader, writer) = split(conn, stream, leftover, raw_read)?;
    Ok(Established {
        reader,
        writer,
        peer_certificate,
    })
}

/// Runs rustls' handshake state machine over `stream` until it can carry
/// application data (or the peer closed cleanly right after it).
fn drive<C: Handshaking>(conn: &mut C, stream: &mut TcpStream) -> io::Result<Leftover> {
    let mut incoming = vec![0u8; 64 * 1024];
    let mut used = 0;
    let mut outgoing = vec![0u8; 16 * 1024];
    let mut out_used = 0;
    let mut early = Vec::new();
    loop {
        let UnbufferedStatus { mut discard, state } = conn.process(&mut incoming[..used]);
        let next = match state.map_err(tls_error)? {
            ConnectionState::EncodeTlsData(mut data) => {
                encode(&mut data, &mut outgoing, &mut out_used)?;
                Next::Process
            }
            ConnectionState::TransmitTlsData(data) => {
                stream.write_all(&outgoing[..out_used])?;
                out_used = 0;
                data.done();
                Next::Process
            }
            ConnectionState::BlockedHandshake => Next::ReadMore,
            ConnectionState::ReadTraffic(mut data) => {
                discard += read_early(&mut data, &mut early)?;
                Next::Process
            }
            ConnectionState::WriteTraffic(_) => Next::Done { peer_closed: false },
            // A short exchange (a probe's hello) may send its first record
            // and close_notify right behind its Finished: what came before
            // the close is still read, then the stream ends cleanly.
            // (Whether the handshake was complete is checked by the caller.)
            ConnectionState::PeerClosed => Next::Done { peer_closed: true },
            ConnectionState::Closed => return Err(closed_during_handshake()),
            other => return Err(tls_error(format!("unexpected state {other:?}"))),
        };
        if discard > 0 {
            incoming.copy_within(discard..used, 0);
            used -= discard;
        }
        match next {
            Next::Process => {}
            Next::ReadMore => used += read_more(stream, &mut incoming, used)?,
            Next::Done { peer_closed } => {
                return Ok(Leftover {
                    incoming,
                    used,
                    early,
                    peer_closed,
                });
            }
        }
    }
}

/// Encodes a handshake message after the `out_used` bytes already waiting,
/// growing `outgoing` as rustls asks.
fn encode<D>(
    data: &mut EncodeTlsData<'_, D>,
    outgoing: &mut Vec<u8>,
    out_used: &mut usize,
) -> io::Result<()> {
    loop {
        match data.encode(&mut outgoing[*out_used..]) {
            Ok(n) => {
                *out_used += n;
                return Ok(());
            }
            Err(EncodeError::InsufficientSize(InsufficientSizeError { required_size })) => {
                outgoing.resize(*out_used + required_size, 0);
            }
            Err(e) => return Err(tls_error(e)),
        }
    }
}

/// Keeps the application data rustls opened during the handshake; returns
/// how many more incoming bytes may be discarded.
fn read_early<D>(data: &mut ReadTraffic<'_, '_, D>, early: &mut Vec<u8>) -> io::Result<usize> {
    let mut discard = 0;
    while let Some(record) = data.next_record() {
        let record = record.map_err(tls_error)?;
        // rustls' contract: a record's own discard counts too
        // (0 while rustls buffers records itself).
        discard += record.discard;
        early.extend_from_slice(record.payload);
    }
    Ok(discard)
}

/// Reads more of the handshake after the `used` bytes held; returns how many.
fn read_more(stream: &mut TcpStream, incoming: &mut Vec<u8>, used: usize) -> io::Result<usize> {
    if used == incoming.len() {
        // rustls caps handshake messages at 64 KiB; a record more.
        if incoming.len() >= 128 * 1024 {
            return Err(tls_error("handshake too large"));
        }
        incoming.resize(incoming.len() * 2, 0);
    }
    let n = stream.read(&mut incoming[used..])?;
    if n == 0 {
        return Err(closed_during_handshake());
    }
    Ok(n)
}

fn closed_during_handshake() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the peer closed the connection during the TLS handshake",
    )
}

/// Takes the secrets out of rustls and builds the two halves, which share
/// only rustls' key schedule.
fn split<C: Handshaking>(
    conn: C,
    stream: TcpStream,
    leftover: Leftover,
    raw_read: usize,
) -> io::Result<(TlsReader, TlsWriter)>
where
    KernelConnection<C::Data>: Send,
{
    let (secrets, kernel) = conn.into_kernel().map_err(tls_error)?;
    let limit = match kernel.negotiated_cipher_suite() {
        SupportedCipherSuite::Tls13(suite) => suite.common.confidentiality_limit,
        #[allow(unreachable_patterns)]
        _ => return Err(tls_error("not TLS 1.3")),
    };
    let schedule = Arc::new(KeySchedule::new(Box::new(kernel)));
    let (tx_seq, tx_secrets) = secrets.tx;
    let (rx_seq, rx_secrets) = secrets.rx;
    let reader = TlsReader::new(
        stream.try_clone()?,
        &leftover.incoming[..leftover.used],
        leftover.early,
        Cipher::new(rx_secrets, rx_seq)?,
        schedule.clone(),
        leftover.peer_closed,
        raw_read,
    );
    let writer = TlsWriter::new(stream, Cipher::new(tx_secrets, tx_seq)?, limit, schedule);
    Ok((reader, writer))
}
