//! The watch socket from the outside: a real driver (a headless drill) and plain socket
//! clients. A watcher gets a snapshot and then every record live, matching the journal; a
//! watcher that never reads while thousands of frames pass neither slows the driver nor
//! grows its memory, and is brought up to date from a fresh snapshot when it reads again;
//! garbage and oversized requests are refused and the run goes on; who watched is journaled
//! with the OS user of the socket's peer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Steps a few T-minutes apart and two metrics sampled every T-second: at `--speed 600` the
/// drill runs about six seconds and publishes thousands of sample frames.
fn load_runbook(dir: &Path) -> PathBuf {
    load_runbook_with(dir, 2)
}

/// The same run with `n` metrics: more sample frames per T-second.
fn load_runbook_with(dir: &Path, n: usize) -> PathBuf {
    let metrics: String = (1..=n)
        .map(|i| {
            let side = if i % 2 == 1 { "source" } else { "target" };
            format!("  - {{id: m{i}, title: M{i}, side: {side}, unit: '%', every: 1s, from: prometheus, query: up, sim: {{baseline: 1, noise: 0.5}}}}\n")
        })
        .collect();
    runbook(
        dir,
        &format!(
            "{HEAD}connections:\n  prometheus: {{kind: prometheus, url: 'http://localhost:9'}}\nmetrics:\n{metrics}phases:\n  - id: window\n    title: Window\n    steps:\n      - {{id: a, title: A, at: T+0:00, run: 'true', expect: 1m, owner: eng}}\n      - {{id: b, title: B, at: T+0:30, run: 'echo half way', expect: 1m, owner: eng}}\n      - {{id: c, title: C, at: T+1:00, run: 'true', expect: 1m, owner: eng}}\n"
        ),
    )
}

fn drill(rb: &Path, session: &Path) -> Child {
    bin()
        .args([
            "drill",
            rb.to_str().unwrap(),
            "--headless",
            "--speed",
            "600",
        ])
        .args(["--session", session.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Every frame until the driver closes the connection.
fn read_all(s: UnixStream) -> Vec<Value> {
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    BufReader::new(s)
        .lines()
        .map_while(Result::ok)
        .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("bad frame {l}: {e}")))
        .collect()
}

fn of_type<'a>(frames: &'a [Value], t: &str) -> Vec<&'a Value> {
    frames.iter().filter(|f| f["type"] == t).collect()
}

/// The records of the frames after the last snapshot began, in order.
fn records_since_last_reset(frames: &[Value]) -> Vec<Value> {
    let start = frames.iter().rposition(|f| f["type"] == "reset").unwrap();
    frames[start..]
        .iter()
        .filter(|f| f["type"] == "record")
        .map(|f| f["record"].clone())
        .collect()
}

fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn me() -> String {
    cutover::shell::serve::user_name(nix::unistd::getuid().as_raw())
}

#[test]
fn a_watcher_gets_the_snapshot_then_every_record_live_as_journaled() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = load_runbook(tmp.path());
    let s = tmp.path().join("s");
    let mut d = drill(&rb, &s);
    let mut sock = connect(&s);
    sock.write_all(
        format!(
            "{{\"type\":\"hello\",\"protocol\":{}}}\n",
            cutover::shell::wire::PROTOCOL
        )
        .as_bytes(),
    )
    .unwrap();
    let frames = read_all(sock);
    assert!(d.wait().unwrap().success());

    let hello = &frames[0];
    assert_eq!(hello["type"], "hello", "{hello}");
    assert_eq!(
        hello["you"],
        me().as_str(),
        "who connected is the kernel's answer"
    );
    assert_eq!(hello["driver"]["mode"], "drill");
    assert_eq!(hello["driver"]["pid"], d.id());
    assert_eq!(frames[1]["type"], "reset");
    assert_eq!(
        of_type(&frames, "reset").len(),
        1,
        "a reader that keeps up is never resynced"
    );
    let live = frames.iter().position(|f| f["type"] == "live").unwrap();

    // Snapshot plus live records are the journal, line for line, with nothing twice.
    let got = records_since_last_reset(&frames);
    let journal = journal(&s);
    assert_eq!(got, journal);
    // Live frames came after the snapshot: the run went on while watched.
    assert!(
        frames[live..].iter().any(|f| f["type"] == "record"),
        "no live record"
    );
    assert!(
        of_type(&frames, "sample").len() > 1000,
        "samples reach watchers"
    );
    assert!(
        of_type(&frames, "output")
            .iter()
            .any(|f| f["line"] == "half way" && f["step"] == "b")
    );
    assert!(!of_type(&frames, "tick").is_empty(), "heartbeats");
    // The journal says who watched, by OS user.
    let joined: Vec<&Value> = journal
        .iter()
        .filter(|e| e["kind"] == "watcher_joined")
        .collect();
    assert_eq!(joined.len(), 1, "{joined:?}");
    assert_eq!(joined[0]["user"], me().as_str());
    assert_eq!(joined[0]["uid"], nix::unistd::getuid().as_raw());
    assert!(
        !s.join("watch.sock").exists(),
        "the socket goes with the driver"
    );
}

#[test]
fn a_watcher_that_stops_reading_never_slows_or_grows_the_driver_and_catches_up() {
    let tmp = tempfile::tempdir().unwrap();
    // Eight metrics: over 20,000 sample frames pass while the watcher does not read, far more
    // than the ring and both sockets' buffers hold, so it falls behind on any machine.
    let rb = load_runbook_with(tmp.path(), 8);

    // The run alone, for comparison.
    let start = Instant::now();
    let mut d = drill(&rb, &tmp.path().join("alone"));
    assert!(d.wait().unwrap().success());
    let alone = start.elapsed();

    let s = tmp.path().join("s");
    let start = Instant::now();
    let mut d = drill(&rb, &s);
    let pid = d.id();
    let sock = connect(&s);
    // Reads nothing (a suspended watcher) for most of the run, while the driver's memory is
    // watched.
    let base = rss_kb(pid).unwrap();
    let mut peak = base;
    let stalled = Instant::now();
    while stalled.elapsed() < alone.mul_f64(0.7) {
        if let Some(r) = rss_kb(pid) {
            peak = peak.max(r);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let frames = read_all(sock);
    assert!(d.wait().unwrap().success());
    let with = start.elapsed();
    assert!(
        with < alone.mul_f64(1.2) + Duration::from_millis(500),
        "a stalled watcher slowed the driver: {with:?} against {alone:?} alone"
    );
    assert!(
        peak - base < 4096,
        "the driver grew by {} KiB while a watcher did not read",
        peak - base
    );
    // It fell behind the ring, was sent a fresh snapshot, and ends up with the journal.
    assert!(
        of_type(&frames, "reset").len() >= 2,
        "a watcher that fell behind must be resynchronised"
    );
    assert_eq!(records_since_last_reset(&frames), journal(&s));
}

fn refused(mut sock: UnixStream, send: &[u8]) -> String {
    // The driver may close before an oversized line is all written: a broken pipe here is
    // the refusal arriving early.
    let _ = sock.write_all(send);
    let _ = sock.shutdown(std::net::Shutdown::Write);
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut text = String::new();
    let _ = sock.read_to_string(&mut text);
    text.lines().last().unwrap_or_default().to_string()
}

#[test]
fn garbage_and_oversized_requests_are_refused_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let rb = load_runbook(tmp.path());
    let s = tmp.path().join("s");
    let mut d = drill(&rb, &s);
    let last = refused(connect(&s), b"\x00\xffnot json at all\n");
    assert!(last.contains("\"refused\""), "{last}");
    let last = refused(
        connect(&s),
        b"{\"type\":\"confirm_step\",\"step\":\"a\",\"user\":\"root\"}\n",
    );
    assert!(last.contains("\"refused\""), "{last}");
    let mut big = vec![b'x'; 1 << 20];
    big.push(b'\n');
    let last = refused(connect(&s), &big);
    assert!(
        last.contains("\"refused\"") && last.contains("longer"),
        "{last}"
    );
    // A flood of well-formed requests is refused past the rate limit, and what got in is
    // journaled once each, by the peer's OS user.
    let flood: String = (0..cutover::shell::serve::RATE + 5)
        .map(|i| format!("{{\"type\":\"note\",\"text\":\"flood {i}\"}}\n"))
        .collect();
    let last = refused(connect(&s), flood.as_bytes());
    assert!(
        last.contains("\"refused\"") && last.contains("requests in"),
        "{last}"
    );
    // A client that says nothing and leaves is no error.
    drop(connect(&s));
    assert!(d.wait().unwrap().success(), "the run completes");
    let notes: Vec<Value> = journal(&s)
        .into_iter()
        .filter(|e| {
            e["kind"] == "note" && e["text"].as_str().is_some_and(|t| t.starts_with("flood"))
        })
        .collect();
    assert_eq!(notes.len(), cutover::shell::serve::RATE, "{notes:?}");
    assert!(notes.iter().all(|n| n["os_user"] == me().as_str()));
    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    let joined = j.iter().filter(|e| e["kind"] == "watcher_joined").count();
    let left = j.iter().filter(|e| e["kind"] == "watcher_left").count();
    assert_eq!((joined, left), (5, 5), "{:?}", kinds(&j));
    // Nothing a client sent reached the run.
    assert!(!kinds(&j).iter().any(|k| k.contains("confirm")));
}

/// The watcher's mirror, without a socket: an engine fed only the driver's records (as
/// `follow`) and samples (into its monitor, then `observe`) shows what the driver's engine
/// shows at every moment of a run with a grace countdown, a veto and a decision: step states,
/// countdowns, the open decision and each trigger's state.
#[test]
fn a_mirror_fed_records_and_samples_shows_what_the_driver_shows() {
    use cutover::core::engine::{Config, Effect, Engine, ExecResult, Msg};
    use cutover::core::event::{Mode, Record};
    let tmp = tempfile::tempdir().unwrap();
    let path = runbook(
        tmp.path(),
        &format!(
            r#"{HEAD}rollback_window: 48h
metrics:
  - {{ id: err, title: Error rate, side: target, unit: "%", every: 30s, sim: {{ baseline: 0.2 }} }}
  - {{ id: lat, title: p95 latency, side: target, unit: ms, every: 30s, sim: {{ baseline: 800 }} }}
triggers:
  - {{ id: errors, when: err > 1%, for: 2m, action: rollback, grace: 20m, veto_for: 3m }}
  - {{ id: slow, when: lat > 1000ms, for: 1m, action: decide, decide: {{ within: 30m, default: rollback }} }}
phases:
  - id: p
    steps:
      - {{ id: switch, title: Switch, at: T+0:00, run: "true", owner: eng, expect: 1m }}
      - {{ id: later, title: Later, at: T+60:00, owner: eng, expect: 1m }}
rollback:
  steps:
    - {{ id: back, title: Back, run: "echo back" }}
"#
        ),
    );
    let l = cutover::config::runbook::load(&path);
    let rb = l.runbook.unwrap_or_else(|| panic!("{:?}", l.diagnostics));
    let cfg = Config {
        auto_ack: false,
        fail_step: None,
    };
    let mut driver = Engine::new(rb.clone(), cfg);
    let mut mirror = Engine::new(rb.clone(), Config::default());
    let mut seq = 0;
    let mut exits = Vec::new();
    let mut vetoed = false;
    let mut records = 0;
    for t in (-60_000..=45 * 60_000).step_by(15_000) {
        let mut msgs: Vec<Msg> = std::mem::take(&mut exits);
        if t % 30_000 == 0 {
            let err = if t >= 5 * 60_000 { 3.0 } else { 0.2 };
            let lat = if t >= 12 * 60_000 { 1500.0 } else { 800.0 };
            msgs.push(Msg::Sample {
                metric: "err".into(),
                at: t,
                value: Ok(err),
            });
            msgs.push(Msg::Sample {
                metric: "lat".into(),
                at: t,
                value: Ok(lat),
            });
        }
        // The operator vetoes the countdown once it has run a few minutes.
        if !vetoed
            && driver
                .monitor
                .graces
                .first()
                .is_some_and(|g| g.deadline - t < 15 * 60_000)
        {
            msgs.push(Msg::Veto {
                operator: "ann".into(),
            });
            vetoed = true;
        }
        msgs.push(Msg::Tick);
        for m in msgs {
            if let Msg::Sample { metric, at, value } = &m {
                mirror.monitor.sample(metric, *at, value.clone(), t);
            }
            for e in driver.update(m, t) {
                match e {
                    Effect::Journal(entry) => {
                        seq += 1;
                        records += 1;
                        let rec =
                            Record::new(seq, "2026-12-01T00:00:00Z".into(), t, Mode::Drill, entry);
                        mirror.follow(&rec);
                    }
                    Effect::Spawn(sp) => exits.push(Msg::Exited {
                        step: sp.step,
                        attempt: sp.attempt,
                        stage: sp.stage,
                        result: ExecResult::Exit(0),
                    }),
                    _ => {}
                }
            }
            mirror.observe(t);
        }
        let ids: Vec<String> = rb.steps().map(|s| s.id.clone()).collect();
        for id in &ids {
            assert_eq!(
                driver.run_of(id).map(|r| &r.state),
                mirror.run_of(id).map(|r| &r.state),
                "step {id} at t={t}"
            );
        }
        let graces = |e: &Engine| {
            e.monitor
                .graces
                .iter()
                .map(|g| (g.trigger.clone(), g.deadline))
                .collect::<Vec<_>>()
        };
        assert_eq!(graces(&driver), graces(&mirror), "countdowns at t={t}");
        let decisions = |e: &Engine| {
            e.monitor
                .decisions
                .iter()
                .map(|d| (d.trigger.clone(), d.deadline))
                .collect::<Vec<_>>()
        };
        assert_eq!(decisions(&driver), decisions(&mirror), "decisions at t={t}");
        for (a, b) in driver.monitor.triggers.iter().zip(&mirror.monitor.triggers) {
            assert_eq!(a.state, b.state, "trigger {} at t={t}", a.def.id);
            assert_eq!(a.armed, b.armed, "trigger {} at t={t}", a.def.id);
            assert_eq!(a.veto, b.veto, "veto of {} at t={t}", a.def.id);
        }
        assert_eq!(
            driver.rollback.is_some(),
            mirror.rollback.is_some(),
            "rollback at t={t}"
        );
    }
    assert!(vetoed, "the countdown never ran");
    assert!(
        !driver.monitor.decisions.is_empty() || driver.rollback.is_some(),
        "no decision came"
    );
    assert!(records > 10);
}

/// What sharing looks like on screen, at 80×24 and 200×60: the watcher's banner (live, and
/// NOT LIVE with since when), its footer offering no key that acts, and the driver's header
/// counting its watchers (names when wide).
#[test]
fn the_screen_says_who_watches_and_that_a_watcher_only_watches() {
    use cutover::config::keymap::default_keymap;
    use cutover::core::event::Mode;
    use cutover::core::time::Speed;
    use cutover::screen::app::Ui;
    use cutover::screen::share::{Gone, Share};
    use cutover::screen::ui::{View, render};
    use ratatui::{Terminal, backend::TestBackend};
    let rb = cutover::config::runbook::load(&root().join("runbooks/blue-green.yaml"))
        .runbook
        .unwrap();
    let e = cutover::core::engine::demo::run_until(rb, 46 * 60_000, Some("switch-dns"));
    let km = default_keymap();
    let theme = cutover::config::theme::dark();
    let draw = |ui: &Ui, w: u16, h: u16| {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let v = View {
            engine: &e,
            ui,
            now: 46 * 60_000,
            mode: Mode::Drill,
            speed: Speed::Factor(60.0),
            theme: &theme,
            keymap: &km,
            resume_hint: "",
            live_log: false,
            diagnostics: 0,
        };
        term.draw(|f| render(f, &v)).unwrap();
        format!("{}", term.backend())
    };
    let mut ui = Ui::new("ann");
    let watching = |gone| Share::Watching {
        driver: "ann@host".into(),
        driver_user: "ann".into(),
        watchers: vec!["carol".into()],
        gone,
        role: cutover::screen::share::Role::Observer,
        keys: false,
        offer: None,
        keys_with: None,
    };
    for (w, h) in [(80, 24), (200, 60)] {
        ui.share = watching(None);
        let s = draw(&ui, w, h);
        let first = s.lines().next().unwrap();
        assert!(
            first.contains("WATCHING · read-only · driver ann@host"),
            "{s}"
        );
        let last = s.lines().last().unwrap();
        assert!(
            last.contains("read-only") && last.contains("stop watching"),
            "{last}"
        );
        assert!(
            !last.contains("ROLLBACK") && !last.contains("hold"),
            "{last}"
        );
        assert!(
            !s.contains("now: "),
            "no step keys offered to a watcher:\n{s}"
        );
        ui.share = watching(Some(Gone {
            since: "14:02:11".into(),
            ago_s: 130,
        }));
        let s = draw(&ui, w, h);
        assert!(
            s.lines()
                .next()
                .unwrap()
                .contains("NOT LIVE · driver gone since 14:02:11 (2m ago)"),
            "{s}"
        );
        assert!(s.contains("old"), "values are marked as old:\n{s}");

        ui.share = Share::Driving {
            watchers: vec!["bob".into(), "carol".into()],
            keys_with: None,
            offer: None,
        };
        let s = draw(&ui, w, h);
        let head = s.lines().next().unwrap();
        assert!(head.contains("◉ 2 watching"), "{head}");
        assert_eq!(head.contains("bob, carol"), w >= 160, "{head}");
        assert!(!s.contains("WATCHING"), "{s}");
    }
}
