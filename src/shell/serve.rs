//! The driver's side of `cutover watch`: a Unix socket `watch.sock` in the session folder that
//! serves the session to watchers. Who may connect is the file system's answer (the folder's
//! permissions; the socket itself is owner and group read-write), and who connected is the
//! kernel's (the peer's uid from SO_PEERCRED, mapped to its user name).
//!
//! The loop publishes each record, sample and output line into one shared hub and never waits
//! for a watcher: publishing is a push under a short lock and a wake-up. Each connection has
//! its own task that pulls from the hub at its own pace. The hub holds the journal's lines
//! (the snapshot every watcher starts from, shared by all), the newest `RING` live frames and
//! the newest samples of each metric; a watcher that falls more than `RING` frames behind (it
//! stopped reading) is stale: it is sent a fresh snapshot once it reads again. So the driver's
//! memory does not grow with a watcher's backlog, and a stalled watcher costs it nothing.
//! The connections are served from a thread of their own (its own small runtime), so the
//! driver's thread only pushes: serving thirty watchers never takes the loop's time.

use crate::core::event::Record;
use crate::core::monitor::store::KEEP;
use crate::core::time::Ms;
use crate::shell::wire::{self, ClientFrame, DriverInfo, ServerFrame};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};

/// The socket's name in the session folder.
pub const SOCKET: &str = "watch.sock";

/// Live frames kept for watchers that lag: beyond this a watcher is resynchronised from a
/// snapshot instead of queued for. About a megabyte at most, whatever the number of watchers.
pub const RING: usize = 4096;

/// Frames written to a watcher per write: big enough to keep up with a `--speed max` drill,
/// small enough that a stalled watcher pins little memory.
const BATCH: usize = 256;

/// How long the serving thread waits, once woken, for more frames before the connections
/// write: a `--speed max` drill publishes thousands a second, and one wake-up and one write
/// per batch instead of per frame is what keeps thirty watchers cheap. Well inside the
/// 100 ms a watcher may lag.
const COALESCE: Duration = Duration::from_millis(2);

/// How often a watcher hears from an otherwise quiet driver: once a second, as often as an
/// idle watcher redraws its clock, so that it draws on the heartbeat and wakes once a second,
/// not twice.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// Someone came or went (the loop journals it and shows it).
#[derive(Debug, Clone, PartialEq)]
pub enum Presence {
    /// A watcher connected.
    Joined {
        /// The connection.
        conn: u64,
        /// The groups the peer's user is in (for the runbook's roles).
        groups: Vec<String>,
        /// OS user of the peer.
        user: String,
        /// Its uid.
        uid: u32,
        /// Everyone watching now.
        watchers: Vec<String>,
    },
    /// A watcher's connection closed.
    Left {
        /// The connection.
        conn: u64,
        /// OS user of the peer.
        user: String,
        /// Its uid.
        uid: u32,
        /// Everyone watching now.
        watchers: Vec<String>,
    },
}

/// What the serving thread hands the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum FromWatcher {
    /// Someone came or went.
    Presence(Presence),
    /// A watcher's request (already parsed strictly and within the rate limit).
    Asked {
        /// The connection.
        conn: u64,
        /// Its OS user.
        user: String,
        /// What it asks.
        frame: ClientFrame,
    },
}

/// Requests a watcher may send per `RATE_WINDOW` before it is refused and closed: a person
/// types a few a minute; a flood is a broken or hostile client, and each would be journaled.
pub const RATE: usize = 20;
const RATE_WINDOW: Duration = Duration::from_secs(10);

impl Presence {
    /// Everyone watching now.
    pub fn watchers(&self) -> &[String] {
        match self {
            Presence::Joined { watchers, .. } | Presence::Left { watchers, .. } => watchers,
        }
    }

    /// The journal's record of it, by the watcher's OS user.
    pub fn event(&self) -> crate::core::event::Entry {
        use crate::core::event::Event;
        match self {
            Presence::Joined { user, uid, .. } => Event::WatcherJoined {
                user: user.clone(),
                uid: *uid,
            }
            .by(user),
            Presence::Left { user, uid, .. } => Event::WatcherLeft {
                user: user.clone(),
                uid: *uid,
            }
            .by(user),
        }
    }
}

/// A frame on its way into the hub.
enum Staged {
    /// A journal record's frame and its journal line.
    Record(Arc<str>, Arc<str>),
    /// A metric's sample frame.
    Sample(String, Arc<str>),
    /// Any other live frame (command output).
    Frame(Arc<str>),
}

/// Frames the loop stages before it waits for the hub after all: a bound on its memory
/// and on how late a frame is when connections keep the hub busy.
const STAGE: usize = 1024;

/// What the hub holds for watchers.
struct Hub {
    driver: DriverInfo,
    /// The `rehearsals` frame every watcher gets after `hello`, when there are any.
    rehearsals: Option<String>,
    /// Every journal line of the session so far.
    records: Vec<Arc<str>>,
    /// The newest live frames; `ring[0]` has number `ring_start`.
    ring: VecDeque<Arc<str>>,
    ring_start: u64,
    /// The newest sample frames of each metric, for the snapshot (sparklines, `for` windows).
    samples: HashMap<String, VecDeque<Arc<str>>>,
    /// The driver's T-time at an instant, and how fast it runs (0 for a jumping clock).
    clock: (Ms, Instant, f64),
    /// Connection id, OS user and how far it has been sent, of each watcher.
    watchers: Vec<(u64, String, u64)>,
    /// Frames for one watcher only (its role, answers, offers), sent before the next live
    /// ones. Small: a few per request, and requests are rate-limited.
    inbox: HashMap<u64, Vec<Arc<str>>>,
    next_id: u64,
    /// Snapshots sent to watchers that fell behind (for tests and the log).
    resyncs: u64,
}

impl Hub {
    fn next_seq(&self) -> u64 {
        self.ring_start + self.ring.len() as u64
    }

    /// The number to wake the connections with, or none when nobody is connected: a watcher
    /// that comes later starts from a snapshot, and the serving thread then sleeps through
    /// an unwatched run instead of waking at the drill's pace.
    fn to_wake(&self) -> Option<u64> {
        (!self.watchers.is_empty()).then(|| self.next_seq())
    }

    fn put(&mut self, item: Staged) {
        match item {
            Staged::Record(frame, line) => {
                self.records.push(line);
                self.push(frame);
            }
            Staged::Sample(metric, frame) => {
                let q = self.samples.entry(metric).or_default();
                if q.len() == KEEP {
                    q.pop_front();
                }
                q.push_back(frame.clone());
                self.push(frame);
            }
            Staged::Frame(frame) => self.push(frame),
        }
    }

    fn push(&mut self, frame: Arc<str>) {
        if self.ring.len() == RING {
            self.ring.pop_front();
            self.ring_start += 1;
        }
        self.ring.push_back(frame);
    }

    fn now(&self) -> Ms {
        let (t, at, speed) = self.clock;
        t + (at.elapsed().as_secs_f64() * 1000.0 * speed) as Ms
    }

    fn names(&self) -> Vec<String> {
        self.watchers.iter().map(|(_, u, _)| u.clone()).collect()
    }
}

fn lock<T>(hub: &Mutex<T>) -> MutexGuard<'_, T> {
    // A connection task that panicked while holding the lock left the hub as consistent as
    // any push leaves it (each is one field at a time): serving goes on.
    hub.lock().unwrap_or_else(|p| p.into_inner())
}

/// The serving socket, owned by the loop.
pub struct Server {
    hub: Arc<Mutex<Hub>>,
    /// Tells the serving thread's pump that frames wait, once per `COALESCE` however many
    /// are published: at a `--speed max` drill's tens of thousands of samples a second, a
    /// wake-up of every connection per sample was half the loop's time.
    kick: watch::Sender<u64>,
    /// A kick is out and the pump has not yet passed it on.
    pending: Arc<AtomicBool>,
    presence: mpsc::UnboundedReceiver<FromWatcher>,
    /// Frames the loop published while a connection held the hub, in order: the loop never
    /// waits for the serving thread mid-run (on two cores that thread shares its core with
    /// the watchers, and a holder preempted there stalled the loop for a time slice). They
    /// go in with the next frames, or before the loop sleeps (`flush`).
    staged: Mutex<Vec<Staged>>,
    path: PathBuf,
    /// Ends the serving thread (and with it every connection).
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// Listens on `dir/watch.sock` (a stale socket left by a dead driver is replaced: the
    /// caller holds the session lock, so no live driver owns it). `history` is the journal
    /// so far. Fails only if the socket cannot be made; the run goes on without watchers.
    pub fn start(
        dir: &Path,
        (driver, rehearsals): (DriverInfo, &crate::core::rehearsal::Rehearsals),
        history: &[Record],
        (now, speed): (Ms, f64),
    ) -> std::io::Result<Server> {
        let path = dir.join(SOCKET);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = std::os::unix::net::UnixListener::bind(&path)?;
        // Owner and group may connect; the folder's permissions decide who reaches it
        // (README: a `cutover` group, `chmod 2770`). Others never may, whatever the umask.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660))?;
        listener.set_nonblocking(true)?;
        let rehearsals = (!rehearsals.is_empty()).then(|| {
            wire::encode(&ServerFrame::Rehearsals {
                rehearsals: rehearsals.clone(),
            })
        });
        let hub = Arc::new(Mutex::new(Hub {
            driver,
            rehearsals,
            records: history.iter().filter_map(line_of).collect(),
            ring: VecDeque::with_capacity(RING),
            ring_start: 0,
            samples: HashMap::new(),
            clock: (now, Instant::now(), speed),
            watchers: Vec::new(),
            inbox: HashMap::new(),
            next_id: 0,
            resyncs: 0,
        }));
        let (kick, kicks) = watch::channel(0u64);
        let pending = Arc::new(AtomicBool::new(false));
        let (ptx, presence) = mpsc::unbounded_channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (h, p) = (hub.clone(), pending.clone());
        std::thread::Builder::new()
            .name("cutover-serve".into())
            .spawn(move || serve_thread(listener, h, (kicks, p), ptx, stopped))?;
        Ok(Server {
            hub,
            kick,
            pending,
            presence,
            staged: Mutex::new(Vec::new()),
            path,
            stop: Some(stop),
        })
    }

    fn publish(&self, frame: String, record: Option<Arc<str>>) {
        let item = match record {
            Some(line) => Staged::Record(frame.into(), line),
            None => Staged::Frame(frame.into()),
        };
        self.put(vec![item], None, true);
    }

    /// Puts `items` in the hub after those staged before them, and sets the driver's clock.
    /// Unless `wait`, a hub held by a connection stages them instead (up to `STAGE`).
    fn put(&self, items: Vec<Staged>, now: Option<Ms>, wait: bool) {
        let mut staged = lock(&self.staged);
        staged.extend(items);
        if staged.is_empty() && now.is_none() {
            return;
        }
        let mut h = if wait || staged.len() >= STAGE {
            lock(&self.hub)
        } else {
            match self.hub.try_lock() {
                Ok(h) => h,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return,
            }
        };
        let any = !staged.is_empty();
        for item in staged.drain(..) {
            h.put(item);
        }
        drop(staged);
        if let Some(now) = now {
            h.clock.0 = now;
            h.clock.1 = Instant::now();
        }
        let seq = h.to_wake();
        drop(h);
        if let Some(seq) = seq.filter(|_| any) {
            self.wake(seq);
        }
    }

    /// Publishes what was staged: the loop calls it before it sleeps, so a frame waits at
    /// most for the loop's next pass.
    pub fn flush(&self) {
        self.put(Vec::new(), None, true);
    }

    /// Has the serving thread look at the hub, unless it is already about to.
    fn wake(&self, seq: u64) {
        // The frame is in the hub before the flag is read: a pump that has cleared the flag
        // passes it on, and one that has not will be kicked (see `pump`).
        if !self.pending.swap(true, Ordering::SeqCst) {
            self.kick.send_replace(seq);
        }
    }

    /// A journaled record, in order.
    pub fn record(&self, rec: &Record) {
        if let Some(line) = line_of(rec) {
            self.publish(wire::record_frame(&line), Some(line));
        }
    }

    /// What one pass of the loop did: its journaled records, then the metric reads the
    /// engine was given, in order, and the driver's T-time after them. Frames are encoded
    /// before the hub is locked, it is locked once for the pass, and not waited for: at a
    /// `--speed max` drill's pace a lock per sample was contended by every connection.
    pub fn performed(
        &self,
        records: &[Record],
        samples: &[(String, Ms, Result<f64, String>)],
        now: Ms,
    ) {
        let mut items: Vec<Staged> = records
            .iter()
            .filter_map(line_of)
            .map(|line| Staged::Record(wire::record_frame(&line).into(), line))
            .collect();
        items.extend(samples.iter().map(|(metric, at, value)| {
            let frame = wire::encode(&ServerFrame::Sample {
                metric: metric.clone(),
                at: *at,
                value: value.as_ref().ok().copied(),
                error: value.as_ref().err().cloned(),
            });
            Staged::Sample(metric.clone(), frame.into())
        }));
        self.put(items, Some(now), false);
    }

    /// A line of command output.
    pub fn output(&self, step: &str, line: &str, stderr: bool) {
        let frame = wire::encode(&ServerFrame::Output {
            step: step.to_string(),
            line: line.to_string(),
            stderr,
        });
        self.publish(frame, None);
    }

    /// Waits for a watcher to come, go or ask something.
    pub async fn next(&mut self) -> FromWatcher {
        match self.presence.recv().await {
            Some(p) => p,
            None => std::future::pending().await,
        }
    }

    /// Sends `frame` to connection `conn` only (dropped if it has gone).
    pub fn tell(&self, conn: u64, frame: &ServerFrame) {
        let seq = {
            let mut h = lock(&self.hub);
            if !h.watchers.iter().any(|w| w.0 == conn) {
                return;
            }
            h.inbox
                .entry(conn)
                .or_default()
                .push(wire::encode(frame).into());
            h.to_wake()
        };
        // Wakes the connection's task, which sends its inbox first.
        if let Some(seq) = seq {
            self.wake(seq);
        }
    }

    /// Watchers connected now.
    pub fn watchers(&self) -> Vec<String> {
        lock(&self.hub).names()
    }

    /// Snapshots sent so far to watchers that fell behind.
    pub fn resyncs(&self) -> u64 {
        lock(&self.hub).resyncs
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives watchers up to `limit` to be sent what was published (the run's last records),
    /// before the driver exits and their connections close. A stalled watcher is not waited
    /// for past `limit`; it reads the rest from the journal file.
    pub async fn drain(&self, limit: Duration) {
        self.flush();
        let start = Instant::now();
        while start.elapsed() < limit {
            let done = {
                let h = lock(&self.hub);
                let end = h.next_seq();
                h.watchers.iter().all(|w| w.2 >= end)
            };
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Ending the thread's runtime closes every connection: watchers see the driver go.
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The serving thread: accepts and feeds watchers until told to stop.
fn serve_thread(
    listener: std::os::unix::net::UnixListener,
    hub: Arc<Mutex<Hub>>,
    (kicks, pending): (watch::Receiver<u64>, Arc<AtomicBool>),
    presence: mpsc::UnboundedSender<FromWatcher>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    yield_to_the_loop();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::warn!(target: "cutover", "watch socket: cannot start its runtime: {e}");
            return;
        }
    };
    rt.block_on(async move {
        let listener = match UnixListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                log::warn!(target: "cutover", "watch socket: {e}");
                return;
            }
        };
        let (bump, _) = watch::channel(0u64);
        tokio::select! {
            _ = accept_loop(listener, hub, bump.clone(), presence) => {}
            // The loop's side was dropped: the run is over.
            _ = pump(kicks, &pending, &bump) => {}
            _ = stopped => {}
        }
    });
}

/// Passes the loop's kicks on to every connection, at most once per `COALESCE`.
/// The serving thread runs at nice +10: on a loaded host a watcher may fall behind, and is
/// brought up to date from a snapshot, but the loop that runs the cutover must not wait for
/// the thread that serves the watchers.
fn yield_to_the_loop() {
    if let Err(e) = lower_own_priority(10) {
        log::debug!(target: "cutover", "watch socket: could not lower the serving thread's priority: {e}");
    }
}

/// Raises the calling thread's nice value to `nice` (Linux's nice is per thread, so a
/// process calls this before it starts other threads). Needs no privilege.
pub fn lower_own_priority(nice: i32) -> std::io::Result<()> {
    let tid = nix::unistd::gettid().as_raw();
    // SAFETY: setpriority reads no memory of ours; `tid` is this thread's own id.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

async fn pump(mut kicks: watch::Receiver<u64>, pending: &AtomicBool, bump: &watch::Sender<u64>) {
    while kicks.changed().await.is_ok() {
        // Frames published while this waits ride on this kick.
        tokio::time::sleep(COALESCE).await;
        // Marked seen before the flag is cleared, so that a kick sent after the clearing
        // is a change the next `changed` sees; a frame published in between found the flag
        // still set, and is in the hub before the bump below.
        let seq = *kicks.borrow_and_update();
        pending.store(false, Ordering::SeqCst);
        bump.send_replace(seq);
    }
}

/// The record as its journal line.
fn line_of(rec: &Record) -> Option<Arc<str>> {
    // The record is as written: its secrets were blanked before it reached the journal.
    rec.to_json(&|s| s.to_string()).ok().map(Into::into)
}

/// The names of the groups `uid`'s user is in (its primary group included); none when the
/// user is unknown.
pub fn groups_of(uid: u32) -> Vec<String> {
    use nix::unistd::{Group, User, getgrouplist};
    let Ok(Some(u)) = User::from_uid(nix::unistd::Uid::from_raw(uid)) else {
        return Vec::new();
    };
    let Ok(name) = std::ffi::CString::new(u.name.clone()) else {
        return Vec::new();
    };
    getgrouplist(&name, u.gid)
        .unwrap_or_else(|_| vec![u.gid])
        .into_iter()
        .filter_map(|g| Group::from_gid(g).ok().flatten().map(|g| g.name))
        .collect()
}

/// The OS user name of `uid`, or the number when it has none.
pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => format!("uid {uid}"),
    }
}

async fn accept_loop(
    listener: UnixListener,
    hub: Arc<Mutex<Hub>>,
    bump: watch::Sender<u64>,
    presence: mpsc::UnboundedSender<FromWatcher>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of file descriptors, most likely: wait rather than spin.
                log::warn!(target: "cutover", "watch socket: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let uid = match stream.peer_cred() {
            Ok(c) => c.uid(),
            Err(e) => {
                log::warn!(target: "cutover", "watch socket: no peer credentials, refused: {e}");
                continue;
            }
        };
        let user = user_name(uid);
        let groups = groups_of(uid);
        let id = {
            let mut h = lock(&hub);
            h.next_id += 1;
            let id = h.next_id;
            h.watchers.push((id, user.clone(), 0));
            let _ = presence.send(FromWatcher::Presence(Presence::Joined {
                conn: id,
                groups,
                user: user.clone(),
                uid,
                watchers: h.names(),
            }));
            id
        };
        let (hub, rx, presence) = (hub.clone(), bump.subscribe(), presence.clone());
        log::info!(target: "cutover", "watch socket: {user} (uid {uid}) is watching");
        tokio::spawn(async move {
            connection(stream, &hub, rx, (id, &user), presence.clone()).await;
            let mut h = lock(&hub);
            h.watchers.retain(|(i, _, _)| *i != id);
            h.inbox.remove(&id);
            let _ = presence.send(FromWatcher::Presence(Presence::Left {
                conn: id,
                user,
                uid,
                watchers: h.names(),
            }));
        });
    }
}

/// Serves one watcher until it leaves, sends garbage, or the driver ends.
async fn connection(
    stream: UnixStream,
    hub: &Mutex<Hub>,
    rx: watch::Receiver<u64>,
    (id, user): (u64, &str),
    to_loop: mpsc::UnboundedSender<FromWatcher>,
) {
    let (rd, mut wr) = stream.into_split();
    let (bad_tx, mut bad_rx) = tokio::sync::oneshot::channel::<String>();
    let reader = tokio::spawn(read_requests(rd, bad_tx, (id, user.to_string()), to_loop));
    let why = tokio::select! {
        r = feed(&mut wr, hub, rx, (id, user)) => r.err().map(|e| e.to_string()),
        bad = &mut bad_rx => bad.ok(),
    };
    if let Some(reason) = why {
        // Best effort, and bounded: a watcher that stopped reading does not get to hold
        // the connection open by not reading its refusal.
        let f = wire::encode(&ServerFrame::Refused { reason });
        let _ = tokio::time::timeout(Duration::from_millis(200), wr.write_all(f.as_bytes())).await;
    }
    reader.abort();
}

/// Reads a watcher's requests: each line at most `MAX_CLIENT_FRAME` bytes, parsed strictly.
/// The first bad one is logged and ends the connection (through `bad`).
async fn read_requests(
    rd: tokio::net::unix::OwnedReadHalf,
    bad: tokio::sync::oneshot::Sender<String>,
    (conn, user): (u64, String),
    to_loop: mpsc::UnboundedSender<FromWatcher>,
) {
    let mut rd = tokio::io::BufReader::new(rd);
    let mut line = Vec::new();
    let mut recent: VecDeque<Instant> = VecDeque::with_capacity(RATE);
    loop {
        line.clear();
        // One byte past the limit tells an oversized line from one that fits.
        let limit = (wire::MAX_CLIENT_FRAME + 1) as u64;
        let n = match (&mut rd).take(limit).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        if n as u64 == limit && !line.ends_with(b"\n") {
            log::warn!(target: "cutover", "watch socket: {user} sent an oversized request; connection closed");
            let _ = bad.send(format!(
                "request longer than {} bytes",
                wire::MAX_CLIENT_FRAME
            ));
            return;
        }
        match wire::parse_client(body) {
            Ok(ClientFrame::Hello { protocol }) if protocol != wire::PROTOCOL => {
                let _ = bad.send(format!(
                    "this driver speaks protocol {}, not {protocol}",
                    wire::PROTOCOL
                ));
                return;
            }
            Ok(ClientFrame::Hello { .. } | ClientFrame::Ping {}) => {}
            Ok(frame) => {
                while recent.front().is_some_and(|t| t.elapsed() > RATE_WINDOW) {
                    recent.pop_front();
                }
                if recent.len() >= RATE {
                    log::warn!(target: "cutover", "watch socket: {user} sent more than {RATE} requests in {}s; connection closed", RATE_WINDOW.as_secs());
                    let _ = bad.send(format!(
                        "more than {RATE} requests in {} seconds",
                        RATE_WINDOW.as_secs()
                    ));
                    return;
                }
                recent.push_back(Instant::now());
                let _ = to_loop.send(FromWatcher::Asked {
                    conn,
                    user: user.clone(),
                    frame,
                });
            }
            Err(e) => {
                log::warn!(target: "cutover", "watch socket: {user} sent a bad request ({e}); connection closed");
                let _ = bad.send(e.to_string());
                return;
            }
        }
    }
}

/// What a watcher is sent, from where it is: hello, a snapshot, then live frames; a new
/// snapshot whenever it fell behind the ring.
async fn feed(
    wr: &mut tokio::net::unix::OwnedWriteHalf,
    hub: &Mutex<Hub>,
    mut rx: watch::Receiver<u64>,
    (id, user): (u64, &str),
) -> std::io::Result<()> {
    let hello = {
        let h = lock(hub);
        wire::encode(&ServerFrame::Hello {
            protocol: wire::PROTOCOL,
            driver: h.driver.clone(),
            you: user.to_string(),
        })
    };
    wr.write_all(hello.as_bytes()).await?;
    let rehearsals = lock(hub).rehearsals.clone();
    if let Some(r) = rehearsals {
        wr.write_all(r.as_bytes()).await?;
    }
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // When the watcher last heard the driver's clock: live frames carry it too once half a
    // heartbeat has passed, and the heartbeat then waits a whole one. An idle watcher thus
    // wakes once a second at the driver's pace, not once for its samples and again, out of
    // phase, for the heartbeat.
    let mut told = Instant::now();
    let mut first = true;
    loop {
        let mut cursor = snapshot(wr, hub, first).await?;
        first = false;
        if let Some(w) = lock(hub).watchers.iter_mut().find(|w| w.0 == id) {
            w.2 = cursor;
        }
        loop {
            let (direct, batch) = {
                // One lock per pass: this runs once per batch at a `--speed max` drill's pace.
                let mut h = lock(hub);
                let direct = h.inbox.remove(&id);
                let batch = if cursor < h.ring_start {
                    None
                } else {
                    let from = (cursor - h.ring_start) as usize;
                    let frames: Vec<Arc<str>> =
                        h.ring.iter().skip(from).take(BATCH).cloned().collect();
                    Some(frames)
                };
                (direct, batch)
            };
            if let Some(frames) = direct {
                let buf: String = frames.iter().map(|f| f.as_ref()).collect();
                wr.write_all(buf.as_bytes()).await?;
            }
            let Some(frames) = batch else {
                lock(hub).resyncs += 1;
                break;
            };
            if frames.is_empty() {
                tokio::select! {
                    r = rx.changed() => {
                        if r.is_err() {
                            // The driver is gone (its server was dropped).
                            return Ok(());
                        }
                    }
                    _ = beat.tick() => {
                        told = Instant::now();
                        wr.write_all(tick_frame(hub).as_bytes()).await?;
                    }
                }
                continue;
            }
            cursor += frames.len() as u64;
            let mut buf = String::with_capacity(frames.iter().map(|f| f.len()).sum());
            for f in &frames {
                buf.push_str(f);
            }
            drop(frames);
            if told.elapsed() * 2 >= HEARTBEAT {
                told = Instant::now();
                beat.reset();
                buf.push_str(&tick_frame(hub));
            }
            wr.write_all(buf.as_bytes()).await?;
            if let Some(w) = lock(hub).watchers.iter_mut().find(|w| w.0 == id) {
                w.2 = cursor;
            }
        }
    }
}

/// The driver's clock and who watches, as a `tick` frame.
fn tick_frame(hub: &Mutex<Hub>) -> String {
    let h = lock(hub);
    wire::encode(&ServerFrame::Tick {
        now: h.now(),
        watchers: h.names(),
    })
}

/// Sends a snapshot (`reset`, every record, the recent samples, `live`) and returns the ring
/// position live frames continue from. Records are sent in batches from the shared list, so
/// a snapshot costs the driver no copy of the journal per watcher.
async fn snapshot(
    wr: &mut tokio::net::unix::OwnedWriteHalf,
    hub: &Mutex<Hub>,
    first: bool,
) -> std::io::Result<u64> {
    let (count, cursor, samples) = {
        let h = lock(hub);
        let samples: Vec<Arc<str>> = h.samples.values().flatten().cloned().collect();
        (h.records.len(), h.next_seq(), samples)
    };
    if !first {
        log::info!(target: "cutover", "watch socket: a watcher fell behind; sending it a fresh snapshot");
    }
    let reset = wire::encode(&ServerFrame::Reset {
        records: count as u64,
    });
    wr.write_all(reset.as_bytes()).await?;
    let mut i = 0;
    while i < count {
        let lines: Vec<Arc<str>> = lock(hub).records[i..count.min(i + BATCH)].to_vec();
        i += lines.len();
        let mut buf = String::new();
        for l in &lines {
            buf.push_str(&wire::record_frame(l));
        }
        wr.write_all(buf.as_bytes()).await?;
    }
    let mut buf: String = samples.iter().map(|s| s.as_ref()).collect();
    buf.push_str(&tick_frame(hub));
    buf.push_str(&wire::encode(&ServerFrame::Live {}));
    wr.write_all(buf.as_bytes()).await?;
    Ok(cursor)
}

#[cfg(test)]
mod tests;
