//! Runbooks: loading YAML into a validated model, with located, hinted diagnostics.
//!
//! `load` is the only entry point: bytes → spanned tree (`yaml`) → typed model (`build`) →
//! cross-step checks (`validate`). All problems of a file come back together.

pub mod build;
pub mod build_signals;
pub mod build_team;
pub mod condition;
pub mod locations;
pub mod reader;
pub mod scripts;
pub mod units;
pub mod validate;
pub mod validate_signals;
pub mod yaml;

use crate::core::runbook::{Diagnostic, Pos, Runbook};

use sha2::{Digest, Sha256};
use std::path::Path;

/// The outcome of loading a runbook.
#[derive(Debug)]
pub struct Loaded {
    /// The runbook, when there are no errors.
    pub runbook: Option<Runbook>,
    /// Errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// What a runbook is loaded for. Some problems only matter when the cutover is real: a
/// missing script is a warning while a runbook is written or rehearsed, an error for `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `validate` and `drill`.
    Plan,
    /// `run`: the live cutover.
    Live,
}

/// Loads and validates the runbook at `path` for `validate` or a drill.
pub fn load(path: &Path) -> Loaded {
    load_for(path, Purpose::Plan)
}

/// Loads and validates the runbook at `path` for `purpose`.
pub fn load_for(path: &Path, purpose: Purpose) -> Loaded {
    match std::fs::read(path) {
        Ok(bytes) => load_bytes_for(path, &bytes, purpose),
        Err(e) => Loaded {
            runbook: None,
            diagnostics: vec![Diagnostic::error(
                path,
                Pos::default(),
                format!("cannot read the file: {e}"),
                "check the path; runbooks usually live in runbooks/",
            )],
        },
    }
}

/// Loads and validates runbook `bytes` said to come from `path`, for `validate` or a drill.
pub fn load_bytes(path: &Path, bytes: &[u8]) -> Loaded {
    load_bytes_for(path, bytes, Purpose::Plan)
}

/// Loads and validates runbook `bytes` said to come from `path`, for `purpose`.
pub fn load_bytes_for(path: &Path, bytes: &[u8], purpose: Purpose) -> Loaded {
    let tree = match yaml::parse(path, bytes) {
        Ok(t) => t,
        Err(d) => {
            return Loaded {
                runbook: None,
                diagnostics: vec![d],
            };
        }
    };
    let mut sink = reader::Findings::new(path);
    let mut spots = locations::Locations::default();
    let built = build::build(&mut sink, &tree, &mut spots);
    if let Some(rb) = &built {
        validate::check(&mut sink, rb, &spots, purpose);
    }
    let mut diagnostics = sink.diags;
    diagnostics.sort_by_key(|d| (d.pos.line, d.pos.col));
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    let runbook = built.filter(|_| !has_errors).map(|mut rb| {
        rb.fingerprint = format!("{:x}", Sha256::digest(bytes));
        rb
    });
    Loaded {
        runbook,
        diagnostics,
    }
}
