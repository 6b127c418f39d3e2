//! End to end in a real terminal: tmux runs the cockpit, `send-keys` types, `capture-pane`
//! reads the screen, and the journal is checked alongside. Also checks the terminal is back
//! in cooked mode (`stty -a` shows `icanon` and `echo`) after quit, SIGTERM and a panic.
//! Each test uses its own tmux server (`-L`), so tests run in parallel without meeting.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;
use common::tmux::Tmux;
use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixture(dir: &Path) -> PathBuf {
    runbook(
        dir,
        &format!(
            "{HEAD}rollback_window: 48h\nphases:\n  - id: window\n    title: Window\n    steps:\n      - {{id: go-no-go, title: Go or no-go, at: T-0:10, owner: lead, expect: 5m}}\n      - {{id: long-sync, title: Long sync, at: T+0:00, run: 'sleep 30', owner: eng, expect: 20m, rerun_safe: true}}\nrollback:\n  title: Back to Snowflake\n  steps:\n    - {{id: dns-back, title: DNS back, run: 'echo dns back', expect: 5m}}\n    - {{id: unfreeze, title: Unfreeze, run: 'echo unfrozen', expect: 2m}}\n"
        ),
    )
}

fn cutover_cmd(rb: &Path, session: &Path, extra: &str) -> String {
    format!(
        "{} drill {} --speed 60 --operator ann --session {} {extra}; echo EXIT=$?; stty -a | tr -s ' ;' '\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo STTY-END; sleep 60",
        env!("CARGO_BIN_EXE_cutover"),
        rb.display(),
        session.display()
    )
}

fn assert_cooked(screen: &str) {
    let line = screen
        .lines()
        .find(|l| l.contains("STTY-END"))
        .unwrap_or_else(|| panic!("no stty output:\n{screen}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert!(
        words.contains(&"icanon") && words.contains(&"echo"),
        "terminal not cooked: {line}"
    );
}

#[test]
fn drill_driven_by_keys_in_tmux() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = fixture(tmp.path());
    let s = tmp.path().join("s");
    let t = Tmux::start(120, 40, &cutover_cmd(&rb, &s, ""));
    let screen = t.wait_for("go-no-go");
    assert!(screen.contains("DRILL ×60 · NOT LIVE"), "{screen}");
    assert!(
        screen.contains("manual step: waiting for the operator"),
        "{screen}"
    );

    t.keys(&["?"]);
    t.wait_for("Keys can be remapped");
    t.keys(&["Escape"]);
    assert!(wait_until(Duration::from_secs(5), || !t
        .screen()
        .contains("Keys can be remapped")));

    t.keys(&["Enter"]);
    assert!(wait_until(Duration::from_secs(10), || journal(&s)
        .iter()
        .any(
            |e| e["kind"] == "step_confirmed" && e["operator"] == "ann"
        )));

    t.keys(&["h"]);
    t.wait_for("HOLD");
    assert!(wait_until(Duration::from_secs(5), || journal(&s)
        .iter()
        .any(|e| e["kind"] == "hold" && e["operator"] == "ann")));

    t.keys(&["n"]);
    t.wait_for("note:");
    t.text("checked the DNS TTL");
    t.keys(&["Enter"]);
    assert!(wait_until(Duration::from_secs(5), || journal(&s)
        .iter()
        .any(
            |e| e["kind"] == "note" && e["text"] == "checked the DNS TTL"
        )));

    t.keys(&["R"]);
    t.wait_for("type rollback to start");
    t.text("rollback");
    t.keys(&["Enter"]);
    let screen = t.wait_for("ROLLED BACK");
    assert!(
        screen.contains("by ann: operator rollback from the cockpit"),
        "{screen}"
    );
    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    let started = j.iter().find(|e| e["kind"] == "rollback_started").unwrap();
    assert_eq!(started["operator"], "ann");
    assert!(j.iter().any(|e| e["kind"] == "rollback_done"));

    t.keys(&["q"]);
    let screen = t.wait_for("STTY-END");
    assert!(screen.contains("EXIT=3"), "{screen}");
    assert_cooked(&screen);
}

#[test]
fn quit_while_live_asks_and_leaves_a_cooked_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = fixture(tmp.path());
    let s = tmp.path().join("s");
    let t = Tmux::start(80, 24, &cutover_cmd(&rb, &s, ""));
    t.wait_for("go-no-go");
    t.keys(&["q"]);
    t.wait_for("Leave the cockpit?");
    t.keys(&["y"]);
    let screen = t.wait_for("STTY-END");
    assert!(
        screen.contains("EXIT=1") && screen.contains("resumable"),
        "{screen}"
    );
    assert_cooked(&screen);
    let j = journal(&s);
    assert_eq!(j.last().unwrap()["kind"], "session_stopped");
}

/// A cockpit in tmux at 100×30 with its long step running: the tmux, the session folder and
/// the cockpit's own pid (from the session lock).
fn running_step(tmp: &Path) -> (Tmux, PathBuf, i32) {
    let rb = fixture(tmp);
    let s = tmp.join("s");
    let t = Tmux::start(100, 30, &cutover_cmd(&rb, &s, "--auto-ack"));
    t.wait_for("long-sync");
    assert!(wait_until(Duration::from_secs(10), || journal(&s)
        .iter()
        .any(|e| e["kind"] == "step_started")));
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.join("lock")).unwrap()).unwrap();
    let pid = lock["pid"].as_i64().unwrap() as i32;
    (t, s, pid)
}

#[test]
fn sigterm_restores_the_terminal_and_journals_the_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let (t, s, pid) = running_step(tmp.path());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let screen = t.wait_for("STTY-END");
    assert!(screen.contains("EXIT=1"), "{screen}");
    assert_cooked(&screen);
    let k = kinds(&journal(&s));
    assert!(
        k.ends_with(&[
            "step_interrupted:long-sync".to_string(),
            "session_stopped".to_string()
        ]),
        "{k:?}"
    );
    assert!(
        session_processes(&s).is_empty(),
        "the running step was stopped"
    );
}

#[test]
fn a_panic_restores_the_terminal_and_a_task_panic_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = fixture(tmp.path());
    let t = Tmux::start(
        80,
        24,
        &cutover_cmd(&rb, &tmp.path().join("s"), "--panic-test main"),
    );
    let screen = t.wait_for("STTY-END");
    assert!(
        screen.contains("EXIT=101") && screen.contains("panic test in the cockpit"),
        "{screen}"
    );
    assert_cooked(&screen);
    let t = Tmux::start(
        80,
        24,
        &cutover_cmd(&rb, &tmp.path().join("s2"), "--panic-test task"),
    );
    let screen = t.wait_for("STTY-END");
    assert!(
        screen.contains("background panics recorded: 1") && screen.contains("EXIT=0"),
        "{screen}"
    );
    assert_cooked(&screen);
}

#[test]
fn two_clients_of_different_sizes_and_resizes_redraw_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = fixture(tmp.path());
    let t = Tmux::start(200, 60, &cutover_cmd(&rb, &tmp.path().join("s"), ""));
    t.wait_for("go-no-go");
    let mut big = t.attach(200, 60);
    assert!(
        wait_until(Duration::from_secs(10), || t.window_size().0 >= 190),
        "{:?}",
        t.window_size()
    );
    t.wait_for("(source · blue)");
    let mut small = t.attach(80, 24);
    // tmux sizes the window for its clients; the cockpit must fit whatever size it gets.
    assert!(
        wait_until(Duration::from_secs(10), || t.window_size().0 <= 80),
        "{:?}",
        t.window_size()
    );
    // The whole frame, footer included: a capture may land while the resize is redrawn.
    t.wait_for("Step   Metrics   Log");
    let screen = t.wait_for("R ROLLBACK");
    let (w, h) = t.window_size();
    assert_eq!(
        screen.lines().count(),
        h,
        "one frame exactly fills the window:\n{screen}"
    );
    assert!(
        screen.lines().all(|l| l.chars().count() <= w),
        "nothing drawn past the edge:\n{screen}"
    );
    assert!(
        screen.contains("NOT LIVE") && screen.contains("R ROLLBACK"),
        "{screen}"
    );
    let _ = small.kill();
    let _ = small.wait();
    assert!(
        wait_until(Duration::from_secs(10), || t.window_size().0 >= 190),
        "{:?}",
        t.window_size()
    );
    t.wait_for("(source · blue)");
    let _ = big.kill();
    let _ = big.wait();
}

#[test]
fn draws_under_each_common_term() {
    for term in ["xterm-256color", "screen-256color", "tmux-256color"] {
        let tmp = tempfile::tempdir().unwrap();
        let rb = fixture(tmp.path());
        let t = Tmux::start_with_term(100, 30, &cutover_cmd(&rb, &tmp.path().join("s"), ""), term);
        let screen = t.wait_for("go-no-go");
        assert!(
            screen.contains("DRILL ×60 · NOT LIVE")
                && screen.contains("◆")
                && screen.contains("┏ Timeline"),
            "{term}:\n{screen}"
        );
        t.keys(&["q"]);
        t.wait_for("Leave the cockpit?");
        t.keys(&["y"]);
        let screen = t.wait_for("STTY-END");
        assert!(screen.contains("EXIT=1"), "{term}: {screen}");
        assert_cooked(&screen);
    }
}

#[test]
fn a_trigger_counts_down_is_vetoed_and_a_decision_is_answered_in_tmux() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            r#"{HEAD}rollback_window: 48h
metrics:
  - {{ id: err, title: Databricks error rate, side: target, unit: "%", every: 30s, sim: {{ baseline: 0.2 }} }}
  - {{ id: lat, title: Databricks p95 latency, side: target, unit: ms, every: 30s, sim: {{ baseline: 800 }} }}
  - {{ id: src, title: Snowflake p95 latency, side: source, unit: ms, every: 30s, sim: {{ baseline: 700 }} }}
triggers:
  - {{ id: errors, when: err > 1%, for: 2m, action: rollback, grace: 20m, veto_for: 10m }}
  - {{ id: slow, when: lat > 1000ms, for: 1m, action: decide, decide: {{ within: 30m, default: rollback }} }}
phases:
  - id: p
    steps:
      - {{ id: switch, title: Switch, at: T+0:00, run: "true", owner: eng, expect: 1m }}
      - {{ id: later, title: Later, at: T+3:00, owner: eng, expect: 1m }}
rollback:
  steps:
    - {{ id: back, title: Back, run: "echo back" }}
scenarios:
  - name: both
    faults:
      - {{ metric: err, at: T+0:05, for: 20m, spike: 3 }}
      - {{ metric: lat, at: T+0:08, for: 2m, drift: 2500 }}
    trips: [errors, slow]
"#
        ),
    );
    let s = tmp.path().join("s");
    let t = Tmux::start(120, 40, &cutover_cmd(&rb, &s, "--scenario both"));
    let screen = t.wait_for("AUTOMATIC ROLLBACK in");
    assert!(screen.contains("v: veto"), "{screen}");
    assert!(
        screen.contains("BREACH"),
        "the triggers strip shows it: {screen}"
    );
    t.keys(&["v"]);
    // The veto acts at the key; then the box asks why.
    assert!(wait_until(Duration::from_secs(10), || journal(&s)
        .iter()
        .any(
            |e| e["kind"] == "rollback_vetoed" && e["operator"] == "ann"
        )));
    let screen = t.wait_for("why? (journaled)");
    assert!(screen.contains("VETOED"), "{screen}");
    t.text("known retry storm");
    t.keys(&["Enter"]);
    assert!(wait_until(Duration::from_secs(10), || journal(&s)
        .iter()
        .any(
            |e| e["kind"] == "veto_explained" && e["why"] == "known retry storm"
        )));
    t.wait_for("VETOED errors by ann");
    // While the veto holds (10 drill minutes) the latency asks for a decision, which the
    // drill gives real time to answer.
    let screen = t.wait_for("DECISION: roll back or continue?");
    assert!(screen.contains("1× during decision"), "{screen}");
    assert!(screen.contains("c: continue"), "{screen}");
    t.keys(&["c"]);
    t.wait_for("Continue despite `slow`?");
    t.keys(&["Enter"]);
    t.wait_for("continuing needs a reason");
    t.text("latency is the cache warming");
    t.keys(&["Enter"]);
    assert!(wait_until(Duration::from_secs(10), || journal(&s)
        .iter()
        .any(|e| e["kind"] == "decision_made"
            && e["operator"] == "ann"
            && e["choice"] == "continue"
            && e["why"] == "latency is the cache warming")));
    // `veto_for: 10m`: then the breach, still there, counts down again, at real time.
    assert!(wait_until(Duration::from_secs(20), || {
        let j = journal(&s);
        j.iter().any(|e| e["kind"] == "veto_ended")
            && j.iter()
                .filter(|e| e["kind"] == "rollback_grace_started")
                .count()
                == 2
    }));
    t.wait_for("1× during grace");
    let j = journal(&s);
    assert!(
        !j.iter().any(|e| e["kind"] == "rollback_started"),
        "vetoed and continued: no rollback"
    );
    assert_journal_contract(&j, "drill");
    t.keys(&["q"]);
    t.wait_for("Leave the cockpit");
}

#[test]
fn a_trigger_rolls_back_after_its_grace_and_a_failing_rollback_step_is_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            r#"{HEAD}rollback_window: 48h
metrics:
  - {{ id: err, title: Databricks error rate, side: target, unit: "%", every: 30s, sim: {{ baseline: 0.2 }} }}
triggers:
  - {{ id: errors, when: err > 1%, for: 2m, action: rollback, grace: 5s }}
phases:
  - id: p
    steps:
      - {{ id: switch, title: Switch, at: T+0:00, run: "true", owner: eng, expect: 1m }}
      - {{ id: later, title: Later, at: T+3:00, owner: eng, expect: 1m }}
rollback:
  steps:
    - {{ id: dns-back, title: DNS back, run: "test -f tried || {{ touch tried; echo 'DNS API timeout' >&2; exit 1; }}" }}
    - {{ id: unfreeze, title: Unfreeze, run: "echo unfrozen" }}
scenarios:
  - name: errors
    faults:
      - {{ metric: err, at: T+0:05, for: 1h, spike: 3 }}
    trips: [errors]
"#
        ),
    );
    let s = tmp.path().join("s");
    let t = Tmux::start(120, 40, &cutover_cmd(&rb, &s, "--scenario errors"));
    // The grace counts down at real time (5 real seconds, not 5 ms at ×60), and says so.
    let screen = t.wait_for("AUTOMATIC ROLLBACK in 0:0");
    assert!(screen.contains("DRILL 1× during grace"), "{screen}");
    // Nobody vetoes: the grace runs out and the rollback starts on its own; its first step
    // fails, and the run stops and asks.
    let screen = t.wait_for("ROLLBACK PAUSED");
    assert!(
        screen.contains("dns-back") && screen.contains("r retry"),
        "{screen}"
    );
    t.keys(&["r"]);
    let screen = t.wait_for("ROLLED BACK");
    assert!(screen.contains("by system"), "{screen}");
    assert!(
        screen.contains("rolled back in"),
        "how long it took: {screen}"
    );
    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    let kinds: Vec<&str> = j.iter().filter_map(|e| e["kind"].as_str()).collect();
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("no {k}: {kinds:?}"))
    };
    assert!(pos("trigger_breach") < pos("rollback_grace_started"));
    assert!(pos("rollback_grace_started") < pos("rollback_started"));
    assert!(pos("rollback_started") < pos("step_retry"));
    assert!(pos("step_retry") < pos("rollback_done"));
    assert_eq!(
        j.iter().filter(|e| e["kind"] == "rollback_started").count(),
        1,
        "exactly one rollback"
    );
    let retry = j.iter().find(|e| e["kind"] == "step_retry").unwrap();
    assert_eq!(retry["operator"], "ann");
    t.keys(&["q"]);
    let screen = t.wait_for("STTY-END");
    assert!(screen.contains("EXIT=3"), "{screen}");
    assert_cooked(&screen);
}

#[test]
fn kill_9_mid_rollback_then_a_resume_in_tmux_retries_the_interrupted_step_and_reruns_nothing_done()
{
    let tmp = tempfile::tempdir().unwrap();
    // `switch` fails (--fail) and rolls back by itself. r2 is slow and not rerun_safe: its first
    // attempt leaves a marker and sleeps, so the kill lands in it; a later attempt ends at once.
    // Every rollback command that really runs to its end appends its id to undo.log.
    let rb = runbook(
        tmp.path(),
        &format!(
            r#"{HEAD}rollback_window: 48h
phases:
  - id: p
    title: Window
    steps:
      - {{ id: switch, title: Switch traffic, at: T+0:00, run: "echo switched", owner: eng, expect: 1m, on_failure: rollback }}
      - {{ id: verify, title: Verify, at: T+0:05, run: "echo verified", owner: eng, expect: 1m }}
rollback:
  title: Back to Snowflake
  steps:
    - {{ id: r1, title: DNS back, run: "echo r1 >> undo.log", expect: 1m }}
    - {{ id: r2, title: Restore grants, run: "if [ -f r2.tried ]; then echo r2 >> undo.log; else touch r2.tried; sleep 60; fi", rerun_safe: false, expect: 1m }}
    - {{ id: r3, title: Unfreeze, run: "echo r3 >> undo.log", expect: 1m }}
"#
        ),
    );
    let s = tmp.path().join("s");
    let t = Tmux::start(120, 40, &cutover_cmd(&rb, &s, "--fail switch"));

    // Wait until r2's first attempt is journaled and its sleep is running, then kill -9.
    let sleeping = |s: &Path| {
        session_processes(s).into_iter().any(|p| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep\0"))
        })
    };
    assert!(
        wait_until(Duration::from_secs(20), || journal(&s)
            .iter()
            .any(|e| e["kind"] == "step_started" && e["step"] == "r2")
            && sleeping(&s)),
        "r2 never started: {:?}",
        kinds(&journal(&s))
    );
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.join("lock")).unwrap()).unwrap();
    let pid = lock["pid"].as_i64().unwrap() as i32;
    assert_eq!(lock["operator"], "ann");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let screen = t.wait_for("STTY-END");
    assert!(screen.contains("EXIT=137"), "killed by SIGKILL: {screen}");
    let before = journal(&s);
    assert_eq!(
        kinds(&before).last().map(String::as_str),
        Some("step_started:r2"),
        "the kill left r2 running, nothing after it: {:?}",
        kinds(&before)
    );
    let left = session_processes(&s);
    assert!(
        sleeping(&s),
        "the dead cockpit's r2 (sh + sleep) is still running: {left:?}"
    );

    // bob resumes in a second window of the same tmux server.
    let resume = cutover_cmd(&rb, &s, "").replacen("--operator ann", "--operator bob", 1);
    assert!(resume.contains("--operator bob "), "{resume}");
    let ok = t
        .cmd(&["new-window", "-e", "TERM=tmux-256color", &resume])
        .status
        .success();
    assert!(ok, "tmux new-window failed");
    assert_eq!(t.window_size(), (120, 40));
    let screen = t.wait_for("interrupted");
    // The rollback waits for the operator (the header says so), is not finished, and r2 is
    // the interrupted step.
    assert!(
        screen.contains("ROLLBACK PAUSED")
            && screen.contains("r1")
            && screen
                .lines()
                .any(|l| l.contains("r2") && l.contains("interrupted")),
        "the screen says the rollback is on and r2 was interrupted:\n{screen}"
    );
    assert!(!screen.contains("ROLLED BACK"), "{screen}");
    // The resume stopped what the dead cockpit left running.
    assert!(
        wait_until(Duration::from_secs(5), || left.iter().all(|p| !alive(*p))),
        "leftovers still alive: {left:?}"
    );
    // Not rerun_safe: it waits for the operator, nothing runs by itself.
    assert!(
        !journal(&s)
            .iter()
            .any(|e| e["kind"] == "step_started" && e["seq"].as_u64() > Some(before.len() as u64)),
        "{:?}",
        kinds(&journal(&s))
    );

    t.keys(&["r"]);
    let screen = t.wait_for("ROLLED BACK");
    assert!(screen.contains("rolled back in"), "{screen}");
    t.keys(&["q"]);
    let screen = t.wait_for("STTY-END");
    assert!(screen.contains("EXIT=3"), "{screen}");
    assert_cooked(&screen);

    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    let k = kinds(&j);
    let count = |kind: &str, step: &str| {
        j.iter()
            .filter(|e| e["kind"] == kind && e["step"] == step)
            .count()
    };
    let seq_of = |want: &dyn Fn(&serde_json::Value) -> bool| {
        j.iter()
            .filter(|e| want(e))
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        j.iter().filter(|e| e["kind"] == "rollback_started").count(),
        1,
        "exactly one rollback: {k:?}"
    );
    assert_eq!(count("step_started", "r1"), 1, "r1 not rerun: {k:?}");
    assert_eq!(count("step_done", "r1"), 1, "{k:?}");
    assert_eq!(count("step_interrupted", "r2"), 1, "{k:?}");
    assert_eq!(count("step_started", "r2"), 2, "{k:?}");
    assert_eq!(count("step_done", "r2"), 1, "{k:?}");
    assert_eq!(count("step_started", "r3"), 1, "{k:?}");
    assert_eq!(count("step_done", "r3"), 1, "{k:?}");
    assert_eq!(j.iter().filter(|e| e["kind"] == "rollback_done").count(), 1);
    let rollback_at = seq_of(&|e| e["kind"] == "rollback_started")[0];
    let forward_after = seq_of(&|e| {
        e["kind"] == "step_started"
            && !matches!(e["step"].as_str(), Some("r1" | "r2" | "r3"))
            && e["seq"].as_u64() > Some(rollback_at)
    });
    assert!(forward_after.is_empty(), "a forward step ran: {k:?}");
    assert_eq!(count("step_started", "verify"), 0, "{k:?}");

    // The hand-over: ann's dead lock taken over by bob, the leftovers killed, then r2 is
    // noted interrupted, retried by bob as attempt 2, and the rollback finishes.
    let resumed = j.iter().find(|e| e["kind"] == "session_resumed").unwrap();
    assert_eq!(resumed["operator"], "bob");
    let over = j.iter().find(|e| e["kind"] == "lock_taken_over").unwrap();
    assert_eq!(over["previous_pid"].as_i64(), Some(pid as i64));
    assert_eq!(over["previous_operator"], "ann");
    let killed = j.iter().find(|e| e["kind"] == "leftovers_killed").unwrap();
    for p in &left {
        assert!(
            killed["pids"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x.as_i64() == Some(*p as i64)),
            "{p} in {killed}"
        );
    }
    let interrupted = j
        .iter()
        .find(|e| e["kind"] == "step_interrupted" && e["step"] == "r2")
        .unwrap();
    assert_eq!(interrupted["attempt"], 1);
    assert_eq!(interrupted["rerun_safe"], false);
    let retry = j
        .iter()
        .find(|e| e["kind"] == "step_retry" && e["step"] == "r2")
        .unwrap_or_else(|| panic!("no retry of r2: {k:?}"));
    assert_eq!(retry["operator"], "bob");
    let r2_starts = seq_of(&|e| e["kind"] == "step_started" && e["step"] == "r2");
    let attempt2 = j
        .iter()
        .find(|e| e["seq"].as_u64() == Some(r2_starts[1]))
        .unwrap();
    assert_eq!(attempt2["attempt"], 2);
    let order = [
        r2_starts[0],
        resumed["seq"].as_u64().unwrap(),
        killed["seq"].as_u64().unwrap(),
        interrupted["seq"].as_u64().unwrap(),
        retry["seq"].as_u64().unwrap(),
        r2_starts[1],
        seq_of(&|e| e["kind"] == "step_done" && e["step"] == "r2")[0],
        seq_of(&|e| e["kind"] == "step_started" && e["step"] == "r3")[0],
        seq_of(&|e| e["kind"] == "rollback_done")[0],
    ];
    assert!(order.is_sorted(), "{order:?}: {k:?}");

    // What really ran: each rollback command once to its end (r2's first attempt was killed
    // in its sleep), and nothing of the session is left running.
    let undo = std::fs::read_to_string(tmp.path().join("undo.log")).unwrap();
    assert_eq!(undo.lines().collect::<Vec<_>>(), ["r1", "r2", "r3"]);
    assert!(session_processes(&s).is_empty(), "nothing left running");
}

#[test]
fn a_terminal_that_goes_away_stops_the_cockpit_resumably_and_leaves_nothing_running() {
    // Killing tmux takes the cockpit's terminal with it: every read of it then ends at once.
    // The cockpit must notice, stop the run (journaled, resumable) and exit, not spin.
    let tmp = tempfile::tempdir().unwrap();
    let (t, s, pid) = running_step(tmp.path());
    drop(t); // kill-server: the pane's terminal is gone
    assert!(
        wait_until(Duration::from_secs(10), || !alive(pid)),
        "the cockpit (pid {pid}) is still running without its terminal"
    );
    let k = kinds(&journal(&s));
    assert!(k.last().is_some_and(|l| l == "session_stopped"), "{k:?}");
    assert!(
        session_processes(&s).is_empty(),
        "the running step was stopped"
    );
}

/// The T-clock the header shows (" T+00:05:12  │ …"), in seconds.
fn shown_t(screen: &str) -> Option<i64> {
    let line = screen.lines().nth(1)?;
    let clock = line.split_whitespace().next()?;
    let (sign, rest) = match clock.strip_prefix("T+") {
        Some(r) => (1, r),
        None => (-1, clock.strip_prefix("T-")?),
    };
    let mut secs = 0;
    for part in rest.split(':') {
        secs = secs * 60 + part.parse::<i64>().ok()?;
    }
    Some(sign * secs)
}

#[test]
fn a_killed_drill_resumes_its_clock_no_earlier_than_the_screen_showed() {
    let tmp = tempfile::tempdir().unwrap();
    // One manual step waiting: nothing but the clock is journaled while it waits.
    let rb = runbook(
        tmp.path(),
        &format!(
            "{HEAD}phases:\n  - id: p\n    steps:\n      - {{id: wait-here, title: Wait here, at: T+0:00, owner: eng}}\n"
        ),
    );
    let s = tmp.path().join("s");
    let t = Tmux::start(120, 40, &cutover_cmd(&rb, &s, ""));
    t.wait_for("wait-here");
    let mut before = 0;
    assert!(wait_until(Duration::from_secs(20), || {
        before = shown_t(&t.screen()).unwrap_or(0);
        before >= 4 * 60
    }));
    assert!(
        journal(&s).iter().any(|e| e["kind"] == "drill_clock"),
        "a waiting drill journals its clock: {:?}",
        kinds(&journal(&s))
    );
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.join("lock")).unwrap()).unwrap();
    let pid = lock["pid"].as_i64().unwrap() as i32;
    // What the screen shows at the moment of the kill.
    let last_shown = shown_t(&t.screen()).unwrap_or(0);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    t.wait_for("STTY-END");
    drop(t);
    let t = Tmux::start(120, 40, &cutover_cmd(&rb, &s, ""));
    t.wait_for("wait-here");
    let after = shown_t(&t.screen()).unwrap_or(0);
    assert!(
        after >= last_shown,
        "resumed at T+{after}s, the screen showed T+{last_shown}s before the kill"
    );
    // At most one mark's interval (a minute of T at ×60) plus the resume's own seconds.
    assert!(after - last_shown <= 60 + 30, "{after} vs {last_shown}");
}

/// At --speed 600 a 2-minute grace would be gone in 0.2 s: the cockpit runs the drill's
/// clock at real time while it counts down (the badge says so, the countdown loses a second
/// per second), `v` vetoes it, and the drill goes back to ×600; both changes are journaled.
#[test]
fn at_speed_600_a_grace_counts_down_in_real_time_and_the_drill_speeds_up_after_the_veto() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(
        tmp.path(),
        &format!(
            r#"{HEAD}rollback_window: 48h
metrics:
  - {{ id: err, title: Databricks error rate, side: target, unit: "%", every: 30s, sim: {{ baseline: 0.2 }} }}
triggers:
  - {{ id: errors, when: err > 1%, for: 2m, action: rollback, grace: 2m, veto_for: 1h }}
phases:
  - id: p
    steps:
      - {{ id: switch, title: Switch, at: T+0:00, run: "true", owner: eng, expect: 1m }}
      - {{ id: later, title: Later, at: T+3:00, owner: eng, expect: 1m }}
rollback:
  steps:
    - {{ id: back, title: Back, run: "echo back" }}
scenarios:
  - name: errors
    faults:
      - {{ metric: err, at: T+0:05, for: 1h, spike: 3 }}
    trips: [errors]
"#
        ),
    );
    let s = tmp.path().join("s");
    let cmd = cutover_cmd(&rb, &s, "--scenario errors").replace("--speed 60", "--speed 600");
    let t = Tmux::start(80, 24, &cmd);
    // The grace's first instants pass at ×600 until the message that started it is done
    // (its journal writes included): a few drill seconds, then real time.
    let screen = t.wait_for("AUTOMATIC ROLLBACK in 1:");
    assert!(
        screen.contains("DRILL 1× during grace · NOT LIVE"),
        "{screen}"
    );
    let left = |screen: &str| -> Option<i64> {
        let at = screen.find("AUTOMATIC ROLLBACK in ")? + "AUTOMATIC ROLLBACK in ".len();
        let (m, s) = screen[at..].split_whitespace().next()?.split_once(':')?;
        Some(m.parse::<i64>().ok()? * 60 + s.parse::<i64>().ok()?)
    };
    let first = left(&screen).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let screen = t.screen();
    let second = left(&screen).unwrap_or_else(|| panic!("the grace is gone:\n{screen}"));
    assert!(
        (2..=5).contains(&(first - second)),
        "3 real seconds took {}s off the countdown:\n{screen}",
        first - second
    );
    t.keys(&["v"]);
    t.wait_for("why? (journaled)");
    t.keys(&["Escape"]);
    t.wait_for("DRILL ×600 · NOT LIVE");
    let j = journal(&s);
    let notes: Vec<&str> = j
        .iter()
        .filter(|e| e["kind"] == "note" && e["operator"] == "system")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("drill clock at 1× (real time) during the grace"))
            && notes.contains(&"drill clock back at ×600"),
        "{notes:?}"
    );
    assert!(!j.iter().any(|e| e["kind"] == "rollback_started"));
    assert_journal_contract(&j, "drill");
    t.keys(&["q"]);
    t.wait_for("Leave the cockpit");
}

/// `cutover watch` on a session another tmux drives: a watcher at 80×24 and one at 200×60,
/// each in its own terminal. Read-only (their keys leave the journal as it is, and say why),
/// a step confirmed in the driver shows done in both within a second, the driver's header
/// counts them, kill -9 of the driver puts NOT LIVE on both within 2 s, and a resume of the
/// session brings both back to WATCHING by themselves.
#[test]
fn watchers_follow_the_driver_read_only_and_outlive_it() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = fixture(tmp.path());
    let s = tmp.path().join("s");
    let drv = Tmux::start(120, 40, &cutover_cmd(&rb, &s, ""));
    drv.wait_for("go-no-go");
    let watch = format!(
        "{} watch {}; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_cutover"),
        s.display()
    );
    let small = Tmux::start(80, 24, &watch);
    let big = Tmux::start(200, 60, &watch);
    for w in [&small, &big] {
        let screen = w.wait_for("WATCHING · read-only · driver ");
        assert!(screen.contains("(operator ann)"), "{screen}");
        assert!(screen.contains("go-no-go"), "{screen}");
        // Only keys that look around are offered.
        assert!(screen.contains("read-only") && screen.contains("stop watching"));
        assert!(
            !screen.contains("ROLLBACK") && !screen.contains("confirm ·"),
            "{screen}"
        );
    }
    drv.wait_for("◉ 2 watching");

    // Every key that would change the run, pressed in both watchers.
    let acts = |j: &[serde_json::Value]| {
        j.iter()
            .filter(|e| {
                !matches!(
                    e["kind"].as_str(),
                    Some("drill_clock" | "watcher_joined" | "watcher_left")
                )
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let before = acts(&journal(&s));
    for w in [&small, &big] {
        // (n and ! are anyone's: a note, a raised hand; tests/team.rs checks them.)
        for k in ["Enter", "R", "h", "s", "x", "v", "c", "X", "r", "a", "H"] {
            w.keys(&[k]);
        }
        w.text("rollback");
        w.keys(&["Enter"]);
    }
    small.wait_for("only the driver");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        acts(&journal(&s)),
        before,
        "a watcher's keys reached the run"
    );

    // The driver confirms; both watchers show it done within a second.
    drv.keys(&["Enter"]);
    let done = |w: &Tmux| {
        w.screen()
            .lines()
            .any(|l| l.contains("✓") && l.contains("go-no-go"))
    };
    for w in [&small, &big] {
        assert!(
            wait_until(Duration::from_secs(1), || done(w)),
            "the watcher did not show the confirmed step within a second:\n{}",
            w.screen()
        );
    }

    // kill -9 of the driver: NOT LIVE on both within 2 s.
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.join("lock")).unwrap()).unwrap();
    let pid = lock["pid"].as_i64().unwrap() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for w in [&small, &big] {
        assert!(
            wait_until(Duration::from_secs(2), || w
                .screen()
                .contains("NOT LIVE · driver gone since")),
            "no NOT LIVE banner within 2 s:\n{}",
            w.screen()
        );
    }
    assert!(big.screen().contains("values shown are old"));
    drv.wait_for("EXIT=137");

    // A resume (the same command, the same --session) and both reconnect by themselves.
    let again = Tmux::start(120, 40, &cutover_cmd(&rb, &s, ""));
    again.wait_for("long-sync");
    for w in [&small, &big] {
        let screen = w.wait_for("WATCHING · read-only");
        assert!(!screen.contains("NOT LIVE · driver"), "{screen}");
    }
    again.wait_for("◉ 2 watching");
    // Leaving a watcher leaves its terminal as it found it.
    small.keys(&["q"]);
    small.wait_for("EXIT=0");
}

/// A real `cutover watch` suspended with SIGSTOP while a drill publishes over ten thousand
/// frames: the drill takes no longer than alone, and after SIGCONT the watcher catches up
/// (a fresh snapshot) and shows how the run ended.
#[test]
fn a_suspended_watcher_neither_slows_the_driver_nor_misses_the_end() {
    let tmp = tempfile::tempdir().unwrap();
    let metric = |id: &str, side: &str| {
        format!(
            "  - {{id: {id}, title: {id}, side: {side}, unit: '%', every: 1s, from: prometheus, query: up, sim: {{baseline: 1, noise: 0.5}}}}\n"
        )
    };
    let rb = runbook(
        tmp.path(),
        &format!(
            "{HEAD}connections:\n  prometheus: {{kind: prometheus, url: 'http://localhost:9'}}\nmetrics:\n{}{}{}phases:\n  - id: window\n    title: Window\n    steps:\n      - {{id: a, title: A, at: T+0:00, run: 'true', expect: 1m, owner: eng}}\n      - {{id: c, title: C, at: T+1:00, run: 'true', expect: 1m, owner: eng}}\n",
            metric("m1", "source"),
            metric("m2", "target"),
            metric("m3", "target"),
        ),
    );
    let drill = |s: &Path| {
        bin()
            .args([
                "drill",
                rb.to_str().unwrap(),
                "--headless",
                "--speed",
                "600",
            ])
            .args(["--session", s.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let start = std::time::Instant::now();
    assert!(drill(&tmp.path().join("alone")).wait().unwrap().success());
    let alone = start.elapsed();

    let s = tmp.path().join("s");
    let start = std::time::Instant::now();
    let mut d = drill(&s);
    assert!(wait_until(Duration::from_secs(10), || s
        .join("watch.sock")
        .exists()));
    let w = Tmux::start(
        100,
        30,
        &format!(
            "exec {} watch {}",
            env!("CARGO_BIN_EXE_cutover"),
            s.display()
        ),
    );
    w.wait_for("WATCHING · read-only");
    let pid: i32 = String::from_utf8_lossy(&w.cmd(&["display", "-p", "#{pane_pid}"]).stdout)
        .trim()
        .parse()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(pid);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    assert!(d.wait().unwrap().success());
    let with = start.elapsed();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    assert!(
        with < alone.mul_f64(1.2) + Duration::from_millis(500),
        "a suspended watcher slowed the driver: {with:?} against {alone:?}"
    );
    let frames = journal(&s).len() + 3 * 3600;
    assert!(frames > 10_000, "{frames}");
    // The driver has ended: the watcher shows the end, and that nobody drives any more.
    // (It may show the end live for a moment first: the driver lingers to hand watchers its
    // last records before its socket goes.)
    let screen = w.wait_for("NOT LIVE · driver gone since");
    assert!(screen.contains("COMPLETE"), "{screen}");
}
