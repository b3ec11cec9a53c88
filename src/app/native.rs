//! The native window around [`FerryApp`]: eframe's `App` trait (logic, ui,
//! saving the geometry at exit) and [`run`], which sets the window's
//! identity (title, app id, icon, size and position from last time) and
//! blocks until the window closes.

use std::path::PathBuf;
use std::sync::Arc;

use super::{APP_ID, AppOptions, FerryApp, style, window};

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
pub fn run(files: Vec<PathBuf>, interfaces: Option<Vec<String>>) -> anyhow::Result<()> {
    let options = AppOptions::from_env(files, interfaces);
    let geometry = window::Geometry::load(&options.config_dir);
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Ferry")
        .with_app_id(APP_ID)
        .with_icon(Arc::new(style::icon_data()))
        .with_inner_size(geometry.size())
        .with_min_inner_size([720.0, 480.0]);
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
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
