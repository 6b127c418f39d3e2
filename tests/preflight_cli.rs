//! The shipped preflight step (`runbooks/scripts/preflight.sh`): in a live run it runs
//! `cutover preflight` with the binary driving the session (found through `CUTOVER_BIN`, not
//! PATH), and the step fails when the preflight does, with the table in its output; in a
//! drill it reaches nothing and succeeds. Also the command line's side of the preflight and
//! of the operator's name: `--help` offers only what works.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use std::path::Path;

/// A runbook in `dir` whose first step is the shipped preflight step, watching one command
/// metric that runs `metric`; `extra` adds steps after it.
fn with_preflight_step(dir: &Path, metric: &str, extra: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    std::fs::copy(
        root().join("runbooks/scripts/preflight.sh"),
        dir.join("scripts/preflight.sh"),
    )
    .unwrap();
    runbook(
        dir,
        &format!(
            r#"{HEAD}metrics:
  - {{ id: backlog, title: Backlog, side: target, unit: jobs, run: ["sh", "-c", "{metric}"] }}
phases:
  - id: p
    steps:
      - {{ id: preflight, title: Preflight, at: T+0:00, owner: o, expect: 1m, run: ["./scripts/preflight.sh", "rb.yaml"], timeout: 1m }}
{extra}"#
        ),
    )
}

fn live(rb: &Path, session: &Path) -> std::process::Output {
    bin()
        .arg("run")
        .arg(rb)
        .args(["--headless", "--auto-ack", "--t0", "+0s", "--session"])
        .arg(session)
        // No `cutover` on PATH: the step must find the binary that drives it.
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap()
}

fn step_log(session: &Path) -> String {
    std::fs::read_to_string(session.join("output/preflight.log")).unwrap()
}

#[test]
fn live_the_preflight_step_runs_cutover_preflight_and_passes_when_all_is_well() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = with_preflight_step(tmp.path(), "echo 3", "");
    let s = tmp.path().join("s");
    let out = live(&rb, &s);
    let log = step_log(&s);
    assert_eq!(out.status.code(), Some(0), "{out:?}\n{log}");
    assert!(log.contains("✓ backlog"), "{log}");
    assert!(log.contains("✓ ./scripts/preflight.sh"), "{log}");
    assert!(log.contains("READY: all 2 checks passed (exit 0)"), "{log}");
}

#[test]
fn live_the_preflight_step_fails_when_the_preflight_does_and_shows_why() {
    let tmp = tempfile::tempdir().unwrap();
    // A metric that cannot be read: what only reaching the live systems finds (a missing
    // script would already stop `cutover run` before the first step).
    let rb = with_preflight_step(
        tmp.path(),
        "echo no such table >&2; exit 1",
        "      - { id: go, title: Go, owner: o, expect: 1m, run: \"true\" }\n",
    );
    let s = tmp.path().join("s");
    let out = live(&rb, &s);
    let log = step_log(&s);
    // Headless, a failed step that pauses stops the run for the operator (exit 1).
    assert_eq!(out.status.code(), Some(1), "{out:?}\n{log}");
    assert!(log.contains("✗ backlog"), "{log}");
    assert!(log.contains("no such table"), "{log}");
    assert!(log.contains("NOT READY"), "{log}");
    let j = journal(&s);
    let failed = j
        .iter()
        .find(|e| e["kind"] == "step_failed" && e["step"] == "preflight")
        .unwrap_or_else(|| panic!("{j:?}"));
    assert_eq!(failed["exit_code"], 2, "{failed}");
    assert!(
        !kinds(&j).contains(&"step_started:go".to_string()),
        "nothing after a failed preflight runs by itself"
    );
}

#[test]
fn in_a_drill_the_shipped_preflight_step_reaches_nothing_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s");
    let out = bin()
        .arg("drill")
        .arg(root().join("runbooks/blue-green.yaml"))
        .args(["--headless", "--speed", "max", "--auto-ack", "--session"])
        .arg(&s)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        step_log(&s).contains(
            "drill: the live systems are not reached; the live run checks them here with: cutover preflight blue-green.yaml"
        ),
        "{}",
        step_log(&s)
    );
    // It is the runbook's first step.
    let j = journal(&s);
    let first = j.iter().find(|e| e["kind"] == "step_started").unwrap();
    assert_eq!(first["step"], "preflight");
}

#[test]
fn every_shipped_runbook_has_a_preflight_step_on_its_own_file() {
    for f in std::fs::read_dir(root().join("runbooks")).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let rb = cutover::config::runbook::load(&p).runbook.unwrap();
        let name = p.file_name().unwrap().to_str().unwrap();
        let step = rb
            .step("preflight")
            .unwrap_or_else(|| panic!("{name} has no preflight step"));
        assert_eq!(
            step.run.as_ref().map(|c| c.display()),
            Some(format!("./scripts/preflight.sh {name}")),
            "{name}"
        );
        assert_eq!(step.at, Some(-24 * 3_600_000), "{name}: at T-24:00");
    }
}

#[test]
fn help_offers_every_command_and_watch_refuses_a_folder_that_is_no_session() {
    let out = bin().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    for cmd in ["preflight", "report", "verify", "watch"] {
        assert!(help.contains(cmd), "{cmd}: {help}");
    }
    // `watch` of a folder that is no session says so, exit 2.
    let out = bin()
        .args(["watch", "/nonexistent/cutover-session"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a session folder one can watch"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin().args(["preflight", "--help"]).output().unwrap();
    // As one line: clap wraps help to the terminal's width.
    let help: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let help = help.join(" ");
    assert!(
        help.contains("exit 0 when all is well, 2 otherwise") && help.contains("writes no journal"),
        "{help}"
    );
}

#[test]
fn an_invalid_runbook_is_refused_by_preflight_with_exit_2() {
    let out = bin()
        .arg("preflight")
        .arg(root().join("tests/fixtures/invalid/unknown-key.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown key `ownr`") && err.contains("cutover validate"),
        "{err}"
    );
}

#[test]
fn without_operator_or_user_the_journal_names_the_account_never_operator() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!("{HEAD}phases:\n  - id: p\n    steps:\n      - {{ id: m, title: M }}\n"),
    );
    let s = tmp.path().join("s");
    let out = bin()
        .arg("drill")
        .arg(&rb)
        .args(["--headless", "--speed", "max", "--auto-ack", "--session"])
        .arg(&s)
        .env_remove("USER")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let account = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let account = String::from_utf8_lossy(&account.stdout).trim().to_string();
    let started = journal(&s)
        .into_iter()
        .find(|e| e["kind"] == "session_started")
        .unwrap();
    assert_ne!(started["operator"], "operator");
    if account.is_empty() {
        // No name for the uid on this machine: `uid N`.
        assert!(started["operator"].as_str().unwrap().starts_with("uid "));
    } else {
        assert_eq!(started["operator"], account.as_str());
    }
}
