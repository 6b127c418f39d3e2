//! Diagnostics: one problem in a runbook (or other YAML input), with where it is and how to fix it.
//!
//! Every loader and validator problem becomes a `Diagnostic`, printed as
//! `FILE:LINE:COLUMN: error: what is wrong` followed by `  hint: how to fix it`.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a source file, 1-based; line 0 means "the file as a whole".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pos {
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub col: u32,
}

impl Pos {
    /// A position at a given line and column.
    pub fn new(line: u32, col: u32) -> Self {
        Self { line, col }
    }
}

/// Whether a problem stops the runbook from being used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The runbook is invalid.
    Error,
    /// Worth fixing, but the runbook can run.
    Warning,
}

/// One problem, located and with a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Where in the file.
    pub pos: Pos,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl Diagnostic {
    /// An error at `pos` in `file`.
    pub fn error(
        file: &Path,
        pos: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_path_buf(),
            pos,
            severity: Severity::Error,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// A warning at `pos` in `file`.
    pub fn warning(
        file: &Path,
        pos: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(file, pos, message, hint)
        }
    }

    /// True for errors (not warnings).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let file = self.file.display();
        if self.pos.line == 0 {
            write!(f, "{file}: {sev}: {}", self.message)?;
        } else {
            write!(
                f,
                "{file}:{}:{}: {sev}: {}",
                self.pos.line, self.pos.col, self.message
            )?;
        }
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}
