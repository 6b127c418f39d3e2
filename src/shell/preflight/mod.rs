//! `cutover preflight FILE`: the T-24h check of a runbook against the live systems. It owns
//! the report (one row per secret, connection, metric and script, each well or failed with
//! why) and the order the checks run in; the secrets are in `secrets`, connections and
//! metrics in `live`, the scripts in `scripts`, the text in `table`.
//!
//! It resolves secrets, connects and reads exactly as `cutover run` does (the same resolver,
//! readers, timeouts and redaction), but it runs no step, rollback or canary command, creates
//! no session and writes no journal: it may be run any number of times, beside a live run.

mod live;
mod scripts;
mod secrets;
mod table;

use crate::core::runbook::{Pos, Runbook};
use std::io::Write;
use std::path::Path;

pub use table::render;

/// What a row checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A `${env:NAME}` reference of a connection.
    Secret,
    /// A connection a metric reads from.
    Connection,
    /// One metric, read once.
    Metric,
    /// A program a step, rollback step or canary stage runs.
    Script,
}

impl Check {
    /// The word in the table's first column.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Secret => "secret",
            Check::Connection => "connection",
            Check::Metric => "metric",
            Check::Script => "script",
        }
    }
}

/// How one check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Well.
    Ok {
        /// What was found: `set`, `connected`, the value with its unit, `executable`.
        result: String,
        /// Metrics: how old the value is.
        age: String,
        /// Metrics: how long the read took.
        latency: String,
    },
    /// Not well.
    Failed {
        /// The verdict in a word or two: `NOT SET`, `FAILED`, `UNKNOWN`, `MISSING`.
        result: &'static str,
        /// What is wrong, where, and the fix (never a secret's value).
        why: String,
    },
}

impl Outcome {
    fn ok(result: impl Into<String>) -> Self {
        Outcome::Ok {
            result: result.into(),
            age: String::new(),
            latency: String::new(),
        }
    }

    fn failed(result: &'static str, why: impl Into<String>) -> Self {
        Outcome::Failed {
            result,
            why: why.into(),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What kind of thing (rows of a kind are grouped under its name).
    pub check: Check,
    /// Its name: the variable, connection, metric id or program.
    pub name: String,
    /// What it belongs to: the connection a secret or metric serves, a connection's kind,
    /// the steps that run a script.
    pub via: String,
    /// The verdict.
    pub outcome: Outcome,
}

/// Every check of one runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The runbook, as given on the command line.
    pub file: String,
    /// When the reads were made (RFC 3339, UTC): a preflight is evidence for the change record.
    pub at: String,
    /// Secrets, connections, metrics, then scripts, each in the runbook's order.
    pub rows: Vec<Row>,
}

impl Report {
    /// The rows that failed.
    pub fn failures(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed { .. }))
            .count()
    }

    /// 0 when every check is well, 2 otherwise (SPEC: 2 is what a script tests for "not ready").
    pub fn exit_code(&self) -> i32 {
        if self.failures() == 0 { 0 } else { 2 }
    }
}

/// Runs every check of `rb`. Reads go to the live systems, each bounded by its metric's
/// timeout, one connection's metrics one after another (so a latency is the query's own, not
/// time spent queued behind a neighbour), different connections at once.
pub async fn check(rb: &Runbook) -> Report {
    let mut rows = secrets::check(rb);
    rows.extend(live::connections_and_metrics(rb).await);
    rows.extend(scripts::check(rb));
    Report {
        file: rb.path.display().to_string(),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        rows,
    }
}

/// The whole command for a loaded runbook: checks, prints the table on stdout and returns the
/// exit code.
pub fn run(rb: &Runbook) -> i32 {
    // One thread is plenty: every check waits on the network or a child process.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cutover: cannot start the runtime: {e}");
            return 2;
        }
    };
    let report = rt.block_on(check(rb));
    // A reader that closed the pipe (`| head`) still gets the verdict from the exit code.
    let _ = std::io::stdout()
        .lock()
        .write_all(render(&report, table::WIDTH).as_bytes());
    report.exit_code()
}

/// `FILE:LINE:COL`, as diagnostics name a place, for the rows that point into the runbook.
fn place(file: &Path, pos: Pos) -> String {
    if pos.line == 0 {
        file.display().to_string()
    } else {
        format!("{}:{}:{}", file.display(), pos.line, pos.col)
    }
}
