//! Checks that span several steps: duplicate ids, offsets running backwards inside a phase,
//! `on_failure: rollback` without a procedure, references to unknown steps, the scripts
//! steps run (`scripts`), and the advisory warnings (no owner, no `expect`, a point of no
//! return with no documented recovery).

use super::Purpose;
use super::locations::Locations;
use super::reader::{Findings, nearest};
use crate::core::runbook::model::*;
use crate::core::time::t_offset;
use std::collections::HashMap;

/// Runs every cross-step check, recording into `sink`; `purpose` decides how a problem only
/// a real run would hit is judged.
pub fn check(sink: &mut Findings, rb: &Runbook, spots: &Locations, purpose: Purpose) {
    duplicate_ids(sink, rb);
    backwards_offsets(sink, rb, spots);
    rollback_refs(sink, rb, spots);
    super::validate_signals::check(sink, rb, spots);
    super::scripts::check(sink, rb, spots, purpose);
    if rb.recovery.is_none()
        && let Some(pnr) = rb.steps().find(|s| s.point_of_no_return)
    {
        sink.warn(
            pnr.pos,
            format!(
                "step `{}` is a point of no return but the runbook has no `recovery:`",
                pnr.id
            ),
            "add a top-level `recovery: |` saying what to do once rollback is no longer possible (the cockpit shows it when R is refused)",
        );
    }
    let mut past_pnr: Option<&str> = None;
    for step in rb.steps() {
        if let Some(p) = past_pnr
            && step.on_failure == OnFailure::Rollback
        {
            sink.warn(
                spots.get(step, "on_failure"),
                format!(
                    "step `{}` has `on_failure: rollback` but comes after the point of no return `{p}`",
                    step.id
                ),
                "a failure there cannot roll back (it stops and asks); use `on_failure: pause`",
            );
        }
        if step.point_of_no_return {
            past_pnr = Some(&step.id);
        }
        // A key that is there but unreadable was reported where it is; "has no …" would be
        // a second, false report about the same line.
        if step.owner.is_none() && !spots.keys.contains_key(&(step.id.clone(), "owner")) {
            sink.warn(
                step.pos,
                format!("step `{}` has no owner", step.id),
                "add `owner:` so everyone knows who does it",
            );
        }
        if step.expect.is_none() && !spots.keys.contains_key(&(step.id.clone(), "expect")) {
            sink.warn(
                step.pos,
                format!("step `{}` has no `expect`", step.id),
                "add `expect: 5m` so lateness and the projected finish are meaningful",
            );
        }
    }
}

fn duplicate_ids(sink: &mut Findings, rb: &Runbook) {
    let mut phases: HashMap<&str, u32> = HashMap::new();
    for p in &rb.phases {
        if let Some(first) = phases.insert(&p.id, p.pos.line) {
            phases.insert(&p.id, first);
            sink.error(
                p.pos,
                format!("duplicate phase id `{}` (also at line {first})", p.id),
                "give each phase its own id",
            );
        }
    }
    let mut steps: HashMap<&str, u32> = HashMap::new();
    for s in rb.steps().chain(rb.rollback_steps()) {
        if let Some(first) = steps.get(s.id.as_str()) {
            sink.error(
                s.pos,
                format!(
                    "duplicate step id `{}`: first defined at line {first}, again at line {}",
                    s.id, s.pos.line
                ),
                "step ids must be unique across the runbook, rollback included; rename one",
            );
        } else {
            steps.insert(&s.id, s.pos.line);
        }
    }
}

fn backwards_offsets(sink: &mut Findings, rb: &Runbook, spots: &Locations) {
    for phase in &rb.phases {
        let mut prev: Option<&Step> = None;
        for step in &phase.steps {
            let Some(at) = step.at else { continue };
            if let Some(p) = prev
                && let Some(pat) = p.at
                && at < pat
            {
                let text = spots
                    .at_text
                    .get(&step.id)
                    .cloned()
                    .unwrap_or_else(|| t_offset(at));
                let ptext = spots
                    .at_text
                    .get(&p.id)
                    .cloned()
                    .unwrap_or_else(|| t_offset(pat));
                let hint = if text.starts_with("T-") && at <= 0 && pat <= 0 {
                    let plus = text.replacen("T-", "T+", 1);
                    format!(
                        "in a runbook `{text}` means before T-0, so this runs backwards; for time into the cutover window write `{plus}`"
                    )
                } else {
                    "steps in a phase run in order: reorder them or correct the offset".into()
                };
                sink.error(
                    spots.get(step, "at"),
                    format!("`at: {text}` of step `{}` is earlier than `{ptext}` of step `{}` before it: offsets run backwards in phase `{}`", step.id, p.id, phase.id),
                    hint,
                );
            }
            prev = Some(step);
        }
    }
}

fn rollback_refs(sink: &mut Findings, rb: &Runbook, spots: &Locations) {
    if rb.rollbacks.is_empty() {
        for s in rb.steps().filter(|s| s.on_failure == OnFailure::Rollback) {
            sink.error(spots.get(s, "on_failure"), format!("step `{}` has `on_failure: rollback` but the runbook has no rollback procedure", s.id), "add a top-level `rollback:` with the steps that restore the source, or use `on_failure: pause`");
        }
    }
    let forward: Vec<&str> = rb.steps().map(|s| s.id.as_str()).collect();
    let mut ids: Vec<&str> = Vec::new();
    let mut last_after: Option<usize> = None;
    for p in &rb.rollbacks {
        if ids.contains(&p.id.as_str()) {
            sink.error(
                p.pos,
                format!("duplicate rollback procedure id `{}`", p.id),
                "give each procedure its own id",
            );
        }
        ids.push(&p.id);
        let Some(a) = &p.after else {
            if last_after.is_some() {
                sink.error(p.pos, format!("rollback procedure `{}` has no `after` but follows one that has", p.id), "list procedures in the order the cutover reaches them: the one without `after` (before any switch) first");
            }
            continue;
        };
        match forward.iter().position(|f| f == a) {
            None => {
                let near = nearest(a, &forward).map(|n| format!("did you mean `{n}`? ")).unwrap_or_default();
                sink.error(spots.of(p.pos, "after", a), format!("`after` of rollback procedure `{}` names unknown step `{a}`", p.id), format!("{near}use the id of a forward step"));
            }
            Some(i) if last_after.is_some_and(|l| i <= l) => sink.error(
                spots.of(p.pos, "after", a),
                format!("rollback procedure `{}` applies after `{a}`, which comes before the previous procedure's step", p.id),
                "list procedures in the order the cutover reaches their `after` steps",
            ),
            Some(i) => last_after = Some(i),
        }
    }
    for s in rb.rollback_steps() {
        for target in &s.undoes {
            if !forward.contains(&target.as_str()) {
                let near = nearest(target, &forward)
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                sink.error(
                    spots.of(s.pos, "undoes", target),
                    format!(
                        "rollback step `{}` undoes `{target}`, which is not a forward step",
                        s.id
                    ),
                    format!("{near}name the id of a step in `phases`"),
                );
            }
        }
    }
}
