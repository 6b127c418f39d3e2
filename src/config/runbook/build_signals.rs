//! Builds the monitoring part of the runbook (`connections`, `metrics`, `triggers`,
//! `canary`, canary stage keys on steps, `scenarios`) from the spanned tree, checking each
//! value where it is read. Cross-references (a trigger's metric, a scenario's step) are
//! checked afterwards by `validate_signals`, when everything is known.

use super::condition;
use super::locations::Locations;
use super::reader::{Fields, Findings, nearest, scalar_text};
use super::yaml::{Located, Node, pos_of};
use crate::core::runbook::diag::Pos;
use crate::core::runbook::signals::Query;
use crate::core::runbook::signals::*;
use crate::core::time::{Ms, parse_offset};
use std::collections::BTreeMap;

const KINDS: &[&str] = &[
    "databricks_sql",
    "snowflake_sql",
    "postgres",
    "prometheus",
    "http_json",
];

/// Keys each connection kind accepts (besides `kind`).
pub fn connection_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "databricks_sql" => &[
            "kind",
            "host",
            "token",
            "client_id",
            "client_secret",
            "warehouse_id",
            "catalog",
            "schema",
            "wait_timeout",
        ],
        "snowflake_sql" => &[
            "kind",
            "account",
            "url",
            "token",
            "token_type",
            "user",
            "private_key_file",
            "warehouse",
            "database",
            "schema",
            "role",
        ],
        "postgres" => &[
            "kind", "host", "port", "dbname", "user", "password", "tls", "flavor",
        ],
        "prometheus" => &["kind", "url", "token"],
        "http_json" => &["kind", "url", "headers"],
        _ => &["kind"],
    }
}

/// Settings that hold secrets: they must be `${env:NAME}` references.
pub const SECRET_KEYS: &[&str] = &["token", "client_secret", "password"];

/// `connections:` → list.
pub fn connections(sink: &mut Findings, node: &Located) -> Vec<Connection> {
    let Node::Map(entries) = &node.value else {
        sink.error(
            pos_of(node),
            format!("`connections` must be a mapping of names to settings, found {}", node.value.kind()),
            "write `connections:` then `  databricks: { kind: databricks_sql, host: …, token: ${env:DATABRICKS_TOKEN}, warehouse_id: … }`",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, v) in entries {
        let what = format!("connection `{}`", name.value);
        let kind = match &v.value {
            Node::Map(kv) => kv
                .iter()
                .find(|(k, _)| k.value == "kind")
                .and_then(|(_, k)| scalar_text(&k.value)),
            _ => None,
        };
        let Some(kind) = kind else {
            sink.error(
                pos_of(v),
                format!("{what} has no `kind`"),
                format!("add `kind:` — one of {}", KINDS.join(", ")),
            );
            continue;
        };
        if !KINDS.contains(&kind.as_str()) {
            let near = nearest(&kind, KINDS)
                .map(|n| format!("did you mean `{n}`? "))
                .unwrap_or_default();
            sink.error(
                pos_of(v),
                format!("{what} has unknown kind `{kind}`"),
                format!("{near}use one of: {}", KINDS.join(", ")),
            );
            continue;
        }
        let Some(f) = Fields::open(sink, v, what.clone(), connection_keys(&kind)) else {
            continue;
        };
        let mut fields = BTreeMap::new();
        let mut headers = Vec::new();
        if let Node::Map(kv) = &v.value {
            for (k, val) in kv {
                if k.value == "kind" {
                    continue;
                }
                if k.value == "headers" {
                    match &val.value {
                        Node::Map(hs) => {
                            for (hk, hv) in hs {
                                match scalar_text(&hv.value) {
                                    Some(t) => headers.push((hk.value.clone(), t, pos_of(hv))),
                                    None => sink.error(
                                        pos_of(hv),
                                        format!("header `{}` of {what} must be text", hk.value),
                                        "write `X-API-Key: ${env:PANTHER_API_KEY}`",
                                    ),
                                }
                            }
                        }
                        other => sink.error(
                            pos_of(val),
                            format!(
                                "`headers` of {what} must be a mapping, found {}",
                                other.kind()
                            ),
                            "write `headers: { X-API-Key: ${env:PANTHER_API_KEY} }`",
                        ),
                    }
                    continue;
                }
                match scalar_text(&val.value) {
                    Some(t) => {
                        fields.insert(k.value.clone(), (t, pos_of(val)));
                    }
                    None => sink.error(
                        pos_of(val),
                        format!(
                            "`{}` of {what} must be text, found {}",
                            k.value,
                            val.value.kind()
                        ),
                        format!("write `{}: value`", k.value),
                    ),
                }
            }
        }
        for key in SECRET_KEYS {
            if let Some((val, pos)) = fields.get(*key)
                && !val.contains("${env:")
            {
                sink.error(
                    *pos,
                    format!("`{key}` of {what} is written in the runbook"),
                    format!(
                        "secrets come from the environment only: write `{key}: ${{env:{}}}` and export that variable before `cutover run`",
                        env_name(&name.value, key)
                    ),
                );
            }
        }
        for (h, val, pos) in &headers {
            let lower = h.to_ascii_lowercase();
            let sensitive = lower.contains("key")
                || lower.contains("token")
                || lower.contains("auth")
                || lower.contains("secret");
            if sensitive && !val.contains("${env:") {
                sink.error(
                    *pos,
                    format!("header `{h}` of {what} carries a credential written in the runbook"),
                    format!(
                        "write `{h}: ${{env:{}}}` and export that variable before `cutover run`",
                        env_name(&name.value, "api_key")
                    ),
                );
            }
        }
        let req = |sink: &mut Findings, key: &str, example: &str| {
            if !fields.contains_key(key) {
                sink.error(
                    f.pos(),
                    format!("{what} ({kind}) is missing `{key}`"),
                    format!("add `{key}: {example}`"),
                );
            }
        };
        match kind.as_str() {
            "databricks_sql" => {
                req(sink, "host", "https://adb-1234.5.azuredatabricks.net");
                req(sink, "warehouse_id", "abcdef1234567890");
                let token = fields.contains_key("token");
                let oauth =
                    fields.contains_key("client_id") || fields.contains_key("client_secret");
                if token == oauth {
                    sink.error(
                        f.pos(),
                        format!("{what} needs exactly one way to sign in"),
                        "give either `token: ${env:DATABRICKS_TOKEN}` (personal access token) or `client_id:` and `client_secret: ${env:DATABRICKS_CLIENT_SECRET}` (OAuth service principal)",
                    );
                } else if oauth {
                    req(sink, "client_id", "<service principal application id>");
                    req(sink, "client_secret", "${env:DATABRICKS_CLIENT_SECRET}");
                }
            }
            "snowflake_sql" => {
                req(sink, "account", "MYORG-MYACCT");
                let token = fields.contains_key("token");
                let key = fields.contains_key("private_key_file");
                if token == key {
                    sink.error(
                        f.pos(),
                        format!("{what} needs exactly one way to sign in"),
                        "give `token: ${env:SNOWFLAKE_TOKEN}` with `token_type: oauth` or `programmatic_access_token`, or `user:` with `private_key_file: ${env:SNOWFLAKE_KEY_FILE}` (key-pair JWT)",
                    );
                } else if key {
                    req(sink, "user", "SVC_CUTOVER");
                }
                if let Some((tt, pos)) = fields.get("token_type")
                    && !["oauth", "programmatic_access_token"]
                        .contains(&tt.to_ascii_lowercase().as_str())
                {
                    sink.error(
                        *pos,
                        format!("unknown token_type `{tt}` in {what}"),
                        "use `oauth` or `programmatic_access_token` (key-pair JWT is chosen by `private_key_file`)",
                    );
                }
            }
            "postgres" => {
                req(
                    sink,
                    "host",
                    "my-cluster.abc123.us-east-1.redshift.amazonaws.com",
                );
                req(sink, "dbname", "dev");
                req(sink, "user", "monitor");
                if let Some((t, pos)) = fields.get("tls")
                    && !["require", "disable"].contains(&t.as_str())
                {
                    sink.error(
                        *pos,
                        format!("unknown tls `{t}` in {what}"),
                        "use `require` (default) or `disable` (local servers only)",
                    );
                }
                if let Some((p, pos)) = fields.get("port")
                    && p.parse::<u16>().is_err()
                {
                    sink.error(
                        *pos,
                        format!("`port` of {what} is not a port number"),
                        "write e.g. `port: 5439` (Redshift) or `port: 5432`",
                    );
                }
                if let Some((fl, pos)) = fields.get("flavor")
                    && !["redshift", "postgresql"].contains(&fl.as_str())
                {
                    sink.error(
                        *pos,
                        format!("unknown flavor `{fl}` in {what}"),
                        "use `redshift` (default port 5439) or `postgresql` (5432)",
                    );
                }
            }
            "prometheus" | "http_json" => req(sink, "url", "https://prometheus.internal:9090"),
            _ => {}
        }
        f.finish(sink);
        out.push(Connection {
            name: name.value.clone(),
            kind,
            fields,
            headers,
            pos: pos_of(v),
        });
    }
    out
}

fn env_name(conn: &str, key: &str) -> String {
    format!("{}_{}", conn, key)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

const METRIC_KEYS: &[&str] = &[
    "id",
    "title",
    "side",
    "unit",
    "every",
    "stale_after",
    "timeout",
    "from",
    "query",
    "path",
    "column",
    "time_column",
    "pointer",
    "run",
    "sim",
];
const SIM_KEYS: &[&str] = &["baseline", "noise", "trend", "min", "max"];

/// `metrics:` → list.
pub fn metrics(sink: &mut Findings, node: &Located, spots: &mut Locations) -> Vec<Metric> {
    list(
        sink,
        node,
        "metrics",
        "- id: target-error-rate",
        |sink, i, n| metric(sink, i, n, spots),
    )
}

fn list<T>(
    sink: &mut Findings,
    node: &Located,
    key: &str,
    example: &str,
    mut each: impl FnMut(&mut Findings, usize, &Located) -> Option<T>,
) -> Vec<T> {
    match &node.value {
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| each(sink, i, n))
            .collect(),
        other => {
            sink.error(
                pos_of(node),
                format!("`{key}` must be a list, found {}", other.kind()),
                format!("write each entry as a list item: `{example}`"),
            );
            Vec::new()
        }
    }
}

/// An optional number.
fn opt_num(sink: &mut Findings, f: &Fields, key: &str, what: &str) -> Option<f64> {
    let v = f.get(key)?;
    match &v.value {
        Node::Int(i) => Some(*i as f64),
        Node::Float(x) if x.is_finite() => Some(*x),
        other => {
            sink.error(
                pos_of(v),
                format!("`{key}` of {what} must be a number, found {}", other.kind()),
                format!("write e.g. `{key}: 0.5`"),
            );
            None
        }
    }
}

fn metric(sink: &mut Findings, i: usize, node: &Located, spots: &mut Locations) -> Option<Metric> {
    let mut f = Fields::open(sink, node, format!("metric {}", i + 1), METRIC_KEYS)?;
    let id = f.req_str(
        sink,
        "id",
        "give the metric an id, e.g. `id: target-error-rate`",
    );
    let what = id
        .as_ref()
        .map(|id| format!("metric `{id}`"))
        .unwrap_or_else(|| format!("metric {}", i + 1));
    f.rename(what.clone());
    let title = f.opt_str(sink, "title");
    let side = match f.req_str(
        sink,
        "side",
        "add `side: source` (blue pane) or `side: target` (green pane)",
    ) {
        Some(s) if s == "source" => Some(Side::Source),
        Some(s) if s == "target" => Some(Side::Target),
        Some(s) => {
            sink.error(
                f.pos_of("side"),
                format!("unknown side `{s}` in {what}"),
                "use `source` (the platform you leave) or `target` (Databricks)",
            );
            None
        }
        None => None,
    };
    let unit = f.opt_str(sink, "unit");
    let every = f.opt_duration(sink, "every").unwrap_or(30_000);
    if every < 1000 {
        sink.error(
            f.pos_of("every"),
            format!("`every` of {what} is shorter than 1s"),
            "poll at most once a second: `every: 1s` or longer",
        );
    }
    let stale_after = f.opt_duration(sink, "stale_after").unwrap_or(every * 3);
    if stale_after < every {
        sink.error(
            f.pos_of("stale_after"),
            format!("`stale_after` of {what} is shorter than its poll interval"),
            "a value would go stale before the next poll; make `stale_after` at least `every` (default: 3 × every)",
        );
    }
    let timeout = f.opt_duration(sink, "timeout").unwrap_or(every.min(30_000));
    let from = f.opt_str(sink, "from");
    let query_text = f.opt_str(sink, "query").or_else(|| f.opt_str(sink, "path"));
    let column = f.opt_str(sink, "column");
    let time_column = f.opt_str(sink, "time_column");
    let pointer = f.opt_str(sink, "pointer");
    let run = match f.get("run") {
        None => None,
        Some(n) => match &n.value {
            Node::Seq(items) if !items.is_empty() => {
                let argv: Vec<String> =
                    items.iter().filter_map(|x| scalar_text(&x.value)).collect();
                (argv.len() == items.len()).then_some(argv)
            }
            _ => {
                sink.error(
                    pos_of(n),
                    format!("`run` of {what} must be a list: the program and its arguments"),
                    "write `run: [\"./scripts/lag.sh\", \"orders\"]` (no shell: the output's last line is the value)",
                );
                None
            }
        },
    };
    if let Some(c) = &from {
        spots.note(f.pos(), "from", c, f.pos_of("from"));
    }
    if let Some(program) = run.as_ref().and_then(|argv| argv.first()) {
        spots.note(f.pos(), "run", program, f.pos_of("run"));
    }
    let live = match (&from, &run) {
        (Some(_), Some(_)) => {
            sink.error(f.pos_of("run"), format!("{what} has both `from` and `run`"), "a metric has one live reader: a connection (`from:` + `query:`) or a command (`run:`)");
            None
        }
        (Some(c), None) => {
            if query_text.is_none() && f.get("pointer").is_none() {
                sink.error(
                    f.pos(),
                    format!("{what} reads from `{c}` but says nothing to ask"),
                    "add `query:` (SQL or PromQL), or `path:` and `pointer:` for an http_json connection",
                );
            }
            Some(LiveRead::Query {
                from: c.clone(),
                query: Query {
                    text: query_text.clone().unwrap_or_default(),
                    column: column.clone(),
                    time_column: time_column.clone(),
                    pointer: pointer.clone(),
                },
            })
        }
        (None, Some(argv)) => Some(LiveRead::Command(argv.clone())),
        (None, None) => None,
    };
    let sim = f.get("sim").and_then(|n| {
        let sf = Fields::open(sink, n, format!("`sim` of {what}"), SIM_KEYS)?;
        let w = format!("`sim` of {what}");
        let baseline = opt_num(sink, &sf, "baseline", &w);
        if baseline.is_none() && sf.get("baseline").is_none() {
            sink.error(
                sf.pos(),
                format!("{w} is missing `baseline`"),
                "add `baseline: 0.2` (the value the drill shows when nothing is wrong)",
            );
        }
        let s = Sim {
            baseline: baseline.unwrap_or(0.0),
            noise: opt_num(sink, &sf, "noise", &w).unwrap_or(0.0).abs(),
            trend: opt_num(sink, &sf, "trend", &w).unwrap_or(0.0),
            min: opt_num(sink, &sf, "min", &w).unwrap_or(0.0),
            max: opt_num(sink, &sf, "max", &w),
        };
        sf.finish(sink);
        baseline.map(|_| s)
    });
    if live.is_none() && sim.is_none() {
        sink.error(
            f.pos(),
            format!("{what} has no reader"),
            "add a live reader (`from:` + `query:`, or `run:`) and a drill simulation (`sim: { baseline: … }`)",
        );
    }
    f.finish(sink);
    Some(Metric {
        title: title.unwrap_or_else(|| id.clone().unwrap_or_default()),
        id: id?,
        side: side?,
        unit,
        every,
        stale_after,
        timeout,
        live,
        sim,
        pos: pos_of(node),
    })
}

/// Where a condition is: the mapping that owns it (a trigger, or a canary stage's step) and
/// the key it is listed under there, for `validate_signals` to find its metric's name.
#[derive(Clone, Copy)]
struct CondAt {
    owner: Pos,
    key: &'static str,
}

/// Reads a condition string at `key` of `f`.
fn cond_at(
    sink: &mut Findings,
    f: &Fields,
    key: &str,
    what: &str,
    spots: &mut Locations,
    at: CondAt,
) -> Option<Condition> {
    let text = f.req_str(sink, key, &format!("add `{key}: target-error-rate > 1%`"))?;
    cond_text(sink, f.pos_of(key), &text, what, spots, at)
}

/// Parses a condition written at `pos` and converts its threshold to the metric's unit.
fn cond_text(
    sink: &mut Findings,
    pos: Pos,
    text: &str,
    what: &str,
    spots: &mut Locations,
    at: CondAt,
) -> Option<Condition> {
    match condition::parse(text) {
        Ok(parsed) => {
            // The metric's id is the condition's first word, so its place is the value's.
            spots.note(at.owner, at.key, &parsed.cond.metric, pos);
            Some(super::units::resolve(sink, pos, what, parsed, &spots.units))
        }
        Err(e) => {
            sink.error(pos, format!("{what}: {}", e.message), e.hint);
            None
        }
    }
}

fn baseline(sink: &mut Findings, f: &Fields, what: &str, metric: Option<&str>) -> Option<Baseline> {
    let n = f.get("baseline")?;
    let of_default = metric.unwrap_or_default().to_string();
    match &n.value {
        Node::Int(i) => Some(Baseline::Fixed(*i as f64)),
        Node::Float(x) => Some(Baseline::Fixed(*x)),
        Node::Str(s) => Some(Baseline::Metric(s.clone())),
        Node::Map(_) => {
            let bf = Fields::open(
                sink,
                n,
                format!("`baseline` of {what}"),
                &["at_step", "mean", "of"],
            )?;
            let of = bf.opt_str(sink, "of").unwrap_or(of_default);
            let out = match (bf.opt_str(sink, "at_step"), bf.opt_str(sink, "mean")) {
                (Some(step), None) => Some(Baseline::AtStep { step, of }),
                (None, Some(w)) => match window(&w) {
                    Ok((from, to)) => Some(Baseline::Mean { from, to, of }),
                    Err(e) => {
                        sink.error(
                            bf.pos_of("mean"),
                            format!("`mean` of {what}: {e}"),
                            "write a window of the T clock, e.g. `mean: T-1h..T-0`",
                        );
                        None
                    }
                },
                _ => {
                    sink.error(bf.pos(), format!("`baseline` of {what} needs exactly one of `at_step` and `mean`"), "write `baseline: { at_step: switch-dns }` or `baseline: { mean: T-1h..T-0 }`");
                    None
                }
            };
            bf.finish(sink);
            out
        }
        other => {
            sink.error(pos_of(n), format!("`baseline` of {what} must be a number, a metric id or a mapping, found {}", other.kind()), "write `baseline: 450`, `baseline: source-latency-p95`, `baseline: { at_step: switch-dns }` or `baseline: { mean: T-1h..T-0 }`");
            None
        }
    }
}

/// `T-1h..T-0` → (from, to).
pub fn window(s: &str) -> Result<(Ms, Ms), String> {
    let Some((a, b)) = s.split_once("..") else {
        return Err(format!("`{s}` is not a window"));
    };
    let from = parse_offset(a.trim())?;
    let to = parse_offset(b.trim())?;
    if to <= from {
        return Err(format!("the window `{s}` ends before it starts"));
    }
    Ok((from, to))
}

const TRIGGER_KEYS: &[&str] = &[
    "id",
    "title",
    "when",
    "baseline",
    "for",
    "min_samples",
    "action",
    "grace",
    "veto_for",
    "decide",
    "on_unknown",
    "dry_run",
    "after",
    "until",
];
const ACTIONS: &[&str] = &["rollback", "decide", "alert"];
/// How long a veto holds when the trigger does not say: long enough to look into a breach,
/// short enough that a breach nobody fixed acts again within the window.
const DEFAULT_VETO_FOR: crate::core::time::Ms = 30 * 60_000;
const UNKNOWN_ACTIONS: &[&str] = &["ignore", "alert", "decide", "hold"];

/// `triggers:` → list.
pub fn triggers(sink: &mut Findings, node: &Located, spots: &mut Locations) -> Vec<Trigger> {
    list(sink, node, "triggers", "- id: error-rate", |sink, i, n| {
        trigger(sink, i, n, spots)
    })
}

fn choice(sink: &mut Findings, f: &Fields, key: &str, what: &str) -> Option<Choice> {
    match f.opt_str(sink, key)?.as_str() {
        "rollback" => Some(Choice::Rollback),
        "continue" => Some(Choice::Continue),
        other => {
            sink.error(
                f.pos_of(key),
                format!("unknown {key} `{other}` in {what}"),
                "use `rollback` or `continue`",
            );
            None
        }
    }
}

fn decide(sink: &mut Findings, f: &Fields, what: &str) -> Option<Decide> {
    let n = f.get("decide")?;
    let df = Fields::open(
        sink,
        n,
        format!("`decide` of {what}"),
        &["within", "default"],
    )?;
    let w = format!("`decide` of {what}");
    let within = df.opt_duration(sink, "within");
    if within.is_none() && df.get("within").is_none() {
        sink.error(
            df.pos(),
            format!("{w} is missing `within`"),
            "add `within: 10m`: how long the operator has to choose",
        );
    }
    let default = choice(sink, &df, "default", &w);
    if default.is_none() && df.get("default").is_none() {
        sink.error(df.pos(), format!("{w} is missing `default`"), "add `default: rollback` or `default: continue`: what happens when nobody chooses in time");
    }
    df.finish(sink);
    Some(Decide {
        within: within?,
        default: default?,
    })
}

fn trigger(
    sink: &mut Findings,
    i: usize,
    node: &Located,
    spots: &mut Locations,
) -> Option<Trigger> {
    let mut f = Fields::open(sink, node, format!("trigger {}", i + 1), TRIGGER_KEYS)?;
    let id = f.req_str(sink, "id", "give the trigger an id, e.g. `id: error-rate`");
    let what = id
        .as_ref()
        .map(|id| format!("trigger `{id}`"))
        .unwrap_or_else(|| format!("trigger {}", i + 1));
    f.rename(what.clone());
    let title = f.opt_str(sink, "title");
    let when_at = CondAt {
        owner: f.pos(),
        key: "when",
    };
    let when = cond_at(sink, &f, "when", &what, spots, when_at);
    let baseline = baseline(sink, &f, &what, when.as_ref().map(|c| c.metric.as_str()));
    spots.note_baseline(f.pos(), &f, baseline.as_ref());
    if let Some(c) = &when {
        if c.needs_baseline() && baseline.is_none() && f.get("baseline").is_none() {
            sink.error(
                f.pos_of("when"),
                format!("{what} compares with a baseline but has no `baseline`"),
                "add `baseline: source-latency-p95` (another metric), `baseline: 450` (a number), `baseline: { at_step: STEP }` or `baseline: { mean: T-1h..T-0 }`",
            );
        } else if !c.needs_baseline() && f.get("baseline").is_some() {
            sink.warn(
                f.pos_of("baseline"),
                format!("`baseline` of {what} is not used by `{}`", c.text),
                "write the condition relative to it (`> 2x baseline`) or remove `baseline`",
            );
        }
    }
    let sustain = f.opt_duration(sink, "for").unwrap_or(0);
    let min_samples = f
        .opt_uint(sink, "min_samples")
        .unwrap_or(if sustain > 0 { 3 } else { 1 })
        .max(1);
    let action = match f.req_str(
        sink,
        "action",
        "add `action: rollback`, `decide` or `alert`",
    ) {
        Some(a) => match a.as_str() {
            "rollback" => Some(TriggerAction::Rollback),
            "decide" => Some(TriggerAction::Decide),
            "alert" => Some(TriggerAction::Alert),
            other => {
                let near = nearest(other, ACTIONS)
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                sink.error(
                    f.pos_of("action"),
                    format!("unknown action `{other}` in {what}"),
                    format!("{near}use one of: {}", ACTIONS.join(", ")),
                );
                None
            }
        },
        None => None,
    };
    let grace = f.opt_duration(sink, "grace");
    if grace.is_some() && action != Some(TriggerAction::Rollback) {
        sink.error(
            f.pos_of("grace"),
            format!("`grace` of {what} applies only to `action: rollback`"),
            "remove `grace`, or make the action `rollback`",
        );
    }
    let veto_for = f.opt_duration(sink, "veto_for");
    if veto_for.is_some() && action != Some(TriggerAction::Rollback) {
        sink.error(
            f.pos_of("veto_for"),
            format!("`veto_for` of {what} applies only to `action: rollback`"),
            "remove `veto_for`, or make the action `rollback`",
        );
    }
    let dec = decide(sink, &f, &what);
    let needs_decide = action == Some(TriggerAction::Decide);
    let on_unknown = match f.get("on_unknown") {
        None => Some(OnUnknown {
            after: 10 * 60_000,
            then: UnknownAction::Alert,
        }),
        Some(n) => {
            let uf = Fields::open(
                sink,
                n,
                format!("`on_unknown` of {what}"),
                &["after", "then"],
            )?;
            let after = uf.opt_duration(sink, "after").unwrap_or(0);
            let then = match uf.opt_str(sink, "then").as_deref() {
                None => Some(UnknownAction::Alert),
                Some("ignore") => Some(UnknownAction::Ignore),
                Some("alert") => Some(UnknownAction::Alert),
                Some("decide") => Some(UnknownAction::Decide),
                Some("hold") => Some(UnknownAction::Hold),
                Some("rollback") => {
                    sink.error(uf.pos_of("then"), format!("`on_unknown` of {what} cannot roll back"), "an automatic rollback needs a breach on fresh data; use `decide` to let the operator choose, or `hold`");
                    None
                }
                Some(other) => {
                    sink.error(
                        uf.pos_of("then"),
                        format!("unknown on_unknown action `{other}` in {what}"),
                        format!("use one of: {}", UNKNOWN_ACTIONS.join(", ")),
                    );
                    None
                }
            };
            uf.finish(sink);
            then.map(|then| OnUnknown { after, then })
        }
    };
    if on_unknown.is_some_and(|u| u.then == UnknownAction::Decide)
        && dec.is_none()
        && f.get("decide").is_none()
    {
        sink.error(
            f.pos_of("on_unknown"),
            format!("{what} decides on unknown data but has no `decide`"),
            "add `decide: { within: 10m, default: continue }`",
        );
    }
    if needs_decide && dec.is_none() && f.get("decide").is_none() {
        sink.error(f.pos_of("action"), format!("{what} asks for a decision but has no `decide`"), "add `decide: { within: 10m, default: rollback }`: the deadline and what happens when nobody chooses");
    }
    let dry_run = f.flag(sink, "dry_run");
    let after = f.opt_str(sink, "after");
    let until = f.opt_str(sink, "until");
    for (key, step) in [("after", &after), ("until", &until)] {
        if let Some(s) = step {
            spots.note(f.pos(), key, s, f.pos_of(key));
        }
    }
    if action == Some(TriggerAction::Rollback) {
        spots.note(f.pos(), "action", "rollback", f.pos_of("action"));
    }
    let pos = pos_of(node);
    f.finish(sink);
    Some(Trigger {
        title: title.unwrap_or_else(|| when.as_ref().map(|c| c.text.clone()).unwrap_or_default()),
        id: id?,
        when: when?,
        baseline,
        sustain,
        min_samples,
        action: action?,
        grace: grace.unwrap_or(0),
        veto_for: veto_for.unwrap_or(DEFAULT_VETO_FOR),
        decide: dec.unwrap_or(Decide {
            within: 10 * 60_000,
            default: Choice::Continue,
        }),
        on_unknown: on_unknown?,
        dry_run,
        after,
        until,
        pos,
    })
}

/// Step keys that make a step a canary stage.
pub const STAGE_KEYS: &[&str] = &["weight", "gates", "advance", "on_gate_fail"];

/// A step's canary keys, if it has any.
pub fn stage(
    sink: &mut Findings,
    f: &Fields,
    what: &str,
    spots: &mut Locations,
) -> Option<CanaryStage> {
    if STAGE_KEYS.iter().all(|k| f.get(k).is_none()) {
        return None;
    }
    let weight = f.get("weight").and_then(|n| match &n.value {
        Node::Int(w) if (0..=100).contains(w) => u32::try_from(*w).ok(),
        _ => {
            sink.error(
                pos_of(n),
                format!("`weight` of {what} must be a whole percentage from 0 to 100"),
                "write e.g. `weight: 25`",
            );
            None
        }
    });
    let mut gates = Vec::new();
    let gates_at = CondAt {
        owner: f.pos(),
        key: "gates",
    };
    if let Some(n) = f.get("gates") {
        match &n.value {
            Node::Seq(items) => {
                for it in items {
                    match &it.value {
                        Node::Str(s) => {
                            if let Some(c) = cond_text(sink, pos_of(it), s, &format!("gate of {what}"), spots, gates_at) {
                                gates.push(Gate { check: c, baseline: None, sustain: 0 });
                            }
                        }
                        Node::Map(_) => {
                            let Some(gf) = Fields::open(sink, it, format!("gate of {what}"), &["check", "for", "baseline"]) else { continue };
                            let c = cond_at(sink, &gf, "check", &format!("gate of {what}"), spots, gates_at);
                            let b = baseline(sink, &gf, &format!("gate of {what}"), c.as_ref().map(|c| c.metric.as_str()));
                            spots.note_baseline(f.pos(), &gf, b.as_ref());
                            let sustain = gf.opt_duration(sink, "for").unwrap_or(0);
                            if let Some(c) = &c
                                && c.needs_baseline()
                                && b.is_none()
                            {
                                sink.error(gf.pos(), format!("gate `{}` of {what} needs a `baseline`", c.text), "add `baseline: source-latency-p95` or a number");
                            }
                            gf.finish(sink);
                            if let Some(c) = c {
                                gates.push(Gate { check: c, baseline: b, sustain });
                            }
                        }
                        other => sink.error(pos_of(it), format!("a gate of {what} must be a condition, found {}", other.kind()), "write `- target-error-rate < 0.1%` or `- { check: \"target-latency < 800ms\", for: 2m }`"),
                    }
                }
            }
            other => sink.error(
                pos_of(n),
                format!("`gates` of {what} must be a list, found {}", other.kind()),
                "write `gates: [\"target-error-rate < 0.1%\"]`",
            ),
        }
    }
    if let Some(n) = f.get("gates")
        && let Node::Str(s) = &n.value
        && let Some(c) = cond_text(
            sink,
            pos_of(n),
            s,
            &format!("gate of {what}"),
            spots,
            gates_at,
        )
    {
        gates.push(Gate {
            check: c,
            baseline: None,
            sustain: 0,
        });
    }
    let auto = match f.opt_str(sink, "advance").as_deref() {
        None | Some("auto") => true,
        Some("key") => false,
        Some(other) => {
            sink.error(
                f.pos_of("advance"),
                format!("unknown advance `{other}` in {what}"),
                "use `auto` (advance when the gates hold) or `key` (the operator confirms)",
            );
            true
        }
    };
    let on_fail = match f.opt_str(sink, "on_gate_fail").as_deref() {
        None | Some("pause") => GateFail::Pause,
        Some("rollback") => GateFail::Rollback,
        Some(other) => {
            sink.error(
                f.pos_of("on_gate_fail"),
                format!("unknown on_gate_fail `{other}` in {what}"),
                "use `pause` (stop and ask) or `rollback`",
            );
            GateFail::Pause
        }
    };
    Some(CanaryStage {
        weight,
        gates,
        auto,
        on_fail,
    })
}

/// `canary:` → the set-weight command.
pub fn canary(sink: &mut Findings, node: &Located) -> Option<Vec<String>> {
    let f = Fields::open(sink, node, "`canary`", &["set_weight"])?;
    let out = match f.get("set_weight") {
        None => {
            sink.error(
                f.pos(),
                "`canary` is missing `set_weight`",
                "add `set_weight: [\"./scripts/set-weight.sh\", \"{weight}\"]`",
            );
            None
        }
        Some(n) => match &n.value {
            Node::Seq(items) if !items.is_empty() => {
                let argv: Vec<String> =
                    items.iter().filter_map(|x| scalar_text(&x.value)).collect();
                if !argv.iter().any(|a| a.contains("{weight}")) {
                    sink.error(pos_of(n), "`set_weight` never passes `{weight}`", "add `\"{weight}\"` as an argument, e.g. `[\"./scripts/set-weight.sh\", \"{weight}\"]`");
                }
                Some(argv)
            }
            Node::Str(_) => {
                sink.error(pos_of(n), "`set_weight` must be a list (program and arguments), not a shell string", "the weight is passed as its own argument and never spliced into a shell line: write `set_weight: [\"./scripts/set-weight.sh\", \"{weight}\"]`");
                None
            }
            other => {
                sink.error(
                    pos_of(n),
                    format!("`set_weight` must be a list, found {}", other.kind()),
                    "write `set_weight: [\"./scripts/set-weight.sh\", \"{weight}\"]`",
                );
                None
            }
        },
    };
    f.finish(sink);
    out
}

const SCENARIO_KEYS: &[&str] = &["name", "description", "faults", "fail", "trips", "expect"];
const FAULT_KEYS: &[&str] = &["metric", "at", "for", "spike", "drift", "silence", "errors"];

/// `scenarios:` → list.
pub fn scenarios(sink: &mut Findings, node: &Located, spots: &mut Locations) -> Vec<Scenario> {
    list(
        sink,
        node,
        "scenarios",
        "- name: error-spike",
        |sink, i, n| scenario(sink, i, n, spots),
    )
}

fn scenario(
    sink: &mut Findings,
    i: usize,
    node: &Located,
    spots: &mut Locations,
) -> Option<Scenario> {
    let mut f = Fields::open(sink, node, format!("scenario {}", i + 1), SCENARIO_KEYS)?;
    let name = f.req_str(
        sink,
        "name",
        "give the scenario a name, e.g. `name: error-spike-after-switch`",
    );
    let what = name
        .as_ref()
        .map(|n| format!("scenario `{n}`"))
        .unwrap_or_else(|| format!("scenario {}", i + 1));
    f.rename(what.clone());
    if let Some(n) = &name
        && !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        sink.error(
            f.pos_of("name"),
            format!("{what}: names are typed on the command line"),
            "use letters, digits, `-` and `_` only",
        );
    }
    let description = f.opt_str(sink, "description");
    let owner = f.pos();
    let faults = match f.get("faults") {
        None => Vec::new(),
        Some(n) => list(
            sink,
            n,
            "faults",
            "- { metric: target-error-rate, at: T+0:40, for: 20m, spike: 3 }",
            |sink, j, n| fault(sink, j, n, &what, spots, owner),
        ),
    };
    let fail = f.opt_str(sink, "fail");
    if let Some(s) = &fail {
        spots.note(owner, "fail", s, f.pos_of("fail"));
    }
    let trips = match f.get("trips") {
        None => Vec::new(),
        Some(n) => match &n.value {
            Node::Seq(items) => items
                .iter()
                .filter_map(|x| {
                    let id = scalar_text(&x.value)?;
                    spots.note(owner, "trips", &id, pos_of(x));
                    Some(id)
                })
                .collect(),
            Node::Str(s) => {
                spots.note(owner, "trips", s, pos_of(n));
                vec![s.clone()]
            }
            other => {
                sink.error(
                    pos_of(n),
                    format!(
                        "`trips` of {what} must be a list of trigger ids, found {}",
                        other.kind()
                    ),
                    "write `trips: [error-rate]`",
                );
                Vec::new()
            }
        },
    };
    let expect = match f.opt_str(sink, "expect").as_deref() {
        None => None,
        Some("completed") => Some(Expect::Completed),
        Some("rolled_back") | Some("rolled-back") => Some(Expect::RolledBack),
        Some("stopped") => Some(Expect::Stopped),
        Some(other) => {
            sink.error(
                f.pos_of("expect"),
                format!("unknown expect `{other}` in {what}"),
                "use `completed`, `rolled_back` or `stopped`",
            );
            None
        }
    };
    if faults.is_empty() && fail.is_none() && f.get("faults").is_none() {
        sink.warn(
            f.pos(),
            format!("{what} injects nothing"),
            "add `faults:` (or `fail: STEP`) so the drill rehearses something",
        );
    }
    let pos = pos_of(node);
    f.finish(sink);
    Some(Scenario {
        name: name?,
        description,
        faults,
        fail,
        trips,
        expect,
        pos,
    })
}

/// One fault of the scenario whose mapping is at `owner`.
fn fault(
    sink: &mut Findings,
    j: usize,
    node: &Located,
    scen: &str,
    spots: &mut Locations,
    owner: Pos,
) -> Option<Fault> {
    let what = format!("fault {} of {scen}", j + 1);
    let f = Fields::open(sink, node, what.clone(), FAULT_KEYS)?;
    let metric = f.req_str(sink, "metric", "add `metric:` naming the metric to disturb");
    if let Some(m) = &metric {
        spots.note(owner, "faults", m, f.pos_of("metric"));
    }
    let at = f.opt_offset(sink, "at").map(|(t, _)| t);
    if at.is_none() && f.get("at").is_none() {
        sink.error(
            f.pos(),
            format!("{what} is missing `at`"),
            "add `at: T+0:40` (when the fault starts)",
        );
    }
    let lasts = f.opt_duration(sink, "for");
    let kinds: Vec<&str> = ["spike", "drift", "silence", "errors"]
        .into_iter()
        .filter(|k| f.get(k).is_some())
        .collect();
    let kind = match kinds.as_slice() {
        [k] => match *k {
            "spike" => opt_num(sink, &f, "spike", &what).map(FaultKind::Spike),
            "drift" => opt_num(sink, &f, "drift", &what).map(FaultKind::Drift),
            "silence" => Some(FaultKind::Silence),
            _ => Some(FaultKind::Errors(
                f.opt_str(sink, "errors")
                    .unwrap_or_else(|| "simulated read error".into()),
            )),
        },
        _ => {
            sink.error(f.pos(), format!("{what} needs exactly one of spike, drift, silence, errors"), "write `spike: 3` (jump to 3), `drift: 2500` (move to 2500 over `for`), `silence: true` (no data) or `errors: \"HTTP 503\"` (reads fail)");
            None
        }
    };
    if matches!(kind, Some(FaultKind::Drift(_))) && lasts.is_none() {
        sink.error(
            f.pos(),
            format!("{what} drifts but has no `for`"),
            "add `for: 30m`: how long the drift takes to reach its value",
        );
    }
    f.finish(sink);
    Some(Fault {
        metric: metric?,
        at: at?,
        lasts,
        kind: kind?,
    })
}

/// A step's `until:` condition, if it has one: read like a gate's, its threshold fitted to
/// the metric's unit, and the unit it was written in kept for the screen. An until-step must
/// say how long it may wait (`timeout`), and compares with a fixed value: a baseline-relative
/// condition has nothing to be relative to while a step waits.
pub fn until(sink: &mut Findings, f: &Fields, what: &str, spots: &mut Locations) -> Option<Until> {
    let n = f.get("until")?;
    let pos = pos_of(n);
    let Node::Str(text) = &n.value else {
        sink.error(
            pos,
            format!(
                "`until` of {what} must be a condition, found {}",
                n.value.kind()
            ),
            "write e.g. `until: backfill-copied >= 5PB` or `until: sync-lag < 1m`",
        );
        return None;
    };
    let what_c = format!("`until` of {what}");
    let parsed = match condition::parse(text) {
        Ok(p) => p,
        Err(e) => {
            sink.error(pos, format!("{what_c}: {}", e.message), e.hint);
            return None;
        }
    };
    spots.note(f.pos(), "until", &parsed.cond.metric, pos);
    let written = parsed.unit.clone();
    let metric_unit = spots
        .units
        .of_metric
        .get(&parsed.cond.metric)
        .cloned()
        .flatten();
    let cond = super::units::resolve(sink, pos, &what_c, parsed, &spots.units);
    if cond.needs_baseline() {
        sink.error(
            pos,
            format!(
                "{what_c}: `{}` compares with a baseline, but a step waits for a fixed value",
                cond.text
            ),
            "write the value to wait for with its unit, e.g. `until: sync-lag < 1m`",
        );
        return None;
    }
    if f.get("timeout").is_none() {
        sink.error(
            pos,
            format!("{what} waits `until: {}` but has no `timeout`", cond.text),
            "add `timeout:` for how long it may wait (its T-time, compressed in drills), e.g. `timeout: 8d`; when it runs out, `on_failure` applies",
        );
    }
    // Values show in the unit the author wrote (`5PB`); when it does not convert, the
    // metric's own (the mismatch is an error of its own, reported above).
    let (unit, scale) = match (written, metric_unit) {
        (Some(w), Some(mu)) => match super::units::convert(1.0, &w, &mu) {
            Ok(k) if k > 0.0 => (w, k),
            _ => (mu, 1.0),
        },
        (None, Some(mu)) => (mu, 1.0),
        (Some(w), None) => (w, 1.0),
        (None, None) => (String::new(), 1.0),
    };
    Some(Until { cond, unit, scale })
}
