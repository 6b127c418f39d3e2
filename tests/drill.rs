//! Headless drills and runs through the real binary: shipped runbooks, rollback, exit codes,
//! the session lock, signals, timeouts and pauses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;
use common::*;
use std::time::{Duration, Instant};

fn drill(rb: &std::path::Path, session: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut c = bin();
    c.arg("drill")
        .arg(rb)
        .args(["--headless", "--speed", "max"])
        .arg("--session")
        .arg(session)
        .args(extra);
    c.output().unwrap()
}

#[test]
fn every_shipped_runbook_completes_a_drill() {
    for name in [
        "blue-green",
        "canary",
        "phased",
        "big-bang",
        "redshift-panther",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let rb = root().join(format!("runbooks/{name}.yaml"));
        let start = Instant::now();
        let out = drill(&rb, tmp.path(), &["--auto-ack"]);
        let took = start.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!("{name}: drill --speed max took {took:?}");
        let j = journal(tmp.path());
        assert_journal_contract(&j, "drill");
        let loaded = cutover::config::runbook::load(&rb).runbook.unwrap();
        for step in loaded.steps() {
            let done = j
                .iter()
                .any(|e| e["kind"] == "step_done" && e["step"] == step.id.as_str());
            assert!(done, "{name}: step {} never done", step.id);
        }
        assert_eq!(j.last().unwrap()["kind"], "session_ended");
        assert!(stdout.contains("COMPLETE (exit 0)"), "{stdout}");
    }
}

#[test]
fn failing_a_rollback_step_rolls_back_with_exit_3() {
    for (name, step) in [
        ("blue-green", "validate-parity"),
        ("blue-green", "smoke-tests"),
        ("canary", "stage-25"),
        ("big-bang", "full-sync"),
        ("redshift-panther", "panther-release"),
        ("phased", "etl-migrate"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let rb = root().join(format!("runbooks/{name}.yaml"));
        let out = drill(&rb, tmp.path(), &["--auto-ack", "--fail", step]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{name} --fail {step}: {stdout}");
        let loaded = cutover::config::runbook::load(&rb).runbook.unwrap();
        // The procedure that applied is the one the ROLLBACK line names.
        let back = loaded
            .rollbacks
            .iter()
            .find(|p| stdout.contains(&format!("\"{}\"", p.title)))
            .unwrap_or_else(|| panic!("{name}: no procedure named in:\n{stdout}"));
        // A step that undoes only forward steps that never started is left out (it would
        // undo nothing); every other step of the procedure runs.
        let started = kinds(&journal(tmp.path()));
        for s in &back.steps {
            let applies = s.undoes.is_empty()
                || s.undoes
                    .iter()
                    .any(|u| started.contains(&format!("step_started:{u}")));
            let done = stdout
                .lines()
                .any(|l| l.contains(&format!(" {} ", s.id)) && l.contains("done"));
            assert_eq!(
                done, applies,
                "{name}: rollback step {} (applies: {applies}) printed done: {done}:\n{stdout}",
                s.id
            );
        }
        assert!(
            stdout.contains("ROLLBACK started") && stdout.contains("ROLLED BACK (exit 3)"),
            "{stdout}"
        );
        let j = journal(tmp.path());
        assert_journal_contract(&j, "drill");
        let k = kinds(&j);
        let failed = k
            .iter()
            .position(|x| x == &format!("step_failed:{step}"))
            .unwrap();
        let started = k.iter().position(|x| x == "rollback_started").unwrap();
        assert!(failed < started);
        // No forward step starts after the rollback has started.
        let forward: Vec<&str> = loaded.steps().map(|s| s.id.as_str()).collect();
        for e in &j[started..] {
            if e["kind"] == "step_started" {
                assert!(
                    !forward.contains(&e["step"].as_str().unwrap()),
                    "forward step ran during rollback: {e}"
                );
            }
        }
        let done = j.iter().find(|e| e["kind"] == "rollback_done").unwrap();
        assert!(done["planned_s"].as_f64().unwrap() > 0.0 && done["actual_s"].is_number());
    }
}

#[test]
fn fail_needs_a_real_step_id() {
    let tmp = tempfile::tempdir().unwrap();
    let out = drill(
        &root().join("runbooks/blue-green.yaml"),
        tmp.path(),
        &["--fail", "smoke-test"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Did you mean `smoke-tests`?"));
}

#[test]
fn invalid_runbook_exits_2_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = drill(
        &root().join("tests/fixtures/invalid/unknown-key.yaml"),
        &tmp.path().join("s"),
        &["--auto-ack"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown key `ownr`"));
    assert!(
        !tmp.path().join("s").exists(),
        "no session is made for an invalid runbook"
    );
}

#[test]
fn default_session_dir_is_printed_first() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = bin();
    c.env("CUTOVER_HOME", tmp.path())
        .arg("drill")
        .arg(root().join("runbooks/big-bang.yaml"))
        .args(["--headless", "--speed", "max", "--auto-ack"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap();
    let dir = first.strip_prefix("session ").unwrap();
    assert!(
        dir.starts_with(
            &tmp.path()
                .join("sessions/big-bang-drill-")
                .display()
                .to_string()
        ),
        "{first}"
    );
    assert!(std::path::Path::new(dir).join("journal.jsonl").exists());
}

#[test]
fn headless_without_auto_ack_pauses_at_a_manual_step_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            "{HEAD}phases:\n  - id: p\n    steps:\n      - {{id: a, title: Auto, run: 'echo a', owner: o, expect: 1m}}\n      - {{id: m, title: Decide, owner: lead, expect: 1m}}\n      - {{id: b, title: After, run: 'echo b >> ran.txt', owner: o, expect: 1m}}\n"
        ),
    );
    let s = tmp.path().join("s");
    let out = drill(&rb, &s, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("manual step `m` waits for the operator"),
        "{stdout}"
    );
    assert!(stdout.contains("resumable: cutover drill"), "{stdout}");
    assert!(!tmp.path().join("ran.txt").exists());
    let out = drill(&rb, &s, &["--auto-ack"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    let k = kinds(&j);
    assert_eq!(
        k.iter().filter(|x| *x == "step_done:a").count(),
        1,
        "done step not rerun: {k:?}"
    );
    assert!(k.contains(&"session_resumed".to_string()));
    // A finished session stays finished.
    let out = drill(&rb, &s, &["--auto-ack"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("has already ended: completed"));
}

#[test]
fn one_driver_per_session_and_sigterm_leaves_nothing_running() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            "{HEAD}phases:\n  - id: p\n    steps:\n      - {{id: long, title: Long, run: 'sleep 60 & sleep 60', owner: o, expect: 1m}}\n"
        ),
    );
    let s = tmp.path().join("s");
    let mut c = bin();
    c.arg("drill")
        .arg(&rb)
        .args([
            "--headless",
            "--speed",
            "max",
            "--auto-ack",
            "--operator",
            "ann",
            "--session",
        ])
        .arg(&s);
    let mut first = spawn(c);
    assert!(wait_until(Duration::from_secs(10), || kinds(&journal(&s))
        .contains(&"step_started:long".to_string())));
    assert!(
        wait_until(Duration::from_secs(5), || session_processes(&s).len() >= 3),
        "sh and two sleeps run"
    );
    let out = drill(&rb, &s, &["--auto-ack"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("pid {}", first.id()))
            && err.contains("operator ann")
            && err.contains("since"),
        "{err}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = first.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(
        session_processes(&s).is_empty(),
        "the whole process group was killed"
    );
    let k = kinds(&journal(&s));
    assert!(
        k.ends_with(&[
            "step_interrupted:long".to_string(),
            "session_stopped".to_string()
        ]),
        "{k:?}"
    );
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            "{HEAD}phases:\n  - id: p\n    steps:\n      - {{id: hang, title: Hangs, run: 'sleep 60 & echo $! > child.pid; sleep 60', timeout: 1s, owner: o, expect: 1m}}\n"
        ),
    );
    let s = tmp.path().join("s");
    let out = drill(&rb, &s, &["--auto-ack"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED: timed out after 1s"), "{stdout}");
    let child: i32 = std::fs::read_to_string(tmp.path().join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !alive(child),
        "background child of the timed-out step is gone"
    );
    assert!(session_processes(&s).is_empty());
}

#[test]
fn commands_run_in_the_runbook_folder_with_argv_and_shell_forms() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("scripts")).unwrap();
    let script = tmp.path().join("scripts/show.sh");
    std::fs::write(&script, "#!/bin/sh\necho \"arg=[$1] step=$CUTOVER_STEP mode=$CUTOVER_MODE pwd=$(pwd)\"\necho oops >&2\n").unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&script).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            "{HEAD}phases:\n  - id: p\n    steps:\n      - {{id: argv, title: Argv, run: ['./scripts/show.sh', 'two words; $(no)'], owner: o, expect: 1m}}\n      - {{id: shell, title: Shell, run: 'echo piped | tr a-z A-Z', owner: o, expect: 1m}}\n"
        ),
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(elsewhere.path())
        .arg("drill")
        .arg(&rb)
        .args(["--headless", "--speed", "max", "--auto-ack", "--session"])
        .arg(elsewhere.path().join("s"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let canon = std::fs::canonicalize(tmp.path()).unwrap();
    assert!(
        stdout.contains(&format!(
            "│ arg=[two words; $(no)] step=argv mode=drill pwd={}",
            canon.display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("! oops"), "stderr is captured: {stdout}");
    assert!(stdout.contains("│ PIPED"), "{stdout}");
    let log = std::fs::read_to_string(elsewhere.path().join("s/output/argv.log")).unwrap();
    assert!(
        log.contains("arg=[two words; $(no)]") && log.contains("! oops"),
        "{log}"
    );
}

#[test]
fn simulation_scripts_refuse_a_live_run() {
    // The shipped runbooks' live metrics point at real platforms, so this calls a shipped
    // simulation script from a runbook of its own: the script must refuse a live run.
    let tmp = tempfile::tempdir().unwrap();
    let script = root().join("runbooks/scripts/freeze-writes.sh");
    let rb = runbook(
        tmp.path(),
        &format!(
            r#"version: 1
title: Live run of a simulation script
strategy: big-bang
platforms: {{ source: {{ name: Snowflake }}, target: {{ name: Databricks }} }}
phases:
  - id: p
    steps:
      - id: freeze
        title: Freeze writes
        at: T+0:00
        run: ["{}", "--on"]
"#,
            script.display()
        ),
    );
    let mut c = bin();
    c.arg("run")
        .arg(&rb)
        .args(["--headless", "--auto-ack", "--t0", "+0s", "--session"])
        .arg(tmp.path().join("s"));
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("this is a drill simulation; replace it with the real procedure"),
        "{stdout}"
    );
    let j = journal(&tmp.path().join("s"));
    assert_journal_contract(&j, "live");
    assert!(j[0]["t0"].is_string(), "a live session records its T-0");
}

#[test]
fn a_live_run_of_a_shipped_runbook_needs_its_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = bin();
    c.arg("run")
        .arg(root().join("runbooks/blue-green.yaml"))
        .args(["--headless", "--auto-ack", "--session"])
        .arg(tmp.path().join("s"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DATABRICKS") || k.starts_with("SNOWFLAKE") {
            c.env_remove(k);
        }
    }
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("blue-green.yaml:") && stderr.contains("environment variable `"),
        "names the file, line and variable: {stderr}"
    );
    assert!(
        !tmp.path().join("s/journal.jsonl").exists(),
        "nothing starts before the secrets are there"
    );
}

#[test]
fn live_run_uses_the_wall_clock_against_t0() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            "{HEAD}phases:\n  - id: p\n    steps:\n      - {{id: go, title: Go, at: T+0:00, run: 'echo go', owner: o, expect: 1m}}\n"
        ),
    );
    let s = tmp.path().join("s");
    let start = Instant::now();
    let out = bin()
        .arg("run")
        .arg(&rb)
        .args(["--headless", "--t0", "+1s", "--session"])
        .arg(&s)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "the step waited for T-0"
    );
    let j = journal(&s);
    let started = j.iter().find(|e| e["kind"] == "step_started").unwrap();
    assert!(
        started["t"].as_f64().unwrap() >= 0.0,
        "started at or after T-0: {started}"
    );
    // A live session cannot be resumed as a drill.
    let out = bin()
        .arg("drill")
        .arg(&rb)
        .args(["--headless", "--session"])
        .arg(&s)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("is a live session; resume it with `cutover run`")
    );
}

#[test]
fn drill_only_flags_are_refused_for_run_and_help_works() {
    let out = bin()
        .args([
            "run",
            "runbooks/blue-green.yaml",
            "--headless",
            "--speed",
            "60",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--speed is for drills only"));
    let out = bin().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("validate"));
    let out = bin().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("cutover "));
}

#[test]
fn a_closed_stdout_does_not_stop_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s");
    let mut c = bin();
    c.arg("drill")
        .arg(root().join("runbooks/big-bang.yaml"))
        .args(["--headless", "--speed", "max", "--auto-ack", "--session"])
        .arg(&s);
    let mut child = spawn(c);
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out); // like `| head -1`
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(journal(&s).last().unwrap()["kind"], "session_ended");
}
