//! The lines of a step's events: waiting, started, confirmed, holding, done, failed,
//! skipped, retried, `until:` waits, canary weights and gates, the point of no return.

use super::{Late, Line, Progress};
use crate::core::event::Advance;
use crate::core::runbook::OnFailure;
use crate::core::time::{Period, TTime};

fn late_text(late: &Late) -> String {
    late.by.map(|l| format!("  (late {l})")).unwrap_or_default()
}

fn attempt_text(attempt: u32) -> String {
    if attempt > 1 {
        format!(" (attempt {attempt})")
    } else {
        String::new()
    }
}

fn next_text(next: OnFailure) -> &'static str {
    match next {
        OnFailure::Retry => "retrying",
        OnFailure::Pause => "paused, waiting for the operator",
        OnFailure::Rollback => "rolling back",
        OnFailure::Continue => "continuing",
    }
}

impl Progress<'_> {
    pub(super) fn step_waiting(&self, late: &Late) -> Line {
        (
            "◆",
            format!(
                "{}{} {}{} — manual step, waiting for confirmation{}",
                self.tag,
                self.step,
                self.title,
                self.owner,
                late_text(late)
            ),
        )
    }

    pub(super) fn step_started(&self, attempt: u32, command: &str, late: &Late) -> Line {
        (
            "▶",
            format!(
                "{}{} {}{}{}{}\n{:>13}$ {command}",
                self.tag,
                self.step,
                self.title,
                self.owner,
                attempt_text(attempt),
                late_text(late),
                ""
            ),
        )
    }

    pub(super) fn step_confirmed(&self) -> Line {
        (
            "✓",
            format!("{}{} confirmed{}", self.tag, self.step, self.by),
        )
    }

    pub(super) fn step_verifying(&self, command: &str) -> Line {
        (
            "?",
            format!("{}{} verifying: $ {command}", self.tag, self.step),
        )
    }

    pub(super) fn step_holding(&self, hold: Period, until: TTime) -> Line {
        (
            "⏳",
            format!("{}{} holding {hold} (until {until})", self.tag, self.step),
        )
    }

    pub(super) fn step_done(
        &self,
        duration: Option<Period>,
        expect: Option<Period>,
        held: Option<Period>,
    ) -> Line {
        (
            "✓",
            format!(
                "{}{} done{}{}{}{}",
                self.tag,
                self.step,
                duration.map(|d| format!(" in {d}")).unwrap_or_default(),
                expect
                    .map(|d| format!(" (expected {d})"))
                    .unwrap_or_default(),
                held.map(|h| format!(", then held {h}")).unwrap_or_default(),
                self.by
            ),
        )
    }

    pub(super) fn step_failed(&self, reason: &str, next: OnFailure) -> Line {
        (
            "✗",
            format!(
                "{}{} FAILED: {reason} → {}",
                self.tag,
                self.step,
                next_text(next)
            ),
        )
    }

    pub(super) fn step_skipped(&self, reason: &str) -> Line {
        (
            "↷",
            format!("{}{} skipped{}: {reason}", self.tag, self.step, self.by),
        )
    }

    pub(super) fn step_interrupted(&self, attempt: u32, rerun_safe: bool) -> Line {
        (
            "!",
            format!(
                "{}{} was interrupted (attempt {attempt}){}",
                self.tag,
                self.step,
                if rerun_safe {
                    "; rerun_safe: it will run again"
                } else {
                    "; not rerun_safe: needs the operator"
                }
            ),
        )
    }

    pub(super) fn step_retry(&self) -> Line {
        ("↻", format!("{} retry{}", self.step, self.by))
    }

    pub(super) fn point_of_no_return(&self) -> Line {
        (
            "⚠",
            format!(
                "{} POINT OF NO RETURN passed: rollback is no longer possible",
                self.step
            ),
        )
    }

    pub(super) fn until_waiting(
        &self,
        attempt: u32,
        condition: &str,
        timeout: Period,
        deadline: TTime,
        late: &Late,
    ) -> Line {
        // A step with a command printed its title when the command started.
        let what = if self.runs {
            String::new()
        } else {
            format!("{}{} — ", self.title, self.owner)
        };
        (
            "⧗",
            format!(
                "{}{} {what}waiting until `{condition}` holds on fresh data (timeout {timeout}, at {deadline}){}{}",
                self.tag,
                self.step,
                attempt_text(attempt),
                late_text(late)
            ),
        )
    }

    /// `reading` is the value, its target and the metric's unit.
    pub(super) fn until_met(
        &self,
        condition: &str,
        metric: &str,
        reading: (f64, f64, Option<&str>),
        age: Period,
        waited: Period,
    ) -> Line {
        let (value, threshold, unit) = reading;
        let (scale, shown) = self.until_unit(unit);
        let v = |x: f64| crate::core::monitor::with_unit(x / scale, &shown);
        (
            "✓",
            format!(
                "{}{} `{condition}` holds: {metric} {} (target {}, {} old) after waiting {waited}",
                self.tag,
                self.step,
                v(value),
                v(threshold),
                // Whole seconds: a drill's few ms between a sample and its reading are not
                // an age anyone acts on.
                Period(age.ms() / 1000 * 1000)
            ),
        )
    }

    pub(super) fn canary_weight(&self, weight: u32) -> Line {
        ("⇄", format!("{} canary weight now {weight}%", self.step))
    }

    pub(super) fn step_gating(&self) -> Line {
        (
            "⧗",
            format!("{} waiting for its gates to hold on fresh data", self.step),
        )
    }

    pub(super) fn gate_passed(&self, advance: Advance, gates: Option<&str>) -> Line {
        let how = match advance {
            Advance::Auto => "auto",
            Advance::AutoAck => "auto_ack",
            Advance::Key => "key",
        };
        (
            "✓",
            format!(
                "{} gates hold ({how}){}",
                self.step,
                gates.map(|g| format!(": {g}")).unwrap_or_default()
            ),
        )
    }

    pub(super) fn gate_failed(&self, reason: &str, next: &str) -> Line {
        ("✗", format!("{} {reason} → {next}", self.step))
    }
}
