//! The report's pictures, as SVG drawn with plotters: a Gantt per phase (planned bars
//! against actual ones, failures and lateness in colour) and one chart per metric on the
//! session's T axis (its samples, its triggers' thresholds, breach periods, UNKNOWN gaps,
//! and markers for the switch, the point of no return, canary weights, the rollback and the
//! end).
//! Each chart is returned with the counts it drew, which the page states beside it.

use super::Report;
use super::facts::{Result, StepFacts};
use crate::core::evidence::Line;
use crate::core::runbook::signals::Threshold;
use crate::core::time::{Ms, t_clock};
use plotters::prelude::*;

/// A drawn chart and what is in it.
pub struct Chart {
    /// The SVG document.
    pub svg: String,
    /// Lines (series) drawn.
    pub series: usize,
    /// Vertical markers drawn.
    pub markers: usize,
    /// Shaded periods drawn (breaches, UNKNOWN gaps).
    pub periods: usize,
}

/// A moment worth a vertical line on every metric chart.
pub struct Marker {
    /// When.
    pub at: Ms,
    /// What.
    pub label: String,
}

const PLANNED: RGBColor = RGBColor(200, 200, 200);
const DONE: RGBColor = RGBColor(46, 139, 87);
const FAILED: RGBColor = RGBColor(200, 40, 40);
const SKIPPED: RGBColor = RGBColor(150, 150, 210);
const OPEN: RGBColor = RGBColor(230, 160, 40);
const BREACH: RGBColor = RGBColor(255, 200, 200);
const UNKNOWN: RGBColor = RGBColor(215, 215, 215);
const MARK: RGBColor = RGBColor(80, 80, 160);

fn hours(t: Ms) -> f64 {
    t as f64 / 3_600_000.0
}

fn label(h: &f64) -> String {
    t_clock((h * 3_600_000.0).round() as Ms)
}

/// Where a step's actual bar ends, and its colour.
fn actual(s: &StepFacts, end: Ms) -> Option<(Ms, Ms, RGBColor)> {
    let start = s.started?;
    Some(match &s.result {
        Result::Done => (start, s.done_at.unwrap_or(start), DONE),
        Result::Failed(_) => (start, s.done_at.unwrap_or(end), FAILED),
        Result::Skipped(..) => (start, start, SKIPPED),
        Result::Unfinished | Result::NotReached => (start, end, OPEN),
    })
}

/// The Gantt of `steps` (with `title`): a grey planned bar (planned start, for `expect`) and
/// the actual bar beneath it for each step.
pub fn gantt(title: &str, steps: &[&StepFacts], end: Ms) -> std::result::Result<Chart, String> {
    let mut lo = Ms::MAX;
    let mut hi = Ms::MIN;
    for s in steps {
        if let Some(p) = s.planned {
            lo = lo.min(p);
            hi = hi.max(p + s.expect.unwrap_or(0));
        }
        if let Some((a, b, _)) = actual(s, end) {
            lo = lo.min(a);
            hi = hi.max(b);
        }
    }
    if lo > hi {
        return Err("nothing to draw".into());
    }
    // A little room either side, and at least a minute of axis.
    let pad = ((hi - lo) / 20).max(30_000);
    let (x0, x1) = (hours(lo - pad), hours(hi + pad));
    let n = steps.len();
    let height = 60 + 26 * n as u32;
    // The narrowest bar still seen: a drill's steps take milliseconds of T.
    let least = ((hi - lo) / 300).max(1);
    let mut svg = String::new();
    let mut bars = 0;
    {
        let root = SVGBackend::with_string(&mut svg, (1100, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        // Two rows a step, top to bottom: its planned bar, then its actual bar (labelled).
        let rows = 2 * n as i32;
        let mut c = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(200)
            .build_cartesian_2d(x0..x1, (0..rows).into_segmented())
            .map_err(|e| e.to_string())?;
        let ids: Vec<String> = steps.iter().map(|s| s.id.clone()).collect();
        let name = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(r) if *r >= 0 && *r < rows && (rows - 1 - r) % 2 == 1 => {
                ids[((rows - 1 - r) / 2) as usize].clone()
            }
            _ => String::new(),
        };
        c.configure_mesh()
            .disable_y_mesh()
            .y_labels(rows as usize)
            .y_label_formatter(&name)
            .x_label_formatter(&label)
            .x_labels(8)
            .draw()
            .map_err(|e| e.to_string())?;
        let row = |i: usize, actual: bool| rows - 1 - (2 * i as i32 + i32::from(actual));
        let bar = |a: Ms, b: Ms, r: i32| {
            [
                (hours(a), SegmentValue::Exact(r)),
                (hours(b.max(a + least)), SegmentValue::Exact(r + 1)),
            ]
        };
        for (i, s) in steps.iter().enumerate() {
            if let Some(p) = s.planned {
                let w = s.expect.unwrap_or(0);
                c.draw_series(std::iter::once(Rectangle::new(
                    bar(p, p + w, row(i, false)),
                    PLANNED.filled(),
                )))
                .map_err(|e| e.to_string())?;
            }
            if let Some((a, b, colour)) = actual(s, end) {
                c.draw_series(std::iter::once(Rectangle::new(
                    bar(a, b, row(i, true)),
                    colour.filled(),
                )))
                .map_err(|e| e.to_string())?;
                bars += 1;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(Chart {
        svg,
        series: bars,
        markers: 0,
        periods: 0,
    })
}

/// The chart of metric `id` (its lines from the evidence), with `markers`.
pub fn metric(
    r: &Report,
    id: &str,
    lines: &[&Line],
    markers: &[Marker],
) -> std::result::Result<Chart, String> {
    let f = &r.facts;
    let rb = r.runbook.as_ref();
    let meta = rb.and_then(|rb| rb.signals.metric(id));
    let unit = meta.and_then(|m| m.unit.clone()).unwrap_or_default();
    let title = meta
        .map(|m| format!("{} ({}, {})", m.title, m.side.as_str(), id))
        .unwrap_or_else(|| id.to_string());
    let points: Vec<(f64, f64)> = lines
        .iter()
        .filter_map(|l| l.v.filter(|v| v.is_finite()).map(|v| (hours(l.t_ms()), v)))
        .collect();
    // Thresholds: what the runbook's triggers on it compare with, and what breaches of
    // baseline-relative ones were decided on.
    let mut thresholds: Vec<f64> = rb
        .map(|rb| {
            rb.signals
                .triggers
                .iter()
                .filter(|t| t.when.metric == id)
                .filter_map(|t| match t.when.threshold {
                    Threshold::Value(v) => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    for rec in &r.records {
        if let crate::core::event::Event::TriggerBreach { breach, .. } = &rec.event
            && breach.metric == id
            && !thresholds
                .iter()
                .any(|t| (t - breach.threshold).abs() < 1e-9)
        {
            thresholds.push(breach.threshold);
        }
    }
    let breaches: Vec<(Ms, Ms)> = f
        .breaches
        .iter()
        .filter(|b| b.1 == id)
        .map(|b| (b.2, b.3.unwrap_or(f.last.0)))
        .collect();
    let gaps: Vec<(Ms, Ms)> = unknown_periods(lines, f.last.0);
    // From an hour before T-0 (or before the first breach, gap or marker, if earlier): a
    // day of quiet checks before the window would leave the window a sliver.
    let first = lines.first().map(|l| l.t_ms()).unwrap_or(0);
    let from = breaches
        .iter()
        .chain(gaps.iter())
        .map(|p| p.0)
        .chain(markers.iter().map(|m| m.at))
        .fold(0, Ms::min)
        - 3_600_000;
    let first = first.max(from);
    let (x0, x1) = (hours(first), hours(f.last.0.max(first + 60_000)));
    let points: Vec<(f64, f64)> = points.into_iter().filter(|p| p.0 >= x0).collect();
    let (mut y0, mut y1) = points
        .iter()
        .map(|p| p.1)
        .chain(thresholds.iter().copied())
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if y0 > y1 {
        (y0, y1) = (0.0, 1.0);
    }
    // A flat line still gets an axis one unit either side of it.
    let span = (y1 - y0)
        .max(y1.abs() * 0.1)
        .max(if y1 == y0 { 5.0 } else { 1e-6 });
    let (y0, y1) = (y0 - span * 0.1, y1 + span * 0.1);
    let mut svg = String::new();
    let mut series = 0;
    let mut drawn_markers = 0;
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 220)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut c = ChartBuilder::on(&root)
            .caption(&title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_label_formatter(&label)
            .x_labels(8)
            .y_desc(unit.as_str())
            .draw()
            .map_err(|e| e.to_string())?;
        for (a, b) in &breaches {
            c.draw_series(std::iter::once(Rectangle::new(
                [(hours(*a), y0), (hours(*b), y1)],
                BREACH.filled(),
            )))
            .map_err(|e| e.to_string())?;
        }
        for (a, b) in &gaps {
            c.draw_series(std::iter::once(Rectangle::new(
                [(hours(*a), y0), (hours(*b), y1)],
                UNKNOWN.filled(),
            )))
            .map_err(|e| e.to_string())?;
        }
        if !points.is_empty() {
            c.draw_series(LineSeries::new(points.iter().copied(), &BLUE))
                .map_err(|e| e.to_string())?;
            series += 1;
        }
        for t in &thresholds {
            c.draw_series(LineSeries::new([(x0, *t), (x1, *t)], RED.stroke_width(1)))
                .map_err(|e| e.to_string())?;
            series += 1;
        }
        for (k, m) in markers
            .iter()
            .filter(|m| hours(m.at) >= x0 && hours(m.at) <= x1)
            .enumerate()
        {
            // Labels step down so markers close together stay readable.
            let at_y = y1 - (y1 - y0) * 0.09 * (k % 4) as f64;
            c.draw_series(LineSeries::new(
                [(hours(m.at), y0), (hours(m.at), y1)],
                MARK.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
            c.draw_series(std::iter::once(Text::new(
                m.label.clone(),
                (hours(m.at), at_y),
                ("sans-serif", 11).into_font().color(&MARK),
            )))
            .map_err(|e| e.to_string())?;
            drawn_markers += 1;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(Chart {
        svg,
        series,
        markers: drawn_markers,
        periods: breaches.len() + gaps.len(),
    })
}

/// Periods the metric could not be read: from a failure line to the next value.
fn unknown_periods(lines: &[&Line], end: Ms) -> Vec<(Ms, Ms)> {
    let mut out = Vec::new();
    let mut since: Option<Ms> = None;
    for l in lines {
        if l.unknown.is_some() {
            since.get_or_insert(l.t_ms());
        } else if let Some(s) = since.take() {
            out.push((s, l.t_ms()));
        }
    }
    if let Some(s) = since {
        out.push((s, end));
    }
    out
}
