//! Rehearsed durations from the command line: drills of a runbook in the sessions folder
//! (`$CUTOVER_HOME/sessions`) or given with `--rehearsals`, read at the start of the next
//! drill, which says what they took and what that does to its finish and rollback budget.
//! The runbook's steps are real commands (`sleep 0.5`, 30 s of T at 60×), so the durations
//! are measured, not written into a fixture.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use std::path::Path;

/// `sync` is planned at 10 s and takes 30 s of T; so does the rollback's `back` (planned
/// 5 s). `finish` rolls back when it fails.
const RB: &str = "version: 1
title: Rehearsal test
strategy: blue-green
platforms: {source: {name: Snowflake}, target: {name: Databricks}}
phases:
  - id: p
    steps:
      - {id: sync, title: Sync, at: T+0:00, expect: 10s, run: 'sleep 0.5'}
      - {id: finish, title: Finish, expect: 1m, run: 'true', on_failure: rollback}
rollback:
  steps:
    - {id: back, title: Back, expect: 5s, run: 'sleep 0.5'}
";

/// A headless drill of `rb` at 60× with `home` as `$CUTOVER_HOME`; its exit code and stdout.
fn drill(home: &Path, rb: &Path, extra: &[&str]) -> (i32, String) {
    let out = bin()
        .env("CUTOVER_HOME", home)
        .arg("drill")
        .arg(rb)
        .args(["--headless", "--speed", "60", "--auto-ack"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn rehearsal_line(out: &str) -> &str {
    out.lines()
        .find(|l| l.starts_with("rehearsals: "))
        .unwrap_or_else(|| panic!("no rehearsals line:\n{out}"))
}

#[test]
fn drills_in_the_sessions_folder_and_given_by_hand_lengthen_the_next_ones_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = tmp.path().join("rehearse.yaml");
    std::fs::write(&rb, RB).unwrap();
    let home = tmp.path().join("home");

    // The first drill has nothing to learn from, and says nothing about rehearsals.
    let (code, out) = drill(&home, &rb, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("rehearsals:"), "{out}");
    // The second fails its last step and rolls back: what it finished still counts, the
    // rollback's step included.
    let (code, out) = drill(&home, &rb, &["--fail", "finish"]);
    assert_eq!(code, 3, "{out}");
    // A drill of another runbook in the same folder is no rehearsal of this one.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let other_rb = other.join("rehearse.yaml");
    std::fs::write(&other_rb, RB.replace("Rehearsal test", "Another cutover")).unwrap();
    assert_eq!(drill(&home, &other_rb, &[]).0, 0);

    // The third finds both in the sessions folder.
    let (code, out) = drill(&home, &rb, &[]);
    assert_eq!(code, 0, "{out}");
    let line = rehearsal_line(&out);
    assert!(
        line.starts_with("rehearsals: 2 drills of rehearse; took longer than expect: sync "),
        "{line}"
    );
    assert!(line.contains("(expect 10s), back "), "{line}");
    assert!(line.contains("(expect 5s)"), "{line}");
    // sync's 30 s instead of 10 s moves the finish by 20 s; the rollback's back needs 30 s.
    assert!(
        line.contains("; finish ≈T+00:01:3")
            && line.contains(" by rehearsed times (plan T+00:01:10)"),
        "{line}"
    );
    assert!(
        line.contains("; rollback needs ") && line.ends_with(" by rehearsed times (planned 5s)"),
        "{line}"
    );
    assert!(
        out.find("rehearsals:") < out.find("session started"),
        "said before the run starts:\n{out}"
    );

    // Given by hand (a folder of sessions), with an empty sessions folder: the three drills
    // of this runbook, and the other runbook's drill passed over by name.
    let sessions = home.join("sessions");
    let (code, out) = drill(
        &tmp.path().join("empty"),
        &rb,
        &[
            "--session",
            tmp.path().join("s4").to_str().unwrap(),
            "--rehearsals",
            sessions.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        rehearsal_line(&out).starts_with("rehearsals: 3 drills of rehearse;"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.contains("passed over ")
            && l.contains("a drill of another runbook (rehearse: \"Another cutover\")")),
        "{out}"
    );

    // A path that is not a folder is a usage error, before anything runs.
    let out = bin()
        .env("CUTOVER_HOME", &home)
        .arg("drill")
        .arg(&rb)
        .args(["--headless", "--rehearsals", "/nonexistent/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--rehearsals /nonexistent/x: not a folder"),
        "{out:?}"
    );
}

#[test]
fn an_earlier_drill_of_another_runbook_version_is_matched_by_step_id_and_said() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = tmp.path().join("rehearse.yaml");
    std::fs::write(&rb, RB).unwrap();
    let home = tmp.path().join("home");
    assert_eq!(drill(&home, &rb, &[]).0, 0);
    // The runbook changes (finish is planned longer): the drill still counts, said as such.
    std::fs::write(&rb, RB.replace("expect: 1m", "expect: 2m")).unwrap();
    let (code, out) = drill(&home, &rb, &[]);
    assert_eq!(code, 0, "{out}");
    let line = rehearsal_line(&out);
    assert!(
        line.starts_with(
            "rehearsals: 1 drill of rehearse (1 ran another version of the runbook); took longer than expect: sync "
        ),
        "{line}"
    );
}

/// A watcher's screen counts the same rehearsals as the driver's: the driver sends them
/// after `hello` (its projection and step detail then match), and a session without
/// rehearsals sends none.
#[test]
fn the_driver_hands_its_rehearsals_to_every_watcher() {
    use std::io::{BufRead, BufReader};
    use std::time::Duration;
    let tmp = tempfile::tempdir().unwrap();
    let rb = tmp.path().join("rehearse.yaml");
    std::fs::write(&rb, RB).unwrap();
    let home = tmp.path().join("home");
    // Each run of this one waits a minute of wall time at `later`, long enough to watch.
    let long = tmp.path().join("long").join("rehearse.yaml");
    std::fs::create_dir_all(long.parent().unwrap()).unwrap();
    std::fs::write(
        &long,
        RB.replace(
            "      - {id: finish,",
            "      - {id: later, title: Later, at: T+1:00, run: 'true'}\n      - {id: finish,",
        ),
    )
    .unwrap();
    let frames_of = |session: &Path| -> Vec<serde_json::Value> {
        let mut child = bin()
            .env("CUTOVER_HOME", &home)
            .args([
                "drill",
                long.to_str().unwrap(),
                "--headless",
                "--speed",
                "1",
            ])
            .args(["--session", session.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let s = connect(session);
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut frames = Vec::new();
        for l in BufReader::new(s).lines() {
            let f: serde_json::Value = serde_json::from_str(&l.unwrap()).unwrap();
            let live = f["type"] == "live";
            frames.push(f);
            if live {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        frames
    };

    // Nothing rehearsed yet: no such frame.
    let first = frames_of(&tmp.path().join("s1"));
    assert_eq!(first[0]["type"], "hello", "{first:?}");
    assert!(first.iter().all(|f| f["type"] != "rehearsals"), "{first:?}");

    assert_eq!(drill(&home, &rb, &[]).0, 0);
    assert_eq!(drill(&home, &rb, &[]).0, 0);
    let frames = frames_of(&tmp.path().join("s2"));
    assert_eq!(
        frames[1]["type"], "rehearsals",
        "right after hello: {frames:?}"
    );
    let r = &frames[1]["rehearsals"];
    // The two drills in the sessions folder (the runs of `long` have sessions of their own
    // elsewhere).
    assert_eq!(r["drills"], 2, "{r}");
    let took = r["steps"]["sync"]["took"].as_array().unwrap();
    assert_eq!(took.len(), 2, "{r}");
    // `sleep 0.5` at 60× is 30 s of T.
    assert!(took.iter().all(|t| t.as_i64().unwrap() >= 25_000), "{r}");
}

/// Only the newest drills are read (by when they started): the older ones are passed over
/// in one line, and never opened past their first line (two of them here could not be read).
#[test]
fn only_the_newest_drills_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = tmp.path().join("rehearse.yaml");
    std::fs::write(&rb, RB).unwrap();
    let home = tmp.path().join("home");
    assert_eq!(drill(&home, &rb, &[]).0, 0);
    let one = std::fs::read_dir(home.join("sessions"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let journal = std::fs::read_to_string(one.join("journal.jsonl")).unwrap();
    let (first, rest) = journal.split_once('\n').unwrap();
    let at = first
        .split("\"at\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let many = tmp.path().join("many");
    let n = cutover::shell::rehearsals::NEWEST + 2;
    for i in 0..n {
        let dir = many.join(format!("s{i:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        let when = format!("2026-01-01T00:00:{i:02}.000Z");
        let mut text = format!("{}\n{rest}", first.replace(at, &when));
        if i < 2 {
            text.push_str("not a journal line\n");
        }
        std::fs::write(dir.join("journal.jsonl"), text).unwrap();
    }
    let (code, out) = drill(
        &tmp.path().join("empty"),
        &rb,
        &[
            "--session",
            tmp.path().join("this").to_str().unwrap(),
            "--rehearsals",
            many.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    let want = format!("rehearsals: {} drills of rehearse;", n - 2);
    assert!(rehearsal_line(&out).starts_with(&want), "{out}");
    assert!(
        out.contains("passed over 2 older drills of rehearse: only the newest 20 are read"),
        "{out}"
    );
    assert!(!out.contains("s00") && !out.contains("s01"), "{out}");
}
