//! The scripts a runbook starts, found from its folder: each step's `run` and `verify` (a
//! canary stage's set-weight command included, once filled into `run`) and each metric's
//! `run`. A missing or non-executable script fails whatever starts it, at the moment it is
//! needed. A live run therefore refuses to start with one (`Purpose::Live`: an error).
//! `validate` and `drill` report it as a warning, as they always have: a runbook is often
//! written and rehearsed before its real scripts are in place, and a drill that reaches the
//! step shows the failure without touching anything real. Commands that name no relative
//! path (`echo`, `/usr/bin/x`, `$HOME/x`) are the host's business and are not checked.

use super::Purpose;
use super::locations::Locations;
use super::reader::Findings;
use crate::core::runbook::diag::Pos;
use crate::core::runbook::model::{Command, Runbook};
use crate::core::runbook::signals::LiveRead;
use std::path::Path;

/// Checks every script the runbook starts.
pub fn check(sink: &mut Findings, rb: &Runbook, spots: &Locations, purpose: Purpose) {
    for step in rb.steps().chain(rb.rollback_steps()) {
        for (key, verb, cmd) in [
            ("run", "runs", &step.run),
            ("verify", "verifies with", &step.verify),
        ] {
            let Some(cmd) = cmd else { continue };
            let who = Starter {
                what: format!("step `{}` {verb}", step.id),
                pos: spots.get(step, key),
            };
            script(sink, &rb.dir, cmd, &who, purpose);
        }
    }
    for m in &rb.signals.metrics {
        if let Some(LiveRead::Command(argv)) = &m.live
            && let Some(program) = argv.first()
        {
            let who = Starter {
                what: format!("metric `{}` is read with", m.id),
                pos: spots.of(m.pos, "run", program),
            };
            // A drill simulates metrics and never starts their commands.
            script(sink, &rb.dir, &Command::Argv(argv.clone()), &who, purpose);
        }
    }
}

/// Who starts a command and how, for the message (`step `freeze` runs`), and where the
/// command is written.
struct Starter {
    what: String,
    pos: Pos,
}

/// The program a command starts, when it is a path relative to the runbook.
fn script_of(cmd: &Command) -> Option<String> {
    let first = match cmd {
        Command::Argv(v) => v.first()?.clone(),
        Command::Shell(s) => s.split_whitespace().next()?.to_string(),
    };
    // `NAME=a/b ./x.sh` in a shell line starts with an assignment, not a program.
    (first.contains('/')
        && !first.contains('=')
        && !first.starts_with('/')
        && !first.starts_with('$')
        && !first.starts_with('~'))
    .then_some(first)
}

fn script(sink: &mut Findings, dir: &Path, cmd: &Command, who: &Starter, purpose: Purpose) {
    let Some(script) = script_of(cmd) else { return };
    let path = dir.join(script.trim_start_matches("./"));
    let what = &who.what;
    let (message, hint) = match std::fs::metadata(&path) {
        Err(_) => (
            format!(
                "{what} `{script}`, which does not exist relative to the runbook ({})",
                path.display()
            ),
            format!(
                "scripts are found from the runbook's folder ({}); fix the path or add the script",
                dir.display()
            ),
        ),
        Ok(m) => {
            use std::os::unix::fs::PermissionsExt;
            // A shell line starts its first word as a program too, so it needs the bit as well.
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return;
            }
            let why = if m.is_file() {
                "is not executable"
            } else {
                "is not a file"
            };
            (
                format!("{what} `{script}`, which {why}"),
                if m.is_file() {
                    format!("run `chmod +x {}`", path.display())
                } else {
                    "name the script itself, not its folder".to_string()
                },
            )
        }
    };
    match purpose {
        Purpose::Live => sink.error(
            who.pos,
            format!("{message}: a live run would fail there"),
            hint,
        ),
        Purpose::Plan => sink.warn(
            who.pos,
            message,
            format!("{hint}; `cutover run` refuses to start until it is fixed"),
        ),
    }
}
