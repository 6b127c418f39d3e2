//! Journals written by the release before the typed events (tests/fixtures/journals, each
//! with a README saying how it was made) still read, write, print and resume the same: every
//! line parses into a typed record and is written back byte for byte; the printer gives the
//! old release's lines (plus lines for the two kinds it used to drop silently); a session
//! killed in the middle of a rollback, or of a step, resumes with this version (and with the
//! runbook it was made with: tests/fixtures/journals/runbooks keeps the shipped ones as they were).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use cutover::config::runbook;
use cutover::core::event::{Event, KINDS, Record};
use cutover::core::runbook::Runbook;
use cutover::screen::print;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = root().join("tests/fixtures/journals");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("journal.jsonl").exists())
        .collect();
    out.sort();
    assert!(out.len() >= 10, "fixtures missing in {}", dir.display());
    out
}

fn lines(fixture: &Path) -> Vec<String> {
    std::fs::read_to_string(fixture.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `runbooks/X.yaml` as it was when the fixtures were made (tests/fixtures/journals/runbooks):
/// shipped runbooks have changed since, and a session resumes with the runbook it ran.
fn released(rel: &str) -> PathBuf {
    let name = rel.trim_start_matches("runbooks/");
    let pinned = root().join("tests/fixtures/journals/runbooks").join(name);
    assert!(
        pinned.exists(),
        "no released copy of {rel} at {}",
        pinned.display()
    );
    pinned
}

/// The runbook a fixture was printed with: its own edited copy if it has one.
fn runbook_of(fixture: &Path) -> Runbook {
    let readme = std::fs::read_to_string(fixture.join("README")).unwrap();
    let edited = fixture.join("blue-green-edited.yaml");
    let path = if edited.exists() {
        edited
    } else {
        let rel = readme
            .split_whitespace()
            .find(|w| w.starts_with("runbooks/") && w.ends_with(".yaml"))
            .unwrap_or_else(|| panic!("{}: README names no runbook", fixture.display()));
        released(rel)
    };
    let l = runbook::load(&path);
    l.runbook
        .unwrap_or_else(|| panic!("{}: {:?}", path.display(), l.diagnostics))
}

#[test]
fn every_line_of_the_old_release_reads_typed_and_writes_back_byte_for_byte() {
    let mut seen = BTreeSet::new();
    let mut n = 0;
    for f in fixtures() {
        for (i, line) in lines(&f).iter().enumerate() {
            let rec = Record::parse(line.as_bytes())
                .unwrap_or_else(|e| panic!("{}:{}: {e}", f.display(), i + 1));
            let again = rec.to_json(&|s| s.to_string()).unwrap();
            assert_eq!(&again, line, "{}:{}", f.display(), i + 1);
            seen.insert(rec.kind());
            n += 1;
        }
    }
    assert!(n > 500, "only {n} lines");
    // Every kind is covered but the one no run can be made to write (a task's panic) and
    // those added since the fixtures' release (round-tripped below).
    let missing: Vec<&&str> = KINDS
        .iter()
        .filter(|k| !seen.contains(**k) && **k != "task_panicked" && !SINCE.contains(k))
        .collect();
    assert!(missing.is_empty(), "no fixture line of {missing:?}");
}

/// Kinds added after the release that wrote the fixtures: old versions do not write them.
const SINCE: &[&str] = &[
    "veto_explained",
    "veto_ended",
    "drill_clock",
    "metric_read_failed",
    "metric_read_recovered",
    "until_waiting",
    "until_met",
    "watcher_joined",
    "watcher_left",
    "hand_raised",
    "driver_changed",
    "approval_requested",
    "approval_given",
    "approval_lapsed",
];

#[test]
fn kinds_and_fields_added_since_the_fixtures_write_and_read_back() {
    use cutover::core::time::{Period, TTime};
    let entries = [
        Event::RollbackVetoed {
            trigger: "errors".into(),
            reason: "trigger `errors`: err > 1%".into(),
            until: Some(TTime(31 * 60_000)),
            value: Some(3.5),
            threshold: Some(1.0),
        }
        .by("ann"),
        Event::VetoExplained {
            trigger: "errors".into(),
            why: "known retry storm".into(),
        }
        .by("ann"),
        Event::VetoEnded {
            trigger: "errors".into(),
            why: "the trigger recovered".into(),
        }
        .by_system(),
        Event::DrillClock {}.by_system(),
        Event::MetricReadFailed {
            metric: "err".into(),
            reason: "HTTP 503 from the warehouse".into(),
        }
        .by_system(),
        Event::MetricReadRecovered {
            metric: "err".into(),
        }
        .by_system(),
        Event::StepDone {
            step: "watch".into(),
            attempt: 1,
            duration: Some(Period(60_000)),
            expect: Some(Period(300_000)),
            procedure: None,
            held: Some(Period(3_600_000)),
        }
        .by_system(),
        Event::UntilWaiting {
            step: "backfill-1".into(),
            title: "Backfill batch 1".into(),
            attempt: 2,
            condition: "backfill-copied >= 1.25PB".into(),
            timeout: Period(8 * 86_400_000),
            deadline: TTime(10 * 86_400_000),
            late: cutover::core::event::Late {
                by: Some(Period(120_000)),
                projected_finish: Some(TTime(40 * 86_400_000)),
                planned_finish: Some(TTime(39 * 86_400_000)),
            },
            procedure: None,
        }
        .by_system(),
        Event::UntilMet {
            step: "sync".into(),
            condition: "sync-lag < 1m".into(),
            metric: "sync-lag".into(),
            value: 12.5,
            threshold: 60.0,
            unit: Some("s".into()),
            age: Period(30_000),
            waited: Period(600_000),
            procedure: Some(cutover::core::event::Procedure::Rollback),
        }
        .by_system(),
        Event::StepFailed {
            step: "backfill-2".into(),
            attempt: Some(1),
            reason: "`backfill-copied >= 2.5PB` did not hold within its timeout of 8d".into(),
            next: cutover::core::runbook::OnFailure::Rollback,
            exit_code: None,
            retry_at: None,
            cause: Some(cutover::core::event::Cause::UntilTimedOut),
            procedure: None,
        }
        .by_system(),
        Event::DecisionRequested {
            trigger: "latency".into(),
            reason: "trigger `latency`: p95 > 2x baseline".into(),
            deadline: TTime(5_400_000),
            default: cutover::core::runbook::signals::Choice::Rollback,
            values: [
                (
                    "p95".to_string(),
                    cutover::core::event::Reading {
                        value: Some(2150.0),
                        age: Some(Period(15_000)),
                        unknown: None,
                    },
                ),
                (
                    "err".to_string(),
                    cutover::core::event::Reading {
                        value: None,
                        age: None,
                        unknown: Some("HTTP 503 from the warehouse".into()),
                    },
                ),
            ]
            .into_iter()
            .collect(),
        }
        .by_system(),
        Event::WatcherJoined {
            user: "bob".into(),
            uid: 1001,
        }
        .by("bob"),
        Event::WatcherLeft {
            user: "bob".into(),
            uid: 1001,
        }
        .by("bob"),
        Event::HandRaised {
            reason: "DBA sees lock waits".into(),
        }
        .by("carl")
        .as_user("carl"),
        Event::DriverChanged {
            from: "ann".into(),
            to: "bob".into(),
            how: "handover".into(),
        }
        .by("bob")
        .as_user("bob"),
        Event::ApprovalRequested {
            action: "rollback".into(),
            step: None,
            reason: Some("errors (R pressed)".into()),
            within: Period(300_000),
        }
        .by("ann")
        .as_user("ann"),
        Event::ApprovalGiven {
            action: "skip".into(),
            step: Some("backfill".into()),
        }
        .by("bob")
        .as_user("bob"),
        Event::ApprovalLapsed {
            action: "point_of_no_return".into(),
            step: Some("decom".into()),
            why: "no approver confirmed within 5m".into(),
        }
        .by_system(),
    ];
    let mut kinds = BTreeSet::new();
    for (i, e) in entries.into_iter().enumerate() {
        let rec = Record::new(
            i as u64 + 1,
            "2026-12-01T00:00:00.000Z".into(),
            60_000,
            cutover::core::event::Mode::Drill,
            e,
        );
        let line = rec.to_json(&|s| s.to_string()).unwrap();
        let back = Record::parse(line.as_bytes()).unwrap();
        assert_eq!(back, rec, "{line}");
        assert_eq!(back.to_json(&|s| s.to_string()).unwrap(), line);
        if back.kind() == "approval_requested" {
            // A person's OS user comes after the event's fields, before the chain's `prev`.
            assert!(
                line.ends_with(r#""action":"rollback","reason":"errors (R pressed)","within_s":300.0,"os_user":"ann"}"#),
                "{line}"
            );
        }
        if back.kind() == "decision_requested" {
            assert!(
                line.ends_with(r#""trigger":"latency","values":{"err":{"unknown":"HTTP 503 from the warehouse"},"p95":{"age_s":15.0,"value":2150.0}}}"#),
                "{line}"
            );
        }
        kinds.insert(back.kind().to_string());
    }
    for k in SINCE {
        assert!(kinds.contains(*k), "{k} not round-tripped");
    }
}

#[test]
fn the_printer_prints_what_the_old_release_printed() {
    for f in fixtures() {
        let rb = runbook_of(&f);
        let old = std::fs::read_to_string(f.join("printed.txt")).unwrap();
        let mut now = String::new();
        for line in lines(&f) {
            let rec = Record::parse(line.as_bytes()).unwrap();
            let text = print::event_line(&rb, &rec);
            if let Event::RollbackUnavailable { why, .. } = &rec.event {
                // The old printer dropped this kind without a word; now it has a line.
                let t = text.unwrap();
                assert!(
                    t.contains("rollback refused") && t.contains(why.as_str()),
                    "{t}"
                );
                continue;
            }
            if let Some(t) = text {
                now.push_str(&t);
                now.push('\n');
            }
        }
        assert_eq!(now, in_days(&old), "{}", f.display());
    }
}

/// The old release's printout with its T-times of 100 hours and more as this version
/// writes them (`T+745:00:00` → `T+31d 01:00:00`, right-aligned in the same 11 columns
/// where it fits); every other character must be what it was.
fn in_days(old: &str) -> String {
    old.lines()
        .map(|l| {
            let lead = l.len() - l.trim_start().len();
            let Some((t, rest)) = l.trim_start().split_once("  ") else {
                return l.to_string();
            };
            let parsed = t
                .strip_prefix("T+")
                .map(|b| (1i64, b))
                .or_else(|| t.strip_prefix("T-").map(|b| (-1, b)))
                .and_then(|(sign, b)| {
                    let p: Vec<i64> = b
                        .split(':')
                        .map(|x| x.parse().ok())
                        .collect::<Option<_>>()?;
                    match p.as_slice() {
                        [h, m, s] if *h >= 100 => Some(sign * ((h * 60 + m) * 60 + s) * 1000),
                        _ => None,
                    }
                });
            match parsed {
                Some(ms) if lead + t.len() <= 11 => {
                    format!("{:>11}  {rest}", cutover::core::time::t_clock(ms))
                }
                _ => l.to_string(),
            }
        })
        .map(|l| l + "\n")
        .collect()
}

/// Copies a fixture's session to a fresh folder (journal and lock, as the dead driver left
/// them).
fn session_from(fixture: &str, dir: &Path) -> PathBuf {
    let src = root().join("tests/fixtures/journals").join(fixture);
    let s = dir.join("s");
    std::fs::create_dir_all(s.join("output")).unwrap();
    for name in ["journal.jsonl", "lock"] {
        if src.join(name).exists() {
            std::fs::copy(src.join(name), s.join(name)).unwrap();
        }
    }
    s
}

fn resume(s: &Path, rb: &str) -> std::process::Output {
    bin()
        .current_dir(root())
        .arg("drill")
        .arg(released(rb))
        .args(["--headless", "--speed", "max", "--auto-ack"])
        .args(["--operator", "bob", "--session"])
        .arg(s)
        .output()
        .unwrap()
}

/// The kinds of a journal with the steps they name.
fn shape(j: &[serde_json::Value]) -> Vec<String> {
    kinds(j)
}

#[test]
fn a_session_killed_mid_rollback_by_the_old_release_resumes_as_the_old_release_resumed_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = session_from("mid-rollback", dir.path());
    let before = journal(&s).len();
    let out = resume(&s, "runbooks/blue-green.yaml");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    let k = shape(&j);
    assert_eq!(k.iter().filter(|k| *k == "rollback_started").count(), 1);
    assert_eq!(k.last().unwrap(), "session_ended");
    // What the old release did with the same session, event for event.
    let old: Vec<serde_json::Value> = std::fs::read_to_string(
        root().join("tests/fixtures/journals/mid-rollback-resumed/journal.jsonl"),
    )
    .unwrap()
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    let skip_timing = |v: &[String]| -> Vec<String> {
        // A leftover script may or may not still run when the resume looks for it.
        v.iter()
            .filter(|k| *k != "leftovers_killed")
            .cloned()
            .collect()
    };
    let mut expected = skip_timing(&shape(&old)[before..]);
    // The shipped runbook has been edited since the old release wrote this session (timeouts
    // that cover their steps' `expect`): the resume says so right after it begins, then does
    // what the old release did.
    let recorded = j[0]["fingerprint"].as_str().unwrap();
    let shipped = runbook::load(&released("runbooks/blue-green.yaml"));
    if shipped.runbook.unwrap().fingerprint != recorded {
        expected.insert(1, "runbook_changed".to_string());
    }
    assert_eq!(skip_timing(&k[before..]), expected);
    // The rollback step that was running is run again (it is rerun_safe), the ones done are not.
    let restarted: Vec<&String> = k[before..]
        .iter()
        .filter(|k| k.starts_with("step_started:"))
        .collect();
    let done_before: Vec<&String> = k[..before]
        .iter()
        .filter(|k| k.starts_with("step_done:"))
        .collect();
    for d in done_before {
        let id = d.trim_start_matches("step_done:");
        assert!(
            !restarted
                .iter()
                .any(|r| r.trim_start_matches("step_started:") == id),
            "{id} was done before the kill and ran again"
        );
    }
}

#[test]
fn a_session_killed_mid_step_by_the_old_release_resumes_and_says_what_it_found() {
    let dir = tempfile::tempdir().unwrap();
    let s = session_from("killed-mid-step", dir.path());
    let before = journal(&s).len();
    let out = resume(&s, "runbooks/blue-green.yaml");
    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    let k = shape(&j);
    assert_eq!(k[before], "session_resumed", "{k:?}");
    assert!(
        k[before..].contains(&"lock_taken_over".to_string()),
        "{k:?}"
    );
    assert!(
        k[before..].contains(&"step_interrupted:delta-sync".to_string()),
        "{k:?}"
    );
    // The run goes on from there to an end this version and the journal agree on.
    let ended = j.last().unwrap();
    assert_eq!(ended["kind"], "session_ended", "{out:?}");
    assert_eq!(
        ended["exit_code"].as_i64().map(|c| c as i32),
        out.status.code()
    );
}
