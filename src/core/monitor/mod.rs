//! The monitor: pure state for metrics, triggers and canary gates, owned by the engine.
//!
//! Samples come in (from the drill simulation or the live pollers) with their own
//! timestamps; `evaluate` turns the store into trigger states and actions — journal entries,
//! a rollback request, a hold — at a given T-time. Nothing here reads a clock or does IO, so
//! every rule (sustained breaches, gaps, staleness, grace countdowns, decisions, unknown-data
//! tolerance, dry runs) is unit-tested with plain numbers.

pub mod sim;
pub mod store;
pub mod trigger;
pub mod until;

#[cfg(test)]
mod tests;

use crate::core::event::{Breach, Entry, Event};
use crate::core::number::num;
use crate::core::runbook::signals::*;
use crate::core::time::{Ms, Period, TTime, human, t_clock, t_clock_hours};
use std::collections::{BTreeMap, HashMap, VecDeque};
use store::{Sample, Series, Status};
use trigger::{Streak, TriggerState};

/// Something the engine must do because of the monitor.
#[derive(Debug, Clone, PartialEq)]
pub enum Reaction {
    /// Append to the journal.
    Journal(Entry),
    /// Start the rollback.
    Rollback {
        /// Why (shown and journaled).
        reason: String,
        /// The trigger whose breach, grace or decision asks for it: what the metrics panes
        /// keep in view while the rollback runs.
        trigger: String,
    },
    /// Hold the runbook.
    Hold {
        /// Why.
        reason: String,
    },
}

/// What the engine tells the monitor about the run.
pub struct Progress<'a> {
    /// Is this forward step done?
    pub done: &'a dyn Fn(&str) -> bool,
    /// Was this forward step skipped? A trigger armed by it then never arms, and says so.
    pub skipped: &'a dyn Fn(&str) -> bool,
    /// The point of no return passed at this step, if it did.
    pub past_pnr: Option<&'a str>,
    /// A rollback is running or done.
    pub rolling_back: bool,
}

/// A running grace countdown before an automatic rollback.
#[derive(Debug, Clone, PartialEq)]
pub struct Grace {
    /// Trigger id.
    pub trigger: String,
    /// When the rollback starts unless vetoed.
    pub deadline: Ms,
    /// Why.
    pub reason: String,
}

/// An operator's veto of a trigger's automatic rollback, in force until `until` or the
/// trigger's recovery, whichever comes first.
#[derive(Debug, Clone, PartialEq)]
pub struct Veto {
    /// Who vetoed.
    pub by: String,
    /// When.
    pub at: Ms,
    /// Until when it holds.
    pub until: Ms,
    /// The value and limit it was given on, when the trigger had them.
    pub value: Option<(f64, f64)>,
    /// The operator's reason, once given.
    pub why: Option<String>,
}

/// An open decision: roll back or continue.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Trigger id.
    pub trigger: String,
    /// What it is about.
    pub reason: String,
    /// When the default applies.
    pub deadline: Ms,
    /// The default.
    pub default: Choice,
}

/// One trigger's live state.
#[derive(Debug, Clone)]
pub struct TriggerRun {
    /// The definition (shared: evaluation holds a handle to it while it changes the run).
    pub def: std::sync::Arc<Trigger>,
    /// What it shows.
    pub state: TriggerState,
    /// A veto in force: the trigger does not act on its breach while it holds.
    pub veto: Option<Veto>,
    streak: Streak,
    /// Armed: its `after:` step is done (or it has none) and its `until:` step is not.
    pub armed: bool,
    fired: bool,
    unknown_since: Option<Ms>,
    unknown_acted: bool,
    baseline_key: Option<String>,
}

impl TriggerRun {
    /// The baseline key this trigger's limit needs, if it has one.
    pub fn baseline_key(&self) -> Option<&str> {
        self.baseline_key.as_deref()
    }
}

/// A canary gate being watched.
#[derive(Debug, Clone)]
struct GateRun {
    gate: Gate,
    since: Ms,
    streak: Streak,
    baseline_key: Option<String>,
}

/// One canary gate as an operator watches it decide: its value against its limit, and how
/// far a violation has got towards its `for`.
#[derive(Debug, Clone, PartialEq)]
pub struct GateView {
    /// The gate as written (`target-error-rate < 0.1%`).
    pub text: String,
    /// The metric's unit (`%`, `ms`), empty when it has none.
    pub unit: String,
    /// The latest fresh value since the stage began, and the limit it is held to.
    pub value: Option<(f64, f64)>,
    /// Where it stands.
    pub state: GateState,
}

/// Where a gate stands.
#[derive(Debug, Clone, PartialEq)]
pub enum GateState {
    /// The latest fresh value holds.
    Holds,
    /// Violated for `held` of the `needed` it takes to fail (0: fails at once).
    Violated {
        /// How long the violation has lasted, on sample times.
        held: Ms,
        /// The gate's `for`.
        needed: Ms,
    },
    /// Failed: violated for its whole `for`.
    Failed,
    /// No fresh value since the stage began, or no usable limit: why.
    Unknown(String),
}

/// `v` with its unit: `0.38 %`, `950 ms`, `12`.
pub fn with_unit(v: f64, unit: &str) -> String {
    if unit.is_empty() {
        num(v)
    } else {
        format!("{} {unit}", num(v))
    }
}

/// A canary stage's gates, at a moment.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every gate holds on fresh data.
    Pass,
    /// A gate failed on fresh data: why.
    Fail(String),
    /// Not decidable yet (no fresh data since the stage began, a violation not yet
    /// sustained): why. Unknown data never passes a gate.
    Wait(String),
}

#[derive(Debug, Clone)]
struct Window {
    from: Ms,
    to: Ms,
    metric: usize,
    sum: f64,
    count: u32,
    closed: bool,
}

/// Metrics, triggers and gates.
#[derive(Debug, Clone, Default)]
pub struct Monitor {
    /// Metric definitions, in runbook order.
    pub metrics: Vec<Metric>,
    index: HashMap<String, usize>,
    /// One series per metric.
    pub series: Vec<Series>,
    /// Triggers.
    pub triggers: Vec<TriggerRun>,
    gates: BTreeMap<String, Vec<GateRun>>,
    stages: BTreeMap<String, CanaryStage>,
    captured: HashMap<String, f64>,
    /// Baselines whose capture failed, by key, with why (journaled `baseline_missing`): a
    /// trigger or gate that needs one says so where it is shown, not only the journal.
    missing: HashMap<String, String>,
    at_step: Vec<(String, String, usize)>,
    windows: HashMap<String, Window>,
    /// Grace countdowns running.
    pub graces: Vec<Grace>,
    /// Decisions waiting for the operator, oldest first.
    pub decisions: VecDeque<Decision>,
    watched: std::collections::HashSet<String>,
}

fn baseline_key(b: &Baseline) -> Option<String> {
    match b {
        Baseline::AtStep { step, of } => Some(format!("{of}@{step}")),
        Baseline::Mean { from, to, of } => {
            // Journaled as the baseline's name: the hours form keeps old journals' names.
            Some(format!(
                "{of}@{}..{}",
                t_clock_hours(*from),
                t_clock_hours(*to)
            ))
        }
        _ => None,
    }
}

impl Monitor {
    /// A monitor for the runbook's signals.
    pub fn new(sig: &Signals) -> Self {
        let index = sig
            .metrics
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        let mut m = Monitor {
            metrics: sig.metrics.clone(),
            index,
            series: vec![Series::default(); sig.metrics.len()],
            stages: sig.stages.clone(),
            ..Default::default()
        };
        let mut baselines: Vec<Baseline> = sig
            .triggers
            .iter()
            .filter_map(|t| t.baseline.clone())
            .collect();
        baselines.extend(
            sig.stages
                .values()
                .flat_map(|s| s.gates.iter().filter_map(|g| g.baseline.clone())),
        );
        for b in &baselines {
            let Some(key) = baseline_key(b) else { continue };
            match b {
                Baseline::AtStep { step, of } => {
                    if let Some(&i) = m.index.get(of)
                        && !m.at_step.iter().any(|(k, _, _)| *k == key)
                    {
                        m.at_step.push((key, step.clone(), i));
                    }
                }
                Baseline::Mean { from, to, of } => {
                    if let Some(&i) = m.index.get(of) {
                        m.windows.entry(key).or_insert(Window {
                            from: *from,
                            to: *to,
                            metric: i,
                            sum: 0.0,
                            count: 0,
                            closed: false,
                        });
                    }
                }
                _ => {}
            }
        }
        for t in &sig.triggers {
            m.watched.insert(t.when.metric.clone());
            if let Some(Baseline::Metric(b)) = &t.baseline {
                m.watched.insert(b.clone());
            }
        }
        for g in sig.stages.values().flat_map(|s| s.gates.iter()) {
            m.watched.insert(g.check.metric.clone());
            if let Some(Baseline::Metric(b)) = &g.baseline {
                m.watched.insert(b.clone());
            }
        }
        m.triggers = sig
            .triggers
            .iter()
            .map(|t| TriggerRun {
                baseline_key: t.baseline.as_ref().and_then(baseline_key),
                def: std::sync::Arc::new(t.clone()),
                state: TriggerState::Inactive(match &t.after {
                    Some(s) => format!("armed when `{s}` is done"),
                    None => "not evaluated yet".into(),
                }),
                veto: None,
                streak: Streak::default(),
                armed: false,
                fired: false,
                unknown_since: None,
                unknown_acted: false,
            })
            .collect();
        m
    }

    /// True when there is anything to watch.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// True when a trigger or gate looks at this metric (others only feed the screen).
    pub fn watches(&self, id: &str) -> bool {
        self.watched.contains(id)
    }

    /// The index of a metric.
    pub fn metric_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Every watched metric's reading at `now`, for the journal entries that decide
    /// something (a breach, a decision asked, a rollback): the evidence of what it was
    /// decided on. Metrics only the screen shows are left out (there may be a thousand).
    pub fn snapshot(&self, now: Ms) -> crate::core::event::Values {
        self.metrics
            .iter()
            .enumerate()
            .filter(|(_, m)| self.watched.contains(&m.id))
            .map(|(i, m)| {
                let reading = match self.status(i, now) {
                    Status::Fresh(s) => crate::core::event::Reading {
                        value: Some(s.value),
                        age: Some(crate::core::time::Period((now - s.at).max(0))),
                        unknown: None,
                    },
                    Status::Unknown(why) => crate::core::event::Reading {
                        value: None,
                        age: None,
                        unknown: Some(why),
                    },
                };
                (m.id.clone(), reading)
            })
            .collect()
    }

    /// A metric's status at `now`.
    pub fn status(&self, i: usize, now: Ms) -> Status {
        self.series[i].status(&self.metrics[i], now)
    }

    fn status_of(&self, id: &str, now: Ms) -> Status {
        match self.index.get(id) {
            Some(&i) => self.status(i, now),
            None => Status::Unknown(format!("no metric `{id}`")),
        }
    }

    /// A captured baseline (for the screen).
    pub fn captured(&self, key: &str) -> Option<f64> {
        self.captured.get(key).copied()
    }

    fn baseline(
        &self,
        b: Option<&Baseline>,
        key: Option<&String>,
        now: Ms,
    ) -> Result<Option<f64>, String> {
        match b {
            None => Ok(None),
            Some(Baseline::Fixed(v)) => Ok(Some(*v)),
            Some(Baseline::Metric(m)) => match self.status_of(m, now) {
                Status::Fresh(s) => Ok(Some(s.value)),
                Status::Unknown(r) => Err(format!("baseline `{m}` {r}")),
            },
            Some(Baseline::AtStep { step, of }) => key
                .and_then(|k| self.captured.get(k))
                .map(|v| Some(*v))
                .ok_or_else(|| match key.and_then(|k| self.missing.get(k)) {
                    Some(why) => format!(
                        "no baseline: `{of}` was not captured when `{step}` was done ({why})"
                    ),
                    None => format!("no baseline yet: `{of}` is captured when `{step}` is done"),
                }),
            Some(Baseline::Mean { from, to, of }) => {
                if let Some(v) = key.and_then(|k| self.captured.get(k)) {
                    return Ok(Some(*v));
                }
                let closed = key
                    .and_then(|k| self.windows.get(k))
                    .is_some_and(|w| w.closed);
                Err(if closed {
                    format!(
                        "no baseline: no samples of `{of}` in {}..{}",
                        t_clock(*from),
                        t_clock(*to)
                    )
                } else {
                    format!(
                        "no baseline yet: mean of `{of}` over {}..{}",
                        t_clock(*from),
                        t_clock(*to)
                    )
                })
            }
        }
    }

    fn limit(
        &self,
        c: &Condition,
        b: Option<&Baseline>,
        key: Option<&String>,
        now: Ms,
    ) -> Result<f64, String> {
        let base = self.baseline(b, key, now)?;
        match c.limit(base) {
            Some(l) if l.is_finite() => Ok(l),
            _ => Err("no usable baseline".into()),
        }
    }

    /// Records one read of metric `id` taken at `at`.
    /// The metric's current read error, if its last read failed.
    pub fn read_error(&self, id: &str) -> Option<&str> {
        let &i = self.index.get(id)?;
        self.series[i].error.as_ref().map(|(_, why)| why.as_str())
    }

    pub fn sample(&mut self, id: &str, at: Ms, value: Result<f64, String>, now: Ms) {
        let Some(&i) = self.index.get(id) else { return };
        let v = match value {
            Err(reason) => {
                self.series[i].fail(at, reason);
                return;
            }
            Ok(v) => v,
        };
        if !self.series[i].push(Sample { at, value: v }) || v.is_nan() {
            return;
        }
        for w in self.windows.values_mut() {
            if w.metric == i && !w.closed && at >= w.from && at < w.to && v.is_finite() {
                w.sum += v;
                w.count += 1;
            }
        }
        for ti in 0..self.triggers.len() {
            let t = &self.triggers[ti];
            if !t.armed || t.def.when.metric != id {
                continue;
            }
            if let Ok(l) = self.limit(
                &t.def.when,
                t.def.baseline.as_ref(),
                t.baseline_key.as_ref(),
                now,
            ) {
                let violating = t.def.when.op.holds(v, l);
                self.triggers[ti].streak.feed(at, violating);
            }
        }
        // Two passes: limits need `&self`, streaks need `&mut` gates.
        let mut feeds = Vec::new();
        for (k, runs) in &self.gates {
            for (gi, g) in runs.iter().enumerate() {
                if g.gate.check.metric != id || at < g.since {
                    continue;
                }
                let limit = self.limit(
                    &g.gate.check,
                    g.gate.baseline.as_ref(),
                    g.baseline_key.as_ref(),
                    now,
                );
                if let Ok(l) = limit {
                    feeds.push((k.clone(), gi, !g.gate.check.op.holds(v, l)));
                }
            }
        }
        for (k, gi, violating) in feeds {
            if let Some(g) = self.gates.get_mut(&k).and_then(|g| g.get_mut(gi)) {
                g.streak.feed(at, violating);
            }
        }
    }

    /// A forward step finished: captures the baselines taken at it.
    pub fn step_done(&mut self, step: &str, now: Ms) -> Vec<Reaction> {
        let mut out = Vec::new();
        let todo: Vec<(String, usize)> = self
            .at_step
            .iter()
            .filter(|(k, s, _)| s == step && !self.captured.contains_key(k))
            .map(|(k, _, i)| (k.clone(), *i))
            .collect();
        for (key, i) in todo {
            let id = self.metrics[i].id.clone();
            match self.status(i, now) {
                Status::Fresh(s) if s.value.is_finite() => {
                    self.captured.insert(key.clone(), s.value);
                    out.push(Reaction::Journal(
                        Event::BaselineCaptured {
                            step: Some(step.to_string().into()),
                            baseline: key,
                            metric: id,
                            value: s.value,
                            samples: None,
                        }
                        .by_system(),
                    ));
                }
                Status::Fresh(_) => {}
                Status::Unknown(r) => {
                    self.missing.insert(key.clone(), r.clone());
                    out.push(Reaction::Journal(
                        Event::BaselineMissing {
                            step: Some(step.to_string().into()),
                            baseline: key,
                            metric: id,
                            reason: r,
                        }
                        .by_system(),
                    ))
                }
            }
        }
        out
    }

    /// Restores a baseline from the journal on resume.
    /// Replay: a baseline whose capture failed (journaled `baseline_missing`).
    pub fn restore_baseline_missing(&mut self, key: &str, reason: &str) {
        if !self.captured.contains_key(key) {
            self.missing.insert(key.to_string(), reason.to_string());
        }
        if let Some(w) = self.windows.get_mut(key) {
            w.closed = true;
        }
    }

    /// Why baseline `key` could not be captured, once its capture failed.
    pub fn baseline_missing(&self, key: &str) -> Option<&str> {
        self.missing.get(key).map(String::as_str)
    }

    pub fn restore_baseline(&mut self, key: &str, value: f64) {
        self.captured.insert(key.to_string(), value);
        if let Some(w) = self.windows.get_mut(key) {
            w.closed = true;
        }
    }

    /// Restores an open decision from the journal on resume.
    pub fn restore_decision(&mut self, d: Decision) {
        self.decisions.push_back(d);
    }

    /// Closes a decision found answered in the journal.
    pub fn restore_decided(&mut self, trigger: &str) {
        if let Some(p) = self.decisions.iter().position(|d| d.trigger == trigger) {
            self.decisions.remove(p);
        }
    }

    /// Starts watching a canary stage's gates (from `now`: data from before the stage's
    /// weight change does not count).
    pub fn arm_gates(&mut self, step: &str, now: Ms) {
        let Some(st) = self.stages.get(step) else {
            return;
        };
        let runs = st
            .gates
            .iter()
            .map(|g| GateRun {
                baseline_key: g.baseline.as_ref().and_then(baseline_key),
                gate: g.clone(),
                since: now,
                streak: Streak::default(),
            })
            .collect();
        self.gates.insert(step.to_string(), runs);
    }

    /// Arms a stage's gates if they are not armed (after a resume).
    pub fn ensure_gates(&mut self, step: &str, now: Ms) {
        if !self.gates.contains_key(step) {
            self.arm_gates(step, now);
        }
    }

    /// Stops watching a stage's gates.
    pub fn disarm_gates(&mut self, step: &str) {
        self.gates.remove(step);
    }

    /// True when the step is a canary stage with gates.
    pub fn has_gates(&self, step: &str) -> bool {
        self.stages.get(step).is_some_and(|s| !s.gates.is_empty())
    }

    /// The stage settings of a step.
    pub fn stage(&self, step: &str) -> Option<&CanaryStage> {
        self.stages.get(step)
    }

    /// The verdict of a stage's gates at `now`: the first failure, else the first reason to
    /// wait, else a pass.
    pub fn verdict(&self, step: &str, now: Ms) -> Verdict {
        let Some(runs) = self.gates.get(step) else {
            return Verdict::Wait("gates not armed".into());
        };
        let mut wait = None;
        for g in runs {
            let text = &g.gate.check.text;
            let limit = self.limit(
                &g.gate.check,
                g.gate.baseline.as_ref(),
                g.baseline_key.as_ref(),
                now,
            );
            let v = match (self.status_of(&g.gate.check.metric, now), limit) {
                (Status::Unknown(r), _) | (_, Err(r)) => Verdict::Wait(format!("`{text}`: {r}")),
                (Status::Fresh(s), Ok(_)) if s.at < g.since => {
                    Verdict::Wait(format!("`{text}`: no sample since the stage began"))
                }
                (Status::Fresh(s), Ok(l)) if g.gate.check.op.holds(s.value, l) => Verdict::Pass,
                (Status::Fresh(s), Ok(l)) if g.streak.sustained(g.gate.sustain, 1) => {
                    let unit = self
                        .index
                        .get(&g.gate.check.metric)
                        .and_then(|&i| self.metrics[i].unit.clone())
                        .unwrap_or_default();
                    Verdict::Fail(format!(
                        "gate `{text}` failed: {} (limit {})",
                        with_unit(s.value, &unit),
                        with_unit(l, &unit)
                    ))
                }
                (Status::Fresh(_), Ok(_)) => Verdict::Wait(format!(
                    "`{text}` violated, not yet for {}",
                    human(g.gate.sustain)
                )),
            };
            match v {
                Verdict::Fail(_) => return v,
                Verdict::Wait(r) => {
                    wait.get_or_insert(r);
                }
                Verdict::Pass => {}
            }
        }
        wait.map_or(Verdict::Pass, Verdict::Wait)
    }

    /// Each gate of a stage at `now`, for the screen and the printer (empty when the stage's
    /// gates are not being watched).
    pub fn gate_views(&self, step: &str, now: Ms) -> Vec<GateView> {
        let Some(runs) = self.gates.get(step) else {
            return Vec::new();
        };
        runs.iter()
            .map(|g| {
                let check = &g.gate.check;
                let unit = self
                    .index
                    .get(&check.metric)
                    .and_then(|&i| self.metrics[i].unit.clone())
                    .unwrap_or_default();
                let limit = self.limit(
                    check,
                    g.gate.baseline.as_ref(),
                    g.baseline_key.as_ref(),
                    now,
                );
                let (value, state) = match (self.status_of(&check.metric, now), limit) {
                    (Status::Unknown(r), _) | (_, Err(r)) => (None, GateState::Unknown(r)),
                    (Status::Fresh(s), Ok(_)) if s.at < g.since => (
                        None,
                        GateState::Unknown("no sample since the stage began".into()),
                    ),
                    (Status::Fresh(s), Ok(l)) if check.op.holds(s.value, l) => {
                        (Some((s.value, l)), GateState::Holds)
                    }
                    (Status::Fresh(s), Ok(l)) if g.streak.sustained(g.gate.sustain, 1) => {
                        (Some((s.value, l)), GateState::Failed)
                    }
                    (Status::Fresh(s), Ok(l)) => (
                        Some((s.value, l)),
                        GateState::Violated {
                            held: g.streak.held(),
                            needed: g.gate.sustain,
                        },
                    ),
                };
                GateView {
                    text: check.text.clone(),
                    unit,
                    value,
                    state,
                }
            })
            .collect()
    }

    /// One line of what the stage's gates read now: `target-error-rate 0.05 % (< 0.1 %), …`.
    pub fn gates_summary(&self, step: &str, now: Ms) -> String {
        self.gate_views(step, now)
            .iter()
            .map(|g| match g.value {
                Some((v, l)) => format!(
                    "{} {} (limit {})",
                    g.text.split_whitespace().next().unwrap_or(&g.text),
                    with_unit(v, &g.unit),
                    with_unit(l, &g.unit)
                ),
                None => format!("{}: unknown", g.text),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The operator vetoes the running grace countdown (the oldest) at `now`: it stops at
    /// once, and the trigger holds off for its `veto_for` unless it recovers first.
    pub fn veto(&mut self, operator: &str, now: Ms) -> Vec<Reaction> {
        if self.graces.is_empty() {
            return Vec::new();
        }
        let g = self.graces.remove(0);
        let Some(t) = self.triggers.iter_mut().find(|t| t.def.id == g.trigger) else {
            return Vec::new();
        };
        let value = match t.state {
            TriggerState::Breach { value, limit, .. }
            | TriggerState::Pending { value, limit, .. } => Some((value, limit)),
            _ => None,
        };
        let until = now + t.def.veto_for;
        t.veto = Some(Veto {
            by: operator.to_string(),
            at: now,
            until,
            value,
            why: None,
        });
        vec![Reaction::Journal(
            Event::RollbackVetoed {
                trigger: g.trigger,
                reason: g.reason,
                until: Some(TTime(until)),
                value: value.map(|v| v.0),
                threshold: value.map(|v| v.1),
            }
            .by(operator),
        )]
    }

    /// The operator's reason for the veto of `trigger` (asked after the key acted).
    pub fn explain_veto(&mut self, operator: &str, trigger: &str, why: &str) -> Vec<Reaction> {
        let Some(v) = self
            .triggers
            .iter_mut()
            .find(|t| t.def.id == trigger)
            .and_then(|t| t.veto.as_mut())
        else {
            return Vec::new();
        };
        v.why = Some(why.to_string());
        vec![Reaction::Journal(
            Event::VetoExplained {
                trigger: trigger.to_string(),
                why: why.to_string(),
            }
            .by(operator),
        )]
    }

    /// Restores a veto from the journal on resume: the same veto means the same thing
    /// whether or not the cockpit restarted in between.
    pub fn restore_veto(&mut self, trigger: &str, veto: Veto) {
        if let Some(t) = self.triggers.iter_mut().find(|t| t.def.id == trigger) {
            t.veto = Some(veto);
        }
    }

    /// Restores a veto's reason from the journal.
    pub fn restore_veto_reason(&mut self, trigger: &str, why: &str) {
        if let Some(v) = self
            .triggers
            .iter_mut()
            .find(|t| t.def.id == trigger)
            .and_then(|t| t.veto.as_mut())
        {
            v.why = Some(why.to_string());
        }
    }

    /// Forgets a veto the journal says ended.
    pub fn restore_veto_ended(&mut self, trigger: &str) {
        if let Some(t) = self.triggers.iter_mut().find(|t| t.def.id == trigger) {
            t.veto = None;
        }
    }

    /// The veto in force on a trigger, if any.
    pub fn veto_of(&self, trigger: &str) -> Option<&Veto> {
        self.triggers
            .iter()
            .find(|t| t.def.id == trigger)
            .and_then(|t| t.veto.as_ref())
    }

    /// The operator answers the oldest open decision.
    pub fn decide(&mut self, operator: &str, choice: Choice, why: Option<String>) -> Vec<Reaction> {
        let Some(d) = self.decisions.pop_front() else {
            return Vec::new();
        };
        let mut out = vec![Reaction::Journal(
            Event::DecisionMade {
                trigger: d.trigger.clone(),
                choice,
                by_default: false,
                why,
            }
            .by(operator),
        )];
        if choice == Choice::Rollback {
            out.push(Reaction::Rollback {
                reason: format!(
                    "decision by {operator} on trigger `{}`: {}",
                    d.trigger, d.reason
                ),
                trigger: d.trigger.clone(),
            });
        }
        out
    }

    /// The next T-time something is due (a deadline, a window end, a tolerance running out,
    /// a value going stale), if any.
    pub fn next_wakeup(&self, now: Ms) -> Option<Ms> {
        let mut next: Option<Ms> = None;
        let mut consider = |t: Ms| {
            if t > now {
                next = Some(next.map_or(t, |n: Ms| n.min(t)));
            }
        };
        self.graces.iter().for_each(|g| consider(g.deadline));
        self.decisions.iter().for_each(|d| consider(d.deadline));
        self.windows
            .values()
            .filter(|w| !w.closed)
            .for_each(|w| consider(w.to + self.metrics[w.metric].stale_after));
        for t in &self.triggers {
            if let Some(v) = &t.veto {
                consider(v.until);
            }
            if let Some(s) = t.unknown_since
                && !t.unknown_acted
            {
                consider(s + t.def.on_unknown.after);
            }
            if let Some(&i) = self.index.get(&t.def.when.metric)
                && let Some(l) = self.series[i].last()
            {
                consider(l.at + self.metrics[i].stale_after + 1);
            }
        }
        next
    }

    /// Evaluates every trigger at `now`; returns what must happen.
    pub fn evaluate(&mut self, now: Ms, ctx: &Progress) -> Vec<Reaction> {
        let mut out = Vec::new();
        self.close_windows(now, &mut out);
        if ctx.rolling_back {
            self.cancel_pending("the rollback started", &mut out);
        }
        for i in 0..self.triggers.len() {
            self.evaluate_one(i, now, ctx, &mut out);
        }
        self.run_deadlines(now, ctx, &mut out);
        out
    }

    fn close_windows(&mut self, now: Ms, out: &mut Vec<Reaction>) {
        let mut keys: Vec<&String> = self.windows.keys().collect();
        keys.sort();
        let due: Vec<String> = keys
            .into_iter()
            .filter(|k| {
                self.windows
                    .get(*k)
                    .is_some_and(|w| !w.closed && self.window_over(w, now))
            })
            .cloned()
            .collect();
        for k in due {
            let Some(w) = self.windows.get_mut(&k) else {
                continue;
            };
            w.closed = true;
            let id = self.metrics[w.metric].id.clone();
            if w.count > 0 {
                let mean = w.sum / f64::from(w.count);
                let n = w.count;
                self.captured.insert(k.clone(), mean);
                out.push(Reaction::Journal(
                    Event::BaselineCaptured {
                        step: None,
                        baseline: k,
                        metric: id,
                        value: mean,
                        samples: Some(n),
                    }
                    .by_system(),
                ));
            } else {
                self.missing
                    .insert(k.clone(), "no samples in the window".into());
                out.push(Reaction::Journal(
                    Event::BaselineMissing {
                        step: None,
                        baseline: k,
                        metric: id,
                        reason: "no samples in the window".into(),
                    }
                    .by_system(),
                ));
            }
        }
    }

    /// A window's mean is final once a sample from after its end has arrived (answers come
    /// in order per metric), or once its metric would be stale past the end.
    fn window_over(&self, w: &Window, now: Ms) -> bool {
        let past = self.series[w.metric].last().is_some_and(|l| l.at >= w.to);
        past || now >= w.to + self.metrics[w.metric].stale_after
    }

    fn cancel_pending(&mut self, why: &str, out: &mut Vec<Reaction>) {
        for g in self.graces.drain(..) {
            out.push(Reaction::Journal(
                Event::RollbackGraceCancelled {
                    trigger: g.trigger,
                    why: why.to_string(),
                }
                .by_system(),
            ));
        }
        for d in self.decisions.drain(..) {
            out.push(Reaction::Journal(
                Event::DecisionCancelled {
                    trigger: d.trigger,
                    why: why.to_string(),
                }
                .by_system(),
            ));
        }
    }

    fn evaluate_one(&mut self, i: usize, now: Ms, ctx: &Progress, out: &mut Vec<Reaction>) {
        let def = self.triggers[i].def.clone();
        let armed = def.after.as_deref().is_none_or(|s| (ctx.done)(s))
            && !def.until.as_deref().is_some_and(|s| (ctx.done)(s));
        let t = &mut self.triggers[i];
        if armed != t.armed {
            t.armed = armed;
            t.streak.reset();
            t.unknown_since = None;
            t.unknown_acted = false;
            t.fired = false;
            if armed && def.after.is_some() {
                out.push(Reaction::Journal(
                    Event::TriggerArmed {
                        trigger: def.id.clone(),
                        after: def.after.clone().unwrap_or_default(),
                    }
                    .by_system(),
                ));
            }
        }
        if let Some(v) = &t.veto
            && now >= v.until
        {
            out.push(Reaction::Journal(
                Event::VetoEnded {
                    trigger: def.id.clone(),
                    why: format!(
                        "the veto by {} held its {}: the trigger acts again if the breach is still there",
                        v.by,
                        human(v.until - v.at)
                    ),
                }
                .by_system(),
            ));
            t.veto = None;
            // A breach still sustained now fires anew (a fresh grace countdown).
            t.fired = false;
        }
        if !armed {
            t.state = TriggerState::Inactive(match (&def.after, &def.until) {
                (_, Some(u)) if (ctx.done)(u) => format!("disarmed: `{u}` is done"),
                (Some(a), _) if (ctx.skipped)(a) => {
                    format!("NEVER ARMS: `{a}` was skipped · not watching")
                }
                (Some(a), _) => format!("armed when `{a}` is done"),
                _ => "inactive".into(),
            });
            return;
        }
        let status = self.status_of(&def.when.metric, now);
        let limit = self.limit(
            &def.when,
            def.baseline.as_ref(),
            self.triggers[i].baseline_key.as_ref(),
            now,
        );
        match (status, limit) {
            (Status::Fresh(s), Ok(l)) => {
                let t = &mut self.triggers[i];
                t.unknown_since = None;
                t.unknown_acted = false;
                let violating = def.when.op.holds(s.value, l);
                // The latest sample may predate arming; feed it so a trigger armed on a
                // breach starts its streak at once.
                t.streak.feed(s.at, violating);
                let (held, samples) = (t.streak.held(), t.streak.count);
                if violating && t.streak.sustained(def.sustain, def.min_samples) {
                    t.state = TriggerState::Breach {
                        value: s.value,
                        limit: l,
                        held,
                        samples,
                    };
                    if !t.fired {
                        t.fired = true;
                        // Vetoed: the breach is shown, and acted on once the veto ends.
                        if t.veto.is_none() {
                            self.fire(i, s.value, l, now, ctx, out);
                        }
                    }
                } else if violating {
                    t.state = TriggerState::Pending {
                        value: s.value,
                        limit: l,
                        held,
                        samples,
                    };
                } else {
                    t.state = TriggerState::Ok {
                        value: s.value,
                        limit: l,
                    };
                    if let Some(v) = t.veto.take() {
                        out.push(Reaction::Journal(
                            Event::VetoEnded {
                                trigger: def.id.clone(),
                                why: format!(
                                    "the trigger recovered (now {}, limit {}): the veto by {} is over",
                                    num(s.value),
                                    num(l),
                                    v.by
                                ),
                            }
                            .by_system(),
                        ));
                    }
                    if t.fired {
                        t.fired = false;
                        out.push(Reaction::Journal(
                            Event::TriggerRecovered {
                                trigger: def.id.clone(),
                                value: s.value,
                                threshold: l,
                            }
                            .by_system(),
                        ));
                    }
                }
            }
            (Status::Unknown(reason), _) | (_, Err(reason)) => {
                let began = self.unknown_began(&def.when.metric, now);
                let t = &mut self.triggers[i];
                let since = *t.unknown_since.get_or_insert(began);
                t.state = TriggerState::Unknown {
                    reason: reason.clone(),
                    since,
                };
                let act = def.on_unknown;
                if !t.unknown_acted && now - since >= act.after && act.then != UnknownAction::Ignore
                {
                    t.unknown_acted = true;
                    self.unknown_action(i, &reason, since, now, ctx, out);
                }
            }
        }
    }

    /// When a metric's data became unusable: the moment its last value went stale, or now.
    fn unknown_began(&self, id: &str, now: Ms) -> Ms {
        let Some(&i) = self.index.get(id) else {
            return now;
        };
        match self.series[i].last() {
            Some(l) if now - l.at > self.metrics[i].stale_after => {
                (l.at + self.metrics[i].stale_after).min(now)
            }
            _ => now,
        }
    }

    fn unknown_action(
        &mut self,
        i: usize,
        reason: &str,
        since: Ms,
        now: Ms,
        ctx: &Progress,
        out: &mut Vec<Reaction>,
    ) {
        let def = &self.triggers[i].def;
        let then = def.on_unknown.then;
        let e = Event::TriggerUnknown {
            trigger: def.id.clone(),
            metric: def.when.metric.clone(),
            reason: reason.to_string(),
            unknown_for: Period(now - since),
            action: then,
            dry_run: def.dry_run,
        };
        out.push(Reaction::Journal(e.by_system()));
        if def.dry_run {
            return;
        }
        let why = format!(
            "trigger `{}`: data unknown for {} ({reason})",
            def.id,
            human(now - since)
        );
        match then {
            UnknownAction::Hold if !ctx.rolling_back => out.push(Reaction::Hold { reason: why }),
            UnknownAction::Decide if !ctx.rolling_back => self.request_decision(i, why, now, out),
            _ => {}
        }
    }

    fn request_decision(&mut self, i: usize, reason: String, now: Ms, out: &mut Vec<Reaction>) {
        let def = &self.triggers[i].def;
        if self.decisions.iter().any(|d| d.trigger == def.id) {
            return;
        }
        let d = Decision {
            trigger: def.id.clone(),
            reason: reason.clone(),
            deadline: now + def.decide.within,
            default: def.decide.default,
        };
        out.push(Reaction::Journal(
            Event::DecisionRequested {
                trigger: d.trigger.clone(),
                reason,
                deadline: TTime(d.deadline),
                default: d.default,
                values: self.snapshot(now),
            }
            .by_system(),
        ));
        self.decisions.push_back(d);
    }

    fn fire(
        &mut self,
        i: usize,
        value: f64,
        limit: f64,
        now: Ms,
        ctx: &Progress,
        out: &mut Vec<Reaction>,
    ) {
        let t = &self.triggers[i];
        let def = t.def.clone();
        let reason = format!(
            "trigger `{}`: {} ({} {} {} for {}, {} samples)",
            def.id,
            def.when.text,
            num(value),
            def.when.op.as_str(),
            num(limit),
            human(t.streak.held()),
            t.streak.count
        );
        let mut breach = Breach {
            trigger: def.id.clone(),
            metric: def.when.metric.clone(),
            condition: def.when.text.clone(),
            value,
            threshold: limit,
            held: Period(t.streak.held()),
            samples: t.streak.count,
            why: None,
        };
        let mut action = def.action;
        if action == TriggerAction::Rollback
            && let Some(step) = ctx.past_pnr
        {
            // Past the point of no return a rollback cannot work: say so, and alert instead.
            action = TriggerAction::Alert;
            breach.why = Some(format!(
                "past the point of no return (`{step}` is done): alert instead of rollback"
            ));
        }
        if def.dry_run {
            let verb = match action {
                TriggerAction::Rollback => "rolled back",
                TriggerAction::Decide => "asked for a decision",
                TriggerAction::Alert => "alerted",
            };
            let e = Event::TriggerDryRun {
                breach,
                would: action,
                text: format!(
                    "would have {verb} at T{}",
                    t_clock(now).trim_start_matches('T')
                ),
            };
            out.push(Reaction::Journal(e.by_system()));
            return;
        }
        out.push(Reaction::Journal(
            Event::TriggerBreach {
                breach,
                action,
                values: self.snapshot(now),
            }
            .by_system(),
        ));
        match action {
            TriggerAction::Alert => {}
            TriggerAction::Decide => self.request_decision(i, reason, now, out),
            TriggerAction::Rollback if def.grace > 0 && !ctx.rolling_back => {
                let g = Grace {
                    trigger: def.id.clone(),
                    deadline: now + def.grace,
                    reason,
                };
                out.push(Reaction::Journal(
                    Event::RollbackGraceStarted {
                        trigger: def.id.clone(),
                        grace: Period(def.grace),
                        deadline: TTime(g.deadline),
                    }
                    .by_system(),
                ));
                self.graces.push(g);
            }
            TriggerAction::Rollback => out.push(Reaction::Rollback {
                reason,
                trigger: def.id.clone(),
            }),
        }
    }

    fn run_deadlines(&mut self, now: Ms, ctx: &Progress, out: &mut Vec<Reaction>) {
        let due: Vec<Grace> = self
            .graces
            .iter()
            .filter(|g| now >= g.deadline)
            .cloned()
            .collect();
        self.graces.retain(|g| now < g.deadline);
        for g in due {
            let state = self
                .triggers
                .iter()
                .find(|t| t.def.id == g.trigger)
                .map(|t| t.state.clone());
            match state {
                // Still breaching on fresh data: roll back.
                Some(TriggerState::Breach { .. }) if ctx.past_pnr.is_none() => {
                    out.push(Reaction::Rollback {
                        reason: g.reason,
                        trigger: g.trigger,
                    })
                }
                other => {
                    let why = match other {
                        Some(TriggerState::Unknown { reason, .. }) => {
                            format!(
                                "no fresh data when the grace ended ({reason}): an automatic rollback needs a breach on fresh data"
                            )
                        }
                        Some(TriggerState::Breach { .. }) => {
                            "past the point of no return".to_string()
                        }
                        _ => "the metric recovered during the grace period".to_string(),
                    };
                    out.push(Reaction::Journal(
                        Event::RollbackGraceCancelled {
                            trigger: g.trigger,
                            why: why.to_string(),
                        }
                        .by_system(),
                    ));
                }
            }
        }
        while let Some(d) = self.decisions.front() {
            if now < d.deadline {
                break;
            }
            let Some(d) = self.decisions.pop_front() else {
                break;
            };
            out.push(Reaction::Journal(
                Event::DecisionMade {
                    trigger: d.trigger.clone(),
                    choice: d.default,
                    by_default: true,
                    why: None,
                }
                .by_system(),
            ));
            if d.default == Choice::Rollback {
                out.push(Reaction::Rollback {
                    reason: format!(
                        "no decision within the deadline on trigger `{}` (default: roll back): {}",
                        d.trigger, d.reason
                    ),
                    trigger: d.trigger.clone(),
                });
            }
        }
    }
}
