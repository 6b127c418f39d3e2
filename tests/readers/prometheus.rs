//! The `prometheus` reader against a real Prometheus (Debian's `prometheus` package): each
//! test starts a private server scraping itself on a free port, and kills it when done. What a
//! real server will not do (a proxy's HTML error, broken JSON, warnings) comes from an
//! in-process axum server.

use super::support::{free_port, serve, sql as promql};
use axum::Router;
use axum::extract::Query as Params;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cutover::readers::prometheus::{Client, Config};
use cutover::readers::{ReadError, Reading};
use cutover::shell::secret::Secret;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "/usr/bin/prometheus";

/// A private Prometheus server, killed on drop.
struct Prom {
    child: Child,
    /// Config, TSDB and log; removed after the server is killed (fields drop after `drop`).
    _dir: tempfile::TempDir,
    url: String,
}

/// The status code and body of `GET path`, or None while nothing answers.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    // HTTP/1.0: the server closes the connection after the response.
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.get(9..12)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some((status, body.to_string()))
}

impl Prom {
    fn start() -> Prom {
        assert!(
            std::path::Path::new(PROMETHEUS).is_file(),
            "Prometheus is not installed: apt-get install -y prometheus"
        );
        let dir = tempfile::tempdir().unwrap();
        // Another process may take the free port before the server binds it: try a few.
        for attempt in 1..=3 {
            let port = free_port();
            let config = dir.path().join("prometheus.yml");
            std::fs::write(
                &config,
                format!(
                    "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                     scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      \
                     - targets: ['127.0.0.1:{port}']\n"
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("log")).unwrap();
            let mut child = Command::new(PROMETHEUS)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                // Ready, and ours: if another process took the port, our server exits and
                // that one answers, so check it runs on our storage directory.
                let ours = || {
                    http_get(port, "/api/v1/status/flags").is_some_and(|(_, flags)| {
                        flags.contains(&dir.path().join("data").display().to_string())
                    })
                };
                if http_get(port, "/-/ready").is_some_and(|(code, _)| code == 200) && ours() {
                    return Prom {
                        child,
                        _dir: dir,
                        url: format!("http://127.0.0.1:{port}"),
                    };
                }
                let exited = child.try_wait().unwrap().is_some();
                if exited || Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
                    assert!(
                        attempt < 3 && exited,
                        "prometheus did not become ready:\n{log}"
                    );
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        unreachable!()
    }

    fn client(&self) -> Client {
        client(&self.url, None)
    }
}

impl Drop for Prom {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(url: &str, token: Option<&str>) -> Client {
    Client::new(
        Config {
            url: url.into(),
            token: token.map(Secret::new),
        },
        cutover::readers::http::client().unwrap(),
    )
}

async fn read(c: &Client, text: &str) -> Reading {
    c.read(&promql(text))
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// `at` is the evaluation time, which for an instant query is "now".
fn assert_recent(r: &Reading) {
    let at = r.at.expect("a sample time");
    let age = (chrono::Utc::now() - at).num_milliseconds().abs();
    assert!(age < 10_000, "sample time {at} is {age} ms from now");
}

#[tokio::test]
async fn scalars_and_single_series() {
    let prom = Prom::start();
    let c = prom.client();
    for (q, want) in [
        ("scalar(vector(1+1))", 2.0),
        ("2", 2.0),
        ("vector(3)", 3.0),
        ("sum(vector(4))", 4.0),
    ] {
        let r = read(&c, q).await;
        assert_eq!(r.value, want, "{q}");
        assert_recent(&r);
    }
    // A trailing slash on the base URL is not doubled.
    let c = client(&format!("{}/", prom.url), None);
    assert_eq!(read(&c, "vector(5)").await.value, 5.0);
}

#[tokio::test]
async fn nan_and_infinities() {
    let prom = Prom::start();
    let c = prom.client();
    assert!(read(&c, "NaN").await.value.is_nan());
    assert!(read(&c, "vector(NaN)").await.value.is_nan());
    assert_eq!(read(&c, "1/0").await.value, f64::INFINITY);
    assert_eq!(read(&c, "-1/0").await.value, f64::NEG_INFINITY);
    assert_eq!(read(&c, "vector(-1/0)").await.value, f64::NEG_INFINITY);
}

#[tokio::test]
async fn no_series_and_too_many_series() {
    let prom = Prom::start();
    let c = prom.client();
    let e = c
        .read(&promql("no_such_metric_xyz{job=\"none\"}"))
        .await
        .unwrap_err();
    assert_eq!(e, ReadError::NoData("the query matched no series".into()));
    // Two series without waiting for a scrape: labels make them distinct.
    let two = r#"label_replace(vector(1), "side", "blue", "", "") or label_replace(vector(2), "side", "green", "", "")"#;
    let e = c.read(&promql(two)).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Query(m) if m.contains("2 series") && m.contains(r#"side="green""#) && m.contains("sum(")),
        "{e:?}"
    );
}

#[tokio::test]
async fn bad_promql_is_a_query_error() {
    let prom = Prom::start();
    let c = prom.client();
    let e = c.read(&promql("sum(")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Query(m) if m.starts_with("bad_data: ")),
        "{e:?}"
    );
    // Valid PromQL that fails when run (HTTP 422): two series end up with one label set.
    let dup = r#"label_replace(label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", ""), "a", "z", "", "")"#;
    let e = c.read(&promql(dup)).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Query(m) if m.starts_with("execution: ")),
        "{e:?}"
    );
}

#[tokio::test]
async fn up_after_the_first_scrape() {
    let prom = Prom::start();
    let c = prom.client();
    let q = promql(r#"up{job="prometheus"}"#);
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = loop {
        match c.read(&q).await {
            Ok(r) => break r,
            // Before the first scrape the series does not exist yet.
            Err(ReadError::NoData(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("up never appeared: {e}"),
        }
    };
    assert_eq!(r.value, 1.0);
    // The sample time is the query's evaluation time, not the scrape's, for an instant vector.
    assert_recent(&r);
    // Once scraped, a selector over every metric matches many series.
    let e = c.read(&promql(r#"{__name__=~".+"}"#)).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Query(m) if m.contains(" series (")),
        "{e:?}"
    );
}

/// What a real Prometheus will not answer, keyed by the query text.
async fn fake(Params(p): Params<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let json = |status: StatusCode, body: &str| {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    };
    match p.get("query").map(String::as_str) {
        Some("proxy") => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "text/html"),
                (header::RETRY_AFTER, "7"),
            ],
            "<html><body><h1>503</h1> upstream connect error</body></html>",
        )
            .into_response(),
        Some("gateway_json") => json(
            StatusCode::BAD_GATEWAY,
            r#"{"message":"no healthy upstream"}"#,
        ),
        Some("overloaded") => json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
        ),
        Some("garbage") => json(
            StatusCode::OK,
            r#"{"status":"success","data":{"resultType""#,
        ),
        Some("not_envelope") => json(StatusCode::OK, r#"{"hello":"world"}"#),
        Some("matrix") => json(
            StatusCode::OK,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"2"]]}]}}"#,
        ),
        Some("string") => json(
            StatusCode::OK,
            r#"{"status":"success","data":{"resultType":"string","result":[1,"hello"]}}"#,
        ),
        Some("warnings") => json(
            StatusCode::OK,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"x"},"value":[1700000000.5,"0.75"]}]},"warnings":["PromQL info: metric might not be a counter"],"infos":["x"]}"#,
        ),
        Some("auth") => match headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            Some("Bearer tok-123456") => json(
                StatusCode::OK,
                r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}"#,
            ),
            _ => (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response(),
        },
        other => (StatusCode::NOT_FOUND, format!("unexpected query {other:?}")).into_response(),
    }
}

async fn fake_server() -> String {
    serve(Router::new().route("/api/v1/query", get(fake))).await
}

#[tokio::test]
async fn what_proxies_and_odd_servers_answer() {
    let url = fake_server().await;
    let c = client(&url, None);
    let e = c.read(&promql("proxy")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Http { status: 503, message, retry_after: Some(d) }
            if message.contains("upstream connect error") && *d == Duration::from_secs(7)),
        "{e:?}"
    );
    let e = c.read(&promql("gateway_json")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Http { status: 502, message, .. } if message == "no healthy upstream"),
        "{e:?}"
    );
    let e = c.read(&promql("overloaded")).await.unwrap_err();
    assert_eq!(
        e,
        ReadError::Query("timeout: query timed out in expression evaluation".into())
    );
    for q in ["garbage", "not_envelope"] {
        let e = c.read(&promql(q)).await.unwrap_err();
        assert!(matches!(e, ReadError::Malformed(_)), "{q}: {e:?}");
    }
    for q in ["matrix", "string"] {
        let e = c.read(&promql(q)).await.unwrap_err();
        assert!(
            matches!(&e, ReadError::Malformed(m) if m.contains(q) && m.contains("instant scalar or vector")),
            "{q}: {e:?}"
        );
    }
}

#[tokio::test]
async fn warnings_do_not_break_parsing() {
    let url = fake_server().await;
    let r = read(&client(&url, None), "warnings").await;
    assert_eq!(r.value, 0.75);
    assert_eq!(r.at.unwrap().timestamp_millis(), 1_700_000_000_500);
}

#[tokio::test]
async fn bearer_token() {
    let url = fake_server().await;
    assert_eq!(
        read(&client(&url, Some("tok-123456")), "auth").await.value,
        1.0
    );
    let e = client(&url, None).read(&promql("auth")).await.unwrap_err();
    assert!(matches!(e, ReadError::Http { status: 401, .. }), "{e:?}");
    let e = client(&url, Some("wrong-token"))
        .read(&promql("auth"))
        .await
        .unwrap_err();
    assert!(!format!("{e} {e:?}").contains("wrong-token"), "{e:?}");
}

#[tokio::test]
async fn unreachable_server_is_connect() {
    let e = client(&format!("http://127.0.0.1:{}", free_port()), None)
        .read(&promql("1"))
        .await
        .unwrap_err();
    assert!(matches!(e, ReadError::Connect(_)), "{e:?}");
}
