//! The terminal: raw mode and the alternate screen on, and always off again — on quit, on
//! error (a guard's `Drop`), on a panic of the UI thread, and on signals (the cockpit loop).
//!
//! A panic in a background thread must not restore the terminal under a running cockpit: the
//! hook records it instead, and the cockpit shows and journals it.

use crate::config::keymap::{self, Code, Key, Mods};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{BufWriter, Stdout};
use std::sync::Mutex;

/// The cockpit's terminal. Buffered, so a frame reaches the terminal in one write (stdout
/// alone is line-buffered and would flush several times a frame).
pub type Term = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// Panics of background threads, waiting to be shown and journaled.
static BACKGROUND_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Restores the terminal when dropped.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen; safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Enters raw mode and the alternate screen and installs the panic hook.
pub fn init() -> std::io::Result<(Term, Guard)> {
    install_panic_hook();
    enable_raw_mode()?;
    let guard = Guard;
    execute!(std::io::stdout(), EnterAlternateScreen)?;
    let out = BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let term = Terminal::new(CrosstermBackend::new(out))?;
    Ok((term, guard))
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A task may run on the main thread too (a drill's single-threaded runtime): only a
        // panic of the UI itself, outside any task, takes the terminal down.
        let main = std::thread::current().name() == Some("main") && tokio::task::try_id().is_none();
        if main {
            restore();
            previous(info);
        } else if let Ok(mut v) = BACKGROUND_PANICS.lock() {
            let place = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            v.push(format!("{msg}{place}"));
        }
    }));
}

/// Background panics recorded since the last call.
pub fn take_background_panics() -> Vec<String> {
    BACKGROUND_PANICS
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
}

/// The key of a terminal event, or `None` for keys the keymap cannot bind (media keys,
/// lone modifiers, f13 and up) and for super, hyper and meta chords, which belong to
/// the desktop: passing them on as plain keys would fire actions nobody asked for. Key
/// releases are no keys.
pub fn key_of(ev: &KeyEvent) -> Option<Key> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let m = ev.modifiers;
    if m.intersects(KeyModifiers::SUPER | KeyModifiers::HYPER | KeyModifiers::META) {
        return None;
    }
    let code = match ev.code {
        KeyCode::Char(c) if !c.is_control() => Code::Char(c),
        KeyCode::Enter => Code::Enter,
        KeyCode::Esc => Code::Esc,
        KeyCode::Tab => Code::Tab,
        KeyCode::BackTab => Code::BackTab,
        KeyCode::Backspace => Code::Backspace,
        KeyCode::Delete => Code::Delete,
        KeyCode::Insert => Code::Insert,
        KeyCode::Up => Code::Up,
        KeyCode::Down => Code::Down,
        KeyCode::Left => Code::Left,
        KeyCode::Right => Code::Right,
        KeyCode::PageUp => Code::PageUp,
        KeyCode::PageDown => Code::PageDown,
        KeyCode::Home => Code::Home,
        KeyCode::End => Code::End,
        KeyCode::F(n) if (1..=keymap::HIGHEST_F).contains(&n) => Code::F(n),
        _ => return None,
    };
    let mods = Mods {
        ctrl: m.contains(KeyModifiers::CONTROL),
        alt: m.contains(KeyModifiers::ALT),
        shift: m.contains(KeyModifiers::SHIFT),
    };
    Some(Key::new(code, mods))
}
