//! The metrics panes (source, blue side; target, green side), the triggers strip, the tab bar
//! of the compact layout, and the log. Until metric readers exist the panes say plainly that
//! there is no data: nothing is ever drawn as a value that was not read.

use super::View;
use crate::app::{LOG_LEVELS, Pane};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub(super) fn metrics(f: &mut Frame, area: Rect, v: &View) {
    let t = v.theme;
    let rb = v.engine.runbook();
    let focused = v.ui.focus == Pane::Metrics;
    let cols =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).split(area);
    for (i, (name, side, style)) in [
        (&rb.source.name, "source · blue", t.source),
        (&rb.target.name, "target · green", t.target),
    ]
    .into_iter()
    .enumerate()
    {
        let title = format!("{name} ({side})");
        let block = super::block(&title, focused, t).title_style(style);
        let inner = block.inner(cols[i]);
        f.render_widget(block, cols[i]);
        let text = vec![
            Line::from(Span::styled("NO DATA", t.metric_stale)),
            Line::from(Span::styled(
                "this runbook defines no metrics; nothing here is a reading",
                t.dim,
            )),
        ];
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
    }
}

pub(super) fn triggers(f: &mut Frame, area: Rect, v: &View) {
    let t = v.theme;
    let line = Line::from(vec![
        Span::styled(" Triggers: ", t.title),
        Span::styled(
            "none defined in this runbook (no automatic rollback is armed)",
            t.dim,
        ),
    ]);
    f.render_widget(Paragraph::new(line), area);
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
        .keys_for(crate::keymap::Action::FocusNext)
        .first()
        .map(|k| k.to_string())
        .unwrap_or_default();
    spans.push(Span::styled(format!(" {tab}: switch"), t.dim));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub(super) fn log(f: &mut Frame, area: Rect, v: &View) {
    let t = v.theme;
    let level = LOG_LEVELS[v.ui.log_level % LOG_LEVELS.len()];
    let title = format!("Log ≥ {level}");
    let block = super::block(&title, v.ui.focus == Pane::Log, t);
    if !v.live_log {
        // Tests draw without the global logger, whose lines carry wall-clock stamps.
        f.render_widget(block, area);
        return;
    }
    let state = tui_logger::TuiWidgetState::new().set_default_display_level(level);
    let w = tui_logger::TuiLoggerWidget::default()
        .block(block)
        .style(t.base)
        .style_error(t.log_error)
        .style_warn(t.log_warn)
        .style_info(t.log_info)
        .style_debug(t.log_debug)
        .style_trace(t.log_debug)
        .output_separator(' ')
        .output_timestamp(Some("%H:%M:%S".into()))
        .output_level(None)
        .output_target(false)
        .output_file(false)
        .output_line(false)
        .state(&state);
    f.render_widget(w, area);
}
