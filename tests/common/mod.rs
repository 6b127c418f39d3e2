//! Helpers shared by the integration tests: the binary, temporary runbooks, journal reading,
//! and waiting on a condition (never on a bare sleep).

#![allow(dead_code)]

pub mod tmux;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cutover"));
    // A sessions folder of the test process's own: drills found in the user's would be
    // read as rehearsals and move the projections a test asserts (a test may set its own).
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("home-{}", std::process::id()));
    c.env("USER", "tester")
        .env("CUTOVER_HOME", home)
        .env_remove("CUTOVER_ALLOW_SIM");
    c
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub const HEAD: &str = "version: 1\ntitle: Test cutover\nstrategy: blue-green\nplatforms: {source: {name: Snowflake}, target: {name: Databricks}}\n";

/// Writes `yaml` as `rb.yaml` in `dir` and returns its path.
pub fn runbook(dir: &Path, yaml: &str) -> PathBuf {
    let p = dir.join("rb.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

pub fn journal(session: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(session.join("journal.jsonl")).unwrap_or_default();
    // Only whole lines: a line still being written (or torn by a crash) is not an event yet.
    let whole = text.rfind('\n').map(|i| &text[..=i]).unwrap_or("");
    whole
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad journal line {l:?}: {e}")))
        .collect()
}

pub fn kinds(j: &[Value]) -> Vec<String> {
    j.iter()
        .map(|e| match e.get("step").and_then(Value::as_str) {
            Some(s) => format!("{}:{s}", e["kind"].as_str().unwrap()),
            None => e["kind"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Checks the journal contract: seq 1, 2, 3 … and the required fields on every line.
pub fn assert_journal_contract(j: &[Value], mode: &str) {
    for (i, e) in j.iter().enumerate() {
        assert_eq!(
            e["seq"].as_u64(),
            Some(i as u64 + 1),
            "seq must rise by one: {e}"
        );
        assert!(
            e["at"]
                .as_str()
                .is_some_and(|a| chrono::DateTime::parse_from_rfc3339(a).is_ok()),
            "at: {e}"
        );
        assert!(e["t"].is_number(), "t: {e}");
        assert_eq!(e["mode"], mode, "{e}");
        assert!(e["kind"].is_string() && e["operator"].is_string(), "{e}");
        if e["kind"].as_str().unwrap().starts_with("step_") {
            assert!(e["step"].is_string(), "step events carry step: {e}");
        }
    }
}

/// Polls `cond` every 10 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

pub fn spawn(mut c: Command) -> Child {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub fn alive(pid: i32) -> bool {
    // A zombie is dead for our purposes.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

/// Processes whose environment names this session.
pub fn session_processes(session: &Path) -> Vec<i32> {
    let needle = format!(
        "CUTOVER_SESSION={}",
        std::fs::canonicalize(session)
            .unwrap_or(session.to_path_buf())
            .display()
    );
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(env) = std::fs::read(e.path().join("environ"))
            && env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes())
            && alive(pid)
        {
            out.push(pid);
        }
    }
    out
}

/// A connection to the driver's watch socket in `session`, once it serves (within 10 s).
pub fn connect(session: &Path) -> std::os::unix::net::UnixStream {
    let sock = session.join("watch.sock");
    let mut s = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            s = std::os::unix::net::UnixStream::connect(&sock).ok();
            s.is_some()
        }),
        "the driver never served {}",
        sock.display()
    );
    s.unwrap()
}
