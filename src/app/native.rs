//! The native window around [`FerryApp`]: eframe's `App` trait (logic, ui,
//! saving the geometry at exit) and [`run`], which sets the window's
//! identity (title, app id, icon, size and position from last time) and
//! blocks until the window closes.

use std::path::PathBuf;
use std::sync::Arc;

use super::{APP_ID, AppOptions, FerryApp, style, window};
use crate::config::NetOptions;
use crate::single_instance::{self, Instance};

impl eframe::App for FerryApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
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
    let options = AppOptions::from_env(files, net);
    let geometry = window::Geometry::load(&options.config_dir);
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Ferry")
        .with_app_id(APP_ID)
        .with_inner_size(geometry.size())
        .with_min_inner_size([720.0, 480.0]);
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
            if let Some(primary) = primary {
                app.set_instance(primary);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
