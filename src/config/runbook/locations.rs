//! Where values were in the file, kept while the tree is built so that checks needing the
//! whole runbook (a trigger naming an unknown metric, an `after:` naming no step) point at the
//! offending value itself, not at the `- id:` line of the mapping that holds it.

use super::units::Units;
use crate::core::runbook::diag::Pos;
use crate::core::runbook::model::Step;
use std::collections::HashMap;

/// Positions remembered while building, for the checks that span several parts.
#[derive(Default)]
pub struct Locations {
    /// (step id, key) → position of that key's value.
    pub keys: HashMap<(String, &'static str), Pos>,
    /// The original text of each step's `at`.
    pub at_text: HashMap<String, String>,
    /// Each metric's unit, for converting thresholds where conditions are read.
    pub units: Units,
    /// (position of the owning mapping, key, name written there) → where that name is.
    /// Keyed by the owner's position rather than its id, so two triggers sharing an id (an
    /// error of its own) still have their references told apart.
    refs: HashMap<(Pos, &'static str, String), Pos>,
}

impl Locations {
    /// Position of `key` in step `id`, or of the step itself.
    pub fn get(&self, step: &Step, key: &'static str) -> Pos {
        self.keys
            .get(&(step.id.clone(), key))
            .copied()
            .unwrap_or(step.pos)
    }

    /// Remembers that the mapping at `owner` names `name` under `key`, written at `at`. The
    /// first mention wins: a name listed twice is reported where it first appears.
    pub fn note(&mut self, owner: Pos, key: &'static str, name: &str, at: Pos) {
        self.refs
            .entry((owner, key, name.to_string()))
            .or_insert(at);
    }

    /// Where the mapping at `owner` names `name` under `key`; the mapping itself when that
    /// was not noted.
    pub fn of(&self, owner: Pos, key: &'static str, name: &str) -> Pos {
        self.refs
            .get(&(owner, key, name.to_string()))
            .copied()
            .unwrap_or(owner)
    }
}
