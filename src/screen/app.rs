//! The cockpit's UI state and its pure update: a key (already mapped by the keymap) and the
//! engine's state in, UI changes and commands out. Commands are engine messages or quitting;
//! the cockpit loop performs them. No IO, no clock: time comes in as `now`.

use crate::config::keymap::{Action, Code, Key, Keymap};
use crate::core::engine::{Engine, Msg, StepState};
use crate::core::time::{Ms, t_clock};

/// A pane that can have focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// The step list.
    Timeline,
    /// The current (or selected) step.
    Detail,
    /// Source and target metrics.
    Metrics,
    /// Engine events and command output.
    Log,
}

impl Pane {
    const ORDER: [Pane; 4] = [Pane::Timeline, Pane::Detail, Pane::Metrics, Pane::Log];

    fn next(self, back: bool) -> Pane {
        let i = Self::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        let n = Self::ORDER.len();
        Self::ORDER[if back { (i + n - 1) % n } else { (i + 1) % n }]
    }

    /// Its name on tabs and titles.
    pub fn title(self) -> &'static str {
        match self {
            Pane::Timeline => "Timeline",
            Pane::Detail => "Step",
            Pane::Metrics => "Metrics",
            Pane::Log => "Log",
        }
    }
}

/// A text prompt's purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Reason for skipping this step: the current one when `s` was pressed. It is bound
    /// there, so a run that moves on while the reason is typed never skips the next step.
    Skip(String),
    /// A skip that disables something (listed): its reason, then the step's id typed to
    /// confirm.
    SkipConfirm {
        /// The step.
        step: String,
        /// The reason already given.
        reason: String,
        /// What skipping it disables.
        disables: Vec<String>,
    },
    /// Why the operator vetoed this trigger's automatic rollback (the veto already acted).
    VetoReason(String),
    /// Why the operator continues despite this trigger's concern.
    ContinueReason(String),
    /// A note for the journal.
    Note,
    /// The rollback preview: type `rollback` to confirm.
    Rollback,
    /// Completing a point-of-no-return step: type `yes`.
    PointOfNoReturn(String),
    /// Aborting the run (or the rollback): the reason, which the journal keeps.
    Abort,
    /// The second confirmation: type `approve` (or `withdraw`, the first person).
    Approve,
    /// A raised hand: why the driver should hold.
    RaiseHand,
    /// Handing over: the OS user to offer the keys to.
    HandOver,
    /// Keys offered by this OS user: type `take`.
    TakeKeys(String),
}

/// What covers the screen, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// Nothing.
    None,
    /// The key help.
    Help,
    /// A text prompt and what has been typed.
    Input(Prompt, String),
    /// "Quit? The session stays resumable."
    ConfirmQuit,
    /// Why `R` cannot roll back now, and what remains (past the point of no return, or no
    /// procedure): more than a one-line flash, because this is when people need it most.
    NoRollback(String),
}

/// Log filter levels, cycled by a key; the first is the default (the program's own
/// diagnostics and the journal at INFO; command output is DEBUG, its stderr WARN).
pub const LOG_LEVELS: [log::LevelFilter; 4] = [
    log::LevelFilter::Info,
    log::LevelFilter::Warn,
    log::LevelFilter::Error,
    log::LevelFilter::Debug,
];

/// UI state beside the engine.
#[derive(Debug, Clone)]
pub struct Ui {
    /// Focused pane.
    pub focus: Pane,
    /// Overlay.
    pub overlay: Overlay,
    /// Timeline row the operator moved to; `None` follows the current step.
    pub selected: Option<usize>,
    /// Scroll of the step output, lines from the end.
    pub detail_scroll: u16,
    /// Scroll of the log, lines from the end.
    pub log_scroll: u16,
    /// Index into `LOG_LEVELS`.
    pub log_level: usize,
    /// What the log pane shows.
    pub log: crate::screen::log::LogTail,
    /// A one-line message for the operator, and when it was shown.
    pub flash: Option<(String, Ms)>,
    /// Who is at the keys.
    pub operator: String,
    /// Who shares the session: watchers of this driver, or the driver this screen watches.
    pub share: crate::screen::share::Share,
}

impl Ui {
    /// Fresh UI state for `operator`.
    pub fn new(operator: &str) -> Self {
        Self {
            focus: Pane::Timeline,
            overlay: Overlay::None,
            selected: None,
            detail_scroll: 0,
            log_scroll: 0,
            log_level: 0,
            log: Default::default(),
            flash: None,
            operator: operator.into(),
            share: Default::default(),
        }
    }
}

/// What the cockpit loop must do after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Give the engine this message.
    Engine(Msg),
    /// Offer the keys to this OS user (a shared session).
    HandOver {
        /// Who.
        to: String,
    },
    /// Accept the keys offered to this screen.
    TakeKeys,
    /// Ask the driver to hold (a watcher's raised hand).
    RaiseHand {
        /// Why.
        reason: String,
    },
    /// Leave the cockpit (the session stays resumable unless it ended).
    Quit,
}

mod shared;

fn flash(ui: &mut Ui, text: impl Into<String>, now: Ms) {
    ui.flash = Some((text.into(), now));
}

/// Handles one key at T-time `now`.
pub fn on_key(ui: &mut Ui, engine: &Engine, keymap: &Keymap, key: Key, now: Ms) -> Vec<Request> {
    if let Some(requests) = on_overlay(ui, engine, key, now) {
        return requests;
    }
    let Some(action) = keymap.lookup(&key) else {
        return Vec::new();
    };
    // A message answers the last key; the next one clears it, so it never outstays its use
    // or crowds the keys off the footer.
    ui.flash = None;
    on_action(ui, engine, action, now)
}

/// A key while an overlay is open: the overlay takes it, not the keymap. `None` when
/// nothing covers the screen.
fn on_overlay(ui: &mut Ui, engine: &Engine, key: Key, now: Ms) -> Option<Vec<Request>> {
    let requests = match ui.overlay.clone() {
        Overlay::Input(prompt, mut text) => {
            let op = ui.operator.clone();
            on_prompt(ui, engine, prompt, &mut text, key, &op, now)
        }
        Overlay::ConfirmQuit => {
            ui.overlay = Overlay::None;
            match key.code() {
                Code::Char('y') | Code::Char('Y') => vec![Request::Quit],
                _ => Vec::new(),
            }
        }
        Overlay::Help | Overlay::NoRollback(_) => {
            ui.overlay = Overlay::None;
            Vec::new()
        }
        Overlay::None => return None,
    };
    Some(requests)
}

/// One mapped action, with no overlay open.
fn on_action(ui: &mut Ui, engine: &Engine, action: Action, now: Ms) -> Vec<Request> {
    if let Some(requests) = shared::on_shared(ui, engine, action, now) {
        return requests;
    }
    match action {
        Action::Help => open(ui, Overlay::Help),
        Action::Complete => on_complete(ui, engine, now),
        Action::Skip => on_skip(ui, engine, now),
        Action::Retry => on_retry(ui, engine, now),
        Action::Hold => on_hold(ui, engine),
        Action::Note => open(ui, Overlay::Input(Prompt::Note, String::new())),
        Action::Rollback => on_rollback(ui, engine, now),
        Action::Veto => on_veto(ui, engine, now),
        Action::Continue => on_continue(ui, engine, now),
        Action::Abort => on_abort(ui, engine, now),
        Action::Quit => on_quit(ui, engine),
        // Handled by `shared` above: they only mean something in a shared session.
        Action::Approve | Action::RaiseHand | Action::HandOver => Vec::new(),
        Action::FocusNext | Action::FocusPrev => on_focus(ui, action),
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => on_move(ui, engine, action),
        Action::LogLevel => on_log_level(ui, now),
        Action::Cancel => {
            ui.flash = None;
            Vec::new()
        }
    }
}

fn open(ui: &mut Ui, overlay: Overlay) -> Vec<Request> {
    ui.overlay = overlay;
    Vec::new()
}

/// The current step, if any, and its state, if it has one yet.
fn current_step(engine: &Engine) -> (Option<&str>, Option<&StepState>) {
    let current = engine.current();
    let state = current.and_then(|id| engine.run_of(id)).map(|r| &r.state);
    (current, state)
}

/// Confirms a waiting (or interrupted) step; a point-of-no-return step asks for `yes` first.
fn on_complete(ui: &mut Ui, engine: &Engine, now: Ms) -> Vec<Request> {
    match current_step(engine) {
        (Some(id), Some(StepState::Waiting | StepState::Interrupted { .. })) => {
            let pnr = engine
                .runbook()
                .step(id)
                .is_some_and(|s| s.point_of_no_return);
            if pnr {
                return open(
                    ui,
                    Overlay::Input(Prompt::PointOfNoReturn(id.to_string()), String::new()),
                );
            }
            vec![Request::Engine(Msg::Ack {
                operator: ui.operator.clone(),
            })]
        }
        (Some(id), Some(s)) => {
            let text = format!("nothing to confirm: step `{id}` is {}", s.word());
            flash(ui, text, now);
            Vec::new()
        }
        _ => {
            flash(ui, "nothing to confirm", now);
            Vec::new()
        }
    }
}

/// Asks for the reason a skip needs.
fn on_skip(ui: &mut Ui, engine: &Engine, now: Ms) -> Vec<Request> {
    if let Some(id) = engine.current().filter(|_| engine.outcome.is_none()) {
        return open(
            ui,
            Overlay::Input(Prompt::Skip(id.to_string()), String::new()),
        );
    }
    flash(ui, "no step to skip", now);
    Vec::new()
}

fn on_retry(ui: &mut Ui, engine: &Engine, now: Ms) -> Vec<Request> {
    match current_step(engine) {
        (
            Some(_),
            Some(StepState::Failed { blocking: true, .. } | StepState::Interrupted { .. }),
        ) => vec![Request::Engine(Msg::Retry {
            operator: ui.operator.clone(),
        })],
        _ => {
            flash(ui, "retry applies to a failed or interrupted step", now);
            Vec::new()
        }
    }
}

/// Toggles the hold; an ended run has nothing to hold.
fn on_hold(ui: &Ui, engine: &Engine) -> Vec<Request> {
    if engine.outcome.is_some() {
        return Vec::new();
    }
    vec![Request::Engine(Msg::Hold {
        operator: ui.operator.clone(),
        on: !engine.held,
    })]
}

/// Opens the rollback preview, or says why there is no rollback to give.
fn on_rollback(ui: &mut Ui, engine: &Engine, now: Ms) -> Vec<Request> {
    let Some(why) = rollback_blocked(engine) else {
        return open(ui, Overlay::Input(Prompt::Rollback, String::new()));
    };
    if engine.outcome.is_some() {
        flash(ui, why, now);
        return Vec::new();
    }
    // Past the point of no return (or with no procedure) the operator needs what
    // remains, not just a refusal; a second rollback needs only a line.
    if engine.rollback.is_none() {
        ui.overlay = Overlay::NoRollback(why);
    } else {
        flash(ui, why, now);
    }
    // Either way the request is journaled (`rollback_request_ignored` or
    // `rollback_unavailable`): who asked for a rollback, and when, is part of the
    // record even when there was none to give.
    vec![Request::Engine(Msg::Rollback {
        operator: ui.operator.clone(),
        reason: format!("{} (R pressed)", operator_reason(engine)),
    })]
}

/// Vetoes an automatic rollback that is counting down: at once (seconds count), then asks
/// why.
fn on_veto(ui: &mut Ui, engine: &Engine, now: Ms) -> Vec<Request> {
    let Some(g) = engine.monitor.graces.first() else {
        flash(ui, "no automatic rollback is counting down", now);
        return Vec::new();
    };
    ui.overlay = Overlay::Input(Prompt::VetoReason(g.trigger.clone()), String::new());
    vec![Request::Engine(Msg::Veto {
        operator: ui.operator.clone(),
    })]
}

/// Answers the open decision with "continue", once the operator says why: continuing
/// overrides a trigger's concern, and the record must say on what grounds.
fn on_continue(ui: &mut Ui, engine: &Engine, now: Ms) -> Vec<Request> {
    let Some(d) = engine.monitor.decisions.front() else {
        flash(ui, "no decision is open", now);
        return Vec::new();
    };
    open(
        ui,
        Overlay::Input(Prompt::ContinueReason(d.trigger.clone()), String::new()),
    )
}

/// Asks for the reason an abort needs.
fn on_abort(ui: &mut Ui, engine: &Engine, now: Ms) -> Vec<Request> {
    if engine.outcome.is_some() {
        flash(ui, "the run has already ended", now);
        return Vec::new();
    }
    open(ui, Overlay::Input(Prompt::Abort, String::new()))
}

/// Quits at once when the run has ended; while it is live, asks first.
fn on_quit(ui: &mut Ui, engine: &Engine) -> Vec<Request> {
    if engine.outcome.is_some() {
        return vec![Request::Quit];
    }
    open(ui, Overlay::ConfirmQuit)
}

fn on_focus(ui: &mut Ui, action: Action) -> Vec<Request> {
    ui.focus = ui.focus.next(action == Action::FocusPrev);
    Vec::new()
}

fn on_move(ui: &mut Ui, engine: &Engine, action: Action) -> Vec<Request> {
    scroll(ui, engine, action);
    Vec::new()
}

/// Cycles the log filter, and says what it now shows.
fn on_log_level(ui: &mut Ui, now: Ms) -> Vec<Request> {
    ui.log_level = (ui.log_level + 1) % LOG_LEVELS.len();
    // The scroll counts records of the old level; start again from the newest.
    ui.log_scroll = 0;
    let text = format!("log shows {} and above", LOG_LEVELS[ui.log_level]);
    flash(ui, text, now);
    Vec::new()
}

/// Why a rollback cannot be started now, if it cannot.
pub fn rollback_blocked(engine: &Engine) -> Option<String> {
    if let Some(o) = engine.outcome {
        return Some(format!(
            "the run has ended ({}): nothing to roll back from the cockpit",
            o.as_str()
        ));
    }
    if let Some(r) = &engine.rollback {
        return Some(format!(
            "a rollback is already running (started by {} at {})",
            r.operator,
            t_clock(r.started)
        ));
    }
    if engine.rollback_procedure().is_none() {
        return Some("this runbook has no rollback procedure: roll forward or follow its documented recovery".into());
    }
    if let Some((id, at)) = engine.point_of_no_return_passed() {
        return Some(format!(
            "rollback is no longer possible: step `{id}` passed the point of no return at {}; roll forward or follow the runbook's recovery",
            t_clock(at)
        ));
    }
    None
}

/// The reason an operator's rollback is journaled with: the key, and the failed or
/// interrupted step it answers when there is one. The preview shows this same text.
pub fn operator_reason(engine: &Engine) -> String {
    let base = "operator rollback from the cockpit";
    let Some(id) = engine.current() else {
        return base.into();
    };
    match engine.run_of(id).map(|r| &r.state) {
        Some(StepState::Failed {
            reason,
            blocking: true,
        }) => format!("{base} after step `{id}` failed: {reason}"),
        Some(StepState::Interrupted { .. }) => {
            format!("{base}: step `{id}` was interrupted by a restart")
        }
        _ => base.into(),
    }
}

/// The typed rollback confirmation: `rollback`, optionally followed by the reason. `None`
/// when it is not one; `Some("")` with no reason.
pub fn rollback_typed(t: &str) -> Option<&str> {
    // The whole word, in any case: `Rollback now` is as deliberate as `rollback now`.
    let t = t.trim();
    let rest = t
        .get(..8)
        .filter(|w| w.eq_ignore_ascii_case("rollback"))
        .and_then(|_| t.get(8..))?;
    if !rest.is_empty() && !rest.starts_with([' ', ':', '-']) {
        return None;
    }
    Some(rest.trim_start_matches([' ', ':', '-']).trim())
}

fn on_prompt(
    ui: &mut Ui,
    engine: &Engine,
    prompt: Prompt,
    text: &mut String,
    key: Key,
    op: &str,
    now: Ms,
) -> Vec<Request> {
    let ctrl = key.mods().ctrl;
    match key.code() {
        Code::Esc => {
            ui.overlay = Overlay::None;
            ui.flash = None;
            if let Prompt::VetoReason(trigger) = &prompt {
                flash(ui, format!("vetoed `{trigger}` without a reason"), now);
            }
        }
        Code::Char('c') if ctrl => {
            ui.overlay = Overlay::None;
            ui.flash = None;
        }
        Code::Backspace => {
            text.pop();
            ui.overlay = Overlay::Input(prompt, text.clone());
        }
        Code::Char(c) if !ctrl => {
            if text.chars().count() < 500 {
                text.push(c);
            }
            ui.overlay = Overlay::Input(prompt, text.clone());
        }
        Code::Enter => {
            let t = text.trim().to_string();
            if let Some(r) = shared::on_enter(ui, engine, &prompt, &t, op, now) {
                return r;
            }
            match prompt {
                Prompt::Skip(step) if engine.current() != Some(step.as_str()) => {
                    ui.overlay = Overlay::None;
                    flash(
                        ui,
                        format!("not skipped: `{step}` is no longer the current step"),
                        now,
                    );
                }
                Prompt::Skip(step) if !t.is_empty() => {
                    let disables = engine.skip_disables(&step);
                    if disables.is_empty() {
                        ui.overlay = Overlay::None;
                        return vec![Request::Engine(Msg::Skip {
                            operator: op.into(),
                            reason: t,
                        })];
                    }
                    ui.flash = None;
                    ui.overlay = Overlay::Input(
                        Prompt::SkipConfirm {
                            step,
                            reason: t,
                            disables,
                        },
                        String::new(),
                    );
                }
                Prompt::Skip(_) => flash(ui, "a skip needs a reason: type it, then Enter", now),
                Prompt::SkipConfirm { step, reason, .. } if t == step => {
                    ui.overlay = Overlay::None;
                    // The step may have moved on while the box was open: skip only the one
                    // whose consequences were shown.
                    if engine.current() != Some(step.as_str()) {
                        flash(
                            ui,
                            format!("not skipped: `{step}` is no longer the current step"),
                            now,
                        );
                        return Vec::new();
                    }
                    return vec![Request::Engine(Msg::Skip {
                        operator: op.into(),
                        reason,
                    })];
                }
                Prompt::SkipConfirm { step, .. } => flash(
                    ui,
                    format!(
                        "not confirmed: type the step's id `{step}` exactly, or Esc to keep it"
                    ),
                    now,
                ),
                Prompt::VetoReason(trigger) if !t.is_empty() => {
                    ui.overlay = Overlay::None;
                    return vec![Request::Engine(Msg::VetoReason {
                        operator: op.into(),
                        trigger,
                        why: t,
                    })];
                }
                Prompt::VetoReason(_) => flash(
                    ui,
                    "the veto stands; type why (journaled), then Enter, or Esc to give none",
                    now,
                ),
                Prompt::ContinueReason(trigger) if t.chars().count() >= 3 => {
                    ui.overlay = Overlay::None;
                    if engine.monitor.decisions.front().map(|d| d.trigger.as_str())
                        != Some(trigger.as_str())
                    {
                        flash(
                            ui,
                            format!("the decision on `{trigger}` is no longer open"),
                            now,
                        );
                        return Vec::new();
                    }
                    return vec![Request::Engine(Msg::Decide {
                        operator: op.into(),
                        choice: crate::core::runbook::signals::Choice::Continue,
                        why: Some(t),
                    })];
                }
                Prompt::ContinueReason(_) => flash(
                    ui,
                    "continuing needs a reason (a few words): type it, then Enter; Esc cancels",
                    now,
                ),
                Prompt::Note if !t.is_empty() => {
                    ui.overlay = Overlay::None;
                    return vec![Request::Engine(Msg::Note {
                        operator: op.into(),
                        text: t,
                    })];
                }
                Prompt::Note => ui.overlay = Overlay::None,
                Prompt::Rollback if rollback_typed(&t).is_some() => {
                    let why = rollback_typed(&t).filter(|w| !w.is_empty());
                    ui.overlay = Overlay::None;
                    if let Some(why) = rollback_blocked(engine) {
                        flash(ui, why, now);
                        return Vec::new();
                    }
                    if !engine.monitor.decisions.is_empty() {
                        // The operator's answer to the open decision: journaled as such.
                        return vec![Request::Engine(Msg::Decide {
                            operator: op.into(),
                            choice: crate::core::runbook::signals::Choice::Rollback,
                            why: why.map(str::to_string),
                        })];
                    }
                    let reason = match why {
                        Some(w) => format!("{}: {w}", operator_reason(engine)),
                        None => operator_reason(engine),
                    };
                    return vec![Request::Engine(Msg::Rollback {
                        operator: op.into(),
                        reason,
                    })];
                }
                Prompt::Rollback => flash(
                    ui,
                    format!(
                        "not confirmed: `{}` is not `rollback`; type the whole word (then, if you like, why), or Esc",
                        super::ui::fit(&t, 30)
                    ),
                    now,
                ),
                Prompt::Abort if t.chars().count() >= 3 => {
                    ui.overlay = Overlay::None;
                    return vec![Request::Engine(Msg::Abort {
                        operator: op.into(),
                        reason: t,
                    })];
                }
                Prompt::Abort => flash(
                    ui,
                    "an abort needs a reason (a few words): type it, then Enter; Esc cancels",
                    now,
                ),
                Prompt::PointOfNoReturn(_) if t == "yes" => {
                    ui.overlay = Overlay::None;
                    return vec![Request::Engine(Msg::Ack {
                        operator: op.into(),
                    })];
                }
                Prompt::PointOfNoReturn(_) => flash(
                    ui,
                    "type yes and press Enter to pass the point of no return, or Esc",
                    now,
                ),
                Prompt::Approve | Prompt::RaiseHand | Prompt::HandOver | Prompt::TakeKeys(_) => {}
            }
        }
        _ => {}
    }
    Vec::new()
}

fn scroll(ui: &mut Ui, engine: &Engine, action: Action) {
    let last = row_ids(engine).len().saturating_sub(1);
    let page = 10;
    match ui.focus {
        Pane::Timeline => {
            let cur = ui.selected.unwrap_or_else(|| current_row(engine));
            let next = match action {
                Action::Up => cur.saturating_sub(1),
                Action::Down => (cur + 1).min(last),
                Action::PageUp => cur.saturating_sub(page),
                Action::PageDown => (cur + page).min(last),
                Action::Top => 0,
                _ => last,
            };
            // Moving back onto the current step returns to following it.
            ui.selected = if next == current_row(engine) {
                None
            } else {
                Some(next)
            };
        }
        Pane::Log => {
            // Counted in records, and never past the oldest: a count beyond the ends would
            // make the pane look frozen while the number in its title keeps changing.
            let level = LOG_LEVELS[ui.log_level % LOG_LEVELS.len()];
            let oldest = ui.log.shown(level).count().saturating_sub(1);
            let v = usize::from(ui.log_scroll);
            let next = match action {
                Action::Up => v + 1,
                Action::Down => v.saturating_sub(1),
                Action::PageUp => v + page,
                Action::PageDown => v.saturating_sub(page),
                Action::Top => oldest,
                _ => 0,
            };
            ui.log_scroll = u16::try_from(next.min(oldest)).unwrap_or(u16::MAX);
        }
        Pane::Detail | Pane::Metrics => {
            let v = &mut ui.detail_scroll;
            *v = match action {
                Action::Up => v.saturating_add(1),
                Action::Down => v.saturating_sub(1),
                Action::PageUp => v.saturating_add(page as u16),
                Action::PageDown => v.saturating_sub(page as u16),
                Action::Top => u16::MAX / 2,
                _ => 0,
            };
        }
    }
}

/// The rows the operator moves over, by step id: the forward steps, or the steps of the
/// rollback procedure once one runs. `ui.selected` indexes this list everywhere.
pub fn row_ids(engine: &Engine) -> Vec<&str> {
    // Once a rollback runs its view replaces the timeline: the forward steps are not on
    // screen, so moving around must not land on them.
    match engine.rollback {
        Some(_) => engine
            .rollback_run_steps()
            .into_iter()
            .map(|s| s.id.as_str())
            .collect(),
        None => engine.runbook().steps().map(|s| s.id.as_str()).collect(),
    }
}

/// The row of the current step in `row_ids`.
pub fn current_row(engine: &Engine) -> usize {
    let ids = row_ids(engine);
    engine
        .current()
        .and_then(|c| ids.iter().position(|i| *i == c))
        .unwrap_or(ids.len().saturating_sub(1))
}

#[cfg(test)]
mod tests;
