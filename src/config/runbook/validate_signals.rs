//! Cross-reference checks of the monitoring part: every metric, connection, step, trigger
//! and unit a trigger, gate or scenario names must exist and fit; ids are unique; and each
//! trigger is rehearsed by some scenario (a warning: an untested trigger is a risk).

use super::build::Locations;
use super::reader::{Findings, nearest};
use crate::core::runbook::model::*;
use crate::core::runbook::signals::*;
use std::collections::HashSet;

fn did_you_mean(word: &str, known: &[&str]) -> String {
    match nearest(word, known) {
        Some(n) => format!("did you mean `{n}`? "),
        None => String::new(),
    }
}

/// Runs every check of the monitoring part.
pub fn check(sink: &mut Findings, rb: &Runbook, spots: &Locations) {
    let sig = &rb.signals;
    let metric_ids: Vec<&str> = sig.metrics.iter().map(|m| m.id.as_str()).collect();
    let step_ids: Vec<&str> = rb.steps().map(|s| s.id.as_str()).collect();
    let trigger_ids: Vec<&str> = sig.triggers.iter().map(|t| t.id.as_str()).collect();
    let conn_names: Vec<&str> = sig.connections.iter().map(|c| c.name.as_str()).collect();

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
            match sig.connections.iter().find(|c| &c.name == from) {
                None => sink.error(
                    m.pos,
                    format!("metric `{}` reads from unknown connection `{from}`", m.id),
                    format!(
                        "{}define it under `connections:`{}",
                        did_you_mean(from, &conn_names),
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
    }
    let mut seen = HashSet::new();
    for t in &sig.triggers {
        let what = format!("trigger `{}`", t.id);
        if !seen.insert(t.id.as_str()) {
            sink.error(
                t.pos,
                format!("duplicate trigger id `{}`", t.id),
                "give each trigger its own id",
            );
        }
        metric_ref(sink, t.pos, &t.when.metric, &what, &metric_ids);
        baseline_refs(
            sink,
            t.pos,
            t.baseline.as_ref(),
            &what,
            &metric_ids,
            &step_ids,
        );
        for (key, s) in [("after", &t.after), ("until", &t.until)] {
            if let Some(s) = s
                && !step_ids.contains(&s.as_str())
            {
                sink.error(
                    t.pos,
                    format!("`{key}` of {what} names unknown step `{s}`"),
                    format!("{}use the id of a forward step", did_you_mean(s, &step_ids)),
                );
            }
        }
        if t.action == TriggerAction::Rollback && rb.rollbacks.is_empty() {
            sink.error(
                t.pos,
                format!("{what} rolls back, but the runbook has no `rollback` procedure"),
                "add a `rollback:` procedure, or use `action: decide` or `alert`",
            );
        }
    }
    for step in rb.steps() {
        let Some(st) = &step.stage else { continue };
        let what = format!("gate of step `{}`", step.id);
        for g in &st.gates {
            metric_ref(sink, step.pos, &g.check.metric, &what, &metric_ids);
            baseline_refs(
                sink,
                step.pos,
                g.baseline.as_ref(),
                &what,
                &metric_ids,
                &step_ids,
            );
        }
        if st.on_fail == GateFail::Rollback && rb.rollbacks.is_empty() {
            sink.error(
                step.pos,
                format!(
                    "step `{}` rolls back when a gate fails, but there is no `rollback` procedure",
                    step.id
                ),
                "add a `rollback:` procedure or use `on_gate_fail: pause`",
            );
        }
        if !st.gates.is_empty() && sig.metrics.is_empty() {
            sink.error(
                step.pos,
                format!(
                    "step `{}` has gates but the runbook defines no metrics",
                    step.id
                ),
                "add `metrics:` for the gates to watch",
            );
        }
    }
    for (pos, metric, unit) in &spots.units.written {
        if let Some(m) = sig.metric(metric) {
            match &m.unit {
                Some(u) if u == unit => {}
                Some(u) => sink.error(*pos, format!("threshold unit `{unit}` does not match metric `{metric}`, measured in `{u}`"), format!("write the threshold in `{u}`, or fix the metric's `unit`")),
                None => sink.error(*pos, format!("threshold has unit `{unit}` but metric `{metric}` has none"), format!("add `unit: {unit}` to the metric, or drop the unit from the threshold")),
            }
        }
    }
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
        for f in &sc.faults {
            if metric_ref(
                sink,
                sc.pos,
                &f.metric,
                &format!("fault of {what}"),
                &metric_ids,
            ) && sig.metric(&f.metric).is_some_and(|m| m.sim.is_none())
            {
                sink.error(
                    sc.pos,
                    format!("{what} disturbs metric `{}`, which has no `sim`", f.metric),
                    "add `sim: { baseline: … }` to the metric: faults bend the simulation",
                );
            }
        }
        if let Some(s) = &sc.fail
            && !step_ids.contains(&s.as_str())
        {
            sink.error(
                sc.pos,
                format!("`fail` of {what} names unknown step `{s}`"),
                format!("{}use the id of a forward step", did_you_mean(s, &step_ids)),
            );
        }
        for t in &sc.trips {
            if trigger_ids.contains(&t.as_str()) {
                tripped.insert(t.as_str());
            } else {
                sink.error(
                    sc.pos,
                    format!("`trips` of {what} names unknown trigger `{t}`"),
                    format!("{}list trigger ids", did_you_mean(t, &trigger_ids)),
                );
            }
        }
    }
    if !sig.scenarios.is_empty() {
        for t in &sig.triggers {
            if !tripped.contains(t.id.as_str()) {
                sink.warn(t.pos, format!("no scenario trips trigger `{}`", t.id), "add a scenario with a fault that breaches it and `trips: [ID]`, so the team rehearses it");
            }
        }
    }
}

/// Reports an unknown metric; true when it exists.
fn metric_ref(
    sink: &mut Findings,
    pos: crate::core::runbook::diag::Pos,
    id: &str,
    what: &str,
    known: &[&str],
) -> bool {
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

fn baseline_refs(
    sink: &mut Findings,
    pos: crate::core::runbook::diag::Pos,
    b: Option<&Baseline>,
    what: &str,
    metrics: &[&str],
    steps: &[&str],
) {
    match b {
        Some(Baseline::Metric(m)) => {
            metric_ref(sink, pos, m, &format!("baseline of {what}"), metrics);
        }
        Some(Baseline::AtStep { step, of }) => {
            metric_ref(sink, pos, of, &format!("baseline of {what}"), metrics);
            if !steps.contains(&step.as_str()) {
                sink.error(
                    pos,
                    format!("baseline of {what} captures at unknown step `{step}`"),
                    format!("{}use the id of a forward step", did_you_mean(step, steps)),
                );
            }
        }
        Some(Baseline::Mean { of, .. }) => {
            metric_ref(sink, pos, of, &format!("baseline of {what}"), metrics);
        }
        _ => {}
    }
}
