//! The runtime: sets a session up (lock, journal, clock, replay) and drives it. `Driver` feeds
//! the engine ticks, command events and operator messages, and performs its effects in order —
//! journal appends (fsynced before anything after them), spawns and kills. The headless loop
//! and the cockpit both sit on top of it, so they behave the same.

use crate::core::engine::{Config, Effect, Engine, Msg, Outcome};
use crate::core::event::{self, Entry, Mode};
use crate::core::monitor::sim::SimFeed;
use crate::core::runbook::Runbook;
use crate::core::time::Ms;
use crate::shell::clock::{Clock, DrillClock, Speed, WallClock};
use crate::shell::exec::{ExecEvent, Executor, kill_leftovers};
use crate::shell::journal::{self, Journal, JournalError};
use crate::shell::poller::Poller;
use crate::shell::session::{self, LockError, SessionLock};
use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
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
    /// Drill: the scenario to play (a resumed session keeps the one it started with).
    pub scenario: Option<String>,
    /// Live: the resolved connections for the metric pollers.
    pub connections: std::collections::HashMap<String, crate::readers::ConnectionConfig>,
}

/// Sleeps `d`; zero only yields. A jumping drill clock asks for zero-length waits thousands
/// of times (one per sample time), and tokio's timer rounds every sleep up to a millisecond.
pub async fn pause(d: Duration) {
    if d.is_zero() {
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(d).await;
    }
}

/// Waits for the next live sample and takes what else is waiting (at most `max`); never
/// returns without pollers.
pub async fn next_samples(p: &mut Option<Poller>, max: usize) -> Vec<Msg> {
    let Some(p) = p else {
        return std::future::pending().await;
    };
    let Some(first) = p.recv().await else {
        return std::future::pending().await;
    };
    let mut out = vec![first];
    while out.len() < max {
        match p.try_recv() {
            Some(m) => out.push(m),
            None => break,
        }
    }
    out
}

/// Where metric samples come from.
pub enum Feed {
    /// No metrics.
    None,
    /// Drill: the simulation, sampled as the drill clock passes.
    Sim(SimFeed),
    /// Live: pollers.
    Live(Poller),
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

/// A session ready to drive.
pub struct Session {
    /// The engine, replayed.
    pub engine: Engine,
    /// The clock.
    pub clock: Box<dyn Clock>,
    /// The journal.
    pub journal: Journal,
    pub(crate) lock: Option<SessionLock>,
    /// Effects to perform first (session_started or resume records).
    pub pending: Vec<Entry>,
    /// Set when the session had already ended: its outcome.
    pub already_ended: Option<Outcome>,
    /// The scenario being played, if any.
    pub scenario: Option<String>,
    faults: Vec<crate::core::runbook::signals::Fault>,
    t0_wall: Option<DateTime<Utc>>,
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
    let scenario_name = opts
        .scenario
        .clone()
        .or_else(|| first.and_then(|f| f.str("scenario")).map(str::to_string));
    let scenario = match &scenario_name {
        Some(n) => Some(rb.signals.scenario(n).cloned().ok_or_else(|| {
            RunError::Session(format!(
                "the runbook has no scenario `{n}` (list them with --list-scenarios)"
            ))
        })?),
        None => None,
    };
    let cfg = Config {
        auto_ack: opts.auto_ack,
        fail_step: opts
            .fail_step
            .clone()
            .or_else(|| scenario.as_ref().and_then(|s| s.fail.clone())),
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
                if let Some(n) = &scenario_name {
                    e = e.with("scenario", n.clone());
                }
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
    let t0_wall =
        (opts.mode == Mode::Live).then(|| Utc::now() - chrono::Duration::milliseconds(clock.now()));
    Ok(Session {
        engine,
        clock,
        journal,
        lock: Some(lock),
        pending,
        already_ended,
        scenario: scenario_name,
        faults: scenario.map(|s| s.faults).unwrap_or_default(),
        t0_wall,
    })
}

/// The signals that stop a run (the session stays resumable): SIGINT, SIGTERM, SIGHUP.
pub struct StopSignals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Starts listening.
    pub fn new() -> Result<Self, RunError> {
        use tokio::signal::unix::{SignalKind, signal};
        let sig =
            |k| signal(k).map_err(|e| RunError::Session(format!("cannot listen for signals: {e}")));
        Ok(Self {
            int: sig(SignalKind::interrupt())?,
            term: sig(SignalKind::terminate())?,
            hup: sig(SignalKind::hangup())?,
        })
    }

    /// Waits for one; returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP (terminal closed)",
        }
    }
}

/// Drives an open session: performs the engine's effects and feeds command events back.
/// Shared by the headless loop and the cockpit, so both behave the same.
pub struct Driver {
    /// The session (engine, clock, journal).
    pub s: Session,
    /// Metric samples.
    pub feed: Feed,
    exec: Executor,
    rx: mpsc::UnboundedReceiver<ExecEvent>,
    logs: OutputLogs,
}

/// What performing effects did.
#[derive(Debug, Default)]
pub struct Performed {
    /// Events appended to the journal, in order.
    pub events: Vec<event::Event>,
    /// The run ended.
    pub finished: Option<Outcome>,
    /// The journal could not be written: nothing after the failed event was done.
    pub failed: Option<JournalError>,
}

/// A line of command output.
#[derive(Debug, Clone)]
pub struct OutputLine {
    /// Step id.
    pub step: String,
    /// The line.
    pub line: String,
    /// From stderr.
    pub stderr: bool,
}

impl Driver {
    /// Wraps an open session; commands run in the runbook's folder.
    pub fn new(opts: &Options, s: Session) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let session_abs = std::fs::canonicalize(&opts.session).unwrap_or(opts.session.clone());
        let env = vec![
            ("CUTOVER_MODE".to_string(), opts.mode.as_str().to_string()),
            (
                "CUTOVER_SESSION".to_string(),
                session_abs.display().to_string(),
            ),
            ("CUTOVER_OPERATOR".to_string(), opts.operator.clone()),
        ];
        let exec = Executor::new(tx, opts.runbook.dir.clone(), env);
        let logs = OutputLogs {
            dir: opts.session.join("output"),
            files: Default::default(),
        };
        let metrics = &opts.runbook.signals.metrics;
        let feed = if metrics.is_empty() || s.already_ended.is_some() {
            Feed::None
        } else if opts.mode == Mode::Drill {
            Feed::Sim(SimFeed::new(metrics, &s.faults, s.clock.now()))
        } else {
            match s
                .t0_wall
                .map(|t0| Poller::start(&opts.runbook, &opts.connections, t0))
            {
                Some(Ok(p)) => Feed::Live(p),
                Some(Err(e)) => {
                    log::error!("metric polling could not start: {e}");
                    Feed::None
                }
                None => Feed::None,
            }
        };
        Self {
            s,
            feed,
            exec,
            rx,
            logs,
        }
    }

    /// Journals what opening the session found, then gives the engine its first tick.
    pub fn start(&mut self) -> Performed {
        let mut effects: Vec<Effect> = self.s.pending.drain(..).map(Effect::Journal).collect();
        effects.extend(self.s.engine.update(Msg::Tick, self.s.clock.now()));
        self.perform(effects)
    }

    /// Hands `msg` to the engine at the current T-time and performs the effects.
    pub fn apply(&mut self, msg: Msg) -> Performed {
        let fx = self.s.engine.update(msg, self.s.clock.now());
        self.perform(fx)
    }

    /// Hands each message to the engine in order, then a tick, and merges what was done;
    /// stops at the first journal failure.
    pub fn apply_all(&mut self, msgs: Vec<Msg>) -> Performed {
        let mut p = Performed::default();
        let mut all = self.sim_due();
        all.extend(msgs);
        for m in all.into_iter().chain(std::iter::once(Msg::Tick)) {
            let q = self.apply(m);
            p.events.extend(q.events);
            p.finished = p.finished.or(q.finished);
            if q.failed.is_some() {
                p.failed = q.failed;
                break;
            }
        }
        p
    }

    /// Performs effects in order; stops at the first journal failure.
    pub fn perform(&mut self, effects: Vec<Effect>) -> Performed {
        let mut p = Performed::default();
        for e in effects {
            match e {
                Effect::Journal(entry) => match self.s.journal.append(&entry, self.s.clock.now()) {
                    Ok(ev) => p.events.push(ev),
                    Err(err) => {
                        p.failed = Some(err);
                        return p;
                    }
                },
                Effect::Spawn(sp) => self.exec.spawn(sp),
                Effect::Kill(id) => self.exec.kill(&id),
                Effect::Finish(o) => p.finished = Some(o),
            }
        }
        p
    }

    /// Journals an entry directly (runtime events such as `session_stopped`).
    pub fn journal(&mut self, entry: Entry) -> Result<event::Event, JournalError> {
        self.s.journal.append(&entry, self.s.clock.now())
    }

    /// Waits for the next command event; output lines are logged to the session's files.
    pub async fn next_exec(&mut self) -> Option<ExecEvent> {
        self.rx.recv().await
    }

    /// Turns a command event into the engine's message, logging output to `output/STEP.log`.
    pub fn exec_msg(&mut self, ev: ExecEvent) -> (Msg, Option<OutputLine>) {
        match ev {
            ExecEvent::Line { step, line, stderr } => {
                self.logs.write(&step, &line, stderr);
                let out = OutputLine {
                    step: step.clone(),
                    line: line.clone(),
                    stderr,
                };
                (Msg::Output { step, line }, Some(out))
            }
            ExecEvent::Exited {
                step,
                attempt,
                stage,
                result,
            } => (
                Msg::Exited {
                    step,
                    attempt,
                    stage,
                    result,
                },
                None,
            ),
        }
    }

    /// Simulated samples due by now (drills).
    fn sim_due(&mut self) -> Vec<Msg> {
        let now = self.s.clock.now();
        match &mut self.feed {
            Feed::Sim(f) => f
                .due(now)
                .into_iter()
                .map(|(metric, at, value)| Msg::Sample { metric, at, value })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Hands the live pollers to the loop (which waits on them beside the driver).
    pub fn take_poller(&mut self) -> Option<Poller> {
        match std::mem::replace(&mut self.feed, Feed::None) {
            Feed::Live(p) => Some(p),
            other => {
                self.feed = other;
                None
            }
        }
    }

    /// Command events already waiting, without blocking.
    pub fn try_exec(&mut self) -> Option<ExecEvent> {
        self.rx.try_recv().ok()
    }

    /// Kills every running command; journals each as interrupted and the session as stopped
    /// (resumable) with `reason`.
    pub async fn stop(&mut self, operator: &str, reason: &str) -> Vec<event::Event> {
        let running = self.exec.running();
        self.exec.kill_all(&mut self.rx).await;
        let mut out = Vec::new();
        for id in running {
            let attempt = self.s.engine.run_of(&id).map(|r| r.attempts).unwrap_or(1);
            let rerun = self
                .s
                .engine
                .runbook()
                .step(&id)
                .is_some_and(|st| st.rerun_safe);
            let e = Entry::new("step_interrupted", "system")
                .step(&id)
                .with("attempt", attempt)
                .with("rerun_safe", rerun);
            if let Ok(ev) = self.journal(e) {
                out.push(ev);
            }
        }
        if let Ok(ev) =
            self.journal(Entry::new("session_stopped", operator).with("reason", reason.to_string()))
        {
            out.push(ev);
        }
        out
    }

    /// Kills what still runs (after a journal failure or at the end).
    pub async fn kill_all(&mut self) {
        self.exec.kill_all(&mut self.rx).await;
    }

    /// For a session that had already ended: a line saying so and its exit code (the lock is
    /// released). `None` for a session still to run.
    pub fn already_ended(&mut self, session: &std::path::Path) -> Option<(String, i32)> {
        let o = self.s.already_ended?;
        self.release();
        Some((
            format!(
                "session {} has already ended: {} (exit {})",
                session.display(),
                o.as_str(),
                o.exit_code()
            ),
            o.exit_code(),
        ))
    }

    /// Releases the session lock for a clean hand-over.
    pub fn release(&mut self) {
        if let Some(l) = self.s.lock.take() {
            l.release();
        }
    }

    /// How long to wait for the next due time, or `None` to wait only for events. With a
    /// jumping clock and nothing running, jumps there and returns `Some(ZERO)`.
    pub fn wait_plan(&mut self) -> Option<Duration> {
        let now = self.s.clock.now();
        let sim = match &self.feed {
            Feed::Sim(f) if self.s.engine.outcome.is_none() => f.next_due(),
            _ => None,
        };
        let eng = self.s.engine.next_wakeup(now);
        let wake = match (eng, sim) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        match self.s.clock.real_wait(wake) {
            Some(d) => Some(d),
            // A jumping clock stands still while a person is needed: a confirmation must not
            // find its step "late 214 days" because the simulation kept jumping ahead.
            None if !self.s.engine.busy() && self.s.engine.needs_operator().is_none() => {
                self.s.clock.jump_to(wake);
                Some(Duration::ZERO)
            }
            None => None,
        }
    }
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
