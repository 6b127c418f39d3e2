//! The cockpit: the runtime loop with the screen subscribed. Records and command output go
//! into the log pane's tail, keys go through the keymap and `app::on_key`, and a frame is
//! drawn only when something changed, at most ~30 times a second, and for the clock once
//! per displayed second (a few times a second in fast drills).

use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::core::engine::Engine;
use crate::core::event::{Event, Mode, Record};
use crate::core::runbook::Runbook;
use crate::core::time::Speed;
use crate::screen::app::{self, Request, Ui};
use crate::screen::log::Level;
use crate::screen::print;
use crate::screen::ui::{self, View};
use crate::shell::diagnostics::{self, Destination};
use crate::shell::run_loop::{self, End, FrontEnd};
use crate::shell::runtime::{self, Driver, Options, OutputLine, RunError};
use crate::shell::tui::{self, Term};
use crossterm::event::Event as TermEvent;
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(33);

/// How early a clock tick may come and still count.
const TICK_SLACK: Duration = Duration::from_millis(5);

/// How often the clock must be redrawn when nothing else moves.
fn clock_tick(speed: Speed, mode: Mode) -> Duration {
    match (mode, speed) {
        (Mode::Live, _) => Duration::from_secs(1),
        (_, Speed::Factor(f)) if f <= 1.0 => Duration::from_secs_f64(1.0 / f.max(0.001)),
        _ => Duration::from_millis(250),
    }
}

/// The importance of a record in the log pane: what went wrong or was taken over stands out.
pub(crate) fn level_of(e: &Event) -> Level {
    match e {
        Event::StepFailed { .. }
        | Event::RollbackStarted { .. }
        | Event::RollbackAborted { .. }
        | Event::RollbackUnavailable { .. }
        | Event::SessionStopped { .. }
        | Event::JournalRepaired { .. }
        | Event::LeftoversKilled { .. }
        | Event::LockTakenOver { .. }
        | Event::StepInterrupted { .. }
        | Event::TriggerBreach { .. }
        | Event::TriggerUnknown { .. }
        | Event::MetricReadFailed { .. }
        | Event::GateFailed { .. }
        | Event::BaselineMissing { .. }
        // What someone must answer before a deadline stands out too.
        | Event::RollbackGraceStarted { .. }
        | Event::VetoEnded { .. }
        | Event::DecisionRequested { .. }
        | Event::HandRaised { .. }
        | Event::ApprovalRequested { .. }
        | Event::ApprovalLapsed { .. } => Level::Warn,
        Event::TaskPanicked { .. } => Level::Error,
        Event::SessionStarted { .. }
        | Event::SessionResumed { .. }
        | Event::RunbookChanged { .. }
        | Event::SessionEnded { .. }
        | Event::Note { .. }
        | Event::WatcherJoined { .. }
        | Event::WatcherLeft { .. }
        | Event::DriverChanged { .. }
        | Event::ApprovalGiven { .. }
        | Event::DrillClock {}
        | Event::MetricReadRecovered { .. }
        | Event::Hold { .. }
        | Event::Resumed {}
        | Event::StepWaiting { .. }
        | Event::StepStarted { .. }
        | Event::StepConfirmed { .. }
        | Event::StepVerifying { .. }
        | Event::StepHolding { .. }
        | Event::StepDone { .. }
        | Event::StepSkipped { .. }
        | Event::StepRetry { .. }
        | Event::PointOfNoReturn { .. }
        | Event::CanaryWeight { .. }
        | Event::StepGating { .. }
        | Event::UntilWaiting { .. }
        | Event::UntilMet { .. }
        | Event::GatePassed { .. }
        | Event::RollbackDone { .. }
        | Event::RollbackRequestIgnored { .. }
        | Event::TriggerArmed { .. }
        | Event::TriggerDryRun { .. }
        | Event::TriggerRecovered { .. }
        | Event::RollbackVetoed { .. }
        | Event::VetoExplained { .. }
        | Event::RollbackGraceCancelled { .. }
        | Event::DecisionMade { .. }
        | Event::DecisionCancelled { .. }
        | Event::BaselineCaptured { .. } => Level::Info,
    }
}

/// The driver's screen.
struct Cockpit<'a> {
    term: Term,
    keys: tokio::sync::mpsc::Receiver<tui::TermInput>,
    /// SIGWINCH: the key reader sleeps on the terminal's input, which a resize does not wake,
    /// and the fixed viewport does not ask the terminal its size before each frame.
    winch: Option<tokio::signal::unix::Signal>,
    ui: Ui,
    opts: &'a Options,
    theme: &'a Theme,
    keymap: &'a Keymap,
    tick: Duration,
    dirty: bool,
    last_draw: Option<Instant>,
    stats: FrameStats,
}

impl FrontEnd for Cockpit<'_> {
    type Input = tui::TermInput;

    fn record(&mut self, rb: &Runbook, rec: &Record) {
        if let Some(line) = print::event_line(rb, rec) {
            self.ui.log.push(level_of(&rec.event), &line);
        }
    }

    fn output(&mut self, l: &OutputLine) {
        let level = if l.stderr { Level::Warn } else { Level::Debug };
        self.ui.log.push(level, &format!("{}: {}", l.step, l.line));
    }

    fn has_operator(&self) -> bool {
        true
    }

    fn changed(&mut self) {
        self.dirty = true;
    }

    fn draw(&mut self, d: &Driver, woke: Instant) -> Result<(), String> {
        let since = self.last_draw.map(|t| t.elapsed());
        let frame_due = since.is_none_or(|s| s >= FRAME);
        // The clock (and the samples that came since) are redrawn once a tick.
        // A timer may fire a hair early; waking again for the last millisecond would double
        // the idle cockpit's wake-ups.
        let tick_due = since.is_none_or(|s| s + TICK_SLACK >= self.tick);
        if !((self.dirty || tick_due) && frame_due) {
            return Ok(());
        }
        diagnostics::move_to_widget();
        let view = View {
            engine: &d.session.engine,
            ui: &self.ui,
            now: d.session.clock.now(),
            mode: self.opts.mode,
            speed: self.opts.speed,
            theme: self.theme,
            keymap: self.keymap,
            resume_hint: &self.opts.resume_hint,
            live_log: true,
            diagnostics: diagnostics::kept(),
        };
        self.term
            .draw(|f| ui::render(f, &view))
            .map_err(|e| e.to_string())?;
        self.last_draw = Some(Instant::now());
        self.stats.record(woke.elapsed());
        self.dirty = false;
        Ok(())
    }

    fn wake_in(&self) -> Option<Duration> {
        let since = self.last_draw.map_or(self.tick, |t| t.elapsed());
        let next = if self.dirty { FRAME } else { self.tick };
        Some(next.saturating_sub(since))
    }

    async fn input(&mut self) -> Self::Input {
        let resized = async {
            match &mut self.winch {
                Some(w) => w.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // A reader that stopped (the terminal is gone) reads as the terminal gone.
            k = self.keys.recv() => k.flatten(),
            _ = resized => Some(crossterm::terminal::size().map(|(w, h)| TermEvent::Resize(w, h))),
        }
    }

    fn requests(&mut self, input: Self::Input, engine: &Engine, now: i64) -> Vec<Request> {
        match input {
            Some(Ok(TermEvent::Key(k))) => match tui::key_of(&k) {
                Some(k) => app::on_key(&mut self.ui, engine, self.keymap, k, now),
                None => Vec::new(),
            },
            Some(Ok(TermEvent::Resize(w, h))) => {
                // Crossterm reports the same resize again with the next key: once is enough.
                let area = ratatui::layout::Rect::new(0, 0, w, h);
                if self.term.get_frame().area() != area {
                    self.last_draw = None;
                    let _ = self.term.resize(area);
                }
                Vec::new()
            }
            Some(Ok(_)) => Vec::new(),
            // The terminal is gone: leave, resumable.
            Some(Err(_)) | None => vec![Request::Quit],
        }
    }

    fn stays_after_end(&self) -> bool {
        true
    }

    fn watchers(&mut self, who: &[String]) {
        let (keys_with, offer) = match std::mem::take(&mut self.ui.share) {
            Share::Driving {
                keys_with, offer, ..
            } => (keys_with, offer),
            _ => (None, None),
        };
        self.ui.share = Share::Driving {
            watchers: who.to_vec(),
            keys_with,
            offer,
        };
    }

    fn keys(&mut self, keys_with: Option<String>, offer: Option<String>) {
        let watchers = match std::mem::take(&mut self.ui.share) {
            Share::Driving { watchers, .. } => watchers,
            _ => Vec::new(),
        };
        let text = match (&keys_with, &offer) {
            (_, Some(from)) => Some(format!(
                "{from} offers you the keys back: press H, then type take"
            )),
            (Some(k), None) => Some(format!(
                "{k} holds the keys: this screen is read-only until they hand them back"
            )),
            (None, None) => None,
        };
        self.ui.share = Share::Driving {
            watchers,
            keys_with,
            offer,
        };
        if let Some(t) = text {
            self.say(&t);
        }
    }

    fn say(&mut self, text: &str) {
        // The flash's time is when it was shown; the loop's T-time is not at hand here and
        // nothing reads it back, so it keeps the last one's.
        let at = self.ui.flash.as_ref().map_or(0, |f| f.1);
        self.ui.flash = Some((text.to_string(), at));
    }
}

use crate::screen::share::Share;

/// Runs the cockpit; returns the exit code.
pub async fn run(opts: Options, theme: Theme, keymap: Keymap) -> Result<i32, RunError> {
    let s = runtime::open(&opts)?;
    let mut d = Driver::new(&opts, s);
    d.operator_present(&opts);
    if let Some((msg, code)) = d.already_ended(&opts.session) {
        println!("{msg}");
        return Ok(code);
    }
    diagnostics::install(Destination::Cockpit);
    let (term, guard) =
        tui::init().map_err(|e| RunError::Session(format!("cannot set up the terminal: {e}")))?;
    let mut c = Cockpit {
        term,
        keys: tui::key_reader(),
        winch: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok(),
        ui: Ui::new(&opts.operator),
        opts: &opts,
        theme: &theme,
        keymap: &keymap,
        tick: clock_tick(opts.speed, opts.mode),
        dirty: true,
        last_draw: None,
        stats: FrameStats::from_env(),
    };
    for rec in std::mem::take(&mut d.session.history) {
        c.record(&opts.runbook, &rec);
    }
    let end = run_loop::run(&mut d, &mut c, &opts.operator).await?;
    let stats = std::mem::replace(&mut c.stats, FrameStats::off());
    drop(c);
    drop(guard);
    stats.write();
    match &end {
        End::Finished(o) => {
            let note = d
                .session
                .engine
                .rollback_note()
                .map(|n| format!(" — {n}"))
                .unwrap_or_default();
            println!(
                "cutover: session ended: {} (exit {}){note}; journal {}",
                o.as_str(),
                o.exit_code(),
                d.session.journal.path().display()
            );
        }
        End::JournalFailed(err) => {
            eprintln!("cutover: cannot write the journal: {err}");
            eprintln!(
                "cutover: stopped before anything else happened. Free the disk and resume with: {}",
                opts.resume_hint
            );
        }
        End::FrontEndFailed(e) => eprintln!(
            "cutover: terminal error: {e}; the session is resumable: {}",
            opts.resume_hint
        ),
        End::Stopped(_) => println!(
            "cutover: left the cockpit; the session is resumable:\n  {}",
            opts.resume_hint
        ),
    }
    Ok(end.exit_code())
}

/// Frame latencies, kept only when asked for (bounded: the newest 100,000).
/// CUTOVER_FRAME_STATS=FILE: record each frame's latency (from the loop waking to the frame
/// written) and write them there on exit; used by bench/poll1000.sh.
struct FrameStats {
    path: Option<std::path::PathBuf>,
    micros: std::collections::VecDeque<u64>,
}

impl FrameStats {
    fn from_env() -> Self {
        Self {
            path: std::env::var_os("CUTOVER_FRAME_STATS").map(Into::into),
            micros: Default::default(),
        }
    }

    fn off() -> Self {
        Self {
            path: None,
            micros: Default::default(),
        }
    }

    fn record(&mut self, d: Duration) {
        if self.path.is_some() {
            if self.micros.len() == 100_000 {
                self.micros.pop_front();
            }
            self.micros.push_back(d.as_micros() as u64);
        }
    }

    fn write(&self) {
        if let Some(p) = &self.path {
            write_micros(p, self.micros.iter().copied(), "frame stats");
        }
    }
}

/// Writes benchmark figures (microseconds, one per line) to `path`; a failure is said on
/// stderr, after the terminal is restored, and never fails the run.
pub fn write_micros(path: &std::path::Path, micros: impl Iterator<Item = u64>, what: &str) {
    let text: String = micros.map(|m| format!("{m}\n")).collect();
    if let Err(e) = std::fs::write(path, text) {
        eprintln!("cutover: cannot write {what} to {}: {e}", path.display());
    }
}
