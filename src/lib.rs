//! cutover: a terminal cockpit for live platform cutovers.
//!
//! The folders are the layers, and `tests/architecture.rs` holds who may import whom:
//! - `core`: pure. The runbook model, T-time, the engine (steps, rollback, canary), the
//!   monitor (metric store, triggers, drill simulation) and the journal's typed events. No IO,
//!   no clock: time arrives as an argument, effects leave as values.
//! - `config`: reading files into `core` types: runbook YAML with located diagnostics, the
//!   keymap and the themes.
//! - `screen`: the cockpit's state and key handling (`app`), rendering (`ui`) and the text of
//!   each event (`print`), all functions of state.
//! - `readers`: the metric readers, one real protocol client per platform.
//! - `shell`: everything that does IO: the command line, the runtime loop, the session and its
//!   lock, the journal file, command execution, polling, the clock, the terminal, secrets.
//!
//! Data flow: the shell's loop feeds the engine messages (ticks, samples, command results,
//! operator requests) and performs the effects it returns — journal appends (fsynced first),
//! spawns and kills — then hands each journaled event to the front ends.

pub mod config;
pub mod core;
pub mod readers;
pub mod screen;
pub mod shell;
