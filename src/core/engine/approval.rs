//! The two-person rule: an action the runbook's `two_person:` guards (a rollback a person
//! starts, completing a point-of-no-return step, a skip) is held after the first person's
//! typed confirmation until an approver, a different OS user, confirms it too within the
//! rule's time. Automatic rollbacks are never held: they have their grace countdown and veto.
//!
//! Who someone is comes with the message (`Engine::update_by`), from the shell: the driver
//! process's OS user for its own keys, the socket peer's for a watcher.

use super::{Effect, Engine, Msg, StepState};
use crate::core::event::{Entry, Event, SYSTEM};
use crate::core::runbook::team::Guarded;
use crate::core::time::{Ms, Period, human};

/// An action waiting for its second person.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// What waits.
    pub action: Guarded,
    /// The step it is about (the current step when it was asked).
    pub step: Option<String>,
    /// The first person's reason, if the action has one.
    pub reason: Option<String>,
    /// The first person's `--operator` name.
    pub operator: String,
    /// The first person's OS user (none when the shell did not say).
    pub first: Option<String>,
    /// T-time it was asked.
    pub since: Ms,
    /// T-time it lapses (the drill clock runs at 1× meanwhile, so this is real time).
    pub deadline: Ms,
    /// What follows once approved.
    pub(super) held: Msg,
}

impl Engine {
    /// Handles `msg` from OS user `who` (none for the system or a front end that cannot
    /// say): what it journals as a person carries them, and the two-person rule knows them.
    pub fn update_by(&mut self, msg: Msg, now: Ms, who: Option<&str>) -> Vec<Effect> {
        let before = std::mem::replace(&mut self.actor, who.map(str::to_string));
        let mut out = self.update(msg, now);
        self.actor = before;
        if let Some(u) = who {
            tag(&mut out, u);
        }
        out
    }

    /// Why OS user `who` cannot give the second confirmation now, if they cannot. (Whether
    /// they hold the approver role is the shell's question: it knows their groups.)
    pub fn approval_refusal(&self, who: &str) -> Option<String> {
        let Some(a) = &self.approval else {
            return Some("nothing waits for a second confirmation".into());
        };
        if a.first.as_deref() == Some(who) {
            return Some(format!(
                "{who} asked for this {}: the second confirmation must come from someone else",
                a.action.words()
            ));
        }
        None
    }

    /// The guarded action `msg` would be, when the runbook's rule holds it for approval.
    pub(super) fn guarded(&self, msg: &Msg) -> Option<Guarded> {
        let team = &self.rb.team;
        team.two_person.as_ref()?;
        let current = self.current();
        let state = current.and_then(|id| self.runs.get(id)).map(|r| &r.state);
        match msg {
            // A rollback that cannot happen is journaled as such at once, not held.
            Msg::Rollback { .. }
                if team.guards(Guarded::Rollback)
                    && self.rollback.is_none()
                    && self.point_of_no_return_passed().is_none()
                    && !self.rb.rollbacks.is_empty() =>
            {
                Some(Guarded::Rollback)
            }
            Msg::Ack { .. }
                if team.guards(Guarded::PointOfNoReturn)
                    && matches!(
                        state,
                        Some(StepState::Waiting | StepState::Interrupted { .. })
                    )
                    && current
                        .and_then(|id| self.rb.step(id))
                        .is_some_and(|s| s.point_of_no_return) =>
            {
                Some(Guarded::PointOfNoReturn)
            }
            Msg::Skip { .. } if team.guards(Guarded::Skip) && current.is_some() => {
                Some(Guarded::Skip)
            }
            _ => None,
        }
    }

    /// Holds `msg` (a guarded `action`) for a second person and journals the request.
    pub(super) fn ask_approval(
        &mut self,
        action: Guarded,
        msg: Msg,
        now: Ms,
        out: &mut Vec<Effect>,
    ) {
        if self.approval.is_some() {
            // One at a time: the screen says what already waits.
            return;
        }
        let within = self
            .rb
            .team
            .two_person
            .as_ref()
            .map_or(crate::core::runbook::team::DEFAULT_WITHIN, |t| t.within);
        let (operator, reason) = match &msg {
            Msg::Rollback { operator, reason } | Msg::Skip { operator, reason } => {
                (operator.clone(), Some(reason.clone()))
            }
            Msg::Ack { operator } => (operator.clone(), None),
            _ => return,
        };
        let step = match action {
            Guarded::Rollback => None,
            _ => self.current().map(str::to_string),
        };
        out.push(Effect::Journal(
            Event::ApprovalRequested {
                action: action.as_str().into(),
                step: step.clone().map(Into::into),
                reason: reason.clone(),
                within: Period(within),
            }
            .by(&operator),
        ));
        self.approval = Some(Approval {
            action,
            step,
            reason,
            operator,
            first: self.actor.clone(),
            since: now,
            deadline: now + within,
            held: msg,
        });
    }

    /// An approver's confirmation: the held action follows, as its first person's.
    pub(super) fn approve(&mut self, operator: &str, now: Ms, out: &mut Vec<Effect>) {
        let who = self.actor.clone().unwrap_or_else(|| operator.to_string());
        if self.approval_refusal(&who).is_some() {
            return;
        }
        let Some(a) = self.approval.take() else {
            return;
        };
        let mut given = Event::ApprovalGiven {
            action: a.action.as_str().into(),
            step: a.step.clone().map(Into::into),
        }
        .by(operator);
        given.os_user = self.actor.clone();
        out.push(Effect::Journal(given));
        let first = a.first.clone();
        let before = std::mem::replace(&mut self.actor, first.clone());
        let start = out.len();
        self.dispatch(a.held, now, out);
        self.actor = before;
        if let Some(u) = first {
            tag(&mut out[start..], &u);
        }
    }

    /// The first person takes the request back.
    pub(super) fn withdraw(&mut self, operator: &str, out: &mut Vec<Effect>) {
        if let Some(a) = self.approval.take() {
            out.push(Effect::Journal(lapsed(
                &a,
                format!("withdrawn by {operator}"),
                operator,
            )));
        }
    }

    /// Lapses a waiting action whose time is up, or that the run has moved past.
    pub(super) fn check_approval(&mut self, now: Ms, out: &mut Vec<Effect>) {
        let Some(a) = &self.approval else { return };
        let why = if self.outcome.is_some() {
            Some("the run ended".to_string())
        } else if a.action == Guarded::Rollback && self.rollback.is_some() {
            Some("a rollback started meanwhile".to_string())
        } else if a.step.is_some() && self.current() != a.step.as_deref() {
            Some("the run moved past the step".to_string())
        } else if now >= a.deadline {
            Some(format!(
                "no approver confirmed within {}",
                human(a.deadline - a.since)
            ))
        } else {
            None
        };
        if let Some(why) = why
            && let Some(a) = self.approval.take()
        {
            out.push(Effect::Journal(lapsed(&a, why, SYSTEM)));
        }
    }

    /// Rebuilds a waiting action from its journal record (resume, or a watcher's fold).
    pub(super) fn restore_approval(&mut self, rec: &crate::core::event::Record) {
        let Event::ApprovalRequested {
            action,
            step,
            reason,
            within,
        } = &rec.event
        else {
            return;
        };
        let Some(action) = Guarded::parse(action) else {
            return;
        };
        let operator = rec.operator.clone();
        let held = match action {
            Guarded::Rollback => Msg::Rollback {
                operator: operator.clone(),
                reason: reason.clone().unwrap_or_default(),
            },
            Guarded::Skip => Msg::Skip {
                operator: operator.clone(),
                reason: reason.clone().unwrap_or_default(),
            },
            Guarded::PointOfNoReturn => Msg::Ack {
                operator: operator.clone(),
            },
        };
        let since = rec.t_ms();
        self.approval = Some(Approval {
            action,
            step: step.as_ref().map(|s| s.as_str().to_string()),
            reason: reason.clone(),
            operator,
            first: rec.os_user.clone(),
            since,
            deadline: since + within.0,
            held,
        });
    }
}

/// What a person's message journaled as a person (not the system's consequences) is theirs.
fn tag(effects: &mut [Effect], user: &str) {
    for e in effects {
        if let Effect::Journal(entry) = e
            && entry.operator != SYSTEM
            && entry.os_user.is_none()
        {
            entry.os_user = Some(user.to_string());
        }
    }
}

fn lapsed(a: &Approval, why: String, by: &str) -> Entry {
    Event::ApprovalLapsed {
        action: a.action.as_str().into(),
        step: a.step.clone().map(Into::into),
        why,
    }
    .by(by)
}
