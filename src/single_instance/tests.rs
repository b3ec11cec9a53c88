//! Behaviour of the single-instance guard over real sockets, locks and files.

use super::endpoint::{read_port_file, write_port_file};
use super::*;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::AtomicUsize;

const WAIT: Duration = Duration::from_secs(5);

fn primary(instance: Instance) -> Primary {
    match instance {
        Instance::Primary(p) => p,
        Instance::Secondary { .. } => panic!("expected to become the primary"),
    }
}

/// Every endpoint kind this platform can use; both are tested on Unix.
fn kinds() -> Vec<EndpointKind> {
    let mut kinds = vec![EndpointKind::Tcp];
    #[cfg(unix)]
    kinds.push(EndpointKind::Unix);
    kinds
}

#[test]
fn primary_receives_files_forwarded_by_a_secondary() {
    for kind in kinds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = primary(acquire_with(dir.path(), &[], kind).expect("first launch"));
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&wakes);
        assert!(first.set_waker(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })));

        let files = vec![dir.path().join("a.txt"), PathBuf::from("relative/b.bin")];
        match acquire_with(dir.path(), &files, kind).expect("second launch") {
            Instance::Secondary { files_passed } => assert_eq!(files_passed, 2),
            Instance::Primary(_) => panic!("{kind:?}: second launch became primary"),
        }
        let got = first.requests().recv_timeout(WAIT).expect("activation");
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            got.files,
            vec![dir.path().join("a.txt"), cwd.join("relative/b.bin")],
            "{kind:?}"
        );
        assert_eq!(wakes.load(Ordering::SeqCst), 1, "{kind:?}");

        // A launch with no files is a plain "come to the front".
        assert!(forward_with(dir.path(), &[], kind).expect("forward"));
        let got = first.requests().recv_timeout(WAIT).expect("activation");
        assert!(got.files.is_empty());
    }
}

#[cfg(unix)]
#[test]
fn stale_socket_is_removed_and_taken_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join(SOCKET_FILE);
    // A crashed primary leaves its socket file with no one listening.
    drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
    assert!(socket.exists());
    let file = vec![dir.path().join("x")];
    assert!(!forward_with(dir.path(), &file, EndpointKind::Unix).expect("forward"));

    let first = primary(acquire_with(dir.path(), &[], EndpointKind::Unix).expect("acquire"));
    assert!(forward_with(dir.path(), &file, EndpointKind::Unix).expect("forward"));
    let got = first.requests().recv_timeout(WAIT).expect("activation");
    assert_eq!(got.files, file);
}

#[test]
fn stale_port_file_is_replaced_and_taken_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A port nobody listens on any more.
    let dead_port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    write_port_file(&dir.path().join(PORT_FILE), dead_port, "00").expect("write");
    assert!(!forward_with(dir.path(), &[], EndpointKind::Tcp).expect("forward"));

    let first = primary(acquire_with(dir.path(), &[], EndpointKind::Tcp).expect("acquire"));
    assert!(forward_with(dir.path(), &[], EndpointKind::Tcp).expect("forward"));
    assert!(first.requests().recv_timeout(WAIT).is_ok());
}

#[test]
fn a_lock_holder_that_never_listens_is_an_error_not_a_second_primary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lock = File::create(dir.path().join(LOCK_FILE)).expect("lock file");
    lock.try_lock().expect("lock");
    let started = Instant::now();
    let err = acquire(dir.path(), &[]).expect_err("must not become primary");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(started.elapsed() >= STARTUP_GRACE);
}

#[test]
fn wrong_token_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = primary(acquire_with(dir.path(), &[], EndpointKind::Tcp).expect("acquire"));
    let (port, _) = read_port_file(&dir.path().join(PORT_FILE)).expect("port file");
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    let request = encode_request("not-the-token", &[dir.path().join("x")]).expect("encode");
    stream.write_all(&request).expect("write");
    let mut reply = [0u8; 1];
    stream.read_exact(&mut reply).expect("reply");
    assert_eq!(reply[0], REPLY_REFUSED);
    assert!(first.requests().try_recv().is_err());
}

#[test]
fn oversized_request_is_refused_and_the_primary_keeps_serving() {
    for kind in kinds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = primary(acquire_with(dir.path(), &[], kind).expect("acquire"));
        let (mut stream, _) = connect(dir.path(), kind)
            .expect("connect")
            .expect("listening");
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&u32::MAX.to_be_bytes());
        stream.write_all(&header).expect("write");
        let mut reply = [0u8; 1];
        stream.read_exact(&mut reply).expect("reply");
        assert_eq!(reply[0], REPLY_REFUSED, "{kind:?}");

        assert!(forward_with(dir.path(), &[], kind).expect("forward"));
        assert!(first.requests().recv_timeout(WAIT).is_ok());
    }
}

#[test]
fn request_limits_are_checked_before_sending() {
    let too_many = vec![PathBuf::from("/f"); MAX_FILES + 1];
    let err = absolute_all(&too_many).expect_err("too many");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let long = PathBuf::from(format!("/{}", "a".repeat(MAX_PATH_BYTES)));
    let err = encode_request("", &[long]).expect_err("too long");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn request_round_trips_and_malformed_ones_are_rejected() {
    let files = vec![PathBuf::from("/home/a b/ü.txt"), PathBuf::from("/tmp")];
    let request = encode_request("tok", &files).expect("encode");
    let (token, got) = read_request(&mut request.as_slice()).expect("decode");
    assert_eq!(token, b"tok");
    assert_eq!(got, files);

    let mut bad_magic = request.clone();
    bad_magic[0] ^= 0xff;
    assert!(read_request(&mut bad_magic.as_slice()).is_err());
    let cut = &request[..request.len() - 1];
    assert!(read_request(&mut &cut[..]).is_err());
    let relative = encode_request("", &[PathBuf::from("relative")]).expect("encode");
    assert!(read_request(&mut relative.as_slice()).is_err());
}

#[test]
fn dropping_the_primary_frees_the_endpoint_for_the_next_launch() {
    for kind in kinds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = primary(acquire_with(dir.path(), &[], kind).expect("acquire"));
        drop(first);
        assert!(!dir.path().join(SOCKET_FILE).exists(), "{kind:?}");
        assert!(!dir.path().join(PORT_FILE).exists(), "{kind:?}");
        assert!(!forward_with(dir.path(), &[], kind).expect("forward"));
        let again = primary(acquire_with(dir.path(), &[], kind).expect("acquire"));
        assert!(forward_with(dir.path(), &[], kind).expect("forward"));
        assert!(again.requests().recv_timeout(WAIT).is_ok());
    }
}

#[test]
fn long_folders_fall_back_to_tcp() {
    let short = Path::new("/run/user/1000/ferry");
    let long = PathBuf::from(format!("/tmp/{}", "d".repeat(120)));
    #[cfg(unix)]
    assert_eq!(EndpointKind::for_dir(short), EndpointKind::Unix);
    #[cfg(not(unix))]
    assert_eq!(EndpointKind::for_dir(short), EndpointKind::Tcp);
    assert_eq!(EndpointKind::for_dir(&long), EndpointKind::Tcp);
}

#[test]
fn message_names_the_count() {
    assert_eq!(
        already_running_message(2),
        "Ferry is already running; passed 2 file(s) to it."
    );
}
