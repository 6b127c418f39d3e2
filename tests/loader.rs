//! Loader and `cutover validate`: every broken fixture is reported at the right line with a
//! hint, all problems of a file come out in one pass, and hostile input never panics.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use assert_cmd::Command;
use cutover::config::runbook;
use cutover::core::runbook::Diagnostic;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn errors(name: &str) -> Vec<Diagnostic> {
    let l = runbook::load(&fixture(name));
    assert!(l.runbook.is_none(), "{name} must not load");
    l.diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

/// (fixture, line, column or 0, text the message must contain, text the hint must contain)
const CASES: &[(&str, u32, u32, &str, &str)] = &[
    (
        "invalid/yaml-syntax.yaml",
        12,
        13,
        "YAML syntax",
        "brackets",
    ),
    (
        "invalid/unknown-key.yaml",
        12,
        9,
        "unknown key `ownr` in step `a`",
        "did you mean `owner`?",
    ),
    (
        "invalid/missing-title.yaml",
        10,
        9,
        "step `a` is missing `title`",
        "add `title:`",
    ),
    (
        "invalid/duplicate-id.yaml",
        14,
        9,
        "first defined at line 10, again at line 14",
        "rename one",
    ),
    (
        "invalid/bad-times.yaml",
        12,
        13,
        "`0:05` does not start with `T`",
        "write `T+0:05`",
    ),
    (
        "invalid/bad-times.yaml",
        13,
        17,
        "`5` has no unit",
        "`90s`, `5m`",
    ),
    (
        "invalid/bad-times.yaml",
        14,
        18,
        "`2 minutes`",
        "number and a unit",
    ),
    (
        "invalid/backwards-offsets.yaml",
        11,
        42,
        "offsets run backwards in phase `window`",
        "write `T+0:05`",
    ),
    (
        "invalid/backwards-offsets.yaml",
        12,
        38,
        "`at: T-0:10` of step `sync`",
        "write `T+0:10`",
    ),
    (
        "invalid/rollback-missing.yaml",
        13,
        21,
        "`on_failure: rollback` but the runbook has no rollback procedure",
        "add a top-level `rollback:`",
    ),
    (
        "invalid/empty-phase.yaml",
        9,
        12,
        "phase `w` has no steps",
        "at least one step",
    ),
    (
        "invalid/empty-phase.yaml",
        10,
        5,
        "phase `v` has no steps",
        "add `steps:`",
    ),
    (
        "invalid/unknown-reference.yaml",
        15,
        16,
        "undoes `switch-dsn`, which is not a forward step",
        "did you mean `switch-dns`?",
    ),
];

#[test]
fn each_breakage_is_located_and_hinted() {
    for (name, line, col, msg, hint) in CASES {
        let errs = errors(name);
        let hit = errs.iter().find(|d| d.message.contains(msg));
        let d = hit.unwrap_or_else(|| panic!("{name}: no error containing {msg:?}; got {errs:#?}"));
        assert_eq!((d.pos.line, d.pos.col), (*line, *col), "{name}: {d}");
        assert!(
            d.hint.contains(hint),
            "{name}: hint {:?} lacks {hint:?}",
            d.hint
        );
        let shown = d.to_string();
        assert!(
            shown.starts_with(&format!(
                "{}:{line}:{col}: error: ",
                fixture(name).display()
            )),
            "{shown}"
        );
        assert!(shown.contains("\n  hint: "), "{shown}");
    }
}

#[test]
fn all_problems_of_a_file_come_in_one_pass() {
    let errs = errors("invalid/many-problems.yaml");
    let msgs: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    for want in [
        "unknown strategy `blue-grene`",
        "`platforms` is missing `target`",
        "step `a` is missing `title`",
        "unknown key `titel`",
        "unknown on_failure `retyr`",
    ] {
        assert!(
            msgs.iter().any(|m| m.contains(want)),
            "missing {want:?} in {msgs:#?}"
        );
    }
    assert_eq!(errs.len(), 5, "{msgs:#?}");
}

#[test]
fn warnings_do_not_fail_validation() {
    let l = runbook::load(&fixture("valid/warnings-only.yaml"));
    assert!(l.runbook.is_some());
    let w: Vec<String> = l.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert!(w.iter().any(|m| m.contains("has no owner")), "{w:?}");
    assert!(w.iter().any(|m| m.contains("has no `expect`")), "{w:?}");
    assert!(
        w.iter()
            .any(|m| m.contains("`./scripts/missing.sh`, which does not exist")),
        "{w:?}"
    );
    Command::cargo_bin("cutover")
        .unwrap()
        .args(["validate"])
        .arg(fixture("valid/warnings-only.yaml"))
        .assert()
        .code(0);
}

#[test]
fn validate_exit_codes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped: Vec<PathBuf> = std::fs::read_dir(root.join("runbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert_eq!(shipped.len(), 5);
    Command::cargo_bin("cutover")
        .unwrap()
        .arg("validate")
        .args(&shipped)
        .assert()
        .code(0);
    let out = Command::cargo_bin("cutover")
        .unwrap()
        .arg("validate")
        .arg(fixture("invalid/unknown-key.yaml"))
        .arg(&shipped[0])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "one bad file among good ones fails the run"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown-key.yaml:12:9: error: unknown key `ownr`"),
        "{err}"
    );
    Command::cargo_bin("cutover")
        .unwrap()
        .args(["validate", "/nonexistent/rb.yaml"])
        .assert()
        .code(2);
}

fn garbage(bytes: &[u8]) -> Diagnostic {
    let l = runbook::load_bytes(Path::new("garbage.yaml"), bytes);
    assert!(l.runbook.is_none());
    assert_eq!(l.diagnostics.len(), 1, "{:#?}", l.diagnostics);
    l.diagnostics.into_iter().next().unwrap()
}

#[test]
fn hostile_input_gets_one_clear_error_and_no_panic() {
    assert!(garbage(b"").message.contains("file is empty"));
    assert!(garbage(b"  \n\n").message.contains("file is empty"));
    assert!(
        garbage(b"\x7fELF\x02\x01\x01\x00\x00")
            .message
            .contains("binary")
    );
    assert!(
        garbage(&[0xff, 0xfe, b'a', b'\n'])
            .message
            .contains("not valid UTF-8")
    );
    let big = "# filler\n".repeat(300_000);
    assert!(
        garbage(big.as_bytes())
            .message
            .contains("a runbook is at most")
    );
    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
    for (i, c) in ('b'..='k').enumerate() {
        let prev = (b'a' + i as u8) as char;
        bomb.push_str(&format!(
            "{c}: &{c} [{}]\n",
            vec![format!("*{prev}"); 10].join(",")
        ));
    }
    let d = garbage(bomb.as_bytes());
    assert!(
        d.message.contains("alias bomb") || d.message.contains("too many"),
        "{d}"
    );
    let deep_flow = "[".repeat(10_000);
    assert!(
        garbage(deep_flow.as_bytes())
            .message
            .contains("nested too deeply")
    );
    let deep_block: String = (0..600)
        .map(|i| format!("{}- \n", "  ".repeat(i)))
        .collect();
    let d = garbage(deep_block.as_bytes());
    assert!(d.message.contains("nested too deeply"), "{d}");
    assert!(
        garbage(b"just a sentence")
            .message
            .contains("must be a mapping")
    );
    assert!(garbage(b"- a\n- b\n").message.contains("must be a mapping"));
    assert!(
        garbage(b"a: 1\n---\nb: 2\n")
            .message
            .contains("more than one YAML document")
    );
}
