//! Running step commands: each in its own process group, output captured line by line,
//! a real-time timeout, and on timeout or kill the whole group is stopped (TERM, then KILL),
//! so nothing a step started is left running.
//!
//! Children carry `CUTOVER_SESSION` in their environment; after a crash (`kill -9` of the
//! cockpit) the next driver finds and stops what the dead one left with `kill_leftovers`.

use crate::core::engine::{ExecResult, Spawn, Stage};
use crate::core::runbook::Command;
use crate::core::time::Ms;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, oneshot};

/// How long a group gets between TERM and KILL.
const KILL_GRACE: Duration = Duration::from_secs(3);

/// What the executor reports.
#[derive(Debug)]
pub enum ExecEvent {
    /// A line of output.
    Line {
        /// Step id.
        step: String,
        /// The line, without its newline.
        line: String,
        /// From stderr.
        stderr: bool,
    },
    /// A command ended.
    Exited {
        /// Step id.
        step: String,
        /// Attempt.
        attempt: u32,
        /// Run or verify.
        stage: Stage,
        /// How.
        result: ExecResult,
    },
}

/// Starts and stops step commands.
pub struct Executor {
    tx: mpsc::UnboundedSender<ExecEvent>,
    dir: PathBuf,
    env: Vec<(String, String)>,
    running: HashMap<String, oneshot::Sender<()>>,
}

impl Executor {
    /// Commands run in `dir` (the runbook's folder) with the parent's environment plus `env`.
    pub fn new(
        tx: mpsc::UnboundedSender<ExecEvent>,
        dir: PathBuf,
        env: Vec<(String, String)>,
    ) -> Self {
        Self {
            tx,
            dir,
            env,
            running: HashMap::new(),
        }
    }

    /// Starts `spec`; its events arrive on the channel.
    pub fn spawn(&mut self, spec: Spawn) {
        let (cancel_tx, cancel_rx) = oneshot::channel();
        self.running.retain(|_, c| !c.is_closed());
        self.running.insert(spec.step.clone(), cancel_tx);
        let cmd = build(&spec.command, &self.dir, &self.env, &spec);
        let tx = self.tx.clone();
        tokio::spawn(run(cmd, spec, tx, cancel_rx));
    }

    /// Kills a step's command (its whole process group).
    pub fn kill(&mut self, step: &str) {
        if let Some(c) = self.running.remove(step) {
            let _ = c.send(());
        }
    }

    /// Steps whose commands are running.
    pub fn running(&mut self) -> Vec<String> {
        self.running.retain(|_, c| !c.is_closed());
        self.running.keys().cloned().collect()
    }

    /// Kills everything and waits until the groups are gone (bounded by the kill grace).
    pub async fn kill_all(&mut self, rx: &mut mpsc::UnboundedReceiver<ExecEvent>) {
        let mut waiting = self.running().len();
        for (_, c) in self.running.drain() {
            let _ = c.send(());
        }
        let deadline = tokio::time::Instant::now() + KILL_GRACE + Duration::from_secs(2);
        while waiting > 0 {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(ExecEvent::Exited { .. })) => waiting -= 1,
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
}

fn build(
    command: &Command,
    dir: &Path,
    env: &[(String, String)],
    spec: &Spawn,
) -> tokio::process::Command {
    let mut cmd = match command {
        Command::Argv(argv) => {
            // A relative program path means "relative to the runbook", whatever our own cwd is.
            let prog = &argv[0];
            let program = if prog.contains('/') && !prog.starts_with('/') {
                dir.join(prog.trim_start_matches("./"))
            } else {
                PathBuf::from(prog)
            };
            let mut c = tokio::process::Command::new(program);
            c.args(&argv[1..]);
            c
        }
        Command::Shell(s) => {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(s);
            c
        }
    };
    cmd.current_dir(dir)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("CUTOVER_STEP", &spec.step)
        .env("CUTOVER_ATTEMPT", spec.attempt.to_string());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

async fn run(
    mut cmd: tokio::process::Command,
    spec: Spawn,
    tx: mpsc::UnboundedSender<ExecEvent>,
    cancel: oneshot::Receiver<()>,
) {
    let send_exit = |result| {
        let _ = tx.send(ExecEvent::Exited {
            step: spec.step.clone(),
            attempt: spec.attempt,
            stage: spec.stage,
            result,
        });
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            // Name the program: "No such file or directory" alone does not say what is missing.
            let program = cmd.as_std().get_program().to_string_lossy().into_owned();
            return send_exit(ExecResult::SpawnFailed(format!("{program}: {e}")));
        }
    };
    let pgid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .map(Pid::from_raw);
    let readers = [
        child
            .stdout
            .take()
            .map(|o| tokio::spawn(lines(o, spec.step.clone(), false, tx.clone()))),
        child
            .stderr
            .take()
            .map(|e| tokio::spawn(lines(e, spec.step.clone(), true, tx.clone()))),
    ];
    let started = Instant::now();
    let timeout = Duration::from_millis(u64::try_from(spec.timeout).unwrap_or(0));
    let result = tokio::select! {
        status = child.wait() => match status {
            Ok(s) => match s.code() {
                Some(c) => ExecResult::Exit(c),
                None => ExecResult::Signal(std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(0)),
            },
            Err(e) => ExecResult::SpawnFailed(e.to_string()),
        },
        _ = tokio::time::sleep(timeout) => {
            let ran = started.elapsed().as_millis() as Ms;
            stop_group(pgid, &mut child).await;
            ExecResult::TimedOut(ran)
        }
        _ = cancel => {
            stop_group(pgid, &mut child).await;
            ExecResult::Killed
        }
    };
    // Something the command left in the background may still hold the pipes: read what is
    // there, but do not wait for it.
    for r in readers.into_iter().flatten() {
        let _ = tokio::time::timeout(Duration::from_millis(500), r).await;
    }
    send_exit(result);
}

async fn lines<R: AsyncRead + Unpin>(
    r: R,
    step: String,
    stderr: bool,
    tx: mpsc::UnboundedSender<ExecEvent>,
) {
    let mut reader = BufReader::new(r).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        if tx
            .send(ExecEvent::Line {
                step: step.clone(),
                line,
                stderr,
            })
            .is_err()
        {
            break;
        }
    }
}

/// TERM the group, wait up to the grace for it to go, then KILL it. The leader is reaped as
/// it goes, because an unreaped leader still counts as a member of its group.
async fn stop_group(pgid: Option<Pid>, child: &mut tokio::process::Child) {
    let Some(pgid) = pgid else {
        let _ = child.kill().await;
        return;
    };
    let _ = killpg(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + KILL_GRACE;
    while Instant::now() < deadline {
        let _ = child.try_wait();
        if killpg(pgid, None).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = child.wait().await;
}

/// Finds processes left by a dead driver of session `dir` (by `CUTOVER_SESSION` in their
/// environment) and kills their process groups. Returns the pids found.
pub fn kill_leftovers(dir: &Path) -> Vec<i32> {
    // Children were given the canonical path: a relative or symlinked `--session` must find
    // them too.
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let needle = format!("CUTOVER_SESSION={}", dir.display());
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
            found.push(pid);
        }
    }
    for pid in &found {
        let pgid = nix::unistd::getpgid(Some(Pid::from_raw(*pid))).unwrap_or(Pid::from_raw(*pid));
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    found
}
