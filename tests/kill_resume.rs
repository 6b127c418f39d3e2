//! `kill -9` of a headless drill at many moments, then resuming the same session: no completed
//! step runs twice, every step ends done, the journal stays valid JSONL whose seq rises by one,
//! a torn last line is repaired, and processes left by the dead drill are stopped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const STEP_SH: &str =
    "#!/bin/sh\necho \"$1 start\" >> runs.log\nsleep 0.3\necho \"$1 end\" >> runs.log\n";

fn setup(dir: &Path, rollback: bool) -> std::path::PathBuf {
    let sh = dir.join("step.sh");
    std::fs::write(&sh, STEP_SH).unwrap();
    std::fs::set_permissions(&sh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut y = format!("{HEAD}phases:\n  - id: p\n    steps:\n");
    for (i, id) in ["s1", "s2", "s3", "m4", "s5", "s6", "s7", "s8"]
        .iter()
        .enumerate()
    {
        if id.starts_with('m') {
            y.push_str(&format!(
                "      - {{id: {id}, title: Manual {id}, at: T+0:{:02}, owner: o, expect: 1m}}\n",
                i * 5
            ));
        } else {
            let fail = if rollback && *id == "s5" {
                ", on_failure: rollback"
            } else {
                ""
            };
            y.push_str(&format!("      - {{id: {id}, title: Step {id}, at: T+0:{:02}, run: ['./step.sh', '{id}'], rerun_safe: true, owner: o, expect: 1m{fail}}}\n", i * 5));
        }
    }
    if rollback {
        y.push_str("rollback:\n  title: Back\n  steps:\n");
        for id in ["r1", "r2", "r3"] {
            y.push_str(&format!("    - {{id: {id}, title: Undo {id}, run: ['./step.sh', '{id}'], rerun_safe: true, expect: 1m}}\n"));
        }
    }
    runbook(dir, &y)
}

fn drill_cmd(rb: &Path, s: &Path, extra: &[&str]) -> std::process::Command {
    let mut c = bin();
    c.arg("drill")
        .arg(rb)
        .args(["--headless", "--speed", "max", "--auto-ack", "--session"])
        .arg(s)
        .args(extra);
    c
}

/// Starts the drill, waits until `cond(journal)` holds, then SIGKILLs it.
fn kill_when(rb: &Path, s: &Path, extra: &[&str], cond: impl Fn(&[Value]) -> bool) -> bool {
    let mut child = spawn(drill_cmd(rb, s, extra));
    let hit = wait_until(Duration::from_secs(20), || {
        cond(&journal(s)) || child.try_wait().ok().flatten().is_some()
    });
    assert!(hit, "condition never met");
    let finished = child.try_wait().ok().flatten().is_some();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    !finished
}

fn count(j: &[Value], kind: &str, step: &str) -> usize {
    j.iter()
        .filter(|e| e["kind"] == kind && e["step"] == step)
        .count()
}

fn check_no_completed_step_ran_twice(dir: &Path, j: &[Value]) {
    let log = std::fs::read_to_string(dir.join("runs.log")).unwrap_or_default();
    for e in j.iter().filter(|e| e["kind"] == "step_done") {
        let id = e["step"].as_str().unwrap();
        let seq = e["seq"].as_u64().unwrap();
        let later_start = j.iter().any(|x| {
            x["kind"] == "step_started" && x["step"] == id && x["seq"].as_u64().unwrap() > seq
        });
        assert!(!later_start, "{id} started again after it was done");
        let starts = log.lines().filter(|l| *l == format!("{id} start")).count();
        // Journaled before spawning, so a kill in between leaves a start that never ran.
        assert!(
            starts <= count(j, "step_started", id),
            "{id}: a run that was not journaled first"
        );
    }
}

#[test]
fn kill_9_at_many_moments_then_resume_completes_without_rerunning_done_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = setup(tmp.path(), false);
    let s = tmp.path().join("session");
    let started =
        |n: usize| move |j: &[Value]| j.iter().filter(|e| e["kind"] == "step_started").count() >= n;
    let lines = |n: usize| move |j: &[Value]| j.len() >= n;
    // Mid-step kills (just after a start is journaled) and between-event kills.
    assert!(kill_when(&rb, &s, &[], started(1)));
    assert!(kill_when(&rb, &s, &[], started(3)));
    let j = journal(&s);
    assert!(kill_when(&rb, &s, &[], lines(j.len() + 2)));
    // A crash that tore the last line.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.join("journal.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut f, br#"{"seq":999,"at":"2026-11-21T00:00:00Z","t":1"#).unwrap();
    drop(f);
    assert!(kill_when(&rb, &s, &[], started(6)));
    let j = journal(&s);
    assert!(
        kinds(&j).contains(&"journal_repaired".to_string()),
        "{:?}",
        kinds(&j)
    );
    assert!(kill_when(&rb, &s, &[], lines(j.len() + 3)));
    check_no_completed_step_ran_twice(tmp.path(), &journal(&s));

    let out = drill_cmd(&rb, &s, &[]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    for id in ["s1", "s2", "s3", "m4", "s5", "s6", "s7", "s8"] {
        assert_eq!(count(&j, "step_done", id), 1, "{id} done exactly once");
    }
    check_no_completed_step_ran_twice(tmp.path(), &j);
    let k = kinds(&j);
    assert!(k.iter().filter(|x| *x == "session_resumed").count() >= 5);
    assert!(
        k.iter().any(|x| x.starts_with("step_interrupted:")),
        "{k:?}"
    );
    assert!(k.contains(&"lock_taken_over".to_string()), "{k:?}");
    assert!(session_processes(&s).is_empty(), "nothing left running");
}

#[test]
fn kill_9_leaves_a_sleeping_step_behind_and_the_resume_stops_it() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            "{HEAD}phases:\n  - id: p\n    steps:\n      - {{id: long, title: Long, run: 'sleep 60', rerun_safe: false, owner: o, expect: 1m}}\n"
        ),
    );
    let s = tmp.path().join("s");
    // Kill once the step's process exists (the start is journaled just before the spawn).
    assert!(kill_when(&rb, &s, &[], |_| !session_processes(&s).is_empty()));
    assert!(
        !session_processes(&s).is_empty(),
        "the orphaned sleep is still there"
    );
    // Resumed with the session as a relative path: the orphan was given the absolute one.
    let out = drill_cmd(&rb, Path::new("s"), &[])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("killed processes left running by the dead cockpit"),
        "{stdout}"
    );
    assert!(stdout.contains("not marked rerun_safe"), "{stdout}");
    assert!(session_processes(&s).is_empty());
    assert_journal_contract(&journal(&s), "drill");
}

#[test]
fn kill_9_during_a_rollback_resumes_the_rollback_at_the_interrupted_step() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = setup(tmp.path(), true);
    let s = tmp.path().join("s");
    let r2_started = |j: &[Value]| {
        j.iter()
            .any(|e| e["kind"] == "step_started" && e["step"] == "r2")
    };
    assert!(kill_when(&rb, &s, &["--fail", "s5"], r2_started));
    let out = drill_cmd(&rb, &s, &["--fail", "s5"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    assert_eq!(count(&j, "step_done", "r1"), 1);
    assert_eq!(
        count(&j, "step_started", "r1"),
        1,
        "completed rollback step not rerun"
    );
    assert_eq!(
        count(&j, "step_started", "r2"),
        2,
        "interrupted rollback step rerun (rerun_safe)"
    );
    assert_eq!(count(&j, "step_done", "r3"), 1);
    assert_eq!(
        j.iter().filter(|e| e["kind"] == "rollback_started").count(),
        1,
        "exactly one rollback"
    );
    for id in ["s6", "s7", "s8"] {
        assert_eq!(
            count(&j, "step_started", id),
            0,
            "no forward step after the rollback"
        );
    }
}

#[test]
fn a_drill_killed_while_a_step_waits_until_resumes_waiting() {
    // `wait` runs its command, then waits until `copied` reaches 20 (one a drill minute, so
    // about T+0:20); at ×600 that is a couple of seconds. The step is not rerun_safe: were the
    // wait taken for an interrupted command, the resumed drill would stop for the operator.
    let dir = tempfile::tempdir().unwrap();
    let sh = dir.path().join("step.sh");
    std::fs::write(&sh, STEP_SH).unwrap();
    std::fs::set_permissions(&sh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let rb = runbook(
        dir.path(),
        &format!(
            "{HEAD}metrics:\n  - {{ id: copied, title: Copied, side: target, unit: TB, every: 1m, sim: {{ baseline: 0, trend: 60 }} }}\nphases:\n  - id: p\n    steps:\n      - {{id: wait, title: Copy then wait, at: T+0:00, run: ['./step.sh', 'wait'], until: copied >= 20TB, timeout: 1h, owner: o, expect: 20m}}\n      - {{id: after, title: After, run: ['./step.sh', 'after'], rerun_safe: true, owner: o, expect: 1m}}\n"
        ),
    );
    let s = dir.path().join("s");
    let fast = ["--speed", "600"];
    let mut child = spawn({
        let mut c = bin();
        c.arg("drill")
            .arg(&rb)
            .args(["--headless", "--auto-ack", "--session"])
            .arg(&s)
            .args(fast);
        c
    });
    let waiting = wait_until(Duration::from_secs(20), || {
        journal(&s)
            .last()
            .is_some_and(|e| e["kind"] == "until_waiting")
    });
    let _ = child.kill(); // SIGKILL, mid-wait
    let _ = child.wait();
    assert!(waiting, "never waited: {:?}", kinds(&journal(&s)));
    let killed_at = journal(&s).last().unwrap()["t"].as_f64().unwrap();
    assert!(killed_at < 20.0 * 60.0, "killed after the wait could end");

    let out = bin()
        .arg("drill")
        .arg(&rb)
        .args(["--headless", "--auto-ack", "--session"])
        .arg(&s)
        .args(fast)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    assert_eq!(
        count(&j, "step_started", "wait"),
        1,
        "its command ran again"
    );
    assert_eq!(
        count(&j, "step_interrupted", "wait"),
        0,
        "a wait is not a command"
    );
    assert_eq!(count(&j, "until_waiting", "wait"), 1);
    let met = j
        .iter()
        .find(|e| e["kind"] == "until_met" && e["step"] == "wait")
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(met["value"].as_f64().unwrap() >= 20.0, "{met}");
    assert!(met["t"].as_f64().unwrap() >= 19.0 * 60.0, "{met}");
    let log = std::fs::read_to_string(dir.path().join("runs.log")).unwrap();
    assert_eq!(log.matches("wait start").count(), 1, "{log}");
    assert!(stdout.contains("holds: copied"), "{stdout}");
}
