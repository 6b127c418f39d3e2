//! Unit tests of until-steps: a step that waits until a condition on a metric holds on a
//! fresh sample taken since its wait began — never on missing, stale or old data — within its
//! `timeout` of T-time, after its command when it has one; timing out applies its
//! `on_failure`; a resumed session waits on from the journal.

use super::*;
use crate::core::event::Record;
use crate::core::monitor::until::UntilState;

const MIN: Ms = 60_000;

/// `copied` in TB, polled every 5 minutes (stale after 15); `lag` in seconds.
fn fixture(steps: &str) -> Runbook {
    rb(&format!(
        r#"{HEAD}metrics:
  - {{ id: copied, side: target, unit: TB, every: 5m, sim: {{ baseline: 0 }} }}
  - {{ id: lag, side: target, unit: s, every: 1m, sim: {{ baseline: 30 }} }}
phases:
  - id: p
    steps:
{steps}
      - {{ id: after, title: After, run: after }}
rollback:
  steps:
    - {{ id: back, title: Back, run: back }}
"#
    ))
}

fn copied(v: f64, at: Ms) -> Msg {
    Msg::Sample {
        metric: "copied".into(),
        at,
        value: Ok(v),
    }
}

fn journaled(fx: &[Effect]) -> Vec<&Event> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Journal(j) => Some(&j.event),
            _ => None,
        })
        .collect()
}

#[test]
fn waits_through_missing_old_stale_and_short_data_and_is_done_on_a_fresh_sample_that_holds() {
    let r = fixture(
        "      - { id: wait, title: Wait for the copy, at: T+0:00, until: copied >= 5PB, timeout: 2d, on_failure: pause }\n",
    );
    assert!(
        !r.step("wait").unwrap().is_manual(),
        "until-only is not manual"
    );
    let mut e = Engine::new(r, auto());
    // A value from before the wait began already holds: it must not count.
    e.update(copied(6000.0, -MIN), -MIN);
    let fx = e.update(Msg::Tick, 0);
    assert_eq!(kinds(&fx), ["until_waiting:wait"]);
    assert!(matches!(
        journaled(&fx)[0],
        Event::UntilWaiting { condition, deadline, .. }
            if condition == "copied >= 5PB" && deadline.ms() == 2 * 24 * 60 * MIN
    ));
    assert_eq!(e.current(), Some("wait"));
    assert!(!e.busy(), "a wait runs no command");
    assert!(e.needs_operator().is_none(), "a wait needs nobody");
    assert_eq!(
        e.next_step_wakeup(0),
        Some(2 * 24 * 60 * MIN),
        "wakes for the deadline"
    );
    let view = |e: &Engine, now| {
        let u = e.runbook().step("wait").unwrap().until.clone().unwrap();
        e.monitor.until_view(&u, 0, now)
    };
    assert!(
        matches!(view(&e, MIN).state, UntilState::Unknown(ref r) if r.contains("since the wait began"))
    );
    // No data at all since: nothing happens however long it lasts.
    assert!(e.update(Msg::Tick, 30 * MIN).is_empty());
    // Fresh but short of 5 PB (5,000 TB): shown in PB, not done.
    assert!(e.update(copied(3200.0, 35 * MIN), 35 * MIN).is_empty());
    let v = view(&e, 36 * MIN);
    assert_eq!(v.state, UntilState::NotYet);
    assert_eq!(v.progress(), "3.2 / 5 PB");
    assert_eq!(v.age(36 * MIN), Some(MIN));
    // The last value goes stale (after 3 × 5m): UNKNOWN, with the last value still shown.
    let v = view(&e, 60 * MIN);
    assert!(
        matches!(v.state, UntilState::Unknown(ref r) if r.contains("stale")),
        "{v:?}"
    );
    assert_eq!(v.progress(), "UNKNOWN / 5 PB");
    assert!(
        v.summary(60 * MIN).contains("last 3.2 PB"),
        "{}",
        v.summary(60 * MIN)
    );
    // A fresh sample at exactly 5 PB holds (`>=`): done, and the next step starts.
    let fx = e.update(copied(5000.0, 65 * MIN), 65 * MIN);
    assert_eq!(kinds(&fx)[..2], ["until_met:wait", "step_done:wait"]);
    assert_eq!(e.run_of("wait").unwrap().state.word(), "done");
}

#[test]
fn a_failed_read_or_nan_never_holds() {
    let r = fixture(
        "      - { id: wait, title: Wait, at: T+0:00, until: copied >= 5PB, timeout: 2d }\n",
    );
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    let fx = e.update(
        Msg::Sample {
            metric: "copied".into(),
            at: 5 * MIN,
            value: Err("HTTP 503".into()),
        },
        5 * MIN,
    );
    // The failure itself may be journaled (metric_read_failed); the step must not move.
    assert!(
        !kinds(&fx)
            .iter()
            .any(|k| k.starts_with("until_met") || k.starts_with("step_")),
        "{:?}",
        kinds(&fx)
    );
    let u = e.runbook().step("wait").unwrap().until.clone().unwrap();
    let v = e.monitor.until_view(&u, 0, 6 * MIN);
    assert!(
        matches!(v.state, UntilState::Unknown(ref r) if r.contains("HTTP 503")),
        "{v:?}"
    );
    let fx = e.update(copied(f64::NAN, 10 * MIN), 10 * MIN);
    assert!(
        !kinds(&fx)
            .iter()
            .any(|k| k.starts_with("until_met") || k.starts_with("step_")),
        "NaN is not a value: {:?}",
        kinds(&fx)
    );
    assert_eq!(e.current(), Some("wait"));
}

#[test]
fn met_journals_what_it_read_then_the_step_is_done_and_the_run_goes_on() {
    let r = fixture(
        "      - { id: wait, title: Wait, at: T+0:00, until: copied >= 5PB, timeout: 2d }\n",
    );
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    let fx = e.update(copied(5001.0, 10 * MIN), 12 * MIN);
    assert_eq!(
        kinds(&fx),
        [
            "until_met:wait",
            "step_done:wait",
            "step_started:after",
            "spawn:after"
        ]
    );
    match journaled(&fx)[0] {
        Event::UntilMet {
            metric,
            value,
            threshold,
            unit,
            age,
            waited,
            ..
        } => {
            assert_eq!(metric, "copied");
            assert_eq!(
                (*value, *threshold),
                (5001.0, 5000.0),
                "in the metric's unit"
            );
            assert_eq!(unit.as_deref(), Some("TB"));
            assert_eq!(age.ms(), 2 * MIN);
            assert_eq!(waited.ms(), 12 * MIN);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_step_with_a_command_runs_it_first_then_waits() {
    let r = fixture(
        "      - { id: sync, title: Start the sync, at: T+0:00, run: start-sync, until: lag < 1m, timeout: 1h }\n",
    );
    let mut e = Engine::new(r, auto());
    // A sample before the command finished does not count for the wait.
    let fx = e.update(Msg::Tick, 0);
    assert_eq!(kinds(&fx), ["step_started:sync", "spawn:sync"]);
    e.update(
        Msg::Sample {
            metric: "lag".into(),
            at: MIN,
            value: Ok(10.0),
        },
        MIN,
    );
    assert_eq!(e.current(), Some("sync"));
    let fx = e.update(exit("sync", 1, 0), 2 * MIN);
    assert_eq!(kinds(&fx), ["until_waiting:sync"]);
    // 90 s is not under a minute (the threshold converted to the metric's seconds).
    let fx = e.update(
        Msg::Sample {
            metric: "lag".into(),
            at: 3 * MIN,
            value: Ok(90.0),
        },
        3 * MIN,
    );
    assert!(fx.is_empty());
    let fx = e.update(
        Msg::Sample {
            metric: "lag".into(),
            at: 4 * MIN,
            value: Ok(20.0),
        },
        4 * MIN,
    );
    assert_eq!(kinds(&fx)[..2], ["until_met:sync", "step_done:sync"]);
    match journaled(&fx).last() {
        Some(Event::StepStarted { step, .. }) => assert_eq!(step.as_str(), "after"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn timing_out_applies_on_failure_rollback_with_what_it_read() {
    let r = fixture(
        "      - { id: wait, title: Wait, at: T+0:00, until: copied >= 5PB, timeout: 1h, on_failure: rollback }\n",
    );
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    e.update(copied(3200.0, 55 * MIN), 55 * MIN);
    assert!(
        e.update(Msg::Tick, 60 * MIN - 1).is_empty(),
        "not before the deadline"
    );
    let fx = e.update(Msg::Tick, 60 * MIN);
    assert_eq!(
        kinds(&fx)[..3],
        ["step_failed:wait", "rollback_started", "step_started:back"]
    );
    match journaled(&fx)[0] {
        Event::StepFailed {
            reason,
            next,
            cause,
            ..
        } => {
            assert_eq!(*next, OnFailure::Rollback);
            assert_eq!(*cause, Some(Cause::UntilTimedOut));
            assert!(
                reason.contains("did not hold within its timeout of 1h"),
                "{reason}"
            );
            assert!(
                reason.contains("3.2 PB") && reason.contains("5 PB"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn timing_out_on_unknown_data_says_unknown_and_retry_waits_again() {
    let r = fixture(
        "      - { id: wait, title: Wait, at: T+0:00, until: copied >= 5PB, timeout: 1h, on_failure: retry, retries: 1 }\n",
    );
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    let fx = e.update(Msg::Tick, 60 * MIN);
    assert_eq!(kinds(&fx), ["step_failed:wait", "until_waiting:wait"]);
    match journaled(&fx)[0] {
        Event::StepFailed { reason, next, .. } => {
            assert_eq!(*next, OnFailure::Retry);
            assert!(reason.contains("UNKNOWN: no data yet"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    match journaled(&fx)[1] {
        Event::UntilWaiting {
            attempt, deadline, ..
        } => assert_eq!((*attempt, deadline.ms()), (2, 120 * MIN)),
        other => panic!("{other:?}"),
    }
    // The second attempt also times out: retries used up, it pauses for the operator.
    let fx = e.update(Msg::Tick, 120 * MIN);
    assert_eq!(kinds(&fx), ["step_failed:wait"]);
    assert!(e.paused.is_some());
}

#[test]
fn a_rollback_stops_a_waiting_step() {
    let r = fixture(
        "      - { id: wait, title: Wait, at: T+0:00, until: copied >= 5PB, timeout: 1h }\n",
    );
    let mut e = Engine::new(r, auto());
    e.update(Msg::Tick, 0);
    let fx = e.update(
        Msg::Rollback {
            operator: "ann".into(),
            reason: "by hand".into(),
        },
        MIN,
    );
    assert_eq!(
        kinds(&fx)[..3],
        ["step_failed:wait", "rollback_started", "step_started:back"],
        "no kill: nothing runs"
    );
    // A sample that would have met it changes nothing now.
    let fx = e.update(copied(6000.0, 2 * MIN), 2 * MIN);
    assert!(!kinds(&fx).iter().any(|k| k.starts_with("until_met")));
}

/// The journal's records of `fx`, numbered from `seq`, as they are read back on resume.
fn records(fx: &[Effect], seq: &mut u64, t: Ms) -> Vec<Record> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Journal(j) => {
                *seq += 1;
                let rec = Record::new(*seq, String::new(), t, Mode::Drill, j.clone());
                let line = rec.to_json(&|s| s.to_string()).unwrap();
                Some(Record::parse(line.as_bytes()).unwrap())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_resumed_run_waits_on_with_the_deadline_it_journaled() {
    let steps = "      - { id: wait, title: Wait, at: T+0:00, run: start, until: copied >= 5PB, timeout: 1h, on_failure: rollback }\n";
    let mut e = Engine::new(fixture(steps), auto());
    let mut seq = 0;
    let mut journal = records(&e.update(Msg::Tick, 0), &mut seq, 0);
    journal.extend(records(
        &e.update(exit("wait", 1, 0), 2 * MIN),
        &mut seq,
        2 * MIN,
    ));
    assert_eq!(journal.last().unwrap().kind(), "until_waiting");
    // The cockpit dies here. A new one replays the journal.
    let mut e = Engine::new(fixture(steps), auto());
    e.replay(&journal);
    assert!(
        e.resumed().is_empty(),
        "a wait is not a command: nothing was interrupted"
    );
    assert_eq!(
        e.run_of("wait").unwrap().state.until_wait(),
        Some((2 * MIN, 62 * MIN))
    );
    assert_eq!(
        e.run_of("wait").unwrap().started,
        Some(0),
        "its start was the command's"
    );
    assert_eq!(e.next_step_wakeup(10 * MIN), Some(62 * MIN));
    // Its command is not run again; fresh data completes it.
    let fx = e.update(copied(5000.0, 10 * MIN), 10 * MIN);
    assert_eq!(kinds(&fx)[..2], ["until_met:wait", "step_done:wait"]);
    // And a resumed wait that never holds still times out at its journaled deadline.
    let mut e = Engine::new(fixture(steps), auto());
    e.replay(&journal);
    assert!(e.update(Msg::Tick, 61 * MIN).is_empty());
    let fx = e.update(Msg::Tick, 62 * MIN);
    assert_eq!(kinds(&fx)[..2], ["step_failed:wait", "rollback_started"]);
}

#[test]
fn injected_failure_fails_an_until_only_step_without_waiting() {
    let r = fixture(
        "      - { id: wait, title: Wait, at: T+0:00, until: copied >= 5PB, timeout: 1h, on_failure: rollback }\n",
    );
    let mut e = Engine::new(
        r,
        Config {
            auto_ack: true,
            fail_step: Some("wait".into()),
        },
    );
    let fx = e.update(Msg::Tick, 0);
    assert_eq!(kinds(&fx)[..2], ["step_failed:wait", "rollback_started"]);
}
