//! Overlays: the help generated from the keymap, the text prompts (skip reason, note), the
//! point-of-no-return confirmation and the quit question; the rollback overlays (preview,
//! "no rollback", abort) live in `preview`.

mod preview;

use super::View;
use crate::screen::app::{Overlay, Prompt};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn boxed(f: &mut Frame, area: Rect, title: &str, mut lines: Vec<Line>, v: &View, w: u16) {
    let w = w.min(area.width);
    // What was wrong with what was typed goes in the box, above its keys: the footer is
    // behind the box's edge of attention, and a silent Enter is the worst answer.
    if let (Overlay::Input(..), Some((msg, _))) = (&v.ui.overlay, &v.ui.flash) {
        let at = lines.len().saturating_sub(1);
        lines.insert(
            at,
            Line::from(Span::styled(format!(" ⚠ {msg}"), v.theme.state_late)),
        );
    }
    let text = Paragraph::new(lines).wrap(Wrap { trim: false });
    // Sized by the rows the lines take once wrapped, so a long line (a resume command, a
    // reason) never pushes the last line, which is usually the keys, out of the box.
    let h = text.line_count(w.saturating_sub(2)) as u16 + 2;
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let block = super::block(title, true, v.theme).style(v.theme.modal);
    f.render_widget(text.block(block), r);
}

fn input_line<'a>(label: &str, text: &str, v: &View) -> Line<'a> {
    Line::from(vec![
        Span::styled(label.to_string(), v.theme.base),
        Span::styled(format!("{text}▏"), v.theme.input),
    ])
}

/// The banner for what needs the operator now: an automatic rollback counting down, or an
/// open decision with its deadline. Drawn under the header, over everything else.
fn urgent(f: &mut Frame, area: Rect, v: &View, top: u16) {
    let t = v.theme;
    let mon = &v.engine.monitor;
    let key = |a| {
        v.keymap
            .keys_for(a)
            .first()
            .map(|k| k.to_string())
            .unwrap_or_else(|| "?".into())
    };
    // Laid out here, not by the paragraph's wrapping: the state and the keys share a row only
    // when both fit whole, else the keys get their own; the reason wraps on words and is shown
    // whole (it is what the operator decides on), so nothing is drawn over anything else.
    let inner = usize::from(area.width.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    let item = |lines: &mut Vec<Line>, head: String, style, keys: String, reason: &str| {
        let keys = format!("  {keys}");
        if super::width(&head) + super::width(&keys) <= inner {
            lines.push(Line::from(vec![
                Span::styled(head, style),
                Span::styled(keys, t.key),
            ]));
        } else {
            lines.push(Line::from(Span::styled(super::fit(&head, inner), style)));
            lines.push(Line::from(Span::styled(keys, t.key)));
        }
        let w = inner.saturating_sub(1);
        for l in super::wrap_words(reason, w, w, usize::MAX) {
            lines.push(Line::from(Span::styled(format!(" {l}"), t.base)));
        }
    };
    if let Some(g) = mon.graces.first() {
        item(
            &mut lines,
            format!(
                " ⟲ AUTOMATIC ROLLBACK in {} ",
                super::clock_span(g.deadline - v.now)
            ),
            t.metric_breach
                .add_modifier(ratatui::style::Modifier::REVERSED),
            format!("{}: veto", key(crate::config::keymap::Action::Veto)),
            &g.reason,
        );
    }
    if let Some(d) = mon.decisions.front() {
        item(
            &mut lines,
            format!(
                " ? DECISION: roll back or continue? {} left, then {} ",
                super::clock_span(d.deadline - v.now),
                d.default.as_str()
            ),
            t.metric_breach,
            format!(
                "{}: roll back · {}: continue",
                key(crate::config::keymap::Action::Rollback),
                key(crate::config::keymap::Action::Continue)
            ),
            &d.reason,
        );
        if mon.decisions.len() > 1 {
            lines.push(Line::from(Span::styled(
                format!(" and {} more decisions waiting", mon.decisions.len() - 1),
                t.dim,
            )));
        }
    }
    if let Some(a) = &v.engine.approval {
        let what = match (a.action, &a.step) {
            (crate::core::runbook::team::Guarded::Rollback, _) => "the rollback".to_string(),
            (crate::core::runbook::team::Guarded::Skip, Some(s)) => format!("skipping `{s}`"),
            (_, Some(s)) => format!("passing the point of no return at `{s}`"),
            (_, None) => a.action.words().to_string(),
        };
        let by = a.first.as_deref().unwrap_or(&a.operator);
        item(
            &mut lines,
            format!(
                " ⚖ SECOND PERSON: {what} waits for an approver, {} left ",
                super::clock_span(a.deadline - v.now)
            ),
            t.metric_breach,
            format!(
                "{}: approve (another OS user than {by}) · the first person: withdraw",
                key(crate::config::keymap::Action::Approve)
            ),
            &format!(
                "asked by {by}{}",
                a.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        );
    }
    if v.engine.outcome.is_none() {
        if let Some(h) = v.engine.hands.first() {
            item(
                &mut lines,
                format!(" ✋ {} ASKS FOR A HOLD ", h.who),
                t.state_hold,
                format!(
                    "the driver decides: {} holds; going on answers it too",
                    key(crate::config::keymap::Action::Hold)
                ),
                &h.reason,
            );
        }
        if v.engine.hands.len() > 1 {
            let who: Vec<&str> = v.engine.hands[1..].iter().map(|h| h.who.as_str()).collect();
            lines.push(Line::from(Span::styled(
                format!(" and hands up from {}", who.join(", ")),
                t.dim,
            )));
        }
    }
    if lines.is_empty() {
        return;
    }
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(top));
    let r = Rect::new(area.x, area.y + top, area.width, h);
    f.render_widget(Clear, r);
    let block = super::block("Needs you now", true, t).style(t.modal);
    f.render_widget(Paragraph::new(lines).block(block), r);
}

/// `header_h`: the header's rows, which the banner and the rollback preview leave in view
/// (the T-clock is on them).
pub(super) fn render(f: &mut Frame, area: Rect, v: &View, header_h: u16) {
    let t = v.theme;
    let e = v.engine;
    urgent(f, area, v, header_h);
    let below = Rect::new(
        area.x,
        area.y + header_h.min(area.height),
        area.width,
        area.height.saturating_sub(header_h),
    );
    match &v.ui.overlay {
        Overlay::None => {}
        Overlay::Help => {
            let rows = v.keymap.help_rows();
            let kw = rows
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(4);
            let mut lines: Vec<Line> = rows
                .into_iter()
                .map(|(k, d)| {
                    Line::from(vec![
                        Span::styled(format!(" {k:<kw$}  "), t.key),
                        Span::styled(d, t.base),
                    ])
                })
                .collect();
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                " Keys can be remapped in a keymap file (see README). Any key closes this.",
                t.dim,
            )));
            boxed(f, area, "Keys", lines, v, 76);
        }
        Overlay::ConfirmQuit => {
            let lines = vec![
                Line::from(Span::styled(
                    " Leave the cockpit? The run stops here; nothing is lost.",
                    t.base,
                )),
                Line::from(Span::styled(
                    " Running commands are stopped and journaled as interrupted.",
                    t.base,
                )),
                Line::from(Span::styled(" Resume with:", t.dim)),
                Line::from(Span::styled(format!(" {}", v.resume_hint), t.key)),
                Line::from(""),
                Line::from(vec![
                    Span::styled(" y ", t.rollback),
                    Span::styled(" quit    ", t.base),
                    Span::styled(" any other key ", t.key),
                    Span::styled(" stay", t.base),
                ]),
            ];
            boxed(f, area, "Quit", lines, v, 80);
        }
        Overlay::Input(Prompt::Approve, text) => {
            let what = e
                .approval
                .as_ref()
                .map(|a| {
                    let step = a
                        .step
                        .as_deref()
                        .map(|s| format!(" of `{s}`"))
                        .unwrap_or_default();
                    let by = a.first.as_deref().unwrap_or(&a.operator);
                    format!(" {}{step}, asked by {by}", a.action.words())
                })
                .unwrap_or_default();
            let lines = vec![
                Line::from(Span::styled(
                    " Second confirmation (two-person rule):",
                    t.title,
                )),
                Line::from(Span::styled(what, t.base)),
                input_line(" type approve (or withdraw, if you asked): ", text, v),
                Line::from(Span::styled(" Enter confirms · Esc cancels", t.dim)),
            ];
            boxed(f, area, "Approve", lines, v, 80);
        }
        Overlay::Input(Prompt::RaiseHand, text) => {
            let lines = vec![
                Line::from(Span::styled(
                    " Raise a hand: ask the driver to hold the run.",
                    t.title,
                )),
                Line::from(Span::styled(
                    " The driver sees it and decides; it is journaled with your OS user.",
                    t.base,
                )),
                input_line(" why? ", text, v),
                Line::from(Span::styled(" Enter raises it · Esc cancels", t.dim)),
            ];
            boxed(f, area, "Raise a hand", lines, v, 80);
        }
        Overlay::Input(Prompt::HandOver, text) => {
            let who = match &v.ui.share {
                crate::screen::share::Share::Driving { watchers, .. }
                | crate::screen::share::Share::Watching { watchers, .. } => watchers.join(", "),
                _ => String::new(),
            };
            let lines = vec![
                Line::from(Span::styled(
                    " Hand the keys to a watcher (a driver in the runbook's roles).",
                    t.title,
                )),
                Line::from(Span::styled(format!(" watching: {who}"), t.base)),
                Line::from(Span::styled(
                    " The run goes on; nothing running stops. They must accept.",
                    t.dim,
                )),
                input_line(" OS user: ", text, v),
                Line::from(Span::styled(" Enter offers · Esc cancels", t.dim)),
            ];
            boxed(f, area, "Hand over", lines, v, 80);
        }
        Overlay::Input(Prompt::TakeKeys(from), text) => {
            let lines = vec![
                Line::from(Span::styled(
                    format!(" {from} offers you the keys: you would drive the run."),
                    t.title,
                )),
                input_line(" type take to accept: ", text, v),
                Line::from(Span::styled(" Enter takes them · Esc declines", t.dim)),
            ];
            boxed(f, area, "Take the keys", lines, v, 80);
        }
        Overlay::Input(Prompt::Skip(id), text) => {
            // Which step, by id and title: the one highlighted `s` in the timeline, which
            // may not be the row the cursor is on.
            let title = e.runbook().step(id).map_or("", |s| s.title.as_str());
            let mut lines = vec![
                Line::from(Span::styled(format!(" Skip step `{id}`: {title}"), t.title)),
                Line::from(Span::styled(" why? (journaled)", t.base)),
            ];
            // Skipping an undo step leaves what it undoes in place: say which, before it is.
            let undoes = e
                .runbook()
                .step(id)
                .filter(|s| !s.undoes.is_empty() && e.rollback.is_some())
                .map(|s| s.undoes.join(", "));
            if let Some(u) = undoes {
                lines.push(Line::from(Span::styled(
                    format!(" ⚠ it undoes {u}: skipped, that stays as it is unless done by hand"),
                    t.state_late,
                )));
            }
            lines.extend([
                input_line(" reason: ", text, v),
                Line::from(Span::styled(" Enter skips · Esc cancels", t.dim)),
            ]);
            boxed(f, area, "Skip", lines, v, 70);
        }
        Overlay::Input(
            Prompt::SkipConfirm {
                step,
                reason,
                disables,
            },
            text,
        ) => {
            let mut lines = vec![Line::from(Span::styled(
                format!(" Skipping `{step}` disables:"),
                t.state_late,
            ))];
            lines.extend(
                disables
                    .iter()
                    .map(|d| Line::from(Span::styled(format!("  • {d}"), t.base))),
            );
            lines.extend([
                Line::from(Span::styled(format!(" reason: {reason}"), t.dim)),
                input_line(&format!(" type {step} to skip it anyway: "), text, v),
                Line::from(Span::styled(" Enter skips · Esc keeps the step", t.dim)),
            ]);
            boxed(f, area, "Skip — it disables something", lines, v, 90);
        }
        Overlay::Input(Prompt::VetoReason(trigger), text) => {
            let until = e
                .monitor
                .veto_of(trigger)
                .map(|x| {
                    format!(
                        " It holds until {} unless `{trigger}` recovers first; then the trigger may act again.",
                        crate::core::time::t_clock(x.until)
                    )
                })
                .unwrap_or_default();
            let lines = vec![
                Line::from(Span::styled(
                    format!(" Automatic rollback by `{trigger}` VETOED."),
                    t.state_late,
                )),
                Line::from(Span::styled(until, t.base)),
                input_line(" why? (journaled): ", text, v),
                Line::from(Span::styled(
                    " Enter records it · Esc leaves the veto without a reason",
                    t.dim,
                )),
            ];
            boxed(f, area, "Veto", lines, v, 80);
        }
        Overlay::Input(Prompt::ContinueReason(trigger), text) => {
            let about = e
                .monitor
                .decisions
                .front()
                .map(|d| d.reason.clone())
                .unwrap_or_default();
            let lines = vec![
                Line::from(Span::styled(
                    format!(" Continue despite `{trigger}`?"),
                    t.state_late,
                )),
                Line::from(Span::styled(format!(" {about}"), t.base)),
                input_line(" why? (journaled): ", text, v),
                Line::from(Span::styled(
                    " Enter continues · Esc goes back to the decision",
                    t.dim,
                )),
            ];
            boxed(f, area, "Decision: continue", lines, v, 80);
        }
        Overlay::Input(Prompt::Note, text) => {
            let lines = vec![
                input_line(" note: ", text, v),
                Line::from(Span::styled(
                    " Enter adds it to the journal · Esc cancels",
                    t.dim,
                )),
            ];
            boxed(f, area, "Note", lines, v, 70);
        }
        Overlay::Input(Prompt::PointOfNoReturn(id), text) => {
            let lines = vec![
                Line::from(Span::styled(
                    format!(" `{id}` is a POINT OF NO RETURN."),
                    t.state_late,
                )),
                Line::from(Span::styled(
                    " Once it is done, the rollback procedure can no longer be used.",
                    t.base,
                )),
                input_line(" type yes to confirm: ", text, v),
                Line::from(Span::styled(" Enter confirms · Esc cancels", t.dim)),
            ];
            boxed(f, area, "Point of no return", lines, v, 70);
        }
        // Under the header: the T-clock and the rollback window stay in view while the
        // operator decides on a rollback.
        Overlay::Input(Prompt::Rollback, text) => preview::rollback(f, below, v, text),
        Overlay::Input(Prompt::Abort, text) => preview::abort(f, below, v, text),
        Overlay::NoRollback(why) => preview::no_rollback(f, below, v, why),
    }
}
