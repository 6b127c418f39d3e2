//! The rollback overlays: the preview behind `R` (which procedure and why it applies, the
//! reason that will be journaled, the triggers breaching now, the steps with their expected
//! times, the budget, and what has been done that the procedure will and will not undo), the
//! explanation shown instead when rollback is no longer possible, and the abort prompt.
//! Every one of them keeps its input or closing line on screen at 80×24: long lists are cut
//! before that line is.

use super::{View, boxed, input_line};
use crate::core::engine::StepState;
use crate::core::monitor::trigger::TriggerState;
use crate::core::number::num;
use crate::core::runbook::{OnFailure, Procedure, Step};
use crate::core::time::{human, t_clock, t_offset};
use crate::screen::ui::{clock_span, fit};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Splits `text` into lines of at most `w` characters, at spaces where it can, each line
/// prefixed with `indent`.
fn wrap(text: &str, w: usize, indent: &str) -> Vec<String> {
    let w = w.saturating_sub(indent.chars().count()).max(10);
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let needed = cur.chars().count() + usize::from(!cur.is_empty()) + word.chars().count();
        if needed > w && !cur.is_empty() {
            out.push(format!("{indent}{cur}"));
            cur.clear();
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
        while cur.chars().count() > w {
            let head: String = cur.chars().take(w).collect();
            let tail: String = cur.chars().skip(w).collect();
            out.push(format!("{indent}{head}"));
            cur = tail;
        }
    }
    if !cur.is_empty() {
        out.push(format!("{indent}{cur}"));
    }
    out
}

/// The paragraphs of a text block: lines joined, blank lines between paragraphs (YAML's `|`
/// keeps the author's line breaks, which would make ragged lines once wrapped again).
fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// `wrap` for a list item: the first line starts with `bullet`, the rest line up under its
/// text.
fn bullet(text: &str, w: usize, bullet: &str) -> Vec<String> {
    let hang = " ".repeat(bullet.chars().count());
    wrap(text, w, &hang)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{bullet}{}", &l[hang.len()..])
            } else {
                l
            }
        })
        .collect()
}

fn styled<'a>(lines: Vec<String>, style: Style) -> Vec<Line<'a>> {
    lines
        .into_iter()
        .map(|l| Line::from(Span::styled(l, style)))
        .collect()
}

/// Keeps `head`, as much of `middle` as fits (saying how much was left out), and all of
/// `tail`, within `rows`.
fn fit_rows<'a>(
    head: Vec<Line<'a>>,
    mut middle: Vec<Line<'a>>,
    tail: Vec<Line<'a>>,
    rows: usize,
    more: Style,
) -> Vec<Line<'a>> {
    let room = rows.saturating_sub(head.len() + tail.len());
    if middle.len() > room {
        let keep = room.saturating_sub(1);
        let cut = middle.len() - keep;
        middle.truncate(keep);
        middle.push(Line::from(Span::styled(
            format!("   … {cut} more lines (a taller terminal shows them)"),
            more,
        )));
    }
    let mut out = head;
    out.extend(middle);
    out.extend(tail);
    out
}

/// Box width for the rollback overlays: wide enough to read, never wider than the screen.
fn width(area: Rect) -> u16 {
    area.width.clamp(20, 100)
}

/// The rollback preview. Every line is wrapped here, not by the paragraph: the box's height
/// counts them.
pub(super) fn rollback(f: &mut Frame, area: Rect, v: &View, text: &str) {
    let Some(p) = v.engine.rollback_procedure() else {
        return;
    };
    let w = width(area);
    let inner = w.saturating_sub(2) as usize;
    let mut head = heading(v, p, inner);
    head.extend(reason(v, inner));
    head.extend(breaching(v, inner));
    head.extend(budget(v, p, inner));
    let middle = steps(v, p, inner);
    let mut tail = undoes(v, p, inner);
    tail.extend(confirmation(v, text));
    let rows = area.height.saturating_sub(2) as usize;
    let lines = fit_rows(head, middle, tail, rows, v.theme.dim);
    boxed(f, area, "ROLLBACK", lines, v, w);
}

/// The procedure's title, and which part of the run it applies to when there are several.
fn heading(v: &View, p: &Procedure, inner: usize) -> Vec<Line<'static>> {
    let rollbacks = &v.engine.runbook().rollbacks;
    let which = if rollbacks.len() > 1 {
        match &p.after {
            Some(a) if p.after_done => format!("(applies once `{a}` is done)"),
            Some(a) => format!("(applies once `{a}` has started)"),
            // The first procedure applies until the next one's step starts: name that step.
            None => match rollbacks.iter().find(|r| r.after.is_some()) {
                Some(next) => format!(
                    "(applies until `{}` {})",
                    next.after.as_deref().unwrap_or_default(),
                    if next.after_done { "is done" } else { "starts" }
                ),
                None => String::new(),
            },
        }
    } else {
        String::new()
    };
    let mut lines = styled(wrap(&p.title, inner, " "), v.theme.title);
    lines.extend(styled(wrap(which.trim(), inner, " "), v.theme.dim));
    lines
}

/// The reason exactly as it will be journaled.
fn reason(v: &View, inner: usize) -> Vec<Line<'static>> {
    let e = v.engine;
    let why = match e.monitor.decisions.front() {
        Some(d) => format!(
            "why: your answer to the decision on trigger `{}`: {}",
            d.trigger, d.reason
        ),
        None => format!("why: {}", crate::screen::app::operator_reason(e)),
    };
    styled(wrap(&why, inner, " "), v.theme.base)
}

/// One line per trigger breaching now (or about to), with its value, limit and how long.
fn breaching(v: &View, inner: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for tr in &v.engine.monitor.triggers {
        let (value, limit, held) = match &tr.state {
            TriggerState::Breach {
                value, limit, held, ..
            }
            | TriggerState::Pending {
                value, limit, held, ..
            } => (*value, *limit, *held),
            _ => continue,
        };
        let line = format!(
            "breaching now: trigger `{}`: {} {} {} for {}",
            tr.def.id,
            num(value),
            tr.def.when.op.as_str(),
            num(limit),
            clock_span(held)
        );
        lines.push(Line::from(Span::styled(
            format!(" {}", fit(&line, inner.saturating_sub(1))),
            v.theme.metric_breach,
        )));
    }
    lines
}

/// The time it takes (with undoing started steps) against the rollback window, and a
/// warning when the window is too short or already closed.
fn budget(v: &View, p: &Procedure, inner: usize) -> Vec<Line<'static>> {
    let e = v.engine;
    let planned = e.rollback_planned(p);
    let n = e.rollback_steps_of(p).count();
    let needs = e.rollback_needs().unwrap_or(planned);
    // Earlier drills that took longer than the steps' `expect`s lengthen the budget.
    let rehearsed = planned + e.rollback_rehearsed_extra();
    let steps = if n == 1 { "step" } else { "steps" };
    let mut budget = format!("{n} {steps}, planned {}", human(planned));
    if rehearsed > planned {
        budget.push_str(&format!(", {} by rehearsed times", human(rehearsed)));
    }
    if needs > rehearsed {
        budget.push_str(&format!(
            " + {} to undo started steps = {}",
            human(needs - rehearsed),
            human(needs)
        ));
    }
    let mut closed = None;
    if let Some(wnd) = e.runbook().rollback_window {
        let left = wnd - v.now;
        if left > 0 {
            budget.push_str(&format!(
                " · window closes {} ({} left)",
                t_offset(wnd),
                human(left)
            ));
            if left < needs {
                closed = Some(format!(
                    "⚠ it cannot finish before the window closes at {}",
                    t_offset(wnd)
                ));
            }
        } else {
            closed = Some(format!(
                "⚠ the rollback window closed at {}: the source may no longer be current",
                t_offset(wnd)
            ));
        }
    }
    let mut lines = styled(wrap(&budget, inner, " "), v.theme.base);
    if let Some(c) = closed {
        lines.extend(styled(wrap(&c, inner, " "), v.theme.state_late));
    }
    lines
}

/// The procedure's steps as a table: number, kind, title, expected time and extras.
fn steps(v: &View, p: &Procedure, inner: usize) -> Vec<Line<'static>> {
    // Only the steps that apply given what ran: a step that undoes something never done
    // is not run (`Engine::rollback_step_applies`), so it is not listed either.
    let steps: Vec<&Step> = v.engine.rollback_steps_of(p).collect();
    let extras: Vec<String> = steps.iter().map(|s| step_extras(v, s)).collect();
    let extra_w = extras.iter().map(|x| x.chars().count()).max().unwrap_or(0);
    let longest = steps
        .iter()
        .map(|s| s.title.chars().count())
        .max()
        .unwrap_or(10);
    // Titles get what the number, kind, time and extras leave, and no more than they need.
    let title_w = inner
        .saturating_sub(6 + 7 + 1 + 6 + 2 + extra_w)
        .clamp(10, longest.max(10));
    let mut lines = Vec::new();
    for (i, (s, extra)) in steps.iter().zip(&extras).enumerate() {
        let x = s.expect.map(human).unwrap_or_else(|| "?".into());
        let kind = if s.is_manual() { "manual" } else { "auto" };
        let row = format!(
            "  {:>2}. {:<6} {:<title_w$} {:>6}  {extra}",
            i + 1,
            kind,
            fit(&s.title, title_w),
            x,
        );
        lines.push(Line::from(Span::styled(fit(&row, inner), v.theme.base)));
    }
    lines
}

/// A step's rehearsed time (where longer than its `expect`), timeout, retries and verify,
/// where it has them.
fn step_extras(v: &View, s: &Step) -> String {
    let mut extra = Vec::new();
    if let Some(t) = v.engine.rehearsals().longer(s) {
        extra.push(format!("rehearsed {}", human(t)));
    }
    if s.run.is_some() {
        extra.push(format!("timeout {}", human(s.timeout)));
    }
    if s.on_failure == OnFailure::Retry {
        extra.push(format!("retries {}", s.retries));
    }
    if s.verify.is_some() {
        extra.push("verify".into());
    }
    extra.join(", ")
}

/// What has been done: what the procedure undoes, and what it leaves as it is.
fn undoes(v: &View, p: &Procedure, inner: usize) -> Vec<Line<'static>> {
    let e = v.engine;
    let mut undone = Vec::new();
    let mut left_as_is = Vec::new();
    for s in e.runbook().steps().filter(|s| e.reached(&s.id)) {
        let state = e.run_of(&s.id).map(|r| r.state.clone()).unwrap_or_default();
        let mark = reached_mark(&state);
        // Numbered as the list above numbers them: the steps that apply.
        let by: Vec<String> = e
            .rollback_steps_of(p)
            .enumerate()
            .filter(|(_, r)| r.undoes.iter().any(|u| u == &s.id))
            .map(|(i, _)| format!("step {}", i + 1))
            .collect();
        if by.is_empty() {
            left_as_is.push(format!("{}{mark}", s.id));
        } else {
            undone.push(format!("{}{mark} by {}", s.id, by.join(", ")));
        }
    }
    let undo_text = if undone.is_empty() {
        "undoes: none of the steps done so far is named by its steps' `undoes`".to_string()
    } else {
        format!("undoes: {}", undone.join(", "))
    };
    let mut lines = styled(wrap(&undo_text, inner, " "), v.theme.base);
    if !left_as_is.is_empty() {
        lines.extend(styled(
            wrap(
                &format!("done, and left as it is: {}", left_as_is.join(", ")),
                inner,
                " ",
            ),
            v.theme.dim,
        ));
    }
    lines
}

/// Done is the usual case; only a step caught half-way is marked.
fn reached_mark(state: &StepState) -> &'static str {
    match state {
        StepState::Done { .. } => "",
        StepState::Running { .. } => " (running)",
        StepState::Failed { .. } => " (failed)",
        StepState::Interrupted { .. } => " (interrupted)",
        StepState::Waiting => " (waiting)",
        _ => " (started)",
    }
}

/// What starting it stops, and the line that starts it.
fn confirmation(v: &View, text: &str) -> Vec<Line<'static>> {
    let e = v.engine;
    let t = v.theme;
    let mut lines = Vec::new();
    if let Some(c) = e.current().filter(|_| e.busy()) {
        lines.push(Line::from(Span::styled(
            format!(" the running step `{c}` will be stopped"),
            t.state_late,
        )));
    }
    lines.push(Line::from(""));
    lines.push(input_line(" type rollback to start: ", text, v));
    lines.push(Line::from(Span::styled(
        " Enter starts it · Esc cancels · a reason may follow: rollback <why>",
        t.dim,
    )));
    lines
}

/// Why rollback is no longer possible, and what remains: rolling forward, and the runbook's
/// documented recovery.
pub(super) fn no_rollback(f: &mut Frame, area: Rect, v: &View, why: &str) {
    let e = v.engine;
    let t = v.theme;
    let w = width(area);
    let inner = w.saturating_sub(2) as usize;
    let head = vec![Line::from(Span::styled(
        " ROLLBACK IS NO LONGER POSSIBLE",
        t.state_late,
    ))];
    // The heading already says it is no longer possible.
    let why = why
        .strip_prefix("rollback is no longer possible: ")
        .unwrap_or(why);
    let mut middle = styled(wrap(why, inner, " "), t.base);
    middle.push(Line::from(Span::styled(" What remains:", t.title)));
    let left: Vec<&str> = e
        .runbook()
        .steps()
        .filter(|s| e.run_of(&s.id).is_none_or(|r| !r.state.finished()))
        .map(|s| s.id.as_str())
        .collect();
    let forward = if left.is_empty() {
        "roll forward: every forward step is finished".to_string()
    } else {
        format!(
            "roll forward: {} forward step{} left: {}",
            left.len(),
            if left.len() == 1 { "" } else { "s" },
            left.join(", ")
        )
    };
    middle.extend(styled(bullet(&forward, inner, "  · "), t.base));
    match &e.runbook().recovery {
        Some(r) => {
            middle.push(Line::from(Span::styled(
                "  · the runbook's recovery:",
                t.base,
            )));
            for para in paragraphs(r) {
                middle.extend(styled(wrap(&para, inner, "    "), t.base));
            }
        }
        None => middle.extend(styled(
            bullet(
                "the runbook documents no recovery (a top-level `recovery:` text would show here)",
                inner,
                "  · ",
            ),
            t.dim,
        )),
    }
    if e.point_of_no_return_passed().is_some() {
        middle.extend(styled(
            bullet(
                "triggers whose action is rollback now raise alerts instead",
                inner,
                "  · ",
            ),
            t.dim,
        ));
    }
    let tail = vec![
        Line::from(""),
        Line::from(Span::styled(" any key closes this", t.dim)),
    ];
    let rows = area.height.saturating_sub(2) as usize;
    boxed(
        f,
        area,
        "No rollback",
        fit_rows(head, middle, tail, rows, t.dim),
        v,
        w,
    );
}

/// The abort prompt: what ending the run here means, inside a rollback most of all.
pub(super) fn abort(f: &mut Frame, area: Rect, v: &View, text: &str) {
    let e = v.engine;
    let t = v.theme;
    let w = width(area).min(90);
    let inner = w.saturating_sub(2) as usize;
    let mut head = Vec::new();
    let mut middle = Vec::new();
    match &e.rollback {
        Some(r) => {
            let at = e.current().unwrap_or("?");
            head.push(Line::from(Span::styled(
                format!(" ABORT THE ROLLBACK at step `{at}`?"),
                t.state_late,
            )));
            middle.extend(styled(
                wrap(
                    &format!(
                        "It has run for {} since {}. The run ends here (exit 1) and running commands are stopped; whoever takes over finishes the rollback by hand.",
                        human(v.now - r.started),
                        t_clock(r.started)
                    ),
                    inner,
                    " ",
                ),
                t.base,
            ));
            let steps: Vec<String> = e
                .rollback_run_steps()
                .into_iter()
                .map(|s| {
                    let w = e.run_of(&s.id).map_or("pending", |r| r.state.word());
                    format!("{} ({w})", s.id)
                })
                .collect();
            middle.extend(styled(
                wrap(&format!("steps: {}", steps.join(", ")), inner, " "),
                t.dim,
            ));
        }
        None => {
            head.push(Line::from(Span::styled(" ABORT THE RUN?", t.state_late)));
            middle.extend(styled(
                wrap(
                    "The run ends here (exit 1): running commands are stopped and nothing is rolled back. To undo the cutover, use the rollback instead.",
                    inner,
                    " ",
                ),
                t.base,
            ));
        }
    }
    let tail = vec![
        input_line(" reason (journaled): ", text, v),
        Line::from(Span::styled(
            " Enter aborts (a reason is needed) · Esc cancels",
            t.dim,
        )),
    ];
    let rows = area.height.saturating_sub(2) as usize;
    boxed(
        f,
        area,
        "Abort",
        fit_rows(head, middle, tail, rows, t.dim),
        v,
        w,
    );
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_words_longer_than_the_line() {
        assert_eq!(
            wrap("one two three four five", 11, " "),
            vec![" one two", " three four", " five"]
        );
        let long = wrap("abcdefghijklmnopqrstuvwxyz", 11, " ");
        assert_eq!(long, vec![" abcdefghij", " klmnopqrst", " uvwxyz"]);
        assert!(wrap("", 20, " ").is_empty());
    }

    #[test]
    fn paragraphs_are_split_at_blank_lines_and_joined_inside() {
        assert_eq!(
            super::paragraphs("Roll forward on\nDatabricks.\n\nRestore tables\nwith RESTORE.\n"),
            vec![
                "Roll forward on Databricks.",
                "Restore tables with RESTORE."
            ]
        );
    }
}
