//! Where values were in the file, kept while the tree is built so that checks needing the
//! whole runbook (a trigger naming an unknown metric, an `after:` naming no step) point at the
//! offending value itself, not at the `- id:` line of the mapping that holds it.

use super::reader::Fields;
use super::units::Units;
use super::yaml::{Node, pos_of};
use crate::core::runbook::diag::Pos;
use crate::core::runbook::model::Step;
use crate::core::runbook::signals::Baseline;
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

    /// Notes where the `baseline` of the mapping `f` (owned by `owner`) names its metric
    /// (under `baseline`) and its step (`at_step`): at the value itself, or at the `baseline`
    /// mapping when `of` is left to default.
    pub fn note_baseline(&mut self, owner: Pos, f: &Fields, b: Option<&Baseline>) {
        let Some(n) = f.get("baseline") else { return };
        let inner = |key: &str| {
            match &n.value {
                Node::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| k.value == key)
                    .map(|(_, v)| pos_of(v)),
                _ => None,
            }
            .unwrap_or(pos_of(n))
        };
        match b {
            Some(Baseline::Metric(m)) => self.note(owner, "baseline", m, pos_of(n)),
            Some(Baseline::AtStep { step, of }) => {
                self.note(owner, "baseline", of, inner("of"));
                self.note(owner, "at_step", step, inner("at_step"));
            }
            Some(Baseline::Mean { of, .. }) => self.note(owner, "baseline", of, inner("of")),
            Some(Baseline::Fixed(_)) | None => {}
        }
    }
}
