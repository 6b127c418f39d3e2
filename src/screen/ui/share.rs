//! Sharing on screen: a watcher's banner row (`WATCHING · read-only · driver ann@host`, or
//! `NOT LIVE · driver gone since …` once no driver answers, so a dead view is never taken for
//! a live one), and on the driver's header who is watching (the count; names when wide).

use super::View;
use crate::screen::share::{Gone, Share, ago};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

/// Rows the banner takes: one for a watcher or a terminal that handed the keys over.
pub(super) fn banner_height(v: &View) -> u16 {
    u16::from(
        v.ui.share.watching()
            || matches!(
                v.ui.share,
                Share::Driving {
                    keys_with: Some(_),
                    ..
                }
            ),
    )
}

/// A watcher's banner.
pub(super) fn banner(f: &mut Frame, area: Rect, v: &View) {
    let t = v.theme;
    let w = usize::from(area.width);
    if let Share::Driving {
        keys_with: Some(k), ..
    } = &v.ui.share
    {
        let text = format!(" HANDED OVER · read-only here · {k} drives from their watcher");
        let pad = w.saturating_sub(super::width(&text));
        let line = Line::from(Span::styled(
            format!("{}{}", super::fit(&text, w), " ".repeat(pad)),
            t.badge_live,
        ));
        f.render_widget(line, area);
        return;
    }
    let Share::Watching {
        driver,
        watchers,
        gone,
        role,
        keys,
        ..
    } = &v.ui.share
    else {
        return;
    };
    let (text, style) = match gone {
        None if *keys => (
            format!(" DRIVING · the keys were handed to you · the run's process: {driver}"),
            t.badge_live,
        ),
        None => {
            let others = match watchers.len() {
                0 => String::new(),
                _ if w >= 100 => format!(" · also watching: {}", watchers.join(", ")),
                n => format!(" · +{n} watching"),
            };
            let part = match role {
                crate::screen::share::Role::Observer => String::new(),
                r => format!(" · you: {}", r.as_str()),
            };
            (
                format!(" WATCHING · read-only · driver {driver}{part}{others}"),
                t.badge_live,
            )
        }
        Some(Gone { since, ago_s }) => {
            let tail = if w >= 120 {
                " · the session as its journal left it; values shown are old · reconnects when a driver resumes"
            } else {
                " · values are old"
            };
            (
                format!(
                    " NOT LIVE · driver gone since {since} ({}){tail}",
                    ago(*ago_s)
                ),
                t.state_late
                    .add_modifier(Modifier::REVERSED | Modifier::BOLD),
            )
        }
    };
    let pad = w.saturating_sub(super::width(&text));
    let line = Line::from(Span::styled(
        format!("{}{}", super::fit(&text, w), " ".repeat(pad)),
        style,
    ));
    f.render_widget(line, area);
}

/// On the driver's header: who is watching, just left of the mode badge.
pub(super) fn presence(f: &mut Frame, header: Rect, v: &View) {
    let Share::Driving { watchers, .. } = &v.ui.share else {
        return;
    };
    if watchers.is_empty() || header.height == 0 {
        return;
    }
    let (badge, _) = super::header::badge(v);
    let w = usize::from(header.width);
    let names = format!(" ◉ {} watching: {} ", watchers.len(), watchers.join(", "));
    let text = if w >= 160 && super::width(&names) <= w / 3 {
        names
    } else {
        format!(" ◉ {} watching ", watchers.len())
    };
    let tw = super::width(&text);
    let bw = super::width(&badge);
    if tw + bw + 10 > w {
        return;
    }
    let x = header.x + (w - bw - tw) as u16;
    let area = Rect::new(x, header.y, tw as u16, 1);
    f.render_widget(Line::from(Span::styled(text, v.theme.title)), area);
}
