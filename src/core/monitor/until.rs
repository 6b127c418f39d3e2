//! What an until-step's condition reads at a moment: the metric's latest value against the
//! target, in the unit the author wrote, how old the value is, and whether it holds. Only a
//! fresh sample taken since the wait began can hold it: no data, a stale value, a failed
//! read, NaN or a value from before the wait are UNKNOWN, never "met". The engine owns the
//! wait itself (when it began, its deadline); this owns the reading.

use super::Monitor;
use super::store::Status;
use crate::core::number::num;
use crate::core::runbook::signals::Until;
use crate::core::time::{Ms, human};

/// Where an until-step's condition stands.
#[derive(Debug, Clone, PartialEq)]
pub enum UntilState {
    /// A fresh sample since the wait began holds the condition.
    Holds,
    /// The fresh value does not hold it yet.
    NotYet,
    /// No usable value: why (shown as UNKNOWN).
    Unknown(String),
}

/// An until-step's condition, read at a moment, for the engine, the screen and the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct UntilView {
    /// The condition as written (`backfill-copied >= 5PB`).
    pub text: String,
    /// The metric it reads.
    pub metric: String,
    /// The unit values are shown in (`PB`), empty when there is none.
    pub unit: String,
    /// The latest value in the shown unit, fresh or not (with `state` saying whether it
    /// counts), and its T-time.
    pub last: Option<(f64, Ms)>,
    /// The target in the shown unit.
    pub limit: f64,
    /// Where it stands.
    pub state: UntilState,
}

impl UntilView {
    /// `3.2 PB / 5 PB`, `UNKNOWN / 5 PB`: the value against the target.
    pub fn progress(&self) -> String {
        let v = match (&self.state, self.last) {
            (UntilState::Unknown(_), _) | (_, None) => "UNKNOWN".to_string(),
            (_, Some((v, _))) => num(v),
        };
        format!("{v} / {}", self.with_unit(self.limit))
    }

    /// `v` with the shown unit.
    pub fn with_unit(&self, v: f64) -> String {
        super::with_unit(v, &self.unit)
    }

    /// How old the latest value is at `now` (shown in whole seconds).
    pub fn age(&self, now: Ms) -> Option<Ms> {
        self.last.map(|(_, at)| (now - at).max(0))
    }

    /// One line of what it read: `backfill-copied 5,001 TB (target ≥ 5,000 TB, 2m old)`, or
    /// why it is unknown.
    pub fn summary(&self, now: Ms) -> String {
        let op = self.op_text();
        match (&self.state, self.last) {
            (UntilState::Unknown(r), Some((v, _))) => format!(
                "{} UNKNOWN: {r} (last {}, target {op} {})",
                self.metric,
                self.with_unit(v),
                self.with_unit(self.limit)
            ),
            (UntilState::Unknown(r), None) => format!(
                "{} UNKNOWN: {r} (target {op} {})",
                self.metric,
                self.with_unit(self.limit)
            ),
            (_, Some((v, _))) => format!(
                "{} {} (target {op} {}, {} old)",
                self.metric,
                self.with_unit(v),
                self.with_unit(self.limit),
                human(self.age(now).unwrap_or(0) / 1000 * 1000)
            ),
            (_, None) => format!("{} has no value", self.metric),
        }
    }

    fn op_text(&self) -> &'static str {
        self.text
            .split_whitespace()
            .nth(1)
            .map_or("", |op| match op {
                ">" => ">",
                ">=" | "≥" => "≥",
                "<" => "<",
                "<=" | "≤" => "≤",
                _ => "",
            })
    }
}

impl Monitor {
    /// Registers a metric an until-step waits on, so its samples are evaluated when they
    /// arrive (a sample of a metric nobody watches only feeds the screen).
    pub fn watch_metric(&mut self, id: &str) {
        self.watched.insert(id.to_string());
    }

    /// `u` read at `now`, for a wait that began at `since`.
    pub fn until_view(&self, u: &Until, since: Ms, now: Ms) -> UntilView {
        let limit = u.limit().unwrap_or(f64::NAN);
        let series = self.metric_index(&u.cond.metric).map(|i| &self.series[i]);
        let last = series
            .and_then(|s| s.last())
            .filter(|s| s.value.is_finite())
            .map(|s| (u.shown(s.value), s.at));
        let state = match self.status_of(&u.cond.metric, now) {
            Status::Unknown(r) => UntilState::Unknown(r),
            Status::Fresh(s) if s.at < since => {
                UntilState::Unknown("no sample since the wait began".into())
            }
            Status::Fresh(s) if !s.value.is_finite() || !limit.is_finite() => {
                UntilState::Unknown(format!("the source returned {}", s.value))
            }
            Status::Fresh(s) if u.cond.op.holds(s.value, limit) => UntilState::Holds,
            Status::Fresh(_) => UntilState::NotYet,
        };
        UntilView {
            text: u.cond.text.clone(),
            metric: u.cond.metric.clone(),
            unit: u.unit.clone(),
            last,
            limit: u.shown(limit),
            state,
        }
    }
}
