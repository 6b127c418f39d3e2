//! The journal's events: one typed `Event` per thing that can happen, written by the engine,
//! the monitor and the runtime, and read back by replay, the printer, the cockpit and (next)
//! watchers and the report. A `Record` is one journal line: the event with its sequence
//! number, wall time, T-time, mode and operator.
//!
//! The file on disk is SPEC.md's contract, field for field: `Record` serializes to exactly
//! the JSON the untyped journal wrote (`seq, at, t, mode, kind, operator, step`, then the
//! event's fields in key order), durations and T-times as seconds. The file itself
//! (appending, fsync, repair) is `shell::journal`.

pub mod chain;
mod fields;
mod kinds;
mod record;

pub use kinds::*;
pub use record::{Record, RecordError};

/// Operator name for automatic actions.
pub const SYSTEM: &str = "system";

/// `live` or `drill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A real cutover.
    Live,
    /// A rehearsal.
    Drill,
}

impl Mode {
    /// The word used on screen and in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Drill => "drill",
        }
    }
}

/// What the engine asks to journal: an event and who did it. The runtime adds `seq`, `at`,
/// `t` and `mode` when it writes the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Who did it; `system` for automatic actions.
    pub operator: String,
    /// The OS user of the person who did it, as the kernel knows them (the driver process's
    /// user for its own keys, a watcher's peer credentials for what it asked); none for
    /// automatic actions. What proves who confirmed a step, whatever `--operator` says.
    pub os_user: Option<String>,
    /// What happened.
    pub event: Event,
}

impl Entry {
    /// The event's kind as written on disk.
    pub fn kind(&self) -> &'static str {
        self.event.kind()
    }

    /// The same entry, made by OS user `user`.
    pub fn as_user(mut self, user: &str) -> Entry {
        self.os_user = Some(user.to_string());
        self
    }

    /// The step it is about, if any.
    pub fn step(&self) -> Option<&str> {
        self.event.step()
    }

    /// The event's fields as they are written on disk (`kind` included), for checks that
    /// read an event the way a script reading the journal would.
    pub fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(&self.event) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        }
    }
}

impl Event {
    /// This event, done by `operator`.
    pub fn by(self, operator: &str) -> Entry {
        Entry {
            operator: operator.to_string(),
            os_user: None,
            event: self,
        }
    }

    /// This event, done by the system itself.
    pub fn by_system(self) -> Entry {
        self.by(SYSTEM)
    }
}
