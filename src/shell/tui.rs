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
    // A fixed viewport, resized on the terminal's resize events (`Cockpit::requests`): a
    // full-screen one asks the terminal its size before every frame (open /dev/tty, ioctl,
    // close: three system calls a second on an idle cockpit).
    let (w, h) = crossterm::terminal::size()?;
    let term = Terminal::with_options(
        CrosstermBackend::new(out),
        ratatui::TerminalOptions {
            viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, w, h)),
        },
    )?;
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

/// What the key reader sends: a terminal event, or `None` once the terminal is gone.
pub type TermInput = Option<std::io::Result<crossterm::event::Event>>;

/// Reads terminal events on a thread of its own and hands them to the loop. The thread
/// sleeps in the kernel until the terminal has input (no wake-ups while idle), and it checks
/// for a hang-up before each read: crossterm's reader loops forever on a terminal that has
/// gone away (every read returns end-of-file), which must never stall the loop that handles
/// SIGHUP and stops the run.
pub fn key_reader() -> tokio::sync::mpsc::Receiver<TermInput> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let spawned = std::thread::Builder::new()
        .name("keys".into())
        .spawn(move || {
            // The terminal crossterm reads: stdin when it is one, else the controlling one.
            use std::io::IsTerminal;
            let tty = if std::io::stdin().is_terminal() {
                None
            } else {
                std::fs::File::open("/dev/tty").ok()
            };
            let hung_up = |t| match &tty {
                Some(f) => hung_up(f, t),
                None => hung_up(&std::io::stdin(), t),
            };
            loop {
                // First what crossterm has already read: one read may bring several keys (a
                // paste, a fast typist), and the terminal will not signal them again.
                loop {
                    if hung_up(nix::poll::PollTimeout::ZERO) {
                        let _ = tx.blocking_send(None);
                        return;
                    }
                    match crossterm::event::poll(std::time::Duration::ZERO) {
                        Ok(true) => {
                            let ev = crossterm::event::read();
                            let failed = ev.is_err();
                            if tx.blocking_send(Some(ev)).is_err() || failed {
                                return;
                            }
                        }
                        Ok(false) => break,
                        Err(e) => {
                            let _ = tx.blocking_send(Some(Err(e)));
                            return;
                        }
                    }
                }
                // Then sleep in the kernel until the terminal has more.
                if hung_up(nix::poll::PollTimeout::NONE) {
                    let _ = tx.blocking_send(None);
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        log::error!(target: "cutover", "cannot read keys: {e}");
    }
    rx
}

/// Waits up to `timeout` for the terminal to have input; true when it hung up (or cannot be
/// polled).
fn hung_up(tty: &impl std::os::fd::AsFd, timeout: nix::poll::PollTimeout) -> bool {
    use nix::poll::{PollFd, PollFlags, poll};
    let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, timeout) {
            Ok(_) => {
                let r = fds[0].revents().unwrap_or(PollFlags::empty());
                return r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return true,
        }
    }
}
