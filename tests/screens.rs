//! Snapshots of the cockpit screen: the main screen at three sizes, the help overlay, the
//! rollback preview, the rollback view while it runs and when a step stops it, an overdue
//! step, the metrics tab, and every theme with its styles.
//! Engine states are built from the shipped blue-green runbook with times given by hand.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use cutover::config::keymap::default_keymap;
use cutover::config::theme::{self, Theme};
use cutover::core::engine::{Effect, Engine, ExecResult, Msg, Stage};
use cutover::core::event::Mode;
use cutover::core::time::Speed;
use cutover::screen::app::{Overlay, Pane, Prompt, Ui};
use cutover::screen::ui::{View, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::Path;

const MIN: i64 = 60_000;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn engine_at(until: i64, stop_at: Option<&str>) -> Engine {
    let rb = cutover::config::runbook::load(&root().join("runbooks/blue-green.yaml"))
        .runbook
        .unwrap();
    cutover::core::engine::demo::run_until(rb, until, stop_at)
}

fn draw(e: &Engine, ui: &Ui, now: i64, w: u16, h: u16, theme: &Theme) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let km = default_keymap();
    let v = View {
        engine: e,
        ui,
        now,
        mode: Mode::Drill,
        speed: Speed::Factor(60.0),
        theme,
        keymap: &km,
        resume_hint: "cutover drill runbooks/blue-green.yaml --session /sessions/bg",
        live_log: false,
        diagnostics: 0,
    };
    term.draw(|f| render(f, &v)).unwrap();
    term
}

fn window() -> (Engine, i64) {
    // T+0:46: parity done, the DNS switch running since T+0:45.
    let e = engine_at(46 * MIN, Some("switch-dns"));
    (e, 46 * MIN)
}

#[test]
fn main_screen_at_three_sizes() {
    let (e, now) = window();
    let ui = Ui::new("ann");
    let dark = theme::dark();
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        let term = draw(&e, &ui, now, w, h, &dark);
        insta::assert_snapshot!(format!("main_{w}x{h}"), term.backend());
    }
}

#[test]
fn compact_screen_keeps_clock_health_current_step_and_rollback_key() {
    let (e, now) = window();
    let term = draw(&e, &Ui::new("ann"), now, 80, 24, &theme::dark());
    let text = format!("{}", term.backend());
    assert!(text.contains("T+00:46:00"), "clock");
    assert!(text.contains("ON PLAN"), "health");
    assert!(
        text.contains("switch-dns") && text.contains("run 1:00"),
        "current step with its timer"
    );
    assert!(text.contains("R ROLLBACK"), "rollback key");
    assert!(text.contains("DRILL ×60"), "mode badge");
}

#[test]
fn help_overlay() {
    let (e, now) = window();
    let mut ui = Ui::new("ann");
    ui.overlay = Overlay::Help;
    insta::assert_snapshot!(draw(&e, &ui, now, 120, 40, &theme::dark()).backend());
}

#[test]
fn rollback_preview() {
    let (e, now) = window();
    let mut ui = Ui::new("ann");
    ui.overlay = Overlay::Input(Prompt::Rollback, "roll".into());
    insta::assert_snapshot!(draw(&e, &ui, now, 120, 40, &theme::dark()).backend());
}

#[test]
fn overdue_step() {
    // smoke-tests started at T+1:00 and is still running at T+1:22 (expect 15m): over by 7m,
    // and consumer-connectivity (due T+1:15) is late by as much. One figure everywhere: the
    // header's STEP LATE, both rows and the detail say 7:00, in one form.
    let e = engine_at(60 * MIN, Some("smoke-tests"));
    let term = draw(&e, &Ui::new("ann"), 82 * MIN, 120, 40, &theme::dark());
    let text = format!("{}", term.backend());
    for id in ["smoke-tests ", "consumer-connectivity "] {
        // The timeline's cell of the row (the detail pane shares the terminal's line).
        let row = text
            .lines()
            .filter_map(|l| l.split('┃').nth(1))
            .find(|left| left.contains(id))
            .unwrap_or_else(|| panic!("no row for {id}:\n{text}"));
        assert!(row.trim_end().ends_with("late 7:00"), "{row}");
    }
    // declare (T+1:30) is not due yet: its row counts down; the projected finish carries
    // the forecast.
    assert!(
        text.contains("declare                Declare c…       in 8:00"),
        "{text}"
    );
    assert!(text.contains("▲ STEP LATE +7:00"), "{text}");
    assert!(
        text.contains("22:00 · times out in 14:38 · late 7:00"),
        "{text}"
    );
    insta::assert_snapshot!(term.backend());
}

#[test]
fn metrics_tab_shows_values_and_unknown_never_a_number() {
    let (e, now) = window();
    let mut ui = Ui::new("ann");
    ui.focus = Pane::Metrics;
    let term = draw(&e, &ui, now, 80, 24, &theme::dark());
    let text = format!("{}", term.backend());
    assert!(
        text.contains("Triggers") && text.contains("error-rate"),
        "{text}"
    );
    insta::assert_snapshot!(term.backend());
    let term = draw(&e, &Ui::new("ann"), now, 200, 60, &theme::dark());
    let text = format!("{}", term.backend());
    assert!(
        text.contains(" %") && text.contains("▁"),
        "values with units and sparklines: {text}"
    );
    // The same runbook before any sample arrived: UNKNOWN and why, never a number.
    let rb = cutover::config::runbook::load(&root().join("runbooks/blue-green.yaml"))
        .runbook
        .unwrap();
    let fresh = Engine::new(rb, cutover::core::engine::Config::default());
    let term = draw(&fresh, &Ui::new("ann"), now, 200, 60, &theme::dark());
    let text = format!("{}", term.backend());
    assert!(
        text.contains("UNKNOWN") && text.contains("no data yet"),
        "{text}"
    );
    assert!(
        !text.contains(" %  "),
        "no value is drawn without data: {text}"
    );
}

#[test]
fn every_theme_with_styles() {
    let (e, now) = window();
    let ui = Ui::new("ann");
    for name in ["dark", "light", "high-contrast", "colorblind"] {
        let t = theme::load(name, &root().join("themes")).unwrap();
        let term = draw(&e, &ui, now, 80, 24, &t);
        insta::assert_debug_snapshot!(format!("theme_{name}"), term.backend().buffer());
    }
    let term = draw(&e, &ui, now, 80, 24, &theme::dark().no_color());
    insta::assert_debug_snapshot!("theme_no_color", term.backend().buffer());
}

#[test]
fn rolled_back_and_live_headers() {
    let (mut e, now) = window();
    e.update(
        Msg::Rollback {
            operator: "ann".into(),
            reason: "parity drift".into(),
        },
        now,
    );
    let term = draw(&e, &Ui::new("ann"), now, 120, 40, &theme::dark());
    let text = format!("{}", term.backend());
    assert!(
        text.contains("ROLLING BACK") && text.contains("by ann: parity drift"),
        "{text}"
    );
    assert!(
        text.contains("won't run"),
        "forward steps no longer count down: {text}"
    );
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let km = default_keymap();
    let dark = theme::dark();
    let ui = Ui::new("ann");
    let v = View {
        engine: &e,
        ui: &ui,
        now,
        mode: Mode::Live,
        speed: Speed::Factor(1.0),
        theme: &dark,
        keymap: &km,
        resume_hint: "",
        live_log: false,
        diagnostics: 0,
    };
    term.draw(|f| render(f, &v)).unwrap();
    let text = format!("{}", term.backend());
    assert!(text.contains("● LIVE") && !text.contains("DRILL"), "{text}");
}

#[test]
fn the_header_warns_before_a_rollback_can_no_longer_finish_in_the_window() {
    let (e, _) = window();
    // blue-green: window closes at T+48:00, the after-switch procedure needs 29m.
    let at = |m: i64| {
        let term = draw(&e, &Ui::new("ann"), m * MIN, 200, 60, &theme::dark());
        format!("{}", term.backend())
    };
    let calm = at(46 * 60);
    assert!(
        calm.contains("rollback possible until T+48:00, needs 29m"),
        "{calm}"
    );
    let warn = at(47 * 60 + 20);
    assert!(
        warn.contains("⚠ decide on rollback now: needs 29m, window closes T+48:00 (40m left)"),
        "{warn}"
    );
    let late = at(47 * 60 + 40);
    assert!(
        late.contains("⚠ rollback can no longer finish by T+48:00: needs 29m, 20m left"),
        "{late}"
    );
}

/// The step, attempt and stage of the command `fx` starts.
fn spawned(fx: &[Effect]) -> (String, u32, Stage) {
    fx.iter()
        .find_map(|f| match f {
            Effect::Spawn(s) => Some((s.step.clone(), s.attempt, s.stage)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no command started: {fx:?}"))
}

fn exited(
    e: &mut Engine,
    (step, attempt, stage): (String, u32, Stage),
    code: i32,
    at: i64,
) -> Vec<Effect> {
    e.update(
        Msg::Exited {
            step,
            attempt,
            stage,
            result: ExecResult::Exit(code),
        },
        at,
    )
}

/// Rolled back at T+0:46 while the DNS switch ran: `announce-rollback` took 1:02, `dns-back`
/// has run 2:10 of its 5:00 with one line of output. Returns the engine, the frame's T-time and
/// the command that runs.
fn rolling_back() -> (Engine, i64, (String, u32, Stage)) {
    let (mut e, t0) = window();
    let fx = e.update(
        Msg::Rollback {
            operator: "ann".into(),
            reason: "Databricks error rate above 1% for 5 minutes since the DNS switch".into(),
        },
        t0,
    );
    let announce = spawned(&fx);
    assert_eq!(announce.0, "announce-rollback");
    let fx = exited(&mut e, announce, 0, t0 + MIN + 2_000);
    let dns = spawned(&fx);
    assert_eq!((dns.0.as_str(), dns.1), ("dns-back", 1));
    e.update(
        Msg::Output {
            step: "dns-back".into(),
            line: "dns-back: bi.acme.internal now points at Snowflake (TTL 60s)".into(),
        },
        t0 + 2 * MIN,
    );
    (e, t0 + 3 * MIN + 12_000, dns)
}

#[test]
fn rollback_view_tracks_the_running_procedure() {
    let (e, now, _) = rolling_back();
    for (w, h) in [(80, 24), (200, 60)] {
        let term = draw(&e, &Ui::new("ann"), now, w, h, &theme::dark());
        let text = format!("{}", term.backend());
        for want in [
            "Rollback",
            "Restore Snowflake as primary",
            "step 2 of 6",
            "3:12 of planned 29:00",
            "took 1:02 / 2:00",
            "running 2:10 / 5:00",
            "│ dns-back: bi.acme.internal now points at Snowflake",
            "next",
        ] {
            assert!(text.contains(want), "{w}x{h}: `{want}` missing:\n{text}");
        }
        assert!(
            !text.contains("Timeline"),
            "the rollback replaces the timeline: {text}"
        );
        if w == 200 {
            for want in [
                "started T+00:46:00 by ann: Databricks error rate above 1%",
                "forward: 9 done · 1 stopped (switch-dns) · 9 won't run",
            ] {
                assert!(text.contains(want), "{w}x{h}: `{want}` missing:\n{text}");
            }
        }
        insta::assert_snapshot!(format!("rollback_view_running_{w}x{h}"), term.backend());
    }
}

/// During the rollback, what earlier drills took stays in view where it is longer than
/// `expect`: beside the plan in the summary, and on the rows of the step under way and those
/// to come.
#[test]
fn rollback_view_says_what_the_drills_took_where_it_is_longer() {
    let (mut e, now, _) = rolling_back();
    let plain = format!(
        "{}",
        draw(&e, &Ui::new("ann"), now, 200, 60, &theme::dark()).backend()
    );
    assert!(!plain.contains("rehearsed"), "no drills, no word:\n{plain}");
    rehearsed(&mut e);
    for (w, h) in [(80, 24), (200, 60)] {
        let text = format!(
            "{}",
            draw(&e, &Ui::new("ann"), now, w, h, &theme::dark()).backend()
        );
        // dns-back (running, 5 planned) took 9 minutes in the drills.
        assert!(
            text.contains("running 2:10 / 5:00 · rehearsed 9:00"),
            "{w}x{h}:\n{text}"
        );
        if w == 200 {
            assert!(
                text.contains("3:12 of planned 29:00, rehearsed 33:00"),
                "{w}x{h}:\n{text}"
            );
        }
    }
}

#[test]
fn rollback_view_shows_a_failed_step_its_reason_and_the_keys() {
    let (mut e, mut now, mut cmd) = rolling_back();
    // dns-back retries three times by itself (every 15s), then stops the rollback.
    for attempt in 1..=4 {
        assert_eq!(cmd.1, attempt);
        now += 20_000;
        let fx = exited(&mut e, cmd, 1, now);
        if attempt == 4 {
            assert!(fx.iter().all(|f| !matches!(f, Effect::Spawn(_))), "{fx:?}");
            break;
        }
        let text = format!(
            "{}",
            draw(&e, &Ui::new("ann"), now + 10_000, 80, 24, &theme::dark()).backend()
        );
        let next = format!("retry 0:05 try {}/4", attempt + 1);
        assert!(text.contains(&next), "`{next}` missing:\n{text}");
        now += 15_000;
        cmd = spawned(&e.update(Msg::Tick, now));
    }
    assert!(e.paused.is_some());
    now += 30_000;
    for (w, h) in [(80, 24), (200, 60)] {
        let term = draw(&e, &Ui::new("ann"), now, w, h, &theme::dark());
        let text = format!("{}", term.backend());
        for want in [
            "step 2 of 6",
            "failed",
            "try 4/4",
            "✗ exit code 1",
            "r retry",
            "s skip (asks why)",
            "X abort (asks why)",
        ] {
            assert!(text.contains(want), "{w}x{h}: `{want}` missing:\n{text}");
        }
        insta::assert_snapshot!(format!("rollback_view_paused_{w}x{h}"), term.backend());
    }
    // Abandoned: the clock stops where it was, and nothing offers keys any more.
    e.update(
        Msg::Abort {
            operator: "ann".into(),
            reason: "DNS API down, finishing by hand".into(),
        },
        now,
    );
    let text = format!(
        "{}",
        draw(&e, &Ui::new("ann"), now + 10 * MIN, 200, 60, &theme::dark()).backend()
    );
    assert!(
        text.contains("ABORTED after 5:47 (planned 29:00)") && text.contains("✗ exit code 1"),
        "{text}"
    );
    assert!(!text.contains("r retry"), "{text}");
}

#[test]
fn rollback_view_underlines_the_selected_rollback_step_and_ends_with_the_total() {
    let (mut e, mut now, mut cmd) = rolling_back();
    // The selection counts forward steps, then the running procedure's steps.
    let mut ui = Ui::new("ann");
    ui.selected = cutover::screen::app::row_ids(&e)
        .iter()
        .position(|id| *id == "announce-rollback");
    assert!(ui.selected.is_some());
    let term = draw(&e, &ui, now, 120, 32, &theme::dark());
    let buf = term.backend().buffer();
    // The rollback pane is the left half; the step detail on the right names the step too.
    let (row, x) = (0..buf.area.height)
        .find_map(|y| {
            let line: String = (0..buf.area.width / 2)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            let at = line.find("announce-rollback")?;
            Some((y, line[..at].chars().count() as u16))
        })
        .expect("announce-rollback row");
    assert!(
        buf[(x, row)]
            .modifier
            .contains(ratatui::style::Modifier::UNDERLINED),
        "selected row underlined"
    );
    // Every command succeeds a minute in; the manual last step waits for Enter.
    while cmd.0 != "smoke-snowflake" {
        now += MIN;
        cmd = spawned(&exited(&mut e, cmd, 0, now));
    }
    now += MIN;
    exited(&mut e, cmd, 0, now);
    let text = format!(
        "{}",
        draw(&e, &Ui::new("ann"), now + 30_000, 80, 24, &theme::dark()).backend()
    );
    assert!(text.contains("confirm: enter 0:30 / 5:00"), "{text}");
    // Confirmed 30 minutes after it was asked for: the rollback ran over its plan.
    now += 30 * MIN;
    e.update(
        Msg::Ack {
            operator: "ann".into(),
        },
        now,
    );
    let text = format!(
        "{}",
        draw(&e, &Ui::new("ann"), now + 5 * MIN, 120, 32, &theme::dark()).backend()
    );
    assert!(
        text.contains("done in 37:12 (planned 29:00) · over plan by 8:12"),
        "{text}"
    );
    assert!(text.contains("took 30:00 / 5:00"), "{text}");
}

#[test]
fn the_rollback_preview_at_80x24_says_why_what_it_undoes_and_keeps_its_confirmation() {
    // T+1:02: the switch is done and smoke tests run; Databricks errors at 3 % for 2 minutes.
    let mut e = engine_at(60 * MIN, Some("smoke-tests"));
    for i in 0..=4 {
        let at = 60 * MIN + i * 30_000;
        e.update(
            Msg::Sample {
                metric: "target-error-rate".into(),
                at,
                value: Ok(3.0),
            },
            at,
        );
    }
    let now = 62 * MIN;
    let mut ui = Ui::new("ann");
    ui.overlay = Overlay::Input(Prompt::Rollback, "rollb".into());
    let term = draw(&e, &ui, now, 80, 24, &theme::dark());
    let text = format!("{}", term.backend());
    for want in [
        "Restore Snowflake as primary",
        "why: operator rollback from the cockpit",
        "breaching now: trigger `error-rate`: 3 > 1 for ",
        "6 steps, planned 29m",
        "switch-dns by step 2",
        "freeze-writes by step 4",
        "the running step `smoke-tests` will be stopped",
        "type rollback to start: rollb",
        "Enter starts it · Esc cancels",
    ] {
        assert!(text.contains(want), "`{want}` missing:\n{text}");
    }
    insta::assert_snapshot!(term.backend());
}

#[test]
fn past_the_point_of_no_return_r_explains_what_remains_and_the_recovery() {
    // redshift-panther at T+38d12h: the go-live sign-off (the point of no return) was at
    // T+38d1h, after final validation; retiring Redshift's ingest (T+39d) is still ahead.
    let rb = cutover::config::runbook::load(&root().join("runbooks/redshift-panther.yaml"))
        .runbook
        .unwrap();
    let now = (38 * 24 + 12) * 60 * MIN;
    let e = cutover::core::engine::demo::run_until(rb, now, None);
    assert!(e.outcome.is_none() && e.point_of_no_return_passed().is_some());
    let why = cutover::screen::app::rollback_blocked(&e).unwrap();
    let mut ui = Ui::new("ann");
    ui.overlay = Overlay::NoRollback(why);
    for (w, h) in [(80, 24), (200, 60)] {
        let term = draw(&e, &ui, now, w, h, &theme::dark());
        let text = format!("{}", term.backend());
        for want in [
            "ROLLBACK IS NO LONGER POSSIBLE",
            "step `go-live` passed the point",
            "What remains:",
            "roll forward: 2 forward steps left: retire-redshift-ingest",
            "the runbook's recovery:",
            "RESTORE TABLE",
            "any key closes this",
        ] {
            assert!(text.contains(want), "{w}x{h}: `{want}` missing:\n{text}");
        }
        if w == 80 {
            insta::assert_snapshot!(term.backend());
        }
    }
}

#[test]
fn the_abort_prompt_inside_a_rollback_says_where_it_stands() {
    let (e, now, _) = rolling_back();
    let mut ui = Ui::new("ann");
    ui.overlay = Overlay::Input(Prompt::Abort, "DNS API down".into());
    let term = draw(&e, &ui, now, 80, 24, &theme::dark());
    let text = format!("{}", term.backend());
    for want in [
        "ABORT THE ROLLBACK at step `dns-back`?",
        "announce-rollback (done)",
        "dns-back (running)",
        "finishes the rollback by hand",
        "reason (journaled): DNS API down",
    ] {
        assert!(text.contains(want), "`{want}` missing:\n{text}");
    }
}

#[test]
fn the_log_pane_shows_the_journal_tail_newest_last_and_scrolls_back() {
    let (e, now) = window();
    let mut ui = Ui::new("ann");
    for i in 1..=60 {
        ui.log.push(
            cutover::screen::log::Level::Info,
            &format!("T+00:{i:02}:00  ✓ step-{i:02} done"),
        );
    }
    ui.log.push(
        cutover::screen::log::Level::Debug,
        "step-60: command output",
    );
    let text = format!("{}", draw(&e, &ui, now, 200, 60, &theme::dark()).backend());
    assert!(text.contains("step-60 done"), "newest record at the bottom");
    assert!(!text.contains("step-01 done"), "the oldest scrolled away");
    assert!(
        !text.contains("command output"),
        "DEBUG is hidden at the default INFO"
    );
    ui.focus = Pane::Log;
    ui.log_scroll = 20;
    let text = format!("{}", draw(&e, &ui, now, 200, 60, &theme::dark()).backend());
    assert!(
        text.contains("Log ≥ INFO · ↑20"),
        "the title says it is scrolled"
    );
    assert!(
        !text.contains("step-60 done"),
        "scrolled back past the newest"
    );
    assert!(text.contains("step-40 done"), "{text}");
}

/// One sample of `metric` at `t`, then the engine's tick at `t`, as the loop gives them.
fn sample_then_tick(e: &mut Engine, metric: &str, value: f64, t: i64) {
    e.update(
        Msg::Sample {
            metric: metric.into(),
            at: t,
            value: Ok(value),
        },
        t,
    );
    e.update(Msg::Tick, t);
}

/// Blue-green after the DNS switch with the Databricks error rate at 4 % from T+0:51: by
/// T+0:56:30 the `error-rate` trigger has held 5 minutes and its 2-minute grace counts down.
fn grace_counting_down() -> (Engine, i64) {
    let mut e = engine_at(50 * MIN, None);
    let mut t = 51 * MIN;
    while t <= 56 * MIN + 30_000 {
        sample_then_tick(&mut e, "target-error-rate", 4.0, t);
        t += 30_000;
    }
    assert!(!e.monitor.graces.is_empty(), "the grace countdown runs");
    (e, 56 * MIN + 30_000)
}

#[test]
fn a_counting_down_rollback_a_veto_and_a_decision_outrank_on_plan_in_the_header() {
    let (mut e, now) = grace_counting_down();
    let dark = theme::dark();
    for (w, h) in [(80, 24), (200, 60)] {
        let text = format!("{}", draw(&e, &Ui::new("ann"), now, w, h, &dark).backend());
        assert!(text.contains("AUTO-ROLLBACK in 1:30"), "{w}x{h}:\n{text}");
        assert!(!text.contains("ON PLAN"), "{w}x{h}:\n{text}");
    }
    e.update(
        Msg::Veto {
            operator: "ann".into(),
        },
        now,
    );
    e.update(
        Msg::VetoReason {
            operator: "ann".into(),
            trigger: "error-rate".into(),
            why: "known retry storm".into(),
        },
        now,
    );
    // The breach goes on; the veto is what the header and the strip say.
    let later = now + 5 * MIN;
    e.update(
        Msg::Sample {
            metric: "target-error-rate".into(),
            at: later,
            value: Ok(4.0),
        },
        later,
    );
    e.update(Msg::Tick, later);
    let term = draw(&e, &Ui::new("ann"), later, 200, 60, &dark);
    let text = format!("{}", term.backend());
    assert!(
        text.contains("VETOED error-rate by ann") && !text.contains("ON PLAN"),
        "{text}"
    );
    assert!(
        text.contains("VETOED by ann at T+00:56:30 on 4 (limit 1) · holds until T+01:26:30")
            && text.contains("retry storm"),
        "{text}"
    );
    insta::assert_snapshot!("vetoed_200x60", term.backend());
}

#[test]
fn after_an_abort_no_rollback_is_offered_and_past_the_window_r_is_said_to_overrun_it() {
    let (mut e, now) = window();
    e.update(
        Msg::Abort {
            operator: "ann".into(),
            reason: "stopping the drill".into(),
        },
        now,
    );
    let text = format!(
        "{}",
        draw(&e, &Ui::new("ann"), now, 200, 60, &theme::dark()).backend()
    );
    assert!(
        text.contains("run ended (aborted): no rollback from the cockpit"),
        "{text}"
    );
    assert!(!text.contains("rollback possible until"), "{text}");
}

#[test]
fn a_canary_stage_shows_its_weight_and_each_gate_deciding_with_units() {
    let rb = cutover::config::runbook::load(&root().join("runbooks/canary.yaml"))
        .runbook
        .unwrap();
    // T+0:40: stage-10 set its weight at T+0:00 and holds for 2 hours.
    let e = cutover::core::engine::demo::run_until(rb, 40 * MIN, None);
    let term = draw(&e, &Ui::new("ann"), 40 * MIN, 200, 60, &theme::dark());
    let text = format!("{}", term.backend());
    assert!(
        text.contains("canary 10 %"),
        "the weight in the header:\n{text}"
    );
    assert!(
        text.contains("canary weight 10 % · gates on data from this stage only:"),
        "{text}"
    );
    assert!(
        text.contains("target-error-rate < 0.1%: ") && text.contains(" %)"),
        "value and limit with units:\n{text}"
    );
    assert!(text.contains("(limit 2500 ms) · holds"), "{text}");
    insta::assert_snapshot!("canary_gates_200x60", term.backend());
}

#[test]
fn an_until_step_shows_its_value_against_the_target_and_the_time_left() {
    // redshift-panther at T+5d: batch 1 (started T+2d) waits until 1.25 PB are copied; the
    // metric is in TB, the runbook wrote PB, so PB is what the operator reads.
    let rb = cutover::config::runbook::load(&root().join("runbooks/redshift-panther.yaml"))
        .runbook
        .unwrap();
    let now = 5 * 24 * 60 * MIN;
    let e = cutover::core::engine::demo::run_until(rb, now, None);
    assert_eq!(e.current(), Some("backfill-1"));
    assert!(e.run_of("backfill-1").unwrap().state.until_wait().is_some());
    let ui = Ui::new("ann");
    let term = draw(&e, &ui, now, 200, 60, &theme::dark());
    let text = format!("{}", term.backend());
    let row = text
        .lines()
        .find(|l| l.contains("⧗ T+48:00"))
        .unwrap_or_else(|| panic!("no timeline row:\n{text}"));
    assert!(row.contains("⧗") && row.contains("/1.25 PB"), "{row}");
    for want in [
        "until backfill-copied >= 1.25PB · waits at most 8d, after its command",
        "waiting until backfill-copied >= 1.25PB: 0.555 / 1.25 PB · value 0s old",
        "times out in 5d 00:01",
    ] {
        assert!(text.contains(want), "`{want}` missing:\n{text}");
    }
    // Stale data is UNKNOWN, never "met" and never a number passed off as current.
    let later = now + 60 * MIN;
    let term = draw(&e, &ui, later, 200, 60, &theme::dark());
    let text = format!("{}", term.backend());
    assert!(
        text.contains("waiting until backfill-copied >= 1.25PB: UNKNOWN (stale"),
        "{text}"
    );
    let row = text.lines().find(|l| l.contains("⧗ T+48:00")).unwrap();
    assert!(row.contains("UNKNOWN"), "{row}");
}

/// The Metrics tab of the compact layout while a trigger's rollback runs: both platforms in
/// view, the metric that started the rollback and a breaching one listed before the others,
/// and each side's "… N more" counting exactly what it hides.
#[test]
fn at_80x24_the_rollback_keeps_both_sides_and_the_deciding_metrics_in_view() {
    let (mut e, mut t) = grace_counting_down();
    // Until the rollback has run a while: the freshness trigger (an alert) breaches too.
    let mut until = 90 * MIN;
    while t < until {
        if e.rollback.is_some() {
            until = until.min(t + 6 * MIN);
        }
        t += 30_000;
        for (metric, value) in [("target-error-rate", 4.0), ("target-freshness", 45.0)] {
            e.update(
                Msg::Sample {
                    metric: metric.into(),
                    at: t,
                    value: Ok(value),
                },
                t,
            );
        }
        e.update(Msg::Tick, t);
    }
    assert!(
        e.rollback.is_some(),
        "the trigger rolls back after its grace"
    );
    let mut ui = Ui::new("ann");
    ui.focus = Pane::Metrics;
    let dark = theme::dark();
    let strip = format!("{}", draw(&e, &Ui::new("ann"), t, 200, 60, &dark).backend());
    assert!(strip.contains("⚠ freshness"), "{strip}");
    for (w, h) in [(80, 24), (80, 20)] {
        let text = format!("{}", draw(&e, &ui, t, w, h, &dark).backend());
        assert!(
            text.contains("Snowflake (source") && text.contains("Databricks (target"),
            "{w}x{h}: both sides:\n{text}"
        );
        assert!(
            text.contains("target-error-rate") && text.contains("target-freshness"),
            "{w}x{h}: the metric that rolled back and the breaching one:\n{text}"
        );
        let targets = [
            "target-error-rate",
            "target-latency-p95",
            "target-freshness",
            "Failed runs",
        ];
        let shown = targets.iter().filter(|m| text.contains(*m)).count();
        let hidden = 4 - shown;
        if hidden > 0 {
            let more = if hidden == 1 { "metric" } else { "metrics" };
            assert!(
                text.contains(&format!("… {hidden} more {more}")),
                "{w}x{h}: {shown} of 4 target metrics shown, so {hidden} hidden:\n{text}"
            );
        } else {
            assert!(!text.contains("more metric"), "{w}x{h}:\n{text}");
        }
        if (w, h) == (80, 20) {
            insta::assert_snapshot!("rollback_metrics_tab_80x20", text);
        }
    }
}

/// Owners, T-offsets and countdowns are never cut in the timeline: at 200×60 every owner of
/// the shipped runbooks is whole, and no row's countdown or offset ends in an ellipsis, even
/// a day late or an hours-long hold.
#[test]
fn the_timeline_never_cuts_owners_offsets_or_countdowns() {
    let dark = theme::dark();
    for name in [
        "blue-green",
        "canary",
        "big-bang",
        "phased",
        "redshift-panther",
    ] {
        let rb = cutover::config::runbook::load(&root().join(format!("runbooks/{name}.yaml")))
            .runbook
            .unwrap();
        let owners: Vec<String> = rb.steps().filter_map(|s| s.owner.clone()).collect();
        let ids: Vec<String> = rb.steps().map(|s| s.id.clone()).collect();
        let first = rb.steps().filter_map(|s| s.at).min().unwrap_or(0);
        // Stopped before its first step and seen a day and a half later: every row is late.
        let e = cutover::core::engine::demo::run_until(rb, first - 1, None);
        let now = first + 36 * 3_600_000;
        let text = format!(
            "{}",
            draw(&e, &Ui::new("ann"), now, 200, 60, &dark).backend()
        );
        let timeline: Vec<&str> = text
            .lines()
            .filter(|l| l.contains('┃') && (l.contains(" in ") || l.contains("late ")))
            .collect();
        assert!(!timeline.is_empty(), "{name}:\n{text}");
        for row in &timeline {
            let left = row.split('┃').nth(1).unwrap_or_default();
            let words: Vec<&str> = left.split_whitespace().collect();
            assert!(
                words.len() >= 2 && !words[1].ends_with('…'),
                "{name}: offset cut: {row}"
            );
            // At 200 columns every id is whole (`panther-tools-warehouses` was cut at 24).
            // A cut id would match none of the runbook's.
            assert!(
                words.iter().any(|w| ids.iter().any(|id| id == w)),
                "{name}: an id is cut: {row}"
            );
            let owner = words.last().copied().unwrap_or_default();
            assert!(
                owners.iter().any(|o| o == owner),
                "{name}: the owner `{owner}` is not one of the runbook's, whole: {row}"
            );
            assert!(
                !left.contains("late …") && !left.contains(":…"),
                "{name}: {row}"
            );
        }
    }
}

/// Skipping the step that arms the triggers leaves nothing watching, and the screen says so:
/// the header is not ON PLAN, the strip counts no armed trigger and names the skip, and the
/// breaching value nothing watches is not drawn in the healthy colour.
#[test]
fn skipping_the_step_that_arms_the_triggers_is_never_shown_as_watched() {
    let (mut e, now) = window();
    e.update(
        Msg::Skip {
            operator: "ann".into(),
            reason: "DNS already switched by hand".into(),
        },
        now,
    );
    assert!(e.skipped("switch-dns"));
    let mut t = now;
    while t < now + 10 * MIN {
        t += 30_000;
        sample_then_tick(&mut e, "target-error-rate", 4.0, t);
    }
    let dark = theme::dark();
    let term = draw(&e, &Ui::new("ann"), t, 200, 60, &dark);
    let text = format!("{}", term.backend());
    assert!(!text.contains("ON PLAN"), "{text}");
    assert!(text.contains("UNWATCHED: 5 triggers never arm"), "{text}");
    assert!(text.contains("0 of 5 watching"), "{text}");
    assert!(
        text.contains("NEVER ARMS: `switch-dns` was skipped"),
        "{text}"
    );
    // The 4 % (over the unarmed trigger's 1 % limit) is not in the healthy colour.
    let buf = term.backend().buffer();
    let cell = (0..buf.area.height)
        .flat_map(|y| (0..buf.area.width).map(move |x| (x, y)))
        .find(|&(x, y)| {
            let row: String = (x..buf.area.width.min(x + 6))
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            row.starts_with("4 %")
        })
        .unwrap_or_else(|| panic!("no 4 % on screen:\n{text}"));
    assert_ne!(buf[cell].fg, dark.metric_ok.fg.unwrap(), "{text}");
}

/// At 80×24 the header gives what decides room first: the clock, the state and the whole
/// rollback window ("needs 29m" included), moving the window to a row of its own when the
/// state is long; the banner under it shows the reason and the keys whole, neither drawn
/// over the other; and the drill badge says the clock runs at 1× for the countdown.
#[test]
fn at_80x24_the_header_and_the_banner_cut_nothing_that_decides() {
    let dark = theme::dark();
    let (e, now) = grace_counting_down();
    let term = draw(&e, &Ui::new("ann"), now, 80, 24, &dark);
    let text = format!("{}", term.backend());
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("DRILL 1× during grace · NOT LIVE"),
        "{text}"
    );
    assert!(lines[1].contains("T+00:56:30") && lines[1].contains("AUTO-ROLLBACK in 1:30"));
    assert!(
        lines[1].contains("rollback ok until T+48:00, needs 29m") && !lines[1].contains('…'),
        "{text}"
    );
    let top = lines
        .iter()
        .position(|l| l.contains("Needs you now"))
        .unwrap();
    assert_eq!(top, 2, "the banner sits right under the header:\n{text}");
    let banner = &lines[top..top + 5].join("\n");
    assert!(
        banner.contains("AUTOMATIC ROLLBACK in 1:30   v: veto"),
        "{text}"
    );
    let reason = e.monitor.graces[0].reason.clone();
    let shown: Vec<&str> = banner
        .lines()
        .map(|l| l.trim_matches(|c| c == '"' || c == '┃' || c == ' '))
        .collect();
    assert!(
        shown.join(" ").contains(&reason),
        "the reason `{reason}` is not whole:\n{text}"
    );
    insta::assert_snapshot!("grace_80x24", term.backend());

    // A longer state (a veto, who gave it) leaves no room beside it: the window moves to a
    // row of its own, whole, rather than lose "needs 29m".
    let mut vetoed = e.clone();
    vetoed.update(
        Msg::Veto {
            operator: "ann-marie.lindqvist".into(),
        },
        now,
    );
    let text = format!(
        "{}",
        draw(&vetoed, &Ui::new("ann"), now, 80, 24, &dark).backend()
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].contains("⊘ VETOED error-rate by ann-marie.lindqvist"),
        "{text}"
    );
    assert!(
        lines[2].contains("rollback ok until T+48:00, needs 29m") && !lines[2].contains('…'),
        "{text}"
    );

    // A decision: its keys on their own row when they do not fit beside the question.
    let mut e = engine_at(50 * MIN, None);
    let mut t = 51 * MIN;
    while e.monitor.decisions.is_empty() && t < 70 * MIN {
        sample_then_tick(&mut e, "critical-report-failures", 2.0, t);
        t += 30_000;
    }
    assert!(!e.monitor.decisions.is_empty(), "a decision is open");
    let term = draw(&e, &Ui::new("ann"), t, 80, 24, &dark);
    let text = format!("{}", term.backend());
    assert!(text.contains("DRILL 1× during decision"), "{text}");
    let keys = text
        .lines()
        .find(|l| l.contains("R: roll back · c: continue"))
        .unwrap_or_else(|| panic!("no whole key line:\n{text}"));
    assert!(
        !keys.contains("DECISION"),
        "keys share the question's row at 80: {keys}"
    );
    let d = &e.monitor.decisions[0];
    let flat: String = text
        .lines()
        .map(|l| l.trim_matches(|c| c == '"' || c == '┃' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains(&d.reason),
        "`{}` not whole:\n{text}",
        d.reason
    );
    insta::assert_snapshot!("decision_80x24", term.backend());
}

/// `s` acts on the current step, and the screen says which: the footer names it, the skip
/// prompt names its id and title, and while the prompt is open its timeline row is reversed
/// with the skip glyph, while the cursor's row (another step) is only underlined.
#[test]
fn the_skip_prompt_names_its_step_and_the_timeline_marks_it() {
    use ratatui::style::Modifier;
    let (e, now) = window();
    let mut ui = Ui::new("ann");
    ui.selected = Some(cutover::screen::app::current_row(&e) + 1);
    ui.overlay = Overlay::Input(Prompt::Skip("switch-dns".into()), "flaky".into());
    let term = draw(&e, &ui, now, 120, 40, &theme::dark());
    let text = format!("{}", term.backend());
    // The box wraps the title on words.
    assert!(
        text.contains("Skip step `switch-dns`: Update DNS and connection strings to")
            && text.contains("┃Databricks "),
        "{text}"
    );
    let buf = term.backend().buffer();
    let row_of = |needle: &str| {
        (0..buf.area.height)
            .find(|&y| {
                let line: String = (0..60).map(|x| buf[(x, y)].symbol()).collect();
                line.contains(needle)
            })
            .unwrap_or_else(|| panic!("no row with {needle}:\n{text}"))
    };
    let target = row_of("switch-dns ");
    assert_eq!(buf[(1, target)].symbol(), "↷");
    assert!(buf[(12, target)].modifier.contains(Modifier::REVERSED));
    let cursor = row_of("smoke-tests ");
    assert!(buf[(12, cursor)].modifier.contains(Modifier::UNDERLINED));
    assert!(!buf[(12, cursor)].modifier.contains(Modifier::REVERSED));
    let plain = draw(&e, &Ui::new("ann"), now, 80, 24, &theme::dark());
    let footer = format!("{}", plain.backend());
    assert!(footer.lines().last().unwrap().contains("s skip switch-dns"));
}

/// Before anything was frozen, the preview lists no step that lifts the freeze (the rollback
/// would not run it), and at 80×24 it leaves the header and its T-clock in view.
#[test]
fn the_preview_lists_only_steps_that_apply_and_leaves_the_clock_in_view() {
    // T+0:02: announce-start is done; freeze-writes (T+0:05) has not run.
    let e = engine_at(2 * MIN, None);
    assert!(!e.reached("freeze-writes"));
    let mut ui = Ui::new("ann");
    ui.overlay = Overlay::Input(Prompt::Rollback, String::new());
    let term = draw(&e, &ui, 2 * MIN, 80, 24, &theme::dark());
    let text = format!("{}", term.backend());
    assert!(
        text.lines().nth(1).unwrap().contains("T+00:02:00"),
        "{text}"
    );
    assert!(
        text.contains("Announce the cutover is called off"),
        "{text}"
    );
    assert!(!text.contains("Lift the Snowflake write freeze"), "{text}");
    assert!(text.contains("1 step, planned 2m"), "{text}");
    // Once the freeze is on, lifting it is part of the rollback again.
    let e = engine_at(10 * MIN, Some("delta-sync"));
    assert!(e.reached("freeze-writes"));
    let term = draw(&e, &ui, 10 * MIN, 80, 24, &theme::dark());
    let text = format!("{}", term.backend());
    assert!(text.contains("Lift the Snowflake write freeze"), "{text}");
}

/// A baseline that could not be captured (journaled `baseline_missing`) is on screen where
/// it matters: beside the metric whose trigger needs it, and on that trigger's row, before
/// the trigger is even armed.
#[test]
fn a_missing_baseline_is_shown_beside_its_metric_and_trigger() {
    let rb = cutover::config::runbook::load(&root().join("runbooks/blue-green.yaml"))
        .runbook
        .unwrap();
    // No sample of anything: the Snowflake p95 window T-1h..T-0 closes empty.
    let mut e = Engine::new(rb, cutover::core::engine::Config::default());
    let mut kinds = Vec::new();
    for t in [-24 * 60 * MIN, -60 * MIN, 0, 10 * MIN, 20 * MIN] {
        for f in e.update(Msg::Tick, t) {
            if let Effect::Journal(j) = f {
                kinds.push(j.kind().to_string());
            }
        }
    }
    assert!(kinds.iter().any(|k| k == "baseline_missing"), "{kinds:?}");
    let text = format!(
        "{}",
        draw(&e, &Ui::new("ann"), 20 * MIN, 200, 60, &theme::dark()).backend()
    );
    assert!(text.contains("NO BASELINE"), "beside the metric:\n{text}");
    assert!(
        text.contains("latency") && text.contains("· NO BASELINE: no samples in the window"),
        "on the trigger's row:\n{text}"
    );
}

/// Three earlier drills of blue-green: the DNS switch took 18, 24 and 30 minutes (15 planned),
/// closing the rollback window 20 (5 planned), pointing DNS back 9 (5 planned); one of them
/// ran another version of the runbook.
fn rehearsed(e: &mut Engine) {
    use cutover::core::rehearsal::{Drill, Rehearsals};
    let fp = e.runbook().fingerprint.clone();
    let drill = |fp: &str, dns: i64| Drill {
        fingerprint: fp.into(),
        took: vec![
            ("switch-dns".into(), dns * MIN),
            ("close-rollback-window".into(), 20 * MIN),
            ("dns-back".into(), 9 * MIN),
        ],
        auto_acked: vec!["declare".into()],
    };
    e.set_rehearsals(Rehearsals::new(
        &fp,
        &[drill(&fp, 18), drill(&fp, 24), drill("older", 30)],
    ));
}

#[test]
fn rehearsed_durations_in_the_detail_the_finish_and_the_rollback_budget() {
    let (mut e, now) = window();
    rehearsed(&mut e);
    let dark = theme::dark();
    let term = draw(&e, &Ui::new("ann"), now, 120, 40, &dark);
    let text = format!("{}", term.backend());
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("rehearsed: took 24m (3 drills, max 30m)"),
        "the detail of the running step:\n{text}"
    );
    // The finish counts close-rollback-window's 20 minutes instead of 5, and says so; the
    // state is still ON PLAN: nothing is late yet.
    assert!(
        flat.contains("finish ≈T+48:20:00 by rehearsed times (plan T+48:05:00)"),
        "{text}"
    );
    assert!(flat.contains("ON PLAN"), "{text}");
    insta::assert_snapshot!("rehearsed_120x40", term.backend());
    // The compact header has no room for the words: "≈" marks the rehearsed budget.
    let small = format!(
        "{}",
        draw(&e, &Ui::new("ann"), now, 80, 24, &dark).backend()
    );
    assert!(small.contains("needs ≈33m"), "{small}");

    // The preview's budget: dns-back's 9 minutes instead of 5.
    let mut ui = Ui::new("ann");
    ui.overlay = Overlay::Input(Prompt::Rollback, String::new());
    let term = draw(&e, &ui, now, 120, 40, &dark);
    let text = format!("{}", term.backend());
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("6 steps, planned 29m, 33m by rehearsed times"),
        "{text}"
    );
    insta::assert_snapshot!("rehearsed_rollback_preview", term.backend());

    // A step no drill finished in its own time says so rather than show a figure.
    let mut ui = Ui::new("ann");
    let ids = cutover::screen::app::row_ids(&e);
    ui.selected = ids.iter().position(|i| *i == "declare");
    ui.focus = Pane::Detail;
    let text = format!("{}", draw(&e, &ui, now, 120, 40, &dark).backend());
    // (The line wraps inside the pane.)
    assert!(
        text.contains("rehearsed: confirmed by --auto-ack in 3 of 3 drills: no"),
        "{text}"
    );
}
