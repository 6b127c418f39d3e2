//! The log pane: the tail of journal records, command output and diagnostics kept in the
//! UI state, newest at the bottom, wrapped at word boundaries, scrolled by the operator's
//! keys, filtered by the level `l` cycles. In the live cockpit the program's diagnostics
//! (tui-logger, moved in by the loop before a frame) show beneath it once there are any.

use super::View;
use crate::screen::app::{LOG_LEVELS, Pane};
use crate::screen::log::Level;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

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
    let inner = super::pane_box(f, tail_area, &title, focused, t, None);
    let (w, h) = (usize::from(inner.width), usize::from(inner.height));
    if v.ui.log.shown(level).next().is_none() {
        let none = format!("nothing at {level} or above yet · l: change the level");
        f.render_widget(Paragraph::new(Span::styled(none, t.dim)), inner);
    }
    // The newest `scroll` records are scrolled away; of the rest, the newest that fit, each
    // wrapped at word boundaries with its continuation rows indented. Fewer rows than the
    // pane has start at its top; more fill it to the bottom.
    let mut rows: Vec<Line> = Vec::new();
    for l in v.ui.log.shown(level).rev().skip(usize::from(scroll)) {
        let style = match l.level {
            Level::Error => t.log_error,
            Level::Warn => t.log_warn,
            Level::Info => t.log_info,
            Level::Debug | Level::Trace => t.log_debug,
        };
        let wrapped = wrap(&l.text, w);
        for r in wrapped.into_iter().rev() {
            rows.push(Line::from(Span::styled(r, style)));
        }
        if rows.len() >= h {
            break;
        }
    }
    rows.truncate(h);
    rows.reverse();
    super::fill(f, inner, t.base);
    super::rows(f, inner, rows);
    if let Some(d) = diag_area {
        diagnostics(f, d, v, level);
    }
}

/// Indent of a record's continuation rows.
const HANG: &str = "    ";

/// `text` in rows of at most `width` columns, broken at spaces (a word longer than a row is
/// cut), the rows after the first indented so a record reads as one; a line of its own in
/// the record (a command under its step) starts a row of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        rows.extend(wrap_line(line, width, if i == 0 { "" } else { HANG }));
    }
    rows
}

/// One line of a record in rows, its first row indented by `first`, the others by `HANG`.
fn wrap_line(text: &str, width: usize, first: &str) -> Vec<String> {
    let cols = |s: &str| Span::raw(s).width();
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let indent = if rows.is_empty() { first } else { HANG };
        let room = width.saturating_sub(cols(indent)).max(1);
        let sep = usize::from(!row.is_empty());
        if !row.is_empty() && cols(&row) + sep + cols(word) > room {
            rows.push(format!("{indent}{row}"));
            row.clear();
        }
        let mut word = word.to_string();
        loop {
            let indent = if rows.is_empty() { first } else { HANG };
            let room = width.saturating_sub(cols(indent)).max(1);
            if !row.is_empty() || cols(&word) <= room {
                break;
            }
            // A word wider than a row: cut it where it fills the row.
            let mut cut = String::new();
            for c in word.chars() {
                if cols(&cut) + cols(c.encode_utf8(&mut [0; 4])) > room {
                    break;
                }
                cut.push(c);
            }
            if cut.is_empty() {
                break;
            }
            word = word[cut.len()..].to_string();
            rows.push(format!("{indent}{cut}"));
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.push_str(&word);
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(format!(
            "{}{row}",
            if rows.is_empty() { first } else { HANG }
        ));
    }
    rows
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

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn records_wrap_at_spaces_with_indented_continuations() {
        let rows = wrap(
            "T+00:01:00 ▶ delta-sync Delta sync $ ./scripts/delta-sync.sh now",
            28,
        );
        assert_eq!(
            rows,
            [
                "T+00:01:00 ▶ delta-sync",
                "    Delta sync $",
                "    ./scripts/delta-sync.sh",
                "    now"
            ]
        );
        assert!(rows.iter().all(|r| r.chars().count() <= 28), "{rows:?}");
        assert_eq!(wrap("short", 24), ["short"]);
        assert_eq!(
            wrap("T+0 ▶ a Step A\n$ ./a.sh", 40),
            ["T+0 ▶ a Step A", "    $ ./a.sh"],
            "a command gets a row of its own"
        );
        let long = wrap("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 10);
        assert_eq!(
            long,
            [
                "aaaaaaaaaa",
                "    aaaaaa",
                "    aaaaaa",
                "    aaaaaa",
                "    aa"
            ]
        );
    }
}
