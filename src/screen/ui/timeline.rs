//! The timeline: every step with its T offset, a status glyph (state is never told by colour
//! alone), a countdown to its due time or an overdue timer, and its owner. The current step is
//! highlighted and kept in view. Once a rollback exists the rollback view (`rollback.rs`) takes
//! this pane's place.

use super::{View, clock_span, fit};
use crate::core::engine::{Stage, StepRun, StepState};
use crate::core::runbook::Step;
use crate::core::time::{Ms, t_offset};

/// From this lateness on a step reads as late: the header's STEP LATE threshold, so a row
/// and the header say late at the same moment.
pub const LATE_SHOWN: Ms = 60_000;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Glyph, state word and style for a step.
pub fn glyph(state: &StepState, v: &View) -> (&'static str, Style) {
    let t = v.theme;
    match state {
        StepState::Pending => ("·", t.step_pending),
        StepState::Waiting => ("◆", t.step_due),
        StepState::Running {
            stage: Stage::Hold { .. } | Stage::Until { .. },
            ..
        } => ("⧗", t.step_running),
        StepState::Running { .. } => ("▶", t.step_running),
        StepState::RetryWait { .. } => ("↻", t.step_failed),
        StepState::Done { .. } => ("✓", t.step_done),
        StepState::Failed { .. } => ("✗", t.step_failed),
        StepState::Skipped { .. } => ("↷", t.step_skipped),
        StepState::Interrupted { .. } => ("!", t.step_interrupted),
    }
}

/// The countdown column: `in 12:48`, `late 2:12`, `run 0:42`, `over 1:10`, `took 3:02`.
///
/// `late` is the step's lateness from the projection (`Engine::step_delay`), the figure the
/// header's STEP LATE and the detail show: a row never computes its own.
fn countdown(
    step: &Step,
    state: &StepState,
    run: Option<&StepRun>,
    late: Ms,
    v: &View,
) -> (String, Style) {
    let started = run.and_then(|r| r.started);
    let took = run.and_then(|r| r.took);
    let t = v.theme;
    let now = v.now;
    let is_late = late >= LATE_SHOWN;
    match state {
        StepState::Pending if is_late => (format!("late {}", clock_span(late)), t.countdown_late),
        StepState::Pending => match step.at {
            Some(at) if at > now => (
                format!("in {}", clock_span(at - now)),
                if at - now < 5 * 60_000 {
                    t.countdown_warn
                } else {
                    t.countdown_ok
                },
            ),
            Some(_) => ("due now".into(), t.countdown_warn),
            None => ("next".into(), t.dim),
        },
        StepState::Waiting if is_late => (format!("late {}", clock_span(late)), t.countdown_late),
        StepState::Waiting => ("due now".into(), t.countdown_warn),
        StepState::Running {
            stage: Stage::Hold { until },
            ..
        } => (format!("hold {}", clock_span(until - now)), t.countdown_ok),
        StepState::Running {
            stage: Stage::Until { since, .. },
            ..
        } => match &step.until {
            Some(u) => {
                let w = v.engine.monitor.until_view(u, *since, now);
                let unknown =
                    matches!(w.state, crate::core::monitor::until::UntilState::Unknown(_));
                let text = match w.last.filter(|_| !unknown) {
                    Some((x, _)) => until_progress(x, w.limit, &w.unit),
                    None => "UNKNOWN".to_string(),
                };
                (
                    text,
                    if unknown {
                        t.countdown_warn
                    } else {
                        t.countdown_ok
                    },
                )
            }
            None => ("waiting".into(), t.countdown_ok),
        },
        // A running step behind plan (started late, or past its `expect`) reads as late by
        // the header's figure; the detail pane has how long it has run.
        StepState::Running { .. } if is_late => {
            (format!("late {}", clock_span(late)), t.countdown_late)
        }
        StepState::Running { .. } => {
            let ran = started.map_or(0, |s| now - s);
            match step.expect {
                Some(x) if ran > x => (format!("over {}", clock_span(ran - x)), t.countdown_late),
                _ => (format!("run {}", clock_span(ran)), t.countdown_ok),
            }
        }
        StepState::RetryWait { until, .. } => (
            format!("retry {}", clock_span(until - now)),
            t.countdown_warn,
        ),
        // The work, not the watch after it: the figure `step_done` journals.
        StepState::Done { .. } => (
            took.map_or_else(|| "done".into(), |d| format!("took {}", clock_span(d))),
            t.dim,
        ),
        StepState::Failed { .. } => ("failed".into(), t.step_failed),
        StepState::Skipped { .. } => ("skipped".into(), t.step_skipped),
        StepState::Interrupted { .. } => ("interrupted".into(), t.step_interrupted),
    }
}

/// `3.2/5 PB`: an until-step's value against its target in the written unit, as precise as
/// the 12 columns of the countdown allow (then fewer decimals, then a percentage).
fn until_progress(v: f64, limit: f64, unit: &str) -> String {
    use crate::core::number::num;
    let short = |x: f64| {
        let a = x.abs();
        let s = if a >= 100.0 {
            format!("{x:.0}")
        } else if a >= 10.0 {
            format!("{x:.1}")
        } else {
            format!("{x:.2}")
        };
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    let sep = if unit.is_empty() { "" } else { " " };
    let tries = [
        format!("{}/{}{sep}{unit}", num(v), num(limit)),
        format!("{}/{}{sep}{unit}", short(v), short(limit)),
        format!("{}/{}", short(v), short(limit)),
    ];
    tries
        .into_iter()
        .find(|t| t.chars().count() <= 12)
        .unwrap_or_else(|| {
            let pct = if limit != 0.0 { 100.0 * v / limit } else { 0.0 };
            format!("{pct:.0}% of goal")
        })
}

pub(super) fn render(f: &mut Frame, area: Rect, v: &View, large: bool) {
    let e = v.engine;
    let rb = e.runbook();
    let t = v.theme;
    let rows: Vec<&Step> = rb.steps().collect();
    let current = e.current();
    let cur_row = crate::screen::app::current_row(e).min(rows.len().saturating_sub(1));
    let focus_row =
        v.ui.selected
            .unwrap_or(cur_row)
            .min(rows.len().saturating_sub(1));
    let focused = v.ui.focus == crate::screen::app::Pane::Timeline;
    let inner = super::pane_box(f, area, "Timeline", focused, t, None);
    let h = inner.height as usize;
    if h == 0 {
        return;
    }
    // Columns: glyph 2, then the offset and the countdown at the width their longest text
    // needs (they decide: never cut), then id, title and owner share the rest, the id first
    // (it is what --fail and the journal use). The owner is shown whole or not at all; the
    // detail pane always has it.
    let w = inner.width as usize;
    let offset_w = rows
        .iter()
        .filter_map(|s| s.at)
        .map(|at| super::width(&t_offset(at)))
        .max()
        .unwrap_or(0)
        .max(8);
    // Rows first (cheap), lines only for the rows in view: a frame is drawn every second of
    // an idle window, and a long runbook has far more steps than the pane has rows.
    let mut items: Vec<Row> = Vec::with_capacity(rows.len() * 2);
    let mut focus_line = 0;
    let mut last_phase = "";
    for (i, step) in rows.iter().enumerate() {
        if large && step.phase != last_phase && i > 0 {
            items.push(Row::Phase(&step.phase));
        }
        last_phase = &step.phase;
        if i == focus_row {
            focus_line = items.len();
        }
        items.push(Row::Step(i, step));
    }
    // Keep the focused row in view, with some context above it.
    let start = focus_line
        .saturating_sub(h / 3)
        .min(items.len().saturating_sub(h));
    // Countdowns only for the rows in view (they are formatted anew every frame); the column
    // is as wide as the longest of them.
    let plan = e.projection(v.now);
    let countdowns: Vec<Option<(String, Style)>> = {
        let mut c = vec![None; rows.len()];
        for r in items[start..].iter().take(h) {
            if let Row::Step(i, step) = r {
                let run = e.run_of(&step.id);
                let state = run.map(|r| r.state.clone()).unwrap_or_default();
                let started = run.is_some_and(|r| r.first_start.is_some());
                let late = plan.late_now(*i, started, v.now);
                c[*i] = Some(countdown(step, &state, run, late, v));
            }
        }
        c
    };
    let countdown_w = countdowns
        .iter()
        .flatten()
        .map(|(c, _)| super::width(c))
        .max()
        .unwrap_or(0)
        .max(12);
    let rest = w.saturating_sub(2 + offset_w + 1 + countdown_w + 1);
    let longest = rows.iter().map(|s| super::width(&s.id)).max().unwrap_or(8) + 1;
    let longest_owner = rows
        .iter()
        .map(|s| super::width(s.owner.as_deref().unwrap_or("—")))
        .max()
        .unwrap_or(1);
    // The title keeps at least 53 columns beside the owner: room the day-form offsets
    // (`T+106d 08:00`, three columns wider than `T+2552:00`) must not take from the owner.
    let owner_w = if large && rest >= 53 + longest_owner {
        longest_owner
    } else {
        0
    };
    // The id whole whenever that leaves the title a readable 20 columns; a long id is cut
    // at 24 only on a narrow pane (the detail pane shows it whole).
    let id_w = if rest >= longest + 1 + 20 + owner_w {
        longest
    } else {
        longest.min(24)
    }
    .min(rest.saturating_sub(owner_w));
    // The title's span and the owner's each begin with a space.
    let title_w = rest.saturating_sub(id_w + 1 + if owner_w > 0 { owner_w + 1 } else { 0 });
    let cols = Columns {
        offset: offset_w,
        id: id_w,
        title: title_w,
        countdown: countdown_w,
        owner: owner_w,
    };
    let visible: Vec<Line> = items[start..]
        .iter()
        .take(h)
        .map(|r| match r {
            Row::Phase(p) => Line::from(Span::styled(format!("── {}", phase_title(v, p)), t.dim)),
            Row::Step(i, step) => {
                let none = (String::new(), t.dim);
                let cd = countdowns[*i].as_ref().unwrap_or(&none);
                step_line(v, step, *i, current, &cols, cd)
            }
        })
        .collect();
    super::rows(f, inner, visible);
}

/// A row of the timeline: a phase's heading (full layout) or a step with its index.
enum Row<'a> {
    Phase(&'a str),
    Step(usize, &'a Step),
}

/// The widths of the columns that share the pane's width.
struct Columns {
    offset: usize,
    id: usize,
    title: usize,
    countdown: usize,
    owner: usize,
}

/// One step's row: glyph, offset, id, title, countdown and owner.
fn step_line<'a>(
    v: &View,
    step: &Step,
    i: usize,
    current: Option<&str>,
    c: &Columns,
    (cd, cds): &(String, Style),
) -> Line<'a> {
    let (t, e) = (v.theme, v.engine);
    let (id_w, title_w, owner_w) = (c.id, c.title, c.owner);
    let run = e.run_of(&step.id);
    let state = run.map(|r| r.state.clone()).unwrap_or_default();
    let (g, gs) = glyph(&state, v);
    let at = step.at.map(t_offset).unwrap_or_default();
    let is_cur = current == Some(step.id.as_str());
    let offset_w = c.offset;
    let countdown_w = c.countdown;
    let mut spans = vec![
        Span::styled(format!("{g} "), gs),
        Span::styled(format!("{at:<offset_w$} "), t.dim),
        Span::styled(
            format!("{:<id_w$}", fit(&step.id, id_w.saturating_sub(1))),
            gs,
        ),
    ];
    if title_w > 0 {
        spans.push(Span::styled(
            format!(" {:<title_w$}", fit(&step.title, title_w.saturating_sub(1))),
            t.base,
        ));
    }
    spans.push(Span::styled(format!(" {cd:>countdown_w$}"), *cds));
    if owner_w > 0 {
        spans.push(Span::styled(
            format!(" {:<owner_w$}", step.owner.as_deref().unwrap_or("—")),
            t.dim,
        ));
    }
    use ratatui::style::Modifier;
    // The step `s` would skip, while its prompt is open, stands out from every other row:
    // reversed, with the skip glyph in front.
    if skip_target(v) == Some(step.id.as_str()) {
        spans[0] = Span::styled("↷ ", gs.add_modifier(Modifier::REVERSED));
        return Line::from(spans).style(t.step_current.add_modifier(Modifier::REVERSED));
    }
    let mut line = Line::from(spans);
    if is_cur {
        line = line.style(t.step_current);
    }
    // The cursor's row is underlined, not drawn as the current step: keys that act on a step
    // (`s`, Enter) act on the current one, and two rows that look current would leave the
    // operator guessing which.
    if Some(i) == v.ui.selected && !is_cur {
        line = line.style(Style::default().add_modifier(Modifier::UNDERLINED));
    } else if Some(i) == v.ui.selected {
        line = line.style(t.step_current.add_modifier(Modifier::UNDERLINED));
    }
    line
}

/// The step an open skip prompt is about.
fn skip_target<'a>(v: &'a View) -> Option<&'a str> {
    match &v.ui.overlay {
        crate::screen::app::Overlay::Input(crate::screen::app::Prompt::Skip(id), _)
        | crate::screen::app::Overlay::Input(
            crate::screen::app::Prompt::SkipConfirm { step: id, .. },
            _,
        ) => Some(id.as_str()),
        _ => None,
    }
}

fn phase_title(v: &View, id: &str) -> String {
    v.engine
        .runbook()
        .phases
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.title.clone())
        .unwrap_or_default()
}
