//! The hub's staging (frames published while a connection holds the hub keep their order
//! and are never lost) and the serving side's lowered priority.

use super::*;

fn server(dir: &Path) -> Server {
    let info = DriverInfo {
        user: "ann".into(),
        host: "h".into(),
        pid: 1,
        operator: "ann".into(),
        mode: "drill".into(),
        speed: "max".into(),
        runbook: "/rb.yaml".into(),
    };
    Server::start(dir, (info, &Default::default()), &[], (0, 1.0)).unwrap()
}

/// Runs `pass` on another thread while this one holds the hub, as a connection would; fails
/// (instead of hanging) if the pass waits for the hub.
fn while_held(s: &Arc<Server>, pass: impl FnOnce(&Server) + Send + 'static) {
    let held = lock(&s.hub);
    let (done, finished) = std::sync::mpsc::channel();
    let t = s.clone();
    std::thread::spawn(move || {
        pass(&t);
        let _ = done.send(());
    });
    let waited = finished.recv_timeout(Duration::from_secs(5)).is_err();
    drop(held);
    assert!(!waited, "the loop waited for a hub a connection held");
}

fn ring(s: &Server) -> Vec<String> {
    lock(&s.hub).ring.iter().map(|f| f.to_string()).collect()
}

#[test]
fn frames_published_while_the_hub_is_held_wait_their_turn_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(server(dir.path()));
    let sample = |v: f64| ("m".to_string(), 1000, Ok(v));
    // The loop does not wait for a held hub: the pass is staged, not lost or blocked on.
    while_held(&s, move |s| {
        s.performed(&[], &[sample(1.0), sample(2.0)], 1000)
    });
    assert_eq!(lock(&s.staged).len(), 2);
    assert!(ring(&s).is_empty(), "staged frames are not in the hub yet");
    // The next pass goes in after them.
    s.performed(&[], &[sample(3.0)], 2000);
    // Command output waits for the hub, and goes in after everything staged.
    s.output("a", "done", false);
    let r = ring(&s);
    assert_eq!(r.len(), 4, "{r:?}");
    for (f, want) in r.iter().zip(["1.0", "2.0", "3.0"]) {
        assert!(f.contains("\"sample\"") && f.contains(want), "{f}");
    }
    assert!(
        r[3].contains("\"output\"") && r[3].contains("done"),
        "{}",
        r[3]
    );
    assert!(lock(&s.staged).is_empty());
    assert_eq!(lock(&s.hub).samples["m"].len(), 3);
    assert_eq!(lock(&s.hub).clock.0, 2000, "the clock is the last pass's");
}

#[test]
fn a_flush_before_the_loop_sleeps_publishes_what_was_staged() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(server(dir.path()));
    while_held(&s, |s| {
        s.performed(&[], &[("m".to_string(), 5, Err("timeout".into()))], 5)
    });
    assert!(ring(&s).is_empty());
    s.flush();
    let r = ring(&s);
    assert_eq!(r.len(), 1);
    assert!(r[0].contains("timeout"), "{}", r[0]);
}

#[test]
fn a_thread_lowers_its_own_priority_and_no_other() {
    let nice = |tid: i32| -> i64 {
        let st = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        // Field 19 (nice), counted after the command name's closing parenthesis.
        let rest = &st[st.rfind(')').unwrap() + 2..];
        rest.split(' ').nth(16).unwrap().parse().unwrap()
    };
    let me = nix::unistd::gettid().as_raw();
    let before = nice(me);
    let (tid, after) = std::thread::spawn(move || {
        lower_own_priority(before as i32 + 7).unwrap();
        let tid = nix::unistd::gettid().as_raw();
        (tid, nice(tid))
    })
    .join()
    .unwrap();
    assert_ne!(tid, me);
    assert_eq!(after, before + 7);
    assert_eq!(nice(me), before, "the caller's other threads keep theirs");
}
