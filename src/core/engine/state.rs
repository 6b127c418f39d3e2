//! The engine's state types: what each step is doing, and how the run ended.

use crate::core::time::Ms;
use std::collections::VecDeque;

/// How many output lines per step are kept in memory for the screen.
pub const OUTPUT_TAIL: usize = 200;

/// Which command of a step is running, or its post-work hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The step's `run`.
    Run,
    /// The step's `verify`.
    Verify,
    /// Holding (soaking) until T-time `until`.
    Hold {
        /// When the hold ends.
        until: Ms,
    },
    /// A canary stage waiting for its gates to hold on fresh data.
    Gate,
    /// Waiting for the step's `until:` condition to hold on a fresh sample taken since
    /// `since`; the step fails (its `on_failure`) at `deadline`.
    Until {
        /// When the wait began.
        since: Ms,
        /// When it times out.
        deadline: Ms,
    },
}

/// A step's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum StepState {
    /// Not yet reached.
    #[default]
    Pending,
    /// A manual step that is due and waits for the operator.
    Waiting,
    /// Its command, verify or hold is under way.
    Running {
        /// Attempt number, from 1.
        attempt: u32,
        /// Which part.
        stage: Stage,
    },
    /// Failed; the next attempt starts at `until`.
    RetryWait {
        /// The next attempt's number.
        attempt: u32,
        /// When it starts.
        until: Ms,
    },
    /// Finished successfully.
    Done {
        /// When.
        at: Ms,
    },
    /// Failed. `blocking` failures pause the run; others were passed over.
    Failed {
        /// Why.
        reason: String,
        /// True when the run waits for the operator.
        blocking: bool,
    },
    /// Skipped by the operator.
    Skipped {
        /// Why.
        reason: String,
    },
    /// Was running when the cockpit died.
    Interrupted {
        /// The attempt that was interrupted.
        attempt: u32,
    },
}

impl StepState {
    /// True when the run has moved past this step.
    pub fn finished(&self) -> bool {
        matches!(
            self,
            StepState::Done { .. }
                | StepState::Skipped { .. }
                | StepState::Failed {
                    blocking: false,
                    ..
                }
        )
    }

    /// True while the step's `run` or `verify` command runs (a hold or gate is not a command:
    /// nothing to kill).
    pub fn command_running(&self) -> bool {
        matches!(
            self,
            StepState::Running {
                stage: Stage::Run | Stage::Verify,
                ..
            }
        )
    }

    /// The wait of an until-step, when it is in one: (since, deadline).
    pub fn until_wait(&self) -> Option<(Ms, Ms)> {
        match self {
            StepState::Running {
                stage: Stage::Until { since, deadline },
                ..
            } => Some((*since, *deadline)),
            _ => None,
        }
    }

    /// A short word for the state.
    pub fn word(&self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Waiting => "due",
            StepState::Running { .. } => "running",
            StepState::RetryWait { .. } => "failed",
            StepState::Done { .. } => "done",
            StepState::Failed { .. } => "failed",
            StepState::Skipped { .. } => "skipped",
            StepState::Interrupted { .. } => "interrupted",
        }
    }
}

/// A step's run record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepRun {
    /// Current state.
    pub state: StepState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the first attempt started.
    pub first_start: Option<Ms>,
    /// When the latest attempt started.
    pub started: Option<Ms>,
    /// How late the step started against its `at`.
    pub late_by: Option<Ms>,
    /// How long its work took, as `step_done` journals it (`duration_s`: the latest attempt,
    /// its hold left out): the one figure the screen and the printer both show.
    pub took: Option<Ms>,
    /// The last lines of output.
    pub output: VecDeque<String>,
    /// It failed because it was interrupted and is not rerun-safe: nobody knows whether it took
    /// effect, so resuming must not retry it on its own.
    pub unverified: bool,
    /// Set by replay for steps found interrupted, until `resumed` journals them.
    pub(crate) needs_interrupt_note: bool,
}

impl StepRun {
    pub(crate) fn push_output(&mut self, line: String) {
        if self.output.len() == OUTPUT_TAIL {
            self.output.pop_front();
        }
        self.output.push_back(line);
    }
}

/// The rollback under way.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackRun {
    /// Why it started.
    pub reason: String,
    /// When.
    pub started: Ms,
    /// Who started it.
    pub operator: String,
    /// When the procedure finished, once it has.
    pub ended: Option<Ms>,
    /// When the operator abandoned it, if they did.
    pub aborted: Option<Ms>,
    /// Who abandoned it and why.
    pub aborted_by: Option<(String, String)>,
    /// Which procedure runs (its id).
    pub procedure: String,
    /// The trigger that started it (its breach, its grace running out, or the decision it
    /// asked for); None when an operator or a failed step started it.
    pub trigger: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step finished.
    Completed,
    /// The rollback procedure finished.
    RolledBack,
    /// Stopped by the operator or an error.
    Aborted,
}

impl Outcome {
    /// The word in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::RolledBack => "rolled_back",
            Outcome::Aborted => "aborted",
        }
    }

    /// The process exit code (SPEC.md).
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Completed => 0,
            Outcome::RolledBack => 3,
            Outcome::Aborted => 1,
        }
    }

    /// From the journal word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "completed" => Some(Outcome::Completed),
            "rolled_back" => Some(Outcome::RolledBack),
            "aborted" => Some(Outcome::Aborted),
            _ => None,
        }
    }
}
