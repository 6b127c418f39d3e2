//! Raised hands: someone watching (or the terminal that handed the keys over) asks whoever
//! drives to hold. A hand stays up, on every screen, until the driver answers it: by holding,
//! by going on (confirming or skipping a step), by a rollback, or by the run's end. The
//! driver's engine and a watcher's mirror follow the same journaled records, so both show the
//! same hands.

use super::Engine;
use crate::core::event::{Event, Record};
use crate::core::time::Ms;

/// One request to hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Hand {
    /// Who raised it (the journal's operator: the watcher's OS user).
    pub who: String,
    /// Why.
    pub reason: String,
    /// When (T-ms).
    pub at: Ms,
}

impl Engine {
    /// Follows one journaled record for the hands it raises or answers.
    pub fn track_hands(&mut self, rec: &Record) {
        match &rec.event {
            Event::HandRaised { reason } => {
                // A second hand from the same person replaces the first: one ask each.
                self.hands.retain(|h| h.who != rec.operator);
                self.hands.push(Hand {
                    who: rec.operator.clone(),
                    reason: reason.clone(),
                    at: rec.t_ms(),
                });
            }
            // A hold the system made (data went missing) is not the driver's answer.
            Event::Hold { reason: None }
            | Event::StepConfirmed { .. }
            | Event::StepSkipped { .. }
            | Event::RollbackStarted { .. }
            | Event::SessionEnded { .. } => self.hands.clear(),
            _ => {}
        }
    }
}
