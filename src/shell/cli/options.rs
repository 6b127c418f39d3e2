//! Turns the arguments of `drill` and `run` into a [`Launch`]: the runtime's [`Options`] plus
//! the front end to drive them. Every refusal SPEC.md promises for a bad command line, runbook,
//! connection, theme or keymap is decided here, in the order the checks have always run, and
//! comes back as an [`EarlyExit`] holding the exact text and exit code; nothing here prints, so
//! the binary is the one place that writes to the terminal before the runtime starts.

use super::{RunArgs, parse_t0};
use crate::config::keymap::{self, Keymap};
use crate::config::runbook::{self, reader::nearest};
use crate::config::theme::{self, Theme};
use crate::core::event::Mode;
use crate::core::runbook::{Diagnostic, Runbook};
use crate::core::time::Speed;
use crate::readers::ConnectionConfig;
use crate::shell::runtime::Options;
use crate::shell::{connect, session};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Everything a drill or run needs before the runtime starts.
pub struct Launch {
    /// What the runtime runs.
    pub options: Options,
    /// Who shows it.
    pub front: Front,
    /// `--panic-test`: replaces the run with a terminal-restore check.
    pub panic_test: Option<String>,
    /// Print `session <dir>` before starting: a headless caller did not choose the folder and
    /// has no other way to find the journal.
    pub announce_session: bool,
}

/// The front end of a run.
pub enum Front {
    /// `--headless`: one line per event on stdout.
    Headless,
    /// The TUI, with the theme and keymap it was started with.
    Cockpit {
        /// Colours, already stripped when `NO_COLOR` is set. Boxed: a theme is large and the
        /// headless variant is empty.
        theme: Box<Theme>,
        /// The default keymap with the operator's overlay applied.
        keymap: Keymap,
    },
}

/// Why `drill`/`run` ends before the runtime starts, with what it has to say.
#[derive(Debug)]
pub enum EarlyExit {
    /// A flag that cannot work: `cutover: <message>` on stderr, exit 2.
    Usage(String),
    /// The runbook, a connection, the theme or the keymap has problems: each on stderr, then
    /// the summary when there is one, exit 2.
    Invalid {
        /// The problems, located.
        diagnostics: Vec<Diagnostic>,
        /// What the problems stop, and how to see all of them.
        summary: Option<String>,
    },
    /// `--list-scenarios` is answered: one name per line on stdout, exit 0.
    Listed(Vec<String>),
}

impl EarlyExit {
    /// Prints the exit's text where it belongs and returns the process exit code.
    pub fn report(self) -> i32 {
        match self {
            EarlyExit::Usage(msg) => {
                eprintln!("cutover: {msg}");
                2
            }
            EarlyExit::Invalid {
                diagnostics,
                summary,
            } => {
                for d in diagnostics {
                    eprintln!("{d}");
                }
                if let Some(s) = summary {
                    eprintln!("{s}");
                }
                2
            }
            EarlyExit::Listed(names) => {
                // A reader that closed the pipe (`| head`) has had what it wanted.
                let mut out = std::io::stdout().lock();
                for n in names {
                    if writeln!(out, "{n}").is_err() {
                        break;
                    }
                }
                0
            }
        }
    }
}

impl RunArgs {
    /// Checks the arguments and resolves them into a [`Launch`] for `mode`.
    pub fn into_launch(self, mode: Mode) -> Result<Launch, EarlyExit> {
        let drill = mode == Mode::Drill;
        if !drill {
            self.refuse_drill_only_flags()?;
        }
        let rb = load_runbook(&self.file, mode)?;
        if self.list_scenarios {
            return Err(EarlyExit::Listed(scenario_names(&rb)));
        }
        if let Some(s) = &self.scenario {
            check_scenario(&rb, s)?;
        }
        let connections = if drill {
            HashMap::new()
        } else {
            live_connections(&rb, &self.file)?
        };
        if let Some(f) = &self.fail {
            check_fail_step(&rb, f)?;
        }
        let speed = resolve_speed(self.speed.as_deref())?;
        let t0 = resolve_t0(self.t0.as_deref(), Utc::now())?;
        let front = self.front()?;
        let announce_session = self.session.is_none() && self.headless;
        let session = self.session_dir(mode);
        let operator = resolve_operator(self.operator.clone());
        let resume_hint = self.resume_hint(mode, &session);
        let rehearsals =
            crate::shell::rehearsals::find(&self.rehearsals, &self.file, &rb, &session)
                .map_err(EarlyExit::Usage)?;
        let options = Options {
            runbook: rb,
            mode,
            session,
            speed,
            t0,
            operator,
            auto_ack: self.auto_ack,
            fail_step: self.fail,
            detached: self.detached,
            resume_hint,
            scenario: self.scenario,
            connections,
            rehearsals,
        };
        Ok(Launch {
            options,
            front,
            panic_test: self.panic_test,
            announce_session,
        })
    }

    /// A live run must not quietly ignore a drill's knobs: the operator would believe a step
    /// is set to fail, or the clock sped up, when neither is true.
    fn refuse_drill_only_flags(&self) -> Result<(), EarlyExit> {
        let flags = [
            (self.speed.is_some(), "--speed"),
            (self.fail.is_some(), "--fail"),
            (self.scenario.is_some(), "--scenario"),
            (self.list_scenarios, "--list-scenarios"),
        ];
        match flags.into_iter().find(|(set, _)| *set) {
            Some((_, flag)) => Err(EarlyExit::Usage(format!(
                "{flag} is for drills only: `cutover drill {} {flag} …`",
                self.file.display()
            ))),
            None => Ok(()),
        }
    }

    /// The cockpit's theme and keymap; headless runs read neither, so a broken theme file
    /// cannot stop a scripted run.
    fn front(&self) -> Result<Front, EarlyExit> {
        if self.headless {
            return Ok(Front::Headless);
        }
        let theme = self.theme()?;
        let keymap = self.keymap()?;
        Ok(Front::Cockpit {
            theme: Box::new(theme),
            keymap,
        })
    }

    fn theme(&self) -> Result<Theme, EarlyExit> {
        let name = self.theme.as_deref().unwrap_or(theme::DEFAULT);
        let theme = theme::load(name, &themes_dir(&self.file)).map_err(invalid)?;
        // https://no-color.org: set and non-empty means no colour.
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ok(if no_color { theme.no_color() } else { theme })
    }

    fn keymap(&self) -> Result<Keymap, EarlyExit> {
        match self.keymap.clone().or_else(keymap::default_path) {
            None => Ok(keymap::default_keymap()),
            Some(path) => keymap::load_overlay(&path).map_err(invalid),
        }
    }

    /// `--session`, else a fresh folder under the sessions root named for the runbook.
    fn session_dir(&self, mode: Mode) -> PathBuf {
        self.session.clone().unwrap_or_else(|| {
            session::new_dir(&session::default_root(), &self.file, mode.as_str())
        })
    }

    /// The command that picks this session up again the way it was started, for the
    /// `resumable:` line of a run that stops short: pasting it must not change how it runs.
    fn resume_hint(&self, mode: Mode, session: &Path) -> String {
        let verb = if mode == Mode::Drill { "drill" } else { "run" };
        let mut hint = format!(
            "cutover {verb} {} --session {}",
            self.file.display(),
            session.display()
        );
        if self.headless {
            hint.push_str(" --headless");
        }
        if let Some(s) = &self.scenario {
            hint.push_str(&format!(" --scenario {s}"));
        }
        if let Some(s) = &self.speed {
            hint.push_str(&format!(" --speed {s}"));
        }
        if self.auto_ack {
            hint.push_str(" --auto-ack");
        }
        if !self.rehearsals.is_empty() {
            hint.push_str(" --rehearsals");
            for d in &self.rehearsals {
                hint.push_str(&format!(" {}", d.display()));
            }
        }
        hint
    }
}

/// Loads and validates the runbook for `mode`. Only errors are shown here: warnings do not
/// stop a run, and `cutover validate` is where they are read.
pub(super) fn load_runbook(file: &Path, mode: Mode) -> Result<Runbook, EarlyExit> {
    let purpose = match mode {
        Mode::Live => runbook::Purpose::Live,
        Mode::Drill => runbook::Purpose::Plan,
    };
    let loaded = runbook::load_for(file, purpose);
    // The loader yields a runbook exactly when there is no error, so nothing is lost by
    // showing the errors only when refusing.
    loaded.runbook.ok_or_else(|| EarlyExit::Invalid {
        diagnostics: loaded
            .diagnostics
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect(),
        summary: Some(format!(
            "{}: invalid runbook; `cutover validate {}` lists every problem",
            file.display(),
            file.display()
        )),
    })
}

fn scenario_names(rb: &Runbook) -> Vec<String> {
    rb.signals
        .scenarios
        .iter()
        .map(|s| s.name.clone())
        .collect()
}

/// Refuses a `--scenario` the runbook does not define, naming the nearest one.
fn check_scenario(rb: &Runbook, name: &str) -> Result<(), EarlyExit> {
    if rb.signals.scenario(name).is_some() {
        return Ok(());
    }
    let names: Vec<&str> = rb
        .signals
        .scenarios
        .iter()
        .map(|x| x.name.as_str())
        .collect();
    if names.is_empty() {
        return Err(EarlyExit::Usage(format!(
            "--scenario {name}: this runbook defines no drill scenarios"
        )));
    }
    Err(EarlyExit::Usage(format!(
        "--scenario {name}: no such scenario.{} Scenarios: {}",
        did_you_mean(name, &names),
        names.join(", ")
    )))
}

/// Refuses a `--fail` that names no step, naming the nearest id.
fn check_fail_step(rb: &Runbook, id: &str) -> Result<(), EarlyExit> {
    if rb.step(id).is_some() {
        return Ok(());
    }
    let ids: Vec<&str> = rb.steps().map(|s| s.id.as_str()).collect();
    Err(EarlyExit::Usage(format!(
        "--fail {id}: no step has that id.{} Steps: {}",
        did_you_mean(id, &ids),
        ids.join(", ")
    )))
}

/// ` Did you mean `x`?` for a close candidate, else nothing.
fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    nearest(word, candidates)
        .map(|n| format!(" Did you mean `{n}`?"))
        .unwrap_or_default()
}

/// A live run resolves every connection (and its secrets) before the runtime starts, so a
/// missing variable is found at the desk rather than by the first poll mid-cutover.
fn live_connections(
    rb: &Runbook,
    file: &Path,
) -> Result<HashMap<String, ConnectionConfig>, EarlyExit> {
    connect::resolve(rb).map_err(|diagnostics| EarlyExit::Invalid {
        diagnostics,
        summary: Some(format!(
            "{}: cannot start a live run until these are fixed",
            file.display()
        )),
    })
}

/// `--speed`, 60× by default: an hour's runbook rehearses in a minute.
fn resolve_speed(flag: Option<&str>) -> Result<Speed, EarlyExit> {
    flag.map(Speed::parse)
        .unwrap_or(Ok(Speed::Factor(60.0)))
        .map_err(|e| EarlyExit::Usage(format!("--speed {e}")))
}

/// `--t0` as a wall time; an offset counts from `now`.
fn resolve_t0(flag: Option<&str>, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, EarlyExit> {
    flag.map(|s| parse_t0(s, now))
        .transpose()
        .map_err(EarlyExit::Usage)
}

/// `--operator`, else who the process runs as: the account name of the effective uid (what
/// `id -un` says, true even when `$USER` is unset or stale after `su`), else `$USER`, else
/// `uid N`. The journal records a name on every action; a placeholder such as `operator`
/// would leave them unattributed.
fn resolve_operator(flag: Option<String>) -> String {
    let uid = nix::unistd::geteuid();
    let account = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name);
    pick_operator(flag, account, std::env::var("USER").ok(), uid.as_raw())
}

/// The first non-blank of the flag, the account name and `$USER`, else `uid N`.
fn pick_operator(
    flag: Option<String>,
    account: Option<String>,
    user: Option<String>,
    uid: u32,
) -> String {
    [flag, account, user]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// `themes/` beside the runbooks' folder (`runbooks/x.yaml` → `themes/`), so a checkout works
/// from any directory; else `themes/` under the working directory.
fn themes_dir(runbook: &Path) -> PathBuf {
    runbook
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("themes"))
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| PathBuf::from("themes"))
}

fn invalid(diagnostics: Vec<Diagnostic>) -> EarlyExit {
    EarlyExit::Invalid {
        diagnostics,
        summary: None,
    }
}

/// The absolute runbook path a live driver's `hello` names (the journal has it as the
/// driver was given it, maybe relative to another folder).
fn driver_runbook(session: &Path) -> Option<PathBuf> {
    use std::io::{BufRead, Read};
    let s =
        std::os::unix::net::UnixStream::connect(session.join(crate::shell::serve::SOCKET)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(1)))
        .ok()?;
    let mut line = String::new();
    std::io::BufReader::new(s)
        .take(crate::shell::wire::MAX_SERVER_FRAME as u64)
        .read_line(&mut line)
        .ok()?;
    match crate::shell::wire::parse_server(line.trim_end().as_bytes()).ok()? {
        crate::shell::wire::Server::Other(crate::shell::wire::ServerFrame::Hello {
            driver,
            ..
        }) => Some(PathBuf::from(driver.runbook)),
        _ => None,
    }
}

/// What `cutover watch` needs before its runtime starts: the session's runbook (the path its
/// `session_started` names, or `--runbook`), its mode and speed, the theme and the keymap.
pub fn watch_options(
    session: &Path,
    theme_name: Option<&str>,
    keymap_file: Option<PathBuf>,
    runbook_file: Option<PathBuf>,
) -> Result<crate::shell::watch::WatchOptions, EarlyExit> {
    use crate::core::event::Event;
    let records = crate::shell::journal::read(session).map_err(|e| {
        EarlyExit::Usage(format!(
            "{} is not a session folder one can watch: {e}",
            session.display()
        ))
    })?;
    let Some(first) = records.first() else {
        return Err(EarlyExit::Usage(format!(
            "session {} has an empty journal: nothing to watch yet",
            session.display()
        )));
    };
    let (path, fingerprint, speed) = match &first.event {
        Event::SessionStarted {
            runbook,
            fingerprint,
            speed,
            ..
        } => (PathBuf::from(runbook), fingerprint.clone(), speed.clone()),
        _ => {
            return Err(EarlyExit::Usage(format!(
                "session {}: its journal does not start with session_started",
                session.display()
            )));
        }
    };
    // The journal names the runbook as the driver was given it; the driver's own folder is
    // the best guess for a relative path, else this one.
    let file = match runbook_file {
        Some(f) => f,
        None if !path.exists() => driver_runbook(session).unwrap_or(path),
        None => path,
    };
    let rb = load_runbook(&file, Mode::Drill).map_err(|e| match e {
        EarlyExit::Invalid { diagnostics, .. } if diagnostics.is_empty() => {
            EarlyExit::Usage(format!(
                "cannot read the session's runbook {}: give it with --runbook FILE",
                file.display()
            ))
        }
        other => other,
    })?;
    // Steps are drawn from the runbook: another file's steps would misread every record.
    let known = records.iter().any(
        |r| matches!(&r.event, Event::RunbookChanged { fingerprint: f } if *f == rb.fingerprint),
    );
    if rb.fingerprint != fingerprint && !known {
        return Err(EarlyExit::Usage(format!(
            "{} is not the runbook session {} runs (it has changed, or is another file): give the session's runbook with --runbook FILE",
            file.display(),
            session.display()
        )));
    }
    let speed = speed
        .as_deref()
        .map(|s| s.trim_start_matches('×'))
        .and_then(|s| Speed::parse(s).ok())
        .unwrap_or(Speed::Factor(60.0));
    let name = theme_name.unwrap_or(theme::DEFAULT);
    let theme = theme::load(name, &themes_dir(&file)).map_err(invalid)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = if no_color { theme.no_color() } else { theme };
    let keymap = match keymap_file.or_else(keymap::default_path) {
        None => keymap::default_keymap(),
        Some(path) => keymap::load_overlay(&path).map_err(invalid)?,
    };
    Ok(crate::shell::watch::WatchOptions {
        session: session.to_path_buf(),
        runbook: rb,
        mode: first.mode,
        speed,
        theme,
        keymap,
        drive: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::cli::{Cli, Cmd};

    fn args(extra: &[&str]) -> RunArgs {
        use clap::Parser;
        let argv = ["cutover", "drill", "runbooks/x.yaml"].iter().chain(extra);
        match Cli::parse_from(argv).command {
            Cmd::Drill(a) => a,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn the_resume_hint_repeats_what_shapes_the_rehearsal() {
        let a = args(&[
            "--headless",
            "--scenario",
            "slow",
            "--speed",
            "max",
            "--auto-ack",
        ]);
        assert_eq!(
            a.resume_hint(Mode::Drill, Path::new("/s")),
            "cutover drill runbooks/x.yaml --session /s --headless --scenario slow --speed max --auto-ack"
        );
        assert_eq!(
            args(&[]).resume_hint(Mode::Live, Path::new("/s")),
            "cutover run runbooks/x.yaml --session /s"
        );
    }

    #[test]
    fn a_live_run_refuses_the_first_drill_only_flag() {
        let a = args(&["--fail", "x", "--list-scenarios"]);
        let Err(EarlyExit::Usage(msg)) = a.refuse_drill_only_flags() else {
            panic!("not refused");
        };
        assert_eq!(
            msg,
            "--fail is for drills only: `cutover drill runbooks/x.yaml --fail …`"
        );
        assert!(args(&["--headless"]).refuse_drill_only_flags().is_ok());
    }

    #[test]
    fn the_operator_is_the_flag_else_the_account_else_user_else_the_uid() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            pick_operator(some("ann"), some("root"), some("bob"), 0),
            "ann"
        );
        assert_eq!(
            pick_operator(None, some("carol"), some("bob"), 1000),
            "carol"
        );
        assert_eq!(pick_operator(some(""), some("carol"), None, 1000), "carol");
        assert_eq!(pick_operator(None, None, some("bob"), 1000), "bob");
        assert_eq!(pick_operator(None, None, some(" "), 1000), "uid 1000");
        assert_eq!(pick_operator(None, None, None, 4242), "uid 4242");
    }

    #[test]
    fn without_the_flag_the_operator_is_who_the_process_runs_as() {
        let uid = nix::unistd::geteuid();
        let name = resolve_operator(None);
        match nix::unistd::User::from_uid(uid).ok().flatten() {
            Some(u) => assert_eq!(name, u.name),
            None => assert!(!name.is_empty() && name != "operator", "{name}"),
        }
    }

    #[test]
    fn speed_defaults_to_sixty_and_names_the_flag_when_wrong() {
        assert!(matches!(resolve_speed(None), Ok(Speed::Factor(f)) if f == 60.0));
        let Err(EarlyExit::Usage(msg)) = resolve_speed(Some("fast")) else {
            panic!("accepted");
        };
        assert!(msg.starts_with("--speed "), "{msg}");
    }
}
