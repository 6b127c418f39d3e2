//! The validated runbook: steps, phases, rollback procedures (`model`), metrics, triggers,
//! canary and scenarios (`signals`), and the located problems found while reading one
//! (`diag`). Built by `config::runbook`.

pub mod diag;
pub mod model;
pub mod signals;
pub mod team;

pub use diag::{Diagnostic, Pos, Severity};
pub use model::*;
