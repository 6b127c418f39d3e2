//! Keys in a shared session: what this screen's place (`Share::power`) lets its keys ask. The
//! keys' holder (the driver's terminal, or the watcher they were handed to) does everything;
//! an approver answers decisions and gives second confirmations; anyone adds notes and raises
//! a hand; a key nobody here may use says why. Also handing the keys over and accepting them.
//! The driver checks all of it again: a screen only avoids asking what would be refused.

use super::{Overlay, Prompt, Request, Ui, flash, open};
use crate::config::keymap::Action;
use crate::core::engine::{Engine, Msg};
use crate::core::time::Ms;
use crate::screen::share::{Power, Share};

/// The action, when the screen's place decides it; `None` lets the normal handling go on.
pub(super) fn on_shared(
    ui: &mut Ui,
    engine: &Engine,
    action: Action,
    now: Ms,
) -> Option<Vec<Request>> {
    let power = ui.share.power();
    let shared = ui.share != Share::Solo;
    let ended = engine.outcome.is_some();
    match action {
        Action::Approve => Some(on_approve(ui, engine, power, now)),
        Action::RaiseHand if !shared => {
            flash(
                ui,
                "a raised hand asks the driver of a shared session to hold; you drive here (h holds)",
                now,
            );
            Some(Vec::new())
        }
        Action::RaiseHand if power == Power::Keys => {
            flash(
                ui,
                "you hold the keys: press h to hold the run yourself",
                now,
            );
            Some(Vec::new())
        }
        Action::RaiseHand | Action::Note if power == Power::None || ended => {
            refuse(ui, "add notes or raise a hand", now)
        }
        Action::RaiseHand => Some(open(ui, Overlay::Input(Prompt::RaiseHand, String::new()))),
        Action::HandOver => Some(on_hand_over(ui, power, now)),
        // Looking around, leaving and notes are anyone's.
        Action::FocusNext
        | Action::FocusPrev
        | Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom
        | Action::LogLevel
        | Action::Help
        | Action::Cancel
        | Action::Note => None,
        // Leaving the driver's terminal while someone else drives would stop their run.
        Action::Quit
            if !ended
                && matches!(
                    ui.share,
                    Share::Driving {
                        keys_with: Some(_),
                        ..
                    }
                ) =>
        {
            refuse(
                ui,
                "quit (the run would stop for them); take the keys back first",
                now,
            )
        }
        Action::Quit => None,
        _ if power == Power::Keys => None,
        // An approver answers the open decision: continue, or roll back.
        Action::Continue | Action::Rollback
            if power == Power::Approve && !engine.monitor.decisions.is_empty() =>
        {
            None
        }
        Action::Complete => refuse(ui, "confirm steps", now),
        Action::Skip => refuse(ui, "skip steps", now),
        Action::Retry => refuse(ui, "retry steps", now),
        Action::Hold => refuse(
            ui,
            "hold or resume the run (raise a hand to ask for a hold)",
            now,
        ),
        Action::Rollback => refuse(ui, "roll back", now),
        Action::Veto => refuse(ui, "veto an automatic rollback", now),
        Action::Continue => refuse(ui, "answer decisions", now),
        Action::Abort => refuse(ui, "abort the run", now),
    }
}

fn refuse(ui: &mut Ui, what: &str, now: Ms) -> Option<Vec<Request>> {
    let why = ui
        .share
        .refusal(what)
        .unwrap_or_else(|| format!("you cannot {what} here"));
    flash(ui, why, now);
    Some(Vec::new())
}

fn on_approve(ui: &mut Ui, engine: &Engine, power: Power, now: Ms) -> Vec<Request> {
    if engine.approval.is_none() {
        flash(ui, "nothing waits for a second confirmation", now);
        return Vec::new();
    }
    match power {
        Power::Keys | Power::Approve => open(ui, Overlay::Input(Prompt::Approve, String::new())),
        _ => {
            flash(
                ui,
                ui.share
                    .refusal("give the second confirmation (approvers only)")
                    .unwrap_or_default(),
                now,
            );
            Vec::new()
        }
    }
}

fn on_hand_over(ui: &mut Ui, power: Power, now: Ms) -> Vec<Request> {
    if let Some(from) = ui.share.offer() {
        let from = from.to_string();
        return open(ui, Overlay::Input(Prompt::TakeKeys(from), String::new()));
    }
    match (&ui.share, power) {
        (Share::Solo, _) => {
            flash(
                ui,
                "nobody watches this session: there is no one to hand the keys to",
                now,
            );
            Vec::new()
        }
        (Share::Driving { watchers, .. }, Power::Keys) if watchers.is_empty() => {
            flash(
                ui,
                "nobody watches this session: there is no one to hand the keys to (they run `cutover watch DIR`)",
                now,
            );
            Vec::new()
        }
        (Share::Watching { keys: false, .. }, _) => {
            flash(
                ui,
                "you do not hold the keys: the driver hands them to you (H), then you accept here",
                now,
            );
            Vec::new()
        }
        (_, Power::Keys) => open(ui, Overlay::Input(Prompt::HandOver, String::new())),
        _ => {
            flash(ui, "you do not hold the keys", now);
            Vec::new()
        }
    }
}

/// Enter in one of this module's prompts; `None` for the other prompts.
pub(super) fn on_enter(
    ui: &mut Ui,
    engine: &Engine,
    prompt: &Prompt,
    t: &str,
    op: &str,
    now: Ms,
) -> Option<Vec<Request>> {
    let r = match prompt {
        Prompt::Approve if t == "approve" || t == "withdraw" => {
            ui.overlay = Overlay::None;
            if engine.approval.is_none() {
                flash(ui, "nothing waits for a second confirmation any more", now);
                return Some(Vec::new());
            }
            let m = if t == "approve" {
                Msg::Approve {
                    operator: op.into(),
                }
            } else {
                Msg::Withdraw {
                    operator: op.into(),
                }
            };
            vec![Request::Engine(m)]
        }
        Prompt::Approve => {
            flash(
                ui,
                "type approve (or withdraw, if you asked for it) and Enter; Esc cancels",
                now,
            );
            Vec::new()
        }
        Prompt::RaiseHand if t.chars().count() >= 3 => {
            ui.overlay = Overlay::None;
            vec![Request::RaiseHand { reason: t.into() }]
        }
        Prompt::RaiseHand => {
            flash(
                ui,
                "say why the driver should hold (a few words), then Enter; Esc cancels",
                now,
            );
            Vec::new()
        }
        Prompt::HandOver if !t.is_empty() => {
            ui.overlay = Overlay::None;
            vec![Request::HandOver { to: t.into() }]
        }
        Prompt::HandOver => {
            flash(
                ui,
                "type the OS user to hand the keys to, then Enter; Esc cancels",
                now,
            );
            Vec::new()
        }
        Prompt::TakeKeys(_) if t == "take" => {
            ui.overlay = Overlay::None;
            vec![Request::TakeKeys]
        }
        Prompt::TakeKeys(from) => {
            let text = format!(
                "type take and Enter to drive from here ({from} offers the keys); Esc declines"
            );
            flash(ui, text, now);
            Vec::new()
        }
        _ => return None,
    };
    Some(r)
}
