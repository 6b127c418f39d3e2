//! The session as evidence, from the command line: `cutover verify` on real drill journals
//! changed the ways someone would (an edit, a removed line, two lines swapped, a line added
//! at the end), on a journal of the release before the chain, and on folders that are not
//! sessions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// A finished headless drill of blue-green in `dir/s`.
fn drilled(dir: &Path, extra: &[&str]) -> PathBuf {
    let s = dir.join("s");
    let out = bin()
        .arg("drill")
        .arg(root().join("runbooks/blue-green.yaml"))
        .args(["--headless", "--speed", "max", "--auto-ack", "--session"])
        .arg(&s)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "{out:?}");
    s
}

fn verify(s: &Path) -> (i32, String) {
    let out = bin().arg("verify").arg(s).output().unwrap();
    (
        out.status.code().unwrap(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn lines(s: &Path) -> Vec<String> {
    std::fs::read_to_string(s.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write(s: &Path, lines: &[String]) {
    std::fs::write(s.join("journal.jsonl"), lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_drills_journal_verifies_and_each_kind_of_change_is_named_by_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let s = drilled(tmp.path(), &[]);
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("VERIFIED"), "{out}");
    let n = lines(&s).len();
    assert!(out.contains(&format!("{n} events")), "{out}");
    let digest = out
        .lines()
        .find_map(|l| l.strip_prefix("digest sha256:"))
        .unwrap()
        .to_string();
    assert_eq!(digest.len(), 64, "{out}");
    let orig = lines(&s);

    // An edited value (a duration made shorter) breaks the chain at the next line.
    let mut edited = orig.clone();
    let i = edited
        .iter()
        .position(|l| l.contains("\"step_done\""))
        .unwrap();
    edited[i] = edited[i].replacen("\"attempt\":1", "\"attempt\":2", 1);
    assert_ne!(edited[i], orig[i]);
    write(&s, &edited);
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("BROKEN at line {}", i + 2)), "{out}");

    // A removed line: the next line's seq says so.
    let mut removed = orig.clone();
    removed.remove(10);
    write(&s, &removed);
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at line 11"), "{out}");

    // Two lines swapped.
    let mut swapped = orig.clone();
    swapped.swap(20, 21);
    write(&s, &swapped);
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at line 21"), "{out}");

    // An edit of the last line cannot be caught by a line after it: the digest changes.
    let mut last = orig.clone();
    let end = last.len() - 1;
    last[end] = last[end].replacen("\"exit_code\":0", "\"exit_code\":3", 1);
    assert_ne!(last[end], orig[end]);
    write(&s, &last);
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(&digest), "{out}");

    // Put back as it was, it verifies with the same digest.
    write(&s, &orig);
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&digest), "{out}");
}

#[test]
fn a_resumed_old_release_journal_verifies_from_its_first_chained_line() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = root().join("tests/fixtures/journals/killed-mid-step");
    let s = tmp.path().join("s");
    std::fs::create_dir_all(s.join("output")).unwrap();
    for name in ["journal.jsonl", "lock"] {
        std::fs::copy(fixture.join(name), s.join(name)).unwrap();
    }
    let old = lines(&s);
    let (code, out) = verify(&s);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT VERIFIABLE"), "{out}");

    // Continued by this version, it is chained from the first line it adds.
    let out = bin()
        .current_dir(root())
        .arg("drill")
        .arg("tests/fixtures/journals/runbooks/blue-green.yaml")
        .args(["--headless", "--speed", "max", "--auto-ack"])
        .args(["--operator", "bob", "--session"])
        .arg(&s)
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "{out:?}");
    assert!(lines(&s).len() > old.len());
    let (code, out) = verify(&s);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("events 1–{} were written before", old.len())),
        "{out}"
    );
}

#[test]
fn a_folder_that_is_not_a_session_is_exit_2_with_why() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out) = verify(tmp.path());
    assert_eq!(code, 2);
    assert!(out.contains("has no journal.jsonl"), "{out}");
    let (code, out) = verify(&tmp.path().join("nope"));
    assert_eq!(code, 2);
    assert!(out.contains("not a folder"), "{out}");
}
