//! The runtime: sets a session up (lock, journal, clock, replay) and drives it. `Driver` feeds
//! the engine ticks, command events and operator messages, and performs its effects in order —
//! journal appends (fsynced before anything after them), spawns and kills. The headless loop
//! and the cockpit both sit on top of it, so they behave the same.

use crate::core::engine::{Config, Effect, Engine, Msg, Outcome};
use crate::core::event::{Entry, Event, Mode, Record};
use crate::core::monitor::sim::SimFeed;
use crate::core::runbook::Runbook;
use crate::core::runbook::signals::Scenario;
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
    /// Run by `--detach`: nobody at a terminal; a driver may take the keys from a watcher,
    /// so a step that needs an operator waits for one instead of stopping the run.
    pub detached: bool,
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
    /// What earlier drills of the runbook took (read once, before the run starts).
    pub rehearsals: crate::shell::rehearsals::Found,
}

/// Where metric samples come from: one source for the loop, whichever kind of run.
pub enum Feed {
    /// No metrics.
    None,
    /// Drill: the simulation, sampled as the drill clock passes.
    Sim(SimFeed),
    /// Live: pollers.
    Live(Poller),
}

impl Feed {
    /// True for live pollers, which deliver samples whenever they answer.
    pub fn is_live(&self) -> bool {
        matches!(self, Feed::Live(_))
    }

    /// Samples due by `now`: the simulation's, or what the pollers have delivered (at most
    /// `max`, so a flood cannot starve the loop).
    pub fn due(&mut self, now: Ms, max: usize) -> Vec<Msg> {
        match self {
            Feed::Sim(f) => f
                .due(now)
                .into_iter()
                .map(|(metric, at, value)| Msg::Sample { metric, at, value })
                .collect(),
            Feed::Live(p) => std::iter::from_fn(|| p.try_recv()).take(max).collect(),
            Feed::None => Vec::new(),
        }
    }

    /// When the next simulated sample is due (the loop's timer waits for it).
    fn next_due(&self) -> Option<Ms> {
        match self {
            Feed::Sim(f) => f.next_due(),
            _ => None,
        }
    }

    /// Waits for a live sample to arrive. Never resolves otherwise: simulated samples come
    /// due with the clock, which the loop's timer follows.
    pub async fn arrived(&mut self) -> Msg {
        match self {
            Feed::Live(p) => match p.recv().await {
                Some(m) => m,
                None => std::future::pending().await,
            },
            _ => std::future::pending().await,
        }
    }
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

/// At most this many live samples are taken per pass of the loop.
const SAMPLES_PER_PASS: usize = 4096;

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
    /// The newest records the journal had when it was opened (a resumed cockpit's log
    /// starts with them, so what happened before the resume is on screen).
    pub history: Vec<Record>,
    faults: Vec<crate::core::runbook::signals::Fault>,
    t0_wall: Option<DateTime<Utc>>,
}

/// Opens (or creates) the session and prepares engine and clock.
pub fn open(opts: &Options) -> Result<Session, RunError> {
    create_folder(opts)?;
    let (lock, stale) = session::acquire(&opts.session, &opts.operator)?;
    let (journal, events, repair) = journal::open(&opts.session, opts.mode)?;
    if let Some(first) = events.first() {
        check_mode(opts, first)?;
        check_runbook(opts, first)?;
    }
    let started = Started::from_journal(&events);
    let scenario_name = opts
        .scenario
        .clone()
        .or_else(|| started.as_ref().and_then(|s| s.scenario.clone()));
    let scenario = find_scenario(&opts.runbook, scenario_name.as_deref())?;
    let mut engine = replayed_engine(opts, scenario.as_ref(), &events);
    let already_ended = engine.outcome;
    let real_time = engine.real_time_needed().is_some();
    let clock = start_clock(opts, started.as_ref(), &events, real_time);

    // An ended session only reports its outcome, so nothing new goes into its journal.
    let mut pending = Vec::new();
    if already_ended.is_none() {
        if events.is_empty() {
            pending.push(session_started(
                opts,
                clock.as_ref(),
                scenario_name.as_deref(),
            ));
        } else {
            pending.extend(resume_records(opts, started.as_ref()));
        }
        pending.extend(recovery_records(opts, stale, repair));
        pending.extend(interrupted_work(&mut engine));
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
        history: events[events.len().saturating_sub(crate::screen::log::CAPACITY)..].to_vec(),
        faults: scenario.map(|s| s.faults).unwrap_or_default(),
        t0_wall,
    })
}

fn create_folder(opts: &Options) -> Result<(), RunError> {
    std::fs::create_dir_all(opts.session.join("output")).map_err(|e| {
        RunError::Session(format!(
            "cannot create session folder {}: {e}",
            opts.session.display()
        ))
    })
}

/// The subcommand that runs sessions of `mode`, for the hint in a refusal.
fn command_for(mode: Mode) -> &'static str {
    if mode == Mode::Drill { "drill" } else { "run" }
}

/// A drill's journal must not be extended by a live run, nor the other way round.
fn check_mode(opts: &Options, first: &Record) -> Result<(), RunError> {
    if first.mode == opts.mode {
        return Ok(());
    }
    Err(RunError::Session(format!(
        "session {} is a {} session; resume it with `cutover {}`, not `cutover {}`",
        opts.session.display(),
        first.mode.as_str(),
        command_for(first.mode),
        command_for(opts.mode)
    )))
}

/// Replaying one runbook's journal against another would make no sense of its steps.
fn check_runbook(opts: &Options, first: &Record) -> Result<(), RunError> {
    if let Event::SessionStarted { runbook_title, .. } = &first.event
        && *runbook_title != opts.runbook.title
    {
        return Err(RunError::Session(format!(
            "session {} belongs to runbook \"{runbook_title}\", not \"{}\"",
            opts.session.display(),
            opts.runbook.title
        )));
    }
    Ok(())
}

/// What a resumed session keeps from the `session_started` it began with.
struct Started {
    scenario: Option<String>,
    t0: Option<String>,
    fingerprint: String,
}

impl Started {
    fn from_journal(events: &[Record]) -> Option<Started> {
        match &events.first()?.event {
            Event::SessionStarted {
                scenario,
                t0,
                fingerprint,
                ..
            } => Some(Started {
                scenario: scenario.clone(),
                t0: t0.clone(),
                fingerprint: fingerprint.clone(),
            }),
            _ => None,
        }
    }
}

fn find_scenario(rb: &Runbook, name: Option<&str>) -> Result<Option<Scenario>, RunError> {
    let Some(n) = name else {
        return Ok(None);
    };
    let scenario = rb.signals.scenario(n).cloned().ok_or_else(|| {
        RunError::Session(format!(
            "the runbook has no scenario `{n}` (list them with --list-scenarios)"
        ))
    })?;
    Ok(Some(scenario))
}

/// The engine brought up to where the journal left off.
fn replayed_engine(opts: &Options, scenario: Option<&Scenario>, events: &[Record]) -> Engine {
    let cfg = Config {
        auto_ack: opts.auto_ack,
        fail_step: opts
            .fail_step
            .clone()
            .or_else(|| scenario.and_then(|s| s.fail.clone())),
    };
    let mut engine = Engine::new(opts.runbook.clone(), cfg);
    engine.set_rehearsals(opts.rehearsals.rehearsals.clone());
    engine.replay(events);
    engine
}

/// `real_time`: the journal leaves a countdown open that the drill ran at 1× for.
fn start_clock(
    opts: &Options,
    started: Option<&Started>,
    events: &[Record],
    real_time: bool,
) -> Box<dyn Clock> {
    match opts.mode {
        Mode::Live => Box::new(WallClock::new(live_t0(opts, started))),
        Mode::Drill => Box::new(DrillClock::new(
            drill_start(opts, events, real_time),
            opts.speed,
        )),
    }
}

/// A resumed live session keeps the T-0 it started with, whatever `--t0` says now.
fn live_t0(opts: &Options, started: Option<&Started>) -> DateTime<Utc> {
    started
        .and_then(|s| s.t0.as_deref())
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .or(opts.t0)
        .or(opts.runbook.t0)
        .unwrap_or_else(Utc::now)
}

/// A resumed drill picks its clock up where the journal stops, plus the T-time that passed
/// since its last line, up to the interval at which the drill journals its clock: what the
/// screen showed before the crash is never ahead of where it resumes. A new drill starts at
/// `--t0`'s offset from now, or else no later than the earliest timed step, so none is
/// skipped.
///
/// While a countdown was open (`real_time`) the drill ran at 1×, so the time since the last
/// line counts at 1× too: a resume must not eat a grace or a decision's deadline.
fn drill_start(opts: &Options, events: &[Record], real_time: bool) -> Ms {
    match events.last() {
        Some(last) => {
            let since = DateTime::parse_from_rfc3339(&last.at)
                .map(|at| {
                    (Utc::now() - at.with_timezone(&Utc))
                        .num_milliseconds()
                        .max(0)
                })
                .unwrap_or(0);
            let passed = match (opts.speed, drill_mark_every(opts.speed)) {
                (Speed::Factor(_), Some(cap)) if real_time => since.min(cap),
                (Speed::Factor(f), Some(cap)) => ((since as f64 * f) as Ms).min(cap),
                _ => 0,
            };
            last.t_ms() + passed
        }
        None => match opts.t0 {
            Some(t0) => (Utc::now() - t0).num_milliseconds(),
            None => opts
                .runbook
                .steps()
                .filter_map(|s| s.at)
                .min()
                .unwrap_or(0)
                .min(0),
        },
    }
}

fn session_started(opts: &Options, clock: &dyn Clock, scenario: Option<&str>) -> Entry {
    let rb = &opts.runbook;
    let drill = opts.mode == Mode::Drill;
    let t0 = Utc::now() - chrono::Duration::milliseconds(clock.now());
    let e = Event::SessionStarted {
        runbook: rb.path.display().to_string(),
        runbook_title: rb.title.clone(),
        fingerprint: rb.fingerprint.clone(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        auto_ack: opts.auto_ack,
        speed: drill.then(|| opts.speed.label()),
        scenario: scenario.map(String::from).filter(|_| drill),
        fail_step: opts.fail_step.clone().filter(|_| drill),
        t0: (!drill).then(|| t0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    };
    e.by(&opts.operator)
}

/// `session_resumed`, and `runbook_changed` when the file differs from the one the session
/// started with (the operator may have edited it between runs).
fn resume_records(opts: &Options, started: Option<&Started>) -> Vec<Entry> {
    let pid = std::process::id();
    let mut out = vec![Event::SessionResumed { pid }.by(&opts.operator)];
    if started.is_some_and(|s| s.fingerprint != opts.runbook.fingerprint) {
        let fingerprint = opts.runbook.fingerprint.clone();
        out.push(Event::RunbookChanged { fingerprint }.by_system());
    }
    out
}

/// What the previous driver left behind: a stale lock, a torn journal line, commands still
/// running (killed here). Each is journaled so the record shows the session was recovered
/// rather than run straight through.
fn recovery_records(
    opts: &Options,
    stale: Option<session::Holder>,
    repair: Option<journal::Repair>,
) -> Vec<Entry> {
    let mut out = Vec::new();
    // A lock this very process wrote is no takeover.
    if let Some(h) = stale.filter(|h| h.pid != std::process::id()) {
        let e = Event::LockTakenOver {
            previous_pid: h.pid,
            previous_operator: h.operator,
            previous_since: h.since,
        };
        out.push(e.by(&opts.operator));
    }
    if let Some(r) = repair {
        let e = Event::JournalRepaired {
            bytes: r.bytes,
            saved_to: r.saved_to.display().to_string(),
        };
        out.push(e.by_system());
    }
    let pids = kill_leftovers(&opts.session);
    if !pids.is_empty() {
        out.push(Event::LeftoversKilled { pids }.by_system());
    }
    out
}

/// The engine's records of what the previous driver left half done (rollback graces,
/// running steps).
fn interrupted_work(engine: &mut Engine) -> Vec<Entry> {
    engine
        .resumed()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Journal(j) => Some(j),
            _ => None,
        })
        .collect()
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
    pub session: Session,
    /// Metric samples.
    pub feed: Feed,
    exec: Executor,
    rx: mpsc::UnboundedReceiver<ExecEvent>,
    logs: OutputLogs,
    /// A drill's clock marks (none live, where the wall clock is the record).
    marks: Option<ClockMarks>,
    /// Every sample handed to the engine, kept as the session's metric evidence.
    evidence: crate::shell::evidence::Recorder,
    /// The drill's speed when an operator is at the cockpit to act on a countdown: its
    /// clock then runs at real time while one is open (see `pace`). None headless and live:
    /// nobody is there to press a key, and a headless drill runs at its full speed.
    paced: Option<Speed>,
    /// What watchers are told about this run.
    pub sharing: Sharing,
}

/// What the watch socket tells watchers about the run, besides its records.
#[derive(Debug, Clone)]
pub struct Sharing {
    /// The session folder.
    pub session: PathBuf,
    /// live or drill.
    pub mode: Mode,
    /// The drill clock's speed (1 live).
    pub speed: Speed,
    /// The runbook file.
    pub runbook: PathBuf,
    /// `--operator`.
    pub operator: String,
}

/// When a drill last journaled anything, so its clock is journaled at least every
/// `every` of T-time (and at most once a real second) while nothing else is.
struct ClockMarks {
    every: Ms,
    last_t: Ms,
    last_real: std::time::Instant,
}

/// How much T-time may pass in a drill without a journal line: a minute, or a real second
/// at high speed. A resumed drill continues from no earlier than the screen showed, and at
/// most this much later.
pub fn drill_mark_every(speed: Speed) -> Option<Ms> {
    match speed {
        Speed::Factor(f) => Some(60_000.max((1000.0 * f) as Ms)),
        // A jumping clock shows nothing between its jumps.
        Speed::Max => None,
    }
}

/// What performing effects did.
#[derive(Debug, Default)]
pub struct Performed {
    /// Events appended to the journal, in order.
    pub events: Vec<Record>,
    /// The run ended.
    pub finished: Option<Outcome>,
    /// The journal could not be written: nothing after the failed event was done.
    pub failed: Option<JournalError>,
    /// The metric reads handed to the engine, in order (for watchers: samples are not
    /// journaled).
    pub samples: Vec<(String, Ms, Result<f64, String>)>,
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
        let mut env = vec![
            ("CUTOVER_MODE".to_string(), opts.mode.as_str().to_string()),
            (
                "CUTOVER_SESSION".to_string(),
                session_abs.display().to_string(),
            ),
            ("CUTOVER_OPERATOR".to_string(), opts.operator.clone()),
        ];
        // Steps that call cutover itself (the shipped preflight step) run the binary driving
        // this session, not whichever `cutover` PATH finds first.
        if let Ok(bin) = std::env::current_exe() {
            env.push(("CUTOVER_BIN".to_string(), bin.display().to_string()));
        }
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
        let marks = (opts.mode == Mode::Drill)
            .then(|| drill_mark_every(opts.speed))
            .flatten()
            .map(|every| ClockMarks {
                every,
                last_t: s.clock.now(),
                last_real: std::time::Instant::now(),
            });
        let sharing = Sharing {
            session: opts.session.clone(),
            mode: opts.mode,
            speed: opts.speed,
            runbook: std::fs::canonicalize(&opts.runbook.path)
                .unwrap_or_else(|_| opts.runbook.path.clone()),
            operator: opts.operator.clone(),
        };
        Self {
            session: s,
            feed,
            exec,
            rx,
            logs,
            marks,
            evidence: crate::shell::evidence::Recorder::open(&opts.session),
            paced: None,
            sharing,
        }
    }

    /// An operator is at this session's screen: a drill faster than real time runs at 1×
    /// while an automatic rollback's grace or a decision counts down (`pace`).
    pub fn operator_present(&mut self, opts: &Options) {
        self.paced =
            (opts.mode == Mode::Drill && opts.speed.faster_than_real()).then_some(opts.speed);
    }

    /// Puts the drill clock at real time while the engine has a countdown for the operator
    /// (`Engine::real_time_needed`), and back to the drill's speed after, journaling each
    /// change: the journal says why the drill took real minutes there, and a resume finds
    /// the same countdown and does the same.
    fn pace(&mut self, p: &mut Performed) {
        let Some(speed) = self.paced else { return };
        if p.failed.is_some() {
            return;
        }
        let why = self.session.engine.real_time_needed();
        let clock = &mut self.session.clock;
        if why.is_some() == clock.real_time() {
            return;
        }
        clock.set_real_time(why.is_some());
        let text = match why {
            Some(w) => format!(
                "drill clock at 1× (real time) during the {w}, so it can be acted on; {} again after it",
                speed.label()
            ),
            None => format!("drill clock back at {}", speed.label()),
        };
        let q = self.perform(vec![Effect::Journal(Event::Note { text }.by_system())]);
        p.events.extend(q.events);
        p.failed = q.failed;
    }

    /// Journals the drill clock when it has gone a mark's interval with nothing journaled.
    fn mark_clock(&mut self, p: &mut Performed) {
        let now = self.session.clock.now();
        let Some(m) = &self.marks else { return };
        if p.failed.is_some()
            || self.session.engine.outcome.is_some()
            || now - m.last_t < m.every
            || m.last_real.elapsed() < Duration::from_secs(1)
        {
            return;
        }
        let q = self.perform(vec![Effect::Journal(Event::DrillClock {}.by_system())]);
        p.events.extend(q.events);
        p.failed = q.failed;
    }

    fn appended(&mut self, rec: &Record) {
        self.session.engine.track_hands(rec);
        if let Some(m) = &mut self.marks {
            m.last_t = rec.t_ms();
            m.last_real = std::time::Instant::now();
        }
    }

    /// Journals what opening the session found, then gives the engine its first tick.
    pub fn start(&mut self) -> Performed {
        let mut effects: Vec<Effect> = self
            .session
            .pending
            .drain(..)
            .map(Effect::Journal)
            .collect();
        effects.extend(
            self.session
                .engine
                .update(Msg::Tick, self.session.clock.now()),
        );
        let mut p = self.perform(effects);
        self.pace(&mut p);
        p
    }

    /// Hands `msg` to the engine at the current T-time and performs the effects.
    pub fn apply(&mut self, msg: Msg) -> Performed {
        self.apply_by(msg, None)
    }

    /// Hands the engine a message from OS user `who` (a person), or from nobody (the system).
    pub fn apply_by(&mut self, msg: Msg, who: Option<&str>) -> Performed {
        let fx = self
            .session
            .engine
            .update_by(msg, self.session.clock.now(), who);
        self.perform(fx)
    }

    /// Hands the engine, in order: the sample that woke the loop, the samples due by now,
    /// each message, then a tick; merges what was done and stops at the first journal
    /// failure. Every sample, simulated or live, reaches the engine here.
    /// `system` messages come from the runtime (commands' ends); `msgs` from people, each
    /// with their OS user.
    pub fn apply_all(
        &mut self,
        arrived: Option<Msg>,
        system: Vec<Msg>,
        msgs: Vec<(Msg, String)>,
    ) -> Performed {
        let mut p = Performed::default();
        let mut all: Vec<(Msg, Option<String>)> = arrived.into_iter().map(|m| (m, None)).collect();
        all.extend(
            self.feed
                .due(self.session.clock.now(), SAMPLES_PER_PASS)
                .into_iter()
                .map(|m| (m, None)),
        );
        all.extend(system.into_iter().map(|m| (m, None)));
        all.extend(msgs.into_iter().map(|(m, u)| (m, Some(u))));
        for (m, _) in &all {
            if let Msg::Sample { metric, at, value } = m {
                p.samples.push((metric.clone(), *at, value.clone()));
            }
        }
        for (m, who) in all.into_iter().chain(std::iter::once((Msg::Tick, None))) {
            if let Msg::Sample { metric, at, value } = &m {
                let watched = self.session.engine.monitor.watches(metric);
                self.evidence.sample(metric, *at, value, watched);
            }
            let q = self.apply_by(m, who.as_deref());
            p.events.extend(q.events);
            p.finished = p.finished.or(q.finished);
            if q.failed.is_some() {
                p.failed = q.failed;
                break;
            }
            // At once, not after the batch: at ×600 the rest of a batch of samples and
            // their journal writes would take a grace's minutes before it is slowed.
            self.pace(&mut p);
        }
        self.mark_clock(&mut p);
        p
    }

    /// Performs effects in order; stops at the first journal failure.
    pub fn perform(&mut self, effects: Vec<Effect>) -> Performed {
        let mut p = Performed::default();
        for e in effects {
            match e {
                Effect::Journal(entry) => match self
                    .session
                    .journal
                    .append(&entry, self.session.clock.now())
                {
                    Ok(ev) => {
                        self.appended(&ev);
                        p.events.push(ev)
                    }
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
    pub fn journal(&mut self, entry: Entry) -> Result<Record, JournalError> {
        let rec = self
            .session
            .journal
            .append(&entry, self.session.clock.now())?;
        self.appended(&rec);
        Ok(rec)
    }

    /// What the loop waits on besides time and input: command events and live samples, as
    /// two borrows so both can be awaited at once.
    pub fn sources(&mut self) -> (&mut mpsc::UnboundedReceiver<ExecEvent>, &mut Feed) {
        (&mut self.rx, &mut self.feed)
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

    /// Command events already waiting, without blocking.
    pub fn try_exec(&mut self) -> Option<ExecEvent> {
        self.rx.try_recv().ok()
    }

    /// Kills every running command; journals each as interrupted and the session as stopped
    /// (resumable) with `reason`.
    pub async fn stop(&mut self, operator: &str, reason: &str) -> Vec<Record> {
        let running = self.exec.running();
        self.exec.kill_all(&mut self.rx).await;
        let mut out = Vec::new();
        for id in running {
            let attempt = self
                .session
                .engine
                .run_of(&id)
                .map(|r| r.attempts)
                .unwrap_or(1);
            let rerun = self
                .session
                .engine
                .runbook()
                .step(&id)
                .is_some_and(|st| st.rerun_safe);
            let e = Event::StepInterrupted {
                step: id.into(),
                attempt,
                rerun_safe: rerun,
            }
            .by_system();
            if let Ok(ev) = self.journal(e) {
                out.push(ev);
            }
        }
        if let Ok(ev) = self.journal(
            Event::SessionStopped {
                reason: reason.to_string(),
            }
            .by(operator),
        ) {
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
        let o = self.session.already_ended?;
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
        if let Some(l) = self.session.lock.take() {
            l.release();
        }
    }

    /// How long to wait for the next due time, or `None` to wait only for events. With a
    /// jumping clock and nothing running, jumps there and returns `Some(ZERO)`.
    pub fn wait_plan(&mut self) -> Option<Duration> {
        let now = self.session.clock.now();
        let sim = match self.session.engine.outcome {
            None => self.feed.next_due(),
            Some(_) => None,
        };
        let eng = self.session.engine.next_wakeup(now);
        let wake = match (eng, sim) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        match self.session.clock.real_wait(wake) {
            Some(d) => Some(d),
            // A jumping clock stands still while a person is needed: a confirmation must not
            // find its step "late 214 days" because the simulation kept jumping ahead.
            None if !self.session.engine.busy()
                && self.session.engine.needs_operator().is_none() =>
            {
                self.session.clock.jump_to(wake);
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
