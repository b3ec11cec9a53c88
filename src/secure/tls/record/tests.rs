//! The record layer against itself and against plain rustls (so it speaks
//! ordinary TLS 1.3): data both ways, close_notify, a cut stream, a flipped
//! bit, and key updates in both directions.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::thread;

use rustls::{ClientConnection, ServerConnection, StreamOwned};

use super::super::*;
use super::*;
use crate::secure::identity::Identity;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    (client, server)
}

fn ours() -> (Established, Established) {
    let (c, s) = pair();
    let server_id = Identity::ephemeral().expect("identity");
    let server = thread::spawn(move || accept(s, server_id.server_config()).expect("accept"));
    let client_id = Identity::ephemeral().expect("identity");
    let client = connect(
        c,
        client_id.client_config(),
        Identity::server_name().expect("name"),
    )
    .expect("connect");
    (client, server.join().expect("server"))
}

fn read_all(r: &mut impl Read, len: usize) -> Vec<u8> {
    let mut got = vec![0u8; len];
    r.read_exact(&mut got).expect("read");
    got
}

#[test]
fn data_flows_both_ways_and_close_notify_ends_the_stream() {
    let (client, server) = ours();
    let (mut c_r, mut c_w) = (client.reader, client.writer);
    let (mut s_r, mut s_w) = (server.reader, server.writer);
    let big = pattern(3 * 1024 * 1024 + 17, 1);
    let sent = big.clone();
    let writer = thread::spawn(move || {
        // Odd sizes and slices that straddle records.
        let mut at = 0;
        for size in [1, 5, 16 * 1024 - 3, 100_000, 512 * 1024 + 5]
            .iter()
            .cycle()
        {
            if at == sent.len() {
                break;
            }
            let n = (*size).min(sent.len() - at);
            let (a, b) = sent[at..at + n].split_at(n / 2);
            let w = c_w
                .write_vectored(&[io::IoSlice::new(a), io::IoSlice::new(b)])
                .expect("write");
            at += w;
        }
        c_w
    });
    assert_eq!(read_all(&mut s_r, big.len()), big);
    // Back through the client's reader, whose buffer is answer-sized
    // (32 KiB): many records, some straddling its reads.
    let back = pattern(1024 * 1024 + 33, 2);
    let sent_back = back.clone();
    let server_writes = thread::spawn(move || {
        s_w.write_all(&sent_back).expect("write");
        s_w
    });
    // Small reads, so the bytes go through that buffer rather than being
    // decrypted straight into ours.
    let mut got = Vec::with_capacity(back.len());
    for size in [1000, 17_000, 5, 30_000].iter().cycle() {
        if got.len() == back.len() {
            break;
        }
        let mut piece = vec![0u8; (*size).min(back.len() - got.len())];
        c_r.read_exact(&mut piece).expect("read back");
        got.extend_from_slice(&piece);
    }
    assert_eq!(got, back);
    // Kept open to the end, as before: only the client closes first.
    let _s_w = server_writes.join().expect("server writer");
    drop(writer.join().expect("writer"));
    let mut rest = Vec::new();
    assert_eq!(s_r.read_to_end(&mut rest).expect("clean close"), 0);
}

#[test]
fn a_stream_cut_without_close_notify_is_an_error() {
    let (client, server) = ours();
    let mut s_r = server.reader;
    let mut c_w = client.writer;
    c_w.write_all(b"partial").expect("write");
    c_w.failed = true; // no close_notify
    drop(c_w);
    drop(client.reader);
    assert_eq!(read_all(&mut s_r, 7), b"partial");
    let err = s_r.read(&mut [0u8; 8]).expect_err("cut");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn a_flipped_bit_fails_authentication() {
    // Flip a bit of a sealed record between sealing and sending.
    let (client, server) = ours();
    let mut c_w = client.writer;
    let mut s_r = server.reader;
    let start = c_w.begin().expect("begin");
    c_w.out.extend_from_slice(&pattern(1000, 3));
    c_w.seal(start, CONTENT_DATA).expect("seal");
    c_w.out[start + 100] ^= 1;
    c_w.send().expect("send");
    let err = s_r.read(&mut [0u8; 1000]).expect_err("tampered");
    assert!(err.to_string().contains("authentication"), "{err}");
}

#[test]
fn our_key_updates_are_followed_by_the_peer() {
    let (client, server) = ours();
    let mut c_w = client.writer;
    let mut s_r = server.reader;
    c_w.rekey_at = 3; // a new key every 3 records
    let data = pattern(40 * MAX_PLAIN + 99, 7);
    let sent = data.clone();
    let writer = thread::spawn(move || {
        c_w.write_all(&sent).expect("write");
        c_w.write_all(&sent).expect("write");
        c_w
    });
    assert_eq!(read_all(&mut s_r, data.len()), data);
    assert_eq!(read_all(&mut s_r, data.len()), data);
    let c_w = writer.join().expect("writer");
    assert!(c_w.tx.seq < 4, "the key was updated (seq {})", c_w.tx.seq);
}

/// Frames sealed where they lie (the sender's data path) read back as the
/// same byte stream, across key updates, between ordinary writes, and into
/// reads large enough to be opened in the reader's buffer (the receiver's
/// data path) and small ones.
#[test]
fn frames_sealed_in_place_read_back_across_key_updates() {
    use crate::protocol::{DataBuf, FrameWriter};
    let (client, server) = ours();
    let mut c_w = client.writer;
    let mut s_r = server.reader;
    c_w.rekey_at = 5;
    let sizes = [
        512 * 1024,
        1,
        MAX_PLAIN - 5,
        MAX_PLAIN - 4,
        100_003,
        512 * 1024,
    ];
    let mut expected = Vec::new();
    let mut frames = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        let payload = pattern(size, i as u8);
        let mut data = DataBuf::new(512 * 1024);
        let mut at = 0;
        for slot in data.slots_mut(0, size) {
            slot.copy_from_slice(&payload[at..at + slot.len()]);
            at += slot.len();
        }
        data.set_len(size);
        frames.push(data);
        expected.extend_from_slice(&[1, 0, 0, 0, 5]);
        expected.extend_from_slice(b"small");
        expected.extend_from_slice(&[1]);
        expected.extend_from_slice(&(size as u32).to_be_bytes());
        expected.extend_from_slice(&payload);
    }
    let writer = thread::spawn(move || {
        let mut frames_out = FrameWriter::new(c_w);
        for mut data in frames {
            frames_out.send_data(b"small").expect("queue");
            frames_out
                .send_data_in_place(&mut data)
                .expect("write in place");
        }
        frames_out.raw().expect("flush").tx.seq
    });
    let mut got = Vec::new();
    let mut out = vec![0u8; 700_000];
    let mut size = 7;
    while got.len() < expected.len() {
        size = (size * 13 + 5) % 700_000 + 1;
        let want = size.min(expected.len() - got.len());
        let n = s_r.read(&mut out[..want]).expect("read");
        assert!(n > 0, "early end");
        got.extend_from_slice(&out[..n]);
    }
    assert!(got == expected, "the stream differs");
    let seq = writer.join().expect("writer");
    assert!(seq < 40, "the key was updated (seq {seq})");
}

/// Our client against a plain rustls server: ordinary TLS 1.3 both ways,
/// including a key update the server asks for.
#[test]
fn it_speaks_tls_1_3_with_plain_rustls() {
    let (c, s) = pair();
    let server_id = Identity::ephemeral().expect("identity");
    let server = thread::spawn(move || {
        let conn = ServerConnection::new(server_id.server_config()).expect("server");
        let mut tls = StreamOwned::new(conn, s);
        let got = read_all(&mut tls, 100_000);
        assert_eq!(got, pattern(100_000, 9));
        // Ask the client for a new key too, then send under our new key.
        tls.conn.refresh_traffic_keys().expect("key update");
        tls.write_all(&pattern(70_000, 4)).expect("write");
        tls.flush().expect("flush");
        let got = read_all(&mut tls, 50_000);
        assert_eq!(got, pattern(50_000, 5));
        tls.conn.send_close_notify();
        tls.flush().expect("flush");
        let mut rest = Vec::new();
        tls.read_to_end(&mut rest).expect("client closes cleanly");
    });
    let client_id = Identity::ephemeral().expect("identity");
    let ours = connect(
        c,
        client_id.client_config(),
        Identity::server_name().expect("name"),
    )
    .expect("connect");
    let (mut r, mut w) = (ours.reader, ours.writer);
    w.write_all(&pattern(100_000, 9)).expect("write");
    assert_eq!(read_all(&mut r, 70_000), pattern(70_000, 4));
    assert!(w.schedule.update_requested.load(Ordering::SeqCst));
    w.write_all(&pattern(50_000, 5))
        .expect("write after the key update");
    assert!(w.tx.seq < 10, "our sending key was updated");
    let mut rest = Vec::new();
    assert_eq!(r.read_to_end(&mut rest).expect("server closes cleanly"), 0);
    drop(w);
    server.join().expect("server");
}

/// A plain rustls client against our server.
#[test]
fn plain_rustls_clients_are_served() {
    let (c, s) = pair();
    let server_id = Identity::ephemeral().expect("identity");
    let server = thread::spawn(move || {
        let ours = accept(s, server_id.server_config()).expect("accept");
        let (mut r, mut w) = (ours.reader, ours.writer);
        let got = read_all(&mut r, 200_000);
        w.write_all(&got).expect("echo");
        let mut rest = Vec::new();
        assert_eq!(r.read_to_end(&mut rest).expect("clean close"), 0);
    });
    let client_id = Identity::ephemeral().expect("identity");
    let conn = ClientConnection::new(
        client_id.client_config(),
        Identity::server_name().expect("name"),
    )
    .expect("client");
    let mut tls = StreamOwned::new(conn, c);
    tls.write_all(&pattern(200_000, 6)).expect("write");
    assert_eq!(read_all(&mut tls, 200_000), pattern(200_000, 6));
    tls.conn.send_close_notify();
    tls.flush().expect("flush");
    server.join().expect("server");
}

/// A client's first record may arrive in the same read as its Finished (a
/// probe's hello does, now and then): the server must take it exactly once.
#[test]
fn data_in_the_same_read_as_the_finished_message_is_read_once() {
    let (mut c, s) = pair();
    let server_id = Identity::ephemeral().expect("identity");
    let server = thread::spawn(move || {
        let ours = accept(s, server_id.server_config()).expect("accept");
        let mut reader = ours.reader;
        let got = read_all(&mut reader, 1000);
        let mut rest = Vec::new();
        let tail = reader.read_to_end(&mut rest);
        (got, tail.map_err(|e| e.to_string()))
    });
    let client_id = Identity::ephemeral().expect("identity");
    let mut conn = ClientConnection::new(
        client_id.client_config(),
        Identity::server_name().expect("name"),
    )
    .expect("client");
    let mut flight = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut flight).expect("client hello");
    }
    c.write_all(&flight).expect("send client hello");
    while conn.is_handshaking() {
        conn.read_tls(&mut c).expect("read server flight");
        conn.process_new_packets().expect("server flight");
    }
    // Finished and the first record leave in one write, so they arrive together.
    conn.writer().write_all(&pattern(1000, 9)).expect("queue");
    conn.send_close_notify();
    let mut flight = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut flight).expect("finish");
    }
    c.write_all(&flight).expect("send finished and data");
    let (got, tail) = server.join().expect("server");
    assert_eq!(got, pattern(1000, 9));
    assert_eq!(tail, Ok(0));
}

mod rfc;
