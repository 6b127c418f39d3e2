//! Unit tests of the cockpit's key handling: key → UI state → commands.

use super::*;
use crate::config::keymap::default_keymap;
use crate::config::keymap::{Code, Key, Mods};
use crate::core::engine::{Config, Engine, Msg, Outcome};
use std::path::Path;

fn engine(yaml_steps: &str, rollback: bool) -> Engine {
    let mut y = format!(
        "version: 1\ntitle: T\nstrategy: blue-green\nplatforms: {{source: {{name: S}}, target: {{name: D}}}}\nrollback_window: 48h\nphases:\n  - id: p\n    steps:\n{yaml_steps}"
    );
    if rollback {
        y.push_str("rollback:\n  title: Back\n  steps:\n    - {id: back1, title: B1, run: b1, expect: 1m}\n");
    }
    let l = crate::config::runbook::load_bytes(Path::new("/nonexistent/rb.yaml"), y.as_bytes());
    Engine::new(l.runbook.unwrap(), Config::default())
}

fn key(c: Code) -> Key {
    Key::new(c, Mods::NONE)
}

fn ch(c: char) -> Key {
    key(Code::Char(c))
}

fn typed(ui: &mut Ui, e: &Engine, text: &str) {
    let km = default_keymap();
    for c in text.chars() {
        assert!(
            on_key(ui, e, &km, ch(c), 0).is_empty(),
            "typing must not act"
        );
    }
}

#[test]
fn enter_confirms_a_waiting_manual_step() {
    let mut e = engine("      - {id: m, title: M}\n", false);
    e.update(Msg::Tick, 0);
    let mut ui = Ui::new("ann");
    let cmds = on_key(&mut ui, &e, &default_keymap(), key(Code::Enter), 0);
    assert_eq!(
        cmds,
        vec![Request::Engine(Msg::Ack {
            operator: "ann".into()
        })]
    );
}

#[test]
fn point_of_no_return_needs_typed_yes() {
    let mut e = engine(
        "      - {id: m, title: M, point_of_no_return: true}\n",
        false,
    );
    e.update(Msg::Tick, 0);
    let km = default_keymap();
    let mut ui = Ui::new("ann");
    assert!(on_key(&mut ui, &e, &km, key(Code::Enter), 0).is_empty());
    assert!(matches!(
        ui.overlay,
        Overlay::Input(Prompt::PointOfNoReturn(_), _)
    ));
    typed(&mut ui, &e, "y");
    assert!(
        on_key(&mut ui, &e, &km, key(Code::Enter), 0).is_empty(),
        "y alone is not enough"
    );
    typed(&mut ui, &e, "es");
    assert_eq!(
        on_key(&mut ui, &e, &km, key(Code::Enter), 0),
        vec![Request::Engine(Msg::Ack {
            operator: "ann".into()
        })]
    );
    assert_eq!(ui.overlay, Overlay::None);
}

#[test]
fn rollback_starts_only_after_typing_rollback_and_enter() {
    let mut e = engine("      - {id: a, title: A, run: a}\n", true);
    e.update(Msg::Tick, 0);
    let km = default_keymap();
    let mut ui = Ui::new("ann");
    assert!(on_key(&mut ui, &e, &km, ch('R'), 0).is_empty());
    assert_eq!(ui.overlay, Overlay::Input(Prompt::Rollback, String::new()));
    typed(&mut ui, &e, "rollbak");
    assert!(
        on_key(&mut ui, &e, &km, key(Code::Enter), 0).is_empty(),
        "a typo does not roll back"
    );
    let said = &ui.flash.as_ref().unwrap().0;
    assert!(
        said.contains("not confirmed") && said.contains("rollbak"),
        "{said}"
    );
    on_key(&mut ui, &e, &km, key(Code::Backspace), 0);
    on_key(&mut ui, &e, &km, key(Code::Backspace), 0);
    typed(&mut ui, &e, "ack");
    let cmds = on_key(&mut ui, &e, &km, key(Code::Enter), 0);
    assert_eq!(
        cmds,
        vec![Request::Engine(Msg::Rollback {
            operator: "ann".into(),
            reason: "operator rollback from the cockpit".into()
        })]
    );
    // Esc cancels without acting.
    let mut ui = Ui::new("ann");
    on_key(&mut ui, &e, &km, ch('R'), 0);
    assert!(on_key(&mut ui, &e, &km, key(Code::Esc), 0).is_empty());
    assert_eq!(ui.overlay, Overlay::None);
}

#[test]
fn a_manual_rollback_can_say_why_after_the_word() {
    let mut e = engine("      - {id: a, title: A, run: a}\n", true);
    e.update(Msg::Tick, 0);
    let km = default_keymap();
    let mut ui = Ui::new("ann");
    on_key(&mut ui, &e, &km, ch('R'), 0);
    typed(&mut ui, &e, "rollback dashboards show stale data");
    assert_eq!(
        on_key(&mut ui, &e, &km, key(Code::Enter), 0),
        vec![Request::Engine(Msg::Rollback {
            operator: "ann".into(),
            reason: "operator rollback from the cockpit: dashboards show stale data".into()
        })]
    );
    // A word that merely starts with it is not the confirmation.
    assert_eq!(rollback_typed("rollbacks"), None);
    assert_eq!(rollback_typed("rollback: why"), Some("why"));
    assert_eq!(rollback_typed(" rollback "), Some(""));
    assert_eq!(rollback_typed("Rollback now"), Some("now"));
    assert_eq!(rollback_typed("ROLLBACK"), Some(""));
    assert_eq!(rollback_typed("rolback now"), None);
}

#[test]
fn skipping_a_step_others_depend_on_names_what_it_disables_and_wants_its_id_typed() {
    let y = "version: 1\ntitle: T\nstrategy: blue-green\nplatforms: {source: {name: S}, target: {name: D}}\nmetrics:\n  - {id: err, side: target, unit: \"%\", every: 30s, sim: {baseline: 0.1}}\ntriggers:\n  - {id: error-rate, when: err > 1%, for: 1m, action: rollback, after: switch}\nphases:\n  - id: p\n    steps:\n      - {id: switch, title: Switch}\n      - {id: plain, title: Plain}\nrollback:\n  title: Back\n  steps:\n    - {id: back1, title: B1, undoes: [switch]}\n";
    let l = crate::config::runbook::load_bytes(Path::new("/nonexistent/rb.yaml"), y.as_bytes());
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    let mut e = Engine::new(l.runbook.unwrap(), Config::default());
    e.update(Msg::Tick, 0);
    let km = default_keymap();
    let mut ui = Ui::new("ann");
    on_key(&mut ui, &e, &km, ch('s'), 0);
    typed(&mut ui, &e, "not needed");
    assert!(
        on_key(&mut ui, &e, &km, key(Code::Enter), 0).is_empty(),
        "not yet"
    );
    let Overlay::Input(Prompt::SkipConfirm { step, disables, .. }, _) = &ui.overlay else {
        panic!("{:?}", ui.overlay)
    };
    assert_eq!(step, "switch");
    assert!(
        disables[0].contains("trigger `error-rate` never arms"),
        "{disables:?}"
    );
    assert!(
        disables[1].contains("skips undoing it (back1)"),
        "{disables:?}"
    );
    typed(&mut ui, &e, "swich");
    assert!(on_key(&mut ui, &e, &km, key(Code::Enter), 0).is_empty());
    assert!(
        ui.flash
            .as_ref()
            .unwrap()
            .0
            .contains("type the step's id `switch`")
    );
    for _ in 0..5 {
        on_key(&mut ui, &e, &km, key(Code::Backspace), 0);
    }
    typed(&mut ui, &e, "switch");
    assert_eq!(
        on_key(&mut ui, &e, &km, key(Code::Enter), 0),
        vec![Request::Engine(Msg::Skip {
            operator: "ann".into(),
            reason: "not needed".into()
        })]
    );
    // A step nothing depends on skips on its reason alone.
    assert!(e.skip_disables("plain").is_empty());
}

#[test]
fn rollback_key_explains_why_not_when_it_cannot() {
    let km = default_keymap();
    let mut e = engine("      - {id: a, title: A, run: a}\n", false);
    e.update(Msg::Tick, 0);
    let mut ui = Ui::new("ann");
    on_key(&mut ui, &e, &km, ch('R'), 0);
    assert!(
        matches!(&ui.overlay, Overlay::NoRollback(why) if why.contains("no rollback procedure")),
        "{:?}",
        ui.overlay
    );
    // Any key closes the explanation without acting.
    assert!(on_key(&mut ui, &e, &km, ch('R'), 0).is_empty());
    assert_eq!(ui.overlay, Overlay::None);

    let mut e = engine(
        "      - {id: m, title: M, point_of_no_return: true}\n      - {id: n, title: N}\n",
        true,
    );
    e.update(Msg::Tick, 0);
    e.update(
        Msg::Ack {
            operator: "ann".into(),
        },
        1000,
    );
    let mut ui = Ui::new("ann");
    on_key(&mut ui, &e, &km, ch('R'), 0);
    assert!(
        matches!(&ui.overlay, Overlay::NoRollback(why) if why.contains("step `m` passed the point of no return")),
        "{:?}",
        ui.overlay
    );

    let mut e = engine("      - {id: a, title: A, run: a}\n", true);
    e.update(Msg::Tick, 0);
    e.update(
        Msg::Rollback {
            operator: "bob".into(),
            reason: "x".into(),
        },
        10,
    );
    let mut ui = Ui::new("ann");
    let cmds = on_key(&mut ui, &e, &km, ch('R'), 0);
    assert!(
        ui.flash
            .as_ref()
            .unwrap()
            .0
            .contains("already running (started by bob")
    );
    // The second request goes to the engine, which journals it as ignored.
    assert!(
        matches!(&cmds[..], [Request::Engine(Msg::Rollback { operator, .. })] if operator == "ann"),
        "{cmds:?}"
    );
    let mut e2 = e.clone();
    let Request::Engine(m) = cmds[0].clone() else {
        unreachable!()
    };
    let fx = e2.update(m, 20);
    assert!(
        matches!(&fx[..], [crate::core::engine::Effect::Journal(j)] if j.kind() == "rollback_request_ignored"),
        "{fx:?}"
    );
    // The message goes with the next key.
    on_key(&mut ui, &e, &km, ch('j'), 0);
    assert!(ui.flash.is_none());
}

#[test]
fn skip_needs_a_reason_and_note_is_journaled() {
    let mut e = engine("      - {id: a, title: A, run: a}\n", false);
    e.update(Msg::Tick, 0);
    let km = default_keymap();
    let mut ui = Ui::new("ann");
    on_key(&mut ui, &e, &km, ch('s'), 0);
    assert!(on_key(&mut ui, &e, &km, key(Code::Enter), 0).is_empty());
    typed(&mut ui, &e, "done by hand");
    assert_eq!(
        on_key(&mut ui, &e, &km, key(Code::Enter), 0),
        vec![Request::Engine(Msg::Skip {
            operator: "ann".into(),
            reason: "done by hand".into()
        })]
    );
    on_key(&mut ui, &e, &km, ch('n'), 0);
    typed(&mut ui, &e, "q is typed, not quit");
    assert_eq!(
        on_key(&mut ui, &e, &km, key(Code::Enter), 0),
        vec![Request::Engine(Msg::Note {
            operator: "ann".into(),
            text: "q is typed, not quit".into()
        })]
    );
}

#[test]
fn hold_toggles_and_quit_asks_while_live() {
    let mut e = engine("      - {id: a, title: A, run: a}\n", false);
    e.update(Msg::Tick, 0);
    let km = default_keymap();
    let mut ui = Ui::new("ann");
    assert_eq!(
        on_key(&mut ui, &e, &km, ch('h'), 0),
        vec![Request::Engine(Msg::Hold {
            operator: "ann".into(),
            on: true
        })]
    );
    e.update(
        Msg::Hold {
            operator: "ann".into(),
            on: true,
        },
        1,
    );
    assert_eq!(
        on_key(&mut ui, &e, &km, ch('h'), 0),
        vec![Request::Engine(Msg::Hold {
            operator: "ann".into(),
            on: false
        })]
    );
    assert!(on_key(&mut ui, &e, &km, ch('q'), 0).is_empty());
    assert_eq!(ui.overlay, Overlay::ConfirmQuit);
    assert!(
        on_key(&mut ui, &e, &km, ch('n'), 0).is_empty(),
        "anything but y stays"
    );
    on_key(&mut ui, &e, &km, ch('q'), 0);
    assert_eq!(on_key(&mut ui, &e, &km, ch('y'), 0), vec![Request::Quit]);
    e.outcome = Some(Outcome::Completed);
    assert_eq!(
        on_key(&mut ui, &e, &km, ch('q'), 0),
        vec![Request::Quit],
        "no question once the run ended"
    );
}

#[test]
fn help_focus_and_scrolling() {
    let mut e = engine(
        "      - {id: a, title: A, run: a}\n      - {id: b, title: B}\n      - {id: c, title: C}\n",
        false,
    );
    e.update(Msg::Tick, 0);
    let km = default_keymap();
    let mut ui = Ui::new("ann");
    on_key(&mut ui, &e, &km, ch('?'), 0);
    assert_eq!(ui.overlay, Overlay::Help);
    on_key(&mut ui, &e, &km, ch('x'), 0);
    assert_eq!(ui.overlay, Overlay::None);
    on_key(&mut ui, &e, &km, ch('j'), 0);
    assert_eq!(ui.selected, Some(1));
    on_key(&mut ui, &e, &km, ch('k'), 0);
    assert_eq!(
        ui.selected, None,
        "back on the current step: follow it again"
    );
    on_key(&mut ui, &e, &km, key(Code::Tab), 0);
    assert_eq!(ui.focus, Pane::Detail);
    on_key(&mut ui, &e, &km, key(Code::BackTab), 0);
    assert_eq!(ui.focus, Pane::Timeline);
}

#[test]
fn a_rollback_after_a_failed_step_is_journaled_with_that_failure() {
    let km = default_keymap();
    let mut e = engine("      - {id: a, title: A, run: a}\n", true);
    e.update(Msg::Tick, 0);
    e.update(
        Msg::Exited {
            step: "a".into(),
            attempt: 1,
            stage: crate::core::engine::Stage::Run,
            result: crate::core::engine::ExecResult::Exit(4),
        },
        1000,
    );
    let mut ui = Ui::new("ann");
    on_key(&mut ui, &e, &km, ch('R'), 0);
    typed(&mut ui, &e, "rollback");
    let cmds = on_key(&mut ui, &e, &km, key(Code::Enter), 0);
    assert_eq!(
        cmds,
        vec![Request::Engine(Msg::Rollback {
            operator: "ann".into(),
            reason: "operator rollback from the cockpit after step `a` failed: exit code 4".into()
        })]
    );
}

#[test]
fn abort_needs_a_reason_and_is_refused_once_the_run_has_ended() {
    let km = default_keymap();
    let mut e = engine("      - {id: a, title: A, run: a}\n", true);
    e.update(Msg::Tick, 0);
    let mut ui = Ui::new("ann");
    assert!(on_key(&mut ui, &e, &km, ch('X'), 0).is_empty());
    assert_eq!(ui.overlay, Overlay::Input(Prompt::Abort, String::new()));
    assert!(
        on_key(&mut ui, &e, &km, key(Code::Enter), 0).is_empty(),
        "no reason, no abort"
    );
    assert!(ui.flash.as_ref().unwrap().0.contains("needs a reason"));
    typed(&mut ui, &e, "DNS provider down");
    let cmds = on_key(&mut ui, &e, &km, key(Code::Enter), 0);
    assert_eq!(
        cmds,
        vec![Request::Engine(Msg::Abort {
            operator: "ann".into(),
            reason: "DNS provider down".into()
        })]
    );
    assert_eq!(ui.overlay, Overlay::None);
    e.update(
        Msg::Abort {
            operator: "ann".into(),
            reason: "x".into(),
        },
        10,
    );
    assert_eq!(e.outcome, Some(Outcome::Aborted));
    let mut ui = Ui::new("ann");
    on_key(&mut ui, &e, &km, ch('X'), 0);
    assert_eq!(ui.overlay, Overlay::None);
    assert!(ui.flash.as_ref().unwrap().0.contains("already ended"));
}

#[test]
fn moving_down_a_rollback_reaches_its_last_step_whichever_procedure_runs() {
    let y = "version: 1\ntitle: T\nstrategy: blue-green\nplatforms: {source: {name: S}, target: {name: D}}\nphases:\n  - id: p\n    steps:\n      - {id: a, title: A, run: a}\n      - {id: b, title: B, run: b}\nrollback:\n  - id: early\n    title: Early\n    steps:\n      - {id: e1, title: E1, run: e1}\n  - id: late\n    title: Late\n    after: b\n    steps:\n      - {id: l1, title: L1, run: l1}\n      - {id: l2, title: L2, run: l2}\n";
    let l = crate::config::runbook::load_bytes(Path::new("/nonexistent/rb.yaml"), y.as_bytes());
    let mut e = Engine::new(l.runbook.unwrap(), Config::default());
    e.update(Msg::Tick, 0);
    e.update(
        Msg::Exited {
            step: "a".into(),
            attempt: 1,
            stage: crate::core::engine::Stage::Run,
            result: crate::core::engine::ExecResult::Exit(0),
        },
        10,
    );
    e.update(
        Msg::Rollback {
            operator: "ann".into(),
            reason: "x".into(),
        },
        20,
    );
    assert_eq!(
        row_ids(&e),
        ["l1", "l2"],
        "only the running procedure: its view replaces the timeline"
    );
    assert_eq!(row_ids(&e)[current_row(&e)], "l1");
    let km = default_keymap();
    let mut ui = Ui::new("ann");
    for _ in 0..5 {
        on_key(&mut ui, &e, &km, ch('j'), 0);
    }
    assert_eq!(row_ids(&e)[ui.selected.unwrap()], "l2");
    on_key(&mut ui, &e, &km, ch('k'), 0);
    assert_eq!(
        ui.selected, None,
        "back on the current step: following it again"
    );
    for _ in 0..5 {
        on_key(&mut ui, &e, &km, ch('k'), 0);
    }
    assert_eq!(
        ui.selected, None,
        "up stops at the first rollback step, never a hidden forward one"
    );
}

#[test]
fn log_scrolling_stops_at_the_oldest_record_and_a_level_change_starts_at_the_newest() {
    let e = engine("      - {id: a, title: A, run: a}\n", false);
    let km = default_keymap();
    let mut ui = Ui::new("ann");
    for i in 0..5 {
        ui.log
            .push(crate::screen::log::Level::Info, &format!("record {i}"));
    }
    ui.focus = Pane::Log;
    on_key(&mut ui, &e, &km, ch('g'), 0);
    assert_eq!(ui.log_scroll, 4, "top: the oldest record");
    on_key(&mut ui, &e, &km, ch('k'), 0);
    on_key(&mut ui, &e, &km, key(Code::PageUp), 0);
    assert_eq!(ui.log_scroll, 4, "never past the oldest");
    on_key(&mut ui, &e, &km, ch('j'), 0);
    assert_eq!(ui.log_scroll, 3);
    on_key(&mut ui, &e, &km, ch('l'), 0);
    assert_eq!(ui.log_scroll, 0, "another level: from the newest again");
    on_key(&mut ui, &e, &km, ch('g'), 0);
    assert_eq!(ui.log_scroll, 0, "nothing at WARN to scroll through");
}

/// `s` is bound to the step current when it was pressed: if the run moves on while the
/// reason is typed, Enter skips nothing (and says so) rather than the next step.
#[test]
fn a_skip_is_bound_to_the_step_it_was_asked_for() {
    let mut e = engine(
        "      - {id: a, title: A, run: a}\n      - {id: b, title: B, run: b}\n",
        false,
    );
    e.update(Msg::Tick, 0);
    let km = default_keymap();
    let mut ui = Ui::new("ann");
    on_key(&mut ui, &e, &km, ch('s'), 0);
    assert_eq!(
        ui.overlay,
        Overlay::Input(Prompt::Skip("a".into()), String::new())
    );
    typed(&mut ui, &e, "flaky");
    // `a` finishes meanwhile; `b` is current now.
    e.update(
        Msg::Exited {
            step: "a".into(),
            attempt: 1,
            stage: crate::core::engine::Stage::Run,
            result: crate::core::engine::ExecResult::Exit(0),
        },
        1000,
    );
    assert_eq!(e.current(), Some("b"));
    assert!(on_key(&mut ui, &e, &km, key(Code::Enter), 1000).is_empty());
    assert_eq!(ui.overlay, Overlay::None);
    let (msg, _) = ui.flash.clone().unwrap();
    assert!(
        msg.contains("not skipped: `a` is no longer the current step"),
        "{msg}"
    );
}
