//! Parsing the plain-words conditions of triggers and gates:
//! `error-rate > 1%`, `latency-p95 <= 800ms`, `latency > 2x baseline`,
//! `throughput 20% below baseline`, `latency 50% above baseline`.

use crate::core::runbook::signals::{Condition, Op, Threshold};

/// A condition and the unit written after its number, if any (checked against the metric).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The condition.
    pub cond: Condition,
    /// `%`, `ms`, … as written after a fixed threshold.
    pub unit: Option<String>,
}

/// What is wrong with a condition, and how to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct CondError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

const FORMS: &str = "write `METRIC > 1%`, `METRIC < 800ms`, `METRIC > 2x baseline`, `METRIC 20% below baseline` or `METRIC 20% above baseline`";

fn err(message: impl Into<String>) -> CondError {
    CondError {
        message: message.into(),
        hint: FORMS.to_string(),
    }
}

/// Parses one condition.
pub fn parse(text: &str) -> Result<Parsed, CondError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some((metric, rest)) = words.split_first() else {
        return Err(err("the condition is empty"));
    };
    if !metric
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(err(format!(
            "`{metric}` is not a metric id (letters, digits, `-` and `_`)"
        )));
    }
    let cond = |op, threshold| Condition {
        metric: metric.to_string(),
        op,
        threshold,
        text: words.join(" "),
    };
    match rest {
        [op, n, "x" | "×", "baseline"] => {
            let op = parse_op(op)?;
            let k = number(n)?;
            Ok(Parsed {
                cond: cond(op, Threshold::TimesBaseline(k)),
                unit: None,
            })
        }
        [op, nx, "baseline"] if nx.ends_with(['x', '×']) => {
            let op = parse_op(op)?;
            let k = number(nx.trim_end_matches(['x', '×']))?;
            Ok(Parsed {
                cond: cond(op, Threshold::TimesBaseline(k)),
                unit: None,
            })
        }
        [pct, dir @ ("above" | "below"), "baseline"] => {
            let Some(p) = pct.strip_suffix('%') else {
                return Err(err(format!("`{pct}` should be a percentage such as `20%`")));
            };
            let p = number(p)?;
            if p <= 0.0 || (*dir == "below" && p >= 100.0) {
                return Err(err(format!(
                    "`{pct} {dir} baseline` is not a useful threshold (use a percentage between 0 and 100)"
                )));
            }
            let (op, p) = if *dir == "above" {
                (Op::Gt, p)
            } else {
                (Op::Lt, -p)
            };
            Ok(Parsed {
                cond: cond(op, Threshold::PercentOfBaseline(p)),
                unit: None,
            })
        }
        [op, v] => {
            let op = parse_op(op)?;
            let (n, unit) = split_unit(v)?;
            Ok(Parsed {
                cond: cond(op, Threshold::Value(n)),
                unit,
            })
        }
        [op, v, unit] if !unit.contains("baseline") && parse_op(op).is_ok() => {
            let op = parse_op(op)?;
            let n = number(v)?;
            Ok(Parsed {
                cond: cond(op, Threshold::Value(n)),
                unit: Some(unit.to_string()),
            })
        }
        _ => Err(err(format!(
            "cannot read the condition `{}`",
            words.join(" ")
        ))),
    }
}

fn parse_op(s: &str) -> Result<Op, CondError> {
    match s {
        ">" => Ok(Op::Gt),
        ">=" | "≥" => Ok(Op::Ge),
        "<" => Ok(Op::Lt),
        "<=" | "≤" => Ok(Op::Le),
        "=" | "==" | "!=" => Err(err(format!(
            "`{s}` cannot be used: a measured value is never exactly equal; use `>`, `>=`, `<` or `<=`"
        ))),
        other => Err(err(format!(
            "expected a comparison (`>`, `>=`, `<`, `<=`) after the metric, found `{other}`"
        ))),
    }
}

fn number(s: &str) -> Result<f64, CondError> {
    match s.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(err(format!("`{s}` is not a number"))),
    }
}

/// `1%` → (1, `%`); `800ms` → (800, `ms`); `0.5` → (0.5, none).
fn split_unit(s: &str) -> Result<(f64, Option<String>), CondError> {
    let cut = s
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '-' || *c == '+'))))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(cut);
    let n = number(n)?;
    Ok((n, (!unit.is_empty()).then(|| unit.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form() {
        let p = parse("error-rate > 1%").unwrap();
        assert_eq!(p.cond.op, Op::Gt);
        assert_eq!(p.cond.threshold, Threshold::Value(1.0));
        assert_eq!(p.unit.as_deref(), Some("%"));
        let p = parse("latency <= 800 ms").unwrap();
        assert_eq!(p.cond.op, Op::Le);
        assert_eq!(p.unit.as_deref(), Some("ms"));
        let p = parse("latency > 2x baseline").unwrap();
        assert_eq!(p.cond.threshold, Threshold::TimesBaseline(2.0));
        let p = parse("latency > 1.5 x baseline").unwrap();
        assert_eq!(p.cond.threshold, Threshold::TimesBaseline(1.5));
        let p = parse("throughput 20% below baseline").unwrap();
        assert_eq!(p.cond.op, Op::Lt);
        assert_eq!(p.cond.limit(Some(100.0)), Some(80.0));
        let p = parse("runtime 20% above baseline").unwrap();
        assert_eq!(p.cond.limit(Some(100.0)), Some(120.0));
    }

    #[test]
    fn rejects_with_reasons() {
        assert!(parse("").is_err());
        assert!(
            parse("x = 1")
                .unwrap_err()
                .message
                .contains("never exactly equal")
        );
        assert!(
            parse("x > abc")
                .unwrap_err()
                .message
                .contains("not a number")
        );
        assert!(parse("x 120% below baseline").is_err());
        assert!(parse("x is high").is_err());
        assert!(parse("x > NaN").is_err());
    }
}
