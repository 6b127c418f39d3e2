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
            drive,
        } => watch(&session, theme.as_deref(), keymap, runbook, drive),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `cutover watch`: on one thread (it only reads a socket, draws and sends a person's requests).
fn watch(
    session: &std::path::Path,
    theme: Option<&str>,
    keymap: Option<std::path::PathBuf>,
    runbook: Option<std::path::PathBuf>,
    drive: bool,
) -> i32 {
    let mut opts = match cli::watch_options(session, theme, keymap, runbook) {
        Ok(o) => o,
        Err(exit) => return exit.report(),
    };
    opts.drive = drive;
    // A watcher yields the CPU to the driver on a shared host (nice +10, before any thread
    // starts, so all of its threads do): thirty of them drawing must not slow the run. One
    // started to drive keeps its priority.
    if !drive && let Err(e) = cutover::shell::serve::lower_own_priority(10) {
        log::debug!(target: "cutover", "watch: could not lower its priority: {e}");
    }
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
    let detach = args.detach;
    match args.into_launch(mode) {
        Ok(launch) if detach => detach_run(&launch.options.session),
        Ok(launch) => start(launch),
        Err(exit) => exit.report(),
    }
}

/// `--detach`: starts this same command again in the background (its own session, no
/// terminal, headless, its output in DIR/driver.log), waits until it serves the session, and
/// says how to drive it. The arguments were checked by the caller, so the background run
/// fails only for what it meets later, and that is in its log and journal.
fn detach_run(session: &std::path::Path) -> i32 {
    use std::os::unix::process::CommandExt;
    if let Err(e) = std::fs::create_dir_all(session) {
        eprintln!(
            "cutover: cannot make the session folder {}: {e}",
            session.display()
        );
        return 2;
    }
    let log_path = session.join("driver.log");
    let log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cutover: cannot open {}: {e}", log_path.display());
            return 2;
        }
    };
    let (Ok(exe), Ok(err)) = (std::env::current_exe(), log.try_clone()) else {
        eprintln!("cutover: cannot find this program to start it in the background");
        return 1;
    };
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os()
        .skip(1)
        .filter(|a| a != "--detach")
        .collect();
    argv.extend(["--headless".into(), "--detached".into()]);
    if !argv.iter().any(|a| a == "--session") {
        argv.extend(["--session".into(), session.as_os_str().to_owned()]);
    }
    let mut cmd = std::process::Command::new(exe);
    cmd.args(&argv)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(err);
    // Its own session: the terminal closing (SIGHUP to the foreground group) leaves it be.
    // SAFETY: setsid is async-signal-safe and touches nothing of the parent's memory.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cutover: cannot start the background run: {e}");
            return 1;
        }
    };
    let sock = session.join(cutover::shell::serve::SOCKET);
    // A socket a dead driver left behind is replaced by the new one: wait for the new one
    // (probing with a connection would journal a watcher).
    let stale = std::fs::metadata(&sock).and_then(|m| m.modified()).ok();
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(15) {
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!(
                "cutover: the background run ended at once ({status}); see {}",
                log_path.display()
            );
            return 1;
        }
        let fresh = std::fs::metadata(&sock)
            .and_then(|m| m.modified())
            .is_ok_and(|m| Some(m) != stale);
        if fresh {
            println!(
                "cutover: detached: pid {} runs session {}",
                child.id(),
                session.display()
            );
            println!("  drive it:  cutover watch {} --drive", session.display());
            println!("  watch it:  cutover watch {}", session.display());
            println!("  its output: {}", log_path.display());
            return 0;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    eprintln!(
        "cutover: the background run (pid {}) does not serve {} yet; see {}",
        child.id(),
        sock.display(),
        log_path.display()
    );
    1
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
