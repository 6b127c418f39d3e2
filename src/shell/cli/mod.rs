//! The command line (SPEC.md contract): the grammar of validate, drill, run, preflight, watch
//! and report, `--t0` parsing, and the `validate` and `preflight` commands, which start no
//! session. Turning `drill`/`run` arguments into runtime options lives in [`options`].

mod evidence;
mod options;

pub use evidence::{report, verify};

pub use options::{EarlyExit, Front, Launch, watch_options};

use crate::config::runbook;
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};

/// A terminal cockpit for live platform cutovers.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Cmd,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Check runbooks; exit 0 when clean, 2 on any error.
    Validate {
        /// Runbook files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Rehearse a runbook: drill clock, simulated metrics.
    Drill(RunArgs),
    /// Live cutover: real clock, real metrics.
    Run(RunArgs),
    /// Check a runbook against the live systems before the window (T-24h); exit 0 when all is
    /// well, 2 otherwise.
    ///
    /// Resolves every secret its connections need from the environment (as `run` does),
    /// connects, reads every metric once with the live run's readers (value, age and latency,
    /// or the error, secrets blanked), and checks that every script its steps, rollback and
    /// canary stages run exists and is executable. Prints one table. Runs no step, rollback
    /// or canary command, creates no session and writes no journal.
    Preflight {
        /// The runbook.
        file: PathBuf,
    },
    /// The view of a session another process drives, at your terminal's size.
    ///
    /// Connects to the driver's socket (SESSION_DIR/watch.sock) and shows the whole cockpit,
    /// following the run live. Your keys ask what the runbook's roles let your OS user ask
    /// (notes and a raised hand; approvers: decisions and second confirmations; the keys,
    /// when handed to you); the rest are refused, saying why. Without a live
    /// driver it shows the session as its journal left it, marked NOT LIVE, and reconnects
    /// by itself when a driver resumes the session.
    Watch {
        /// The session folder.
        session: PathBuf,
        /// A theme from themes/ (default: dark).
        #[arg(long, value_name = "NAME")]
        theme: Option<String>,
        /// A keymap file that remaps keys (as for drill and run).
        #[arg(long, value_name = "FILE")]
        keymap: Option<PathBuf>,
        /// The session's runbook, when the path its journal names does not lead to it from
        /// here.
        #[arg(long, value_name = "FILE")]
        runbook: Option<PathBuf>,
        /// Ask for the keys: take them when nobody holds them (a detached session), if the
        /// runbook's roles make you a driver. Otherwise the holder hands them over (H).
        #[arg(long)]
        drive: bool,
    },
    /// Write the session's report (Markdown) to stdout: outcome, steps against their plan,
    /// the rollback, triggers and decisions, notes, and the journal's digest. Exit 0, or 2
    /// when the folder is not a session.
    Report {
        /// The session folder.
        session: PathBuf,
        /// Compare with these sessions (its rehearsals, say), step by step by id.
        #[arg(long, value_name = "SESSION_DIR", num_args = 1..)]
        compare: Vec<PathBuf>,
        /// Also write the report as one self-contained HTML page with charts to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Check that a session's journal was not changed since it was written: every event
    /// carries the hash of the one before it. Exit 0 verified, 1 changed (the first changed
    /// line is named) or not verifiable, 2 not a session folder.
    Verify {
        /// The session folder.
        session: PathBuf,
    },
}

/// Options of drill and run.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The runbook.
    pub file: PathBuf,
    /// Session directory (journal.jsonl lives there); an existing one is resumed.
    #[arg(long, value_name = "DIR")]
    pub session: Option<PathBuf>,
    /// No TUI: print one line per event to stdout, take no keys.
    #[arg(long)]
    pub headless: bool,
    /// Run in the background, without a terminal, so the session outlives this one (an ssh
    /// session, a laptop closing) while the host stays up: prints the session folder and
    /// returns. A driver drives it with `cutover watch DIR --drive`; output goes to
    /// DIR/driver.log.
    #[arg(long)]
    pub detach: bool,
    /// Set on the background process `--detach` starts (not for people).
    #[arg(long, hide = true)]
    pub detached: bool,
    /// Acknowledge manual steps automatically (drill and tests).
    #[arg(long)]
    pub auto_ack: bool,
    /// Drill clock speed factor, or `max` (drill only; default 60).
    #[arg(long, value_name = "N|max")]
    pub speed: Option<String>,
    /// T-0 as RFC 3339 or as an offset from now (e.g. +10m).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub t0: Option<String>,
    /// A theme from themes/ (default: dark).
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// A keymap file that remaps keys (default: $CUTOVER_KEYMAP, else
    /// ~/.config/cutover/keymap.yaml when it exists).
    #[arg(long, value_name = "FILE")]
    pub keymap: Option<PathBuf>,
    /// Tests only: panic in the cockpit (`main`) or in a background task (`task`).
    #[arg(long, value_name = "WHERE", hide = true)]
    pub panic_test: Option<String>,
    /// Who is at the keys (default: your OS user name, else $USER); recorded on every
    /// action.
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,
    /// Make that step fail as if its command had failed (drill only).
    #[arg(long, value_name = "STEP_ID")]
    pub fail: Option<String>,
    /// Play one of the runbook's drill scenarios (drill only).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Print the runbook's scenario names, one per line, and exit (drill only).
    #[arg(long)]
    pub list_scenarios: bool,
    /// Earlier drills of this runbook to learn step durations from: session folders, or
    /// folders of them (default: the drills in the sessions folder).
    #[arg(long, value_name = "DIR", num_args = 1..)]
    pub rehearsals: Vec<PathBuf>,
}

/// Parses `--t0`: RFC 3339, or `+10m` / `-5m` from now.
pub fn parse_t0(
    s: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => {
            return Err(format!(
                "--t0 `{s}`: use RFC 3339 (2026-12-05T02:00:00Z) or an offset from now (+10m, -1h)"
            ));
        }
    };
    let d = crate::core::time::parse_duration(rest).map_err(|e| format!("--t0 `{s}`: {e}"))?;
    Ok(now + chrono::Duration::milliseconds(sign * d))
}

/// `cutover validate`: every diagnostic of every file, then a verdict per file. Returns the
/// exit code: 2 when any file has an error, so CI fails on it; warnings alone pass.
pub fn validate(files: &[PathBuf]) -> i32 {
    let mut failed = false;
    for f in files {
        failed |= !validate_one(f);
    }
    if failed { 2 } else { 0 }
}

/// `cutover preflight`: the runbook's live checks, printed as one table. Returns the exit
/// code: 0 when every check is well, 2 when any is not or the runbook is invalid.
pub fn preflight(file: &Path) -> i32 {
    // Loaded as for planning: a missing script is a row of the table (with the others),
    // not a refusal to check anything else.
    match options::load_runbook(file, crate::core::event::Mode::Drill) {
        Ok(rb) => crate::shell::preflight::run(&rb),
        Err(exit) => exit.report(),
    }
}

/// Validates one file; false when it has errors.
fn validate_one(f: &Path) -> bool {
    let loaded = runbook::load(f);
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    let warnings = loaded.diagnostics.iter().filter(|d| !d.is_error()).count();
    let errors = loaded.diagnostics.len() - warnings;
    if errors > 0 {
        eprintln!("{}: {errors} error(s), {warnings} warning(s)", f.display());
        return false;
    }
    let note = if warnings > 0 {
        format!(" ({warnings} warning(s))")
    } else {
        String::new()
    };
    println!("{}: ok{note}", f.display());
    true
}
