//! The runbook engine: pure state and transitions, no IO and no clock.
//!
//! `Engine::update(msg, now)` takes a message (a tick, a command result, an operator action)
//! and the current T-time, changes state, and returns `Effect`s for the runtime to perform in
//! order: journal entries (fsynced before anything after them happens), command spawns and
//! kills, and the end of the run. `replay` rebuilds state from a journal on resume.

mod approval;
pub mod demo;
mod guards;
mod hands;
mod plan;
mod replay;
mod rollback;
mod state;

pub use approval::Approval;

pub use plan::{Projection, planned_starts};
pub use rollback::gaps_text;
pub use state::*;

use crate::core::event::{Advance, Cause, Entry, Event, Late, Procedure};
use crate::core::monitor::{Monitor, Progress, Reaction, Verdict, until};
use crate::core::runbook::signals::{Choice, GateFail};
use crate::core::runbook::{Command, OnFailure, Runbook, Step};
use crate::core::time::{Ms, Period, TTime, human};
use std::collections::HashMap;

/// Lateness below this is the cost of running commands, not a delay worth recording.
pub const LATE_NOISE: Ms = 1000;

pub use crate::core::event::SYSTEM;

/// How the engine behaves for this session.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Confirm manual steps (and decide interrupted ones) without an operator.
    pub auto_ack: bool,
    /// Drill: make this step fail as if its command had failed.
    pub fail_step: Option<String>,
}

/// An input to the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// Time passed.
    Tick,
    /// A line of command output (kept for the screen).
    Output {
        /// Step id.
        step: String,
        /// The line.
        line: String,
    },
    /// A command ended.
    Exited {
        /// Step id.
        step: String,
        /// Attempt it belongs to.
        attempt: u32,
        /// Run or verify.
        stage: Stage,
        /// How it ended.
        result: ExecResult,
    },
    /// The operator confirms the current manual (or interrupted) step.
    Ack {
        /// Who.
        operator: String,
    },
    /// The operator skips the current step.
    Skip {
        /// Who.
        operator: String,
        /// Why.
        reason: String,
    },
    /// The operator retries the current failed or interrupted step.
    Retry {
        /// Who.
        operator: String,
    },
    /// Hold (no new step starts) or resume.
    Hold {
        /// Who.
        operator: String,
        /// true to hold, false to resume.
        on: bool,
    },
    /// A note for the record.
    Note {
        /// Who.
        operator: String,
        /// What.
        text: String,
    },
    /// An approver gives the second confirmation of the action that waits for one.
    Approve {
        /// Who.
        operator: String,
    },
    /// The first person takes back the action that waits for a second confirmation.
    Withdraw {
        /// Who.
        operator: String,
    },
    /// Start the rollback procedure.
    Rollback {
        /// Who.
        operator: String,
        /// Why.
        reason: String,
    },
    /// A metric read (from the drill simulation or a live poller).
    Sample {
        /// Metric id.
        metric: String,
        /// T-time of the value.
        at: Ms,
        /// The value, or why the read failed.
        value: Result<f64, String>,
    },
    /// The operator vetoes an automatic rollback during its grace countdown.
    Veto {
        /// Who.
        operator: String,
    },
    /// Why the operator vetoed (asked once the veto has acted).
    VetoReason {
        /// Who.
        operator: String,
        /// The vetoed trigger.
        trigger: String,
        /// The reason.
        why: String,
    },
    /// The operator answers the open decision.
    Decide {
        /// Who.
        operator: String,
        /// Roll back or continue.
        choice: Choice,
        /// Why (asked of a "continue", which overrides a trigger's concern).
        why: Option<String>,
    },
    /// End the run here (a rollback included), killing what runs; the session is over
    /// (exit 1) and the journal says what was and was not done.
    Abort {
        /// Who.
        operator: String,
        /// Why.
        reason: String,
    },
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecResult {
    /// Exited with this code (0 is success).
    Exit(i32),
    /// Killed by a signal.
    Signal(i32),
    /// Ran past its timeout and was killed.
    TimedOut(Ms),
    /// Could not be started.
    SpawnFailed(String),
    /// Killed on request (rollback, abort).
    Killed,
}

impl ExecResult {
    /// True for exit code 0.
    pub fn ok(&self) -> bool {
        matches!(self, ExecResult::Exit(0))
    }

    fn describe(&self) -> String {
        match self {
            ExecResult::Exit(c) => format!("exit code {c}"),
            ExecResult::Signal(s) => format!("killed by signal {s}"),
            ExecResult::TimedOut(d) => format!("timed out after {}", human(*d)),
            ExecResult::SpawnFailed(e) => format!("could not start: {e}"),
            ExecResult::Killed => "stopped".into(),
        }
    }
}

/// A command for the runtime to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Spawn {
    /// Step id.
    pub step: String,
    /// Attempt number.
    pub attempt: u32,
    /// Run or verify.
    pub stage: Stage,
    /// What to run.
    pub command: Command,
    /// Real-time limit.
    pub timeout: Ms,
}

/// Something for the runtime to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append to the journal (and fsync) before doing anything after it.
    Journal(Entry),
    /// Start a command.
    Spawn(Spawn),
    /// Kill a step's command (its whole process group).
    Kill(String),
    /// The run is over.
    Finish(Outcome),
}

/// The engine.
#[derive(Debug, Clone)]
pub struct Engine {
    rb: Runbook,
    cfg: Config,
    forward: Vec<String>,
    back: Vec<String>,
    runs: HashMap<String, StepRun>,
    /// The rollback, once started.
    pub rollback: Option<RollbackRun>,
    /// Held by the operator: no new step starts.
    pub held: bool,
    /// Why the run waits for the operator after a failure, if it does.
    pub paused: Option<String>,
    /// How it ended.
    pub outcome: Option<Outcome>,
    /// Metrics, triggers and canary gates.
    pub monitor: Monitor,
    /// T-time of the last update (for questions asked between updates).
    pub last_now: Ms,
    /// Grace countdowns found running in the journal on resume.
    open_graces: Vec<String>,
    /// The action waiting for a second person (the two-person rule), if any.
    pub approval: Option<approval::Approval>,
    /// Requests to hold that the driver has not answered yet, oldest first.
    pub hands: Vec<hands::Hand>,
    /// The OS user of the message being handled (`update_by`).
    actor: Option<String>,
    /// Replay only: the last trigger that asked for a rollback (a breach with no grace, a
    /// decision to roll back) and when, for the rollback_started that follows it.
    rollback_cause: Option<(String, Ms)>,
    /// How long steps took in earlier drills of this runbook: the projection and the
    /// rollback budget count a step's rehearsed time where it exceeds its `expect`.
    rehearsed: crate::core::rehearsal::Rehearsals,
}

impl Engine {
    /// A fresh engine for `rb`.
    pub fn new(rb: Runbook, cfg: Config) -> Self {
        let forward: Vec<String> = rb.steps().map(|s| s.id.clone()).collect();
        let all_back: Vec<String> = rb.rollback_steps().map(|s| s.id.clone()).collect();
        let runs = forward
            .iter()
            .chain(all_back.iter())
            .map(|id| (id.clone(), StepRun::default()))
            .collect();
        let mut monitor = Monitor::new(&rb.signals);
        for u in rb
            .steps()
            .chain(rb.rollback_steps())
            .filter_map(|s| s.until.as_ref())
        {
            monitor.watch_metric(&u.cond.metric);
        }
        Self {
            monitor,
            last_now: 0,
            open_graces: Vec::new(),
            rollback_cause: None,
            approval: None,
            hands: Vec::new(),
            actor: None,
            rehearsed: Default::default(),
            rb,
            cfg,
            forward,
            back: Vec::new(),
            runs,
            rollback: None,
            held: false,
            paused: None,
            outcome: None,
        }
    }

    /// The runbook.
    pub fn runbook(&self) -> &Runbook {
        &self.rb
    }

    /// Hands the engine what earlier drills of this runbook took (read by the shell once,
    /// at start): from now on projections and the rollback budget count them.
    pub fn set_rehearsals(&mut self, r: crate::core::rehearsal::Rehearsals) {
        self.rehearsed = r;
    }

    /// What earlier drills of this runbook took (empty when none were found).
    pub fn rehearsals(&self) -> &crate::core::rehearsal::Rehearsals {
        &self.rehearsed
    }

    /// A step's run state.
    pub fn run_of(&self, id: &str) -> Option<&StepRun> {
        self.runs.get(id)
    }

    /// Was this step skipped?
    pub fn skipped(&self, id: &str) -> bool {
        self.runs
            .get(id)
            .is_some_and(|r| matches!(r.state, StepState::Skipped { .. }))
    }

    fn step(&self, id: &str) -> Step {
        // Invariant: every id in `forward`/`back`/`runs` comes from the runbook itself.
        self.rb
            .step(id)
            .cloned()
            .unwrap_or_else(|| unreachable_step(id))
    }

    fn seq(&self) -> &[String] {
        if self.rollback.is_some() {
            &self.back
        } else {
            &self.forward
        }
    }

    /// The step the run is at: the first one of the active sequence not yet finished.
    pub fn current(&self) -> Option<&str> {
        self.seq()
            .iter()
            .find(|id| !self.runs[id.as_str()].state.finished())
            .map(String::as_str)
    }

    /// True while a command of some step is running.
    pub fn busy(&self) -> bool {
        self.runs.values().any(|r| r.state.command_running())
    }

    /// What has a countdown the operator must be able to act on in real time: an automatic
    /// rollback's grace (`v` vetoes it) or an open decision. A drill faster than real time
    /// runs its clock at 1× while there is one and an operator is at the cockpit, so a veto
    /// or an answer can be rehearsed; the header says so.
    pub fn real_time_needed(&self) -> Option<&'static str> {
        if self.outcome.is_some() {
            None
        } else if !self.monitor.graces.is_empty() {
            Some("grace")
        } else if !self.monitor.decisions.is_empty() {
            Some("decision")
        } else if self.approval.is_some() {
            Some("wait for a second confirmation")
        } else {
            None
        }
    }

    /// What the run waits for from the operator, if anything.
    pub fn needs_operator(&self) -> Option<String> {
        if self.outcome.is_some() {
            return None;
        }
        if let Some(p) = &self.paused {
            return Some(p.clone());
        }
        let id = self.current()?;
        match &self.runs[id].state {
            StepState::Waiting => Some(format!(
                "manual step `{id}` waits for the operator to confirm it"
            )),
            StepState::Interrupted { .. } => Some(format!(
                "step `{id}` was running when the cockpit stopped: check what it did, then confirm, retry or skip it"
            )),
            StepState::Running {
                stage: Stage::Gate, ..
            } if !self.cfg.auto_ack
                && self.monitor.stage(id).is_some_and(|s| !s.auto)
                && self.monitor.verdict(id, self.last_now) == Verdict::Pass =>
            {
                Some(format!(
                    "the gates of stage `{id}` hold: the operator advances it with Enter"
                ))
            }
            _ => None,
        }
    }

    /// True when the current step was interrupted by a crash and waits for the operator.
    pub fn waits_on_interrupted(&self) -> bool {
        self.outcome.is_none()
            && self
                .current()
                .is_some_and(|id| matches!(self.runs[id].state, StepState::Interrupted { .. }))
    }

    /// The next T-time at which a tick has something to do, if any.
    pub fn next_wakeup(&self, now: Ms) -> Option<Ms> {
        if self.outcome.is_some() {
            return None;
        }
        let watch = self.monitor.next_wakeup(now);
        match (watch, self.next_step_wakeup(now)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next T-time at which the steps (not the monitor) have something to do.
    pub fn next_step_wakeup(&self, now: Ms) -> Option<Ms> {
        if self.outcome.is_some() || self.paused.is_some() {
            return None;
        }
        let mut next: Option<Ms> = None;
        let mut consider = |t: Ms| next = Some(next.map_or(t, |n: Ms| n.min(t)));
        for r in self.runs.values() {
            if let StepState::Running {
                stage: Stage::Hold { until },
                ..
            } = r.state
            {
                consider(until);
            }
            if let Some((_, deadline)) = r.state.until_wait() {
                consider(deadline);
            }
        }
        if !self.held
            && let Some(id) = self.current()
        {
            match &self.runs[id].state {
                StepState::Pending if self.rollback.is_none() => {
                    if let Some(at) = self.step(id).at {
                        consider(at.max(now));
                    } else {
                        consider(now);
                    }
                }
                StepState::Pending => consider(now),
                StepState::RetryWait { until, .. } => consider(*until),
                _ => {}
            }
        }
        next
    }

    /// Handles one message at T-time `now`.
    pub fn update(&mut self, msg: Msg, now: Ms) -> Vec<Effect> {
        let mut out = Vec::new();
        if self.outcome.is_some() {
            return out;
        }
        self.last_now = now;
        if let Some(g) = self.guarded(&msg) {
            self.ask_approval(g, msg, now, &mut out);
        } else if !self.dispatch(msg, now, &mut out) {
            return out;
        }
        self.watch(now, &mut out);
        self.advance(now, &mut out);
        self.check_approval(now, &mut out);
        out
    }

    /// Performs one message; false when nothing is to be evaluated after it.
    fn dispatch(&mut self, msg: Msg, now: Ms, out: &mut Vec<Effect>) -> bool {
        match msg {
            Msg::Tick => {}
            Msg::Output { step, line } => {
                if let Some(r) = self.runs.get_mut(&step) {
                    r.push_output(line);
                }
            }
            Msg::Exited {
                step,
                attempt,
                stage,
                result,
            } => self.exited(&step, attempt, stage, result, now, out),
            Msg::Ack { operator } => self.ack(&operator, now, out),
            Msg::Skip { operator, reason } => self.skip(&operator, &reason, out),
            Msg::Retry { operator } => self.retry(&operator, now, out),
            Msg::Hold { operator, on } => {
                if self.held != on {
                    self.held = on;
                    let ev = if on {
                        Event::Hold { reason: None }
                    } else {
                        Event::Resumed {}
                    };
                    out.push(Effect::Journal(ev.by(&operator)));
                }
            }
            Msg::Note { operator, text } => {
                out.push(Effect::Journal(Event::Note { text }.by(&operator)));
            }
            Msg::Rollback { operator, reason } => {
                self.start_rollback(&operator, &reason, None, None, now, out)
            }
            Msg::Sample { metric, at, value } => {
                let watched = self.monitor.watches(&metric);
                let before = self.monitor.read_error(&metric).map(str::to_owned);
                self.monitor.sample(&metric, at, value, now);
                // A read error is journaled when it begins or changes, and its end when
                // values come again: the log keeps it whole where a pane has to cut it.
                match (before, self.monitor.read_error(&metric)) {
                    (before, Some(reason)) if before.as_deref() != Some(reason) => {
                        out.push(Effect::Journal(
                            Event::MetricReadFailed {
                                metric: metric.clone(),
                                reason: reason.to_owned(),
                            }
                            .by_system(),
                        ));
                    }
                    (Some(_), None) => out.push(Effect::Journal(
                        Event::MetricReadRecovered {
                            metric: metric.clone(),
                        }
                        .by_system(),
                    )),
                    _ => {}
                }
                if !watched {
                    // Only the screen uses it; the next tick evaluates deadlines anyway.
                    return false;
                }
            }
            Msg::Veto { operator } => {
                let o = self.monitor.veto(&operator, now);
                self.apply_monitor(o, now, out);
            }
            Msg::VetoReason {
                operator,
                trigger,
                why,
            } => {
                let o = self.monitor.explain_veto(&operator, &trigger, &why);
                self.apply_monitor(o, now, out);
            }
            Msg::Decide {
                operator,
                choice,
                why,
            } => {
                let o = self.monitor.decide(&operator, choice, why);
                self.apply_monitor(o, now, out);
            }
            Msg::Abort { operator, reason } => {
                self.abort(&operator, &reason, now, out);
                return false;
            }
            Msg::Approve { operator } => self.approve(&operator, now, out),
            Msg::Withdraw { operator } => self.withdraw(&operator, out),
        }
        true
    }

    /// Evaluates triggers and performs what they ask.
    fn watch(&mut self, now: Ms, out: &mut Vec<Effect>) {
        if let Some(o) = self.evaluate_monitor(now) {
            self.apply_monitor(o, now, out);
        }
    }

    /// Evaluates triggers and drops what they ask (a watcher's mirror; the driver acts).
    pub(super) fn watch_only(&mut self, now: Ms) {
        let _ = self.evaluate_monitor(now);
    }

    /// What the triggers ask for at `now`, given the run's progress.
    fn evaluate_monitor(&mut self, now: Ms) -> Option<Vec<Reaction>> {
        if self.monitor.is_empty() {
            return None;
        }
        let runs = &self.runs;
        let done = |s: &str| {
            runs.get(s)
                .is_some_and(|r| matches!(r.state, StepState::Done { .. }))
        };
        let skipped = |s: &str| {
            runs.get(s)
                .is_some_and(|r| matches!(r.state, StepState::Skipped { .. }))
        };
        let pnr = self.point_of_no_return_passed().map(|(s, _)| s.to_string());
        let ctx = Progress {
            done: &done,
            skipped: &skipped,
            past_pnr: pnr.as_deref(),
            rolling_back: self.rollback.is_some(),
        };
        Some(self.monitor.evaluate(now, &ctx))
    }

    fn apply_monitor(&mut self, outs: Vec<Reaction>, now: Ms, out: &mut Vec<Effect>) {
        for o in outs {
            match o {
                Reaction::Journal(e) => out.push(Effect::Journal(e)),
                Reaction::Rollback { reason, trigger } => {
                    self.start_rollback(SYSTEM, &reason, None, Some(&trigger), now, out)
                }
                Reaction::Hold { reason } => {
                    if !self.held && self.rollback.is_none() {
                        self.held = true;
                        out.push(Effect::Journal(
                            Event::Hold {
                                reason: Some(reason),
                            }
                            .by_system(),
                        ));
                    }
                }
            }
        }
    }

    /// Canary stages: checks the gates of steps in their hold or gate stage.
    fn gates(&mut self, now: Ms, out: &mut Vec<Effect>) -> bool {
        let watching: Vec<(String, Stage)> = self
            .forward
            .iter()
            .filter_map(|id| match self.runs[id].state {
                StepState::Running {
                    stage: st @ (Stage::Hold { .. } | Stage::Gate),
                    ..
                } if self.monitor.has_gates(id) => Some((id.clone(), st)),
                _ => None,
            })
            .collect();
        for (id, st) in watching {
            self.monitor.ensure_gates(&id, now);
            let v = self.monitor.verdict(&id, now);
            match v {
                Verdict::Fail(reason) => {
                    self.gate_failed(&id, &reason, now, out);
                    return true;
                }
                Verdict::Pass if st == Stage::Gate => {
                    let auto = self.monitor.stage(&id).is_some_and(|s| s.auto);
                    if auto || self.cfg.auto_ack {
                        out.push(Effect::Journal(
                            Event::GatePassed {
                                step: id.clone().into(),
                                advance: if auto {
                                    Advance::Auto
                                } else {
                                    Advance::AutoAck
                                },
                                gates: Some(self.monitor.gates_summary(&id, now)),
                            }
                            .by_system(),
                        ));
                        self.complete(&id, SYSTEM, now, out);
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }

    fn gate_failed(&mut self, id: &str, reason: &str, now: Ms, out: &mut Vec<Effect>) {
        let next = self
            .monitor
            .stage(id)
            .map(|s| s.on_fail)
            .unwrap_or(GateFail::Pause);
        self.monitor.disarm_gates(id);
        out.push(Effect::Journal(
            Event::GateFailed {
                step: id.into(),
                reason: reason.to_string(),
                next,
            }
            .by_system(),
        ));
        match next {
            GateFail::Rollback => {
                self.set(
                    id,
                    StepState::Failed {
                        reason: reason.into(),
                        blocking: false,
                    },
                );
                self.start_rollback(
                    SYSTEM,
                    &format!("step `{id}`: {reason}"),
                    Some(id),
                    None,
                    now,
                    out,
                );
            }
            GateFail::Pause => {
                self.set(
                    id,
                    StepState::Failed {
                        reason: reason.into(),
                        blocking: true,
                    },
                );
                self.paused = Some(format!(
                    "step `{id}`: {reason}: retry (sets the weight again), skip or roll back"
                ));
            }
        }
    }

    /// Journals steps found interrupted on resume; call once after `replay`.
    pub fn resumed(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        for g in std::mem::take(&mut self.open_graces) {
            // The breach that started it is old news: only fresh data may roll back.
            out.push(Effect::Journal(
                Event::RollbackGraceCancelled {
                    trigger: g,
                    why: "the cockpit restarted during the grace period; the trigger is evaluated again on fresh data".into(),
                }
                .by_system(),
            ));
        }
        let mut ids: Vec<String> = self
            .runs
            .iter()
            .filter(|(_, r)| r.needs_interrupt_note)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort_by_key(|id| {
            self.forward
                .iter()
                .chain(self.back.iter())
                .position(|x| x == id)
        });
        for id in ids {
            let step = self.step(&id);
            let r = self.runs.get_mut(&id).map(|r| {
                r.needs_interrupt_note = false;
                r.attempts
            });
            out.push(Effect::Journal(
                Event::StepInterrupted {
                    step: id.clone().into(),
                    attempt: r.unwrap_or(1),
                    rerun_safe: step.rerun_safe,
                }
                .by_system(),
            ));
        }
        out
    }

    fn advance(&mut self, now: Ms, out: &mut Vec<Effect>) {
        // Each pass either changes a step's state or returns, so this ends.
        for _ in 0..10_000 {
            if self.outcome.is_some() {
                return;
            }
            // Holds (soaks) run out on their own, even while the run is held.
            let done_holds: Vec<String> = self.runs.iter()
                .filter(|(_, r)| matches!(r.state, StepState::Running { stage: Stage::Hold { until }, .. } if until <= now))
                .map(|(id, _)| id.clone()).collect();
            if let Some(id) = done_holds.first() {
                if self.monitor.has_gates(id) && self.rollback.is_none() {
                    let attempt = self.runs[id].attempts.max(1);
                    self.set(
                        id,
                        StepState::Running {
                            attempt,
                            stage: Stage::Gate,
                        },
                    );
                    out.push(Effect::Journal(
                        Event::StepGating {
                            step: id.clone().into(),
                        }
                        .by_system(),
                    ));
                } else {
                    self.complete(id, SYSTEM, now, out);
                }
                continue;
            }
            if self.rollback.is_none() && self.gates(now, out) {
                continue;
            }
            // Like a hold, a wait ends on its own (met or timed out) even while the run is held.
            if self.untils(now, out) {
                continue;
            }
            if self.held || self.paused.is_some() {
                return;
            }
            let Some(id) = self.current().map(str::to_string) else {
                if self.rollback.is_some() {
                    self.rollback_done(now, out);
                } else {
                    self.finish(
                        Outcome::Completed,
                        SYSTEM,
                        "every step is finished",
                        now,
                        out,
                    );
                }
                return;
            };
            let step = self.step(&id);
            let state = self.runs[&id].state.clone();
            match state {
                StepState::Pending => {
                    let due = if self.rollback.is_some() {
                        now
                    } else {
                        step.at.unwrap_or(now)
                    };
                    if now < due {
                        return;
                    }
                    self.start(&step, 1, now, out);
                }
                StepState::RetryWait { attempt, until } => {
                    if now < until {
                        return;
                    }
                    self.start(&step, attempt, now, out);
                }
                StepState::Interrupted { attempt } => {
                    if !self.cfg.auto_ack {
                        return;
                    }
                    if step.rerun_safe {
                        self.start(&step, attempt + 1, now, out);
                    } else {
                        let reason = format!(
                            "interrupted while running and not marked rerun_safe: check by hand whether `{}` took effect, then confirm or skip it",
                            step.id
                        );
                        self.set(
                            &id,
                            StepState::Failed {
                                reason: reason.clone(),
                                blocking: true,
                            },
                        );
                        self.paused = Some(format!("step `{id}` {reason}"));
                        if let Some(r) = self.runs.get_mut(&id) {
                            r.unverified = true;
                        }
                        out.push(Effect::Journal(
                            Event::StepFailed {
                                step: id.clone().into(),
                                attempt: Some(attempt),
                                reason,
                                next: OnFailure::Pause,
                                exit_code: None,
                                retry_at: None,
                                cause: Some(Cause::Interrupted),
                                procedure: None,
                            }
                            .by_system(),
                        ));
                        return;
                    }
                }
                StepState::Waiting => {
                    if !self.cfg.auto_ack {
                        return;
                    }
                    self.work_done(&step, SYSTEM, true, now, out);
                }
                _ => return,
            }
        }
    }

    fn set(&mut self, id: &str, state: StepState) {
        if let Some(r) = self.runs.get_mut(id) {
            r.state = state;
        }
    }

    fn start(&mut self, step: &Step, attempt: u32, now: Ms, out: &mut Vec<Effect>) {
        // The projection's lateness, the figure the cockpit shows for this step, so the
        // journal (and headless, which prints it) says what the screen said.
        let late = if self.rollback.is_none() {
            Some(self.step_delay(&step.id, now)).filter(|l| *l >= LATE_NOISE)
        } else {
            None
        };
        let r = self.runs.get_mut(&step.id);
        if let Some(r) = r {
            r.attempts = attempt;
            r.unverified = false;
            if r.first_start.is_none() {
                r.first_start = Some(now);
            }
            r.started = Some(now);
            r.late_by = late;
        }
        let late = match late {
            // Record the new projected finish: lateness matters for where the run will end.
            Some(l) => {
                let p = self.projection(now);
                Late {
                    by: Some(Period(l)),
                    projected_finish: Some(TTime(p.projected_end)),
                    planned_finish: Some(TTime(p.planned_end)),
                }
            }
            None => Late::default(),
        };
        let procedure = self.rollback.is_some().then_some(Procedure::Rollback);
        let (id, title) = (step.id.clone(), step.title.clone());
        match &step.run {
            None if step.until.is_some() => {
                if !self.inject_failure(step, attempt, now, out) {
                    self.begin_until(step, attempt, late, now, out);
                }
            }
            None => {
                self.set(&step.id, StepState::Waiting);
                let e = Event::StepWaiting {
                    step: id.into(),
                    title,
                    attempt,
                    late,
                    procedure,
                };
                out.push(Effect::Journal(e.by_system()));
            }
            Some(cmd) => {
                let e = Event::StepStarted {
                    step: id.into(),
                    title,
                    attempt,
                    command: cmd.display(),
                    late,
                    procedure,
                }
                .by_system();
                self.set(
                    &step.id,
                    StepState::Running {
                        attempt,
                        stage: Stage::Run,
                    },
                );
                out.push(Effect::Journal(e));
                if !self.inject_failure(step, attempt, now, out) {
                    out.push(Effect::Spawn(Spawn {
                        step: step.id.clone(),
                        attempt,
                        stage: Stage::Run,
                        command: cmd.clone(),
                        timeout: step.timeout,
                    }));
                }
            }
        }
    }

    /// `--fail STEP_ID`: fails the step as if its command had failed; true when it did.
    fn inject_failure(
        &mut self,
        step: &Step,
        attempt: u32,
        now: Ms,
        out: &mut Vec<Effect>,
    ) -> bool {
        if self.cfg.fail_step.as_deref() != Some(step.id.as_str()) {
            return false;
        }
        self.fail(
            step,
            attempt,
            "failure injected by --fail (drill)",
            None,
            now,
            out,
        );
        true
    }

    /// The step's work (command or confirmation) succeeded: verify, hold, or complete it.
    fn work_done(
        &mut self,
        step: &Step,
        operator: &str,
        acked: bool,
        now: Ms,
        out: &mut Vec<Effect>,
    ) {
        let attempt = self.runs[&step.id].attempts.max(1);
        if acked {
            out.push(Effect::Journal(
                Event::StepConfirmed {
                    step: step.id.clone().into(),
                    auto_ack: Some(operator == SYSTEM),
                    after_interruption: None,
                }
                .by(operator),
            ));
            if step.run.is_none() && self.inject_failure(step, attempt, now, out) {
                return;
            }
        }
        if let Some(v) = &step.verify {
            self.set(
                &step.id,
                StepState::Running {
                    attempt,
                    stage: Stage::Verify,
                },
            );
            out.push(Effect::Journal(
                Event::StepVerifying {
                    step: step.id.clone().into(),
                    command: v.display(),
                }
                .by_system(),
            ));
            out.push(Effect::Spawn(Spawn {
                step: step.id.clone(),
                attempt,
                stage: Stage::Verify,
                command: v.clone(),
                timeout: step.timeout,
            }));
            return;
        }
        self.after_verify(step, now, out);
    }

    fn after_verify(&mut self, step: &Step, now: Ms, out: &mut Vec<Effect>) {
        if step.until.is_some() {
            let attempt = self.runs[&step.id].attempts.max(1);
            self.begin_until(step, attempt, Late::default(), now, out);
            return;
        }
        self.after_until(step, now, out);
    }

    /// The step's work is done and its `until:` (if any) held: gates, hold, or done.
    fn after_until(&mut self, step: &Step, now: Ms, out: &mut Vec<Effect>) {
        let gated = self.rollback.is_none() && self.monitor.has_gates(&step.id);
        if gated {
            self.monitor.arm_gates(&step.id, now);
        }
        if let Some(w) = step.stage.as_ref().and_then(|s| s.weight) {
            out.push(Effect::Journal(
                Event::CanaryWeight {
                    step: step.id.clone().into(),
                    weight: w,
                }
                .by_system(),
            ));
        }
        if gated && step.hold.is_none() {
            let attempt = self.runs[&step.id].attempts.max(1);
            self.set(
                &step.id,
                StepState::Running {
                    attempt,
                    stage: Stage::Gate,
                },
            );
            out.push(Effect::Journal(
                Event::StepGating {
                    step: step.id.clone().into(),
                }
                .by_system(),
            ));
            return;
        }
        if let Some(h) = step.hold.filter(|_| self.rollback.is_none()) {
            let attempt = self.runs[&step.id].attempts.max(1);
            self.set(
                &step.id,
                StepState::Running {
                    attempt,
                    stage: Stage::Hold { until: now + h },
                },
            );
            out.push(Effect::Journal(
                Event::StepHolding {
                    step: step.id.clone().into(),
                    hold: Period(h),
                    until: TTime(now + h),
                }
                .by_system(),
            ));
            return;
        }
        self.complete(&step.id, SYSTEM, now, out);
    }

    /// Starts the wait of an until-step: from now, for its `timeout` of T-time.
    fn begin_until(
        &mut self,
        step: &Step,
        attempt: u32,
        late: Late,
        now: Ms,
        out: &mut Vec<Effect>,
    ) {
        let Some(u) = &step.until else { return };
        let deadline = now.saturating_add(step.timeout);
        self.set(
            &step.id,
            StepState::Running {
                attempt,
                stage: Stage::Until {
                    since: now,
                    deadline,
                },
            },
        );
        out.push(Effect::Journal(
            Event::UntilWaiting {
                step: step.id.clone().into(),
                title: step.title.clone(),
                attempt,
                condition: u.cond.text.clone(),
                timeout: Period(step.timeout),
                deadline: TTime(deadline),
                late,
                procedure: self.rollback.is_some().then_some(Procedure::Rollback),
            }
            .by_system(),
        ));
    }

    /// Until-steps of the active sequence: done when the condition holds on a fresh sample
    /// taken since the wait began, failed (their `on_failure`) once the deadline passed
    /// without that. Unknown data never holds. True when a step changed.
    fn untils(&mut self, now: Ms, out: &mut Vec<Effect>) -> bool {
        let waiting: Vec<(String, Ms, Ms)> = self
            .seq()
            .iter()
            .filter_map(|id| {
                let (since, deadline) = self.runs[id].state.until_wait()?;
                Some((id.clone(), since, deadline))
            })
            .collect();
        for (id, since, deadline) in waiting {
            let step = self.step(&id);
            let Some(u) = &step.until else { continue };
            let view = self.monitor.until_view(u, since, now);
            if view.state == until::UntilState::Holds
                && let Some((v, at)) = view.last
            {
                out.push(Effect::Journal(
                    Event::UntilMet {
                        step: id.clone().into(),
                        condition: u.cond.text.clone(),
                        metric: u.cond.metric.clone(),
                        value: v * u.scale,
                        threshold: u.limit().unwrap_or(f64::NAN),
                        unit: self
                            .monitor
                            .metric_index(&u.cond.metric)
                            .and_then(|i| self.monitor.metrics[i].unit.clone()),
                        age: Period((now - at).max(0)),
                        waited: Period((now - since).max(0)),
                        procedure: self.rollback.is_some().then_some(Procedure::Rollback),
                    }
                    .by_system(),
                ));
                self.after_until(&step, now, out);
                return true;
            }
            if now >= deadline {
                let attempt = self.runs[&id].attempts.max(1);
                let reason = format!(
                    "`{}` did not hold within its timeout of {}: {}",
                    u.cond.text,
                    human(step.timeout),
                    view.summary(now)
                );
                self.fail_until(&step, attempt, &reason, now, out);
                return true;
            }
        }
        false
    }

    fn complete(&mut self, id: &str, operator: &str, now: Ms, out: &mut Vec<Effect>) {
        let step = self.step(id);
        let r = &self.runs[id];
        // A hold is waiting, not work: it is reported apart, so a 5-minute step with a
        // 24-hour watch is not "done in 24h (expected 5m)".
        let hold_began = match (&r.state, step.hold) {
            (
                StepState::Running {
                    stage: Stage::Hold { until },
                    ..
                },
                Some(h),
            ) => Some((until - h).min(now)),
            _ => None,
        };
        let work_end = hold_began.unwrap_or(now);
        let took = r.started.map(|s| (work_end - s).max(0));
        let e = Event::StepDone {
            step: id.into(),
            attempt: r.attempts.max(1),
            duration: took.map(Period),
            expect: step.expect.map(Period),
            procedure: self.rollback.is_some().then_some(Procedure::Rollback),
            held: hold_began.map(|b| Period(now - b)),
        }
        .by(operator);
        self.set(id, StepState::Done { at: now });
        if let Some(r) = self.runs.get_mut(id) {
            r.took = took;
        }
        out.push(Effect::Journal(e));
        self.monitor.disarm_gates(id);
        if self.rollback.is_none() {
            let o = self.monitor.step_done(id, now);
            self.apply_monitor(o, now, out);
        }
        if step.point_of_no_return {
            out.push(Effect::Journal(
                Event::PointOfNoReturn { step: id.into() }.by_system(),
            ));
        }
    }

    fn exited(
        &mut self,
        id: &str,
        attempt: u32,
        stage: Stage,
        result: ExecResult,
        now: Ms,
        out: &mut Vec<Effect>,
    ) {
        let Some(r) = self.runs.get(id) else { return };
        // A result for an attempt or stage we no longer wait for (e.g. killed for a rollback).
        if r.state != (StepState::Running { attempt, stage }) {
            return;
        }
        let step = self.step(id);
        match (result.ok(), stage) {
            (true, Stage::Run) => self.work_done(&step, SYSTEM, false, now, out),
            (true, _) => self.after_verify(&step, now, out),
            (false, Stage::Verify) => self.fail(
                &step,
                attempt,
                &format!("verify failed: {}", result.describe()),
                exit_code(&result),
                now,
                out,
            ),
            (false, _) => self.fail(
                &step,
                attempt,
                &result.describe(),
                exit_code(&result),
                now,
                out,
            ),
        }
    }

    fn fail(
        &mut self,
        step: &Step,
        attempt: u32,
        reason: &str,
        code: Option<i32>,
        now: Ms,
        out: &mut Vec<Effect>,
    ) {
        self.fail_as(step, attempt, reason, code, None, now, out);
    }

    /// An until-step's wait timed out: a failure like a command's, its `on_failure` applies.
    fn fail_until(
        &mut self,
        step: &Step,
        attempt: u32,
        reason: &str,
        now: Ms,
        out: &mut Vec<Effect>,
    ) {
        self.fail_as(
            step,
            attempt,
            reason,
            None,
            Some(Cause::UntilTimedOut),
            now,
            out,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn fail_as(
        &mut self,
        step: &Step,
        attempt: u32,
        reason: &str,
        code: Option<i32>,
        cause: Option<Cause>,
        now: Ms,
        out: &mut Vec<Effect>,
    ) {
        let in_rollback = self.rollback.is_some();
        let mut next = step.on_failure;
        if next == OnFailure::Retry && attempt > step.retries {
            next = OnFailure::Pause;
        }
        // Past the point of no return there is no rollback to go to: the journal and the
        // screen must not say "rolling back"; the step stops and asks instead.
        if next == OnFailure::Rollback && self.point_of_no_return_passed().is_some() {
            next = OnFailure::Pause;
            self.start_rollback(
                SYSTEM,
                &format!("step `{}` failed: {reason}", step.id),
                None,
                None,
                now,
                out,
            );
        }
        let retry_at = (next == OnFailure::Retry).then(|| TTime(now + step.retry_delay));
        let e = Event::StepFailed {
            step: step.id.clone().into(),
            attempt: Some(attempt),
            reason: reason.to_string(),
            next,
            exit_code: code,
            retry_at,
            cause,
            procedure: in_rollback.then_some(Procedure::Rollback),
        }
        .by_system();
        match next {
            OnFailure::Retry => {
                let until = now + step.retry_delay;
                self.set(
                    &step.id,
                    StepState::RetryWait {
                        attempt: attempt + 1,
                        until,
                    },
                );
                out.push(Effect::Journal(e));
            }
            OnFailure::Continue => {
                self.set(
                    &step.id,
                    StepState::Failed {
                        reason: reason.into(),
                        blocking: false,
                    },
                );
                out.push(Effect::Journal(e));
            }
            OnFailure::Pause => {
                self.set(
                    &step.id,
                    StepState::Failed {
                        reason: reason.into(),
                        blocking: true,
                    },
                );
                self.paused = Some(self.pause_text(&step.id, reason));
                out.push(Effect::Journal(e));
            }
            OnFailure::Rollback => {
                self.set(
                    &step.id,
                    StepState::Failed {
                        reason: reason.into(),
                        blocking: false,
                    },
                );
                out.push(Effect::Journal(e));
                self.start_rollback(
                    SYSTEM,
                    &format!("step `{}` failed: {reason}", step.id),
                    Some(&step.id),
                    None,
                    now,
                    out,
                );
            }
        }
    }

    fn ack(&mut self, operator: &str, now: Ms, out: &mut Vec<Effect>) {
        let Some(id) = self.current().map(str::to_string) else {
            return;
        };
        let step = self.step(&id);
        match self.runs[&id].state {
            StepState::Waiting => self.work_done(&step, operator, true, now, out),
            StepState::Running {
                stage: Stage::Gate, ..
            } if self.monitor.verdict(&id, now) == Verdict::Pass => {
                out.push(Effect::Journal(
                    Event::GatePassed {
                        step: id.clone().into(),
                        advance: Advance::Key,
                        gates: Some(self.monitor.gates_summary(&id, now)),
                    }
                    .by(operator),
                ));
                self.complete(&id, operator, now, out);
            }
            StepState::Interrupted { .. } => {
                out.push(Effect::Journal(
                    Event::StepConfirmed {
                        step: id.clone().into(),
                        auto_ack: None,
                        after_interruption: Some(true),
                    }
                    .by(operator),
                ));
                self.complete(&id, operator, now, out);
            }
            _ => {}
        }
    }

    fn skip(&mut self, operator: &str, reason: &str, out: &mut Vec<Effect>) {
        let Some(id) = self.current().map(str::to_string) else {
            return;
        };
        if self.runs[&id].state.command_running() {
            out.push(Effect::Kill(id.clone()));
        }
        self.set(
            &id,
            StepState::Skipped {
                reason: reason.into(),
            },
        );
        self.paused = None;
        out.push(Effect::Journal(
            Event::StepSkipped {
                step: id.clone().into(),
                reason: reason.to_string(),
            }
            .by(operator),
        ));
    }

    fn retry(&mut self, operator: &str, now: Ms, out: &mut Vec<Effect>) {
        let Some(id) = self.current().map(str::to_string) else {
            return;
        };
        let attempts = self.runs[&id].attempts;
        if matches!(
            self.runs[&id].state,
            StepState::Failed { blocking: true, .. } | StepState::Interrupted { .. }
        ) {
            self.paused = None;
            out.push(Effect::Journal(
                Event::StepRetry {
                    step: id.clone().into(),
                }
                .by(operator),
            ));
            let step = self.step(&id);
            self.start(&step, attempts + 1, now, out);
        }
    }

    fn finish(
        &mut self,
        outcome: Outcome,
        operator: &str,
        reason: &str,
        now: Ms,
        out: &mut Vec<Effect>,
    ) {
        self.outcome = Some(outcome);
        let p = self.projection(now);
        out.push(Effect::Journal(
            Event::SessionEnded {
                outcome,
                exit_code: outcome.exit_code(),
                reason: reason.to_string(),
                planned_finish: TTime(p.planned_end),
            }
            .by(operator),
        ));
        out.push(Effect::Finish(outcome));
    }
}

fn exit_code(r: &ExecResult) -> Option<i32> {
    match r {
        ExecResult::Exit(c) => Some(*c),
        _ => None,
    }
}

#[cold]
fn unreachable_step(id: &str) -> Step {
    // Reached only if an id not from the runbook got into the engine: a programming error.
    panic!("engine: step `{id}` is not in the runbook")
}

#[cfg(test)]
mod tests;
