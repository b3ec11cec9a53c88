//! Guards issue 16, item 3: on a desktop where no file dialog can open (no
//! XDG portal on a session bus, no `zenity`), "Send files…" says so in the
//! window instead of doing nothing, and the Send buttons work again after.
//! Its own test binary: it empties the environment the dialog check reads.

mod ui_support;

use egui_kittest::kittest::Queryable;
use ui_support::{AppDirs, harness, wait_until};

#[test]
#[cfg(target_os = "linux")]
fn send_files_without_a_file_dialog_says_so() {
    let empty = tempfile::tempdir().expect("tmp");
    // SAFETY: the only test in this binary, run before any thread of ours
    // starts; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("PATH", empty.path());
        std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
        std::env::remove_var("XDG_RUNTIME_DIR");
    }
    let dirs = AppDirs::new("Desk");
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label("🗋 Send files…").click();
    wait_until(&mut harness, "the notice", |h| {
        h.query_by_label_contains("cannot open a file dialog")
            .is_some()
    });
    // The dialog is over: the buttons take clicks again.
    harness.get_by_label("🗁 Send folder…").click();
    harness.run_steps(2);
    wait_until(&mut harness, "the same notice once", |h| {
        h.state().state().notices.len() == 1
    });
}
