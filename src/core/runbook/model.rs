//! The validated runbook: plain typed data the engine runs. Built only by `build`, so every
//! value here has passed the loader's checks. Positions are kept for later messages.

use super::diag::Pos;
use crate::core::time::Ms;
use std::path::PathBuf;

/// A step's id as the runbook gives it (`switch-dns`): what `--fail`, the journal's `step`
/// and the keys name a step by. Written as a plain string.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct StepId(pub String);

impl StepId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for StepId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for StepId {
    fn from(s: &str) -> Self {
        StepId(s.to_string())
    }
}

impl From<String> for StepId {
    fn from(s: String) -> Self {
        StepId(s)
    }
}

impl From<&String> for StepId {
    fn from(s: &String) -> Self {
        StepId(s.clone())
    }
}

impl PartialEq<str> for StepId {
    fn eq(&self, o: &str) -> bool {
        self.0 == o
    }
}

/// A loaded, validated runbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The folder scripts are relative to and commands run in.
    pub dir: PathBuf,
    /// Format version (1).
    pub version: u32,
    /// Title shown in the header.
    pub title: String,
    /// Cutover strategy.
    pub strategy: Strategy,
    /// Free text for the operator.
    pub description: Option<String>,
    /// The blue side.
    pub source: Platform,
    /// The green side.
    pub target: Platform,
    /// The live T-0, if the runbook fixes one.
    pub t0: Option<chrono::DateTime<chrono::Utc>>,
    /// How long after T-0 a rollback stays possible.
    pub rollback_window: Option<Ms>,
    /// What to do once rollback is no longer possible (past the point of no return): the
    /// documented recovery the cockpit shows when `R` can no longer roll back.
    pub recovery: Option<String>,
    /// Phases in order; their steps run in order.
    pub phases: Vec<Phase>,
    /// Rollback procedures, in the order the cutover reaches them (`rollback:` as one mapping
    /// or a list).
    pub rollbacks: Vec<Procedure>,
    /// Connections, metrics, triggers, canary and scenarios.
    pub signals: super::signals::Signals,
    /// Roles and the two-person rule of a shared session.
    pub team: super::team::Team,
    /// SHA-256 of the file's bytes, to notice a runbook edited under a running session.
    pub fingerprint: String,
}

/// blue-green, canary, phased or big-bang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Parallel environments, one switch.
    BlueGreen,
    /// Gradual traffic shift.
    Canary,
    /// Workload by workload.
    Phased,
    /// All at once, planned downtime.
    BigBang,
}

impl Strategy {
    /// The word used in runbooks.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::BlueGreen => "blue-green",
            Strategy::Canary => "canary",
            Strategy::Phased => "phased",
            Strategy::BigBang => "big-bang",
        }
    }
}

/// One side of the cutover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Display name, e.g. `Snowflake`.
    pub name: String,
}

/// A named group of steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Unique id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Where the phase starts in the file.
    pub pos: Pos,
}

/// What runs for an automated step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Program and arguments, no shell.
    Argv(Vec<String>),
    /// A string run with `sh -c`.
    Shell(String),
}

impl Command {
    /// How the command is shown to people.
    pub fn display(&self) -> String {
        match self {
            Command::Argv(v) => v
                .iter()
                .map(|a| {
                    if a.is_empty() || a.contains([' ', '"', '\'', '$', '\\']) {
                        format!("'{}'", a.replace('\'', r"'\''"))
                    } else {
                        a.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
            Command::Shell(s) => s.clone(),
        }
    }
}

/// What a failed step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Stop and wait for the operator.
    Pause,
    /// Try again up to `retries` times, then pause.
    Retry,
    /// Stop the forward runbook and run the rollback procedure.
    Rollback,
    /// Record the failure and go on.
    Continue,
}

impl OnFailure {
    /// The word used in runbooks and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Pause => "pause",
            OnFailure::Retry => "retry",
            OnFailure::Rollback => "rollback",
            OnFailure::Continue => "continue",
        }
    }
}

/// Default timeout of a command that declares none: long enough for real work, short
/// enough that a hung command is noticed within a cutover window.
pub const DEFAULT_TIMEOUT: Ms = 15 * 60 * 1000;

/// One step, forward or rollback.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Unique id across the runbook.
    pub id: String,
    /// What the step does.
    pub title: String,
    /// Phase id (`rollback` for rollback steps).
    pub phase: String,
    /// When it is due, relative to T-0; `None`: as soon as the step before is finished.
    pub at: Option<Ms>,
    /// Who is responsible.
    pub owner: Option<String>,
    /// Longer text for the operator.
    pub description: Option<String>,
    /// How long it should take.
    pub expect: Option<Ms>,
    /// The command; `None` makes it a manual step the operator confirms.
    pub run: Option<Command>,
    /// A check run after `run` (or the confirmation); exit 0 means verified.
    pub verify: Option<Command>,
    /// Real-time limit for each command.
    pub timeout: Ms,
    /// What a failure does.
    pub on_failure: OnFailure,
    /// Extra attempts for `on_failure: retry`.
    pub retries: u32,
    /// Wait between attempts.
    pub retry_delay: Ms,
    /// After the work, hold this long before the step counts as done (a soak).
    pub hold: Option<Ms>,
    /// Safe to run again if the cockpit died while it was running.
    pub rerun_safe: bool,
    /// Once done, rollback is no longer possible.
    pub point_of_no_return: bool,
    /// Forward steps a rollback step undoes (rollback steps only).
    pub undoes: Vec<String>,
    /// Canary stage settings (weight, gates), when the step is one.
    pub stage: Option<super::signals::CanaryStage>,
    /// `until:`: after its work (command and verify, if any) the step waits until this
    /// condition holds on fresh data, for at most `timeout` of T-time.
    pub until: Option<super::signals::Until>,
    /// Forward steps: extra time undoing this step adds to a rollback once it has started
    /// (beyond the procedure's own `expect`s), e.g. replaying writes made since a switch.
    pub undo_cost: Option<Ms>,
    /// Where the step is in the file.
    pub pos: Pos,
}

impl Step {
    /// True when the operator must confirm it: no command and no condition to wait for.
    pub fn is_manual(&self) -> bool {
        self.run.is_none() && self.until.is_none()
    }
}

/// A rollback procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    /// Id (`rollback` for a runbook's single procedure).
    pub id: String,
    /// Display title.
    pub title: String,
    /// Applies once this forward step has started (none: from the start) …
    pub after: Option<String>,
    /// … or, with `once: done`, only once it is done: for a step whose failure leaves
    /// nothing to undo (a release that did not go out), so the procedure for "before it"
    /// still applies when it fails.
    pub after_done: bool,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Where it starts in the file.
    pub pos: Pos,
}

impl Procedure {
    /// Planned duration: the sum of the steps' `expect`.
    pub fn planned(&self) -> Ms {
        self.steps.iter().filter_map(|s| s.expect).sum()
    }
}

impl Runbook {
    /// All forward steps in order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.phases.iter().flat_map(|p| p.steps.iter())
    }

    /// Any step, forward or rollback, by id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps()
            .chain(self.rollback_steps())
            .find(|s| s.id == id)
    }

    /// Every rollback step of every procedure.
    pub fn rollback_steps(&self) -> impl Iterator<Item = &Step> {
        self.rollbacks.iter().flat_map(|r| r.steps.iter())
    }

    /// The procedure that applies given how far the forward steps got: the last, in file
    /// order, whose `after` step has started (`started`), or is done (`done`) for a procedure
    /// with `once: done`; or that has no `after`.
    pub fn rollback_for(
        &self,
        started: impl Fn(&str) -> bool,
        done: impl Fn(&str) -> bool,
    ) -> Option<&Procedure> {
        self.rollbacks
            .iter()
            .rev()
            .find(|p| match p.after.as_deref() {
                None => true,
                Some(a) if p.after_done => done(a),
                Some(a) => started(a),
            })
    }

    /// A procedure by id.
    pub fn procedure(&self, id: &str) -> Option<&Procedure> {
        self.rollbacks.iter().find(|p| p.id == id)
    }
}
