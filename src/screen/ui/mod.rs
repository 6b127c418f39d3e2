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
mod share;
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
    let full = f.area();
    // A watcher's banner takes the top row; the cockpit below it is the driver's, unchanged.
    let banner_h = share::banner_height(v).min(full.height);
    share::banner(f, Rect::new(full.x, full.y, full.width, banner_h), v);
    let area = Rect::new(
        full.x,
        full.y + banner_h,
        full.width,
        full.height - banner_h,
    );
    // A fresh frame is all terminal-default cells: a base of default colours would restyle
    // every cell of the screen to what it already is, once a second.
    fill(f, area, v.theme.base);
    let large = is_large(area);
    let head = header::lines(v, usize::from(area.width), large);
    let header_h = u16::try_from(head.len()).unwrap_or(3);
    let rows = Layout::vertical([
        Constraint::Length(header_h),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .split(area);
    header::render(f, rows[0], v, head);
    share::presence(f, rows[0], v);
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
    overlay::render(f, area, v, header_h);
}

/// Gives every cell of `area` the style `s`, unless `s` would leave a fresh cell as it is.
pub fn fill(f: &mut Frame, area: Rect, s: ratatui::style::Style) {
    if !is_terminal_default(s) {
        paint(f.buffer_mut(), area, s);
    }
}

/// `Buffer::set_style`, a row at a time: ratatui bounds-checks every cell, and the theme's
/// base style covers the whole screen every frame.
fn paint(buf: &mut ratatui::buffer::Buffer, area: Rect, s: ratatui::style::Style) {
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        let at = buf.index_of(area.x, y);
        for cell in &mut buf.content[at..at + usize::from(area.width)] {
            cell.set_style(s);
        }
    }
}

/// True when `s` leaves a cell as a freshly reset one: no colour but the terminal's, no
/// modifier.
fn is_terminal_default(s: ratatui::style::Style) -> bool {
    use ratatui::style::{Color, Modifier};
    let plain = |c: Option<Color>| matches!(c, None | Some(Color::Reset));
    plain(s.fg)
        && plain(s.bg)
        && s.add_modifier == Modifier::empty()
        && s.underline_color.is_none_or(|c| c == Color::Reset)
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

/// Countdowns and spans on screen: one rule with the T-clock's (see `core::time`).
pub use crate::core::time::clock_span;

/// Cuts `s` to `w` terminal columns with an ellipsis. Columns, not chars: a wide glyph
/// counted as one pushes every cell after it along and cuts the row's last column.
pub fn fit(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw > w - 1 {
            break;
        }
        used += cw;
        out.push(c);
    }
    out.push('…');
    out
}

/// `s` cut at the last space that leaves at most `w` columns, and the rest; all of it when it
/// fits, or cut at `w` when it has no space to cut at.
pub fn split_at_word(s: &str, w: usize) -> (&str, &str) {
    if s.chars().count() <= w {
        return (s, "");
    }
    let cut = s.char_indices().nth(w).map_or(s.len(), |(i, _)| i);
    let at = s[..cut].rfind(' ').filter(|&i| i > 0).unwrap_or(cut);
    (&s[..at], s[at..].trim_start())
}

/// `s` wrapped on words: the first line in `first` columns, the others in `w`, at most `max`
/// lines, the last cut with an ellipsis when words are left over.
pub fn wrap_words(s: &str, first: usize, w: usize, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() && out.len() < max {
        let room = if out.is_empty() { first } else { w };
        let (line, more) = split_at_word(rest, room);
        if out.len() + 1 == max && !more.is_empty() {
            out.push(fit(rest, room));
            break;
        }
        out.push(line.to_string());
        rest = more;
    }
    out
}

/// The terminal columns `s` takes.
pub fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// Draws `lines` one per row from the top of `area`, each cut at its width: what a
/// `Paragraph` without wrapping draws, without its reflow pass over every grapheme (the
/// timeline and the log are redrawn every second of an idle window).
pub fn rows(f: &mut Frame, area: Rect, lines: Vec<ratatui::text::Line>) {
    for (i, line) in lines.into_iter().take(usize::from(area.height)).enumerate() {
        let row = Rect::new(area.x, area.y + i as u16, area.width, 1);
        row_into(f.buffer_mut(), row, &line);
    }
}

/// One left-aligned line into one row, cell for cell and style for style what ratatui's
/// `Line` draws, but a span of plain printable ASCII is written a byte a cell: ratatui
/// splits every span into grapheme clusters, and that was a quarter of an idle frame
/// (perf, 200×50). Other spans, and aligned lines, go through ratatui.
fn row_into(buf: &mut ratatui::buffer::Buffer, row: Rect, line: &ratatui::text::Line) {
    use ratatui::layout::Alignment;
    use ratatui::widgets::Widget;
    let plain = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !matches!(line.alignment, None | Some(Alignment::Left)) {
        line.render(row, buf);
        return;
    }
    let row = row.intersection(buf.area);
    let blank =
        |s: &ratatui::text::Span| s.content.is_empty() || (!plain(&s.content) && s.width() == 0);
    if row.is_empty() || line.spans.iter().all(blank) {
        return;
    }
    // A default style changes no cell; skipping it skips a pass over the row.
    if line.style != ratatui::style::Style::default() {
        paint(buf, row, line.style);
    }
    let mut x = row.x;
    for span in &line.spans {
        if x >= row.right() {
            break;
        }
        if plain(&span.content) {
            // One bounds check for the run, not one per cell: `row` lies inside the buffer.
            let n = span.content.len().min(usize::from(row.right() - x));
            let at = buf.index_of(x, row.y);
            for (cell, b) in buf.content[at..at + n].iter_mut().zip(span.content.bytes()) {
                cell.set_char(char::from(b)).set_style(span.style);
            }
            x += n as u16;
        } else {
            // As ratatui does, a span that takes no columns is not drawn at all.
            let w = u16::try_from(span.width()).unwrap_or(u16::MAX);
            if w > 0 {
                span.render(Rect::new(x, row.y, row.right() - x, 1), buf);
                x = x.saturating_add(w);
            }
        }
    }
}

/// Draws a pane's border and title and returns the inside: what `f.render_widget(block(..))`
/// draws, cell for cell and style for style, without ratatui's `Block` restyling every cell
/// inside to no style at all (a tenth of an idle frame, measured with perf). `title_style`
/// lies under the theme's title style, as a `Block`'s `title_style` does.
pub fn pane_box(
    f: &mut Frame,
    area: Rect,
    title: &str,
    focused: bool,
    theme: &Theme,
    title_style: Option<ratatui::style::Style>,
) -> Rect {
    let area = area.intersection(f.area());
    if area.width < 2 || area.height < 2 {
        return Rect::new(area.x, area.y, 0, 0);
    }
    let (h, v, tl, tr, bl, br) = if focused {
        ("━", "┃", "┏", "┓", "┗", "┛")
    } else {
        ("─", "│", "╭", "╮", "╰", "╯")
    };
    let style = if focused {
        theme.border_focused
    } else {
        theme.border
    };
    let buf = f.buffer_mut();
    let (x0, y0) = (area.x, area.y);
    let (x1, y1) = (area.right() - 1, area.bottom() - 1);
    for x in x0 + 1..x1 {
        buf[(x, y0)].set_symbol(h).set_style(style);
        buf[(x, y1)].set_symbol(h).set_style(style);
    }
    for y in y0 + 1..y1 {
        buf[(x0, y)].set_symbol(v).set_style(style);
        buf[(x1, y)].set_symbol(v).set_style(style);
    }
    for (x, y, c) in [(x0, y0, tl), (x1, y0, tr), (x0, y1, bl), (x1, y1, br)] {
        buf[(x, y)].set_symbol(c).set_style(style);
    }
    let label = ratatui::text::Span::styled(format!(" {title} "), theme.title);
    // As a `Block` does, the title style covers the title's own cells, not the whole row.
    let title_w = u16::try_from(label.width())
        .unwrap_or(u16::MAX)
        .min(area.width - 2);
    let title_area = Rect::new(x0 + 1, y0, title_w, 1);
    let line = match title_style {
        Some(s) => ratatui::text::Line::from(label).style(s),
        None => ratatui::text::Line::from(label),
    };
    f.render_widget(line, title_area);
    Rect::new(x0 + 1, y0 + 1, area.width - 2, area.height - 2)
}

/// A focused or plain bordered block with a title (for widgets that take a `Block`).
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

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::{Terminal, backend::TestBackend, style::Color};

    /// `pane_box` stands in for `f.render_widget(block(..), area)`: the same cells, styles and
    /// inside, for both border kinds, with and without a title style, and a title longer
    /// than the box.
    #[test]
    fn pane_box_draws_what_a_block_draws() {
        let t = crate::config::theme::dark();
        let title_style = ratatui::style::Style::new().fg(Color::Cyan).bg(Color::Blue);
        for (w, h) in [(30u16, 6u16), (8, 3), (2, 2)] {
            for focused in [false, true] {
                for ts in [None, Some(title_style)] {
                    for title in ["Metrics", "a title far longer than the box it is in"] {
                        let area = Rect::new(1, 1, w, h);
                        let draw = |ours: bool| {
                            let mut term = Terminal::new(TestBackend::new(40, 10)).unwrap();
                            let mut inner = Rect::default();
                            term.draw(|f| {
                                inner = if ours {
                                    pane_box(f, area, title, focused, &t, ts)
                                } else {
                                    let b = block(title, focused, &t);
                                    let b = match ts {
                                        Some(s) => b.title_style(s),
                                        None => b,
                                    };
                                    let inner = b.inner(area);
                                    f.render_widget(b, area);
                                    inner
                                };
                            })
                            .unwrap();
                            (term.backend().buffer().clone(), inner)
                        };
                        let (ours, theirs) = (draw(true), draw(false));
                        assert_eq!(ours, theirs, "{w}x{h} focused={focused} {ts:?} {title}");
                    }
                }
            }
        }
    }

    /// `rows` stands in for a `Line` widget per row: the same cells and styles for plain,
    /// wide, zero-width and mixed spans, lines wider and narrower than the row, styled lines,
    /// empty lines and aligned ones, over a buffer that already holds something.
    #[test]
    fn rows_draw_what_lines_draw() {
        use ratatui::layout::Alignment;
        use ratatui::style::{Modifier, Style};
        use ratatui::text::{Line, Span};
        let red = Style::new().fg(Color::Red);
        let bold = Style::new().add_modifier(Modifier::BOLD).bg(Color::Blue);
        let lines = || {
            vec![
                Line::from("plain ascii, longer than the row it is drawn into at all"),
                Line::from(vec![
                    Span::styled("✓ done ", red),
                    Span::styled("T+00:12", bold),
                    Span::raw(" 表示 wide"),
                ]),
                Line::from(vec![Span::raw("e\u{301}"), Span::styled("\u{200b}", red)]),
                Line::from(vec![Span::raw(""), Span::raw("")]),
                Line::from("tab\there and ctrl\u{7}").style(bold),
                Line::from(vec![Span::styled("short", red)]).style(bold),
                Line::from("right").alignment(Alignment::Right),
                Line::from("centred ✓").alignment(Alignment::Center),
                Line::from(vec![Span::raw("a"), Span::raw("表"), Span::raw("b")]),
            ]
        };
        for width in [3u16, 12, 40] {
            let draw = |ours: bool| {
                let mut term = Terminal::new(TestBackend::new(44, 12)).unwrap();
                term.draw(|f| {
                    let all = f.area();
                    f.render_widget(Line::from("x".repeat(44)).style(red), all);
                    let area = Rect::new(2, 1, width, 10);
                    if ours {
                        rows(f, area, lines());
                    } else {
                        for (i, l) in lines().into_iter().enumerate() {
                            f.render_widget(l, Rect::new(2, 1 + i as u16, width, 1));
                        }
                    }
                })
                .unwrap();
                term.backend().buffer().clone()
            };
            assert_eq!(draw(true), draw(false), "width {width}");
        }
    }
}
