//! Reading the operator's files into core types: runbooks (YAML with a line and a hint for
//! every problem), the keymap and the themes. Reads files; never runs anything.

pub mod keymap;
pub mod runbook;
pub mod theme;
