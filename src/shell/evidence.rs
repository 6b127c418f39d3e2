//! Writes the metric evidence (`core::evidence`) to `SESSION_DIR/samples.jsonl`: buffered,
//! written out once a second and when the driver goes, so recording costs the loop a few
//! microseconds a sample. It is evidence, not the journal: a kill -9 loses at most the last
//! second of samples, never a journaled event, and a failure to write it is logged and never
//! stops the run. The file stops growing at [`CAP`] bytes, and says so in its last line.

use crate::core::evidence::{CAPPED, Encoder, Line};
use crate::core::time::Ms;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most `samples.jsonl` may hold: far above what the shipped runbooks write in 48
/// hours (see BENCHMARKS.md), a stop for a runbook with thousands of watched metrics.
pub const CAP: u64 = 256 * 1024 * 1024;

/// Set to `1`, no evidence is recorded: for `bench/poll1000.sh --no-evidence`, which
/// measures recording's cost against a run without it. Not for cutovers.
pub const NO_EVIDENCE: &str = "CUTOVER_BENCH_NO_EVIDENCE";

/// How often buffered lines are written out.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The session's evidence file, open for appending.
pub struct Recorder {
    enc: Encoder,
    out: Option<BufWriter<File>>,
    path: PathBuf,
    bytes: u64,
    last_flush: Instant,
    /// The T of the last sample: where the record stops if the bound is hit at the end.
    last_at: Ms,
}

impl Recorder {
    /// Opens (or continues, on resume) the evidence of session folder `dir`.
    pub fn open(dir: &Path) -> Self {
        let path = dir.join("samples.jsonl");
        // `bench/poll1000.sh --no-evidence` only: the same run without recording, to measure
        // what recording costs. Said in the log, so a session without evidence is never a
        // surprise.
        if std::env::var_os(NO_EVIDENCE).is_some_and(|v| v == "1") {
            log::warn!(target: "cutover", "metric evidence is off ({NO_EVIDENCE}=1, for benchmarks): no samples are kept");
            return Self {
                enc: Encoder::default(),
                out: None,
                path,
                bytes: 0,
                last_flush: Instant::now(),
                last_at: 0,
            };
        }
        let file = OpenOptions::new().create(true).append(true).open(&path);
        let (out, bytes) = match file {
            Ok(f) => {
                let bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
                (Some(BufWriter::with_capacity(64 * 1024, f)), bytes)
            }
            Err(e) => {
                log::warn!(target: "cutover", "metric evidence will not be kept: {}: {e}", path.display());
                (None, 0)
            }
        };
        Self {
            enc: Encoder::default(),
            out,
            path,
            bytes,
            last_flush: Instant::now(),
            last_at: 0,
        }
    }

    /// Records one sample; `watched`: a trigger, gate, `until:` or baseline reads it.
    pub fn sample(&mut self, metric: &str, at: Ms, value: &Result<f64, String>, watched: bool) {
        if self.out.is_none() {
            return;
        }
        // A server's error text may echo a credential: blanked as the journal's are.
        let value = value
            .as_ref()
            .map(|v| *v)
            .map_err(|e| crate::shell::secret::redact(e));
        self.last_at = at;
        let lines = self.enc.sample(metric, at, &value, watched);
        self.write(&lines, at);
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush();
        }
    }

    fn write(&mut self, lines: &[String], at: Ms) {
        let Some(out) = self.out.as_mut() else { return };
        for l in lines {
            let n = l.len() as u64 + 1;
            if self.bytes + n > CAP {
                let mark = Line {
                    t: at as f64 / 1000.0,
                    m: CAPPED.into(),
                    v: None,
                    min: None,
                    max: None,
                    n: None,
                    unknown: Some(format!(
                        "the evidence reached its bound of {} MiB: samples after this are not kept",
                        CAP / 1024 / 1024
                    )),
                };
                let _ = writeln!(out, "{}", serde_json::to_string(&mark).unwrap_or_default());
                log::warn!(target: "cutover", "{}: reached {} MiB; no more samples are kept", self.path.display(), CAP / 1024 / 1024);
                self.flush();
                self.out = None;
                return;
            }
            if let Err(e) = writeln!(out, "{l}") {
                log::warn!(target: "cutover", "metric evidence: {}: {e}; no more samples are kept", self.path.display());
                self.out = None;
                return;
            }
            self.bytes += n;
        }
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        self.last_flush = Instant::now();
        if let Some(out) = self.out.as_mut()
            && let Err(e) = out.flush()
        {
            log::warn!(target: "cutover", "metric evidence: {}: {e}; no more samples are kept", self.path.display());
            self.out = None;
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let open = self.enc.close();
        self.write(&open, self.last_at);
        self.flush();
    }
}
