//! One journal line: an event with its place in the session. Written in the journal's
//! historic field order, so a line reads the same whichever version wrote it; read with a
//! clear error for a kind this version does not know.

use super::{Entry, Event, KINDS, Mode};
use crate::core::time::Ms;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// One journal line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Record {
    /// 1, 2, 3 … with no gaps.
    pub seq: u64,
    /// Wall time, RFC 3339.
    pub at: String,
    /// Seconds relative to T-0.
    pub t: f64,
    /// live or drill.
    pub mode: Mode,
    /// Who did it.
    pub operator: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
    /// The OS user of the person who did it (see `Entry::os_user`); absent for automatic
    /// actions and in lines written before sessions were shared.
    #[serde(default)]
    pub os_user: Option<String>,
    /// The hash of the line before it as written (`chain`); absent in lines written before
    /// the journal was chained.
    #[serde(default)]
    pub prev: Option<String>,
}

/// Why a line is not a record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    /// Valid JSON with a `kind` this version does not know: written by a newer cutover, or
    /// edited by hand.
    #[error(
        "kind `{0}` is not one this version of cutover knows (written by a newer version, or edited by hand?)"
    )]
    UnknownKind(String),
    /// Anything else: not JSON, or a known kind with missing or mistyped fields.
    #[error("{0}")]
    Malformed(String),
}

impl Record {
    /// A record of `entry` at T-time `t`.
    pub fn new(seq: u64, at: String, t: Ms, mode: Mode, entry: Entry) -> Self {
        Self {
            seq,
            at,
            t: t as f64 / 1000.0,
            mode,
            operator: entry.operator,
            event: entry.event,
            os_user: entry.os_user,
            prev: None,
        }
    }

    /// T-time in milliseconds.
    pub fn t_ms(&self) -> Ms {
        (self.t * 1000.0).round() as Ms
    }

    /// The step, for step events.
    pub fn step(&self) -> Option<&str> {
        self.event.step()
    }

    /// The event's kind as written on disk.
    pub fn kind(&self) -> &'static str {
        self.event.kind()
    }

    /// Reads one line.
    pub fn parse(line: &[u8]) -> Result<Record, RecordError> {
        serde_json::from_slice(line).map_err(|e| {
            let kind = serde_json::from_slice::<Value>(line)
                .ok()
                .and_then(|v| v.get("kind").and_then(Value::as_str).map(str::to_string));
            match kind {
                Some(k) if !KINDS.contains(&k.as_str()) => RecordError::UnknownKind(k),
                _ => RecordError::Malformed(e.to_string()),
            }
        })
    }

    /// The line as a JSON object in the journal's order: `seq, at, t, mode, kind, operator,
    /// step`, then the event's fields by name, then `os_user` and `prev`. `clean` is applied to the event's own text
    /// fields (secret redaction) before they are written.
    pub fn to_json(&self, clean: &dyn Fn(&str) -> String) -> Result<String, serde_json::Error> {
        let body = match serde_json::to_value(&self.event)? {
            Value::Object(m) => m,
            // Invariant: every variant is a struct variant, so serde_json gives an object.
            other => {
                let mut m = Map::new();
                m.insert("value".into(), other);
                m
            }
        };
        let mut line = Ordered(Vec::with_capacity(body.len() + 6));
        line.push("seq", Value::from(self.seq));
        line.push("at", Value::from(self.at.clone()));
        line.push("t", Value::from(self.t));
        line.push("mode", Value::from(self.mode.as_str()));
        line.push("kind", Value::from(self.kind()));
        line.push("operator", Value::from(self.operator.clone()));
        if let Some(s) = body.get("step") {
            line.push("step", s.clone());
        }
        for (k, v) in body {
            if k != "kind" && k != "step" {
                line.0.push((k, cleaned(v, clean)));
            }
        }
        // After the event's fields, so the SPEC's fields read as they always did.
        if let Some(u) = &self.os_user {
            line.push("os_user", Value::from(u.clone()));
        }
        if let Some(p) = &self.prev {
            line.push("prev", Value::from(p.clone()));
        }
        serde_json::to_string(&line)
    }
}

fn cleaned(v: Value, clean: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(clean(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| cleaned(x, clean)).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, x)| (k, cleaned(x, clean))).collect())
        }
        other => other,
    }
}

/// A JSON object that keeps the order its fields were pushed in.
struct Ordered(Vec<(String, Value)>);

impl Ordered {
    fn push(&mut self, k: &str, v: Value) {
        self.0.push((k.to_string(), v));
    }
}

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_written_in_the_journal_order_and_reads_back() {
        let e = Event::StepDone {
            step: "a".into(),
            attempt: 2,
            duration: Some(crate::core::time::Period(1500)),
            expect: None,
            procedure: None,
            held: None,
        }
        .by("ann");
        let r = Record::new(7, "2026-12-01T00:00:00.000Z".into(), -5000, Mode::Drill, e);
        let text = r.to_json(&|s| s.to_string()).unwrap();
        assert_eq!(
            text,
            r#"{"seq":7,"at":"2026-12-01T00:00:00.000Z","t":-5.0,"mode":"drill","kind":"step_done","operator":"ann","step":"a","attempt":2,"duration_s":1.5}"#
        );
        assert_eq!(Record::parse(text.as_bytes()).unwrap(), r);
    }

    #[test]
    fn an_unknown_kind_is_named_and_a_missing_field_is_malformed() {
        let e = Record::parse(br#"{"seq":1,"at":"x","t":0.0,"mode":"drill","kind":"step_teleported","operator":"ann"}"#).unwrap_err();
        assert_eq!(e, RecordError::UnknownKind("step_teleported".into()));
        let e = Record::parse(
            br#"{"seq":1,"at":"x","t":0.0,"mode":"drill","kind":"step_done","operator":"ann"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&e, RecordError::Malformed(m) if m.contains("step")),
            "{e}"
        );
    }

    #[test]
    fn nan_values_are_written_as_null_and_read_back_as_nan() {
        let e = Event::TriggerRecovered {
            trigger: "t".into(),
            value: f64::NAN,
            threshold: 1.0,
        }
        .by_system();
        let r = Record::new(1, "x".into(), 0, Mode::Live, e);
        let text = r.to_json(&|s| s.to_string()).unwrap();
        assert!(text.contains(r#""value":null"#), "{text}");
        let back = Record::parse(text.as_bytes()).unwrap();
        assert!(matches!(back.event, Event::TriggerRecovered { value, .. } if value.is_nan()));
    }

    #[test]
    fn text_fields_are_cleaned_but_not_the_kind_or_step() {
        let e = Event::Note {
            text: "token abc".into(),
        }
        .by("ann");
        let r = Record::new(1, "x".into(), 0, Mode::Live, e);
        let text = r.to_json(&|s| s.replace("abc", "***")).unwrap();
        assert!(text.contains(r#""text":"token ***""#), "{text}");
    }
}
