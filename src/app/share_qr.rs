//! The share link's QR code as an egui texture: black modules on white
//! (whatever the theme) inside a quiet zone of [`QUIET_ZONE`] modules, one
//! texel per module, made once per link and drawn with nearest filtering at
//! a whole number of physical pixels per module, so it stays crisp and
//! scannable from the screen. The matrix comes from [`qr_matrix`].

use egui::{Color32, RichText, Vec2};

use crate::http::qr_matrix;
use crate::i18n::tr;

/// Light modules around the code, as the QR standard asks.
pub const QUIET_ZONE: usize = 4;

/// About how wide the code is drawn, in points.
const QR_SIDE: f32 = 210.0;

/// The QR code of one link, as a texture.
pub struct QrTexture {
    url: String,
    texture: egui::TextureHandle,
}

impl QrTexture {
    /// The texture (one texel per module, quiet zone included).
    pub fn texture(&self) -> &egui::TextureHandle {
        &self.texture
    }
}

/// The QR code of `url` as an image: black on white, with the quiet zone.
pub fn qr_image(url: &str) -> Option<egui::ColorImage> {
    let matrix = qr_matrix(url)?;
    let side = matrix.len() + 2 * QUIET_ZONE;
    let mut pixels = vec![Color32::WHITE; side * side];
    for (row, modules) in matrix.iter().enumerate() {
        for (col, dark) in modules.iter().enumerate() {
            if *dark {
                pixels[(row + QUIET_ZONE) * side + col + QUIET_ZONE] = Color32::BLACK;
            }
        }
    }
    Some(egui::ColorImage::new([side, side], pixels))
}

/// Drops the texture unless it is for `url` (the running share's link).
pub fn forget_unless(qr: &mut Option<QrTexture>, url: Option<&str>) {
    if qr.as_ref().is_some_and(|q| Some(q.url.as_str()) != url) {
        *qr = None;
    }
}

/// Draws the link's QR code, making its texture the first time.
pub fn show(ui: &mut egui::Ui, url: &str, qr: &mut Option<QrTexture>) {
    if qr.is_none()
        && let Some(image) = qr_image(url)
    {
        let texture = ui
            .ctx()
            .load_texture("share-qr", image, egui::TextureOptions::NEAREST);
        *qr = Some(QrTexture {
            url: url.to_string(),
            texture,
        });
    }
    let Some(qr) = qr else {
        ui.label(RichText::new(tr!("share-qr-too-long")).weak());
        return;
    };
    // A whole number of physical pixels per module keeps every module square.
    let modules = qr.texture.size()[0] as f32;
    let ppp = ui.ctx().pixels_per_point();
    let per_module = (QR_SIDE * ppp / modules).floor().max(1.0);
    let side = modules * per_module / ppp;
    ui.add(
        egui::Image::new((qr.texture.id(), Vec2::splat(side)))
            .texture_options(egui::TextureOptions::NEAREST)
            // Its accessible name (screen readers, tests).
            .alt_text(tr!("share-qr-alt")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_image_is_dark_on_white_inside_a_quiet_zone() {
        let url = "http://192.168.1.20:40000/s/AAAAAAAAAAAAAAAAAAAAAA/";
        let matrix = qr_matrix(url).expect("matrix");
        let image = qr_image(url).expect("image");
        let side = matrix.len() + 2 * QUIET_ZONE;
        assert_eq!(image.size, [side, side]);
        let at = |r: usize, c: usize| image.pixels[r * side + c];
        for i in 0..side {
            for q in 0..QUIET_ZONE {
                for (r, c) in [(q, i), (i, q), (side - 1 - q, i), (i, side - 1 - q)] {
                    assert_eq!(at(r, c), Color32::WHITE, "quiet zone at {r},{c}");
                }
            }
        }
        for (r, row) in matrix.iter().enumerate() {
            for (c, dark) in row.iter().enumerate() {
                let want = if *dark {
                    Color32::BLACK
                } else {
                    Color32::WHITE
                };
                assert_eq!(at(r + QUIET_ZONE, c + QUIET_ZONE), want);
            }
        }
    }
}
