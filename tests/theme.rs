#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

//! Themes: the shipped ones load cleanly and define every role, broken theme files are reported
//! at the right place with a hint, and `NO_COLOR` keeps what matters visible.

use cutover::config::theme::{self, ROLES, Theme};
use cutover::core::runbook::Diagnostic;
use ratatui::style::{Color, Modifier, Style};
use std::path::{Path, PathBuf};

const SHIPPED: &[&str] = &["colorblind", "dark", "high-contrast", "light"];

fn themes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("themes")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/themes")
        .join(name)
        .display()
        .to_string()
}

fn shipped(name: &str) -> Theme {
    theme::load(name, &themes_dir()).unwrap_or_else(|d| panic!("{name}: {}", show(&d)))
}

fn errors(name: &str) -> Vec<Diagnostic> {
    match theme::load(&fixture(name), &themes_dir()) {
        Ok(_) => panic!("{name} must not load"),
        Err(d) => d,
    }
}

fn show(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn colours(s: Style) -> [Option<Color>; 3] {
    [s.fg, s.bg, s.underline_color]
}

#[test]
fn every_shipped_theme_loads_without_diagnostics() {
    assert_eq!(theme::available(&themes_dir()), SHIPPED);
    for name in SHIPPED {
        let by_name = shipped(name);
        assert_eq!(by_name.name, *name);
        let path = themes_dir().join(format!("{name}.yaml"));
        let by_path = theme::load(path.to_str().unwrap(), Path::new("/nonexistent"))
            .unwrap_or_else(|d| panic!("{}", show(&d)));
        assert_eq!(by_path, by_name, "{name} by path and by name");
    }
}

#[test]
fn dark_defines_every_role_and_is_built_in() {
    assert_eq!(ROLES.len(), 37);
    let dark = theme::dark();
    assert_eq!(dark.name, "dark");
    let roles = dark.roles();
    assert_eq!(roles.iter().map(|(n, _)| *n).collect::<Vec<_>>(), ROLES);
    for (role, style) in roles {
        assert_ne!(style, Style::default(), "dark leaves `{role}` unstyled");
    }
    // The embedded copy parses (else dark() would be the fallback and differ from the file),
    // and `dark` needs no themes folder.
    let file = themes_dir().join("dark.yaml");
    assert_eq!(
        theme::load(file.to_str().unwrap(), &themes_dir()).unwrap(),
        dark
    );
    assert_eq!(
        theme::load("dark", Path::new("/nonexistent")).unwrap(),
        dark
    );
    assert_eq!(Theme::default(), dark);
}

#[test]
fn shipped_files_spell_out_every_role_and_say_how_to_make_your_own() {
    // A shipped theme that leaned on dark's roles would put dark colours on a light screen.
    for name in SHIPPED {
        let text = std::fs::read_to_string(themes_dir().join(format!("{name}.yaml"))).unwrap();
        assert!(text.starts_with("# cutover theme: "), "{name}: header");
        assert!(text.contains("Make your own"), "{name}: header");
        for role in ROLES {
            assert!(
                text.contains(&format!("\n  {role}: ")),
                "{name}.yaml does not set `{role}`"
            );
        }
    }
    let cb = std::fs::read_to_string(themes_dir().join("colorblind.yaml")).unwrap();
    let header: String = cb.lines().take_while(|l| l.starts_with('#')).collect();
    assert!(header.contains("avoids red/green"), "{header}");
}

#[test]
fn unknown_role_and_bad_colour_are_located_with_hints() {
    let d = errors("typos.yaml");
    assert_eq!(d.len(), 2, "{}", show(&d));
    assert!(d.iter().all(Diagnostic::is_error));
    assert!(d[0].file.ends_with("typos.yaml"));
    assert_eq!((d[0].pos.line, d[0].pos.col), (4, 3));
    assert!(d[0].message.contains("unknown role `stat_ok`"), "{}", d[0]);
    assert!(d[0].hint.contains("did you mean `state_ok`?"), "{}", d[0]);
    assert_eq!((d[1].pos.line, d[1].pos.col), (5, 11));
    assert!(
        d[1].message
            .contains("unknown colour `lightblue` in role `border`"),
        "{}",
        d[1]
    );
    assert!(d[1].hint.contains("did you mean `light-blue`?"), "{}", d[1]);
    assert!(d[1].to_string().contains("typos.yaml:5:11: error:"));
}

#[test]
fn every_kind_of_problem_is_reported_in_one_pass() {
    let d = errors("many-problems.yaml");
    // (line, column, in the message, in the hint)
    let expected: &[(u32, u32, &str, &str)] = &[
        (
            4,
            9,
            "bad hex colour `#ff79c` in palette colour `pink`",
            "six hex digits",
        ),
        (
            6,
            22,
            "unknown key `bolt` in role `title`",
            "did you mean `bold`?",
        ),
        (7, 9, "role `border` has no colour", "starts a YAML comment"),
        (
            8,
            13,
            "unknown colour `cyna` in `fg` of role `key`",
            "did you mean `cyan`?",
        ),
        (
            8,
            25,
            "`bold` of role `key` must be true or false",
            "`bold: true`",
        ),
        (
            9,
            8,
            "role `dim` must be a colour or a style mapping",
            "`dim: cyan`",
        ),
        (
            10,
            14,
            "role `step_done` must be a colour or a style",
            "{fg: cyan",
        ),
        (
            11,
            1,
            "unknown key `colours` in the theme",
            "palette, roles",
        ),
    ];
    assert_eq!(d.len(), expected.len(), "{}", show(&d));
    for (got, (line, col, msg, hint)) in d.iter().zip(expected) {
        assert_eq!((got.pos.line, got.pos.col), (*line, *col), "{got}");
        assert!(got.message.contains(msg), "{got}");
        assert!(got.hint.contains(hint), "{got}");
    }
}

#[test]
fn a_partial_theme_falls_back_to_dark_and_palette_names_win() {
    let t = theme::load(&fixture("partial.yaml"), &themes_dir()).unwrap();
    let dark = theme::dark();
    assert_eq!(t.name, "partial");
    // The palette's `red` shadows the built-in red.
    assert_eq!(
        t.step_failed,
        Style::new()
            .fg(Color::Rgb(255, 0, 0))
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    );
    assert_eq!(
        t.title,
        Style::new()
            .fg(Color::Rgb(0x10, 0x10, 0x10))
            .bg(Color::LightYellow)
            .add_modifier(Modifier::ITALIC | Modifier::REVERSED)
    );
    assert_eq!(
        t.border,
        Style::new().fg(Color::DarkGray),
        "case, _ and grey"
    );
    for (role, style) in t.roles() {
        if !["step_failed", "title", "border"].contains(&role) {
            let (_, d) = dark.roles().into_iter().find(|(r, _)| *r == role).unwrap();
            assert_eq!(style, d, "`{role}` falls back to dark");
        }
    }
}

#[test]
fn unknown_theme_names_list_the_available_ones() {
    let d = theme::load("lihgt", &themes_dir()).unwrap_err();
    assert_eq!(d.len(), 1);
    assert!(d[0].message.contains("no theme named `lihgt`"), "{}", d[0]);
    assert!(d[0].hint.contains("did you mean `light`?"), "{}", d[0]);
    assert!(
        d[0].hint
            .contains("available themes: colorblind, dark, high-contrast, light"),
        "{}",
        d[0]
    );

    let d = theme::load("solarized", Path::new("/nonexistent")).unwrap_err();
    assert!(d[0].message.contains("does not exist"), "{}", d[0]);
    assert!(d[0].hint.contains("available themes: dark"), "{}", d[0]);

    let d = theme::load("/nonexistent/mine.yaml", &themes_dir()).unwrap_err();
    assert!(
        d[0].message.contains("cannot read the theme file"),
        "{}",
        d[0]
    );
    assert_eq!(d[0].file, Path::new("/nonexistent/mine.yaml"));
}

#[test]
fn broken_files_give_diagnostics_not_panics() {
    let d = errors("not-a-mapping.yaml");
    assert_eq!(d.len(), 1);
    assert!(d[0].message.contains("must be a mapping"), "{}", d[0]);

    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("empty.yaml", b"", "file is empty"),
        ("binary.yaml", b"roles:\0\x01", "NUL bytes"),
        (
            "syntax.yaml",
            b"roles:\n  title: {fg: cyan\n",
            "YAML syntax",
        ),
        ("no-roles.yaml", b"palette: {}\n", "missing `roles`"),
        (
            "roles-list.yaml",
            b"roles: [title]\n",
            "`roles` must be a mapping",
        ),
        (
            "palette-list.yaml",
            b"palette: [x]\nroles: {}\n",
            "`palette` must be",
        ),
    ];
    for (file, bytes, want) in cases {
        let p = dir.path().join(file);
        std::fs::write(&p, bytes).unwrap();
        let d = theme::load(p.to_str().unwrap(), dir.path()).unwrap_err();
        assert!(d[0].message.contains(want), "{file}: {}", show(&d));
    }
}

#[test]
fn no_color_drops_every_colour_and_keeps_things_apart() {
    for name in SHIPPED {
        let t = shipped(name).no_color();
        for (role, style) in t.roles() {
            for c in colours(style).into_iter().flatten() {
                assert_eq!(c, Color::Reset, "{name}: `{role}` keeps {c:?}");
            }
        }
        let (live, drill) = (t.badge_live.add_modifier, t.badge_drill.add_modifier);
        assert_ne!(live, drill, "{name}: badges");
        assert!(live.contains(Modifier::REVERSED | Modifier::BOLD), "{name}");
        assert!(!drill.contains(Modifier::REVERSED), "{name}");
        assert!(t.step_current.add_modifier.contains(Modifier::REVERSED));
        for (role, s) in [
            ("step_failed", t.step_failed),
            ("state_late", t.state_late),
            ("countdown_late", t.countdown_late),
            ("metric_breach", t.metric_breach),
        ] {
            assert!(
                s.add_modifier
                    .contains(Modifier::BOLD | Modifier::UNDERLINED),
                "{name}: `{role}` does not stand out"
            );
        }
        assert_ne!(t.step_failed, t.step_done, "{name}");
        assert_ne!(t.state_late, t.state_ok, "{name}");
        assert_ne!(t.step_current, t.step_pending, "{name}");
    }
    // Modifiers the theme chose survive.
    let dark = theme::dark();
    let plain = dark.clone().no_color();
    assert!(plain.step_skipped.add_modifier.contains(Modifier::ITALIC));
    assert_eq!(plain.name, dark.name);
}

/// Relative luminance of an RGB colour, 0 (black) to 1 (white).
fn luminance(c: Color) -> f64 {
    let Color::Rgb(r, g, b) = c else {
        panic!("badges use hex colours, got {c:?}")
    };
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

#[test]
fn live_and_drill_badges_cannot_be_confused_in_any_theme() {
    for name in SHIPPED {
        let t = shipped(name);
        let (live, drill) = (t.badge_live, t.badge_drill);
        for s in [live, drill] {
            assert!(s.add_modifier.contains(Modifier::BOLD), "{name}");
        }
        let [lf, lb] = [live.fg, live.bg].map(Option::unwrap);
        let [df, db] = [drill.fg, drill.bg].map(Option::unwrap);
        // LIVE is light text on a dark block, DRILL dark text on a bright one: apart by
        // lightness, whatever hues a reader can see.
        assert!(luminance(lf) > luminance(lb) + 0.3, "{name}: live");
        assert!(luminance(df) + 0.3 < luminance(db), "{name}: drill");
        assert!(luminance(db) > luminance(lb) + 0.3, "{name}: backgrounds");
    }
}

#[test]
fn the_other_themes_differ_from_dark() {
    let dark = theme::dark().roles();
    for name in ["light", "high-contrast", "colorblind"] {
        let t = shipped(name).roles();
        let differing = t.iter().zip(&dark).filter(|(a, b)| a != b).count();
        assert!(
            differing > ROLES.len() / 2,
            "{name}: {differing} roles differ"
        );
    }
    assert_ne!(shipped("light").base, theme::dark().base);
    let hc = shipped("high-contrast");
    assert_eq!(hc.base.bg, Some(Color::Rgb(0, 0, 0)));
    assert_eq!(hc.base.fg, Some(Color::Rgb(255, 255, 255)));
}

/// Hue in degrees, for RGB colours with some saturation.
fn hue(c: Color) -> Option<f64> {
    match c {
        Color::Red | Color::LightRed => Some(0.0),
        Color::Green | Color::LightGreen => Some(120.0),
        Color::Rgb(r, g, b) => {
            let [r, g, b] = [r, g, b].map(|v| f64::from(v) / 255.0);
            let (max, min) = (r.max(g).max(b), r.min(g).min(b));
            if max - min < 0.15 {
                return None;
            }
            let h = if max == r {
                60.0 * ((g - b) / (max - min))
            } else if max == g {
                60.0 * ((b - r) / (max - min) + 2.0)
            } else {
                60.0 * ((r - g) / (max - min) + 4.0)
            };
            Some(h.rem_euclid(360.0))
        }
        _ => None,
    }
}

fn reddish(c: Option<Color>) -> bool {
    c.and_then(hue).is_some_and(|h| !(30.0..330.0).contains(&h))
}

fn greenish(c: Option<Color>) -> bool {
    c.and_then(hue).is_some_and(|h| (75.0..=165.0).contains(&h))
}

#[test]
fn colorblind_never_pairs_red_with_green() {
    let t = shipped("colorblind");
    for (good, bad) in [
        (t.state_ok, t.state_late),
        (t.step_done, t.step_failed),
        (t.countdown_ok, t.countdown_late),
        (t.metric_ok, t.metric_breach),
    ] {
        for (a, b) in [(good.fg, bad.fg), (good.bg, bad.bg)] {
            let red_green = reddish(a) && greenish(b) || greenish(a) && reddish(b);
            assert!(!red_green, "red/green pair: {a:?} / {b:?}");
        }
        assert!(!greenish(good.fg), "good is blue, not green: {good:?}");
        // The bad one also differs by shape, not by hue alone.
        assert!(
            bad.add_modifier
                .contains(Modifier::BOLD | Modifier::UNDERLINED),
            "{bad:?}"
        );
    }
    // The check itself tells red from green: dark pairs them.
    let dark = theme::dark();
    assert!(greenish(dark.step_done.fg) && reddish(dark.step_failed.fg));
}
