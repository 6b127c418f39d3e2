//! Units after a condition's threshold (`lag > 1min`, `backfill-left < 500GB`): converted
//! into the unit the metric is measured in, so the engine compares plain numbers.
//!
//! A metric's `unit` is free text (`%`, `ms`, `runs`, `TB`); only the families below convert.
//! Anything else must be written exactly as the metric's own unit. There is no ratio family:
//! nothing in the format says a metric is a 0–1 ratio, so `%` converts to nothing.

use super::condition::Parsed;
use super::reader::Findings;
use crate::core::runbook::diag::Pos;
use crate::core::runbook::signals::{Condition, Metric, Threshold};
use std::collections::HashMap;

/// Units of one kind and how many base units each is.
struct Family {
    /// Named in hints ("a duration").
    what: &'static str,
    /// (spelling, size in the family's base unit), smallest first for hints. Sizes are whole
    /// numbers, so converting between them rounds as little as possible.
    units: &'static [(&'static str, f64)],
}

const FAMILIES: &[Family] = &[
    Family {
        what: "a duration",
        units: &[
            ("ms", 1.0),
            ("s", 1e3),
            ("sec", 1e3),
            // `m` is minutes, as in the runbook's own durations (`5m`).
            ("m", 6e4),
            ("min", 6e4),
            ("h", 3.6e6),
            ("d", 8.64e7),
        ],
    },
    Family {
        what: "a size in bytes",
        units: &[
            ("B", 1.0),
            ("KB", 1e3),
            ("kB", 1e3),
            ("MB", 1e6),
            ("GB", 1e9),
            ("TB", 1e12),
            ("PB", 1e15),
            ("KiB", 1024.0),
            ("MiB", 1_048_576.0),
            ("GiB", 1_073_741_824.0),
            ("TiB", 1_099_511_627_776.0),
            ("PiB", 1_125_899_906_842_624.0),
        ],
    },
];

fn family_of(unit: &str) -> Option<(&'static Family, f64)> {
    FAMILIES.iter().find_map(|f| {
        f.units
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, size)| (f, *size))
    })
}

/// Why a threshold's unit cannot be used, and how to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// What is wrong.
    pub message: String,
    /// The units that would work.
    pub hint: String,
}

/// `value` written in `from`, expressed in `to` (the metric's unit).
pub fn convert(value: f64, from: &str, to: &str) -> Result<f64, Mismatch> {
    if from == to {
        return Ok(value);
    }
    match (family_of(from), family_of(to)) {
        (Some((ff, fsize)), Some((tf, tsize))) if std::ptr::eq(ff, tf) => Ok(value * fsize / tsize),
        (_, Some((tf, _))) => {
            let names: Vec<&str> = tf.units.iter().map(|(u, _)| *u).collect();
            Err(Mismatch {
                message: format!("`{from}` is not {}", tf.what),
                hint: format!(
                    "write the threshold in `{to}` or another unit of {}: {}",
                    tf.what,
                    names.join(", ")
                ),
            })
        }
        (_, None) => Err(Mismatch {
            message: format!("`{from}` does not convert to `{to}`"),
            hint: format!("write the threshold in `{to}`, or fix the metric's `unit`"),
        }),
    }
}

/// Each metric's `unit`, read before any condition so a threshold is converted where it is
/// read (canary gates sit on steps, which come before `metrics:` in most files).
#[derive(Default)]
pub struct Units {
    /// Metric id → its unit, for the first metric with that id (as `Signals::metric` finds).
    pub of_metric: HashMap<String, Option<String>>,
}

impl Units {
    /// The units of `metrics`.
    pub fn of(metrics: &[Metric]) -> Self {
        let mut of_metric = HashMap::new();
        for m in metrics {
            of_metric
                .entry(m.id.clone())
                .or_insert_with(|| m.unit.clone());
        }
        Self { of_metric }
    }
}

/// The condition `parsed` (written at `pos`, in `what`) with its threshold in the metric's
/// unit. When the units do not fit, an error says which would work and the condition is
/// kept as written, so the trigger or gate still exists for the checks that follow (and a
/// scenario tripping it is not reported as naming an unknown trigger). A condition on an
/// unknown metric is kept too: that metric is reported where it is named.
pub fn resolve(
    sink: &mut Findings,
    pos: Pos,
    what: &str,
    parsed: Parsed,
    units: &Units,
) -> Condition {
    let Parsed { mut cond, unit } = parsed;
    let (Some(unit), Some(metric_unit), Threshold::Value(n)) = (
        unit,
        units.of_metric.get(&cond.metric),
        cond.threshold.clone(),
    ) else {
        return cond;
    };
    let metric = &cond.metric;
    match metric_unit {
        None => sink.error(
            pos,
            format!("{what}: threshold has unit `{unit}` but metric `{metric}` has none"),
            format!("add `unit: {unit}` to the metric, or drop the unit from the threshold"),
        ),
        Some(mu) => match convert(n, &unit, mu) {
            Ok(v) => cond.threshold = Threshold::Value(v),
            Err(m) => sink.error(
                pos,
                format!(
                    "{what}: threshold unit `{unit}` does not fit metric `{metric}`, measured in `{mu}` ({})",
                    m.message
                ),
                m.hint,
            ),
        },
    }
    cond
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_within_a_family() {
        assert_eq!(convert(1.0, "min", "s"), Ok(60.0));
        assert_eq!(convert(30.0, "m", "min"), Ok(30.0));
        assert_eq!(convert(2.0, "h", "min"), Ok(120.0));
        assert_eq!(convert(1500.0, "ms", "s"), Ok(1.5));
        assert_eq!(convert(1.0, "d", "h"), Ok(24.0));
        assert_eq!(convert(500.0, "GB", "TB"), Ok(0.5));
        assert_eq!(convert(5.0, "PB", "TB"), Ok(5000.0));
        assert_eq!(convert(1.0, "GiB", "MiB"), Ok(1024.0));
        assert_eq!(convert(7.0, "runs", "runs"), Ok(7.0));
    }

    #[test]
    fn refuses_across_families_naming_what_works() {
        let e = convert(1.0, "GB", "s").unwrap_err();
        assert!(e.message.contains("`GB` is not a duration"), "{e:?}");
        assert!(e.hint.contains("ms, s, sec, m, min, h, d"), "{e:?}");
        let e = convert(1.0, "%", "ms").unwrap_err();
        assert!(e.hint.contains("write the threshold in `ms`"), "{e:?}");
        let e = convert(1.0, "ms", "%").unwrap_err();
        assert!(e.message.contains("does not convert to `%`"), "{e:?}");
        assert!(convert(1.0, "checks", "runs").is_err());
    }
}
