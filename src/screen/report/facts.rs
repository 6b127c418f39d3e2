//! What a session's journal says happened, gathered in one pass for the report: the session
//! (mode, runbook, resumes, end), every step of the run and of the rollback (times, who,
//! why), operators, notes, the signals (triggers, vetoes, decisions) and metric read gaps.
//! Planned times come from the runbook when it is at hand, by the engine's plan rule
//! (`engine::planned_starts`).

use crate::core::engine::Outcome;
use crate::core::event::{Event, Mode, Record, SYSTEM};
use crate::core::runbook::Runbook;
use crate::core::time::Ms;
use std::collections::BTreeMap;

/// How a step ended up.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Result {
    /// The journal never shows it start.
    #[default]
    NotReached,
    /// Started and not finished when the journal ends.
    Unfinished,
    /// Done.
    Done,
    /// Its last attempt failed.
    Failed(String),
    /// Skipped (by whom, why).
    Skipped(String, String),
}

/// One step as the journal shows it.
#[derive(Debug, Clone, Default)]
pub struct StepFacts {
    /// The step's id.
    pub id: String,
    /// Planned start (runbook at hand).
    pub planned: Option<Ms>,
    /// Its `expect`.
    pub expect: Option<Ms>,
    /// When its first attempt started (or it became due, for a manual step).
    pub started: Option<Ms>,
    /// When it was done.
    pub done_at: Option<Ms>,
    /// How long its work took (as `step_done` journals it).
    pub took: Option<Ms>,
    /// How long it held after its work.
    pub held: Option<Ms>,
    /// How late it started, as journaled.
    pub late: Option<Ms>,
    /// Attempts made.
    pub attempts: u32,
    /// Who confirmed it, and whether the drill's `--auto-ack` did.
    pub confirmed_by: Option<(String, bool)>,
    /// Every failure's reason, in order.
    pub failures: Vec<String>,
    /// How it ended up.
    pub result: Result,
}

/// The rollback, when one started.
#[derive(Debug, Clone, Default)]
pub struct RollbackFacts {
    /// Why.
    pub reason: String,
    /// Who started it (`system` for a trigger).
    pub by: String,
    /// The procedure's title.
    pub procedure: String,
    /// When.
    pub started: Ms,
    /// Planned length.
    pub planned: Ms,
    /// How long it took, when it finished.
    pub actual: Option<Ms>,
    /// Steps failed and passed over, or skipped: not clean.
    pub gaps: Option<String>,
    /// Abandoned: by whom, why, when.
    pub aborted: Option<(String, String, Ms)>,
    /// Its steps, in the order they ran.
    pub steps: Vec<StepFacts>,
    /// The watched metrics when it started.
    pub values: crate::core::event::Values,
}

/// A period a metric could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    /// From.
    pub from: Ms,
    /// Until it read again (`None`: still failing when the journal ends).
    pub to: Option<Ms>,
    /// Why, as first journaled.
    pub reason: String,
}

/// How the session ended.
#[derive(Debug, Clone)]
pub struct End {
    /// The outcome.
    pub outcome: Outcome,
    /// The exit code.
    pub exit_code: i32,
    /// Why (aborts).
    pub reason: String,
    /// When.
    pub at: Ms,
    /// The planned finish.
    pub planned_finish: Ms,
}

/// Everything the report says.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The runbook's title.
    pub title: String,
    /// The runbook's path as the session was started with.
    pub runbook: String,
    /// The runbook file's SHA-256 when the session started.
    pub fingerprint: String,
    /// Drill or live.
    pub mode: Option<Mode>,
    /// cutover's version that started it.
    pub version: String,
    /// Drill settings: speed, scenario, `--fail`, `--auto-ack`.
    pub drill: Vec<String>,
    /// Wall time of the first record.
    pub started_wall: String,
    /// Wall time of T-0 (live runs: the wall clock is the T clock).
    pub t0_wall: Option<String>,
    /// Resumes: wall time, who.
    pub resumes: Vec<(String, String)>,
    /// Lock takeovers: wall time, whose lock.
    pub takeovers: Vec<(String, String)>,
    /// The end, when the session ended.
    pub end: Option<End>,
    /// The last stop, when the session stopped without ending.
    pub stopped: Option<String>,
    /// T and wall time of the last record.
    pub last: (Ms, String),
    /// Forward steps, in runbook order when it is at hand, else as they appear.
    pub steps: Vec<StepFacts>,
    /// The rollback.
    pub rollback: Option<RollbackFacts>,
    /// Operators and how many entries each made (`system` left out).
    pub operators: BTreeMap<String, usize>,
    /// Notes and holds: T, who, text.
    pub notes: Vec<(Ms, String, String)>,
    /// Indices of the records about triggers, grace countdowns, vetoes and decisions.
    pub signals: Vec<usize>,
    /// Points of no return passed: step, T.
    pub points_of_no_return: Vec<(String, Ms)>,
    /// Metric read gaps, per metric.
    pub gaps: BTreeMap<String, Vec<Gap>>,
    /// Trigger breaches: trigger, metric, from (when the condition began to hold), to (when
    /// it recovered; `None`: still in breach when the journal ends).
    pub breaches: Vec<(String, String, Ms, Option<Ms>)>,
}

impl Facts {
    /// What this session teaches a later run as a rehearsal: each step it finished (forward
    /// and rollback, whatever the outcome) with how long its work took, and the steps
    /// `--auto-ack` confirmed (done, but in no operator's time).
    pub fn rehearsal(&self) -> crate::core::rehearsal::Drill {
        let mut d = crate::core::rehearsal::Drill {
            fingerprint: self.fingerprint.clone(),
            ..Default::default()
        };
        let rollback = self.rollback.iter().flat_map(|r| r.steps.iter());
        for s in self.steps.iter().chain(rollback) {
            match (&s.result, s.took, &s.confirmed_by) {
                (Result::Done, _, Some((_, true))) => d.auto_acked.push(s.id.clone()),
                (Result::Done, Some(t), _) => d.took.push((s.id.clone(), t)),
                _ => {}
            }
        }
        d
    }
}

/// Gathers the facts of `records` (a whole journal), with `rb` for planned times.
pub fn gather(records: &[Record], rb: Option<&Runbook>) -> Facts {
    let mut f = Facts::default();
    if let Some(rb) = rb {
        f.steps = planned(rb);
    }
    for (i, r) in records.iter().enumerate() {
        if r.operator != SYSTEM {
            *f.operators.entry(r.operator.clone()).or_default() += 1;
        }
        f.last = (r.t_ms(), r.at.clone());
        f.session(r);
        // A confirmation carries no `procedure`: a step the rollback has already started is
        // the rollback's.
        let rollback_step = f.rollback.as_ref().is_some_and(|rb| {
            r.step()
                .is_some_and(|id| rb.steps.iter().any(|s| s.id == id))
        });
        if r.event.in_rollback() || rollback_step {
            if let Some(rb) = f.rollback.as_mut() {
                let id = r.step().unwrap_or_default();
                let pos = match rb.steps.iter().position(|s| s.id == id) {
                    Some(p) => p,
                    None => {
                        rb.steps.push(StepFacts {
                            id: id.to_string(),
                            expect: None,
                            ..StepFacts::default()
                        });
                        rb.steps.len() - 1
                    }
                };
                step(&mut rb.steps[pos], r);
            }
        } else if let Some(id) = r.step() {
            let pos = match f.steps.iter().position(|s| s.id == id) {
                Some(p) => p,
                None => {
                    f.steps.push(StepFacts {
                        id: id.to_string(),
                        ..StepFacts::default()
                    });
                    f.steps.len() - 1
                }
            };
            step(&mut f.steps[pos], r);
        }
        if is_signal(&r.event) {
            f.signals.push(i);
        }
        f.rollback_and_metrics(r);
    }
    f
}

/// Every forward step with its planned start (the engine's plan rule) and `expect`.
fn planned(rb: &Runbook) -> Vec<StepFacts> {
    rb.steps()
        .zip(crate::core::engine::planned_starts(rb))
        .map(|(s, start)| StepFacts {
            id: s.id.clone(),
            planned: Some(start),
            expect: s.expect,
            ..StepFacts::default()
        })
        .collect()
}

/// What `r` tells about its step.
fn step(s: &mut StepFacts, r: &Record) {
    let t = r.t_ms();
    match &r.event {
        Event::StepWaiting { attempt, late, .. }
        | Event::StepStarted { attempt, late, .. }
        | Event::UntilWaiting { attempt, late, .. } => {
            if s.started.is_none() {
                s.started = Some(t);
                s.late = late.by.map(|p| p.ms());
            }
            s.attempts = s.attempts.max(*attempt);
            if matches!(s.result, Result::NotReached | Result::Failed(_)) {
                s.result = Result::Unfinished;
            }
        }
        Event::StepConfirmed { auto_ack, .. } => {
            s.confirmed_by = Some((r.operator.clone(), auto_ack.unwrap_or(false)));
        }
        Event::StepDone {
            duration,
            held,
            expect,
            ..
        } => {
            s.done_at = Some(t);
            s.took = duration.map(|d| d.ms());
            s.held = held.map(|d| d.ms());
            if s.expect.is_none() {
                s.expect = expect.map(|d| d.ms());
            }
            s.result = Result::Done;
        }
        Event::StepFailed { reason, .. } => {
            s.failures.push(reason.clone());
            s.result = Result::Failed(reason.clone());
        }
        Event::GateFailed { reason, .. } => {
            s.failures.push(reason.clone());
            s.result = Result::Failed(reason.clone());
        }
        Event::StepSkipped { reason, .. } => {
            s.result = Result::Skipped(r.operator.clone(), reason.clone());
        }
        _ => {}
    }
}

fn is_signal(e: &Event) -> bool {
    matches!(
        e,
        Event::TriggerBreach { .. }
            | Event::TriggerDryRun { .. }
            | Event::TriggerUnknown { .. }
            | Event::TriggerRecovered { .. }
            | Event::RollbackGraceStarted { .. }
            | Event::RollbackGraceCancelled { .. }
            | Event::RollbackVetoed { .. }
            | Event::VetoExplained { .. }
            | Event::VetoEnded { .. }
            | Event::DecisionRequested { .. }
            | Event::DecisionMade { .. }
            | Event::DecisionCancelled { .. }
            | Event::GateFailed { .. }
            | Event::BaselineMissing { .. }
    )
}

impl Facts {
    /// The session-level facts of `r`.
    fn session(&mut self, r: &Record) {
        match &r.event {
            Event::SessionStarted {
                runbook,
                runbook_title,
                fingerprint,
                version,
                auto_ack,
                speed,
                scenario,
                fail_step,
                ..
            } => {
                self.title = runbook_title.clone();
                self.runbook = runbook.clone();
                self.fingerprint = fingerprint.clone();
                self.version = version.clone();
                self.mode = Some(r.mode);
                self.started_wall = r.at.clone();
                if r.mode == Mode::Drill {
                    self.drill
                        .extend(speed.iter().map(|s| format!("speed {s}")));
                    self.drill
                        .extend(scenario.iter().map(|s| format!("scenario `{s}`")));
                    self.drill
                        .extend(fail_step.iter().map(|s| format!("`--fail {s}`")));
                    if *auto_ack {
                        self.drill.push("`--auto-ack`".into());
                    }
                } else {
                    self.t0_wall = t0_of(r);
                }
            }
            Event::SessionResumed { .. } => {
                self.resumes.push((r.at.clone(), r.operator.clone()));
            }
            Event::LockTakenOver {
                previous_operator,
                previous_pid,
                ..
            } => self.takeovers.push((
                r.at.clone(),
                format!("{previous_operator} (pid {previous_pid})"),
            )),
            Event::SessionStopped { reason } => self.stopped = Some(reason.clone()),
            Event::SessionEnded {
                outcome,
                exit_code,
                reason,
                planned_finish,
            } => {
                self.end = Some(End {
                    outcome: *outcome,
                    exit_code: *exit_code,
                    reason: reason.clone(),
                    at: r.t_ms(),
                    planned_finish: planned_finish.ms(),
                });
            }
            Event::Note { text } => self
                .notes
                .push((r.t_ms(), r.operator.clone(), text.clone())),
            Event::Hold { reason } => self.notes.push((
                r.t_ms(),
                r.operator.clone(),
                format!(
                    "HOLD{}",
                    reason
                        .as_ref()
                        .map(|x| format!(": {x}"))
                        .unwrap_or_default()
                ),
            )),
            Event::Resumed {} => {
                self.notes
                    .push((r.t_ms(), r.operator.clone(), "hold released".into()))
            }
            Event::PointOfNoReturn { step } => self
                .points_of_no_return
                .push((step.as_str().to_string(), r.t_ms())),
            _ => {}
        }
    }

    /// The rollback's and the metrics' facts of `r`.
    fn rollback_and_metrics(&mut self, r: &Record) {
        let t = r.t_ms();
        match &r.event {
            Event::RollbackStarted {
                reason,
                procedure,
                planned,
                values,
                ..
            } => {
                self.rollback = Some(RollbackFacts {
                    reason: reason.clone(),
                    by: r.operator.clone(),
                    procedure: procedure.clone(),
                    started: t,
                    planned: planned.ms(),
                    values: values.clone(),
                    ..RollbackFacts::default()
                })
            }
            Event::RollbackDone {
                actual,
                failed_steps,
                skipped_steps,
                ..
            } => {
                if let Some(rb) = self.rollback.as_mut() {
                    rb.actual = Some(actual.ms());
                    if !failed_steps.is_empty() || !skipped_steps.is_empty() {
                        rb.gaps = Some(crate::core::engine::gaps_text(failed_steps, skipped_steps));
                    }
                }
            }
            Event::RollbackAborted { reason, .. } => {
                if let Some(rb) = self.rollback.as_mut() {
                    rb.aborted = Some((r.operator.clone(), reason.clone(), t));
                }
            }
            Event::TriggerBreach { breach, .. } => self.breaches.push((
                breach.trigger.clone(),
                breach.metric.clone(),
                t - breach.held.ms(),
                None,
            )),
            Event::TriggerRecovered { trigger, .. } => {
                if let Some(b) = self
                    .breaches
                    .iter_mut()
                    .rev()
                    .find(|b| &b.0 == trigger && b.3.is_none())
                {
                    b.3 = Some(t);
                }
            }
            Event::MetricReadFailed { metric, reason } => {
                let gaps = self.gaps.entry(metric.clone()).or_default();
                // A changed reason while it still fails is the same gap.
                if gaps.last().is_none_or(|g| g.to.is_some()) {
                    gaps.push(Gap {
                        from: t,
                        to: None,
                        reason: reason.clone(),
                    });
                }
            }
            Event::MetricReadRecovered { metric } => {
                if let Some(g) = self
                    .gaps
                    .get_mut(metric)
                    .and_then(|g| g.last_mut())
                    .filter(|g| g.to.is_none())
                {
                    g.to = Some(t);
                }
            }
            _ => {}
        }
    }
}

/// T-0's wall time from a live record: its wall time less its T.
fn t0_of(r: &Record) -> Option<String> {
    let at = chrono::DateTime::parse_from_rfc3339(&r.at).ok()?;
    let t0 = at - chrono::Duration::milliseconds(r.t_ms());
    Some(
        t0.with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A drill's journal (as a drill of a small runbook wrote it): `go` confirmed by
    /// `--auto-ack`, `sync` done in 30 s, `finish` failed, the rollback's `back` done in 30 s.
    const JOURNAL: &str = r#"{"seq":1,"at":"2026-12-02T10:19:29.179Z","t":0.1,"mode":"drill","kind":"session_started","operator":"ann","auto_ack":true,"fingerprint":"85c4","pid":1,"runbook":"rehearse.yaml","runbook_title":"Rehearsal test","speed":"×60","version":"0.1.0"}
{"seq":2,"at":"2026-12-02T10:19:29.180Z","t":0.1,"mode":"drill","kind":"step_waiting","operator":"system","step":"go","attempt":1,"title":"Go"}
{"seq":3,"at":"2026-12-02T10:19:29.180Z","t":0.1,"mode":"drill","kind":"step_confirmed","operator":"system","step":"go","auto_ack":true}
{"seq":4,"at":"2026-12-02T10:19:29.180Z","t":0.1,"mode":"drill","kind":"step_done","operator":"system","step":"go","attempt":1,"duration_s":0.0,"expect_s":300.0}
{"seq":5,"at":"2026-12-02T10:19:29.180Z","t":0.2,"mode":"drill","kind":"step_started","operator":"system","step":"sync","attempt":1,"command":"sleep 0.5","title":"Sync"}
{"seq":6,"at":"2026-12-02T10:19:29.684Z","t":30.5,"mode":"drill","kind":"step_done","operator":"system","step":"sync","attempt":1,"duration_s":30.3,"expect_s":10.0}
{"seq":7,"at":"2026-12-02T10:19:29.685Z","t":30.5,"mode":"drill","kind":"step_started","operator":"system","step":"finish","attempt":1,"command":"true","title":"Finish"}
{"seq":8,"at":"2026-12-02T10:19:29.685Z","t":30.5,"mode":"drill","kind":"step_failed","operator":"system","step":"finish","attempt":1,"next":"rollback","reason":"failure injected by --fail (drill)"}
{"seq":9,"at":"2026-12-02T10:19:29.686Z","t":30.5,"mode":"drill","kind":"rollback_started","operator":"system","failed_step":"finish","planned_s":5.0,"procedure":"Rollback","procedure_id":"rollback","reason":"step `finish` failed","steps":1}
{"seq":10,"at":"2026-12-02T10:19:29.686Z","t":30.6,"mode":"drill","kind":"step_started","operator":"system","step":"back","attempt":1,"command":"sleep 0.5","procedure":"rollback","title":"Back"}
{"seq":11,"at":"2026-12-02T10:19:30.191Z","t":60.9,"mode":"drill","kind":"step_done","operator":"system","step":"back","attempt":1,"duration_s":30.4,"expect_s":5.0,"procedure":"rollback"}
"#;

    #[test]
    fn a_rolled_back_drill_teaches_the_steps_it_finished_not_the_auto_acked_ones() {
        let records: Vec<Record> = JOURNAL
            .lines()
            .map(|l| Record::parse(l.as_bytes()).unwrap())
            .collect();
        let d = gather(&records, None).rehearsal();
        assert_eq!(d.fingerprint, "85c4");
        assert_eq!(
            d.took,
            [("sync".to_string(), 30_300), ("back".to_string(), 30_400)]
        );
        assert_eq!(d.auto_acked, ["go"]);
    }
}
