//! The two-person rule: a guarded action waits for an approver who is another OS user, within
//! the rule's time; an automatic rollback is never held; a resume keeps what waits.

use super::*;

fn guarded(actions: &str) -> Runbook {
    rb(&format!(
        r#"{HEAD}roles:
  bob: approver
two_person:
  actions: [{actions}]
  within: 2m
metrics:
  - {{ id: err, side: target, unit: "%", every: 30s, sim: {{ baseline: 0.05 }} }}
triggers:
  - {{ id: auto, when: err > 1%, for: 1m, action: rollback }}
phases:
  - id: p
    steps:
      - {{ id: go, title: Go, at: T+0:00 }}
      - {{ id: pnr, title: Decommission, at: T+0:00, point_of_no_return: true }}
      - {{ id: later, title: Later, at: T+1h, run: later }}
rollback:
  steps:
    - {{ id: back, title: Back, run: back }}
"#
    ))
}

fn journaled(fx: &[Effect]) -> Vec<&Entry> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Journal(j) => Some(j),
            _ => None,
        })
        .collect()
}

fn rollback_msg() -> Msg {
    Msg::Rollback {
        operator: "ann".into(),
        reason: "errors (R pressed)".into(),
    }
}

#[test]
fn a_manual_rollback_waits_for_another_os_user_and_then_goes_ahead_as_the_first_persons() {
    let mut e = Engine::new(guarded("rollback"), Config::default());
    e.update(Msg::Tick, 0);
    let fx = e.update_by(rollback_msg(), 1000, Some("ann"));
    let j = journaled(&fx);
    assert_eq!(j.len(), 1, "{:?}", kinds(&fx));
    assert_eq!(j[0].kind(), "approval_requested");
    assert_eq!(j[0].os_user.as_deref(), Some("ann"));
    assert!(e.rollback.is_none(), "held, not started");
    assert_eq!(e.real_time_needed(), Some("wait for a second confirmation"));
    // The same OS user cannot give the second confirmation, whatever name they type.
    assert!(e.approval_refusal("ann").is_some());
    let fx = e.update_by(
        Msg::Approve {
            operator: "someone else".into(),
        },
        2000,
        Some("ann"),
    );
    assert!(journaled(&fx).is_empty(), "{:?}", kinds(&fx));
    assert!(e.approval.is_some() && e.rollback.is_none());
    // Another OS user does, and the rollback starts: requested by ann, approved by bob.
    assert_eq!(e.approval_refusal("bob"), None);
    let fx = e.update_by(
        Msg::Approve {
            operator: "bob".into(),
        },
        3000,
        Some("bob"),
    );
    let k = kinds(&fx);
    assert_eq!(k[0], "approval_given", "{k:?}");
    assert!(k.contains(&"rollback_started".to_string()), "{k:?}");
    let j = journaled(&fx);
    assert_eq!(j[0].os_user.as_deref(), Some("bob"));
    let started = j.iter().find(|x| x.kind() == "rollback_started").unwrap();
    assert_eq!(started.operator, "ann");
    assert_eq!(started.os_user.as_deref(), Some("ann"));
    assert!(e.rollback.is_some() && e.approval.is_none());
}

#[test]
fn it_lapses_after_its_time_or_when_withdrawn_and_nothing_happens() {
    let mut e = Engine::new(guarded("rollback, skip"), Config::default());
    e.update(Msg::Tick, 0);
    e.update_by(rollback_msg(), 1000, Some("ann"));
    let fx = e.update(Msg::Tick, 1000 + 2 * 60_000);
    let j = journaled(&fx);
    assert_eq!(j[0].kind(), "approval_lapsed", "{:?}", kinds(&fx));
    assert!(
        matches!(&j[0].event, Event::ApprovalLapsed { why, .. } if why.contains("within 2m")),
        "{:?}",
        j[0]
    );
    assert!(e.rollback.is_none() && e.approval.is_none());
    // A skip, withdrawn by the first person.
    let fx = e.update_by(
        Msg::Skip {
            operator: "ann".into(),
            reason: "not needed".into(),
        },
        200_000,
        Some("ann"),
    );
    assert_eq!(kinds(&fx), vec!["approval_requested:go"]);
    assert_eq!(e.current(), Some("go"));
    let fx = e.update_by(
        Msg::Withdraw {
            operator: "ann".into(),
        },
        201_000,
        Some("ann"),
    );
    assert_eq!(kinds(&fx), vec!["approval_lapsed:go"]);
    assert_eq!(e.current(), Some("go"), "not skipped");
}

#[test]
fn passing_the_point_of_no_return_waits_but_an_automatic_rollback_never_does() {
    let mut e = Engine::new(guarded("point_of_no_return, rollback"), Config::default());
    e.update(Msg::Tick, 0);
    let ack = |op: &str| Msg::Ack {
        operator: op.into(),
    };
    // `go` is not guarded: confirmed at once.
    let fx = e.update_by(ack("ann"), 1000, Some("ann"));
    assert!(
        kinds(&fx).contains(&"step_done:go".to_string()),
        "{:?}",
        kinds(&fx)
    );
    let fx = e.update_by(ack("ann"), 2000, Some("ann"));
    assert_eq!(kinds(&fx), vec!["approval_requested:pnr"]);
    // While it waits a trigger fires: the automatic rollback is not held, and what waited
    // lapses.
    let mut all = Vec::new();
    for i in 0..=3 {
        let t = 3000 + i * 30_000;
        all.extend(kinds(&e.update(sample(5.0, t), t)));
    }
    assert!(all.contains(&"rollback_started".to_string()), "{all:?}");
    assert!(all.contains(&"approval_lapsed:pnr".to_string()), "{all:?}");
    assert!(e.approval.is_none());
}

#[test]
fn a_resume_keeps_what_waits_and_who_asked() {
    let r = guarded("rollback");
    let mut e = Engine::new(r.clone(), Config::default());
    e.update(Msg::Tick, 0);
    let fx = e.update_by(rollback_msg(), 1000, Some("ann"));
    let recs: Vec<Record> = journaled(&fx)
        .into_iter()
        .enumerate()
        .map(|(i, j)| Record::new(i as u64 + 1, "x".into(), 1000, Mode::Drill, j.clone()))
        .collect();
    let mut again = Engine::new(r, Config::default());
    again.replay(&recs);
    let a = again.approval.as_ref().expect("restored");
    assert_eq!(a.first.as_deref(), Some("ann"));
    assert_eq!(a.deadline, 1000 + 2 * 60_000);
    assert!(again.approval_refusal("ann").is_some());
    let fx = again.update_by(
        Msg::Approve {
            operator: "bob".into(),
        },
        5000,
        Some("bob"),
    );
    assert!(kinds(&fx).contains(&"rollback_started".to_string()));
}
