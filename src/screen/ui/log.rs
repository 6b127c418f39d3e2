//! The log pane: the tail of journal records, command output and diagnostics kept in the
//! UI state, newest at the bottom, wrapped at word boundaries, scrolled by the operator's
//! keys, filtered by the level `l` cycles. In the live cockpit the program's diagnostics
//! (tui-logger, moved in by the loop before a frame) show beneath it once there are any.

use super::View;
use crate::screen::app::{LOG_LEVELS, Pane};
use crate::screen::log::Level;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Wrap};

/// Draws the log pane; `diagnostics` is how many diagnostic records the program has logged
/// (0 in tests, which draw no global logger).
pub(super) fn log(f: &mut Frame, area: Rect, v: &View) {
    let t = v.theme;
    let level = LOG_LEVELS[v.ui.log_level % LOG_LEVELS.len()];
    let scroll = v.ui.log_scroll;
    let title = if scroll > 0 {
        format!("Log ≥ {level} · ↑{scroll}")
    } else {
        format!("Log ≥ {level}")
    };
    let focused = v.ui.focus == Pane::Log;
    let (tail_area, diag_area) = split(area, v.live_log.then_some(v.diagnostics));
    let block = super::block(&title, focused, t);
    let inner = block.inner(tail_area);
    f.render_widget(block, tail_area);
    // Each record is at least one row: the newest height+scroll of them fill the pane.
    let want = usize::from(inner.height) + usize::from(scroll);
    let shown: Vec<Line> =
        v.ui.log
            .shown(level)
            .rev()
            .take(want)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|l| {
                let style = match l.level {
                    Level::Error => t.log_error,
                    Level::Warn => t.log_warn,
                    Level::Info => t.log_info,
                    Level::Debug | Level::Trace => t.log_debug,
                };
                Line::from(Span::styled(l.text.clone(), style))
            })
            .collect();
    // Wrapping is only worked out when something does not fit as it is (it is the pane's
    // costliest part, and an idle cockpit redraws every second).
    let fits = shown.len() <= usize::from(inner.height)
        && shown.iter().all(|l| l.width() <= usize::from(inner.width));
    let mut p = Paragraph::new(Text::from(shown));
    let mut top = 0;
    if !fits {
        p = p.wrap(Wrap { trim: true });
        let rows = p.line_count(inner.width) as u16;
        top = rows.saturating_sub(inner.height.saturating_add(scroll));
    }
    f.render_widget(p.scroll((top, 0)).style(t.base), inner);
    if let Some(d) = diag_area {
        diagnostics(f, d, v, level);
    }
}

/// The tail's part and the diagnostics' part of the pane: diagnostics get at most a third,
/// and only once there are some.
fn split(area: Rect, diagnostics: Option<usize>) -> (Rect, Option<Rect>) {
    match diagnostics {
        Some(n) if n > 0 && area.height >= 9 => {
            let h = (n as u16 + 2).min(area.height / 3).max(3);
            let [a, b] = Layout::vertical([Constraint::Fill(1), Constraint::Length(h)]).areas(area);
            (a, Some(b))
        }
        _ => (area, None),
    }
}

fn diagnostics(f: &mut Frame, area: Rect, v: &View, level: log::LevelFilter) {
    let t = v.theme;
    let state = tui_logger::TuiWidgetState::new().set_default_display_level(level);
    let w = tui_logger::TuiLoggerWidget::default()
        .block(super::block("Diagnostics", false, t))
        .style(t.base)
        .style_error(t.log_error)
        .style_warn(t.log_warn)
        .style_info(t.log_info)
        .style_debug(t.log_debug)
        .style_trace(t.log_debug)
        .output_separator(' ')
        .output_timestamp(Some("%H:%M:%S".into()))
        .output_level(None)
        .output_target(true)
        .output_file(false)
        .output_line(false)
        .state(&state);
    f.render_widget(w, area);
}
