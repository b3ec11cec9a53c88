//! The window's size and position across restarts: observed every frame
//! from the viewport, written to `window.json` in the config folder at exit
//! (by the helper saver thread), read once before the window opens. Kept out
//! of `settings.json` because it is not a preference a person edits.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Size a first-time window opens with, in points.
pub const DEFAULT_SIZE: [f32; 2] = [1040.0, 700.0];

/// Smallest size the window can take (and is restored at): every view is
/// laid out to work from here up (`tests/ui_layout.rs`).
pub const MIN_SIZE: [f32; 2] = [640.0, 480.0];

/// Where and how large the window was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Geometry {
    /// Inner width and height in points.
    pub size: Option<[f32; 2]>,
    /// Outer top-left corner in points (unknown on Wayland).
    pub position: Option<[f32; 2]>,
}

/// The geometry file inside `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join("window.json")
}

impl Geometry {
    /// Reads the saved geometry; anything missing or odd gives defaults.
    pub fn load(dir: &Path) -> Geometry {
        std::fs::read(path_in(dir))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Size to open with.
    pub fn size(&self) -> [f32; 2] {
        match self.size {
            Some([w, h]) if w.is_finite() && h.is_finite() => {
                [w.clamp(MIN_SIZE[0], 8000.0), h.clamp(MIN_SIZE[1], 8000.0)]
            }
            _ => DEFAULT_SIZE,
        }
    }

    /// Position to open at, if one was saved and looks sane.
    pub fn position(&self) -> Option<[f32; 2]> {
        self.position
            .filter(|[x, y]| x.is_finite() && y.is_finite() && *x > -100.0 && *y > -100.0)
    }

    /// Records the current viewport's size and position.
    pub fn observe(&mut self, ctx: &egui::Context) {
        let (inner, outer) = ctx.input(|i| (i.viewport().inner_rect, i.viewport().outer_rect));
        if let Some(inner) = inner {
            self.size = Some([inner.width(), inner.height()]);
        }
        if let Some(outer) = outer {
            self.position = Some([outer.min.x, outer.min.y]);
        }
    }

    /// The file's bytes, or `None` when nothing was observed.
    pub fn to_json(self) -> Option<Vec<u8>> {
        if self.size.is_none() && self.position.is_none() {
            return None;
        }
        serde_json::to_vec_pretty(&self).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_geometry_falls_back_to_sane_values() {
        let tiny = Geometry {
            size: Some([10.0, f32::NAN]),
            position: Some([-5000.0, 0.0]),
        };
        assert_eq!(tiny.size(), DEFAULT_SIZE);
        assert_eq!(tiny.position(), None);
        let ok = Geometry {
            size: Some([900.0, 300.0]),
            position: Some([20.0, 30.0]),
        };
        assert_eq!(ok.size(), [900.0, MIN_SIZE[1]]);
        assert_eq!(ok.position(), Some([20.0, 30.0]));
    }
}
