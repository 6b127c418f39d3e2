//! A shared session as a team uses it, end to end in tmux: a driver's cockpit and `cutover
//! watch` screens run as other OS users (the test creates them, so it needs root, as CI
//! runs), at 80×24 and 200×60. Roles come from the runbook and the OS user from the socket:
//! an observer's keys change nothing but a note and a raised hand; an approver gives the
//! second confirmation of a two-person rollback, which the driver's own OS user cannot; the
//! keys are handed to another driver mid-step and the step completes once; a detached
//! session is driven with `watch --drive`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;
use common::tmux::Tmux;
use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const GROUP: &str = "cutover-team";
const APPROVER: &str = "cutover-bob";
const OBSERVER: &str = "cutover-carl";
const DRIVER: &str = "cutover-dee";

/// Makes the team's OS users and group (once per machine; they stay, harmless, like any
/// system account). Returns false when not root: then nobody but root could make them.
fn team() -> bool {
    if !nix::unistd::getuid().is_root() {
        eprintln!(
            "SKIPPED: tests/team.rs creates OS users ({APPROVER}, {OBSERVER}, {DRIVER}) and must run as root (CI does): sudo -E cargo test --test team"
        );
        return false;
    }
    let _ = Command::new("groupadd").args(["-f", GROUP]).status();
    for u in [APPROVER, OBSERVER, DRIVER] {
        if nix::unistd::User::from_name(u).ok().flatten().is_none() {
            let ok = Command::new("useradd")
                .args(["-M", "-N", "-g", GROUP, "-s", "/bin/sh", u])
                .status()
                .expect("useradd (from Debian's passwd package) is needed")
                .success();
            assert!(ok, "useradd {u} failed");
        }
    }
    true
}

/// A folder the team can reach: the binary copied in (the checkout may sit in root's home),
/// the runbook readable, the session folder owned by the team's group with `chmod 2770` as
/// the README says.
struct Place {
    _tmp: tempfile::TempDir,
    bin: PathBuf,
    rb: PathBuf,
    s: PathBuf,
}

fn place(yaml: &str) -> Place {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = tmp.path().join("cutover");
    std::fs::copy(env!("CARGO_BIN_EXE_cutover"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let rb = runbook(tmp.path(), yaml);
    std::fs::set_permissions(&rb, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = tmp.path().join("s");
    std::fs::create_dir(&s).unwrap();
    let gid = nix::unistd::Group::from_name(GROUP).unwrap().unwrap().gid;
    nix::unistd::chown(&s, None, Some(gid)).unwrap();
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o2770)).unwrap();
    Place {
        _tmp: tmp,
        bin,
        rb,
        s,
    }
}

fn driver_cmd(p: &Place, extra: &str) -> String {
    format!(
        "{} drill {} --speed 1 --operator ann --session {} {extra}; echo EXIT=$?; sleep 60",
        p.bin.display(),
        p.rb.display(),
        p.s.display()
    )
}

fn watch_as(p: &Place, user: &str, extra: &str) -> String {
    format!(
        "su -s /bin/sh {user} -c '{} watch {} {extra}'; echo EXIT=$?; sleep 60",
        p.bin.display(),
        p.s.display()
    )
}

/// Journal entries a person or the run made (not who came and went, not the drill clock).
fn acts(s: &Path) -> Vec<Value> {
    journal(s)
        .into_iter()
        .filter(|e| {
            !matches!(
                e["kind"].as_str(),
                Some("drill_clock" | "watcher_joined" | "watcher_left")
            )
        })
        .collect()
}

fn find<'a>(j: &'a [Value], kind: &str) -> Vec<&'a Value> {
    j.iter().filter(|e| e["kind"] == kind).collect()
}

fn wait_journal(s: &Path, what: &str, cond: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut j = Vec::new();
    let ok = wait_until(Duration::from_secs(15), || {
        j = journal(s);
        cond(&j)
    });
    assert!(ok, "the journal never showed {what}: {:#?}", kinds(&j));
    j
}

const TEAM_RB: &str = "roles:\n  cutover-bob: approver\n  cutover-carl: observer\n  group:cutover-team: observer\n  cutover-dee: driver\ntwo_person:\n  actions: [rollback]\n  within: 5m\nphases:\n  - id: window\n    title: Window\n    steps:\n      - {id: go-no-go, title: Go/no-go, at: T+0:00, owner: lead}\n      - {id: sync, title: Sync, at: T+0:00, run: 'sleep 4', expect: 1m, owner: data}\n      - {id: check, title: Check, at: T+0:00, owner: lead}\nrollback:\n  title: Back\n  steps:\n    - {id: back, title: Back, run: 'true', expect: 1m}\n";

#[test]
fn an_observer_only_speaks_and_an_approver_gives_the_second_confirmation_of_a_rollback() {
    if !team() {
        return;
    }
    let p = place(&format!("{HEAD}{TEAM_RB}"));
    let drv = Tmux::start(120, 40, &driver_cmd(&p, ""));
    drv.wait_for("go-no-go");
    let carl = Tmux::start(80, 24, &watch_as(&p, OBSERVER, ""));
    let bob = Tmux::start(200, 60, &watch_as(&p, APPROVER, ""));
    carl.wait_for("WATCHING · read-only");
    let screen = bob.wait_for("WATCHING · read-only");
    assert!(screen.contains("you: approver"), "{screen}");
    drv.wait_for("◉ 2 watching");
    let j = journal(&p.s);
    let joined: Vec<&str> = find(&j, "watcher_joined")
        .iter()
        .map(|e| e["user"].as_str().unwrap())
        .collect();
    assert!(
        joined.contains(&OBSERVER) && joined.contains(&APPROVER),
        "{joined:?}"
    );

    // Every key of an observer that would change the run changes nothing.
    let before = acts(&p.s);
    for k in ["Enter", "R", "h", "s", "v", "c", "X", "r", "a", "H"] {
        carl.keys(&[k]);
        carl.keys(&["Escape"]);
    }
    carl.keys(&["Enter"]);
    carl.wait_for("read-only (observer): only the driver");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(acts(&p.s), before, "an observer's keys reached the run");

    // A note and a raised hand are anyone's, journaled with the OS user.
    carl.keys(&["n"]);
    carl.text("dashboards look normal");
    carl.keys(&["Enter"]);
    carl.keys(&["!"]);
    carl.text("DBA sees lock waits");
    carl.keys(&["Enter"]);
    let j = wait_journal(&p.s, "a note and a raised hand", |j| {
        !find(j, "hand_raised").is_empty() && !find(j, "note").is_empty()
    });
    let note = find(&j, "note")[0];
    assert_eq!(note["os_user"], OBSERVER);
    assert_eq!(note["text"], "dashboards look normal");
    assert_eq!(find(&j, "hand_raised")[0]["os_user"], OBSERVER);
    drv.wait_for("cutover-carl ASKS FOR A HOLD");
    drv.wait_for("DBA sees lock waits");
    // On every screen, until the driver answers it.
    carl.wait_for("cutover-carl ASKS FOR A HOLD");
    drv.wait_for("HAND RAISED by cutover-carl");

    // The driver asks for the rollback: it waits for a second person, shown to all.
    drv.keys(&["R"]);
    drv.text("rollback");
    drv.keys(&["Enter"]);
    let j = wait_journal(&p.s, "approval_requested", |j| {
        !find(j, "approval_requested").is_empty()
    });
    let me = cutover::shell::serve::user_name(nix::unistd::getuid().as_raw());
    assert_eq!(find(&j, "approval_requested")[0]["os_user"], me.as_str());
    for t in [&drv, &bob, &carl] {
        t.wait_for("2ND PERSON");
    }
    // The driver's own OS user cannot give the second confirmation.
    drv.keys(&["a"]);
    drv.text("approve");
    drv.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    let j = journal(&p.s);
    assert!(find(&j, "approval_given").is_empty(), "{:#?}", kinds(&j));
    assert!(find(&j, "rollback_started").is_empty());
    // The approver, from their own watcher, typed.
    bob.keys(&["a"]);
    bob.text("approve");
    bob.keys(&["Enter"]);
    let j = wait_journal(&p.s, "the rollback after the approval", |j| {
        !find(j, "rollback_started").is_empty()
    });
    assert_eq!(find(&j, "approval_given")[0]["os_user"], APPROVER);
    assert_eq!(find(&j, "rollback_started")[0]["os_user"], me.as_str());
    for t in [&drv, &bob, &carl] {
        t.wait_for("ROLLED BACK");
    }
    drv.keys(&["q"]);
    drv.wait_for("EXIT=");
}

#[test]
fn keys_handed_over_mid_step_complete_the_step_once_and_drive_from_the_watcher() {
    if !team() {
        return;
    }
    let p = place(&format!("{HEAD}{TEAM_RB}"));
    let drv = Tmux::start(120, 40, &driver_cmd(&p, ""));
    drv.wait_for("go-no-go");
    let dee = Tmux::start(200, 60, &watch_as(&p, DRIVER, ""));
    dee.wait_for("WATCHING · read-only");
    drv.wait_for("◉ 1 watching");
    drv.keys(&["Enter"]);
    // `sync` runs (4 s): hand the keys over while it does.
    wait_journal(&p.s, "sync started", |j| {
        j.iter()
            .any(|e| e["kind"] == "step_started" && e["step"] == "sync")
    });
    drv.keys(&["H"]);
    drv.text(DRIVER);
    drv.keys(&["Enter"]);
    dee.wait_for("offers you the keys");
    dee.keys(&["H"]);
    dee.text("take");
    dee.keys(&["Enter"]);
    let j = wait_journal(&p.s, "driver_changed", |j| {
        !find(j, "driver_changed").is_empty()
    });
    let c = find(&j, "driver_changed")[0];
    assert_eq!(c["to"], DRIVER);
    assert_eq!(c["how"], "handover");
    dee.wait_for("DRIVING");
    drv.wait_for("HANDED OVER");
    // The old driver's keys no longer act; the new driver's do.
    let j = wait_journal(&p.s, "sync done", |j| {
        j.iter()
            .any(|e| e["kind"] == "step_done" && e["step"] == "sync")
    });
    let starts = j
        .iter()
        .filter(|e| e["kind"] == "step_started" && e["step"] == "sync")
        .count();
    assert_eq!(starts, 1, "the step ran once: {:#?}", kinds(&j));
    drv.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !journal(&p.s)
            .iter()
            .any(|e| e["kind"] == "step_done" && e["step"] == "check"),
        "the old driver's key confirmed a step"
    );
    dee.keys(&["Enter"]);
    let j = wait_journal(&p.s, "check confirmed by dee", |j| {
        j.iter()
            .any(|e| e["kind"] == "step_done" && e["step"] == "check")
    });
    // Confirmed by dee's key: the person's entry carries dee's OS user.
    let by = j
        .iter()
        .find(|e| e["step"] == "check" && e["operator"] != "system")
        .unwrap();
    assert_eq!(by["os_user"], DRIVER, "{by}");
    assert_eq!(by["operator"], DRIVER, "{by}");
    drv.wait_for("COMPLETE");
    drv.keys(&["q"]);
    drv.wait_for("EXIT=0");
}

#[test]
fn a_detached_session_is_driven_with_watch_drive_and_waits_when_its_driver_leaves() {
    if !team() {
        return;
    }
    let p = place(&format!("{HEAD}{TEAM_RB}"));
    let out = Command::new(&p.bin)
        .args(["drill", p.rb.to_str().unwrap(), "--speed", "1", "--detach"])
        .args(["--session", p.s.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("--drive"), "{text}");
    // Nobody drives: the manual first step waits (the run does not stop for want of one).
    std::thread::sleep(Duration::from_millis(1500));
    let j = journal(&p.s);
    assert!(find(&j, "session_stopped").is_empty(), "{:#?}", kinds(&j));
    // An observer may not take the keys; the session's owner may.
    let carl = Tmux::start(80, 24, &watch_as(&p, OBSERVER, "--drive"));
    carl.wait_for("only a driver may take the keys");
    let me = Tmux::start(
        80,
        24,
        &format!(
            "{} watch {} --drive; echo EXIT=$?; sleep 60",
            p.bin.display(),
            p.s.display()
        ),
    );
    me.wait_for("DRIVING");
    me.keys(&["Enter"]);
    wait_journal(&p.s, "go-no-go confirmed", |j| {
        j.iter()
            .any(|e| e["kind"] == "step_done" && e["step"] == "go-no-go")
    });
    // The driving watcher leaves: the keys are released, the run goes on without stopping.
    me.keys(&["q"]);
    let j = wait_journal(&p.s, "the keys released", |j| {
        j.iter()
            .any(|e| e["kind"] == "driver_changed" && e["how"] == "released")
    });
    assert!(find(&j, "session_stopped").is_empty());
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(p.s.join("lock")).unwrap()).unwrap();
    let pid = lock["pid"].as_i64().unwrap() as i32;
    assert!(alive(pid), "the detached driver went with its watcher");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(wait_until(Duration::from_secs(10), || !alive(pid)));
    assert!(
        std::fs::read_to_string(p.s.join("driver.log"))
            .unwrap()
            .contains("session")
    );
}

#[test]
fn an_approver_answers_a_decision_from_their_watcher_and_an_observer_cannot() {
    if !team() {
        return;
    }
    let p = place(&format!(
        r#"{HEAD}rollback_window: 48h
roles:
  cutover-bob: approver
  cutover-carl: observer
metrics:
  - {{ id: lat, title: Databricks p95 latency, side: target, unit: ms, every: 30s, sim: {{ baseline: 800 }} }}
triggers:
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
  - name: slow
    faults:
      - {{ metric: lat, at: T+0:02, for: 2m, drift: 2500 }}
    trips: [slow]
"#
    ));
    let drv = Tmux::start(
        120,
        40,
        &format!(
            "{} drill {} --speed 60 --operator ann --session {} --scenario slow; echo EXIT=$?; sleep 60",
            p.bin.display(),
            p.rb.display(),
            p.s.display()
        ),
    );
    drv.wait_for("switch");
    let bob = Tmux::start(200, 60, &watch_as(&p, APPROVER, ""));
    let carl = Tmux::start(80, 24, &watch_as(&p, OBSERVER, ""));
    bob.wait_for("you: approver");
    carl.wait_for("WATCHING · read-only");
    let screen = bob.wait_for("DECISION: roll back or continue?");
    assert!(
        screen.contains("decide: roll back"),
        "the approver is offered it: {screen}"
    );
    // The observer's `c` is refused; nothing is journaled.
    carl.keys(&["c"]);
    carl.wait_for("read-only (observer)");
    bob.keys(&["c"]);
    bob.wait_for("Continue despite `slow`?");
    bob.text("latency is the cache warming");
    bob.keys(&["Enter"]);
    let j = wait_journal(&p.s, "the approver's decision", |j| {
        !find(j, "decision_made").is_empty()
    });
    let d = find(&j, "decision_made")[0];
    assert_eq!(d["choice"], "continue");
    assert_eq!(d["operator"], APPROVER);
    assert_eq!(d["os_user"], APPROVER);
    assert_eq!(d["why"], "latency is the cache warming");
    assert!(find(&j, "rollback_started").is_empty());
    drv.keys(&["X"]);
    drv.text("end of the test");
    drv.keys(&["Enter"]);
    drv.wait_for("ABORTED");
    drv.keys(&["q"]);
    drv.wait_for("EXIT=1");
}

const GUARDED_RB: &str = "roles:\n  cutover-bob: approver\ntwo_person:\n  actions: [skip, point_of_no_return]\n  within: 5m\nphases:\n  - id: window\n    title: Window\n    steps:\n      - {id: optional, title: Optional check, at: T+0:00, owner: lead}\n      - {id: cut, title: Cut over, at: T+0:00, owner: lead, point_of_no_return: true}\n      - {id: after, title: After, at: T+0:00, owner: lead}\nrollback:\n  title: Back\n  steps:\n    - {id: back, title: Back, run: 'true', expect: 1m}\n";

/// The other two guarded actions, end to end: a skip and passing a point of no return each
/// wait, after the driver's typed confirmation, for the approver's from their own watcher,
/// and each is journaled with both OS users.
#[test]
fn a_skip_and_a_point_of_no_return_wait_for_the_approver() {
    if !team() {
        return;
    }
    let p = place(&format!("{HEAD}{GUARDED_RB}"));
    let drv = Tmux::start(120, 40, &driver_cmd(&p, ""));
    drv.wait_for("optional");
    let bob = Tmux::start(80, 24, &watch_as(&p, APPROVER, ""));
    bob.wait_for("you: approver");
    let me = cutover::shell::serve::user_name(nix::unistd::getuid().as_raw());
    let approve = |n: usize| {
        bob.wait_for("2ND PERSON");
        bob.keys(&["a"]);
        bob.text("approve");
        bob.keys(&["Enter"]);
        wait_journal(&p.s, "the approval", |j| {
            find(j, "approval_given").len() == n
        })
    };

    // The skip: typed reason, held for the second person, then done as the driver asked.
    drv.keys(&["s"]);
    drv.text("not needed tonight");
    drv.keys(&["Enter"]);
    let j = wait_journal(&p.s, "a skip waiting for approval", |j| {
        !find(j, "approval_requested").is_empty()
    });
    let asked = find(&j, "approval_requested")[0];
    assert_eq!(
        (&asked["action"], &asked["os_user"]),
        (&"skip".into(), &me.as_str().into())
    );
    assert!(
        find(&j, "step_skipped").is_empty(),
        "skipped before the approval"
    );
    approve(1);
    let j = wait_journal(&p.s, "the skip", |j| !find(j, "step_skipped").is_empty());
    let skipped = find(&j, "step_skipped")[0];
    assert_eq!(skipped["step"], "optional");
    assert_eq!(skipped["os_user"], me.as_str());
    assert_eq!(find(&j, "approval_given")[0]["os_user"], APPROVER);

    // The point of no return: `yes` typed by the driver, then the approver's.
    drv.wait_for("POINT OF NO RETURN");
    drv.keys(&["Enter"]);
    drv.text("yes");
    drv.keys(&["Enter"]);
    let j = wait_journal(&p.s, "the point of no return waiting", |j| {
        find(j, "approval_requested").len() == 2
    });
    assert_eq!(
        find(&j, "approval_requested")[1]["action"],
        "point_of_no_return"
    );
    assert!(
        find(&j, "point_of_no_return").is_empty(),
        "passed before the approval"
    );
    let j = approve(2);
    assert_eq!(find(&j, "approval_given")[1]["os_user"], APPROVER);
    let j = wait_journal(&p.s, "the point of no return passed", |j| {
        !find(j, "point_of_no_return").is_empty()
    });
    let confirmed: Vec<&str> = find(&j, "step_confirmed")
        .iter()
        .filter_map(|e| e["step"].as_str())
        .collect();
    assert!(confirmed.contains(&"cut"), "{confirmed:?}");
    wait_journal(&p.s, "the next step waiting", |j| {
        find(j, "step_waiting").iter().any(|e| e["step"] == "after")
    });
}
