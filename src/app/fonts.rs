//! Fonts for names egui's built-in fonts cannot draw (CJK first, then Arabic,
//! Hebrew, Devanagari and Thai): an index of the system's fonts, built by
//! metadata on a named thread at window start, and an egui font provider that
//! loads one face from it the first time a character needs it and appends that
//! face as a fallback (after egui's defaults) to both the proportional and the
//! monospace families. Also the check a drawing site makes for a name no font
//! covers ([`covers`], [`readable`], [`on_hover_readable`]). It owns no window
//! state and must not read font files at start: only the index's metadata
//! pass touches every file, and a face's data is read only when a name on
//! screen needs it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use crossbeam_channel::Receiver;
use egui::epaint::text::{FallbackRequest, FontProvider};
use egui::{FontData, FontFamily, FontId, FontInsert, FontPriority, InsertFontFamily};
use fontdb::{Database, Family, ID, Query};
use skrifa::MetadataProvider as _;

/// A script egui's built-in fonts lack, and the families that draw it, best
/// first: Linux (Noto, WenQuanYi, Droid, DejaVu), Windows, macOS. Only the
/// installed ones are found; the first that has the character wins.
struct Script {
    name: &'static str,
    ranges: &'static [(u32, u32)],
    families: &'static [&'static str],
}

const SCRIPTS: &[Script] = &[
    Script {
        name: "CJK",
        ranges: &[
            (0x1100, 0x11FF),   // Hangul Jamo
            (0x2E80, 0x9FFF),   // radicals, punctuation, kana, Hangul compat, Han
            (0xA960, 0xA97F),   // Hangul Jamo extended A
            (0xAC00, 0xD7FF),   // Hangul syllables, Jamo extended B
            (0xF900, 0xFAFF),   // Han compatibility
            (0xFE30, 0xFE4F),   // CJK compatibility forms
            (0xFF00, 0xFFEF),   // half- and full-width forms
            (0x20000, 0x3FFFF), // Han extensions B and later
        ],
        families: &[
            "Noto Sans CJK SC",
            "Noto Sans CJK",
            "Source Han Sans SC",
            "WenQuanYi Micro Hei",
            "WenQuanYi Zen Hei",
            "Droid Sans Fallback",
            "Microsoft YaHei",
            "Microsoft YaHei UI",
            "Yu Gothic",
            "Yu Gothic UI",
            "Malgun Gothic",
            "PingFang SC",
            "Hiragino Sans",
            "Hiragino Sans GB",
            "Apple SD Gothic Neo",
            "Noto Sans CJK KR",
            "NanumGothic",
        ],
    },
    Script {
        name: "Arabic",
        ranges: &[
            (0x0600, 0x06FF),
            (0x0750, 0x077F),
            (0x08A0, 0x08FF),
            (0xFB50, 0xFDFF),
            (0xFE70, 0xFEFF),
        ],
        families: &[
            "Noto Sans Arabic",
            "Noto Sans Arabic UI",
            "Noto Naskh Arabic",
            "DejaVu Sans",
            "Segoe UI",
            "Tahoma",
            "Geeza Pro",
            "Arial",
        ],
    },
    Script {
        name: "Hebrew",
        ranges: &[(0x0590, 0x05FF), (0xFB1D, 0xFB4F)],
        families: &[
            "Noto Sans Hebrew",
            "DejaVu Sans",
            "Segoe UI",
            "Arial Hebrew",
            "Arial",
        ],
    },
    Script {
        name: "Devanagari",
        ranges: &[(0x0900, 0x097F), (0xA8E0, 0xA8FF)],
        families: &[
            "Noto Sans Devanagari",
            "Lohit Devanagari",
            "Nirmala UI",
            "Mangal",
            "Kohinoor Devanagari",
            "Devanagari Sangam MN",
        ],
    },
    Script {
        name: "Thai",
        ranges: &[(0x0E00, 0x0E7F)],
        families: &[
            "Noto Sans Thai",
            "Noto Sans Thai UI",
            "Loma",
            "Leelawadee UI",
            "Tahoma",
            "Thonburi",
        ],
    },
];

/// The script of `c` among [`SCRIPTS`], if any.
fn script_of(c: char) -> Option<&'static Script> {
    let c = u32::from(c);
    SCRIPTS
        .iter()
        .find(|s| s.ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)))
}

/// Starts indexing the system's fonts on a named thread and hands egui the
/// provider that loads faces from that index when a character needs one.
/// Returns at once; the first character that asks before the index is ready
/// waits for it.
pub fn install(ctx: &egui::Context) {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let spawned = thread::Builder::new()
        .name("ferry-fonts".into())
        .spawn(move || {
            let _ = tx.send(index());
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the font index thread ({e}); indexing when needed");
    }
    ctx.add_font_provider(Arc::new(SystemFonts::new(Some(rx))));
}

/// Like [`install`] but indexes on this thread before returning (tests and
/// measurements).
pub fn install_now(ctx: &egui::Context) {
    let provider = SystemFonts::new(None);
    if let Ok(mut state) = provider.state.lock() {
        state.database();
    }
    ctx.add_font_provider(Arc::new(provider));
}

/// The system's fonts by metadata (family names, style, weight, file and
/// face index): fontdb maps each file and reads its naming tables, not its
/// glyphs.
pub fn index() -> Database {
    let started = Instant::now();
    let mut db = Database::new();
    db.load_system_fonts();
    tracing::debug!(
        faces = db.len(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "font index built"
    );
    db
}

/// Loads faces from the index on demand (an egui [`FontProvider`]).
pub struct SystemFonts {
    state: Mutex<State>,
}

struct State {
    /// The index while it is being built elsewhere.
    pending: Option<Receiver<Database>>,
    db: Option<Database>,
    /// Faces handed to egui, by their font name.
    given: HashSet<String>,
    /// Characters no face was found for (egui asks once per family).
    missed: HashSet<char>,
    /// Per script: the result of the one search through every face.
    scanned: HashMap<&'static str, Option<ID>>,
}

impl SystemFonts {
    fn new(pending: Option<Receiver<Database>>) -> SystemFonts {
        SystemFonts {
            state: Mutex::new(State {
                pending,
                db: None,
                given: HashSet::new(),
                missed: HashSet::new(),
                scanned: HashMap::new(),
            }),
        }
    }
}

impl FontProvider for SystemFonts {
    fn font_for(&self, request: &FallbackRequest<'_>) -> Option<FontInsert> {
        let c = request.cluster.chars().next()?;
        let mut state = self.state.lock().ok()?;
        state.font_for(c)
    }
}

impl State {
    fn database(&mut self) -> &Database {
        if self.db.is_none() {
            let db = match self.pending.take() {
                Some(rx) => rx.recv().unwrap_or_else(|_| index()),
                None => index(),
            };
            self.db = Some(db);
        }
        self.db.get_or_insert_with(Database::new)
    }

    fn font_for(&mut self, c: char) -> Option<FontInsert> {
        if c.is_control() || c.is_whitespace() || self.missed.contains(&c) {
            return None;
        }
        let Some(script) = script_of(c) else {
            self.missed.insert(c);
            return None;
        };
        let found = self
            .named(script, c)
            .or_else(|| self.scan(script, c))
            .and_then(|id| self.load(id, script));
        if found.is_none() {
            self.missed.insert(c);
        }
        found
    }

    /// The first of the script's known families, not yet given, that has `c`.
    fn named(&mut self, script: &Script, c: char) -> Option<ID> {
        let given = self.given.clone();
        let db = self.database();
        script.families.iter().find_map(|&name| {
            let id = db.query(&Query {
                families: &[Family::Name(name)],
                ..Query::default()
            })?;
            let fresh = db.face(id).is_some_and(|f| !given.contains(&font_name(f)));
            (fresh && has_char(db, id, c)).then_some(id)
        })
    }

    /// Once per script, when none of its known families is installed: the
    /// first regular face that has `c`.
    fn scan(&mut self, script: &'static Script, c: char) -> Option<ID> {
        if let Some(done) = self.scanned.get(script.name) {
            return *done;
        }
        let db = self.database();
        let found = db
            .faces()
            .filter(|f| f.style == fontdb::Style::Normal && f.weight == fontdb::Weight::NORMAL)
            .map(|f| f.id)
            .find(|&id| has_char(db, id, c));
        self.scanned.insert(script.name, found);
        found
    }

    /// Reads the face's file and wraps it for egui.
    fn load(&mut self, id: ID, script: &Script) -> Option<FontInsert> {
        let started = Instant::now();
        let db = self.database();
        let name = font_name(db.face(id)?);
        let (bytes, index) = db.with_face_data(id, |data, index| (data.to_vec(), index))?;
        tracing::debug!(
            font = %name,
            script = script.name,
            bytes = bytes.len(),
            ms = started.elapsed().as_secs_f64() * 1e3,
            "fallback font loaded"
        );
        self.given.insert(name.clone());
        let mut data = FontData::from_owned(bytes);
        data.index = index;
        Some(FontInsert::new(
            &name,
            data,
            [FontFamily::Proportional, FontFamily::Monospace]
                .into_iter()
                .map(|family| InsertFontFamily {
                    family,
                    priority: FontPriority::Lowest,
                })
                .collect(),
        ))
    }
}

/// egui's name for a system face.
fn font_name(face: &fontdb::FaceInfo) -> String {
    format!("system:{}#{}", face.post_script_name, face.index)
}

/// Whether the face's character map has `c`.
fn has_char(db: &Database, id: ID, c: char) -> bool {
    db.with_face_data(id, |data, index| {
        skrifa::FontRef::from_index(data, index).is_ok_and(|f| f.charmap().map(c).is_some())
    })
    .unwrap_or(false)
}

/// The font Ferry draws names with.
fn name_font() -> FontId {
    FontId::proportional(14.5)
}

/// Whether the window's fonts have a glyph for every character of `text`
/// (asking the system fonts for what egui's own lack). Call during a frame.
pub fn covers(ctx: &egui::Context, text: &str) -> bool {
    let font = name_font();
    ctx.fonts_mut(|f| {
        text.chars()
            .all(|c| c.is_control() || c.is_whitespace() || f.has_glyph(&font, c))
    })
}

/// `None` when [`covers`] holds; otherwise `name` with every character no
/// font has written as `\u{7167}`, so it can still be read (as hover text).
pub fn readable(ctx: &egui::Context, name: &str) -> Option<String> {
    let font = name_font();
    ctx.fonts_mut(|f| {
        let mut missing = false;
        let escaped: String = name
            .chars()
            .map(|c| {
                if c.is_whitespace() || f.has_glyph(&font, c) {
                    c.to_string()
                } else {
                    missing = true;
                    c.escape_unicode().to_string()
                }
            })
            .collect();
        missing.then_some(escaped)
    })
}

/// `response` with the [`readable`] form of `name` as hover text when some of
/// its characters cannot be drawn. For the places a peer's name or a file
/// name is shown.
pub fn on_hover_readable(response: egui::Response, name: &str) -> egui::Response {
    match readable(&response.ctx, name) {
        Some(escaped) => response.on_hover_text(escaped),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_found_by_range() {
        assert_eq!(script_of('照').map(|s| s.name), Some("CJK"));
        assert_eq!(script_of('한').map(|s| s.name), Some("CJK"));
        assert_eq!(script_of('カ').map(|s| s.name), Some("CJK"));
        assert_eq!(script_of('م').map(|s| s.name), Some("Arabic"));
        assert_eq!(script_of('ש').map(|s| s.name), Some("Hebrew"));
        assert_eq!(script_of('क').map(|s| s.name), Some("Devanagari"));
        assert_eq!(script_of('ก').map(|s| s.name), Some("Thai"));
        assert!(script_of('a').is_none());
    }

    #[test]
    fn a_name_no_font_has_reads_as_escapes() {
        // A bare context with no provider: egui's fonts lack Han.
        let ctx = egui::Context::default();
        let mut seen = None;
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            seen = Some((
                readable(ui.ctx(), "照片 a.txt"),
                readable(ui.ctx(), "plain.txt"),
                covers(ui.ctx(), "plain.txt"),
            ));
        });
        output.textures_delta.clear();
        let (cjk, plain, covered) = seen.expect("ran one frame");
        assert_eq!(cjk.as_deref(), Some("\\u{7167}\\u{7247} a.txt"));
        assert_eq!(plain, None);
        assert!(covered);
    }
}
