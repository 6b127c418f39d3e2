//! `cutover watch SESSION_DIR`: the whole cockpit, read-only, at the watcher's own terminal
//! size with its own focus, scrolling and tabs. It connects to the driver's `watch.sock`,
//! rebuilds the run from the snapshot (records folded into its own engine, samples into its
//! monitor: a watcher never polls a platform), then follows the live frames. Keys that would
//! change the run are refused with why; nothing here writes to the session.
//!
//! Without a live driver (no socket, refused, closed, or silent for `SILENT`), it shows the
//! session as its journal left it under a `NOT LIVE` banner, and tries the socket again every
//! `RETRY`, so a resumed driver is picked up by itself.

use crate::config::keymap::{Action, Keymap};
use crate::config::theme::Theme;
use crate::core::engine::{Config, Engine};
use crate::core::event::{Mode, Record};
use crate::core::runbook::Runbook;
use crate::core::time::{Ms, Speed};
use crate::screen::app::{self, Overlay, Ui};
use crate::screen::log::Level;
use crate::screen::print;
use crate::screen::share::{Gone, Role, Share};
use crate::screen::ui::{self, View};
use crate::shell::cockpit::level_of;
use crate::shell::serve::SOCKET;
use crate::shell::tui::{self, Term};
use crate::shell::wire::{self, ClientFrame, Server, ServerFrame};
use chrono::{DateTime, Local};
use crossterm::event::Event as TermEvent;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// How often a watcher without a driver tries the socket again.
pub const RETRY: Duration = Duration::from_secs(1);

/// A driver silent this long (no frame, not even its heartbeat) counts as gone: a stopped or
/// hung process keeps its socket open but drives nothing.
/// Three heartbeats: one late heartbeat on a loaded host is not a lost driver. (A killed
/// driver is noticed at once: its socket closes.)
pub const SILENT: Duration = Duration::from_secs(3);

/// How long past its clock tick an idle watcher's own timer waits for the driver's heartbeat.
/// A heartbeat in the second half of a tick draws the clock; the drawing so locks onto the
/// heartbeats within a few ticks, and an idle watcher wakes once a second, not twice.
const ALIGN: Duration = Duration::from_millis(150);

const FRAME: Duration = Duration::from_millis(33);

/// What the watcher was started with.
pub struct WatchOptions {
    /// The session folder.
    pub session: PathBuf,
    /// The session's runbook, loaded.
    pub runbook: Runbook,
    /// live or drill.
    pub mode: Mode,
    /// The drill speed the session started with (the driver's hello says the current one).
    pub speed: Speed,
    /// Colours.
    pub theme: Theme,
    /// Keys (for looking around; the rest are refused).
    pub keymap: Keymap,
    /// `--drive`: ask for the keys at each connection (a detached session's driver).
    pub drive: bool,
}

/// What the connection's reader hands the loop.
enum Incoming {
    Frame(Server),
    Closed(String),
}

/// The watcher's state.
struct Watcher {
    o: WatchOptions,
    engine: Engine,
    ui: Ui,
    /// The newest record folded in.
    seen: u64,
    /// Frames from the driver while connected.
    link: Option<mpsc::Receiver<Incoming>>,
    /// The driver's T-time at an instant, and its clock's speed (0 for a jumping clock).
    clock: (Ms, Instant, f64),
    last_frame: Instant,
    /// A heartbeat came in the frames just applied.
    beat: bool,
    last_try: Option<Instant>,
    gone_since: DateTime<Local>,
    /// While a snapshot is arriving (it is not drawn half done).
    syncing: bool,
    /// A snapshot has arrived whole and the connection is up: the view is live. Until then
    /// (and after a loss) the screen says NOT LIVE, whatever the socket does.
    live: bool,
    driver: String,
    driver_user: String,
    me: String,
    /// Lines for the driver (requests), while connected.
    out: Option<mpsc::UnboundedSender<String>>,
    /// This watcher's role, keys and any offer of them, as the driver said.
    role: Role,
    keys: bool,
    offer: Option<String>,
    /// Who holds the keys, from the journal's last `driver_changed`.
    keys_with: Option<String>,
    /// Event → screen delays, when measured (`CUTOVER_WATCH_LATENCY`).
    latency: Latency,
    /// The earlier drills the driver counts, as it sent them (kept for the engine each
    /// snapshot rebuilds, and for the journal's view once the driver has gone).
    rehearsals: crate::core::rehearsal::Rehearsals,
}

/// CUTOVER_WATCH_LATENCY=FILE: for each record that arrives live, the time from its journal
/// write in the driver (its `at`, the same host's wall clock) to the end of the first frame
/// that shows it, in microseconds, one per line, written on exit; for bench/watch_latency.sh.
#[derive(Default)]
struct Latency {
    path: Option<PathBuf>,
    /// Journal times of records applied since the last frame.
    pending: Vec<DateTime<chrono::Utc>>,
    micros: Vec<u64>,
}

impl Latency {
    fn from_env() -> Self {
        Self {
            path: std::env::var_os("CUTOVER_WATCH_LATENCY").map(Into::into),
            ..Self::default()
        }
    }

    fn arrived(&mut self, at: &str) {
        if self.path.is_some()
            && self.micros.len() < 1_000_000
            && let Ok(t) = DateTime::parse_from_rfc3339(at)
        {
            self.pending.push(t.with_timezone(&chrono::Utc));
        }
    }

    fn drawn(&mut self) {
        let now = chrono::Utc::now();
        for t in self.pending.drain(..) {
            self.micros
                .push((now - t).num_microseconds().unwrap_or(0).max(0) as u64);
        }
    }

    fn write(&self) {
        if let Some(p) = &self.path {
            crate::shell::cockpit::write_micros(p, self.micros.iter().copied(), "watch latencies");
        }
    }
}

fn factor(mode: Mode, speed: Speed) -> f64 {
    match (mode, speed) {
        (Mode::Live, _) => 1.0,
        (_, Speed::Max) => 0.0,
        (_, Speed::Factor(f)) => f,
    }
}

impl Watcher {
    fn fresh_engine(&self) -> Engine {
        let mut e = Engine::new(self.o.runbook.clone(), Config::default());
        e.set_rehearsals(self.rehearsals.clone());
        e
    }

    fn now(&self) -> Ms {
        let (t, at, f) = self.clock;
        if !self.live {
            return t;
        }
        t + (at.elapsed().as_secs_f64() * 1000.0 * f) as Ms
    }

    /// Shows the session from its journal file: at start, before any driver answered.
    fn show_journal(&mut self) {
        let records = match crate::shell::journal::read(&self.o.session) {
            Ok(r) => r,
            Err(e) => {
                self.ui
                    .log
                    .push(Level::Error, &format!("cannot read the journal: {e}"));
                return;
            }
        };
        let mut engine = self.fresh_engine();
        engine.replay(&records);
        self.engine = engine;
        self.ui.log = Default::default();
        for r in &records {
            self.log_record(r);
        }
        if let Some(last) = records.last() {
            self.seen = last.seq;
            self.clock = (last.t_ms(), Instant::now(), 0.0);
            if let Ok(at) = DateTime::parse_from_rfc3339(&last.at) {
                self.gone_since = at.with_timezone(&Local);
            }
        }
    }

    /// Picks up what the journal got after the last frame (the driver's last words).
    fn catch_up_from_journal(&mut self) {
        if let Ok(records) = crate::shell::journal::read(&self.o.session) {
            let seen = self.seen;
            for r in records.iter().filter(|r| r.seq > seen) {
                self.engine.follow(r);
                self.log_record(r);
                self.seen = r.seq;
            }
        }
    }

    fn log_record(&mut self, r: &Record) {
        if let Some(line) = print::event_line(&self.o.runbook, r) {
            self.ui.log.push(level_of(&r.event), &line);
        }
    }

    fn set_share(&mut self, watchers: Option<Vec<String>>) {
        let gone = (!self.live).then(|| Gone {
            since: self.gone_since.format("%H:%M:%S").to_string(),
            ago_s: (Local::now() - self.gone_since).num_seconds(),
        });
        let old = match &self.ui.share {
            Share::Watching { watchers, .. } => watchers.clone(),
            _ => Vec::new(),
        };
        let live = gone.is_none();
        self.ui.share = Share::Watching {
            driver: self.driver.clone(),
            driver_user: self.driver_user.clone(),
            watchers: watchers.unwrap_or(old),
            gone,
            role: self.role,
            keys: self.keys && live,
            offer: self.offer.clone().filter(|_| live),
            keys_with: self.keys_with.clone(),
        };
    }

    /// The driver went away: show what is known, marked as not live.
    fn lost(&mut self, why: &str) {
        self.syncing = false;
        self.out = None;
        self.keys = false;
        self.offer = None;
        let was_live = std::mem::replace(&mut self.live, false);
        if self.link.take().is_some() && was_live {
            // The frozen clock is where the driver was last seen.
            self.clock = (self.now_at_loss(), Instant::now(), 0.0);
            // Gone since its last word, not since the silence was noticed.
            self.gone_since = Local::now()
                - chrono::Duration::from_std(self.last_frame.elapsed()).unwrap_or_default();
            self.ui
                .log
                .push(Level::Warn, &format!("driver gone: {why}"));
            self.catch_up_from_journal();
        }
        self.set_share(Some(Vec::new()));
    }

    fn now_at_loss(&self) -> Ms {
        let (t, at, f) = self.clock;
        t + (at.elapsed().min(SILENT).as_secs_f64() * 1000.0 * f) as Ms
    }

    /// Tries the socket; on success the snapshot that follows rebuilds the run.
    async fn try_connect(&mut self) {
        self.last_try = Some(Instant::now());
        let path = self.o.session.join(SOCKET);
        let Ok(stream) = tokio::net::UnixStream::connect(&path).await else {
            return;
        };
        let (rd, mut wr) = stream.into_split();
        let hello = wire::encode(&ClientFrame::Hello {
            protocol: wire::PROTOCOL,
        });
        if wr.write_all(hello.as_bytes()).await.is_err() {
            return;
        }
        let (tx, rx) = mpsc::channel(1024);
        let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(read_frames(rd, tx));
        tokio::spawn(async move {
            // Requests are a person's, a few a minute: written as they come. When the write
            // half drops the driver sees the watcher leave.
            while let Some(line) = out_rx.recv().await {
                if wr.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
        if self.o.drive {
            let _ = out.send(wire::encode(&ClientFrame::TakeKeys {}));
        }
        self.out = Some(out);
        self.link = Some(rx);
        self.last_frame = Instant::now();
    }

    /// Applies one frame; false when nothing on screen changes (a heartbeat only moves the
    /// clock, which the next tick draws anyway: redrawing for each would double an idle
    /// watcher's frames).
    fn apply(&mut self, f: Server) -> bool {
        self.last_frame = Instant::now();
        if let Server::Other(ServerFrame::Tick { now, watchers }) = &f {
            self.beat = true;
            let before = self.ui.share.clone();
            self.clock = (*now, Instant::now(), self.clock.2);
            let mut others = watchers.clone();
            // The list counts this connection too.
            if let Some(i) = others.iter().position(|w| *w == self.me) {
                others.remove(i);
            }
            self.set_share(Some(others));
            return self.ui.share != before;
        }
        match f {
            Server::Record(r) => {
                if r.seq <= self.seen && !self.syncing {
                    return false;
                }
                self.engine.follow(&r);
                self.log_record(&r);
                self.seen = r.seq;
                if self.live {
                    self.latency.arrived(&r.at);
                }
                if let crate::core::event::Event::DriverChanged { to, .. } = &r.event {
                    self.keys_with = Some(to.clone());
                    self.set_share(None);
                }
            }
            Server::Other(ServerFrame::Hello { driver, you, .. }) => {
                self.driver = if driver.operator == driver.user {
                    format!("{}@{}", driver.user, driver.host)
                } else {
                    format!(
                        "{}@{} (operator {})",
                        driver.user, driver.host, driver.operator
                    )
                };
                self.driver_user = driver.user.clone();
                // The header's "operator" is who is at the driver's keys, not this watcher.
                self.ui.operator = driver.operator.clone();
                self.me = you;
                let speed = match driver.speed.as_str() {
                    "max" => Speed::Max,
                    s => s.parse().map(Speed::Factor).unwrap_or(self.o.speed),
                };
                self.o.speed = speed;
                self.clock.2 = factor(self.o.mode, speed);
            }
            Server::Other(ServerFrame::Rehearsals { rehearsals }) => {
                self.engine.set_rehearsals(rehearsals.clone());
                self.rehearsals = rehearsals;
            }
            Server::Other(ServerFrame::Reset { .. }) => {
                self.engine = self.fresh_engine();
                self.ui.log = Default::default();
                self.seen = 0;
                self.syncing = true;
            }
            Server::Other(ServerFrame::Live {}) => {
                self.syncing = false;
                self.live = true;
                self.ui.log.push(
                    Level::Info,
                    &format!("watching {} (read-only)", self.driver),
                );
                self.set_share(None);
            }
            Server::Other(ServerFrame::Sample {
                metric,
                at,
                value,
                error,
            }) => {
                let v = match (value, error) {
                    (_, Some(e)) => Err(e),
                    (Some(v), None) => Ok(v),
                    (None, None) => Ok(f64::NAN),
                };
                let now = self.now().max(at);
                self.engine.monitor.sample(&metric, at, v, now);
                // As in the cockpit, samples are drawn at the next tick.
                return false;
            }
            Server::Other(ServerFrame::Output { step, line, stderr }) => {
                let level = if stderr { Level::Warn } else { Level::Debug };
                self.ui.log.push(level, &format!("{step}: {line}"));
                self.engine.mirror_output(&step, line);
            }
            Server::Other(ServerFrame::Tick { .. }) => {}
            Server::Other(ServerFrame::You { role, keys }) => {
                let had = self.keys;
                self.role = Role::parse(&role).unwrap_or(Role::Observer);
                self.keys = keys;
                if keys {
                    self.offer = None;
                }
                let moved = match (had, keys) {
                    (false, true) => Some("you hold the keys: your keys drive the run now"),
                    (true, false) => Some("the keys moved on: this screen is read-only again"),
                    _ => None,
                };
                // The role is on the banner; only the keys moving is news worth the footer.
                match moved {
                    Some(text) => {
                        self.ui.log.push(Level::Info, text);
                        self.ui.flash = Some((text.to_string(), self.now()));
                    }
                    None => self.ui.log.push(
                        Level::Info,
                        &format!("you are {} in this session", self.role.as_str()),
                    ),
                }
                self.set_share(None);
            }
            Server::Other(ServerFrame::Answer { ok, text }) => {
                let level = if ok { Level::Info } else { Level::Warn };
                self.ui.log.push(level, &format!("the driver: {text}"));
                self.ui.flash = Some((text, self.now()));
            }
            Server::Other(ServerFrame::Offer { from }) => {
                let text = format!("{from} offers you the keys: press H, then type take");
                self.ui.log.push(Level::Warn, &text);
                self.ui.flash = Some((text, self.now()));
                self.offer = Some(from);
                self.set_share(None);
            }
            Server::Other(ServerFrame::Refused { reason }) => {
                self.ui
                    .log
                    .push(Level::Error, &format!("the driver refused: {reason}"));
            }
        }
        true
    }

    /// A key: looking around is the watcher's own; what would change the run is asked of the
    /// driver (which checks this watcher's role and the keys again), or refused here with
    /// why when this screen may not ask it. Returns true to leave.
    fn key(&mut self, k: crate::config::keymap::Key) -> bool {
        let now = self.now();
        if self.ui.overlay == Overlay::None && self.o.keymap.lookup(&k) == Some(Action::Quit) {
            return true;
        }
        for r in app::on_key(&mut self.ui, &self.engine, &self.o.keymap, k, now) {
            let frame = match r {
                app::Request::Quit => return true,
                app::Request::Engine(crate::core::engine::Msg::Note { text, .. }) => {
                    Some(ClientFrame::Note { text })
                }
                app::Request::Engine(m) => wire::Act::of(&m).map(|act| ClientFrame::Act { act }),
                app::Request::RaiseHand { reason } => Some(ClientFrame::RaiseHand { reason }),
                app::Request::HandOver { to } => Some(ClientFrame::HandOver { to }),
                app::Request::TakeKeys => Some(ClientFrame::TakeKeys {}),
            };
            let Some(frame) = frame else { continue };
            let sent = self
                .out
                .as_ref()
                .is_some_and(|o| o.send(wire::encode(&frame)).is_ok());
            if !sent {
                self.ui.flash = Some((
                    "not sent: no live driver to ask (the screen shows the journal as it was left)"
                        .into(),
                    now,
                ));
            }
        }
        false
    }

    fn draw(&mut self, term: &mut Term) -> std::io::Result<()> {
        if matches!(self.ui.share, Share::Watching { gone: Some(_), .. }) {
            self.set_share(None);
        }
        let view = View {
            engine: &self.engine,
            ui: &self.ui,
            now: self.now(),
            mode: self.o.mode,
            speed: self.o.speed,
            theme: &self.o.theme,
            keymap: &self.o.keymap,
            resume_hint: "",
            live_log: false,
            diagnostics: 0,
        };
        term.draw(|f| ui::render(f, &view))?;
        self.latency.drawn();
        Ok(())
    }
}

/// Reads the driver's frames (each line at most `MAX_SERVER_FRAME`) until the socket closes
/// or a frame is bad.
async fn read_frames(rd: tokio::net::unix::OwnedReadHalf, tx: mpsc::Sender<Incoming>) {
    let mut rd = tokio::io::BufReader::with_capacity(1 << 16, rd);
    let mut line = Vec::new();
    loop {
        line.clear();
        let limit = (wire::MAX_SERVER_FRAME + 1) as u64;
        match (&mut rd).take(limit).read_until(b'\n', &mut line).await {
            Ok(0) => {
                let _ = tx
                    .send(Incoming::Closed("the driver closed the connection".into()))
                    .await;
                return;
            }
            Err(e) => {
                let _ = tx
                    .send(Incoming::Closed(format!("connection error: {e}")))
                    .await;
                return;
            }
            Ok(_) => {}
        }
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        match wire::parse_server(body) {
            Ok(f) => {
                if tx.send(Incoming::Frame(f)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx
                    .send(Incoming::Closed(format!("bad frame from the driver: {e}")))
                    .await;
                return;
            }
        }
    }
}

/// The driver as the session's lock names it, for the banner before any hello.
fn driver_from_lock(session: &std::path::Path) -> (String, String) {
    let holder = std::fs::read_to_string(session.join("lock"))
        .ok()
        .and_then(|t| serde_json::from_str::<crate::shell::session::Holder>(&t).ok());
    match holder {
        Some(h) => (format!("{}@{}", h.operator, h.host), h.operator),
        None => ("(none)".into(), "(none)".into()),
    }
}

/// Runs the watcher until the operator leaves; returns the exit code.
pub async fn run(o: WatchOptions) -> Result<i32, String> {
    let (driver, driver_user) = driver_from_lock(&o.session);
    let me = crate::shell::serve::user_name(nix::unistd::getuid().as_raw());
    let engine = Engine::new(o.runbook.clone(), Config::default());
    let mut w = Watcher {
        engine,
        ui: Ui::new(&me),
        seen: 0,
        link: None,
        clock: (0, Instant::now(), factor(o.mode, o.speed)),
        last_frame: Instant::now(),
        beat: false,
        last_try: None,
        gone_since: Local::now(),
        syncing: false,
        live: false,
        driver,
        driver_user,
        me,
        out: None,
        role: Role::Observer,
        keys: false,
        offer: None,
        keys_with: None,
        latency: Latency::from_env(),
        rehearsals: Default::default(),
        o,
    };
    w.show_journal();
    w.try_connect().await;
    w.set_share(None);
    let (mut term, guard) = tui::init().map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let mut keys = tui::key_reader();
    let mut winch =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok();
    // SIGTERM, SIGHUP (the terminal closed) and SIGINT leave as `q` does: the terminal is
    // restored, and nothing of the session is touched either way.
    let mut signals = crate::shell::runtime::StopSignals::new().map_err(|e| e.to_string())?;
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    // The kernel's timer, not tokio's wheel (which wakes early to re-file a deadline over
    // 64 ms away: a quarter more wake-ups for an idle watcher; see `shell::timer`).
    let mut timer = crate::shell::timer::Timer::new();
    let result = loop {
        let tick = if w.link.is_some() && w.clock.2 > 0.0 {
            Duration::from_secs_f64((1.0 / w.clock.2).clamp(0.25, 1.0))
        } else {
            Duration::from_secs(1)
        };
        let since = last_draw.map(|t| t.elapsed());
        // At a clock of a tick a second, heartbeats (as often) pace the drawing.
        let paced = w.link.is_some() && tick >= crate::shell::serve::HEARTBEAT;
        let beat_due = paced && w.beat && since.is_some_and(|s| s * 2 >= tick);
        if !w.syncing
            && (since.is_none_or(|s| s >= tick)
                || beat_due
                || (dirty && since.is_none_or(|s| s >= FRAME)))
        {
            if let Err(e) = w.draw(&mut term) {
                break Err(format!("terminal error: {e}"));
            }
            last_draw = Some(Instant::now());
            dirty = false;
        }
        // Only a heartbeat that has just come paces a frame.
        w.beat = false;
        let wait = if paced { tick + ALIGN } else { tick };
        let wake = if dirty { FRAME } else { wait }
            .saturating_sub(last_draw.map_or(Duration::ZERO, |t| t.elapsed()));
        let resized = async {
            match &mut winch {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        let frames = async {
            match &mut w.link {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            k = keys.recv() => {
                dirty = true;
                match k.flatten() {
                    Some(Ok(TermEvent::Key(k))) => {
                        if let Some(k) = tui::key_of(&k)
                            && w.key(k)
                        {
                            break Ok(0);
                        }
                    }
                    Some(Ok(TermEvent::Resize(..))) => {
                        let _ = term.autoresize();
                        last_draw = None;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break Ok(1),
                }
            }
            _ = resized => {
                let _ = term.autoresize();
                last_draw = None;
            }
            f = frames => {
                let mut next = f;
                // Everything already here, then one re-evaluation and one frame.
                for _ in 0..4096 {
                    match next {
                        Some(Incoming::Frame(f)) => dirty |= w.apply(f),
                        Some(Incoming::Closed(why)) => { w.lost(&why); dirty = true; break; }
                        None => { w.lost("the connection ended"); dirty = true; break; }
                    }
                    next = match &mut w.link {
                        Some(rx) => match rx.try_recv() {
                            Ok(f) => Some(f),
                            Err(_) => break,
                        },
                        None => break,
                    };
                }
                let now = w.now();
                w.engine.observe(now);
            }
            _ = timer.sleep(wake.max(Duration::from_millis(5))) => {}
            _ = signals.recv() => break Ok(0),
        }
        if w.link.is_some() && w.last_frame.elapsed() > SILENT {
            w.lost("the driver stopped answering");
            dirty = true;
        }
        if w.link.is_none() && w.last_try.is_none_or(|t| t.elapsed() >= RETRY) {
            w.try_connect().await;
            dirty = true;
        }
        if w.link.is_some() && !w.syncing {
            let now = w.now();
            w.engine.observe(now);
        }
    };
    drop(term);
    drop(guard);
    w.latency.write();
    println!("cutover: stopped watching {}", w.o.session.display());
    result
}
