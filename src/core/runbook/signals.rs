//! The monitoring part of the runbook model: connections, metrics (live reader and drill
//! simulation), triggers with their conditions and baselines, canary gates and drill
//! scenarios. Built by `build_signals`, checked against the steps by `validate`.

use super::diag::Pos;
use crate::core::time::Ms;
use std::collections::BTreeMap;

/// A `connections:` entry: how to reach a platform. Values are kept as written (with their
/// `${env:NAME}` references) and resolved only when a live run starts, so a drill or a
/// `validate` never needs the secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// Name metrics refer to with `from:`.
    pub name: String,
    /// Reader kind: databricks_sql, snowflake_sql, postgres, prometheus, http_json.
    pub kind: String,
    /// Settings as written, with where each one is.
    pub fields: BTreeMap<String, (String, Pos)>,
    /// `headers:` (http_json), as written.
    pub headers: Vec<(String, String, Pos)>,
    /// Where it is.
    pub pos: Pos,
}

/// Which pane a metric belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The source (blue) platform.
    Source,
    /// The target (green) platform.
    Target,
}

impl Side {
    /// `source` or `target`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Target => "target",
        }
    }
}

/// How a live run reads a metric.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveRead {
    /// A query on a shared connection.
    Query {
        /// Connection name.
        from: String,
        /// What to ask.
        query: Query,
    },
    /// Run a program and read a number from its output.
    Command(Vec<String>),
}

/// Drill values for a metric: a baseline with noise and a trend.
#[derive(Debug, Clone, PartialEq)]
pub struct Sim {
    /// The normal value.
    pub baseline: f64,
    /// Noise amplitude (values vary by up to ± this much).
    pub noise: f64,
    /// Change per hour from T-0 (negative counts down).
    pub trend: f64,
    /// Lowest value the simulation gives (default 0: most metrics cannot go negative).
    pub min: f64,
    /// Highest value the simulation gives.
    pub max: Option<f64>,
}

/// One metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Id used by triggers and gates.
    pub id: String,
    /// Shown name.
    pub title: String,
    /// Pane.
    pub side: Side,
    /// Unit shown after the value (`%`, `ms`, `min`, `TB`, …).
    pub unit: Option<String>,
    /// Poll interval.
    pub every: Ms,
    /// Older than this, the last value is stale (UNKNOWN).
    pub stale_after: Ms,
    /// A read taking longer fails.
    pub timeout: Ms,
    /// Live reader (none: the metric exists only in drills).
    pub live: Option<LiveRead>,
    /// Drill simulation (none: the metric shows NO DATA in drills).
    pub sim: Option<Sim>,
    /// Where it is.
    pub pos: Pos,
}

/// Comparison in a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Op {
    /// The symbol.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => "≥",
            Op::Lt => "<",
            Op::Le => "≤",
        }
    }

    /// `a op b`.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
        }
    }
}

/// What a value is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Threshold {
    /// A fixed number (in the metric's unit).
    Value(f64),
    /// `N x baseline`.
    TimesBaseline(f64),
    /// `N% above baseline` / `N% below baseline`: baseline × (1 ± N/100).
    PercentOfBaseline(f64),
}

/// A condition on a metric, as written (`error-rate > 1%`, `latency > 2x baseline`,
/// `throughput 20% below baseline`).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Metric id.
    pub metric: String,
    /// Comparison.
    pub op: Op,
    /// Against what.
    pub threshold: Threshold,
    /// The text as written, for the screen and the journal.
    pub text: String,
}

impl Condition {
    /// True when the condition needs a baseline.
    pub fn needs_baseline(&self) -> bool {
        !matches!(self.threshold, Threshold::Value(_))
    }

    /// The number the value is compared with, given the baseline.
    pub fn limit(&self, baseline: Option<f64>) -> Option<f64> {
        match self.threshold {
            Threshold::Value(v) => Some(v),
            Threshold::TimesBaseline(k) => baseline.map(|b| b * k),
            Threshold::PercentOfBaseline(p) => baseline.map(|b| b * (1.0 + p / 100.0)),
        }
    }
}

/// A step's `until:` condition (`backfill-copied >= 5PB`): what it waits for, with the
/// threshold in the metric's unit, and the unit it was written in for people (the screen
/// says `3.2 PB / 5 PB`, not `3200 TB / 5000 TB`).
#[derive(Debug, Clone, PartialEq)]
pub struct Until {
    /// The condition, threshold in the metric's unit.
    pub cond: Condition,
    /// The unit values are shown in: the one written after the threshold, else the metric's.
    pub unit: String,
    /// How many of the metric's units one shown unit is (1000 for `PB` on a metric in `TB`).
    pub scale: f64,
}

impl Until {
    /// A value in the metric's unit, in the shown unit.
    pub fn shown(&self, v: f64) -> f64 {
        if self.scale == 0.0 { v } else { v / self.scale }
    }

    /// The limit in the metric's unit (until-steps compare with fixed values only).
    pub fn limit(&self) -> Option<f64> {
        match self.cond.threshold {
            Threshold::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// Where a baseline comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// A fixed number.
    Fixed(f64),
    /// Another metric's current value (typically the source side's).
    Metric(String),
    /// The metric's value when a step finished.
    AtStep {
        /// Step id.
        step: String,
        /// Metric to capture (default: the condition's).
        of: String,
    },
    /// The mean of the metric over a window of the T clock (e.g. `T-1h..T-0`).
    Mean {
        /// Window start.
        from: Ms,
        /// Window end.
        to: Ms,
        /// Metric to average (default: the condition's).
        of: String,
    },
}

/// What a breached trigger does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerAction {
    /// Start the rollback (after the optional grace countdown).
    Rollback,
    /// Ask the operator to roll back or continue, with a deadline and a default.
    Decide,
    /// Tell everyone; nothing else.
    Alert,
}

impl TriggerAction {
    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerAction::Rollback => "rollback",
            TriggerAction::Decide => "decide",
            TriggerAction::Alert => "alert",
        }
    }
}

/// A decision's possible answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Roll back.
    Rollback,
    /// Carry on.
    Continue,
}

impl Choice {
    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Rollback => "rollback",
            Choice::Continue => "continue",
        }
    }
}

/// `decide:` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decide {
    /// How long the operator has.
    pub within: Ms,
    /// What happens when nobody chose in time.
    pub default: Choice,
}

/// What unknown data does once it lasted longer than tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownAction {
    /// Show it only.
    Ignore,
    /// Alert.
    Alert,
    /// Ask the operator (rollback or continue).
    Decide,
    /// Hold the runbook: no new step starts until the operator resumes.
    Hold,
}

impl UnknownAction {
    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            UnknownAction::Ignore => "ignore",
            UnknownAction::Alert => "alert",
            UnknownAction::Decide => "decide",
            UnknownAction::Hold => "hold",
        }
    }
}

/// `on_unknown:` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnUnknown {
    /// How long unknown data is tolerated.
    pub after: Ms,
    /// Then what.
    pub then: UnknownAction,
}

/// A rollback trigger (or alert) watching one condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// Id.
    pub id: String,
    /// Shown name.
    pub title: String,
    /// The condition that is a breach.
    pub when: Condition,
    /// Where the baseline comes from, when the condition has one.
    pub baseline: Option<Baseline>,
    /// How long the breach must last (measured on sample timestamps).
    pub sustain: Ms,
    /// Fewest breaching samples that count as sustained.
    pub min_samples: u32,
    /// What to do.
    pub action: TriggerAction,
    /// Rollback: countdown during which the operator can veto.
    pub grace: Ms,
    /// Rollback: how long a veto holds unless the trigger recovers first; then the trigger
    /// may act again on a breach that is still there.
    pub veto_for: Ms,
    /// Decide: deadline and default.
    pub decide: Decide,
    /// Unknown data.
    pub on_unknown: OnUnknown,
    /// Evaluated and journaled, never acting.
    pub dry_run: bool,
    /// Armed once this step is done (default: from the start).
    pub after: Option<String>,
    /// Disarmed once this step is done.
    pub until: Option<String>,
    /// Where it is.
    pub pos: Pos,
}

/// What a failing canary gate does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateFail {
    /// Start the rollback.
    Rollback,
    /// Stop and ask (retry the stage, skip, or roll back).
    Pause,
}

impl GateFail {
    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            GateFail::Rollback => "rollback",
            GateFail::Pause => "pause",
        }
    }
}

/// A canary gate: a condition that must hold on fresh data.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// What must be true (`error-rate < 0.1%`).
    pub check: Condition,
    /// Baseline for relative checks.
    pub baseline: Option<Baseline>,
    /// How long a violation must last before the gate fails (0: the first fresh violating
    /// sample fails it).
    pub sustain: Ms,
}

/// A canary stage: the step's weight, gates and how it advances.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryStage {
    /// Traffic weight in percent.
    pub weight: Option<u32>,
    /// Gates, all of which must hold on fresh data for the stage to advance.
    pub gates: Vec<Gate>,
    /// Advance by itself when the gates hold (else on the operator's key).
    pub auto: bool,
    /// What a failing gate does.
    pub on_fail: GateFail,
}

/// How a fault bends a simulated metric.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// The value jumps to this.
    Spike(f64),
    /// The value moves steadily to this over the fault's length.
    Drift(f64),
    /// No samples at all.
    Silence,
    /// Every read fails with this message.
    Errors(String),
}

impl FaultKind {
    /// The word.
    pub fn as_str(&self) -> &'static str {
        match self {
            FaultKind::Spike(_) => "spike",
            FaultKind::Drift(_) => "drift",
            FaultKind::Silence => "silence",
            FaultKind::Errors(_) => "errors",
        }
    }
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Metric id.
    pub metric: String,
    /// From when.
    pub at: Ms,
    /// For how long (none: to the end).
    pub lasts: Option<Ms>,
    /// What happens.
    pub kind: FaultKind,
}

impl Fault {
    /// True when the fault is active at `t`.
    pub fn active(&self, t: Ms) -> bool {
        t >= self.at && self.lasts.is_none_or(|d| t < self.at + d)
    }
}

/// How a scenario is expected to end (checked by the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Completed.
    Completed,
    /// Rolled back.
    RolledBack,
    /// Stopped for the operator (a failure that pauses, in a headless drill: exit 1, the
    /// session resumable).
    Stopped,
}

/// A drill scenario: faults to inject, and what should happen.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name for `--scenario`.
    pub name: String,
    /// What it rehearses.
    pub description: Option<String>,
    /// Faults.
    pub faults: Vec<Fault>,
    /// Steps to fail as with `--fail`.
    pub fail: Option<String>,
    /// Triggers it is meant to trip.
    pub trips: Vec<String>,
    /// How it should end.
    pub expect: Option<Expect>,
    /// Where it is.
    pub pos: Pos,
}

/// Everything the runbook says about watching the platforms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signals {
    /// Connections by name.
    pub connections: Vec<Connection>,
    /// Metrics.
    pub metrics: Vec<Metric>,
    /// Triggers.
    pub triggers: Vec<Trigger>,
    /// Canary: the command that sets the weight (`{weight}` is replaced in its arguments).
    pub set_weight: Option<Vec<String>>,
    /// Canary stages by step id.
    pub stages: BTreeMap<String, CanaryStage>,
    /// Drill scenarios.
    pub scenarios: Vec<Scenario>,
}

impl Signals {
    /// The metric with this id.
    pub fn metric(&self, id: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.id == id)
    }

    /// The scenario with this name.
    pub fn scenario(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.name == name)
    }
}

/// What a metric asks of its connection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// SQL for the SQL readers, PromQL for Prometheus, a path (joined to the connection's
    /// URL) for `http_json`.
    pub text: String,
    /// SQL: the column holding the value (default: the first column of the first row).
    pub column: Option<String>,
    /// SQL: a column holding the sample's time (epoch seconds, or an RFC 3339 string).
    pub time_column: Option<String>,
    /// `http_json`: RFC 6901 JSON pointer to the value (e.g. `/data/error_rate`).
    pub pointer: Option<String>,
}
