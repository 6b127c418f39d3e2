//! Reading typed values out of the spanned YAML tree while collecting every problem.
//!
//! `Fields` wraps one mapping and the keys it may hold; each accessor records a located
//! diagnostic instead of stopping, and `finish` reports the keys nobody asked for, naming
//! the nearest valid one. This is what lets `validate` report all problems in one pass.

use super::yaml::{Located, Node, pos_of};
use crate::core::runbook::diag::{Diagnostic, Pos};
use crate::core::time::{Ms, parse_duration, parse_offset};
use std::path::Path;

/// Collected diagnostics for one file.
pub struct Findings<'a> {
    /// The file being read.
    pub file: &'a Path,
    /// What was found so far.
    pub diags: Vec<Diagnostic>,
}

impl<'a> Findings<'a> {
    /// An empty sink for `file`.
    pub fn new(file: &'a Path) -> Self {
        Self {
            file,
            diags: Vec::new(),
        }
    }

    /// Records an error.
    pub fn error(&mut self, pos: Pos, msg: impl Into<String>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(self.file, pos, msg, hint));
    }

    /// Records a warning.
    pub fn warn(&mut self, pos: Pos, msg: impl Into<String>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::warning(self.file, pos, msg, hint));
    }
}

/// The nearest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn nearest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// One mapping being read: `what` names it in messages (e.g. "step `freeze-writes`").
pub struct Fields<'n> {
    what: String,
    pos: Pos,
    entries: &'n [(serde_saphyr::Spanned<String>, Located)],
    known: &'static [&'static str],
}

impl<'n> Fields<'n> {
    /// Opens `node` as a mapping; records an error and returns `None` when it is not one.
    pub fn open(
        sink: &mut Findings,
        node: &'n Located,
        what: impl Into<String>,
        known: &'static [&'static str],
    ) -> Option<Self> {
        let what = what.into();
        match &node.value {
            Node::Map(entries) => Some(Self {
                what,
                pos: pos_of(node),
                entries,
                known,
            }),
            other => {
                sink.error(
                    pos_of(node),
                    format!("{what} must be a mapping of keys, found {}", other.kind()),
                    format!(
                        "write it as `key: value` lines; valid keys: {}",
                        known.join(", ")
                    ),
                );
                None
            }
        }
    }

    /// Where the mapping is.
    pub fn pos(&self) -> Pos {
        self.pos
    }

    /// Renames the mapping in later messages (once its id is known).
    pub fn rename(&mut self, what: impl Into<String>) {
        self.what = what.into();
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'n Located> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
    }

    /// Where `key`'s value is, or the mapping's position.
    pub fn pos_of(&self, key: &str) -> Pos {
        self.get(key).map(pos_of).unwrap_or(self.pos)
    }

    /// A required text value.
    pub fn req_str(&self, sink: &mut Findings, key: &str, hint: &str) -> Option<String> {
        match self.get(key) {
            None => {
                sink.error(
                    self.pos,
                    format!("{} is missing `{key}`", self.what),
                    hint.to_string(),
                );
                None
            }
            Some(v) => self.text(sink, key, v),
        }
    }

    /// An optional text value.
    pub fn opt_str(&self, sink: &mut Findings, key: &str) -> Option<String> {
        self.get(key).and_then(|v| self.text(sink, key, v))
    }

    fn text(&self, sink: &mut Findings, key: &str, v: &Located) -> Option<String> {
        let s = match &v.value {
            Node::Str(s) => s.clone(),
            Node::Int(i) => i.to_string(),
            Node::Float(f) => f.to_string(),
            Node::Bool(b) => b.to_string(),
            other => {
                sink.error(
                    pos_of(v),
                    format!(
                        "`{key}` of {} must be text, found {}",
                        self.what,
                        other.kind()
                    ),
                    format!("write `{key}: some text`"),
                );
                return None;
            }
        };
        if s.trim().is_empty() {
            sink.error(
                pos_of(v),
                format!("`{key}` of {} is empty", self.what),
                format!("give `{key}` a value or remove the line"),
            );
            return None;
        }
        Some(s)
    }

    /// An optional true/false value (absent: false).
    pub fn flag(&self, sink: &mut Findings, key: &str) -> bool {
        match self.get(key) {
            None => false,
            Some(v) => match &v.value {
                Node::Bool(b) => *b,
                other => {
                    sink.error(
                        pos_of(v),
                        format!(
                            "`{key}` of {} must be true or false, found {}",
                            self.what,
                            other.kind()
                        ),
                        format!("write `{key}: true` or `{key}: false`"),
                    );
                    false
                }
            },
        }
    }

    /// An optional whole number.
    pub fn opt_uint(&self, sink: &mut Findings, key: &str) -> Option<u32> {
        let v = self.get(key)?;
        match &v.value {
            Node::Int(i) if *i >= 0 && *i <= 1000 => u32::try_from(*i).ok(),
            other => {
                sink.error(
                    pos_of(v),
                    format!(
                        "`{key}` of {} must be a whole number from 0 to 1000, found {}",
                        self.what,
                        describe(other)
                    ),
                    format!("write e.g. `{key}: 3`"),
                );
                None
            }
        }
    }

    /// An optional duration such as `5m`.
    pub fn opt_duration(&self, sink: &mut Findings, key: &str) -> Option<Ms> {
        let v = self.get(key)?;
        let raw = scalar_text(&v.value);
        match raw.as_deref().map(|r| (r, parse_duration(r))) {
            Some((_, Ok(d))) => Some(d),
            Some((raw, Err(e))) => {
                const FORM: &str = "durations are a number and a unit: `90s`, `5m`, `1h30m`, `2d`";
                let (message, hint) = match suggest_duration(raw) {
                    // `5 min` is one mistake with one fix, not "a number without a unit".
                    Some(fix) if raw.contains(char::is_whitespace) => (
                        format!("`{key}` of {}: `{raw}` has a space in it", self.what),
                        format!("write `{key}: {fix}`: {FORM}, with no space"),
                    ),
                    Some(fix) => (
                        format!("`{key}` of {}: {e}", self.what),
                        format!("write `{key}: {fix}`: {FORM}"),
                    ),
                    None => (format!("`{key}` of {}: {e}", self.what), FORM.to_string()),
                };
                sink.error(pos_of(v), message, hint);
                None
            }
            None => {
                sink.error(
                    pos_of(v),
                    format!(
                        "`{key}` of {} must be a duration, found {}",
                        self.what,
                        v.value.kind()
                    ),
                    "durations are a number and a unit: `90s`, `5m`, `1h30m`, `2d`",
                );
                None
            }
        }
    }

    /// An optional T offset such as `T+0:05`; returns the value and its position.
    pub fn opt_offset(&self, sink: &mut Findings, key: &str) -> Option<(Ms, String)> {
        let v = self.get(key)?;
        let raw = scalar_text(&v.value).unwrap_or_default();
        match parse_offset(&raw) {
            Ok(t) => Some((t, raw)),
            Err(e) => {
                let looks_clock = raw.contains(':') && !raw.starts_with(['T', 't']);
                let hint = if looks_clock {
                    format!(
                        "offsets start with `T`: write `T+{raw}` (after T-0) or `T-{raw}` (before it)"
                    )
                } else {
                    "write an offset from T-0: `T-24:00`, `T-30m`, `T+0:05`, `T+1:30`, `T+24h`"
                        .to_string()
                };
                sink.error(pos_of(v), format!("`{key}` of {}: {e}", self.what), hint);
                None
            }
        }
    }

    /// Reports keys that are not in `known`, each with the nearest valid key.
    pub fn finish(self, sink: &mut Findings) {
        for (k, _) in self.entries {
            if self.known.contains(&k.value.as_str()) {
                continue;
            }
            let hint = match nearest(&k.value, self.known) {
                Some(n) => format!(
                    "did you mean `{n}`? Valid keys here: {}",
                    self.known.join(", ")
                ),
                None => format!("valid keys here: {}", self.known.join(", ")),
            };
            sink.error(
                pos_of(k),
                format!("unknown key `{}` in {}", k.value, self.what),
                hint,
            );
        }
    }
}

/// The duration someone meant by `5 min`, `2 minutes`, `1 hour 30 mins` or `90sec`, written
/// the way the format reads it (`5m`, `2m`, `1h30m`, `90s`); `None` when it is not clear.
pub fn suggest_duration(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = raw.trim();
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let (n, tail) = rest.split_at(digits);
        let tail = tail.trim_start();
        let word = tail
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(word);
        let unit = match unit.to_ascii_lowercase().as_str() {
            "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => "ms",
            "s" | "sec" | "secs" | "second" | "seconds" => "s",
            "m" | "min" | "mins" | "minute" | "minutes" => "m",
            "h" | "hr" | "hrs" | "hour" | "hours" => "h",
            "d" | "day" | "days" => "d",
            _ => return None,
        };
        out.push_str(n);
        out.push_str(unit);
        // `1 hour, 30 minutes` and `1h and 30m` are read as one duration too.
        rest = tail
            .trim_start_matches(|c: char| c.is_whitespace() || c == ',')
            .trim_start_matches("and")
            .trim_start();
    }
    (out != raw && parse_duration(&out).is_ok()).then_some(out)
}

/// A scalar as text (durations and offsets written as plain numbers arrive as ints).
pub fn scalar_text(n: &Node) -> Option<String> {
    match n {
        Node::Str(s) => Some(s.clone()),
        Node::Int(i) => Some(i.to_string()),
        Node::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

fn describe(n: &Node) -> String {
    match n {
        Node::Int(i) => i.to_string(),
        other => other.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::suggest_duration;

    #[test]
    fn suggests_the_duration_that_was_meant() {
        for (raw, fix) in [
            ("5 min", "5m"),
            ("2 minutes", "2m"),
            ("1 hour 30 mins", "1h30m"),
            ("1h 30m", "1h30m"),
            ("1 hour, 30 minutes", "1h30m"),
            ("90sec", "90s"),
            ("250 ms", "250ms"),
            ("2 Days", "2d"),
        ] {
            assert_eq!(suggest_duration(raw).as_deref(), Some(fix), "{raw}");
        }
        for raw in ["5", "1.5h", "5m", "fast", "5 parsecs", "m5"] {
            assert_eq!(suggest_duration(raw), None, "{raw}");
        }
    }
}
