//! The lines of the session's own events: start, resume, takeover, repair, hold, notes and
//! the end, and who watches it.

use super::{Line, Progress};
use crate::core::engine::Outcome;

impl Progress<'_> {
    pub(super) fn session_started(&self, title: &str, speed: Option<&str>) -> Line {
        (
            "●",
            format!(
                "session started: {title} · {}{} · operator {}",
                self.rec.mode.as_str().to_uppercase(),
                speed.map(|s| format!(" {s}")).unwrap_or_default(),
                self.rec.operator
            ),
        )
    }

    pub(super) fn session_resumed(&self, pid: u32) -> Line {
        (
            "●",
            format!("session resumed by {} (pid {pid})", self.rec.operator),
        )
    }

    pub(super) fn hand_raised(&self, reason: &str) -> Line {
        (
            "✋",
            format!("HAND RAISED{}: request hold: {reason}", self.by),
        )
    }

    pub(super) fn approval_requested(
        &self,
        action: &str,
        step: Option<&str>,
        reason: Option<&str>,
        within: crate::core::time::Period,
    ) -> Line {
        (
            "⚖",
            format!(
                "{}{}{} waits for a second person{}: an approver confirms within {}",
                action_words(action),
                step.map(|s| format!(" of `{s}`")).unwrap_or_default(),
                reason.map(|r| format!(" ({r})")).unwrap_or_default(),
                self.by,
                crate::core::time::human(within.0),
            ),
        )
    }

    pub(super) fn approval_given(&self, action: &str, step: Option<&str>) -> Line {
        (
            "⚖",
            format!(
                "{}{} approved{}: it goes ahead",
                action_words(action),
                step.map(|s| format!(" of `{s}`")).unwrap_or_default(),
                self.by,
            ),
        )
    }

    pub(super) fn note(&self, text: &str) -> Line {
        ("✎", format!("note{}: {text}", self.by))
    }

    pub(super) fn hold(&self, reason: Option<&str>) -> Line {
        (
            "⏸",
            format!(
                "HOLD{}: no new step starts until resumed{}",
                self.by,
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
        )
    }

    pub(super) fn resumed(&self) -> Line {
        ("▶", format!("hold released{}", self.by))
    }
}

pub(super) fn lock_taken_over(previous_pid: u32, previous_operator: &str) -> Line {
    (
        "!",
        format!("took over the lock of dead pid {previous_pid} (operator {previous_operator})"),
    )
}

pub(super) fn journal_repaired(bytes: usize, saved_to: &str) -> Line {
    (
        "!",
        format!(
            "journal had a torn last line ({bytes} bytes, from a crash): cut off and kept in {saved_to}"
        ),
    )
}

pub(super) fn leftovers_killed(pids: &[i32]) -> Line {
    let pids: Vec<String> = pids.iter().map(i32::to_string).collect();
    (
        "!",
        format!(
            "killed processes left running by the dead cockpit: [{}]",
            pids.join(",")
        ),
    )
}

pub(super) fn runbook_changed() -> Line {
    (
        "!",
        "the runbook file changed since this session started".into(),
    )
}

pub(super) fn task_panicked(message: &str) -> Line {
    (
        "!",
        format!("a background task panicked (the run goes on): {message}"),
    )
}

pub(super) fn session_stopped(reason: &str) -> Line {
    ("⏸", format!("stopped: {reason}"))
}

pub(super) fn session_ended(outcome: Outcome, exit_code: i32, reason: &str) -> Line {
    let text = match outcome {
        Outcome::Completed => format!("COMPLETE (exit {exit_code})"),
        Outcome::RolledBack => format!("ROLLED BACK (exit {exit_code})"),
        Outcome::Aborted => format!("ABORTED (exit {exit_code}): {reason}"),
    };
    ("■", text)
}

pub(super) fn drill_clock() -> Line {
    ("·", "drill clock".to_string())
}

pub(super) fn watcher_joined(user: &str) -> Line {
    ("◉", format!("{user} is watching"))
}

pub(super) fn approval_lapsed(action: &str, step: Option<&str>, why: &str) -> Line {
    (
        "⚖",
        format!(
            "{}{} not done: {why}",
            action_words(action),
            step.map(|s| format!(" of `{s}`")).unwrap_or_default(),
        ),
    )
}

/// A two-person action as words: `rollback`, `point of no return`, `skip`.
fn action_words(action: &str) -> String {
    // The journal's word, read back; an unknown one (a newer version's) is shown as written.
    let w = crate::core::runbook::team::Guarded::parse(action)
        .map_or_else(|| action.replace('_', " "), |g| g.words().to_string());
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => w,
    }
}

pub(super) fn driver_changed(from: &str, to: &str, how: &str) -> Line {
    let text = match (how, to.is_empty()) {
        (_, true) => format!(
            "{from} let go of the keys: nobody drives until someone takes them (cutover watch --drive)"
        ),
        ("taken", _) => format!("{to} took the keys (nobody drove)"),
        ("returned", _) => format!("the keys are back with {to} ({from} left)"),
        _ => format!("{from} handed the keys to {to}: {to} drives now"),
    };
    ("⇄", text)
}

pub(super) fn watcher_left(user: &str) -> Line {
    ("○", format!("{user} stopped watching"))
}
