//! Rebuilding engine state from a journal, for resume. A step that was started but has no
//! ending event was running when the process died: it becomes `Interrupted`. Also the
//! watcher's mirror (`follow`, `observe`): the same fold, record by record, while the driver
//! is alive, so nothing is taken for interrupted; and a re-evaluation of what the screen shows
//! (trigger states, countdowns) whose reactions are dropped, since only the driver acts.

use super::{Engine, RollbackRun, Stage, StepState};
use crate::core::event::{Cause, Event, Record};
use crate::core::monitor::{Decision, Veto};
use crate::core::runbook::OnFailure;
use crate::core::time::Ms;

impl Engine {
    /// Applies the journal's records in order: a fold of each event into the engine's state.
    /// Call `resumed` afterwards to journal the interruptions found.
    pub fn replay(&mut self, records: &[Record]) {
        for rec in records {
            // An unanswered hand is still up after a resume, as it is on the watchers'
            // screens.
            self.track_hands(rec);
            if !self.replay_step(rec) {
                self.replay_run(rec);
            }
        }
        // A journal written before rollbacks left out steps with nothing to undo may have
        // run such a step: it belongs to the rollback that ran it, in procedure order.
        if let Some(p) = self
            .rollback
            .as_ref()
            .and_then(|r| self.rb.procedure(&r.procedure))
        {
            let ran: Vec<String> = p
                .steps
                .iter()
                .filter(|s| {
                    self.back.contains(&s.id)
                        || self
                            .runs
                            .get(&s.id)
                            .is_some_and(|r| r.first_start.is_some())
                })
                .map(|s| s.id.clone())
                .collect();
            self.back = ran;
        }
        self.died();
    }

    /// A watcher's fold of one record from a live driver: the state changes `replay` makes,
    /// plus what a resume rebuilds from fresh data instead (grace countdowns, canary gates),
    /// since the watcher shows them as the driver has them. Nothing here acts: the records
    /// are what the driver already did.
    pub fn follow(&mut self, rec: &Record) {
        let t = rec.t_ms();
        self.last_now = self.last_now.max(t);
        self.track_hands(rec);
        if !self.replay_step(rec) {
            self.replay_run(rec);
        }
        // A resume drops these (they are cancelled and rebuilt on fresh data); a mirror keeps
        // them, as the driver does.
        self.open_graces.clear();
        match &rec.event {
            Event::RollbackGraceStarted {
                trigger, deadline, ..
            } => {
                // The mirror's own evaluation may have started it already, with the breach's
                // reason; the driver's deadline is the one that counts.
                match self
                    .monitor
                    .graces
                    .iter_mut()
                    .find(|g| g.trigger == *trigger)
                {
                    Some(g) => g.deadline = deadline.ms(),
                    None => self.monitor.graces.push(crate::core::monitor::Grace {
                        trigger: trigger.clone(),
                        deadline: deadline.ms(),
                        reason: format!("trigger `{trigger}` breached"),
                    }),
                }
            }
            Event::RollbackVetoed { trigger, .. }
            | Event::RollbackGraceCancelled { trigger, .. } => {
                self.monitor.graces.retain(|g| g.trigger != *trigger)
            }
            Event::RollbackStarted { .. } => self.monitor.graces.clear(),
            Event::CanaryWeight { step, .. } | Event::StepGating { step }
                if self.monitor.has_gates(step.as_str()) =>
            {
                self.monitor.ensure_gates(step.as_str(), t)
            }
            Event::StepDone { step, .. }
            | Event::StepFailed { step, .. }
            | Event::StepSkipped { step, .. } => self.monitor.disarm_gates(step.as_str()),
            _ => {}
        }
        self.dedupe_pending();
    }

    /// A watcher's re-evaluation at `now`: trigger states, windows and countdowns move on as
    /// the driver's do, from the same samples. What the evaluation asks for is dropped: the
    /// driver does it, and its records say so.
    pub fn observe(&mut self, now: Ms) {
        if self.outcome.is_some() || self.monitor.is_empty() {
            return;
        }
        self.last_now = self.last_now.max(now);
        let graces = self.monitor.graces.clone();
        let decisions = self.monitor.decisions.clone();
        self.watch_only(now);
        // A countdown or a decision ends with the driver's record (rollback started, vetoed,
        // cancelled, decided), not with the watcher's own evaluation getting there first.
        for g in graces {
            if !self.monitor.graces.iter().any(|x| x.trigger == g.trigger) {
                self.monitor.graces.push(g);
            }
        }
        for d in decisions {
            if !self
                .monitor
                .decisions
                .iter()
                .any(|x| x.trigger == d.trigger)
            {
                self.monitor.decisions.push_back(d);
            }
        }
        self.dedupe_pending();
    }

    /// A line of a step's output, as the driver saw it (the step detail shows the tail).
    pub fn mirror_output(&mut self, step: &str, line: String) {
        if let Some(r) = self.runs.get_mut(step) {
            r.push_output(line);
        }
    }

    /// One countdown and one decision per trigger: a mirror learns of each twice, from its
    /// own evaluation and from the driver's record.
    fn dedupe_pending(&mut self) {
        let mut seen = std::collections::HashSet::new();
        self.monitor
            .graces
            .retain(|g| seen.insert(g.trigger.clone()));
        let mut seen = std::collections::HashSet::new();
        self.monitor
            .decisions
            .retain(|d| seen.insert(d.trigger.clone()));
    }

    /// Whatever was running when the journal stops died with the process that ran it.
    fn died(&mut self) {
        for r in self.runs.values_mut() {
            if let StepState::Running {
                attempt,
                stage: Stage::Run | Stage::Verify,
            } = r.state
            {
                r.state = StepState::Interrupted { attempt };
                r.needs_interrupt_note = true;
            }
        }
        // A pause on failure is retried when the operator comes back with --auto-ack: re-running
        // the session is the rehearsal's way of saying "try again".
        if self.cfg.auto_ack
            && let Some(id) = self.current().map(str::to_string)
            && let Some(r) = self.runs.get_mut(&id)
            && let StepState::Failed { blocking: true, .. } = r.state
            && !r.unverified
        {
            r.state = StepState::RetryWait {
                attempt: r.attempts + 1,
                until: i64::MIN,
            };
            self.paused = None;
        }
    }

    /// A step event changes that step's state; returns false for the rest, which `replay_run`
    /// folds: events about the run that name a step (a gate, the point of no return, an
    /// aborted rollback), and events of steps the runbook no longer has.
    fn replay_step(&mut self, rec: &Record) -> bool {
        let t = rec.t_ms();
        let Some(id) = rec.step() else {
            return false;
        };
        let Some(r) = self.runs.get_mut(id) else {
            return false;
        };
        match &rec.event {
            Event::StepStarted { attempt, .. } => {
                r.unverified = false;
                r.attempts = *attempt;
                r.started = Some(t);
                r.first_start.get_or_insert(t);
                r.state = StepState::Running {
                    attempt: r.attempts,
                    stage: Stage::Run,
                };
            }
            Event::StepWaiting { attempt, .. } => {
                r.attempts = *attempt;
                r.started = Some(t);
                r.first_start.get_or_insert(t);
                r.state = StepState::Waiting;
            }
            Event::StepVerifying { .. } => {
                r.state = StepState::Running {
                    attempt: r.attempts.max(1),
                    stage: Stage::Verify,
                }
            }
            Event::StepHolding { until, .. } => {
                r.state = StepState::Running {
                    attempt: r.attempts.max(1),
                    stage: Stage::Hold { until: until.ms() },
                };
            }
            Event::StepDone { duration, .. } => {
                r.state = StepState::Done { at: t };
                r.took = duration.map(|d| d.0);
            }
            Event::StepSkipped { reason, .. } => {
                r.state = StepState::Skipped {
                    reason: reason.clone(),
                }
            }
            Event::StepInterrupted { .. } => {
                r.state = StepState::Interrupted {
                    attempt: r.attempts.max(1),
                };
                r.needs_interrupt_note = false;
            }
            Event::StepFailed {
                attempt,
                reason,
                next,
                retry_at,
                cause,
                ..
            } => match next {
                OnFailure::Retry => {
                    r.state = StepState::RetryWait {
                        attempt: attempt.unwrap_or(1) + 1,
                        until: retry_at.map_or(t, |r| r.ms()),
                    };
                }
                OnFailure::Pause => {
                    r.unverified = *cause == Some(Cause::Interrupted);
                    r.state = StepState::Failed {
                        reason: reason.clone(),
                        blocking: true,
                    };
                    let text = self.pause_text(id, reason);
                    self.paused = Some(text);
                }
                OnFailure::Rollback | OnFailure::Continue => {
                    r.state = StepState::Failed {
                        reason: reason.clone(),
                        blocking: false,
                    }
                }
            },
            Event::StepRetry { .. } => self.paused = None,
            Event::StepGating { .. } => {
                r.state = StepState::Running {
                    attempt: r.attempts.max(1),
                    stage: Stage::Gate,
                }
            }
            Event::UntilWaiting {
                attempt, deadline, ..
            } => {
                // A step with only `until:` starts with its wait; one with a command waits
                // after it, and its start was the command's.
                if !matches!(r.state, StepState::Running { .. }) {
                    r.unverified = false;
                    r.attempts = *attempt;
                    r.started = Some(t);
                    r.first_start.get_or_insert(t);
                }
                // Not a command: nothing died with the process, so a resumed run waits on.
                r.state = StepState::Running {
                    attempt: *attempt,
                    stage: Stage::Until {
                        since: t,
                        deadline: deadline.ms(),
                    },
                };
            }
            // Followed by the event that says what the step did next (hold, done).
            Event::UntilMet { .. } => {}
            // A confirmation is followed by the event that says what it led to.
            Event::StepConfirmed { .. } => {}
            _ => return false,
        }
        true
    }

    /// An event about the run as a whole.
    fn replay_run(&mut self, rec: &Record) {
        let t = rec.t_ms();
        match &rec.event {
            Event::Hold { .. } => self.held = true,
            Event::Resumed {} => self.held = false,
            Event::RollbackStarted {
                reason,
                procedure_id,
                failed_step,
                ..
            } => {
                // The event does not name the trigger; the events before it do, without a
                // change to the journal's format: a rollback the system started with no
                // failed step was asked for by the trigger whose grace had run out, or, in
                // the same instant, by a breach with no grace or a decision to roll back.
                let trigger = if rec.operator == super::SYSTEM && failed_step.is_none() {
                    self.open_graces.first().cloned().or_else(|| {
                        self.rollback_cause
                            .take()
                            .filter(|(_, at)| *at == t)
                            .map(|(id, _)| id)
                    })
                } else {
                    None
                };
                self.rollback_cause = None;
                self.open_graces.clear();
                let procedure_id = match procedure_id.as_str() {
                    "" => self
                        .rb
                        .rollbacks
                        .first()
                        .map(|p| p.id.clone())
                        .unwrap_or_default(),
                    id => id.to_string(),
                };
                // The steps that applied when it started, by the rule it started with.
                let back = self
                    .rb
                    .procedure(&procedure_id)
                    .map(|p| self.rollback_steps_of(p).map(|s| s.id.clone()).collect());
                self.back = back.unwrap_or_default();
                self.paused = None;
                self.held = false;
                self.rollback = Some(RollbackRun {
                    reason: reason.clone(),
                    started: t,
                    operator: rec.operator.clone(),
                    ended: None,
                    aborted: None,
                    aborted_by: None,
                    procedure: procedure_id,
                    trigger,
                });
            }
            Event::RollbackAborted { reason, .. } => {
                if let Some(r) = self.rollback.as_mut() {
                    r.aborted = Some(t);
                    r.aborted_by = Some((rec.operator.clone(), reason.clone()));
                }
            }
            Event::RollbackDone { .. } => {
                if let Some(r) = self.rollback.as_mut() {
                    r.ended = Some(t);
                }
            }
            Event::SessionEnded { outcome, .. } => self.outcome = Some(*outcome),
            Event::BaselineCaptured {
                baseline, value, ..
            } => self.monitor.restore_baseline(baseline, *value),
            Event::BaselineMissing {
                baseline, reason, ..
            } => self.monitor.restore_baseline_missing(baseline, reason),
            Event::DecisionRequested {
                trigger,
                reason,
                deadline,
                default,
                ..
            } => self.monitor.restore_decision(Decision {
                trigger: trigger.clone(),
                reason: reason.clone(),
                deadline: deadline.ms(),
                default: *default,
            }),
            Event::DecisionMade {
                trigger, choice, ..
            } => {
                if *choice == crate::core::runbook::signals::Choice::Rollback {
                    self.rollback_cause = Some((trigger.clone(), t));
                }
                self.monitor.restore_decided(trigger);
            }
            Event::DecisionCancelled { trigger, .. } => {
                self.monitor.restore_decided(trigger);
            }
            Event::TriggerBreach { breach, action, .. } => {
                if *action == crate::core::runbook::signals::TriggerAction::Rollback {
                    self.rollback_cause = Some((breach.trigger.clone(), t));
                }
            }
            Event::RollbackGraceStarted { trigger, .. } => {
                self.open_graces.push(trigger.clone());
            }
            Event::RollbackVetoed {
                trigger,
                until,
                value,
                threshold,
                ..
            } => {
                self.open_graces.retain(|g| g != trigger);
                // A journal from before `until_t` held a veto until the trigger recovered;
                // this version holds it for the trigger's `veto_for`, from the veto.
                let hold = self
                    .rb
                    .signals
                    .triggers
                    .iter()
                    .find(|d| d.id == *trigger)
                    .map_or(0, |d| d.veto_for);
                self.monitor.restore_veto(
                    trigger,
                    Veto {
                        by: rec.operator.clone(),
                        at: t,
                        until: until.map_or(t + hold, |u| u.ms()),
                        value: value.zip(*threshold),
                        why: None,
                    },
                );
            }
            Event::VetoExplained { trigger, why } => self.monitor.restore_veto_reason(trigger, why),
            Event::VetoEnded { trigger, .. } => self.monitor.restore_veto_ended(trigger),
            Event::RollbackGraceCancelled { trigger, .. } => {
                self.open_graces.retain(|g| g != trigger);
            }
            Event::ApprovalRequested { .. } => self.restore_approval(rec),
            Event::ApprovalGiven { .. } | Event::ApprovalLapsed { .. } => self.approval = None,
            // Step events of steps the runbook no longer has.
            Event::StepWaiting { .. }
            | Event::StepStarted { .. }
            | Event::StepConfirmed { .. }
            | Event::StepVerifying { .. }
            | Event::StepHolding { .. }
            | Event::StepDone { .. }
            | Event::StepFailed { .. }
            | Event::StepSkipped { .. }
            | Event::StepInterrupted { .. }
            | Event::StepRetry { .. }
            | Event::StepGating { .. }
            | Event::UntilWaiting { .. }
            | Event::UntilMet { .. } => {}
            // The record of what happened; the state they describe is rebuilt from the events
            // above (a trigger re-arms and re-evaluates on fresh data after a resume).
            Event::SessionStarted { .. }
            | Event::SessionResumed { .. }
            | Event::RunbookChanged { .. }
            | Event::LockTakenOver { .. }
            | Event::JournalRepaired { .. }
            | Event::LeftoversKilled { .. }
            | Event::TaskPanicked { .. }
            | Event::WatcherJoined { .. }
            | Event::WatcherLeft { .. }
            | Event::HandRaised { .. }
            | Event::DriverChanged { .. }
            | Event::SessionStopped { .. }
            | Event::Note { .. }
            | Event::DrillClock {}
            | Event::PointOfNoReturn { .. }
            | Event::CanaryWeight { .. }
            | Event::GatePassed { .. }
            | Event::GateFailed { .. }
            | Event::RollbackRequestIgnored { .. }
            | Event::RollbackUnavailable { .. }
            | Event::TriggerArmed { .. }
            | Event::TriggerDryRun { .. }
            | Event::TriggerUnknown { .. }
            | Event::MetricReadFailed { .. }
            | Event::MetricReadRecovered { .. }
            | Event::TriggerRecovered { .. } => {}
        }
    }
}
