//! The headless runtime: sets a session up (lock, journal, clock, replay), then drives the
//! engine: ticks and command events in, effects out — journal appends (fsynced, then printed),
//! spawns and kills — until the run ends or needs an operator it cannot have.

use crate::clock::{Clock, DrillClock, Speed, WallClock};
use crate::engine::{Config, Effect, Engine, Msg, Outcome};
use crate::exec::{ExecEvent, Executor, kill_leftovers};
use crate::journal::{self, Entry, Journal, JournalError, Mode};
use crate::print;
use crate::runbook::Runbook;
use crate::runbook::time::Ms;
use crate::session::{self, LockError, SessionLock};
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// How to run a session.
#[derive(Debug, Clone)]
pub struct Options {
    /// The validated runbook.
    pub runbook: Runbook,
    /// live or drill.
    pub mode: Mode,
    /// Session folder (made if missing; resumed if it has a journal).
    pub session: PathBuf,
    /// Drill speed.
    pub speed: Speed,
    /// `--t0`, already resolved to a wall time.
    pub t0: Option<DateTime<Utc>>,
    /// Who is at the keys.
    pub operator: String,
    /// Confirm manual steps automatically.
    pub auto_ack: bool,
    /// Drill: fail this step.
    pub fail_step: Option<String>,
    /// The command line to print in "resume with" hints.
    pub resume_hint: String,
}

/// Why a session could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Someone else drives it, or the lock failed.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The journal could not be read or written.
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
    /// Anything else about the session folder.
    #[error("{0}")]
    Session(String),
}

impl RunError {
    /// Exit code: 2 for a session that cannot be taken (usage), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Lock(LockError::Held { .. }) | RunError::Session(_) => 2,
            _ => 1,
        }
    }
}

struct Out {
    rb: Runbook,
}

impl Out {
    fn event(&self, ev: &journal::Event) {
        if let Some(l) = print::event_line(&self.rb, ev) {
            say(&l);
        }
    }
}

/// Prints a line. A closed stdout (a pipe into `head`, a dropped ssh session) must not stop a
/// cutover: the journal is the record, so write errors are ignored.
fn say(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// A session ready to drive.
pub struct Session {
    /// The engine, replayed.
    pub engine: Engine,
    /// The clock.
    pub clock: Box<dyn Clock>,
    /// The journal.
    pub journal: Journal,
    lock: Option<SessionLock>,
    /// Effects to perform first (session_started or resume records).
    pub pending: Vec<Entry>,
    /// Set when the session had already ended: its outcome.
    pub already_ended: Option<Outcome>,
}

/// Opens (or creates) the session and prepares engine and clock.
pub fn open(opts: &Options) -> Result<Session, RunError> {
    std::fs::create_dir_all(opts.session.join("output")).map_err(|e| {
        RunError::Session(format!(
            "cannot create session folder {}: {e}",
            opts.session.display()
        ))
    })?;
    let (lock, stale) = session::acquire(&opts.session, &opts.operator)?;
    let (journal, events, repair) = journal::open(&opts.session, opts.mode)?;
    let rb = &opts.runbook;
    let first = events.first();
    if let Some(f) = first {
        if f.mode != opts.mode {
            return Err(RunError::Session(format!(
                "session {} is a {} session; resume it with `cutover {}`, not `cutover {}`",
                opts.session.display(),
                f.mode.as_str(),
                if f.mode == Mode::Drill {
                    "drill"
                } else {
                    "run"
                },
                if opts.mode == Mode::Drill {
                    "drill"
                } else {
                    "run"
                }
            )));
        }
        if f.str("runbook_title").is_some_and(|t| t != rb.title) {
            return Err(RunError::Session(format!(
                "session {} belongs to runbook \"{}\", not \"{}\"",
                opts.session.display(),
                f.str("runbook_title").unwrap_or("?"),
                rb.title
            )));
        }
    }
    let cfg = Config {
        auto_ack: opts.auto_ack,
        fail_step: opts.fail_step.clone(),
    };
    let mut engine = Engine::new(rb.clone(), cfg);
    engine.replay(&events);
    let already_ended = engine.outcome;

    let clock: Box<dyn Clock> = match opts.mode {
        Mode::Live => {
            let t0 = first
                .and_then(|f| f.str("t0"))
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .or(opts.t0)
                .or(rb.t0)
                .unwrap_or_else(Utc::now);
            Box::new(WallClock::new(t0))
        }
        Mode::Drill => {
            let start: Ms = match events.last() {
                Some(last) => last.t_ms(),
                None => match opts.t0 {
                    Some(t0) => (Utc::now() - t0).num_milliseconds(),
                    None => rb.steps().filter_map(|s| s.at).min().unwrap_or(0).min(0),
                },
            };
            Box::new(DrillClock::new(start, opts.speed))
        }
    };

    let mut pending = Vec::new();
    if already_ended.is_none() {
        if events.is_empty() {
            let mut e = Entry::new("session_started", &opts.operator)
                .with("runbook", rb.path.display().to_string())
                .with("runbook_title", rb.title.clone())
                .with("fingerprint", rb.fingerprint.clone())
                .with("pid", std::process::id())
                .with("version", env!("CARGO_PKG_VERSION"))
                .with("auto_ack", opts.auto_ack);
            if opts.mode == Mode::Drill {
                e = e.with("speed", opts.speed.label());
                if let Some(f) = &opts.fail_step {
                    e = e.with("fail_step", f.clone());
                }
            } else {
                let t0 = Utc::now() - chrono::Duration::milliseconds(clock.now());
                e = e.with("t0", t0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            }
            pending.push(e);
        } else {
            pending.push(
                Entry::new("session_resumed", &opts.operator).with("pid", std::process::id()),
            );
            if first
                .and_then(|f| f.str("fingerprint"))
                .is_some_and(|f| f != rb.fingerprint)
            {
                pending.push(
                    Entry::new("runbook_changed", "system")
                        .with("fingerprint", rb.fingerprint.clone()),
                );
            }
        }
        if let Some(h) = stale.filter(|h| h.pid != std::process::id()) {
            pending.push(
                Entry::new("lock_taken_over", &opts.operator)
                    .with("previous_pid", h.pid)
                    .with("previous_operator", h.operator)
                    .with("previous_since", h.since),
            );
        }
        if let Some(r) = repair {
            pending.push(
                Entry::new("journal_repaired", "system")
                    .with("bytes", r.bytes)
                    .with("saved_to", r.saved_to.display().to_string()),
            );
        }
        let left = kill_leftovers(&opts.session);
        if !left.is_empty() {
            pending.push(Entry::new("leftovers_killed", "system").with("pids", left));
        }
        for e in engine.resumed() {
            if let Effect::Journal(j) = e {
                pending.push(j);
            }
        }
    }
    Ok(Session {
        engine,
        clock,
        journal,
        lock: Some(lock),
        pending,
        already_ended,
    })
}

/// Runs a session without a screen; returns the exit code.
pub async fn headless(opts: Options) -> Result<i32, RunError> {
    let mut s = open(&opts)?;
    let out = Out {
        rb: opts.runbook.clone(),
    };
    if let Some(o) = s.already_ended {
        say(&format!(
            "session {} has already ended: {} (exit {})",
            opts.session.display(),
            o.as_str(),
            o.exit_code()
        ));
        if let Some(l) = s.lock.take() {
            l.release();
        }
        return Ok(o.exit_code());
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let session_abs = std::fs::canonicalize(&opts.session).unwrap_or(opts.session.clone());
    let env = vec![
        ("CUTOVER_MODE".to_string(), opts.mode.as_str().to_string()),
        (
            "CUTOVER_SESSION".to_string(),
            session_abs.display().to_string(),
        ),
        ("CUTOVER_OPERATOR".to_string(), opts.operator.clone()),
    ];
    let mut exec = Executor::new(tx, opts.runbook.dir.clone(), env);
    let mut logs = OutputLogs {
        dir: opts.session.join("output"),
        files: Default::default(),
    };
    let mut sigint =
        signal(SignalKind::interrupt()).map_err(|e| RunError::Session(e.to_string()))?;
    let mut sigterm =
        signal(SignalKind::terminate()).map_err(|e| RunError::Session(e.to_string()))?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|e| RunError::Session(e.to_string()))?;

    let mut effects: Vec<Effect> = s.pending.drain(..).map(Effect::Journal).collect();
    effects.extend(s.engine.update(Msg::Tick, s.clock.now()));
    loop {
        let mut finished = None;
        for e in effects.drain(..) {
            match e {
                Effect::Journal(entry) => match s.journal.append(&entry, s.clock.now()) {
                    Ok(ev) => out.event(&ev),
                    Err(err) => {
                        exec.kill_all(&mut rx).await;
                        eprintln!("cutover: cannot write the journal: {err}");
                        eprintln!(
                            "cutover: stopped before anything else happened; the last event shown is the last one recorded. Free the disk and resume with: {}",
                            opts.resume_hint
                        );
                        return Ok(1);
                    }
                },
                Effect::Spawn(sp) => exec.spawn(sp),
                Effect::Kill(id) => exec.kill(&id),
                Effect::Finish(o) => finished = Some(o),
            }
        }
        if let Some(o) = finished {
            exec.kill_all(&mut rx).await;
            if o == Outcome::Completed {
                let p = s.engine.projection(s.clock.now());
                say(&format!(
                    "{:>13}planned finish {}, actual {}",
                    "",
                    crate::runbook::time::t_clock(p.planned_end),
                    crate::runbook::time::t_clock(s.clock.now())
                ));
            }
            say(&format!(
                "{:>13}journal: {}",
                "",
                s.journal.path().display()
            ));
            if let Some(l) = s.lock.take() {
                l.release();
            }
            return Ok(o.exit_code());
        }
        if !s.engine.busy()
            && let Some(why) = s.engine.needs_operator()
        {
            let entry = Entry::new("session_stopped", "system").with(
                "reason",
                format!("{why} (headless: no operator at the keys)"),
            );
            if let Ok(ev) = s.journal.append(&entry, s.clock.now()) {
                out.event(&ev);
            }
            say(&format!(
                "{:>13}the session is paused and resumable: {}",
                "", opts.resume_hint
            ));
            if let Some(l) = s.lock.take() {
                l.release();
            }
            return Ok(1);
        }
        let now = s.clock.now();
        let wake = s.engine.next_wakeup(now);
        if !s.engine.busy() {
            match wake {
                None => {
                    // Not busy, not waiting for anyone, nothing due: cannot happen with a valid
                    // runbook, but never spin or hang silently.
                    eprintln!(
                        "cutover: the engine has nothing to do and is not finished; stopping (resumable)"
                    );
                    return Ok(1);
                }
                Some(t) if s.clock.real_wait(t).is_none() => {
                    s.clock.jump_to(t);
                    effects = s.engine.update(Msg::Tick, s.clock.now());
                    continue;
                }
                _ => {}
            }
        }
        let sleep_for = wake
            .and_then(|t| s.clock.real_wait(t))
            .unwrap_or(Duration::from_secs(3600));
        let mut msgs = Vec::new();
        tokio::select! {
            ev = rx.recv() => {
                if let Some(ev) = ev {
                    handle(ev, &mut msgs, &mut logs);
                }
                while let Ok(ev) = rx.try_recv() {
                    handle(ev, &mut msgs, &mut logs);
                }
            }
            _ = tokio::time::sleep(sleep_for) => {}
            _ = sigint.recv() => return stop(&mut s, &mut exec, &mut rx, &out, "SIGINT", &opts).await,
            _ = sigterm.recv() => return stop(&mut s, &mut exec, &mut rx, &out, "SIGTERM", &opts).await,
            _ = sighup.recv() => return stop(&mut s, &mut exec, &mut rx, &out, "SIGHUP", &opts).await,
        }
        for m in msgs {
            effects.extend(s.engine.update(m, s.clock.now()));
        }
        effects.extend(s.engine.update(Msg::Tick, s.clock.now()));
    }
}

fn handle(ev: ExecEvent, msgs: &mut Vec<Msg>, logs: &mut OutputLogs) {
    match ev {
        ExecEvent::Line { step, line, stderr } => {
            say(&print::output_line(&line, stderr));
            logs.write(&step, &line, stderr);
            msgs.push(Msg::Output { step, line });
        }
        ExecEvent::Exited {
            step,
            attempt,
            stage,
            result,
        } => msgs.push(Msg::Exited {
            step,
            attempt,
            stage,
            result,
        }),
    }
}

async fn stop(
    s: &mut Session,
    exec: &mut Executor,
    rx: &mut mpsc::UnboundedReceiver<ExecEvent>,
    out: &Out,
    signal: &str,
    opts: &Options,
) -> Result<i32, RunError> {
    let running = exec.running();
    exec.kill_all(rx).await;
    for id in running {
        let attempt = s.engine.run_of(&id).map(|r| r.attempts).unwrap_or(1);
        let rerun = opts.runbook.step(&id).is_some_and(|st| st.rerun_safe);
        let e = Entry::new("step_interrupted", "system")
            .step(&id)
            .with("attempt", attempt)
            .with("rerun_safe", rerun);
        if let Ok(ev) = s.journal.append(&e, s.clock.now()) {
            out.event(&ev);
        }
    }
    let e = Entry::new("session_stopped", &opts.operator)
        .with("reason", format!("stopped by {signal}"));
    if let Ok(ev) = s.journal.append(&e, s.clock.now()) {
        out.event(&ev);
    }
    say(&format!(
        "{:>13}the session is resumable: {}",
        "", opts.resume_hint
    ));
    if let Some(l) = s.lock.take() {
        l.release();
    }
    Ok(1)
}

/// Each step's output, appended to `output/STEP.log` in the session.
struct OutputLogs {
    dir: PathBuf,
    files: std::collections::HashMap<String, std::fs::File>,
}

impl OutputLogs {
    fn write(&mut self, step: &str, line: &str, stderr: bool) {
        if !self.files.contains_key(step) {
            let safe: String = step
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if let Ok(f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(format!("{safe}.log")))
            {
                self.files.insert(step.to_string(), f);
            }
        }
        if let Some(f) = self.files.get_mut(step) {
            let _ = writeln!(f, "{}{line}", if stderr { "! " } else { "" });
        }
    }
}
