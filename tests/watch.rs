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
    runbook(
        dir,
        &format!(
            "{HEAD}connections:\n  prometheus: {{kind: prometheus, url: 'http://localhost:9'}}\nmetrics:\n  - {{id: m1, title: M1, side: source, unit: '%', every: 1s, from: prometheus, query: up, sim: {{baseline: 1, noise: 0.5}}}}\n  - {{id: m2, title: M2, side: target, unit: '%', every: 1s, from: prometheus, query: up, sim: {{baseline: 1, noise: 0.5}}}}\nphases:\n  - id: window\n    title: Window\n    steps:\n      - {{id: a, title: A, at: T+0:00, run: 'true', expect: 1m, owner: eng}}\n      - {{id: b, title: B, at: T+0:30, run: 'echo half way', expect: 1m, owner: eng}}\n      - {{id: c, title: C, at: T+1:00, run: 'true', expect: 1m, owner: eng}}\n"
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

fn connect(session: &Path) -> UnixStream {
    let sock = session.join("watch.sock");
    let mut s = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            s = UnixStream::connect(&sock).ok();
            s.is_some()
        }),
        "the driver never served {}",
        sock.display()
    );
    s.unwrap()
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
    sock.write_all(b"{\"type\":\"hello\",\"protocol\":1}\n")
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
    let rb = load_runbook(tmp.path());

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
    // A client that says nothing and leaves is no error.
    drop(connect(&s));
    assert!(d.wait().unwrap().success(), "the run completes");
    let j = journal(&s);
    assert_journal_contract(&j, "drill");
    let joined = j.iter().filter(|e| e["kind"] == "watcher_joined").count();
    let left = j.iter().filter(|e| e["kind"] == "watcher_left").count();
    assert_eq!((joined, left), (4, 4), "{:?}", kinds(&j));
    // Nothing a client sent reached the run.
    assert!(!kinds(&j).iter().any(|k| k.contains("confirm")));
}
