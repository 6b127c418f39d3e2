//! `command`: run a program and read a number from its standard output.
//!
//! Owns the child's whole life: it is started directly (never through a shell, so the
//! runbook's words are never re-parsed), in its own process group, and that group is killed
//! when the read ends or is dropped (the poller's timeout drops it), so a hung or sloppy
//! command leaves nothing behind between polls. Output is kept only as a bounded tail.

use super::{ReadError, Reading};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How much of stdout is kept: the value is on the last line, so a chatty command costs at
/// most this much memory.
const STDOUT_KEPT: usize = 64 * 1024;

/// How much of stderr is kept: only its last line is ever shown.
const STDERR_KEPT: usize = 16 * 1024;

/// After the program exits, how long to wait for its pipes to close. A daemon it started in a
/// new session (`ssh -f`, say) can hold them open forever; what the program itself wrote is
/// already in the pipe and is read at once.
const AFTER_EXIT: Duration = Duration::from_millis(500);

/// Runs `argv` in `dir` and parses the last non-empty line of stdout as the value.
///
/// The line is a number (`42`, `0.25`, `1e-3`, `NaN`, `Inf`, `-Infinity`), optionally
/// followed by one unit word that is ignored (`12.5 ms`). Exit 0 with no output is "no data"
/// (as a query with no rows is: `psql -tA` prints nothing then). A non-zero exit or a signal
/// is a `Command` error with the last line of stderr.
pub async fn read(argv: &[String], dir: &Path) -> Result<Reading, ReadError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(ReadError::Command(
            "no program to run: the command is empty".to_string(),
        ));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Kills the child itself if everything else fails; `Group` kills the rest.
        .kill_on_drop(true)
        // Its own group: whatever it forks can be killed with it, and the terminal's Ctrl-C
        // (meant for the cockpit) does not reach it.
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| start_error(program, dir, &e))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut group = Group::new(child);

    let mut out = Tail::new(STDOUT_KEPT);
    let mut err = Tail::new(STDERR_KEPT);
    let status = {
        // The pipes are drained while waiting, or a command writing more than a pipe holds
        // would block forever.
        let drain = async { tokio::join!(out.fill(stdout), err.fill(stderr)) };
        tokio::pin!(drain);
        tokio::select! {
            status = group.wait() => {
                // Bounded: see AFTER_EXIT. Whatever was read stays in `out` and `err`.
                let _ = tokio::time::timeout(AFTER_EXIT, &mut drain).await;
                status
            }
            _ = &mut drain => group.wait().await,
        }
    };
    let status =
        status.map_err(|e| ReadError::Command(format!("waiting for {program} failed: {e}")))?;
    if status.success() {
        return value(&out);
    }
    Err(ReadError::Command(failure(status, &out, &err)))
}

/// Why the program could not be started.
fn start_error(program: &str, dir: &Path, e: &std::io::Error) -> ReadError {
    // A missing working directory fails the spawn with the same "No such file or directory"
    // as a missing program; say which it is.
    if !dir.is_dir() {
        return ReadError::Command(format!(
            "could not start {program}: working directory {} does not exist",
            dir.display()
        ));
    }
    ReadError::Command(format!("could not start {program}: {e}"))
}

/// The reading from a successful run's stdout.
fn value(out: &Tail) -> Result<Reading, ReadError> {
    let Some(line) = out.last_line() else {
        return Err(ReadError::NoData("the command printed nothing".to_string()));
    };
    if !line.complete {
        return Err(ReadError::Malformed(format!(
            "the last line of output is longer than {} KiB",
            STDOUT_KEPT / 1024
        )));
    }
    parse_line(&line.text)
        .map(|value| Reading { value, at: None })
        .ok_or_else(|| {
            ReadError::Malformed(format!(
                "the last line of output is not a number: {:?}",
                super::http::shorten(&line.text)
            ))
        })
}

/// A number, optionally followed by one unit word (`12.5 ms`, `97 %`). A second number is
/// not a unit: `3 4` is refused rather than guessed at.
fn parse_line(line: &str) -> Option<f64> {
    let mut words = line.split_whitespace();
    let value = words.next()?.parse::<f64>().ok()?;
    match (words.next(), words.next()) {
        (None, _) => Some(value),
        (Some(unit), None) if unit.parse::<f64>().is_err() => Some(value),
        _ => None,
    }
}

/// What a failed run says: exit code or signal, and the last line of stderr (or of stdout,
/// for scripts that report errors there).
fn failure(status: ExitStatus, out: &Tail, err: &Tail) -> String {
    let how = if let Some(code) = status.code() {
        format!("exit code {code}")
    } else if let Some(sig) = status.signal() {
        match Signal::try_from(sig) {
            Ok(s) => format!("killed by signal {sig} ({})", s.as_str()),
            Err(_) => format!("killed by signal {sig}"),
        }
    } else {
        format!("ended abnormally ({status})")
    };
    let shorten = super::http::shorten;
    match (err.last_line(), out.last_line()) {
        (Some(e), _) => format!("{how}: {}", shorten(&e.text)),
        (None, Some(o)) => format!(
            "{how} (nothing on stderr; stdout ended with {:?})",
            shorten(&o.text)
        ),
        (None, None) => format!("{how} (no output)"),
    }
}

/// The child and its process group. Dropping it before the run ended (the caller's timeout)
/// kills the whole group, then the child's own `kill_on_drop` reaps it.
struct Group {
    child: tokio::process::Child,
    /// The group to kill; `None` once killed, so it is killed at most once.
    pgid: Option<Pid>,
}

impl Group {
    fn new(child: tokio::process::Child) -> Self {
        // `process_group(0)` made the child's pid its group id.
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw);
        Self { child, pgid }
    }

    /// Waits for the program, then kills what it left in its group: leftovers (`cmd &`)
    /// would hold the output pipes open and outlive the read, one more on every poll.
    async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let status = self.child.wait().await;
        self.kill_group();
        status
    }

    fn kill_group(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // ESRCH (the group is already empty) is the usual and wanted outcome. After the
            // leader is reaped its id could in principle be reused, but only once the group
            // is empty and after the kernel cycled through every other pid, in the moment
            // between the reap and this call.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // Runs before `child` is dropped, so while the leader is unreaped and its pid (the
        // group id) cannot have been reused.
        self.kill_group();
    }
}

/// The last `keep` bytes (or a little more) of a stream.
struct Tail {
    buf: Vec<u8>,
    keep: usize,
    /// True once the start of the stream was dropped.
    cut: bool,
}

/// The last non-empty line of a `Tail`.
struct Line {
    text: String,
    /// False when the line may have begun before the kept part.
    complete: bool,
}

impl Tail {
    fn new(keep: usize) -> Self {
        Self {
            buf: Vec::new(),
            keep,
            cut: false,
        }
    }

    /// Reads `r` to its end (or first error), keeping the tail.
    async fn fill(&mut self, r: Option<impl AsyncRead + Unpin>) {
        let Some(mut r) = r else { return };
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            match r.read(&mut chunk).await {
                Ok(0) => return,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    // Trimmed in batches, not per read, to keep copying linear.
                    if self.buf.len() > 2 * self.keep {
                        let drop = self.buf.len() - self.keep;
                        self.buf.drain(..drop);
                        self.cut = true;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // A broken pipe ends the output; what was read is all there is.
                Err(_) => return,
            }
        }
    }

    fn last_line(&self) -> Option<Line> {
        let end = self.buf.iter().rposition(|b| !b.is_ascii_whitespace())? + 1;
        let start = self.buf[..end]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Some(Line {
            text: String::from_utf8_lossy(&self.buf[start..end])
                .trim()
                .to_string(),
            complete: start > 0 || !self.cut,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_optional_unit() {
        assert_eq!(parse_line("42"), Some(42.0));
        assert_eq!(parse_line("  12.5 ms "), Some(12.5));
        assert_eq!(parse_line("97 %"), Some(97.0));
        assert_eq!(parse_line("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_line("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_line("3 4"), None);
        assert_eq!(parse_line("12 ms extra"), None);
        assert_eq!(parse_line("12ms"), None);
        assert_eq!(parse_line("ok"), None);
    }

    #[test]
    fn last_line_of_tail() {
        let mut t = Tail::new(8);
        t.buf = b"noise\n7\n\n  \n".to_vec();
        assert_eq!(
            t.last_line().map(|l| (l.text, l.complete)),
            Some(("7".into(), true))
        );
        t.buf = b"123456789".to_vec();
        t.cut = true;
        assert_eq!(t.last_line().map(|l| l.complete), Some(false));
        t.buf = b" \n\t".to_vec();
        assert!(t.last_line().is_none());
    }
}
