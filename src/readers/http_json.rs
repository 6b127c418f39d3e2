//! `http_json`: GET a URL and take one value by JSON pointer.
//!
//! Owns joining the metric's path to the connection URL, the request headers, and turning one
//! JSON document into one number (and optionally a sample time). When the value is not where
//! the pointer says, the error describes what *is* there, so the operator can fix the pointer
//! from the cockpit without reaching for curl mid-cutover.

use super::{Query, ReadError, Reading, http};
use crate::shell::secret::Secret;
use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// An `http_json` connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Base URL; a metric's `path` is appended.
    pub url: String,
    /// Extra request headers (values may be secrets, e.g. `X-API-Key`).
    pub headers: Vec<(String, Secret)>,
}

/// A shared client.
pub struct Client {
    cfg: Config,
    http: reqwest::Client,
}

/// A metric endpoint answers with a small document; anything bigger is a wrong URL (a data
/// export, a log dump) and would cost memory on every poll.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// How many keys a "nothing at …" hint lists; enough to spot a typo, short enough for one line.
const KEYS_SHOWN: usize = 8;

/// Keys longer than this are cut in hints, so one odd key cannot flood the line.
const KEY_CHARS: usize = 40;

/// 9999-12-31T23:59:59Z: a larger epoch-seconds value is almost surely milliseconds.
const MAX_EPOCH_SECS: f64 = 253_402_300_799.0;

impl Client {
    /// A client for `cfg`.
    pub fn new(cfg: Config, http: reqwest::Client) -> Self {
        Self { cfg, http }
    }

    /// GETs `url + q.text` and takes the number at `q.pointer`.
    ///
    /// - The path is joined with exactly one `/` between URL and path; an empty path reads the
    ///   URL itself, and a path starting with `?` only adds a query string.
    /// - `q.pointer` is an RFC 6901 JSON pointer (`/data/error_rate`, `/items/0/value`); none
    ///   (or empty) means the whole body must be the value.
    /// - The value may be a JSON number, a string holding a number (`"0.25"`, `"NaN"`,
    ///   `"+Inf"`, `"-Infinity"`), or a boolean (true = 1, false = 0). `null` and a missing
    ///   pointer are "no data"; an object or array is malformed.
    /// - Sample time: when `q.time_column` is set it is a second JSON pointer, to epoch seconds
    ///   (a number, fractions allowed, or a string holding one) or an RFC 3339 string; that
    ///   becomes `Reading::at`. A configured time that is missing or unreadable fails the
    ///   read rather than being dropped: a stale sample stamped "now" would look fresh.
    /// - A body with a non-empty top-level `errors` array fails with its first message (see
    ///   `graphql_error`).
    pub async fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        let pointer = checked_pointer(q.pointer.as_deref())?;
        let time_pointer = match q.time_column.as_deref() {
            Some(p) => Some(checked_pointer(Some(p))?),
            None => None,
        };
        let url = join_url(&self.cfg.url, &q.text);
        // Checked here because reqwest would only report an opaque "builder error" at send.
        // The URL itself is left out: it may carry a token.
        let url = reqwest::Url::parse(&url).map_err(|e| {
            ReadError::Connect(format!(
                "invalid URL (connection url + path `{}`): {e}",
                http::shorten(&q.text)
            ))
        })?;
        let resp = self
            .http
            .get(url)
            .headers(self.headers()?)
            .send()
            .await
            .map_err(http::transport_error)?;
        if !resp.status().is_success() {
            return Err(http::status_error(resp).await);
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = read_body(resp).await?;
        let doc = parse_json(&body, content_type.as_deref())?;
        if let Some(message) = graphql_error(&doc) {
            return Err(ReadError::Query(message));
        }
        let value = number_at(&doc, pointer)?;
        let at = match time_pointer {
            Some(p) => Some(time_at(&doc, p)?),
            None => None,
        };
        Ok(Reading { value, at })
    }

    /// The request headers: `Accept: application/json` unless the connection sets its own
    /// `Accept`, then the configured headers, marked sensitive so no debug output shows them.
    fn headers(&self) -> Result<HeaderMap, ReadError> {
        let mut h = HeaderMap::new();
        for (name, value) in &self.cfg.headers {
            let n = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                ReadError::Connect(format!(
                    "`{}` is not a valid HTTP header name",
                    http::shorten(name)
                ))
            })?;
            // The value is never quoted: it is usually a credential.
            let mut v = HeaderValue::from_str(value.expose()).map_err(|_| {
                ReadError::Connect(format!(
                    "the value of header `{n}` cannot be sent in HTTP (a newline or control \
                     character; check where it comes from)"
                ))
            })?;
            v.set_sensitive(true);
            h.append(n, v);
        }
        if !h.contains_key(ACCEPT) {
            h.insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        Ok(h)
    }
}

/// `base` and `path` with exactly one `/` between them. An empty path is `base` itself; a
/// path starting with `?` adds a query string. A query string already on `base` (an API key
/// parameter, say) stays at the end, merged with the path's own.
fn join_url(base: &str, path: &str) -> String {
    let path = path.trim();
    if path.is_empty() {
        return base.to_string();
    }
    let (base_path, base_query) = split_query(base);
    let (path, path_query) = split_query(path);
    let mut url = if path.is_empty() {
        base_path.to_string()
    } else {
        format!(
            "{}/{}",
            base_path.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    };
    let queries: Vec<&str> = [base_query, path_query].into_iter().flatten().collect();
    if !queries.is_empty() {
        url.push('?');
        url.push_str(&queries.join("&"));
    }
    url
}

/// `s` split at its first `?`; an empty query counts as none.
fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((p, q)) => (p, (!q.is_empty()).then_some(q)),
        None => (s, None),
    }
}

/// The pointer to use: `""` (the whole document) for none, else an RFC 6901 pointer.
fn checked_pointer(p: Option<&str>) -> Result<&str, ReadError> {
    let p = p.unwrap_or("");
    if p.is_empty() || p.starts_with('/') {
        return Ok(p);
    }
    // Dotted paths (`data.rate`, JSONPath's `$.data.rate`) are the usual slip; suggest the
    // pointer spelling of the same path.
    let guess = p
        .trim_start_matches('$')
        .trim_start_matches('.')
        .replace('.', "/");
    Err(ReadError::Query(format!(
        "JSON pointer `{p}` must start with `/` (RFC 6901), e.g. `/{guess}`"
    )))
}

/// How a pointer is named in messages.
fn place(pointer: &str) -> String {
    if pointer.is_empty() {
        "the top level".to_string()
    } else {
        pointer.to_string()
    }
}

/// The body, refusing more than `MAX_BODY`.
async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(http::transport_error)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ReadError::Malformed(format!(
                "response larger than {} MiB; is the URL a metric endpoint?",
                MAX_BODY / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body as JSON. A 200 with HTML is typically an SSO or proxy login page, so the content
/// type is named when it is not JSON.
fn parse_json(body: &[u8], content_type: Option<&str>) -> Result<Value, ReadError> {
    serde_json::from_slice(body).map_err(|e| {
        let text = String::from_utf8_lossy(body);
        if text.trim().is_empty() {
            return ReadError::Malformed("empty body; expected JSON".to_string());
        }
        let what = match content_type {
            Some(ct) if !ct.to_ascii_lowercase().contains("json") => {
                format!("expected JSON, got {}", http::shorten(ct))
            }
            _ => format!("body is not valid JSON ({e})"),
        };
        ReadError::Malformed(format!("{what}: {}", http::shorten(&text)))
    })
}

/// The first message of a non-empty top-level `errors` array, if the document has one.
///
/// GraphQL servers (Panther's API among them) report failures (an expired token, a bad
/// query, a missing permission) as HTTP 200 with `errors[]`, usually with `data: null` or
/// only partial data beside it. Reading the pointer anyway would say "null at /data/…" and
/// hide the real reason, or worse, return a number from a partial answer; so the server's
/// own message is reported as the query's failure.
fn graphql_error(doc: &Value) -> Option<String> {
    let errors = doc.as_object()?.get("errors")?.as_array()?;
    let first = errors.first()?;
    let message = match first {
        Value::String(s) => s.clone(),
        _ => match first.get("message").and_then(Value::as_str) {
            Some(m) => m.to_string(),
            None => first.to_string(),
        },
    };
    let message = http::shorten(&message);
    Some(match errors.len() - 1 {
        0 => message,
        1 => format!("{message} (and 1 more error)"),
        n => format!("{message} (and {n} more errors)"),
    })
}

/// The number at `pointer`.
fn number_at(doc: &Value, pointer: &str) -> Result<f64, ReadError> {
    let Some(v) = doc.pointer(pointer) else {
        return Err(missing(doc, pointer, ""));
    };
    let at = place(pointer);
    match v {
        Value::Null => Err(ReadError::NoData(format!("null at {at}"))),
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        // Always Some without serde_json's `arbitrary_precision`; the fallback keeps it total.
        Value::Number(n) => n.as_f64().ok_or_else(|| {
            ReadError::Malformed(format!("{at} holds {n}, which does not fit a float"))
        }),
        Value::String(s) => parse_number(s).ok_or_else(|| {
            ReadError::Malformed(format!("{at} holds {}, not a number", describe(v)))
        }),
        Value::Array(_) => Err(ReadError::Malformed(format!(
            "{at} holds {}, not a number; point at one item, e.g. {pointer}/0",
            describe(v),
        ))),
        Value::Object(_) => Err(ReadError::Malformed(format!(
            "{at} holds {}, not a number; point at one of its keys",
            describe(v)
        ))),
    }
}

/// A number written as text: decimal or exponent notation, and the NaN/infinity spellings
/// exporters use (`NaN`, `Inf`, `+Inf`, `-Infinity`, any case).
fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// The sample time at `pointer`: epoch seconds or RFC 3339.
fn time_at(doc: &Value, pointer: &str) -> Result<DateTime<Utc>, ReadError> {
    let Some(v) = doc.pointer(pointer) else {
        return Err(missing(doc, pointer, " (sample time)"));
    };
    let at = place(pointer);
    let bad = || {
        ReadError::Malformed(format!(
            "sample time at {at} is {}; expected epoch seconds or an RFC 3339 time",
            describe(v)
        ))
    };
    match v {
        Value::Null => Err(ReadError::NoData(format!("null at {at} (sample time)"))),
        Value::Number(n) => epoch(n.as_f64().ok_or_else(bad)?, &at),
        Value::String(s) => {
            let s = s.trim();
            if let Some(secs) = parse_number(s) {
                epoch(secs, &at)
            } else {
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| bad())
            }
        }
        _ => Err(bad()),
    }
}

/// Epoch seconds (fractions kept to the nanosecond) as a time.
fn epoch(secs: f64, at: &str) -> Result<DateTime<Utc>, ReadError> {
    if !secs.is_finite() {
        return Err(ReadError::Malformed(format!(
            "sample time at {at} is {secs}, not a time"
        )));
    }
    if secs.abs() > MAX_EPOCH_SECS {
        return Err(ReadError::Malformed(format!(
            "sample time at {at} is {secs}, past the year 9999 as epoch seconds; \
             milliseconds? (seconds are expected)"
        )));
    }
    let whole = secs.floor();
    // Rounding can reach a full second; the clamp keeps it a valid nanosecond count.
    let nanos = (((secs - whole) * 1e9).round() as u32).min(999_999_999);
    DateTime::from_timestamp(whole as i64, nanos)
        .ok_or_else(|| ReadError::Malformed(format!("sample time at {at} is out of range")))
}

/// "nothing at /ptr", with what the deepest existing part of the pointer holds, so a typo
/// can be fixed without fetching the document by hand.
fn missing(doc: &Value, pointer: &str, what: &str) -> ReadError {
    let tokens: Vec<&str> = pointer.split('/').skip(1).collect();
    // Prefixes are looked up with `Value::pointer` itself so the hint agrees exactly with
    // the lookup that failed (escapes, array index rules).
    let (found_at, found) = (0..tokens.len())
        .rev()
        .find_map(|k| {
            let prefix: String = tokens[..k].iter().map(|t| format!("/{t}")).collect();
            doc.pointer(&prefix).map(|v| (prefix, v))
        })
        .unwrap_or((String::new(), doc));
    let parent = place(&found_at);
    let hint = match found {
        Value::Object(m) if m.is_empty() => format!("{parent} is an empty object"),
        Value::Object(m) => format!("{parent} has keys: {}", key_list(m)),
        Value::Array(a) if a.is_empty() => format!("{parent} is an empty array"),
        Value::Array(a) => format!(
            "{parent} is an array of {} (indexes 0..{})",
            items(a.len()),
            a.len() - 1
        ),
        other => format!("{parent} holds {}", describe(other)),
    };
    ReadError::NoData(format!("nothing at {pointer}{what} ({hint})"))
}

/// Up to `KEYS_SHOWN` keys, escaped as pointer tokens (`~0`, `~1`) so they can be pasted
/// into the pointer as they are.
fn key_list(m: &serde_json::Map<String, Value>) -> String {
    let mut shown: Vec<String> = m
        .keys()
        .take(KEYS_SHOWN)
        .map(|k| {
            let k = k.replace('~', "~0").replace('/', "~1");
            if k.chars().count() > KEY_CHARS {
                format!("{}…", k.chars().take(KEY_CHARS).collect::<String>())
            } else {
                k
            }
        })
        .collect();
    if m.len() > KEYS_SHOWN {
        shown.push(format!("… ({} more)", m.len() - KEYS_SHOWN));
    }
    shown.join(", ")
}

fn items(n: usize) -> String {
    if n == 1 {
        "1 item".to_string()
    } else {
        format!("{n} items")
    }
}

/// What a JSON value is, for messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("the string {:?}", http::shorten(s)),
        Value::Array(a) => format!("an array of {}", items(a.len())),
        Value::Object(m) if m.is_empty() => "an empty object".to_string(),
        Value::Object(m) => format!("an object (keys: {})", key_list(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_with_one_slash() {
        let cases = [
            ("http://h/api", "m", "http://h/api/m"),
            ("http://h/api/", "m", "http://h/api/m"),
            ("http://h/api/", "/m", "http://h/api/m"),
            ("http://h/api", "/m/n", "http://h/api/m/n"),
            ("http://h/api", "", "http://h/api"),
            ("http://h/api/", "  ", "http://h/api/"),
            ("http://h/api", "?a=1", "http://h/api?a=1"),
            ("http://h/api?k=1", "?a=1", "http://h/api?k=1&a=1"),
            ("http://h/api?k=1", "m?a=1", "http://h/api/m?k=1&a=1"),
            ("http://h", "m", "http://h/m"),
        ];
        for (base, path, want) in cases {
            assert_eq!(join_url(base, path), want, "{base} + {path}");
        }
    }

    #[test]
    fn pointers_must_be_rfc6901() {
        assert_eq!(checked_pointer(None).ok(), Some(""));
        assert_eq!(checked_pointer(Some("/a")).ok(), Some("/a"));
        let e = checked_pointer(Some("$.data.rate"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "query failed: JSON pointer `$.data.rate` must start with `/` (RFC 6901), e.g. `/data/rate`"
            )
        );
    }

    #[test]
    fn epoch_seconds_and_milliseconds() {
        let t = epoch(1_700_000_000.5, "/t").ok();
        assert_eq!(
            t.map(|t| t.to_rfc3339()),
            Some("2023-11-14T22:13:20.500+00:00".to_string())
        );
        assert!(matches!(
            epoch(1_700_000_000_000.0, "/t"),
            Err(ReadError::Malformed(_))
        ));
    }

    #[test]
    fn missing_names_the_deepest_existing_part() {
        let doc: Value = serde_json::json!({"data": {"rate": 1, "count": 2}, "list": [1, 2]});
        let e = |p: &str| missing(&doc, p, "").to_string();
        assert_eq!(
            e("/data/rat"),
            "no data: nothing at /data/rat (/data has keys: count, rate)"
        );
        assert_eq!(
            e("/data/x/y"),
            "no data: nothing at /data/x/y (/data has keys: count, rate)"
        );
        assert_eq!(
            e("/nope"),
            "no data: nothing at /nope (the top level has keys: data, list)"
        );
        assert_eq!(
            e("/list/5"),
            "no data: nothing at /list/5 (/list is an array of 2 items (indexes 0..1))"
        );
        assert_eq!(
            e("/data/rate/x"),
            "no data: nothing at /data/rate/x (/data/rate holds 1)"
        );
    }
}
