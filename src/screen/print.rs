//! One readable line per journal event (a few for a command's start), shared by the headless
//! printer and the cockpit's log, so what is shown is exactly what was recorded. Every kind
//! of event has its line here: the match is exhaustive, so a new kind cannot be dropped
//! silently.

use crate::core::engine::{Outcome, gaps_text};
use crate::core::event::{Advance, Breach, Event, Record};
use crate::core::number::num;
use crate::core::runbook::OnFailure;
use crate::core::runbook::Runbook;
use crate::core::time::{Period, t_clock};
use std::fmt;

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
            by: if rec.operator == crate::core::event::SYSTEM {
                String::new()
            } else {
                format!(" by {}", rec.operator)
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

    fn runs_command(&self) -> bool {
        self.runs
    }

    fn text(&self) -> (&'static str, String) {
        let (step, by, tag) = (&self.step, &self.by, self.tag);
        match &self.rec.event {
            Event::SessionStarted { speed, .. } => (
                "●",
                format!(
                    "session started: {} · {}{} · operator {}",
                    self.rb_title(),
                    self.rec.mode.as_str().to_uppercase(),
                    speed.as_ref().map(|s| format!(" {s}")).unwrap_or_default(),
                    self.rec.operator
                ),
            ),
            Event::SessionResumed { pid } => (
                "●",
                format!("session resumed by {} (pid {pid})", self.rec.operator),
            ),
            Event::LockTakenOver {
                previous_pid,
                previous_operator,
                ..
            } => (
                "!",
                format!(
                    "took over the lock of dead pid {previous_pid} (operator {previous_operator})"
                ),
            ),
            Event::JournalRepaired { bytes, saved_to } => (
                "!",
                format!(
                    "journal had a torn last line ({bytes} bytes, from a crash): cut off and kept in {saved_to}"
                ),
            ),
            Event::LeftoversKilled { pids } => (
                "!",
                format!(
                    "killed processes left running by the dead cockpit: [{}]",
                    pids.iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ),
            Event::RunbookChanged { .. } => (
                "!",
                "the runbook file changed since this session started".into(),
            ),
            Event::TaskPanicked { message } => (
                "!",
                format!("a background task panicked (the run goes on): {message}"),
            ),
            Event::SessionStopped { reason } => ("⏸", format!("stopped: {reason}")),
            Event::SessionEnded {
                outcome,
                exit_code,
                reason,
                ..
            } => ("■", ended(*outcome, *exit_code, reason)),
            Event::Note { text } => ("✎", format!("note{by}: {text}")),
            Event::DrillClock {} => ("·", "drill clock".to_string()),
            Event::WatcherJoined { user, .. } => ("◉", format!("{user} is watching")),
            Event::WatcherLeft { user, .. } => ("○", format!("{user} stopped watching")),
            Event::Hold { reason } => (
                "⏸",
                format!(
                    "HOLD{by}: no new step starts until resumed{}",
                    reason
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
            ),
            Event::Resumed {} => ("▶", format!("hold released{by}")),
            Event::StepWaiting { late, .. } => (
                "◆",
                format!(
                    "{tag}{step} {}{} — manual step, waiting for confirmation{}",
                    self.title,
                    self.owner,
                    late_text(late.by)
                ),
            ),
            Event::StepStarted {
                attempt,
                command,
                late,
                ..
            } => (
                "▶",
                format!(
                    "{tag}{step} {}{}{}{}\n{:>13}$ {command}",
                    self.title,
                    self.owner,
                    if *attempt > 1 {
                        format!(" (attempt {attempt})")
                    } else {
                        String::new()
                    },
                    late_text(late.by),
                    ""
                ),
            ),
            Event::StepConfirmed { .. } => ("✓", format!("{tag}{step} confirmed{by}")),
            Event::StepVerifying { command, .. } => {
                ("?", format!("{tag}{step} verifying: $ {command}"))
            }
            Event::StepHolding { hold, until, .. } => (
                "⏳",
                format!("{tag}{step} holding {} (until {})", hold, until),
            ),
            Event::StepDone {
                duration,
                expect,
                held,
                ..
            } => (
                "✓",
                format!(
                    "{tag}{step} done{}{}{}{by}",
                    duration.map(|d| format!(" in {d}")).unwrap_or_default(),
                    expect
                        .map(|d| format!(" (expected {d})"))
                        .unwrap_or_default(),
                    held.map(|h| format!(", then held {h}")).unwrap_or_default(),
                ),
            ),
            Event::StepFailed { reason, next, .. } => (
                "✗",
                format!("{tag}{step} FAILED: {reason} → {}", next_text(*next)),
            ),
            Event::StepSkipped { reason, .. } => {
                ("↷", format!("{tag}{step} skipped{by}: {reason}"))
            }
            Event::StepInterrupted {
                attempt,
                rerun_safe,
                ..
            } => (
                "!",
                format!(
                    "{tag}{step} was interrupted (attempt {attempt}){}",
                    if *rerun_safe {
                        "; rerun_safe: it will run again"
                    } else {
                        "; not rerun_safe: needs the operator"
                    }
                ),
            ),
            Event::StepRetry { .. } => ("↻", format!("{step} retry{by}")),
            Event::PointOfNoReturn { .. } => (
                "⚠",
                format!("{step} POINT OF NO RETURN passed: rollback is no longer possible"),
            ),
            Event::UntilWaiting {
                attempt,
                condition,
                timeout,
                deadline,
                late,
                ..
            } => (
                "⧗",
                format!(
                    "{tag}{step} {}waiting until `{condition}` holds on fresh data (timeout {timeout}, at {deadline}){}{}",
                    if self.runs_command() {
                        String::new()
                    } else {
                        format!("{}{} — ", self.title, self.owner)
                    },
                    if *attempt > 1 {
                        format!(" (attempt {attempt})")
                    } else {
                        String::new()
                    },
                    late_text(late.by)
                ),
            ),
            Event::UntilMet {
                condition,
                metric,
                value,
                threshold,
                unit,
                age,
                waited,
                ..
            } => {
                let (scale, shown) = self.until_unit(unit.as_deref());
                let v = |x: f64| crate::core::monitor::with_unit(x / scale, &shown);
                (
                    "✓",
                    format!(
                        "{tag}{step} `{condition}` holds: {metric} {} (target {}, {} old) after waiting {waited}",
                        v(*value),
                        v(*threshold),
                        // Whole seconds: a drill's few ms between a sample and its reading
                        // are not an age anyone acts on.
                        Period(age.ms() / 1000 * 1000)
                    ),
                )
            }
            Event::CanaryWeight { weight, .. } => {
                ("⇄", format!("{step} canary weight now {weight}%"))
            }
            Event::StepGating { .. } => (
                "⧗",
                format!("{step} waiting for its gates to hold on fresh data"),
            ),
            Event::GatePassed { advance, gates, .. } => (
                "✓",
                format!(
                    "{step} gates hold ({}){}",
                    match advance {
                        Advance::Auto => "auto",
                        Advance::AutoAck => "auto_ack",
                        Advance::Key => "key",
                    },
                    gates.as_ref().map(|g| format!(": {g}")).unwrap_or_default()
                ),
            ),
            Event::GateFailed { reason, next, .. } => {
                ("✗", format!("{step} {reason} → {}", next.as_str()))
            }
            Event::RollbackStarted {
                reason,
                procedure,
                steps,
                planned,
                ..
            } => (
                "⟲",
                format!(
                    "ROLLBACK started{by}: {reason} · \"{procedure}\" · {steps} steps, planned {}",
                    planned
                ),
            ),
            Event::RollbackDone {
                planned,
                actual,
                failed_steps,
                skipped_steps,
            } => {
                let mut text = format!("ROLLBACK done in {} (planned {})", actual, planned);
                if !failed_steps.is_empty() || !skipped_steps.is_empty() {
                    text.push_str(&format!(
                        ", NOT CLEANLY: {}",
                        gaps_text(failed_steps, skipped_steps)
                    ));
                }
                ("⟲", text)
            }
            Event::RollbackAborted {
                step,
                reason,
                elapsed,
                done_steps,
                not_done_steps,
                ..
            } => (
                "■",
                format!(
                    "ROLLBACK ABORTED{by} at {} after {}: {reason} · done: {} · not done: {}",
                    step.as_deref().unwrap_or("?"),
                    elapsed,
                    or_none(done_steps),
                    or_none(not_done_steps),
                ),
            ),
            Event::RollbackRequestIgnored { why, .. } => {
                ("!", format!("rollback request ignored{by}: {why}"))
            }
            Event::RollbackUnavailable { why, .. } => ("!", format!("rollback refused{by}: {why}")),
            Event::TriggerArmed { trigger, after } => {
                ("◎", format!("trigger {trigger} armed (`{after}` is done)"))
            }
            Event::TriggerBreach { breach, action } => (
                "⚠",
                format!(
                    "{} → {}{}",
                    breach_text(breach),
                    action.as_str(),
                    breach
                        .why
                        .as_ref()
                        .map(|w| format!(" ({w})"))
                        .unwrap_or_default()
                ),
            ),
            Event::TriggerDryRun { breach, text, .. } => (
                "◌",
                format!(
                    "DRY-RUN trigger {}: {} — {text} ({} vs {})",
                    breach.trigger,
                    breach.condition,
                    num(breach.value),
                    num(breach.threshold),
                ),
            ),
            Event::MetricReadFailed { metric, reason } => {
                ("?", format!("metric {metric} cannot be read: {reason}"))
            }
            Event::MetricReadRecovered { metric } => ("·", format!("metric {metric} reads again")),
            Event::TriggerUnknown {
                trigger,
                reason,
                unknown_for,
                action,
                dry_run,
                ..
            } => (
                "?",
                format!(
                    "trigger {trigger} UNKNOWN for {}: {reason} → {}{}",
                    unknown_for,
                    action.as_str(),
                    if *dry_run { " (dry run)" } else { "" }
                ),
            ),
            Event::TriggerRecovered {
                trigger,
                value,
                threshold,
            } => (
                "✓",
                format!(
                    "trigger {trigger} recovered ({} vs {})",
                    num(*value),
                    num(*threshold)
                ),
            ),
            Event::RollbackGraceStarted {
                trigger,
                grace,
                deadline,
            } => (
                "⏳",
                format!(
                    "automatic rollback in {} (at {}) unless vetoed — trigger {trigger}",
                    grace, deadline
                ),
            ),
            Event::RollbackVetoed {
                trigger,
                until,
                value,
                threshold,
                ..
            } => {
                let on = match (value, threshold) {
                    (Some(v), Some(l)) => format!(" at {} (limit {})", num(*v), num(*l)),
                    _ => String::new(),
                };
                let holds = until
                    .map(|u| format!("; holds until {u} unless it recovers"))
                    .unwrap_or_default();
                (
                    "✋",
                    format!("automatic rollback VETOED{by} — trigger {trigger}{on}{holds}"),
                )
            }
            Event::VetoExplained { trigger, why } => (
                "✋",
                format!("veto of trigger {trigger}{by}, because: {why}"),
            ),
            Event::VetoEnded { trigger, why } => {
                ("·", format!("veto of trigger {trigger} ended — {why}"))
            }
            Event::RollbackGraceCancelled { trigger, why } => (
                "·",
                format!("automatic rollback called off — trigger {trigger}: {why}"),
            ),
            Event::DecisionRequested {
                reason,
                deadline,
                default,
                ..
            } => (
                "?",
                format!(
                    "DECISION needed by {}: roll back or continue? (default {}) — {reason}",
                    deadline,
                    default.as_str()
                ),
            ),
            Event::DecisionMade {
                trigger,
                choice,
                by_default,
                why,
            } => (
                "→",
                format!(
                    "decision on {trigger}: {}{}{}",
                    choice.as_str(),
                    if *by_default {
                        " (nobody chose before the deadline: the declared default)"
                    } else {
                        by
                    },
                    why.as_ref()
                        .map(|w| format!(", because: {w}"))
                        .unwrap_or_default()
                ),
            ),
            Event::DecisionCancelled { trigger, why } => {
                ("·", format!("decision on {trigger} withdrawn: {why}"))
            }
            Event::BaselineCaptured {
                baseline,
                value,
                samples,
                ..
            } => (
                "≡",
                format!(
                    "baseline {baseline} = {}{}",
                    num(*value),
                    samples
                        .map(|n| format!(" (mean of {n} samples)"))
                        .unwrap_or_default()
                ),
            ),
            Event::BaselineMissing {
                baseline, reason, ..
            } => ("?", format!("baseline {baseline} NOT captured: {reason}")),
        }
    }

    fn rb_title(&self) -> String {
        match &self.rec.event {
            Event::SessionStarted { runbook_title, .. } => runbook_title.clone(),
            _ => String::new(),
        }
    }
}

fn late_text(late: Option<Period>) -> String {
    late.map(|l| format!("  (late {l})")).unwrap_or_default()
}

fn next_text(next: OnFailure) -> &'static str {
    match next {
        OnFailure::Retry => "retrying",
        OnFailure::Pause => "paused, waiting for the operator",
        OnFailure::Rollback => "rolling back",
        OnFailure::Continue => "continuing",
    }
}

fn breach_text(b: &Breach) -> String {
    format!(
        "TRIGGER {} BREACH: {} — {} vs {} for {} ({} samples)",
        b.trigger,
        b.condition,
        num(b.value),
        num(b.threshold),
        b.held,
        b.samples
    )
}

fn ended(outcome: Outcome, exit_code: i32, reason: &str) -> String {
    match outcome {
        Outcome::Completed => format!("COMPLETE (exit {exit_code})"),
        Outcome::RolledBack => format!("ROLLED BACK (exit {exit_code})"),
        Outcome::Aborted => format!("ABORTED (exit {exit_code}): {reason}"),
    }
}

fn or_none(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}
