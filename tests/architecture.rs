//! The floor plan holds: no import cycle among the top-level modules of
//! `src/`, and each floor uses only the floors docs/ARCHITECTURE.md allows
//! (the window imports neither the wire nor the CLI, the engine knows no
//! egui, the wire and the vocabulary import nothing above them, the share
//! server knows no engine). Reads the source as text: a `crate::X` path or a
//! `use crate::{X, ..}` group anywhere in a module's files (comments aside)
//! counts as a dependency on X.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module name of a source file (`src/app/peers.rs` -> `app`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a piece of code names through `crate::`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            if let Some(group) = tail.strip_prefix('{') {
                // `use crate::{a::X, b};`: every first segment in the group.
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.insert(name);
                    }
                }
            } else {
                let name: String = tail
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
            rest = tail;
        }
    }
    found
}

/// Each top-level module and the other top-level modules it uses.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let code = std::fs::read_to_string(&file).expect("read source");
        let uses = deps.entry(module.clone()).or_default();
        for name in crate_refs(&code) {
            if name != module {
                uses.insert(name);
            }
        }
    }
    deps
}

/// Whether `code` uses the external crate `name` (`use name::` or `name::`).
fn uses_crate(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    files
        .into_iter()
        .filter(|file| {
            let code = std::fs::read_to_string(file).expect("read source");
            code.lines().any(|line| {
                let line = line.trim_start();
                !line.starts_with("//")
                    && (line.contains(&format!("use {name}::"))
                        || line.contains(&format!(" {name}::"))
                        || line.contains(&format!("({name}::")))
            })
        })
        .collect()
}

#[test]
fn no_import_cycle_among_top_level_modules() {
    let deps = dependencies();
    // Depth-first search for a back edge, reporting the cycle it closes.
    fn visit(
        node: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in deps.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, deps, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in deps.keys() {
        if let Some(cycle) = visit(module, &deps, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

/// Crossings being removed while the floor plan is rebuilt (issue 13); each
/// one named here is a known debt, and the list only ever shrinks.
const KNOWN_CROSSINGS: &[&str] = &[];

#[test]
fn each_floor_uses_only_the_floors_it_may() {
    let deps = dependencies();
    let forbidden: &[(&str, &[&str])] = &[
        // The vocabulary stands on nothing of ours.
        ("api", &["*"]),
        // Nor do the message catalogs (any face may use them).
        ("i18n", &["*"]),
        // The wire knows only the vocabulary it converts to.
        (
            "protocol",
            &[
                "fs",
                "secure",
                "transfer",
                "discovery",
                "http",
                "engine",
                "diagnose",
                "config",
                "app",
                "cli",
            ],
        ),
        // The window speaks the vocabulary, never the wire or the CLI.
        ("app", &["protocol", "cli", "transfer", "discovery"]),
        ("cli", &["app"]),
        // Nothing below the engine reaches up to it or to the faces.
        ("transfer", &["engine", "app", "cli", "diagnose", "http"]),
        ("discovery", &["engine", "app", "cli", "diagnose", "http"]),
        ("http", &["engine", "app", "cli", "diagnose", "discovery"]),
        (
            "secure",
            &["engine", "app", "cli", "transfer", "discovery", "http"],
        ),
        (
            "fs",
            &[
                "engine",
                "app",
                "cli",
                "transfer",
                "discovery",
                "http",
                "secure",
            ],
        ),
        // LocalSend's wire, server and client: below the engine that runs it.
        ("localsend", &["engine", "app", "cli", "diagnose"]),
        ("engine", &["app", "cli"]),
        ("diagnose", &["app", "cli"]),
    ];
    let mut broken = Vec::new();
    for (module, never) in forbidden {
        let uses = deps.get(*module).cloned().unwrap_or_default();
        for used in &uses {
            let crossing = format!("{module} uses {used}");
            if (never.contains(&"*") || never.contains(&used.as_str()))
                && !KNOWN_CROSSINGS.contains(&crossing.as_str())
            {
                broken.push(crossing);
            }
        }
    }
    assert!(broken.is_empty(), "floors crossed: {broken:?}");
}

#[test]
fn the_engine_and_the_lower_floors_know_no_egui() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for floor in [
        "api",
        "engine",
        "transfer",
        "discovery",
        "http",
        "protocol",
        "secure",
        "fs",
        "i18n",
    ] {
        let users = uses_crate(&src.join(floor), "egui");
        assert!(users.is_empty(), "{floor} uses egui in {users:?}");
        let users = uses_crate(&src.join(floor), "eframe");
        assert!(users.is_empty(), "{floor} uses eframe in {users:?}");
    }
}

#[test]
fn the_reader_finds_what_it_is_looking_for() {
    // The checks above read `crate::` paths; make sure they see them.
    let refs =
        crate_refs("use crate::{api::Event, engine};\nlet x = crate::fs::names::X;\n// crate::app");
    let expected: BTreeSet<String> = ["api", "engine", "fs"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(refs, expected);
    assert!(dependencies().contains_key("engine"), "src/engine is read");
}
