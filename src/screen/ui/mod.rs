//! Drawing the cockpit: a pure function of the engine, the UI state, the T-time, the theme and
//! the keymap. Layout only here; each area has its own module. Two layouts: the full one from
//! 120×32 up, and a compact one below it that keeps the clock, overall health, the current
//! step with its countdown and the rollback key on screen, with the other panes as tabs.

mod detail;
mod footer;
mod header;
mod log;
mod overlay;
mod panes;
mod rollback;
mod timeline;

use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::core::engine::Engine;
use crate::core::event::Mode;
use crate::core::time::Ms;
use crate::core::time::Speed;
use crate::screen::app::{Pane, Ui};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

/// Everything a frame is drawn from.
pub struct View<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// UI state.
    pub ui: &'a Ui,
    /// T-time of the frame.
    pub now: Ms,
    /// live or drill.
    pub mode: Mode,
    /// Drill speed.
    pub speed: Speed,
    /// Colours.
    pub theme: &'a Theme,
    /// Keys, for the footer and help.
    pub keymap: &'a Keymap,
    /// The command that resumes this session (shown when quitting).
    pub resume_hint: &'a str,
    /// Draw the program's diagnostics (tui-logger, global, wall-clock stamped) beneath the
    /// log: the live cockpit does, tests do not.
    pub live_log: bool,
    /// How many diagnostic records the program has logged so far.
    pub diagnostics: usize,
}

/// True when the full layout fits.
pub fn is_large(area: Rect) -> bool {
    area.width >= 120 && area.height >= 32
}

/// Draws one frame.
pub fn render(f: &mut Frame, v: &View) {
    // Once the run has ended every clock on screen stops where it ended: figures keep
    // meaning what they meant at the end instead of drifting on.
    let ended;
    let v = match v.engine.outcome {
        Some(_) => {
            ended = View {
                now: v.engine.last_now,
                ..*v
            };
            &ended
        }
        None => v,
    };
    let area = f.area();
    f.render_widget(ratatui::widgets::Block::default().style(v.theme.base), area);
    let large = is_large(area);
    let header_h = if large { 3 } else { 2 };
    let rows = Layout::vertical([
        Constraint::Length(header_h),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .split(area);
    header::render(f, rows[0], v, large);
    footer::render(f, rows[2], v);
    if large {
        let cols = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .split(rows[1]);
        steps(f, cols[0], v, true);
        let right = Layout::vertical([
            Constraint::Percentage(38),
            Constraint::Percentage(32),
            Constraint::Length(panes::triggers_height(v)),
            Constraint::Min(4),
        ])
        .split(cols[1]);
        detail::render(f, right[0], v);
        panes::metrics(f, right[1], v);
        panes::triggers(f, right[2], v);
        log::log(f, right[3], v);
    } else {
        let body = rows[1];
        // A running rollback is what everyone watches: it gets half the body.
        let tl_h = if v.engine.rollback.is_some() {
            (body.height / 2 + 1).clamp(3, 12)
        } else {
            (body.height * 2 / 5).clamp(3, 10)
        };
        let parts = Layout::vertical([
            Constraint::Length(tl_h),
            Constraint::Length(1),
            Constraint::Min(3),
        ])
        .split(body);
        steps(f, parts[0], v, false);
        let tab = match v.ui.focus {
            Pane::Timeline => Pane::Detail,
            p => p,
        };
        panes::tabs(f, parts[1], v, tab);
        match tab {
            Pane::Metrics => panes::metrics_compact(f, parts[2], v),
            Pane::Log => log::log(f, parts[2], v),
            _ => detail::render(f, parts[2], v),
        }
    }
    overlay::render(f, area, v);
}

/// The step list: the timeline, or once a rollback exists the rollback procedure in its place,
/// since from then on the procedure is what the operator tracks.
fn steps(f: &mut Frame, area: Rect, v: &View, large: bool) {
    if v.engine.rollback.is_some() {
        rollback::render(f, area, v, large);
    } else {
        timeline::render(f, area, v, large);
    }
}

/// `M:SS` under an hour, `H:MM:SS` under 100 hours, then `Nd Hh`.
pub fn clock_span(ms: Ms) -> String {
    let s = ms.max(0) / 1000;
    if s < 3600 {
        format!("{}:{:02}", s / 60, s % 60)
    } else if s < 100 * 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}d {}h", s / 86_400, (s / 3600) % 24)
    }
}

/// Cuts `s` to `w` columns with an ellipsis.
pub fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(w - 1).collect();
    out.push('…');
    out
}

/// Draws `lines` one per row from the top of `area`, each cut at its width: what a
/// `Paragraph` without wrapping draws, without its reflow pass over every grapheme (the
/// timeline and the log are redrawn every second of an idle window).
pub fn rows(f: &mut Frame, area: Rect, lines: Vec<ratatui::text::Line>) {
    for (i, line) in lines.into_iter().take(usize::from(area.height)).enumerate() {
        let row = Rect::new(area.x, area.y + i as u16, area.width, 1);
        f.render_widget(line, row);
    }
}

/// A focused or plain bordered block with a title.
pub fn block<'a>(title: &'a str, focused: bool, theme: &Theme) -> ratatui::widgets::Block<'a> {
    use ratatui::widgets::{Block, BorderType, Borders};
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        })
        .title(ratatui::text::Span::styled(
            format!(" {title} "),
            theme.title,
        ))
}
