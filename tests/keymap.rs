//! Keymap: the embedded defaults, key text and crossterm events, the user's overlay, and the
//! located diagnostics of broken keymap files.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use cutover::config::keymap::{
    self, Action, DEFAULT_YAML, Key, Keymap, default_keymap, default_path_with, load_overlay,
    parse_overlay,
};
use cutover::core::runbook::Diagnostic;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keymaps")
        .join(name)
}

/// The action a terminal key event runs, as the cockpit maps it.
fn act(k: &Keymap, e: &KeyEvent) -> Option<Action> {
    k.lookup(&cutover::shell::tui::key_of(e)?)
}

fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

fn ch(c: char) -> KeyEvent {
    ev(KeyCode::Char(c), KeyModifiers::NONE)
}

fn key(text: &str) -> Key {
    Key::parse(text).unwrap()
}

fn overlay(yaml: &str) -> Result<Keymap, Vec<Diagnostic>> {
    parse_overlay(Path::new("keymap.yaml"), yaml.as_bytes())
}

fn errors(name: &str) -> Vec<Diagnostic> {
    load_overlay(&fixture(name)).expect_err(name)
}

#[test]
fn embedded_defaults_are_valid_and_bind_every_action() {
    let k = keymap::from_yaml(Path::new("keymaps/default.yaml"), DEFAULT_YAML.as_bytes())
        .unwrap_or_else(|d| panic!("{d:#?}"));
    assert_eq!(k, default_keymap());
    for a in Action::ALL {
        assert!(!k.keys_for(a).is_empty(), "{a} has no default key");
        // The file and the code describe each action the same way.
        assert_eq!(k.desc(a), a.description(), "{a}");
    }
}

#[test]
fn defaults_map_each_documented_key() {
    let k = default_keymap();
    let none = KeyModifiers::NONE;
    let cases = [
        (ch('?'), Action::Help),
        (ev(KeyCode::Enter, none), Action::Complete),
        (ch('s'), Action::Skip),
        (ch('r'), Action::Retry),
        (ch('h'), Action::Hold),
        (ch('n'), Action::Note),
        (ch('R'), Action::Rollback),
        (ch('q'), Action::Quit),
        (ev(KeyCode::Char('c'), KeyModifiers::CONTROL), Action::Quit),
        (ev(KeyCode::Tab, none), Action::FocusNext),
        (ev(KeyCode::BackTab, KeyModifiers::SHIFT), Action::FocusPrev),
        (ev(KeyCode::Up, none), Action::Up),
        (ch('k'), Action::Up),
        (ev(KeyCode::Down, none), Action::Down),
        (ch('j'), Action::Down),
        (ev(KeyCode::PageUp, none), Action::PageUp),
        (ev(KeyCode::PageDown, none), Action::PageDown),
        (ev(KeyCode::Home, none), Action::Top),
        (ch('g'), Action::Top),
        (ev(KeyCode::End, none), Action::Bottom),
        (ch('G'), Action::Bottom),
        (ch('l'), Action::LogLevel),
        (ev(KeyCode::Esc, none), Action::Cancel),
    ];
    for (e, a) in cases {
        assert_eq!(act(&k, &e), Some(a), "{e:?}");
    }
    assert_eq!(act(&k, &ch('x')), None);
    assert_eq!(act(&k, &ev(KeyCode::Char('c'), KeyModifiers::ALT)), None);
    assert_eq!(k.primary(Action::Rollback), Some(key("R")));
    assert_eq!(k.keys_for(Action::Quit), vec![key("q"), key("ctrl-c")]);
}

#[test]
fn shifted_r_is_rollback_and_plain_r_is_retry() {
    let k = default_keymap();
    let shift = KeyModifiers::SHIFT;
    assert_eq!(act(&k, &ch('R')), Some(Action::Rollback));
    assert_eq!(
        act(&k, &ev(KeyCode::Char('R'), shift)),
        Some(Action::Rollback)
    );
    assert_eq!(
        act(&k, &ev(KeyCode::Char('r'), shift)),
        Some(Action::Rollback)
    );
    assert_eq!(act(&k, &ch('r')), Some(Action::Retry));
    // Shift-tab arrives as BackTab, with or without SHIFT, or as Tab with SHIFT.
    assert_eq!(
        act(&k, &ev(KeyCode::BackTab, KeyModifiers::NONE)),
        Some(Action::FocusPrev)
    );
    assert_eq!(act(&k, &ev(KeyCode::Tab, shift)), Some(Action::FocusPrev));
    assert_eq!(
        cutover::shell::tui::key_of(&ev(KeyCode::Char('r'), shift)),
        Some(key("R"))
    );
    assert_eq!(key("shift-r"), key("R"));
    assert_ne!(key("r"), key("R"));
}

#[test]
fn releases_and_desktop_chords_run_nothing() {
    let k = default_keymap();
    let mut release = ch('R');
    release.kind = KeyEventKind::Release;
    assert_eq!(act(&k, &release), None);
    let mut repeat = ch('j');
    repeat.kind = KeyEventKind::Repeat;
    assert_eq!(act(&k, &repeat), Some(Action::Down));
    assert_eq!(act(&k, &ev(KeyCode::Char('q'), KeyModifiers::SUPER)), None);
    assert_eq!(act(&k, &ev(KeyCode::Char('R'), KeyModifiers::META)), None);
    assert_eq!(act(&k, &ev(KeyCode::F(13), KeyModifiers::NONE)), None);
}

#[test]
fn key_text_round_trips() {
    let canonical = [
        "R",
        "r",
        "?",
        "G",
        "-",
        "enter",
        "esc",
        "tab",
        "backtab",
        "space",
        "up",
        "down",
        "left",
        "right",
        "pgup",
        "pgdn",
        "home",
        "end",
        "backspace",
        "delete",
        "insert",
        "f1",
        "f12",
        "ctrl-c",
        "alt-x",
        "ctrl-alt-x",
        "ctrl-R",
        "ctrl--",
        "alt-space",
        "shift-up",
        "ctrl-shift-f5",
    ];
    for text in canonical {
        let k = key(text);
        assert_eq!(k.to_string(), text);
        assert_eq!(k.to_string().parse::<Key>().unwrap(), k);
    }
    let spellings = [
        ("shift-r", "R"),
        ("shift-R", "R"),
        ("shift-tab", "backtab"),
        ("Shift-Tab", "backtab"),
        ("CTRL-c", "ctrl-c"),
        ("ctrl+c", "ctrl-c"),
        ("control-c", "ctrl-c"),
        ("alt-ctrl-x", "ctrl-alt-x"),
        ("Enter", "enter"),
        ("return", "enter"),
        ("Escape", "esc"),
        ("pageup", "pgup"),
        ("PageDown", "pgdn"),
        ("F5", "f5"),
        (" ", "space"),
        (" enter ", "enter"),
    ];
    for (text, canon) in spellings {
        assert_eq!(key(text).to_string(), canon, "{text:?}");
    }
}

#[test]
fn bad_key_text_says_how_to_write_it() {
    let cases = [
        ("", "empty key", "`ctrl-x`"),
        ("pgpu", "`pgpu` is not a key", "did you mean `pgup`?"),
        ("f13", "`f13` is not a key", "f1 to f12"),
        ("ctrl-", "`ctrl-` is not a key", "ctrl-, alt- or shift-"),
        ("ctrl-ctrl-x", "repeats `ctrl-`", "once"),
        ("hyper-x", "is not a key", "one character"),
        ("\u{7}", "is not a key", "control characters"),
    ];
    for (text, msg, hint) in cases {
        let e = Key::parse(text).expect_err(text);
        assert!(e.message.contains(msg), "{text:?}: {}", e.message);
        assert!(e.hint.contains(hint), "{text:?}: {}", e.hint);
    }
}

#[test]
fn action_names_are_stable_snake_case() {
    let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
    assert_eq!(
        names,
        [
            "complete",
            "skip",
            "retry",
            "hold",
            "note",
            "rollback",
            "veto",
            "continue",
            "abort",
            "approve",
            "raise_hand",
            "hand_over",
            "focus_next",
            "focus_prev",
            "up",
            "down",
            "page_up",
            "page_down",
            "top",
            "bottom",
            "log_level",
            "help",
            "cancel",
            "quit"
        ]
    );
    for a in Action::ALL {
        assert_eq!(Action::from_name(a.name()), Some(a));
        assert_eq!(a.to_string(), a.name());
    }
    assert_eq!(Action::from_name("none"), None);
}

#[test]
fn overlay_remaps_rollback_to_x_and_frees_r() {
    let k = load_overlay(&fixture("remap-rollback.yaml")).unwrap();
    assert_eq!(act(&k, &ch('x')), Some(Action::Rollback));
    assert_eq!(act(&k, &ch('R')), None);
    assert_eq!(k.keys_for(Action::Rollback), vec![key("x")]);
    // Everything else is still the default, the description too.
    assert_eq!(act(&k, &ch('r')), Some(Action::Retry));
    assert_eq!(act(&k, &ch('q')), Some(Action::Quit));
    assert_eq!(k.desc(Action::Rollback), Action::Rollback.description());
}

#[test]
fn overlay_can_take_a_default_key_swap_keys_and_redescribe() {
    // s now rolls back; skip loses its only key and says so in the help.
    let k = overlay("- { on: \"s\", run: rollback, desc: \"Roll back!\" }\n").unwrap();
    assert_eq!(act(&k, &ch('s')), Some(Action::Rollback));
    assert_eq!(act(&k, &ch('R')), None);
    assert!(k.keys_for(Action::Skip).is_empty());
    let rows = k.help_rows();
    assert!(rows.contains(&("unbound".to_string(), "Skip the current step".to_string())));
    assert!(rows.contains(&("s".to_string(), "Roll back!".to_string())));

    let k = overlay("- { on: \"r\", run: rollback }\n- { on: [\"R\", \"ctrl-r\"], run: retry }\n")
        .unwrap();
    assert_eq!(act(&k, &ch('r')), Some(Action::Rollback));
    assert_eq!(act(&k, &ch('R')), Some(Action::Retry));
    assert_eq!(k.keys_for(Action::Retry), vec![key("R"), key("ctrl-r")]);
}

#[test]
fn overlay_reads_bare_keys_yaml_would_turn_into_booleans() {
    let k = overlay("- { on: y, run: complete }\n- { on: [n, N], run: note }\n").unwrap();
    assert_eq!(act(&k, &ch('y')), Some(Action::Complete));
    assert_eq!(k.keys_for(Action::Note), vec![key("n"), key("N")]);
    // A bare `off` is the text `off`, which is not a key: said so, not read as `false`.
    let errs = overlay("- { on: off, run: note }\n").unwrap_err();
    assert!(errs[0].message.contains("`off` is not a key"), "{errs:#?}");
}

#[test]
fn empty_or_comment_only_overlay_changes_nothing() {
    assert_eq!(overlay("").unwrap(), default_keymap());
    assert_eq!(overlay("\n  \n").unwrap(), default_keymap());
    assert_eq!(overlay("# nothing yet\n").unwrap(), default_keymap());
}

/// (fixture, line, column, text the message must contain, text the hint must contain)
const CASES: &[(&str, u32, u32, &str, &str)] = &[
    (
        "unknown-action.yaml",
        2,
        19,
        "unknown action `rolback`",
        "did you mean `rollback`?",
    ),
    (
        "bad-key.yaml",
        2,
        10,
        "`pgpu` is not a key (in the `down` binding)",
        "did you mean `pgup`?",
    ),
    ("bad-key.yaml", 3, 9, "`f13` is not a key", "f1 to f12"),
    (
        "duplicate-binding.yaml",
        3,
        15,
        "`x` is bound twice: to `rollback` at line 2 and to `skip` at line 3",
        "remove one",
    ),
    (
        "unbinds-rollback.yaml",
        3,
        9,
        "no key is left for `rollback`: `R` is unbound here",
        "bind it to another key, e.g. `- { on: \"ctrl-r\", run: rollback }`",
    ),
    (
        "unknown-field.yaml",
        2,
        29,
        "unknown key `dsc` in the `rollback` binding",
        "did you mean `desc`?",
    ),
];

#[test]
fn broken_fixtures_give_located_hinted_diagnostics() {
    for (name, line, col, msg, hint) in CASES {
        let errs = errors(name);
        let d = errs
            .iter()
            .find(|d| d.message.contains(msg))
            .unwrap_or_else(|| panic!("{name}: no `{msg}` in {errs:#?}"));
        assert_eq!((d.pos.line, d.pos.col), (*line, *col), "{name}: {d}");
        assert!(d.hint.contains(hint), "{name}: hint `{}`", d.hint);
        assert!(d.is_error());
        assert!(d.file.ends_with(name));
    }
    // Each of those files has exactly the problems listed, nothing made up on top.
    assert_eq!(errors("bad-key.yaml").len(), 2);
    assert_eq!(errors("unknown-action.yaml").len(), 1);
    assert_eq!(errors("duplicate-binding.yaml").len(), 1);
    assert_eq!(errors("unbinds-rollback.yaml").len(), 1);
}

#[test]
fn all_problems_of_a_file_come_in_one_pass_in_file_order() {
    let errs = errors("many-problems.yaml");
    let got: Vec<(u32, &str)> = errs
        .iter()
        .map(|d| (d.pos.line, d.message.as_str()))
        .collect();
    let want = [
        (2, "unknown action `rolback`"),
        (3, "`ctrl-` is not a key"),
        (4, "no key is left for `rollback`: `R` now runs `retry`"),
        (5, "unknown key `dsc` in the `hold` binding"),
        (
            6,
            "`h` is bound twice: to `hold` at line 5 and to `note` at line 6",
        ),
    ];
    assert_eq!(got.len(), want.len(), "{errs:#?}");
    for ((line, msg), (wl, wm)) in got.iter().zip(want) {
        assert_eq!(*line, wl, "{msg}");
        assert!(msg.contains(wm), "line {line}: `{msg}` lacks `{wm}`");
    }
    // Printed the usual way: FILE:LINE:COL: error: … and a hint.
    let text = errs[0].to_string();
    assert!(text.contains("many-problems.yaml:2:"), "{text}");
    assert!(text.contains("\n  hint: "), "{text}");
}

#[test]
fn quit_must_keep_a_key_too() {
    let errs = overlay("- { on: [\"q\", \"ctrl-c\"], run: none }\n").unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].message.contains("no key is left for `quit`"));
    assert!(errs[0].hint.contains("run: quit"));
    // Rebinding quit elsewhere is fine.
    let k = overlay("- { on: [\"q\", \"ctrl-c\"], run: none }\n- { on: \"ctrl-q\", run: quit }\n")
        .unwrap();
    assert_eq!(k.keys_for(Action::Quit), vec![key("ctrl-q")]);
}

#[test]
fn shape_errors_are_located() {
    let cases = [
        ("run: rollback\n", 1, "a keymap is a list of bindings"),
        ("- x\n", 1, "a binding must be a mapping"),
        ("- { run: rollback }\n", 1, "is missing `on`"),
        ("- { on: \"x\" }\n", 1, "is missing `run`"),
        ("- { on: [], run: skip }\n", 1, "is an empty list"),
        (
            "- { on: [[x]], run: skip }\n",
            1,
            "must be text, found a list",
        ),
        ("- { on: [x]\n", 1, "YAML syntax"),
    ];
    for (yaml, line, msg) in cases {
        let errs = overlay(yaml).expect_err(yaml);
        assert!(
            errs.iter()
                .any(|d| d.pos.line == line && d.message.contains(msg)),
            "{yaml:?}: {errs:#?}"
        );
        assert!(errs.iter().all(|d| !d.hint.is_empty()), "{errs:#?}");
    }
}

#[test]
fn unreadable_overlay_is_a_diagnostic() {
    let errs = load_overlay(&fixture("no-such-file.yaml")).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(errs[0].message.contains("cannot read the keymap"));
}

#[test]
fn help_rows_list_every_action_once_in_order() {
    let k = default_keymap();
    let rows = k.help_rows();
    assert_eq!(rows.len(), Action::ALL.len());
    for (row, a) in rows.iter().zip(Action::ALL) {
        assert_eq!(row.1, k.desc(a));
        assert!(!row.0.is_empty() && row.0 != "unbound", "{a}");
    }
    assert_eq!(
        rows[0],
        (
            "enter".to_string(),
            "Complete the current manual step".into()
        )
    );
    assert!(rows.contains(&("j, down".to_string(), "Move down".to_string())));
    assert!(rows.contains(&("q, ctrl-c".to_string(), Action::Quit.description().into())));
    let descs: std::collections::HashSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(descs.len(), rows.len(), "two actions share a description");
}

#[test]
fn default_path_prefers_the_variable_then_xdg_then_home() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().join("xdg");
    let home = dir.path().join("home");
    let env = |pairs: Vec<(&'static str, PathBuf)>| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    };
    let at_xdg = xdg.join("cutover/keymap.yaml");
    let at_home = home.join(".config/cutover/keymap.yaml");
    let all = || vec![("XDG_CONFIG_HOME", xdg.clone()), ("HOME", home.clone())];
    // Nothing exists yet: no keymap.
    assert_eq!(default_path_with(env(all())), None);
    std::fs::create_dir_all(at_home.parent().unwrap()).unwrap();
    std::fs::write(&at_home, "").unwrap();
    assert_eq!(
        default_path_with(env(vec![("HOME", home.clone())])),
        Some(at_home.clone())
    );
    // XDG_CONFIG_HOME, when set, replaces ~/.config.
    assert_eq!(default_path_with(env(all())), None);
    std::fs::create_dir_all(at_xdg.parent().unwrap()).unwrap();
    std::fs::write(&at_xdg, "").unwrap();
    assert_eq!(default_path_with(env(all())), Some(at_xdg.clone()));
    // The variable wins, even for a file that is missing, so the typo gets reported.
    let mut with_var = all();
    with_var.push(("CUTOVER_KEYMAP", dir.path().join("mine.yaml")));
    assert_eq!(
        default_path_with(env(with_var)),
        Some(dir.path().join("mine.yaml"))
    );
}
