//! The Redshift → Databricks + Panther runbook drilled through the binary, as its plan
//! says it must behave: which rollback procedure runs at each moment of the cutover (the
//! release failing, after the switch, during the backfill, after Redshift stopped
//! ingesting), that the point of no return is the go-live sign-off after final validation,
//! that a critical business failure rolls back instead of carrying on, that each backfill
//! batch waits for its copy with `until:` and that a copy which never lands times out into
//! its `on_failure`, and that T-times past 99 hours print as days.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;
use common::*;
use serde_json::Value;
use std::collections::HashMap;

struct Drilled {
    code: Option<i32>,
    stdout: String,
    journal: Vec<Value>,
}

impl Drilled {
    fn rollback_procedure(&self) -> Option<&str> {
        self.journal
            .iter()
            .find(|e| e["kind"] == "rollback_started")
            .and_then(|e| e["procedure_id"].as_str())
    }

    /// The rollback steps that ran, in order.
    fn rollback_steps(&self) -> Vec<&str> {
        self.journal
            .iter()
            .filter(|e| e["kind"] == "step_done" && e["procedure"] == "rollback")
            .filter_map(|e| e["step"].as_str())
            .collect()
    }

    fn position(&self, kind: &str, step: &str) -> Option<usize> {
        self.journal
            .iter()
            .position(|e| e["kind"] == kind && e["step"] == step)
    }
}

/// Each scenario (None: the plain drill), drilled side by side.
fn drills(scenarios: &[Option<&'static str>]) -> HashMap<Option<&'static str>, Drilled> {
    let rb = root().join("runbooks/redshift-panther.yaml");
    let handles: Vec<_> = scenarios
        .iter()
        .map(|&sc| {
            let rb = rb.clone();
            std::thread::spawn(move || {
                let tmp = tempfile::tempdir().unwrap();
                let session = tmp.path().join("s");
                let mut c = bin();
                c.env("CUTOVER_HOME", tmp.path().join("home"))
                    .arg("drill")
                    .arg(&rb)
                    .args(["--headless", "--speed", "max", "--auto-ack", "--session"])
                    .arg(&session);
                if let Some(s) = sc {
                    c.args(["--scenario", s]);
                }
                let out = c.output().unwrap();
                let d = Drilled {
                    code: out.status.code(),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    journal: journal(&session),
                };
                assert_journal_contract(&d.journal, "drill");
                (sc, d)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn the_plan_drills_as_an_operator_expects() {
    let all = drills(&[
        None,
        Some("release-fails"),
        Some("errors-after-switch"),
        Some("data-quality-fails"),
        Some("critical-business-fails"),
        Some("backfill-never-finishes"),
    ]);
    let mut why = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            why.push(what);
        }
    };

    // The plain drill: every batch waits for its copy, the point of no return is the go-live
    // sign-off, after every final-validation step, and T-times past 99 hours read as days.
    let plain = &all[&None];
    check(
        plain.code == Some(0),
        format!("plain drill exit {:?}", plain.code),
    );
    for (batch, target) in [
        ("backfill-1", "1.25"),
        ("backfill-2", "2.5"),
        ("backfill-3", "3.75"),
        ("backfill-4", "5"),
    ] {
        let waited = plain.position("until_waiting", batch);
        let met = plain.position("until_met", batch);
        let done = plain.position("step_done", batch);
        check(
            waited.is_some() && waited < met && met < done,
            format!("{batch}: until_waiting {waited:?} < until_met {met:?} < step_done {done:?}"),
        );
        check(
            plain.stdout.lines().any(|l| {
                l.contains(batch)
                    && l.contains(&format!(
                        "holds: backfill-copied {target} PB (target {target} PB"
                    ))
            }),
            format!("{batch}: no `holds: backfill-copied {target} PB` line"),
        );
    }
    let pnr: Vec<&str> = plain
        .journal
        .iter()
        .filter(|e| e["kind"] == "point_of_no_return")
        .filter_map(|e| e["step"].as_str())
        .collect();
    check(pnr == ["go-live"], format!("points of no return: {pnr:?}"));
    let pnr_at = plain.position("point_of_no_return", "go-live");
    for v in [
        "critical-queries",
        "scheduled-queries",
        "data-consistency",
        "load-test",
        "go-live-checklist",
        "backfill-quality",
        "stop-redshift-ingest",
    ] {
        let done = plain.position("step_done", v);
        check(
            done.is_some() && done < pnr_at,
            format!("{v} done at {done:?}, not before the point of no return at {pnr_at:?}"),
        );
    }
    for want in [
        "T+31d 00:00:00  ▶ stop-redshift-ingest",
        "T-14d 00:00:00  ▶ create-workspace",
        " T+48:00:00  ▶ backfill-1",
        "(timeout 8d, at T+10d 00:00:00)",
    ] {
        check(
            plain.stdout.contains(want),
            format!("plain drill output lacks {want:?}"),
        );
    }
    // No clock of 100 hours or more in hours (`T+745:00:00`) anywhere in the output.
    let in_hours = |w: &str| {
        w.strip_prefix("T+")
            .or_else(|| w.strip_prefix("T-"))
            .and_then(|b| b.split(':').next())
            .is_some_and(|h| h.len() >= 3 && h.chars().all(|c| c.is_ascii_digit()))
    };
    let long: Vec<&str> = plain
        .stdout
        .split_whitespace()
        .filter(|w| in_hours(w))
        .collect();
    check(
        long.is_empty(),
        format!("T-times in hours past 99: {long:?}"),
    );

    // The release fails at T-0: Panther never left Redshift; the rollback only announces.
    let d = &all[&Some("release-fails")];
    check(
        d.code == Some(3),
        format!("release-fails exit {:?}", d.code),
    );
    check(
        d.rollback_procedure() == Some("call-off"),
        format!("release-fails ran {:?}", d.rollback_procedure()),
    );
    check(
        d.rollback_steps() == ["announce-call-off"],
        format!("release-fails steps {:?}", d.rollback_steps()),
    );

    // After the switch: Panther switched back, nothing about a backfill.
    let d = &all[&Some("errors-after-switch")];
    check(
        d.rollback_procedure() == Some("switch-back"),
        format!("errors-after-switch ran {:?}", d.rollback_procedure()),
    );
    check(
        d.rollback_steps() == ["panther-back", "redshift-health", "announce-switch-back"],
        format!("errors-after-switch steps {:?}", d.rollback_steps()),
    );

    // During the backfill: the waiting batch is stopped, the copy job cancelled first, then
    // Panther goes back to Redshift (still primary).
    let d = &all[&Some("data-quality-fails")];
    check(
        d.rollback_procedure() == Some("stop-backfill"),
        format!("data-quality-fails ran {:?}", d.rollback_procedure()),
    );
    check(
        d.rollback_steps()
            == [
                "backfill-stop",
                "panther-back-backfill",
                "redshift-health-backfill",
                "announce-backfill-stopped",
            ],
        format!("data-quality-fails steps {:?}", d.rollback_steps()),
    );
    let stopped = d
        .journal
        .iter()
        .find(|e| e["kind"] == "step_failed" && e["step"] == "backfill-2");
    check(
        stopped.is_some_and(|e| e["reason"] == "stopped: rollback started"),
        format!("the waiting batch was not stopped: {stopped:?}"),
    );
    check(
        d.position("until_met", "backfill-2").is_none(),
        "batch 2 met its until after the rollback".into(),
    );

    // A critical business failure in final validation rolls back (not a decision that
    // carries on), restoring Redshift's writes and backlog first.
    let d = &all[&Some("critical-business-fails")];
    check(
        d.code == Some(3),
        format!("critical-business-fails exit {:?}", d.code),
    );
    let breach = d.journal.iter().find(|e| e["kind"] == "trigger_breach");
    check(
        breach.is_some_and(|e| e["trigger"] == "critical-business" && e["action"] == "rollback"),
        format!("critical-business breach: {breach:?}"),
    );
    check(
        d.rollback_procedure() == Some("restore-redshift"),
        format!("critical-business-fails ran {:?}", d.rollback_procedure()),
    );
    check(
        d.rollback_steps()[..2] == ["redshift-writable", "redshift-ingest"],
        format!("critical-business-fails steps {:?}", d.rollback_steps()),
    );
    check(
        d.position("point_of_no_return", "go-live").is_none(),
        "went live anyway".into(),
    );

    // A copy that never lands: batch 3's wait times out (8 days) into its on_failure, pause;
    // the headless drill stops for the data team, resumable.
    let d = &all[&Some("backfill-never-finishes")];
    check(
        d.code == Some(1),
        format!("backfill-never-finishes exit {:?}", d.code),
    );
    let failed = d
        .journal
        .iter()
        .find(|e| e["kind"] == "step_failed" && e["step"] == "backfill-3");
    check(
        failed.is_some_and(|e| {
            e["cause"] == "until_timed_out" && e["next"] == "pause"
            // batch 3 started at T+16d; 8 days on (give or take the command's real time)
            && e["t"].as_f64().is_some_and(|t| (t - 24.0 * 86_400.0).abs() < 60.0)
        }),
        format!("backfill-3 timeout: {failed:?}"),
    );
    check(
        d.journal
            .last()
            .is_some_and(|e| e["kind"] == "session_stopped"),
        "backfill-never-finishes does not end stopped".into(),
    );
    check(
        d.rollback_procedure().is_none(),
        "a slow backfill rolled back".into(),
    );
    assert!(why.is_empty(), "{}", why.join("\n"));
}
