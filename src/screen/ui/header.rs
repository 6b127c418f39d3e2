//! The header: title, strategy, source → target, the mode badge (LIVE / DRILL ×N, never
//! mistakable), the T-clock, the phase, overall state, projected finish and rollback window.

use super::View;
use crate::core::event::Mode;
use crate::core::time::Speed;
use crate::core::time::{human, t_clock};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Overall state: the word and its style.
pub fn overall(v: &View, p: &crate::core::engine::Projection) -> (String, Style) {
    let e = v.engine;
    let t = v.theme;
    if let Some(o) = e.outcome {
        return match o {
            crate::core::engine::Outcome::Completed => ("✔ COMPLETE".into(), t.state_complete),
            crate::core::engine::Outcome::RolledBack => {
                ("⟲ ROLLED BACK".into(), t.state_rolled_back)
            }
            crate::core::engine::Outcome::Aborted if e.rollback.is_some() => {
                ("■ ROLLBACK ABORTED".into(), t.state_late)
            }
            crate::core::engine::Outcome::Aborted => ("■ ABORTED".into(), t.state_late),
        };
    }
    if e.rollback.is_some() {
        // A failed rollback step stops and asks: say so where everyone looks first.
        if e.paused.is_some() || e.waits_on_interrupted() {
            return ("⟲ ROLLBACK PAUSED".into(), t.state_late);
        }
        if e.held {
            return ("⏸ ROLLBACK HELD".into(), t.state_hold);
        }
        return ("⟲ ROLLING BACK".into(), t.state_rolling_back);
    }
    // What is about to happen, or waits on someone, outranks how the plan is going: the
    // header never says ON PLAN while a rollback counts down.
    if let Some(g) = e.monitor.graces.first() {
        return (
            format!(
                "⟲ AUTO-ROLLBACK in {}",
                super::clock_span(g.deadline - v.now)
            ),
            t.state_late,
        );
    }
    if let Some(d) = e.monitor.decisions.front() {
        return (
            format!("? DECIDE in {}", super::clock_span(d.deadline - v.now)),
            t.state_late,
        );
    }
    if let Some(a) = &e.approval {
        return (
            format!("⚖ 2ND PERSON in {}", super::clock_span(a.deadline - v.now)),
            t.state_late,
        );
    }
    if e.paused.is_some() || e.waits_on_interrupted() {
        return ("✗ PAUSED: needs operator".into(), t.state_late);
    }
    if e.held {
        return ("⏸ HOLD".into(), t.state_hold);
    }
    if let Some((tr, veto)) = e
        .monitor
        .triggers
        .iter()
        .find_map(|tr| tr.veto.as_ref().map(|x| (&tr.def.id, x)))
    {
        return (format!("⊘ VETOED {tr} by {}", veto.by), t.state_hold);
    }
    // A canary gate counting towards its failure: the stage's action is minutes away.
    if let Some(step) = e.current() {
        let failing = e
            .monitor
            .gate_views(step, v.now)
            .into_iter()
            .filter_map(|g| match g.state {
                crate::core::monitor::GateState::Violated { held, needed } => {
                    Some((needed - held).max(0))
                }
                crate::core::monitor::GateState::Failed => Some(0),
                _ => None,
            })
            .min();
        if let Some(left) = failing {
            return (
                format!("▲ GATE FAILING in {}", super::clock_span(left)),
                t.state_late,
            );
        }
    }
    // A skipped step that arms triggers leaves them never armed: nothing watches those
    // metrics, and the header must not say ON PLAN as if they were watched.
    let never = e
        .monitor
        .triggers
        .iter()
        .filter(|tr| tr.def.after.as_deref().is_some_and(|a| e.skipped(a)))
        .count();
    if never > 0 {
        let s = if never == 1 { "" } else { "s" };
        return (
            format!("▲ UNWATCHED: {never} trigger{s} never arm"),
            t.state_late,
        );
    }
    // LATE is the finish's lateness, the one the finish beside it shows; a step running
    // late while slack keeps the finish on plan says so in its own words. What rehearsals
    // forecast on top is not lateness yet: the finish says it in its own words.
    if p.delay_by_expect() >= 60_000 {
        return (
            format!("▲ LATE +{}", super::clock_span(p.delay_by_expect())),
            t.state_late,
        );
    }
    if p.current_delay >= super::timeline::LATE_SHOWN {
        return (
            // Written as the timeline's row writes it (`late 12:00`): one figure, one form.
            format!("▲ STEP LATE +{}", super::clock_span(p.current_delay)),
            t.state_late,
        );
    }
    ("● ON PLAN".into(), t.state_ok)
}

pub(super) fn badge(v: &View) -> (String, Style) {
    match v.mode {
        Mode::Live => (" ● LIVE ".into(), v.theme.badge_live),
        Mode::Drill => {
            // The cockpit's drill runs at real time while a countdown is open (the driver's
            // `pace`, from the same `real_time_needed`): the badge must not claim ×600.
            let speed = match v.engine.real_time_needed() {
                Some(why) if v.speed.faster_than_real() => format!("1× during {why}"),
                _ => match v.speed {
                    Speed::Max => "×max".into(),
                    s => s.label(),
                },
            };
            (format!(" DRILL {speed} · NOT LIVE "), v.theme.badge_drill)
        }
    }
}

/// What the header says of a rollback: who started it and why, how long it took, how it
/// ended. The compact header has about 40 columns: the state word already says rolling or
/// rolled back, so it keeps what matters most after that.
fn rollback_text(v: &View, r: &crate::core::engine::RollbackRun, short: bool) -> String {
    let e = v.engine;
    let planned = e.rollback_procedure().map_or(0, |p| e.back_planned(p));
    let who = format!("by {}: {}", r.operator, r.reason);
    if let (Some(at), Some((op, why))) = (r.aborted, &r.aborted_by) {
        return if short {
            format!("ABORTED by {op}: {why}")
        } else {
            format!(
                "rollback ABORTED by {op} after {} at `{}`: {why} · finish it by hand · started {} {who}",
                human(at - r.started),
                e.current().unwrap_or("?"),
                t_clock(r.started)
            )
        };
    }
    if let Some(end) = r.ended {
        let (failed, skipped) = e.rollback_gaps();
        let gaps = (!failed.is_empty() || !skipped.is_empty())
            .then(|| crate::core::engine::gaps_text(&failed, &skipped));
        let took = format!(
            "rolled back in {} (planned {})",
            human(end - r.started),
            human(planned)
        );
        return match (short, gaps) {
            (true, Some(g)) => format!("NOT CLEANLY: {g}"),
            (true, None) => format!("in {} {who}", human(end - r.started)),
            (false, Some(g)) => format!(
                "{took} NOT CLEANLY ({g}): started {} {who}",
                t_clock(r.started)
            ),
            (false, None) => format!("{took}: started {} {who}", t_clock(r.started)),
        };
    }
    if short {
        return who;
    }
    format!(
        "rolling back for {} (planned {}): started {} {who}",
        human(v.now - r.started),
        human(planned),
        t_clock(r.started)
    )
}

/// When the rollback will be done at this pace, and when the plan said: the current step's
/// remaining `expect` (none once it ran over) and every later step's.
fn rollback_finish(v: &View, r: &crate::core::engine::RollbackRun) -> String {
    let e = v.engine;
    if let Some(end) = r.ended.or(r.aborted) {
        return format!("ended {}", t_clock(end));
    }
    let Some(p) = e.rollback_procedure() else {
        return String::new();
    };
    let mut left = 0;
    for s in e.rollback_run_steps() {
        let run = e.run_of(&s.id);
        let state = run.map(|r| &r.state);
        if state.is_some_and(|st| st.finished()) {
            continue;
        }
        let spent = match state {
            Some(crate::core::engine::StepState::Running { .. }) => {
                run.and_then(|r| r.started).map_or(0, |st| v.now - st)
            }
            _ => 0,
        };
        left += (e.rehearsals().work(s) - spent).max(0);
    }
    let by = if e.rollback_rehearsed_extra() > 0 {
        " by rehearsed times"
    } else {
        ""
    };
    format!(
        "rollback done ≈{}{by} (plan {})",
        t_clock(v.now + left),
        t_clock(r.started + e.back_planned(p))
    )
}

/// The rollback window as text; `short` for the compact header.
pub fn rollback_window(v: &View, short: bool) -> (String, Style) {
    let e = v.engine;
    let t = v.theme;
    if let Some(r) = &e.rollback {
        return (rollback_text(v, r, short), t.state_rolling_back);
    }
    if let Some(o) = e.outcome {
        return (
            format!("run ended ({}): no rollback from the cockpit", o.as_str()),
            t.dim,
        );
    }
    if let Some((id, at)) = e.point_of_no_return_passed() {
        return (
            format!(
                "no rollback: `{id}` passed the point of no return at {}",
                t_clock(at)
            ),
            t.state_late,
        );
    }
    let Some(need) = e.rollback_needs() else {
        return ("no rollback procedure".into(), t.dim);
    };
    // A budget lengthened by rehearsed times says so, where there is room to.
    let needs = match (e.rollback_rehearsed_extra() > 0, short) {
        (true, false) => format!("{} (rehearsed times)", human(need)),
        (true, true) => format!("≈{}", human(need)),
        (false, _) => human(need),
    };
    // A rollback is possible until the earlier of the window's end and the point of no
    // return (projected: it moves with the run's delays).
    let pnr = e.projection(v.now).point_of_no_return;
    let window = e.runbook().rollback_window;
    let by_pnr = pnr.filter(|(_, p)| window.is_none_or(|w| *p < w));
    let deadline = by_pnr.as_ref().map(|(_, p)| *p).or(window);
    let by_pnr = by_pnr.map(|(id, _)| id);
    match deadline {
        Some(w) if v.now < w => {
            let left = w - v.now;
            let until = match &by_pnr {
                // The compact header keeps the time and the need; "≈" marks the projection.
                Some(_) if short => format!("≈{}", crate::core::time::t_offset(w)),
                Some(id) => format!(
                    "`{id}` (point of no return, ≈{})",
                    crate::core::time::t_offset(w)
                ),
                None => crate::core::time::t_offset(w),
            };
            // Warn while there is still time to act: within half the time needed (at least
            // 15 minutes) of the moment a rollback could no longer finish inside the window.
            let margin = (need / 2).max(15 * 60_000);
            if left < need {
                let text = format!(
                    "⚠ rollback can no longer finish by {until}: needs {needs}, {} left",
                    human(left)
                );
                return (text, t.state_late);
            }
            if left < need + margin {
                let text = format!(
                    "⚠ decide on rollback now: needs {needs}, window closes {until} ({} left)",
                    human(left)
                );
                return (text, t.state_late);
            }
            let text = if short {
                format!("rollback ok until {until}, needs {needs}")
            } else {
                format!(
                    "rollback possible until {until}, needs {needs} ({} left)",
                    human(left)
                )
            };
            (text, t.dim)
        }
        Some(_) if by_pnr.is_some() => (
            format!(
                "⚠ rollback possible only until `{}` (point of no return, due now) is confirmed: needs {needs}",
                by_pnr.unwrap_or_default()
            ),
            t.state_late,
        ),
        Some(w) => (
            format!(
                "rollback window closed at {}: R still rolls back, past the agreed window (needs {needs})",
                crate::core::time::t_offset(w)
            ),
            t.state_late,
        ),
        None => (format!("rollback needs {needs}"), t.dim),
    }
}

pub(super) fn render(f: &mut Frame, area: Rect, v: &View, lines: Vec<Line>) {
    super::fill(f, area, v.theme.base);
    super::rows(f, area, lines);
}

/// The header's rows at this width: the full layout's three, the compact one's two, or
/// three when the rollback window does not fit whole beside the clock and the state (it
/// decides, so it gets a row of its own rather than being cut).
pub(super) fn lines<'a>(v: &View, w: usize, large: bool) -> Vec<Line<'a>> {
    let e = v.engine;
    let rb = e.runbook();
    let t = v.theme;
    let (badge, badge_style) = badge(v);
    let p = e.projection(v.now);
    let (state, state_style) = overall(v, &p);
    let phase = e
        .current()
        .and_then(|id| rb.step(id))
        .map(|s| {
            if s.phase == "rollback" {
                "Rollback".to_string()
            } else {
                rb.phases
                    .iter()
                    .find(|p| p.id == s.phase)
                    .map(|p| p.title.clone())
                    .unwrap_or_default()
            }
        })
        .unwrap_or_else(|| "—".into());
    let finish = match &e.rollback {
        Some(r) => rollback_finish(v, r),
        None if e.outcome.is_some() => format!("ended {}", t_clock(e.last_now)),
        // Earlier drills took longer than `expect` somewhere ahead: the finish counts them.
        None if p.rehearsed_extra > 0 => format!(
            "finish ≈{} by rehearsed times (plan {})",
            t_clock(p.projected_end),
            t_clock(p.planned_end)
        ),
        // "On plan" only beside ON PLAN: while a rollback counts down, a gate fails or a
        // veto holds, the finish is what happens if the run goes on, and says so.
        None if p.delay().abs() < 60_000 && state.starts_with('●') => {
            format!("finish {} on plan", t_clock(p.projected_end))
        }
        None if p.delay().abs() < 60_000 => {
            format!("finish {} if the run goes on", t_clock(p.projected_end))
        }
        None => format!(
            "finish {} (plan {})",
            t_clock(p.projected_end),
            t_clock(p.planned_end)
        ),
    };
    let (window, window_style) = rollback_window(v, !large);
    let title = format!(
        " {} · {} · {} → {} ",
        rb.title,
        rb.strategy.as_str(),
        rb.source.name,
        rb.target.name
    );
    let badge_w = super::width(&badge);
    // The badge (LIVE or DRILL) is never cut; the title takes what is left.
    let title = super::fit(&title, w.saturating_sub(badge_w));
    let pad = w.saturating_sub(super::width(&title) + badge_w);
    let line1 = Line::from(vec![
        Span::styled(title, t.title),
        Span::raw(" ".repeat(pad)),
        Span::styled(badge, badge_style),
    ]);
    let sep = Span::styled(" │ ", t.dim);
    let clock = Span::styled(
        format!(" {} ", t_clock(v.now)),
        t.title.add_modifier(ratatui::style::Modifier::BOLD),
    );
    let mut lines = vec![line1];
    if large {
        // The phase is the one part of this row that does not decide: it gives way first.
        let fixed = super::width(&clock.content)
            + super::width(&state)
            + super::width(&finish)
            + 3 * 3
            + e.canary_weight()
                .map_or(0, |(_, w)| format!("canary {w} %").len() + 3);
        let phase = super::fit(&format!("phase: {phase}"), w.saturating_sub(fixed));
        lines.push(Line::from(vec![
            clock,
            sep.clone(),
            Span::styled(state, state_style),
            sep.clone(),
            Span::styled(phase, t.base),
            sep.clone(),
            Span::styled(finish, t.base),
        ]));
        if let (Some((_, w)), Some(l)) = (e.canary_weight(), lines.last_mut()) {
            l.spans.push(sep.clone());
            l.spans.push(Span::styled(format!("canary {w} %"), t.title));
        }
        lines.push(Line::from(vec![
            Span::raw(" "),
            Span::styled(window, window_style),
            sep,
            Span::styled(format!("operator {}", v.ui.operator), t.dim),
        ]));
    } else {
        let mut spans = vec![clock, sep.clone(), Span::styled(state, state_style)];
        if let Some((_, wt)) = e.canary_weight() {
            spans.push(sep.clone());
            spans.push(Span::styled(format!("canary {wt} %"), t.title));
        }
        // What the row has left after the clock, the state and the weight, measured.
        let used: usize = spans.iter().map(|s| super::width(&s.content)).sum();
        let room = w.saturating_sub(used + 3);
        // A rollback under way says who and why here only as far as it fits: the rollback
        // view under the header shows the reason whole. Anything else about the window
        // (until when, what it needs) decides, so it moves to a row of its own, wrapped on
        // words, rather than lose its end.
        if e.rollback.is_some() || super::width(&window) <= room {
            spans.push(sep);
            spans.push(Span::styled(super::fit(&window, room), window_style));
            lines.push(Line::from(spans));
        } else {
            lines.push(Line::from(spans));
            let inner = w.saturating_sub(1);
            for l in super::wrap_words(&window, inner, inner, 2) {
                lines.push(Line::from(vec![
                    Span::raw(" "),
                    Span::styled(l, window_style),
                ]));
            }
        }
    }
    lines
}
