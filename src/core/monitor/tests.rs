//! Unit tests of the monitor: sustained breaches on sample timestamps, gaps, staleness,
//! flapping sources, unknown-data tolerance, grace and veto, decisions, dry runs, the point
//! of no return, baselines and canary gates. Time is plain numbers: no clock, no sleeping.

use super::*;
use crate::core::runbook::signals::Signals;

const S: Ms = 1000;
const M: Ms = 60 * S;

fn signals(yaml_triggers: &str) -> Signals {
    let text = format!(
        r#"version: 1
title: t
strategy: blue-green
platforms: {{ source: {{ name: A }}, target: {{ name: B }} }}
metrics:
  - {{ id: err, side: target, unit: "%", every: 30s, sim: {{ baseline: 0.1 }} }}
  - {{ id: lat, side: target, unit: ms, every: 30s, sim: {{ baseline: 800 }} }}
  - {{ id: src-lat, side: source, unit: ms, every: 30s, sim: {{ baseline: 800 }} }}
triggers:
{yaml_triggers}
phases:
  - id: p
    steps:
      - {{ id: switch, title: Switch, at: T+0:00 }}
      - {{ id: stage, title: Stage, at: T+1:00, weight: 10, run: ["true", "{{weight}}"], gates: ["err < 0.5%", {{ check: "lat < 1000ms", for: 2m }}] }}
      - {{ id: last, title: Last, at: T+2:00 }}
rollback:
  steps:
    - {{ id: back, title: Back }}
"#
    );
    let l = crate::config::runbook::load_bytes(std::path::Path::new("t.yaml"), text.as_bytes());
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    l.runbook.unwrap().signals
}

struct Run {
    m: Monitor,
    done: Vec<String>,
    pnr: Option<String>,
    rolling: bool,
}

impl Run {
    fn new(triggers: &str) -> Self {
        Run {
            m: Monitor::new(&signals(triggers)),
            done: Vec::new(),
            pnr: None,
            rolling: false,
        }
    }

    fn eval(&mut self, now: Ms) -> Vec<Reaction> {
        let done = self.done.clone();
        let f = move |s: &str| done.iter().any(|d| d == s);
        let never = |_: &str| false;
        let ctx = Progress {
            done: &f,
            skipped: &never,
            past_pnr: self.pnr.as_deref(),
            rolling_back: self.rolling,
        };
        self.m.evaluate(now, &ctx)
    }

    /// Feeds `value` for `metric` every 30 s from `from` to `to` (inclusive), evaluating
    /// after each sample; returns everything that happened.
    fn feed(&mut self, metric: &str, from: Ms, to: Ms, value: f64) -> Vec<Reaction> {
        let mut out = Vec::new();
        let mut t = from;
        while t <= to {
            self.m.sample(metric, t, Ok(value), t);
            out.extend(self.eval(t));
            t += 30 * S;
        }
        out
    }

    fn state(&self, id: &str) -> TriggerState {
        self.m
            .triggers
            .iter()
            .find(|t| t.def.id == id)
            .unwrap()
            .state
            .clone()
    }
}

fn kinds(out: &[Reaction]) -> Vec<String> {
    out.iter()
        .map(|o| match o {
            Reaction::Journal(e) => e.kind().to_string(),
            Reaction::Rollback { .. } => "ROLLBACK".into(),
            Reaction::Hold { .. } => "HOLD".into(),
        })
        .collect()
}

const ERR_5M: &str = "  - { id: e, when: err > 1%, for: 5m, action: rollback }";

#[test]
fn breach_must_last_for_the_whole_window_on_sample_times() {
    let mut r = Run::new(ERR_5M);
    let out = r.feed("err", 0, 4 * M + 30 * S, 3.0);
    assert!(
        !kinds(&out).contains(&"ROLLBACK".to_string()),
        "{:?}",
        kinds(&out)
    );
    assert!(matches!(r.state("e"), TriggerState::Pending { held, .. } if held == 4 * M + 30 * S));
    let out = r.feed("err", 5 * M, 5 * M, 3.0);
    assert_eq!(kinds(&out), vec!["trigger_breach", "ROLLBACK"]);
    // Fires once, not on every sample after.
    let out = r.feed("err", 5 * M + 30 * S, 7 * M, 3.0);
    assert!(kinds(&out).is_empty(), "{:?}", kinds(&out));
}

#[test]
fn a_healthy_sample_restarts_the_window_and_flapping_never_fires() {
    let mut r = Run::new(ERR_5M);
    r.feed("err", 0, 4 * M, 3.0);
    r.feed("err", 4 * M + 30 * S, 4 * M + 30 * S, 0.2);
    assert!(matches!(r.state("e"), TriggerState::Ok { .. }));
    let out = r.feed("err", 5 * M, 9 * M, 3.0);
    assert!(!kinds(&out).contains(&"ROLLBACK".to_string()));
    let mut r = Run::new(ERR_5M);
    let mut all = Vec::new();
    for i in 0..60 {
        all.extend(r.feed(
            "err",
            i * 30 * S,
            i * 30 * S,
            if i % 2 == 0 { 3.0 } else { 0.1 },
        ));
    }
    assert!(!kinds(&all).contains(&"trigger_breach".to_string()));
}

#[test]
fn stale_data_is_unknown_never_ok_and_never_rolls_back() {
    let mut r = Run::new(ERR_5M);
    r.feed("err", 0, 2 * M, 3.0);
    // Silence: after stale_after (3 × 30 s) the trigger is UNKNOWN, even though the streak
    // would have reached 5 minutes by now.
    let out = r.eval(7 * M);
    assert!(
        matches!(r.state("e"), TriggerState::Unknown { ref reason, .. } if reason.starts_with("stale"))
    );
    assert!(!kinds(&out).contains(&"ROLLBACK".to_string()));
    // The gap did not count as health: one fresh breaching sample completes the window.
    let out = r.feed("err", 7 * M + 30 * S, 7 * M + 30 * S, 3.0);
    assert_eq!(kinds(&out), vec!["trigger_breach", "ROLLBACK"]);
}

#[test]
fn errors_nan_and_no_data_are_unknown_with_reasons() {
    let mut r = Run::new(ERR_5M);
    r.eval(0);
    assert!(
        matches!(r.state("e"), TriggerState::Unknown { ref reason, .. } if reason == "no data yet")
    );
    r.m.sample("err", 10 * S, Err("HTTP 503: unavailable".into()), 10 * S);
    r.eval(10 * S);
    assert!(
        matches!(r.state("e"), TriggerState::Unknown { ref reason, .. } if reason.contains("HTTP 503"))
    );
    r.m.sample("err", 20 * S, Ok(f64::NAN), 20 * S);
    r.eval(20 * S);
    assert!(
        matches!(r.state("e"), TriggerState::Unknown { ref reason, .. } if reason.contains("NaN"))
    );
}

#[test]
fn on_unknown_acts_once_after_its_tolerance() {
    let mut r = Run::new(
        "  - { id: e, when: err > 1%, for: 5m, action: rollback, on_unknown: { after: 5m, then: hold } }",
    );
    assert!(r.eval(0).is_empty());
    assert!(r.eval(4 * M).is_empty());
    let out = r.eval(5 * M);
    assert_eq!(kinds(&out), vec!["trigger_unknown", "HOLD"]);
    assert!(r.eval(6 * M).is_empty());
    // Fresh data resets the tolerance; unknown time counts from when the value went stale
    // (6m + 90s), not from when someone looked.
    r.feed("err", 6 * M, 6 * M, 0.1);
    assert!(r.eval(10 * M).is_empty());
    assert!(r.eval(12 * M).is_empty());
    assert_eq!(
        kinds(&r.eval(12 * M + 30 * S)),
        vec!["trigger_unknown", "HOLD"]
    );
}

#[test]
fn grace_countdown_rolls_back_on_fresh_breach_and_can_be_vetoed() {
    let t = "  - { id: e, when: err > 1%, for: 1m, action: rollback, grace: 2m }";
    let mut r = Run::new(t);
    let out = r.feed("err", 0, M, 3.0);
    assert_eq!(
        kinds(&out),
        vec!["trigger_breach", "rollback_grace_started"]
    );
    // Next due: the moment the last sample (at 1m) goes stale, before the grace deadline.
    assert_eq!(r.m.next_wakeup(M), Some(M + 90 * S + 1));
    let out = r.feed("err", M + 30 * S, 3 * M, 3.0);
    assert_eq!(kinds(&out), vec!["ROLLBACK"]);

    let mut r = Run::new(t);
    r.feed("err", 0, M, 3.0);
    assert_eq!(kinds(&r.m.veto("ann", M)), vec!["rollback_vetoed"]);
    let out = r.feed("err", M + 30 * S, 5 * M, 3.0);
    assert!(!kinds(&out).contains(&"ROLLBACK".to_string()));

    // Recovered or silent during the grace: called off, never rolled back on old data.
    let mut r = Run::new(t);
    r.feed("err", 0, M, 3.0);
    r.feed("err", M + 30 * S, M + 30 * S, 0.1);
    let out = r.eval(3 * M);
    assert_eq!(kinds(&out), vec!["rollback_grace_cancelled"]);
    let mut r = Run::new(t);
    r.feed("err", 0, M, 3.0);
    let out = r.eval(3 * M);
    assert!(kinds(&out).contains(&"rollback_grace_cancelled".to_string()));
    assert!(!kinds(&out).contains(&"ROLLBACK".to_string()));
}

#[test]
fn a_veto_holds_for_its_declared_time_then_the_trigger_acts_again() {
    let t = "  - { id: e, when: err > 1%, for: 1m, action: rollback, grace: 2m, veto_for: 10m }";
    let mut r = Run::new(t);
    r.feed("err", 0, M, 3.0);
    let out = r.m.veto("ann", M);
    let Some(Reaction::Journal(e)) = out.first() else {
        panic!("{out:?}")
    };
    assert_eq!(
        e.event,
        Event::RollbackVetoed {
            trigger: "e".into(),
            reason: "trigger `e`: err > 1% (3 > 1 for 1m, 3 samples)".into(),
            until: Some(TTime(11 * M)),
            value: Some(3.0),
            threshold: Some(1.0),
        }
    );
    assert_eq!(
        r.m.veto_of("e").map(|v| (v.by.as_str(), v.until)),
        Some(("ann", 11 * M))
    );
    assert_eq!(
        kinds(&r.m.explain_veto("ann", "e", "known noise")),
        vec!["veto_explained"]
    );
    assert_eq!(
        r.m.veto_of("e").and_then(|v| v.why.as_deref()),
        Some("known noise")
    );
    // The breach goes on: nothing acts while the veto holds, and the next wake-up is its end.
    let out = r.feed("err", M + 30 * S, 10 * M + 30 * S, 3.0);
    assert!(kinds(&out).is_empty(), "{:?}", kinds(&out));
    assert!(matches!(r.state("e"), TriggerState::Breach { .. }));
    // At its end the still-sustained breach starts a fresh grace countdown.
    let out = r.feed("err", 11 * M, 11 * M, 3.0);
    assert_eq!(
        kinds(&out),
        vec!["veto_ended", "trigger_breach", "rollback_grace_started"]
    );
    assert!(r.m.veto_of("e").is_none());
}

#[test]
fn a_veto_ends_when_the_trigger_recovers_and_a_new_breach_acts() {
    let t = "  - { id: e, when: err > 1%, for: 1m, action: rollback, grace: 2m }";
    let mut r = Run::new(t);
    r.feed("err", 0, M, 3.0);
    r.m.veto("ann", M);
    // Without `veto_for` the veto holds 30 minutes.
    assert_eq!(r.m.veto_of("e").map(|v| v.until), Some(31 * M));
    let out = r.feed("err", M + 30 * S, M + 30 * S, 0.2);
    assert_eq!(kinds(&out), vec!["veto_ended", "trigger_recovered"]);
    let out = r.feed("err", 2 * M, 3 * M, 3.0);
    assert_eq!(
        kinds(&out),
        vec!["trigger_breach", "rollback_grace_started"]
    );
}

#[test]
fn a_restored_veto_keeps_a_resumed_trigger_from_acting_until_it_ends() {
    let t = "  - { id: e, when: err > 1%, for: 1m, action: rollback, grace: 2m, veto_for: 10m }";
    // A fresh monitor, as after a resume, with the journal's veto restored.
    let mut r = Run::new(t);
    r.m.restore_veto(
        "e",
        Veto {
            by: "ann".into(),
            at: M,
            until: 11 * M,
            value: Some((3.0, 1.0)),
            why: None,
        },
    );
    let out = r.feed("err", 2 * M, 10 * M + 30 * S, 3.0);
    assert!(kinds(&out).is_empty(), "{:?}", kinds(&out));
    let out = r.feed("err", 11 * M, 11 * M, 3.0);
    assert_eq!(
        kinds(&out),
        vec!["veto_ended", "trigger_breach", "rollback_grace_started"]
    );
}

#[test]
fn decisions_take_the_operator_choice_or_the_default_at_the_deadline() {
    let t = "  - { id: d, when: lat > 2x baseline, baseline: src-lat, for: 1m, action: decide, decide: { within: 10m, default: rollback } }";
    let mut r = Run::new(t);
    for i in 0..=2 {
        r.m.sample("src-lat", i * 30 * S, Ok(800.0), i * 30 * S);
    }
    let out = r.feed("lat", 0, M, 2000.0);
    assert_eq!(kinds(&out), vec!["trigger_breach", "decision_requested"]);
    let out =
        r.m.decide("bob", Choice::Continue, Some("known noise".into()));
    assert_eq!(kinds(&out), vec!["decision_made"]);
    assert!(r.m.decisions.is_empty());

    let mut r = Run::new(t);
    for i in 0..=30 {
        r.m.sample("src-lat", i * 30 * S, Ok(800.0), i * 30 * S);
    }
    r.feed("lat", 0, M, 2000.0);
    assert!(r.eval(10 * M).is_empty() || !kinds(&r.eval(10 * M)).contains(&"ROLLBACK".into()));
    let out = r.eval(11 * M);
    assert_eq!(kinds(&out), vec!["decision_made", "ROLLBACK"]);
}

#[test]
fn a_stale_baseline_metric_makes_the_trigger_unknown() {
    let t = "  - { id: d, when: lat > 2x baseline, baseline: src-lat, for: 1m, action: alert }";
    let mut r = Run::new(t);
    r.feed("lat", 0, 2 * M, 2000.0);
    assert!(
        matches!(r.state("d"), TriggerState::Unknown { ref reason, .. } if reason.contains("baseline `src-lat`"))
    );
}

#[test]
fn dry_run_journals_what_it_would_have_done_and_never_acts() {
    let mut r = Run::new("  - { id: e, when: err > 1%, for: 1m, action: rollback, dry_run: true }");
    let out = r.feed("err", 0, 2 * M, 3.0);
    assert_eq!(kinds(&out), vec!["trigger_dry_run"]);
    let Reaction::Journal(e) = &out[0] else {
        panic!()
    };
    assert_eq!(e.fields()["would"], "rollback");
    assert_eq!(e.fields()["text"], "would have rolled back at T+00:01:00");
}

#[test]
fn past_the_point_of_no_return_a_rollback_trigger_alerts() {
    let mut r = Run::new(ERR_5M);
    r.pnr = Some("decommission".into());
    let out = r.feed("err", 0, 5 * M, 3.0);
    assert_eq!(kinds(&out), vec!["trigger_breach"]);
    let Reaction::Journal(e) = &out[0] else {
        panic!()
    };
    assert_eq!(e.fields()["action"], "alert");
}

#[test]
fn triggers_arm_after_their_step_and_start_fresh() {
    let mut r = Run::new("  - { id: e, when: err > 1%, for: 1m, action: alert, after: switch }");
    let out = r.feed("err", 0, 3 * M, 3.0);
    assert!(kinds(&out).is_empty());
    assert!(matches!(r.state("e"), TriggerState::Inactive(_)));
    r.done.push("switch".into());
    let out = r.feed("err", 3 * M + 30 * S, 3 * M + 30 * S, 3.0);
    assert_eq!(kinds(&out), vec!["trigger_armed"]);
    // Samples from before arming do not count: a minute more is needed.
    let out = r.feed("err", 4 * M, 4 * M + 30 * S, 3.0);
    assert_eq!(kinds(&out), vec!["trigger_breach"]);
}

#[test]
fn a_rollback_cancels_pending_graces_and_decisions() {
    let mut r = Run::new("  - { id: e, when: err > 1%, for: 1m, action: rollback, grace: 5m }");
    r.feed("err", 0, M, 3.0);
    r.rolling = true;
    assert_eq!(kinds(&r.eval(M + S)), vec!["rollback_grace_cancelled"]);
}

#[test]
fn window_mean_baseline_is_captured_and_journaled() {
    let t = "  - { id: w, when: lat 20% above baseline, baseline: { mean: T-10m..T-0 }, for: 1m, action: alert }";
    let mut r = Run::new(t);
    let mut t0 = -10 * M;
    while t0 < 0 {
        r.m.sample("lat", t0, Ok(if t0 < -5 * M { 900.0 } else { 1100.0 }), t0);
        t0 += 30 * S;
    }
    // At the window's end a late answer may still come: it stays open...
    assert!(r.eval(0).is_empty());
    // ...until a sample from after the end arrives (or the metric would be stale).
    r.m.sample("lat", 0, Ok(1300.0), 0);
    let out = r.eval(0);
    assert_eq!(kinds(&out)[0], "baseline_captured");
    assert_eq!(r.m.captured("lat@T-00:10:00..T+00:00:00"), Some(1000.0));
    let out = r.feed("lat", 30 * S, 90 * S, 1300.0);
    assert_eq!(kinds(&out), vec!["trigger_breach"]);
}

/// A baseline whose capture failed is not only journaled: the trigger that needs it says
/// so in its state (what the strip shows) and the monitor answers `baseline_missing`, and a
/// replayed monitor (from the `baseline_missing` record) says the same.
#[test]
fn a_missing_baseline_is_stated_where_its_trigger_is() {
    let t = "  - { id: b, when: lat 20% above baseline, baseline: { at_step: switch, of: src-lat }, for: 1m, action: alert }";
    let mut r = Run::new(t);
    // src-lat never read: nothing to capture when `switch` is done.
    let out = r.m.step_done("switch", 0);
    assert_eq!(kinds(&out), vec!["baseline_missing"]);
    r.done.push("switch".into());
    let key = r.m.triggers[0].baseline_key().map(str::to_string).unwrap();
    assert!(r.m.baseline_missing(&key).is_some());
    r.m.sample("lat", 30 * S, Ok(900.0), 30 * S);
    r.eval(30 * S);
    let reason = match &r.m.triggers[0].state {
        TriggerState::Unknown { reason, .. } => reason.clone(),
        s => panic!("not UNKNOWN: {s:?}"),
    };
    assert!(
        reason.contains("`src-lat` was not captured when `switch` was done"),
        "{reason}"
    );
    // Replay: the record restores it.
    let mut again = Run::new(t);
    let why = match &out[0] {
        Reaction::Journal(e) => e.fields()["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        _ => unreachable!(),
    };
    again.m.restore_baseline_missing(&key, &why);
    assert_eq!(again.m.baseline_missing(&key), Some(why.as_str()));
}

#[test]
fn canary_gates_pass_only_on_fresh_data_from_after_the_stage_began() {
    let mut r = Run::new(ERR_5M);
    r.m.sample("err", 0, Ok(0.1), 0);
    r.m.sample("lat", 0, Ok(500.0), 0);
    r.m.arm_gates("stage", M);
    assert!(
        matches!(r.m.verdict("stage", M), Verdict::Wait(_)),
        "old samples must not pass a gate"
    );
    r.m.sample("err", M + 30 * S, Ok(0.1), M + 30 * S);
    r.m.sample("lat", M + 30 * S, Ok(500.0), M + 30 * S);
    assert_eq!(r.m.verdict("stage", M + 30 * S), Verdict::Pass);
    // Stale: unknown never passes.
    assert!(matches!(r.m.verdict("stage", 10 * M), Verdict::Wait(w) if w.contains("stale")));
    // A violation with `for: 2m` waits, then fails.
    r.m.sample("lat", 2 * M, Ok(1500.0), 2 * M);
    r.m.sample("err", 2 * M, Ok(0.1), 2 * M);
    assert!(matches!(r.m.verdict("stage", 2 * M), Verdict::Wait(_)));
    for i in 1..=4 {
        let t = 2 * M + i * 30 * S;
        r.m.sample("lat", t, Ok(1500.0), t);
        r.m.sample("err", t, Ok(0.1), t);
    }
    assert!(matches!(r.m.verdict("stage", 4 * M), Verdict::Fail(f) if f.contains("lat < 1000ms")));
    // A gate without `for` fails on the first fresh violating sample.
    r.m.arm_gates("stage", 5 * M);
    r.m.sample("err", 5 * M, Ok(0.9), 5 * M);
    r.m.sample("lat", 5 * M, Ok(500.0), 5 * M);
    assert!(matches!(r.m.verdict("stage", 5 * M), Verdict::Fail(f) if f.contains("err < 0.5%")));
}

#[test]
fn gate_views_show_each_value_against_its_limit_with_units_and_the_for_progress() {
    let mut r = Run::new(ERR_5M);
    r.m.arm_gates("stage", M);
    let v = r.m.gate_views("stage", M);
    assert_eq!(v.len(), 2);
    assert!(
        matches!(&v[0].state, GateState::Unknown(w) if w.contains("no data")),
        "{:?}",
        v[0]
    );
    assert_eq!(v[0].value, None, "no number without fresh data");
    r.m.sample("err", M + 30 * S, Ok(0.1), M + 30 * S);
    for i in 0..=2 {
        let t = M + 30 * S + i * 30 * S;
        r.m.sample("lat", t, Ok(1500.0), t);
    }
    let now = 2 * M + 30 * S;
    let v = r.m.gate_views("stage", now);
    assert_eq!(
        (&v[0].text[..], &v[0].unit[..], v[0].value, &v[0].state),
        ("err < 0.5%", "%", Some((0.1, 0.5)), &GateState::Holds)
    );
    assert_eq!(
        (&v[1].unit[..], v[1].value, &v[1].state),
        (
            "ms",
            Some((1500.0, 1000.0)),
            &GateState::Violated {
                held: M,
                needed: 2 * M
            }
        )
    );
    assert_eq!(
        r.m.gates_summary("stage", now),
        "err 0.1 % (limit 0.5 %), lat 1500 ms (limit 1000 ms)"
    );
    for i in 3..=4 {
        let t = M + 30 * S + i * 30 * S;
        r.m.sample("lat", t, Ok(1500.0), t);
        r.m.sample("err", t, Ok(0.1), t);
    }
    let now = 3 * M + 30 * S;
    assert_eq!(r.m.gate_views("stage", now)[1].state, GateState::Failed);
    // The verdict says it with units too.
    assert!(
        matches!(r.m.verdict("stage", now), Verdict::Fail(f) if f.contains("1500 ms (limit 1000 ms)"))
    );
}

#[test]
fn memory_stays_bounded_however_long_the_session() {
    let mut r = Run::new(ERR_5M);
    for i in 0..100_000 {
        r.m.sample("err", i * S, Ok(0.1), i * S);
    }
    assert_eq!(r.m.series[0].samples().len(), store::KEEP);
}
