//! The journal's events: what the engine, the monitor and the runtime record, and what every
//! front end reads back. The file itself (appending, fsync, repair) is `shell::journal`.

use crate::core::time::Ms;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Operator name for automatic actions.
pub const SYSTEM: &str = "system";

/// `live` or `drill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// What the engine asks to journal: the runtime adds `seq`, `at`, `t` and `mode`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// What happened, e.g. `step_done`.
    pub kind: String,
    /// Who did it; `system` for automatic actions.
    pub operator: String,
    /// The step concerned, if any.
    pub step: Option<String>,
    /// Further fields.
    pub data: Map<String, Value>,
}

impl Entry {
    /// An entry of `kind` by `operator`.
    pub fn new(kind: &str, operator: &str) -> Self {
        Self {
            kind: kind.into(),
            operator: operator.into(),
            step: None,
            data: Map::new(),
        }
    }

    /// Sets the step.
    pub fn step(mut self, id: &str) -> Self {
        self.step = Some(id.into());
        self
    }

    /// Adds a field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, 3 … with no gaps.
    pub seq: u64,
    /// Wall time, RFC 3339.
    pub at: String,
    /// Seconds relative to T-0.
    pub t: f64,
    /// live or drill.
    pub mode: Mode,
    /// What happened.
    pub kind: String,
    /// Who did it.
    pub operator: String,
    /// The step, for step events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub data: Map<String, Value>,
}

impl Event {
    /// T-time in milliseconds.
    pub fn t_ms(&self) -> Ms {
        (self.t * 1000.0).round() as Ms
    }

    /// A text field.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// A number field.
    pub fn num(&self, key: &str) -> Option<f64> {
        self.data.get(key).and_then(Value::as_f64)
    }

    /// A true/false field.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.data.get(key).and_then(Value::as_bool)
    }
}
