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
    drill_of(&root().join("runbooks/blue-green.yaml"), &s, extra);
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

fn report(s: &Path) -> (i32, String, String) {
    let out = bin()
        .current_dir(root())
        .arg("report")
        .arg(s)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn journal(s: &Path) -> Vec<serde_json::Value> {
    lines(s)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The report's table row of step `id` (the first, in the section it is first in).
fn row<'a>(report: &'a str, id: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(&format!("| `{id}` |")))
        .unwrap_or_else(|| panic!("no row for {id} in\n{report}"))
}

fn section<'a>(report: &'a str, heading: &str) -> &'a str {
    let start = report
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("no section {heading} in\n{report}"));
    let rest = &report[start + 1..];
    let end = rest[3..].find("\n## ").map(|e| e + 3).unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn the_report_of_a_completed_drill_has_every_step_as_the_journal_says() {
    let tmp = tempfile::tempdir().unwrap();
    let s = drilled(tmp.path(), &[]);
    let (code, md, err) = report(&s);
    assert_eq!(code, 0, "{err}");
    assert!(
        md.starts_with("# DRILL report: Snowflake → Databricks blue-green cutover — COMPLETE\n"),
        "{md}"
    );
    let j = journal(&s);
    // Every step done in the journal is a done row, with the duration step_done journaled.
    let mut done = 0;
    for e in j.iter().filter(|e| e["kind"] == "step_done") {
        let id = e["step"].as_str().unwrap();
        let r = row(&md, id);
        assert!(r.ends_with("| done |"), "{r}");
        let secs = e["duration_s"].as_f64().unwrap();
        let shown = if secs == 0.0 {
            "0s".to_string()
        } else if secs < 1.0 {
            format!("{}ms", (secs * 1000.0).round())
        } else {
            format!("{}s", secs.floor())
        };
        assert!(r.contains(&format!("| {shown}")), "{shown} in {r}");
        done += 1;
    }
    assert!(done >= 15, "{done}");
    // The plan: the runbook's `at`s, and the finish planned against the actual.
    assert!(row(&md, "switch-dns").contains("| T+00:45:00 | T+00:45:00 |"));
    let end = j.last().unwrap();
    assert_eq!(end["kind"], "session_ended");
    let planned = end["planned_finish_t"].as_f64().unwrap() as i64;
    assert!(
        md.contains(&format!(
            "| Finish | planned T+{:02}:{:02}:00",
            planned / 3600,
            planned / 60 % 60
        )),
        "{md}"
    );
    assert!(section(&md, "Rollback").contains("No rollback started."));
    let (_, v) = verify(&s);
    let digest = v
        .lines()
        .find_map(|l| l.strip_prefix("digest sha256:"))
        .unwrap();
    let jr = section(&md, "Journal");
    assert!(
        jr.contains(&format!("- {} events; chain verified", j.len())),
        "{jr}"
    );
    assert!(jr.contains(digest), "{jr}");
}

#[test]
fn the_report_of_an_automatic_rollback_names_the_trigger_the_procedure_and_its_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let s = drilled(tmp.path(), &["--scenario", "error-spike-after-switch"]);
    let (code, md, err) = report(&s);
    assert_eq!(code, 0, "{err}");
    assert!(
        md.lines().next().unwrap().ends_with("— ROLLED BACK"),
        "{md}"
    );
    assert!(md.contains("| Outcome | **ROLLED BACK** (exit 3)"), "{md}");
    let j = journal(&s);
    let started = j.iter().find(|e| e["kind"] == "rollback_started").unwrap();
    let rb = section(&md, "Rollback");
    let at = started["t"].as_f64().unwrap() as i64;
    assert!(
        rb.contains(&format!(
            "- Started automatically at T+{:02}:{:02}:{:02}",
            at / 3600,
            at / 60 % 60,
            at % 60
        )),
        "{rb}"
    );
    assert!(rb.contains(started["reason"].as_str().unwrap()), "{rb}");
    assert!(rb.contains("done cleanly in"), "{rb}");
    // The journal entry carries the values it was decided on: the metric that breached,
    // above its limit, and every other watched metric.
    let breach = j.iter().find(|e| e["kind"] == "trigger_breach").unwrap();
    let metric = breach["metric"].as_str().unwrap();
    let v = started["values"][metric]["value"].as_f64().unwrap();
    assert!(v > breach["threshold"].as_f64().unwrap(), "{started}");
    assert!(
        started["values"].as_object().unwrap().len() >= 3,
        "{started}"
    );
    assert_eq!(
        breach["values"][metric]["value"], breach["value"],
        "{breach}"
    );
    assert!(
        rb.contains("- The watched metrics when it started: critical-report-failures 0 runs")
            && rb.contains(&format!("{metric} {} %", cutover::core::number::num(v))),
        "{rb}"
    );
    let steps = section(&md, "Rollback steps");
    let rolled: Vec<&str> = j
        .iter()
        .filter(|e| e["kind"] == "step_done" && e["procedure"] == "rollback")
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert!(rolled.len() >= 5, "{rolled:?}");
    for id in &rolled {
        assert!(row(steps, id).ends_with("| done |"), "{id}\n{steps}");
    }
    // What happened after the switch and before the rollback is in the signals, printed as
    // the cockpit's log prints it.
    let sig = section(&md, "Triggers, gates, vetoes and decisions");
    assert!(sig.contains("TRIGGER error-rate BREACH"), "{sig}");
    assert!(sig.contains("automatic rollback in 2m"), "{sig}");
    assert!(row(&md, "declare").ends_with("| not reached |"));
    assert!(
        !md.contains("| Finish |"),
        "no plan comparison for a rolled-back run"
    );
}

#[test]
fn the_report_of_an_old_aborted_rollback_says_who_aborted_why_and_that_the_runbook_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s");
    std::fs::create_dir_all(&s).unwrap();
    std::fs::copy(
        root().join("tests/fixtures/journals/aborted-rollback/journal.jsonl"),
        s.join("journal.jsonl"),
    )
    .unwrap();
    let (code, md, err) = report(&s);
    assert_eq!(code, 0, "{err}");
    assert!(md.lines().next().unwrap().ends_with("— ABORTED"), "{md}");
    let j = journal(&s);
    let aborted = j.iter().find(|e| e["kind"] == "rollback_aborted").unwrap();
    let rb = section(&md, "Rollback");
    assert!(
        rb.contains(&format!(
            "ABORTED by {} at",
            aborted["operator"].as_str().unwrap()
        )),
        "{rb}"
    );
    assert!(rb.contains(aborted["reason"].as_str().unwrap()), "{rb}");
    assert!(row(&md, "smoke-tests").contains("FAILED: failure injected by --fail"));
    assert!(md.contains("has CHANGED since the session ran"), "{md}");
    let note = j.iter().find(|e| e["kind"] == "note").unwrap();
    assert!(
        section(&md, "Notes and holds").contains(note["text"].as_str().unwrap()),
        "{md}"
    );
    assert!(section(&md, "Journal").contains("not verifiable"), "{md}");
}

#[test]
fn report_of_a_folder_that_is_not_a_session_is_exit_2_with_why() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = report(tmp.path());
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("not a session folder"), "{err}");
    std::fs::write(tmp.path().join("journal.jsonl"), "{\"seq\":1}\n").unwrap();
    let (code, _, err) = report(tmp.path());
    assert_eq!(code, 2);
    assert!(err.contains("journal.jsonl:1:"), "{err}");
}

fn samples(s: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(s.join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_evidence_holds_every_sample_a_trigger_acted_on_and_the_report_sums_it() {
    let tmp = tempfile::tempdir().unwrap();
    let s = drilled(tmp.path(), &["--scenario", "error-spike-after-switch"]);
    let j = journal(&s);
    let ev = samples(&s);
    let breach = j.iter().find(|e| e["kind"] == "trigger_breach").unwrap();
    let metric = breach["metric"].as_str().unwrap();
    let t = breach["t"].as_f64().unwrap();
    // The value the breach was decided on is in the evidence, at or before the breach.
    let value = breach["value"].as_f64().unwrap();
    assert!(
        ev.iter().any(|l| l["m"] == metric
            && l["v"].as_f64() == Some(value)
            && l["t"].as_f64().unwrap() <= t),
        "{value} of {metric} not in the evidence"
    );
    // Watched: every sample, none summarised.
    let of_metric: Vec<&serde_json::Value> = ev.iter().filter(|l| l["m"] == metric).collect();
    assert!(of_metric.iter().all(|l| l.get("n").is_none()));
    let max = of_metric
        .iter()
        .filter_map(|l| l["v"].as_f64())
        .fold(f64::MIN, f64::max);
    let (_, md, _) = report(&s);
    let m = section(&md, "Metrics");
    let r = row(m, metric);
    assert!(
        r.starts_with(&format!("| `{metric}` | target | {} |", of_metric.len())),
        "{r}"
    );
    assert!(
        r.contains(&format!("| {} % |", cutover::core::number::num(max))),
        "{max}: {r}"
    );
    // In breach from when the condition began to hold (the breach's t less its `for`) to
    // the end of the journal: it never recovered.
    let held = breach["held_s"].as_f64().unwrap();
    let end = j.last().unwrap()["t"].as_f64().unwrap();
    let mins = ((end - (t - held)) / 60.0).round() as i64;
    assert!(r.ends_with(&format!("| {mins}m |")), "{mins}m: {r}");
}

#[test]
fn a_thousand_metrics_over_an_hour_stay_within_the_documented_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let mut yaml = format!("{HEAD}metrics:\n");
    for i in 0..1000 {
        let side = if i % 2 == 0 { "source" } else { "target" };
        yaml.push_str(&format!(
            "  - {{ id: m{i}, title: metric {i}, side: {side}, unit: ms, every: 15s, sim: {{ baseline: 100, noise: 10 }} }}\n"
        ));
    }
    yaml.push_str("triggers:\n");
    for i in 0..20 {
        yaml.push_str(&format!(
            "  - {{ id: t{i}, when: m{i} > 1000ms, for: 1m, action: alert }}\n"
        ));
    }
    yaml.push_str(
        "phases:\n  - id: p\n    steps:\n      - { id: start, title: Start, at: T+0:00, owner: o }\n      - { id: end, title: End, at: T+1:00, owner: o }\n",
    );
    let rb = runbook(tmp.path(), &yaml);
    let s = tmp.path().join("s");
    let out = bin()
        .arg("drill")
        .arg(&rb)
        .args([
            "--headless",
            "--speed",
            "max",
            "--auto-ack",
            "--t0",
            "+0s",
            "--session",
        ])
        .arg(&s)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let ev = samples(&s);
    let bytes = std::fs::metadata(s.join("samples.jsonl")).unwrap().len();
    let watched = ev
        .iter()
        .filter(|l| l["m"].as_str().unwrap()[1..].parse::<u32>().unwrap() < 20)
        .count();
    // Watched: every sample (an hour at 15 s, and the first at T-0: 241 each).
    assert!((20 * 240..=20 * 242).contains(&watched), "{watched}");
    // Unwatched: one summary per 5 minutes of T: 12 or 13 each.
    let rest = ev.len() - watched;
    assert!((980 * 12..=980 * 13).contains(&rest), "{rest}");
    // README: at most 100 bytes a line; about 1.5 MB for the hour.
    assert!(
        bytes <= ev.len() as u64 * 100,
        "{bytes} bytes for {} lines",
        ev.len()
    );
    assert!(bytes < 2_000_000, "{bytes}");
}

/// The shipped runbooks and their scripts, copied to `dir` so a test may change them.
fn shipped_copy(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let to = dir.join("runbooks");
    let ok = std::process::Command::new("cp")
        .arg("-r")
        .arg(root().join("runbooks"))
        .arg(&to)
        .status()
        .unwrap();
    assert!(ok.success());
    to
}

fn drill_of(rb: &Path, s: &Path, extra: &[&str]) {
    let out = bin()
        .arg("drill")
        .arg(rb)
        .args(["--headless", "--speed", "max", "--auto-ack", "--session"])
        .arg(s)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "{out:?}");
}

#[test]
fn compare_names_the_drift_the_failure_the_rollback_and_a_changed_runbook() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = shipped_copy(&tmp.path().join("a"));
    let slow = shipped_copy(&tmp.path().join("b"));
    // The second rehearsal's delta sync is slow (1.5 s instead of 0.2 s) and its smoke
    // tests fail.
    let script = slow.join("scripts/delta-sync.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("nap 0.2"));
    std::fs::write(&script, text.replace("nap 0.2", "nap 1.5")).unwrap();
    let (a, b) = (tmp.path().join("sa"), tmp.path().join("sb"));
    drill_of(&plain.join("blue-green.yaml"), &a, &[]);
    drill_of(
        &slow.join("blue-green.yaml"),
        &b,
        &["--fail", "smoke-tests"],
    );

    let out = bin()
        .arg("report")
        .arg(&b)
        .arg("--compare")
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let md = String::from_utf8_lossy(&out.stdout).into_owned();
    let cmp = section(&md, "Compared with 1 other session(s)");
    assert!(cmp.contains("ROLLED BACK · runbook sha256"), "{cmp}");
    assert!(cmp.contains("COMPLETE · the same runbook"), "{cmp}");
    let sync = row(cmp, "delta-sync");
    assert!(sync.contains("| +1s (vs mean"), "{sync}");
    let smoke = row(cmp, "smoke-tests");
    assert!(smoke.ends_with("| failed here, done in 1 |"), "{smoke}");
    assert!(row(cmp, "declare").ends_with("| not reached here, done in 1 |"));
    assert!(row(cmp, "switch-dns").ends_with("|  |"), "the same in both");
    assert!(cmp.contains("- here: started T+01:00:00, took"), "{cmp}");
    assert!(cmp.contains("- 1: no rollback"), "{cmp}");

    // A rehearsal of an older version of the runbook (without the preflight step).
    let old = shipped_copy(&tmp.path().join("c"));
    let rb = old.join("blue-green.yaml");
    let y = std::fs::read_to_string(&rb).unwrap();
    let start = y.find("      - id: preflight").unwrap();
    let end = start + y[start..].find("      - id: confirm-validation").unwrap();
    std::fs::write(&rb, format!("{}{}", &y[..start], &y[end..])).unwrap();
    let c = tmp.path().join("sc");
    drill_of(&rb, &c, &[]);
    let out = bin()
        .arg("report")
        .arg(&a)
        .arg("--compare")
        .arg(&c)
        .arg(&b)
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout).into_owned();
    let cmp = section(&md, "Compared with 2 other session(s)");
    assert!(
        cmp.contains("a DIFFERENT runbook version")
            && cmp.contains("steps only in this session's: `preflight`"),
        "{cmp}"
    );
    assert!(
        row(cmp, "preflight").contains("done here, not in its runbook in 1"),
        "{cmp}"
    );

    // A compared folder that is not a session is exit 2 with why.
    let out = bin()
        .arg("report")
        .arg(&a)
        .arg("--compare")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a session folder"));
}

/// Runs Debian's chromium headless on `url` with `args`; fails with the install command
/// when it is missing.
fn chromium(profile: &Path, args: &[&str], url: &str) -> std::process::Output {
    let ok = std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "chromium is not installed: apt-get install -y chromium (./test installs it)"
    );
    std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap()
}

/// The value of attribute `name` in tag text `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let start = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + key.len();
    &tag[start..start + tag[start..].find('"').unwrap()]
}

#[test]
fn the_html_report_opens_in_a_real_browser_with_every_chart_and_its_series() {
    let tmp = tempfile::tempdir().unwrap();
    let s = drilled(tmp.path(), &["--scenario", "error-spike-after-switch"]);
    let page = tmp.path().join("report.html");
    let out = bin()
        .current_dir(root())
        .arg("report")
        .arg(&s)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Markdown still goes to stdout.
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# DRILL report"));
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch, nothing to run.
    for banned in ["<script", "<link", " src=", " href=", "url("] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    let figures: Vec<&str> = html
        .match_indices("<figure ")
        .map(|(i, _)| &html[i..i + html[i..].find('>').unwrap()])
        .collect();
    let gantts: Vec<&str> = figures
        .iter()
        .copied()
        .filter(|f| attr(f, "data-kind") == "gantt")
        .collect();
    // One per phase of blue-green, and the rollback's.
    let names: Vec<&str> = gantts.iter().map(|g| attr(g, "data-name")).collect();
    assert_eq!(names, ["pre-cutover", "window", "post-cutover", "rollback"]);
    let j = journal(&s);
    let rolled = j
        .iter()
        .filter(|e| e["kind"] == "step_started" && e["procedure"] == "rollback")
        .count()
        + j.iter()
            .filter(|e| e["kind"] == "step_waiting" && e["procedure"] == "rollback")
            .count();
    assert_eq!(attr(gantts[3], "data-series"), rolled.to_string());
    let metrics: Vec<&str> = figures
        .iter()
        .copied()
        .filter(|f| attr(f, "data-kind") == "metric")
        .collect();
    assert_eq!(metrics.len(), 6, "one chart per metric of both sides");
    for m in &metrics {
        // Every metric chart marks the switch (the step blue-green's `after-switch`
        // rollback follows), the rollback and the end.
        assert_eq!(attr(m, "data-markers"), "3", "{m}");
    }
    assert_eq!(
        html.matches("switch (switch-dns)").count(),
        metrics.len(),
        "the switch's label on every metric chart"
    );
    let err = metrics
        .iter()
        .find(|m| attr(m, "data-name") == "target-error-rate")
        .unwrap();
    // Its samples, and the thresholds of its two triggers (1 % and the early 0.5 %).
    assert_eq!(attr(err, "data-series"), "3", "{err}");
    assert_eq!(attr(err, "data-periods"), "1", "one breach: {err}");

    // In a real browser: it renders, logs nothing to the console, and its DOM has every
    // chart as SVG.
    let url = format!("file://{}", page.display());
    let shot = tmp.path().join("shot.png");
    let out = chromium(
        &tmp.path().join("profile"),
        &[
            "--window-size=1200,3000",
            &format!("--screenshot={}", shot.display()),
        ],
        &url,
    );
    assert!(out.status.success(), "{out:?}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains(":CONSOLE("), "console output:\n{log}");
    let out = chromium(&tmp.path().join("profile2"), &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert_eq!(dom.matches("<figure ").count(), figures.len());
    assert_eq!(dom.matches("<svg ").count(), figures.len());
}
