//! Headless mode: the runtime loop with the printer subscribed. Prints one line per journaled
//! record and command output beneath, takes no keys, and stops (resumable, exit 1) when the
//! run needs an operator it cannot have.

use crate::core::engine::{Engine, Outcome};
use crate::core::event::Record;
use crate::core::runbook::Runbook;
use crate::core::time::t_clock;
use crate::screen::app::Request;
use crate::screen::print;
use crate::shell::run_loop::{self, End, FrontEnd, Stop};
use crate::shell::runtime::{self, Driver, Options, OutputLine, RunError};
use std::io::Write;
use std::time::{Duration, Instant};

/// Prints a line. A closed stdout (a pipe into `head`, a dropped ssh session) must not stop a
/// cutover: the journal is the record, so write errors are ignored.
pub fn say(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// The printer: a front end with no operator; detached, it waits for one to take the keys.
struct Printer {
    detached: bool,
}

impl FrontEnd for Printer {
    type Input = ();

    fn record(&mut self, rb: &Runbook, rec: &Record) {
        if let Some(l) = print::event_line(rb, rec) {
            say(&l);
        }
    }

    fn output(&mut self, line: &OutputLine) {
        say(&print::output_line(&line.line, line.stderr));
    }

    fn has_operator(&self) -> bool {
        false
    }

    fn waits_for_driver(&self) -> bool {
        self.detached
    }

    fn changed(&mut self) {}

    fn draw(&mut self, _: &Driver, _: Instant) -> Result<(), String> {
        Ok(())
    }

    fn wake_in(&self) -> Option<Duration> {
        None
    }

    async fn input(&mut self) {
        std::future::pending::<()>().await
    }

    fn requests(&mut self, _: (), _: &Engine, _: i64) -> Vec<Request> {
        Vec::new()
    }

    fn stays_after_end(&self) -> bool {
        false
    }
}

/// Runs a session without a screen; returns the exit code.
pub async fn run(opts: Options) -> Result<i32, RunError> {
    let s = runtime::open(&opts)?;
    let mut d = Driver::new(&opts, s);
    if let Some((msg, code)) = d.already_ended(&opts.session) {
        say(&msg);
        return Ok(code);
    }
    let name = crate::shell::rehearsals::name_of(&opts.runbook.path);
    for l in print::rehearsals_lines(
        &d.session.engine,
        &name,
        &opts.rehearsals.skipped,
        d.session.clock.now(),
    ) {
        say(&l);
    }
    crate::shell::diagnostics::install(crate::shell::diagnostics::Destination::Stderr);
    let end = run_loop::run(
        &mut d,
        &mut Printer {
            detached: opts.detached,
        },
        &opts.operator,
    )
    .await?;
    match &end {
        End::Finished(o) => {
            if *o == Outcome::Completed {
                let pr = d.session.engine.projection(d.session.clock.now());
                say(&format!(
                    "{:>13}planned finish {}, actual {}",
                    "",
                    t_clock(pr.planned_end),
                    t_clock(d.session.clock.now())
                ));
            }
            say(&format!(
                "{:>13}journal: {}",
                "",
                d.session.journal.path().display()
            ));
        }
        End::JournalFailed(err) => {
            eprintln!("cutover: cannot write the journal: {err}");
            eprintln!(
                "cutover: stopped before anything else happened; the last event shown is the last one recorded. Free the disk and resume with: {}",
                opts.resume_hint
            );
        }
        End::Stopped(Stop::Idle) => eprintln!(
            "cutover: the engine has nothing to do and is not finished; stopping (resumable)"
        ),
        End::Stopped(Stop::NoOperator) => say(&format!(
            "{:>13}the session is paused and resumable: {}",
            "", opts.resume_hint
        )),
        End::Stopped(_) | End::FrontEndFailed(_) => say(&format!(
            "{:>13}the session is resumable: {}",
            "", opts.resume_hint
        )),
    }
    Ok(end.exit_code())
}
