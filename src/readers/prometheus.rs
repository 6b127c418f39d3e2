//! `prometheus`: the Prometheus instant query API (`/api/v1/query`).

use super::{Query, ReadError, Reading, http};
use crate::shell::secret::Secret;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A `prometheus` connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Base URL, e.g. `http://prometheus:9090` (no trailing slash).
    pub url: String,
    /// Bearer token, if the server needs one.
    pub token: Option<Secret>,
}

/// A shared client.
pub struct Client {
    cfg: Config,
    http: reqwest::Client,
}

/// At most this many series are named when a query matches several.
const SERIES_SHOWN: usize = 3;

impl Client {
    /// A client for `cfg`.
    pub fn new(cfg: Config, http: reqwest::Client) -> Self {
        Self { cfg, http }
    }

    /// Runs the PromQL `q.text`; a scalar, or a vector of exactly one series.
    pub async fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        let mut url = reqwest::Url::parse(&format!(
            "{}/api/v1/query",
            self.cfg.url.trim_end_matches('/')
        ))
        // Without the URL itself: it may carry a secret.
        .map_err(|e| ReadError::Connect(format!("invalid Prometheus URL: {e}")))?;
        url.query_pairs_mut().append_pair("query", &q.text);
        let mut req = self.http.get(url);
        if let Some(t) = &self.cfg.token {
            req = req.bearer_auth(t.expose());
        }
        let resp = req.send().await.map_err(http::transport_error)?;
        let status = resp.status();
        // Prometheus' own errors (400 bad_data, 422 execution, 503 timeout) come as a JSON
        // envelope saying what is wrong with the query; anything else that fails before the
        // handler (a proxy, an auth gateway) is an HTTP error like any other.
        let json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        if !status.is_success() && !json {
            return Err(http::status_error(resp).await);
        }
        let retry_after = http::retry_after(resp.headers());
        let body = resp.text().await.map_err(http::transport_error)?;
        let envelope: Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(_) if !status.is_success() => {
                return Err(ReadError::Http {
                    status: status.as_u16(),
                    message: http::shorten(&body),
                    retry_after,
                });
            }
            Err(e) => {
                return Err(ReadError::Malformed(format!(
                    "not JSON ({e}): {}",
                    http::shorten(&body)
                )));
            }
        };
        match envelope.get("status").and_then(Value::as_str) {
            Some("success") if status.is_success() => parse_data(&envelope),
            Some("error") => {
                let kind = envelope
                    .get("errorType")
                    .and_then(Value::as_str)
                    .unwrap_or("error");
                let msg = envelope
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)");
                Err(ReadError::Query(http::shorten(&format!("{kind}: {msg}"))))
            }
            // JSON, but not Prometheus' envelope: whoever answered is not the query API.
            // Gateways put their reason in `message` or `error`, as `http::status_error` reads.
            _ if !status.is_success() => Err(ReadError::Http {
                status: status.as_u16(),
                message: http::shorten(
                    ["message", "error"]
                        .iter()
                        .find_map(|k| envelope.get(k).and_then(Value::as_str))
                        .unwrap_or(&body),
                ),
                retry_after,
            }),
            _ => Err(ReadError::Malformed(format!(
                "not a Prometheus API response: {}",
                http::shorten(&body)
            ))),
        }
    }
}

/// The reading in a success envelope's `data`.
fn parse_data(envelope: &Value) -> Result<Reading, ReadError> {
    let data = envelope
        .get("data")
        .ok_or_else(|| ReadError::Malformed("success without `data`".into()))?;
    let result = data
        .get("result")
        .ok_or_else(|| ReadError::Malformed("`data` without `result`".into()))?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("scalar") => sample(result),
        Some("vector") => {
            let series = result
                .as_array()
                .ok_or_else(|| ReadError::Malformed("vector `result` is not a list".into()))?;
            match series.as_slice() {
                [] => Err(ReadError::NoData("the query matched no series".into())),
                [one] => match one.get("value") {
                    Some(v) => sample(v),
                    None if one.get("histogram").is_some() => Err(ReadError::Malformed(
                        "the series is a native histogram; read one number from it, e.g. \
                         histogram_quantile(0.99, …) or histogram_count(…)"
                            .into(),
                    )),
                    None => Err(ReadError::Malformed("vector sample without `value`".into())),
                },
                many => {
                    let names: Vec<String> =
                        many.iter().take(SERIES_SHOWN).map(series_name).collect();
                    let more = if many.len() > SERIES_SHOWN {
                        ", …"
                    } else {
                        ""
                    };
                    Err(ReadError::Query(format!(
                        "the query matched {} series ({}{more}); a metric needs one: aggregate it, \
                         e.g. sum(…) or max by () (…)",
                        many.len(),
                        names.join(", ")
                    )))
                }
            }
        }
        Some(t @ ("matrix" | "string")) => Err(ReadError::Malformed(format!(
            "the query gave a {t} result; a metric needs an instant scalar or vector \
             (a range selector such as x[5m] needs a function around it, e.g. rate(x[5m]))"
        ))),
        Some(t) => Err(ReadError::Malformed(format!("unknown resultType `{t}`"))),
        None => Err(ReadError::Malformed("`data` without `resultType`".into())),
    }
}

/// A `[<unix seconds>, "<value>"]` pair.
fn sample(v: &Value) -> Result<Reading, ReadError> {
    let bad = || {
        ReadError::Malformed(format!(
            "a sample is not [time, \"value\"]: {}",
            http::shorten(&v.to_string())
        ))
    };
    let [ts, val] = v.as_array().map(Vec::as_slice).ok_or_else(bad)? else {
        return Err(bad());
    };
    let secs = ts.as_f64().ok_or_else(bad)?;
    let text = val.as_str().ok_or_else(bad)?;
    let value = number(text).ok_or_else(|| {
        ReadError::Malformed(format!(
            "sample value {:?} is not a number",
            http::shorten(text)
        ))
    })?;
    // Prometheus timestamps have millisecond resolution; rounding drops float noise.
    let at = DateTime::<Utc>::from_timestamp_millis((secs * 1000.0).round() as i64);
    Ok(Reading { value, at })
}

/// Prometheus' text form of a sample value: a number, `NaN`, `+Inf`, `-Inf`.
fn number(text: &str) -> Option<f64> {
    // Rust's parser takes NaN / inf with an optional sign in any case.
    text.trim().parse::<f64>().ok()
}

/// `name{label="value", …}` for an error message.
fn series_name(s: &Value) -> String {
    let Some(metric) = s.get("metric").and_then(Value::as_object) else {
        return "{}".into();
    };
    let name = metric.get("__name__").and_then(Value::as_str).unwrap_or("");
    let labels: Vec<String> = metric
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.as_str()
                    .map_or_else(|| v.to_string(), |s| format!("{s:?}"))
            )
        })
        .collect();
    format!("{name}{{{}}}", labels.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(data: Value) -> Value {
        json!({"status": "success", "data": data})
    }

    #[test]
    fn scalar_and_single_series() {
        let r = parse_data(&env(
            json!({"resultType": "scalar", "result": [1435781451.781, "2"]}),
        ))
        .unwrap();
        assert_eq!(r.value, 2.0);
        assert_eq!(r.at.unwrap().timestamp_millis(), 1435781451781);
        let r = parse_data(&env(json!({"resultType": "vector",
            "result": [{"metric": {"__name__": "up"}, "value": [1.5, "+Inf"]}]})))
        .unwrap();
        assert_eq!(r.value, f64::INFINITY);
    }

    #[test]
    fn several_series_are_named() {
        let e = parse_data(&env(json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "a"}, "value": [1, "1"]},
            {"metric": {"__name__": "up", "job": "b"}, "value": [1, "1"]},
        ]})))
        .unwrap_err();
        let ReadError::Query(m) = e else {
            panic!("{e:?}")
        };
        assert!(
            m.contains("2 series") && m.contains(r#"up{job="a"}"#) && m.contains("sum("),
            "{m}"
        );
    }

    #[test]
    fn histogram_and_bad_samples() {
        let e = parse_data(&env(json!({"resultType": "vector",
            "result": [{"metric": {}, "histogram": [1, {"count": "3"}]}]})))
        .unwrap_err();
        assert!(
            matches!(&e, ReadError::Malformed(m) if m.contains("histogram")),
            "{e:?}"
        );
        for bad in [
            json!([1]),
            json!(["x", "1"]),
            json!([1, 2]),
            json!([1, "abc"]),
        ] {
            let e = parse_data(&env(json!({"resultType": "scalar", "result": bad}))).unwrap_err();
            assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
        }
    }
}
