//! `cutover report --html FILE`: the report as one self-contained page (no scripts, no
//! fetches: it opens from a file on a machine with no network). Pictures where people
//! would rather look than read (the Gantt of each phase and of the rollback, and a chart per
//! metric of both platforms), then the whole Markdown report as text. Each chart's figure
//! states what it drew (`data-series`, `data-markers`, `data-periods`), so a reader of the
//! file (or a test) can tell an empty chart from a quiet metric.

use super::Report;
use super::charts::{self, Chart, Marker};
use super::facts::StepFacts;
use crate::core::event::Event;
use crate::core::runbook::signals::Side;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// "The switch", where the runbook itself says which step it is: the runbook format has
/// no field for it, but a rollback procedure with `after: STEP` is the runbook's own line
/// between rolling back before traffic moved and after (blue-green's `after-switch`, after
/// `switch-dns`). The first such step in runbook order is the switch, marked where it
/// started (a half-done switch has moved some traffic; the rollback counts it from there
/// too). A runbook with no such procedure gets no marker rather than a guess from step
/// names; a canary's traffic moves are its weight markers.
fn the_switch(r: &Report) -> Option<(String, crate::core::time::Ms)> {
    let rb = r.runbook.as_ref()?;
    let step = rb.steps().find(|s| {
        rb.rollbacks
            .iter()
            .any(|p| p.after.as_deref() == Some(s.id.as_str()))
    })?;
    let started = r.facts.steps.iter().find(|f| f.id == step.id)?.started?;
    Some((step.id.clone(), started))
}

/// The moments marked on every metric chart.
fn markers(r: &Report) -> Vec<Marker> {
    let f = &r.facts;
    let mut out: Vec<Marker> = the_switch(r)
        .map(|(step, at)| Marker {
            at,
            label: format!("switch ({step})"),
        })
        .into_iter()
        .collect();
    out.extend(f.points_of_no_return.iter().map(|(step, at)| Marker {
        at: *at,
        label: format!("point of no return ({step})"),
    }));
    for rec in &r.records {
        if let Event::CanaryWeight { weight, .. } = &rec.event {
            out.push(Marker {
                at: rec.t_ms(),
                label: format!("weight {weight}%"),
            });
        }
    }
    if let Some(rb) = &f.rollback {
        out.push(Marker {
            at: rb.started,
            label: "rollback".into(),
        });
    }
    if let Some(e) = &f.end {
        out.push(Marker {
            at: e.at,
            label: "end".into(),
        });
    }
    out
}

fn figure(out: &mut String, kind: &str, name: &str, chart: Result<Chart, String>) {
    match chart {
        Ok(c) => {
            let _ = writeln!(
                out,
                "<figure class=\"chart\" data-kind=\"{kind}\" data-name=\"{}\" data-series=\"{}\" data-markers=\"{}\" data-periods=\"{}\">{}</figure>",
                esc(name),
                c.series,
                c.markers,
                c.periods,
                c.svg
            );
        }
        Err(why) => {
            let _ = writeln!(
                out,
                "<p class=\"nochart\">{}: no chart ({})</p>",
                esc(name),
                esc(&why)
            );
        }
    }
}

/// The page.
pub fn write(r: &Report) -> String {
    let f = &r.facts;
    let mode = match f.mode {
        Some(crate::core::event::Mode::Live) => "LIVE",
        _ => "DRILL",
    };
    let title = format!("{mode} report: {}", f.title);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>body{{font-family:sans-serif;margin:1.5em;max-width:1150px}}figure{{margin:0 0 1em 0}}pre{{white-space:pre-wrap;font-size:12px;background:#f6f6f6;padding:1em}}.legend span{{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em}}</style></head><body>",
        esc(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", esc(&title));
    let end = f.last.0;
    let _ = writeln!(
        out,
        "<h2>Steps: planned against actual</h2>\n<p class=\"legend\"><span style=\"background:#c8c8c8\"></span>planned (for its <code>expect</code>)<span style=\"background:#2e8b57\"></span>done<span style=\"background:#c82828\"></span>failed<span style=\"background:#e6a028\"></span>unfinished<span style=\"background:#9696d2\"></span>skipped</p>"
    );
    match &r.runbook {
        Some(rb) => {
            for phase in &rb.phases {
                let steps: Vec<&StepFacts> = phase
                    .steps
                    .iter()
                    .filter_map(|s| f.steps.iter().find(|x| x.id == s.id))
                    .collect();
                figure(
                    &mut out,
                    "gantt",
                    &phase.id,
                    charts::gantt(&phase.title, &steps, end),
                );
            }
        }
        None => {
            let steps: Vec<&StepFacts> = f.steps.iter().collect();
            figure(
                &mut out,
                "gantt",
                "steps",
                charts::gantt("Steps", &steps, end),
            );
        }
    }
    if let Some(rbk) = &f.rollback {
        let steps: Vec<&StepFacts> = rbk.steps.iter().collect();
        figure(
            &mut out,
            "gantt",
            "rollback",
            charts::gantt(&format!("Rollback: {}", rbk.procedure), &steps, end),
        );
    }
    metrics(&mut out, r);
    let _ = writeln!(
        out,
        "<h2>The report</h2>\n<pre>{}</pre>\n</body></html>",
        esc(&r.markdown())
    );
    out
}

fn metrics(out: &mut String, r: &Report) {
    let Some(s) = &r.samples else {
        let _ = writeln!(
            out,
            "<h2>Metrics</h2>\n<p>The session kept no metric samples (it has no samples.jsonl).</p>"
        );
        return;
    };
    let marks = markers(r);
    // Each metric's lines, gathered in one pass: a thousand metrics must not scan the
    // evidence a thousand times.
    let mut by_metric: std::collections::HashMap<&str, Vec<&crate::core::evidence::Line>> =
        std::collections::HashMap::new();
    for l in &s.lines {
        by_metric.entry(l.m.as_str()).or_default().push(l);
    }
    let _ = writeln!(
        out,
        "<h2>Metrics</h2>\n<p class=\"legend\"><span style=\"background:#0000ff\"></span>samples<span style=\"background:#ff0000\"></span>trigger threshold<span style=\"background:#ffc8c8\"></span>in breach<span style=\"background:#d7d7d7\"></span>UNKNOWN (could not be read)<span style=\"background:#5050a0\"></span>the switch, point of no return, canary weight, rollback, end</p>"
    );
    let sides: Vec<(Option<Side>, String)> = match &r.runbook {
        Some(rb) => vec![
            (Some(Side::Source), format!("Source: {}", rb.source.name)),
            (Some(Side::Target), format!("Target: {}", rb.target.name)),
        ],
        None => vec![(None, "All metrics".into())],
    };
    for (side, heading) in sides {
        let _ = writeln!(out, "<h3>{}</h3>", esc(&heading));
        let ids: Vec<String> = match (&r.runbook, side) {
            (Some(rb), Some(side)) => rb
                .signals
                .metrics
                .iter()
                .filter(|m| m.side == side)
                .map(|m| m.id.clone())
                .collect(),
            _ => {
                let mut ids: Vec<String> = by_metric
                    .keys()
                    .filter(|i| **i != crate::core::evidence::CAPPED)
                    .map(|i| i.to_string())
                    .collect();
                ids.sort();
                ids
            }
        };
        for id in ids {
            let lines = by_metric.get(id.as_str()).cloned().unwrap_or_default();
            if lines.is_empty() {
                let _ = writeln!(out, "<p class=\"nochart\">{}: never read</p>", esc(&id));
                continue;
            }
            figure(out, "metric", &id, charts::metric(r, &id, &lines, &marks));
        }
    }
}
