//! Raised hands: up until the driver holds, goes on or rolls back; the same on a resume, a
//! watcher's mirror and the driver.

use super::*;
use crate::core::event::{Mode, Record};

fn rec(seq: u64, who: &str, ev: Event) -> Record {
    Record::new(
        seq,
        "2026-12-03T10:00:00Z".into(),
        seq as Ms * 1000,
        Mode::Drill,
        ev.by(who),
    )
}

fn engine() -> Engine {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let rb = crate::config::runbook::load(&root.join("runbooks/blue-green.yaml"))
        .runbook
        .expect("the shipped runbook loads");
    Engine::new(rb, Config::default())
}

fn raise(seq: u64, who: &str, why: &str) -> Record {
    rec(seq, who, Event::HandRaised { reason: why.into() })
}

#[test]
fn a_hand_stays_up_until_the_driver_holds_or_goes_on() {
    let mut e = engine();
    e.track_hands(&raise(1, "carl", "lock waits"));
    e.track_hands(&raise(2, "dee", "dashboards lag"));
    e.track_hands(&raise(3, "carl", "lock waits growing"));
    let up: Vec<(&str, &str)> = e.hands.iter().map(|h| (&*h.who, &*h.reason)).collect();
    assert_eq!(
        up,
        [("dee", "dashboards lag"), ("carl", "lock waits growing")]
    );
    // The system holding for missing data is not an answer.
    let system_hold = Event::Hold {
        reason: Some("no data".into()),
    };
    e.track_hands(&rec(4, crate::core::event::SYSTEM, system_hold));
    assert_eq!(e.hands.len(), 2);
    e.track_hands(&rec(5, "ann", Event::Hold { reason: None }));
    assert!(e.hands.is_empty());
    e.track_hands(&raise(6, "carl", "again"));
    let go_on = Event::StepConfirmed {
        step: "freeze-writes".into(),
        auto_ack: None,
        after_interruption: None,
    };
    e.track_hands(&rec(7, "ann", go_on));
    assert!(e.hands.is_empty());
}

#[test]
fn a_resume_and_a_watcher_see_the_same_hands_as_the_driver() {
    let records = [raise(1, "carl", "lock waits"), raise(2, "dee", "wait")];
    let mut resumed = engine();
    resumed.replay(&records);
    let mut watcher = engine();
    for r in &records {
        watcher.follow(r);
    }
    let mut driver = engine();
    for r in &records {
        driver.track_hands(r);
    }
    assert_eq!(resumed.hands, driver.hands);
    assert_eq!(watcher.hands, driver.hands);
    assert_eq!(driver.hands.len(), 2);
}
