//! The metrics panes (source, blue side; target, green side) with value, unit, sparkline,
//! threshold and age, or UNKNOWN with its reason; the triggers strip with each trigger's
//! progress; the tab bar of the compact layout. Nothing is drawn as a value
//! that was not read fresh.

use super::View;
use super::{clock_span, fit};
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

/// The threshold shown beside a metric: the first armed trigger watching it.
fn threshold(v: &View, id: &str) -> Option<(String, bool)> {
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
            None => format!("{}base", t.def.when.op.as_str()),
        },
    };
    let hot = matches!(
        t.state,
        TriggerState::Pending { .. } | TriggerState::Breach { .. }
    );
    Some((limit, hot))
}

/// One line per metric: title, value and unit (or UNKNOWN and why), sparkline, threshold, age.
fn metric_lines<'a>(v: &View, side: Side, w: usize, h: usize) -> Vec<Line<'a>> {
    let t = v.theme;
    let mon = &v.engine.monitor;
    let ids: Vec<usize> = (0..mon.metrics.len())
        .filter(|&i| mon.metrics[i].side == side)
        .collect();
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
    // Two lines per metric (name and value; sparkline and threshold) when they fit, else one.
    let two = h >= ids.len() * 2;
    let per = if two { 2 } else { 1 };
    let fits = h / per;
    // Keep the "… N more" line only when it leaves room for at least one metric.
    let shown = if ids.len() > fits && fits >= 2 {
        fits - 1
    } else {
        ids.len().min(fits.max(1))
    };
    for &i in ids.iter().take(shown) {
        let m = &mon.metrics[i];
        let unit = m.unit.clone().unwrap_or_default();
        let series = &mon.series[i];
        let status = mon.status(i, v.now);
        let (limit, hot) = threshold(v, &m.id).unwrap_or_default();
        let style = if hot { t.metric_breach } else { t.metric_ok };
        let vals: Vec<f64> = series.samples().map(|x| x.value).collect();
        if two {
            let title_w = w.saturating_sub(20).max(6);
            let mut first = vec![Span::styled(
                format!("{:<title_w$}", fit(&m.title, title_w)),
                t.base,
            )];
            let mut second = vec![Span::raw("  ")];
            match &status {
                Status::Fresh(s) => {
                    first.push(Span::styled(
                        format!(" {:>9} {:<4}", num(s.value), fit(&unit, 4)),
                        style,
                    ));
                    first.push(Span::styled(format!(" {:>4}", age(v.now - s.at)), t.dim));
                    let spark_w = w.saturating_sub(14);
                    second.push(Span::styled(
                        format!("{:<spark_w$}", sparkline(&vals, spark_w)),
                        style,
                    ));
                    second.push(Span::styled(format!(" {}", fit(&limit, 10)), t.dim));
                }
                Status::Unknown(why) => {
                    first.push(Span::styled(
                        format!(" {:>14}", "UNKNOWN"),
                        t.metric_stale.add_modifier(Modifier::BOLD),
                    ));
                    second.push(Span::styled(fit(why, w.saturating_sub(2)), t.metric_stale));
                }
            }
            out.push(Line::from(first));
            out.push(Line::from(second));
            continue;
        }
        let title_w = (w.saturating_sub(30) / 2).clamp(6, 28);
        let mut spans = vec![Span::styled(
            format!("{:<title_w$} ", fit(&m.title, title_w)),
            t.base,
        )];
        match status {
            Status::Fresh(s) => {
                spans.push(Span::styled(
                    format!("{:>9} {:<4}", num(s.value), fit(&unit, 4)),
                    style,
                ));
                let spark_w = w.saturating_sub(title_w + 31).min(40);
                if spark_w > 3 {
                    spans.push(Span::styled(
                        format!(" {:<spark_w$}", sparkline(&vals, spark_w)),
                        style,
                    ));
                }
                spans.push(Span::styled(format!(" {:<9}", fit(&limit, 9)), t.dim));
                spans.push(Span::styled(format!(" {:>4}", age(v.now - s.at)), t.dim));
            }
            Status::Unknown(why) => {
                let room = w.saturating_sub(title_w + 9);
                spans.push(Span::styled(
                    "UNKNOWN ",
                    t.metric_stale.add_modifier(Modifier::BOLD),
                ));
                spans.push(Span::styled(fit(&why, room), t.metric_stale));
            }
        }
        out.push(Line::from(spans));
    }
    if shown < ids.len() {
        out.push(Line::from(Span::styled(
            format!(
                "… {} more metrics (a taller terminal shows them)",
                ids.len() - shown
            ),
            t.dim,
        )));
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
    let parts = Layout::vertical([Constraint::Min(4), Constraint::Length(strip)]).split(area);
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
    let status = if v.engine.outcome.is_some() {
        "  session over: states as they were at the end".to_string()
    } else {
        format!("  {} watching", trig.len())
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(" Triggers", t.title),
        Span::styled(status, t.dim),
    ])];
    let rows = (area.height as usize).saturating_sub(1);
    // Troubled triggers first: an operator must never have to scroll to find a breach.
    let mut order: Vec<usize> = (0..trig.len()).collect();
    order.sort_by_key(|&i| match trig[i].state {
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
                    x.why.as_deref().unwrap_or("no reason given")
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
                TriggerState::Inactive(why) => ("·", t.dim, why.clone()),
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
        if used + entry > rows || (used + entry == rows && left > 1) {
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

/// `s` cut at the last space that leaves at most `w` columns, and the rest; all of it when it
/// fits, or cut at `w` when it has no space to cut at.
fn split_at_word(s: &str, w: usize) -> (&str, &str) {
    if s.chars().count() <= w {
        return (s, "");
    }
    let cut = s.char_indices().nth(w).map_or(s.len(), |(i, _)| i);
    let at = s[..cut].rfind(' ').filter(|&i| i > 0).unwrap_or(cut);
    (&s[..at], s[at..].trim_start())
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
