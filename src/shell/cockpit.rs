//! The cockpit: the driver's loop with a screen. Keys, command events, due times and signals
//! come in through one `select!`; keys go through the keymap and `app::on_key`; engine
//! messages go to the driver; a frame is drawn only when something changed, at most ~30 times
//! a second, and for the clock once per displayed second (a few times a second in fast drills).

use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::core::engine::Outcome;
use crate::core::event::{Event, Mode};
use crate::core::runbook::Runbook;
use crate::core::time::Speed;
use crate::screen::app::{self, Command, Ui};
use crate::screen::print;
use crate::screen::ui::{self, View};
use crate::shell::runtime::{self, Driver, Options, Performed, RunError};
use crate::shell::tui;
use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(33);

fn log_events(rb: &Runbook, events: &[Event]) {
    for ev in events {
        let Some(line) = print::event_line(rb, ev) else {
            continue;
        };
        let line = line.trim_start().replace('\n', " ");
        match ev.kind.as_str() {
            "step_failed" | "rollback_started" | "session_stopped" | "journal_repaired"
            | "leftovers_killed" | "lock_taken_over" | "step_interrupted" => {
                log::warn!(target: "journal", "{line}")
            }
            _ => log::info!(target: "journal", "{line}"),
        }
    }
}

/// How often the clock must be redrawn when nothing else moves.
fn clock_tick(speed: Speed, mode: Mode) -> Duration {
    match (mode, speed) {
        (Mode::Live, _) => Duration::from_secs(1),
        (_, Speed::Factor(f)) if f <= 1.0 => Duration::from_secs_f64(1.0 / f.max(0.001)),
        _ => Duration::from_millis(250),
    }
}

/// Runs the cockpit; returns the exit code.
pub async fn run(opts: Options, theme: Theme, keymap: Keymap) -> Result<i32, RunError> {
    let s = runtime::open(&opts)?;
    let rb = opts.runbook.clone();
    let mut d = Driver::new(&opts, s);
    if let Some((msg, code)) = d.already_ended(&opts.session) {
        println!("{msg}");
        return Ok(code);
    }
    let _ = tui_logger::init_logger(log::LevelFilter::Debug);
    tui_logger::set_default_level(log::LevelFilter::Debug);
    let mut signals = runtime::StopSignals::new()?;
    let (mut term, guard) =
        tui::init().map_err(|e| RunError::Session(format!("cannot set up the terminal: {e}")))?;
    let mut ui_state = Ui::new(&opts.operator);
    let mut keys = EventStream::new();
    let tick = clock_tick(opts.speed, opts.mode);
    let mut p = d.start();
    let mut poller = d.take_poller();
    let mut last_draw: Option<Instant> = None;
    let mut dirty = true;
    let mut ended: Option<Outcome> = None;
    // CUTOVER_FRAME_STATS=FILE: record each frame's latency (from the loop waking to the
    // frame written) and write them there on exit; used by bench/poll1000.sh.
    let mut stats = FrameStats::from_env();
    let mut woke = Instant::now();
    let code = loop {
        log_events(&rb, &p.events);
        dirty |= !p.events.is_empty();
        if let Some(err) = p.failed.take() {
            d.kill_all().await;
            drop(guard);
            eprintln!("cutover: cannot write the journal: {err}");
            eprintln!(
                "cutover: stopped before anything else happened. Free the disk and resume with: {}",
                opts.resume_hint
            );
            return Ok(1);
        }
        if let Some(o) = p.finished.take() {
            d.kill_all().await;
            d.release();
            ended = Some(o);
        }
        for panic in tui::take_background_panics() {
            log::error!(target: "cockpit", "a background task panicked: {panic}");
            let _ = d.journal(
                crate::core::event::Entry::new("task_panicked", "system").with("message", panic),
            );
            dirty = true;
        }
        let now = d.s.clock.now();
        let frame_due = last_draw.is_none_or(|t| t.elapsed() >= FRAME);
        if dirty && frame_due {
            let view = View {
                engine: &d.s.engine,
                ui: &ui_state,
                now,
                mode: opts.mode,
                speed: opts.speed,
                theme: &theme,
                keymap: &keymap,
                resume_hint: &opts.resume_hint,
                live_log: true,
            };
            if let Err(e) = term.draw(|f| ui::render(f, &view)) {
                let _ = d
                    .stop(&opts.operator, &format!("terminal error: {e}"))
                    .await;
                d.release();
                drop(guard);
                eprintln!(
                    "cutover: terminal error: {e}; the session is resumable: {}",
                    opts.resume_hint
                );
                return Ok(1);
            }
            last_draw = Some(Instant::now());
            stats.record(woke.elapsed());
            dirty = false;
        }
        let due = if ended.is_none() { d.wait_plan() } else { None };
        let mut sleep_for = due.unwrap_or(Duration::from_secs(3600)).min(tick);
        if dirty {
            sleep_for =
                sleep_for.min(FRAME.saturating_sub(last_draw.map_or(FRAME, |t| t.elapsed())));
        }
        let mut msgs = Vec::new();
        let mut quit = false;
        tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(TermEvent::Key(k))) => if let Some(k) = tui::key_of(&k) {
                    dirty = true;
                    for c in app::on_key(&mut ui_state, &d.s.engine, &keymap, k, d.s.clock.now()) {
                        match c {
                            Command::Engine(m) => msgs.push(m),
                            Command::Quit => quit = true,
                        }
                    }
                }
                Some(Ok(TermEvent::Resize(_, _))) => {
                    dirty = true;
                    last_draw = None;
                    let _ = term.autoresize();
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => quit = true,
            },
            ev = d.next_exec(), if ended.is_none() => {
                let mut next = ev;
                while let Some(ev) = next {
                    let (m, line) = d.exec_msg(ev);
                    if let Some(l) = line {
                        if l.stderr { log::warn!(target: "output", "{}: {}", l.step, l.line) } else { log::debug!(target: "output", "{}: {}", l.step, l.line) }
                    }
                    msgs.push(m);
                    next = d.try_exec();
                }
                dirty = true;
            }
            m = runtime::next_samples(&mut poller, 4096), if ended.is_none() => {
                msgs.extend(m);
                dirty = true;
            }
            _ = runtime::pause(sleep_for) => { dirty = true; }
            sig = signals.recv() => break stop(&mut d, &opts, &format!("stopped by {sig}"), ended).await,
        }
        if quit {
            break match ended {
                Some(o) => o.exit_code(),
                None => stop(&mut d, &opts, "the operator left the cockpit", None).await,
            };
        }
        woke = Instant::now();
        p = if ended.is_none() {
            d.apply_all(msgs)
        } else {
            Performed::default()
        };
    };
    drop(term);
    drop(guard);
    stats.write();
    if let Some(o) = ended {
        let note =
            d.s.engine
                .rollback_note()
                .map(|n| format!(" — {n}"))
                .unwrap_or_default();
        println!(
            "cutover: session ended: {} (exit {}){note}; journal {}",
            o.as_str(),
            o.exit_code(),
            d.s.journal.path().display()
        );
    } else {
        println!(
            "cutover: left the cockpit; the session is resumable:\n  {}",
            opts.resume_hint
        );
    }
    Ok(code)
}

/// Frame latencies, kept only when asked for (bounded: the newest 100,000).
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
            let text: String = self.micros.iter().map(|m| format!("{m}\n")).collect();
            if let Err(e) = std::fs::write(p, text) {
                eprintln!("cutover: cannot write frame stats to {}: {e}", p.display());
            }
        }
    }
}

async fn stop(d: &mut Driver, opts: &Options, reason: &str, ended: Option<Outcome>) -> i32 {
    if let Some(o) = ended {
        return o.exit_code();
    }
    let _ = d.stop(&opts.operator, reason).await;
    d.release();
    1
}
