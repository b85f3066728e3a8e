//! The floors of chat-core, checked: each module imports only the modules on the floors
//! below it (docs/architecture.md draws them). A lower module never reaches up into
//! `engine/` or `client/`, so the sans-I/O machines stay testable on their own and a
//! newcomer finds one home for each kind of code.
//!
//! The check reads the sources: every `crate::<module>` path outside comments, per
//! top-level module. Grouped paths (`use crate::{a, b}`) are refused so that every
//! dependency is visible to it (and to a reader) as one `crate::<module>` path.

use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may import, from the ground floor up.
const FLOORS: &[(&str, &[&str])] = &[
    // Ground floor: no chat semantics.
    ("rt", &[]),
    ("clock", &[]),
    ("backoff", &[]),
    ("net", &["rt"]),
    // The cache and the sans-I/O machines.
    ("cache", &[]),
    ("outbox", &["backoff", "clock", "net"]),
    ("sync", &["backoff", "clock"]),
    ("realtime", &["backoff", "clock"]),
    ("live", &["backoff", "cache", "clock", "outbox"]),
    // The imperative shell, then the app's facade.
    (
        "engine",
        &[
            "backoff", "cache", "client", "clock", "live", "net", "outbox", "realtime", "rt",
            "sync",
        ],
    ),
    (
        "client",
        &[
            "backoff", "cache", "clock", "engine", "live", "net", "outbox", "realtime", "rt",
            "sync",
        ],
    ),
];

/// What the engine may take from the facade: the leaf files of `client/` that hold the
/// value types an app hands in or gets back (errors, tokens, a new message), none of
/// which imports the engine. Never `client/mod.rs` itself (that would be a circle).
const ENGINE_FROM_CLIENT: &[&str] = &["error", "token", "message", "search"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The Rust files of a top-level module (`name.rs` or the folder `name/`).
fn files(module: &str) -> Vec<PathBuf> {
    let file = src().join(format!("{module}.rs"));
    if file.exists() {
        return vec![file];
    }
    let mut out = Vec::new();
    let mut dirs = vec![src().join(module)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

/// Every `crate::<module>::<rest>` in the code of `text` (comments skipped), as
/// `(line number, module, the names taken from it)`: the path's next segment, or each
/// name of a `crate::<module>::{…}` group.
fn crate_paths(text: &str) -> Vec<(usize, String, Vec<String>)> {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let line = code[..at].matches('\n').count() + 1;
        let after = &code[at + "crate::".len()..];
        let path = after
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{'))
            .next()
            .unwrap_or_default();
        let (module, tail) = path.split_once("::").unwrap_or((path, ""));
        let names = if tail.starts_with('{') {
            let group = &after[module.len() + "::{".len()..];
            let inner = group.split('}').next().unwrap_or_default();
            inner
                .split(',')
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
                .collect()
        } else {
            vec![tail.split("::").next().unwrap_or_default().to_owned()]
        };
        out.push((line, module.to_owned(), names));
    }
    out
}

#[test]
fn every_module_imports_only_the_floors_below_it() {
    let known: Vec<&str> = FLOORS.iter().map(|(m, _)| *m).collect();
    let mut wrong = Vec::new();
    for (module, allowed) in FLOORS {
        for file in files(module) {
            let text = std::fs::read_to_string(&file).unwrap();
            let shown = file.strip_prefix(src()).unwrap().display().to_string();
            for (line, target, names) in crate_paths(&text) {
                if target.starts_with('{') {
                    wrong.push(format!("{shown}:{line}: a grouped `crate::{{…}}` path"));
                } else if target == *module {
                    continue;
                } else if !known.contains(&target.as_str()) {
                    wrong.push(format!(
                        "{shown}:{line}: `crate::{target}` is not on a floor"
                    ));
                } else if !allowed.contains(&target.as_str()) {
                    wrong.push(format!("{shown}:{line}: {module} imports {target} (up)"));
                } else if *module == "engine" && target == "client" {
                    for name in names
                        .iter()
                        .filter(|n| !ENGINE_FROM_CLIENT.contains(&n.as_str()))
                    {
                        wrong.push(format!("{shown}:{line}: the engine takes `client::{name}`"));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the floors:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_sees_imports_and_skips_comments() {
    let text = "use crate::cache::Cache; // crate::engine\n/// [`x`](crate::client::X)\n\
                use crate::outbox::{\n    A,\n    B,\n};\nuse crate::{a, b};";
    let found = crate_paths(text);
    let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        found,
        [
            (1, "cache".to_owned(), names(&["Cache"])),
            (3, "outbox".to_owned(), names(&["A", "B"])),
            (7, "{a".to_owned(), names(&[""])),
        ]
    );
}
