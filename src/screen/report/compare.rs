//! `cutover report SESSION --compare OTHER…`: one session (usually the live run) against
//! others (its rehearsals), step by step by id: how long each took here and there and the
//! drift, steps that were skipped, failed or retried in one and not the other, triggers
//! that fired in one and not the other, and the rollback's times. Sessions of a different
//! runbook version are compared the same way, and the steps only one of them has are named.

use super::Report;
use super::facts::{Result, StepFacts};
use crate::core::time::{Ms, human, t_clock};
use std::collections::BTreeSet;
use std::fmt::Write;

/// One session to compare with: its name (the folder as given) and its report.
pub struct Other<'a> {
    /// How the report names it.
    pub name: String,
    /// Its report.
    pub report: &'a Report,
}

fn mode(r: &Report) -> &'static str {
    match r.facts.mode {
        Some(crate::core::event::Mode::Live) => "LIVE",
        _ => "DRILL",
    }
}

fn outcome(r: &Report) -> String {
    use crate::core::engine::Outcome;
    match r.facts.end.as_ref().map(|e| e.outcome) {
        Some(Outcome::Completed) => "COMPLETE".into(),
        Some(Outcome::RolledBack) => "ROLLED BACK".into(),
        Some(Outcome::Aborted) => "ABORTED".into(),
        None => "NOT ENDED".into(),
    }
}

/// What happened to a step, in a word, for the differences column.
fn fate(s: Option<&StepFacts>) -> String {
    match s.map(|s| (&s.result, s.attempts)) {
        None => "not in its runbook".into(),
        Some((Result::NotReached, _)) => "not reached".into(),
        Some((Result::Unfinished, _)) => "unfinished".into(),
        Some((Result::Done, n)) if n > 1 => format!("done after {n} attempts"),
        Some((Result::Done, _)) => "done".into(),
        Some((Result::Failed(_), _)) => "failed".into(),
        Some((Result::Skipped(..), _)) => "skipped".into(),
    }
}

fn step_of<'a>(r: &'a Report, id: &str) -> Option<&'a StepFacts> {
    r.facts.steps.iter().find(|s| s.id == id)
}

/// The comparison section.
pub fn write(this: &Report, others: &[Other<'_>]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Compared with {} other session(s)\n", others.len());
    let _ = writeln!(
        out,
        "- this session: {} · {} · runbook sha256 `{}`",
        mode(this),
        outcome(this),
        short(&this.facts.fingerprint)
    );
    for (i, o) in others.iter().enumerate() {
        let f = &o.report.facts;
        let same = if f.fingerprint == this.facts.fingerprint {
            "the same runbook".to_string()
        } else {
            changed(this, o.report)
        };
        let _ = writeln!(
            out,
            "- {}: `{}` · {}{} · started {} · {} · {same}",
            i + 1,
            o.name,
            mode(o.report),
            if f.drill.is_empty() {
                String::new()
            } else {
                format!(" ({})", f.drill.join(", "))
            },
            f.started_wall,
            outcome(o.report),
        );
    }
    out.push('\n');
    steps(&mut out, this, others);
    triggers(&mut out, this, others);
    rollbacks(&mut out, this, others);
    out
}

fn short(fp: &str) -> &str {
    fp.get(..12).unwrap_or(fp)
}

/// What differs between two runbook versions, by step id.
fn changed(this: &Report, other: &Report) -> String {
    let ids =
        |r: &Report| -> BTreeSet<String> { r.facts.steps.iter().map(|s| s.id.clone()).collect() };
    let (a, b) = (ids(this), ids(other));
    let only_here: Vec<&String> = a.difference(&b).collect();
    let only_there: Vec<&String> = b.difference(&a).collect();
    let mut parts = vec![format!(
        "a DIFFERENT runbook version (sha256 `{}`)",
        short(&other.facts.fingerprint)
    )];
    if !only_here.is_empty() {
        parts.push(format!(
            "steps only in this session's: {}",
            list(&only_here)
        ));
    }
    if !only_there.is_empty() {
        parts.push(format!("steps only in its: {}", list(&only_there)));
    }
    parts.join("; ")
}

fn list(ids: &[&String]) -> String {
    ids.iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn took(s: Option<&StepFacts>) -> Option<Ms> {
    s.and_then(|s| s.took)
}

fn steps(out: &mut String, this: &Report, others: &[Other<'_>]) {
    let _ = writeln!(
        out,
        "| step | took here | took there (1, 2, …) | drift | differences |\n|---|---|---|---|---|"
    );
    // This session's steps in its order, then any only the others have.
    let mut ids: Vec<String> = this.facts.steps.iter().map(|s| s.id.clone()).collect();
    for o in others {
        for s in &o.report.facts.steps {
            if !ids.contains(&s.id) {
                ids.push(s.id.clone());
            }
        }
    }
    for id in &ids {
        let here = step_of(this, id);
        let there: Vec<Option<&StepFacts>> = others.iter().map(|o| step_of(o.report, id)).collect();
        let times: Vec<String> = there
            .iter()
            .map(|s| took(*s).map(human).unwrap_or_else(|| "—".into()))
            .collect();
        let rehearsed: Vec<Ms> = there.iter().filter_map(|s| took(*s)).collect();
        let drift = match (took(here), rehearsed.is_empty()) {
            (Some(h), false) => {
                let mean = rehearsed.iter().sum::<Ms>() / rehearsed.len() as Ms;
                let d = h - mean;
                if d == 0 {
                    format!("none (mean {})", human(mean))
                } else {
                    let sign = if d > 0 { "+" } else { "−" };
                    format!("{sign}{} (vs mean {})", human(d.abs()), human(mean))
                }
            }
            _ => "—".into(),
        };
        let mine = fate(here);
        let diffs: Vec<String> = there
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let theirs = fate(*s);
                (theirs != mine).then(|| format!("{mine} here, {theirs} in {}", i + 1))
            })
            .collect();
        let _ = writeln!(
            out,
            "| `{id}` | {} | {} | {drift} | {} |",
            took(here).map(human).unwrap_or_else(|| "—".into()),
            times.join(", "),
            diffs.join("; ")
        );
    }
    out.push('\n');
}

fn fired(r: &Report) -> BTreeSet<String> {
    r.facts.breaches.iter().map(|b| b.0.clone()).collect()
}

fn triggers(out: &mut String, this: &Report, others: &[Other<'_>]) {
    let here = fired(this);
    let mut lines = Vec::new();
    for (i, o) in others.iter().enumerate() {
        let there = fired(o.report);
        let only_here: Vec<&String> = here.difference(&there).collect();
        let only_there: Vec<&String> = there.difference(&here).collect();
        if !only_here.is_empty() {
            lines.push(format!(
                "- fired here and not in {}: {}",
                i + 1,
                list(&only_here)
            ));
        }
        if !only_there.is_empty() {
            lines.push(format!(
                "- fired in {} and not here: {}",
                i + 1,
                list(&only_there)
            ));
        }
    }
    let _ = writeln!(out, "Triggers:\n");
    if lines.is_empty() {
        let _ = writeln!(
            out,
            "- the same triggers fired in every session{}",
            if here.is_empty() {
                " (none)".to_string()
            } else {
                format!(": {}", list(&here.iter().collect::<Vec<_>>()))
            }
        );
    }
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    out.push('\n');
}

fn rollback_text(r: &Report) -> String {
    match &r.facts.rollback {
        None => "no rollback".into(),
        Some(rb) => match (rb.actual, &rb.aborted) {
            (_, Some((by, _, at))) => format!(
                "started {}, aborted by {by} after {} (planned {})",
                t_clock(rb.started),
                human(at - rb.started),
                human(rb.planned)
            ),
            (Some(a), None) => format!(
                "started {}, took {} (planned {})",
                t_clock(rb.started),
                human(a),
                human(rb.planned)
            ),
            (None, None) => format!("started {}, unfinished", t_clock(rb.started)),
        },
    }
}

fn rollbacks(out: &mut String, this: &Report, others: &[Other<'_>]) {
    let _ = writeln!(out, "Rollback:\n\n- here: {}", rollback_text(this));
    for (i, o) in others.iter().enumerate() {
        let _ = writeln!(out, "- {}: {}", i + 1, rollback_text(o.report));
    }
    out.push('\n');
}
