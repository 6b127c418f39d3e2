//! The footer: a message for the operator, if any, and the keys that apply now, taken from the
//! keymap so remapped keys show as they are. A watcher is offered only the keys that look
//! around (help, panes, scrolling, the log filter, leaving): none that would change the run.

use super::View;
use crate::config::keymap::Action;
use crate::core::engine::StepState;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

fn key(v: &View, a: Action) -> String {
    v.keymap
        .keys_for(a)
        .first()
        .map(|k| k.to_string())
        .unwrap_or_else(|| "—".into())
}

/// The step actions that apply now, e.g. `Enter confirm · s skip`.
pub fn step_keys(v: &View) -> String {
    let e = v.engine;
    // A watcher's keys do not act on the run: offering them would mislead.
    if e.outcome.is_some() || v.ui.share.read_only() {
        return String::new();
    }
    let state = e
        .current()
        .and_then(|id| e.run_of(id))
        .map(|r| r.state.clone());
    let mut out = Vec::new();
    // What has a deadline comes first.
    if !e.monitor.graces.is_empty() {
        out.push(format!("{} VETO the rollback", key(v, Action::Veto)));
    }
    if !e.monitor.decisions.is_empty() {
        out.push(format!(
            "decide: {} roll back · {} continue",
            key(v, Action::Rollback),
            key(v, Action::Continue)
        ));
    }
    match state {
        Some(StepState::Waiting) => out.push(format!("{} confirm", key(v, Action::Complete))),
        Some(StepState::Interrupted { .. }) => {
            out.push(format!(
                "{} confirm it took effect",
                key(v, Action::Complete)
            ));
            out.push(format!("{} retry", key(v, Action::Retry)));
        }
        Some(StepState::Failed { blocking: true, .. }) => {
            out.push(format!("{} retry", key(v, Action::Retry)))
        }
        _ => {}
    }
    // Named: `s` acts on the current step, not on the row the cursor is on.
    if let (Some(_), Some(id)) = (&state, e.current()) {
        out.push(format!("{} skip {id}", key(v, Action::Skip)));
    }
    // A rollback that cannot go on may have to be abandoned and finished by hand.
    if e.rollback.is_some() {
        out.push(format!("{} abort", key(v, Action::Abort)));
    }
    out.join(" · ")
}

pub(super) fn render(f: &mut Frame, area: Rect, v: &View) {
    let t = v.theme;
    // While a box asks for text, keys type into it: say so rather than offer keys that
    // would only be typed.
    if let crate::screen::app::Overlay::Input(..) = v.ui.overlay {
        let line = Line::from(vec![
            Span::styled(" typing into the box ", t.key),
            Span::styled(" Enter: done · Esc: cancel · Backspace: erase", t.dim),
        ]);
        f.render_widget(line, area);
        return;
    }
    let mut spans = Vec::new();
    let mut keys: Vec<(String, &str)> = Vec::new();
    if v.ui.share.read_only() {
        return watcher(f, area, v);
    }
    let sk = step_keys(v);
    let ended = v.engine.outcome.is_some();
    keys.push((key(v, Action::Help), "help"));
    if !ended {
        // Offered only while it can be given: past the point of no return R explains why not.
        if crate::screen::app::rollback_blocked(v.engine).is_none() {
            keys.push((key(v, Action::Rollback), "ROLLBACK"));
        }
        keys.push((
            key(v, Action::Hold),
            if v.engine.held { "resume" } else { "hold" },
        ));
        keys.push((key(v, Action::Note), "note"));
    }
    keys.push((key(v, Action::Quit), "quit"));
    if !sk.is_empty() {
        spans.push(Span::styled(format!(" {sk} "), t.key));
        spans.push(Span::styled("│", t.dim));
    }
    for (k, what) in keys {
        let style = if what == "ROLLBACK" {
            t.rollback
        } else {
            t.key
        };
        spans.push(Span::styled(format!(" {k} "), style));
        spans.push(Span::styled(format!("{what} "), t.dim));
    }
    // A message goes first but never pushes the keys off the line: it gets what they leave.
    if let Some((msg, _)) = &v.ui.flash {
        let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
        // At least enough to be read; a short-lived message may cover the general keys.
        let room = (area.width as usize).saturating_sub(used + 3).max(28);
        spans.insert(0, Span::raw(" "));
        spans.insert(
            0,
            Span::styled(
                format!(" {} ", super::fit(msg, room.saturating_sub(2))),
                t.state_late,
            ),
        );
    }
    f.render_widget(Line::from(spans), area);
}

/// A watcher's footer: the keys that only look, and a reminder that this screen cannot act.
fn watcher(f: &mut Frame, area: Rect, v: &View) {
    let t = v.theme;
    let mut spans = Vec::new();
    if let Some((msg, _)) = &v.ui.flash {
        let room = (area.width as usize).saturating_sub(2);
        spans.push(Span::styled(
            format!(" {} ", super::fit(msg, room)),
            t.state_late,
        ));
        f.render_widget(Line::from(spans), area);
        return;
    }
    spans.push(Span::styled(" read-only ", t.state_hold));
    // What this screen may still ask of the driver: the urgent first.
    let power = v.ui.share.power();
    let mut asks: Vec<(Action, &str)> = Vec::new();
    if v.ui.share.offer().is_some() {
        asks.push((Action::HandOver, "TAKE the keys"));
    }
    if power == crate::screen::share::Power::Approve {
        if v.engine.approval.is_some() {
            asks.push((Action::Approve, "APPROVE"));
        }
        if !v.engine.monitor.decisions.is_empty() {
            asks.push((Action::Rollback, "decide: roll back"));
            asks.push((Action::Continue, "continue"));
        }
    }
    if power != crate::screen::share::Power::None && v.engine.outcome.is_none() {
        asks.push((Action::Note, "note"));
        asks.push((Action::RaiseHand, "raise hand"));
    }
    let quit = if v.ui.share.watching() {
        "stop watching"
    } else {
        "quit"
    };
    asks.extend([
        (Action::Help, "help"),
        (Action::FocusNext, "pane"),
        (Action::Down, "scroll"),
        (Action::LogLevel, "log level"),
        (Action::Quit, quit),
    ]);
    // Narrow terminals lose the keys that only look around first, never the ones that ask.
    let width = |asks: &[(Action, &str)]| -> usize {
        11 + asks
            .iter()
            .map(|(a, w)| key(v, *a).chars().count() + w.chars().count() + 3)
            .sum::<usize>()
    };
    for drop in ["log level", "scroll", "pane"] {
        if width(&asks) > usize::from(area.width) {
            asks.retain(|(_, w)| *w != drop);
        }
    }
    for (a, what) in asks {
        spans.push(Span::styled(format!(" {} ", key(v, a)), t.key));
        spans.push(Span::styled(format!("{what} "), t.dim));
    }
    f.render_widget(Line::from(spans), area);
}
