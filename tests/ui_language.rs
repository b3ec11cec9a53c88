//! Guards the window's language (issue 19): choosing 简体中文 in Settings
//! turns the window Chinese at once (tabs, panels, an offer card with CJK
//! names), the choice is saved in settings.json and kept after a restart,
//! and choosing English turns it back. The active language is one for the
//! whole process, so this file holds a single test.

mod ui_support;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use ferry::api::{AcceptPolicy, Command, TransferId};
use ferry::app::FerryApp;
use ferry::config::Settings;
use ui_support::{AppDirs, TestPeer, harness_allowing_tofu, wait_for_label, write_file};

/// Opens the language list in Settings (`label` is the list's name, which
/// shows `current`) and picks `choice`.
fn choose_language(
    harness: &mut Harness<'static, FerryApp>,
    label: &str,
    current: &str,
    choice: &str,
) {
    let list = harness.get_by_label(label);
    assert_eq!(list.value().as_deref(), Some(current));
    list.click();
    harness.run_steps(2);
    harness.get_by_label(choice).click();
    harness.run_steps(2);
}

#[test]
fn the_window_switches_to_chinese_and_back_without_a_restart() {
    let dirs = AppDirs::new("Desk");
    // The labels are read through AccessKit: whether a CJK font is installed
    // is tests/ui_fonts.rs's business, not this test's.
    let mut harness = harness_allowing_tofu(&dirs);
    harness.run_steps(2);
    harness.get_by_label("Settings").click();
    wait_for_label(&mut harness, "Language");
    choose_language(&mut harness, "Language", "English", "简体中文");
    harness.get_by_label("Save").click();
    // The same frame's note, the tabs, the panels: all Chinese now.
    wait_for_label(&mut harness, "已保存。");
    harness.get_by_label("设置");
    harness.get_by_label("历史记录");
    harness.get_by_label("设备");
    harness.get_by_label("本机：Desk");
    harness.get_by_label("语言");
    assert!(
        harness.query_by_label("Settings").is_none(),
        "no English tab left"
    );
    // Saving is a helper thread's job: the file follows shortly.
    ui_support::wait_until(&mut harness, "the choice to be saved", |_| {
        Settings::load(&dirs.config()).language.as_deref() == Some("zh-CN")
    });

    // An offer with CJK names reads in Chinese, plural and all.
    let peer = TestPeer::start("桌面电脑", AcceptPolicy::Ask);
    let file = dirs.scratch().join("照片 测试.txt");
    write_file(&file, 100);
    let to = harness.state().local_addr().expect("listening");
    peer.engine.send(Command::Send {
        id: TransferId::fresh(),
        to,
        paths: vec![file],
    });
    wait_for_label(&mut harness, "桌面电脑 想给你发送 1 个文件");
    harness.get_by_label("照片 测试.txt");
    harness.get_by_label("接受");
    harness.get_by_label("拒绝").click();
    harness.run_steps(2);
    harness.get_by_label("传输").click();
    wait_for_label(&mut harness, "你已拒绝");
    drop(harness);

    // Kept after a restart.
    let mut harness = harness_allowing_tofu(&dirs);
    harness.run_steps(2);
    harness.get_by_label("设置").click();
    wait_for_label(&mut harness, "语言");
    choose_language(&mut harness, "语言", "简体中文", "English");
    harness.get_by_label("保存").click();
    wait_for_label(&mut harness, "Saved.");
    harness.get_by_label("Settings");
    harness.get_by_label("Devices");
    harness.get_by_label("This device: Desk");
    assert!(
        harness.query_by_label("设置").is_none(),
        "no Chinese tab left"
    );
    ui_support::wait_until(&mut harness, "English to be saved", |_| {
        Settings::load(&dirs.config()).language.as_deref() == Some("en")
    });
}
