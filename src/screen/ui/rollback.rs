//! The rollback view: once a rollback runs (and after it ran) it takes the timeline's place,
//! because from then on the procedure is what the operator tracks. It owns the procedure's
//! summary against its plan, one row per rollback step with its state and time against
//! `expect`, what the current step printed last, why it failed and which keys apply, and, in
//! the full layout, what became of the forward steps. It reads the engine and decides nothing.

use super::{View, clock_span, fit};
use crate::config::keymap::Action;
use crate::core::engine::{RollbackRun, Stage, StepRun, StepState};
use crate::core::runbook::{OnFailure, Procedure, Step};
use crate::core::time::{Ms, t_clock};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use std::ops::Range;

/// What the operator can do about a rollback step that stopped the run. Abort is the way out
/// of a rollback that cannot go on; an action the keymap leaves unbound is not offered.
const STOPPED_KEYS: [(Action, &str); 3] = [
    (Action::Retry, "retry"),
    (Action::Skip, "skip (asks why)"),
    (Action::Abort, "abort (asks why)"),
];

/// The same for a step that was running when the cockpit died.
const INTERRUPTED_KEYS: [(Action, &str); 4] = [
    (Action::Complete, "confirm it took effect"),
    (Action::Retry, "retry"),
    (Action::Skip, "skip (asks why)"),
    (Action::Abort, "abort (asks why)"),
];

pub(super) fn render(f: &mut Frame, area: Rect, v: &View, large: bool) {
    let t = v.theme;
    let focused = v.ui.focus == crate::screen::app::Pane::Timeline;
    let inner = super::pane_box(f, area, "Rollback", focused, t, None);
    let e = v.engine;
    let (Some(run), Some(p)) = (&e.rollback, e.rollback_procedure()) else {
        return;
    };
    let (w, h) = (inner.width as usize, inner.height as usize);
    if w == 0 || h == 0 {
        return;
    }
    // Once the run is over its clock stops: an ended or aborted rollback keeps its figures.
    let now = if e.outcome.is_some() {
        e.last_now
    } else {
        v.now
    };
    let mut head = summary(v, run, p, now, w, large);
    let (list, focus) = steps(v, now, w, large);
    if large {
        head.extend(started(v, run, w, 3));
        head.push(Line::default());
    } else {
        // Who started it and why: the compact header cuts the reason, so it is whole here,
        // before the step list, which keeps three rows (scrolled to the current step).
        let need = started(v, run, w, usize::MAX).len();
        let room = h.saturating_sub(head.len() + list.len().min(3));
        if room > 0 {
            head.extend(started(v, run, w, need.min(room)));
        }
    }
    let room = h.saturating_sub(head.len());
    // The forward summary sits on the last row, a blank row above it, only when the steps
    // need nothing of that room.
    let forward = large.then(|| forward_summary(v, w));
    let (list_h, forward) = match forward {
        Some(fw) if list.len() + 2 <= room => (room - 2, Some(fw)),
        _ => (room, None),
    };
    let (start, shown, above, below) = window(&list, focus, list_h);
    let mut lines: Vec<Line> = head.into_iter().take(h).collect();
    if above > 0 {
        lines.push(Line::styled(
            format!("  … {above} {} above", plural(above)),
            v.theme.dim,
        ));
    }
    lines.extend(list.into_iter().skip(start).take(shown));
    if below > 0 {
        lines.push(Line::styled(
            format!("  … {below} more {}", plural(below)),
            v.theme.dim,
        ));
    }
    if let Some(fw) = forward {
        lines.resize(h - 1, Line::default());
        lines.push(fw);
    }
    super::rows(f, inner, lines);
}

/// `⟲ Restore Snowflake as primary · step 3 of 6 · 4:12 of planned 29:00`, or how it ended.
/// One line, unless the title would lose words: then the full layout, which has rows to spare,
/// gives the title a line of its own, and the compact one first drops the planned figure when
/// `over plan by` already says how the rollback compares with it.
fn summary<'a>(
    v: &View,
    run: &RollbackRun,
    p: &Procedure,
    now: Ms,
    w: usize,
    large: bool,
) -> Vec<Line<'a>> {
    let e = v.engine;
    let t = v.theme;
    // The steps it took on when it started (those with something to undo), not the whole
    // procedure: what the list below shows.
    let planned = e.back_planned(p);
    let run_steps = e.rollback_run_steps();
    // Earlier drills that took longer than the steps' `expect`s: said beside the plan, as
    // the budget before the rollback said it.
    let rehearsed = e.back_rehearsed(p);
    let by_drills = if rehearsed > planned {
        format!(", rehearsed {}", clock_span(rehearsed))
    } else {
        String::new()
    };
    let elapsed = run.ended.or(run.aborted).unwrap_or(now) - run.started;
    let (progress, plan) = match (run.ended, run.aborted) {
        (Some(_), _) => (
            format!("done in {}", clock_span(elapsed)),
            format!(" (planned {}{by_drills})", clock_span(planned)),
        ),
        (None, Some(_)) => (
            format!("ABORTED after {}", clock_span(elapsed)),
            format!(" (planned {}{by_drills})", clock_span(planned)),
        ),
        (None, None) => {
            let n = e
                .current()
                .and_then(|c| run_steps.iter().position(|s| s.id == c))
                .map_or(run_steps.len(), |i| i + 1);
            (
                format!("step {n} of {} · {}", run_steps.len(), clock_span(elapsed)),
                format!(" of planned {}{by_drills}", clock_span(planned)),
            )
        }
    };
    let plan = if planned > 0 { plan } else { String::new() };
    let mut over = if planned > 0 && elapsed > planned {
        format!(" · over plan by {}", clock_span(elapsed - planned))
    } else {
        String::new()
    };
    // What the row list alone would leave to be worked out: that it is held, or that it
    // ended with steps failed or skipped.
    if run.ended.is_some() {
        let (failed, skipped) = e.rollback_gaps();
        if !failed.is_empty() || !skipped.is_empty() {
            over.push_str(&format!(
                " · NOT CLEAN: {}",
                crate::core::engine::gaps_text(&failed, &skipped)
            ));
        }
    } else if e.held && e.outcome.is_none() {
        let key = v
            .keymap
            .primary(Action::Hold)
            .map_or_else(|| "hold".to_string(), |k| k.to_string());
        over.push_str(&format!(" · HELD: no next step starts ({key} resumes)"));
    }
    let mark = Span::styled(
        "⟲ ",
        match (run.ended, run.aborted) {
            (Some(_), _) => t.state_rolled_back,
            (None, Some(_)) => t.state_late,
            (None, None) => t.state_rolling_back,
        },
    );
    let title_len = p.title.chars().count();
    let width = |plan: &str| {
        2 + title_len + 3 + progress.chars().count() + plan.chars().count() + over.chars().count()
    };
    let plan = if !large && !over.is_empty() && width(&plan) > w {
        String::new()
    } else {
        plan
    };
    let line = |mut spans: Vec<Span<'a>>| {
        spans.push(Span::styled(progress.clone(), t.base));
        spans.push(Span::styled(plan.clone(), t.base));
        spans.push(Span::styled(over.clone(), t.state_late));
        Line::from(spans)
    };
    if large && width(&plan) > w {
        let title = Span::styled(fit(&p.title, w.saturating_sub(2)), t.title);
        return vec![Line::from(vec![mark, title]), line(vec![Span::raw("  ")])];
    }
    let title_w = w.saturating_sub(width(&plan) - title_len);
    vec![line(vec![
        mark,
        Span::styled(fit(&p.title, title_w), t.title),
        Span::styled(" · ", t.dim),
    ])]
}

/// `started T+00:46:00 by ann: parity drift`, the reason wrapped on words over at most `max`
/// rows: it says why the platform is being moved back, so it is cut only when rows run out.
fn started<'a>(v: &View, run: &RollbackRun, w: usize, max: usize) -> Vec<Line<'a>> {
    let t = v.theme;
    let who = format!("started {} by {}: ", t_clock(run.started), run.operator);
    let first = w.saturating_sub(super::width(&who));
    let mut lines = super::wrap_words(&run.reason, first, w, max.max(1)).into_iter();
    let mut out = vec![Line::from(vec![
        Span::styled(who, t.dim),
        Span::styled(lines.next().unwrap_or_default(), t.base),
    ])];
    out.extend(lines.map(|l| Line::from(Span::styled(l, t.base))));
    out
}

/// One step's row, before the columns are sized.
struct Row<'a> {
    step: &'a Step,
    run: Option<&'a StepRun>,
    state: StepState,
    word: (String, Style),
    time: (String, Style),
    attempt: String,
}

impl Row<'_> {
    /// Columns of the state word and its time together.
    fn said_w(&self) -> usize {
        match self.time.0.chars().count() {
            0 => self.word.0.chars().count(),
            n => self.word.0.chars().count() + 1 + n,
        }
    }
}

/// The step rows with the current step's details under it, and the lines to keep in view.
fn steps<'a>(v: &View<'a>, now: Ms, w: usize, large: bool) -> (Vec<Line<'a>>, Range<usize>) {
    let e = v.engine;
    let t = v.theme;
    let current = e.current();
    let run_steps = e.rollback_run_steps();
    let next = if e.outcome.is_some() {
        None
    } else {
        run_steps
            .iter()
            .find(|s| {
                e.run_of(&s.id)
                    .is_none_or(|r| r.state == StepState::Pending)
            })
            .map(|s| s.id.as_str())
    };
    let rows: Vec<Row> = run_steps
        .iter()
        .map(|&step| {
            let run = e.run_of(&step.id);
            let state = run.map(|r| r.state.clone()).unwrap_or_default();
            let is_next = next == Some(step.id.as_str());
            Row {
                word: word(v, &state, is_next),
                time: timing(v, step, run, &state, now),
                attempt: attempt(step, run, &state),
                step,
                run,
                state,
            }
        })
        .collect();
    let num_w = run_steps.len().to_string().len();
    let id_w = widest(&rows, |r| r.step.id.chars().count()).min(24);
    // The state word and its time read as one phrase (`took 1:02 / 2:00`), right-aligned so
    // that every step's planned time lines up.
    let said_w = widest(&rows, |r| r.said_w());
    let try_w = widest(&rows, |r| r.attempt.chars().count());
    let status_w = said_w + if try_w > 0 { 1 + try_w } else { 0 };
    let id_w = id_w.min(w.saturating_sub(2 + num_w + 1 + status_w));
    let title_w = match w.saturating_sub(2 + num_w + 1 + id_w + 1 + status_w) {
        // A few letters of a title say nothing; the id alone reads better.
        tw if tw < 8 => 0,
        tw => tw,
    };
    let indent = " ".repeat(2 + num_w + 1);
    let detail_w = w.saturating_sub(indent.chars().count() + 2);
    let selected = selected_id(v);
    let focus_id = selected
        .filter(|s| run_steps.iter().any(|x| x.id == *s))
        .or(current);
    let mut lines = Vec::new();
    let mut focus = 0..0;
    for (i, r) in rows.iter().enumerate() {
        let (g, gs) = super::timeline::glyph(&r.state, v);
        let mut spans = vec![
            Span::styled(format!("{g} "), gs),
            Span::styled(format!("{:>num_w$} ", i + 1), t.dim),
            Span::styled(format!("{:<id_w$}", fit(&r.step.id, id_w)), gs),
        ];
        if title_w > 0 {
            spans.push(Span::styled(
                format!(" {:<title_w$}", fit(&r.step.title, title_w - 1)),
                t.base,
            ));
        } else {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::raw(" ".repeat(said_w - r.said_w())));
        spans.push(Span::styled(r.word.0.clone(), r.word.1));
        if !r.time.0.is_empty() {
            spans.push(Span::styled(format!(" {}", r.time.0), r.time.1));
        }
        if try_w > 0 {
            spans.push(Span::styled(format!(" {:<try_w$}", r.attempt), t.dim));
        }
        let id = r.step.id.as_str();
        let is_cur = current == Some(id);
        let mut line = Line::from(spans);
        if is_cur {
            line = line.style(t.step_current);
        }
        if selected == Some(id) {
            line = line.style(t.step_current.add_modifier(Modifier::UNDERLINED));
        }
        if focus_id == Some(id) {
            focus.start = lines.len();
        }
        lines.push(line);
        let mut details = Vec::new();
        if let StepState::Failed { reason, .. } = &r.state
            && (is_cur || large)
        {
            details.push(vec![Span::styled(
                format!("✗ {}", fit(reason, detail_w)),
                t.step_failed,
            )]);
        }
        if is_cur && let Some(keys) = prompt(v, &r.state) {
            match details.last_mut() {
                // The compact layout has a handful of rows: the keys go after the reason
                // when both fit on one line.
                Some(reason)
                    if !large && width_of(reason) + 3 + width_of(&keys) <= detail_w + 2 =>
                {
                    reason.push(Span::styled(" · ", t.dim));
                    reason.extend(keys);
                }
                _ => details.push(keys),
            }
        }
        if is_cur
            && r.state != StepState::Pending
            && let Some(out) = r.run.and_then(|run| run.output.back())
        {
            details.push(vec![Span::styled(
                format!("│ {}", fit(out, detail_w)),
                t.dim,
            )]);
        }
        for d in details {
            let mut spans = vec![Span::raw(indent.clone())];
            spans.extend(d);
            lines.push(Line::from(spans));
        }
        if focus_id == Some(id) {
            focus.end = lines.len();
        }
    }
    if focus.end == 0 {
        // Nothing current (the rollback ended): its last steps are what matter.
        focus = lines.len().saturating_sub(1)..lines.len();
    }
    (lines, focus)
}

fn widest(rows: &[Row], f: impl Fn(&Row) -> usize) -> usize {
    rows.iter().map(f).max().unwrap_or(0)
}

fn width_of(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.content.chars().count()).sum()
}

/// The state word: `running`, `took`, `confirm: Enter`, `next`, `retry`, `failed`, ….
fn word(v: &View, state: &StepState, is_next: bool) -> (String, Style) {
    let t = v.theme;
    let (_, gs) = super::timeline::glyph(state, v);
    match state {
        StepState::Pending if is_next => ("next".into(), t.base),
        StepState::Pending if v.engine.outcome.is_some() => ("not run".into(), t.dim),
        StepState::Pending => ("pending".into(), t.dim),
        StepState::Waiting => {
            let key = v
                .keymap
                .primary(Action::Complete)
                .map_or_else(|| "unbound".to_string(), |k| k.to_string());
            (format!("confirm: {key}"), t.key)
        }
        StepState::Running {
            stage: Stage::Verify,
            ..
        } => ("verifying".into(), gs),
        StepState::Running { .. } => ("running".into(), gs),
        StepState::RetryWait { .. } => ("retry".into(), t.countdown_warn),
        StepState::Done { .. } => ("took".into(), t.dim),
        StepState::Failed { .. } => ("failed".into(), gs),
        StepState::Skipped { .. } => ("skipped".into(), gs),
        StepState::Interrupted { .. } => ("interrupted".into(), gs),
    }
}

/// Time against the step's `expect`: `2:10 / 5:00`, `over 0:20`, `1:02 / 5:00` (after
/// `took`), `expect 5:00` before it starts, the wait for a retry.
fn timing(
    v: &View,
    step: &Step,
    run: Option<&StepRun>,
    state: &StepState,
    now: Ms,
) -> (String, Style) {
    let t = v.theme;
    let of = |ran: Ms| match step.expect {
        Some(x) => format!("{} / {}", clock_span(ran), clock_span(x)),
        None => clock_span(ran),
    };
    // Where earlier drills took longer than `expect`, what they took, for a step still to
    // come or under way.
    let rehearsed = v
        .engine
        .rehearsals()
        .longer(step)
        .map(|r| format!(" · rehearsed {}", clock_span(r)))
        .unwrap_or_default();
    // A step under way is timed from its current attempt (a retry starts its clock again,
    // as its timeout does); a finished one from its first, since retries cost the plan too.
    let since = run.and_then(|r| r.first_start);
    let attempt_since = run.and_then(|r| r.started);
    match state {
        StepState::Pending => (
            step.expect
                .map(|x| format!("expect {}{rehearsed}", clock_span(x)))
                .unwrap_or_default(),
            t.dim,
        ),
        StepState::Waiting | StepState::Running { .. } => {
            let ran = attempt_since.map_or(0, |s| now - s);
            match step.expect {
                Some(x) if ran > x => (
                    format!("over {}{rehearsed}", clock_span(ran - x)),
                    t.countdown_late,
                ),
                _ => (format!("{}{rehearsed}", of(ran)), t.countdown_ok),
            }
        }
        StepState::RetryWait { until, .. } => (clock_span(until - now), t.countdown_warn),
        // What `step_done` journals (and the printer shows): the latest attempt's work.
        StepState::Done { at } => match run.and_then(|r| r.took).or(since.map(|s| at - s)) {
            Some(d) if step.expect.is_some_and(|x| d > x) => (of(d), t.countdown_late),
            Some(d) => (of(d), t.dim),
            None => (String::new(), t.dim),
        },
        StepState::Failed { .. } | StepState::Skipped { .. } | StepState::Interrupted { .. } => {
            (String::new(), t.dim)
        }
    }
}

/// `try 2/4` (of `retries` + 1 for a step that retries by itself), `try 2` otherwise; empty
/// on the first attempt.
fn attempt(step: &Step, run: Option<&StepRun>, state: &StepState) -> String {
    let n = match state {
        StepState::Running { attempt, .. }
        | StepState::RetryWait { attempt, .. }
        | StepState::Interrupted { attempt } => *attempt,
        _ => run.map_or(0, |r| r.attempts),
    };
    let of = step.retries + 1;
    match n {
        0 | 1 => String::new(),
        n if step.on_failure == OnFailure::Retry && n <= of => format!("try {n}/{of}"),
        n => format!("try {n}"),
    }
}

/// The keys for a current step that waits for the operator after a failure or a crash.
fn prompt<'a>(v: &View, state: &StepState) -> Option<Vec<Span<'a>>> {
    let e = v.engine;
    if e.outcome.is_some() {
        return None;
    }
    let table: &[(Action, &str)] = match state {
        StepState::Failed { blocking: true, .. } if e.paused.is_some() => &STOPPED_KEYS,
        StepState::Interrupted { .. } => &INTERRUPTED_KEYS,
        _ => return None,
    };
    let t = v.theme;
    let mut spans = Vec::new();
    for (action, what) in table {
        let Some(key) = v.keymap.primary(*action) else {
            continue;
        };
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", t.dim));
        }
        spans.push(Span::styled(key.to_string(), t.key));
        spans.push(Span::styled(format!(" {what}"), t.dim));
    }
    (!spans.is_empty()).then_some(spans)
}

/// The id of the row the operator moved to (`ui.selected` indexes `app::row_ids`).
fn selected_id<'a>(v: &View<'a>) -> Option<&'a str> {
    v.ui.selected
        .and_then(|i| crate::screen::app::row_ids(v.engine).get(i).copied())
}

/// `forward: 7 done · 1 stopped (switch-dns) · 10 won't run`.
fn forward_summary<'a>(v: &View, w: usize) -> Line<'a> {
    let e = v.engine;
    let t = v.theme;
    let (mut done, mut skipped, mut running, mut interrupted, mut wont) = (0, 0, 0, 0, 0);
    let mut stopped = Vec::new();
    let mut failed = Vec::new();
    for s in e.runbook().steps() {
        match e.run_of(&s.id).map(|r| &r.state) {
            Some(StepState::Done { .. }) => done += 1,
            Some(StepState::Skipped { .. }) => skipped += 1,
            // The engine stops running steps when a rollback starts; others failed on their own.
            Some(StepState::Failed { reason, .. }) if reason.starts_with("stopped") => {
                stopped.push(s.id.as_str())
            }
            Some(StepState::Failed { .. }) => failed.push(s.id.as_str()),
            // A hold runs out on its own, even during a rollback.
            Some(StepState::Running { .. }) => running += 1,
            Some(StepState::Interrupted { .. }) => interrupted += 1,
            Some(StepState::Pending | StepState::Waiting | StepState::RetryWait { .. }) | None => {
                wont += 1
            }
        }
    }
    let ids = |v: &[&str]| {
        let more = match v.len() {
            n if n > 2 => format!(" +{}", n - 2),
            _ => String::new(),
        };
        format!("{}{more}", v[..v.len().min(2)].join(", "))
    };
    let parts = [
        (done, "done".to_string(), t.dim),
        (skipped, "skipped".into(), t.step_skipped),
        (
            failed.len(),
            format!("failed ({})", ids(&failed)),
            t.step_failed,
        ),
        (
            stopped.len(),
            format!("stopped ({})", ids(&stopped)),
            t.step_failed,
        ),
        (running, "running".into(), t.step_running),
        (interrupted, "interrupted".into(), t.step_interrupted),
        (wont, "won't run".into(), t.dim),
    ];
    let mut spans = vec![Span::styled("forward: ", t.dim)];
    let mut left = w.saturating_sub(9);
    let parts = parts.into_iter().filter(|(n, ..)| *n > 0);
    for (i, (n, what, style)) in parts.enumerate() {
        let sep = if i > 0 { " · " } else { "" };
        let text = format!("{sep}{n} {what}");
        let text = fit(&text, left);
        left = left.saturating_sub(text.chars().count());
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "step" } else { "steps" }
}

/// Whether a line of the step list starts a step: a step's line begins with its glyph, its
/// details (reason, keys, output) with the indent.
fn starts_step(l: &Line) -> bool {
    l.spans.first().is_some_and(|s| !s.content.starts_with(' '))
}

/// The part of the step list shown in `h` rows with `focus` in view: (first line, lines
/// shown, steps hidden above, steps hidden below). A cut list says how many steps it hides,
/// each count on a row of its own, so no step leaves the screen unsaid.
fn window(list: &[Line], focus: Range<usize>, h: usize) -> (usize, usize, usize, usize) {
    if list.len() <= h || h < 3 {
        let start = scroll_start(focus, list.len(), h);
        return (start, h, 0, 0);
    }
    let hidden = |a: usize, b: usize| list[a..b].iter().filter(|l| starts_step(l)).count();
    // One row for a count first; a second when the window is cut at both ends.
    let mut shown = h - 1;
    let mut start = scroll_start(focus.clone(), list.len(), shown);
    if start > 0 && start + shown < list.len() {
        shown = h - 2;
        start = scroll_start(focus, list.len(), shown);
    }
    let end = (start + shown).min(list.len());
    (start, shown, hidden(0, start), hidden(end, list.len()))
}

/// Where the visible part of `len` lines starts so that `focus` shows in `h` rows: one line
/// of context above it, then as much of it as fits.
fn scroll_start(focus: Range<usize>, len: usize, h: usize) -> usize {
    if len <= h {
        return 0;
    }
    let mut start = focus.start.saturating_sub(1);
    if focus.end > start + h {
        start = focus.end.saturating_sub(h).min(focus.start);
    }
    start.min(len - h)
}

#[cfg(test)]
mod window_tests {
    use super::*;

    /// Ten steps, each a line and one detail line (20 lines).
    fn list() -> Vec<Line<'static>> {
        (0..10)
            .flat_map(|i| [Line::raw(format!("· {i} step")), Line::raw("    detail")])
            .collect()
    }

    #[test]
    fn a_cut_list_counts_the_steps_it_hides_at_each_end() {
        let l = list();
        // Focus on step 5 (lines 10–11) in 8 rows: cut at both ends, 6 lines shown.
        let (start, shown, above, below) = window(&l, 10..12, 8);
        assert_eq!(shown, 6);
        assert!(start <= 10 && start + shown >= 12, "{start}");
        let visible = l[start..start + shown]
            .iter()
            .filter(|x| starts_step(x))
            .count();
        assert_eq!(above + visible + below, 10, "{above} {visible} {below}");
        assert!(above > 0 && below > 0);
        // At the top: only a count below.
        let (start, shown, above, below) = window(&l, 0..2, 8);
        assert_eq!((start, shown, above), (0, 7, 0));
        assert_eq!(below, 6, "lines 0–6 show steps 0–3");
        // All of it fits: no counts.
        assert_eq!(window(&l, 0..2, 20), (0, 20, 0, 0));
    }
}
