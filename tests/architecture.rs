//! Architecture guard: the folders under `src/` are layers, and this file is the table of
//! which layer may import which. Imports are read from the source (`use crate::…` lines,
//! braced groups and inline `crate::x::` paths), so a pure module that reaches into the shell
//! fails here, not in review. Pure layers are also checked for IO and clock reads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Who may import whom: a module under `src/<layer>/` may name `crate::<target>` only for the
/// targets listed. `shell` and the binary may use everything.
const ALLOWED: &[(&str, &[&str])] = &[
    // Pure: the runbook model, time, engine, monitor, events.
    ("core", &["core"]),
    // Reading files into core types.
    ("config", &["core", "config"]),
    // State, keys, rendering and event text: functions of core state and config.
    ("screen", &["core", "config", "screen"]),
    // Protocol clients: core types in, samples out; secrets are the shell's (they come from
    // the environment and are redacted there).
    ("readers", &["core", "readers", "shell::secret"]),
    ("shell", &["core", "config", "screen", "readers", "shell"]),
];

/// Text that pure layers must not contain: IO, processes, sockets, terminals, clocks.
const IMPURE: &[&str] = &[
    "tokio::",
    "crossterm::",
    "reqwest::",
    "tokio_postgres::",
    "Instant::now",
    "SystemTime::now",
    "Utc::now",
    "std::process",
    "std::net",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its comments (doc comments mention other layers freely).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::…` path a file names, as `layer` or `layer::module` (both are recorded, so
/// a rule can allow a whole layer or one module of it).
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let code = code(text);
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c};`: the first segment of each item.
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let path: Vec<&str> = item.trim().split("::").collect();
                push(&mut out, &path);
            }
            continue;
        }
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let path: Vec<&str> = ident.split("::").filter(|s| !s.is_empty()).collect();
        push(&mut out, &path);
    }
    out
}

fn push(out: &mut BTreeSet<String>, path: &[&str]) {
    if let Some(first) = path.first().filter(|f| !f.is_empty()) {
        out.insert(first.to_string());
        if let Some(second) = path.get(1) {
            out.insert(format!("{first}::{second}"));
        }
    }
}

fn layer_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    first
        .strip_suffix(".rs")
        .map_or(Some(first.to_string()), |_| None)
}

#[test]
fn every_layer_imports_only_what_the_table_allows() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for f in &files {
        let Some(layer) = layer_of(f) else { continue };
        let allowed = ALLOWED
            .iter()
            .find(|(l, _)| *l == layer)
            .unwrap_or_else(|| panic!("{}: layer `{layer}` is not in the table", f.display()))
            .1;
        let text = std::fs::read_to_string(f).unwrap();
        // Unit tests inside a layer may load a runbook from YAML to test with.
        let test_file = f.file_stem().is_some_and(|s| s == "tests")
            || f.components().any(|c| c.as_os_str() == "tests");
        for imp in imports(&text) {
            if test_file && imp == "config" {
                continue;
            }
            if imp.contains("::") {
                continue; // judged by its layer, or allowed by name below
            }
            let ok = allowed.contains(&imp.as_str())
                || allowed
                    .iter()
                    .any(|a| a.starts_with(&format!("{imp}::")) && modules_of(&text, &imp, a));
            if !ok {
                wrong.push(format!("{} ({layer}) uses crate::{imp}", f.display()));
            }
        }
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} files checked");
    assert!(
        wrong.is_empty(),
        "imports across layers:\n{}",
        wrong.join("\n")
    );
}

/// True when every `crate::layer::…` path in `text` is `allowed` (e.g. `shell::secret`).
fn modules_of(text: &str, layer: &str, allowed: &str) -> bool {
    imports(text)
        .iter()
        .filter(|i| i.starts_with(&format!("{layer}::")))
        .all(|i| i == allowed)
}

#[test]
fn the_table_catches_a_pure_module_importing_the_shell() {
    // The guard itself must be able to fail.
    let text = "use crate::core::time::Ms;\nuse crate::{shell::journal, core};\nfn f() { crate::readers::x(); }\n// crate::screen in a comment\n";
    let got: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(
        got,
        [
            "core",
            "core::time",
            "readers",
            "readers::x",
            "shell",
            "shell::journal"
        ]
    );
}

#[test]
fn pure_layers_do_no_io_and_read_no_clock() {
    let mut files = Vec::new();
    for pure in ["core", "config", "screen"] {
        sources(&src().join(pure), &mut files);
    }
    assert!(files.len() >= 40, "found {files:?}");
    for f in &files {
        let text = code(&std::fs::read_to_string(f).unwrap());
        for b in IMPURE {
            assert!(
                !text.contains(b),
                "{} uses `{b}`: pure layers take time, keys and effects from the shell",
                f.display()
            );
        }
    }
}

#[test]
fn every_module_says_what_it_owns() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} lacks a //! header",
            f.display()
        );
    }
}
