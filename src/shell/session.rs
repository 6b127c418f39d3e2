//! Session directories and the single-driver lock.
//!
//! A session is a folder holding `journal.jsonl`, `lock` and `output/` (each step's command
//! output). Only one process drives a session: it holds an exclusive `flock` on `lock` and
//! writes who it is there. The kernel drops the flock when a process dies, so a lock file that
//! still names someone but can be locked was left by a dead process, and is taken over.

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Who drives a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Operator name.
    pub operator: String,
    /// Since when (RFC 3339).
    pub since: String,
    /// Host name.
    pub host: String,
}

/// Why a session could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process drives it.
    #[error("session {dir} is driven by pid {} (operator {}, on {}) since {}; only one process drives a session: stop that one first, or use another --session", .holder.pid, .holder.operator, .holder.host, .holder.since)]
    Held {
        /// The session folder.
        dir: String,
        /// Who holds it.
        holder: Holder,
    },
    /// The lock file could not be used.
    #[error("cannot lock session {dir}: {source}")]
    Io {
        /// The session folder.
        dir: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or dying) releases it.
pub struct SessionLock {
    file: Option<Flock<File>>,
}

impl SessionLock {
    /// Releases the lock and clears the holder, so the next driver sees a clean hand-over.
    pub fn release(mut self) {
        if let Some(f) = self.file.take() {
            let _ = f.set_len(0);
            let _ = f.sync_all();
        }
    }
}

/// This machine's host name.
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Takes the session lock in `dir` for `operator`. Returns the previous holder if it was a
/// dead process whose lock is being taken over.
pub fn acquire(dir: &Path, operator: &str) -> Result<(SessionLock, Option<Holder>), LockError> {
    let d = dir.display().to_string();
    let io = |source| LockError::Io {
        dir: d.clone(),
        source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(dir.join("lock"))
        .map_err(io)?;
    let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(f) => f,
        Err((mut file, _)) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let holder = serde_json::from_str(&text).unwrap_or(Holder {
                pid: 0,
                operator: "unknown".into(),
                host: "unknown".into(),
                since: "unknown".into(),
            });
            return Err(LockError::Held { dir: d, holder });
        }
    };
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io)?;
    let stale = serde_json::from_str::<Holder>(&text).ok();
    let me = Holder {
        pid: std::process::id(),
        operator: operator.into(),
        since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        host: host(),
    };
    let body = serde_json::to_string(&me).map_err(|e| io(std::io::Error::other(e)))?;
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    file.write_all(body.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok((SessionLock { file: Some(file) }, stale))
}

/// Where new sessions go: `$CUTOVER_HOME/sessions`, else `$XDG_STATE_HOME/cutover/sessions`,
/// else `~/.local/state/cutover/sessions`.
pub fn default_root() -> PathBuf {
    if let Some(h) = std::env::var_os("CUTOVER_HOME") {
        return PathBuf::from(h).join("sessions");
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(x).join("cutover").join("sessions");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local")
        .join("state")
        .join("cutover")
        .join("sessions")
}

/// A new, not yet existing session folder name for `runbook` under `root`.
pub fn new_dir(root: &Path, runbook: &Path, mode: &str) -> PathBuf {
    let stem = runbook
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "runbook".into());
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let base = format!("{stem}-{mode}-{stamp}");
    let mut dir = root.join(&base);
    let mut n = 2;
    while dir.exists() {
        dir = root.join(format!("{base}-{n}"));
        n += 1;
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_driver_is_refused_and_dead_lock_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let (lock, stale) = acquire(dir.path(), "ann").unwrap();
        assert!(stale.is_none());
        let err = acquire(dir.path(), "bob").err().unwrap().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())) && err.contains("operator ann"),
            "{err}"
        );
        drop(lock); // as if the process died: flock gone, holder text left behind
        let (lock, stale) = acquire(dir.path(), "bob").unwrap();
        assert_eq!(stale.unwrap().operator, "ann");
        lock.release(); // clean hand-over leaves no holder
        let (_l, stale) = acquire(dir.path(), "cy").unwrap();
        assert!(stale.is_none());
    }
}
