//! The `cutover` binary: parses the command line, loads the runbook, and hands over to the
//! runtime. Exit codes follow SPEC.md: 0 completed, 3 rolled back, 1 aborted or failed,
//! 2 usage error or invalid runbook.

use clap::Parser;
use cutover::config::runbook;
use cutover::core::event::Mode;
use cutover::core::time::Speed;
use cutover::shell::cli::{Cli, Cmd, RunArgs, parse_t0};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Cmd::Validate { files } => validate(&files),
        Cmd::Drill(a) => drive(a, Mode::Drill),
        Cmd::Run(a) => drive(a, Mode::Live),
        Cmd::Watch { .. } | Cmd::Report { .. } => {
            eprintln!(
                "cutover: `watch` and `report` are not in this version yet; read the session's journal.jsonl meanwhile"
            );
            2
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn validate(files: &[std::path::PathBuf]) -> i32 {
    let mut failed = false;
    for f in files {
        let loaded = runbook::load(f);
        for d in &loaded.diagnostics {
            eprintln!("{d}");
        }
        let warnings = loaded.diagnostics.iter().filter(|d| !d.is_error()).count();
        let errors = loaded.diagnostics.len() - warnings;
        if errors > 0 {
            failed = true;
            eprintln!("{}: {errors} error(s), {warnings} warning(s)", f.display());
        } else {
            println!(
                "{}: ok{}",
                f.display(),
                if warnings > 0 {
                    format!(" ({warnings} warning(s))")
                } else {
                    String::new()
                }
            );
        }
    }
    if failed { 2 } else { 0 }
}

fn usage(msg: &str) -> i32 {
    eprintln!("cutover: {msg}");
    2
}

fn drive(a: RunArgs, mode: Mode) -> i32 {
    let drill = mode == Mode::Drill;
    if !drill {
        for (set, flag) in [
            (a.speed.is_some(), "--speed"),
            (a.fail.is_some(), "--fail"),
            (a.scenario.is_some(), "--scenario"),
            (a.list_scenarios, "--list-scenarios"),
        ] {
            if set {
                return usage(&format!(
                    "{flag} is for drills only: `cutover drill {} {flag} …`",
                    a.file.display()
                ));
            }
        }
    }
    let loaded = runbook::load(&a.file);
    for d in &loaded.diagnostics {
        if d.is_error() {
            eprintln!("{d}");
        }
    }
    let Some(rb) = loaded.runbook else {
        eprintln!(
            "{}: invalid runbook; `cutover validate {}` lists every problem",
            a.file.display(),
            a.file.display()
        );
        return 2;
    };
    if a.list_scenarios {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for s in &rb.signals.scenarios {
            if writeln!(out, "{}", s.name).is_err() {
                break;
            }
        }
        return 0;
    }
    if let Some(s) = &a.scenario
        && rb.signals.scenario(s).is_none()
    {
        let names: Vec<&str> = rb
            .signals
            .scenarios
            .iter()
            .map(|x| x.name.as_str())
            .collect();
        if names.is_empty() {
            return usage(&format!(
                "--scenario {s}: this runbook defines no drill scenarios"
            ));
        }
        let near = runbook::reader::nearest(s, &names)
            .map(|n| format!(" Did you mean `{n}`?"))
            .unwrap_or_default();
        return usage(&format!(
            "--scenario {s}: no such scenario.{near} Scenarios: {}",
            names.join(", ")
        ));
    }
    let connections = if drill {
        Default::default()
    } else {
        match cutover::shell::connect::resolve(&rb) {
            Ok(c) => c,
            Err(diags) => {
                for d in diags {
                    eprintln!("{d}");
                }
                eprintln!(
                    "{}: cannot start a live run until these are fixed",
                    a.file.display()
                );
                return 2;
            }
        }
    };
    if let Some(f) = &a.fail
        && rb.step(f).is_none()
    {
        let ids: Vec<&str> = rb.steps().map(|s| s.id.as_str()).collect();
        let near = runbook::reader::nearest(f, &ids)
            .map(|n| format!(" Did you mean `{n}`?"))
            .unwrap_or_default();
        return usage(&format!(
            "--fail {f}: no step has that id.{near} Steps: {}",
            ids.join(", ")
        ));
    }
    let speed = match a
        .speed
        .as_deref()
        .map(Speed::parse)
        .unwrap_or(Ok(Speed::Factor(60.0)))
    {
        Ok(s) => s,
        Err(e) => return usage(&format!("--speed {e}")),
    };
    let t0 = match a
        .t0
        .as_deref()
        .map(|s| parse_t0(s, chrono::Utc::now()))
        .transpose()
    {
        Ok(t) => t,
        Err(e) => return usage(&e),
    };
    let screen = if a.headless {
        None
    } else {
        let themes_dir = a
            .file
            .parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("themes"))
            .filter(|d| d.is_dir())
            .unwrap_or_else(|| std::path::PathBuf::from("themes"));
        let theme = match cutover::config::theme::load(
            a.theme
                .as_deref()
                .unwrap_or(cutover::config::theme::DEFAULT),
            &themes_dir,
        ) {
            Ok(t) => t,
            Err(diags) => {
                for d in diags {
                    eprintln!("{d}");
                }
                return 2;
            }
        };
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let theme = if no_color { theme.no_color() } else { theme };
        let keymap = match a
            .keymap
            .clone()
            .or_else(cutover::config::keymap::default_path)
        {
            None => cutover::config::keymap::default_keymap(),
            Some(path) => match cutover::config::keymap::load_overlay(&path) {
                Ok(k) => k,
                Err(diags) => {
                    for d in diags {
                        eprintln!("{d}");
                    }
                    return 2;
                }
            },
        };
        Some((theme, keymap))
    };
    let new_session = a.session.is_none();
    let session = a.session.clone().unwrap_or_else(|| {
        cutover::shell::session::new_dir(
            &cutover::shell::session::default_root(),
            &a.file,
            mode.as_str(),
        )
    });
    let operator = a
        .operator
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "operator".into());
    let verb = if drill { "drill" } else { "run" };
    // The command that picks this session up again the way it was started.
    let mut hint = format!(
        "cutover {verb} {} --session {}",
        a.file.display(),
        session.display()
    );
    if a.headless {
        hint.push_str(" --headless");
    }
    if let Some(s) = &a.scenario {
        hint.push_str(&format!(" --scenario {s}"));
    }
    if let Some(s) = &a.speed {
        hint.push_str(&format!(" --speed {s}"));
    }
    if a.auto_ack {
        hint.push_str(" --auto-ack");
    }
    if new_session && a.headless {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "session {}", session.display());
    }
    let opts = cutover::shell::runtime::Options {
        runbook: rb,
        mode,
        session,
        speed,
        t0,
        operator,
        auto_ack: a.auto_ack,
        fail_step: a.fail,
        resume_hint: hint,
        scenario: a.scenario,
        connections,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cutover: cannot start the runtime: {e}");
            return 1;
        }
    };
    if let Some(w) = a.panic_test.as_deref() {
        return panic_test(w, &rt);
    }
    let result = match screen {
        None => rt.block_on(cutover::shell::headless::run(opts)),
        Some((theme, keymap)) => rt.block_on(cutover::shell::cockpit::run(opts, theme, keymap)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cutover: {e}");
            e.exit_code()
        }
    }
}

/// `--panic-test main|task`: proves the terminal is restored after a panic of the UI thread,
/// and left alone (and reported) after a panic of a background task.
fn panic_test(where_: &str, rt: &tokio::runtime::Runtime) -> i32 {
    let Ok((_term, _guard)) = cutover::shell::tui::init() else {
        return 1;
    };
    if where_ == "task" {
        let h = rt.spawn(async { panic!("panic test in a background task") });
        let _ = rt.block_on(h);
        let seen = cutover::shell::tui::take_background_panics();
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(_guard);
        println!("background panics recorded: {}", seen.len());
        return 0;
    }
    panic!("panic test in the cockpit");
}
