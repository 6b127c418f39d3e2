//! The `http_json` reader against an in-process axum server: each test scripts the routes it
//! needs on a free port of 127.0.0.1.

use super::support::serve;
use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cutover::readers::http_json::{Client, Config};
use cutover::readers::{Query, ReadError, Reading, http};
use cutover::shell::secret::Secret;
use serde_json::json;
use std::time::{Duration, Instant};

fn client(url: &str, headers: Vec<(&str, Secret)>) -> Client {
    let headers = headers
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    Client::new(
        Config {
            url: url.to_string(),
            headers,
        },
        http::client().unwrap(),
    )
}

fn query(path: &str, pointer: Option<&str>) -> Query {
    Query {
        text: path.to_string(),
        pointer: pointer.map(str::to_string),
        ..Query::default()
    }
}

/// One route answering `body` as JSON.
async fn json_server(path: &str, body: serde_json::Value) -> String {
    serve(Router::new().route(path, get(move || async move { axum::Json(body) }))).await
}

async fn read_at(body: serde_json::Value, pointer: Option<&str>) -> Result<Reading, ReadError> {
    let url = json_server("/m", body).await;
    client(&url, vec![]).read(&query("/m", pointer)).await
}

fn value(r: Result<Reading, ReadError>) -> f64 {
    r.unwrap().value
}

#[tokio::test]
async fn nested_pointer_number() {
    let body = json!({"data": {"gates": [{"error_rate": 0.25}, {"error_rate": 0.5}]}});
    let r = read_at(body, Some("/data/gates/1/error_rate")).await;
    assert_eq!(
        r,
        Ok(Reading {
            value: 0.5,
            at: None
        })
    );
}

#[tokio::test]
async fn whole_body_number_without_pointer() {
    assert_eq!(value(read_at(json!(42), None).await), 42.0);
    assert_eq!(value(read_at(json!(-7), Some("")).await), -7.0);
}

#[tokio::test]
async fn numeric_strings_including_nan_and_infinities() {
    let body = json!({"a": " 12.5 ", "b": "NaN", "c": "+Inf", "d": "-Infinity", "e": "1e3"});
    let url = json_server("/m", body).await;
    let c = client(&url, vec![]);
    let v = |p: &'static str| {
        let c = &c;
        async move { c.read(&query("m", Some(p))).await.unwrap().value }
    };
    assert_eq!(v("/a").await, 12.5);
    assert!(v("/b").await.is_nan());
    assert_eq!(v("/c").await, f64::INFINITY);
    assert_eq!(v("/d").await, f64::NEG_INFINITY);
    assert_eq!(v("/e").await, 1000.0);
}

#[tokio::test]
async fn non_numeric_string_is_malformed() {
    let err = read_at(json!({"s": "healthy"}), Some("/s"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ReadError::Malformed("/s holds the string \"healthy\", not a number".into())
    );
}

#[tokio::test]
async fn booleans_are_one_and_zero() {
    let body = json!({"ok": true, "down": false});
    assert_eq!(value(read_at(body.clone(), Some("/ok")).await), 1.0);
    assert_eq!(value(read_at(body, Some("/down")).await), 0.0);
}

#[tokio::test]
async fn null_is_no_data() {
    let err = read_at(json!({"data": {"rate": null}}), Some("/data/rate"))
        .await
        .unwrap_err();
    assert_eq!(err, ReadError::NoData("null at /data/rate".into()));
}

#[tokio::test]
async fn missing_pointer_lists_what_is_there() {
    let body = json!({"data": {"error_rate": 0.1, "latency_ms": 5, "a/b": 1}});
    let err = read_at(body, Some("/data/eror_rate")).await.unwrap_err();
    // Keys come escaped as pointer tokens, ready to paste.
    assert_eq!(
        err,
        ReadError::NoData(
            "nothing at /data/eror_rate (/data has keys: a~1b, error_rate, latency_ms)".into()
        )
    );

    let many: serde_json::Map<String, serde_json::Value> =
        (0..12).map(|i| (format!("k{i:02}"), json!(i))).collect();
    let err = read_at(json!({ "m": many }), Some("/m/x/y"))
        .await
        .unwrap_err();
    let ReadError::NoData(msg) = err else {
        panic!("{err:?}")
    };
    assert!(
        msg.starts_with("nothing at /m/x/y (/m has keys: k00, k01,"),
        "{msg}"
    );
    assert!(msg.ends_with("k07, … (4 more))"), "{msg}");
}

#[tokio::test]
async fn object_or_array_at_pointer_is_malformed() {
    let body = json!({"data": {"rate": 1, "count": 2}, "list": [1, 2, 3]});
    let err = read_at(body.clone(), Some("/data")).await.unwrap_err();
    assert_eq!(
        err,
        ReadError::Malformed(
            "/data holds an object (keys: count, rate), not a number; point at one of its keys"
                .into()
        )
    );
    let err = read_at(body, Some("/list")).await.unwrap_err();
    assert_eq!(
        err,
        ReadError::Malformed(
            "/list holds an array of 3 items, not a number; point at one item, e.g. /list/0".into()
        )
    );
}

#[tokio::test]
async fn pointer_must_be_rfc6901() {
    let err = read_at(json!({"data": {"rate": 1}}), Some("data.rate"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ReadError::Query(
            "JSON pointer `data.rate` must start with `/` (RFC 6901), e.g. `/data/rate`".into()
        )
    );
}

#[tokio::test]
async fn sends_configured_headers_and_accept_json() {
    let app = Router::new().route(
        "/m",
        get(|h: HeaderMap| async move {
            let key = h.get("x-api-key").and_then(|v| v.to_str().ok());
            let accept = h.get(header::ACCEPT).and_then(|v| v.to_str().ok());
            match (key, accept) {
                (Some("k3y-from-env-1234"), Some("application/json")) => {
                    axum::Json(json!({"v": 1})).into_response()
                }
                _ => (
                    StatusCode::UNAUTHORIZED,
                    format!("key {key:?} accept {accept:?}"),
                )
                    .into_response(),
            }
        }),
    );
    let url = serve(app).await;
    let c = client(&url, vec![("X-API-Key", Secret::new("k3y-from-env-1234"))]);
    assert_eq!(value(c.read(&query("/m", Some("/v"))).await), 1.0);
}

#[tokio::test]
async fn path_joins_with_exactly_one_slash() {
    let app = Router::new()
        .route("/api/m/x", get(|| async { axum::Json(json!(7)) }))
        .route(
            "/api/q",
            get(|RawQuery(q): RawQuery| async move {
                axum::Json(json!(if q.as_deref() == Some("k=v") { 1 } else { 0 }))
            }),
        );
    let url = serve(app).await;
    for (base, path) in [
        (format!("{url}/api"), "/m/x"),
        (format!("{url}/api"), "m/x"),
        (format!("{url}/api/"), "m/x"),
        (format!("{url}/api/"), "/m/x"),
        (format!("{url}/api/m/x"), ""),
    ] {
        let r = client(&base, vec![]).read(&query(path, None)).await;
        assert_eq!(value(r), 7.0, "{base} + {path:?}");
    }
    let r = client(&format!("{url}/api/q"), vec![])
        .read(&query("?k=v", None))
        .await;
    assert_eq!(value(r), 1.0, "a path starting with ? is a query string");
}

#[tokio::test]
async fn sample_time_by_second_pointer() {
    let body = json!({"v": 3, "t": 1_700_000_000, "ts": "1700000000.5", "iso": "2024-05-01T12:00:00+02:00", "ms": 1_700_000_000_000_i64, "bad": "yesterday"});
    let url = json_server("/m", body).await;
    let c = client(&url, vec![]);
    let at = |t: &'static str| {
        let c = &c;
        async move {
            let mut q = query("/m", Some("/v"));
            q.time_column = Some(t.to_string());
            c.read(&q).await
        }
    };
    let iso = |r: Result<Reading, ReadError>| r.unwrap().at.unwrap().to_rfc3339();
    assert_eq!(iso(at("/t").await), "2023-11-14T22:13:20+00:00");
    assert_eq!(iso(at("/ts").await), "2023-11-14T22:13:20.500+00:00");
    assert_eq!(iso(at("/iso").await), "2024-05-01T10:00:00+00:00");
    assert!(
        matches!(at("/ms").await, Err(ReadError::Malformed(m)) if m.contains("milliseconds")),
        "epoch milliseconds are refused, not read as a far-future time"
    );
    assert!(matches!(at("/bad").await, Err(ReadError::Malformed(_))));
    assert!(
        matches!(at("/nope").await, Err(ReadError::NoData(m)) if m.starts_with("nothing at /nope (sample time)"))
    );
    // Without a time pointer the poller stamps the arrival time.
    assert_eq!(c.read(&query("/m", Some("/v"))).await.unwrap().at, None);
}

#[tokio::test]
async fn too_many_requests_carries_retry_after() {
    let app = Router::new().route(
        "/m",
        get(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "3")],
                "slow down",
            )
        }),
    );
    let url = serve(app).await;
    let err = client(&url, vec![])
        .read(&query("/m", Some("/v")))
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert!(
        matches!(&err, ReadError::Http { status: 429, message, .. } if message == "slow down"),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_error_with_text_body() {
    let app = Router::new().route(
        "/m",
        get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded\n") }),
    );
    let url = serve(app).await;
    let err = client(&url, vec![])
        .read(&query("/m", None))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ReadError::Http {
            status: 500,
            message: "upstream exploded".into(),
            retry_after: None
        }
    );
}

#[tokio::test]
async fn non_json_ok_body_is_malformed_and_shortened() {
    let page = format!(
        "<html><body>Please sign in {}</body></html>",
        "x".repeat(5000)
    );
    let app = Router::new().route(
        "/m",
        get(move || async move {
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(axum::body::Body::from(page))
                .unwrap()
        }),
    );
    let url = serve(app).await;
    let err = client(&url, vec![])
        .read(&query("/m", Some("/v")))
        .await
        .unwrap_err();
    let ReadError::Malformed(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(
        msg.starts_with("expected JSON, got text/html; charset=utf-8: <html><body>Please sign in"),
        "{msg}"
    );
    assert!(msg.chars().count() < 400, "shortened: {} chars", msg.len());

    // Broken JSON under a JSON content type says what is wrong with it.
    let app = Router::new().route(
        "/m",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{\"v\": 1") }),
    );
    let url = serve(app).await;
    let err = client(&url, vec![]).read(&query("/m", None)).await;
    assert!(
        matches!(&err, Err(ReadError::Malformed(m)) if m.starts_with("body is not valid JSON (EOF")),
        "{err:?}"
    );
}

#[tokio::test]
async fn graphql_errors_with_200_are_query_failures() {
    let body = json!({"data": null, "errors": [{"message": "not authorized", "path": ["sources"]}, {"message": "second"}]});
    let err = read_at(body, Some("/data/sources/edges/0/node/isHealthy"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ReadError::Query("not authorized (and 1 more error)".into())
    );
    // An empty `errors` list is no failure.
    let body = json!({"data": {"ok": true}, "errors": []});
    assert_eq!(value(read_at(body, Some("/data/ok")).await), 1.0);
}

#[tokio::test]
async fn hanging_server_is_cut_by_the_callers_timeout() {
    let app = Router::new().route(
        "/m",
        get(|| async { std::future::pending::<&'static str>().await }),
    );
    let url = serve(app).await;
    let c = client(&url, vec![]);
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_millis(300), c.read(&query("/m", None))).await;
    assert!(r.is_err(), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn secret_header_value_appears_in_no_error_text() {
    const KEY: &str = "sup3r-secret-api-key-9876";
    // A server that echoes what it was sent, as some proxies and debug endpoints do.
    let app = Router::new()
        .route(
            "/echo",
            get(|h: HeaderMap| async move {
                let key = h
                    .get("x-api-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"message": format!("bad key {key}")})),
                )
            }),
        )
        .route("/html", get(|| async { "<html>nope</html>" }))
        .route("/obj", get(|| async { axum::Json(json!({"a": {"b": 1}})) }));
    let url = serve(app).await;
    let c = client(&url, vec![("X-API-Key", Secret::new(KEY))]);

    let mut errors = Vec::new();
    for (path, pointer) in [
        ("/echo", None),
        ("/html", None),
        ("/obj", Some("/a")),
        ("/obj", Some("/x")),
        ("/404", None),
    ] {
        errors.push(c.read(&query(path, pointer)).await.unwrap_err());
    }
    // Nothing listens on a port just freed: a transport error.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let c2 = client(
        &format!("http://{closed}"),
        vec![("X-API-Key", Secret::new(KEY))],
    );
    errors.push(c2.read(&query("/m", None)).await.unwrap_err());
    // A value HTTP cannot carry is refused without quoting it.
    let bad = format!("{KEY}\nInjected: 1");
    let c3 = client(&url, vec![("X-API-Key", Secret::new(bad.clone()))]);
    let err = c3.read(&query("/obj", None)).await.unwrap_err();
    assert!(
        matches!(&err, ReadError::Connect(m) if m.contains("X-API-Key") || m.contains("x-api-key")),
        "{err:?}"
    );
    errors.push(err);

    for e in &errors {
        assert!(!e.reason().contains(KEY), "reason leaks the key: {e:?}");
    }
    // Only the server's own echo carries it in the raw text, and `reason` blanks it there.
    assert!(errors[0].to_string().contains(KEY));
    assert_eq!(errors[0].reason(), "HTTP 401: bad key ***");
    for e in &errors[1..] {
        assert!(!e.to_string().contains(KEY), "{e}");
    }
}
