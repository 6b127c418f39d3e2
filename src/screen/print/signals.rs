//! The lines of what the metrics say: triggers armed, breaching, unknown, recovered or in
//! dry run; metrics that cannot be read; baselines captured or missing.

use super::Line;
use crate::core::event::Breach;
use crate::core::number::num;
use crate::core::time::Period;

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

pub(super) fn trigger_armed(trigger: &str, after: &str) -> Line {
    ("◎", format!("trigger {trigger} armed (`{after}` is done)"))
}

pub(super) fn trigger_breach(breach: &Breach, action: &str) -> Line {
    (
        "⚠",
        format!(
            "{} → {action}{}",
            breach_text(breach),
            breach
                .why
                .as_ref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        ),
    )
}

pub(super) fn trigger_dry_run(breach: &Breach, text: &str) -> Line {
    (
        "◌",
        format!(
            "DRY-RUN trigger {}: {} — {text} ({} vs {})",
            breach.trigger,
            breach.condition,
            num(breach.value),
            num(breach.threshold),
        ),
    )
}

pub(super) fn metric_read_failed(metric: &str, reason: &str) -> Line {
    ("?", format!("metric {metric} cannot be read: {reason}"))
}

pub(super) fn metric_read_recovered(metric: &str) -> Line {
    ("·", format!("metric {metric} reads again"))
}

pub(super) fn trigger_unknown(
    trigger: &str,
    reason: &str,
    unknown_for: Period,
    action: &str,
    dry_run: bool,
) -> Line {
    (
        "?",
        format!(
            "trigger {trigger} UNKNOWN for {unknown_for}: {reason} → {action}{}",
            if dry_run { " (dry run)" } else { "" }
        ),
    )
}

pub(super) fn trigger_recovered(trigger: &str, value: f64, threshold: f64) -> Line {
    (
        "✓",
        format!(
            "trigger {trigger} recovered ({} vs {})",
            num(value),
            num(threshold)
        ),
    )
}

pub(super) fn baseline_captured(baseline: &str, value: f64, samples: Option<u32>) -> Line {
    (
        "≡",
        format!(
            "baseline {baseline} = {}{}",
            num(value),
            samples
                .map(|n| format!(" (mean of {n} samples)"))
                .unwrap_or_default()
        ),
    )
}

pub(super) fn baseline_missing(baseline: &str, reason: &str) -> Line {
    ("?", format!("baseline {baseline} NOT captured: {reason}"))
}
