//! The secrets a preflight checks: every `${env:NAME}` the connections a live run opens
//! reference, looked up in the environment as `cutover run` looks them up. Only whether each
//! is set is ever shown; the values stay in the environment.

use super::{Check, Outcome, Row, place};
use crate::core::runbook::signals::{Connection, LiveRead};
use crate::core::runbook::{Pos, Runbook};
use crate::shell::secret;

/// The connections a live run opens: those a metric reads from.
fn used(rb: &Runbook) -> impl Iterator<Item = &Connection> {
    rb.signals.connections.iter().filter(|c| {
        rb.signals
            .metrics
            .iter()
            .any(|m| matches!(&m.live, Some(LiveRead::Query { from, .. }) if *from == c.name))
    })
}

/// `(key, variable, place)` for each reference of `c`, in the order the file has them. A
/// malformed reference is left out: it cannot be resolved, and the connection's row says so.
fn references(c: &Connection) -> Vec<(&str, String, Pos)> {
    let mut fields: Vec<(&str, &str, Pos)> = c
        .fields
        .iter()
        .map(|(k, (raw, pos))| (k.as_str(), raw.as_str(), *pos))
        .chain(
            c.headers
                .iter()
                .map(|(k, raw, pos)| (k.as_str(), raw.as_str(), *pos)),
        )
        .collect();
    fields.sort_by_key(|(_, _, p)| (p.line, p.col));
    fields
        .into_iter()
        .flat_map(|(key, raw, pos)| {
            secret::references(raw)
                .unwrap_or_default()
                .into_iter()
                .map(move |n| (key, n, pos))
        })
        .collect()
}

/// The variables `c` references, each once.
pub fn names(c: &Connection) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, n, _) in references(c) {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// The variables `c` needs that are not set, then those set but empty, each once: neither
/// can be used (the connection refuses an empty one as it refuses a missing one).
pub fn unusable(c: &Connection) -> (Vec<String>, Vec<String>) {
    let mut unset = Vec::new();
    let mut empty = Vec::new();
    for n in names(c) {
        match std::env::var(&n) {
            Err(_) => unset.push(n),
            Ok(v) if v.is_empty() => empty.push(n),
            Ok(_) => {}
        }
    }
    (unset, empty)
}

/// One row per variable, in the order the file first names it, with every `connection.key`
/// that uses it.
pub fn check(rb: &Runbook) -> Vec<Row> {
    let mut found: Vec<(String, Vec<String>, Pos)> = Vec::new();
    for c in used(rb) {
        for (key, n, pos) in references(c) {
            let used_as = format!("{}.{key}", c.name);
            match found.iter_mut().find(|(name, _, _)| *name == n) {
                Some((_, uses, _)) => uses.push(used_as),
                None => found.push((n, vec![used_as], pos)),
            }
        }
    }
    found
        .into_iter()
        .map(|(name, uses, pos)| {
            let at = place(&rb.path, pos);
            let outcome = match std::env::var(&name) {
                Ok(v) if !v.is_empty() => Outcome::ok("set"),
                // The live run would send an empty credential and be refused mid-cutover.
                Ok(_) => Outcome::failed(
                    "EMPTY",
                    format!("`{name}` is set but empty ({at}); export {name}=… with its value"),
                ),
                Err(_) => Outcome::failed(
                    "NOT SET",
                    format!("`{name}` is not set ({at}); export {name}=… before the run"),
                ),
            };
            Row {
                check: Check::Secret,
                via: uses.join(", "),
                name,
                outcome,
            }
        })
        .collect()
}
