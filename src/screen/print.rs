//! Headless output: one readable line per journal event, command output indented beneath.
//! It formats journal events, so what is printed is exactly what was recorded.

use crate::core::event::Event;
use crate::core::runbook::Runbook;
use crate::core::time::{human, t_clock};

/// A numeric field as shown on screen (`NaN` when absent, so a gap is visible).
fn val(ev: &Event, key: &str) -> String {
    crate::core::monitor::num(ev.num(key).unwrap_or(f64::NAN))
}

/// A T-time field given in seconds (`deadline_t`), as a T-clock.
fn t_at(ev: &Event, key: &str) -> String {
    t_clock(ev.num(key).map_or(0, |d| (d * 1000.0).round() as i64))
}

fn secs(ev: &Event, key: &str) -> Option<String> {
    ev.num(key).map(|s| human((s * 1000.0).round() as i64))
}

/// Formats one event as a line (or a few), or `None` for events not worth a line.
pub fn event_line(rb: &Runbook, ev: &Event) -> Option<String> {
    let clock = t_clock(ev.t_ms());
    let step = ev.step.clone().unwrap_or_default();
    let title = rb.step(&step).map(|s| s.title.clone()).unwrap_or_default();
    let owner = rb
        .step(&step)
        .and_then(|s| s.owner.clone())
        .map(|o| format!("  [{o}]"))
        .unwrap_or_default();
    let by = |ev: &Event| {
        if ev.operator == "system" {
            String::new()
        } else {
            format!(" by {}", ev.operator)
        }
    };
    let rb_tag = if ev.str("procedure") == Some("rollback") {
        "⟲ "
    } else {
        ""
    };
    let late = secs(ev, "late_s")
        .map(|l| format!("  (late {l})"))
        .unwrap_or_default();
    let attempt = ev
        .num("attempt")
        .filter(|a| *a > 1.0)
        .map(|a| format!(" (attempt {a})"))
        .unwrap_or_default();
    let (glyph, text) = match ev.kind.as_str() {
        "session_started" => (
            "●",
            format!(
                "session started: {} · {}{} · operator {}",
                rb.title,
                ev.mode.as_str().to_uppercase(),
                ev.str("speed").map(|s| format!(" {s}")).unwrap_or_default(),
                ev.operator
            ),
        ),
        "session_resumed" => (
            "●",
            format!(
                "session resumed by {} (pid {})",
                ev.operator,
                ev.num("pid").unwrap_or(0.0)
            ),
        ),
        "lock_taken_over" => (
            "!",
            format!(
                "took over the lock of dead pid {} (operator {})",
                ev.num("previous_pid").unwrap_or(0.0),
                ev.str("previous_operator").unwrap_or("?")
            ),
        ),
        "journal_repaired" => (
            "!",
            format!(
                "journal had a torn last line ({} bytes, from a crash): cut off and kept in {}",
                ev.num("bytes").unwrap_or(0.0),
                ev.str("saved_to").unwrap_or("?")
            ),
        ),
        "leftovers_killed" => (
            "!",
            format!(
                "killed processes left running by the dead cockpit: {}",
                ev.data
                    .get("pids")
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            ),
        ),
        "runbook_changed" => (
            "!",
            "the runbook file changed since this session started".into(),
        ),
        "step_waiting" => (
            "◆",
            format!(
                "{rb_tag}{step:<24} {title}{owner} — manual step, waiting for confirmation{late}"
            ),
        ),
        "step_confirmed" if ev.data.get("auto_ack").and_then(|v| v.as_bool()) == Some(true) => {
            return None;
        }
        "step_confirmed" => ("✓", format!("{rb_tag}{step:<24} confirmed{}", by(ev))),
        "step_started" => (
            "▶",
            format!(
                "{rb_tag}{step:<24} {title}{owner}{attempt}{late}\n{:>13}$ {}",
                "",
                ev.str("command").unwrap_or("")
            ),
        ),
        "step_verifying" => (
            "?",
            format!(
                "{rb_tag}{step:<24} verifying: $ {}",
                ev.str("command").unwrap_or("")
            ),
        ),
        "step_holding" => (
            "⏳",
            format!(
                "{rb_tag}{step:<24} holding {} (until {})",
                secs(ev, "hold_s").unwrap_or_default(),
                ev.num("until_t")
                    .map(|u| t_clock((u * 1000.0) as i64))
                    .unwrap_or_default()
            ),
        ),
        "step_done" => (
            "✓",
            format!(
                "{rb_tag}{step:<24} done{}{}{}",
                secs(ev, "duration_s")
                    .map(|d| format!(" in {d}"))
                    .unwrap_or_default(),
                secs(ev, "expect_s")
                    .map(|d| format!(" (expected {d})"))
                    .unwrap_or_default(),
                by(ev)
            ),
        ),
        "step_failed" => (
            "✗",
            format!(
                "{rb_tag}{step:<24} FAILED: {} → {}",
                ev.str("reason").unwrap_or("?"),
                match ev.str("next") {
                    Some("retry") => "retrying".to_string(),
                    Some("pause") => "paused, waiting for the operator".into(),
                    Some("rollback") => "rolling back".into(),
                    Some("continue") => "continuing".into(),
                    other => other.unwrap_or("?").to_string(),
                }
            ),
        ),
        "step_skipped" => (
            "↷",
            format!(
                "{rb_tag}{step:<24} skipped{}: {}",
                by(ev),
                ev.str("reason").unwrap_or("")
            ),
        ),
        "step_interrupted" => (
            "!",
            format!(
                "{rb_tag}{step:<24} was interrupted (attempt {}){}",
                ev.num("attempt").unwrap_or(1.0),
                if ev.data.get("rerun_safe").and_then(|v| v.as_bool()) == Some(true) {
                    "; rerun_safe: it will run again"
                } else {
                    "; not rerun_safe: needs the operator"
                }
            ),
        ),
        "step_retry" => ("↻", format!("{step:<24} retry{}", by(ev))),
        "point_of_no_return" => (
            "⚠",
            format!("{step:<24} POINT OF NO RETURN passed: rollback is no longer possible"),
        ),
        "rollback_started" => (
            "⟲",
            format!(
                "ROLLBACK started{}: {} · \"{}\" · {} steps, planned {}",
                by(ev),
                ev.str("reason").unwrap_or("?"),
                ev.str("procedure").unwrap_or("?"),
                ev.num("steps").unwrap_or(0.0),
                secs(ev, "planned_s").unwrap_or_default()
            ),
        ),
        "rollback_done" => {
            let mut text = format!(
                "ROLLBACK done in {} (planned {})",
                secs(ev, "actual_s").unwrap_or_default(),
                secs(ev, "planned_s").unwrap_or_default()
            );
            let (failed, skipped) = (list(ev, "failed_steps"), list(ev, "skipped_steps"));
            if !failed.is_empty() || !skipped.is_empty() {
                text.push_str(&format!(
                    ", NOT CLEANLY: {}",
                    crate::core::engine::gaps_text(&failed, &skipped)
                ));
            }
            ("⟲", text)
        }
        "rollback_aborted" => (
            "■",
            format!(
                "ROLLBACK ABORTED{} at {} after {}: {} · done: {} · not done: {}",
                by(ev),
                ev.step.as_deref().unwrap_or("?"),
                secs(ev, "elapsed_s").unwrap_or_default(),
                ev.str("reason").unwrap_or("?"),
                or_none(list(ev, "done_steps")),
                or_none(list(ev, "not_done_steps")),
            ),
        ),
        "rollback_request_ignored" => (
            "!",
            format!(
                "rollback request ignored{}: {}",
                by(ev),
                ev.str("why").unwrap_or("")
            ),
        ),
        "hold" => (
            "⏸",
            format!(
                "HOLD{}: no new step starts until resumed{}",
                by(ev),
                ev.str("reason")
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
        ),
        "trigger_armed" => (
            "◎",
            format!(
                "trigger {} armed (`{}` is done)",
                ev.str("trigger").unwrap_or("?"),
                ev.str("after").unwrap_or("?")
            ),
        ),
        "trigger_breach" => (
            "⚠",
            format!(
                "TRIGGER {} BREACH: {} — {} vs {} for {} ({} samples) → {}{}",
                ev.str("trigger").unwrap_or("?"),
                ev.str("condition").unwrap_or("?"),
                val(ev, "value"),
                val(ev, "threshold"),
                secs(ev, "held_s").unwrap_or_default(),
                ev.num("samples").unwrap_or(0.0),
                ev.str("action").unwrap_or("?"),
                ev.str("why").map(|w| format!(" ({w})")).unwrap_or_default()
            ),
        ),
        "trigger_dry_run" => (
            "◌",
            format!(
                "DRY-RUN trigger {}: {} — {} ({} vs {})",
                ev.str("trigger").unwrap_or("?"),
                ev.str("condition").unwrap_or("?"),
                ev.str("text").unwrap_or("would have acted"),
                val(ev, "value"),
                val(ev, "threshold"),
            ),
        ),
        "trigger_unknown" => (
            "?",
            format!(
                "trigger {} UNKNOWN for {}: {} → {}{}",
                ev.str("trigger").unwrap_or("?"),
                secs(ev, "unknown_for_s").unwrap_or_default(),
                ev.str("reason").unwrap_or("?"),
                ev.str("action").unwrap_or("?"),
                if ev.bool("dry_run") == Some(true) {
                    " (dry run)"
                } else {
                    ""
                }
            ),
        ),
        "trigger_recovered" => (
            "✓",
            format!(
                "trigger {} recovered ({} vs {})",
                ev.str("trigger").unwrap_or("?"),
                val(ev, "value"),
                val(ev, "threshold"),
            ),
        ),
        "rollback_grace_started" => (
            "⏳",
            format!(
                "automatic rollback in {} (at {}) unless vetoed — trigger {}",
                secs(ev, "grace_s").unwrap_or_default(),
                t_at(ev, "deadline_t"),
                ev.str("trigger").unwrap_or("?")
            ),
        ),
        "rollback_vetoed" => (
            "✋",
            format!(
                "automatic rollback VETOED{} — trigger {}",
                by(ev),
                ev.str("trigger").unwrap_or("?")
            ),
        ),
        "rollback_grace_cancelled" => (
            "·",
            format!(
                "automatic rollback called off — trigger {}: {}",
                ev.str("trigger").unwrap_or("?"),
                ev.str("why").unwrap_or("?")
            ),
        ),
        "decision_requested" => (
            "?",
            format!(
                "DECISION needed by {}: roll back or continue? (default {}) — {}",
                t_at(ev, "deadline_t"),
                ev.str("default").unwrap_or("?"),
                ev.str("reason").unwrap_or("?")
            ),
        ),
        "decision_made" => (
            "→",
            format!(
                "decision on {}: {}{}",
                ev.str("trigger").unwrap_or("?"),
                ev.str("choice").unwrap_or("?"),
                if ev.bool("by_default") == Some(true) {
                    " (nobody chose before the deadline: the declared default)".to_string()
                } else {
                    by(ev)
                }
            ),
        ),
        "decision_cancelled" => (
            "·",
            format!(
                "decision on {} withdrawn: {}",
                ev.str("trigger").unwrap_or("?"),
                ev.str("why").unwrap_or("?")
            ),
        ),
        "baseline_captured" => (
            "≡",
            format!(
                "baseline {} = {}{}",
                ev.str("baseline").unwrap_or("?"),
                val(ev, "value"),
                ev.num("samples")
                    .map(|n| format!(" (mean of {n} samples)"))
                    .unwrap_or_default()
            ),
        ),
        "baseline_missing" => (
            "?",
            format!(
                "baseline {} NOT captured: {}",
                ev.str("baseline").unwrap_or("?"),
                ev.str("reason").unwrap_or("?")
            ),
        ),
        "canary_weight" => (
            "⇄",
            format!(
                "{step:<24} canary weight now {}%",
                ev.num("weight").unwrap_or(0.0)
            ),
        ),
        "step_gating" => (
            "⧗",
            format!("{step:<24} waiting for its gates to hold on fresh data"),
        ),
        "gate_passed" => (
            "✓",
            format!(
                "{step:<24} gates hold ({})",
                ev.str("advance").unwrap_or("auto")
            ),
        ),
        "gate_failed" => (
            "✗",
            format!(
                "{step:<24} {} → {}",
                ev.str("reason").unwrap_or("?"),
                ev.str("next").unwrap_or("?")
            ),
        ),
        "resumed" => ("▶", format!("hold released{}", by(ev))),
        "note" => (
            "✎",
            format!("note{}: {}", by(ev), ev.str("text").unwrap_or("")),
        ),
        "session_stopped" => ("⏸", format!("stopped: {}", ev.str("reason").unwrap_or(""))),
        "session_ended" => (
            "■",
            format!(
                "{} (exit {})",
                match ev.str("outcome") {
                    Some("completed") => "COMPLETE",
                    Some("rolled_back") => "ROLLED BACK",
                    _ => "ABORTED",
                },
                ev.num("exit_code").unwrap_or(1.0)
            ) + &ev
                .str("reason")
                .filter(|_| ev.str("outcome") == Some("aborted"))
                .map(|r| format!(": {r}"))
                .unwrap_or_default(),
        ),
        _ => return None,
    };
    Some(format!("{clock:>11}  {glyph} {text}"))
}

/// A list of step ids in an event (a JSON array of strings).
fn list(ev: &Event, key: &str) -> Vec<String> {
    ev.data
        .get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn or_none(ids: Vec<String>) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

/// A line of command output, indented under its step.
pub fn output_line(line: &str, stderr: bool) -> String {
    format!("{:>13}{} {line}", "", if stderr { "!" } else { "│" })
}
