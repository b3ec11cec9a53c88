//! The real window as a process, drawn into Xvfb: how it ends. A logout,
//! `systemctl stop` or `kill` sends SIGTERM; the window must close as if
//! its close button was pressed, so the engine says goodbye and other
//! devices drop it at once rather than after the expiry (#16, item 6).

mod discovery_support;
mod require;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use discovery_support::{Watch, engine, ferry, has_alias, udp_port};

/// Long enough for a cold window (GL context, fonts) on a busy CI machine.
const WINDOW_UP: Duration = Duration::from_secs(30);

/// An Xvfb server on a display number it picks itself; killed on drop.
struct Display {
    server: Child,
    name: String,
}

impl Display {
    fn start() -> Display {
        let mut server = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg("1024x700x24")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        // With -displayfd, Xvfb writes the display number once it accepts clients.
        let mut number = String::new();
        BufReader::new(server.stdout.take().expect("stdout"))
            .read_line(&mut number)
            .expect("read the display number");
        let number = number.trim();
        assert!(!number.is_empty(), "Xvfb gave no display number");
        Display {
            server,
            name: format!(":{number}"),
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn send_signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
    // SAFETY: kill(2) with the pid of our own live child (not yet waited
    // for, so the pid cannot have been reused) and a valid signal number.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "kill({pid}, {signal})");
}

#[test]
fn sigterm_closes_the_window_with_a_goodbye() {
    if !require::require("Xvfb", require::xvfb()) {
        return;
    }
    let display = Display::start();
    let port = udp_port();
    let dir = tempfile::tempdir().expect("tmp");
    let watcher = engine("watcher", port.port, dir.path(), true);
    let mut w = Watch::new(&watcher);

    let home = tempfile::tempdir().expect("tmp");
    std::fs::write(
        home.path().join("settings.json"),
        br#"{"alias": "window-leaving"}"#,
    )
    .expect("settings");
    let mut window = ferry(home.path(), port.port)
        .env("DISPLAY", &display.name)
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the window");
    let seen = w.until(WINDOW_UP, |live| has_alias(live, "window-leaving"));
    if seen.is_none() {
        let _ = window.kill();
        panic!("the window never appeared to its peers");
    }
    let id = w
        .by_alias("window-leaving")
        .expect("listed")
        .device
        .device_id
        .clone();

    send_signal(&window, libc::SIGTERM);
    let signalled = Instant::now();
    let gone = w.until(Duration::from_secs(3), |live| !live.contains_key(&id));
    let took = signalled.elapsed();
    let status = wait_at_most(&mut window, Duration::from_secs(10));
    assert!(
        gone.is_some(),
        "not gone 3 s after SIGTERM; gone {:?}, live {:?}, problems {:?}",
        w.gone,
        w.live.values().map(|p| &p.device.alias).collect::<Vec<_>>(),
        w.problems
    );
    eprintln!("SIGTERM'd window gone after {took:?}");
    assert!(
        took < Duration::from_secs(1),
        "{took:?}: no goodbye, it expired"
    );
    assert_eq!(w.gone, vec![id]);
    let status = status.expect("the window process ended after SIGTERM");
    assert!(status.success(), "closes like the close button: {status:?}");
}

/// The child's exit status, or `None` (after killing it) when it is still
/// running after `limit`.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
