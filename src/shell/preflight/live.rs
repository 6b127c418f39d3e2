//! The live half of a preflight: each connection a metric reads from, and one read of every
//! metric, judged as the cockpit would judge it.
//!
//! Everything a live run uses is used here unchanged: `connect::resolve_each` for the
//! connections (so a secret is found or missed exactly as `cutover run` finds or misses it),
//! `poller::read_once` with the metric's timeout for the read, `poller::shown_reason` for
//! redacting an error, and the monitor's `Series::status` for stale or NaN values.

use super::{Check, Outcome, Row, place};
use crate::core::monitor::store::{Sample, Series, Status};
use crate::core::number::num;
use crate::core::runbook::signals::{LiveRead, Metric};
use crate::core::runbook::{Diagnostic, Runbook};
use crate::core::time::human;
use crate::readers::{self, Client, ReadError, Reading};
use crate::shell::{connect, poller};
use chrono::Utc;
use std::time::{Duration, Instant};

/// One read of a metric: what came back, when it arrived, and how long it took.
struct Read {
    result: Result<Reading, ReadError>,
    arrived: chrono::DateTime<Utc>,
    took: Duration,
}

/// Reads the metrics at `indexes` one after another on `client` (None: a command metric).
async fn read_in_turn(
    rb: &Runbook,
    indexes: Vec<usize>,
    client: Option<&Client>,
) -> Vec<(usize, Read)> {
    let mut out = Vec::new();
    for i in indexes {
        let m = &rb.signals.metrics[i];
        let Some(live) = &m.live else { continue };
        let start = Instant::now();
        let result = poller::read_once(live, client, &rb.dir, poller::read_limit(m)).await;
        let read = Read {
            result,
            arrived: Utc::now(),
            took: start.elapsed(),
        };
        out.push((i, read));
    }
    out
}

/// A connection's row, then every metric's row in the runbook's order.
pub async fn connections_and_metrics(rb: &Runbook) -> Vec<Row> {
    let resolved = connect::resolve_each(rb);
    let http = readers::http::client();
    let clients: Vec<(String, Result<Client, String>)> = resolved
        .iter()
        .map(|(name, cfg)| {
            let client = match (cfg, &http) {
                (Ok(cfg), Ok(http)) => Ok(Client::new(cfg, http)),
                (Ok(_), Err(e)) => Err(poller::shown_reason(e)),
                (Err(diags), _) => Err(not_set_up(rb, name, diags)),
            };
            (name.clone(), client)
        })
        .collect();
    let metrics = &rb.signals.metrics;
    let on = |name: &str| -> Vec<usize> {
        (0..metrics.len())
            .filter(
                |&i| matches!(&metrics[i].live, Some(LiveRead::Query { from, .. }) if from == name),
            )
            .collect()
    };
    let mut reads = Vec::new();
    for (name, client) in &clients {
        if let Ok(c) = client {
            reads.push(read_in_turn(rb, on(name), Some(c)));
        }
    }
    for (i, m) in metrics.iter().enumerate() {
        if matches!(m.live, Some(LiveRead::Command(_))) {
            reads.push(read_in_turn(rb, vec![i], None));
        }
    }
    let mut done: Vec<Option<Read>> = metrics.iter().map(|_| None).collect();
    for (i, r) in futures::future::join_all(reads).await.into_iter().flatten() {
        done[i] = Some(r);
    }

    let mut rows = Vec::new();
    let mut failed_connections: Vec<(String, String)> = Vec::new();
    for ((name, client), (_, cfg)) in clients.iter().zip(&resolved) {
        let kind = match cfg {
            Ok(cfg) => cfg.kind().to_string(),
            Err(_) => kind_of(rb, name),
        };
        let reads = on(name);
        let outcome = match client {
            Err(why) => Outcome::failed("NOT SET UP", why.clone()),
            Ok(_) => match unanswered(reads.iter().filter_map(|&i| done[i].as_ref())) {
                None => Outcome::ok("connected"),
                Some(error) => {
                    let (why, outcome) = connection_failed(rb, name, error);
                    // Its metrics failed the same way: they point here instead of repeating it.
                    failed_connections.push((name.clone(), why));
                    outcome
                }
            },
        };
        rows.push(Row {
            check: Check::Connection,
            name: name.clone(),
            via: kind,
            outcome,
        });
    }
    for (m, read) in metrics.iter().zip(&done) {
        rows.push(metric_row(rb, m, read.as_ref(), &failed_connections));
    }
    rows
}

fn kind_of(rb: &Runbook, name: &str) -> String {
    rb.signals
        .connections
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.kind.clone())
        .unwrap_or_default()
}

/// Why a connection could not be set up: the variables it needs that are not set (their
/// rows say where and how to fix it), else each problem with its place and fix.
fn not_set_up(rb: &Runbook, name: &str, diags: &[Diagnostic]) -> String {
    let conn = rb.signals.connections.iter().find(|c| c.name == name);
    let (unset, empty) = conn.map(super::secrets::unusable).unwrap_or_default();
    let quoted = |v: Vec<String>| {
        v.into_iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut needs = Vec::new();
    if !unset.is_empty() {
        needs.push(format!("needs {}, not set", quoted(unset)));
    }
    if !empty.is_empty() {
        needs.push(format!("needs {}, set but empty", quoted(empty)));
    }
    if !needs.is_empty() {
        return format!("{} (see secrets)", needs.join("; "));
    }
    if diags.is_empty() {
        let pos = conn.map(|c| c.pos).unwrap_or_default();
        return format!(
            "its settings are incomplete ({}); `cutover validate` lists what is missing",
            place(&rb.path, pos)
        );
    }
    let each: Vec<String> = diags
        .iter()
        .map(|d| format!("{} ({}); {}", d.message, place(&d.file, d.pos), d.hint))
        .collect();
    each.join("; ")
}

/// The server answered in its protocol: the connection works even if a query failed or
/// found nothing (those are the metric's to report).
fn answered(r: &Result<Reading, ReadError>) -> bool {
    matches!(
        r,
        Ok(_) | Err(ReadError::Query(_)) | Err(ReadError::NoData(_))
    )
}

/// None when any read got an answer (the connection works); otherwise the first read's
/// error, which is the connection's (refused, timed out, 401, 500, a proxy's HTML page).
/// `Some(None)`: nothing was read, which must not pass for a connection that works.
fn unanswered<'a>(reads: impl Iterator<Item = &'a Read>) -> Option<Option<&'a ReadError>> {
    let mut first_error = None;
    for r in reads {
        match &r.result {
            res if answered(res) => return None,
            Err(e) => {
                first_error.get_or_insert(e);
            }
            Ok(_) => {}
        }
    }
    Some(first_error)
}

/// A failed connection's row: the error as the cockpit shows it, where the connection is
/// written, and what to look at.
fn connection_failed(rb: &Runbook, name: &str, error: Option<&ReadError>) -> (String, Outcome) {
    let conn = rb.signals.connections.iter().find(|c| c.name == name);
    // A connection is only opened for the metrics that read from it, so there is a read.
    let why = error.map_or_else(|| "no metric was read from it".into(), poller::shown_reason);
    let vars: Vec<String> = conn
        .map(super::secrets::names)
        .unwrap_or_default()
        .iter()
        .map(|n| format!("`{n}`"))
        .collect();
    let fix = match error {
        Some(ReadError::Auth(_))
        | Some(ReadError::Http {
            status: 401 | 403, ..
        }) => {
            if vars.is_empty() {
                "check the credentials it is given".to_string()
            } else {
                format!("check the credentials in {}", vars.join(", "))
            }
        }
        Some(ReadError::Connect(_)) | Some(ReadError::Timeout(_)) => {
            "check its host or url, and that this machine can reach it".into()
        }
        Some(ReadError::Malformed(_)) => {
            "what answered does not speak its protocol: check its host or url".into()
        }
        _ => "the server refused the request; its message says why".into(),
    };
    let at = place(&rb.path, conn.map(|c| c.pos).unwrap_or_default());
    let outcome = Outcome::failed("FAILED", format!("{why} ({at}); {fix}"));
    (why, outcome)
}

fn metric_row(rb: &Runbook, m: &Metric, read: Option<&Read>, failed: &[(String, String)]) -> Row {
    let from = match &m.live {
        Some(LiveRead::Query { from, .. }) => Some(from.as_str()),
        _ => None,
    };
    let via = match &m.live {
        Some(LiveRead::Query { from, .. }) => from.clone(),
        Some(LiveRead::Command(_)) => "command".into(),
        None => String::new(),
    };
    let outcome = match (read, from) {
        _ if m.live.is_none() => Outcome::failed(
            "NO READER",
            format!(
                "no live reader, so a live run cannot watch it ({}); add `from:` + `query:` (or `run:`)",
                place(&rb.path, m.pos)
            ),
        ),
        (None, Some(from)) => Outcome::failed(
            "NOT READ",
            format!("connection `{from}` is not set up (see connections)"),
        ),
        (None, None) => Outcome::failed("NOT READ", "the read did not happen"),
        (Some(r), _) => judged(m, r, from, failed, &place(&rb.path, m.pos)),
    };
    Row {
        check: Check::Metric,
        name: m.id.clone(),
        via,
        outcome,
    }
}

/// A read as the cockpit would show it: a fresh value, or UNKNOWN with the monitor's reason.
/// `at` is where the metric is written, for a failure to point at.
fn judged(
    m: &Metric,
    r: &Read,
    from: Option<&str>,
    failed: &[(String, String)],
    at: &str,
) -> Outcome {
    let latency = latency(r.took);
    let reading = match &r.result {
        Ok(reading) => reading,
        Err(e) => {
            let why = poller::shown_reason(e);
            let same = from.and_then(|f| failed.iter().find(|(n, w)| n == f && *w == why));
            return Outcome::failed(
                "FAILED",
                match same {
                    Some((n, _)) => format!("as connection `{n}` (see connections)"),
                    None => format!("{why} (after {latency}; {at})"),
                },
            );
        }
    };
    // Judged as of its arrival: how old the value was when it came is what a preflight
    // learns about the source; the other reads finishing later must not add to it.
    let sampled = reading.at.unwrap_or(r.arrived);
    let now = r.arrived;
    let mut series = Series::default();
    series.push(Sample {
        at: sampled.timestamp_millis(),
        value: reading.value,
    });
    let value = match &m.unit {
        Some(u) => format!("{} {u}", num(reading.value)),
        None => num(reading.value),
    };
    match series.status(m, now.timestamp_millis()) {
        Status::Fresh(_) => Outcome::Ok {
            result: value,
            // Whole seconds: the read's own milliseconds are in its latency.
            age: human((now - sampled).num_seconds() * 1000),
            latency,
        },
        Status::Unknown(why) => Outcome::failed(
            "UNKNOWN",
            format!("{why}; read {value} in {latency} ({at})"),
        ),
    }
}

/// A read's duration: `340ms`, `2.4s`, `1m05s`.
fn latency(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        human(ms as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::runbook::Pos;

    fn metric() -> Metric {
        Metric {
            id: "lag".into(),
            title: "Lag".into(),
            side: crate::core::runbook::signals::Side::Target,
            unit: Some("min".into()),
            every: 30_000,
            stale_after: 90_000,
            timeout: 10_000,
            live: Some(LiveRead::Command(vec!["true".into()])),
            sim: None,
            pos: Pos::default(),
        }
    }

    fn read_of(value: f64, age: chrono::Duration) -> Read {
        let arrived = Utc::now();
        Read {
            result: Ok(Reading {
                value,
                at: Some(arrived - age),
            }),
            arrived,
            took: Duration::from_millis(40),
        }
    }

    #[test]
    fn a_value_is_judged_as_the_cockpit_would_judge_it() {
        let m = metric();
        let fresh = judged(
            &m,
            &read_of(12.0, chrono::Duration::seconds(5)),
            None,
            &[],
            "rb.yaml:7:5",
        );
        assert_eq!(
            fresh,
            Outcome::Ok {
                result: "12 min".into(),
                age: "5s".into(),
                latency: "40ms".into()
            }
        );
        let stale = judged(
            &m,
            &read_of(12.0, chrono::Duration::hours(2)),
            None,
            &[],
            "rb.yaml:7:5",
        );
        assert_eq!(
            stale,
            Outcome::failed(
                "UNKNOWN",
                "stale: last value 2h ago (stale after 1m30s); read 12 min in 40ms (rb.yaml:7:5)"
            )
        );
        let nan = judged(
            &m,
            &read_of(f64::NAN, chrono::Duration::zero()),
            None,
            &[],
            "rb.yaml:7:5",
        );
        assert!(
            matches!(&nan, Outcome::Failed { result: "UNKNOWN", why } if why.starts_with("the source returned NaN")),
            "{nan:?}"
        );
    }

    #[test]
    fn latency_reads_at_a_glance() {
        assert_eq!(latency(Duration::from_millis(340)), "340ms");
        assert_eq!(latency(Duration::from_millis(2440)), "2.4s");
        assert_eq!(latency(Duration::from_secs(65)), "1m05s");
    }

    #[test]
    fn a_connection_that_answered_once_is_connected_and_one_that_never_did_is_not() {
        let read = |result| Read {
            result,
            arrived: Utc::now(),
            took: Duration::ZERO,
        };
        let refused = read(Err(ReadError::Connect("refused".into())));
        let sql = read(Err(ReadError::Query("no such table".into())));
        assert!(unanswered([&refused, &sql].into_iter()).is_none());
        assert!(matches!(
            unanswered([&refused].into_iter()),
            Some(Some(ReadError::Connect(_)))
        ));
        assert!(matches!(unanswered(std::iter::empty()), Some(None)));
    }
}
