//! QR codes of the share URL: as a matrix of dark/light modules for the
//! window to draw as a texture, and as text for the terminal. Pure
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
