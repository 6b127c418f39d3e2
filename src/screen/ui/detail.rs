//! The step detail: title, owner, description, the command, live output (scrollable), the
//! timing against `expect` and `timeout` (and what earlier drills took), the verify state,
//! and the keys that apply now.

use super::{View, clock_span};
use crate::core::engine::{Stage, StepState};
use crate::core::time::{Ms, human, t_clock};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// A canary stage's gates while they decide: each one's value against its limit (with its
/// unit), and how far a violation has got towards its `for`; the weight it set.
fn gate_lines<'a>(v: &View, id: &str) -> Vec<Line<'a>> {
    use crate::core::monitor::{GateState, with_unit};
    let t = v.theme;
    let e = v.engine;
    let views = e.monitor.gate_views(id, v.now);
    if views.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(w) = e.runbook().step(id).and_then(|s| s.stage.as_ref()?.weight) {
        out.push(Line::from(Span::styled(
            format!("canary weight {w} % · gates on data from this stage only:"),
            t.base,
        )));
    }
    for g in views {
        let value = g
            .value
            .map(|(x, l)| {
                format!(
                    ": {} (limit {})",
                    with_unit(x, &g.unit),
                    with_unit(l, &g.unit)
                )
            })
            .unwrap_or_default();
        let (glyph, style, how) = match g.state {
            GateState::Holds => ("✓", t.metric_ok, "holds".to_string()),
            GateState::Violated { held, needed } if needed > 0 => (
                "▲",
                t.metric_breach,
                format!("violated {} of {}", clock_span(held), clock_span(needed)),
            ),
            GateState::Violated { .. } => ("▲", t.metric_breach, "violated".into()),
            GateState::Failed => ("✗", t.metric_breach, "FAILED".into()),
            GateState::Unknown(why) => ("?", t.metric_stale, format!("UNKNOWN: {why}")),
        };
        out.push(Line::from(vec![
            Span::styled(format!(" {glyph} "), style),
            Span::styled(format!("{}{value}", g.text), t.base),
            Span::styled(format!(" · {how}"), style),
        ]));
    }
    out
}

pub(super) fn render(f: &mut Frame, area: Rect, v: &View) {
    let e = v.engine;
    let rb = e.runbook();
    let t = v.theme;
    let ids = crate::screen::app::row_ids(e);
    let id =
        v.ui.selected
            .and_then(|i| ids.get(i).copied())
            .or(e.current())
            .or(ids.last().copied());
    let focused = v.ui.focus == crate::screen::app::Pane::Detail;
    let inner = super::pane_box(f, area, "Step", focused, t, None);
    let Some(step) = id.and_then(|i| rb.step(i)) else {
        f.render_widget(Paragraph::new("no step"), inner);
        return;
    };
    let run = e.run_of(&step.id);
    let state = run.map(|r| r.state.clone()).unwrap_or_default();
    let (g, gs) = super::timeline::glyph(&state, v);
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{g} {} ", step.id), gs),
        Span::styled(step.title.clone(), t.title),
    ])];
    let mut facts = vec![format!("owner {}", step.owner.as_deref().unwrap_or("—"))];
    if let Some(at) = step.at {
        facts.push(format!("at {}", crate::core::time::t_offset(at)));
    }
    if let Some(x) = step.expect {
        facts.push(format!("expect {}", human(x)));
    }
    if step.run.is_some() {
        facts.push(format!("timeout {} real time", human(step.timeout)));
    }
    if step.run.is_some() || step.until.is_some() {
        facts.push(format!("on failure: {}", step.on_failure.as_str()));
    }
    if step.rerun_safe {
        facts.push("rerun-safe".into());
    }
    if step.point_of_no_return {
        facts.push("POINT OF NO RETURN".into());
    }
    lines.push(Line::from(Span::styled(facts.join(" · "), t.dim)));
    // What earlier drills of this runbook took here: the reason the projection may differ
    // from the plan, so it sits beside the step's own `expect`.
    if let Some(l) = e.rehearsals().line(step) {
        let style = if e.rehearsals().longer(step).is_some() {
            t.base
        } else {
            t.dim
        };
        lines.push(Line::from(Span::styled(l, style)));
    }
    if let Some(u) = &step.until {
        // The wait is schedule time, compressed in drills like a hold.
        lines.push(Line::from(Span::styled(
            format!(
                "until {} · waits at most {}{}",
                u.cond.text,
                human(step.timeout),
                if step.run.is_some() {
                    ", after its command"
                } else {
                    ""
                }
            ),
            t.dim,
        )));
    }
    let status = match &state {
        StepState::Pending => "pending".to_string(),
        StepState::Waiting => "manual step: waiting for the operator to confirm it".into(),
        StepState::Running { attempt, stage } => {
            let ran = run.and_then(|r| r.started).map_or(0, |s| v.now - s);
            match stage {
                Stage::Run | Stage::Verify => {
                    // Timeouts are real time; a drill's T-time runs `speed` times faster
                    // (and at 1× under --speed max while a command runs).
                    let real = match (v.mode, v.speed) {
                        (crate::core::event::Mode::Drill, crate::core::time::Speed::Factor(f)) => {
                            (ran as f64 / f) as i64
                        }
                        _ => ran,
                    };
                    let left = clock_span((step.timeout - real).max(0));
                    let what = if *stage == Stage::Run {
                        "running"
                    } else {
                        "verifying"
                    };
                    format!(
                        "{what}, attempt {attempt}, {} · times out in {left}",
                        clock_span(ran)
                    )
                }
                Stage::Hold { until } => format!(
                    "verified; holding until {} ({} left)",
                    t_clock(*until),
                    clock_span(until - v.now)
                ),
                Stage::Until { since, deadline } => until_status(v, step, *since, *deadline),
                Stage::Gate => match v.engine.monitor.verdict(&step.id, v.now) {
                    crate::core::monitor::Verdict::Pass => "gates hold on fresh data".to_string(),
                    crate::core::monitor::Verdict::Wait(w) => format!("waiting on gates: {w}"),
                    crate::core::monitor::Verdict::Fail(f) => format!("gate failed: {f}"),
                },
            }
        }
        StepState::RetryWait { attempt, until } => {
            format!("failed; attempt {attempt} starts at {}", t_clock(*until))
        }
        StepState::Done { at } => format!(
            "done at {}{}",
            t_clock(*at),
            if step.verify.is_some() {
                ", verified"
            } else {
                ""
            }
        ),
        StepState::Failed { reason, .. } => format!("FAILED: {reason}"),
        StepState::Skipped { reason } => format!("skipped: {reason}"),
        StepState::Interrupted { attempt } => format!(
            "INTERRUPTED (attempt {attempt}) when the cockpit stopped{}",
            if step.rerun_safe {
                "; rerun-safe"
            } else {
                ": check it by hand, then confirm, retry or skip"
            }
        ),
    };
    // The projection's lateness, as the row and the header show it.
    let late = e.step_delay(&step.id, v.now);
    let status = if late >= super::timeline::LATE_SHOWN && !state.finished() {
        format!("{status} · late {}", clock_span(late))
    } else {
        status
    };
    lines.push(Line::from(Span::styled(status, gs)));
    lines.extend(gate_lines(v, &step.id));
    match &step.run {
        Some(c) => lines.push(Line::from(Span::styled(
            format!("$ {}", c.display()),
            t.base,
        ))),
        None if step.until.is_some() => lines.push(Line::from(Span::styled(
            "no command: done when its condition holds",
            t.dim,
        ))),
        None => lines.push(Line::from(Span::styled("manual step (no command)", t.dim))),
    }
    if let Some(c) = &step.verify {
        lines.push(Line::from(Span::styled(
            format!("verify: $ {}", c.display()),
            t.dim,
        )));
    }
    if let Some(d) = &step.description {
        lines.push(Line::from(Span::styled(d.trim().to_string(), t.base)));
    }
    // The keys act on the current step only: shown beside another step they would lie.
    let keys = if e.current() == Some(step.id.as_str()) {
        super::footer::step_keys(v)
    } else {
        String::new()
    };
    if !keys.is_empty() {
        lines.push(Line::from(Span::styled(format!("now: {keys}"), t.key)));
    }
    let head = lines.len() as u16;
    let output: Vec<&String> = run.map(|r| r.output.iter().collect()).unwrap_or_default();
    let room = inner.height.saturating_sub(head + 1) as usize;
    if !output.is_empty() && room > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "── output ({} line{}) ──",
                output.len(),
                if output.len() == 1 { "" } else { "s" }
            ),
            t.dim,
        )));
        let end = output.len().saturating_sub(v.ui.detail_scroll as usize);
        let begin = end.saturating_sub(room);
        for l in &output[begin..end] {
            lines.push(Line::from(Span::styled(format!("│ {l}"), t.base)));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// An until-step's wait: the value against the target in the unit the runbook wrote, how old
/// the value is, and the time left before the wait times out; UNKNOWN says why.
fn until_status(v: &View, step: &crate::core::runbook::Step, since: Ms, deadline: Ms) -> String {
    use crate::core::monitor::until::UntilState;
    let Some(u) = &step.until else {
        return "waiting".into();
    };
    let w = v.engine.monitor.until_view(u, since, v.now);
    let left = format!(
        "times out in {} (at {})",
        clock_span(deadline - v.now),
        t_clock(deadline)
    );
    let age = w
        .age(v.now)
        .map(|a| format!("value {} old", human(a)))
        .unwrap_or_else(|| "no value".into());
    match &w.state {
        UntilState::Unknown(r) => format!(
            "waiting until {}: UNKNOWN ({r}){} · target {} · {left}",
            w.text,
            w.last
                .map(|(x, _)| format!(", last {}", w.with_unit(x)))
                .unwrap_or_default(),
            w.with_unit(w.limit)
        ),
        UntilState::Holds => format!("{} holds: {} · {age}", w.text, w.progress()),
        UntilState::NotYet => format!(
            "waiting until {}: {} · {age} · {left}",
            w.text,
            w.progress()
        ),
    }
}
