//! The programs a runbook will start: every step's and rollback step's `run` and `verify`,
//! and the canary's `set_weight`, each checked to exist and be executable on this machine.
//! Nothing is run. `validate` only warns about scripts (it may run on a laptop far from the
//! cutover host); here, on the host, a missing one fails the preflight.

use super::{Check, Outcome, Row, place};
use crate::core::runbook::{Command, Pos, Runbook};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// One row per distinct program, in the order the runbook first uses it.
pub fn check(rb: &Runbook) -> Vec<Row> {
    // (program as written, step ids using it, first place)
    let mut found: Vec<(String, Vec<String>, Pos)> = Vec::new();
    let mut add = |program: String, user: &str, pos: Pos| match found
        .iter_mut()
        .find(|(p, _, _)| *p == program)
    {
        Some((_, users, _)) => {
            if !users.iter().any(|u| u == user) {
                users.push(user.to_string());
            }
        }
        None => found.push((program, vec![user.to_string()], pos)),
    };
    for step in rb.steps().chain(rb.rollback_steps()) {
        for cmd in [&step.run, &step.verify].into_iter().flatten() {
            if let Some(p) = program_of(cmd) {
                add(p, &step.id, step.pos);
            }
        }
        // A stage without its own `run` sets its weight with the canary's command.
        let sets_weight = step.run.is_none() && rb.signals.stages.contains_key(&step.id);
        if sets_weight && let Some(p) = rb.signals.set_weight.as_ref().and_then(|a| a.first()) {
            add(p.clone(), &step.id, step.pos);
        }
    }
    found
        .into_iter()
        .map(|(program, users, pos)| Row {
            check: Check::Script,
            outcome: verdict(&program, &rb.dir, &place(&rb.path, pos)),
            name: program,
            via: users.join(", "),
        })
        .collect()
}

/// The program a command starts, when it can be known without running a shell: an argv's
/// first word, or a shell string's first word when it is a path (a bare word there may be a
/// builtin, a variable assignment or a keyword).
fn program_of(cmd: &Command) -> Option<String> {
    let first = match cmd {
        Command::Argv(v) => v.first()?.clone(),
        Command::Shell(s) => {
            let w = s.split_whitespace().next()?;
            if !w.contains('/') {
                return None;
            }
            w.to_string()
        }
    };
    // `$HOME/x`, `~/x`: the shell's to expand; what it expands to is not ours to guess.
    (!first.starts_with('$') && !first.starts_with('~')).then_some(first)
}

/// Exists and executable, with the fix when not. `at` is where the runbook first uses it.
fn verdict(program: &str, dir: &Path, at: &str) -> Outcome {
    let path = if program.contains('/') {
        // Relative paths are the runbook's folder's, as the executor resolves them.
        dir.join(program.trim_start_matches("./"))
    } else {
        match on_path(program) {
            Some(p) => p,
            None => {
                return Outcome::failed(
                    "NOT FOUND",
                    format!("not found on PATH: install `{program}` or write its full path ({at})"),
                );
            }
        }
    };
    match std::fs::metadata(&path) {
        Err(_) => Outcome::failed(
            "MISSING",
            format!(
                "{} does not exist ({at}); fix the path or add the script",
                path.display()
            ),
        ),
        Ok(m) if !m.is_file() => Outcome::failed(
            "NOT A FILE",
            format!(
                "{} is not a file ({at}); point the step at the program",
                path.display()
            ),
        ),
        Ok(m) if m.permissions().mode() & 0o111 == 0 => Outcome::failed(
            "NOT EXEC",
            format!(
                "{} is not executable ({at}); run `chmod +x {}`",
                path.display(),
                path.display()
            ),
        ),
        Ok(_) => Outcome::ok("executable"),
    }
}

/// Where `PATH` finds an executable `program`, as the executor's exec would.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_programs_known_without_a_shell_are_checked() {
        let argv = |v: &[&str]| Command::Argv(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            program_of(&argv(&["./scripts/a.sh", "x"])),
            Some("./scripts/a.sh".into())
        );
        assert_eq!(program_of(&argv(&["psql"])), Some("psql".into()));
        assert_eq!(program_of(&Command::Shell("echo go".into())), None);
        assert_eq!(
            program_of(&Command::Shell("./b.sh --on".into())),
            Some("./b.sh".into())
        );
        assert_eq!(program_of(&Command::Shell("$HOME/c.sh".into())), None);
    }

    #[test]
    fn a_missing_or_unexecutable_script_fails_with_its_fix() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("s.sh");
        std::fs::write(&s, "#!/bin/sh\n").unwrap();
        let Outcome::Failed { why, .. } = verdict("./s.sh", dir.path(), "rb.yaml:3:5") else {
            panic!("a script without x passed");
        };
        assert!(
            why.contains("chmod +x") && why.contains("rb.yaml:3:5"),
            "{why}"
        );
        std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            verdict("./s.sh", dir.path(), ""),
            Outcome::Ok { .. }
        ));
        let Outcome::Failed { result, why } = verdict("./gone.sh", dir.path(), "rb.yaml:9:1")
        else {
            panic!("a missing script passed");
        };
        assert_eq!(result, "MISSING");
        assert!(
            why.contains("gone.sh does not exist (rb.yaml:9:1)"),
            "{why}"
        );
        assert!(matches!(verdict("sh", dir.path(), ""), Outcome::Ok { .. }));
        assert!(matches!(
            verdict("no-such-program-x9", dir.path(), ""),
            Outcome::Failed { .. }
        ));
    }
}
