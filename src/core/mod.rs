//! The pure core: the runbook model, T-time, the engine, the monitor and the journal's
//! events. Nothing here reads a clock, a file or the network, or knows about a terminal.

pub mod engine;
pub mod event;
pub mod evidence;
pub mod monitor;
pub mod number;
pub mod rehearsal;
pub mod runbook;
pub mod time;
