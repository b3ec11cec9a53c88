//! Ferry's look: the accent colour, text sizes and spacing for the light and
//! dark themes, shared little widgets (cards, empty states, outcome labels,
//! OS badges), wording helpers, and the app icon (assets/icon-256.png, compiled
//! in and decoded by eframe's PNG loader). Pure presentation: no state, no I/O.

use egui::{Color32, CornerRadius, FontId, Frame, Margin, RichText, Stroke, TextStyle, Vec2};

use crate::api::{Direction, Outcome, Party};
use crate::config::Theme;
use crate::i18n::tr;

/// Ferry blue, on light backgrounds.
pub const ACCENT_LIGHT: Color32 = Color32::from_rgb(0x1f, 0x6f, 0xd6);
/// Ferry blue, on dark backgrounds (lighter for contrast).
pub const ACCENT_DARK: Color32 = Color32::from_rgb(0x5a, 0x9c, 0xf5);
/// Success green.
const GREEN: Color32 = Color32::from_rgb(0x1e, 0x9e, 0x5a);
/// Warning amber.
const AMBER: Color32 = Color32::from_rgb(0xc7, 0x7c, 0x02);
/// Error red.
const RED: Color32 = Color32::from_rgb(0xd0, 0x3b, 0x3b);

/// The accent colour for the current theme.
pub fn accent(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        ACCENT_DARK
    } else {
        ACCENT_LIGHT
    }
}

/// Applies the theme preference and Ferry's styling to both themes.
pub fn apply(ctx: &egui::Context, theme: Theme) {
    ctx.set_theme(match theme {
        Theme::System => egui::ThemePreference::System,
        Theme::Light => egui::ThemePreference::Light,
        Theme::Dark => egui::ThemePreference::Dark,
    });
    for (which, accent) in [
        (egui::Theme::Light, ACCENT_LIGHT),
        (egui::Theme::Dark, ACCENT_DARK),
    ] {
        ctx.style_mut_of(which, |style| {
            use egui::FontFamily::{Monospace, Proportional};
            style.text_styles = [
                (TextStyle::Heading, FontId::new(20.0, Proportional)),
                (TextStyle::Body, FontId::new(14.5, Proportional)),
                (TextStyle::Button, FontId::new(14.5, Proportional)),
                (TextStyle::Small, FontId::new(12.0, Proportional)),
                (TextStyle::Monospace, FontId::new(13.0, Monospace)),
            ]
            .into();
            style.spacing.item_spacing = Vec2::new(8.0, 6.0);
            style.spacing.button_padding = Vec2::new(10.0, 5.0);
            style.spacing.interact_size.y = 26.0;
            let v = &mut style.visuals;
            v.selection.bg_fill = accent.gamma_multiply(0.35);
            v.selection.stroke = Stroke::new(1.0, accent);
            v.hyperlink_color = accent;
            v.window_corner_radius = CornerRadius::same(10);
            for w in [
                &mut v.widgets.inactive,
                &mut v.widgets.hovered,
                &mut v.widgets.active,
                &mut v.widgets.noninteractive,
                &mut v.widgets.open,
            ] {
                w.corner_radius = CornerRadius::same(6);
            }
            if which == egui::Theme::Light {
                v.panel_fill = Color32::from_rgb(0xf4, 0xf6, 0xf9);
                v.window_fill = Color32::WHITE;
                v.faint_bg_color = Color32::from_rgb(0xee, 0xf1, 0xf5);
                // Progress-bar rails and scroll tracks: visible on white cards.
                v.extreme_bg_color = Color32::from_rgb(0xe4, 0xe8, 0xee);
                v.text_edit_bg_color = Some(Color32::WHITE);
                v.widgets.inactive.weak_bg_fill = Color32::from_rgb(0xe6, 0xea, 0xf0);
                v.widgets.inactive.bg_fill = Color32::from_rgb(0xe6, 0xea, 0xf0);
                v.widgets.noninteractive.bg_stroke =
                    Stroke::new(1.0, Color32::from_rgb(0xdc, 0xe1, 0xe8));
                // Text fields need an edge to read as fields on white cards.
                v.widgets.inactive.bg_stroke =
                    Stroke::new(1.0, Color32::from_rgb(0xcf, 0xd6, 0xdf));
            }
        });
    }
}

/// A card: a raised, rounded box for one item.
pub fn card(ui: &egui::Ui) -> Frame {
    let v = ui.visuals();
    let fill = if v.dark_mode {
        Color32::from_gray(38)
    } else {
        Color32::WHITE
    };
    Frame::new()
        .fill(fill)
        .stroke(v.widgets.noninteractive.bg_stroke)
        .corner_radius(CornerRadius::same(8))
        .inner_margin(Margin::symmetric(12, 10))
}

/// A dialog over a dimmed window: the window behind is veiled (and takes no
/// clicks), the dialog's content sits 20 points in from its edge.
pub fn dialog(ctx: &egui::Context, id: &'static str) -> egui::Modal {
    let style = ctx.global_style();
    let veil = if style.visuals.dark_mode {
        Color32::from_black_alpha(150)
    } else {
        Color32::from_black_alpha(90)
    };
    egui::Modal::new(egui::Id::unique(id))
        .frame(Frame::popup(&style).inner_margin(Margin::same(20)))
        .backdrop_color(veil)
}

/// The quiet box a message's words sit in (in an offer, in History).
pub fn message_box(ui: &egui::Ui) -> Frame {
    Frame::new()
        .fill(ui.visuals().faint_bg_color)
        .corner_radius(6)
        .inner_margin(Margin::symmetric(10, 6))
}

/// A primary (accent-filled) button.
pub fn primary(_ui: &egui::Ui, text: &str) -> egui::Button<'static> {
    // The deeper blue in both themes: white text stays readable on it.
    egui::Button::new(RichText::new(text.to_string()).color(Color32::WHITE)).fill(ACCENT_LIGHT)
}

/// Glyph for a file in lists.
pub const FILE: &str = "🗋";
/// Glyph for a folder in lists.
pub const FOLDER: &str = "🗁";

/// A quiet "×" button that removes or dismisses something.
pub fn close_button(ui: &mut egui::Ui) -> egui::Response {
    ui.add(
        egui::Button::new(
            RichText::new("×")
                .size(17.0)
                .color(ui.visuals().weak_text_color()),
        )
        .frame(false),
    )
}

/// A friendly block for a list with nothing in it.
pub fn empty_state(ui: &mut egui::Ui, title: &str, body: &str) {
    ui.add_space(24.0);
    ui.vertical_centered(|ui| {
        ui.label(RichText::new(title).size(16.0).strong());
        ui.add_space(4.0);
        ui.label(RichText::new(body).weak());
    });
    ui.add_space(24.0);
}

/// A sentence for how a transfer ended, seen from this device. A failure's
/// reason is the engine's sentence, shown as it is.
pub fn outcome_sentence(outcome: &Outcome, direction: Direction) -> String {
    let outgoing = direction == Direction::Outgoing;
    match outcome {
        Outcome::Completed { files: 0, .. } if outgoing => tr!("outcome-message-delivered"),
        Outcome::Completed { files: 0, .. } => tr!("outcome-message-received"),
        Outcome::Completed { files, bytes } => tr!(
            "outcome-verified",
            count = *files,
            size = crate::api::human_bytes(*bytes)
        ),
        Outcome::Declined(_) if !outgoing => tr!("outcome-you-declined"),
        Outcome::Declined(reason) if reason.is_empty() => tr!("outcome-declined-by-receiver"),
        Outcome::Declined(reason) => tr!("outcome-declined-by-receiver-because", reason = reason),
        Outcome::Cancelled { by: Party::Local } => tr!("outcome-cancelled-by-you"),
        Outcome::Cancelled { by: Party::Remote } if outgoing => {
            tr!("outcome-cancelled-by-receiver")
        }
        Outcome::Cancelled { by: Party::Remote } => tr!("outcome-cancelled-by-sender"),
        Outcome::Failed(reason) => reason.clone(),
    }
}

/// A sentence for how an upload from a browser ended (nothing is verified
/// by checksum there, so success says "saved", not "verified").
pub fn browser_outcome_sentence(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Completed { files, bytes } => tr!(
            "outcome-saved",
            count = *files,
            size = crate::api::human_bytes(*bytes)
        ),
        other => outcome_sentence(other, Direction::Incoming),
    }
}

/// The one-word status of an ended transfer and its colour.
pub fn outcome_word(outcome: &Outcome) -> (String, Color32) {
    match outcome {
        Outcome::Completed { .. } => (tr!("outcome-word-done"), GREEN),
        Outcome::Declined(_) => (tr!("outcome-word-declined"), AMBER),
        Outcome::Cancelled { .. } => (tr!("outcome-word-cancelled"), AMBER),
        Outcome::Failed(_) => (tr!("outcome-word-failed"), RED),
    }
}

/// A coloured one-word status with the sentence as its hover text
/// (`browser`: an upload from a browser).
pub fn outcome_label(ui: &mut egui::Ui, outcome: &Outcome, direction: Direction, browser: bool) {
    let (word, colour) = outcome_word(outcome);
    let sentence = if browser {
        browser_outcome_sentence(outcome)
    } else {
        outcome_sentence(outcome, direction)
    };
    ui.label(RichText::new(word).strong().color(colour))
        .on_hover_text(sentence);
}

/// Colour for "online" dots and success text.
pub fn green() -> Color32 {
    GREEN
}

/// Colour for errors.
pub fn red() -> Color32 {
    RED
}

/// Colour for warnings.
pub fn amber() -> Color32 {
    AMBER
}

/// "just now", "5 min ago", "3 h ago", "2 days ago".
pub fn relative_time(now_ms: u64, then_ms: u64) -> String {
    let secs = now_ms.saturating_sub(then_ms) / 1000;
    match secs {
        0..60 => tr!("time-just-now"),
        60..3600 => tr!("time-minutes-ago", count = secs / 60),
        3600..86_400 => tr!("time-hours-ago", count = secs / 3600),
        86_400..172_800 => tr!("time-yesterday"),
        _ => tr!("time-days-ago", count = secs / 86_400),
    }
}

/// "45 s", "1 min 05 s", "1 h 02 min": a time left, in the window's language.
pub fn duration(duration: std::time::Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..60 => tr!("duration-seconds", seconds = secs),
        60..3600 => tr!(
            "duration-minutes",
            minutes = secs / 60,
            seconds = format!("{:02}", secs % 60)
        ),
        _ => tr!(
            "duration-hours",
            hours = secs / 3600,
            minutes = format!("{:02}", (secs % 3600) / 60)
        ),
    }
}

/// An OS name as people write it.
pub fn os_name(os: &str) -> &str {
    match os {
        "linux" => "Linux",
        "macos" => "macOS",
        "windows" => "Windows",
        "android" => "Android",
        "ios" => "iOS",
        other => other,
    }
}

/// Badge colour and glyph for an OS name as carried on the wire.
fn os_look(os: &str) -> (Color32, &'static str) {
    match os.to_ascii_lowercase().as_str() {
        "linux" => (Color32::from_rgb(0xe8, 0xa3, 0x17), "🐧"),
        "macos" | "ios" => (Color32::from_rgb(0x6b, 0x72, 0x80), "🍎"),
        "windows" => (Color32::from_rgb(0x00, 0x78, 0xd4), "⊞"),
        "android" => (Color32::from_rgb(0x3d, 0xdc, 0x84), "🤖"),
        "phone" => (Color32::from_rgb(0x0e, 0xa5, 0xe9), "📱"),
        _ => (Color32::from_rgb(0x8b, 0x5c, 0xf6), "💻"),
    }
}

/// Paints a round OS badge of diameter `size` centred at `center`.
pub fn paint_os_badge(painter: &egui::Painter, center: egui::Pos2, size: f32, os: &str) {
    let (fill, glyph) = os_look(os);
    painter.circle_filled(center, size / 2.0, fill);
    painter.text(
        center,
        egui::Align2::CENTER_CENTER,
        glyph,
        FontId::proportional(size * 0.55),
        Color32::WHITE,
    );
}

/// Ferry's icon (assets/icon-256.png), compiled in.
const ICON_PNG: &[u8] = include_bytes!("../../assets/icon-256.png");

/// Ferry's icon as RGBA pixels for the window manager and the top bar;
/// `None` only if the compiled-in PNG were damaged.
pub fn icon_data() -> Option<egui::IconData> {
    match eframe::icon_data::from_png_bytes(ICON_PNG) {
        Ok(icon) => Some(icon),
        Err(e) => {
            tracing::warn!("the built-in icon cannot be decoded: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icon_decodes() {
        let icon = icon_data().expect("icon");
        assert_eq!((icon.width, icon.height), (256, 256));
        assert_eq!(icon.rgba.len(), 256 * 256 * 4);
    }

    #[test]
    fn wording_is_from_this_side() {
        let declined = Outcome::Declined(String::new());
        assert_eq!(
            outcome_sentence(&declined, Direction::Incoming),
            "You declined"
        );
        assert_eq!(
            outcome_sentence(&declined, Direction::Outgoing),
            "Declined by the receiver"
        );
        assert_eq!(relative_time(10 * 60_000, 0), "10 min ago");
    }
}
