//! cutover: a terminal cockpit for live platform cutovers.
//!
//! Data flow: a `runbook` is loaded and validated; the pure `engine` turns messages (clock
//! ticks, command results, operator actions) into effects; the runtime (`headless`, later the
//! TUI) performs those effects — journal appends (fsynced first), command spawns, kills —
//! against an injected `clock`. The `journal` is the session's source of truth for resume.

pub mod app;
pub mod cli;
pub mod clock;
pub mod cockpit;
pub mod connect;
pub mod engine;
pub mod exec;
pub mod headless;
pub mod journal;
pub mod keymap;
pub mod monitor;
pub mod poller;
pub mod print;
pub mod readers;
pub mod runbook;
pub mod runtime;
pub mod secret;
pub mod session;
pub mod theme;
pub mod tui;
pub mod ui;
