//! The metric store: one bounded ring buffer of samples per metric (memory stays flat however
//! long the session runs), the last read error with its reason, and each metric's status at
//! a given time — fresh, or UNKNOWN with why (no data, stale, error, NaN).

use crate::core::runbook::signals::Metric;
use crate::core::time::{Ms, human};
use std::collections::VecDeque;

/// Samples kept per metric: enough for the widest sparkline; `for` windows and baselines
/// are tracked incrementally and never need the history.
pub const KEEP: usize = 240;

/// One value at one T-time (the reader's timestamp, or when the answer arrived).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// T-time of the value.
    pub at: Ms,
    /// The value (may be NaN or ±Inf as the source said).
    pub value: f64,
}

/// One metric's recent history.
#[derive(Debug, Clone, Default)]
pub struct Series {
    samples: VecDeque<Sample>,
    /// The last failed read: when, and why.
    pub error: Option<(Ms, String)>,
    /// Reads that gave a value / failed, since the session started.
    pub reads: u64,
    /// Failed reads.
    pub errors: u64,
}

/// What a metric says at a moment.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// A fresh, real number.
    Fresh(Sample),
    /// Not usable, and why (shown as UNKNOWN with this reason).
    Unknown(String),
}

impl Status {
    /// The fresh value, if any.
    pub fn value(&self) -> Option<f64> {
        match self {
            Status::Fresh(s) => Some(s.value),
            Status::Unknown(_) => None,
        }
    }
}

impl Series {
    /// Records a value; samples older than the newest are dropped (a late answer must not
    /// rewrite history the triggers have already seen).
    pub fn push(&mut self, s: Sample) -> bool {
        self.reads += 1;
        if self.samples.back().is_some_and(|l| l.at > s.at) {
            return false;
        }
        if self.samples.len() == KEEP {
            self.samples.pop_front();
        }
        self.samples.push_back(s);
        if self.error.as_ref().is_some_and(|(at, _)| *at <= s.at) {
            self.error = None;
        }
        true
    }

    /// Records a failed read.
    pub fn fail(&mut self, at: Ms, reason: String) {
        self.reads += 1;
        self.errors += 1;
        self.error = Some((at, reason));
    }

    /// The newest sample.
    pub fn last(&self) -> Option<Sample> {
        self.samples.back().copied()
    }

    /// Samples, oldest first.
    pub fn samples(&self) -> impl DoubleEndedIterator<Item = &Sample> + ExactSizeIterator {
        self.samples.iter()
    }

    /// The metric's status at `now`.
    pub fn status(&self, m: &Metric, now: Ms) -> Status {
        let last = self.last();
        if let Some((at, why)) = &self.error
            && last.is_none_or(|l| l.at < *at)
        {
            return Status::Unknown(format!(
                "read failed {} ago: {why}",
                human((now - at).max(0))
            ));
        }
        let Some(l) = last else {
            return Status::Unknown("no data yet".into());
        };
        let age = now - l.at;
        if age > m.stale_after {
            return Status::Unknown(format!(
                "stale: last value {} ago (stale after {})",
                human(age),
                human(m.stale_after)
            ));
        }
        if l.value.is_nan() {
            return Status::Unknown("the source returned NaN".into());
        }
        Status::Fresh(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::runbook::signals::Side;

    fn metric() -> Metric {
        Metric {
            id: "m".into(),
            title: "m".into(),
            side: Side::Target,
            unit: None,
            every: 10_000,
            stale_after: 30_000,
            timeout: 5_000,
            live: None,
            sim: None,
            pos: Default::default(),
        }
    }

    #[test]
    fn statuses() {
        let m = metric();
        let mut s = Series::default();
        assert_eq!(s.status(&m, 0), Status::Unknown("no data yet".into()));
        s.push(Sample { at: 0, value: 1.0 });
        assert_eq!(s.status(&m, 30_000).value(), Some(1.0));
        assert!(matches!(s.status(&m, 30_001), Status::Unknown(r) if r.starts_with("stale")));
        s.fail(10_000, "HTTP 503".into());
        assert!(matches!(s.status(&m, 10_000), Status::Unknown(r) if r.contains("HTTP 503")));
        s.push(Sample {
            at: 20_000,
            value: f64::NAN,
        });
        assert!(matches!(s.status(&m, 20_000), Status::Unknown(r) if r.contains("NaN")));
        s.push(Sample {
            at: 30_000,
            value: 2.0,
        });
        assert_eq!(s.status(&m, 30_000).value(), Some(2.0));
        // A late, older answer does not rewrite history.
        assert!(!s.push(Sample {
            at: 25_000,
            value: 9.0
        }));
        assert_eq!(s.last().map(|l| l.value), Some(2.0));
    }

    #[test]
    fn bounded() {
        let mut s = Series::default();
        for i in 0..10_000 {
            s.push(Sample { at: i, value: 1.0 });
        }
        assert_eq!(s.samples().len(), KEEP);
        assert_eq!(s.samples().next().map(|x| x.at), Some(10_000 - KEEP as i64));
    }
}
