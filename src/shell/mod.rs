//! Everything that does IO: the command line, the runtime loop and its front ends (headless
//! printer, cockpit), the preflight, the session lock, the journal file, the metric evidence
//! file, earlier drills' durations (`rehearsals`), command execution, metric polling, the clock, the terminal and secrets; and sharing a
//! session: the driver's watch socket (`serve`), its protocol (`wire`) and the watcher
//! (`watch`).

pub mod cli;
pub mod clock;
pub mod cockpit;
pub mod connect;
pub mod diagnostics;
pub mod evidence;
pub mod exec;
pub mod headless;
pub mod journal;
pub mod poller;
pub mod preflight;
pub mod rehearsals;
pub mod run_loop;
pub mod runtime;
pub mod seats;
pub mod secret;
pub mod serve;
pub mod session;
pub mod timer;
pub mod tui;
pub mod watch;
pub mod wire;
