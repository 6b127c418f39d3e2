//! Rebuilding engine state from a journal, for resume. A step that was started but has no
//! ending event was running when the process died: it becomes `Interrupted`.

use super::{Engine, Outcome, RollbackRun, Stage, StepState};
use crate::core::event::Event;
use crate::core::monitor::Decision;
use crate::core::runbook::signals::Choice;

impl Engine {
    /// Applies the journal's events in order. Unknown kinds are ignored (newer versions may
    /// journal more). Call `resumed` afterwards to journal the interruptions found.
    pub fn replay(&mut self, events: &[Event]) {
        for ev in events {
            let t = ev.t_ms();
            let attempt = ev.num("attempt").map(|a| a as u32);
            // Step events change that step; others that name a step (a gate, the point of no
            // return, an aborted rollback) are about the run and fall through.
            if let Some(id) = &ev.step
                && ev.kind.starts_with("step_")
                && let Some(r) = self.runs.get_mut(id)
            {
                match ev.kind.as_str() {
                    "step_started" => {
                        r.unverified = false;
                        r.attempts = attempt.unwrap_or(r.attempts + 1);
                        r.started = Some(t);
                        r.first_start.get_or_insert(t);
                        r.state = StepState::Running {
                            attempt: r.attempts,
                            stage: Stage::Run,
                        };
                    }
                    "step_waiting" => {
                        r.attempts = attempt.unwrap_or(1);
                        r.started = Some(t);
                        r.first_start.get_or_insert(t);
                        r.state = StepState::Waiting;
                    }
                    "step_verifying" => {
                        r.state = StepState::Running {
                            attempt: r.attempts.max(1),
                            stage: Stage::Verify,
                        }
                    }
                    "step_holding" => {
                        let until = ev
                            .num("until_t")
                            .map(|u| (u * 1000.0).round() as i64)
                            .unwrap_or(t);
                        r.state = StepState::Running {
                            attempt: r.attempts.max(1),
                            stage: Stage::Hold { until },
                        };
                    }
                    "step_done" => r.state = StepState::Done { at: t },
                    "step_skipped" => {
                        r.state = StepState::Skipped {
                            reason: ev.str("reason").unwrap_or("").into(),
                        }
                    }
                    "step_interrupted" => {
                        r.state = StepState::Interrupted {
                            attempt: r.attempts.max(1),
                        };
                        r.needs_interrupt_note = false;
                    }
                    "step_failed" => {
                        let reason = ev.str("reason").unwrap_or("").to_string();
                        match ev.str("next") {
                            Some("retry") => {
                                let until = ev
                                    .num("retry_at_t")
                                    .map(|u| (u * 1000.0).round() as i64)
                                    .unwrap_or(t);
                                r.state = StepState::RetryWait {
                                    attempt: attempt.unwrap_or(1) + 1,
                                    until,
                                };
                            }
                            Some("pause") => {
                                r.unverified = ev.str("cause") == Some("interrupted");
                                r.state = StepState::Failed {
                                    reason: reason.clone(),
                                    blocking: true,
                                };
                                let text = self.pause_text(id, &reason);
                                self.paused = Some(text);
                            }
                            _ => {
                                r.state = StepState::Failed {
                                    reason,
                                    blocking: false,
                                }
                            }
                        }
                    }
                    "step_retry" => self.paused = None,
                    "step_gating" => {
                        r.state = StepState::Running {
                            attempt: r.attempts.max(1),
                            stage: Stage::Gate,
                        }
                    }
                    _ => {}
                }
                continue;
            }
            match ev.kind.as_str() {
                "hold" => self.held = true,
                "resumed" => self.held = false,
                "rollback_started" => {
                    self.open_graces.clear();
                    // Older journals have no id: the runbook's first procedure.
                    let id = ev
                        .str("procedure_id")
                        .map(str::to_string)
                        .or_else(|| self.rb.rollbacks.first().map(|p| p.id.clone()))
                        .unwrap_or_default();
                    self.back = self
                        .rb
                        .procedure(&id)
                        .map(|p| p.steps.iter().map(|s| s.id.clone()).collect())
                        .unwrap_or_default();
                    self.paused = None;
                    self.held = false;
                    self.rollback = Some(RollbackRun {
                        reason: ev.str("reason").unwrap_or("").into(),
                        started: t,
                        operator: ev.operator.clone(),
                        ended: None,
                        aborted: None,
                        aborted_by: None,
                        procedure: id,
                    });
                }
                "rollback_aborted" => {
                    if let Some(r) = self.rollback.as_mut() {
                        r.aborted = Some(t);
                        r.aborted_by = Some((
                            ev.operator.clone(),
                            ev.str("reason").unwrap_or("").to_string(),
                        ));
                    }
                }
                "rollback_done" => {
                    if let Some(r) = self.rollback.as_mut() {
                        r.ended = Some(t);
                    }
                }
                "session_ended" => self.outcome = ev.str("outcome").and_then(Outcome::parse),
                "baseline_captured" => {
                    if let (Some(k), Some(v)) = (ev.str("baseline"), ev.num("value")) {
                        self.monitor.restore_baseline(k, v);
                    }
                }
                "decision_requested" => {
                    let default = match ev.str("default") {
                        Some("rollback") => Choice::Rollback,
                        _ => Choice::Continue,
                    };
                    self.monitor.restore_decision(Decision {
                        trigger: ev.str("trigger").unwrap_or("").into(),
                        reason: ev.str("reason").unwrap_or("").into(),
                        deadline: ev
                            .num("deadline_t")
                            .map(|u| (u * 1000.0).round() as i64)
                            .unwrap_or(t),
                        default,
                    });
                }
                "decision_made" | "decision_cancelled" => {
                    self.monitor
                        .restore_decided(ev.str("trigger").unwrap_or(""));
                }
                "rollback_grace_started" => {
                    self.open_graces
                        .push(ev.str("trigger").unwrap_or("").into());
                }
                "rollback_vetoed" | "rollback_grace_cancelled" => {
                    let tr = ev.str("trigger").unwrap_or("");
                    self.open_graces.retain(|g| g != tr);
                }
                _ => {}
            }
        }
        // Whatever was running died with the process that ran it.
        for r in self.runs.values_mut() {
            if let StepState::Running {
                attempt,
                stage: Stage::Run | Stage::Verify,
            } = r.state
            {
                r.state = StepState::Interrupted { attempt };
                r.needs_interrupt_note = true;
            }
        }
        // A pause on failure is retried when the operator comes back with --auto-ack: re-running
        // the session is the rehearsal's way of saying "try again".
        if self.cfg.auto_ack
            && let Some(id) = self.current().map(str::to_string)
            && let Some(r) = self.runs.get_mut(&id)
            && let StepState::Failed { blocking: true, .. } = r.state
            && !r.unverified
        {
            r.state = StepState::RetryWait {
                attempt: r.attempts + 1,
                until: i64::MIN,
            };
            self.paused = None;
        }
    }
}
