//! The `databricks_sql` reader against an in-process fake of the Statement Execution API
//! and the OAuth token endpoint: each test scripts the replies and reads back the requests.

use super::support::{serve, sql as q};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use cutover::readers::databricks::{Auth, Client, Config};
use cutover::readers::{Query, ReadError, Reading};
use cutover::shell::secret::Secret;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PAT: &str = "dapi-fake-pat-5f2a9c0e7d";
const CLIENT_ID: &str = "sp-client-id-1";
const CLIENT_SECRET: &str = "dose-fake-client-secret-91b3";
const ID: &str = "01ef-0123-4567-89ab";

#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    /// `{auth}` and `{body}` are replaced with the request's Authorization header and body,
    /// for servers that echo what they were sent.
    body: String,
    delay: Duration,
}

impl Reply {
    fn header(mut self, k: &'static str, v: &str) -> Self {
        self.headers.push((k, v.to_string()));
        self
    }
    fn after(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

fn raw(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

fn ok(v: Value) -> Reply {
    raw(200, &v.to_string()).header("content-type", "application/json")
}

fn err(status: u16, v: Value) -> Reply {
    raw(status, &v.to_string()).header("content-type", "application/json")
}

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    auth: Option<String>,
    content_type: Option<String>,
    body: String,
}

#[derive(Default)]
struct Fake {
    /// Replies for the statement endpoints (POST, status GET, chunk GET), in order.
    api: VecDeque<Reply>,
    /// Used when `api` has run out.
    api_default: Option<Reply>,
    /// Replies for `/oidc/v1/token`; when empty, a new token each time.
    token: VecDeque<Reply>,
    issued: usize,
    seen: Vec<Seen>,
}

type Shared = Arc<Mutex<Fake>>;

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let header = |k: &str| headers.get(k).map(|v| v.to_str().unwrap().to_string());
    let auth = header("authorization");
    let r = {
        let mut f = s.lock().unwrap();
        f.seen.push(Seen {
            method: method.to_string(),
            path: uri.path().to_string(),
            auth: auth.clone(),
            content_type: header("content-type"),
            body: body.clone(),
        });
        if uri.path() == "/oidc/v1/token" {
            match f.token.pop_front() {
                Some(r) => r,
                None => {
                    f.issued += 1;
                    ok(json!({"access_token": format!("access-token-{}", f.issued),
                        "token_type": "Bearer", "expires_in": 3600, "scope": "all-apis"}))
                }
            }
        } else if uri.path().ends_with("/cancel") {
            ok(json!({}))
        } else {
            match f.api.pop_front().or_else(|| f.api_default.clone()) {
                Some(r) => r,
                None => raw(500, "fake: script exhausted"),
            }
        }
    };
    if !r.delay.is_zero() {
        tokio::time::sleep(r.delay).await;
    }
    let text = r
        .body
        .replace("{auth}", auth.as_deref().unwrap_or(""))
        .replace("{body}", &body);
    let mut resp = (StatusCode::from_u16(r.status).unwrap(), text).into_response();
    for (k, v) in r.headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    resp
}

async fn start(f: Fake) -> (String, Shared) {
    let s = Arc::new(Mutex::new(f));
    let app = Router::new().fallback(handle).with_state(s.clone());
    (serve(app).await, s)
}

/// A fake whose statement endpoints answer `replies` in order.
async fn script(replies: Vec<Reply>) -> (String, Shared) {
    start(Fake {
        api: replies.into(),
        ..Fake::default()
    })
    .await
}

fn cfg(host: &str, auth: Auth) -> Config {
    Config {
        host: host.to_string(),
        auth,
        warehouse_id: "wh-42".into(),
        catalog: Some("main".into()),
        schema: None,
        wait_timeout: Duration::from_secs(10),
    }
}

fn pat() -> Auth {
    Auth::Token(Secret::new(PAT))
}

fn oauth() -> Auth {
    Auth::OAuth {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
    }
}

fn client(c: Config) -> Client {
    Client::new(c, cutover::readers::http::client().unwrap())
}

fn seen(s: &Shared) -> Vec<Seen> {
    s.lock().unwrap().seen.clone()
}

/// A SUCCEEDED response with an inline result; `cols` are (name, type_name).
fn succeeded(cols: &[(&str, &str)], rows: Value) -> Value {
    let n = rows.as_array().unwrap().len();
    let columns: Vec<Value> = cols
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| json!({"name": name, "position": i, "type_name": ty, "type_text": ty}))
        .collect();
    json!({
        "statement_id": ID,
        "status": {"state": "SUCCEEDED"},
        "manifest": {"format": "JSON_ARRAY", "total_chunk_count": 1, "total_row_count": n,
            "truncated": false, "chunks": [{"chunk_index": 0, "row_offset": 0, "row_count": n}],
            "schema": {"column_count": cols.len(), "columns": columns}},
        "result": {"chunk_index": 0, "row_offset": 0, "row_count": n, "data_array": rows,
            "next_chunk_index": null, "next_chunk_internal_link": null}
    })
}

fn one(ty: &str, v: &str) -> Reply {
    ok(succeeded(&[("n", ty)], json!([[v]])))
}

fn in_state(state: &str) -> Value {
    json!({"statement_id": ID, "status": {"state": state}})
}

async fn read_one(reply: Reply) -> Result<Reading, ReadError> {
    let (host, _s) = script(vec![reply]).await;
    client(cfg(&host, pat())).read(&q("SELECT 1")).await
}

#[tokio::test]
async fn pat_sends_bearer_and_the_documented_request() {
    let (host, s) = script(vec![one("LONG", "42")]).await;
    let r = client(cfg(&host, pat()))
        .read(&q("SELECT count(*) FROM t"))
        .await
        .unwrap();
    assert_eq!(
        r,
        Reading {
            value: 42.0,
            at: None
        }
    );
    let seen = seen(&s);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/api/2.0/sql/statements");
    assert_eq!(
        seen[0].auth.as_deref(),
        Some(format!("Bearer {PAT}").as_str())
    );
    assert!(
        seen[0]
            .content_type
            .as_deref()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["warehouse_id"], "wh-42");
    assert_eq!(body["statement"], "SELECT count(*) FROM t");
    assert_eq!(body["wait_timeout"], "10s");
    assert_eq!(body["on_wait_timeout"], "CONTINUE");
    assert_eq!(body["format"], "JSON_ARRAY");
    assert_eq!(body["disposition"], "INLINE");
    assert_eq!(body["catalog"], "main");
    assert!(body.get("schema").is_none(), "no schema configured: {body}");
    let limit = body["row_limit"].as_u64().unwrap();
    assert!((1..=100).contains(&limit));
}

#[tokio::test]
async fn wait_timeout_is_clamped_to_what_the_api_accepts() {
    for (given, sent) in [(0, "0s"), (2, "5s"), (30, "30s"), (120, "50s")] {
        let (host, s) = script(vec![one("LONG", "1")]).await;
        let mut c = cfg(&host, pat());
        c.wait_timeout = Duration::from_secs(given);
        c.schema = Some("ops".into());
        client(c).read(&q("SELECT 1")).await.unwrap();
        let body: Value = serde_json::from_str(&seen(&s)[0].body).unwrap();
        assert_eq!(body["wait_timeout"], sent, "for {given}s");
        assert_eq!(body["schema"], "ops");
    }
}

#[tokio::test]
async fn values_are_parsed_by_declared_type() {
    let cases: &[(&str, &str, f64)] = &[
        ("LONG", "42", 42.0),
        ("INT", "-7", -7.0),
        ("SHORT", "3", 3.0),
        ("BYTE", "1", 1.0),
        ("FLOAT", "1e3", 1000.0),
        ("DOUBLE", "0.25", 0.25),
        ("DOUBLE", "Infinity", f64::INFINITY),
        ("DOUBLE", "-Infinity", f64::NEG_INFINITY),
        ("DECIMAL", "123.4500", 123.45),
        ("BOOLEAN", "true", 1.0),
        ("BOOLEAN", "false", 0.0),
        ("STRING", "3.5", 3.5),
    ];
    for (ty, v, want) in cases {
        let r = read_one(one(ty, v)).await.unwrap();
        assert_eq!(r.value, *want, "{ty} {v}");
        assert_eq!(r.at, None);
    }
    let r = read_one(one("DOUBLE", "NaN")).await.unwrap();
    assert!(r.value.is_nan());
}

#[tokio::test]
async fn values_that_are_not_numbers_are_malformed_with_a_hint() {
    let e = read_one(one("STRING", "green")).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    let t = e.to_string();
    assert!(
        t.contains("column n") && t.contains("STRING") && t.contains("green"),
        "{t}"
    );

    let e = read_one(one("TIMESTAMP", "2024-05-01T12:00:00Z"))
        .await
        .unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    assert!(
        e.to_string().contains("TIMESTAMP") && e.to_string().contains("cast"),
        "{e}"
    );

    let e = read_one(one("DATE", "2024-05-01")).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");

    let e = read_one(one("LONG", "12abc")).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
}

#[tokio::test]
async fn named_column_and_time_column() {
    let cols = [("job", "STRING"), ("n", "LONG"), ("ts", "TIMESTAMP")];
    let cases = [
        ("2024-05-01T12:00:00.250Z", "2024-05-01T12:00:00.250Z"),
        ("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z"),
        ("2024-05-01 12:00:00", "2024-05-01T12:00:00Z"),
        ("2024-05-01 12:00:00.5", "2024-05-01T12:00:00.500Z"),
        ("1714564800", "2024-05-01T12:00:00Z"),
        ("1714564800.25", "2024-05-01T12:00:00.250Z"),
    ];
    for (ts, want) in cases {
        let (host, _s) = script(vec![ok(succeeded(
            &cols,
            json!([["abc", "17", ts], ["x", "1", ts]]),
        ))])
        .await;
        let query = Query {
            text: "SELECT …".into(),
            column: Some("N".into()),
            time_column: Some("TS".into()),
            pointer: None,
        };
        let r = client(cfg(&host, pat())).read(&query).await.unwrap();
        assert_eq!(r.value, 17.0);
        let want = chrono::DateTime::parse_from_rfc3339(want)
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(r.at, Some(want), "{ts}");
    }

    // Without a column name, the first column is used (here a numeric string).
    let (host, _s) = script(vec![ok(succeeded(&cols, json!([["9", "17", "0"]])))]).await;
    let r = client(cfg(&host, pat()))
        .read(&q("SELECT …"))
        .await
        .unwrap();
    assert_eq!(r.value, 9.0);

    // A column that is not there names the ones that are.
    let (host, _s) = script(vec![ok(succeeded(&cols, json!([["9", "17", "0"]])))]).await;
    let query = Query {
        column: Some("missing".into()),
        ..q("SELECT …")
    };
    let e = client(cfg(&host, pat())).read(&query).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    assert!(
        e.to_string().contains("missing") && e.to_string().contains("job, n, ts"),
        "{e}"
    );

    // An unreadable or NULL time is not silently replaced by "now".
    for (ts, nodata) in [(json!("yesterday"), false), (Value::Null, true)] {
        let (host, _s) = script(vec![ok(succeeded(&cols, json!([["a", "1", ts]])))]).await;
        let query = Query {
            column: Some("n".into()),
            time_column: Some("ts".into()),
            ..q("SELECT …")
        };
        let e = client(cfg(&host, pat())).read(&query).await.unwrap_err();
        assert_eq!(matches!(e, ReadError::NoData(_)), nodata, "{e:?}");
        assert_eq!(matches!(e, ReadError::Malformed(_)), !nodata, "{e:?}");
    }
}

#[tokio::test]
async fn pending_then_running_then_succeeded_by_polling() {
    let (host, s) = script(vec![
        ok(in_state("PENDING")),
        ok(in_state("RUNNING")),
        ok(succeeded(&[("n", "LONG")], json!([["5"]]))),
    ])
    .await;
    let mut c = cfg(&host, pat());
    c.wait_timeout = Duration::ZERO;
    let r = client(c).read(&q("SELECT 5")).await.unwrap();
    assert_eq!(r.value, 5.0);
    let seen = seen(&s);
    let calls: Vec<(String, String)> = seen
        .iter()
        .map(|x| (x.method.clone(), x.path.clone()))
        .collect();
    let status = format!("/api/2.0/sql/statements/{ID}");
    assert_eq!(
        calls,
        vec![
            ("POST".to_string(), "/api/2.0/sql/statements".to_string()),
            ("GET".to_string(), status.clone()),
            ("GET".to_string(), status),
        ]
    );
    assert!(
        seen.iter()
            .all(|x| x.auth.as_deref() == Some(&format!("Bearer {PAT}")))
    );
}

#[tokio::test]
async fn busy_status_poll_is_retried_as_the_server_asks() {
    let (host, s) = script(vec![
        ok(in_state("RUNNING")),
        err(
            429,
            json!({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}),
        )
        .header("retry-after", "0"),
        ok(succeeded(&[("n", "LONG")], json!([["6"]]))),
    ])
    .await;
    let r = client(cfg(&host, pat()))
        .read(&q("SELECT 6"))
        .await
        .unwrap();
    assert_eq!(r.value, 6.0);
    assert_eq!(seen(&s).len(), 3);
}

#[tokio::test]
async fn result_left_out_of_the_response_is_fetched_from_chunk_zero() {
    let mut done = succeeded(&[("n", "LONG")], json!([["8"]]));
    done.as_object_mut().unwrap().remove("result");
    let (host, s) = script(vec![
        ok(in_state("RUNNING")),
        ok(done),
        ok(json!({"chunk_index": 0, "row_offset": 0, "row_count": 1, "data_array": [["8"]]})),
    ])
    .await;
    let r = client(cfg(&host, pat()))
        .read(&q("SELECT 8"))
        .await
        .unwrap();
    assert_eq!(r.value, 8.0);
    assert_eq!(
        seen(&s).last().unwrap().path,
        format!("/api/2.0/sql/statements/{ID}/result/chunks/0")
    );
}

#[tokio::test]
async fn failed_with_http_200_is_a_query_error_and_is_not_cancelled() {
    let failed = json!({"statement_id": ID, "status": {"state": "FAILED",
        "error": {"error_code": "BAD_REQUEST", "message": "[TABLE_OR_VIEW_NOT_FOUND] nope"}}});
    let (host, s) = script(vec![ok(in_state("RUNNING")), ok(failed)]).await;
    let e = client(cfg(&host, pat()))
        .read(&q("SELECT * FROM nope"))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ReadError::Query("BAD_REQUEST: [TABLE_OR_VIEW_NOT_FOUND] nope".into())
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!seen(&s).iter().any(|x| x.path.ends_with("/cancel")));
}

#[tokio::test]
async fn canceled_closed_and_unknown_states() {
    let e = read_one(ok(in_state("CANCELED"))).await.unwrap_err();
    assert_eq!(e, ReadError::Query("statement was canceled".into()));

    let e = read_one(ok(in_state("CLOSED"))).await.unwrap_err();
    assert!(matches!(e, ReadError::NoData(_)), "{e:?}");
    assert!(e.to_string().contains("no longer available"), "{e}");

    let e = read_one(ok(in_state("EXPLODED"))).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    assert!(e.to_string().contains("EXPLODED"), "{e}");

    let e = read_one(ok(json!({"statement_id": ID}))).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
}

#[tokio::test]
async fn too_many_requests_carries_retry_after() {
    let e = read_one(
        err(
            429,
            json!({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "too many requests"}),
        )
        .header("retry-after", "7"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    match e {
        ReadError::Http {
            status, message, ..
        } => {
            assert_eq!(status, 429);
            assert_eq!(message, "REQUEST_LIMIT_EXCEEDED: too many requests");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unavailable_and_server_errors() {
    let e = read_one(
        err(
            503,
            json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "warehouse starting"}),
        )
        .header("retry-after", "3"),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ReadError::Http { status: 503, .. }), "{e:?}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));

    let html = "<html>\n<head><title>500 Internal Server Error</title></head>\n<body>\n<h1>Oops</h1>\n</body>\n</html>";
    let e = read_one(raw(500, html).header("content-type", "text/html"))
        .await
        .unwrap_err();
    match &e {
        ReadError::Http {
            status: 500,
            message,
            retry_after: None,
        } => {
            assert!(message.contains("500 Internal Server Error"), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
        other => panic!("{other:?}"),
    }

    let e = read_one(raw(502, "")).await.unwrap_err();
    assert!(matches!(e, ReadError::Http { status: 502, .. }), "{e:?}");
}

#[tokio::test]
async fn malformed_json_is_malformed() {
    let e = read_one(raw(200, "{\"statement_id\": \"x\", \"status\": {"))
        .await
        .unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    let e = read_one(raw(200, "not json at all")).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
}

#[tokio::test]
async fn no_rows_and_null_are_no_data() {
    // `result` left out when there are no rows.
    let mut empty = succeeded(&[("n", "LONG")], json!([]));
    empty.as_object_mut().unwrap().remove("result");
    let e = read_one(ok(empty)).await.unwrap_err();
    assert_eq!(e, ReadError::NoData("the query returned no rows".into()));

    let e = read_one(ok(succeeded(&[("n", "LONG")], json!([]))))
        .await
        .unwrap_err();
    assert_eq!(e, ReadError::NoData("the query returned no rows".into()));

    let e = read_one(ok(succeeded(&[("n", "LONG")], json!([[null]]))))
        .await
        .unwrap_err();
    assert_eq!(e, ReadError::NoData("NULL in column n".into()));
}

#[tokio::test]
async fn refused_credentials_are_auth_errors() {
    for status in [401, 403] {
        let e = read_one(err(
            status,
            json!({"error_code": "PERMISSION_DENIED", "message": "no CAN USE on wh-42"}),
        ))
        .await
        .unwrap_err();
        assert_eq!(
            e,
            ReadError::Auth(format!(
                "HTTP {status}: PERMISSION_DENIED: no CAN USE on wh-42"
            ))
        );
    }
}

#[tokio::test]
async fn connection_refused_is_connect() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let e = client(cfg(&host, pat()))
        .read(&q("SELECT 1"))
        .await
        .unwrap_err();
    assert!(matches!(e, ReadError::Connect(_)), "{e:?}");
}

#[tokio::test]
async fn oauth_token_is_fetched_once_cached_and_renewed_after_401() {
    let (host, s) = script(vec![
        one("LONG", "1"),
        one("LONG", "2"),
        err(
            401,
            json!({"error_code": "UNAUTHENTICATED", "message": "token expired"}),
        ),
        one("LONG", "3"),
    ])
    .await;
    let c = client(cfg(&host, oauth()));
    assert_eq!(c.read(&q("SELECT 1")).await.unwrap().value, 1.0);
    assert_eq!(c.read(&q("SELECT 2")).await.unwrap().value, 2.0);

    let seen1 = seen(&s);
    let tokens: Vec<&Seen> = seen1
        .iter()
        .filter(|x| x.path == "/oidc/v1/token")
        .collect();
    assert_eq!(tokens.len(), 1, "cached across reads");
    let t = tokens[0];
    assert_eq!(t.method, "POST");
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(t.auth.as_deref(), Some(format!("Basic {basic}").as_str()));
    assert_eq!(
        t.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let mut form: Vec<&str> = t.body.split('&').collect();
    form.sort_unstable();
    assert_eq!(
        form,
        vec!["grant_type=client_credentials", "scope=all-apis"]
    );
    assert!(
        seen1
            .iter()
            .filter(|x| x.path.starts_with("/api/"))
            .all(|x| x.auth.as_deref() == Some("Bearer access-token-1"))
    );

    // A 401 drops the token; one more fetch and the statement goes through.
    assert_eq!(c.read(&q("SELECT 3")).await.unwrap().value, 3.0);
    let seen2 = seen(&s);
    assert_eq!(
        seen2.iter().filter(|x| x.path == "/oidc/v1/token").count(),
        2
    );
    let last = seen2.last().unwrap();
    assert_eq!(last.path, "/api/2.0/sql/statements");
    assert_eq!(last.auth.as_deref(), Some("Bearer access-token-2"));
}

#[tokio::test]
async fn oauth_401_after_a_fresh_token_is_an_auth_error() {
    let e401 = err(
        401,
        json!({"error_code": "UNAUTHENTICATED", "message": "no access"}),
    );
    let (host, s) = script(vec![e401.clone(), e401]).await;
    let e = client(cfg(&host, oauth()))
        .read(&q("SELECT 1"))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ReadError::Auth("HTTP 401: UNAUTHENTICATED: no access".into())
    );
    let seen = seen(&s);
    assert_eq!(
        seen.iter().filter(|x| x.path == "/oidc/v1/token").count(),
        2
    );
    assert_eq!(
        seen.iter().filter(|x| x.path.starts_with("/api/")).count(),
        2
    );
}

#[tokio::test]
async fn oauth_token_lifetime_is_respected() {
    let short = |n: u32| ok(json!({"access_token": format!("short-lived-{n}"), "expires_in": 0}));
    let (host, s) = start(Fake {
        api: vec![one("LONG", "1"), one("LONG", "2")].into(),
        token: vec![short(1), short(2)].into(),
        ..Fake::default()
    })
    .await;
    let c = client(cfg(&host, oauth()));
    c.read(&q("SELECT 1")).await.unwrap();
    c.read(&q("SELECT 2")).await.unwrap();
    let seen = seen(&s);
    assert_eq!(
        seen.iter().filter(|x| x.path == "/oidc/v1/token").count(),
        2
    );
    assert_eq!(
        seen.last().unwrap().auth.as_deref(),
        Some("Bearer short-lived-2")
    );
}

#[tokio::test]
async fn token_endpoint_refusal_is_an_auth_error() {
    let (host, s) = start(Fake {
        token: vec![err(
            401,
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        )]
        .into(),
        ..Fake::default()
    })
    .await;
    let e = client(cfg(&host, oauth()))
        .read(&q("SELECT 1"))
        .await
        .unwrap_err();
    assert!(matches!(e, ReadError::Auth(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("invalid_client: Client authentication failed"),
        "{e}"
    );
    assert!(!seen(&s).iter().any(|x| x.path.starts_with("/api/")));

    // A 200 without a token is no better.
    let (host, _s) = start(Fake {
        token: vec![ok(json!({"token_type": "Bearer"}))].into(),
        ..Fake::default()
    })
    .await;
    let e = client(cfg(&host, oauth()))
        .read(&q("SELECT 1"))
        .await
        .unwrap_err();
    assert!(matches!(e, ReadError::Auth(_)), "{e:?}");
}

#[tokio::test]
async fn a_hanging_server_gives_way_to_the_callers_timeout() {
    let (host, _s) = script(vec![one("LONG", "1").after(Duration::from_secs(30))]).await;
    let c = client(cfg(&host, pat()));
    let t0 = Instant::now();
    let r = tokio::time::timeout(Duration::from_millis(300), c.read(&q("SELECT 1"))).await;
    assert!(r.is_err(), "should have timed out: {r:?}");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn an_abandoned_statement_is_cancelled() {
    let (host, s) = start(Fake {
        api_default: Some(ok(in_state("RUNNING"))),
        ..Fake::default()
    })
    .await;
    let c = client(cfg(&host, pat()));
    let r = tokio::time::timeout(Duration::from_millis(500), c.read(&q("SELECT sleep"))).await;
    assert!(r.is_err());
    let want = format!("/api/2.0/sql/statements/{ID}/cancel");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = seen(&s);
        if let Some(x) = seen.iter().find(|x| x.path == want) {
            assert_eq!(x.method, "POST");
            assert_eq!(x.auth.as_deref(), Some(format!("Bearer {PAT}").as_str()));
            break;
        }
        assert!(Instant::now() < deadline, "no cancel in {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn secrets_never_appear_in_errors() {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let check = |e: &ReadError| {
        let t = e.to_string();
        for secret in [PAT, CLIENT_SECRET, basic.as_str(), "access-token-1"] {
            assert!(!t.contains(secret), "{secret} leaked in {t}");
        }
    };
    // Servers that echo the Authorization header back, in every kind of error.
    let echo_replies = || {
        vec![
            raw(401, "denied for {auth}"),
            err(
                400,
                json!({"error_code": "INVALID_PARAMETER_VALUE", "message": "bad header {auth}"}),
            ),
            raw(500, "<html>{auth}</html>"),
            ok(json!({"statement_id": ID, "status": {"state": "FAILED",
                "error": {"error_code": "UNKNOWN", "message": "saw {auth}"}}})),
            ok(in_state("CANCELED {auth}")),
            raw(200, "not json {auth}"),
        ]
    };
    for reply in echo_replies() {
        let e = read_one(reply).await.unwrap_err();
        assert!(
            !e.to_string().contains("{auth}"),
            "echo did not happen: {e}"
        );
        check(&e);
    }
    for reply in echo_replies() {
        // Twice: once for the first try, once after the token is renewed on a 401.
        let (host, _s) = script(vec![reply.clone(), reply]).await;
        let e = client(cfg(&host, oauth()))
            .read(&q("SELECT 1"))
            .await
            .unwrap_err();
        check(&e);
    }
    // A token endpoint echoing the Basic credentials and the form.
    for status in [400, 401, 500] {
        let (host, _s) = start(Fake {
            token: vec![raw(
                status,
                "{\"error\":\"invalid_client\",\"error_description\":\"{auth} {body}\"}",
            )]
            .into(),
            ..Fake::default()
        })
        .await;
        let e = client(cfg(&host, oauth()))
            .read(&q("SELECT 1"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("invalid_client"), "{e}");
        check(&e);
    }
}
