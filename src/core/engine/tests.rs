//! Unit tests of the engine: messages in, state and effects out, time passed in by hand.

use super::*;
use crate::core::event::{Mode, Record};
use std::path::Path;

mod hands;
mod rollback;
mod two_person;
mod until;

fn rb(yaml: &str) -> Runbook {
    let l = crate::config::runbook::load_bytes(Path::new("/nonexistent/rb.yaml"), yaml.as_bytes());
    let errors: Vec<String> = l
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    l.runbook.unwrap()
}

const HEAD: &str = "version: 1\ntitle: T\nstrategy: blue-green\nplatforms: {source: {name: S}, target: {name: D}}\n";

fn with_steps(steps: &str, rollback: bool) -> Runbook {
    let mut y = format!("{HEAD}phases:\n  - id: p\n    steps:\n{steps}");
    if rollback {
        y.push_str("rollback:\n  title: Back\n  steps:\n    - {id: back1, title: B1, run: b1, expect: 1m}\n    - {id: back2, title: B2, run: b2, expect: 2m}\n");
    }
    rb(&y)
}

fn kinds(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .map(|e| match e {
            Effect::Journal(j) => format!(
                "{}{}",
                j.kind(),
                j.step().map(|s| format!(":{s}")).unwrap_or_default()
            ),
            Effect::Spawn(s) => format!("spawn:{}", s.step),
            Effect::Kill(s) => format!("kill:{s}"),
            Effect::Finish(o) => format!("finish:{}", o.as_str()),
        })
        .collect()
}

fn exit(step: &str, attempt: u32, code: i32) -> Msg {
    Msg::Exited {
        step: step.into(),
        attempt,
        stage: Stage::Run,
        result: ExecResult::Exit(code),
    }
}

fn auto() -> Config {
    Config {
        auto_ack: true,
        fail_step: None,
    }
}

#[test]
fn steps_wait_for_their_time_then_run_in_order() {
    let r = with_steps(
        "      - {id: a, title: A, at: T-10m, run: a}\n      - {id: b, title: B, at: T+5m, run: b}\n",
        false,
    );
    let mut e = Engine::new(r, auto());
    assert!(
        e.update(Msg::Tick, -11 * 60_000).is_empty(),
        "nothing before a's time"
    );
    assert_eq!(e.next_wakeup(-11 * 60_000), Some(-10 * 60_000));
    let fx = e.update(Msg::Tick, -10 * 60_000);
    assert_eq!(kinds(&fx), ["step_started:a", "spawn:a"]);
    assert!(e.busy());
    let fx = e.update(exit("a", 1, 0), -9 * 60_000);
    assert_eq!(kinds(&fx), ["step_done:a"], "b is not due yet");
    assert_eq!(e.next_wakeup(-9 * 60_000), Some(5 * 60_000));
    let fx = e.update(Msg::Tick, 5 * 60_000);
    assert_eq!(kinds(&fx), ["step_started:b", "spawn:b"]);
    let fx = e.update(exit("b", 1, 0), 6 * 60_000);
    assert_eq!(
        kinds(&fx),
        ["step_done:b", "session_ended", "finish:completed"]
    );
    assert_eq!(e.outcome, Some(Outcome::Completed));
}

#[test]
fn manual_step_waits_for_the_operator_unless_auto_ack() {
    let r = with_steps("      - {id: m, title: M}\n", false);
    let mut e = Engine::new(r.clone(), Config::default());
    assert_eq!(kinds(&e.update(Msg::Tick, 0)), ["step_waiting:m"]);
    assert!(e.needs_operator().unwrap().contains("manual step `m`"));
    let fx = e.update(
        Msg::Ack {
            operator: "ann".into(),
        },
        1000,
    );
    assert_eq!(
        kinds(&fx),
        [
            "step_confirmed:m",
            "step_done:m",
            "session_ended",
            "finish:completed"
        ]
    );
    match &fx[0] {
        Effect::Journal(j) => assert_eq!(j.operator, "ann"),
        _ => unreachable!(),
    }
    let mut e = Engine::new(r, auto());
    let fx = e.update(Msg::Tick, 0);
    assert_eq!(
        kinds(&fx)[..3],
        ["step_waiting:m", "step_confirmed:m", "step_done:m"]
    );
    match &fx[1] {
        Effect::Journal(j) => assert_eq!(j.operator, SYSTEM),
        _ => unreachable!(),
    }
}

#[test]
fn retry_uses_its_count_and_delay_then_pauses() {
    let r = with_steps(
        "      - {id: a, title: A, run: a, on_failure: retry, retries: 2, retry_delay: 30s}\n",
        false,
    );
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    let fx = e.update(exit("a", 1, 1), 1000);
    assert_eq!(kinds(&fx), ["step_failed:a"]);
    assert_eq!(e.next_wakeup(1000), Some(31_000));
    assert!(
        e.update(Msg::Tick, 30_000).is_empty(),
        "the retry waits for its delay"
    );
    assert_eq!(
        kinds(&e.update(Msg::Tick, 31_000)),
        ["step_started:a", "spawn:a"]
    );
    e.update(exit("a", 2, 1), 32_000);
    e.update(Msg::Tick, 62_000);
    let fx = e.update(exit("a", 3, 1), 63_000);
    match &fx[0] {
        Effect::Journal(j) => assert_eq!(j.fields()["next"], "pause", "retries used up"),
        _ => unreachable!(),
    }
    assert!(e.paused.is_some());
    assert!(
        e.update(Msg::Tick, 99_000).is_empty(),
        "a paused run starts nothing"
    );
    // The operator retries: attempt 4.
    let fx = e.update(
        Msg::Retry {
            operator: "ann".into(),
        },
        100_000,
    );
    assert_eq!(kinds(&fx), ["step_retry:a", "step_started:a", "spawn:a"]);
    assert_eq!(e.run_of("a").unwrap().attempts, 4);
}

#[test]
fn continue_records_the_failure_and_goes_on() {
    let r = with_steps(
        "      - {id: a, title: A, run: a, on_failure: continue}\n      - {id: b, title: B, run: b}\n",
        false,
    );
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    let fx = e.update(exit("a", 1, 7), 10);
    assert_eq!(kinds(&fx), ["step_failed:a", "step_started:b", "spawn:b"]);
    match &fx[0] {
        Effect::Journal(j) => assert_eq!(j.fields()["exit_code"], 7),
        _ => unreachable!(),
    }
}

#[test]
fn failure_with_rollback_stops_forward_and_runs_the_procedure_once() {
    let r = with_steps(
        "      - {id: a, title: A, run: a, on_failure: rollback}\n      - {id: b, title: B, run: b}\n",
        true,
    );
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    let fx = e.update(exit("a", 1, 1), 1000);
    assert_eq!(
        kinds(&fx),
        [
            "step_failed:a",
            "rollback_started",
            "step_started:back1",
            "spawn:back1"
        ]
    );
    // A second request while rolling back is journaled and ignored.
    let fx = e.update(
        Msg::Rollback {
            operator: "bob".into(),
            reason: "again".into(),
        },
        1500,
    );
    assert_eq!(kinds(&fx), ["rollback_request_ignored"]);
    let fx = e.update(exit("back1", 1, 0), 2000);
    assert_eq!(
        kinds(&fx),
        ["step_done:back1", "step_started:back2", "spawn:back2"]
    );
    let fx = e.update(exit("back2", 1, 0), 3000);
    assert_eq!(
        kinds(&fx),
        [
            "step_done:back2",
            "rollback_done",
            "session_ended",
            "finish:rolled_back"
        ]
    );
    assert_eq!(
        e.run_of("b").unwrap().state,
        StepState::Pending,
        "no forward step ran after the rollback"
    );
    match &fx[1] {
        Effect::Journal(j) => {
            assert_eq!(j.fields()["planned_s"], 180.0);
            assert_eq!(j.fields()["actual_s"], 2.0);
        }
        _ => unreachable!(),
    }
}

#[test]
fn operator_rollback_kills_the_running_step() {
    let r = with_steps("      - {id: a, title: A, run: a}\n", true);
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    let fx = e.update(
        Msg::Rollback {
            operator: "ann".into(),
            reason: "latency".into(),
        },
        500,
    );
    assert_eq!(
        kinds(&fx),
        [
            "kill:a",
            "step_failed:a",
            "rollback_started",
            "step_started:back1",
            "spawn:back1"
        ]
    );
    // The killed command's late exit changes nothing.
    assert!(
        e.update(
            Msg::Exited {
                step: "a".into(),
                attempt: 1,
                stage: Stage::Run,
                result: ExecResult::Killed
            },
            600
        )
        .is_empty()
    );
}

#[test]
fn injected_failure_never_spawns_the_command() {
    let r = with_steps(
        "      - {id: a, title: A, run: a, on_failure: rollback}\n",
        true,
    );
    let mut e = Engine::new(
        r,
        Config {
            auto_ack: true,
            fail_step: Some("a".into()),
        },
    );
    let fx = e.update(Msg::Tick, 0);
    assert_eq!(
        kinds(&fx)[..3],
        ["step_started:a", "step_failed:a", "rollback_started"]
    );
    assert!(!kinds(&fx).contains(&"spawn:a".to_string()));
}

#[test]
fn verify_then_hold_then_done() {
    let r = with_steps(
        "      - {id: a, title: A, run: a, verify: v, hold: 1h, expect: 1m}\n",
        false,
    );
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    let fx = e.update(exit("a", 1, 0), 1000);
    assert_eq!(kinds(&fx), ["step_verifying:a", "spawn:a"]);
    let fx = e.update(
        Msg::Exited {
            step: "a".into(),
            attempt: 1,
            stage: Stage::Verify,
            result: ExecResult::Exit(0),
        },
        2000,
    );
    assert_eq!(kinds(&fx), ["step_holding:a"]);
    assert_eq!(e.next_wakeup(2000), Some(3_602_000));
    assert!(e.update(Msg::Tick, 3_601_999).is_empty());
    let fx = e.update(Msg::Tick, 3_602_000);
    assert_eq!(kinds(&fx)[0], "step_done:a");
    // The work (command and verify, 2 s) and the hold (1 h) apart, and the screen's figure is
    // the journaled one.
    let Some(Effect::Journal(j)) = fx.first() else {
        panic!("{fx:?}")
    };
    let Event::StepDone { duration, held, .. } = &j.event else {
        panic!("{j:?}")
    };
    assert_eq!(duration.map(|d| d.0), Some(2_000));
    assert_eq!(held.map(|d| d.0), Some(3_600_000));
    assert_eq!(e.run_of("a").and_then(|r| r.took), Some(2_000));
}

#[test]
fn failed_verify_is_a_failure() {
    let r = with_steps("      - {id: a, title: A, run: a, verify: v}\n", false);
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    e.update(exit("a", 1, 0), 1);
    let fx = e.update(
        Msg::Exited {
            step: "a".into(),
            attempt: 1,
            stage: Stage::Verify,
            result: ExecResult::Exit(2),
        },
        2,
    );
    match &fx[0] {
        Effect::Journal(j) => assert!(
            j.fields()["reason"]
                .as_str()
                .unwrap()
                .starts_with("verify failed")
        ),
        _ => unreachable!(),
    }
}

#[test]
fn hold_stops_new_steps_and_skip_moves_on() {
    let r = with_steps(
        "      - {id: a, title: A, run: a}\n      - {id: b, title: B, run: b}\n",
        false,
    );
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    assert_eq!(
        kinds(&e.update(
            Msg::Hold {
                operator: "ann".into(),
                on: true
            },
            1
        )),
        ["hold"]
    );
    assert_eq!(
        kinds(&e.update(exit("a", 1, 0), 2)),
        ["step_done:a"],
        "b does not start while held"
    );
    assert_eq!(
        kinds(&e.update(
            Msg::Hold {
                operator: "ann".into(),
                on: false
            },
            3
        )),
        ["resumed", "step_started:b", "spawn:b"]
    );
    let fx = e.update(
        Msg::Skip {
            operator: "ann".into(),
            reason: "not needed".into(),
        },
        4,
    );
    assert_eq!(
        kinds(&fx),
        [
            "kill:b",
            "step_skipped:b",
            "session_ended",
            "finish:completed"
        ]
    );
}

#[test]
fn late_start_and_projection_follow_delays() {
    let r = with_steps(
        "      - {id: a, title: A, at: T+0:00, run: a, expect: 10m}\n      - {id: b, title: B, at: T+0:10, run: b, expect: 5m}\n",
        false,
    );
    let mut e = Engine::new(r, auto());
    let p = e.projection(0);
    assert_eq!((p.planned_end, p.delay()), (15 * 60_000, 0));
    e.update(Msg::Tick, 0);
    let fx = e.update(exit("a", 1, 0), 14 * 60_000); // a took 14m instead of 10m
    assert_eq!(kinds(&fx), ["step_done:a", "step_started:b", "spawn:b"]);
    match &fx[1] {
        Effect::Journal(j) => assert_eq!(j.fields()["late_s"], 240.0),
        _ => unreachable!(),
    }
    assert_eq!(e.projection(14 * 60_000).delay(), 4 * 60_000);
}

/// Lateness is one figure: when a step's `at` comes before the end the plan gives the step
/// before it, "late" counts from the plan's start (not from `at`), the same for the header's
/// STEP LATE, the row (`step_delay`), the journal's `late_s`, and the projected finish.
#[test]
fn lateness_is_one_figure_from_the_projection() {
    // b is written for T+0:05 but a is planned to take until T+0:10: the plan starts b then.
    let r = with_steps(
        "      - {id: a, title: A, at: T+0:00, run: a, expect: 10m}
      - {id: b, title: B, at: T+0:05, owner: o, expect: 5m}
      - {id: c, title: C, at: T+0:30, run: c, expect: 5m}
",
        false,
    );
    let manual = Config {
        auto_ack: false,
        fail_step: None,
    };
    let mut e = Engine::new(r, manual);
    e.update(Msg::Tick, 0);
    // a runs 3 minutes over: b is pending at T+0:13, 3 minutes late by the plan (8 by `at`).
    let now = 13 * 60_000;
    let p = e.projection(now);
    assert_eq!(p.current_delay, 3 * 60_000);
    assert_eq!(e.step_delay("a", now), 3 * 60_000);
    assert_eq!(e.step_delay("b", now), 3 * 60_000, "not now - at (8m)");
    assert_eq!(p.step_delay(1), e.step_delay("b", now));
    // Slack before c absorbs it: the finish is on plan, c is not late.
    assert_eq!(p.delay(), 0);
    assert_eq!(e.step_delay("c", now), 0);
    let fx = e.update(exit("a", 1, 0), now);
    assert_eq!(kinds(&fx), ["step_done:a", "step_waiting:b"]);
    match &fx[1] {
        Effect::Journal(j) => assert_eq!(j.fields()["late_s"], 180.0),
        _ => unreachable!(),
    }
    // Left waiting until T+0:40 (planned end T+0:15), b is 25 minutes late; it pushes c
    // (due T+0:30) and the finish by the same 10 minutes.
    let now = 40 * 60_000;
    let p = e.projection(now);
    assert_eq!(e.step_delay("b", now), 25 * 60_000);
    assert_eq!(p.current_delay, 25 * 60_000);
    assert_eq!(p.step_delay(2), 10 * 60_000);
    assert_eq!(
        p.delay(),
        10 * 60_000,
        "the finish is as late as its last step"
    );
}

/// A journal record of `kind`, read back as the journal reader would: the fields a test does
/// not care about get neutral values.
fn ev(seq: u64, kind: &str, step: Option<&str>, data: serde_json::Value) -> Record {
    let mut line = serde_json::json!({
        "seq": seq, "at": "", "t": seq as f64, "mode": "drill", "kind": kind, "operator": "system",
    });
    let defaults = match kind {
        "session_started" => {
            serde_json::json!({"runbook": "", "runbook_title": "", "fingerprint": "", "pid": 0, "version": "", "auto_ack": false})
        }
        "step_started" => serde_json::json!({"title": "", "attempt": 1, "command": ""}),
        "step_done" => serde_json::json!({"attempt": 1}),
        "step_failed" => serde_json::json!({"reason": ""}),
        "rollback_started" => {
            serde_json::json!({"reason": "", "procedure": "", "steps": 0, "planned_s": 0.0})
        }
        "session_ended" => {
            serde_json::json!({"exit_code": 3, "reason": "", "planned_finish_t": 0.0})
        }
        _ => serde_json::json!({}),
    };
    let obj = line.as_object_mut().unwrap();
    if let Some(st) = step {
        obj.insert("step".into(), st.into());
    }
    for (k, v) in defaults
        .as_object()
        .unwrap()
        .iter()
        .chain(data.as_object().unwrap())
    {
        obj.insert(k.clone(), v.clone());
    }
    Record::parse(line.to_string().as_bytes()).unwrap()
}

#[test]
fn replay_restores_what_a_done_step_took_from_its_duration() {
    let r = with_steps("      - {id: a, title: A, run: a, hold: 1h}\n", false);
    let recs = [
        ev(1, "session_started", None, serde_json::json!({})),
        ev(2, "step_started", Some("a"), serde_json::json!({})),
        ev(
            3,
            "step_done",
            Some("a"),
            serde_json::json!({"duration_s": 64.0, "held_s": 3600.0}),
        ),
    ];
    let mut e = Engine::new(r, auto());
    e.replay(&recs);
    assert_eq!(e.run_of("a").and_then(|r| r.took), Some(64_000));
}

#[test]
fn replay_marks_running_steps_interrupted_and_never_reruns_done_ones() {
    let r = with_steps(
        "      - {id: a, title: A, run: a}\n      - {id: b, title: B, run: b, rerun_safe: true}\n      - {id: c, title: C, run: c}\n",
        false,
    );
    let events = [
        ev(1, "session_started", None, serde_json::json!({})),
        ev(
            2,
            "step_started",
            Some("a"),
            serde_json::json!({"attempt": 1}),
        ),
        ev(3, "step_done", Some("a"), serde_json::json!({})),
        ev(
            4,
            "step_started",
            Some("b"),
            serde_json::json!({"attempt": 1}),
        ),
    ];
    let mut e = Engine::new(r.clone(), auto());
    e.replay(&events);
    assert_eq!(kinds(&e.resumed()), ["step_interrupted:b"]);
    let fx = e.update(Msg::Tick, 10_000);
    assert_eq!(
        kinds(&fx),
        ["step_started:b", "spawn:b"],
        "rerun_safe step runs again; a does not"
    );
    assert_eq!(e.run_of("b").unwrap().attempts, 2);

    // Not rerun_safe: with auto-ack it fails with a clear reason and pauses.
    let events = [ev(
        1,
        "step_started",
        Some("a"),
        serde_json::json!({"attempt": 1}),
    )];
    let mut e = Engine::new(r.clone(), auto());
    e.replay(&events);
    let fx = e.update(Msg::Tick, 10_000);
    assert_eq!(kinds(&fx), ["step_failed:a"]);
    assert!(
        e.needs_operator()
            .unwrap()
            .contains("not marked rerun_safe")
    );
    // Without auto-ack it waits for the operator, who may confirm it took effect.
    let mut e = Engine::new(r, Config::default());
    e.replay(&events);
    assert!(e.update(Msg::Tick, 10_000).is_empty());
    assert!(
        e.needs_operator()
            .unwrap()
            .contains("was running when the cockpit stopped")
    );
    let fx = e.update(
        Msg::Ack {
            operator: "ann".into(),
        },
        11_000,
    );
    assert_eq!(
        kinds(&fx)[..3],
        ["step_confirmed:a", "step_done:a", "step_started:b"]
    );
}

#[test]
fn replay_continues_a_rollback_at_the_interrupted_step() {
    let r = with_steps(
        "      - {id: a, title: A, run: a, on_failure: rollback}\n",
        true,
    );
    let events = [
        ev(
            1,
            "step_started",
            Some("a"),
            serde_json::json!({"attempt": 1}),
        ),
        ev(
            2,
            "step_failed",
            Some("a"),
            serde_json::json!({"next": "rollback"}),
        ),
        ev(
            3,
            "rollback_started",
            None,
            serde_json::json!({"reason": "x"}),
        ),
        ev(
            4,
            "step_started",
            Some("back1"),
            serde_json::json!({"attempt": 1}),
        ),
        ev(5, "step_done", Some("back1"), serde_json::json!({})),
        ev(
            6,
            "step_started",
            Some("back2"),
            serde_json::json!({"attempt": 1}),
        ),
    ];
    let mut e = Engine::new(r, Config::default());
    e.replay(&events);
    assert!(e.rollback.is_some());
    assert_eq!(e.current(), Some("back2"));
    assert_eq!(
        e.run_of("back1").unwrap().state,
        StepState::Done { at: 5000 }
    );
    let fx = e.update(
        Msg::Retry {
            operator: "ann".into(),
        },
        7000,
    );
    assert_eq!(
        kinds(&fx),
        ["step_retry:back2", "step_started:back2", "spawn:back2"]
    );
}

#[test]
fn ended_session_stays_ended() {
    let r = with_steps("      - {id: a, title: A, run: a}\n", false);
    let mut e = Engine::new(r, auto());
    e.replay(&[ev(
        1,
        "session_ended",
        None,
        serde_json::json!({"outcome": "rolled_back"}),
    )]);
    assert_eq!(e.outcome, Some(Outcome::RolledBack));
    assert!(e.update(Msg::Tick, 0).is_empty());
}

fn canary(on_fail: &str, advance: &str) -> Runbook {
    rb(&format!(
        r#"{HEAD}metrics:
  - {{ id: err, side: target, unit: "%", every: 30s, sim: {{ baseline: 0.05 }} }}
canary:
  set_weight: ["./set-weight.sh", "{{weight}}"]
phases:
  - id: p
    steps:
      - {{ id: s10, title: Ten, at: T+0:00, weight: 10, hold: 2m, gates: ["err < 0.1%"], on_gate_fail: {on_fail}, advance: {advance} }}
      - {{ id: s50, title: Fifty, weight: 50 }}
rollback:
  steps:
    - {{ id: back, title: Back, run: back }}
"#
    ))
}

fn sample(v: f64, at: Ms) -> Msg {
    Msg::Sample {
        metric: "err".into(),
        at,
        value: Ok(v),
    }
}

#[test]
fn canary_stage_sets_its_weight_holds_and_advances_only_on_fresh_passing_gates() {
    let r = canary("pause", "auto");
    let Some(Command::Argv(argv)) = r.step("s10").unwrap().run.clone() else {
        panic!()
    };
    assert_eq!(
        argv,
        ["./set-weight.sh", "10"],
        "{{weight}} is its own argument"
    );
    let mut e = Engine::new(r, auto());
    let fx = e.update(Msg::Tick, 0);
    assert_eq!(kinds(&fx), ["step_started:s10", "spawn:s10"]);
    let fx = e.update(exit("s10", 1, 0), 1000);
    assert_eq!(kinds(&fx), ["canary_weight:s10", "step_holding:s10"]);
    // Healthy data during the hold; then the hold ends with no fresh sample: it waits.
    e.update(sample(0.05, 30_000), 30_000);
    let fx = e.update(Msg::Tick, 121_000);
    assert_eq!(kinds(&fx), ["step_gating:s10"]);
    let fx = e.update(Msg::Tick, 200_000);
    assert!(
        kinds(&fx).is_empty(),
        "stale data never advances a stage: {fx:?}"
    );
    let fx = e.update(sample(0.05, 210_000), 210_000);
    assert_eq!(
        kinds(&fx)[..3],
        ["gate_passed:s10", "step_done:s10", "step_started:s50"]
    );
}

#[test]
fn a_failing_gate_during_the_hold_takes_its_action() {
    let mut e = Engine::new(canary("rollback", "auto"), auto());
    e.update(Msg::Tick, 0);
    e.update(exit("s10", 1, 0), 1000);
    let fx = e.update(sample(0.5, 30_000), 30_000);
    let k = kinds(&fx);
    assert_eq!(k[0], "gate_failed:s10");
    assert!(k.contains(&"rollback_started".to_string()), "{k:?}");

    let mut e = Engine::new(canary("pause", "auto"), auto());
    e.update(Msg::Tick, 0);
    e.update(exit("s10", 1, 0), 1000);
    let fx = e.update(sample(0.5, 30_000), 30_000);
    assert_eq!(kinds(&fx), ["gate_failed:s10"]);
    assert!(e.paused.is_some());
    // Retry sets the weight again.
    let fx = e.update(
        Msg::Retry {
            operator: "ann".into(),
        },
        40_000,
    );
    assert_eq!(
        kinds(&fx),
        ["step_retry:s10", "step_started:s10", "spawn:s10"]
    );
}

#[test]
fn a_key_advanced_stage_waits_for_the_operator_once_gates_hold() {
    let cfg = Config {
        auto_ack: false,
        fail_step: None,
    };
    let mut e = Engine::new(canary("pause", "key"), cfg);
    e.update(Msg::Tick, 0);
    e.update(exit("s10", 1, 0), 1000);
    e.update(Msg::Tick, 121_000);
    e.update(sample(0.05, 130_000), 130_000);
    assert!(
        e.needs_operator()
            .is_some_and(|w| w.contains("advances it with Enter")),
        "{:?}",
        e.needs_operator()
    );
    let fx = e.update(
        Msg::Ack {
            operator: "ann".into(),
        },
        131_000,
    );
    assert_eq!(kinds(&fx)[..2], ["gate_passed:s10", "step_done:s10"]);
}

#[test]
fn trigger_rollback_goes_through_the_engine_exactly_once() {
    let r = rb(&format!(
        r#"{HEAD}metrics:
  - {{ id: err, side: target, unit: "%", every: 30s, sim: {{ baseline: 0.05 }} }}
triggers:
  - {{ id: e, when: err > 1%, for: 1m, action: rollback }}
phases:
  - id: p
    steps:
      - {{ id: a, title: A, at: T+1h }}
rollback:
  steps:
    - {{ id: back, title: Back, run: back }}
"#
    ));
    let mut e = Engine::new(r, auto());
    let mut all = Vec::new();
    for i in 0..=4 {
        all.extend(kinds(&e.update(sample(5.0, i * 30_000), i * 30_000)));
    }
    let n = all.iter().filter(|k| *k == "rollback_started").count();
    assert_eq!(n, 1, "{all:?}");
    assert!(all.contains(&"trigger_breach".to_string()));
    assert!(
        e.rollback
            .as_ref()
            .is_some_and(|r| r.operator == SYSTEM && r.reason.contains("trigger `e`"))
    );
}

#[test]
fn no_rollback_of_any_origin_past_the_point_of_no_return() {
    let r = rb(&format!(
        r#"{HEAD}metrics:
  - {{ id: err, side: target, unit: "%", every: 30s, sim: {{ baseline: 0.05 }} }}
triggers:
  - {{ id: d, when: err > 1%, for: 1m, action: decide, decide: {{ within: 5m, default: rollback }} }}
phases:
  - id: p
    steps:
      - {{ id: decom, title: Decommission, at: T+0:00, point_of_no_return: true }}
      - {{ id: later, title: Later, at: T+2h, run: later, on_failure: rollback }}
rollback:
  steps:
    - {{ id: back, title: Back, run: back }}
"#
    ));
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    let mut all = Vec::new();
    for i in 0..=2 {
        all.extend(kinds(&e.update(sample(5.0, i * 30_000), i * 30_000)));
    }
    assert!(all.contains(&"decision_requested".to_string()), "{all:?}");
    let fx = kinds(&e.update(Msg::Tick, 7 * 60_000));
    assert!(fx.contains(&"rollback_unavailable".to_string()), "{fx:?}");
    assert!(e.rollback.is_none());
    // A step failing with on_failure: rollback past the point of no return stops and asks.
    e.update(Msg::Tick, 2 * 3_600_000);
    let fx = kinds(&e.update(exit("later", 1, 1), 2 * 3_600_000 + 1000));
    assert!(fx.contains(&"rollback_unavailable".to_string()), "{fx:?}");
    assert!(e.paused.is_some() && e.rollback.is_none());
}

#[test]
fn the_rollback_procedure_is_chosen_by_progress_and_kept_on_resume() {
    let r = rb(&format!(
        r#"{HEAD}phases:
  - id: p
    steps:
      - {{ id: freeze, title: Freeze, at: T+0:00, run: freeze }}
      - {{ id: switch, title: Switch, at: T+1:00, run: switch }}
      - {{ id: check, title: Check, at: T+2:00, run: check, on_failure: rollback }}
rollback:
  - id: before-switch
    title: Unfreeze only
    steps:
      - {{ id: unfreeze, title: Unfreeze, run: unfreeze, expect: 2m }}
  - id: after-switch
    title: Switch back and unfreeze
    after: switch
    steps:
      - {{ id: switch-back, title: Switch back, run: back, expect: 5m }}
      - {{ id: unfreeze2, title: Unfreeze, run: unfreeze, expect: 2m }}
"#
    ));
    let mut e = Engine::new(r.clone(), auto());
    e.update(Msg::Tick, 0);
    assert_eq!(e.rollback_procedure().unwrap().id, "before-switch");
    e.update(exit("freeze", 1, 0), 1000);
    e.update(Msg::Tick, 60 * 60_000);
    // The switch has started: it may have taken effect, so its undo applies already.
    assert_eq!(e.rollback_procedure().unwrap().id, "after-switch");
    e.update(exit("switch", 1, 0), 61 * 60_000);
    assert_eq!(e.rollback_procedure().unwrap().id, "after-switch");
    e.update(Msg::Tick, 120 * 60_000);
    let fx = e.update(exit("check", 1, 1), 121 * 60_000);
    let started = fx
        .iter()
        .find_map(|f| match f {
            Effect::Journal(j) if j.kind() == "rollback_started" => Some(j.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(started.fields()["procedure_id"], "after-switch");
    assert_eq!(started.fields()["planned_s"], 420.0);
    assert_eq!(kinds(&fx).last().unwrap(), "spawn:switch-back");
    // Resume from the journal: the same procedure continues, not the first one.
    let events: Vec<Record> = fx
        .iter()
        .filter_map(|f| match f {
            Effect::Journal(j) => Some(j.clone()),
            _ => None,
        })
        .enumerate()
        .map(|(i, j)| Record::new(i as u64 + 1, String::new(), 121 * 60_000, Mode::Drill, j))
        .collect();
    let mut back = Engine::new(r, auto());
    back.replay(&events);
    assert_eq!(back.rollback_procedure().unwrap().id, "after-switch");
    assert_eq!(back.current(), Some("switch-back"));
}

#[test]
fn rollback_needs_adds_the_undo_cost_of_started_steps() {
    let r = rb(&format!(
        r#"{HEAD}phases:
  - id: p
    steps:
      - {{ id: a, title: A, at: T+0:00, run: a, undo_cost: 10m }}
      - {{ id: b, title: B, at: T+1:00, run: b, undo_cost: 1h }}
rollback:
  steps:
    - {{ id: back, title: Back, run: back, expect: 5m }}
"#
    ));
    let mut e = Engine::new(r, auto());
    assert_eq!(e.rollback_needs(), Some(5 * 60_000));
    e.update(Msg::Tick, 0);
    assert_eq!(e.rollback_needs(), Some(15 * 60_000), "a has started");
    e.update(exit("a", 1, 0), 1000);
    e.update(Msg::Tick, 3_600_000);
    assert_eq!(e.rollback_needs(), Some(75 * 60_000), "and b");
}

#[test]
fn a_read_error_is_journaled_when_it_begins_or_changes_and_its_end_once() {
    let mut e = Engine::new(canary("pause", "auto"), auto());
    let fail = |why: &str, at: Ms| Msg::Sample {
        metric: "err".into(),
        at,
        value: Err(why.into()),
    };
    let reads = |fx: &[Effect]| -> Vec<String> {
        kinds(fx)
            .into_iter()
            .filter(|k| k.starts_with("metric_read"))
            .collect()
    };
    assert_eq!(
        reads(&e.update(fail("HTTP 503", 1_000), 1_000)),
        ["metric_read_failed"]
    );
    assert!(
        reads(&e.update(fail("HTTP 503", 31_000), 31_000)).is_empty(),
        "same error: once"
    );
    let fx = e.update(fail("malformed response: no rows", 61_000), 61_000);
    assert_eq!(reads(&fx), ["metric_read_failed"], "another reason");
    let Some(Effect::Journal(j)) = fx.iter().find(|f| matches!(f, Effect::Journal(_))) else {
        panic!("{fx:?}");
    };
    assert!(
        matches!(&j.event, Event::MetricReadFailed { metric, reason } if metric == "err" && reason == "malformed response: no rows"),
        "{j:?}"
    );
    assert_eq!(
        reads(&e.update(sample(0.01, 91_000), 91_000)),
        ["metric_read_recovered"]
    );
    assert!(reads(&e.update(sample(0.01, 121_000), 121_000)).is_empty());
}

/// The rollback remembers the trigger that started it (what the metrics panes keep in view),
/// whether by a breach with no grace, a grace that ran out or a decision answered "roll
/// back"; a resume finds the same trigger from the journal, which does not name it in
/// `rollback_started`, and an operator's rollback names none.
#[test]
fn the_rollback_keeps_its_trigger_and_replay_finds_it_again() {
    let runbook = |action: &str| {
        rb(&format!(
            r#"{HEAD}metrics:
  - {{ id: err, side: target, unit: "%", every: 30s, sim: {{ baseline: 0.05 }} }}
triggers:
  - {{ id: quiet, when: err > 50%, for: 1m, action: alert }}
  - {{ id: e, when: err > 1%, for: 1m, {action} }}
phases:
  - id: p
    steps:
      - {{ id: a, title: A, at: T+1h }}
rollback:
  steps:
    - {{ id: back, title: Back, run: back }}
"#
        ))
    };
    for action in [
        "action: rollback",
        "action: rollback, grace: 2m",
        "action: decide, decide: { within: 5m, default: continue }",
    ] {
        let r = runbook(action);
        let mut e = Engine::new(r.clone(), auto());
        let mut log: Vec<Record> = Vec::new();
        let keep = |fx: Vec<Effect>, t: Ms, log: &mut Vec<Record>| {
            for f in fx {
                if let Effect::Journal(j) = f {
                    let n = log.len() as u64 + 1;
                    log.push(Record::new(n, String::new(), t, Mode::Drill, j));
                }
            }
        };
        let mut t = 0;
        while e.rollback.is_none() && t < 10 * 60_000 {
            let fx = e.update(sample(5.0, t), t);
            keep(fx, t, &mut log);
            if !e.monitor.decisions.is_empty() {
                let fx = e.update(
                    Msg::Decide {
                        operator: "ann".into(),
                        choice: crate::core::runbook::signals::Choice::Rollback,
                        why: Some("reports broken".into()),
                    },
                    t,
                );
                keep(fx, t, &mut log);
            }
            t += 30_000;
        }
        let run = e
            .rollback
            .as_ref()
            .unwrap_or_else(|| panic!("{action}: no rollback"));
        assert_eq!(run.trigger.as_deref(), Some("e"), "{action}");
        let mut back = Engine::new(r, auto());
        back.replay(&log);
        assert_eq!(
            back.rollback.as_ref().and_then(|r| r.trigger.as_deref()),
            Some("e"),
            "{action}: replay"
        );
    }
    // The operator's own rollback: no trigger, live or replayed.
    let r = runbook("action: rollback");
    let mut e = Engine::new(r.clone(), auto());
    let fx = e.update(
        Msg::Rollback {
            operator: "ann".into(),
            reason: "trigger `e` looks wrong to me".into(),
        },
        0,
    );
    assert_eq!(e.rollback.as_ref().unwrap().trigger, None);
    let log: Vec<Record> = fx
        .into_iter()
        .filter_map(|f| match f {
            Effect::Journal(j) => Some(j),
            _ => None,
        })
        .enumerate()
        .map(|(i, j)| Record::new(i as u64 + 1, String::new(), 0, Mode::Drill, j))
        .collect();
    let mut back = Engine::new(r, auto());
    back.replay(&log);
    assert_eq!(back.rollback.as_ref().unwrap().trigger, None);
}

/// Rehearsed times longer than `expect` move the projected finish, the point of no return
/// and the rollback budget, and nothing else: no step is called late for what a drill
/// forecasts, and shorter rehearsals leave the plan as it is.
#[test]
fn rehearsed_times_lengthen_the_projection_and_the_rollback_budget_not_the_lateness() {
    use crate::core::rehearsal::{Drill, Rehearsals};
    const M: Ms = 60_000;
    let r = with_steps(
        "      - {id: a, title: A, at: T+0:00, run: a, expect: 10m}
      - {id: b, title: B, at: T+0:10, run: b, expect: 5m}
      - {id: c, title: C, at: T+0:20, run: c, expect: 5m, point_of_no_return: true}
",
        true,
    );
    let mut e = Engine::new(r, auto());
    let plain = e.projection(0);
    assert_eq!((plain.planned_end, plain.projected_end), (25 * M, 25 * M));
    assert_eq!(plain.rehearsed_extra, 0);
    let fp = e.runbook().fingerprint.clone();
    let drill = |a: Ms, b: Ms, back2: Ms| Drill {
        fingerprint: fp.clone(),
        took: vec![("a".into(), a), ("b".into(), b), ("back2".into(), back2)],
        auto_acked: Vec::new(),
    };
    e.set_rehearsals(Rehearsals::new(
        &fp,
        &[
            drill(20 * M, 3 * M, 7 * M),
            drill(25 * M, 3 * M, 6 * M),
            drill(30 * M, 2 * M, 8 * M),
        ],
    ));
    // a is rehearsed at 25m (the median): b starts at 25 (its 3m stays 5m, the plan's),
    // c waits for it: 30 → 35.
    let p = e.projection(0);
    assert_eq!((p.planned_end, p.projected_end), (25 * M, 35 * M));
    assert_eq!((p.rehearsed_extra, p.delay_by_expect()), (10 * M, 0));
    assert_eq!(p.point_of_no_return, Some(("c".into(), 30 * M)));
    assert_eq!(p.step_delays, [0, 0, 0], "a forecast is not lateness");
    // The rollback: back1 1m as planned, back2 7m rehearsed instead of 2m.
    assert_eq!(e.rollback_needs(), Some(8 * M));
    assert_eq!(e.rollback_rehearsed_extra(), 5 * M);

    // At T+0:12, a (started at 0) has run 2 minutes over its expect: that much is late,
    // the rest is still the rehearsals' forecast.
    e.update(Msg::Tick, 0);
    let p = e.projection(12 * M);
    assert_eq!(p.current_delay, 2 * M);
    assert_eq!(e.step_delay("a", 12 * M), 2 * M);
    assert_eq!(p.projected_end, 35 * M);
    assert_eq!(
        p.delay_by_expect(),
        0,
        "slack before c absorbs a's 2 minutes"
    );
    // Once a is done at T+0:26, only what happened counts for it.
    e.update(exit("a", 1, 0), 26 * M);
    let p = e.projection(26 * M);
    assert_eq!(p.projected_end, 36 * M, "b 26→31, c 31→36");
    assert_eq!(p.rehearsed_extra, 0, "no step ahead is rehearsed longer");
    assert_eq!(p.delay(), 11 * M);
}
