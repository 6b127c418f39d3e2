//! `cutover preflight FILE` through the binary, against the kinds of servers the readers are
//! tested with: in-process fakes of the Databricks Statement Execution API, the Snowflake SQL
//! API, Prometheus and a JSON endpoint (axum, on 127.0.0.1), a real PostgreSQL server the test
//! starts (see `postgres`), and a command. Each test writes a runbook naming those servers,
//! runs the preflight, and reads its table: every check well is exit 0; a refused token, a
//! refused port, a missing script or an unset variable is exit 2, named, with no secret shown.

use super::postgres::{self, Pg};
use super::support::{free_port, serve};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const DATABRICKS_TOKEN: &str = "dapi-preflight-token-8c1f2e";
const SNOWFLAKE_TOKEN: &str = "sf-pat-preflight-3b7d9a";
const PANTHER_KEY: &str = "panther-key-preflight-51ce0b";

/// A Databricks SQL warehouse: the statement succeeds at once (FAILED, with HTTP 200 as the
/// API does, when it names `no_such_table`), or the token is refused by a careless server that
/// repeats it in its error.
async fn databricks(refuse: bool) -> String {
    let answer = move |h: HeaderMap, body: String| async move {
        if refuse {
            let auth = h
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = json!({"error_code": "UNAUTHENTICATED",
                "message": format!("invalid access token: {auth}")});
            return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
        }
        if body.contains("no_such_table") {
            return axum::Json(json!({"statement_id": "01ef-pf", "status": {"state": "FAILED",
                "error": {"error_code": "BAD_REQUEST",
                    "message": "[TABLE_OR_VIEW_NOT_FOUND] The table or view `no_such_table` cannot be found."}}}))
            .into_response();
        }
        axum::Json(json!({
            "statement_id": "01ef-pf",
            "status": {"state": "SUCCEEDED"},
            "manifest": {"format": "JSON_ARRAY", "total_row_count": 1,
                "schema": {"column_count": 1, "columns": [
                    {"name": "error_pct", "position": 0, "type_name": "DOUBLE", "type_text": "DOUBLE"}]}},
            "result": {"chunk_index": 0, "row_offset": 0, "row_count": 1, "data_array": [["0.08"]]}
        }))
        .into_response()
    };
    serve(Router::new().route("/api/2.0/sql/statements", post(answer))).await
}

/// Snowflake's SQL API: a `jsonv2` result set on the first answer.
async fn snowflake() -> String {
    let answer = || async {
        axum::Json(json!({
            "code": "090001", "sqlState": "00000", "message": "Statement executed successfully.",
            "statementHandle": "e4ce975e-pf", "statementStatusUrl": "/api/v2/statements/e4ce975e-pf",
            "resultSetMetaData": {"format": "jsonv2", "numRows": 1, "rowType": [
                {"name": "P95_MS", "type": "fixed", "precision": 38, "scale": 0, "nullable": true}]},
            "data": [["900"]]
        }))
    };
    serve(Router::new().route("/api/v2/statements", post(answer))).await
}

/// Prometheus: one series whose sample is two seconds old, so the table shows its age.
async fn prometheus() -> String {
    let answer = || async {
        let at = chrono::Utc::now().timestamp_millis() as f64 / 1000.0 - 2.0;
        axum::Json(json!({"status": "success", "data": {"resultType": "vector",
            "result": [{"metric": {"job": "bi"}, "value": [at, "850"]}]}}))
    };
    serve(Router::new().route("/api/v1/query", get(answer))).await
}

/// A JSON health endpoint that wants its API key.
async fn panther() -> String {
    let answer = |h: HeaderMap| async move {
        if h.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(PANTHER_KEY) {
            return StatusCode::FORBIDDEN.into_response();
        }
        axum::Json(json!({"data": {"healthy": 1}})).into_response()
    };
    serve(Router::new().route("/health", get(answer))).await
}

/// `scripts/` beside the runbook: what the steps run. Running any of them leaves a mark, so a
/// test can tell that the preflight ran none.
fn scripts(dir: &Path) {
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    for name in ["switch.sh", "undo.sh", "check.sh"] {
        let p = dir.join("scripts").join(name);
        std::fs::write(
            &p,
            format!("#!/bin/sh\ntouch \"$(dirname \"$0\")/../ran-{name}\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A runbook with these connections and metrics, one step and a rollback step.
fn runbook(dir: &Path, connections: &str, metrics: &str, switch: &str) -> PathBuf {
    scripts(dir);
    let yaml = format!(
        r#"version: 1
title: Preflight test
strategy: blue-green
platforms: {{source: {{name: Snowflake}}, target: {{name: Databricks}}}}
connections:
{connections}
metrics:
{metrics}
phases:
  - id: window
    steps:
      - {{ id: switch, title: Switch, at: T+0:00, owner: o, expect: 1m, run: ["{switch}"] }}
rollback:
  title: Back
  steps:
    - {{ id: back, title: Back, owner: o, expect: 1m, run: ["./scripts/undo.sh"], verify: "./scripts/check.sh" }}
"#
    );
    let p = dir.join("rb.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

fn databricks_conn(url: &str) -> String {
    format!(
        "  databricks:\n    kind: databricks_sql\n    host: {url}\n    token: ${{env:PF_DATABRICKS_TOKEN}}\n    warehouse_id: wh-pf\n"
    )
}

fn snowflake_conn(url: &str) -> String {
    format!(
        "  snowflake:\n    kind: snowflake_sql\n    account: TEST-PF\n    url: {url}\n    token: ${{env:PF_SNOWFLAKE_TOKEN}}\n    token_type: programmatic_access_token\n"
    )
}

fn prom_conn(url: &str) -> String {
    format!("  prom:\n    kind: prometheus\n    url: {url}\n")
}

fn panther_conn(url: &str) -> String {
    format!(
        "  panther:\n    kind: http_json\n    url: {url}\n    headers: {{ X-API-Key: \"${{env:PF_PANTHER_KEY}}\" }}\n"
    )
}

const METRICS: &str = r#"  - { id: target-error-rate, title: Databricks errors, side: target, unit: "%", from: databricks, query: SELECT 0.08 }
  - { id: source-latency-p95, title: Snowflake p95, side: source, unit: ms, from: snowflake, query: SELECT 900 }
  - { id: target-latency-p95, title: BI p95, side: target, unit: ms, from: prom, query: "histogram_quantile(0.95, bi_seconds_bucket)" }
  - { id: panther-health, title: Panther, side: target, from: panther, path: /health, pointer: /data/healthy }
  - { id: backlog, title: Backlog, side: target, unit: jobs, run: ["sh", "-c", "echo 3"] }
"#;

/// Runs `cutover preflight rb` with these variables (and no other `PF_` ones); returns the
/// exit code and stdout, having checked that stderr is empty and that no step ran and no
/// session was made.
async fn preflight(rb: &Path, vars: &[(&str, &str)]) -> (i32, String) {
    let home = rb.parent().unwrap().join("home");
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"));
    c.arg("preflight").arg(rb).env("CUTOVER_HOME", &home);
    for (k, _) in std::env::vars() {
        if k.starts_with("PF_") {
            c.env_remove(k);
        }
    }
    for (k, v) in vars {
        c.env(k, v);
    }
    let out = c.output().await.unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The table is the test's evidence: shown when it runs with --nocapture.
    println!("{stdout}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
    for secret in [
        DATABRICKS_TOKEN,
        SNOWFLAKE_TOKEN,
        PANTHER_KEY,
        postgres::PASSWORD,
    ] {
        assert!(!stdout.contains(secret), "a secret is shown:\n{stdout}");
    }
    let dir = rb.parent().unwrap();
    for name in ["switch.sh", "undo.sh", "check.sh"] {
        assert!(!dir.join(format!("ran-{name}")).exists(), "{name} ran");
    }
    assert!(
        !home.exists(),
        "a session was made under {}",
        home.display()
    );
    for line in stdout.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line:?}"
        );
    }
    (out.status.code().unwrap(), stdout)
}

/// The words of the row for `name`, which must carry `mark` (✓ or ✗).
fn row(out: &str, mark: &str, name: &str) -> Vec<String> {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{mark} {name} ")))
        .unwrap_or_else(|| panic!("no `{mark} {name}` row in:\n{out}"));
    line.split_whitespace().map(str::to_string).collect()
}

/// A failed row's reason: the indented lines under it, as one line.
fn reason(out: &str, name: &str) -> String {
    let lines: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with(&format!("✗ {name} ")))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect();
    lines
        .iter()
        .flat_map(|l| l.split_whitespace())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A metric's row: its value (with unit), age and latency, the connection last.
fn assert_read(out: &str, id: &str, value: &str, via: &str) {
    let words = row(out, "✓", id);
    let text = words.join(" ");
    assert!(
        text.starts_with(&format!("✓ {id} {value} ")),
        "{id} does not read {value}: {text}"
    );
    assert_eq!(words.last().unwrap(), via, "{text}");
    let age = &words[words.len() - 3];
    let latency = &words[words.len() - 2];
    assert!(
        age.ends_with('s') && age.trim_end_matches('s').parse::<u32>().is_ok(),
        "age `{age}` in {text}"
    );
    assert!(
        latency.ends_with("ms") || latency.ends_with('s'),
        "latency `{latency}` in {text}"
    );
}

fn all_vars() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PF_DATABRICKS_TOKEN", DATABRICKS_TOKEN),
        ("PF_SNOWFLAKE_TOKEN", SNOWFLAKE_TOKEN),
        ("PF_PANTHER_KEY", PANTHER_KEY),
        ("PF_PG_PASSWORD", postgres::PASSWORD),
    ]
}

#[tokio::test]
async fn all_well_is_exit_0_with_every_metric_its_value_age_and_latency() {
    let pg = tokio::task::spawn_blocking(Pg::start).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let connections = [
        databricks_conn(&databricks(false).await),
        snowflake_conn(&snowflake().await),
        prom_conn(&prometheus().await),
        panther_conn(&panther().await),
        format!(
            "  redshift:\n    kind: postgres\n    flavor: postgresql\n    host: 127.0.0.1\n    port: {}\n    dbname: postgres\n    user: {}\n    password: ${{env:PF_PG_PASSWORD}}\n    tls: disable\n",
            pg.port,
            postgres::USER
        ),
    ]
    .concat();
    let metrics = format!(
        "{METRICS}  - {{ id: redshift-lag, title: Redshift lag, side: source, unit: min, from: redshift, query: SELECT 7 }}\n"
    );
    let rb = runbook(dir.path(), &connections, &metrics, "./scripts/switch.sh");
    let (code, out) = preflight(&rb, &all_vars()).await;
    assert_eq!(code, 0, "{out}");
    assert_read(&out, "target-error-rate", "0.08 %", "databricks");
    assert_read(&out, "source-latency-p95", "900 ms", "snowflake");
    assert_read(&out, "target-latency-p95", "850 ms", "prom");
    assert_read(&out, "panther-health", "1", "panther");
    assert_read(&out, "redshift-lag", "7 min", "redshift");
    assert_read(&out, "backlog", "3 jobs", "command");
    // Prometheus' own sample time is two seconds back: the age is the value's, not the read's.
    let age = row(&out, "✓", "target-latency-p95")[4].clone();
    let secs: u32 = age.trim_end_matches('s').parse().unwrap();
    assert!((2..60).contains(&secs), "age {age}");
    for v in [
        "PF_DATABRICKS_TOKEN",
        "PF_SNOWFLAKE_TOKEN",
        "PF_PANTHER_KEY",
        "PF_PG_PASSWORD",
    ] {
        assert_eq!(row(&out, "✓", v)[2], "set", "{out}");
    }
    for c in ["databricks", "snowflake", "prom", "panther", "redshift"] {
        assert_eq!(row(&out, "✓", c)[2], "connected", "{out}");
    }
    for s in [
        "./scripts/switch.sh",
        "./scripts/undo.sh",
        "./scripts/check.sh",
    ] {
        assert_eq!(row(&out, "✓", s)[2], "executable", "{out}");
    }
    assert!(
        out.ends_with("READY: all 18 checks passed (exit 0)\n"),
        "{out}"
    );
}

#[tokio::test]
async fn a_refused_token_and_a_refused_port_are_named_with_their_errors_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let connections = [
        databricks_conn(&databricks(true).await),
        snowflake_conn(&snowflake().await),
        prom_conn(&closed),
        panther_conn(&panther().await),
    ]
    .concat();
    let rb = runbook(dir.path(), &connections, METRICS, "./scripts/switch.sh");
    let (code, out) = preflight(&rb, &all_vars()).await;
    assert_eq!(code, 2, "{out}");
    assert_eq!(row(&out, "✗", "databricks")[2], "FAILED");
    let why = reason(&out, "databricks");
    assert!(
        why.starts_with(
            "authentication: HTTP 401: UNAUTHENTICATED: invalid access token: Bearer ***"
        ),
        "the server's refusal, with the token it echoed blanked: {why}"
    );
    assert!(
        why.ends_with(&format!(
            "({}:7:5); check the credentials in `PF_DATABRICKS_TOKEN`",
            rb.display()
        )),
        "where the connection is written, and what to check: {why}"
    );
    assert_eq!(row(&out, "✗", "prom")[2], "FAILED");
    let why = reason(&out, "prom");
    assert!(
        why.starts_with("connection: ")
            && why.contains("Connection refused")
            && why.ends_with("check its host or url, and that this machine can reach it"),
        "{why}"
    );
    // Their metrics point at the connection's error rather than repeat it.
    assert_eq!(
        reason(&out, "target-error-rate"),
        "as connection `databricks` (see connections)"
    );
    assert_eq!(
        reason(&out, "target-latency-p95"),
        "as connection `prom` (see connections)"
    );
    // The others are read all the same.
    assert_read(&out, "source-latency-p95", "900 ms", "snowflake");
    assert_read(&out, "panther-health", "1", "panther");
    assert!(
        out.ends_with("NOT READY: 4 of 15 checks failed, marked ✗ (exit 2)\n"),
        "{out}"
    );
}

#[tokio::test]
async fn a_missing_script_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let connections = prom_conn(&prometheus().await);
    let metrics = r#"  - { id: target-latency-p95, title: BI p95, side: target, unit: ms, from: prom, query: up }
"#;
    let rb = runbook(dir.path(), &connections, metrics, "./scripts/gone.sh");
    let (code, out) = preflight(&rb, &[]).await;
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        row(&out, "✗", "./scripts/gone.sh")[2..],
        ["MISSING", "switch"]
    );
    let why = reason(&out, "./scripts/gone.sh");
    let missing = dir.path().join("scripts/gone.sh");
    assert_eq!(
        why,
        format!(
            "{} does not exist ({}:16:9); fix the path or add the script",
            missing.display(),
            rb.display()
        )
    );
    assert_read(&out, "target-latency-p95", "850 ms", "prom");
    assert!(
        out.ends_with("NOT READY: 1 of 5 checks failed, marked ✗ (exit 2)\n"),
        "{out}"
    );
}

#[tokio::test]
async fn a_missing_secret_is_exit_2_naming_the_variable_and_never_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let connections = [
        databricks_conn(&databricks(false).await),
        snowflake_conn(&snowflake().await),
        panther_conn(&panther().await),
    ]
    .concat();
    let metrics: String = METRICS
        .lines()
        .filter(|l| !l.contains("from: prom"))
        .map(|l| format!("{l}\n"))
        .collect();
    let rb = runbook(dir.path(), &connections, &metrics, "./scripts/switch.sh");
    let vars: Vec<_> = all_vars()
        .into_iter()
        .filter(|(k, _)| *k != "PF_SNOWFLAKE_TOKEN")
        .collect();
    let (code, out) = preflight(&rb, &vars).await;
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        row(&out, "✗", "PF_SNOWFLAKE_TOKEN")[2..],
        ["NOT", "SET", "snowflake.token"]
    );
    assert_eq!(
        reason(&out, "PF_SNOWFLAKE_TOKEN"),
        format!(
            "`PF_SNOWFLAKE_TOKEN` is not set ({}:15:12); export PF_SNOWFLAKE_TOKEN=… before the run",
            rb.display()
        )
    );
    assert_eq!(
        row(&out, "✗", "snowflake")[2..],
        ["NOT", "SET", "UP", "snowflake_sql"]
    );
    assert_eq!(
        reason(&out, "snowflake"),
        "needs `PF_SNOWFLAKE_TOKEN`, not set (see secrets)"
    );
    assert_eq!(
        reason(&out, "source-latency-p95"),
        "connection `snowflake` is not set up (see connections)"
    );
    // What can be checked still is.
    assert_eq!(row(&out, "✓", "PF_DATABRICKS_TOKEN")[2], "set");
    assert_read(&out, "target-error-rate", "0.08 %", "databricks");
    assert_read(&out, "panther-health", "1", "panther");
    assert!(
        out.ends_with("NOT READY: 3 of 13 checks failed, marked ✗ (exit 2)\n"),
        "{out}"
    );
}

#[tokio::test]
async fn a_failing_query_fails_its_metric_and_not_its_connection() {
    let dir = tempfile::tempdir().unwrap();
    let connections = databricks_conn(&databricks(false).await);
    let metrics = r#"  - { id: target-error-rate, title: Databricks errors, side: target, unit: "%", from: databricks, query: SELECT 0.08 }
  - { id: target-freshness, title: Freshness, side: target, unit: min, from: databricks, query: SELECT max(at) FROM no_such_table }
"#;
    let rb = runbook(dir.path(), &connections, metrics, "./scripts/switch.sh");
    let (code, out) = preflight(&rb, &all_vars()).await;
    assert_eq!(code, 2, "{out}");
    assert_eq!(row(&out, "✓", "databricks")[2], "connected", "{out}");
    assert_read(&out, "target-error-rate", "0.08 %", "databricks");
    assert_eq!(row(&out, "✗", "target-freshness")[2], "FAILED");
    let why = reason(&out, "target-freshness");
    assert!(
        why.starts_with(
            "query failed: BAD_REQUEST: [TABLE_OR_VIEW_NOT_FOUND] The table or view `no_such_table` cannot be found."
        ) && why.ends_with(&format!("; {}:14:5)", rb.display())),
        "the platform's own words, and where the query is written: {why}"
    );
    assert!(
        out.ends_with("NOT READY: 1 of 7 checks failed, marked ✗ (exit 2)\n"),
        "{out}"
    );
}

#[tokio::test]
async fn an_empty_secret_fails_naming_it_and_a_key_file_path_is_shown_not_blanked() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keys").join("no-such-key.p8");
    let sf = snowflake().await;
    let connections = [
        databricks_conn(&databricks(false).await),
        format!(
            "  snowflake:\n    kind: snowflake_sql\n    account: TEST-PF\n    url: {sf}\n    user: PF_USER\n    private_key_file: ${{env:PF_SF_KEY_FILE}}\n"
        ),
    ]
    .concat();
    let metrics: String = METRICS
        .lines()
        .filter(|l| l.contains("from: databricks") || l.contains("from: snowflake"))
        .map(|l| format!("{l}\n"))
        .collect();
    let rb = runbook(dir.path(), &connections, &metrics, "./scripts/switch.sh");
    let key = key_file.display().to_string();
    let vars = [
        ("PF_DATABRICKS_TOKEN", ""),
        ("PF_SF_KEY_FILE", key.as_str()),
    ];
    let (code, out) = preflight(&rb, &vars).await;
    assert_eq!(code, 2, "{out}");
    // Set but empty: a failure that names the variable, and its connection is not opened
    // (an empty token must never pass for one that works).
    assert_eq!(
        row(&out, "✗", "PF_DATABRICKS_TOKEN")[2..],
        ["EMPTY", "databricks.token"]
    );
    assert_eq!(
        row(&out, "✗", "databricks")[2..],
        ["NOT", "SET", "UP", "databricks_sql"]
    );
    assert_eq!(
        reason(&out, "databricks"),
        "needs `PF_DATABRICKS_TOKEN`, set but empty (see secrets)"
    );
    // The key file's path is not a secret: the reason says which file could not be read.
    assert_eq!(row(&out, "✓", "PF_SF_KEY_FILE")[2], "set");
    let why = reason(&out, "snowflake");
    assert!(
        why.contains("no-such-key.p8") && !why.contains("***"),
        "the key file's path is blanked or missing: {why}"
    );
}
