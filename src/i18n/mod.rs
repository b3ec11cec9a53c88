//! The window's words in the person's language: Fluent message catalogs
//! (`assets/i18n/<tag>/ferry.ftl`, embedded in the binary), which of them
//! fits the system's languages, and the lookup behind `tr!`. One language
//! is active for the whole process (the window sets it from its settings);
//! a key missing from its catalog falls back to English, a key missing
//! everywhere shows as itself. Nothing here panics, touches the disk or
//! knows about egui; it imports nothing else of ours.
//!
//! Adding a language is adding its catalog file and one line in
//! [`CATALOGS`]; the test `tests/i18n_catalogs.rs` then insists that it has
//! every key the code uses.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// Every catalog: its language tag (BCP 47) and its text. The first is the
/// fallback for keys another catalog lacks.
pub const CATALOGS: &[(&str, &str)] = &[
    ("en", include_str!("../../assets/i18n/en/ferry.ftl")),
    ("zh-CN", include_str!("../../assets/i18n/zh-CN/ferry.ftl")),
];

/// The message each catalog names its own language with (shown in Settings).
pub const LANGUAGE_NAME_KEY: &str = "language-name";

/// The active catalog, an index into [`CATALOGS`].
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// The parsed catalogs, built on first use.
static BUNDLES: OnceLock<Vec<FluentBundle<FluentResource>>> = OnceLock::new();

/// A value for a message's `{ $name }`: a count (which also picks the plural
/// form) or a text shown as it is (names, sizes already formatted).
#[derive(Debug, Clone)]
pub enum Arg {
    /// A number, its thousands grouped ("1,234"; see [`grouped`]). Pass
    /// numbers that are names, such as ports, as text.
    Number(f64),
    /// Shown as given.
    Text(String),
}

macro_rules! number_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Arg {
                // Counts far below 2^53: exact as f64.
                Arg::Number(n as f64)
            }
        }
    )*};
}
number_args!(usize, u64, u32, u16, i64, i32, f64);

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Arg {
        Arg::Text(s.clone())
    }
}

/// The text of a message in the active language: `tr!("key")`, or with
/// values for its variables, `tr!("key", count = n, name = alias)`. Keys are
/// literals so the catalog test can find every one in the source.
macro_rules! tr {
    ($key:literal) => {
        $crate::i18n::text($key, &[])
    };
    ($key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::i18n::text(
            $key,
            &[$((stringify!($name), $crate::i18n::Arg::from($value))),+],
        )
    };
}
pub(crate) use tr;

fn bundles() -> &'static [FluentBundle<FluentResource>] {
    BUNDLES.get_or_init(|| {
        CATALOGS
            .iter()
            .map(|&(tag, source)| bundle(tag, source))
            .collect()
    })
}

/// One catalog as a bundle. A damaged catalog keeps whatever parsed (and is
/// logged); the test suite makes sure the shipped ones are whole.
fn bundle(tag: &str, source: &str) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = tag.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around values: egui would draw them as boxes.
    bundle.set_use_isolating(false);
    bundle.set_formatter(Some(grouped));
    let resource = FluentResource::try_new(source.to_string()).unwrap_or_else(|(partial, e)| {
        tracing::warn!("the {tag} catalog has {} syntax errors", e.len());
        partial
    });
    if let Err(e) = bundle.add_resource(resource) {
        tracing::warn!("the {tag} catalog has {} errors: {e:?}", e.len());
    }
    bundle
}

/// Writes a whole number of 1,000 or more with its thousands grouped
/// ("250,000 files" reads at a glance where "250000 files" does not);
/// fluent-bundle itself writes digits only. The separator is a comma, which
/// is right for both catalogs (English and Simplified Chinese); a catalog
/// for a language that groups otherwise needs its own rule here. Fractions,
/// numbers asked for without grouping (`NUMBER($n, useGrouping: "false")`)
/// and anything else are left to fluent-bundle. Plural forms are chosen
/// from the number, not from this text.
fn grouped<M>(value: &FluentValue, _intls: &M) -> Option<String> {
    let FluentValue::Number(number) = value else {
        return None;
    };
    let n = number.value;
    let whole = n.fract() == 0.0 && n.abs() >= 1000.0 && n.abs() < 9.0e15;
    if !whole || !number.options.use_grouping || number.options.minimum_fraction_digits.is_some() {
        return None;
    }
    // Exact: a whole number below 2^53.
    let digits = (n.abs() as u64).to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0.0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    Some(out)
}

/// The message `key` in the active language (English when that catalog
/// lacks it, the key itself when every catalog does), with `args` filled in.
pub fn text(key: &str, args: &[(&str, Arg)]) -> String {
    text_in(language(), key, args)
}

/// Like [`text`], in the catalog tagged `tag` (English when there is none).
pub fn text_in(tag: &str, key: &str, args: &[(&str, Arg)]) -> String {
    let bundles = bundles();
    let first = CATALOGS.iter().position(|&(t, _)| t == tag).unwrap_or(0);
    let fluent_args = (!args.is_empty()).then(|| {
        let mut fa = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            match value {
                Arg::Number(n) => fa.set(*name, FluentValue::from(*n)),
                Arg::Text(s) => fa.set(*name, FluentValue::from(s.as_str())),
            }
        }
        fa
    });
    for bundle in [first, 0].iter().filter_map(|&i| bundles.get(i)) {
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            continue;
        };
        let mut errors = Vec::new();
        let out = bundle.format_pattern(pattern, fluent_args.as_ref(), &mut errors);
        if !errors.is_empty() {
            tracing::debug!("message {key}: {errors:?}");
        }
        return out.into_owned();
    }
    tracing::debug!("no message {key} in any catalog");
    key.to_string()
}

/// The active language's tag.
pub fn language() -> &'static str {
    CATALOGS
        .get(ACTIVE.load(Ordering::Relaxed))
        .map_or("en", |&(tag, _)| tag)
}

/// Makes `choice` (a tag from [`CATALOGS`], or `None` for the system's
/// languages) the active language and returns the tag now in use. Unknown
/// tags are negotiated like system languages (`zh` gives `zh-CN`).
pub fn set_language(choice: Option<&str>) -> &'static str {
    let tag = match choice.map(str::trim).filter(|t| !t.is_empty()) {
        Some(tag) => negotiate(&[tag]),
        None => system_language(),
    };
    let index = CATALOGS.iter().position(|&(t, _)| t == tag).unwrap_or(0);
    ACTIVE.store(index, Ordering::Relaxed);
    tag
}

/// The catalog that best fits the system's preferred languages (LANGUAGE,
/// LC_ALL, LC_MESSAGES, LANG on Unix; the user's languages on Windows and
/// macOS); English when none fits.
pub fn system_language() -> &'static str {
    let requested: Vec<String> = sys_locale::get_locales().collect();
    let requested: Vec<&str> = requested.iter().map(String::as_str).collect();
    negotiate(&requested)
}

/// The catalog that best fits `requested` (most wanted first; POSIX forms
/// such as `zh_CN.UTF-8` are understood), English when none does.
pub fn negotiate(requested: &[&str]) -> &'static str {
    let requested: Vec<LanguageIdentifier> = requested
        .iter()
        .filter_map(|r| {
            // zh_CN.UTF-8@euro -> zh-CN; C and POSIX parse as nothing.
            let bare = r.split(['.', '@']).next().unwrap_or("").replace('_', "-");
            bare.parse().ok()
        })
        .collect();
    let available: Vec<LanguageIdentifier> = CATALOGS
        .iter()
        .filter_map(|&(tag, _)| tag.parse().ok())
        .collect();
    let chosen = fluent_langneg::negotiate_languages(
        &requested,
        &available,
        None,
        fluent_langneg::NegotiationStrategy::Lookup,
    );
    chosen
        .first()
        .and_then(|id| {
            let id = id.to_string();
            CATALOGS.iter().find(|&&(tag, _)| tag == id)
        })
        .map_or(CATALOGS[0].0, |&(tag, _)| tag)
}

/// The catalog that best fits an HTTP `Accept-Language` header
/// (`zh-CN,zh;q=0.9,en;q=0.8`): its languages in order of their weight
/// (`q`, 1 when absent; `q=0` means "not this one"), English when none fits
/// or the header is missing or malformed.
pub fn negotiate_accept_language(header: Option<&str>) -> &'static str {
    let mut weighted: Vec<(f32, usize, &str)> = header
        .unwrap_or("")
        .split(',')
        .enumerate()
        .filter_map(|(order, part)| {
            let mut fields = part.split(';').map(str::trim);
            let tag = fields.next().filter(|t| !t.is_empty() && *t != "*")?;
            let q = fields
                .find_map(|f| f.strip_prefix("q="))
                .map_or(Some(1.0), |q| q.parse::<f32>().ok())?;
            (q > 0.0).then_some((q, order, tag))
        })
        .collect();
    // Heavier first; equal weights keep the header's order.
    weighted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let tags: Vec<&str> = weighted.iter().map(|&(_, _, tag)| tag).collect();
    negotiate(&tags)
}

/// Every message whose id starts with `prefix`, as (id without the prefix,
/// text in the catalog `tag`), in the English catalog's order. Variables are
/// left in the text as `{name}` for a consumer that fills them itself (the
/// browser share page's script); the English catalog decides which ids exist.
pub fn messages_with_prefix(tag: &str, prefix: &str) -> Vec<(String, String)> {
    use fluent_syntax::ast::{Entry, Pattern};
    let Ok(resource) = fluent_syntax::parser::parse(CATALOGS[0].1) else {
        return Vec::new();
    };
    resource
        .body
        .iter()
        .filter_map(|entry| match entry {
            Entry::Message(m) => {
                let rest = m.id.name.strip_prefix(prefix)?;
                let mut names = Vec::new();
                if let Some(Pattern { elements }) = &m.value {
                    variables_of(elements, &mut names);
                }
                let args: Vec<(&str, Arg)> = names
                    .iter()
                    .map(|&n| (n, Arg::Text(format!("{{{n}}}"))))
                    .collect();
                Some((rest.to_string(), text_in(tag, m.id.name, &args)))
            }
            _ => None,
        })
        .collect()
}

/// The names of the variables a pattern refers to (`{ $name }`), also
/// inside selectors and their variants.
fn variables_of<'s>(
    elements: &[fluent_syntax::ast::PatternElement<&'s str>],
    out: &mut Vec<&'s str>,
) {
    use fluent_syntax::ast::{Expression, InlineExpression, PatternElement};
    fn inline<'s>(e: &InlineExpression<&'s str>, out: &mut Vec<&'s str>) {
        match e {
            InlineExpression::VariableReference { id } => out.push(id.name),
            InlineExpression::Placeable { expression } => expression_vars(expression, out),
            _ => {}
        }
    }
    fn expression_vars<'s>(e: &Expression<&'s str>, out: &mut Vec<&'s str>) {
        match e {
            Expression::Inline(i) => inline(i, out),
            Expression::Select { selector, variants } => {
                inline(selector, out);
                for v in variants {
                    variables_of(&v.value.elements, out);
                }
            }
        }
    }
    for element in elements {
        if let PatternElement::Placeable { expression } = element {
            expression_vars(expression, out);
        }
    }
}

/// Each catalog's tag and the name of its language in that language
/// ("English", "简体中文"), in [`CATALOGS`] order.
pub fn languages() -> Vec<(&'static str, String)> {
    CATALOGS
        .iter()
        .map(|&(tag, _)| (tag, text_in(tag, LANGUAGE_NAME_KEY, &[])))
        .collect()
}

/// The ids of the messages in a catalog's text, or its syntax errors.
pub fn message_ids(source: &str) -> Result<Vec<String>, String> {
    use fluent_syntax::ast::Entry;
    let resource = fluent_syntax::parser::parse(source)
        .map_err(|(_, errors)| format!("{} syntax errors: {errors:?}", errors.len()))?;
    Ok(resource
        .body
        .iter()
        .filter_map(|entry| match entry {
            Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts of 1,000 and more are grouped in both catalogs, the plural
    /// form still follows the number, and a port passed as text is not.
    #[test]
    fn counts_are_grouped_and_ports_are_not() {
        let count = |tag, n: u64| {
            let size = "3.0 GiB";
            text_in(
                tag,
                "transfers-counting",
                &[("count", Arg::from(n)), ("size", size.into())],
            )
        };
        assert_eq!(
            count("en", 1),
            "Counting the files to send: 1 file, 3.0 GiB so far…"
        );
        assert_eq!(
            count("en", 999),
            "Counting the files to send: 999 files, 3.0 GiB so far…"
        );
        assert_eq!(
            count("en", 250_000),
            "Counting the files to send: 250,000 files, 3.0 GiB so far…"
        );
        assert_eq!(
            count("en", 1_000_000),
            "Counting the files to send: 1,000,000 files, 3.0 GiB so far…"
        );
        assert!(
            count("zh-CN", 1_234_567).contains("1,234,567"),
            "{}",
            count("zh-CN", 1_234_567)
        );
        let port = text_in("en", "status-ready", &[("port", Arg::from("47813"))]);
        assert_eq!(port, "Ready to receive on port 47813");
        let cases = [
            (0.0, None),
            (1000.0, Some("1,000")),
            (-12_345.0, Some("-12,345")),
        ];
        for (n, want) in cases {
            let value = FluentValue::from(n);
            assert_eq!(grouped(&value, &()).as_deref(), want, "{n}");
        }
        assert_eq!(grouped(&FluentValue::from(1234.5), &()), None);
        assert_eq!(grouped(&FluentValue::from("1234"), &()), None);
    }

    #[test]
    fn system_locales_pick_a_catalog() {
        assert_eq!(negotiate(&["zh_CN.UTF-8"]), "zh-CN");
        assert_eq!(negotiate(&["zh-Hans-CN"]), "zh-CN");
        assert_eq!(negotiate(&["zh"]), "zh-CN");
        assert_eq!(negotiate(&["zh-Hans"]), "zh-CN");
        assert_eq!(negotiate(&["zh_SG.UTF-8"]), "zh-CN");
        // The closest catalog there is for Traditional Chinese readers.
        assert_eq!(negotiate(&["zh_TW.UTF-8"]), "zh-CN");
        assert_eq!(negotiate(&["zh_HK"]), "zh-CN");
        assert_eq!(negotiate(&["en_GB.UTF-8"]), "en");
        assert_eq!(negotiate(&["fr_FR", "zh_CN"]), "zh-CN");
        assert_eq!(negotiate(&["de_DE.UTF-8"]), "en");
        assert_eq!(negotiate(&["C"]), "en");
        assert_eq!(negotiate(&["POSIX", ""]), "en");
        assert_eq!(negotiate(&[]), "en");
    }

    #[test]
    fn accept_language_headers_pick_a_catalog() {
        for (header, want) in [
            (Some("zh-CN,zh;q=0.9,en;q=0.8"), "zh-CN"),
            (Some("zh"), "zh-CN"),
            (Some("zh-Hans"), "zh-CN"),
            (Some("zh-TW"), "zh-CN"),
            (Some("en-US,en;q=0.9"), "en"),
            (Some("fr-FR, zh;q=0.5"), "zh-CN"),
            (Some("en;q=0.2, zh-CN;q=0.8"), "zh-CN"),
            (Some("zh;q=0, en"), "en"),
            (Some("de-DE"), "en"),
            (Some("*"), "en"),
            (Some(";;,q=,"), "en"),
            (Some("zh;q=abc"), "en"),
            (None, "en"),
        ] {
            assert_eq!(negotiate_accept_language(header), want, "{header:?}");
        }
    }

    #[test]
    fn prefixed_messages_keep_their_variables_as_placeholders() {
        let en = messages_with_prefix("en", "language-");
        assert_eq!(en, [("name".to_string(), "English".to_string())]);
        let zh = messages_with_prefix("zh-CN", "language-");
        assert_eq!(zh[0].1, "简体中文");
    }

    #[test]
    fn a_missing_key_falls_back_and_never_panics() {
        assert_eq!(text_in("zh-CN", "no-such-key", &[]), "no-such-key");
        assert_eq!(text_in("xx", LANGUAGE_NAME_KEY, &[]), "English");
        assert_eq!(text_in("zh-CN", LANGUAGE_NAME_KEY, &[]), "简体中文");
    }
}
