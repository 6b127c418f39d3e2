//! Rollback latency: from the operator's confirmation (the engine receiving `Rollback`) to the
//! first rollback command running — measured to the moment its first output line reaches the
//! cockpit, which includes spawning the process group, exec and the pipe. A real session
//! (journal fsync included) on a temp dir, 200 runs. Prints figures; asserts nothing.
//! Run: `cargo bench --bench rollback`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use cutover::core::engine::Msg;
use cutover::core::event::Mode;
use cutover::core::time::Speed;
use cutover::shell::exec::ExecEvent;
use cutover::shell::runtime::{self, Driver, Options};
use std::time::{Duration, Instant};

const RB: &str = r#"version: 1
title: Rollback latency
strategy: blue-green
platforms: { source: { name: Snowflake }, target: { name: Databricks } }
phases:
  - id: p
    steps:
      - { id: wait, title: Wait, at: T+1h }
rollback:
  steps:
    - { id: back, title: Back, run: ["echo", "dns back"] }
"#;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("rb.yaml");
    std::fs::write(&path, RB).unwrap();
    let rb = cutover::config::runbook::load(&path).runbook.unwrap();
    let mut to_spawn = Vec::new();
    let mut to_output = Vec::new();
    for i in 0..200 {
        let opts = Options {
            detached: false,
            runbook: rb.clone(),
            mode: Mode::Drill,
            session: tmp.path().join(format!("s{i}")),
            speed: Speed::Factor(60.0),
            t0: None,
            operator: "bench".into(),
            auto_ack: false,
            fail_step: None,
            resume_hint: String::new(),
            scenario: None,
            connections: Default::default(),
            rehearsals: Default::default(),
        };
        rt.block_on(async {
            let s = runtime::open(&opts).unwrap();
            let mut d = Driver::new(&opts, s);
            d.start();
            let t = Instant::now();
            let p = d.apply(Msg::Rollback {
                operator: "bench".into(),
                reason: "benchmark".into(),
            });
            to_spawn.push(t.elapsed());
            assert!(p.failed.is_none());
            loop {
                match tokio::time::timeout(Duration::from_secs(5), d.sources().0.recv()).await {
                    Ok(Some(ExecEvent::Line { .. })) => {
                        to_output.push(t.elapsed());
                        break;
                    }
                    Ok(Some(_)) => {}
                    _ => panic!("no output from the rollback command"),
                }
            }
            d.kill_all().await;
            d.release();
        });
    }
    println!(
        "confirmation → first rollback command, 200 runs (release: cargo bench --bench rollback)"
    );
    for (what, mut v) in [
        ("journaled and spawned", to_spawn),
        ("its first output line read", to_output),
    ] {
        v.sort();
        let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
        println!(
            "{what:>28}: p50 {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}",
            p(0.5),
            p(0.99),
            v[v.len() - 1]
        );
    }
}
