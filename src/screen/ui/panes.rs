//! The metrics panes (source, blue side; target, green side) with value, unit, sparkline,
//! threshold and age, or UNKNOWN with its reason; the triggers strip with each trigger's
//! progress; the tab bar of the compact layout. Nothing is drawn as a value
//! that was not read fresh.

use super::View;
use super::{clock_span, fit, split_at_word};
use crate::core::monitor::store::Status;
use crate::core::monitor::trigger::TriggerState;
use crate::core::number::num;
use crate::core::runbook::signals::{Side, TriggerAction};
use crate::core::time::human;
use crate::screen::app::Pane;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `w` values as a sparkline (NaN leaves a gap).
fn sparkline(values: &[f64], w: usize) -> String {
    let vals = &values[values.len().saturating_sub(w)..];
    let finite = vals.iter().copied().filter(|x| x.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    vals.iter()
        .map(|x| {
            if !x.is_finite() {
                ' '
            } else if (hi - lo).abs() < f64::EPSILON {
                SPARK[3]
            } else {
                SPARK[(((x - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

/// The threshold shown beside a metric (the first trigger on it), whether that trigger is
/// breaching, and whether any trigger on the metric is armed.
fn threshold(v: &View, id: &str) -> Option<(String, bool, bool)> {
    let t = v
        .engine
        .monitor
        .triggers
        .iter()
        .find(|t| t.def.when.metric == id)?;
    let limit = match &t.state {
        TriggerState::Ok { limit, .. }
        | TriggerState::Pending { limit, .. }
        | TriggerState::Breach { limit, .. } => {
            format!("{}{}", t.def.when.op.as_str(), num(*limit))
        }
        _ => match t.def.when.limit(None) {
            Some(l) => format!("{}{}", t.def.when.op.as_str(), num(l)),
            // A baseline that could not be captured leaves the trigger nothing to compare
            // with: said beside the metric, not only in the journal.
            None if t
                .baseline_key()
                .is_some_and(|k| v.engine.monitor.baseline_missing(k).is_some()) =>
            {
                "NO BASELINE".to_string()
            }
            None => format!("{}base", t.def.when.op.as_str()),
        },
    };
    let hot = matches!(
        t.state,
        TriggerState::Pending { .. } | TriggerState::Breach { .. }
    );
    let armed = v
        .engine
        .monitor
        .triggers
        .iter()
        .any(|t| t.armed && t.def.when.metric == id);
    Some((limit, hot, armed))
}

/// Whether the metric is deciding something now: a trigger on it is breaching, breached or
/// vetoed, the rollback under way was started by a trigger on it, or the running canary
/// stage gates on it. Such metrics are listed first and are never the ones hidden.
fn deciding(v: &View, id: &str) -> bool {
    let e = v.engine;
    let trig = e
        .monitor
        .triggers
        .iter()
        .filter(|t| t.def.when.metric == id);
    let started = e.rollback.as_ref().and_then(|r| r.trigger.as_deref());
    let hot = trig.clone().any(|t| {
        t.veto.is_some()
            || matches!(
                t.state,
                TriggerState::Pending { .. } | TriggerState::Breach { .. }
            )
            || started == Some(t.def.id.as_str())
    });
    hot || e.current().is_some_and(|step| {
        e.monitor
            .gate_views(step, v.now)
            .iter()
            .any(|g| g.text.split_whitespace().next() == Some(id))
    })
}

/// The side's metrics in the order they are listed, each with whether it is deciding
/// something now: deciding ones first, then the runbook's.
fn listed(v: &View, side: Side) -> Vec<(usize, bool)> {
    let mon = &v.engine.monitor;
    // Whether a metric decides is worked out once per metric and frame (it walks the
    // triggers and the stage's gates), then sorted on and handed to whoever needs it.
    let mut ids: Vec<(usize, bool)> = (0..mon.metrics.len())
        .filter(|&i| mon.metrics[i].side == side)
        .map(|i| (i, deciding(v, &mon.metrics[i].id)))
        .collect();
    // A stable sort: the runbook's order holds within each group.
    ids.sort_by_key(|&(_, d)| !d);
    ids
}

/// The metric's title, or its id when the panes name metrics by id (the id is what the
/// triggers strip and the journal name), cut to `w` only when even that does not fit.
fn name(title: &str, id: &str, w: usize, by_id: bool) -> String {
    fit(if by_id { id } else { title }, w)
}

/// Lines for a side's metrics in `w` columns and `h` rows: two lines per metric (name and
/// value; sparkline and threshold) when they all fit, else one. The value, its whole unit and
/// its age are given room first; an UNKNOWN's reason wraps on words over the rows left, and
/// a "… N more" line counts exactly what is not shown.
fn metric_lines<'a>(v: &View, side: Side, w: usize, h: usize) -> Vec<Line<'a>> {
    let t = v.theme;
    let mon = &v.engine.monitor;
    let ids: Vec<usize> = listed(v, side).into_iter().map(|(i, _)| i).collect();
    if ids.is_empty() {
        return vec![
            Line::from(Span::styled("NO DATA", t.metric_stale)),
            Line::from(Span::styled(
                "no metrics defined for this side; nothing here is a reading",
                t.dim,
            )),
        ];
    }
    let mut out = Vec::new();
    let two = h >= ids.len() * 2;
    // One way of naming for every metric on screen (both sides are drawn at this width), not
    // a mix: titles where a name has a row of its own wide enough to read (a long one loses
    // its tail), ids where names are squeezed beside values (a title cut to a dozen columns
    // says less than the id the triggers strip and the journal use).
    let room = if two { w } else { w / 3 };
    let by_id = room < 40 && mon.metrics.iter().any(|m| super::width(&m.title) > room);
    let per = if two { 2 } else { 1 };
    let fits = h / per;
    // Keep the "… N more" line only when it leaves room for at least one metric.
    let shown = if ids.len() > fits && fits >= 2 {
        fits - 1
    } else {
        ids.len().min(fits.max(1))
    };
    // Rows an UNKNOWN's reason may take beyond its own: what two-line mode leaves over.
    let mut spare = h.saturating_sub(shown * per + usize::from(shown < ids.len()));
    for &i in ids.iter().take(shown) {
        let m = &mon.metrics[i];
        let unit = m.unit.clone().unwrap_or_default();
        let series = &mon.series[i];
        let status = mon.status(i, v.now);
        let (limit, hot, armed) = threshold(v, &m.id).unwrap_or_default();
        // Green says a watching trigger finds it well; a value nothing watches (no trigger,
        // or one not armed) is drawn plain, never as healthy.
        let style = if hot {
            t.metric_breach
        } else if armed {
            t.metric_ok
        } else {
            t.base
        };
        let vals: Vec<f64> = series.samples().map(|x| x.value).collect();
        if two {
            let mut first = Vec::new();
            let mut second = vec![Span::raw("  ")];
            match &status {
                Status::Fresh(s) => {
                    let value = format!(" {:>9} {unit}", num(s.value));
                    let age = format!(" {:>4}", age(v.now - s.at));
                    let title_w = w.saturating_sub(super::width(&value) + super::width(&age));
                    let spark_w = w.saturating_sub(4 + super::width(&limit));
                    if super::width(&m.title) > title_w {
                        // The name on its own row (whole if the row holds it); the reading
                        // leads the second.
                        out.push(Line::from(Span::styled(
                            name(&m.title, &m.id, w, by_id),
                            t.base,
                        )));
                        let value = format!(" {} {unit}", num(s.value));
                        let spark_w =
                            spark_w.saturating_sub(super::width(&value) + super::width(&age));
                        out.push(Line::from(vec![
                            Span::raw(" "),
                            Span::styled(value, style),
                            Span::styled(age, t.dim),
                            Span::styled(
                                format!(" {:<spark_w$}", sparkline(&vals, spark_w)),
                                style,
                            ),
                            Span::styled(format!(" {limit}"), t.dim),
                        ]));
                        continue;
                    }
                    first.push(Span::styled(
                        format!("{:<title_w$}", name(&m.title, &m.id, title_w, by_id)),
                        t.base,
                    ));
                    first.push(Span::styled(value, style));
                    first.push(Span::styled(age, t.dim));
                    second.push(Span::styled(
                        format!("{:<spark_w$}", sparkline(&vals, spark_w)),
                        style,
                    ));
                    second.push(Span::styled(format!(" {limit}"), t.dim));
                }
                Status::Unknown(why) => {
                    let title_w = w.saturating_sub(15).max(6);
                    first.push(Span::styled(
                        format!("{:<title_w$}", name(&m.title, &m.id, title_w, by_id)),
                        t.base,
                    ));
                    first.push(Span::styled(
                        format!(" {:>14}", "UNKNOWN"),
                        t.metric_stale.add_modifier(Modifier::BOLD),
                    ));
                    let (head, mut rest) = split_at_word(why, w.saturating_sub(2));
                    second.push(Span::styled(head.to_string(), t.metric_stale));
                    out.push(Line::from(first));
                    out.push(Line::from(second));
                    while !rest.is_empty() {
                        if spare == 0 {
                            break;
                        }
                        spare -= 1;
                        let (line, more) = split_at_word(rest, w.saturating_sub(2));
                        let cut = if spare == 0 && !more.is_empty() {
                            // The last row there is: the rest of the reason is in the log.
                            fit(&format!("{line} {more}"), w.saturating_sub(2))
                        } else {
                            line.to_string()
                        };
                        out.push(Line::from(vec![
                            Span::raw("  "),
                            Span::styled(cut, t.metric_stale),
                        ]));
                        rest = more;
                    }
                    continue;
                }
            }
            out.push(Line::from(first));
            out.push(Line::from(second));
            continue;
        }
        match status {
            Status::Fresh(s) => {
                // Value, unit and age first; then the name; sparkline and limit if room is left.
                let value = format!(" {:>9} {unit}", num(s.value));
                let tail = format!(" {:>4}", age(v.now - s.at));
                let fixed = super::width(&value) + super::width(&tail);
                let limit_w = super::width(&limit) + 1;
                let room = w.saturating_sub(fixed);
                let title_w = room.min(28).max(room.saturating_sub(limit_w + 41)).max(6);
                let mut spans = vec![
                    Span::styled(
                        format!("{:<title_w$}", name(&m.title, &m.id, title_w, by_id)),
                        t.base,
                    ),
                    Span::styled(value, style),
                ];
                let left = w.saturating_sub(title_w + fixed);
                let show_limit = !limit.is_empty() && left >= limit_w;
                let spark_w = left
                    .saturating_sub(if show_limit { limit_w } else { 0 } + 1)
                    .min(40);
                if spark_w > 3 {
                    spans.push(Span::styled(
                        format!(" {:<spark_w$}", sparkline(&vals, spark_w)),
                        style,
                    ));
                }
                if show_limit {
                    spans.push(Span::styled(format!(" {limit}"), t.dim));
                }
                let drawn: usize = spans.iter().map(|s| super::width(&s.content)).sum();
                let pad = w.saturating_sub(drawn + super::width(&tail));
                spans.push(Span::raw(" ".repeat(pad)));
                spans.push(Span::styled(tail, t.dim));
                out.push(Line::from(spans));
            }
            Status::Unknown(why) => {
                let title_w = (w / 3).clamp(6, 28);
                let room = w.saturating_sub(title_w + 9);
                out.push(Line::from(vec![
                    Span::styled(
                        format!("{:<title_w$} ", name(&m.title, &m.id, title_w, by_id)),
                        t.base,
                    ),
                    Span::styled("UNKNOWN ", t.metric_stale.add_modifier(Modifier::BOLD)),
                    Span::styled(fit(&why, room), t.metric_stale),
                ]));
            }
        }
    }
    if shown < ids.len() {
        let more = ids.len() - shown;
        let noun = if more == 1 { "metric" } else { "metrics" };
        let long = format!("… {more} more {noun} (a taller terminal shows them)");
        let text = if super::width(&long) <= w {
            long
        } else {
            format!("… {more} more {noun}")
        };
        out.push(Line::from(Span::styled(text, t.dim)));
    }
    out
}

fn age(ms: crate::core::time::Ms) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=99 => format!("{s}s"),
        100..=5999 => format!("{}m", s / 60),
        _ => format!("{}h", s / 3600),
    }
}

pub(super) fn metrics(f: &mut Frame, area: Rect, v: &View) {
    let t = v.theme;
    let rb = v.engine.runbook();
    let focused = v.ui.focus == Pane::Metrics;
    let cols =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).split(area);
    for (i, (name, side, label, style)) in [
        (&rb.source.name, Side::Source, "source · blue", t.source),
        (&rb.target.name, Side::Target, "target · green", t.target),
    ]
    .into_iter()
    .enumerate()
    {
        let title = format!("{name} ({label})");
        let inner = super::pane_box(f, cols[i], &title, focused, t, Some(style));
        let lines = metric_lines(v, side, inner.width as usize, inner.height as usize);
        super::rows(f, inner, lines);
    }
}

/// The compact layout's metrics tab: both sides stacked, then the triggers.
pub(super) fn metrics_compact(f: &mut Frame, area: Rect, v: &View) {
    let n = v.engine.monitor.triggers.len() as u16;
    // Small screens give the metrics the room; the strip lists troubled triggers first.
    let strip = if area.height < 16 { n.min(3) } else { n.min(6) } + 1;
    // The metrics deciding something now are never the hidden ones: the box grows to hold
    // them (and a "… N more" line), the strip giving up rows down to its heading and one
    // trigger, which is the troubled one first.
    let needed = [Side::Source, Side::Target]
        .into_iter()
        .map(|side| {
            let all = listed(v, side);
            let hot = all.iter().filter(|&&(_, d)| d).count();
            hot + usize::from(hot < all.len())
        })
        .max()
        .unwrap_or(0) as u16
        + 2;
    let strip = strip.min(area.height.saturating_sub(needed).max(2));
    let parts = Layout::vertical([Constraint::Min(4), Constraint::Length(strip)]).split(area);
    // Side by side when a side's column can hold a metric's name, value, unit and age: both
    // platforms stay in view, each with its own exact "… N more".
    if area.width >= 60 {
        metrics(f, parts[0], v);
        triggers(f, parts[1], v);
        return;
    }
    let t = v.theme;
    let rb = v.engine.runbook();
    let focused = v.ui.focus == Pane::Metrics;
    let inner = super::pane_box(f, parts[0], "Metrics", focused, t, None);
    let half = (inner.height as usize).saturating_sub(2) / 2;
    let mut lines = vec![Line::from(Span::styled(
        format!("{} (source · blue)", rb.source.name),
        t.source,
    ))];
    lines.extend(metric_lines(
        v,
        Side::Source,
        inner.width as usize,
        half.max(1),
    ));
    lines.push(Line::from(Span::styled(
        format!("{} (target · green)", rb.target.name),
        t.target,
    )));
    lines.extend(metric_lines(
        v,
        Side::Target,
        inner.width as usize,
        half.max(1),
    ));
    super::rows(f, inner, lines);
    triggers(f, parts[1], v);
}

/// Rows the triggers strip wants: one per trigger (up to six) and one more per veto, whose
/// who, until when and why take a second row.
pub(super) fn triggers_height(v: &View) -> u16 {
    let trig = &v.engine.monitor.triggers;
    let vetoes = trig.iter().filter(|t| t.veto.is_some()).count().min(2);
    (trig.len().min(6) + vetoes) as u16 + 1
}

pub(super) fn triggers(f: &mut Frame, area: Rect, v: &View) {
    let t = v.theme;
    let trig = &v.engine.monitor.triggers;
    if trig.is_empty() {
        let line = Line::from(vec![
            Span::styled(" Triggers: ", t.title),
            Span::styled(
                "none defined in this runbook (no automatic rollback is armed)",
                t.dim,
            ),
        ]);
        f.render_widget(line, area);
        return;
    }
    let w = area.width as usize;
    // Watching means armed: a trigger waiting for its step, or one that never arms because
    // that step was skipped, watches nothing.
    let armed = trig.iter().filter(|t| t.armed).count();
    let status = if v.engine.outcome.is_some() {
        "  session over: states as they were at the end".to_string()
    } else if armed == trig.len() {
        format!("  {armed} watching")
    } else {
        format!("  {armed} of {} watching", trig.len())
    };
    let rows = (area.height as usize).saturating_sub(1);
    // One row under the heading holds the most troubled trigger, and the heading says so,
    // rather than a row that only counts them.
    let status = if rows == 1 && trig.len() > 1 {
        format!(
            "{status} · the most troubled first, {} more",
            trig.len() - 1
        )
    } else {
        status
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(" Triggers", t.title),
        Span::styled(status, t.dim),
    ])];
    // Troubled triggers first: an operator must never have to scroll to find a breach.
    let mut order: Vec<usize> = (0..trig.len()).collect();
    let never = |i: usize| {
        trig[i]
            .def
            .after
            .as_deref()
            .is_some_and(|a| v.engine.skipped(a))
    };
    order.sort_by_key(|&i| match trig[i].state {
        TriggerState::Inactive(_) if never(i) => 2,
        TriggerState::Breach { .. } => 0,
        TriggerState::Pending { .. } => 1,
        TriggerState::Unknown { .. } => 2,
        TriggerState::Ok { .. } => 3,
        TriggerState::Inactive(_) => 4,
    });
    let mut used = 0;
    for (n, &i) in order.iter().enumerate() {
        let tr = &trig[i];
        let d = &tr.def;
        let (glyph, style, text) = match (&tr.veto, &tr.state) {
            (Some(x), _) => (
                "⊘",
                t.state_hold,
                format!(
                    "VETOED by {} at {}{} · holds until {} · {}",
                    x.by,
                    crate::core::time::t_clock(x.at),
                    x.value
                        .map(|(val, lim)| format!(" on {} (limit {})", num(val), num(lim)))
                        .unwrap_or_default(),
                    crate::core::time::t_clock(x.until),
                    x.why.as_deref().unwrap_or("no reason yet")
                ),
            ),
            (None, s) => match s {
                TriggerState::Ok { value, limit } => (
                    "✓",
                    t.metric_ok,
                    format!(
                        "OK {} (limit {}{})",
                        num(*value),
                        d.when.op.as_str(),
                        num(*limit)
                    ),
                ),
                TriggerState::Pending {
                    value,
                    limit,
                    held,
                    samples,
                } => (
                    "▲",
                    t.metric_breach,
                    format!(
                        "BREACHING {} {} {} for {} of {} ({} samples, {} needed)",
                        num(*value),
                        d.when.op.as_str(),
                        num(*limit),
                        clock_span(*held),
                        clock_span(d.sustain),
                        samples,
                        d.min_samples
                    ),
                ),
                TriggerState::Breach {
                    value, limit, held, ..
                } => (
                    "⚠",
                    t.metric_breach,
                    format!(
                        "BREACH {} {} {} for {}",
                        num(*value),
                        d.when.op.as_str(),
                        num(*limit),
                        clock_span(*held)
                    ),
                ),
                TriggerState::Unknown { reason, since } => (
                    "?",
                    t.metric_stale,
                    format!("UNKNOWN {} · {}", clock_span(v.now - since), reason),
                ),
                TriggerState::Inactive(why)
                    if d.after.as_deref().is_some_and(|a| v.engine.skipped(a)) =>
                {
                    ("✗", t.metric_breach, why.clone())
                }
                // Not armed yet, but already without the baseline it will compare with:
                // said now, while there is time to do something about it.
                TriggerState::Inactive(why) => match tr
                    .baseline_key()
                    .and_then(|k| v.engine.monitor.baseline_missing(k))
                {
                    Some(missing) => (
                        "?",
                        t.metric_stale,
                        format!("{why} · NO BASELINE: {missing}"),
                    ),
                    None => ("·", t.dim, why.clone()),
                },
            },
        };
        let past_pnr = v.engine.point_of_no_return_passed().is_some();
        let action = match d.action {
            // What the monitor would do now: past the point of no return it alerts instead.
            TriggerAction::Rollback if past_pnr => "→ alert (past no return)".to_string(),
            TriggerAction::Rollback if d.grace > 0 => {
                format!("→ rollback (grace {})", human(d.grace))
            }
            TriggerAction::Rollback => "→ rollback".to_string(),
            TriggerAction::Decide => format!("→ decide within {}", human(d.decide.within)),
            TriggerAction::Alert => "→ alert".to_string(),
        };
        let tag = if d.dry_run { "DRY-RUN " } else { "" };
        let name_w = 18.min(w / 4);
        let mut room = w.saturating_sub(name_w + action.chars().count() + tag.len() + 6);
        // The state (a value, a veto, a reason) is what decides; the action is in the
        // runbook. When both do not fit, the action goes.
        let action = if text.chars().count() > room {
            room += action.chars().count() + 1;
            String::new()
        } else {
            action
        };
        // A state too long for its row goes on under itself (it decides: never cut it
        // short while there is a row for the rest).
        let (first, rest) = split_at_word(&text, room);
        let indent = name_w + tag.len() + 4;
        let entry = if rest.is_empty() { 1 } else { 2 };
        let left = order.len() - n;
        if used + entry > rows || (used + entry == rows && left > 1 && rows > 1) {
            // Stopping only ever leaves a row free: an entry never takes the last one while
            // more follow.
            lines.push(Line::from(Span::styled(
                format!("   … {left} more triggers"),
                t.dim,
            )));
            break;
        }
        used += entry;
        lines.push(Line::from(vec![
            Span::styled(format!(" {glyph} "), style),
            Span::styled(format!("{:<name_w$} ", fit(&d.id, name_w)), t.base),
            Span::styled(tag.to_string(), t.dim.add_modifier(Modifier::BOLD)),
            Span::styled(format!("{:<room$}", first), style),
            Span::styled(format!(" {action}"), t.dim),
        ]));
        if !rest.is_empty() {
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(fit(rest, w.saturating_sub(indent)), style),
            ]));
        }
    }
    super::rows(f, area, lines);
}

pub(super) fn tabs(f: &mut Frame, area: Rect, v: &View, active: Pane) {
    let t = v.theme;
    let mut spans = vec![Span::raw(" ")];
    for p in [Pane::Detail, Pane::Metrics, Pane::Log] {
        let style = if p == active {
            t.step_current.add_modifier(ratatui::style::Modifier::BOLD)
        } else {
            t.dim
        };
        spans.push(Span::styled(format!(" {} ", p.title()), style));
        spans.push(Span::raw(" "));
    }
    let tab = v
        .keymap
        .keys_for(crate::config::keymap::Action::FocusNext)
        .first()
        .map(|k| k.to_string())
        .unwrap_or_default();
    spans.push(Span::styled(format!(" {tab}: switch"), t.dim));
    f.render_widget(Line::from(spans), area);
}
