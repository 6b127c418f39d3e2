//! The `snowflake_sql` reader against an in-process fake of the Snowflake SQL API v2: the
//! documented endpoints, headers, status codes and `jsonv2` result shapes, scripted per test,
//! with a log of what the reader sent.

use super::support::{serve, sql, sql_col as col};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cutover::readers::snowflake::{Auth, Client, Config, keypair_jwt};
use cutover::readers::{Query, ReadError, Reading};
use cutover::shell::secret::Secret;
use rsa::RsaPrivateKey;
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// The fake server
// ---------------------------------------------------------------------------------------

/// One scripted answer.
#[derive(Clone)]
enum Reply {
    /// A JSON body with this status.
    Json(u16, Value),
    /// Any body with this status and content type.
    Raw(u16, &'static str, String),
    /// A JSON error body that echoes the request's `Authorization` header (a careless server).
    EchoAuth(u16),
    /// Never answers.
    Hang,
}

/// One request the fake received.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"))
            .to_str()
            .unwrap()
    }

    fn param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn bearer(&self) -> String {
        self.header("authorization")
            .strip_prefix("Bearer ")
            .unwrap()
            .to_string()
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    seen: Vec<Seen>,
}

struct Fake {
    url: String,
    script: Arc<Mutex<Script>>,
}

impl Fake {
    async fn start(replies: Vec<Reply>) -> Fake {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            seen: Vec::new(),
        }));
        let app = Router::new().fallback(handle).with_state(script.clone());
        Fake {
            url: serve(app).await,
            script,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }
}

/// Speaks the protocol: only the documented endpoints exist, a request without a
/// User-Agent is refused (as Snowflake does), anything else gets the next scripted reply.
async fn handle(
    State(script): State<Arc<Mutex<Script>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let path = uri.path().to_string();
    let seen = Seen {
        method: method.clone(),
        path: path.clone(),
        query: uri.query().unwrap_or("").to_string(),
        headers: headers.clone(),
        body,
    };
    let known = (method == Method::POST && path == "/api/v2/statements")
        || (method == Method::GET && path.starts_with("/api/v2/statements/") && path.len() > 19);
    let reply = {
        let mut s = script.lock().unwrap();
        s.seen.push(seen);
        if !known {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"message": "Not found"})),
            )
                .into_response();
        }
        if !headers.contains_key("user-agent") {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"code": "390100", "message": "User-Agent header is required"})),
            )
                .into_response();
        }
        s.replies.pop_front()
    };
    match reply {
        Some(Reply::Json(status, v)) => {
            (StatusCode::from_u16(status).unwrap(), axum::Json(v)).into_response()
        }
        Some(Reply::Raw(status, content_type, body)) => (
            StatusCode::from_u16(status).unwrap(),
            [(axum::http::header::CONTENT_TYPE, content_type)],
            body,
        )
            .into_response(),
        Some(Reply::EchoAuth(status)) => {
            let sent = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            (
                StatusCode::from_u16(status).unwrap(),
                axum::Json(json!({"code": "390303", "sqlState": "08001", "message": format!("Invalid token: {sent}")})),
            )
                .into_response()
        }
        Some(Reply::Hang) => std::future::pending().await,
        None => (StatusCode::INTERNAL_SERVER_ERROR, "script exhausted").into_response(),
    }
}

// ---------------------------------------------------------------------------------------
// Protocol bodies
// ---------------------------------------------------------------------------------------

/// A 200 `ResultSet` with `cols` (name, type) and `rows`.
fn result_set(cols: &[(&str, &str)], rows: Value) -> Reply {
    let row_type: Vec<Value> = cols
        .iter()
        .map(|(name, ty)| {
            json!({"name": name, "type": ty, "length": 0, "precision": 38, "scale": 0, "nullable": true})
        })
        .collect();
    let n = rows.as_array().map_or(0, Vec::len);
    Reply::Json(
        200,
        json!({
            "code": "090001", "sqlState": "00000", "message": "Statement executed successfully.",
            "statementHandle": "01b2c3d4-0000-1111-0000-000000000001",
            "createdOn": 1_597_090_533_987_i64,
            "statementStatusUrl": "/api/v2/statements/01b2c3d4-0000-1111-0000-000000000001",
            "resultSetMetaData": {
                "format": "jsonv2", "numRows": n, "rowType": row_type,
                "partitionInfo": [{"rowCount": n, "uncompressedSize": 120}]
            },
            "data": rows
        }),
    )
}

/// One value in one column.
fn one(name: &str, ty: &str, cell: Value) -> Reply {
    result_set(&[(name, ty)], json!([[cell]]))
}

fn running(handle: &str) -> Reply {
    Reply::Json(
        202,
        json!({
            "code": "333334",
            "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.",
            "statementHandle": handle,
            "statementStatusUrl": format!("/api/v2/statements/{handle}")
        }),
    )
}

fn failed(code: &str, sql_state: &str, message: &str) -> Reply {
    Reply::Json(
        422,
        json!({"code": code, "sqlState": sql_state, "message": message,
               "statementHandle": "01b2c3d4-0000-1111-0000-000000000009"}),
    )
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

const OAUTH_TOKEN: &str = "sf-oauth-token-VERY-SECRET-0123456789";
const PAT: &str = "sf-pat-VERY-SECRET-9876543210";

fn config(url: &str, auth: Auth) -> Config {
    Config {
        account: "myorg-myacct".into(),
        url: url.to_string(),
        auth,
        warehouse: Some("MON_WH".into()),
        database: Some("MyDb".into()),
        schema: None,
        role: Some("MONITOR".into()),
    }
}

fn client(fake: &Fake, auth: Auth) -> Client {
    Client::new(
        config(&fake.url, auth),
        cutover::readers::http::client().unwrap(),
    )
}

fn oauth(fake: &Fake) -> Client {
    client(fake, Auth::OAuth(Secret::new(OAUTH_TOKEN)))
}

fn timed(column: &str, time_column: &str) -> Query {
    Query {
        text: "SELECT v, t FROM m".into(),
        column: Some(column.into()),
        time_column: Some(time_column.into()),
        ..Query::default()
    }
}

async fn value(fake: &Fake, q: &Query) -> Result<f64, ReadError> {
    oauth(fake).read(q).await.map(|r| r.value)
}

fn is_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars()
            .all(|c| c == '-' || (c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
        && parts[2].starts_with('4')
        && matches!(parts[3].chars().next(), Some('8' | '9' | 'a' | 'b'))
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn oauth_request_follows_the_protocol() {
    let fake = Fake::start(vec![one("N", "fixed", json!("42"))]).await;
    let r = oauth(&fake)
        .read(&sql("SELECT count(*) AS n FROM orders"))
        .await
        .unwrap();
    assert_eq!(
        r,
        Reading {
            value: 42.0,
            at: None
        }
    );

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, Method::POST);
    assert_eq!(s.path, "/api/v2/statements");
    let id = s.param("requestId").expect("requestId");
    assert!(is_uuid_v4(&id), "requestId {id} is not a UUID v4");
    assert_eq!(s.param("retry"), None);
    assert_eq!(s.header("authorization"), format!("Bearer {OAUTH_TOKEN}"));
    assert_eq!(s.header("x-snowflake-authorization-token-type"), "OAUTH");
    assert_eq!(s.header("content-type"), "application/json");
    assert_eq!(s.header("accept"), "application/json");
    assert!(
        s.header("user-agent").starts_with("cutover/"),
        "{}",
        s.header("user-agent")
    );

    let body = s.json();
    assert_eq!(
        body,
        json!({
            "statement": "SELECT count(*) AS n FROM orders",
            "timeout": 60,
            "warehouse": "MON_WH",
            "database": "MyDb",
            "role": "MONITOR",
            "parameters": {"query_tag": "cutover"}
        })
    );
}

#[tokio::test]
async fn pat_token_type_and_a_fresh_request_id_per_read() {
    let fake = Fake::start(vec![
        one("N", "fixed", json!("1")),
        one("N", "fixed", json!("2")),
    ])
    .await;
    let c = client(&fake, Auth::Pat(Secret::new(PAT)));
    assert_eq!(c.read(&sql("SELECT 1")).await.unwrap().value, 1.0);
    assert_eq!(c.read(&sql("SELECT 2")).await.unwrap().value, 2.0);
    let seen = fake.seen();
    for s in &seen {
        assert_eq!(s.header("authorization"), format!("Bearer {PAT}"));
        assert_eq!(
            s.header("x-snowflake-authorization-token-type"),
            "PROGRAMMATIC_ACCESS_TOKEN"
        );
        assert!(s.header("user-agent").starts_with("cutover/"));
    }
    assert_ne!(seen[0].param("requestId"), seen[1].param("requestId"));
}

#[tokio::test]
async fn user_agent_is_sent_even_by_a_bare_reqwest_client() {
    let fake = Fake::start(vec![one("N", "fixed", json!("7"))]).await;
    // reqwest is built without a default TLS provider; install the one cutover uses.
    cutover::readers::http::ensure_crypto();
    let c = Client::new(
        config(&fake.url, Auth::OAuth(Secret::new(OAUTH_TOKEN))),
        reqwest::Client::new(),
    );
    assert_eq!(c.read(&sql("SELECT 7")).await.unwrap().value, 7.0);
    assert!(fake.seen()[0].header("user-agent").starts_with("cutover/"));
}

#[tokio::test]
async fn trailing_slash_in_the_url_and_empty_context_fields() {
    let fake = Fake::start(vec![one("N", "fixed", json!("3"))]).await;
    let mut cfg = config(
        &format!("{}/", fake.url),
        Auth::OAuth(Secret::new(OAUTH_TOKEN)),
    );
    cfg.warehouse = None;
    cfg.role = Some(String::new());
    cfg.schema = Some("public".into());
    let c = Client::new(cfg, cutover::readers::http::client().unwrap());
    assert_eq!(c.read(&sql("SELECT 3")).await.unwrap().value, 3.0);
    let s = &fake.seen()[0];
    assert_eq!(s.path, "/api/v2/statements");
    let body = s.json();
    assert_eq!(body["schema"], "public");
    assert_eq!(body["database"], "MyDb");
    assert!(body.get("warehouse").is_none());
    assert!(body.get("role").is_none());
}

// ---------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn cells_are_decoded_by_their_column_type() {
    let fake = Fake::start(vec![
        // FIXED with a scale: the decimal string is the value (no division by 10^scale).
        one("AMOUNT", "fixed", json!("12345.67")),
        one("AMOUNT", "FIXED", json!("-9000")),
        one("RATE", "real", json!("0.0125")),
        one("RATE", "REAL", json!("1.5e3")),
        one("RATE", "real", json!("NaN")),
        one("OK", "boolean", json!("true")),
        one("OK", "boolean", json!("false")),
        one("S", "text", json!(" 17.5 ")),
        one("S", "text", json!("healthy")),
        one("TS", "timestamp_ltz", json!("1616173619.000000000")),
        one("D", "date", json!("18706")),
    ])
    .await;
    let q = sql("SELECT x");
    assert_eq!(value(&fake, &q).await.unwrap(), 12345.67);
    assert_eq!(value(&fake, &q).await.unwrap(), -9000.0);
    assert_eq!(value(&fake, &q).await.unwrap(), 0.0125);
    assert_eq!(value(&fake, &q).await.unwrap(), 1500.0);
    assert!(value(&fake, &q).await.unwrap().is_nan());
    assert_eq!(value(&fake, &q).await.unwrap(), 1.0);
    assert_eq!(value(&fake, &q).await.unwrap(), 0.0);
    assert_eq!(value(&fake, &q).await.unwrap(), 17.5);

    let e = value(&fake, &q).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    assert!(e.to_string().contains("S::number"), "{e}");

    let e = value(&fake, &q).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    assert!(e.to_string().contains("DATE_PART(epoch_second, TS)"), "{e}");

    let e = value(&fake, &q).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    assert!(e.to_string().contains("DATE_PART(epoch_second, D)"), "{e}");
}

#[tokio::test]
async fn a_fixed_cell_keeps_its_decimal_string_whatever_the_scale() {
    let mut reply = one("P", "fixed", json!("99.50"));
    if let Reply::Json(_, v) = &mut reply {
        v["resultSetMetaData"]["rowType"][0]["scale"] = json!(2);
    }
    let fake = Fake::start(vec![reply]).await;
    assert_eq!(value(&fake, &sql("SELECT p")).await.unwrap(), 99.5);
}

#[tokio::test]
async fn named_column_matches_case_insensitively() {
    let rows = json!([["01b0aa", "1234", "true"], ["01b1bb", null, "false"]]);
    let cols = [
        ("QUERY_ID", "text"),
        ("TOTAL_ELAPSED_TIME", "fixed"),
        ("OK", "boolean"),
    ];
    let fake = Fake::start(vec![
        result_set(&cols, rows.clone()),
        result_set(&cols, rows.clone()),
        result_set(&cols, rows),
    ])
    .await;
    assert_eq!(
        value(&fake, &col("SELECT …", "total_elapsed_time"))
            .await
            .unwrap(),
        1234.0
    );
    assert_eq!(value(&fake, &col("SELECT …", "Ok")).await.unwrap(), 1.0);
    let e = value(&fake, &col("SELECT …", "nope")).await.unwrap_err();
    assert!(matches!(e, ReadError::NoData(_)), "{e:?}");
    assert!(
        e.to_string().contains("nope") && e.to_string().contains("TOTAL_ELAPSED_TIME"),
        "{e}"
    );
}

#[tokio::test]
async fn null_and_no_rows_are_no_data() {
    let fake = Fake::start(vec![
        result_set(&[("ID", "text"), ("LAG", "fixed")], json!([["a", null]])),
        result_set(&[("LAG", "fixed")], json!([])),
    ])
    .await;
    assert_eq!(
        value(&fake, &col("SELECT id, lag", "lag"))
            .await
            .unwrap_err(),
        ReadError::NoData("NULL in column LAG".into())
    );
    assert_eq!(
        value(&fake, &sql("SELECT lag WHERE false"))
            .await
            .unwrap_err(),
        ReadError::NoData("the query returned no rows".into())
    );
}

#[tokio::test]
async fn time_column_gives_the_sample_time() {
    let at = |secs: i64, nanos: u32| Some(chrono::DateTime::from_timestamp(secs, nanos).unwrap());
    let cols_v = |t: &str| vec![("V", "fixed".to_string()), ("T", t.to_string())];
    let reply = |t: &str, cell: Value| {
        let cols = cols_v(t);
        let cols: Vec<(&str, &str)> = cols.iter().map(|(n, t)| (*n, t.as_str())).collect();
        result_set(&cols, json!([["5", cell]]))
    };
    let fake = Fake::start(vec![
        reply("fixed", json!("1616173619")),
        reply("timestamp_ltz", json!("1616173619.250000000")),
        reply("TIMESTAMP_NTZ", json!("1616173619.000000000")),
        reply("timestamp_tz", json!("1616173619.500000000 1500")),
        reply("text", json!("2021-03-19T17:06:59Z")),
        reply("real", json!("1616173619.5")),
        reply("timestamp_ltz", Value::Null),
        reply("fixed", json!("1616173619000")),
    ])
    .await;
    let c = oauth(&fake);
    let q = timed("v", "t");
    let read = |r: Result<Reading, ReadError>| r.unwrap().at;
    assert_eq!(read(c.read(&q).await), at(1_616_173_619, 0));
    assert_eq!(read(c.read(&q).await), at(1_616_173_619, 250_000_000));
    assert_eq!(read(c.read(&q).await), at(1_616_173_619, 0));
    assert_eq!(read(c.read(&q).await), at(1_616_173_619, 500_000_000));
    assert_eq!(read(c.read(&q).await), at(1_616_173_619, 0));
    assert_eq!(read(c.read(&q).await), at(1_616_173_619, 500_000_000));
    assert_eq!(
        c.read(&q).await.unwrap_err(),
        ReadError::NoData("NULL in time column T".into())
    );
    // Epoch milliseconds are not mistaken for a time 50 000 years from now.
    assert!(matches!(c.read(&q).await, Err(ReadError::Malformed(_))));
}

// ---------------------------------------------------------------------------------------
// Asynchronous execution
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_202_is_polled_on_its_status_url_until_the_result() {
    let handle = "01b2c3d4-0000-2222-0000-00000000abcd";
    let fake = Fake::start(vec![
        running(handle),
        running(handle),
        one("N", "fixed", json!("8")),
    ])
    .await;
    let started = Instant::now();
    let r = oauth(&fake).read(&sql("SELECT slow()")).await.unwrap();
    assert_eq!(r.value, 8.0);
    // Two polls with a 100 ms then 200 ms pause: quick, but not a busy loop.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );

    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].method, Method::POST);
    for s in &seen[1..] {
        assert_eq!(s.method, Method::GET);
        assert_eq!(s.path, format!("/api/v2/statements/{handle}"));
        assert_eq!(s.header("authorization"), format!("Bearer {OAUTH_TOKEN}"));
        assert_eq!(s.header("x-snowflake-authorization-token-type"), "OAUTH");
        assert_eq!(s.header("accept"), "application/json");
        assert!(s.header("user-agent").starts_with("cutover/"));
    }
}

#[tokio::test]
async fn a_statement_that_fails_while_polled_is_a_query_error() {
    let fake = Fake::start(vec![
        running("01b2c3d4-0000-2222-0000-00000000beef"),
        failed("100038", "22018", "Numeric value 'abc' is not recognized"),
    ])
    .await;
    assert_eq!(
        value(&fake, &sql("SELECT 'abc'::int")).await.unwrap_err(),
        ReadError::Query("100038 22018: Numeric value 'abc' is not recognized".into())
    );
}

#[tokio::test]
async fn a_202_pointing_at_another_host_is_not_followed() {
    let fake = Fake::start(vec![Reply::Json(
        202,
        json!({"code": "333334", "message": "running", "statementHandle": "x",
               "statementStatusUrl": "https://evil.example.com/api/v2/statements/x"}),
    )])
    .await;
    let e = value(&fake, &sql("SELECT 1")).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    assert_eq!(fake.seen().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_422_names_code_sql_state_and_message() {
    let fake = Fake::start(vec![failed(
        "002003",
        "42S02",
        "SQL compilation error:\nObject 'ORDERS' does not exist or not authorized.",
    )])
    .await;
    let e = value(&fake, &sql("SELECT * FROM orders"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "query failed: 002003 42S02: SQL compilation error: Object 'ORDERS' does not exist or not authorized."
    );
}

#[tokio::test]
async fn a_408_is_a_timed_out_statement() {
    let fake = Fake::start(vec![Reply::Json(
        408,
        json!({"code": "000630", "message": "Statement reached its statement or warehouse timeout of 60 second(s) and was canceled.",
               "statementHandle": "x"}),
    )])
    .await;
    let e = value(&fake, &sql("SELECT system$wait(120)"))
        .await
        .unwrap_err();
    assert!(matches!(e, ReadError::Query(_)), "{e:?}");
    assert!(
        e.to_string().contains("timed out") && e.to_string().contains("000630"),
        "{e}"
    );
}

#[tokio::test]
async fn throttling_and_unavailability_are_http_errors_without_retry_after() {
    let fake = Fake::start(vec![
        Reply::Json(
            429,
            json!({"code": "390400", "message": "Too many requests"}),
        ),
        Reply::Raw(503, "text/plain", "Service Unavailable".into()),
        Reply::Raw(504, "text/plain", "".into()),
    ])
    .await;
    let q = sql("SELECT 1");
    for want in [429, 503, 504] {
        match value(&fake, &q).await.unwrap_err() {
            ReadError::Http {
                status,
                retry_after,
                ..
            } => {
                assert_eq!(status, want);
                assert_eq!(retry_after, None);
            }
            e => panic!("HTTP {want}: {e:?}"),
        }
    }
    assert_eq!(fake.seen().len(), 3, "the reader itself does not retry");
}

#[tokio::test]
async fn a_500_html_page_is_shortened() {
    let page = format!(
        "<html><head><title>500 Internal Server Error</title></head><body>{}</body></html>",
        "<p>Something went wrong.</p>\n".repeat(100)
    );
    let fake = Fake::start(vec![Reply::Raw(500, "text/html", page)]).await;
    match value(&fake, &sql("SELECT 1")).await.unwrap_err() {
        ReadError::Http {
            status, message, ..
        } => {
            assert_eq!(status, 500);
            assert!(message.contains("500 Internal Server Error"), "{message}");
            assert!(
                message.chars().count() <= 301 && !message.contains('\n'),
                "{message}"
            );
        }
        e => panic!("{e:?}"),
    }
}

#[tokio::test]
async fn malformed_results_are_malformed() {
    let fake = Fake::start(vec![
        Reply::Raw(200, "application/json", "{\"resultSetMetaData\": {".into()),
        Reply::Json(200, json!({"code": "090001", "data": [["1"]]})),
        Reply::Json(202, json!({"code": "333334", "message": "running"})),
        Reply::Raw(202, "application/json", "not json".into()),
    ])
    .await;
    for _ in 0..4 {
        let e = value(&fake, &sql("SELECT 1")).await.unwrap_err();
        assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    }
}

#[tokio::test]
async fn oauth_401_is_an_auth_error_without_retry() {
    let fake = Fake::start(vec![Reply::Json(
        401,
        json!({"code": "390303", "message": "Invalid OAuth access token."}),
    )])
    .await;
    let e = value(&fake, &sql("SELECT 1")).await.unwrap_err();
    assert!(matches!(e, ReadError::Auth(_)), "{e:?}");
    assert!(e.to_string().contains("Invalid OAuth access token"), "{e}");
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = Client::new(
        config(&url, Auth::OAuth(Secret::new(OAUTH_TOKEN))),
        cutover::readers::http::client().unwrap(),
    );
    let e = c.read(&sql("SELECT 1")).await.unwrap_err();
    assert!(matches!(e, ReadError::Connect(_)), "{e:?}");
}

#[tokio::test]
async fn a_hanging_server_is_cut_off_by_the_callers_timeout() {
    let fake = Fake::start(vec![Reply::Hang]).await;
    let c = oauth(&fake);
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_millis(300), c.read(&sql("SELECT 1"))).await;
    assert!(r.is_err(), "the read should still be waiting: {r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_hanging_status_poll_is_cut_off_too() {
    let fake = Fake::start(vec![
        running("01b2c3d4-0000-2222-0000-0000000000aa"),
        Reply::Hang,
    ])
    .await;
    let c = oauth(&fake);
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_millis(500), c.read(&sql("SELECT 1"))).await;
    assert!(r.is_err(), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(fake.seen().len(), 2);
}

#[tokio::test]
async fn tokens_never_appear_in_error_text() {
    let mut replies = Vec::new();
    for status in [400, 401, 403, 422, 500] {
        replies.push(Reply::EchoAuth(status));
    }
    replies.push(Reply::Raw(200, "text/plain", format!("oops Bearer {PAT}")));
    replies.push(Reply::Raw(422, "text/plain", format!("bad {PAT}")));
    let fake = Fake::start(replies).await;
    let c = client(&fake, Auth::Pat(Secret::new(PAT)));
    for _ in 0..7 {
        let e = c.read(&sql("SELECT 1")).await.unwrap_err();
        let text = e.to_string();
        assert!(
            !text.contains(PAT) && !text.contains("VERY-SECRET"),
            "{text}"
        );
        assert!(
            text.contains("***"),
            "the echo should still be visible, blanked: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Key-pair JWT
// ---------------------------------------------------------------------------------------

/// One 2048-bit key for all tests (generating one takes a moment).
fn test_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap())
}

fn pkcs8_pem() -> String {
    use rsa::pkcs8::EncodePrivateKey as _;
    test_key()
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap()
        .to_string()
}

fn pkcs1_pem() -> String {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    test_key()
        .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
        .unwrap()
        .to_string()
}

fn key_file(dir: &tempfile::TempDir, name: &str, pem: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, pem).unwrap();
    p
}

/// DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let len: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | len.len() as u8);
        out.extend(len);
    }
    out.extend_from_slice(content);
    out
}

/// DER INTEGER of an unsigned big-endian magnitude.
fn der_uint(be: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    der(0x02, &v)
}

/// `SHA256:` fingerprint computed by hand, independently of the crate's encoders: the
/// SubjectPublicKeyInfo is SEQUENCE { SEQUENCE { rsaEncryption OID, NULL }, BIT STRING {
/// RSAPublicKey SEQUENCE { n, e } } }, as `openssl pkey -pubout -outform DER` writes it.
fn expected_fingerprint(key: &RsaPrivateKey) -> String {
    let rsa_public_key = der(
        0x30,
        &[
            der_uint(&key.n().to_bytes_be()),
            der_uint(&key.e().to_bytes_be()),
        ]
        .concat(),
    );
    let algorithm = der(
        0x30,
        &[
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
        ],
    );
    let bits = der(0x03, &[&[0u8][..], &rsa_public_key].concat());
    let spki = der(0x30, &[algorithm, bits].concat());
    format!("SHA256:{}", STANDARD.encode(Sha256::digest(&spki)))
}

/// The JWT's header and claims, after checking its signature two ways: with the crate's
/// verifier, and by hand (s^e mod n must be the EMSA-PKCS1-v1_5 encoding of SHA-256).
fn verified(jwt: &str, key: &RsaPrivateKey) -> (Value, Value, Vec<u8>) {
    use rsa::signature::Verifier as _;
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    assert!(
        !jwt.contains('=') && !jwt.contains('+') && !jwt.contains('/'),
        "base64url without padding"
    );
    let header_raw = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
    let header: Value = serde_json::from_slice(&header_raw).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let signed = format!("{}.{}", parts[0], parts[1]);

    let public = key.to_public_key();
    let verifier = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(public.clone());
    let signature = rsa::pkcs1v15::Signature::try_from(sig.as_slice()).unwrap();
    verifier
        .verify(signed.as_bytes(), &signature)
        .expect("signature verifies");

    let k = public.size();
    let m = rsa::BigUint::from_bytes_be(&sig).modpow(public.e(), public.n());
    let mut em = m.to_bytes_be();
    while em.len() < k {
        em.insert(0, 0);
    }
    let digest_info_prefix = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let t = [
        &digest_info_prefix[..],
        &Sha256::digest(signed.as_bytes())[..],
    ]
    .concat();
    let mut want = vec![0x00, 0x01];
    want.extend(std::iter::repeat_n(0xff, k - t.len() - 3));
    want.push(0x00);
    want.extend(&t);
    assert_eq!(em, want, "RSASSA-PKCS1-v1_5 with SHA-256");
    (header, claims, header_raw)
}

#[tokio::test]
async fn keypair_jwt_is_sent_with_the_documented_claims() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(&dir, "rsa_key.p8", &pkcs8_pem());
    let fake = Fake::start(vec![
        one("N", "fixed", json!("11")),
        one("N", "fixed", json!("12")),
    ])
    .await;
    let mut cfg = config(
        &fake.url,
        Auth::KeyPair {
            user: "svc_cutover".into(),
            private_key_file: path,
        },
    );
    cfg.account = "xy12345.us-east-1".into();
    let c = Client::new(cfg, cutover::readers::http::client().unwrap());
    let before = chrono::Utc::now().timestamp();
    assert_eq!(c.read(&sql("SELECT 11")).await.unwrap().value, 11.0);
    assert_eq!(c.read(&sql("SELECT 12")).await.unwrap().value, 12.0);
    let after = chrono::Utc::now().timestamp();

    let seen = fake.seen();
    let s = &seen[0];
    assert_eq!(
        s.header("x-snowflake-authorization-token-type"),
        "KEYPAIR_JWT"
    );
    assert!(s.header("user-agent").starts_with("cutover/"));
    let jwt = s.bearer();
    let (header, claims, header_raw) = verified(&jwt, test_key());
    assert_eq!(header_raw, br#"{"alg":"RS256","typ":"JWT"}"#);
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    let fp = expected_fingerprint(test_key());
    assert_eq!(claims["iss"], format!("XY12345.SVC_CUTOVER.{fp}"));
    assert_eq!(claims["sub"], "XY12345.SVC_CUTOVER");
    let iat = claims["iat"].as_i64().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert!(
        before <= iat && iat <= after,
        "iat {iat} not in {before}..={after}"
    );
    assert_eq!(exp - iat, 3540);
    assert_eq!(claims.as_object().unwrap().len(), 4, "{claims}");

    // The second read reuses the cached JWT.
    assert_eq!(seen[1].bearer(), jwt);
}

#[test]
fn keypair_jwt_builder_accounts_users_and_key_formats() {
    let now = 1_700_000_000;
    let fp = expected_fingerprint(test_key());
    let claims = |account: &str, user: &str, pem: &str| {
        let jwt = keypair_jwt(account, user, pem, now).unwrap();
        verified(&jwt, test_key()).1
    };

    let c = claims("myorg-myacct", "Svc_User", &pkcs8_pem());
    assert_eq!(
        c,
        json!({"iss": format!("MYORG-MYACCT.SVC_USER.{fp}"), "sub": "MYORG-MYACCT.SVC_USER",
               "iat": now, "exp": now + 3540})
    );
    // PKCS#1 gives the same key, so the same fingerprint.
    assert_eq!(
        claims("xy12345.us-east-1.aws", "u", &pkcs1_pem())["sub"],
        "XY12345.U"
    );
    assert_eq!(
        claims("xy12345.us-east-1.aws", "u", &pkcs1_pem())["iss"],
        format!("XY12345.U.{fp}")
    );
    // A `.global` name is cut at its first `-`, as the Python connector does.
    assert_eq!(
        claims("myacct-abc123.global", "u", &pkcs8_pem())["sub"],
        "MYACCT.U"
    );
    // Text around the PEM block (openssl's "Bag Attributes") is ignored.
    let noisy = format!("Bag Attributes\n    localKeyID: 01 02\n{}", pkcs8_pem());
    assert_eq!(claims("a", "u", &noisy)["sub"], "A.U");
}

#[test]
fn keypair_jwt_errors_never_show_the_key() {
    let pem = pkcs8_pem();
    let body_line = pem.lines().nth(3).unwrap().to_string();
    let broken = pem.replacen(&body_line, &body_line[..body_line.len() / 2], 1);
    for bad in [
        broken.as_str(),
        "hello",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkq\n-----END ENCRYPTED PRIVATE KEY-----\n",
    ] {
        let e = keypair_jwt("a", "u", bad, 0).unwrap_err();
        assert!(matches!(e, ReadError::Auth(_)), "{e:?}");
        let text = e.to_string();
        assert!(
            !text.contains(&body_line[..20]) && !text.contains("MIIFHDBOBgkq"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn keypair_401_renews_the_jwt_once_and_resends_the_same_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(&dir, "k.pem", &pkcs1_pem());
    let fake = Fake::start(vec![
        Reply::Json(
            401,
            json!({"code": "390144", "message": "JWT token is invalid."}),
        ),
        one("N", "fixed", json!("5")),
        Reply::EchoAuth(401),
        Reply::EchoAuth(401),
    ])
    .await;
    let c = client(
        &fake,
        Auth::KeyPair {
            user: "svc".into(),
            private_key_file: path,
        },
    );
    assert_eq!(c.read(&sql("SELECT 5")).await.unwrap().value, 5.0);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].param("requestId"), seen[1].param("requestId"));
    assert_eq!(seen[1].param("retry").as_deref(), Some("true"));
    assert_eq!(
        seen[1].header("x-snowflake-authorization-token-type"),
        "KEYPAIR_JWT"
    );

    // Refused twice: an auth error that names what to check, and never the JWT.
    let e = c.read(&sql("SELECT 6")).await.unwrap_err();
    let seen = fake.seen();
    assert_eq!(seen.len(), 4);
    let jwt = seen[3].bearer();
    let text = e.to_string();
    assert!(matches!(e, ReadError::Auth(_)), "{e:?}");
    assert!(
        !text.contains(&jwt) && !text.contains(jwt.split('.').nth(2).unwrap()),
        "{text}"
    );
    assert!(text.contains(&expected_fingerprint(test_key())), "{text}");
    assert!(text.contains("MYORG-MYACCT.SVC"), "{text}");
}

#[tokio::test]
async fn a_missing_key_file_is_an_auth_error_naming_the_file() {
    let fake = Fake::start(vec![one("N", "fixed", json!("1"))]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no_such_key.p8");
    let c = client(
        &fake,
        Auth::KeyPair {
            user: "svc".into(),
            private_key_file: path.clone(),
        },
    );
    let e = c.read(&sql("SELECT 1")).await.unwrap_err();
    assert!(matches!(e, ReadError::Auth(_)), "{e:?}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert!(
        fake.seen().is_empty(),
        "nothing is sent without credentials"
    );
}

#[tokio::test]
async fn an_unreadable_key_file_names_the_file_but_not_its_contents() {
    let fake = Fake::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(
        &dir,
        "garbage.p8",
        "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIALxyz0123456789\n-----END PRIVATE KEY-----\n",
    );
    let c = client(
        &fake,
        Auth::KeyPair {
            user: "svc".into(),
            private_key_file: path.clone(),
        },
    );
    let e = c.read(&sql("SELECT 1")).await.unwrap_err();
    assert!(matches!(e, ReadError::Auth(_)), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("garbage.p8") && !text.contains("TOPSECRET"),
        "{text}"
    );
}
