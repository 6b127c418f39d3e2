//! The one runtime loop. It owns the session (clock, engine, journal), every sample source
//! (the drill's simulation and live pollers alike), the running commands and the stop
//! signals; it hands the engine its messages, performs the effects, and publishes each
//! journaled record once to the front end that subscribes (the headless printer or the
//! cockpit) and to the watch socket's watchers (with the samples and output lines too;
//! notifiers next). A front end prints or draws and turns its own input into requests; it
//! never decides what the run does.

use crate::core::engine::{Engine, Msg, Outcome};
use crate::core::event::{Event, Record};
use crate::core::runbook::Runbook;
use crate::screen::app::Request;
use crate::shell::journal::JournalError;
use crate::shell::runtime::{self, Driver, OutputLine, Performed, StopSignals};
use crate::shell::seats::{Reply, Seats};
use crate::shell::serve::{FromWatcher, Presence};
use std::time::{Duration, Instant};

/// A subscriber of the loop that also may take an operator's input.
// `async fn` in a trait is used with generics only (never `dyn`), so the auto-trait bounds
// the lint worries about are not a concern here.
#[allow(async_fn_in_trait)]
pub trait FrontEnd {
    /// What the front end's input source yields (a terminal event, for the cockpit).
    type Input;

    /// One journaled record, in order, exactly once.
    fn record(&mut self, rb: &Runbook, rec: &Record);

    /// One line of a command's output.
    fn output(&mut self, line: &OutputLine);

    /// Whether an operator can answer (the headless printer has none, so a run that needs
    /// one stops, resumable).
    fn has_operator(&self) -> bool;

    /// Something changed that must be shown now: a record, a key, a command's output. (New
    /// samples and the clock are shown at the front end's next tick: redrawing for each
    /// sample would cost a frame per sample for a change the next second shows anyway.)
    fn changed(&mut self);

    /// Draws if it is time to; `woke` is when the loop woke for what is being drawn.
    fn draw(&mut self, d: &Driver, woke: Instant) -> Result<(), String>;

    /// How long the loop may sleep before the front end must draw again, if at all.
    fn wake_in(&self) -> Option<Duration>;

    /// Waits for the next input; never resolves for a front end without input.
    async fn input(&mut self) -> Self::Input;

    /// Turns an input into requests, given the engine as it is now.
    fn requests(&mut self, input: Self::Input, engine: &Engine, now: i64) -> Vec<Request>;

    /// Whether the front end stays up after the run ended (the cockpit shows the end
    /// until the operator leaves; the printer is done).
    fn stays_after_end(&self) -> bool;

    /// Who watches the session now (OS users, in the order they joined).
    fn watchers(&mut self, _who: &[String]) {}

    /// Where the keys are: `keys_with` is the OS user holding them when this front end does
    /// not; `offer` who offers them to it.
    fn keys(&mut self, _keys_with: Option<String>, _offer: Option<String>) {}

    /// Whether a run that needs an operator waits for a watcher to take the keys (a
    /// detached session) rather than stopping.
    fn waits_for_driver(&self) -> bool {
        false
    }

    /// A one-line answer to the operator's last request (why it was refused).
    fn say(&mut self, _text: &str) {}
}

/// How a run left the loop.
#[derive(Debug)]
pub enum End {
    /// The run ended.
    Finished(Outcome),
    /// The run stopped and is resumable: by a signal, because the operator left, or
    /// because it needs an operator and none is there. Exit 1.
    Stopped(Stop),
    /// The journal could not be written: nothing after the failed event was done.
    JournalFailed(JournalError),
    /// The front end failed (e.g. the terminal went away); the run was stopped.
    FrontEndFailed(String),
}

/// Why a run stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// A signal (its name).
    Signal(&'static str),
    /// The operator quit.
    Left,
    /// It needs an operator and none is at the keys (headless).
    NoOperator,
    /// Nothing is due, nothing runs and nobody can act (headless).
    Idle,
}

impl End {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            End::Finished(o) => o.exit_code(),
            _ => 1,
        }
    }
}

/// Runs an open session to its end (or stop) with `fe` subscribed, serving it to watchers.
pub async fn run<F: FrontEnd>(
    d: &mut Driver,
    fe: &mut F,
    operator: &str,
) -> Result<End, runtime::RunError> {
    let mut server = serve(d);
    let end = drive(d, fe, operator, &mut server).await;
    if let Some(s) = server.as_ref() {
        // Watchers see the run's last records (its end, its stop) before the socket goes.
        s.drain(Duration::from_millis(300)).await;
    }
    end
}

async fn drive<F: FrontEnd>(
    d: &mut Driver,
    fe: &mut F,
    operator: &str,
    server: &mut Option<crate::shell::serve::Server>,
) -> Result<End, runtime::RunError> {
    let rb = d.session.engine.runbook().clone();
    let owner = crate::shell::serve::user_name(nix::unistd::getuid().as_raw());
    let mut seats = Seats::new(rb.team.clone(), &owner, fe.has_operator());
    let mut signals = StopSignals::new()?;
    let mut p = d.start();
    let mut ended: Option<Outcome> = None;
    let mut woke = Instant::now();
    let mut timer = crate::shell::timer::Timer::new();
    loop {
        publish(fe, &rb, &p.events);
        if let Some(s) = server.as_ref() {
            s.performed(&p.events, &p.samples, d.session.clock.now());
        }
        if let Some(err) = p.failed.take() {
            d.kill_all().await;
            return Ok(End::JournalFailed(err));
        }
        if let Some(o) = p.finished.take() {
            d.kill_all().await;
            d.release();
            ended = Some(o);
            fe.changed();
            if !fe.stays_after_end() {
                return Ok(End::Finished(o));
            }
        }
        for panic in crate::shell::tui::take_background_panics() {
            log::error!(target: "cutover", "a background task panicked: {panic}");
            if let Ok(rec) = d.journal(Event::TaskPanicked { message: panic }.by_system()) {
                publish(fe, &rb, std::slice::from_ref(&rec));
                if let Some(s) = server.as_ref() {
                    s.record(&rec);
                }
            }
        }
        if ended.is_none()
            && !fe.has_operator()
            && !fe.waits_for_driver()
            && !seats.someone_drives()
            && !d.session.engine.busy()
            && let Some(why) = d.session.engine.needs_operator()
        {
            let reason = format!("{why} (headless: no operator at the keys)");
            return Ok(stop(
                (d, &*server),
                fe,
                &rb,
                crate::core::event::SYSTEM,
                &reason,
                Stop::NoOperator,
            )
            .await);
        }
        if let Err(e) = fe.draw(d, woke) {
            let _ = d.stop(operator, &format!("terminal error: {e}")).await;
            d.release();
            return Ok(End::FrontEndFailed(e));
        }
        let due = if ended.is_none() { d.wait_plan() } else { None };
        if due.is_none()
            && ended.is_none()
            && !d.session.engine.busy()
            && !d.feed.is_live()
            && !fe.has_operator()
            && !fe.waits_for_driver()
            && !seats.someone_drives()
        {
            // Not busy, not waiting for anyone, nothing due: never spin or hang silently.
            d.release();
            return Ok(End::Stopped(Stop::Idle));
        }
        let sleep_for = match (due, fe.wake_in()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(Duration::from_secs(3600)),
        };
        if let Some(s) = server.as_ref().filter(|_| !sleep_for.is_zero()) {
            s.flush();
        }
        let mut msgs: Vec<(Msg, String)> = Vec::new();
        let mut exec_msgs: Vec<Msg> = Vec::new();
        let mut arrived = None;
        let mut quit = false;
        let (exec, feed) = d.sources();
        tokio::select! {
            input = fe.input() => {
                fe.changed();
                for c in fe.requests(input, &d.session.engine, d.session.clock.now()) {
                    let reply = match c {
                        // Keys handed over do not drive from here; a note anyone may add.
                        Request::Engine(m) if seats.local_holds() || matches!(m, Msg::Note { .. }) => {
                            msgs.push((m, owner.clone()));
                            continue;
                        }
                        Request::Engine(_) => Err(format!("read-only: {} holds the keys", seats.holder_name())),
                        Request::HandOver { to } => seats.local_hand_over(&to),
                        Request::TakeKeys => seats.local_take(),
                        Request::RaiseHand { reason } => Ok(seats.local_raise(&reason)),
                        Request::Quit => {
                            quit = true;
                            continue;
                        }
                    };
                    match reply {
                        Ok(r) => seated(d, (fe, &rb), server, &seats, r, &mut msgs),
                        Err(e) => fe.say(&e),
                    }
                }
            }
            ev = exec.recv(), if ended.is_none() => {
                let mut next = ev;
                while let Some(ev) = next {
                    let (m, line) = d.exec_msg(ev);
                    if let Some(l) = line {
                        fe.output(&l);
                        if let Some(s) = server.as_ref() {
                            s.output(&l.step, &l.line, l.stderr);
                        }
                    }
                    // A command's end is the system's, not a person's.
                    exec_msgs.push(m);
                    next = d.try_exec();
                }
                fe.changed();
            }
            m = feed.arrived(), if ended.is_none() => arrived = Some(m),
            from = from_watchers(server) => {
                let reply = match from {
                    FromWatcher::Presence(who) => {
                        fe.watchers(who.watchers());
                        fe.changed();
                        // The journal says who watched the run, not who looked at its end.
                        if ended.is_none()
                            && let Ok(rec) = d.journal(who.event())
                        {
                            publish(fe, &rb, std::slice::from_ref(&rec));
                            if let Some(s) = server.as_ref() {
                                s.record(&rec);
                            }
                        }
                        match &who {
                            Presence::Joined { conn, user, groups, .. } => seats.joined(*conn, user, groups),
                            Presence::Left { conn, .. } => seats.left(*conn),
                        }
                    }
                    FromWatcher::Asked { conn, frame, .. } if ended.is_none() => {
                        seats.asked(conn, frame, &d.session.engine)
                    }
                    FromWatcher::Asked { conn, .. } => {
                        let mut r = Reply::default();
                        r.tell.push((conn, crate::shell::wire::ServerFrame::Answer { ok: false, text: "the run has ended".into() }));
                        r
                    }
                };
                seated(d, (fe, &rb), server, &seats, reply, &mut msgs);
            }
            _ = timer.sleep(sleep_for) => {}
            sig = signals.recv() => {
                if let Some(o) = ended {
                    return Ok(End::Finished(o));
                }
                let reason = format!("stopped by {sig}");
                return Ok(stop((d, &*server), fe, &rb, operator, &reason, Stop::Signal(sig)).await);
            }
        }
        if quit {
            if let Some(o) = ended {
                return Ok(End::Finished(o));
            }
            let reason = "the operator left the cockpit";
            return Ok(stop((d, &*server), fe, &rb, operator, reason, Stop::Left).await);
        }
        woke = Instant::now();
        p = if ended.is_none() {
            d.apply_all(arrived, exec_msgs, msgs)
        } else {
            Performed::default()
        };
    }
}

/// Starts serving the session to watchers. A socket that cannot be made is logged and the
/// run goes on unshared: sharing must never stop a cutover.
fn serve(d: &Driver) -> Option<crate::shell::serve::Server> {
    use crate::shell::serve::{Server, user_name};
    let sh = &d.sharing;
    let history = match crate::shell::journal::read(&sh.session) {
        Ok(h) => h,
        Err(e) => {
            log::warn!(target: "cutover", "watchers get no history: {e}");
            Vec::new()
        }
    };
    let info = crate::shell::wire::DriverInfo {
        user: user_name(nix::unistd::getuid().as_raw()),
        host: crate::shell::session::host(),
        pid: std::process::id(),
        operator: sh.operator.clone(),
        mode: sh.mode.as_str().to_string(),
        speed: match (sh.mode, sh.speed) {
            (crate::core::event::Mode::Live, _) => "1".into(),
            (_, crate::core::time::Speed::Max) => "max".into(),
            (_, crate::core::time::Speed::Factor(f)) => f.to_string(),
        },
        runbook: sh.runbook.display().to_string(),
    };
    let factor = match (sh.mode, sh.speed) {
        (crate::core::event::Mode::Live, _) => 1.0,
        (_, crate::core::time::Speed::Max) => 0.0,
        (_, crate::core::time::Speed::Factor(f)) => f,
    };
    let rehearsals = d.session.engine.rehearsals();
    let clock = (d.session.clock.now(), factor);
    match Server::start(&sh.session, (info, rehearsals), &history, clock) {
        Ok(s) => Some(s),
        Err(e) => {
            log::warn!(target: "cutover", "cannot serve the session to watchers ({}): {e}", sh.session.join(crate::shell::serve::SOCKET).display());
            None
        }
    }
}

async fn from_watchers(server: &mut Option<crate::shell::serve::Server>) -> FromWatcher {
    match server {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// Performs what the seats decided: journals, answers one watcher, queues the engine's
/// messages, and shows the local screen where the keys are.
fn seated<F: FrontEnd>(
    d: &mut Driver,
    (fe, rb): (&mut F, &Runbook),
    server: &Option<crate::shell::serve::Server>,
    seats: &Seats,
    r: Reply,
    msgs: &mut Vec<(Msg, String)>,
) {
    for entry in r.journal {
        match d.journal(entry) {
            Ok(rec) => {
                publish(fe, rb, std::slice::from_ref(&rec));
                if let Some(s) = server {
                    s.record(&rec);
                }
            }
            Err(e) => log::error!(target: "cutover", "cannot journal a watcher's request: {e}"),
        }
    }
    if let Some(s) = server {
        for (conn, frame) in &r.tell {
            s.tell(*conn, frame);
        }
    }
    msgs.extend(r.msgs);
    if r.local_changed {
        let with = (!seats.local_holds()).then(|| seats.holder_name());
        fe.keys(with, seats.offer_to_local().map(str::to_string));
        fe.changed();
    }
}

fn publish<F: FrontEnd>(fe: &mut F, rb: &Runbook, records: &[Record]) {
    for rec in records {
        fe.record(rb, rec);
    }
    if !records.is_empty() {
        fe.changed();
    }
}

/// Stops the run (resumable): kills what runs, journals it, publishes what was journaled.
async fn stop<F: FrontEnd>(
    (d, server): (&mut Driver, &Option<crate::shell::serve::Server>),
    fe: &mut F,
    rb: &Runbook,
    operator: &str,
    reason: &str,
    why: Stop,
) -> End {
    let records = d.stop(operator, reason).await;
    publish(fe, rb, &records);
    if let Some(s) = server {
        for rec in &records {
            s.record(rec);
        }
    }
    d.release();
    End::Stopped(why)
}
