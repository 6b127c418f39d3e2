#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

//! Drills every scenario of every shipped runbook (runbooks/*.yaml) headless at `--speed max
//! --auto-ack`, and a plain drill of each: the exit code matches the scenario's `expect`, the
//! journal shows each trigger of `trips` firing (and no other), a rollback is journaled from
//! start to end, every trigger is rehearsed by some scenario, and without faults nothing
//! fires at all.
//!
//! The drills are separate processes that mostly wait on the drill clock, so they run side by
//! side on a small pool of threads, longest first; the pool runs once and every test reads its
//! results.

mod common;
use common::*;
use cutover::core::runbook::signals::{Expect, Side};
use cutover::core::runbook::{Runbook, Severity};
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A drill that takes longer than this is hung.
const DRILL_LIMIT: Duration = Duration::from_secs(900);

/// Kinds that mean a trigger fired.
const FIRED: &[&str] = &["trigger_breach", "trigger_dry_run"];

fn shipped() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("runbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no runbooks in runbooks/");
    out
}

fn load(path: &Path) -> Runbook {
    let loaded = cutover::config::runbook::load(path);
    let problems: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    loaded
        .runbook
        .unwrap_or_else(|| panic!("{} does not load:\n{}", path.display(), problems.join("\n")))
}

fn name(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// One drill to run: a runbook, and a scenario or none (the plain drill).
#[derive(Debug, Clone)]
struct Job {
    runbook: PathBuf,
    scenario: Option<String>,
    /// Drill-clock span of the runbook, to start the longest drills first.
    span: i64,
}

impl Job {
    fn label(&self) -> String {
        format!(
            "{} {}",
            name(&self.runbook),
            self.scenario.as_deref().unwrap_or("(no scenario)")
        )
    }
}

/// What a drill left behind.
#[derive(Debug)]
struct Done {
    job: Job,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    journal: Vec<Value>,
    took: Duration,
}

impl Done {
    fn fired(&self) -> BTreeSet<String> {
        self.journal
            .iter()
            .filter(|e| FIRED.contains(&e["kind"].as_str().unwrap_or_default()))
            .map(|e| e["trigger"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn has(&self, kind: &str) -> bool {
        self.journal.iter().any(|e| e["kind"] == kind)
    }

    fn context(&self) -> String {
        format!(
            "{} (exit {:?}, {:.1}s)\n--- stdout\n{}\n--- stderr\n{}",
            self.job.label(),
            self.code,
            self.took.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }
}

fn drill(job: Job) -> Done {
    let tmp = tempfile::tempdir().unwrap();
    let session = tmp.path().join("session");
    let out_path = tmp.path().join("stdout.txt");
    let err_path = tmp.path().join("stderr.txt");
    let mut c = bin();
    c.env("CUTOVER_HOME", tmp.path().join("home"))
        .arg("drill")
        .arg(&job.runbook)
        .args(["--headless", "--speed", "max", "--auto-ack"])
        .arg("--session")
        .arg(&session);
    if let Some(s) = &job.scenario {
        c.args(["--scenario", s]);
    }
    // Output goes to files: a drill prints a line per event and must never block on a pipe.
    c.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let start = Instant::now();
    let mut child = c.spawn().unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > DRILL_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    Done {
        code: status.and_then(|s| s.code()),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        journal: journal(&session),
        took,
        job,
    }
}

/// Every drill (each runbook plain, and each of its scenarios), run once for all tests.
fn results() -> &'static [Done] {
    static RESULTS: OnceLock<Vec<Done>> = OnceLock::new();
    RESULTS.get_or_init(|| {
        let mut jobs = Vec::new();
        for path in shipped() {
            let rb = load(&path);
            let ats: Vec<i64> = rb.steps().filter_map(|s| s.at).collect();
            let span = ats.iter().max().copied().unwrap_or(0)
                - ats.iter().min().copied().unwrap_or(0).min(0);
            jobs.push(Job {
                runbook: path.clone(),
                scenario: None,
                span,
            });
            for sc in &rb.signals.scenarios {
                jobs.push(Job {
                    runbook: path.clone(),
                    scenario: Some(sc.name.clone()),
                    span,
                });
            }
        }
        // Longest first, so the long drills do not start last.
        jobs.sort_by_key(|j| std::cmp::Reverse(j.span));
        let total = jobs.len();
        let queue = Mutex::new(VecDeque::from(jobs));
        let done = Mutex::new(Vec::new());
        // At `--speed max` a drill spends most of its time waiting for the next wake-up (about
        // 1-2 ms each), not computing: several per core keep the machine busy.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = (cores * 8).clamp(8, 32).min(total);
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let Some(job) = queue.lock().unwrap().pop_front() else {
                            break;
                        };
                        let d = drill(job);
                        done.lock().unwrap().push(d);
                    }
                });
            }
        });
        let mut done = done.into_inner().unwrap();
        done.sort_by_key(|d| d.job.label());
        for d in &done {
            println!(
                "{:<55} exit {:?} in {:>6.1}s",
                d.job.label(),
                d.code,
                d.took.as_secs_f64()
            );
        }
        println!(
            "{total} drills on {workers} threads in {:.1}s",
            start.elapsed().as_secs_f64()
        );
        done
    })
}

#[test]
fn every_scenario_ends_as_expected_and_trips_what_it_says() {
    let mut failures = Vec::new();
    for path in shipped() {
        let rb = load(&path);
        for sc in &rb.signals.scenarios {
            let d = results()
                .iter()
                .find(|d| d.job.runbook == path && d.job.scenario.as_deref() == Some(&sc.name))
                .unwrap();
            let mut why = Vec::new();
            let Some(expect) = sc.expect else {
                failures.push(format!(
                    "{}: scenario `{}` does not say how it ends (`expect:`)",
                    name(&path),
                    sc.name
                ));
                continue;
            };
            let code = match expect {
                Expect::Completed => 0,
                Expect::RolledBack => 3,
                Expect::Stopped => 1,
            };
            if d.code != Some(code) {
                why.push(format!("exit {:?}, expected {code} ({expect:?})", d.code));
            }
            assert_journal_contract(&d.journal, "drill");
            let started = d.journal.first().map(|e| e["scenario"].clone());
            if started != Some(Value::String(sc.name.clone())) {
                why.push(format!("session_started names scenario {started:?}"));
            }
            let fired = d.fired();
            let trips: BTreeSet<String> = sc.trips.iter().cloned().collect();
            for t in trips.difference(&fired) {
                why.push(format!("trigger `{t}` is in `trips` but never fired"));
            }
            for t in fired.difference(&trips) {
                why.push(format!("trigger `{t}` fired but is not in `trips`"));
            }
            match expect {
                Expect::RolledBack => {
                    let rb_done = d.journal.iter().find(|e| e["kind"] == "rollback_done");
                    if !d.has("rollback_started") {
                        why.push("no rollback_started".into());
                    }
                    match rb_done {
                        None => why.push("no rollback_done".into()),
                        Some(e) => {
                            if !(e["planned_s"].is_number() && e["actual_s"].is_number()) {
                                why.push(format!("rollback_done lacks planned_s/actual_s: {e}"));
                            }
                        }
                    }
                }
                Expect::Completed | Expect::Stopped => {
                    if d.has("rollback_started") {
                        why.push("a rollback started".into());
                    }
                }
            }
            // A stopped run waits for its operator: resumable, so it has not ended.
            let end = if expect == Expect::Stopped {
                "session_stopped"
            } else {
                "session_ended"
            };
            let last = d.journal.last().map(|e| e["kind"].clone());
            if last != Some(Value::from(end)) {
                why.push(format!("the journal ends with {last:?}, not {end}"));
            }
            if !why.is_empty() {
                failures.push(format!("{}:\n  {}", d.context(), why.join("\n  ")));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn plain_drill_completes_with_nothing_firing() {
    // Simulated noise alone must never trip a trigger, fail a gate or leave data unknown.
    let quiet = [
        "trigger_breach",
        "trigger_dry_run",
        "trigger_unknown",
        "decision_requested",
        "gate_failed",
        "baseline_missing",
        "rollback_started",
    ];
    let mut failures = Vec::new();
    for path in shipped() {
        let d = results()
            .iter()
            .find(|d| d.job.runbook == path && d.job.scenario.is_none())
            .unwrap();
        let mut why = Vec::new();
        if d.code != Some(0) {
            why.push(format!("exit {:?}, expected 0", d.code));
        }
        assert_journal_contract(&d.journal, "drill");
        for e in &d.journal {
            if quiet.contains(&e["kind"].as_str().unwrap_or_default()) {
                why.push(format!("unexpected {e}"));
            }
        }
        let end = d.journal.last().cloned().unwrap_or_default();
        if end["kind"] != "session_ended" || end["outcome"] != "completed" {
            why.push(format!("ends with {end}"));
        }
        if !why.is_empty() {
            failures.push(format!("{}:\n  {}", d.context(), why.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_trigger_is_rehearsed_by_a_scenario() {
    for path in shipped() {
        let rb = load(&path);
        let sig = &rb.signals;
        assert!(!sig.triggers.is_empty(), "{}: no triggers", path.display());
        let rehearsed: BTreeSet<&str> = sig
            .scenarios
            .iter()
            .flat_map(|s| s.trips.iter().map(String::as_str))
            .collect();
        for t in &sig.triggers {
            assert!(
                rehearsed.contains(t.id.as_str()),
                "{}: no scenario trips trigger `{}`",
                path.display(),
                t.id
            );
        }
    }
}

#[test]
fn shipped_runbooks_watch_both_sides_and_validate_cleanly() {
    for path in shipped() {
        let loaded = cutover::config::runbook::load(&path);
        let warnings: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| d.to_string())
            .collect();
        assert!(warnings.is_empty(), "{}", warnings.join("\n"));
        let rb = loaded.runbook.unwrap();
        let sig = &rb.signals;
        for side in [Side::Source, Side::Target] {
            assert!(
                sig.metrics.iter().any(|m| m.side == side),
                "{}: no {} metric",
                path.display(),
                side.as_str()
            );
        }
        for m in &sig.metrics {
            assert!(
                m.live.is_some() && m.sim.is_some(),
                "{}: metric `{}` needs a live reader and a drill simulation",
                path.display(),
                m.id
            );
            assert!(
                m.unit.is_some(),
                "{}: metric `{}` has no unit",
                path.display(),
                m.id
            );
        }
        let names: BTreeSet<&str> = sig.scenarios.iter().map(|s| s.name.as_str()).collect();
        for n in &names {
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}: scenario `{n}` is not kebab-case",
                path.display()
            );
        }
    }
}

#[test]
fn list_scenarios_prints_every_scenario_name() {
    for path in shipped() {
        let rb = load(&path);
        let out = bin()
            .arg("drill")
            .arg(&path)
            .arg("--list-scenarios")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", path.display());
        let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let names: Vec<String> = rb
            .signals
            .scenarios
            .iter()
            .map(|s| s.name.clone())
            .collect();
        assert_eq!(listed, names, "{}", path.display());
    }
}
