//! Metric evidence: what the metrics said during a session, kept beside the journal in
//! `samples.jsonl` so a report can show afterwards what the error rate was when the rollback
//! fired. Samples are not journal events (they would swamp it); this is their own record.
//!
//! What is kept, so its size has a bound: every sample of a metric that a trigger, gate,
//! `until:` or baseline watches (those decide; nothing of theirs is thinned), and for every
//! other metric one summary line per [`BUCKET`] of T-time (its last value, min, max and how
//! many samples). A read failure is written when it begins and when its reason changes; the
//! next value ends it. One line is at most about 120 bytes.
//!
//! This module is pure: it turns samples into lines ([`Encoder`]) and lines back into
//! readings ([`Line::parse`]); writing the file is the shell's.

use crate::core::time::Ms;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The T-time span an unwatched metric's samples are summarised over.
pub const BUCKET: Ms = 5 * 60 * 1000;

/// The metric id of the line that marks where the file's size bound stopped the record.
pub const CAPPED: &str = "*";

/// One line of `samples.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// T-time of the sample (of a summary: of its bucket's last sample), in seconds.
    pub t: f64,
    /// The metric's id.
    pub m: String,
    /// The value (a summary's: the bucket's last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<f64>,
    /// A summary's smallest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// A summary's largest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// A summary's sample count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Why the metric cannot be read, from `t` until its next value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

impl Line {
    /// T-time in milliseconds.
    pub fn t_ms(&self) -> Ms {
        (self.t * 1000.0).round() as Ms
    }

    /// Reads one line.
    pub fn parse(s: &str) -> Result<Line, String> {
        serde_json::from_str(s).map_err(|e| e.to_string())
    }

    fn text(&self) -> String {
        // Invariant: a struct of strings and finite-or-absent numbers always serializes
        // (a NaN becomes null, which reads back as absent).
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// An unwatched metric's bucket in progress.
#[derive(Debug, Clone)]
struct Bucket {
    start: Ms,
    last_at: Ms,
    last: f64,
    min: f64,
    max: f64,
    n: u32,
}

/// Turns samples into lines.
#[derive(Debug, Default)]
pub struct Encoder {
    buckets: HashMap<String, Bucket>,
    failing: HashMap<String, String>,
}

impl Encoder {
    /// The lines (without newlines) that sample `value` of `metric` at T `at` adds.
    /// `watched`: a trigger, gate, `until:` or baseline reads it.
    pub fn sample(
        &mut self,
        metric: &str,
        at: Ms,
        value: &Result<f64, String>,
        watched: bool,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let v = match value {
            Err(reason) => {
                if self.failing.get(metric) != Some(reason) {
                    self.failing.insert(metric.to_string(), reason.clone());
                    out.push(line(metric, at, None, Some(reason.clone())).text());
                }
                return out;
            }
            Ok(v) => *v,
        };
        self.failing.remove(metric);
        if watched || !v.is_finite() {
            out.push(line(metric, at, Some(v), None).text());
            return out;
        }
        let start = at - at.rem_euclid(BUCKET);
        match self.buckets.get_mut(metric) {
            Some(b) if b.start == start => {
                b.last = v;
                b.last_at = at;
                b.min = b.min.min(v);
                b.max = b.max.max(v);
                b.n += 1;
            }
            _ => {
                let fresh = Bucket {
                    start,
                    last_at: at,
                    last: v,
                    min: v,
                    max: v,
                    n: 1,
                };
                if let Some(done) = self.buckets.insert(metric.to_string(), fresh) {
                    out.push(summary(metric, &done).text());
                }
            }
        }
        out
    }

    /// The summaries of the buckets still open (at the session's end or stop).
    pub fn close(&mut self) -> Vec<String> {
        let mut open: Vec<(String, Bucket)> = self.buckets.drain().collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        open.iter().map(|(m, b)| summary(m, b).text()).collect()
    }
}

fn line(metric: &str, at: Ms, v: Option<f64>, unknown: Option<String>) -> Line {
    Line {
        t: at as f64 / 1000.0,
        m: metric.to_string(),
        v,
        min: None,
        max: None,
        n: None,
        unknown,
    }
}

fn summary(metric: &str, b: &Bucket) -> Line {
    Line {
        min: Some(b.min),
        max: Some(b.max),
        n: Some(b.n),
        ..line(metric, b.last_at, Some(b.last), None)
    }
}

/// What the evidence says of one metric over the session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Samples seen (summaries count theirs).
    pub samples: u64,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// The last value and its T.
    pub last: Option<(f64, Ms)>,
    /// How long it could not be read (from a failure to its next value, or to `end`).
    pub unknown_for: Ms,
}

/// Summaries per metric of `lines`, with failures still open at `end` counted to it.
pub fn summarise(lines: &[Line], end: Ms) -> HashMap<String, Summary> {
    let mut out: HashMap<String, Summary> = HashMap::new();
    let mut failing_since: HashMap<&str, Ms> = HashMap::new();
    for l in lines {
        let s = out.entry(l.m.clone()).or_default();
        let t = l.t_ms();
        if l.unknown.is_some() {
            failing_since.entry(l.m.as_str()).or_insert(t);
            continue;
        }
        let Some(v) = l.v else { continue };
        if let Some(since) = failing_since.remove(l.m.as_str()) {
            s.unknown_for += (t - since).max(0);
        }
        let (lo, hi) = (l.min.unwrap_or(v), l.max.unwrap_or(v));
        s.min = Some(s.min.map_or(lo, |m| m.min(lo)));
        s.max = Some(s.max.map_or(hi, |m| m.max(hi)));
        s.last = Some((v, t));
        s.samples += u64::from(l.n.unwrap_or(1));
    }
    for (m, since) in failing_since {
        if let Some(s) = out.get_mut(m) {
            s.unknown_for += (end - since).max(0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[String]) -> Vec<Line> {
        lines.iter().map(|l| Line::parse(l).unwrap()).collect()
    }

    #[test]
    fn a_watched_metric_keeps_every_sample() {
        let mut e = Encoder::default();
        let mut all = Vec::new();
        for i in 0..100 {
            all.extend(e.sample("err", i * 15_000, &Ok(i as f64), true));
        }
        all.extend(e.close());
        assert_eq!(all.len(), 100);
        let s = &summarise(&parse(&all), 1_500_000)["err"];
        assert_eq!(s.samples, 100);
        assert_eq!((s.min, s.max), (Some(0.0), Some(99.0)));
        assert_eq!(s.last, Some((99.0, 99 * 15_000)));
    }

    #[test]
    fn an_unwatched_metric_is_one_summary_per_bucket_with_its_min_max_and_count() {
        let mut e = Encoder::default();
        let mut all = Vec::new();
        // 20 samples a minute apart: buckets [0,5m) [5m,10m) … four of them.
        for i in 0..20 {
            let v = if i == 7 { 50.0 } else { i as f64 };
            all.extend(e.sample("rows", i * 60_000, &Ok(v), false));
        }
        assert_eq!(
            all.len(),
            3,
            "three buckets closed by the next one's first sample"
        );
        all.extend(e.close());
        let lines = parse(&all);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1].t_ms(), 9 * 60_000, "the bucket's last sample");
        assert_eq!(
            (lines[1].min, lines[1].max, lines[1].n),
            (Some(5.0), Some(50.0), Some(5))
        );
        let s = &summarise(&lines, 20 * 60_000)["rows"];
        assert_eq!(s.samples, 20);
        assert_eq!((s.min, s.max), (Some(0.0), Some(50.0)));
        assert_eq!(s.last.map(|l| l.0), Some(19.0));
    }

    #[test]
    fn a_read_failure_is_written_when_it_begins_or_changes_and_counts_as_unknown() {
        let mut e = Encoder::default();
        let mut all = Vec::new();
        all.extend(e.sample("lag", 0, &Ok(1.0), true));
        all.extend(e.sample("lag", 15_000, &Err("timeout".into()), true));
        all.extend(e.sample("lag", 30_000, &Err("timeout".into()), true));
        all.extend(e.sample("lag", 45_000, &Err("HTTP 503".into()), true));
        all.extend(e.sample("lag", 75_000, &Ok(2.0), true));
        all.extend(e.sample("lag", 90_000, &Err("timeout".into()), true));
        assert_eq!(all.len(), 5, "{all:?}");
        let s = &summarise(&parse(&all), 120_000)["lag"];
        // 15s → 75s, then 90s → the end at 120s.
        assert_eq!(s.unknown_for, 60_000 + 30_000);
        assert_eq!(s.samples, 2);
    }
}
