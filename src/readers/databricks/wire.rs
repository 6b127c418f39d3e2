//! The Statement Execution API's JSON, and how the first row of a result becomes a
//! `Reading`: every value arrives as a string, to be read by the column's declared type.

use crate::readers::{Query, ReadError, Reading, http};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize)]
pub(super) struct StatementRequest<'a> {
    pub(super) warehouse_id: &'a str,
    pub(super) statement: &'a str,
    pub(super) wait_timeout: String,
    pub(super) on_wait_timeout: &'static str,
    pub(super) format: &'static str,
    pub(super) disposition: &'static str,
    pub(super) row_limit: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) catalog: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) schema: Option<&'a str>,
}

// Every field is optional so that a surprising answer becomes a `Malformed` with a reason
// rather than a bare serde error.
#[derive(Deserialize)]
pub(super) struct Statement {
    pub(super) statement_id: Option<String>,
    pub(super) status: Option<Status>,
    pub(super) manifest: Option<Manifest>,
    pub(super) result: Option<ResultData>,
}

#[derive(Deserialize)]
pub(super) struct Status {
    pub(super) state: Option<String>,
    pub(super) error: Option<ServiceError>,
}

#[derive(Deserialize)]
pub(super) struct ServiceError {
    pub(super) error_code: Option<String>,
    pub(super) message: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Manifest {
    pub(super) total_row_count: Option<u64>,
    pub(super) schema: Option<Schema>,
}

#[derive(Deserialize)]
pub(super) struct Schema {
    #[serde(default)]
    pub(super) columns: Vec<Column>,
}

#[derive(Deserialize)]
pub(super) struct Column {
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) type_name: String,
    pub(super) position: Option<usize>,
}

#[derive(Deserialize)]
pub(super) struct ResultData {
    pub(super) data_array: Option<Vec<Vec<Value>>>,
}

#[derive(Deserialize)]
pub(super) struct TokenResponse {
    pub(super) access_token: Option<String>,
    pub(super) expires_in: Option<Value>,
}

/// Ok(true) while the statement runs, Ok(false) once it succeeded, else why it gave nothing.
pub(super) fn state(st: &Statement) -> Result<bool, ReadError> {
    let status = st
        .status
        .as_ref()
        .ok_or_else(|| ReadError::Malformed("statement response has no status".into()))?;
    let detail = status.error.as_ref().map(|e| {
        let msg = e.message.as_deref().unwrap_or("no message");
        match &e.error_code {
            Some(code) => format!("{code}: {msg}"),
            None => msg.to_string(),
        }
    });
    match status.state.as_deref() {
        Some("PENDING" | "RUNNING") => Ok(true),
        Some("SUCCEEDED") => Ok(false),
        Some("FAILED") => {
            Err(ReadError::Query(detail.unwrap_or_else(|| {
                "statement failed without saying why".into()
            })))
        }
        Some("CANCELED") => Err(ReadError::Query(match detail {
            Some(d) => format!("statement was canceled: {d}"),
            None => "statement was canceled".into(),
        })),
        Some("CLOSED") => Err(ReadError::NoData(
            "the statement's result is no longer available (CLOSED)".into(),
        )),
        Some(other) => Err(ReadError::Malformed(format!(
            "unknown statement state `{}`",
            http::shorten(other)
        ))),
        None => Err(ReadError::Malformed("statement status has no state".into())),
    }
}

/// The id, checked before it goes into a URL path.
pub(super) fn statement_id(id: Option<&str>) -> Result<&str, ReadError> {
    id.filter(|s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
    .ok_or_else(|| {
        ReadError::Malformed(format!("unusable statement_id {:?}", id.map(http::shorten)))
    })
}

struct Col {
    index: usize,
    name: String,
    type_name: String,
}

fn pick(columns: &[Column], name: Option<&str>) -> Result<Col, ReadError> {
    let found = match name {
        None if columns.is_empty() => {
            // No manifest: the first value, type unknown.
            return Ok(Col {
                index: 0,
                name: "1".into(),
                type_name: String::new(),
            });
        }
        None => columns.iter().enumerate().next(),
        Some(n) => columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name.eq_ignore_ascii_case(n)),
    };
    match found {
        Some((i, c)) => Ok(Col {
            index: c.position.unwrap_or(i),
            name: c.name.clone(),
            type_name: c.type_name.to_ascii_uppercase(),
        }),
        None => {
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            Err(ReadError::Malformed(format!(
                "the result has no column `{}` (columns: {})",
                name.unwrap_or_default(),
                if names.is_empty() {
                    "none listed".into()
                } else {
                    names.join(", ")
                }
            )))
        }
    }
}

fn cell<'a>(row: &'a [Value], col: &Col) -> Result<&'a Value, ReadError> {
    row.get(col.index).ok_or_else(|| {
        ReadError::Malformed(format!(
            "the first row has {} values but column {} is at position {}",
            row.len(),
            col.name,
            col.index
        ))
    })
}

fn number(v: &Value, col: &Col) -> Result<f64, ReadError> {
    let text = match v {
        Value::Null => return Err(ReadError::NoData(format!("NULL in column {}", col.name))),
        Value::String(s) => s.trim(),
        // Not what the API sends, but unambiguous.
        Value::Number(n) => {
            return n
                .as_f64()
                .ok_or_else(|| ReadError::Malformed(format!("column {}: {n}", col.name)));
        }
        Value::Bool(b) => return Ok(if *b { 1.0 } else { 0.0 }),
        other => {
            return Err(ReadError::Malformed(format!(
                "column {} holds {}, not a string",
                col.name,
                http::shorten(&other.to_string())
            )));
        }
    };
    let t = col.type_name.as_str();
    match t {
        "BOOLEAN" => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(1.0),
            "false" => Ok(0.0),
            _ => Err(ReadError::Malformed(format!(
                "column {} (BOOLEAN) holds `{}`",
                col.name,
                http::shorten(text)
            ))),
        },
        "TIMESTAMP" | "TIMESTAMP_NTZ" | "DATE" | "INTERVAL" | "ARRAY" | "MAP" | "STRUCT"
        | "BINARY" | "USER_DEFINED_TYPE" => Err(ReadError::Malformed(format!(
            "column {} is {t}, not a number: cast it in the query (e.g. unix_timestamp(...) or CAST(... AS DOUBLE))",
            col.name
        ))),
        // Rust's parser takes the API's "NaN", "Infinity" and "-Infinity" as they are.
        _ => text.parse::<f64>().map_err(|_| {
            let t = if t.is_empty() { "untyped" } else { t };
            ReadError::Malformed(format!(
                "column {} ({t}) holds `{}`, not a number: cast it to a number in the query",
                col.name,
                http::shorten(text)
            ))
        }),
    }
}

fn time(v: &Value, col: &Col) -> Result<DateTime<Utc>, ReadError> {
    let text = match v {
        Value::Null => {
            return Err(ReadError::NoData(format!(
                "NULL in time column {}",
                col.name
            )));
        }
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    parse_time(&text).ok_or_else(|| {
        ReadError::Malformed(format!(
            "time column {} holds `{}`: expected epoch seconds, RFC 3339 or `YYYY-MM-DD HH:MM:SS` (UTC)",
            col.name,
            http::shorten(&text)
        ))
    })
}

/// Epoch seconds, RFC 3339, or a zoneless date-time/date taken as UTC (how Databricks
/// renders `TIMESTAMP_NTZ` and `DATE`).
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() {
            return None;
        }
        let whole = secs.floor();
        let nanos = (((secs - whole) * 1e9).round() as u32).min(999_999_999);
        return DateTime::from_timestamp(whole as i64, nanos);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
}

/// The reading in `row`: `q.column` (default the first) and, if asked, `q.time_column`.
pub(super) fn reading(row: &[Value], columns: &[Column], q: &Query) -> Result<Reading, ReadError> {
    let col = pick(columns, q.column.as_deref())?;
    let value = number(cell(row, &col)?, &col)?;
    let at = match q.time_column.as_deref() {
        None => None,
        Some(name) => {
            let col = pick(columns, Some(name))?;
            Some(time(cell(row, &col)?, &col)?)
        }
    };
    Ok(Reading { value, at })
}
