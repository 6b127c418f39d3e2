//! The report as Markdown that also reads as plain text, to paste into a change ticket:
//! the outcome first, then the steps against their plan, the rollback, what the signals
//! said and who answered them, notes, metric read gaps, and the journal's digest.

use super::Report;
use super::facts::{Facts, Result, StepFacts};
use crate::core::engine::Outcome;
use crate::core::event::{Event, Mode, SYSTEM};
use crate::core::time::{Ms, human, t_clock};
use crate::screen::print::Printed;
use std::fmt::Write;

/// A table cell: one line, no column breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn t(ms: Option<Ms>) -> String {
    ms.map(t_clock).unwrap_or_else(|| "—".into())
}

fn d(ms: Option<Ms>) -> String {
    ms.map(human).unwrap_or_else(|| "—".into())
}

fn outcome(f: &Facts) -> String {
    match &f.end {
        Some(e) => match e.outcome {
            Outcome::Completed => "COMPLETE".into(),
            Outcome::RolledBack => "ROLLED BACK".into(),
            Outcome::Aborted => "ABORTED".into(),
        },
        None => "NOT ENDED".into(),
    }
}

/// The whole report.
pub fn write(r: &Report) -> String {
    let f = &r.facts;
    let mut out = String::new();
    let mode = match f.mode {
        Some(Mode::Live) => "LIVE",
        _ => "DRILL",
    };
    let _ = writeln!(out, "# {mode} report: {} — {}\n", f.title, outcome(f));
    summary(&mut out, r);
    steps(&mut out, r, "Steps", &f.steps);
    rollback(&mut out, r);
    signals(&mut out, r);
    notes(&mut out, f);
    metrics(&mut out, r);
    journal(&mut out, r);
    out
}

fn summary(out: &mut String, r: &Report) {
    let f = &r.facts;
    let _ = writeln!(out, "| | |\n|---|---|");
    let row = |out: &mut String, k: &str, v: String| {
        let _ = writeln!(out, "| {k} | {} |", cell(&v));
    };
    let end = match &f.end {
        Some(e) => {
            let why = if e.outcome == Outcome::Aborted && !e.reason.is_empty() {
                format!(": {}", e.reason)
            } else {
                String::new()
            };
            let plan = if e.outcome == Outcome::Completed {
                String::new()
            } else {
                format!(" (the plan ran to {})", t_clock(e.planned_finish))
            };
            format!(
                "**{}** (exit {}) at {}{plan}{why}",
                outcome(f),
                e.exit_code,
                t_clock(e.at)
            )
        }
        None => format!(
            "**NOT ENDED**: the journal ends at {} ({}){}",
            t_clock(f.last.0),
            f.last.1,
            f.stopped
                .as_ref()
                .map(|s| format!(", stopped: {s}; resumable"))
                .unwrap_or_else(
                    || ", with no end or stop: the driver died or is still running".into()
                )
        ),
    };
    row(out, "Outcome", end);
    let mode = match f.mode {
        Some(Mode::Live) => "LIVE".to_string(),
        _ => format!("DRILL · {}", f.drill.join(" · ")),
    };
    row(out, "Mode", mode);
    row(
        out,
        "Runbook",
        format!(
            "`{}` · sha256 `{}` · {}",
            f.runbook, f.fingerprint, r.runbook_note
        ),
    );
    row(
        out,
        "T-0",
        match &f.t0_wall {
            Some(w) => w.clone(),
            None => "drill clock: T-times are the drill's, not the wall's".into(),
        },
    );
    row(
        out,
        "Started",
        format!("{} · cutover {}", f.started_wall, f.version),
    );
    if !f.resumes.is_empty() {
        let list: Vec<String> = f
            .resumes
            .iter()
            .map(|(at, by)| format!("{at} by {by}"))
            .collect();
        row(
            out,
            "Resumed",
            format!("{} time(s): {}", f.resumes.len(), list.join("; ")),
        );
    }
    for (at, whose) in &f.takeovers {
        row(out, "Lock taken over", format!("{at}, from dead {whose}"));
    }
    let ops: Vec<String> = f
        .operators
        .iter()
        .map(|(o, n)| format!("{o} ({n} {})", if *n == 1 { "entry" } else { "entries" }))
        .collect();
    row(
        out,
        "Operators",
        if ops.is_empty() {
            format!("none ({SYSTEM} only)")
        } else {
            ops.join(", ")
        },
    );
    if let Some(e) = f.end.as_ref().filter(|e| e.outcome == Outcome::Completed) {
        let late = e.at - e.planned_finish;
        let verdict = match late {
            l if l > 0 => format!("{} late", human(l)),
            l if l < 0 => format!("{} early", human(-l)),
            _ => "on plan".into(),
        };
        row(
            out,
            "Finish",
            format!(
                "planned {}, actual {} ({verdict})",
                t_clock(e.planned_finish),
                t_clock(e.at)
            ),
        );
    }
    for (step, at) in &f.points_of_no_return {
        row(
            out,
            "Point of no return",
            format!("`{step}` passed at {}: no rollback after it", t_clock(*at)),
        );
    }
    out.push('\n');
}

fn result_text(s: &StepFacts) -> String {
    match &s.result {
        Result::NotReached => "not reached".into(),
        Result::Unfinished => "unfinished".into(),
        Result::Done if s.attempts > 1 => format!("done (attempt {})", s.attempts),
        Result::Done => "done".into(),
        Result::Failed(why) => format!("FAILED: {why}"),
        Result::Skipped(by, why) => format!("skipped by {by}: {why}"),
    }
}

fn steps(out: &mut String, r: &Report, heading: &str, list: &[StepFacts]) {
    let _ = writeln!(out, "## {heading}\n");
    if list.is_empty() {
        let _ = writeln!(out, "None ran.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| step | title | owner | planned | started | late | took | expect | confirmed by | result |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for s in list {
        let st = r.runbook.as_ref().and_then(|rb| rb.step(&s.id));
        let over = match (s.took, s.expect.or(st.and_then(|x| x.expect))) {
            (Some(took), Some(e)) if took > e => format!(" (+{})", human(took - e)),
            _ => String::new(),
        };
        let held = s
            .held
            .map(|h| format!(", held {}", human(h)))
            .unwrap_or_default();
        let by = match &s.confirmed_by {
            Some((o, true)) => format!("{o} (`--auto-ack`)"),
            Some((o, false)) => o.clone(),
            None => "—".into(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {}{over}{held} | {} | {} | {} |",
            s.id,
            cell(st.map(|x| x.title.as_str()).unwrap_or("")),
            cell(st.and_then(|x| x.owner.as_deref()).unwrap_or("—")),
            t(s.planned),
            t(s.started),
            d(s.late),
            d(s.took),
            d(s.expect.or(st.and_then(|x| x.expect))),
            cell(&by),
            cell(&result_text(s)),
        );
    }
    let failed: Vec<&StepFacts> = list.iter().filter(|s| !s.failures.is_empty()).collect();
    if !failed.is_empty() {
        out.push('\n');
        for s in failed {
            for (i, why) in s.failures.iter().enumerate() {
                let _ = writeln!(out, "- `{}` failure {}: {why}", s.id, i + 1);
            }
        }
    }
    out.push('\n');
}

fn rollback(out: &mut String, r: &Report) {
    let Some(rb) = &r.facts.rollback else {
        let _ = writeln!(out, "## Rollback\n\nNo rollback started.\n");
        return;
    };
    let _ = writeln!(out, "## Rollback\n");
    let who = if rb.by == SYSTEM {
        "automatically".to_string()
    } else {
        format!("by {}", rb.by)
    };
    let _ = writeln!(
        out,
        "- Started {who} at {}: {}",
        t_clock(rb.started),
        rb.reason
    );
    let verdict = match (&rb.aborted, rb.actual, &rb.gaps) {
        (Some((by, why, at)), _, _) => format!(
            "ABORTED by {by} at {} after {}: {why}",
            t_clock(*at),
            human(at - rb.started)
        ),
        (None, Some(a), None) => format!("done cleanly in {}", human(a)),
        (None, Some(a), Some(g)) => format!("done in {} but NOT CLEANLY: {g}", human(a)),
        (None, None, _) => "not finished when the journal ends".into(),
    };
    let _ = writeln!(
        out,
        "- Procedure \"{}\", planned {}: {verdict}",
        rb.procedure,
        human(rb.planned)
    );
    if !rb.values.is_empty() {
        let _ = writeln!(
            out,
            "- The watched metrics when it started: {}",
            values_text(r, &rb.values)
        );
    }
    out.push('\n');
    steps(out, r, "Rollback steps", &rb.steps);
}

fn signals(out: &mut String, r: &Report) {
    let _ = writeln!(out, "## Triggers, gates, vetoes and decisions\n");
    if r.facts.signals.is_empty() {
        let _ = writeln!(
            out,
            "No trigger breached or went unknown, no gate failed, no decision was asked.\n"
        );
        return;
    }
    let Some(rb) = &r.runbook else {
        let _ = writeln!(out, "(the runbook is not at hand: kinds only)\n");
        for &i in &r.facts.signals {
            let rec = &r.records[i];
            let _ = writeln!(
                out,
                "- {} {} by {}",
                t_clock(rec.t_ms()),
                rec.kind(),
                rec.operator
            );
        }
        out.push('\n');
        return;
    };
    let _ = writeln!(out, "```");
    for &i in &r.facts.signals {
        let rec = &r.records[i];
        let p = Printed::new(rb, rec);
        if p.shows() {
            let _ = writeln!(out, "{p}");
        }
        let values = match &rec.event {
            Event::TriggerBreach { values, .. } | Event::DecisionRequested { values, .. } => values,
            _ => continue,
        };
        if !values.is_empty() {
            let _ = writeln!(out, "{:>13}values then: {}", "", values_text(r, values));
        }
    }
    let _ = writeln!(out, "```\n");
}

/// Readings as `id 4.02 % (15s old), other UNKNOWN (why)`, in the metrics' own units.
fn values_text(r: &Report, values: &crate::core::event::Values) -> String {
    values
        .iter()
        .map(|(id, v)| {
            let unit = r
                .runbook
                .as_ref()
                .and_then(|rb| rb.signals.metric(id))
                .and_then(|m| m.unit.clone())
                .unwrap_or_default();
            match (v.value, &v.unknown) {
                (Some(x), _) => format!(
                    "{id} {}{}",
                    crate::core::monitor::with_unit(x, &unit),
                    v.age
                        .map(|a| format!(" ({} old)", human(a.ms() / 1000 * 1000)))
                        .unwrap_or_default()
                ),
                (None, Some(why)) => format!("{id} UNKNOWN ({why})"),
                (None, None) => format!("{id} UNKNOWN"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn notes(out: &mut String, f: &Facts) {
    let _ = writeln!(out, "## Notes and holds\n");
    if f.notes.is_empty() {
        let _ = writeln!(out, "None.\n");
        return;
    }
    for (at, by, text) in &f.notes {
        let _ = writeln!(out, "- {} {by}: {text}", t_clock(*at));
    }
    out.push('\n');
}

fn metrics(out: &mut String, r: &Report) {
    let f = &r.facts;
    let _ = writeln!(out, "## Metrics\n");
    match &r.samples {
        Some(s) => evidence(out, r, s),
        None => {
            let _ = writeln!(
                out,
                "The session kept no metric samples (it has no samples.jsonl): the values each trigger, gate and decision acted on are in the section above.\n"
            );
        }
    }
    if f.gaps.is_empty() {
        let _ = writeln!(out, "Every metric read without a failure.\n");
        return;
    }
    let _ = writeln!(
        out,
        "Read failures (UNKNOWN on screen; never treated as healthy):\n\n| metric | from | to | for | reason |\n|---|---|---|---|---|"
    );
    for (m, gaps) in &f.gaps {
        for g in gaps {
            let (to, len) = match g.to {
                Some(to) => (t_clock(to), human(to - g.from)),
                None => (
                    "still failing at the end".into(),
                    format!("{}+", human(f.last.0 - g.from)),
                ),
            };
            let _ = writeln!(
                out,
                "| `{m}` | {} | {to} | {len} | {} |",
                t_clock(g.from),
                cell(&g.reason)
            );
        }
    }
    out.push('\n');
}

/// Per metric and side: samples, min, max, last, time UNKNOWN, time in breach.
fn evidence(out: &mut String, r: &Report, s: &super::Samples) {
    let f = &r.facts;
    let sums = crate::core::evidence::summarise(&s.lines, f.last.0);
    let mut ids: Vec<(String, String, String)> = match &r.runbook {
        Some(rb) => rb
            .signals
            .metrics
            .iter()
            .map(|m| {
                (
                    m.id.clone(),
                    m.side.as_str().to_string(),
                    m.unit.clone().unwrap_or_default(),
                )
            })
            .collect(),
        None => Vec::new(),
    };
    let mut extra: Vec<&String> = sums
        .keys()
        .filter(|k| k.as_str() != crate::core::evidence::CAPPED && !ids.iter().any(|i| &i.0 == *k))
        .collect();
    extra.sort();
    ids.extend(
        extra
            .into_iter()
            .map(|k| (k.clone(), "?".into(), String::new())),
    );
    let _ = writeln!(
        out,
        "From the session's samples (every sample of watched metrics; 5-minute summaries of the rest):\n\n| metric | side | samples | min | max | last | UNKNOWN for | in breach for |\n|---|---|---|---|---|---|---|---|"
    );
    for (id, side, unit) in &ids {
        let sum = sums.get(id).cloned().unwrap_or_default();
        let v = |x: Option<f64>| {
            x.map(|x| crate::core::monitor::with_unit(x, unit))
                .unwrap_or_else(|| "—".into())
        };
        let last = sum
            .last
            .map(|(x, at)| format!("{} at {}", v(Some(x)), t_clock(at)))
            .unwrap_or_else(|| "never read".into());
        let breach: Ms = f
            .breaches
            .iter()
            .filter(|b| &b.1 == id)
            .map(|b| b.3.unwrap_or(f.last.0) - b.2)
            .sum();
        let _ = writeln!(
            out,
            "| `{id}` | {side} | {} | {} | {} | {} | {} | {} |",
            sum.samples,
            v(sum.min),
            v(sum.max),
            cell(&last),
            if sum.unknown_for > 0 {
                human(sum.unknown_for)
            } else {
                "—".into()
            },
            if breach > 0 {
                human(breach)
            } else {
                "—".into()
            },
        );
    }
    if let Some(cap) = s
        .lines
        .iter()
        .find(|l| l.m == crate::core::evidence::CAPPED)
    {
        let _ = writeln!(
            out,
            "\nThe record stops at {}: {}",
            t_clock(cap.t_ms()),
            cap.unknown.as_deref().unwrap_or("")
        );
    }
    if s.unreadable > 0 {
        let _ = writeln!(
            out,
            "\n{} line(s) of samples.jsonl could not be read (a line torn by a kill is the usual one).",
            s.unreadable
        );
    }
    out.push('\n');
}

fn journal(out: &mut String, r: &Report) {
    let v = &r.chain;
    let _ = writeln!(out, "## Journal\n");
    let chain = match &v.broken {
        Some(b) => format!("**BROKEN** at line {}: {}", b.line, b.why),
        None if v.lines > 0 && v.unchained == v.lines => {
            "not verifiable: written before the journal was chained".into()
        }
        None if v.unchained > 0 => format!(
            "verified from event {} (events 1–{} were written before the chain)",
            v.unchained + 1,
            v.unchained
        ),
        None => "verified: every event carries the hash of the one before it".into(),
    };
    let _ = writeln!(out, "- {} events; chain {chain}", v.lines);
    let _ = writeln!(
        out,
        "- digest `sha256:{}` (`cutover verify` prints the same)",
        v.digest
    );
}
