//! Unit tests of the rollback state machine: how a rollback starts, runs its steps (timeouts,
//! retries, verify, manual confirmation), stops and asks on failure (retry, skip with a
//! reason, abort), never lets a forward step run, finishes with its planned and actual time,
//! and continues after a crash from the journal it wrote.

use super::*;
use crate::core::event::Record;

/// Two forward steps (the second due at T+10m) and a rollback with each kind of step: plain,
/// retried with a verify and a timeout, manual, and one that may fail and go on.
fn fixture() -> Runbook {
    rb(&format!(
        "{HEAD}rollback_window: 48h
phases:
  - id: p
    steps:
      - {{id: a, title: A, at: T+0m, run: a, expect: 1m}}
      - {{id: b, title: B, at: T+10m, run: b, expect: 1m}}
rollback:
  title: Back
  steps:
    - {{id: r1, title: R1, run: r1, expect: 1m, undoes: [a]}}
    - {{id: r2, title: R2, run: r2, verify: v2, expect: 2m, timeout: 5m, on_failure: retry, retries: 1, retry_delay: 10s}}
    - {{id: r3, title: R3 by hand, expect: 1m}}
    - {{id: r4, title: R4, run: r4, expect: 1m, on_failure: continue}}
"
    ))
}

fn ann_rolls_back() -> Msg {
    Msg::Rollback {
        operator: "ann".into(),
        reason: "operator rollback from the cockpit".into(),
    }
}

fn verify(step: &str, attempt: u32, code: i32) -> Msg {
    Msg::Exited {
        step: step.into(),
        attempt,
        stage: Stage::Verify,
        result: ExecResult::Exit(code),
    }
}

fn journal_of<'a>(fx: &'a [Effect], kind: &str) -> &'a Entry {
    fx.iter()
        .find_map(|e| match e {
            Effect::Journal(j) if j.kind() == kind => Some(j),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {kind} in {:?}", kinds(fx)))
}

/// An engine rolling back from T+30s, with `a` stopped and `r1` running.
fn rolling_back(cfg: Config) -> (Engine, Vec<(Ms, Entry)>) {
    let mut e = Engine::new(fixture(), cfg);
    let mut log = Vec::new();
    let mut feed = |e: &mut Engine, m: Msg, t: Ms| {
        let fx = e.update(m, t);
        for f in &fx {
            if let Effect::Journal(j) = f {
                log.push((t, j.clone()));
            }
        }
        fx
    };
    feed(&mut e, Msg::Tick, 0);
    let fx = feed(&mut e, ann_rolls_back(), 30_000);
    assert_eq!(
        kinds(&fx),
        [
            "kill:a",
            "step_failed:a",
            "rollback_started",
            "step_started:r1",
            "spawn:r1"
        ]
    );
    (e, log)
}

fn events(log: &[(Ms, Entry)]) -> Vec<Record> {
    log.iter()
        .enumerate()
        .map(|(i, (t, j))| Record::new(i as u64 + 1, String::new(), *t, Mode::Drill, j.clone()))
        .collect()
}

#[test]
fn a_rollback_runs_each_step_once_in_order_and_records_planned_and_actual_time() {
    let (mut e, _) = rolling_back(Config::default());
    let r = e.rollback.clone().unwrap();
    assert_eq!((r.operator.as_str(), r.started), ("ann", 30_000));
    let fx = e.update(exit("r1", 1, 0), 40_000);
    assert_eq!(
        kinds(&fx),
        ["step_done:r1", "step_started:r2", "spawn:r2"],
        "rollback steps have no `at`: the next starts at once"
    );
    assert_eq!(
        journal_of(&fx, "step_started").fields()["procedure"],
        "rollback"
    );
    // r2's command succeeds, then its verify runs with the same attempt.
    let fx = e.update(exit("r2", 1, 0), 50_000);
    assert_eq!(kinds(&fx), ["step_verifying:r2", "spawn:r2"]);
    let fx = e.update(verify("r2", 1, 0), 55_000);
    assert_eq!(kinds(&fx), ["step_done:r2", "step_waiting:r3"]);
    // A manual rollback step waits for the key, however long.
    assert!(e.update(Msg::Tick, 10 * 60_000).is_empty());
    assert!(e.needs_operator().unwrap().contains("manual step `r3`"));
    let fx = e.update(
        Msg::Ack {
            operator: "bob".into(),
        },
        11 * 60_000,
    );
    assert_eq!(
        kinds(&fx),
        [
            "step_confirmed:r3",
            "step_done:r3",
            "step_started:r4",
            "spawn:r4"
        ]
    );
    assert_eq!(journal_of(&fx, "step_confirmed").operator, "bob");
    let fx = e.update(exit("r4", 1, 0), 12 * 60_000);
    assert_eq!(
        kinds(&fx),
        [
            "step_done:r4",
            "rollback_done",
            "session_ended",
            "finish:rolled_back"
        ]
    );
    let done = journal_of(&fx, "rollback_done");
    assert_eq!(done.fields()["planned_s"], 300.0, "1m + 2m + 1m + 1m");
    assert_eq!(done.fields()["actual_s"], 690.0, "T+0:30 to T+12:00");
    assert!(
        !done.fields().contains_key("failed_steps"),
        "a clean rollback"
    );
    assert_eq!(e.outcome.map(Outcome::exit_code), Some(3));
    assert_eq!(e.rollback.unwrap().ended, Some(12 * 60_000));
}

#[test]
fn no_forward_step_runs_during_or_after_a_rollback() {
    let (mut e, _) = rolling_back(Config::default());
    // `b` falls due at T+10m while the rollback waits on r1.
    assert!(e.update(Msg::Tick, 10 * 60_000).is_empty());
    assert_eq!(e.run_of("b").unwrap().state, StepState::Pending);
    assert_eq!(e.current(), Some("r1"));
    assert_ne!(e.next_step_wakeup(10 * 60_000), Some(10 * 60_000));
    // A late result of the stopped forward step changes nothing.
    assert!(e.update(exit("a", 1, 0), 10 * 60_000 + 1).is_empty());
    assert!(matches!(
        e.run_of("a").unwrap().state,
        StepState::Failed {
            blocking: false,
            ..
        }
    ));
}

#[test]
fn a_second_request_or_a_trigger_during_a_rollback_is_journaled_and_ignored() {
    let (mut e, _) = rolling_back(Config::default());
    let fx = e.update(ann_rolls_back(), 31_000);
    assert_eq!(kinds(&fx), ["rollback_request_ignored"]);
    let j = journal_of(&fx, "rollback_request_ignored");
    assert_eq!(j.operator, "ann");
    assert!(
        j.fields()["why"]
            .as_str()
            .unwrap()
            .contains("already running since T+00:00:30"),
        "{j:?}"
    );
    // A failing rollback step whose `on_failure` is pause never starts another rollback.
    assert_eq!(e.rollback.as_ref().unwrap().started, 30_000);
}

#[test]
fn a_timed_out_step_is_retried_as_declared_then_stops_and_asks() {
    let (mut e, _) = rolling_back(Config::default());
    e.update(exit("r1", 1, 0), 40_000);
    let timed_out = |attempt| Msg::Exited {
        step: "r2".into(),
        attempt,
        stage: Stage::Run,
        result: ExecResult::TimedOut(5 * 60_000),
    };
    let fx = e.update(timed_out(1), 6 * 60_000);
    assert_eq!(kinds(&fx), ["step_failed:r2"]);
    let f = journal_of(&fx, "step_failed");
    assert_eq!(f.fields()["reason"], "timed out after 5m");
    assert_eq!(f.fields()["next"], "retry");
    assert_eq!(f.fields()["procedure"], "rollback");
    assert_eq!(e.next_wakeup(6 * 60_000), Some(6 * 60_000 + 10_000));
    let fx = e.update(Msg::Tick, 6 * 60_000 + 10_000);
    assert_eq!(kinds(&fx), ["step_started:r2", "spawn:r2"]);
    // Reaction of retries: the rollback stops and asks; nothing after r2 starts on its own.
    let fx = e.update(timed_out(2), 12 * 60_000);
    assert_eq!(journal_of(&fx, "step_failed").fields()["next"], "pause");
    let asks = e.needs_operator().unwrap();
    assert!(
        asks.contains("rollback step `r2` failed (timed out after 5m)")
            && asks.contains("retry it, skip it with a reason, or abort"),
        "{asks}"
    );
    assert!(e.update(Msg::Tick, 60 * 60_000).is_empty());
    assert_eq!(e.run_of("r3").unwrap().state, StepState::Pending);
    assert!(
        e.outcome.is_none(),
        "a failed rollback step never ends the run by itself"
    );
    // Retry runs it again (attempt 3); this time it and its verify succeed.
    let fx = e.update(
        Msg::Retry {
            operator: "ann".into(),
        },
        61 * 60_000,
    );
    assert_eq!(kinds(&fx), ["step_retry:r2", "step_started:r2", "spawn:r2"]);
    e.update(exit("r2", 3, 0), 62 * 60_000);
    let fx = e.update(verify("r2", 3, 0), 62 * 60_000);
    assert_eq!(kinds(&fx), ["step_done:r2", "step_waiting:r3"]);
}

#[test]
fn a_failed_verify_is_a_failure_of_the_rollback_step() {
    let (mut e, _) = rolling_back(Config::default());
    e.update(exit("r1", 1, 0), 40_000);
    e.update(exit("r2", 1, 0), 50_000);
    let fx = e.update(verify("r2", 1, 1), 51_000);
    let f = journal_of(&fx, "step_failed");
    assert_eq!(f.fields()["reason"], "verify failed: exit code 1");
    assert_eq!(f.fields()["next"], "retry", "r2 has one retry left");
}

#[test]
fn skipping_a_failed_rollback_step_needs_a_reason_and_the_end_says_it_was_not_clean() {
    let (mut e, _) = rolling_back(Config::default());
    e.update(exit("r1", 1, 0), 40_000);
    e.update(exit("r2", 1, 1), 41_000);
    e.update(Msg::Tick, 51_000);
    e.update(exit("r2", 2, 1), 52_000);
    assert!(e.paused.is_some());
    let fx = e.update(
        Msg::Skip {
            operator: "ann".into(),
            reason: "DNS pointed back by hand in the console".into(),
        },
        60_000,
    );
    assert_eq!(kinds(&fx), ["step_skipped:r2", "step_waiting:r3"]);
    assert_eq!(
        journal_of(&fx, "step_skipped").fields()["reason"],
        "DNS pointed back by hand in the console"
    );
    e.update(
        Msg::Ack {
            operator: "ann".into(),
        },
        61_000,
    );
    // r4 fails and, as declared, the rollback goes on; the end says so.
    let fx = e.update(exit("r4", 1, 7), 62_000);
    assert_eq!(
        kinds(&fx),
        [
            "step_failed:r4",
            "rollback_done",
            "session_ended",
            "finish:rolled_back"
        ]
    );
    let done = journal_of(&fx, "rollback_done");
    assert_eq!(done.fields()["failed_steps"], serde_json::json!(["r4"]));
    assert_eq!(done.fields()["skipped_steps"], serde_json::json!(["r2"]));
    let ended = journal_of(&fx, "session_ended");
    assert!(
        ended.fields()["reason"]
            .as_str()
            .unwrap()
            .contains("not cleanly: failed and passed over: r4; skipped: r2"),
        "{ended:?}"
    );
}

#[test]
fn aborting_a_stuck_rollback_ends_the_run_and_records_where_it_stood() {
    let (mut e, _) = rolling_back(Config::default());
    e.update(exit("r1", 1, 0), 40_000);
    let fx = e.update(
        Msg::Abort {
            operator: "ann".into(),
            reason: "DNS provider down; restoring by hand".into(),
        },
        90_000,
    );
    assert_eq!(
        kinds(&fx),
        [
            "kill:r2",
            "rollback_aborted:r2",
            "session_ended",
            "finish:aborted"
        ]
    );
    let a = journal_of(&fx, "rollback_aborted");
    assert_eq!(a.operator, "ann");
    assert_eq!(a.fields()["done_steps"], serde_json::json!(["r1"]));
    assert_eq!(
        a.fields()["not_done_steps"],
        serde_json::json!(["r2", "r3", "r4"])
    );
    assert_eq!(a.fields()["elapsed_s"], 60.0);
    assert_eq!(e.outcome.map(Outcome::exit_code), Some(1));
    assert_eq!(e.rollback.as_ref().unwrap().aborted, Some(90_000));
    // Nothing happens after the end, whatever arrives.
    assert!(e.update(exit("r2", 1, 0), 91_000).is_empty());
    assert!(e.update(ann_rolls_back(), 92_000).is_empty());
}

#[test]
fn hold_during_a_rollback_stops_the_next_step_until_released() {
    let (mut e, _) = rolling_back(Config::default());
    e.update(
        Msg::Hold {
            operator: "ann".into(),
            on: true,
        },
        35_000,
    );
    let fx = e.update(exit("r1", 1, 0), 40_000);
    assert_eq!(kinds(&fx), ["step_done:r1"], "held: r2 does not start");
    let fx = e.update(
        Msg::Hold {
            operator: "ann".into(),
            on: false,
        },
        45_000,
    );
    assert_eq!(kinds(&fx), ["resumed", "step_started:r2", "spawn:r2"]);
}

#[test]
fn a_crash_mid_rollback_resumes_at_the_interrupted_step_and_reruns_no_finished_one() {
    let (mut e, mut log) = rolling_back(Config::default());
    for (m, t) in [(exit("r1", 1, 0), 40_000), (exit("r2", 1, 0), 50_000)] {
        for f in e.update(m, t) {
            if let Effect::Journal(j) = f {
                log.push((t, j));
            }
        }
    }
    // The process dies while r2's verify runs.
    let mut back = Engine::new(fixture(), Config::default());
    back.replay(&events(&log));
    assert_eq!(back.rollback.as_ref().unwrap().operator, "ann");
    assert_eq!(back.current(), Some("r2"));
    assert_eq!(
        back.run_of("r2").unwrap().state,
        StepState::Interrupted { attempt: 1 }
    );
    assert_eq!(kinds(&back.resumed()), ["step_interrupted:r2"]);
    assert!(back.waits_on_interrupted());
    assert!(
        back.update(Msg::Tick, 60_000).is_empty(),
        "an interrupted step waits for the operator"
    );
    let fx = back.update(
        Msg::Retry {
            operator: "bob".into(),
        },
        70_000,
    );
    assert_eq!(kinds(&fx), ["step_retry:r2", "step_started:r2", "spawn:r2"]);
    assert_eq!(journal_of(&fx, "step_started").fields()["attempt"], 2);
    assert!(matches!(
        back.run_of("r1").unwrap().state,
        StepState::Done { .. }
    ));
    assert_eq!(back.run_of("b").unwrap().state, StepState::Pending);
}

#[test]
fn a_crash_while_a_rollback_step_waits_after_failing_restores_the_rollback_prompt() {
    let (mut e, mut log) = rolling_back(Config::default());
    for (m, t) in [
        (exit("r1", 1, 0), 40_000),
        (exit("r2", 1, 1), 41_000),
        (Msg::Tick, 51_000),
        (exit("r2", 2, 1), 52_000),
    ] {
        for f in e.update(m, t) {
            if let Effect::Journal(j) = f {
                log.push((t, j));
            }
        }
    }
    let mut back = Engine::new(fixture(), Config::default());
    back.replay(&events(&log));
    assert!(back.resumed().is_empty(), "nothing was running");
    let asks = back.needs_operator().unwrap();
    assert!(
        asks.contains("retry it, skip it with a reason, or abort"),
        "{asks}"
    );
    let fx = back.update(
        Msg::Abort {
            operator: "bob".into(),
            reason: "taking over by hand".into(),
        },
        60_000,
    );
    assert_eq!(
        journal_of(&fx, "rollback_aborted").fields()["done_steps"],
        serde_json::json!(["r1"])
    );
    // And an abort is final on the next resume too.
    let mut log2 = log.clone();
    for f in fx {
        if let Effect::Journal(j) = f {
            log2.push((60_000, j));
        }
    }
    let mut again = Engine::new(fixture(), Config::default());
    again.replay(&events(&log2));
    assert_eq!(again.outcome, Some(Outcome::Aborted));
    let r = again.rollback.unwrap();
    assert_eq!(r.aborted, Some(60_000));
    assert_eq!(
        r.aborted_by,
        Some(("bob".to_string(), "taking over by hand".to_string()))
    );
}

/// A rollback step that undoes a forward step applies only once that step was reached:
/// started before `a` ran, the rollback leaves out `r1` (it undoes `a`), journals the steps
/// and planned time it took on, and a resume from its journal restores the same steps.
#[test]
fn a_step_that_undoes_what_never_ran_is_left_out_and_replay_agrees() {
    let mut e = Engine::new(fixture(), Config::default());
    let mut log = Vec::new();
    // Before T+0m nothing has run: `a` is not reached.
    let fx = e.update(ann_rolls_back(), -60_000);
    for f in &fx {
        if let Effect::Journal(j) = f {
            log.push((-60_000, j.clone()));
        }
    }
    let p = e.rollback_procedure().cloned().unwrap();
    let ids: Vec<&str> = e.rollback_steps_of(&p).map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["r2", "r3", "r4"]);
    let run: Vec<&str> = e
        .rollback_run_steps()
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(run, ["r2", "r3", "r4"]);
    let started = journal_of(&fx, "rollback_started");
    assert_eq!(started.fields()["steps"], 3.0);
    assert_eq!(
        started.fields()["planned_s"],
        240.0,
        "2m + 1m + 1m, not r1's"
    );
    assert_eq!(e.current(), Some("r2"), "r1 is not run");
    assert_eq!(e.rollback_needs(), Some(4 * 60_000));
    // The same steps after a crash.
    let mut back = Engine::new(fixture(), Config::default());
    back.replay(&events(&log));
    let run: Vec<&str> = back
        .rollback_run_steps()
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(run, ["r2", "r3", "r4"]);
    assert_eq!(back.current(), Some("r2"));

    // Once `a` has started, r1 is part of it again.
    let (e, _) = rolling_back(Config::default());
    let run: Vec<&str> = e
        .rollback_run_steps()
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(run, ["r1", "r2", "r3", "r4"]);
}

/// An operator's rollback names no trigger; a journal from an older version whose rollback
/// ran a step the rule now leaves out still resumes with that step in it.
#[test]
fn an_old_journal_that_ran_a_left_out_step_resumes_with_it() {
    let mut e = Engine::new(fixture(), Config::default());
    let mut log = Vec::new();
    let fx = e.update(ann_rolls_back(), -60_000);
    assert_eq!(e.rollback.as_ref().unwrap().trigger, None);
    for f in &fx {
        if let Effect::Journal(j) = f {
            log.push((-60_000, j.clone()));
        }
    }
    // What an older version journaled next: r1 ran first.
    let old = Event::StepStarted {
        step: "r1".into(),
        title: "R1".into(),
        attempt: 1,
        late: Default::default(),
        procedure: Some(crate::core::event::Procedure::Rollback),
        command: "r1".into(),
    };
    log.push((-59_000, old.by_system()));
    let mut back = Engine::new(fixture(), Config::default());
    back.replay(&events(&log));
    let run: Vec<&str> = back
        .rollback_run_steps()
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(run, ["r1", "r2", "r3", "r4"]);
    assert!(matches!(
        back.run_of("r1").unwrap().state,
        StepState::Interrupted { .. }
    ));
}
