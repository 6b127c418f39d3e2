//! Every kind of journal event, with its fields. Adding a kind here makes every reader that
//! matches events (replay, the printer, the cockpit's log) fail to compile until it says what
//! the new kind means to it.

use super::fields::value;
use crate::core::engine::Outcome;
use crate::core::runbook::signals::{Choice, GateFail, TriggerAction, UnknownAction};
use crate::core::runbook::{OnFailure, StepId};
use crate::core::time::{Period, TTime};
use serde::{Deserialize, Serialize};

/// Marks a step event as part of the rollback procedure (`"procedure": "rollback"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Procedure {
    /// A step of the running rollback procedure.
    Rollback,
}

/// Why a step failed, when it was not its own command's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The cockpit died while it ran, and it may not be run again by itself.
    Interrupted,
    /// Its `until:` condition did not hold on fresh data before its timeout.
    UntilTimedOut,
}

/// How a canary stage's gates let it advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Advance {
    /// The gates held for their time.
    Auto,
    /// The stage waits for a key, and the drill's `--auto-ack` gave it.
    AutoAck,
    /// The operator advanced it.
    Key,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One thing that happened, as journaled. `kind` on disk is the variant's snake_case name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    // ── the session ──────────────────────────────────────────────────────────────────
    /// A new session: which runbook (and its fingerprint), how it is run.
    SessionStarted {
        /// The runbook's path as given.
        runbook: String,
        /// Its title (a resume of another runbook's session is refused by it).
        runbook_title: String,
        /// SHA-256 of the runbook file.
        fingerprint: String,
        /// The driver's process id.
        pid: u32,
        /// cutover's version.
        version: String,
        /// Drill: manual steps are confirmed automatically.
        auto_ack: bool,
        /// Drill: the speed label (`×60`, `×max`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        speed: Option<String>,
        /// Drill: the scenario played.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scenario: Option<String>,
        /// Drill: the step made to fail.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fail_step: Option<String>,
        /// Live: T-0 as RFC 3339.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        t0: Option<String>,
    },
    /// The session was opened again by a new process.
    SessionResumed {
        /// The new driver's process id.
        pid: u32,
    },
    /// The runbook file differs from the one the session started with.
    RunbookChanged {
        /// The new fingerprint.
        fingerprint: String,
    },
    /// The lock of a dead driver was taken over.
    LockTakenOver {
        /// The dead driver's pid.
        previous_pid: u32,
        /// Who drove it.
        previous_operator: String,
        /// Since when (RFC 3339).
        previous_since: String,
    },
    /// A torn last line left by a crash was cut off and kept beside the journal.
    JournalRepaired {
        /// Its length.
        bytes: usize,
        /// Where its bytes were kept.
        saved_to: String,
    },
    /// Processes a dead driver left running were killed.
    LeftoversKilled {
        /// Their pids.
        pids: Vec<i32>,
    },
    /// A background task panicked; the cockpit carried on.
    TaskPanicked {
        /// The panic message.
        message: String,
    },
    /// Someone attached `cutover watch` to the session. The user is the kernel's answer (the
    /// socket peer's uid), never a name the watcher sent.
    WatcherJoined {
        /// The OS user name of the peer's uid.
        user: String,
        /// The peer's uid.
        uid: u32,
    },
    /// A watcher detached (or its connection was closed).
    WatcherLeft {
        /// The OS user name of the peer's uid.
        user: String,
        /// The peer's uid.
        uid: u32,
    },
    /// A watcher asks the driver to hold the run (the driver decides).
    HandRaised {
        /// Why, as the watcher typed it.
        reason: String,
    },
    /// The keys moved: who may now change the run. OS users; `to` is empty while nobody
    /// holds them (a detached session whose driving watcher left).
    DriverChanged {
        /// Who held them.
        from: String,
        /// Who holds them now.
        to: String,
        /// How: `handover` (offered and accepted), `taken` (`watch --drive` of a session
        /// nobody drove), `released` (the holder left), `returned` (back to the terminal
        /// that started the run, as its driving watcher left).
        how: String,
    },
    /// A guarded action waits for a second person (the runbook's `two_person:` rule).
    ApprovalRequested {
        /// `rollback`, `point_of_no_return` or `skip`.
        action: String,
        /// The step it is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<StepId>,
        /// The first person's reason, when the action has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// How long the second person has (real time).
        #[serde(rename = "within_s")]
        within: Period,
    },
    /// An approver confirmed the waiting action: it follows.
    ApprovalGiven {
        /// The action.
        action: String,
        /// The step it is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<StepId>,
    },
    /// The waiting action will not happen: nobody approved in time, the first person withdrew
    /// it, or the run moved past it.
    ApprovalLapsed {
        /// The action.
        action: String,
        /// The step it is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<StepId>,
        /// Why.
        why: String,
    },
    /// The run stopped and can be resumed.
    SessionStopped {
        /// Why (a signal, the operator left, no operator in headless mode).
        reason: String,
    },
    /// The run is over.
    SessionEnded {
        /// completed, rolled_back or aborted.
        outcome: Outcome,
        /// The process exit code for it.
        exit_code: i32,
        /// Why it ended.
        reason: String,
        /// The planned finish.
        #[serde(rename = "planned_finish_t")]
        planned_finish: TTime,
    },
    /// A note for the record.
    Note {
        /// What the operator wrote.
        text: String,
    },
    /// No new step starts until released.
    Hold {
        /// Why, when the system held (unknown data); none when an operator held.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A hold was released.
    Resumed {},

    // ── steps ────────────────────────────────────────────────────────────────────────
    /// A manual step waits for its confirmation.
    StepWaiting {
        /// The step.
        step: StepId,
        /// Its title.
        title: String,
        /// Which attempt.
        attempt: u32,
        /// How late it began, with the projection it gives.
        #[serde(flatten)]
        late: Late,
        /// Set for a rollback step.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        procedure: Option<Procedure>,
    },
    /// A step's command started.
    StepStarted {
        /// The step.
        step: StepId,
        /// Its title.
        title: String,
        /// Which attempt.
        attempt: u32,
        /// The command line, as shown.
        command: String,
        /// How late it began, with the projection it gives.
        #[serde(flatten)]
        late: Late,
        /// Set for a rollback step.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        procedure: Option<Procedure>,
    },
    /// A manual step (or an interrupted one) was confirmed.
    StepConfirmed {
        /// The step.
        step: StepId,
        /// Confirmed by the drill's `--auto-ack`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        auto_ack: Option<bool>,
        /// The operator confirmed that an interrupted step had in fact finished.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_interruption: Option<bool>,
    },
    /// The step's verify command started.
    StepVerifying {
        /// The step.
        step: StepId,
        /// The verify command line.
        command: String,
    },
    /// The step holds for its `hold:` time before it counts as done.
    StepHolding {
        /// The step.
        step: StepId,
        /// How long.
        #[serde(rename = "hold_s")]
        hold: Period,
        /// Until when.
        #[serde(rename = "until_t")]
        until: TTime,
    },
    /// A step is done.
    StepDone {
        /// The step.
        step: StepId,
        /// Which attempt succeeded.
        attempt: u32,
        /// How long the step itself took (without its hold).
        #[serde(
            rename = "duration_s",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        duration: Option<Period>,
        /// Its `expect`.
        #[serde(rename = "expect_s", default, skip_serializing_if = "Option::is_none")]
        expect: Option<Period>,
        /// Set for a rollback step.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        procedure: Option<Procedure>,
        /// How long it then held (its `hold`), apart from `duration`; journals before this
        /// field counted the hold in `duration`.
        #[serde(rename = "held_s", default, skip_serializing_if = "Option::is_none")]
        held: Option<Period>,
    },
    /// A step failed.
    StepFailed {
        /// The step.
        step: StepId,
        /// Which attempt (absent when a rollback stopped it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
        /// Why.
        reason: String,
        /// What happens now.
        next: OnFailure,
        /// The command's exit code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// When it is retried.
        #[serde(
            rename = "retry_at_t",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        retry_at: Option<TTime>,
        /// Not its command's doing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<Cause>,
        /// Set for a rollback step.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        procedure: Option<Procedure>,
    },
    /// A step was skipped by an operator.
    StepSkipped {
        /// The step.
        step: StepId,
        /// Why.
        reason: String,
    },
    /// A step was running when its driver died.
    StepInterrupted {
        /// The step.
        step: StepId,
        /// Which attempt.
        attempt: u32,
        /// Whether it may be run again by itself.
        rerun_safe: bool,
    },
    /// An operator retried a failed or interrupted step.
    StepRetry {
        /// The step.
        step: StepId,
    },
    /// A step waits until its `until:` condition holds on fresh data (after its command,
    /// if it has one; for a step with only `until:`, this is its start).
    UntilWaiting {
        /// The step.
        step: StepId,
        /// Its title.
        title: String,
        /// Which attempt.
        attempt: u32,
        /// The condition as written.
        condition: String,
        /// How long it may wait (the step's `timeout`, in T-time).
        #[serde(rename = "timeout_s")]
        timeout: Period,
        /// When the wait times out.
        #[serde(rename = "deadline_t")]
        deadline: TTime,
        /// How late it began, with the projection it gives (a step with only `until:`).
        #[serde(flatten)]
        late: Late,
        /// Set for a rollback step.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        procedure: Option<Procedure>,
    },
    /// A step's `until:` condition held on a fresh sample: what it read.
    UntilMet {
        /// The step.
        step: StepId,
        /// The condition as written.
        condition: String,
        /// The metric it read.
        metric: String,
        /// The value, in the metric's unit.
        #[serde(with = "value")]
        value: f64,
        /// The target, in the metric's unit.
        #[serde(with = "value")]
        threshold: f64,
        /// The metric's unit, when it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
        /// How old the sample was.
        #[serde(rename = "age_s")]
        age: Period,
        /// How long the wait took.
        #[serde(rename = "waited_s")]
        waited: Period,
        /// Set for a rollback step.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        procedure: Option<Procedure>,
    },
    /// A point-of-no-return step is done: no rollback from here on.
    PointOfNoReturn {
        /// The step.
        step: StepId,
    },

    // ── canary ───────────────────────────────────────────────────────────────────────
    /// The canary weight was set for a stage.
    CanaryWeight {
        /// The stage's step.
        step: StepId,
        /// Percent of traffic.
        weight: u32,
    },
    /// A stage's gates are being watched.
    StepGating {
        /// The stage's step.
        step: StepId,
    },
    /// A stage's gates passed.
    GatePassed {
        /// The stage's step.
        step: StepId,
        /// How the stage advanced.
        advance: Advance,
        /// What the gates read when they passed (`error-rate 0.05 % (limit 0.1 %), …`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gates: Option<String>,
    },
    /// A stage's gate failed.
    GateFailed {
        /// The stage's step.
        step: StepId,
        /// Which gate and its values.
        reason: String,
        /// What happens now.
        next: GateFail,
    },

    // ── rollback ─────────────────────────────────────────────────────────────────────
    /// A rollback procedure started.
    RollbackStarted {
        /// Why, as the operator or the trigger gave it.
        reason: String,
        /// The procedure's title.
        procedure: String,
        /// The procedure's id (journals of the first releases have none: the runbook's
        /// first procedure).
        #[serde(default)]
        procedure_id: String,
        /// How many steps it has.
        steps: usize,
        /// Its planned duration.
        #[serde(rename = "planned_s")]
        planned: Period,
        /// The failed step that caused it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed_step: Option<StepId>,
        /// Every watched metric as the engine had it when the rollback started.
        #[serde(default, skip_serializing_if = "Values::is_empty")]
        values: Values,
    },
    /// The rollback procedure finished.
    RollbackDone {
        /// Planned duration.
        #[serde(rename = "planned_s")]
        planned: Period,
        /// Actual duration.
        #[serde(rename = "actual_s")]
        actual: Period,
        /// Rollback steps that failed and were passed over (`on_failure: continue`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        failed_steps: Vec<String>,
        /// Rollback steps an operator skipped.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skipped_steps: Vec<String>,
    },
    /// A rollback that could not go on was ended by an operator.
    RollbackAborted {
        /// The rollback step it stood at.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<StepId>,
        /// Why.
        reason: String,
        /// The procedure's id.
        procedure_id: String,
        /// How long it had run.
        #[serde(rename = "elapsed_s")]
        elapsed: Period,
        /// Its steps that were done.
        done_steps: Vec<String>,
        /// Its steps that were not.
        not_done_steps: Vec<String>,
    },
    /// A rollback was asked for while one runs.
    RollbackRequestIgnored {
        /// The request's reason.
        reason: String,
        /// Why it was ignored.
        why: String,
    },
    /// A rollback was asked for when none can be given.
    RollbackUnavailable {
        /// The request's reason.
        reason: String,
        /// Why none can be given.
        why: String,
    },

    // ── triggers, decisions, baselines ───────────────────────────────────────────────
    /// A trigger with `after:` is armed.
    TriggerArmed {
        /// The trigger.
        trigger: String,
        /// The step it waited for.
        after: String,
    },
    /// A trigger's condition held long enough.
    TriggerBreach {
        /// The values it was decided on.
        #[serde(flatten)]
        breach: Breach,
        /// What it does.
        action: TriggerAction,
        /// Every watched metric as the engine had it then (journals before it: none).
        #[serde(default, skip_serializing_if = "Values::is_empty")]
        values: Values,
    },
    /// A dry-run trigger would have acted.
    TriggerDryRun {
        /// The values it was decided on.
        #[serde(flatten)]
        breach: Breach,
        /// What it would have done.
        would: TriggerAction,
        /// The sentence for the record ("would have rolled back at T+1:00:00").
        text: String,
    },
    /// A metric's reads began to fail, or now fail for another reason: the reason whole
    /// (a pane may have to cut it), once per change rather than once per read.
    MetricReadFailed {
        /// The metric.
        metric: String,
        /// The reader's error, redacted.
        reason: String,
    },
    /// A metric's reads give values again after failing.
    MetricReadRecovered {
        /// The metric.
        metric: String,
    },
    /// A trigger's data has been unknown for longer than tolerated.
    TriggerUnknown {
        /// The trigger.
        trigger: String,
        /// Its metric.
        metric: String,
        /// Why the data is unknown.
        reason: String,
        /// For how long.
        #[serde(rename = "unknown_for_s")]
        unknown_for: Period,
        /// What is done about it.
        action: UnknownAction,
        /// A dry-run trigger: nothing is done.
        #[serde(default, skip_serializing_if = "is_false")]
        dry_run: bool,
    },
    /// A breaching trigger's metric is healthy again.
    TriggerRecovered {
        /// The trigger.
        trigger: String,
        /// The healthy value.
        #[serde(with = "value")]
        value: f64,
        /// Its limit.
        #[serde(with = "value")]
        threshold: f64,
    },
    /// An automatic rollback's grace countdown started.
    RollbackGraceStarted {
        /// The trigger.
        trigger: String,
        /// The grace time.
        #[serde(rename = "grace_s")]
        grace: Period,
        /// When the rollback starts unless vetoed.
        #[serde(rename = "deadline_t")]
        deadline: TTime,
    },
    /// An operator vetoed an automatic rollback.
    RollbackVetoed {
        /// The trigger.
        trigger: String,
        /// The trigger's reason.
        reason: String,
        /// Until when the veto holds (the trigger's `veto_for`), unless the trigger recovers
        /// first; journals before this field held the veto until recovery.
        #[serde(default, rename = "until_t", skip_serializing_if = "Option::is_none")]
        until: Option<TTime>,
        /// The value the veto was given on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        /// Its limit then.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        threshold: Option<f64>,
    },
    /// A drill's clock passed the record's `t` (journaled at a bounded rate while nothing
    /// else is): a resumed drill continues from no earlier than the screen showed.
    DrillClock {},
    /// Why an operator vetoed (asked right after the veto, which acts at the key).
    VetoExplained {
        /// The trigger.
        trigger: String,
        /// The operator's reason.
        why: String,
    },
    /// A veto stopped holding: the trigger recovered, or its `veto_for` ran out and the
    /// trigger may act again.
    VetoEnded {
        /// The trigger.
        trigger: String,
        /// Why.
        why: String,
    },
    /// A grace countdown ended without a rollback.
    RollbackGraceCancelled {
        /// The trigger.
        trigger: String,
        /// Why.
        why: String,
    },
    /// A trigger asks the operator to decide.
    DecisionRequested {
        /// The trigger.
        trigger: String,
        /// Its reason.
        reason: String,
        /// The deadline.
        #[serde(rename = "deadline_t")]
        deadline: TTime,
        /// What happens when nobody decides.
        default: Choice,
        /// Every watched metric as the engine had it when the decision was asked.
        #[serde(default, skip_serializing_if = "Values::is_empty")]
        values: Values,
    },
    /// A decision was made.
    DecisionMade {
        /// The trigger.
        trigger: String,
        /// The answer.
        choice: Choice,
        /// Nobody answered in time: the default was taken.
        by_default: bool,
        /// The operator's reason, when one was asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        why: Option<String>,
    },
    /// An open decision no longer applies.
    DecisionCancelled {
        /// The trigger.
        trigger: String,
        /// Why.
        why: String,
    },
    /// A baseline was captured.
    BaselineCaptured {
        /// The step whose start it was taken at (`at_step` baselines).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<StepId>,
        /// The baseline's key.
        baseline: String,
        /// The metric.
        metric: String,
        /// The value.
        #[serde(with = "value")]
        value: f64,
        /// Window means: how many samples.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        samples: Option<u32>,
    },
    /// A baseline could not be captured.
    BaselineMissing {
        /// The step whose start it was due at.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<StepId>,
        /// The baseline's key.
        baseline: String,
        /// The metric.
        metric: String,
        /// Why.
        reason: String,
    },
}

/// A metric's reading in a snapshot: its value and age, or why it had none (UNKNOWN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The value (absent when UNKNOWN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// How old it was.
    #[serde(rename = "age_s", default, skip_serializing_if = "Option::is_none")]
    pub age: Option<Period>,
    /// Why there was no usable value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

/// The watched metrics' readings at a moment that decided something, by metric id.
pub type Values = std::collections::BTreeMap<String, Reading>;

/// How late a step began, and the finish that projects (all absent when on time).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Late {
    /// How late.
    #[serde(rename = "late_s", default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Period>,
    /// The projected finish.
    #[serde(
        rename = "projected_finish_t",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub projected_finish: Option<TTime>,
    /// The planned finish.
    #[serde(
        rename = "planned_finish_t",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub planned_finish: Option<TTime>,
}

/// What a trigger's breach was decided on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// The trigger.
    pub trigger: String,
    /// Its metric.
    pub metric: String,
    /// The condition as written.
    pub condition: String,
    /// The value.
    #[serde(with = "value")]
    pub value: f64,
    /// The limit it crossed.
    #[serde(with = "value")]
    pub threshold: f64,
    /// How long it held.
    #[serde(rename = "held_s")]
    pub held: Period,
    /// Over how many samples.
    pub samples: u32,
    /// Why the action differs from the trigger's (past the point of no return).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Event {
    /// The `kind` written on disk.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::SessionStarted { .. } => "session_started",
            Event::SessionResumed { .. } => "session_resumed",
            Event::RunbookChanged { .. } => "runbook_changed",
            Event::LockTakenOver { .. } => "lock_taken_over",
            Event::JournalRepaired { .. } => "journal_repaired",
            Event::LeftoversKilled { .. } => "leftovers_killed",
            Event::TaskPanicked { .. } => "task_panicked",
            Event::WatcherJoined { .. } => "watcher_joined",
            Event::WatcherLeft { .. } => "watcher_left",
            Event::HandRaised { .. } => "hand_raised",
            Event::DriverChanged { .. } => "driver_changed",
            Event::ApprovalRequested { .. } => "approval_requested",
            Event::ApprovalGiven { .. } => "approval_given",
            Event::ApprovalLapsed { .. } => "approval_lapsed",
            Event::SessionStopped { .. } => "session_stopped",
            Event::SessionEnded { .. } => "session_ended",
            Event::Note { .. } => "note",
            Event::Hold { .. } => "hold",
            Event::Resumed {} => "resumed",
            Event::StepWaiting { .. } => "step_waiting",
            Event::StepStarted { .. } => "step_started",
            Event::StepConfirmed { .. } => "step_confirmed",
            Event::StepVerifying { .. } => "step_verifying",
            Event::StepHolding { .. } => "step_holding",
            Event::StepDone { .. } => "step_done",
            Event::StepFailed { .. } => "step_failed",
            Event::StepSkipped { .. } => "step_skipped",
            Event::StepInterrupted { .. } => "step_interrupted",
            Event::StepRetry { .. } => "step_retry",
            Event::PointOfNoReturn { .. } => "point_of_no_return",
            Event::UntilWaiting { .. } => "until_waiting",
            Event::UntilMet { .. } => "until_met",
            Event::CanaryWeight { .. } => "canary_weight",
            Event::StepGating { .. } => "step_gating",
            Event::GatePassed { .. } => "gate_passed",
            Event::GateFailed { .. } => "gate_failed",
            Event::RollbackStarted { .. } => "rollback_started",
            Event::RollbackDone { .. } => "rollback_done",
            Event::RollbackAborted { .. } => "rollback_aborted",
            Event::RollbackRequestIgnored { .. } => "rollback_request_ignored",
            Event::RollbackUnavailable { .. } => "rollback_unavailable",
            Event::TriggerArmed { .. } => "trigger_armed",
            Event::TriggerBreach { .. } => "trigger_breach",
            Event::TriggerDryRun { .. } => "trigger_dry_run",
            Event::TriggerUnknown { .. } => "trigger_unknown",
            Event::MetricReadFailed { .. } => "metric_read_failed",
            Event::MetricReadRecovered { .. } => "metric_read_recovered",
            Event::TriggerRecovered { .. } => "trigger_recovered",
            Event::RollbackGraceStarted { .. } => "rollback_grace_started",
            Event::RollbackVetoed { .. } => "rollback_vetoed",
            Event::VetoExplained { .. } => "veto_explained",
            Event::DrillClock {} => "drill_clock",
            Event::VetoEnded { .. } => "veto_ended",
            Event::RollbackGraceCancelled { .. } => "rollback_grace_cancelled",
            Event::DecisionRequested { .. } => "decision_requested",
            Event::DecisionMade { .. } => "decision_made",
            Event::DecisionCancelled { .. } => "decision_cancelled",
            Event::BaselineCaptured { .. } => "baseline_captured",
            Event::BaselineMissing { .. } => "baseline_missing",
        }
    }

    /// The step the event is about, if any.
    pub fn step(&self) -> Option<&str> {
        match self {
            Event::StepWaiting { step, .. }
            | Event::StepStarted { step, .. }
            | Event::StepConfirmed { step, .. }
            | Event::StepVerifying { step, .. }
            | Event::StepHolding { step, .. }
            | Event::StepDone { step, .. }
            | Event::StepFailed { step, .. }
            | Event::StepSkipped { step, .. }
            | Event::StepInterrupted { step, .. }
            | Event::StepRetry { step }
            | Event::PointOfNoReturn { step }
            | Event::UntilWaiting { step, .. }
            | Event::UntilMet { step, .. }
            | Event::CanaryWeight { step, .. }
            | Event::StepGating { step }
            | Event::GatePassed { step, .. }
            | Event::GateFailed { step, .. } => Some(step.as_str()),
            Event::RollbackAborted { step, .. }
            | Event::BaselineCaptured { step, .. }
            | Event::BaselineMissing { step, .. }
            | Event::ApprovalRequested { step, .. }
            | Event::ApprovalGiven { step, .. }
            | Event::ApprovalLapsed { step, .. } => step.as_ref().map(StepId::as_str),
            Event::SessionStarted { .. }
            | Event::SessionResumed { .. }
            | Event::RunbookChanged { .. }
            | Event::LockTakenOver { .. }
            | Event::JournalRepaired { .. }
            | Event::LeftoversKilled { .. }
            | Event::TaskPanicked { .. }
            | Event::WatcherJoined { .. }
            | Event::WatcherLeft { .. }
            | Event::HandRaised { .. }
            | Event::DriverChanged { .. }
            | Event::SessionStopped { .. }
            | Event::SessionEnded { .. }
            | Event::Note { .. }
            | Event::Hold { .. }
            | Event::Resumed {}
            | Event::RollbackStarted { .. }
            | Event::RollbackDone { .. }
            | Event::RollbackRequestIgnored { .. }
            | Event::RollbackUnavailable { .. }
            | Event::TriggerArmed { .. }
            | Event::TriggerBreach { .. }
            | Event::TriggerDryRun { .. }
            | Event::TriggerUnknown { .. }
            | Event::TriggerRecovered { .. }
            | Event::RollbackGraceStarted { .. }
            | Event::RollbackVetoed { .. }
            | Event::VetoExplained { .. }
            | Event::VetoEnded { .. }
            | Event::DrillClock {}
            | Event::MetricReadFailed { .. }
            | Event::MetricReadRecovered { .. }
            | Event::RollbackGraceCancelled { .. }
            | Event::DecisionRequested { .. }
            | Event::DecisionMade { .. }
            | Event::DecisionCancelled { .. } => None,
        }
    }

    /// Whether the event belongs to the rollback procedure.
    pub fn in_rollback(&self) -> bool {
        matches!(
            self,
            Event::StepWaiting {
                procedure: Some(Procedure::Rollback),
                ..
            } | Event::StepStarted {
                procedure: Some(Procedure::Rollback),
                ..
            } | Event::StepDone {
                procedure: Some(Procedure::Rollback),
                ..
            } | Event::StepFailed {
                procedure: Some(Procedure::Rollback),
                ..
            } | Event::UntilWaiting {
                procedure: Some(Procedure::Rollback),
                ..
            } | Event::UntilMet {
                procedure: Some(Procedure::Rollback),
                ..
            }
        )
    }
}

/// Every kind this version knows, for a clear error on a line of another.
pub const KINDS: &[&str] = &[
    "session_started",
    "session_resumed",
    "runbook_changed",
    "lock_taken_over",
    "journal_repaired",
    "leftovers_killed",
    "task_panicked",
    "session_stopped",
    "session_ended",
    "note",
    "hold",
    "resumed",
    "step_waiting",
    "step_started",
    "step_confirmed",
    "step_verifying",
    "step_holding",
    "step_done",
    "step_failed",
    "step_skipped",
    "step_interrupted",
    "step_retry",
    "point_of_no_return",
    "canary_weight",
    "step_gating",
    "gate_passed",
    "gate_failed",
    "rollback_started",
    "rollback_done",
    "rollback_aborted",
    "rollback_request_ignored",
    "rollback_unavailable",
    "trigger_armed",
    "trigger_breach",
    "trigger_dry_run",
    "trigger_unknown",
    "trigger_recovered",
    "rollback_grace_started",
    "rollback_vetoed",
    "veto_explained",
    "drill_clock",
    "veto_ended",
    "rollback_grace_cancelled",
    "decision_requested",
    "decision_made",
    "decision_cancelled",
    "baseline_captured",
    "baseline_missing",
    "until_waiting",
    "until_met",
    "watcher_joined",
    "watcher_left",
    "hand_raised",
    "driver_changed",
    "approval_requested",
    "approval_given",
    "approval_lapsed",
];
