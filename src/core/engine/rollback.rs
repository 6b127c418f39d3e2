//! The rollback: which procedure applies and what it would need now, starting it exactly
//! once (never past the point of no return), finishing it, and abandoning it on the
//! operator's word. The steps themselves run through the same step machine as forward steps
//! (`mod.rs`), with the rollback's rules: no `at` times, no forward step after it starts, and
//! a failure stops and asks.

use super::{Effect, Engine, Outcome, RollbackRun, SYSTEM, StepState};
use crate::core::event::Event;
use crate::core::runbook::Procedure;
use crate::core::runbook::{OnFailure, StepId};
use crate::core::time::{Ms, Period};

impl Engine {
    /// How long a rollback started now would take: the applicable procedure's steps, each
    /// for its `expect` or its rehearsed time where that is longer, plus the `undo_cost` of
    /// every forward step that has started (and was not skipped).
    pub fn rollback_needs(&self) -> Option<Ms> {
        self.needs(true)
    }

    /// How much of `rollback_needs` comes from rehearsed times alone (0 without
    /// rehearsals), so the screens can say the budget counts them.
    pub fn rollback_rehearsed_extra(&self) -> Ms {
        match (self.needs(true), self.needs(false)) {
            (Some(a), Some(b)) => a - b,
            _ => 0,
        }
    }

    /// `rollback_needs`, counting rehearsed times or only `expect`s.
    fn needs(&self, rehearsed: bool) -> Option<Ms> {
        let p = self.rollback_procedure()?;
        let running = self.rollback.is_some();
        let time = |s: &crate::core::runbook::Step| {
            if rehearsed {
                self.rehearsed.work(s)
            } else {
                s.expect.unwrap_or(0)
            }
        };
        let planned: Ms = p
            .steps
            .iter()
            .filter(|s| {
                if running {
                    self.back.contains(&s.id)
                } else {
                    self.rollback_step_applies(s)
                }
            })
            .map(time)
            .sum();
        let extra: Ms = self
            .rb
            .steps()
            .filter(|s| self.reached(&s.id))
            .filter_map(|s| s.undo_cost)
            .sum();
        Some(planned + extra)
    }

    /// The planned time of the running rollback's steps (those it took on when it started).
    pub fn back_planned(&self, p: &Procedure) -> Ms {
        p.steps
            .iter()
            .filter(|s| self.back.contains(&s.id))
            .filter_map(|s| s.expect)
            .sum()
    }

    /// `back_planned` counting each step's rehearsed time where earlier drills took longer
    /// than its `expect`.
    pub fn back_rehearsed(&self, p: &Procedure) -> Ms {
        p.steps
            .iter()
            .filter(|s| self.back.contains(&s.id))
            .map(|s| self.rehearsed.work(s))
            .sum()
    }

    /// The running rollback's steps, in order: the procedure's steps that applied when it
    /// started. Empty before a rollback.
    pub fn rollback_run_steps(&self) -> Vec<&crate::core::runbook::Step> {
        match self.rollback_procedure() {
            Some(p) if self.rollback.is_some() => p
                .steps
                .iter()
                .filter(|s| self.back.contains(&s.id))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The rollback procedure: the one running, or the one that applies now. A procedure's
    /// `after` step counts once it has started: a step that ran may have taken effect even
    /// if it failed or was cut short, and undoing too much is safer than too little.
    pub fn rollback_procedure(&self) -> Option<&Procedure> {
        if let Some(r) = &self.rollback {
            return self.rb.procedure(&r.procedure);
        }
        self.rb.rollback_for(
            |s| self.reached(s),
            |s| {
                self.runs
                    .get(s)
                    .is_some_and(|r| matches!(r.state, StepState::Done { .. }))
            },
        )
    }

    /// True when rollback step `s` has something to do given what ran: a step that names
    /// what it `undoes` applies only once one of those forward steps was reached (lifting a
    /// freeze that never went on would do nothing, or worse, and costs the rollback time);
    /// a step that names none (announce, replay, smoke tests) always applies.
    pub fn rollback_step_applies(&self, s: &crate::core::runbook::Step) -> bool {
        s.undoes.is_empty() || s.undoes.iter().any(|u| self.reached(u))
    }

    /// The steps of procedure `p` that a rollback started now runs, in order (see
    /// `rollback_step_applies`): what the preview lists, what `start_rollback` runs and what
    /// replay restores, from one rule.
    pub fn rollback_steps_of<'a>(
        &self,
        p: &'a Procedure,
    ) -> impl Iterator<Item = &'a crate::core::runbook::Step> + use<'a, '_> {
        p.steps.iter().filter(|s| self.rollback_step_applies(s))
    }

    /// The planned time of the steps of `p` that apply (see `rollback_steps_of`).
    pub fn rollback_planned(&self, p: &Procedure) -> Ms {
        self.rollback_steps_of(p).filter_map(|s| s.expect).sum()
    }

    /// True when a forward step has started (and was not skipped): it may have taken effect
    /// even if it failed or was cut short, so a rollback must account for it.
    pub fn reached(&self, id: &str) -> bool {
        self.runs.get(id).is_some_and(|r| {
            r.first_start.is_some() && !matches!(r.state, StepState::Skipped { .. })
        })
    }

    pub(super) fn start_rollback(
        &mut self,
        operator: &str,
        reason: &str,
        failed: Option<&str>,
        trigger: Option<&str>,
        now: Ms,
        out: &mut Vec<Effect>,
    ) {
        if let Some(rb) = &self.rollback {
            out.push(Effect::Journal(
                Event::RollbackRequestIgnored {
                    reason: reason.to_string(),
                    why: format!(
                        "a rollback is already running since {}",
                        crate::core::time::t_clock(rb.started)
                    ),
                }
                .by(operator),
            ));
            return;
        }
        if let Some((pnr, _)) = self.point_of_no_return_passed() {
            let why = format!(
                "past the point of no return (`{pnr}` is done): roll forward, or follow the runbook's documented recovery"
            );
            out.push(Effect::Journal(
                Event::RollbackUnavailable {
                    reason: reason.to_string(),
                    why: why.clone(),
                }
                .by(operator),
            ));
            if let Some(f) = failed {
                // The failed step must not be passed over: stop and ask.
                self.set(
                    f,
                    StepState::Failed {
                        reason: reason.into(),
                        blocking: true,
                    },
                );
                self.paused = Some(format!("{reason}; no rollback: {why}"));
            }
            return;
        }
        let Some(proc_) = self.rollback_procedure().cloned() else {
            out.push(Effect::Journal(
                Event::RollbackUnavailable {
                    reason: reason.to_string(),
                    why: "the runbook has no rollback procedure".into(),
                }
                .by(operator),
            ));
            return;
        };
        for id in self.forward.clone() {
            let state = &self.runs[&id].state;
            // A step waiting on its `until:` runs no command, but it must not go on waiting
            // (and finish) while the rollback undoes what it waits for.
            let waiting = state.until_wait().is_some();
            if state.command_running() || waiting {
                if !waiting {
                    out.push(Effect::Kill(id.clone()));
                }
                self.set(
                    &id,
                    StepState::Failed {
                        reason: "stopped: rollback started".into(),
                        blocking: false,
                    },
                );
                out.push(Effect::Journal(
                    Event::StepFailed {
                        step: id.clone().into(),
                        attempt: None,
                        reason: "stopped: rollback started".into(),
                        next: OnFailure::Rollback,
                        exit_code: None,
                        retry_at: None,
                        cause: None,
                        procedure: None,
                    }
                    .by_system(),
                ));
            }
        }
        self.held = false;
        self.paused = None;
        self.back = self
            .rollback_steps_of(&proc_)
            .map(|s| s.id.clone())
            .collect();
        let planned = self.rollback_planned(&proc_);
        self.rollback = Some(RollbackRun {
            reason: reason.into(),
            started: now,
            operator: operator.into(),
            ended: None,
            aborted: None,
            aborted_by: None,
            procedure: proc_.id.clone(),
            trigger: trigger.map(str::to_string),
        });
        let e = Event::RollbackStarted {
            reason: reason.to_string(),
            procedure: proc_.title.clone(),
            procedure_id: proc_.id.clone(),
            steps: self.back.len(),
            planned: Period(planned),
            failed_step: failed.map(StepId::from),
            values: self.monitor.snapshot(now),
        };
        out.push(Effect::Journal(e.by(operator)));
    }

    pub(super) fn rollback_done(&mut self, now: Ms, out: &mut Vec<Effect>) {
        let planned = self
            .rollback_procedure()
            .map_or(0, |p| self.back_planned(p));
        let started = self.rollback.as_ref().map(|r| r.started).unwrap_or(now);
        if let Some(r) = self.rollback.as_mut() {
            r.ended = Some(now);
        }
        let (failed, skipped) = self.rollback_gaps();
        // A rollback that passed over a step is not a clean one: say which, loudly.
        let e = Event::RollbackDone {
            planned: Period(planned),
            actual: Period(now - started),
            failed_steps: failed.clone(),
            skipped_steps: skipped.clone(),
        };
        out.push(Effect::Journal(e.by_system()));
        let reason = match (failed.is_empty(), skipped.is_empty()) {
            (true, true) => "the rollback procedure is finished".to_string(),
            _ => format!(
                "the rollback procedure is finished, not cleanly: {}",
                gaps_text(&failed, &skipped)
            ),
        };
        self.finish(Outcome::RolledBack, SYSTEM, &reason, now, out);
    }

    /// Steps of the running procedure that failed and were passed over (`on_failure:
    /// continue`), and those the operator skipped, by id.
    pub fn rollback_gaps(&self) -> (Vec<String>, Vec<String>) {
        let mut failed = Vec::new();
        let mut skipped = Vec::new();
        for id in &self.back {
            match self.runs.get(id).map(|r| &r.state) {
                Some(StepState::Failed { .. }) => failed.push(id.clone()),
                Some(StepState::Skipped { .. }) => skipped.push(id.clone()),
                _ => {}
            }
        }
        (failed, skipped)
    }

    /// What an ended run's last line should add about its rollback: that it was abandoned, or
    /// that it passed over steps. `None` for a clean one, or when there was none.
    pub fn rollback_note(&self) -> Option<String> {
        let r = self.rollback.as_ref()?;
        if let Some((op, why)) = &r.aborted_by {
            return Some(format!(
                "rollback ABORTED by {op}: {why}; finish it by hand"
            ));
        }
        let (failed, skipped) = self.rollback_gaps();
        (r.ended.is_some() && (!failed.is_empty() || !skipped.is_empty()))
            .then(|| format!("rolled back NOT CLEANLY: {}", gaps_text(&failed, &skipped)))
    }

    /// What the run waits for when a step failed and stops: the operator's choices differ
    /// inside a rollback (there is nothing left to roll back to, only to abandon).
    pub(super) fn pause_text(&self, id: &str, reason: &str) -> String {
        if self.rollback.is_some() {
            format!(
                "rollback step `{id}` failed ({reason}): retry it, skip it with a reason, or abort the rollback"
            )
        } else if let Some((pnr, _)) = self.point_of_no_return_passed() {
            format!(
                "step `{id}` failed ({reason}): retry or skip it; no rollback past the point of no return (`{pnr}`)"
            )
        } else {
            format!("step `{id}` failed ({reason}): retry, skip or roll back")
        }
    }

    /// The operator abandons the run. Inside a rollback this is abandoning the rollback: the
    /// journal says at which step, what was done and what was not, so whoever picks it up by
    /// hand knows where things stand.
    pub(super) fn abort(&mut self, operator: &str, reason: &str, now: Ms, out: &mut Vec<Effect>) {
        let running: Vec<String> = self
            .runs
            .iter()
            .filter(|(_, r)| r.state.command_running())
            .map(|(id, _)| id.clone())
            .collect();
        for id in running {
            out.push(Effect::Kill(id));
        }
        if let Some(rb) = &self.rollback {
            let done: Vec<String> = self
                .back
                .iter()
                .filter(|id| matches!(self.runs[id.as_str()].state, StepState::Done { .. }))
                .cloned()
                .collect();
            let not_done: Vec<String> = self
                .back
                .iter()
                .filter(|id| !self.runs[id.as_str()].state.finished())
                .cloned()
                .collect();
            let e = Event::RollbackAborted {
                step: self.current().map(StepId::from),
                reason: reason.to_string(),
                procedure_id: rb.procedure.clone(),
                elapsed: Period(now - rb.started),
                done_steps: done,
                not_done_steps: not_done,
            };
            out.push(Effect::Journal(e.by(operator)));
            if let Some(r) = self.rollback.as_mut() {
                r.aborted = Some(now);
                r.aborted_by = Some((operator.to_string(), reason.to_string()));
            }
        }
        self.finish(Outcome::Aborted, operator, reason, now, out);
    }
}

/// "failed: a, b; skipped: c" for the steps a rollback passed over.
pub fn gaps_text(failed: &[String], skipped: &[String]) -> String {
    let mut parts = Vec::new();
    if !failed.is_empty() {
        parts.push(format!("failed and passed over: {}", failed.join(", ")));
    }
    if !skipped.is_empty() {
        parts.push(format!("skipped: {}", skipped.join(", ")));
    }
    parts.join("; ")
}
