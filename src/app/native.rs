//! The native window around [`FerryApp`]: eframe's `App` trait (logic, ui,
//! saving the geometry at exit) and [`run`], which sets the window's
//! identity (title, app id, icon, size and position from last time) and
//! blocks until the window closes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::{APP_ID, AppOptions, FerryApp, style, window};
use crate::config::NetOptions;
use crate::single_instance::{self, Instance};

impl eframe::App for FerryApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        close_if_asked(ctx);
        FerryApp::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Some(bytes) = self.geometry.to_json() {
            self.tasks.save(window::path_in(&self.config_dir), bytes);
        }
    }
}

/// Set by a termination signal (SIGTERM, SIGHUP, Ctrl-C): the next frame
/// closes the window. Process-wide, as signals are.
static QUIT_ASKED: AtomicBool = AtomicBool::new(false);

/// The window's context once it exists, so a signal can wake it.
static CONTEXT: OnceLock<egui::Context> = OnceLock::new();

/// Makes SIGTERM, SIGHUP and Ctrl-C (logout, `systemctl stop`, `kill`) close
/// the window as the close button does: the engine is dropped and says
/// goodbye, so other devices drop this one at once instead of after the
/// expiry. Installed before the engine starts, so there is no moment in
/// which this device is visible to others but a signal would kill it
/// without a goodbye. A second signal while the first close is still under
/// way exits at once (a stuck window must stay killable).
fn catch_termination() {
    let handler = || {
        if QUIT_ASKED.swap(true, Ordering::SeqCst) {
            std::process::exit(128 + 15);
        }
        if let Some(ctx) = CONTEXT.get() {
            ctx.request_repaint();
        }
    };
    if let Err(e) = ctrlc::set_handler(handler) {
        tracing::warn!("cannot catch SIGTERM ({e}); a logout will not say goodbye to peers");
    }
}

/// Closes the window when a signal asked for it (checked every frame).
fn close_if_asked(ctx: &egui::Context) {
    let _ = CONTEXT.set(ctx.clone());
    if QUIT_ASKED.load(Ordering::SeqCst) {
        tracing::info!("asked to quit by a signal; closing the window");
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }
}

/// Opens the window and runs until it closes.
///
/// When a Ferry window is already open for this user, `files` are handed to
/// it (it comes to the front) and this returns at once.
pub fn run(files: Vec<PathBuf>, net: NetOptions) -> anyhow::Result<()> {
    let files: Vec<PathBuf> = files
        .into_iter()
        .map(|f| std::path::absolute(&f).unwrap_or(f))
        .collect();
    let primary = match single_instance::acquire(&single_instance::default_dir(), &files) {
        Ok(Instance::Primary(primary)) => Some(primary),
        Ok(Instance::Secondary { files_passed }) => {
            println!("{}", single_instance::already_running_message(files_passed));
            return Ok(());
        }
        Err(e) => {
            tracing::warn!("cannot check for another Ferry window ({e}); opening this one anyway");
            None
        }
    };
    catch_termination();
    let options = AppOptions::from_env(files, net);
    let geometry = window::Geometry::load(&options.config_dir);
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Ferry")
        .with_app_id(APP_ID)
        .with_inner_size(geometry.size())
        .with_min_inner_size(window::MIN_SIZE);
    if let Some(icon) = style::icon_data() {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    if let Some(position) = geometry.position() {
        viewport = viewport.with_position(position);
    }
    let native = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "Ferry",
        native,
        Box::new(move |cc| {
            let mut app = FerryApp::new(options)?;
            app.attach(&cc.egui_ctx);
            close_if_asked(&cc.egui_ctx);
            if let Some(primary) = primary {
                app.set_instance(primary);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
