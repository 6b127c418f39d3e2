//! Deterministic engine states for snapshots and benchmarks: run a runbook up to a T-time
//! with every command succeeding after a minute, manual steps confirmed when due, and the
//! metrics fed by their drill simulation (no faults).

use super::{Config, Effect, Engine, ExecResult, Msg};
use crate::core::monitor::sim::SimFeed;
use crate::core::runbook::Runbook;
use crate::core::time::Ms;

const MIN: Ms = 60_000;

/// Runs `rb` from its first step up to T-time `until`; stops early when `stop_at` starts (a
/// running command gets one line of output) or waits for the operator.
pub fn run_until(rb: Runbook, until: Ms, stop_at: Option<&str>) -> Engine {
    let start = rb.steps().filter_map(|s| s.at).min().unwrap_or(0).min(0);
    let sim = SimFeed::new(&rb.signals.metrics, &[], start);
    let mut e = Engine::new(rb, Config::default());
    // Samples go in before each step of the demo; what they cause is kept with the step's
    // effects, so a spawn they trigger is never lost.
    let feed_from = |sim: &mut SimFeed, e: &mut Engine, now: Ms| -> Vec<Effect> {
        let mut fx = Vec::new();
        for (metric, at, value) in sim.due(now) {
            fx.extend(e.update(Msg::Sample { metric, at, value }, now));
        }
        fx
    };
    let sim = std::cell::RefCell::new(sim);
    let feed = |e: &mut Engine, now: Ms| feed_from(&mut sim.borrow_mut(), e, now);
    let mut now = start;
    let mut fx = feed(&mut e, now);
    fx.extend(e.update(Msg::Tick, now));
    // An until-step moves one sample at a time: a month-long backfill is thousands of them.
    for _ in 0..200_000 {
        let spawned = fx.iter().find_map(|f| match f {
            Effect::Spawn(s) => Some((s.step.clone(), s.attempt, s.stage)),
            _ => None,
        });
        if let Some((step, attempt, stage)) = spawned {
            if Some(step.as_str()) == stop_at {
                let line = format!("{step}: first line of output");
                e.update(Msg::Output { step, line }, now);
                feed(&mut e, until.max(now));
                return e;
            }
            now += MIN;
            let early = feed(&mut e, now);
            fx = e.update(
                Msg::Exited {
                    step,
                    attempt,
                    stage,
                    result: ExecResult::Exit(0),
                },
                now,
            );
            fx.splice(0..0, early);
            continue;
        }
        if e.needs_operator().is_some() {
            if e.current() == stop_at {
                feed(&mut e, until.max(now));
                return e;
            }
            fx = e.update(
                Msg::Ack {
                    operator: "ann".into(),
                },
                now,
            );
            continue;
        }
        let mut step_due = e.next_step_wakeup(now).filter(|t| *t <= until);
        // An until-step waits for samples: go from one to the next, not to its deadline.
        let waiting = e
            .current()
            .and_then(|id| e.run_of(id))
            .is_some_and(|r| r.state.until_wait().is_some());
        if waiting && let Some(t) = sim.borrow().next_due().filter(|t| *t <= until) {
            step_due = Some(step_due.map_or(t, |s| s.min(t)));
        }
        match step_due {
            Some(t) => {
                now = t.max(now);
                fx = feed(&mut e, now);
                fx.extend(e.update(Msg::Tick, now));
            }
            None => {
                feed(&mut e, until.max(now));
                return e;
            }
        }
    }
    e
}
