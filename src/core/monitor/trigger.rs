//! One trigger's (or canary gate's) evaluation state: the current streak of violating
//! samples, measured on sample timestamps, and the state shown to operators.
//!
//! A streak starts at the first violating sample and grows with each one after it; a
//! healthy sample ends it. Gaps (no sample, a failed read, NaN) neither end it nor count as
//! health: the breach is "sustained" when the violating samples span `for` and number at
//! least `min_samples`, and the latest of them is fresh.

use crate::core::time::Ms;

/// A run of violating samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Streak {
    /// First violating sample's time.
    pub since: Option<Ms>,
    /// Latest violating sample's time.
    pub last: Option<Ms>,
    /// Violating samples so far.
    pub count: u32,
    /// Newest sample fed (older ones are ignored).
    pub seen: Option<Ms>,
}

impl Streak {
    /// Feeds one sample; returns true when a healthy sample ended a streak.
    pub fn feed(&mut self, at: Ms, violating: bool) -> bool {
        if self.seen.is_some_and(|s| at <= s) {
            return false;
        }
        self.seen = Some(at);
        if violating {
            if self.since.is_none() {
                self.since = Some(at);
                self.count = 0;
            }
            self.count += 1;
            self.last = Some(at);
            false
        } else {
            let ended = self.since.is_some();
            *self = Streak {
                seen: Some(at),
                ..Default::default()
            };
            ended
        }
    }

    /// How long the violating samples span.
    pub fn held(&self) -> Ms {
        match (self.since, self.last) {
            (Some(a), Some(b)) => b - a,
            _ => 0,
        }
    }

    /// True when the streak spans `sustain` with at least `min` samples.
    pub fn sustained(&self, sustain: Ms, min: u32) -> bool {
        self.since.is_some() && self.held() >= sustain && self.count >= min
    }

    /// Forgets everything (on arming).
    pub fn reset(&mut self) {
        *self = Streak::default();
    }
}

/// What a trigger shows.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerState {
    /// Not watching yet (or any more), and why.
    Inactive(String),
    /// Fresh data, condition not met.
    Ok {
        /// Latest value.
        value: f64,
        /// Threshold.
        limit: f64,
    },
    /// Violating, not yet for long enough.
    Pending {
        /// Latest value.
        value: f64,
        /// Threshold.
        limit: f64,
        /// Span so far.
        held: Ms,
        /// Samples so far.
        samples: u32,
    },
    /// Sustained breach on fresh data.
    Breach {
        /// Latest value.
        value: f64,
        /// Threshold.
        limit: f64,
        /// Span.
        held: Ms,
        /// Samples.
        samples: u32,
    },
    /// Data cannot be trusted: why, and since when.
    Unknown {
        /// Reason (stale, error, no data, NaN, no baseline).
        reason: String,
        /// Since when.
        since: Ms,
    },
}

impl TriggerState {
    /// The state's word: OK, BREACH, UNKNOWN, …
    pub fn word(&self) -> &'static str {
        match self {
            TriggerState::Inactive(_) => "INACTIVE",
            TriggerState::Ok { .. } => "OK",
            TriggerState::Pending { .. } => "BREACHING",
            TriggerState::Breach { .. } => "BREACH",
            TriggerState::Unknown { .. } => "UNKNOWN",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streak_spans_sample_times() {
        let mut s = Streak::default();
        s.feed(0, true);
        s.feed(60_000, true);
        assert!(!s.sustained(300_000, 3));
        s.feed(300_000, true);
        assert!(s.sustained(300_000, 3));
        assert_eq!(s.count, 3);
    }

    #[test]
    fn healthy_sample_ends_streak_but_gap_does_not() {
        let mut s = Streak::default();
        s.feed(0, true);
        // No samples for a while: the streak stands (a gap is not health).
        s.feed(400_000, true);
        assert_eq!(s.held(), 400_000);
        assert!(s.feed(410_000, false));
        assert_eq!(s.since, None);
        assert!(!s.sustained(0, 1));
    }

    #[test]
    fn old_samples_are_ignored() {
        let mut s = Streak::default();
        s.feed(10_000, true);
        s.feed(5_000, false);
        assert_eq!(s.count, 1);
    }

    #[test]
    fn flapping_never_sustains() {
        let mut s = Streak::default();
        for i in 0..100 {
            s.feed(i * 30_000, i % 2 == 0);
            assert!(!s.sustained(300_000, 3));
        }
    }
}
