//! QR codes of the share URL: as a matrix of dark/light modules for the
//! window to draw as a texture, as text for the terminal, and as inline SVG
//! for the page. Pure
//! computation with the `qrcode` crate; no I/O.

use qrcode::{Color, EcLevel, QrCode};

/// The QR code of `text` as rows of modules, `true` = dark, without the quiet
/// zone (draw at least 4 light modules around it). `None` if the text is too
/// long for a QR code.
pub fn qr_matrix(text: &str) -> Option<Vec<Vec<bool>>> {
    let code = QrCode::with_error_correction_level(text, EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    Some(
        colors
            .chunks(width)
            .map(|row| row.iter().map(|c| *c == Color::Dark).collect())
            .collect(),
    )
}

/// The QR code of `text` drawn with Unicode half blocks (two modules per
/// character cell) inside a quiet zone. With `colors`, ANSI escapes paint
/// black modules on a white background, which scans on any terminal theme;
/// without, light modules are drawn as blocks and dark ones left blank,
/// which scans on a dark background (like `qrencode -t UTF8`). Returns
/// `None` if the text is too long for a QR code.
pub fn qr_terminal(text: &str, colors: bool) -> Option<String> {
    let matrix = qr_matrix(text)?;
    const QUIET: isize = 2;
    let size = matrix.len() as isize;
    let dark = |row: isize, col: isize| -> bool {
        (0..size).contains(&row) && (0..size).contains(&col) && matrix[row as usize][col as usize]
    };
    let mut out = String::new();
    let mut row = -QUIET;
    while row < size + QUIET {
        if colors {
            out.push_str("\x1b[30;107m");
        }
        for col in -QUIET..size + QUIET {
            let (top, bottom) = (dark(row, col), dark(row + 1, col));
            // The drawn part of a cell: dark modules with colours, light ones without.
            let (top, bottom) = if colors {
                (top, bottom)
            } else {
                (!top, !bottom)
            };
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        if colors {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
        row += 2;
    }
    Some(out)
}

/// The QR code of `text` as an inline SVG (dark modules as one path, a
/// quiet zone of two modules; the page puts it on white), or `None` if the
/// text is too long for a QR code.
pub fn qr_svg(text: &str) -> Option<String> {
    const QUIET: usize = 2;
    let matrix = qr_matrix(text)?;
    let size = matrix.len() + 2 * QUIET;
    let mut path = String::new();
    for (y, row) in matrix.iter().enumerate() {
        for (x, _) in row.iter().enumerate().filter(|(_, dark)| **dark) {
            path.push_str(&format!("M{} {}h1v1h-1z", x + QUIET, y + QUIET));
        }
    }
    Some(format!(
        r##"<svg viewBox="0 0 {size} {size}" shape-rendering="crispEdges" aria-hidden="true"><rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_is_square_with_finder_patterns() {
        let m = qr_matrix("http://192.168.1.20:47814/s/AAAAAAAAAAAAAAAAAAAAAA/").expect("qr");
        let n = m.len();
        assert!(
            n >= 21 && (n - 17).is_multiple_of(4),
            "version size, got {n}"
        );
        assert!(m.iter().all(|row| row.len() == n));
        // The three finder patterns: dark 7x7 rings in three corners.
        for (r, c) in [(0, 0), (0, n - 7), (n - 7, 0)] {
            assert!(m[r][c] && m[r + 6][c + 6] && m[r + 3][c + 3]);
            assert!(!m[r + 1][c + 1]);
        }
    }

    #[test]
    fn the_svg_has_one_square_per_dark_module() {
        let text = "http://10.0.0.2:1/s/x/";
        let svg = qr_svg(text).expect("svg");
        let dark = qr_matrix(text)
            .expect("qr")
            .iter()
            .flatten()
            .filter(|d| **d)
            .count();
        assert_eq!(svg.matches("h1v1h-1z").count(), dark);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn the_terminal_drawing_has_a_quiet_zone() {
        let text = qr_terminal("http://10.0.0.2:1/s/x/", false).expect("qr");
        let first = text.lines().next().expect("line");
        assert!(first.chars().all(|c| c == '█'));
        let colored = qr_terminal("http://10.0.0.2:1/s/x/", true).expect("qr");
        let first = colored.lines().next().expect("line");
        assert_eq!(
            first,
            format!(
                "\x1b[30;107m{}\x1b[0m",
                " ".repeat(first.chars().count() - 13)
            )
        );
        assert_eq!(
            text.lines().count(),
            (qr_matrix("http://10.0.0.2:1/s/x/").expect("qr").len() + 4).div_ceil(2)
        );
    }
}
