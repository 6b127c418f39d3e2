//! The lines of the rollback and what leads to it: the procedure started, done or aborted,
//! requests refused, grace countdowns, vetoes and decisions.

use super::{Line, Progress};
use crate::core::engine::gaps_text;
use crate::core::number::num;
use crate::core::time::{Period, TTime};

fn or_none(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

impl Progress<'_> {
    pub(super) fn rollback_started(
        &self,
        reason: &str,
        procedure: &str,
        steps: usize,
        planned: Period,
    ) -> Line {
        (
            "⟲",
            format!(
                "ROLLBACK started{}: {reason} · \"{procedure}\" · {steps} steps, planned {planned}",
                self.by
            ),
        )
    }

    /// `ran` is the procedure's steps done and not done.
    pub(super) fn rollback_aborted(
        &self,
        step: Option<&str>,
        reason: &str,
        elapsed: Period,
        ran: (&[String], &[String]),
    ) -> Line {
        (
            "■",
            format!(
                "ROLLBACK ABORTED{} at {} after {elapsed}: {reason} · done: {} · not done: {}",
                self.by,
                step.unwrap_or("?"),
                or_none(ran.0),
                or_none(ran.1),
            ),
        )
    }

    pub(super) fn rollback_request_ignored(&self, why: &str) -> Line {
        ("!", format!("rollback request ignored{}: {why}", self.by))
    }

    pub(super) fn rollback_unavailable(&self, why: &str) -> Line {
        ("!", format!("rollback refused{}: {why}", self.by))
    }

    /// `on` is the value the veto was given on and its limit then.
    pub(super) fn rollback_vetoed(
        &self,
        trigger: &str,
        until: Option<TTime>,
        on: Option<(f64, f64)>,
    ) -> Line {
        let on = on
            .map(|(v, l)| format!(" at {} (limit {})", num(v), num(l)))
            .unwrap_or_default();
        let holds = until
            .map(|u| format!("; holds until {u} unless it recovers"))
            .unwrap_or_default();
        (
            "✋",
            format!(
                "automatic rollback VETOED{} — trigger {trigger}{on}{holds}",
                self.by
            ),
        )
    }

    pub(super) fn veto_explained(&self, trigger: &str, why: &str) -> Line {
        (
            "✋",
            format!("veto of trigger {trigger}{}, because: {why}", self.by),
        )
    }

    pub(super) fn decision_made(
        &self,
        trigger: &str,
        choice: &str,
        by_default: bool,
        why: Option<&str>,
    ) -> Line {
        (
            "→",
            format!(
                "decision on {trigger}: {choice}{}{}",
                if by_default {
                    " (nobody chose before the deadline: the declared default)"
                } else {
                    self.by.as_str()
                },
                why.map(|w| format!(", because: {w}")).unwrap_or_default()
            ),
        )
    }
}

pub(super) fn rollback_done(
    planned: Period,
    actual: Period,
    failed: &[String],
    skipped: &[String],
) -> Line {
    let mut text = format!("ROLLBACK done in {actual} (planned {planned})");
    if !failed.is_empty() || !skipped.is_empty() {
        text.push_str(&format!(", NOT CLEANLY: {}", gaps_text(failed, skipped)));
    }
    ("⟲", text)
}

pub(super) fn rollback_grace_started(trigger: &str, grace: Period, deadline: TTime) -> Line {
    (
        "⏳",
        format!("automatic rollback in {grace} (at {deadline}) unless vetoed — trigger {trigger}"),
    )
}

pub(super) fn veto_ended(trigger: &str, why: &str) -> Line {
    ("·", format!("veto of trigger {trigger} ended — {why}"))
}

pub(super) fn rollback_grace_cancelled(trigger: &str, why: &str) -> Line {
    (
        "·",
        format!("automatic rollback called off — trigger {trigger}: {why}"),
    )
}

pub(super) fn decision_requested(reason: &str, deadline: TTime, default: &str) -> Line {
    (
        "?",
        format!(
            "DECISION needed by {deadline}: roll back or continue? (default {default}) — {reason}"
        ),
    )
}

pub(super) fn decision_cancelled(trigger: &str, why: &str) -> Line {
    ("·", format!("decision on {trigger} withdrawn: {why}"))
}
