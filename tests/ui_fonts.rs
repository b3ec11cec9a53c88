//! Guards "every name readable" (issue 19): with Ferry's font setup, the
//! window's fonts have glyphs for a CJK file name, a CJK device name and an
//! Arabic file name whenever the system has a font for them, both in a bare
//! egui context and in the app's own (whose title shows a CJK alias). Under CI,
//! which installs a CJK font package (and has DejaVu Sans for Arabic), a
//! missing font fails the test; elsewhere it is skipped with the reason.

mod require;
mod ui_support;

use egui_kittest::kittest::Queryable;
use ferry::api::{AcceptPolicy, Command, TransferId};
use ferry::app::fonts;
use skrifa::MetadataProvider as _;
use ui_support::{AppDirs, TestPeer, harness, harness_allowing_tofu, wait_for_label, write_file};

const CJK_FILE: &str = "照片 测试.txt";
const CJK_DEVICE: &str = "桌面电脑";
const ARABIC_FILE: &str = "ملف.txt";

/// Why no installed font has every character of `text`, if none has.
/// Independent of Ferry's choice: any face in the system index will do.
fn no_system_font_for(text: &str, package: &str) -> Option<String> {
    let db = fonts::index();
    let wanted: Vec<char> = text.chars().filter(|c| !c.is_ascii()).collect();
    let found = db.faces().any(|face| {
        db.with_face_data(face.id, |data, index| {
            skrifa::FontRef::from_index(data, index).is_ok_and(|f| {
                let map = f.charmap();
                wanted.iter().all(|&c| map.map(c).is_some())
            })
        })
        .unwrap_or(false)
    });
    (!found).then(|| {
        format!(
            "no installed font has every character of {text:?} among {} faces \
             (apt-get install {package})",
            db.len()
        )
    })
}

/// Runs one frame of a bare context set up like Ferry's window and returns
/// what `check` saw in it.
fn in_a_frame<T>(check: impl FnOnce(&egui::Context) -> T) -> T {
    let ctx = egui::Context::default();
    fonts::install_now(&ctx);
    let mut check = Some(check);
    let mut seen = None;
    let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
        if let Some(check) = check.take() {
            seen = Some(check(ui.ctx()));
        }
    });
    output.textures_delta.clear();
    seen.expect("the frame ran")
}

#[test]
fn cjk_and_arabic_names_have_glyphs() {
    let cjk = no_system_font_for(
        &format!("{CJK_FILE}{CJK_DEVICE}"),
        "fonts-noto-cjk or fonts-wqy-microhei",
    );
    if require::require("a CJK font", cjk) {
        let (file, device, escaped) = in_a_frame(|ctx| {
            (
                fonts::covers(ctx, CJK_FILE),
                fonts::covers(ctx, CJK_DEVICE),
                fonts::readable(ctx, CJK_DEVICE),
            )
        });
        assert!(file, "no glyphs for {CJK_FILE:?} with Ferry's fonts");
        assert!(device, "no glyphs for {CJK_DEVICE:?} with Ferry's fonts");
        assert_eq!(escaped, None, "a covered name needs no escaped form");
    }
    let arabic = no_system_font_for(ARABIC_FILE, "fonts-noto-core or fonts-dejavu-core");
    if require::require("an Arabic font", arabic) {
        assert!(
            in_a_frame(|ctx| fonts::covers(ctx, ARABIC_FILE)),
            "no glyphs for {ARABIC_FILE:?} with Ferry's fonts"
        );
    }
}

#[test]
fn the_window_draws_a_cjk_device_name() {
    let missing = no_system_font_for(CJK_DEVICE, "fonts-noto-cjk or fonts-wqy-microhei");
    if !require::require("a CJK font", missing) {
        return;
    }
    let dirs = AppDirs::new(CJK_DEVICE);
    let mut harness = harness(&dirs);
    harness.run_steps(2);
    harness.get_by_label(&format!("This device: {CJK_DEVICE}"));
    assert!(
        fonts::covers(&harness.ctx, CJK_DEVICE),
        "the window's fonts have no glyphs for {CJK_DEVICE:?}"
    );
}

#[test]
fn a_name_no_font_has_is_spelled_out_on_hover() {
    // Cuneiform: not in egui's fonts, and not a script Ferry looks up.
    let sender = "𒀀 Desk";
    let dirs = AppDirs::new("Studio");
    let peer = TestPeer::start(sender, AcceptPolicy::Ask);
    let file = dirs.scratch().join("𒀀.txt");
    write_file(&file, 10);
    let mut harness = harness_allowing_tofu(&dirs);
    harness.run_steps(2);
    let to = harness.state().local_addr().expect("listening");
    peer.engine.send(Command::Send {
        id: TransferId::fresh(),
        to,
        paths: vec![file],
    });
    let title = format!("{sender} wants to send you 1 file");
    wait_for_label(&mut harness, &title);
    assert!(
        !fonts::covers(&harness.ctx, sender),
        "a font has 𒀀 after all"
    );
    harness.get_by_label(&title).hover();
    wait_for_label(&mut harness, "\\u{12000} Desk");
    harness.get_by_label("𒀀.txt").hover();
    wait_for_label(&mut harness, "\\u{12000}.txt");
}
