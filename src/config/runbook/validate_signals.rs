//! Cross-reference checks of the monitoring part: every metric, connection, step and trigger
//! a trigger, gate or scenario names must exist (units were fitted where conditions were
//! read); ids are unique; and each trigger is rehearsed by some scenario (a warning: an
//! untested trigger is a risk). Each problem is reported where the offending name is written.

use super::locations::Locations;
use super::reader::{Findings, nearest};
use crate::core::runbook::diag::Pos;
use crate::core::runbook::model::*;
use crate::core::runbook::signals::*;
use std::collections::HashSet;

fn did_you_mean(word: &str, known: &[&str]) -> String {
    match nearest(word, known) {
        Some(n) => format!("did you mean `{n}`? "),
        None => String::new(),
    }
}

/// The ids references may name, in file order (hints list them as written, duplicates too).
struct Ids<'a> {
    metrics: Vec<&'a str>,
    steps: Vec<&'a str>,
    triggers: Vec<&'a str>,
    connections: Vec<&'a str>,
}

impl<'a> Ids<'a> {
    fn of(rb: &'a Runbook) -> Self {
        let sig = &rb.signals;
        Self {
            metrics: sig.metrics.iter().map(|m| m.id.as_str()).collect(),
            steps: rb.steps().map(|s| s.id.as_str()).collect(),
            triggers: sig.triggers.iter().map(|t| t.id.as_str()).collect(),
            connections: sig.connections.iter().map(|c| c.name.as_str()).collect(),
        }
    }
}

/// Runs every check of the monitoring part.
pub fn check(sink: &mut Findings, rb: &Runbook, spots: &Locations) {
    let sig = &rb.signals;
    let ids = Ids::of(rb);
    // Diagnostics at one position keep the order they were pushed in, so the order of
    // these groups shows in the output.
    check_metrics(sink, sig, &ids, spots);
    check_triggers(sink, rb, &ids, spots);
    check_gates(sink, rb, &ids, spots);
    check_untils(sink, rb, &ids, spots);
    let tripped = check_scenarios(sink, sig, &ids, spots);
    if !sig.scenarios.is_empty() {
        warn_untripped(sink, sig, &tripped);
    }
}

/// Metric ids are unique, and each live query names a known connection it can ask.
fn check_metrics(sink: &mut Findings, sig: &Signals, ids: &Ids, spots: &Locations) {
    let mut seen = HashSet::new();
    for m in &sig.metrics {
        if !seen.insert(m.id.as_str()) {
            sink.error(
                m.pos,
                format!("duplicate metric id `{}`", m.id),
                "give each metric its own id",
            );
        }
        if let Some(LiveRead::Query { from, query }) = &m.live {
            let at = spots.of(m.pos, "from", from);
            metric_connection(sink, m, (from, at), query, sig, &ids.connections);
        }
    }
}

/// An http_json reader finds the number with `pointer`; every other kind needs a query.
fn metric_connection(
    sink: &mut Findings,
    m: &Metric,
    (from, at): (&str, Pos),
    query: &Query,
    sig: &Signals,
    conn_names: &[&str],
) {
    match sig.connections.iter().find(|c| c.name == from) {
        None => sink.error(
            at,
            format!("metric `{}` reads from unknown connection `{from}`", m.id),
            format!(
                "{}define it under `connections:`{}",
                did_you_mean(from, conn_names),
                if conn_names.is_empty() {
                    String::new()
                } else {
                    format!(" (known: {})", conn_names.join(", "))
                }
            ),
        ),
        Some(c) if c.kind == "http_json" && query.pointer.is_none() => sink.error(
            m.pos,
            format!(
                "metric `{}` reads JSON from `{from}` but has no `pointer`",
                m.id
            ),
            "add `pointer: /data/value` (an RFC 6901 JSON pointer to the number)",
        ),
        Some(c) if c.kind != "http_json" && query.text.trim().is_empty() => sink.error(
            m.pos,
            format!("metric `{}` has no `query` for `{from}`", m.id),
            "add `query:` with the SQL or PromQL that returns the value",
        ),
        _ => {}
    }
}

/// Trigger ids are unique; their metrics, baselines and arming steps exist; a rollback
/// trigger has a procedure to run.
fn check_triggers(sink: &mut Findings, rb: &Runbook, ids: &Ids, spots: &Locations) {
    let mut seen = HashSet::new();
    for t in &rb.signals.triggers {
        let what = format!("trigger `{}`", t.id);
        if !seen.insert(t.id.as_str()) {
            sink.error(
                t.pos,
                format!("duplicate trigger id `{}`", t.id),
                "give each trigger its own id",
            );
        }
        let at = spots.of(t.pos, "when", &t.when.metric);
        metric_ref(sink, at, &t.when.metric, &what, &ids.metrics);
        let refs = Refs {
            owner: t.pos,
            watched: &t.when.metric,
            metrics: &ids.metrics,
            steps: &ids.steps,
        };
        baseline_refs(sink, &refs, t.baseline.as_ref(), &what, spots);
        arming_steps(sink, t, &what, &ids.steps, spots);
        if t.action == TriggerAction::Rollback && rb.rollbacks.is_empty() {
            sink.error(
                spots.of(t.pos, "action", "rollback"),
                format!("{what} rolls back, but the runbook has no `rollback` procedure"),
                "add a `rollback:` procedure, or use `action: decide` or `alert`",
            );
        }
    }
}

/// `after` and `until` arm and disarm a trigger at forward steps, which must exist.
fn arming_steps(
    sink: &mut Findings,
    t: &Trigger,
    what: &str,
    step_ids: &[&str],
    spots: &Locations,
) {
    for (key, s) in [("after", &t.after), ("until", &t.until)] {
        if let Some(s) = s
            && !step_ids.contains(&s.as_str())
        {
            sink.error(
                spots.of(t.pos, key, s),
                format!("`{key}` of {what} names unknown step `{s}`"),
                format!("{}use the id of a forward step", did_you_mean(s, step_ids)),
            );
        }
    }
}

/// Each canary stage's gates name known metrics and baselines, and what it does when a
/// gate fails is possible.
fn check_gates(sink: &mut Findings, rb: &Runbook, ids: &Ids, spots: &Locations) {
    for step in rb.steps() {
        let Some(st) = &step.stage else { continue };
        let what = format!("gate of step `{}`", step.id);
        for g in &st.gates {
            let refs = Refs {
                owner: step.pos,
                watched: &g.check.metric,
                metrics: &ids.metrics,
                steps: &ids.steps,
            };
            let at = spots.of(step.pos, "gates", &g.check.metric);
            metric_ref(sink, at, &g.check.metric, &what, &ids.metrics);
            baseline_refs(sink, &refs, g.baseline.as_ref(), &what, spots);
        }
        if st.on_fail == GateFail::Rollback && rb.rollbacks.is_empty() {
            sink.error(
                spots.get(step, "on_gate_fail"),
                format!(
                    "step `{}` rolls back when a gate fails, but there is no `rollback` procedure",
                    step.id
                ),
                "add a `rollback:` procedure or use `on_gate_fail: pause`",
            );
        }
        if !st.gates.is_empty() && rb.signals.metrics.is_empty() {
            sink.error(
                spots.get(step, "gates"),
                format!(
                    "step `{}` has gates but the runbook defines no metrics",
                    step.id
                ),
                "add `metrics:` for the gates to watch",
            );
        }
    }
}

/// Each `until:` names a known metric, reported where the name is written.
fn check_untils(sink: &mut Findings, rb: &Runbook, ids: &Ids, spots: &Locations) {
    for step in rb.steps().chain(rb.rollback_steps()) {
        let Some(u) = &step.until else { continue };
        let at = spots.of(step.pos, "until", &u.cond.metric);
        let what = format!("`until` of step `{}`", step.id);
        metric_ref(sink, at, &u.cond.metric, &what, &ids.metrics);
    }
}

/// Scenario names are unique and what each one disturbs, fails or trips exists; returns
/// the triggers some scenario trips.
fn check_scenarios<'a>(
    sink: &mut Findings,
    sig: &'a Signals,
    ids: &Ids,
    spots: &Locations,
) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    let mut tripped = HashSet::new();
    for sc in &sig.scenarios {
        let what = format!("scenario `{}`", sc.name);
        if !seen.insert(sc.name.as_str()) {
            sink.error(
                sc.pos,
                format!("duplicate scenario name `{}`", sc.name),
                "give each scenario its own name",
            );
        }
        check_faults(sink, sig, sc, &what, ids, spots);
        if let Some(s) = &sc.fail
            && !ids.steps.contains(&s.as_str())
        {
            sink.error(
                spots.of(sc.pos, "fail", s),
                format!("`fail` of {what} names unknown step `{s}`"),
                format!(
                    "{}use the id of a forward step",
                    did_you_mean(s, &ids.steps)
                ),
            );
        }
        for t in &sc.trips {
            if ids.triggers.contains(&t.as_str()) {
                tripped.insert(t.as_str());
            } else {
                sink.error(
                    spots.of(sc.pos, "trips", t),
                    format!("`trips` of {what} names unknown trigger `{t}`"),
                    format!("{}list trigger ids", did_you_mean(t, &ids.triggers)),
                );
            }
        }
    }
    tripped
}

/// A fault bends a metric's drill simulation, so the metric must exist and have one.
fn check_faults(
    sink: &mut Findings,
    sig: &Signals,
    sc: &Scenario,
    what: &str,
    ids: &Ids,
    spots: &Locations,
) {
    for f in &sc.faults {
        let at = spots.of(sc.pos, "faults", &f.metric);
        if metric_ref(
            sink,
            at,
            &f.metric,
            &format!("fault of {what}"),
            &ids.metrics,
        ) && sig.metric(&f.metric).is_some_and(|m| m.sim.is_none())
        {
            sink.error(
                at,
                format!("{what} disturbs metric `{}`, which has no `sim`", f.metric),
                "add `sim: { baseline: … }` to the metric: faults bend the simulation",
            );
        }
    }
}

/// A trigger no scenario trips is never rehearsed before the real cutover.
fn warn_untripped(sink: &mut Findings, sig: &Signals, tripped: &HashSet<&str>) {
    for t in &sig.triggers {
        if !tripped.contains(t.id.as_str()) {
            sink.warn(t.pos, format!("no scenario trips trigger `{}`", t.id), "add a scenario with a fault that breaches it and `trips: [ID]`, so the team rehearses it");
        }
    }
}

/// Reports an unknown metric; true when it exists.
fn metric_ref(sink: &mut Findings, pos: Pos, id: &str, what: &str, known: &[&str]) -> bool {
    if known.contains(&id) {
        return true;
    }
    sink.error(
        pos,
        format!("{what} names unknown metric `{id}`"),
        format!(
            "{}define it under `metrics:`{}",
            did_you_mean(id, known),
            if known.is_empty() {
                String::new()
            } else {
                format!(" (known: {})", known.join(", "))
            }
        ),
    );
    false
}

/// The mapping a baseline belongs to, the metric its condition watches, and the ids it may
/// name.
struct Refs<'a> {
    owner: Pos,
    watched: &'a str,
    metrics: &'a [&'a str],
    steps: &'a [&'a str],
}

fn baseline_refs(
    sink: &mut Findings,
    refs: &Refs,
    b: Option<&Baseline>,
    what: &str,
    spots: &Locations,
) {
    let what = format!("baseline of {what}");
    let metric = |sink: &mut Findings, of: &str| {
        // `of` defaults to the watched metric, which is reported where the condition names it.
        if of == refs.watched {
            return;
        }
        let at = spots.of(refs.owner, "baseline", of);
        metric_ref(sink, at, of, &what, refs.metrics);
    };
    match b {
        Some(Baseline::Metric(m)) => metric(sink, m),
        Some(Baseline::AtStep { step, of }) => {
            metric(sink, of);
            if !refs.steps.contains(&step.as_str()) {
                sink.error(
                    spots.of(refs.owner, "at_step", step),
                    format!("{what} captures at unknown step `{step}`"),
                    format!(
                        "{}use the id of a forward step",
                        did_you_mean(step, refs.steps)
                    ),
                );
            }
        }
        Some(Baseline::Mean { of, .. }) => metric(sink, of),
        Some(Baseline::Fixed(_)) | None => {}
    }
}
