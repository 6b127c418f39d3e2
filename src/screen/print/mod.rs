//! One readable line per journal event (a few for a command's start), shared by the headless
//! printer and the cockpit's log, so what is shown is exactly what was recorded. Every kind
//! of event has its line here: the match is exhaustive, so a new kind cannot be dropped
//! silently. The headless printer's one line about earlier drills (`rehearsals_lines`),
//! said before the first event, is here too.

mod rollback;
mod session;
mod signals;
mod steps;

use crate::core::event::{Event, Late, Record};
use crate::core::runbook::{Runbook, StepId};
use crate::core::time::t_clock;
use rollback::{
    decision_cancelled, decision_requested, rollback_done, rollback_grace_cancelled,
    rollback_grace_started, veto_ended,
};
use session::{
    approval_lapsed, drill_clock, driver_changed, journal_repaired, leftovers_killed,
    lock_taken_over, runbook_changed, session_ended, session_stopped, task_panicked,
    watcher_joined, watcher_left,
};
use signals::{
    baseline_captured, baseline_missing, metric_read_failed, metric_read_recovered, trigger_armed,
    trigger_breach, trigger_dry_run, trigger_recovered, trigger_unknown,
};
use std::fmt;

/// A printed event: its glyph and its text.
type Line = (&'static str, String);

/// A record as the printer shows it: `  T-00:05:00  ▶ step   title …`. Confirmations given
/// by the drill's `--auto-ack` show nothing (the step's next event says what happened).
pub struct Printed<'a> {
    rb: &'a Runbook,
    rec: &'a Record,
}

impl<'a> Printed<'a> {
    /// `rec` as printed for runbook `rb` (titles and owners come from it).
    pub fn new(rb: &'a Runbook, rec: &'a Record) -> Self {
        Self { rb, rec }
    }

    /// Whether the record shows anything.
    pub fn shows(&self) -> bool {
        // An automatic confirmation, and the drill clock's marks, say nothing a reader
        // needs: the next line's T says where the clock is.
        !matches!(
            self.rec.event,
            Event::StepConfirmed {
                auto_ack: Some(true),
                ..
            } | Event::DrillClock {}
        )
    }
}

impl fmt::Display for Printed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.shows() {
            return Ok(());
        }
        let (glyph, text) = Progress::new(self.rb, self.rec).text();
        write!(f, "{:>11}  {glyph} {text}", t_clock(self.rec.t_ms()))
    }
}

/// The line for `rec`, or `None` for records that show nothing.
pub fn event_line(rb: &Runbook, rec: &Record) -> Option<String> {
    let p = Printed::new(rb, rec);
    p.shows().then(|| p.to_string())
}

/// A line of command output, indented under its step.
pub fn output_line(line: &str, stderr: bool) -> String {
    format!("{:>13}{} {line}", "", if stderr { "!" } else { "│" })
}

/// What every line may need: the step's padded id, title and owner, and who did it.
struct Progress<'a> {
    rec: &'a Record,
    step: String,
    title: String,
    owner: String,
    by: String,
    tag: &'static str,
    /// The step runs a command (its title was printed when it started).
    runs: bool,
    /// The step's `until:` unit: (metric units per shown unit, shown unit).
    until: Option<(f64, String)>,
}

impl<'a> Progress<'a> {
    fn new(rb: &Runbook, rec: &'a Record) -> Self {
        let id = rec.step().unwrap_or_default();
        let st = rb.step(id);
        Self {
            rec,
            step: format!("{id:<24}"),
            title: st.map(|s| s.title.clone()).unwrap_or_default(),
            owner: st
                .and_then(|s| s.owner.clone())
                .map(|o| format!("  [{o}]"))
                .unwrap_or_default(),
            by: match &rec.os_user {
                _ if rec.operator == crate::core::event::SYSTEM => String::new(),
                // The OS user is the proof; `--operator` is what the person called themselves.
                Some(u) if *u != rec.operator => format!(" by {} (OS user {u})", rec.operator),
                _ => format!(" by {}", rec.operator),
            },
            tag: if rec.event.in_rollback() { "⟲ " } else { "" },
            runs: st.is_some_and(|s| s.run.is_some()),
            until: st
                .and_then(|s| s.until.as_ref())
                .filter(|u| u.scale > 0.0)
                .map(|u| (u.scale, u.unit.clone())),
        }
    }

    /// How an until-step's values are shown: (metric units per shown unit, shown unit), the
    /// unit its `until:` was written in when the runbook still has it, else the metric's.
    fn until_unit(&self, metric_unit: Option<&str>) -> (f64, String) {
        match &self.until {
            Some(u) => u.clone(),
            None => (1.0, metric_unit.unwrap_or_default().to_string()),
        }
    }

    /// The glyph and text of the record: each kind of event has its own function, in the
    /// module of its family (the session, steps, signals, the rollback).
    fn text(&self) -> Line {
        match &self.rec.event {
            Event::SessionStarted {
                runbook_title,
                speed,
                ..
            } => self.session_started(runbook_title, speed.as_deref()),
            Event::SessionResumed { pid } => self.session_resumed(*pid),
            Event::LockTakenOver {
                previous_pid,
                previous_operator,
                ..
            } => lock_taken_over(*previous_pid, previous_operator),
            Event::JournalRepaired { bytes, saved_to } => journal_repaired(*bytes, saved_to),
            Event::LeftoversKilled { pids } => leftovers_killed(pids),
            Event::RunbookChanged { .. } => runbook_changed(),
            Event::TaskPanicked { message } => task_panicked(message),
            Event::SessionStopped { reason } => session_stopped(reason),
            Event::SessionEnded {
                outcome,
                exit_code,
                reason,
                ..
            } => session_ended(*outcome, *exit_code, reason),
            Event::Note { text } => self.note(text),
            Event::DrillClock {} => drill_clock(),
            Event::WatcherJoined { user, .. } => watcher_joined(user),
            Event::WatcherLeft { user, .. } => watcher_left(user),
            Event::HandRaised { reason } => self.hand_raised(reason),
            Event::DriverChanged { from, to, how } => driver_changed(from, to, how),
            Event::ApprovalRequested {
                action,
                step,
                reason,
                within,
            } => self.approval_requested(
                action,
                step.as_ref().map(|s| s.as_str()),
                reason.as_deref(),
                *within,
            ),
            Event::ApprovalGiven { action, step } => {
                self.approval_given(action, step.as_ref().map(|s| s.as_str()))
            }
            Event::ApprovalLapsed { action, step, why } => {
                approval_lapsed(action, step.as_ref().map(|s| s.as_str()), why)
            }
            Event::Hold { reason } => self.hold(reason.as_deref()),
            Event::Resumed {} => self.resumed(),
            Event::StepWaiting { late, .. } => self.step_waiting(late),
            Event::StepStarted {
                attempt,
                command,
                late,
                ..
            } => self.step_started(*attempt, command, late),
            Event::StepConfirmed { .. } => self.step_confirmed(),
            Event::StepVerifying { command, .. } => self.step_verifying(command),
            Event::StepHolding { hold, until, .. } => self.step_holding(*hold, *until),
            Event::StepDone {
                duration,
                expect,
                held,
                ..
            } => self.step_done(*duration, *expect, *held),
            Event::StepFailed { reason, next, .. } => self.step_failed(reason, *next),
            Event::StepSkipped { reason, .. } => self.step_skipped(reason),
            Event::StepInterrupted {
                attempt,
                rerun_safe,
                ..
            } => self.step_interrupted(*attempt, *rerun_safe),
            Event::StepRetry { .. } => self.step_retry(),
            Event::PointOfNoReturn { .. } => self.point_of_no_return(),
            Event::UntilWaiting {
                attempt,
                condition,
                timeout,
                deadline,
                late,
                ..
            } => self.until_waiting(*attempt, condition, *timeout, *deadline, late),
            Event::UntilMet {
                condition,
                metric,
                value,
                threshold,
                unit,
                age,
                waited,
                ..
            } => self.until_met(
                condition,
                metric,
                (*value, *threshold, unit.as_deref()),
                *age,
                *waited,
            ),
            Event::CanaryWeight { weight, .. } => self.canary_weight(*weight),
            Event::StepGating { .. } => self.step_gating(),
            Event::GatePassed { advance, gates, .. } => {
                self.gate_passed(*advance, gates.as_deref())
            }
            Event::GateFailed { reason, next, .. } => self.gate_failed(reason, next.as_str()),
            Event::RollbackStarted {
                reason,
                procedure,
                steps,
                planned,
                ..
            } => self.rollback_started(reason, procedure, *steps, *planned),
            Event::RollbackDone {
                planned,
                actual,
                failed_steps,
                skipped_steps,
            } => rollback_done(*planned, *actual, failed_steps, skipped_steps),
            Event::RollbackAborted {
                step,
                reason,
                elapsed,
                done_steps,
                not_done_steps,
                ..
            } => self.rollback_aborted(
                step.as_ref().map(StepId::as_str),
                reason,
                *elapsed,
                (done_steps, not_done_steps),
            ),
            Event::RollbackRequestIgnored { why, .. } => self.rollback_request_ignored(why),
            Event::RollbackUnavailable { why, .. } => self.rollback_unavailable(why),
            Event::TriggerArmed { trigger, after } => trigger_armed(trigger, after),
            Event::TriggerBreach { breach, action, .. } => trigger_breach(breach, action.as_str()),
            Event::TriggerDryRun { breach, text, .. } => trigger_dry_run(breach, text),
            Event::MetricReadFailed { metric, reason } => metric_read_failed(metric, reason),
            Event::MetricReadRecovered { metric } => metric_read_recovered(metric),
            Event::TriggerUnknown {
                trigger,
                reason,
                unknown_for,
                action,
                dry_run,
                ..
            } => trigger_unknown(trigger, reason, *unknown_for, action.as_str(), *dry_run),
            Event::TriggerRecovered {
                trigger,
                value,
                threshold,
            } => trigger_recovered(trigger, *value, *threshold),
            Event::RollbackGraceStarted {
                trigger,
                grace,
                deadline,
            } => rollback_grace_started(trigger, *grace, *deadline),
            Event::RollbackVetoed {
                trigger,
                until,
                value,
                threshold,
                ..
            } => self.rollback_vetoed(trigger, *until, value.zip(*threshold)),
            Event::VetoExplained { trigger, why } => self.veto_explained(trigger, why),
            Event::VetoEnded { trigger, why } => veto_ended(trigger, why),
            Event::RollbackGraceCancelled { trigger, why } => {
                rollback_grace_cancelled(trigger, why)
            }
            Event::DecisionRequested {
                reason,
                deadline,
                default,
                ..
            } => decision_requested(reason, *deadline, default.as_str()),
            Event::DecisionMade {
                trigger,
                choice,
                by_default,
                why,
            } => self.decision_made(trigger, choice.as_str(), *by_default, why.as_deref()),
            Event::DecisionCancelled { trigger, why } => decision_cancelled(trigger, why),
            Event::BaselineCaptured {
                baseline,
                value,
                samples,
                ..
            } => baseline_captured(baseline, *value, *samples),
            Event::BaselineMissing {
                baseline, reason, ..
            } => baseline_missing(baseline, reason),
        }
    }
}

/// The headless printer's line at start when earlier drills were read (`None` when none
/// were, and none was given): how many, of which runbook (`name`), the steps they found
/// longer than `expect`, and what that does to the finish and the rollback at `now`. Then
/// one line for each folder given by hand that was passed over (`skipped`).
pub fn rehearsals_lines(
    e: &crate::core::engine::Engine,
    name: &str,
    skipped: &[String],
    now: crate::core::time::Ms,
) -> Vec<String> {
    use crate::core::time::human;
    let r = e.rehearsals();
    let mut out = Vec::new();
    if r.is_empty() && skipped.is_empty() {
        return out;
    }
    let n = r.drills;
    let mut line = format!(
        "rehearsals: {n} drill{} of {name}",
        if n == 1 { "" } else { "s" }
    );
    if r.other_version > 0 {
        line.push_str(&format!(
            " ({} ran another version of the runbook)",
            r.other_version
        ));
    }
    let rb = e.runbook();
    let longer: Vec<String> = rb
        .steps()
        .chain(rb.rollback_steps())
        .filter_map(|s| {
            let t = r.longer(s)?;
            Some(format!(
                "{} {} (expect {})",
                s.id,
                human(t),
                s.expect.map(human).unwrap_or_else(|| "none".into())
            ))
        })
        .collect();
    if n > 0 && longer.is_empty() {
        line.push_str("; every step within its expect");
    } else if !longer.is_empty() {
        const SHOWN: usize = 5;
        let more = longer.len().saturating_sub(SHOWN);
        line.push_str(&format!(
            "; took longer than expect: {}{}",
            longer[..longer.len().min(SHOWN)].join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let p = e.projection(now);
    if p.rehearsed_extra > 0 {
        line.push_str(&format!(
            "; finish ≈{} by rehearsed times (plan {})",
            t_clock(p.projected_end),
            t_clock(p.planned_end)
        ));
    }
    let extra = e.rollback_rehearsed_extra();
    if let (true, Some(needs)) = (extra > 0, e.rollback_needs()) {
        line.push_str(&format!(
            "; rollback needs {} by rehearsed times (planned {})",
            human(needs),
            human(needs - extra)
        ));
    }
    out.push(line);
    for s in skipped {
        out.push(format!("{:>13}passed over {s}", ""));
    }
    out
}
