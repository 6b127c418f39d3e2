//! Drill values: each simulated metric is a pure function of the T clock — baseline, trend,
//! deterministic noise — bent by the scenario's faults (spike, drift, silence, errors).
//! `SimFeed` hands out the samples due up to a given T-time, one per metric interval, so a
//! drill at ×60 or at full speed sees exactly the samples it would have seen live.

use crate::core::runbook::signals::{Fault, FaultKind, Metric, Sim};
use crate::core::time::Ms;

/// What the simulation gives at one moment.
#[derive(Debug, Clone, PartialEq)]
pub enum SimOut {
    /// A value.
    Value(f64),
    /// Nothing (silence).
    Silent,
    /// A failed read.
    Error(String),
}

/// Noise in [-1, 1], the same for the same metric and time (drills are reproducible).
fn noise(id: &str, t: Ms) -> f64 {
    // FNV-1a over the id and the time, then a 64-bit mix: cheap, stable, well spread.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes().chain(t.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h as f64 / u64::MAX as f64) * 2.0 - 1.0
}

/// The simulated value of `m` at `t` under `faults`.
pub fn value_at(m: &Metric, sim: &Sim, faults: &[Fault], t: Ms) -> SimOut {
    let normal = |t: Ms| sim.baseline + sim.trend * (t as f64 / 3_600_000.0).max(0.0);
    let mut v = normal(t);
    for f in faults.iter().filter(|f| f.metric == m.id) {
        match &f.kind {
            FaultKind::Silence if f.active(t) => return SimOut::Silent,
            FaultKind::Errors(msg) if f.active(t) => {
                return SimOut::Error(format!("{msg} (simulated)"));
            }
            FaultKind::Spike(x) if f.active(t) => v = *x,
            // A drift moves to its value over `for` and stays there: drifts do not heal.
            FaultKind::Drift(x) if t >= f.at => {
                let len = f.lasts.unwrap_or(1).max(1) as f64;
                let k = ((t - f.at) as f64 / len).clamp(0.0, 1.0);
                let from = normal(f.at);
                v = from + (x - from) * k;
            }
            _ => {}
        }
    }
    v += sim.noise * noise(&m.id, t);
    v = v.max(sim.min);
    if let Some(mx) = sim.max {
        v = v.min(mx);
    }
    SimOut::Value(v)
}

/// Hands out simulated samples as the drill clock passes their times.
#[derive(Debug, Clone)]
pub struct SimFeed {
    metrics: Vec<(Metric, Sim)>,
    faults: Vec<Fault>,
    next: Vec<Ms>,
}

/// One simulated read: metric id, T-time, value or error. Silence gives nothing.
pub type SimSample = (String, Ms, Result<f64, String>);

/// At most this many samples per metric come out of one call (after a long jump, only the
/// most recent matter: the store keeps fewer than this).
const CATCH_UP: i64 = 512;

impl SimFeed {
    /// A feed for the simulated metrics, starting at `start`.
    pub fn new(metrics: &[Metric], faults: &[Fault], start: Ms) -> Self {
        let metrics: Vec<(Metric, Sim)> = metrics
            .iter()
            .filter_map(|m| m.sim.clone().map(|s| (m.clone(), s)))
            .collect();
        let next = metrics
            .iter()
            .map(|(m, _)| start.div_euclid(m.every) * m.every)
            .collect();
        Self {
            metrics,
            faults: faults.to_vec(),
            next,
        }
    }

    /// The next T-time a sample is due.
    pub fn next_due(&self) -> Option<Ms> {
        self.next.iter().min().copied()
    }

    /// Every sample due at or before `now`, oldest first per metric.
    pub fn due(&mut self, now: Ms) -> Vec<SimSample> {
        let mut out = Vec::new();
        for (i, (m, sim)) in self.metrics.iter().enumerate() {
            let mut t = self.next[i];
            if t > now {
                continue;
            }
            let behind = (now - t) / m.every;
            if behind > CATCH_UP {
                t += (behind - CATCH_UP) * m.every;
            }
            while t <= now {
                match value_at(m, sim, &self.faults, t) {
                    SimOut::Value(v) => out.push((m.id.clone(), t, Ok(v))),
                    SimOut::Error(e) => out.push((m.id.clone(), t, Err(e))),
                    SimOut::Silent => {}
                }
                t += m.every;
            }
            self.next[i] = t;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::runbook::signals::Side;

    fn metric(every: Ms) -> (Metric, Sim) {
        let sim = Sim {
            baseline: 0.2,
            noise: 0.05,
            trend: 0.0,
            min: 0.0,
            max: None,
        };
        (
            Metric {
                id: "err".into(),
                title: "err".into(),
                side: Side::Target,
                unit: Some("%".into()),
                every,
                stale_after: every * 3,
                timeout: every,
                live: None,
                sim: Some(sim.clone()),
                pos: Default::default(),
            },
            sim,
        )
    }

    #[test]
    fn noise_is_bounded_and_repeatable() {
        let (m, s) = metric(30_000);
        for t in (0..100).map(|i| i * 30_000) {
            let SimOut::Value(v) = value_at(&m, &s, &[], t) else {
                panic!()
            };
            assert!((0.15..=0.25).contains(&v), "{v}");
            assert_eq!(value_at(&m, &s, &[], t), SimOut::Value(v));
        }
    }

    #[test]
    fn faults_bend_values() {
        let (m, s) = metric(30_000);
        let f = |kind, at, lasts| Fault {
            metric: "err".into(),
            at,
            lasts,
            kind,
        };
        let spike = [f(FaultKind::Spike(3.0), 600_000, Some(600_000))];
        assert!(matches!(value_at(&m, &s, &spike, 700_000), SimOut::Value(v) if v > 2.9));
        assert!(matches!(value_at(&m, &s, &spike, 1_200_000), SimOut::Value(v) if v < 0.3));
        let drift = [f(FaultKind::Drift(1.2), 0, Some(1_000_000))];
        assert!(
            matches!(value_at(&m, &s, &drift, 500_000), SimOut::Value(v) if (0.6..0.8).contains(&v))
        );
        assert!(matches!(value_at(&m, &s, &drift, 5_000_000), SimOut::Value(v) if v > 1.1));
        let silent = [f(FaultKind::Silence, 0, Some(60_000))];
        assert_eq!(value_at(&m, &s, &silent, 30_000), SimOut::Silent);
        let err = [f(FaultKind::Errors("HTTP 503".into()), 0, None)];
        assert!(matches!(value_at(&m, &s, &err, 30_000), SimOut::Error(e) if e.contains("503")));
    }

    #[test]
    fn feed_gives_one_sample_per_interval() {
        let (m, _) = metric(30_000);
        let mut feed = SimFeed::new(&[m], &[], -60_000);
        assert_eq!(feed.next_due(), Some(-60_000));
        let got = feed.due(59_999);
        let times: Vec<Ms> = got.iter().map(|s| s.1).collect();
        assert_eq!(times, vec![-60_000, -30_000, 0, 30_000]);
        assert_eq!(feed.next_due(), Some(60_000));
        assert!(feed.due(59_999).is_empty());
        // A long jump gives a bounded catch-up.
        assert_eq!(
            feed.due(60_000 + 30_000 * 10_000).len() as i64,
            CATCH_UP + 1
        );
    }
}
