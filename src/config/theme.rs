//! Themes: the cockpit's colours and text attributes, read from k9s-style YAML skins.
//!
//! Owns the role set (one `Style` per thing the screen draws), the theme file format (an
//! optional `palette:` of named colours, then `roles:`), the shipped themes under `themes/`,
//! and the `NO_COLOR` variant. Every problem in a theme file becomes a located, hinted
//! `Diagnostic`, all in one pass, like runbooks. It does not draw anything, and it never
//! panics: a bad theme file must not take the cockpit down in the middle of a cutover.

use crate::config::runbook::reader::{Fields, Findings, nearest};
use crate::config::runbook::yaml::{Located, Node, parse_as, pos_of};
use crate::core::runbook::{Diagnostic, Pos};
use ratatui::style::{Color, Modifier, Style};
use std::path::{Path, PathBuf};

/// The name of the built-in default theme.
pub const DEFAULT: &str = "dark";

/// The default theme's file, built into the binary so `dark` works without a themes folder.
const DARK_YAML: &str = include_str!("../../themes/dark.yaml");

const TOP_KEYS: &[&str] = &["palette", "roles"];
const STYLE_KEYS: &[&str] = &["fg", "bg", "bold", "dim", "italic", "underline", "reversed"];

/// Colour names, as in ratatui's 16-colour set. `default` is the terminal's own colour.
const NAMED: &[(&str, Color)] = &[
    ("default", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark-gray", Color::DarkGray),
    ("white", Color::White),
    ("light-red", Color::LightRed),
    ("light-green", Color::LightGreen),
    ("light-yellow", Color::LightYellow),
    ("light-blue", Color::LightBlue),
    ("light-magenta", Color::LightMagenta),
    ("light-cyan", Color::LightCyan),
];

const COLOUR_FORMS: &str = "colours are names (black, red, green, yellow, blue, magenta, cyan, \
     gray, dark-gray, white, light-red, light-green, light-yellow, light-blue, light-magenta, \
     light-cyan), `default` (the terminal's own), \"#rrggbb\" in quotes, or names from `palette:`";

/// Defines `Theme`, `ROLES` and the per-role plumbing from one list, so a role cannot be added
/// to the struct and forgotten by the parser. The style after `=` is the last-resort fallback
/// used only if the embedded dark theme cannot be read (plain ANSI colours work everywhere).
macro_rules! roles {
    ($( $(#[$doc:meta])* $role:ident = $fallback:expr; )*) => {
        /// A theme: one `Style` per role the cockpit draws. Build it with `dark()` or `load()`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Theme {
            /// The theme's name: `dark`, or the file name without `.yaml`.
            pub name: String,
            $( $(#[$doc])* pub $role: Style, )*
        }

        /// Every role name as written under `roles:`, in the order of `Theme`'s fields.
        pub const ROLES: &[&str] = &[$(stringify!($role)),*];

        impl Theme {
            /// Every role with its style, in the order of `ROLES`.
            pub fn roles(&self) -> Vec<(&'static str, Style)> {
                vec![$((stringify!($role), self.$role)),*]
            }

            fn role_mut(&mut self, role: &str) -> Option<&mut Style> {
                match role {
                    $(stringify!($role) => Some(&mut self.$role),)*
                    _ => None,
                }
            }

            fn each_mut(&mut self, mut f: impl FnMut(&mut Style)) {
                $(f(&mut self.$role);)*
            }

            // Unstyled, so a role dark.yaml forgot shows up as `Style::default()` in tests
            // instead of being papered over.
            fn blank(name: &str) -> Self {
                Self { name: name.to_string(), $($role: Style::new(),)* }
            }

            fn builtin() -> Self {
                Self { name: DEFAULT.to_string(), $($role: $fallback,)* }
            }
        }
    };
}

const fn fg(c: Color) -> Style {
    Style::new().fg(c)
}

const fn loud(c: Color) -> Style {
    Style::new().fg(c).add_modifier(Modifier::BOLD)
}

const fn block(fg: Color, bg: Color) -> Style {
    Style::new().fg(fg).bg(bg).add_modifier(Modifier::BOLD)
}

roles! {
    /// Ordinary text and the screen background.
    base = Style::new().fg(Color::Reset).bg(Color::Reset);
    /// Secondary text: hints, timestamps, units.
    dim = fg(Color::DarkGray);
    /// Headings and pane titles.
    title = loud(Color::Magenta);
    /// Pane borders.
    border = fg(Color::DarkGray);
    /// The border of the pane that has focus.
    border_focused = loud(Color::Cyan);
    /// The LIVE badge: a real cutover. Must never look like `badge_drill`.
    badge_live = block(Color::White, Color::Red);
    /// The DRILL badge: a rehearsal that touches nothing real.
    badge_drill = block(Color::Black, Color::Yellow);
    /// Session state: on schedule.
    state_ok = fg(Color::Green);
    /// Session state: behind schedule.
    state_late = loud(Color::LightRed);
    /// Session state: held, waiting for the operator.
    state_hold = loud(Color::Yellow);
    /// Session state: a rollback is running.
    state_rolling_back = loud(Color::Red);
    /// Session state: ended rolled back.
    state_rolled_back = loud(Color::Magenta);
    /// Session state: ended complete.
    state_complete = loud(Color::Green);
    /// A step not yet due.
    step_pending = fg(Color::Reset);
    /// A step that is due: starting, or waiting for the operator.
    step_due = loud(Color::Yellow);
    /// A step whose command is running (or holding).
    step_running = loud(Color::Cyan);
    /// A finished step.
    step_done = fg(Color::Green);
    /// A failed step.
    step_failed = loud(Color::Red);
    /// A skipped step.
    step_skipped = fg(Color::DarkGray).add_modifier(Modifier::ITALIC);
    /// A step that was running when the cockpit died.
    step_interrupted = loud(Color::LightRed).add_modifier(Modifier::UNDERLINED);
    /// The highlighted step row, patched over the step's own style.
    step_current = Style::new().add_modifier(Modifier::REVERSED);
    /// Time to the next due step: comfortable.
    countdown_ok = fg(Color::Green);
    /// Time to the next due step: close.
    countdown_warn = loud(Color::Yellow);
    /// Overdue.
    countdown_late = loud(Color::Red);
    /// The source platform's name (the side being left).
    source = fg(Color::Magenta);
    /// The target platform's name (the side being moved to).
    target = fg(Color::Cyan);
    /// A metric within its limits.
    metric_ok = fg(Color::Green);
    /// A metric past a rollback trigger.
    metric_breach = loud(Color::Red);
    /// A metric with no fresh data.
    metric_stale = fg(Color::DarkGray).add_modifier(Modifier::ITALIC);
    /// Error lines in the log pane.
    log_error = loud(Color::Red);
    /// Warning lines in the log pane.
    log_warn = fg(Color::Yellow);
    /// Info lines in the log pane.
    log_info = fg(Color::Reset);
    /// Debug lines in the log pane.
    log_debug = fg(Color::DarkGray);
    /// The rollback screen and its button.
    rollback = block(Color::White, Color::Red);
    /// Key hints (`R`, `?`, `q`).
    key = loud(Color::Cyan);
    /// Dialogs and confirmations.
    modal = Style::new().fg(Color::Reset).bg(Color::DarkGray);
    /// Text entry fields.
    input = Style::new().fg(Color::Reset).add_modifier(Modifier::UNDERLINED);
}

impl Default for Theme {
    fn default() -> Self {
        dark()
    }
}

impl Theme {
    /// This theme for `NO_COLOR`: every colour dropped, modifiers kept, and modifiers added so
    /// the badges, the current step and everything failed or late still stand out.
    pub fn no_color(mut self) -> Theme {
        self.each_mut(|s| *s = without_colour(*s));
        let alarm = Modifier::BOLD | Modifier::UNDERLINED;
        for s in [
            &mut self.state_late,
            &mut self.state_rolling_back,
            &mut self.state_rolled_back,
            &mut self.step_failed,
            &mut self.step_interrupted,
            &mut self.countdown_late,
            &mut self.metric_breach,
            &mut self.log_error,
        ] {
            *s = s.add_modifier(alarm);
        }
        for s in [
            &mut self.title,
            &mut self.border_focused,
            &mut self.state_hold,
            &mut self.step_due,
            &mut self.step_running,
            &mut self.countdown_warn,
            &mut self.key,
        ] {
            *s = s.add_modifier(Modifier::BOLD);
        }
        // Without red and yellow the two badges differ by shape alone: LIVE is a solid block,
        // DRILL never is, so a rehearsal cannot pass for the real thing (or the reverse).
        self.badge_live = self
            .badge_live
            .add_modifier(Modifier::BOLD | Modifier::REVERSED);
        self.badge_drill = self
            .badge_drill
            .remove_modifier(Modifier::REVERSED)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
        self.step_current = self
            .step_current
            .add_modifier(Modifier::BOLD | Modifier::REVERSED);
        self.rollback = self
            .rollback
            .add_modifier(Modifier::BOLD | Modifier::REVERSED);
        self
    }
}

fn without_colour(s: Style) -> Style {
    // Rebuilt rather than edited, so the underline colour goes too.
    Style::new()
        .add_modifier(s.add_modifier)
        .remove_modifier(s.sub_modifier)
}

/// The default theme, parsed from the built-in `themes/dark.yaml` on each call (keep the
/// result). Never fails: should the built-in file not parse, a plain ANSI fallback is used.
pub fn dark() -> Theme {
    from_bytes(
        Path::new("themes/dark.yaml"),
        DARK_YAML.as_bytes(),
        Theme::blank(DEFAULT),
    )
    .unwrap_or_else(|_| Theme::builtin())
}

/// Loads a theme: `dark` is built in (`themes_dir` is not needed for it); another bare name is
/// `themes_dir/NAME.yaml`; anything with a `/` or ending in `.yaml` (or `.yml`) is a path.
/// Roles the file leaves out are the dark theme's. Errors come back all together, located.
pub fn load(name_or_path: &str, themes_dir: &Path) -> Result<Theme, Vec<Diagnostic>> {
    if name_or_path == DEFAULT {
        return Ok(dark());
    }
    let is_path = name_or_path.contains('/')
        || name_or_path.ends_with(".yaml")
        || name_or_path.ends_with(".yml");
    let path = if is_path {
        PathBuf::from(name_or_path)
    } else {
        themes_dir.join(format!("{name_or_path}.yaml"))
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if !is_path && e.kind() == std::io::ErrorKind::NotFound => {
            return Err(vec![unknown_theme(name_or_path, &path, themes_dir)]);
        }
        Err(e) => {
            return Err(vec![Diagnostic::error(
                &path,
                Pos::default(),
                format!("cannot read the theme file: {e}"),
                format!(
                    "check the path, or give a theme name: {}",
                    available(themes_dir).join(", ")
                ),
            )]);
        }
    };
    let mut base = dark();
    base.name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| name_or_path.to_string());
    from_bytes(&path, &bytes, base)
}

/// The theme names `load` accepts without a path: `dark` and each `themes_dir/*.yaml`, sorted.
pub fn available(themes_dir: &Path) -> Vec<String> {
    let mut names = vec![DEFAULT.to_string()];
    if let Ok(entries) = std::fs::read_dir(themes_dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "yaml")
                && let Some(stem) = p.file_stem()
            {
                names.push(stem.to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

fn unknown_theme(name: &str, path: &Path, themes_dir: &Path) -> Diagnostic {
    let names = available(themes_dir);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let near = nearest(name, &refs)
        .map(|n| format!("did you mean `{n}`? "))
        .unwrap_or_default();
    let (message, listed) = if themes_dir.is_dir() {
        (
            format!("no theme named `{name}` in {}", themes_dir.display()),
            format!("available themes: {}", names.join(", ")),
        )
    } else {
        (
            format!(
                "no theme named `{name}`: the themes folder {} does not exist",
                themes_dir.display()
            ),
            format!("available themes: {} (built in)", names.join(", ")),
        )
    };
    Diagnostic::error(
        path,
        Pos::default(),
        message,
        format!("{near}{listed}; or pass the path to a theme file, e.g. ./my-theme.yaml"),
    )
}

/// Parses theme `bytes` (from `file`) over `base`, which supplies the roles the file omits.
fn from_bytes(file: &Path, bytes: &[u8], base: Theme) -> Result<Theme, Vec<Diagnostic>> {
    let tree = parse_as(file, bytes, "theme").map_err(|d| vec![d])?;
    let mut sink = Findings::new(file);
    let mut theme = base;
    read(&mut sink, &tree, &mut theme);
    let mut diags = sink.diags;
    if diags.is_empty() {
        Ok(theme)
    } else {
        diags.sort_by_key(|d| (d.pos.line, d.pos.col));
        Err(diags)
    }
}

/// Named colours from `palette:`, in file order (a later entry may use an earlier one).
type Palette = Vec<(String, Color)>;

fn read(sink: &mut Findings, root: &Located, theme: &mut Theme) {
    let Some(top) = Fields::open(sink, root, "the theme", TOP_KEYS) else {
        return;
    };
    let palette = top
        .get("palette")
        .map(|n| read_palette(sink, n))
        .unwrap_or_default();
    match top.get("roles") {
        None => sink.error(
            top.pos(),
            "the theme is missing `roles`",
            "add `roles:` with lines such as `title: {fg: cyan, bold: true}`; \
             themes/dark.yaml lists every role",
        ),
        Some(node) => match &node.value {
            Node::Map(entries) => {
                for (key, value) in entries {
                    let Some(slot) = theme.role_mut(&key.value) else {
                        unknown_role(sink, key);
                        continue;
                    };
                    if let Some(style) = read_role(sink, &key.value, value, &palette) {
                        *slot = style;
                    }
                }
            }
            other => sink.error(
                pos_of(node),
                format!(
                    "`roles` must be a mapping of role names to styles, found {}",
                    other.kind()
                ),
                "write one role per line: `title: cyan` or `title: {fg: cyan, bold: true}`",
            ),
        },
    }
    top.finish(sink);
}

fn unknown_role(sink: &mut Findings, key: &serde_saphyr::Spanned<String>) {
    let hint = match nearest(&key.value, ROLES) {
        Some(n) => format!("did you mean `{n}`? (themes/dark.yaml lists every role)"),
        None => format!("roles are: {}", ROLES.join(", ")),
    };
    sink.error(pos_of(key), format!("unknown role `{}`", key.value), hint);
}

fn read_palette(sink: &mut Findings, node: &Located) -> Palette {
    let mut palette = Palette::new();
    match &node.value {
        Node::Map(entries) => {
            for (key, value) in entries {
                let what = format!("palette colour `{}`", key.value);
                if let Some(c) = colour(sink, value, &palette, &what) {
                    palette.push((key.value.clone(), c));
                }
            }
        }
        other => sink.error(
            pos_of(node),
            format!(
                "`palette` must be a mapping of names to colours, found {}",
                other.kind()
            ),
            "write one colour per line, e.g. `cyan: &cyan \"#8be9fd\"`, then use `*cyan` in roles",
        ),
    }
    palette
}

fn read_role(sink: &mut Findings, role: &str, node: &Located, palette: &Palette) -> Option<Style> {
    let what = format!("role `{role}`");
    match &node.value {
        Node::Map(_) => {}
        Node::Str(_) | Node::Null => return colour(sink, node, palette, &what).map(fg),
        other => {
            sink.error(
                pos_of(node),
                format!(
                    "{what} must be a colour or a style mapping, found {}",
                    other.kind()
                ),
                format!("write e.g. `{role}: cyan` or `{role}: {{fg: cyan, bold: true}}`"),
            );
            return None;
        }
    }
    let f = Fields::open(sink, node, what.clone(), STYLE_KEYS)?;
    let before = sink.diags.len();
    let mut style = Style::new();
    if let Some(c) = f
        .get("fg")
        .and_then(|v| colour(sink, v, palette, &format!("`fg` of {what}")))
    {
        style = style.fg(c);
    }
    if let Some(c) = f
        .get("bg")
        .and_then(|v| colour(sink, v, palette, &format!("`bg` of {what}")))
    {
        style = style.bg(c);
    }
    for (key, m) in [
        ("bold", Modifier::BOLD),
        ("dim", Modifier::DIM),
        ("italic", Modifier::ITALIC),
        ("underline", Modifier::UNDERLINED),
        ("reversed", Modifier::REVERSED),
    ] {
        if f.flag(sink, key) {
            style = style.add_modifier(m);
        }
    }
    f.finish(sink);
    (sink.diags.len() == before).then_some(style)
}

/// Reads one colour value; `what` names it in messages ("`fg` of role `title`").
fn colour(sink: &mut Findings, node: &Located, palette: &Palette, what: &str) -> Option<Color> {
    let text = match &node.value {
        Node::Str(s) => s.trim(),
        Node::Null => {
            sink.error(
                pos_of(node),
                format!("{what} has no colour"),
                "an unquoted `#` starts a YAML comment: write \"#rrggbb\" in quotes, or a colour name",
            );
            return None;
        }
        other => {
            sink.error(
                pos_of(node),
                format!("{what} must be a colour, found {}", other.kind()),
                COLOUR_FORMS,
            );
            return None;
        }
    };
    match resolve(text, palette) {
        Ok(c) => Some(c),
        Err((message, hint)) => {
            sink.error(pos_of(node), format!("{message} in {what}"), hint);
            None
        }
    }
}

/// A colour from its text, or (message, hint).
fn resolve(text: &str, palette: &Palette) -> Result<Color, (String, String)> {
    if let Some(hex) = text.strip_prefix('#') {
        return parse_hex(hex).ok_or_else(|| {
            (
                format!("bad hex colour `{text}`"),
                "write `#` and six hex digits (0-9, a-f) in quotes, e.g. \"#8be9fd\"".to_string(),
            )
        });
    }
    // Palette first: a skin may redefine `red` as its own shade of red.
    if let Some((_, c)) = palette.iter().find(|(n, _)| n == text) {
        return Ok(*c);
    }
    let normal = text
        .to_ascii_lowercase()
        .replace('_', "-")
        .replace("grey", "gray");
    if let Some((_, c)) = NAMED.iter().find(|(n, _)| *n == normal) {
        return Ok(*c);
    }
    let mut candidates: Vec<&str> = palette.iter().map(|(n, _)| n.as_str()).collect();
    candidates.extend(NAMED.iter().map(|(n, _)| *n));
    let near = nearest(&normal, &candidates)
        .map(|n| format!("did you mean `{n}`? "))
        .unwrap_or_default();
    // Capitalised after a question, like the other hints.
    let forms = if near.is_empty() {
        COLOUR_FORMS.to_string()
    } else {
        COLOUR_FORMS.replacen("colours", "Colours", 1)
    };
    let pal = if palette.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = palette.iter().map(|(n, _)| n.as_str()).collect();
        format!(" (this palette: {})", names.join(", "))
    };
    Err((
        format!("unknown colour `{text}`"),
        format!("{near}{forms}{pal}"),
    ))
}

fn parse_hex(hex: &str) -> Option<Color> {
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some(Color::Rgb(byte(0)?, byte(2)?, byte(4)?))
}
