//! Render benchmark: time to draw one full cockpit frame at 80×24, 120×40, 200×50 and 250×70, with the
//! log pane holding 1,000 lines. Prints figures; asserts nothing (see BENCHMARKS.md).
//! Run: `cargo bench --bench render`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use cutover::config::keymap::default_keymap;
use cutover::core::event::Mode;
use cutover::core::time::Speed;
use cutover::screen::app::Ui;
use cutover::screen::ui::{View, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let rb = cutover::config::runbook::load(&root.join("runbooks/blue-green.yaml"))
        .runbook
        .unwrap();
    let e = cutover::core::engine::demo::run_until(rb, 46 * 60_000, Some("switch-dns"));
    let mut ui = Ui::new("ann");
    for i in 0..1000 {
        ui.log.push(
            cutover::screen::log::Level::Info,
            &format!("T+00:{:02}:00  ✓ step-{i} done in 1m (expected 5m)", i % 60),
        );
    }
    let theme = cutover::config::theme::dark();
    let km = default_keymap();
    println!(
        "full-frame render time (release: cargo bench --bench render), log pane with 1,000 lines"
    );
    println!(
        "{:>9} {:>8} {:>10} {:>10} {:>10}",
        "size", "frames", "mean", "p50", "p99"
    );
    let with_metrics = forty_series(root);
    for (label, eng) in [
        ("blue-green, its 6 metrics fed", &e),
        ("40 metric series, 10 triggers", &with_metrics),
    ] {
        println!("-- {label}");
        frames(eng, &ui, &theme, &km);
    }
}

/// A runbook with 40 metrics (20 a side) and 10 triggers, each metric holding a full ring
/// of samples, at T+0:46.
fn forty_series(root: &std::path::Path) -> cutover::core::engine::Engine {
    let mut y = String::from(
        "version: 1\ntitle: Forty series\nstrategy: blue-green\nplatforms: { source: { name: Snowflake }, target: { name: Databricks } }\nmetrics:\n",
    );
    for i in 0..40 {
        let side = if i % 2 == 0 { "source" } else { "target" };
        y.push_str(&format!(
            "  - {{ id: m{i}, title: metric number {i}, side: {side}, unit: ms, every: 10s, sim: {{ baseline: 100 }} }}\n"
        ));
    }
    y.push_str("triggers:\n");
    for i in 0..10 {
        y.push_str(&format!(
            "  - {{ id: t{i}, when: m{i} > 150ms, for: 5m, action: alert }}\n"
        ));
    }
    y.push_str("phases:\n  - id: p\n    steps:\n      - { id: a, title: A, at: T+2:00 }\n");
    let rb = cutover::config::runbook::load_bytes(&root.join("forty.yaml"), y.as_bytes())
        .runbook
        .unwrap();
    let mut e = cutover::core::engine::Engine::new(rb, cutover::core::engine::Config::default());
    let end = 46 * 60_000;
    for k in 0..240i64 {
        let at = end - (240 - k) * 10_000;
        for i in 0..40 {
            let v = 100.0 + ((k * 31 + i * 17) % 60) as f64;
            e.update(
                cutover::core::engine::Msg::Sample {
                    metric: format!("m{i}"),
                    at,
                    value: Ok(v),
                },
                at,
            );
        }
    }
    e
}

fn frames(
    e: &cutover::core::engine::Engine,
    ui: &Ui,
    theme: &cutover::config::theme::Theme,
    km: &cutover::config::keymap::Keymap,
) {
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 50), (250, 70)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let mut times = Vec::with_capacity(2000);
        for i in 0..2000 {
            // A different T-time each frame, so every frame has changes to draw.
            let v = View {
                engine: e,
                ui,
                now: 46 * 60_000 + (i % 10) * 1000,
                mode: Mode::Drill,
                speed: Speed::Factor(60.0),
                theme,
                keymap: km,
                resume_hint: "",
                live_log: true,
                diagnostics: 0,
            };
            let t = Instant::now();
            term.draw(|f| render(f, &v)).unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        println!(
            "{:>9} {:>8} {:>10.3?} {:>10.3?} {:>10.3?}",
            format!("{w}x{h}"),
            times.len(),
            mean,
            p(0.5),
            p(0.99)
        );
    }
}
