//! The message catalogs match the code (issue 19): every key the code asks
//! for through `tr!` is in every catalog, every catalog message is used by
//! the code, every catalog file under assets/i18n is registered (and every
//! registered one exists), each message uses only the variables the code
//! passes to it, and plural forms come out right. Reads src/ and assets/ as
//! text, like tests/architecture.rs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ferry::i18n::{self, Arg, CATALOGS, LANGUAGE_NAME_KEY};

/// The ids of the browser share page's sentences.
const PAGE_PREFIX: &str = "share-page-";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text of one `tr!( ... )` call starting right after `tr!(`, up to its
/// closing parenthesis (string literals and nested calls skipped).
fn call_body(rest: &str) -> &str {
    let mut depth = 1;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '(' | '[' | '{' if !in_string => depth += 1,
            ')' | ']' | '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return &rest[..i];
                }
            }
            _ => {}
        }
    }
    rest
}

/// The names given to a call's variables: `name = value` at the top level.
fn arg_names(body: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut piece = String::new();
    let mut pieces = Vec::new();
    for c in body.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '(' | '[' | '{' if !in_string => depth += 1,
            ')' | ']' | '}' if !in_string => depth -= 1,
            ',' if !in_string && depth == 0 => {
                pieces.push(std::mem::take(&mut piece));
                continue;
            }
            _ => {}
        }
        piece.push(c);
    }
    pieces.push(piece);
    for piece in pieces.iter().skip(1) {
        if let Some((name, _)) = piece.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                names.insert(name.to_string());
            }
        }
    }
    names
}

/// Every key the code asks for, with the variable names passed along and
/// where it is asked. Panics on a `tr!` whose key is not a literal.
fn used_keys() -> BTreeMap<String, (BTreeSet<String>, String)> {
    let files = walkdir::WalkDir::new(root().join("src"))
        .into_iter()
        .map(|e| e.expect("read src").into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"));
    let mut used: BTreeMap<String, (BTreeSet<String>, String)> = BTreeMap::new();
    for file in files {
        let code = std::fs::read_to_string(&file).expect("read source");
        // Comments (docs that show the macro) are not calls.
        let code: String = code
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut rest = code.as_str();
        while let Some(at) = rest.find("tr!(") {
            let after = &rest[at + "tr!(".len()..];
            // `include_str!(` is not `tr!(`.
            let whole_word = !rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let body = call_body(after);
            let literal = body.trim_start();
            // The macro's own definition names its pattern, not a key.
            if whole_word && !literal.starts_with("$key") {
                let key = literal
                    .strip_prefix('"')
                    .and_then(|k| k.split('"').next())
                    .unwrap_or_else(|| {
                        panic!(
                            "{}: tr! with a key that is not a literal: {body}",
                            file.display()
                        )
                    });
                let place = file
                    .strip_prefix(root())
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                let entry = used
                    .entry(key.to_string())
                    .or_insert((BTreeSet::new(), place));
                entry.0.extend(arg_names(body));
            }
            rest = after;
        }
    }
    used
}

/// Each message's variables (`{ $name }`), by id, read from the catalog text.
fn variables(source: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut vars: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        if line.starts_with('#') {
            current = None;
            continue;
        }
        if let Some((id, _)) = line.split_once(" =")
            && !line.starts_with(' ')
            && !id.is_empty()
        {
            current = Some(id.to_string());
            vars.entry(id.to_string()).or_default();
        }
        let Some(id) = &current else { continue };
        let mut rest = line;
        while let Some(at) = rest.find('$') {
            let name: String = rest[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            vars.entry(id.clone()).or_default().insert(name);
            rest = &rest[at + 1..];
        }
    }
    vars
}

/// The catalog files on disk, by language tag (the folder's name).
fn catalog_files() -> BTreeMap<String, String> {
    let dir = root().join("assets/i18n");
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("assets/i18n") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            let tag = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let file = path.join("ferry.ftl");
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            found.insert(tag, text);
        }
    }
    found
}

#[test]
fn every_catalog_on_disk_is_registered_and_embedded_as_is() {
    let files = catalog_files();
    let registered: BTreeMap<String, &str> = CATALOGS
        .iter()
        .map(|&(tag, text)| (tag.to_string(), text))
        .collect();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        registered.keys().collect::<Vec<_>>(),
        "each assets/i18n/<tag>/ferry.ftl needs its line in ferry::i18n::CATALOGS and back"
    );
    for (tag, text) in &files {
        assert_eq!(
            registered[tag],
            text.as_str(),
            "{tag}: the embedded text is the file's"
        );
    }
    assert_eq!(
        CATALOGS[0].0, "en",
        "English comes first: it is the fallback"
    );
}

#[test]
fn every_key_the_code_uses_is_in_every_catalog_and_no_catalog_has_extra_keys() {
    let mut used = used_keys();
    assert!(used.len() > 100, "the scan found only {} keys", used.len());
    // The browser share page asks for its sentences by name from its script
    // and from src/http/page.rs (whose unit test checks each one exists);
    // it gets every `share-page-*` message of the English catalog, so each
    // of those counts as used, with English's variables, and every other
    // catalog must have exactly them.
    let english = &catalog_files()["en"];
    let english_vars = variables(english);
    for id in i18n::message_ids(english).expect("en parses") {
        if id.starts_with(PAGE_PREFIX) {
            let vars = english_vars.get(&id).cloned().unwrap_or_default();
            used.insert(id, (vars, "src/http/page.html".to_string()));
        }
    }
    let mut problems = Vec::new();
    for (tag, text) in catalog_files() {
        let ids = i18n::message_ids(&text).unwrap_or_else(|e| panic!("{tag}: {e}"));
        let mut seen = BTreeSet::new();
        for id in &ids {
            if !seen.insert(id) {
                problems.push(format!("{tag}: {id} is defined twice"));
            }
        }
        for (key, (_, place)) in &used {
            if !seen.contains(key) {
                problems.push(format!("{tag}: missing {key} (used in {place})"));
            }
        }
        for id in &seen {
            if !used.contains_key(*id) && id.as_str() != LANGUAGE_NAME_KEY {
                problems.push(format!("{tag}: {id} is used by no code"));
            }
        }
        for (id, vars) in variables(&text) {
            let passed = used
                .get(&id)
                .map(|(args, _)| args.clone())
                .unwrap_or_default();
            for var in vars.difference(&passed) {
                problems.push(format!(
                    "{tag}: {id} uses ${var}, which the code never passes"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "catalogs and code disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_scanner_reads_keys_and_variable_names() {
    let body = call_body(r#""offer-title-files", name = f(a, b), count = n.len()) + 1"#);
    assert_eq!(
        body,
        r#""offer-title-files", name = f(a, b), count = n.len()"#
    );
    let names: Vec<String> = arg_names(body).into_iter().collect();
    assert_eq!(names, ["count", "name"]);
    let vars = variables("a = x { $one ->\n    [one] { $two }\n   *[other] y\n}\n# c $no\nb = z\n");
    assert_eq!(
        vars["a"],
        BTreeSet::from(["one".to_string(), "two".to_string()])
    );
    assert!(vars["b"].is_empty());
}

fn files(tag: &str, count: u32) -> String {
    i18n::text_in(
        tag,
        "offer-title-files",
        &[("name", Arg::from("Laptop")), ("count", Arg::from(count))],
    )
}

#[test]
fn plurals_come_from_the_catalog() {
    assert_eq!(files("en", 1), "Laptop wants to send you 1 file");
    assert_eq!(files("en", 2), "Laptop wants to send you 2 files");
    assert_eq!(files("en", 0), "Laptop wants to send you 0 files");
    assert_eq!(files("zh-CN", 1), "Laptop 想给你发送 1 个文件");
    assert_eq!(files("zh-CN", 2), "Laptop 想给你发送 2 个文件");
    let upload = |tag: &str, count: usize| {
        i18n::text_in(
            tag,
            "upload-title",
            &[
                ("address", Arg::from("10.0.0.2")),
                ("count", Arg::from(count)),
            ],
        )
    };
    assert_eq!(
        upload("en", 0),
        "A browser at 10.0.0.2 wants to send you files"
    );
    assert_eq!(
        upload("en", 1),
        "A browser at 10.0.0.2 wants to send you 1 file"
    );
    assert_eq!(upload("zh-CN", 0), "地址为 10.0.0.2 的浏览器想给你发送文件");
    assert_eq!(
        upload("zh-CN", 3),
        "地址为 10.0.0.2 的浏览器想给你发送 3 个文件"
    );
    let days = |n: u64| i18n::text_in("en", "time-days-ago", &[("count", Arg::from(n))]);
    assert_eq!(days(2), "2 days ago");
}

#[test]
fn values_are_shown_without_isolation_marks() {
    // Fluent wraps values in U+2068/U+2069 by default; egui would draw boxes.
    let text = i18n::text_in("zh-CN", "message-from", &[("name", Arg::from("桌面电脑"))]);
    assert_eq!(text, "来自 桌面电脑 的消息");
}
