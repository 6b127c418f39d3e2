//! Keymap: which key runs which operator action in the cockpit.
//!
//! Owns the `Action`s the keyboard can trigger, the `Key` type that crossterm key events are
//! normalized into (so `R` and shift+r are one key on every terminal), the defaults embedded
//! from `keymaps/default.yaml`, and the user's overlay on top of them, whose problems come
//! back as located diagnostics, all of a file at once. It decides nothing about what an
//! action does and never touches the terminal; its only IO is reading the user's file
//! (`load_overlay`) and looking for it (`default_path`).

use crate::config::runbook::reader::{Fields, Findings, nearest};
use crate::config::runbook::yaml::{self, Located, Node, pos_of};
use crate::core::runbook::diag::{Diagnostic, Pos};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The built-in keymap: the defaults, and the reference a user's overlay is written against.
pub const DEFAULT_YAML: &str = include_str!("../../keymaps/default.yaml");

/// Something the operator can do with one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Complete the current manual step (enter).
    Complete,
    /// Skip the current step.
    Skip,
    /// Retry the failed step.
    Retry,
    /// Hold the run (no new step starts), or resume it.
    Hold,
    /// Add a note to the journal.
    Note,
    /// Open the rollback preview; rolling back itself needs a typed confirmation.
    Rollback,
    /// Veto the automatic rollback during its grace countdown.
    Veto,
    /// Answer an open decision with "continue" (rolling back goes through `Rollback`).
    Continue,
    /// Abort the run (a rollback included): opens a prompt that needs a reason.
    Abort,
    /// Give the second confirmation of an action the two-person rule holds (approvers).
    Approve,
    /// Ask the driver to hold, with a reason (anyone watching).
    RaiseHand,
    /// Hand the keys to a watcher, or accept keys offered to this screen.
    HandOver,
    /// Focus the next pane.
    FocusNext,
    /// Focus the previous pane.
    FocusPrev,
    /// Move up in the focused pane.
    Up,
    /// Move down in the focused pane.
    Down,
    /// Page up in the focused pane.
    PageUp,
    /// Page down in the focused pane.
    PageDown,
    /// Go to the top of the focused pane.
    Top,
    /// Go to the bottom of the focused pane.
    Bottom,
    /// Cycle the log filter level.
    LogLevel,
    /// Show or hide the help overlay.
    Help,
    /// Close the overlay (esc).
    Cancel,
    /// Quit the cockpit.
    Quit,
}

impl Action {
    /// Every action, in the order the help overlay lists them: the current step first, then
    /// moving around, then the screen.
    pub const ALL: [Action; 24] = [
        Action::Complete,
        Action::Skip,
        Action::Retry,
        Action::Hold,
        Action::Note,
        Action::Rollback,
        Action::Veto,
        Action::Continue,
        Action::Abort,
        Action::Approve,
        Action::RaiseHand,
        Action::HandOver,
        Action::FocusNext,
        Action::FocusPrev,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::LogLevel,
        Action::Help,
        Action::Cancel,
        Action::Quit,
    ];

    /// The stable snake_case name used after `run:` in keymap files.
    pub fn name(self) -> &'static str {
        match self {
            Action::Complete => "complete",
            Action::Skip => "skip",
            Action::Retry => "retry",
            Action::Hold => "hold",
            Action::Note => "note",
            Action::Rollback => "rollback",
            Action::Veto => "veto",
            Action::Continue => "continue",
            Action::Abort => "abort",
            Action::Approve => "approve",
            Action::RaiseHand => "raise_hand",
            Action::HandOver => "hand_over",
            Action::FocusNext => "focus_next",
            Action::FocusPrev => "focus_prev",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::LogLevel => "log_level",
            Action::Help => "help",
            Action::Cancel => "cancel",
            Action::Quit => "quit",
        }
    }

    /// The action called `name` in keymap files.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The help text used when no keymap file describes the action.
    pub fn description(self) -> &'static str {
        match self {
            Action::Complete => "Complete the current manual step",
            Action::Skip => "Skip the current step",
            Action::Retry => "Retry the failed step",
            Action::Hold => "Hold (no new step starts), or resume",
            Action::Note => "Add a note to the journal",
            Action::Rollback => "Roll back (opens the preview; type rollback to confirm)",
            Action::Veto => "Veto the automatic rollback while its grace countdown runs",
            Action::Continue => "Answer an open decision: continue (R rolls back)",
            Action::Abort => "Abort the run, or a rollback that cannot go on (asks why)",
            Action::Approve => "Give the second confirmation a two-person action waits for",
            Action::RaiseHand => "Raise a hand: ask the driver to hold (asks why)",
            Action::HandOver => "Hand the keys to a watcher, or accept keys offered to you",
            Action::FocusNext => "Focus the next pane",
            Action::FocusPrev => "Focus the previous pane",
            Action::Up => "Move up",
            Action::Down => "Move down",
            Action::PageUp => "Page up",
            Action::PageDown => "Page down",
            Action::Top => "Go to the top",
            Action::Bottom => "Go to the bottom",
            Action::LogLevel => "Cycle the log filter level",
            Action::Help => "Show or hide this help",
            Action::Cancel => "Close the overlay",
            Action::Quit => "Quit (the session stays resumable)",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The key itself, without modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// A character; `Char(' ')` is the space bar and `Char('R')` is shift-r.
    Char(char),
    /// Enter / return.
    Enter,
    /// Escape.
    Esc,
    /// Tab.
    Tab,
    /// Shift-tab.
    BackTab,
    /// Backspace.
    Backspace,
    /// Delete.
    Delete,
    /// Insert.
    Insert,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Home.
    Home,
    /// End.
    End,
    /// Function key 1 to 12.
    F(u8),
}

/// Canonical names of the keys that are not one character, in the order hints list them.
const NAMES: &[(&str, Code)] = &[
    ("enter", Code::Enter),
    ("esc", Code::Esc),
    ("tab", Code::Tab),
    ("backtab", Code::BackTab),
    ("space", Code::Char(' ')),
    ("up", Code::Up),
    ("down", Code::Down),
    ("left", Code::Left),
    ("right", Code::Right),
    ("pgup", Code::PageUp),
    ("pgdn", Code::PageDown),
    ("home", Code::Home),
    ("end", Code::End),
    ("backspace", Code::Backspace),
    ("delete", Code::Delete),
    ("insert", Code::Insert),
];

/// Other spellings people write, accepted but never displayed.
const ALIASES: &[(&str, Code)] = &[
    ("return", Code::Enter),
    ("escape", Code::Esc),
    ("pageup", Code::PageUp),
    ("pagedown", Code::PageDown),
    ("del", Code::Delete),
    ("ins", Code::Insert),
];

/// The highest function key the keymap binds (f13 and up are not on most keyboards).
pub const HIGHEST_F: u8 = 12;

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::Char(' ') => f.write_str("space"),
            Code::Char(c) => write!(f, "{c}"),
            Code::F(n) => write!(f, "f{n}"),
            other => {
                let name = NAMES
                    .iter()
                    .find(|(_, c)| c == other)
                    .map_or("?", |(n, _)| *n);
                f.write_str(name)
            }
        }
    }
}

/// Modifiers held with a key. Shift is only ever set on named keys (`shift-up`): on
/// characters it is part of the character (`R`), and shift-tab is `backtab`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mods {
    /// Control.
    pub ctrl: bool,
    /// Alt (option).
    pub alt: bool,
    /// Shift.
    pub shift: bool,
}

impl Mods {
    /// No modifier.
    pub const NONE: Mods = Mods {
        ctrl: false,
        alt: false,
        shift: false,
    };
}

/// A key as the keymap sees it: normalized, so equal keys compare equal whatever the
/// terminal reported. Written as text like `R`, `?`, `enter`, `ctrl-c`, `alt-x`, `f5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    code: Code,
    mods: Mods,
}

/// Why a key's text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KeyError {
    /// What is wrong.
    pub message: String,
    /// How to write it instead.
    pub hint: String,
}

impl Key {
    /// The key `code` with `mods`, normalized: shift with a character becomes the shifted
    /// character (`r` + shift = `R`), and shift with tab becomes `backtab`.
    pub fn new(code: Code, mods: Mods) -> Key {
        let mut mods = mods;
        let code = match code {
            // Terminals disagree on whether a shifted character also reports SHIFT; the
            // character itself is the reliable part, so shift is folded into it.
            Code::Char(c) if mods.shift => {
                mods.shift = false;
                Code::Char(shifted(c))
            }
            Code::Tab | Code::BackTab => {
                let back = code == Code::BackTab || mods.shift;
                mods.shift = false;
                if back { Code::BackTab } else { Code::Tab }
            }
            other => other,
        };
        Key { code, mods }
    }

    /// A character key without modifiers.
    pub fn char(c: char) -> Key {
        Key::new(Code::Char(c), Mods::NONE)
    }

    /// The key without modifiers.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The modifiers held with it.
    pub fn mods(&self) -> Mods {
        self.mods
    }

    /// Reads a key from text: one character (`R`, `?`) or a name (`enter`, `pgup`, `f5`),
    /// after any of `ctrl-`, `alt-`, `shift-`. Characters are case-sensitive (`R` is
    /// shift-r); names and modifiers are not.
    pub fn parse(text: &str) -> Result<Key, KeyError> {
        // A literal space is a key; trimming would turn it into nothing.
        let trimmed = if text == " " { text } else { text.trim() };
        if trimmed.is_empty() {
            return Err(KeyError {
                message: "empty key".to_string(),
                hint: format!("write a key such as `x`, `R`, `enter` or `ctrl-x`; {FORMS}"),
            });
        }
        let mut mods = Mods::NONE;
        let mut rest = trimmed;
        while let Some((word, after)) = strip_modifier(rest) {
            let slot = match word {
                "ctrl" => &mut mods.ctrl,
                "alt" => &mut mods.alt,
                _ => &mut mods.shift,
            };
            if *slot {
                return Err(KeyError {
                    message: format!("`{text}` repeats `{word}-`"),
                    hint: format!("write each modifier once, e.g. `{word}-x`"),
                });
            }
            *slot = true;
            rest = after;
        }
        let code = parse_code(rest).map_err(|hint| KeyError {
            message: format!("`{text}` is not a key"),
            hint,
        })?;
        Ok(Key::new(code, mods))
    }
}

const FORMS: &str = "a key is one character (`R` is shift-r, `?`) or a name (enter, esc, tab, \
backtab, space, up, down, left, right, pgup, pgdn, home, end, backspace, delete, insert, \
f1 … f12), optionally after ctrl-, alt- or shift-";

fn shifted(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Splits a leading `ctrl-` (or `ctrl+`, `control-`, `alt-`, `shift-`) off `s`, when a key
/// follows it: `ctrl--` is ctrl and minus, while a lone `-` is just minus.
fn strip_modifier(s: &str) -> Option<(&'static str, &str)> {
    const WORDS: [(&str, &str); 4] = [
        ("ctrl", "ctrl"),
        ("control", "ctrl"),
        ("alt", "alt"),
        ("shift", "shift"),
    ];
    WORDS.into_iter().find_map(|(word, canon)| {
        let n = word.len();
        let head = s.get(..n)?;
        let sep = s.as_bytes().get(n)?;
        let rest = s.get(n + 1..)?;
        (head.eq_ignore_ascii_case(word) && matches!(sep, b'-' | b'+') && !rest.is_empty())
            .then_some((canon, rest))
    })
}

/// The code named by `s`, or a hint saying how to write it.
fn parse_code(s: &str) -> Result<Code, String> {
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c.is_control() {
            return Err(format!("control characters cannot be bound; {FORMS}"));
        }
        return Ok(Code::Char(c));
    }
    let lower = s.to_ascii_lowercase();
    if let Some((_, code)) = NAMES.iter().chain(ALIASES).find(|(n, _)| *n == lower) {
        return Ok(*code);
    }
    if let Some(digits) = lower.strip_prefix('f')
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        return match digits.parse::<u8>() {
            Ok(n) if (1..=HIGHEST_F).contains(&n) => Ok(Code::F(n)),
            _ => Err(format!("function keys are f1 to f{HIGHEST_F}")),
        };
    }
    let names: Vec<&str> = NAMES.iter().chain(ALIASES).map(|(n, _)| *n).collect();
    let near = nearest(&lower, &names)
        .map(|n| format!("did you mean `{n}`? "))
        .unwrap_or_default();
    Err(format!("{near}{FORMS}"))
}

impl FromStr for Key {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Key, KeyError> {
        Key::parse(s)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.mods.alt {
            f.write_str("alt-")?;
        }
        if self.mods.shift {
            f.write_str("shift-")?;
        }
        write!(f, "{}", self.code)
    }
}

/// Keys and the actions they run, with the help text of each action.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keymap {
    /// In file order, so an action's first key is its primary one.
    bindings: Vec<(Key, Action)>,
    descs: HashMap<Action, String>,
}

impl Keymap {
    /// The action `key` runs, if any.
    pub fn lookup(&self, key: &Key) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, a)| *a)
    }

    /// The keys that run `action`; the first is the primary one, shown in the footer.
    pub fn keys_for(&self, action: Action) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(k, _)| *k)
            .collect()
    }

    /// The primary key of `action`, if it has any.
    pub fn primary(&self, action: Action) -> Option<Key> {
        self.keys_for(action).into_iter().next()
    }

    /// The help text of `action`.
    pub fn desc(&self, action: Action) -> &str {
        self.descs
            .get(&action)
            .map_or(action.description(), String::as_str)
    }

    /// One row per action for the help overlay, in `Action::ALL` order: its keys (e.g.
    /// `j, down`, or `unbound`) and its help text.
    pub fn help_rows(&self) -> Vec<(String, String)> {
        Action::ALL
            .into_iter()
            .map(|a| {
                let keys: Vec<String> = self.keys_for(a).iter().map(Key::to_string).collect();
                let keys = if keys.is_empty() {
                    "unbound".to_string()
                } else {
                    keys.join(", ")
                };
                (keys, self.desc(a).to_string())
            })
            .collect()
    }

    /// Keys for what the cockpit cannot be without, used only if the embedded defaults
    /// were broken (tests/keymap.rs rules that out): the operator can still roll back,
    /// close an overlay, get help and leave.
    fn emergency() -> Keymap {
        let bindings = vec![
            (Key::char('R'), Action::Rollback),
            (Key::char('q'), Action::Quit),
            (
                Key::new(
                    Code::Char('c'),
                    Mods {
                        ctrl: true,
                        ..Mods::NONE
                    },
                ),
                Action::Quit,
            ),
            (Key::new(Code::Esc, Mods::NONE), Action::Cancel),
            (Key::char('?'), Action::Help),
            (Key::new(Code::Enter, Mods::NONE), Action::Complete),
        ];
        Keymap {
            bindings,
            descs: HashMap::new(),
        }
    }
}

/// The default keymap, from the embedded `keymaps/default.yaml`.
pub fn default_keymap() -> Keymap {
    from_yaml(Path::new("keymaps/default.yaml"), DEFAULT_YAML.as_bytes())
        .unwrap_or_else(|_| Keymap::emergency())
}

/// Reads a complete keymap (no defaults underneath) from `bytes`, said to come from `path`.
/// This is how the embedded defaults are read.
pub fn from_yaml(path: &Path, bytes: &[u8]) -> Result<Keymap, Vec<Diagnostic>> {
    apply(&Keymap::default(), path, bytes)
}

/// Loads the user's keymap at `path` over the defaults. See `parse_overlay`.
pub fn load_overlay(path: &Path) -> Result<Keymap, Vec<Diagnostic>> {
    match std::fs::read(path) {
        Ok(bytes) => parse_overlay(path, &bytes),
        Err(e) => Err(vec![Diagnostic::error(
            path,
            Pos::default(),
            format!("cannot read the keymap: {e}"),
            "check the path (and $CUTOVER_KEYMAP), or remove the file to use the default keys",
        )]),
    }
}

/// Applies a user's keymap (`bytes`, said to come from `path`) over the defaults. The file
/// lists only changes: an action bound there loses all its default keys, a key bound there
/// leaves whatever action it had by default, and `run: none` unbinds keys. Every problem of
/// the file comes back at once, sorted by position; `rollback` and `quit` must keep a key.
pub fn parse_overlay(path: &Path, bytes: &[u8]) -> Result<Keymap, Vec<Diagnostic>> {
    apply(&default_keymap(), path, bytes)
}

/// Where the user's keymap is: `$CUTOVER_KEYMAP`, else `$XDG_CONFIG_HOME/cutover/keymap.yaml`,
/// else `~/.config/cutover/keymap.yaml`. The last two only when the file exists; the
/// variable is returned as given, so a mistyped path is reported rather than ignored.
pub fn default_path() -> Option<PathBuf> {
    default_path_with(|name| std::env::var_os(name))
}

/// `default_path` with the environment passed in, so it can be tested without touching the
/// process environment.
pub fn default_path_with(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(explicit) = set("CUTOVER_KEYMAP") {
        return Some(explicit);
    }
    // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
    let config = match set("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
        Some(dir) => dir,
        None => set("HOME")?.join(".config"),
    };
    Some(config.join("cutover").join("keymap.yaml")).filter(|p| p.is_file())
}

const ENTRY_KEYS: &[&str] = &["on", "run", "desc"];

/// Actions that must keep a key, each with a key to suggest in the hint.
const MUST_KEEP: [(Action, &str, &str); 2] = [
    (
        Action::Rollback,
        "ctrl-r",
        "rolling back must stay one key away during a cutover",
    ),
    (
        Action::Quit,
        "ctrl-q",
        "the cockpit must always be able to quit",
    ),
];

/// One binding of a file, as read.
struct Entry {
    /// The keys that parsed, and where each is written.
    keys: Vec<(Key, Pos)>,
    /// What they run; `None` unbinds them.
    run: Option<Action>,
    desc: Option<String>,
}

#[derive(Default)]
struct Read {
    entries: Vec<Entry>,
    /// Actions with a binding that had errors: whether they keep a key is unknowable, so
    /// saying they have none would only add noise to the real error.
    flawed: HashSet<Action>,
}

enum Run {
    Action(Action),
    Unbind,
    Bad,
}

fn apply(base: &Keymap, path: &Path, bytes: &[u8]) -> Result<Keymap, Vec<Diagnostic>> {
    let mut sink = Findings::new(path);
    // A blank file is a user who has not changed anything yet, not a mistake.
    let read = if bytes.iter().all(u8::is_ascii_whitespace) {
        Read::default()
    } else {
        let tree = yaml::parse_as(path, bytes, "keymap").map_err(|d| vec![d])?;
        // parse_as accepted the bytes, so they are UTF-8.
        let src = std::str::from_utf8(bytes).unwrap_or_default();
        read(&mut sink, &tree, src)
    };
    check_conflicts(&mut sink, &read.entries);
    let merged = merge(base, &read.entries);
    check_reachable(&mut sink, base, &read, &merged);
    let mut diags = sink.diags;
    if diags.is_empty() {
        return Ok(merged);
    }
    diags.sort_by_key(|d| (d.pos.line, d.pos.col));
    Err(diags)
}

fn read(sink: &mut Findings, root: &Located, src: &str) -> Read {
    let mut out = Read::default();
    let items = match &root.value {
        // Only comments: nothing changed.
        Node::Null => return out,
        Node::Seq(items) => items,
        other => {
            sink.error(
                pos_of(root),
                format!("a keymap is a list of bindings, found {}", other.kind()),
                "write one binding per line: `- { on: \"x\", run: rollback }`",
            );
            return out;
        }
    };
    for item in items {
        let Some(mut fields) = Fields::open(sink, item, "a binding", ENTRY_KEYS) else {
            continue;
        };
        let run = read_run(sink, &fields);
        let what = match run {
            Run::Action(a) => format!("the `{a}` binding"),
            Run::Unbind => "the `none` binding".to_string(),
            Run::Bad => "the binding".to_string(),
        };
        fields.rename(what.clone());
        let (keys, keys_ok) = read_on(sink, &fields, &what, src);
        let desc = fields.opt_str(sink, "desc");
        fields.finish(sink);
        match run {
            Run::Action(a) => {
                if !keys_ok {
                    out.flawed.insert(a);
                }
                out.entries.push(Entry {
                    keys,
                    run: Some(a),
                    desc,
                });
            }
            Run::Unbind => out.entries.push(Entry {
                keys,
                run: None,
                desc: None,
            }),
            Run::Bad => {}
        }
    }
    out
}

fn read_run(sink: &mut Findings, fields: &Fields) -> Run {
    let hint = "add what the keys do, e.g. `run: rollback`, or `run: none` to unbind them";
    let Some(name) = fields.req_str(sink, "run", hint) else {
        return Run::Bad;
    };
    if name == "none" {
        return Run::Unbind;
    }
    if let Some(a) = Action::from_name(&name) {
        return Run::Action(a);
    }
    let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
    names.push("none");
    let near = nearest(&name, &names)
        .map(|n| format!("did you mean `{n}`? "))
        .unwrap_or_default();
    sink.error(
        fields.pos_of("run"),
        format!("unknown action `{name}`"),
        format!(
            "{near}actions: {}; or `none` to unbind the keys",
            names[..names.len() - 1].join(", ")
        ),
    );
    Run::Bad
}

/// The keys of a binding; the flag is false when any of them had a problem.
fn read_on(sink: &mut Findings, fields: &Fields, what: &str, src: &str) -> (Vec<(Key, Pos)>, bool) {
    let Some(on) = fields.get("on") else {
        sink.error(
            fields.pos(),
            format!("{what} is missing `on`"),
            "add the key it is for: `on: \"x\"`, or several: `on: [\"x\", \"ctrl-x\"]`",
        );
        return (Vec::new(), false);
    };
    let items: Vec<&Located> = match &on.value {
        Node::Seq(items) if items.is_empty() => {
            sink.error(
                pos_of(on),
                format!("`on` of {what} is an empty list"),
                "list at least one key, or remove the binding",
            );
            return (Vec::new(), false);
        }
        Node::Seq(items) => items.iter().collect(),
        _ => vec![on],
    };
    let mut keys = Vec::new();
    let mut ok = true;
    for item in items {
        let pos = pos_of(item);
        let text = match &item.value {
            Node::Str(s) => Some(s.clone()),
            // YAML reads a bare `n` or `y` as true/false and `1` as a number; the key the
            // user meant is the text they wrote.
            Node::Bool(_) | Node::Int(_) | Node::Float(_) => raw(src, item).map(str::to_string),
            _ => None,
        };
        let Some(text) = text else {
            ok = false;
            sink.error(
                pos,
                format!("a key in {what} must be text, found {}", item.value.kind()),
                "write the key in quotes, e.g. `on: \"?\"` or `on: [\"j\", \"down\"]`",
            );
            continue;
        };
        match Key::parse(&text) {
            Ok(key) => keys.push((key, pos)),
            Err(e) => {
                ok = false;
                sink.error(pos, format!("{} (in {what})", e.message), e.hint);
            }
        }
    }
    (keys, ok)
}

/// The source text of a scalar, as written.
fn raw<'s>(src: &'s str, node: &Located) -> Option<&'s str> {
    let span = node.referenced.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    src.get(start..start.checked_add(len)?)
}

fn target(run: Option<Action>) -> &'static str {
    run.map_or("none", Action::name)
}

fn check_conflicts(sink: &mut Findings, entries: &[Entry]) {
    let mut seen: HashMap<Key, (Option<Action>, Pos)> = HashMap::new();
    for e in entries {
        for (key, pos) in &e.keys {
            match seen.get(key) {
                None => {
                    seen.insert(*key, (e.run, *pos));
                }
                Some((first_run, first)) if *first_run != e.run => sink.error(
                    *pos,
                    format!(
                        "`{key}` is bound twice: to `{}` at line {} and to `{}` at line {}",
                        target(*first_run),
                        first.line,
                        target(e.run),
                        pos.line
                    ),
                    "a key runs one action: remove one of the two, or choose another key",
                ),
                // The same key for the same action twice changes nothing.
                Some(_) => {}
            }
        }
    }
}

fn merge(base: &Keymap, entries: &[Entry]) -> Keymap {
    let replaced: HashSet<Action> = entries.iter().filter_map(|e| e.run).collect();
    let taken: HashSet<Key> = entries
        .iter()
        .flat_map(|e| e.keys.iter().map(|(k, _)| *k))
        .collect();
    let mut bindings: Vec<(Key, Action)> = base
        .bindings
        .iter()
        .filter(|(k, a)| !replaced.contains(a) && !taken.contains(k))
        .copied()
        .collect();
    let mut descs: HashMap<Action, String> = HashMap::new();
    for e in entries {
        let Some(action) = e.run else { continue };
        for (key, _) in &e.keys {
            // On a conflict (already reported) the first binding wins.
            if !bindings.iter().any(|(k, _)| k == key) {
                bindings.push((*key, action));
            }
        }
        if let Some(d) = &e.desc {
            descs.entry(action).or_insert_with(|| d.clone());
        }
    }
    let mut all = base.descs.clone();
    all.extend(descs);
    Keymap {
        bindings,
        descs: all,
    }
}

fn check_reachable(sink: &mut Findings, base: &Keymap, read: &Read, merged: &Keymap) {
    for (action, example, why) in MUST_KEEP {
        if !merged.keys_for(action).is_empty() || read.flawed.contains(&action) {
            continue;
        }
        let had = base.keys_for(action);
        // Point at the binding that took the last key away.
        let culprit = read.entries.iter().find_map(|e| {
            e.keys
                .iter()
                .find(|(k, _)| had.contains(k))
                .map(|(k, p)| (*k, *p, e.run))
        });
        let (pos, cause) = match culprit {
            Some((key, pos, None)) => (pos, format!(": `{key}` is unbound here")),
            Some((key, pos, Some(other))) => (pos, format!(": `{key}` now runs `{other}`")),
            None => (Pos::default(), String::new()),
        };
        sink.error(
            pos,
            format!("no key is left for `{action}`{cause}"),
            format!(
                "{why}; bind it to another key, e.g. `- {{ on: \"{example}\", run: {action} }}`"
            ),
        );
    }
}
