//! Builds the typed `Runbook` from the spanned YAML tree, checking each value where it is read
//! (types, required keys, unknown keys, durations, offsets, enums) and remembering where values
//! were, so `validate` can point cross-step problems at the right line.

use super::locations::Locations;
use super::reader::{Fields, Findings, nearest, scalar_text};
use super::units::Units;
use super::yaml::{Located, Node, pos_of};
use crate::core::runbook::diag::Pos;
use crate::core::runbook::model::*;
use crate::core::runbook::signals::{CanaryStage, Metric, Signals};
use crate::core::time::{Ms, human};

const TOP_KEYS: &[&str] = &[
    "version",
    "title",
    "description",
    "strategy",
    "platforms",
    "t0",
    "rollback_window",
    "recovery",
    "phases",
    "rollback",
    "connections",
    "metrics",
    "triggers",
    "canary",
    "scenarios",
    "roles",
    "two_person",
];
const PLATFORMS_KEYS: &[&str] = &["source", "target"];
const PLATFORM_KEYS: &[&str] = &["name"];
const PHASE_KEYS: &[&str] = &["id", "title", "steps"];
const ROLLBACK_KEYS: &[&str] = &["title", "steps"];
const PROCEDURE_KEYS: &[&str] = &["id", "title", "after", "once", "steps"];
const STEP_KEYS: &[&str] = &[
    "id",
    "title",
    "at",
    "owner",
    "description",
    "expect",
    "run",
    "verify",
    "timeout",
    "on_failure",
    "retries",
    "retry_delay",
    "hold",
    "rerun_safe",
    "point_of_no_return",
    "undoes",
    "weight",
    "gates",
    "advance",
    "on_gate_fail",
    "undo_cost",
    "until",
];
const STRATEGIES: &[&str] = &["blue-green", "canary", "phased", "big-bang"];
const ON_FAILURE: &[&str] = &["pause", "retry", "rollback", "continue"];

/// Reads the whole tree; returns the model when the structure allowed building one.
pub fn build(sink: &mut Findings, root: &Located, spots: &mut Locations) -> Option<Runbook> {
    let mut top = Fields::open(sink, root, "the runbook", TOP_KEYS)?;
    top.rename("the runbook");
    let version = match top.get("version") {
        None => {
            sink.error(
                top.pos(),
                "the runbook is missing `version`",
                "add `version: 1` as the first line",
            );
            None
        }
        Some(v) => match v.value {
            Node::Int(1) => Some(1),
            _ => {
                sink.error(
                    pos_of(v),
                    "unsupported `version`: this cutover reads version 1",
                    "write `version: 1`",
                );
                None
            }
        },
    };
    let title = top.req_str(
        sink,
        "title",
        "add `title: Snowflake → Databricks cutover` (shown in the header)",
    );
    let description = top.opt_str(sink, "description");
    let strategy = match top.req_str(
        sink,
        "strategy",
        "add `strategy: blue-green` (or canary, phased, big-bang)",
    ) {
        Some(s) => match s.as_str() {
            "blue-green" => Some(Strategy::BlueGreen),
            "canary" => Some(Strategy::Canary),
            "phased" => Some(Strategy::Phased),
            "big-bang" => Some(Strategy::BigBang),
            other => {
                let near = nearest(other, STRATEGIES)
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                sink.error(
                    top.pos_of("strategy"),
                    format!("unknown strategy `{other}`"),
                    format!("{near}use one of: {}", STRATEGIES.join(", ")),
                );
                None
            }
        },
        None => None,
    };
    let (source, target) = platforms(sink, &top);
    let t0 = top
        .opt_str(sink, "t0")
        .and_then(|s| match chrono::DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Some(t.with_timezone(&chrono::Utc)),
            Err(e) => {
                sink.error(
                    top.pos_of("t0"),
                    format!("`t0` is not an RFC 3339 time: {e}"),
                    "write e.g. `t0: 2026-12-05T02:00:00Z` (quote it if your editor complains)",
                );
                None
            }
        });
    let rollback_window = top.opt_duration(sink, "rollback_window");
    let recovery = top.opt_str(sink, "recovery");
    // Metrics before steps and triggers: a threshold's unit is converted to its metric's
    // where the condition is read, and canary gates sit on steps.
    let metrics = top
        .get("metrics")
        .map(|n| super::build_signals::metrics(sink, n, spots))
        .unwrap_or_default();
    spots.units = Units::of(&metrics);

    let mut phases = Vec::new();
    match top.get("phases") {
        None => sink.error(
            top.pos(),
            "the runbook is missing `phases`",
            "add `phases:` with at least one phase of steps",
        ),
        Some(node) => match &node.value {
            Node::Seq(items) if items.is_empty() => sink.error(
                pos_of(node),
                "`phases` is empty",
                "add at least one phase with steps",
            ),
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(p) = phase(sink, item, i, spots) {
                        phases.push(p);
                    }
                }
            }
            other => sink.error(
                pos_of(node),
                format!("`phases` must be a list, found {}", other.kind()),
                "write each phase as a list item: `- id: window`",
            ),
        },
    }
    let rollbacks = top
        .get("rollback")
        .map(|n| procedures(sink, n, spots))
        .unwrap_or_default();
    let signals = signals(sink, &top, spots, &phases, metrics);
    apply_weights(sink, &mut phases, &signals);
    let team = super::build_team::team(sink, &top);
    top.finish(sink);

    Some(Runbook {
        path: sink.file.to_path_buf(),
        dir: std::fs::canonicalize(sink.file)
            .ok()
            .and_then(|p| p.parent().map(|d| d.to_path_buf()))
            .or_else(|| sink.file.parent().map(|p| p.to_path_buf()))
            .unwrap_or_default(),
        version: version?,
        title: title?,
        strategy: strategy?,
        description,
        source: source?,
        target: target?,
        t0,
        rollback_window,
        recovery,
        phases,
        rollbacks,
        signals,
        team,
        fingerprint: String::new(),
    })
}

/// A canary stage's step runs the set-weight command with `{weight}` replaced in its own
/// arguments (never spliced into a shell line), unless the step has its own `run`.
fn apply_weights(sink: &mut Findings, phases: &mut [Phase], signals: &Signals) {
    for step in phases.iter_mut().flat_map(|p| p.steps.iter_mut()) {
        let Some(w) = step.stage.as_ref().and_then(|s| s.weight) else {
            continue;
        };
        let fill = |argv: &[String]| -> Vec<String> {
            argv.iter()
                .map(|a| a.replace("{weight}", &w.to_string()))
                .collect()
        };
        match &step.run {
            Some(Command::Argv(argv)) => step.run = Some(Command::Argv(fill(argv))),
            Some(Command::Shell(line)) if line.contains("{weight}") => sink.error(
                step.pos,
                format!("step `{}` splices `{{weight}}` into a shell line", step.id),
                "write `run` as a list so the weight is its own argument: `run: [\"./scripts/set-weight.sh\", \"{weight}\"]`",
            ),
            Some(Command::Shell(_)) => {}
            None => match &signals.set_weight {
                Some(argv) => step.run = Some(Command::Argv(fill(argv))),
                None => sink.error(
                    step.pos,
                    format!("step `{}` sets weight {w} but nothing says how", step.id),
                    "add `canary: { set_weight: [\"./scripts/set-weight.sh\", \"{weight}\"] }` at the top level, or give the step its own `run`",
                ),
            },
        }
    }
}

fn signals(
    sink: &mut Findings,
    top: &Fields,
    spots: &mut Locations,
    phases: &[Phase],
    metrics: Vec<Metric>,
) -> Signals {
    use super::build_signals as bs;
    let stages = phases
        .iter()
        .flat_map(|p| p.steps.iter())
        .filter_map(|s| s.stage.clone().map(|st| (s.id.clone(), st)))
        .collect();
    Signals {
        connections: top
            .get("connections")
            .map(|n| bs::connections(sink, n))
            .unwrap_or_default(),
        metrics,
        triggers: top
            .get("triggers")
            .map(|n| bs::triggers(sink, n, spots))
            .unwrap_or_default(),
        set_weight: top.get("canary").and_then(|n| bs::canary(sink, n)),
        stages,
        scenarios: top
            .get("scenarios")
            .map(|n| bs::scenarios(sink, n, spots))
            .unwrap_or_default(),
    }
}

fn platforms(sink: &mut Findings, top: &Fields) -> (Option<Platform>, Option<Platform>) {
    let Some(node) = top.get("platforms") else {
        sink.error(
            top.pos(),
            "the runbook is missing `platforms`",
            "add `platforms: { source: { name: Snowflake }, target: { name: Databricks } }`",
        );
        return (None, None);
    };
    let Some(f) = Fields::open(sink, node, "`platforms`", PLATFORMS_KEYS) else {
        return (None, None);
    };
    let mut side = |key: &str, example: &str| -> Option<Platform> {
        let Some(n) = f.get(key) else {
            sink.error(
                f.pos(),
                format!("`platforms` is missing `{key}`"),
                format!("add `{key}: {{ name: {example} }}`"),
            );
            return None;
        };
        let p = Fields::open(sink, n, format!("platform `{key}`"), PLATFORM_KEYS)?;
        let name = p.req_str(sink, "name", &format!("add `name: {example}`"));
        p.finish(sink);
        Some(Platform { name: name? })
    };
    let s = side("source", "Snowflake");
    let t = side("target", "Databricks");
    f.finish(sink);
    (s, t)
}

fn phase(
    sink: &mut Findings,
    node: &Located,
    index: usize,
    spots: &mut Locations,
) -> Option<Phase> {
    let mut f = Fields::open(sink, node, format!("phase {}", index + 1), PHASE_KEYS)?;
    let id = f.req_str(sink, "id", "give the phase an id, e.g. `id: window`");
    if let Some(id) = &id {
        f.rename(format!("phase `{id}`"));
    }
    let title = f.opt_str(sink, "title");
    let steps = match f.get("steps") {
        None => {
            sink.error(
                f.pos(),
                format!("phase `{}` has no steps", id.as_deref().unwrap_or("?")),
                "add `steps:` with at least one step, or remove the phase",
            );
            Vec::new()
        }
        Some(n) => steps(sink, n, id.as_deref().unwrap_or("?"), false, spots),
    };
    f.finish(sink);
    let id = id?;
    Some(Phase {
        title: title.unwrap_or_else(|| id.clone()),
        id,
        steps,
        pos: pos_of(node),
    })
}

/// `rollback:` is one procedure (a mapping) or several (a list, each with an `id` and, after
/// the first, the forward step `after` which it applies).
fn procedures(sink: &mut Findings, node: &Located, spots: &mut Locations) -> Vec<Procedure> {
    match &node.value {
        Node::Seq(items) if items.is_empty() => {
            sink.error(
                pos_of(node),
                "`rollback` lists no procedures",
                "list at least one procedure, or write one as a mapping with `title` and `steps`",
            );
            Vec::new()
        }
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| procedure(sink, n, spots, Some(i)))
            .collect(),
        _ => procedure(sink, node, spots, None).into_iter().collect(),
    }
}

fn procedure(
    sink: &mut Findings,
    node: &Located,
    spots: &mut Locations,
    index: Option<usize>,
) -> Option<Procedure> {
    let (what, keys) = match index {
        None => ("`rollback`".to_string(), ROLLBACK_KEYS),
        Some(i) => (format!("rollback procedure {}", i + 1), PROCEDURE_KEYS),
    };
    let f = Fields::open(sink, node, what.clone(), keys)?;
    let id = match index {
        None => Some("rollback".to_string()),
        Some(_) => f.req_str(
            sink,
            "id",
            "give each rollback procedure an id, e.g. `id: after-switch`",
        ),
    };
    let after = f.opt_str(sink, "after");
    if let Some(a) = &after {
        spots.note(f.pos(), "after", a, f.pos_of("after"));
    }
    let after_done = match f.opt_str(sink, "once").as_deref() {
        None | Some("started") => false,
        Some("done") => true,
        Some(other) => {
            sink.error(
                f.pos_of("once"),
                format!("unknown `once: {other}` in {what}"),
                "use `once: started` (the default: the procedure applies as soon as its `after` step starts) or `once: done` (only once that step is done)",
            );
            false
        }
    };
    if after_done && after.is_none() {
        sink.error(
            f.pos_of("once"),
            format!("{what} has `once` but no `after`"),
            "add `after: STEP` naming the forward step it waits for, or remove `once`",
        );
    }
    let title = f.opt_str(sink, "title");
    let list = match f.get("steps") {
        None => {
            sink.error(
                f.pos(),
                "the rollback procedure has no steps",
                "add `steps:` listing how to restore the source platform",
            );
            Vec::new()
        }
        Some(n) => steps(sink, n, "rollback", true, spots),
    };
    f.finish(sink);
    Some(Procedure {
        title: title.unwrap_or_else(|| "Rollback".into()),
        id: id?,
        after,
        after_done,
        steps: list,
        pos: pos_of(node),
    })
}

fn steps(
    sink: &mut Findings,
    node: &Located,
    phase: &str,
    rollback: bool,
    spots: &mut Locations,
) -> Vec<Step> {
    let where_ = if rollback {
        "the rollback procedure".to_string()
    } else {
        format!("phase `{phase}`")
    };
    match &node.value {
        Node::Seq(items) if items.is_empty() => {
            sink.error(
                pos_of(node),
                format!("{where_} has no steps"),
                "add at least one step, or remove it",
            );
            Vec::new()
        }
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| step(sink, n, phase, i, rollback, spots))
            .collect(),
        other => {
            sink.error(
                pos_of(node),
                format!("`steps` of {where_} must be a list, found {}", other.kind()),
                "write each step as a list item: `- id: freeze-writes`",
            );
            Vec::new()
        }
    }
}

fn command(sink: &mut Findings, f: &Fields, key: &str, what: &str) -> Option<Command> {
    let node = f.get(key)?;
    let hint = format!(
        "write `{key}: [\"./scripts/x.sh\", \"--flag\"]` (no shell) or `{key}: \"./scripts/x.sh --flag\"` (run with sh -c)"
    );
    match &node.value {
        Node::Str(s) if !s.trim().is_empty() => Some(Command::Shell(s.clone())),
        Node::Seq(items) if !items.is_empty() => {
            let mut argv = Vec::new();
            for it in items {
                match &it.value {
                    Node::Str(s) => argv.push(s.clone()),
                    Node::Int(i) => argv.push(i.to_string()),
                    Node::Float(x) => argv.push(x.to_string()),
                    other => {
                        sink.error(
                            pos_of(it),
                            format!(
                                "argument of `{key}` in {what} must be text, found {}",
                                other.kind()
                            ),
                            hint.clone(),
                        );
                        return None;
                    }
                }
            }
            if argv[0].trim().is_empty() {
                sink.error(
                    pos_of(node),
                    format!("`{key}` of {what} names no program"),
                    hint,
                );
                return None;
            }
            Some(Command::Argv(argv))
        }
        other => {
            sink.error(
                pos_of(node),
                format!(
                    "`{key}` of {what} must be a command, found {}",
                    if matches!(other, Node::Str(_) | Node::Seq(_)) {
                        "an empty one".to_string()
                    } else {
                        other.kind().to_string()
                    }
                ),
                hint,
            );
            None
        }
    }
}

fn step(
    sink: &mut Findings,
    node: &Located,
    phase: &str,
    index: usize,
    rollback: bool,
    spots: &mut Locations,
) -> Option<Step> {
    let scope = if rollback {
        "rollback".to_string()
    } else {
        format!("phase `{phase}`")
    };
    let mut f = Fields::open(
        sink,
        node,
        format!("step {} of {scope}", index + 1),
        STEP_KEYS,
    )?;
    let id = f.req_str(
        sink,
        "id",
        "give the step a short unique id, e.g. `id: freeze-writes`",
    );
    let what = match &id {
        Some(id) => format!("step `{id}`"),
        None => format!("step {} of {scope}", index + 1),
    };
    f.rename(what.clone());
    let keys = step_keys(sink, &f, &what, rollback, spots);
    check_step_keys(sink, &f, &what, rollback, &keys);
    if let Some(id) = &id {
        remember_step(spots, &f, id, &keys);
    }
    let pos = f.pos();
    f.finish(sink);
    keys.into_step(id?, phase, pos)
}

/// A step's keys as read, before the defaults are filled in.
struct StepKeys {
    title: Option<String>,
    at: Option<(Ms, String)>,
    owner: Option<String>,
    description: Option<String>,
    expect: Option<Ms>,
    run: Option<Command>,
    verify: Option<Command>,
    timeout: Option<Ms>,
    retries: Option<u32>,
    retry_delay: Option<Ms>,
    hold: Option<Ms>,
    rerun_safe: bool,
    point_of_no_return: bool,
    undo_cost: Option<Ms>,
    stage: Option<CanaryStage>,
    until: Option<crate::core::runbook::signals::Until>,
    on_failure: OnFailure,
    undoes: Vec<String>,
}

impl StepKeys {
    fn into_step(self, id: String, phase: &str, pos: Pos) -> Option<Step> {
        let on_failure = self.on_failure;
        Some(Step {
            id,
            title: self.title?,
            phase: phase.to_string(),
            at: self.at.map(|(t, _)| t),
            owner: self.owner,
            description: self.description,
            expect: self.expect,
            run: self.run,
            verify: self.verify,
            timeout: self.timeout.filter(|d| *d > 0).unwrap_or(DEFAULT_TIMEOUT),
            on_failure,
            retries: self
                .retries
                .unwrap_or(if on_failure == OnFailure::Retry { 2 } else { 0 }),
            retry_delay: self.retry_delay.unwrap_or(0),
            hold: self.hold,
            rerun_safe: self.rerun_safe,
            point_of_no_return: self.point_of_no_return,
            undoes: self.undoes,
            stage: self.stage,
            until: self.until,
            undo_cost: self.undo_cost,
            pos,
        })
    }
}

/// Reads every key but `id`, in the order their diagnostics have always come out.
fn step_keys(
    sink: &mut Findings,
    f: &Fields,
    what: &str,
    rollback: bool,
    spots: &mut Locations,
) -> StepKeys {
    let title = f.req_str(
        sink,
        "title",
        "add `title:` saying what the step does, e.g. `title: Enable source write freeze`",
    );
    let at = f.opt_offset(sink, "at");
    let owner = f.opt_str(sink, "owner");
    let description = f.opt_str(sink, "description");
    let expect = f.opt_duration(sink, "expect");
    let run = command(sink, f, "run", what);
    let verify = command(sink, f, "verify", what);
    let timeout = f.opt_duration(sink, "timeout");
    let retries = f.opt_uint(sink, "retries");
    let retry_delay = f.opt_duration(sink, "retry_delay");
    let hold = f.opt_duration(sink, "hold");
    let rerun_safe = f.flag(sink, "rerun_safe");
    let point_of_no_return = f.flag(sink, "point_of_no_return");
    let (undo_cost, stage) = forward_only_keys(sink, f, what, rollback, spots);
    if let Some(st) = &stage {
        gate_timing(sink, f, what, st, hold);
    }
    let until = super::build_signals::until(sink, f, what, spots);
    if until.is_some() && stage.is_some() {
        sink.error(
            f.pos_of("until"),
            format!("{what} is a canary stage and has `until`"),
            "a stage waits for its gates; put the `until` on a step of its own after the stage",
        );
    }
    let on_failure = on_failure(sink, f, what);
    let undoes = undoes(sink, f, what, spots);
    StepKeys {
        title,
        at,
        owner,
        description,
        expect,
        run,
        verify,
        timeout,
        retries,
        retry_delay,
        hold,
        rerun_safe,
        point_of_no_return,
        undo_cost,
        stage,
        until,
        on_failure,
        undoes,
    }
}

/// Gates that cannot do their job in the time the stage gives them: a `for` longer than
/// the stage's hold can never fail (the stage advances once the hold is over and a fresh
/// sample holds), and a gate with no `for` on a stage that rolls back fails on one noisy
/// sample.
fn gate_timing(
    sink: &mut Findings,
    f: &Fields,
    what: &str,
    st: &crate::core::runbook::signals::CanaryStage,
    hold: Option<Ms>,
) {
    use crate::core::runbook::signals::GateFail;
    use crate::core::time::human;
    let at = if f.get("hold").is_some() {
        f.pos_of("hold")
    } else {
        f.pos_of("gates")
    };
    let longest = st.gates.iter().map(|g| g.sustain).max().unwrap_or(0);
    if longest > hold.unwrap_or(0) {
        let held = hold.map_or("no hold".to_string(), |h| format!("a hold of {}", human(h)));
        sink.warn(
            at,
            format!(
                "a gate of {what} has `for: {}` but the stage has {held}: the stage advances as soon as its hold is over and a fresh sample holds, so a violation can never last long enough to fail that gate",
                human(longest)
            ),
            format!("give the stage `hold: {}` or more", human(longest)),
        );
    }
    if st.on_fail == GateFail::Rollback {
        for g in st.gates.iter().filter(|g| g.sustain == 0) {
            sink.warn(
                f.pos_of("gates"),
                format!(
                    "gate `{}` of {what} has no `for`: one noisy sample fails it, and this stage rolls back on a failed gate",
                    g.check.text
                ),
                format!(
                    "write it as `{{ check: \"{}\", for: 2m }}`",
                    g.check.text
                ),
            );
        }
    }
}

/// `undo_cost` and the canary keys, reported when a rollback step has them (each report
/// right after its key is read, so reports at one position keep their order).
fn forward_only_keys(
    sink: &mut Findings,
    f: &Fields,
    what: &str,
    rollback: bool,
    spots: &mut Locations,
) -> (Option<Ms>, Option<CanaryStage>) {
    let undo_cost = f.opt_duration(sink, "undo_cost");
    if rollback && undo_cost.is_some() {
        sink.error(
            f.pos_of("undo_cost"),
            format!("rollback {what} has an `undo_cost`"),
            "`undo_cost` belongs on forward steps: what undoing them adds to a rollback",
        );
    }
    let stage = super::build_signals::stage(sink, f, what, spots);
    if rollback && stage.is_some() {
        sink.error(
            f.pos(),
            format!("rollback {what} has canary keys (weight, gates, advance, on_gate_fail)"),
            "canary stages are forward steps; remove those keys here",
        );
    }
    (undo_cost, stage)
}

/// `on_failure`; absent or unknown: pause, the safe choice.
fn on_failure(sink: &mut Findings, f: &Fields, what: &str) -> OnFailure {
    let Some(s) = f.opt_str(sink, "on_failure") else {
        return OnFailure::Pause;
    };
    match s.as_str() {
        "pause" => OnFailure::Pause,
        "retry" => OnFailure::Retry,
        "rollback" => OnFailure::Rollback,
        "continue" => OnFailure::Continue,
        other => {
            let near = nearest(other, ON_FAILURE)
                .map(|n| format!("did you mean `{n}`? "))
                .unwrap_or_default();
            sink.error(
                f.pos_of("on_failure"),
                format!("unknown on_failure `{other}` in {what}"),
                format!("{near}use one of: {}", ON_FAILURE.join(", ")),
            );
            OnFailure::Pause
        }
    }
}

/// `undoes`: one step id or a list of them, each noted where it is written.
fn undoes(sink: &mut Findings, f: &Fields, what: &str, spots: &mut Locations) -> Vec<String> {
    let Some(n) = f.get("undoes") else {
        return Vec::new();
    };
    match &n.value {
        Node::Str(s) => {
            spots.note(f.pos(), "undoes", s, pos_of(n));
            vec![s.clone()]
        }
        Node::Seq(items) => items
            .iter()
            .filter_map(|i| match &i.value {
                Node::Str(s) => {
                    spots.note(f.pos(), "undoes", s, pos_of(i));
                    Some(s.clone())
                }
                _ => None,
            })
            .collect(),
        other => {
            sink.error(
                pos_of(n),
                format!(
                    "`undoes` of {what} must be a step id or a list of them, found {}",
                    other.kind()
                ),
                "write `undoes: [freeze-writes]`",
            );
            Vec::new()
        }
    }
}

/// Checks that need several keys, or whether the step is a rollback step.
fn check_step_keys(sink: &mut Findings, f: &Fields, what: &str, rollback: bool, k: &StepKeys) {
    if let Some(d) = k.timeout
        && d <= 0
    {
        sink.error(
            f.pos_of("timeout"),
            format!("`timeout` of {what} must be longer than zero"),
            "write e.g. `timeout: 5m`",
        );
    }
    expect_within_timeout(sink, f, what, k);
    if k.retries.is_some() && k.on_failure != OnFailure::Retry {
        sink.warn(
            f.pos_of("retries"),
            format!("`retries` of {what} has no effect without `on_failure: retry`"),
            "add `on_failure: retry` or remove `retries`",
        );
    }
    if rollback {
        check_rollback_step(sink, f, what, k);
    } else if !k.undoes.is_empty() {
        sink.error(
            f.pos_of("undoes"),
            format!("forward {what} has `undoes`"),
            "`undoes` belongs on rollback steps, naming the forward steps they reverse",
        );
    }
}

/// A command is stopped when its timeout runs out, so a step expected to take longer than
/// that would be cut short every time. Manual steps run no command: their timeout is moot.
fn expect_within_timeout(sink: &mut Findings, f: &Fields, what: &str, k: &StepKeys) {
    let runs = k.run.is_some() || k.stage.as_ref().is_some_and(|s| s.weight.is_some());
    let Some(expect) = k.expect.filter(|_| runs) else {
        return;
    };
    let written = |key: &str| {
        f.get(key)
            .and_then(|v| scalar_text(&v.value))
            .unwrap_or_default()
    };
    let (limit, limit_said) = match k.timeout {
        // A zero timeout is an error of its own.
        Some(t) if t <= 0 => return,
        Some(t) => (
            t,
            format!(
                "its `timeout: {}` (line {})",
                written("timeout"),
                f.pos_of("timeout").line
            ),
        ),
        None => (
            DEFAULT_TIMEOUT,
            format!("the default timeout of {}", human(DEFAULT_TIMEOUT)),
        ),
    };
    if expect <= limit {
        return;
    }
    sink.warn(
        f.pos_of("expect"),
        format!(
            "`expect: {}` of {what} is longer than {limit_said}: the command would be stopped before it is expected to finish",
            written("expect")
        ),
        format!(
            "give the command room with `timeout: {}` (or more), or shorten `expect` if the step is quicker",
            human(expect.saturating_mul(2))
        ),
    );
}

/// A rollback step runs as soon as the rollback reaches it and cannot itself be undone.
fn check_rollback_step(sink: &mut Findings, f: &Fields, what: &str, k: &StepKeys) {
    if k.at.is_some() {
        sink.error(
            f.pos_of("at"),
            format!("rollback {what} has an `at` time"),
            "rollback steps run one after another as soon as the rollback starts; remove `at`",
        );
    }
    if k.on_failure == OnFailure::Rollback {
        sink.error(
            f.pos_of("on_failure"),
            format!("rollback {what} cannot roll back on failure"),
            "use `on_failure: pause` (stop and ask), `retry` or `continue`",
        );
    }
    if k.point_of_no_return {
        sink.error(
            f.pos_of("point_of_no_return"),
            format!("rollback {what} is marked point_of_no_return"),
            "only forward steps can be a point of no return; remove it",
        );
    }
}

/// Keeps where the keys that cross-step checks report on were, and `at` as written.
fn remember_step(spots: &mut Locations, f: &Fields, id: &str, k: &StepKeys) {
    for key in [
        "at",
        "on_failure",
        "run",
        "verify",
        "undoes",
        "owner",
        "expect",
        "gates",
        "on_gate_fail",
        "until",
    ] {
        if f.get(key).is_some() {
            spots.keys.insert((id.to_string(), key), f.pos_of(key));
        }
    }
    if let Some((_, text)) = &k.at {
        spots.at_text.insert(id.to_string(), text.clone());
    }
}
