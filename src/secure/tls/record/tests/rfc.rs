//! Negative tests, one per way the record layer used to deviate from
//! RFC 8446 (issue 14, finding 6): a peer sends what a conforming peer
//! must not, and the layer must answer as §5 and §6 say.

use super::*;

/// Seals `content` as one record of type `content_type` under the writer's
/// current key and sends it, whatever it holds.
fn send_record(w: &mut TlsWriter, content_type: u8, content: &[u8]) {
    let start = w.begin().expect("begin");
    w.out.extend_from_slice(content);
    w.seal(start, content_type).expect("seal");
    w.send().expect("send");
}

/// What the client reads after the server's reader refused a record and the
/// server's writer went away: the server's fatal alert, as an error.
fn alert_sent_back(server_writer: TlsWriter, client_reader: &mut TlsReader) -> String {
    drop(server_writer);
    let mut rest = Vec::new();
    let err = client_reader
        .read_to_end(&mut rest)
        .expect_err("a fatal alert, not a clean close");
    err.to_string()
}

#[test]
fn a_record_that_fails_authentication_gets_a_bad_record_mac_alert() {
    let (client, server) = ours();
    let (mut c_r, mut c_w) = (client.reader, client.writer);
    let (mut s_r, s_w) = (server.reader, server.writer);
    let start = c_w.begin().expect("begin");
    c_w.out.extend_from_slice(&pattern(1000, 3));
    c_w.seal(start, CONTENT_DATA).expect("seal");
    c_w.out[start + 100] ^= 1;
    c_w.send().expect("send");
    s_r.read(&mut [0u8; 1000]).expect_err("tampered");
    let got = alert_sent_back(s_w, &mut c_r);
    assert!(got.contains("alert 20"), "{got}");
}

#[test]
fn after_a_bad_record_every_read_and_write_fails_with_the_same_error() {
    let (client, server) = ours();
    let mut c_w = client.writer;
    let (mut s_r, mut s_w) = (server.reader, server.writer);
    send_record(&mut c_w, 99, b"no such content type");
    send_record(&mut c_w, CONTENT_DATA, b"after the bad record");
    let first = s_r.read(&mut [0u8; 100]).expect_err("bad type").to_string();
    let again = s_r.read(&mut [0u8; 100]).expect_err("still failed");
    assert_eq!(again.to_string(), first);
    let write = s_w.write(b"reply").expect_err("the writer failed too");
    assert_eq!(write.to_string(), first);
    drop(client.reader);
}

#[test]
fn a_failed_seal_leaves_no_plaintext_to_send() {
    let (client, _server) = ours();
    let mut c_w = client.writer;
    c_w.rekey_at = u64::MAX;
    c_w.tx.seq = c_w.tx.limit; // the key is used up: sealing must fail
    c_w.write(b"secret plaintext")
        .expect_err("no key to seal with");
    assert!(c_w.out.is_empty(), "{} bytes left to send", c_w.out.len());
    drop(client.reader);
}

#[test]
fn a_record_over_2_to_the_14_plus_1_gets_a_record_overflow_alert() {
    let (client, server) = ours();
    let (mut c_r, mut c_w) = (client.reader, client.writer);
    let (mut s_r, s_w) = (server.reader, server.writer);
    // Content 2^14 + 1 bytes: with its type byte, one over TLSInnerPlaintext's
    // limit, though well under TLSCiphertext's.
    send_record(&mut c_w, CONTENT_DATA, &pattern(MAX_PLAIN + 1, 5));
    s_r.read(&mut [0u8; 100]).expect_err("overflow");
    let got = alert_sent_back(s_w, &mut c_r);
    assert!(got.contains("alert 22"), "{got}");
}

#[test]
fn an_empty_handshake_record_gets_an_unexpected_message_alert() {
    let (client, server) = ours();
    let (mut c_r, mut c_w) = (client.reader, client.writer);
    let (mut s_r, s_w) = (server.reader, server.writer);
    send_record(&mut c_w, CONTENT_HANDSHAKE, b"");
    send_record(&mut c_w, CONTENT_DATA, b"after");
    s_r.read(&mut [0u8; 100])
        .expect_err("empty handshake record");
    let got = alert_sent_back(s_w, &mut c_r);
    assert!(got.contains("alert 10"), "{got}");
}

/// Sends `n` KeyUpdates in a row, then one data record.
fn key_updates_then_data(c_w: &mut TlsWriter, n: usize) {
    for _ in 0..n {
        c_w.rekey_at = 0;
        let start = c_w.begin().expect("key update");
        c_w.out.truncate(start); // only the KeyUpdate, no data record
        c_w.send().expect("send");
    }
    c_w.rekey_at = u64::MAX;
    send_record(c_w, CONTENT_DATA, b"data");
}

#[test]
fn a_flood_of_key_updates_gets_an_unexpected_message_alert() {
    let (client, server) = ours();
    let (mut c_r, mut c_w) = (client.reader, client.writer);
    let (mut s_r, mut s_w) = (server.reader, server.writer);
    // At the limit, it is fine, and data resets the count.
    key_updates_then_data(&mut c_w, 32);
    assert_eq!(read_all(&mut s_r, 4), b"data");
    key_updates_then_data(&mut c_w, 33);
    s_r.read(&mut [0u8; 4]).expect_err("key update flood");
    s_w.write(b"x").expect_err("the connection failed");
    let got = alert_sent_back(s_w, &mut c_r);
    assert!(got.contains("alert 10"), "{got}");
}

#[test]
fn records_past_2_to_the_24_are_accepted_until_the_aead_limit() {
    let (client, server) = ours();
    let mut c_w = client.writer;
    let mut s_r = server.reader;
    // A peer like rustls updates its key at 2^24 records, sending the
    // KeyUpdate as record 2^24; RFC 8446 §5.5 allows AES-GCM 2^24.5.
    c_w.rekey_at = u64::MAX;
    c_w.tx.limit = u64::MAX;
    c_w.tx.seq = 1 << 24;
    s_r.rx.seq = 1 << 24;
    c_w.write_all(b"past 2^24").expect("write");
    assert_eq!(read_all(&mut s_r, 9), b"past 2^24");
    // At the cipher suite's own limit, the peer's records are refused.
    c_w.tx.seq = s_r.rx.limit;
    s_r.rx.seq = s_r.rx.limit;
    c_w.write_all(b"too late").expect("write");
    let err = s_r.read(&mut [0u8; 8]).expect_err("past the limit");
    assert!(err.to_string().contains("key"), "{err}");
}
