//! The fuzz script reaches past the AEAD: sealed data, key updates, padding
//! and close_notify are read back as a peer would send them, and the seeds
//! in `fuzz/corpus/tls_record_reader/` are these scripts.

use super::*;

/// A record step: op 0 (or 2 with padding), type, 16-bit length, content.
fn record(op: u8, kind: u8, content: &[u8]) -> Vec<u8> {
    let mut step = vec![op, kind];
    step.extend_from_slice(&(content.len() as u16).to_be_bytes());
    step.extend_from_slice(content);
    step
}

/// The seed scripts, by name (the same as `fuzz/corpus/tls_record_reader/seed-*`).
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let close = record(0, 21, &[1, 0]);
    let update = record(0, 22, &[24, 0, 0, 1, 1]);
    let join = |steps: &[Vec<u8>]| [vec![3u8], steps.concat()].concat();
    vec![
        (
            "data-and-close",
            join(&[record(0, 23, b"hello"), close.clone()]),
        ),
        (
            "key-update",
            join(&[
                record(0, 23, b"hello"),
                update,
                record(0, 23, b"abc"),
                close.clone(),
            ]),
        ),
        (
            "padding",
            join(&[record(2 | 3 << 2, 23, b"data"), close.clone()]),
        ),
        ("overflow", join(&[record(0, 23, &[b'a'; 16 * 1024 + 1])])),
        (
            "empty-handshake",
            join(&[record(0, 22, b""), close.clone()]),
        ),
        ("fatal-alert", join(&[record(0, 21, &[2, 20])])),
        (
            "flipped",
            join(&[record(0, 23, b"hello"), vec![3 | 2 << 5, 0, 9]]),
        ),
        (
            "cut",
            join(&[record(0, 23, b"hello"), vec![1, 3, 23, 3, 3]]),
        ),
    ]
}

fn run(name: &str) -> (Vec<u8>, Option<String>) {
    let (_, script) = seeds().into_iter().find(|(n, _)| *n == name).expect("seed");
    let (got, end) = read_back(&script).expect("a script");
    (got, end.map(|e| e.to_string()))
}

#[test]
fn the_fuzz_script_reaches_past_the_aead() {
    assert_eq!(run("data-and-close"), (b"hello".to_vec(), None));
    assert_eq!(run("key-update"), (b"helloabc".to_vec(), None));
    assert_eq!(run("padding"), (b"data".to_vec(), None));
    let (_, end) = run("overflow");
    assert!(end.expect("refused").contains("over 2^14 + 1"));
    let (_, end) = run("empty-handshake");
    assert!(end.expect("refused").contains("empty handshake"));
    let (_, end) = run("fatal-alert");
    assert!(end.expect("refused").contains("the peer sent alert 20"));
    let (got, end) = run("flipped");
    assert!(got.is_empty() && end.expect("refused").contains("authentication"));
    let (got, end) = run("cut");
    assert_eq!(got, b"hello");
    assert!(end.expect("cut").contains("cut without a TLS close"));
}

/// Not coverage-guided: random mutations of the seeds through the same
/// property, for when libFuzzer is not at hand. Run by hand:
/// `FERRY_MUTATE_SECS=60 cargo test --lib mutated_seeds -- --ignored`.
#[test]
#[ignore = "runs for FERRY_MUTATE_SECS seconds (default 10)"]
fn mutated_seeds_keep_the_properties() {
    let secs = std::env::var("FERRY_MUTATE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let seeds = seeds();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut runs = 0u64;
    while std::time::Instant::now() < deadline {
        let mut input = seeds[next() as usize % seeds.len()].1.clone();
        for _ in 0..1 + next() % 8 {
            let at = next() as usize % (input.len() + 1);
            match next() % 4 {
                0 if at < input.len() => input[at] ^= 1 << (next() % 8),
                1 => input.insert(at, next() as u8),
                2 if at < input.len() => {
                    input.remove(at);
                }
                _ => input.extend_from_slice(&seeds[next() as usize % seeds.len()].1[1..]),
            }
        }
        record_reader(&input);
        runs += 1;
    }
    println!("{runs} mutated inputs, no property broken");
}
