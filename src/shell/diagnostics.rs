//! The program's own diagnostics (the `log` crate's records): which are kept, and where they
//! go. The program's records from DEBUG up are kept, its dependencies' from WARN up only (a
//! database driver logs every query at DEBUG, which would bury the cockpit's own). In the
//! cockpit they go into tui-logger's buffer, and the loop moves them into its widget before
//! a frame: no thread wakes between frames. Headless, they go to stderr from INFO up.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where the records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// tui-logger's buffer, for the cockpit's log pane.
    Cockpit,
    /// Standard error, for the headless printer (stdout is the event stream).
    Stderr,
}

static KEPT: AtomicUsize = AtomicUsize::new(0);

struct Diagnostics {
    sink: Destination,
}

/// Whether a record of `target` at `level` is kept.
pub fn keeps(target: &str, level: Level) -> bool {
    let ours =
        target == "cutover" || target.starts_with("cutover::") || OWN_TARGETS.contains(&target);
    if ours {
        level <= Level::Debug
    } else {
        level <= Level::Warn
    }
}

/// Targets the program logs to besides its module paths.
const OWN_TARGETS: &[&str] = &["journal", "output", "cockpit", "poller"];

impl Log for Diagnostics {
    fn enabled(&self, m: &Metadata) -> bool {
        keeps(m.target(), m.level())
            && (self.sink == Destination::Cockpit || m.level() <= Level::Info)
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        KEPT.fetch_add(1, Ordering::Relaxed);
        match self.sink {
            Destination::Cockpit => tui_logger::Drain::new().log(r),
            Destination::Stderr => {
                let text = crate::shell::secret::redact(&r.args().to_string());
                eprintln!("cutover: {}: {text}", r.level().as_str().to_lowercase());
            }
        }
    }

    fn flush(&self) {}
}

/// Installs the diagnostics logger for the process (once; later calls change nothing).
pub fn install(sink: Destination) {
    if log::set_boxed_logger(Box::new(Diagnostics { sink })).is_ok() {
        log::set_max_level(LevelFilter::Debug);
    }
}

/// How many records have been kept so far.
pub fn kept() -> usize {
    KEPT.load(Ordering::Relaxed)
}

/// Moves kept records into the cockpit's widget; the loop calls it before a frame.
pub fn move_to_widget() {
    tui_logger::move_events();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_records_are_kept_from_debug_and_dependencies_from_warn() {
        assert!(keeps("cutover::shell::poller", Level::Debug));
        assert!(keeps("journal", Level::Info));
        assert!(!keeps("tokio_postgres::query", Level::Debug));
        assert!(!keeps("tokio_postgres::query", Level::Info));
        assert!(keeps("tokio_postgres::connection", Level::Warn));
        assert!(!keeps("hyper_util", Level::Info));
        assert!(!keeps("cutover", Level::Trace));
    }
}
