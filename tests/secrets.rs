//! Secrets come only from the environment and never reach the screen, the log or the journal:
//! a live run reads a metric from a server (in-process, on 127.0.0.1) that echoes the API key
//! back in its error, and the key must appear nowhere the cockpit writes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use common::*;

const KEY: &str = "s3cr3t-Key-7f1c9a2e4b";

async fn echo_server() -> u16 {
    let app = axum::Router::new().route(
        "/health",
        get(|h: HeaderMap| async move {
            let key = h
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            // A careless server: it repeats the credential it refuses.
            (
                StatusCode::UNAUTHORIZED,
                format!(r#"{{"message":"invalid API key {key} for this tenant"}}"#),
            )
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    port
}

#[test]
fn an_echoed_secret_appears_nowhere() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let port = rt.block_on(echo_server());
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            r#"{HEAD}connections:
  panther:
    kind: http_json
    url: http://127.0.0.1:{port}
    headers: {{ X-API-Key: "${{env:CUTOVER_TEST_PANTHER_KEY}}" }}
metrics:
  - {{ id: health, title: Panther health, side: target, every: 1s, from: panther, path: /health, pointer: /ok }}
triggers:
  - {{ id: h, when: health < 1, action: alert, on_unknown: {{ after: 2s, then: alert }} }}
phases:
  - id: p
    steps:
      - {{ id: wait, title: Wait, at: T+0:00, run: ["sleep", "3"] }}
"#
        ),
    );
    let session = tmp.path().join("s");
    let out = bin()
        .arg("run")
        .arg(&rb)
        .args(["--headless", "--auto-ack", "--t0", "+0s", "--session"])
        .arg(&session)
        .env("CUTOVER_TEST_PANTHER_KEY", KEY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let journal = std::fs::read_to_string(session.join("journal.jsonl")).unwrap();
    // The server's refusal did reach the journal (so the test can fail), scrubbed.
    assert!(
        journal.contains("trigger_unknown")
            && journal.contains("invalid API key *** for this tenant"),
        "{journal}"
    );
    for (what, text) in [
        ("journal", journal.as_str()),
        ("stdout", &stdout),
        ("stderr", &stderr),
    ] {
        assert!(
            !text.contains(KEY),
            "the key leaked into the {what}: {text}"
        );
    }
    for f in std::fs::read_dir(session.join("output")).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        assert!(!text.contains(KEY));
    }
}

#[test]
fn a_literal_secret_in_the_runbook_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            r#"{HEAD}connections:
  db:
    kind: databricks_sql
    host: https://adb-1.azuredatabricks.net
    token: dapi0123456789abcdef
    warehouse_id: abc
metrics:
  - {{ id: e, side: target, from: db, query: SELECT 1, sim: {{ baseline: 1 }} }}
phases:
  - id: p
    steps:
      - {{ id: a, title: A }}
"#
        ),
    );
    let out = bin().arg("validate").arg(&rb).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("rb.yaml:9:12: error: `token` of connection `db` is written in the runbook"),
        "{stderr}"
    );
    assert!(stderr.contains("${env:DB_TOKEN}"), "{stderr}");
    assert!(
        !stderr.contains("dapi0123456789abcdef"),
        "not even the error repeats it: {stderr}"
    );
}
