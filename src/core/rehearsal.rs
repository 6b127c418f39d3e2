//! Rehearsed durations: how long each step took in earlier drills of the same runbook, as
//! plain data for the engine (its projection and rollback budget) and the screens. The shell
//! finds the drills and reads their journals; the report's facts say what each step took;
//! this module only folds those figures, by step id, and answers "how long will it take".
//!
//! A step's rehearsed time is the median of what it took in the drills that finished it (a
//! drill that waited an hour at one step should not move the figure much), and it counts
//! only where it exceeds the step's `expect`: the plan is the floor, rehearsals lengthen it.
//! Steps confirmed by `--auto-ack` took no operator's time, so they teach nothing and are
//! only counted as such.

use crate::core::runbook::Step;
use crate::core::time::{Ms, human};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One earlier drill, as its journal tells it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drill {
    /// The runbook file's SHA-256 the drill ran (its `session_started` fingerprint).
    pub fingerprint: String,
    /// Each step the drill finished (forward or rollback) with how long its work took.
    pub took: Vec<(String, Ms)>,
    /// Steps `--auto-ack` confirmed: done, but their time is not an operator's.
    pub auto_acked: Vec<String>,
}

/// What the drills say of one step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rehearsed {
    /// What it took in each drill that finished it, shortest first.
    pub took: Vec<Ms>,
    /// How many of those drills ran another version of the runbook.
    pub other_version: usize,
    /// Drills in which `--auto-ack` confirmed it (not in `took`).
    pub auto_acked: usize,
}

impl Rehearsed {
    /// The median of `took` (the mean of the middle two for an even count); `None` when
    /// no drill finished it with a time.
    pub fn typical(&self) -> Option<Ms> {
        let n = self.took.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(self.took[n / 2]),
            _ => Some((self.took[n / 2 - 1] + self.took[n / 2]) / 2),
        }
    }

    /// The longest it took.
    pub fn max(&self) -> Option<Ms> {
        self.took.last().copied()
    }
}

/// The rehearsals of a runbook: how many drills, and each step's figures by id. (Serialized,
/// the driver hands them to its watchers, whose screens count them as the driver's does.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rehearsals {
    /// Drills read.
    pub drills: usize,
    /// Of those, how many ran another version of the runbook (a different SHA-256).
    pub other_version: usize,
    steps: BTreeMap<String, Rehearsed>,
}

impl Rehearsals {
    /// Folds `drills` by step id; `fingerprint` is the runbook this session runs, so the
    /// drills of another version can be told apart (steps are still matched by id).
    pub fn new(fingerprint: &str, drills: &[Drill]) -> Self {
        let mut r = Rehearsals {
            drills: drills.len(),
            ..Rehearsals::default()
        };
        for d in drills {
            let other = d.fingerprint != fingerprint;
            r.other_version += usize::from(other);
            for (id, took) in &d.took {
                let s = r.steps.entry(id.clone()).or_default();
                s.took.push(*took);
                s.other_version += usize::from(other);
            }
            for id in &d.auto_acked {
                r.steps.entry(id.clone()).or_default().auto_acked += 1;
            }
        }
        for s in r.steps.values_mut() {
            s.took.sort_unstable();
        }
        r
    }

    /// True when no drill was read.
    pub fn is_empty(&self) -> bool {
        self.drills == 0
    }

    /// What the drills say of step `id`, if any finished it.
    pub fn step(&self, id: &str) -> Option<&Rehearsed> {
        self.steps.get(id)
    }

    /// Step `s`'s rehearsed time where it exceeds its `expect` (none, or zero, when it has
    /// none): the time projections count for it instead.
    pub fn longer(&self, s: &Step) -> Option<Ms> {
        let typical = self.step(&s.id)?.typical()?;
        (typical > s.expect.unwrap_or(0)).then_some(typical)
    }

    /// The time step `s`'s work is counted for in projections: its `expect`, or its
    /// rehearsed time where that is longer.
    pub fn work(&self, s: &Step) -> Ms {
        self.longer(s).unwrap_or(s.expect.unwrap_or(0))
    }

    /// The step detail's line for step `s`, when there are rehearsals: e.g. `rehearsed:
    /// took 18m (3 drills, max 24m) · the projection counts 18m, not 10m`.
    pub fn line(&self, s: &Step) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let drills = |n: usize| format!("{n} drill{}", if n == 1 { "" } else { "s" });
        let Some(r) = self.step(&s.id).filter(|r| !r.took.is_empty()) else {
            let auto = self.step(&s.id).map_or(0, |r| r.auto_acked);
            return Some(if auto > 0 {
                format!(
                    "rehearsed: confirmed by --auto-ack in {} of {}: no time learnt",
                    auto,
                    drills(self.drills)
                )
            } else {
                format!("rehearsed: not finished in any of {}", drills(self.drills))
            });
        };
        let (typical, max) = (r.typical().unwrap_or(0), r.max().unwrap_or(0));
        let mut out = format!("rehearsed: took {}", human(typical));
        if r.took.len() > 1 && max != typical {
            out.push_str(&format!(" ({}, max {})", drills(r.took.len()), human(max)));
        } else {
            out.push_str(&format!(" ({})", drills(r.took.len())));
        }
        if r.other_version > 0 {
            out.push_str(&format!(
                " · {} ran another runbook version",
                r.other_version
            ));
        }
        if let Some(t) = self.longer(s) {
            out.push_str(&format!(
                " · the projection counts {}, {}",
                human(t),
                s.expect
                    .map(|x| format!("not {}", human(x)))
                    .unwrap_or_else(|| "the step has no expect".into()),
            ));
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, expect: Option<Ms>) -> Step {
        use crate::core::runbook::OnFailure;
        Step {
            id: id.into(),
            title: id.into(),
            phase: "p".into(),
            at: None,
            owner: None,
            description: None,
            expect,
            run: None,
            verify: None,
            timeout: 60_000,
            on_failure: OnFailure::Pause,
            retries: 0,
            retry_delay: 0,
            hold: None,
            rerun_safe: false,
            point_of_no_return: false,
            undoes: Vec::new(),
            stage: None,
            until: None,
            undo_cost: None,
            pos: Default::default(),
        }
    }

    fn drill(fp: &str, took: &[(&str, Ms)]) -> Drill {
        Drill {
            fingerprint: fp.into(),
            took: took.iter().map(|(i, t)| (i.to_string(), *t)).collect(),
            auto_acked: Vec::new(),
        }
    }

    const M: Ms = 60_000;

    #[test]
    fn the_median_of_the_drills_counts_where_it_exceeds_expect() {
        let r = Rehearsals::new(
            "a",
            &[
                drill("a", &[("sync", 18 * M), ("dns", 2 * M)]),
                drill("a", &[("sync", 24 * M), ("dns", 3 * M)]),
                drill("b", &[("sync", 12 * M)]),
            ],
        );
        assert_eq!((r.drills, r.other_version), (3, 1));
        let sync = r.step("sync").unwrap();
        assert_eq!(sync.took, [12 * M, 18 * M, 24 * M]);
        assert_eq!((sync.typical(), sync.max()), (Some(18 * M), Some(24 * M)));
        // Even count: the mean of the middle two.
        assert_eq!(r.step("dns").unwrap().typical(), Some(150_000));
        let s = step("sync", Some(10 * M));
        assert_eq!((r.longer(&s), r.work(&s)), (Some(18 * M), 18 * M));
        assert_eq!(
            r.line(&s).unwrap(),
            "rehearsed: took 18m (3 drills, max 24m) · 1 ran another runbook version · the projection counts 18m, not 10m"
        );
        // Shorter than planned: the plan stands.
        let d = step("dns", Some(5 * M));
        assert_eq!((r.longer(&d), r.work(&d)), (None, 5 * M));
        assert_eq!(
            r.line(&d).unwrap(),
            "rehearsed: took 2m30s (2 drills, max 3m)"
        );
        // No expect: any rehearsed time is longer than none.
        assert_eq!(r.work(&step("dns", None)), 150_000);
    }

    #[test]
    fn auto_acked_and_unfinished_steps_teach_no_time() {
        let mut d = drill("a", &[]);
        d.auto_acked.push("go".into());
        let r = Rehearsals::new("a", &[d, drill("a", &[])]);
        let go = step("go", Some(5 * M));
        assert_eq!(r.work(&go), 5 * M);
        assert_eq!(
            r.line(&go).unwrap(),
            "rehearsed: confirmed by --auto-ack in 1 of 2 drills: no time learnt"
        );
        assert_eq!(
            r.line(&step("never", None)).unwrap(),
            "rehearsed: not finished in any of 2 drills"
        );
        // Without drills there is nothing to say.
        assert_eq!(Rehearsals::default().line(&go), None);
        assert_eq!(Rehearsals::default().work(&go), 5 * M);
    }
}
