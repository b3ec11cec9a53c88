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

/// The QR code of `text` drawn with Unicode half blocks, two modules per
/// character cell, with a quiet zone, in the terminal's default colours
/// inverted (light modules are drawn, dark ones are spaces) so it scans on
/// dark and light terminals alike when the terminal's background is dark.
/// Returns `None` if the text is too long for a QR code.
pub fn qr_terminal(text: &str) -> Option<String> {
    let matrix = qr_matrix(text)?;
    const QUIET: usize = 2;
    let size = matrix.len();
    let light = |row: isize, col: isize| -> bool {
        if row < 0 || col < 0 || row as usize >= size || col as usize >= size {
            return true;
        }
        !matrix[row as usize][col as usize]
    };
    let total = (size + 2 * QUIET) as isize;
    let mut out = String::new();
    let mut row = -(QUIET as isize);
    while row < total - QUIET as isize {
        for col in -(QUIET as isize)..(total - QUIET as isize) {
            let top = light(row, col);
            let bottom = light(row + 1, col);
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
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
        let text = qr_terminal("http://10.0.0.2:1/s/x/").expect("qr");
        let first = text.lines().next().expect("line");
        assert!(first.chars().all(|c| c == '█'));
        assert_eq!(
            text.lines().count(),
            (qr_matrix("http://10.0.0.2:1/s/x/").expect("qr").len() + 4).div_ceil(2)
        );
    }
}
