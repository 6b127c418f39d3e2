//! The `cutover` binary: parses the command line, dispatches each subcommand, and starts the
//! runtime for `drill` and `run`. What the arguments mean lives in `cutover::shell::cli`.
//! Exit codes follow SPEC.md: 0 completed, 3 rolled back, 1 aborted or failed, 2 usage error
//! or invalid runbook.

use clap::Parser;
use cutover::core::event::Mode;
use cutover::shell::cli::{self, Cli, Cmd, Front, Launch, RunArgs};
use cutover::shell::{cockpit, headless, tui};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Cmd::Validate { files } => cli::validate(&files),
        Cmd::Drill(a) => drive(a, Mode::Drill),
        Cmd::Run(a) => drive(a, Mode::Live),
        Cmd::Preflight { file } => cli::preflight(&file),
        Cmd::Verify { session } => cli::verify(&session),
        Cmd::Report {
            session,
            compare,
            html,
        } => cli::report(&session, &compare, html.as_deref()),
        Cmd::Watch {
            session,
            theme,
            keymap,
            runbook,
        } => watch(&session, theme.as_deref(), keymap, runbook),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `cutover watch`: read-only, on one thread (it only reads a socket and draws).
fn watch(
    session: &std::path::Path,
    theme: Option<&str>,
    keymap: Option<std::path::PathBuf>,
    runbook: Option<std::path::PathBuf>,
) -> i32 {
    let opts = match cli::watch_options(session, theme, keymap, runbook) {
        Ok(o) => o,
        Err(exit) => return exit.report(),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cutover: cannot start the runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(cutover::shell::watch::run(opts)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cutover: {e}");
            1
        }
    }
}

fn drive(args: RunArgs, mode: Mode) -> i32 {
    match args.into_launch(mode) {
        Ok(launch) => start(launch),
        Err(exit) => exit.report(),
    }
}

/// Starts the runtime and hands the launch to its front end; returns the run's exit code.
fn start(launch: Launch) -> i32 {
    let Launch {
        options,
        front,
        panic_test: panic_where,
        announce_session,
    } = launch;
    if announce_session {
        // A closed stdout must not stop the run; the journal still records everything.
        let _ = writeln!(std::io::stdout(), "session {}", options.session.display());
    }
    // A drill has no network work (its metrics are simulated): one thread does it all, and
    // an idle cockpit wakes one thread once a second instead of handing each tick between
    // threads. A live run polls platforms beside the screen, on two workers.
    let mut builder = if options.mode == cutover::core::event::Mode::Drill {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cutover: cannot start the runtime: {e}");
            return 1;
        }
    };
    if let Some(w) = panic_where.as_deref() {
        return panic_test(w, &rt);
    }
    let result = match front {
        Front::Headless => rt.block_on(headless::run(options)),
        Front::Cockpit { theme, keymap } => rt.block_on(cockpit::run(options, *theme, keymap)),
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
    let Ok((_term, _guard)) = tui::init() else {
        return 1;
    };
    if where_ == "task" {
        let h = rt.spawn(async { panic!("panic test in a background task") });
        let _ = rt.block_on(h);
        let seen = tui::take_background_panics();
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(_guard);
        println!("background panics recorded: {}", seen.len());
        return 0;
    }
    panic!("panic test in the cockpit");
}
