//! Render benchmark: time to draw one full cockpit frame at 80×24, 120×40 and 250×70, with the
//! log pane holding 1,000 lines. Prints figures; asserts nothing (see BENCHMARKS.md).
//! Run: `cargo bench --bench render`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use cutover::app::Ui;
use cutover::clock::Speed;
use cutover::journal::Mode;
use cutover::keymap::default_keymap;
use cutover::ui::{View, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let rb = cutover::runbook::load(&root.join("runbooks/blue-green.yaml"))
        .runbook
        .unwrap();
    let e = cutover::engine::demo::run_until(rb, 46 * 60_000, Some("switch-dns"));
    let _ = tui_logger::init_logger(log::LevelFilter::Debug);
    tui_logger::set_default_level(log::LevelFilter::Debug);
    for i in 0..1000 {
        log::info!(target: "journal", "T+00:{:02}:00  ✓ step-{i} done in 1m (expected 5m)", i % 60);
    }
    tui_logger::move_events();
    let ui = Ui::new("ann");
    let theme = cutover::theme::dark();
    let km = default_keymap();
    println!(
        "full-frame render time (release: cargo bench --bench render), log pane with 1,000 lines"
    );
    println!(
        "{:>9} {:>8} {:>10} {:>10} {:>10}",
        "size", "frames", "mean", "p50", "p99"
    );
    for (w, h) in [(80u16, 24u16), (120, 40), (250, 70)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let mut times = Vec::with_capacity(2000);
        for i in 0..2000 {
            // A different T-time each frame, so every frame has changes to draw.
            let v = View {
                engine: &e,
                ui: &ui,
                now: 46 * 60_000 + i * 1000,
                mode: Mode::Drill,
                speed: Speed::Factor(60.0),
                theme: &theme,
                keymap: &km,
                resume_hint: "",
                live_log: true,
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
