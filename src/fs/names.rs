//! Turning untrusted names from the wire into paths inside the download
//! folder, and choosing names that never overwrite anything. This module owns
//! the promise "a received name never escapes the chosen folder, not even
//! through a symlink". It creates folders but never writes file contents.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::protocol::limits::{MAX_NAME_BYTES, MAX_PATH_DEPTH};

/// Suffix of a file still being received.
pub const PART_SUFFIX: &str = ".ferry-part";

/// Suffix of the small file beside a partial file that says what it belongs
/// to (see `transfer::receive::resume`).
pub const PART_META_SUFFIX: &str = ".meta";

/// Highest number [`numbered`] alternatives go up to (`name (10000).ext`).
pub const MAX_NUMBERED: u32 = 10_000;

/// Bytes kept free in a name for the longest name Ferry derives from it:
/// `" (10000)"`, then [`PART_SUFFIX`], then the `.meta` beside a partial file
/// (`name (10000).ext.ferry-part.meta`).
const NAME_HEADROOM: usize = " (10000)".len() + PART_SUFFIX.len() + PART_META_SUFFIX.len();

/// A received name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty, `.` or `..`.
    #[error("the name {0:?} tries to leave the download folder")]
    Traversal(String),
    /// A `/` or `\` inside one component, or a drive letter.
    #[error("the name {0:?} contains a path separator or drive letter")]
    Separator(String),
    /// A NUL byte.
    #[error("a name contains a NUL character")]
    Nul,
    /// Too long.
    #[error("a name is longer than {MAX_NAME_BYTES} bytes")]
    TooLong,
    /// Too deep.
    #[error("a path is deeper than {MAX_PATH_DEPTH} folders")]
    TooDeep,
    /// No components at all.
    #[error("an entry has an empty path")]
    Empty,
}

/// True for the names Windows reserves for devices (`CON`, `COM1`, ...), in
/// any case.
pub fn is_windows_reserved(stem: &str) -> bool {
    let upper = stem.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    // COM0-9 and LPT0-9, and the superscript digits Windows also treats as ports.
    let port = upper
        .strip_prefix("COM")
        .or_else(|| upper.strip_prefix("LPT"));
    let mut digit = port.map(str::chars).into_iter().flatten();
    matches!(
        (digit.next(), digit.next()),
        (Some('0'..='9' | '¹' | '²' | '³'), None)
    )
}

/// Whose file-name rules a received name must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRules {
    /// Linux, macOS and other Unix systems.
    Unix,
    /// Windows: also no `<>:"|?*`, no trailing dots or spaces, no device names.
    Windows,
}

impl NameRules {
    /// The rules of the system this build runs on.
    pub const HOST: NameRules = if cfg!(windows) {
        NameRules::Windows
    } else {
        NameRules::Unix
    };
}

/// Validates one received path component and returns the name to use on disk,
/// under this system's rules (see [`sanitize_component_for`]). Only tests
/// call it now that browser names go through [`clean_component_for`].
#[cfg(test)]
pub fn sanitize_component(raw: &str) -> Result<String, NameError> {
    sanitize_component_for(raw, NameRules::HOST)
}

/// Validates one received path component and returns the name to use on disk.
///
/// Refused: empty, `.`, `..`, separators, drive letters, NUL, over-long.
/// Made safe: control characters become `_`; under Windows rules also the
/// characters it cannot store, trailing dots/spaces and reserved device names.
/// Both rule sets are testable (and fuzzed) on every system.
pub fn sanitize_component_for(raw: &str, rules: NameRules) -> Result<String, NameError> {
    if raw.is_empty() || raw == "." || raw == ".." {
        return Err(NameError::Traversal(raw.to_string()));
    }
    if raw.contains('/') || raw.contains('\\') {
        return Err(NameError::Separator(raw.to_string()));
    }
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(NameError::Separator(raw.to_string()));
    }
    if raw.contains('\0') {
        return Err(NameError::Nul);
    }
    if raw.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong);
    }
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    if rules == NameRules::Windows {
        name = name
            .chars()
            .map(|c| {
                if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        // Shorten first (one byte kept for the "_" below), so what follows
        // judges the name as it will be stored: a cut can leave a trailing
        // dot or space, or leave a device name in front of the first dot.
        name = shorten(&name, MAX_NAME_BYTES - NAME_HEADROOM - 1);
        let trimmed = name.trim_end_matches(['.', ' ']);
        name = if trimmed.is_empty() {
            "_".to_string()
        } else {
            trimmed.to_string()
        };
        // Windows looks for a device name before the first dot, ignoring
        // trailing spaces: "CON.tar.gz" and "con .txt" are CON too.
        let device = name.split('.').next().unwrap_or("").trim_end_matches(' ');
        if is_windows_reserved(device) {
            name.insert(0, '_');
        }
        return Ok(name);
    }
    Ok(shorten(&name, MAX_NAME_BYTES - NAME_HEADROOM))
}

/// Makes the name a person gave one file (a browser upload's file name)
/// storable under `rules`, replacing what cannot be stored instead of
/// refusing it: a browser names a file, never a path, so a `\` or `:` in
/// it is part of the name (legal on Unix, `_` under Windows rules), control
/// characters become `_`, and an over-long name is shortened keeping its
/// extension. Only an empty name, `.` and `..` are refused. The result is
/// one plain component, as [`sanitize_component_for`] would accept it.
pub fn clean_component_for(raw: &str, rules: NameRules) -> Result<String, NameError> {
    if raw.is_empty() || raw == "." || raw == ".." {
        return Err(NameError::Traversal(raw.to_string()));
    }
    let windows = rules == NameRules::Windows;
    let mapped: String = raw
        .chars()
        .map(|c| {
            let unstorable = c.is_control() || c == '/' || (windows && matches!(c, '\\' | ':'));
            if unstorable { '_' } else { c }
        })
        .collect();
    let short = shorten(&mapped, MAX_NAME_BYTES - NAME_HEADROOM);
    if windows {
        // No separator, drive letter or NUL is left, and it is short enough:
        // what remains is Windows' own list (reserved names, trailing dots).
        return sanitize_component_for(&short, rules);
    }
    Ok(short)
}

/// Validates a whole received path and returns it relative to the download
/// folder, under this system's rules.
pub fn sanitize_relative(components: &[String]) -> Result<PathBuf, NameError> {
    sanitize_relative_for(components, NameRules::HOST)
}

/// Validates a whole received path under `rules` and returns it relative to
/// the download folder.
pub fn sanitize_relative_for(
    components: &[String],
    rules: NameRules,
) -> Result<PathBuf, NameError> {
    if components.is_empty() {
        return Err(NameError::Empty);
    }
    if components.len() > MAX_PATH_DEPTH {
        return Err(NameError::TooDeep);
    }
    let mut path = PathBuf::new();
    for raw in components {
        path.push(sanitize_component_for(raw, rules)?);
    }
    // Belt and braces: whatever the rules above let through must be plain names.
    debug_assert!(path.components().all(|c| matches!(c, Component::Normal(_))));
    Ok(path)
}

/// Splits `report.tar.gz` into (`report.tar`, `.gz`); dotfiles have no extension.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(0) | None => (name, ""),
        Some(dot) => (&name[..dot], &name[dot..]),
    }
}

/// Shortens `name` to at most `max` bytes, keeping the extension when it can.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let (stem, ext) = split_extension(name);
    // Keep a short extension, but cut the whole name when there is none to
    // keep or the "stem" is only dots: "..xxxx" must not become ".".
    let (body, ext) = if ext.len() < max / 2 && !stem.trim_start_matches('.').is_empty() {
        (stem, ext)
    } else {
        (name, "")
    };
    // body.len() + ext.len() == name.len() > max, so the cut is inside body.
    let mut cut = max - ext.len();
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{}", &body[..cut], ext)
}

/// The `n`-th alternative of a name: `report.pdf` → `report (n).pdf`, `photos` → `photos (n)`.
pub fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_string();
    }
    let (stem, ext) = split_extension(name);
    format!("{stem} ({n}){ext}")
}

/// The partial-file path belonging to a final path.
pub fn part_path(final_path: &Path) -> PathBuf {
    let mut name = final_path.file_name().unwrap_or_default().to_os_string();
    name.push(PART_SUFFIX);
    final_path.with_file_name(name)
}

/// True if something (file, folder, or dangling symlink) sits at `path`.
pub fn occupied(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// Picks the first of `name`, `name (1)`, … in `dir` for which `free` is true.
pub fn first_free(
    dir: &Path,
    name: &str,
    mut free: impl FnMut(&Path) -> bool,
) -> io::Result<PathBuf> {
    for n in 0..MAX_NUMBERED {
        let candidate = dir.join(numbered(name, n));
        if free(&candidate) {
            return Ok(candidate);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free name for {name:?}"),
    ))
}

/// Creates `root/rel` folder by folder, refusing to pass through anything that
/// is not a real directory (a symlink planted inside the download folder must
/// not carry a write outside it). Returns the full path.
pub fn create_dirs_inside(root: &Path, rel: &Path) -> io::Result<PathBuf> {
    let mut current = root.to_path_buf();
    for component in rel.components() {
        let Component::Normal(name) = component else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "unsafe path component",
            ));
        };
        current.push(name);
        match current.symlink_metadata() {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a folder (or is a link)",
                        current.display()
                    ),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match std::fs::create_dir(&current) {
                Ok(()) => {}
                // Another transfer may have created it a moment ago; re-check it next loop.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if !current.symlink_metadata()?.is_dir() {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_browser_file_name_is_cleaned_not_refused() {
        // Issue 17: legal Linux names were cut at the backslash or refused.
        let unix = NameRules::Unix;
        assert_eq!(
            clean_component_for("notes\\draft v2.txt", unix).as_deref(),
            Ok("notes\\draft v2.txt")
        );
        assert_eq!(
            clean_component_for("a:b.txt", unix).as_deref(),
            Ok("a:b.txt")
        );
        let win = NameRules::Windows;
        assert_eq!(
            clean_component_for("notes\\draft v2.txt", win).as_deref(),
            Ok("notes_draft v2.txt")
        );
        assert_eq!(
            clean_component_for("a:b.txt", win).as_deref(),
            Ok("a_b.txt")
        );
        assert_eq!(
            clean_component_for("CON.txt", win).as_deref(),
            Ok("_CON.txt")
        );
        assert_eq!(
            clean_component_for("a/b\u{0}c", unix).as_deref(),
            Ok("a_b_c")
        );
        // Over-long: shortened, the extension kept, room left for "(n)" and ".ferry-part".
        let long = format!("{}.jpeg", "é".repeat(400));
        for rules in [unix, win] {
            let name = clean_component_for(&long, rules).expect("shortened");
            assert!(name.ends_with("é.jpeg") && name.len() + NAME_HEADROOM <= MAX_NAME_BYTES);
        }
        for bad in ["", ".", ".."] {
            assert!(clean_component_for(bad, unix).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hostile_names_are_refused() {
        for bad in [
            comps(&[".."]),
            comps(&["a", "..", "..", "x"]),
            comps(&["/etc/x"]),
            comps(&["C:\\x"]),
            comps(&["C:"]),
            comps(&["a\\..\\x"]),
            comps(&[""]),
            comps(&["."]),
            comps(&["x\0y"]),
            comps(&[]),
        ] {
            assert!(sanitize_relative(&bad).is_err(), "{bad:?} must be refused");
        }
        let deep = vec!["d".to_string(); MAX_PATH_DEPTH + 1];
        assert_eq!(sanitize_relative(&deep), Err(NameError::TooDeep));
    }

    #[test]
    fn ordinary_names_pass_and_control_characters_are_replaced() {
        let path = sanitize_relative(&comps(&["Fotos 2024", "été ☀.jpg"])).expect("ok");
        assert_eq!(path, PathBuf::from("Fotos 2024").join("été ☀.jpg"));
        assert_eq!(sanitize_component("a\nb\tc").expect("ok"), "a_b_c");
    }

    #[test]
    fn long_names_leave_room_for_suffixes_and_keep_the_extension() {
        let long = format!("{}.pdf", "x".repeat(250));
        let name = sanitize_component(&long).expect("ok");
        assert!(name.len() + NAME_HEADROOM <= MAX_NAME_BYTES);
        assert!(name.ends_with(".pdf"));
        let multibyte = "é".repeat(127);
        assert!(sanitize_component(&multibyte).is_ok());
    }

    /// Regression (found by the `received_name` fuzz property): the longest
    /// sanitised name had no room for the `.meta` beside its partial file once
    /// it was numbered, so the transfer failed with "File name too long".
    #[test]
    fn bug_longest_name_failed_once_numbered() {
        let name = sanitize_component(&format!("{}.pdf", "n".repeat(250))).expect("ok");
        let longest = format!(
            "{}{PART_SUFFIX}{}",
            numbered(&name, MAX_NUMBERED),
            PART_META_SUFFIX
        );
        assert!(longest.len() <= MAX_NAME_BYTES, "{} bytes", longest.len());
    }

    /// Regression (found by the `received_name` fuzz target in seconds:
    /// "CON.txCON.txt"): under Windows rules only the part before the *last*
    /// dot was checked for a device name, but Windows checks the part before
    /// the *first* dot and ignores trailing spaces; and shortening after the
    /// checks could leave a trailing dot or space.
    #[test]
    fn bug_windows_device_names_with_several_dots_passed() {
        let windows = |raw: &str| sanitize_component_for(raw, NameRules::Windows).expect("ok");
        for (raw, safe) in [
            ("CON.txCON.txt", "_CON.txCON.txt"),
            ("con.tar.gz", "_con.tar.gz"),
            ("NUL .txt", "_NUL .txt"),
            ("com1", "_com1"),
            ("LPT¹.log", "_LPT¹.log"),
            ("COM10.txt", "COM10.txt"),
            ("CONSOLE.txt", "CONSOLE.txt"),
            ("report. ", "report"),
        ] {
            assert_eq!(windows(raw), safe, "{raw:?}");
        }
        let cut = windows(&format!("{}. {}", "a".repeat(229), "b".repeat(20)));
        assert!(!cut.ends_with(['.', ' ']), "{cut:?}");
        // Unix keeps all of these as they are.
        assert_eq!(
            sanitize_component_for("CON.txt", NameRules::Unix),
            Ok("CON.txt".into())
        );
    }

    /// Regression (found by the `received_name` fuzz target after ~78,000
    /// executions): shortening a long name that starts with dots cut the
    /// "stem" before its last dot, so "..xxx…" (255 bytes) became "." and
    /// "...xxx…" became "..", a component that climbs out of the folder.
    #[test]
    fn bug_long_names_starting_with_dots_shortened_to_dot_or_dotdot() {
        for rules in [NameRules::Unix, NameRules::Windows] {
            for dots in 1..5 {
                let raw = format!("{}{}", ".".repeat(dots), "x".repeat(250 - dots));
                let name = sanitize_component_for(&raw, rules).expect("ok");
                assert!(name.len() > 100 && name.contains('x'), "{name:?}");
                let path = sanitize_relative_for(std::slice::from_ref(&raw), rules).expect("ok");
                assert!(
                    path.components().all(|c| matches!(c, Component::Normal(_))),
                    "{path:?}"
                );
            }
        }
    }

    #[test]
    fn numbering_keeps_extensions() {
        assert_eq!(numbered("report.pdf", 1), "report (1).pdf");
        assert_eq!(numbered("photos", 2), "photos (2)");
        assert_eq!(numbered(".bashrc", 1), ".bashrc (1)");
        assert_eq!(numbered("a.tar.gz", 1), "a.tar (1).gz");
    }

    #[test]
    fn folders_are_not_created_through_symlinks() {
        let root = tempfile::tempdir().expect("tmp");
        let outside = tempfile::tempdir().expect("tmp");
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).expect("symlink");
        #[cfg(unix)]
        assert!(create_dirs_inside(root.path(), Path::new("link/sub")).is_err());
        let made = create_dirs_inside(root.path(), Path::new("a/b")).expect("create");
        assert!(made.is_dir() && made.starts_with(root.path()));
        assert_eq!(std::fs::read_dir(outside.path()).expect("read").count(), 0);
    }
}
