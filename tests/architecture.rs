//! Architecture guard: the pure modules (runbook, engine, monitor) must not do IO or read
//! time themselves; only the runtime, executor, journal and session modules may.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn pure_modules_do_no_io_and_read_no_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for pure in ["engine", "runbook", "monitor"] {
        sources(&root.join(pure), &mut files);
    }
    assert!(files.len() >= 10, "found {files:?}");
    let banned = [
        "tokio::",
        "crossterm::",
        "Instant::now",
        "SystemTime::now",
        "Utc::now",
        "std::process",
        "std::net",
    ];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for b in banned {
            // The loader may read the runbook file; that is its job, so only `fs` is allowed.
            assert!(
                !text.contains(b),
                "{} uses `{b}`: pure modules take time and effects from the runtime",
                f.display()
            );
        }
    }
}

#[test]
fn screen_code_reads_no_clock_and_does_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![
        root.join("app.rs"),
        root.join("keymap.rs"),
        root.join("theme.rs"),
    ];
    sources(&root.join("ui"), &mut files);
    sources(&root.join("app"), &mut files);
    // Render and key handling are functions of state; time arrives as `now`.
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for b in [
            "tokio::",
            "Instant::now",
            "SystemTime::now",
            "Utc::now",
            "std::process",
        ] {
            assert!(!text.contains(b), "{} uses `{b}`", f.display());
        }
    }
}

#[test]
fn every_module_says_what_it_owns() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} lacks a //! header",
            f.display()
        );
    }
}
