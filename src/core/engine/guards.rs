//! What an operator's action would quietly switch off (the consequences a skip must name
//! before it is confirmed), and the canary weight in force. Pure: read from the runbook and
//! the run's state.

use super::Engine;
use crate::core::runbook::{OnFailure, signals::TriggerAction};

impl Engine {
    /// What skipping forward step `id` disables, one sentence each; empty when nothing
    /// depends on it. A trigger armed after the step never arms, a procedure that applies
    /// after it is never chosen, a stage's gates are never checked, a point of no return is
    /// not confirmed, and a failure that would roll back is never seen.
    pub fn skip_disables(&self, id: &str) -> Vec<String> {
        let rb = self.runbook();
        let Some(step) = rb.step(id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for t in &rb.signals.triggers {
            let acts = match t.action {
                TriggerAction::Rollback => "roll back",
                TriggerAction::Decide => "ask for a decision",
                TriggerAction::Alert => "alert",
            };
            if t.after.as_deref() == Some(id) {
                out.push(format!(
                    "trigger `{}` never arms (it watches from `{id}` on, to {acts})",
                    t.id
                ));
            }
            if t.until.as_deref() == Some(id) {
                out.push(format!(
                    "trigger `{}` stays armed past this step (it disarms when `{id}` is done)",
                    t.id
                ));
            }
        }
        for p in &rb.rollbacks {
            if p.after.as_deref() == Some(id) {
                out.push(format!(
                    "rollback procedure `{}` is never chosen (it applies once `{id}` is done): an earlier one would run",
                    p.id
                ));
            }
        }
        let undone_by: Vec<&str> = rb
            .rollbacks
            .iter()
            .flat_map(|p| p.steps.iter())
            .filter(|s| s.undoes.iter().any(|u| u == id))
            .map(|s| s.id.as_str())
            .collect();
        if !undone_by.is_empty() {
            out.push(format!(
                "a rollback skips undoing it ({}): if it was done by hand, undo it by hand",
                undone_by.join(", ")
            ));
        }
        if let Some(st) = &step.stage
            && !st.gates.is_empty()
        {
            out.push(format!(
                "its {} canary gate{} are not checked: the next stage starts without them",
                st.gates.len(),
                if st.gates.len() == 1 { "" } else { "s" }
            ));
        }
        if step.point_of_no_return {
            out.push(
                "it is the POINT OF NO RETURN: skipped, the cockpit still offers a rollback, which may no longer work if it was done by hand"
                    .into(),
            );
        }
        if step.on_failure == OnFailure::Rollback {
            out.push("its failure would start the rollback: skipped, nothing checks it".into());
        }
        out
    }
}

impl Engine {
    /// The canary weight in force: the last stage that set one, and the weight. `None`
    /// before the first stage, and once a rollback runs (its steps move traffic back by
    /// their own commands, which the cockpit cannot read).
    pub fn canary_weight(&self) -> Option<(&str, u32)> {
        if self.rollback.is_some() {
            return None;
        }
        self.runbook()
            .steps()
            .filter(|s| self.reached(&s.id))
            .filter_map(|s| Some((s.id.as_str(), s.stage.as_ref()?.weight?)))
            .last()
    }
}
