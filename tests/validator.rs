//! The validator's judgement of values that parse but do not fit: an `expect` longer than the
//! timeout, threshold units against their metric's, a duration written with a space, names
//! of things that do not exist (reported at the name itself), and scripts a live run could
//! not start. Each case is a fixture under tests/fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use assert_cmd::Command;
use cutover::config::runbook::{self, Purpose};
use cutover::core::runbook::signals::Threshold;
use cutover::core::runbook::{Diagnostic, Runbook};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn loaded(name: &str) -> (Runbook, Vec<Diagnostic>) {
    let l = runbook::load(&fixture(name));
    let rb = l
        .runbook
        .unwrap_or_else(|| panic!("{name} must load: {:#?}", l.diagnostics));
    (rb, l.diagnostics)
}

fn errors(name: &str) -> Vec<Diagnostic> {
    let l = runbook::load(&fixture(name));
    assert!(l.runbook.is_none(), "{name} must not load");
    l.diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

/// The one diagnostic containing `msg`, checked to be at `line`:`col`, shown with the file
/// and position first, and to carry a hint containing `hint`.
fn located<'d>(
    ds: &'d [Diagnostic],
    name: &str,
    (line, col): (u32, u32),
    msg: &str,
    hint: &str,
) -> &'d Diagnostic {
    let hits: Vec<&Diagnostic> = ds.iter().filter(|d| d.message.contains(msg)).collect();
    assert_eq!(
        hits.len(),
        1,
        "{name}: one diagnostic with {msg:?}: {ds:#?}"
    );
    let d = hits[0];
    assert_eq!((d.pos.line, d.pos.col), (line, col), "{name}: {d}");
    assert!(
        d.hint.contains(hint),
        "{name}: hint {:?} lacks {hint:?}",
        d.hint
    );
    let sev = if d.is_error() { "error" } else { "warning" };
    let shown = d.to_string();
    let head = format!("{}:{line}:{col}: {sev}: ", fixture(name).display());
    assert!(shown.starts_with(&head), "{shown}");
    d
}

#[test]
fn expect_longer_than_timeout_warns_naming_both_values_and_the_line() {
    let name = "valid/expect-over-timeout.yaml";
    let (_, ds) = loaded(name);
    let over: Vec<&Diagnostic> = ds
        .iter()
        .filter(|d| d.message.contains("is longer than"))
        .collect();
    assert_eq!(over.len(), 2, "only `freeze` and `sync`: {ds:#?}");
    let d = located(
        &ds,
        name,
        (13, 17),
        "`expect: 5m` of step `freeze` is longer than its `timeout: 2m` (line 15)",
        "`timeout: 10m`",
    );
    assert!(!d.is_error(), "a warning: the runbook can still run");
    located(
        &ds,
        name,
        (19, 17),
        "`expect: 20m` of step `sync` is longer than the default timeout of 15m",
        "`timeout: 40m`",
    );
}

fn threshold(rb: &Runbook, trigger: &str) -> Threshold {
    let t = rb
        .signals
        .triggers
        .iter()
        .find(|t| t.id == trigger)
        .unwrap();
    t.when.threshold.clone()
}

#[test]
fn thresholds_in_another_unit_convert_to_the_metric_unit() {
    let (rb, ds) = loaded("valid/unit-conversion.yaml");
    assert!(ds.is_empty(), "{ds:#?}");
    assert_eq!(
        threshold(&rb, "lag-high"),
        Threshold::Value(60.0),
        "1min in s"
    );
    assert_eq!(
        threshold(&rb, "backlog-big"),
        Threshold::Value(0.5),
        "500GB in TB"
    );
    assert_eq!(
        threshold(&rb, "stale"),
        Threshold::Value(120.0),
        "2h in min"
    );
    assert_eq!(
        threshold(&rb, "stale-too"),
        Threshold::Value(30.0),
        "30m in min"
    );
    let lag = rb.signals.triggers.iter().find(|t| t.id == "lag-high");
    assert_eq!(lag.unwrap().when.text, "lag > 1min", "shown as written");
    let gates = &rb.step("stage-10").unwrap().stage.as_ref().unwrap().gates;
    let limits: Vec<Threshold> = gates.iter().map(|g| g.check.threshold.clone()).collect();
    assert_eq!(
        limits,
        [Threshold::Value(90.0), Threshold::Value(2000.0)],
        "gates: 90000ms in s, 2PB in TB"
    );
}

#[test]
fn incompatible_units_are_an_error_naming_the_units_that_work() {
    let name = "invalid/unit-mismatch.yaml";
    let errs = errors(name);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    located(
        &errs,
        name,
        (12, 11),
        "threshold unit `GB` does not fit metric `lag`, measured in `s`",
        "another unit of a duration: ms, s, sec, m, min, h, d",
    );
    located(
        &errs,
        name,
        (15, 11),
        "threshold unit `s` does not fit metric `errors`, measured in `%`",
        "write the threshold in `%`",
    );
}

#[test]
fn a_duration_with_a_space_is_one_error_with_its_fix() {
    let name = "invalid/duration-with-space.yaml";
    let l = runbook::load(&fixture(name));
    assert!(l.runbook.is_none());
    let ds = l.diagnostics;
    // No "has no `expect`" (nor "has no owner") about a key that is there but unreadable.
    assert_eq!(ds.len(), 2, "{ds:#?}");
    assert!(ds.iter().all(Diagnostic::is_error), "{ds:#?}");
    located(
        &ds,
        name,
        (13, 17),
        "`expect` of step `space`: `5 min` has a space in it",
        "write `expect: 5m`",
    );
    located(&ds, name, (16, 16), "`owner` of step `nobody` is empty", "");
}

#[test]
fn unknown_names_are_reported_at_the_value_that_names_them() {
    let name = "invalid/misplaced-refs.yaml";
    let errs = errors(name);
    for (at, msg, hint) in [
        (
            (12, 11),
            "trigger `lag-high` names unknown metric `lagg`",
            "did you mean `lag`?",
        ),
        (
            (13, 26),
            "captures at unknown step `frezee`",
            "did you mean `freeze`?",
        ),
        (
            (16, 12),
            "`after` of trigger `lag-high` names unknown step `frezee`",
            "did you mean `freeze`?",
        ),
        (
            (17, 12),
            "`until` of trigger `lag-high` names unknown step `stage-100`",
            "forward step",
        ),
        (
            (28, 13),
            "gate of step `freeze` names unknown metric `lga`",
            "did you mean `lag`?",
        ),
        (
            (36, 12),
            "`after` of rollback procedure `after-freeze` names unknown step `freez`",
            "did you mean `freeze`?",
        ),
        (
            (42, 19),
            "fault of scenario `s1` names unknown metric `lgg`",
            "did you mean `lag`?",
        ),
        (
            (43, 23),
            "`trips` of scenario `s1` names unknown trigger `lag-hig`",
            "did you mean `lag-high`?",
        ),
        (
            (44, 11),
            "`fail` of scenario `s1` names unknown step `frz`",
            "forward step",
        ),
    ] {
        located(&errs, name, at, msg, hint);
    }
    let lagg = errs.iter().filter(|d| d.message.contains("`lagg`")).count();
    assert_eq!(
        lagg, 1,
        "the baseline's default `of` is not a second report"
    );
}

/// The scripts fixture in a folder of its own, with `ok.sh` executable and `noexec.sh` not.
fn scripts_runbook() -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let rb = tmp.path().join("rb.yaml");
    std::fs::copy(fixture("valid/scripts.yaml"), &rb).unwrap();
    std::fs::create_dir(tmp.path().join("scripts")).unwrap();
    for (file, mode) in [("ok.sh", 0o755), ("noexec.sh", 0o644)] {
        let p = tmp.path().join("scripts").join(file);
        std::fs::write(&p, "#!/bin/sh\necho ok\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    (tmp, rb)
}

/// (line, column, message) of each script problem the fixture has, in file order.
const SCRIPT_PROBLEMS: &[(u32, u32, &str)] = &[
    (
        8,
        47,
        "metric `lag` is read with `./scripts/lag-missing.sh`, which does not exist",
    ),
    (
        21,
        14,
        "step `missing` runs `./scripts/missing.sh`, which does not exist",
    ),
    (
        22,
        17,
        "step `missing` verifies with `./scripts/missing-check.sh`, which does not exist",
    ),
    (
        27,
        14,
        "step `no-bit` runs `./scripts/noexec.sh`, which is not executable",
    ),
    (
        32,
        14,
        "step `no-bit-shell` runs `./scripts/noexec.sh`, which is not executable",
    ),
];

fn script_problems(ds: &[Diagnostic]) -> Vec<(u32, u32, String)> {
    ds.iter()
        .filter(|d| d.message.contains("./scripts/"))
        .map(|d| (d.pos.line, d.pos.col, d.message.clone()))
        .collect()
}

fn assert_script_problems(ds: &[Diagnostic]) {
    let got = script_problems(ds);
    assert_eq!(got.len(), SCRIPT_PROBLEMS.len(), "{ds:#?}");
    for ((line, col, msg), (gl, gc, gm)) in SCRIPT_PROBLEMS.iter().zip(&got) {
        assert_eq!((line, col), (gl, gc), "{gm}");
        assert!(gm.contains(msg), "{gm:?} lacks {msg:?}");
    }
}

#[test]
fn missing_or_non_executable_scripts_are_warnings_for_validate_and_drill() {
    let (_tmp, rb) = scripts_runbook();
    let l = runbook::load_for(&rb, Purpose::Plan);
    assert!(l.runbook.is_some(), "{:#?}", l.diagnostics);
    assert_script_problems(&l.diagnostics);
    for d in l
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("./scripts/"))
    {
        assert!(!d.is_error(), "{d}");
        assert!(d.hint.contains("`cutover run` refuses to start"), "{d}");
    }
    Command::cargo_bin("cutover")
        .unwrap()
        .arg("validate")
        .arg(&rb)
        .assert()
        .code(0);
}

#[test]
fn missing_or_non_executable_scripts_are_errors_for_a_live_run() {
    let (tmp, rb) = scripts_runbook();
    let l = runbook::load_for(&rb, Purpose::Live);
    assert!(l.runbook.is_none(), "a live run must not get this runbook");
    assert_script_problems(&l.diagnostics);
    let errs: Vec<&Diagnostic> = l.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errs.len(), SCRIPT_PROBLEMS.len(), "{errs:#?}");
    let no_bit = errs.iter().find(|d| d.message.contains("no-bit`")).unwrap();
    assert!(no_bit.hint.contains("chmod +x"), "{no_bit}");
    let gone = errs
        .iter()
        .find(|d| d.message.contains("missing.sh"))
        .unwrap();
    assert!(
        gone.hint.contains("fix the path or add the script"),
        "{gone}"
    );

    let session = tmp.path().join("s");
    let out = Command::cargo_bin("cutover")
        .unwrap()
        .arg("run")
        .arg(&rb)
        .args(["--headless", "--auto-ack", "--t0", "+0s", "--session"])
        .arg(&session)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let head = format!("{}:21:14: error: step `missing` runs", rb.display());
    assert!(
        stderr.contains(&head),
        "names file, line and column: {stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(
        !session.exists(),
        "nothing starts before the scripts are there"
    );
}

#[test]
fn gates_the_stage_gives_no_time_to_fail_or_that_one_sample_fails_are_warnings() {
    let name = "valid/gate-timing.yaml";
    let (_, ds) = loaded(name);
    located(
        &ds,
        name,
        (17, 11),
        "gate `err < 0.1%` of step `stage-10` has no `for`: one noisy sample fails it",
        "for: 2m",
    );
    located(
        &ds,
        name,
        (23, 11),
        "a gate of step `stage-100` has `for: 5m` but the stage has no hold",
        "hold: 5m",
    );
}

#[test]
fn until_steps_are_checked_where_their_condition_is_written() {
    let name = "invalid/until.yaml";
    let ds = errors(name);
    located(
        &ds,
        name,
        (17, 16),
        "`until` of step `copy` names unknown metric `backfil-copied`",
        "did you mean `backfill-copied`?",
    );
    located(
        &ds,
        name,
        (23, 16),
        "threshold unit `GB` does not fit metric `sync-lag`, measured in `s`",
        "ms, s, sec, m, min, h, d",
    );
    located(
        &ds,
        name,
        (29, 16),
        "step `forever` waits `until: sync-lag < 1m` but has no `timeout`",
        "add `timeout:`",
    );
    located(
        &ds,
        name,
        (34, 16),
        "compares with a baseline",
        "e.g. `until: sync-lag < 1m`",
    );
    assert_eq!(ds.len(), 4, "{ds:#?}");
}

#[test]
fn until_steps_convert_their_threshold_and_keep_the_written_unit() {
    let (rb, ds) = loaded("valid/until.yaml");
    assert!(ds.iter().all(|d| !d.is_error()), "{ds:#?}");
    let copy = rb.step("copy").unwrap();
    let u = copy.until.as_ref().unwrap();
    assert_eq!(u.cond.threshold, Threshold::Value(500.0), "0.5 PB in TB");
    assert_eq!((u.unit.as_str(), u.scale), ("PB", 1000.0));
    assert!(!copy.is_manual());
    assert_eq!(copy.timeout, 2 * 86_400_000);
    let lag = rb.step("lag").unwrap();
    assert_eq!(
        lag.until.as_ref().unwrap().cond.threshold,
        Threshold::Value(60.0)
    );
    assert!(
        lag.run.is_none() && !lag.is_manual(),
        "waits, no confirmation"
    );
    Command::cargo_bin("cutover")
        .unwrap()
        .args(["validate", fixture("valid/until.yaml").to_str().unwrap()])
        .assert()
        .success();
    Command::cargo_bin("cutover")
        .unwrap()
        .args(["validate", fixture(name_invalid()).to_str().unwrap()])
        .assert()
        .code(2);
}

fn name_invalid() -> &'static str {
    "invalid/until.yaml"
}
