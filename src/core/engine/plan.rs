//! Projection: when the runbook was planned to finish, and when it will finish given the
//! delays so far. Steps start at their `at` or when the step before ends, whichever is later,
//! and take their `expect` plus any `hold`; the projected finish counts a step's rehearsed
//! time instead of its `expect` where earlier drills took longer.

use super::{Engine, StepState};
use crate::core::time::Ms;

/// Planned against projected finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// Finish with no delays.
    pub planned_end: Ms,
    /// Finish given what happened so far, counting rehearsed times where they exceed
    /// `expect` (see `Engine::set_rehearsals`).
    pub projected_end: Ms,
    /// How much of `projected_end` comes from rehearsed times alone: 0 without
    /// rehearsals, or when every remaining step is rehearsed within its `expect`.
    pub rehearsed_extra: Ms,
    /// How far the current step is behind its own planned end: lateness the operator feels
    /// now, even when slack later in the runbook keeps the overall finish on plan.
    pub current_delay: Ms,
    /// Each forward step's lateness, in runbook order: how far its projected end is behind
    /// its planned end (never negative). The one figure every "late" on screen, in the
    /// journal and headless comes from, so the header, a row and the detail never disagree.
    pub step_delays: Vec<Ms>,
    /// Each forward step's planned start, in runbook order: a step still pending is late
    /// only once this has passed (before, its delay is a forecast, and its row counts down).
    pub planned_starts: Vec<Ms>,
    /// The first point-of-no-return step not yet done, and when it is projected to start:
    /// a rollback is possible until it is confirmed.
    pub point_of_no_return: Option<(String, Ms)>,
}

impl Projection {
    /// How far behind plan (negative: ahead), rehearsed times included.
    pub fn delay(&self) -> Ms {
        self.projected_end - self.planned_end
    }

    /// How far behind plan by the runbook's own `expect`s: the lateness the run has
    /// gathered, without what rehearsals forecast.
    pub fn delay_by_expect(&self) -> Ms {
        self.delay() - self.rehearsed_extra
    }

    /// The lateness of the forward step at `index` (runbook order), 0 for none.
    pub fn step_delay(&self, index: usize) -> Ms {
        self.step_delays.get(index).copied().unwrap_or(0)
    }

    /// How late the step at `index` is at `now`: its delay once it has started or its
    /// planned start has passed; 0 for a step that is not due yet (its lateness is only a
    /// forecast then, which the projected finish already carries).
    pub fn late_now(&self, index: usize, started: bool, now: Ms) -> Ms {
        let due = self.planned_starts.get(index).is_some_and(|p| *p < now);
        if started || due {
            self.step_delay(index)
        } else {
            0
        }
    }
}

/// Each forward step's planned start, in runbook order: its `at`, or when the step before it
/// is planned to end (its start plus `expect` and `hold`), whichever is later.
pub fn planned_starts(rb: &crate::core::runbook::Runbook) -> Vec<Ms> {
    let mut prev_end: Option<Ms> = None;
    rb.steps()
        .map(|step| {
            let start = match (step.at, prev_end) {
                (Some(at), Some(prev)) => at.max(prev),
                (Some(at), None) => at,
                (None, Some(prev)) => prev,
                (None, None) => 0,
            };
            prev_end = Some(start + step.expect.unwrap_or(0) + step.hold.unwrap_or(0));
            start
        })
        .collect()
}

impl Engine {
    /// The projection at T-time `now`.
    ///
    /// Two chains run side by side: one counts each step's `expect` (the plan's own figures;
    /// every lateness comes from it, so a row is never called late for what a rehearsal
    /// forecasts), the other counts the rehearsed time where it is longer (the projected
    /// finish and the point of no return come from it, which is what rehearsing is for).
    pub fn projection(&self, now: Ms) -> Projection {
        let mut planned: Option<Ms> = None;
        let mut projected: Option<Ms> = None;
        let mut rehearsed: Option<Ms> = None;
        let mut current_delay = 0;
        let mut step_delays = Vec::new();
        let mut planned_starts = Vec::new();
        let mut pnr = None;
        let current = if self.rollback.is_none() {
            self.current()
        } else {
            None
        };
        for (step, p_start) in self.rb.steps().zip(self::planned_starts(&self.rb)) {
            let hold = step.hold.unwrap_or(0);
            let work = step.expect.unwrap_or(0) + hold;
            let r_work = self.rehearsed.work(step) + hold;
            planned = Some(p_start + work);
            let run = &self.runs[&step.id];
            // The end of this step on a chain whose previous end is `prev`, if the step
            // takes `work`.
            let end_of = |prev: Option<Ms>, work: Ms| match &run.state {
                StepState::Done { at } => *at,
                StepState::Skipped { .. }
                | StepState::Failed {
                    blocking: false, ..
                } => prev.unwrap_or(p_start),
                StepState::Running { .. } | StepState::Waiting => {
                    let s = run.started.unwrap_or(now);
                    (s + work).max(now)
                }
                _ => {
                    let earliest = prev.map_or(now, |p| p.max(now));
                    step.at.map_or(earliest, |at| at.max(earliest)) + work
                }
            };
            let end = end_of(projected, work);
            let r_end = end_of(rehearsed, r_work);
            if step.point_of_no_return
                && pnr.is_none()
                && !matches!(
                    run.state,
                    StepState::Done { .. } | StepState::Skipped { .. }
                )
            {
                pnr = Some((step.id.clone(), (r_end - r_work).max(now)));
            }
            projected = Some(end);
            rehearsed = Some(r_end);
            // A skipped step, or one that failed and was passed over, is no later than the
            // step before it: its "end" is borrowed from there.
            let delay = match run.state {
                StepState::Skipped { .. }
                | StepState::Failed {
                    blocking: false, ..
                } => 0,
                _ => (end - p_start - work).max(0),
            };
            step_delays.push(delay);
            planned_starts.push(p_start);
            if current == Some(step.id.as_str()) {
                current_delay = delay;
            }
        }
        let by_expect = projected.unwrap_or(0);
        let projected_end = rehearsed.unwrap_or(0).max(by_expect);
        Projection {
            planned_end: planned.unwrap_or(0),
            projected_end,
            rehearsed_extra: projected_end - by_expect,
            current_delay,
            step_delays,
            planned_starts,
            point_of_no_return: pnr,
        }
    }
}

impl Engine {
    /// How late forward step `id` is at `now` (see `Projection::step_delays`); 0 for a
    /// rollback step, which has no plan to be late against.
    pub fn step_delay(&self, id: &str, now: Ms) -> Ms {
        match self.rb.steps().position(|s| s.id == id) {
            Some(i) => {
                let started = self.runs.get(id).is_some_and(|r| r.first_start.is_some());
                self.projection(now).late_now(i, started, now)
            }
            None => 0,
        }
    }

    /// The forward step marked `point_of_no_return` that is done, if any, and when.
    pub fn point_of_no_return_passed(&self) -> Option<(&str, Ms)> {
        self.rb
            .steps()
            .filter(|s| s.point_of_no_return)
            .find_map(|s| match self.runs[&s.id].state {
                StepState::Done { at } => Some((s.id.as_str(), at)),
                _ => None,
            })
    }
}
