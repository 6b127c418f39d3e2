//! Headless mode: the driver's loop without a screen. Prints one line per journaled event and
//! command output beneath, takes no keys, and stops (resumable, exit 1) when the run needs an
//! operator it cannot have.

use crate::core::event::Event;
use crate::core::runbook::Runbook;
use crate::core::time::t_clock;
use crate::screen::print;
use crate::shell::runtime::{self, Driver, Options, RunError};
use std::io::Write;
use std::time::Duration;

/// Prints a line. A closed stdout (a pipe into `head`, a dropped ssh session) must not stop a
/// cutover: the journal is the record, so write errors are ignored.
pub fn say(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

fn show(rb: &Runbook, events: &[Event]) {
    for ev in events {
        if let Some(l) = print::event_line(rb, ev) {
            say(&l);
        }
    }
}

/// Runs a session without a screen; returns the exit code.
pub async fn run(opts: Options) -> Result<i32, RunError> {
    let s = runtime::open(&opts)?;
    let rb = opts.runbook.clone();
    let mut d = Driver::new(&opts, s);
    if let Some((msg, code)) = d.already_ended(&opts.session) {
        say(&msg);
        return Ok(code);
    }
    let mut signals = runtime::StopSignals::new()?;
    let mut poller = d.take_poller();

    let mut p = d.start();
    loop {
        show(&rb, &p.events);
        if let Some(err) = p.failed {
            d.kill_all().await;
            eprintln!("cutover: cannot write the journal: {err}");
            eprintln!(
                "cutover: stopped before anything else happened; the last event shown is the last one recorded. Free the disk and resume with: {}",
                opts.resume_hint
            );
            return Ok(1);
        }
        if let Some(o) = p.finished {
            d.kill_all().await;
            if o == crate::core::engine::Outcome::Completed {
                let pr = d.s.engine.projection(d.s.clock.now());
                say(&format!(
                    "{:>13}planned finish {}, actual {}",
                    "",
                    t_clock(pr.planned_end),
                    t_clock(d.s.clock.now())
                ));
            }
            say(&format!(
                "{:>13}journal: {}",
                "",
                d.s.journal.path().display()
            ));
            d.release();
            return Ok(o.exit_code());
        }
        if !d.s.engine.busy()
            && let Some(why) = d.s.engine.needs_operator()
        {
            let evs = d
                .stop(
                    "system",
                    &format!("{why} (headless: no operator at the keys)"),
                )
                .await;
            show(&rb, &evs);
            say(&format!(
                "{:>13}the session is paused and resumable: {}",
                "", opts.resume_hint
            ));
            d.release();
            return Ok(1);
        }
        let wait = d.wait_plan();
        let live = poller.is_some();
        if wait.is_none() && !d.s.engine.busy() && !live {
            // Not busy, not waiting for anyone, nothing due: never spin or hang silently.
            eprintln!(
                "cutover: the engine has nothing to do and is not finished; stopping (resumable)"
            );
            d.release();
            return Ok(1);
        }
        let mut msgs = Vec::new();
        tokio::select! {
            ev = d.next_exec() => {
                let mut next = ev;
                while let Some(ev) = next {
                    let (m, line) = d.exec_msg(ev);
                    if let Some(l) = line {
                        say(&print::output_line(&l.line, l.stderr));
                    }
                    msgs.push(m);
                    next = d.try_exec();
                }
            }
            m = runtime::next_samples(&mut poller, 4096) => msgs.extend(m),
            _ = runtime::pause(wait.unwrap_or(Duration::from_secs(if live { 1 } else { 3600 }))) => {}
            sig = signals.recv() => return stopped(&mut d, &rb, sig, &opts).await,
        }
        p = d.apply_all(msgs);
    }
}

async fn stopped(
    d: &mut Driver,
    rb: &Runbook,
    signal: &str,
    opts: &Options,
) -> Result<i32, RunError> {
    let evs = d
        .stop(&opts.operator, &format!("stopped by {signal}"))
        .await;
    show(rb, &evs);
    say(&format!(
        "{:>13}the session is resumable: {}",
        "", opts.resume_hint
    ));
    d.release();
    Ok(1)
}
