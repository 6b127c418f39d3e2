//! Builds the shared-session part of the runbook: `roles:` (OS users and `group:NAME` mapped
//! to driver, approver or observer) and `two_person:` (the actions a second person confirms,
//! and how long they have), checking each value where it is read.

use super::reader::{Fields, Findings, nearest, scalar_text};
use super::yaml::{Located, Node, pos_of};
use crate::core::runbook::team::{DEFAULT_WITHIN, Guarded, Role, Team, TwoPerson, Who};

const ROLE_WORDS: &[&str] = &["driver", "approver", "observer"];
const TWO_PERSON_KEYS: &[&str] = &["actions", "within"];

/// `roles:` and `two_person:` of the top-level mapping.
pub fn team(sink: &mut Findings, top: &Fields) -> Team {
    let t = Team {
        roles: top.get("roles").map(|n| roles(sink, n)).unwrap_or_default(),
        two_person: top.get("two_person").and_then(|n| two_person(sink, n)),
    };
    // A rule nobody can satisfy would leave a guarded action impossible mid-window.
    if t.two_person.is_some() && !t.roles.iter().any(|(_, r)| *r == Role::Approver) {
        sink.error(
            top.pos_of("two_person"),
            "`two_person` needs a second person, but `roles` names no approver",
            "add an approver under `roles:`, e.g. `  bob: approver` or `  group:dba: approver`",
        );
    }
    t
}

fn roles(sink: &mut Findings, node: &Located) -> Vec<(Who, Role)> {
    let Node::Map(entries) = &node.value else {
        sink.error(
            pos_of(node),
            format!(
                "`roles` must map OS users or groups to roles, found {}",
                node.value.kind()
            ),
            "write `roles:` then lines like `  ann: driver`, `  bob: approver`, `  group:dba: approver`",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, v) in entries {
        let key = name.value.trim();
        let who = match key.strip_prefix("group:") {
            Some(g) => Who::Group(g.trim().to_string()),
            None => Who::User(key.to_string()),
        };
        let bad_name = match &who {
            Who::User(u) | Who::Group(u) => {
                u.is_empty() || u.contains(|c: char| c.is_whitespace() || c == ':')
            }
        };
        if bad_name {
            sink.error(
                pos_of(v),
                format!("`roles` entry `{key}` is not an OS user or group name"),
                "name an OS user (`ann: driver`) or a group (`group:dba: approver`)",
            );
            continue;
        }
        let word = scalar_text(&v.value).unwrap_or_default();
        let Some(role) = Role::parse(word.trim()) else {
            let near = nearest(word.trim(), ROLE_WORDS)
                .map(|n| format!("did you mean `{n}`? "))
                .unwrap_or_default();
            sink.error(
                pos_of(v),
                format!("`roles` gives `{key}` the unknown role `{word}`"),
                format!("{near}use one of: {}", ROLE_WORDS.join(", ")),
            );
            continue;
        };
        if out.iter().any(|(w, _)| *w == who) {
            sink.error(
                pos_of(v),
                format!("`roles` names `{key}` twice"),
                "keep one line per user or group",
            );
            continue;
        }
        out.push((who, role));
    }
    out
}

fn two_person(sink: &mut Findings, node: &Located) -> Option<TwoPerson> {
    let f = Fields::open(sink, node, "`two_person`", TWO_PERSON_KEYS)?;
    let hint = format!(
        "write `actions: [rollback, point_of_no_return, skip]` (any of: {})",
        Guarded::WORDS.join(", ")
    );
    let mut actions = Vec::new();
    match f.get("actions") {
        None => sink.error(f.pos(), "`two_person` is missing `actions`", hint.clone()),
        Some(Located {
            value: Node::Seq(items),
            ..
        }) => {
            for it in items {
                let word = scalar_text(&it.value).unwrap_or_default();
                match Guarded::parse(word.trim()) {
                    Some(g) if !actions.contains(&g) => actions.push(g),
                    Some(_) => {}
                    None => {
                        let near = nearest(word.trim(), &Guarded::WORDS)
                            .map(|n| format!("did you mean `{n}`? "))
                            .unwrap_or_default();
                        sink.error(
                            pos_of(it),
                            format!("`two_person` names the unknown action `{word}`"),
                            format!("{near}use any of: {}", Guarded::WORDS.join(", ")),
                        );
                    }
                }
            }
            if items.is_empty() {
                sink.error(f.pos_of("actions"), "`two_person` has no `actions`", hint);
            }
        }
        Some(other) => sink.error(
            pos_of(other),
            format!(
                "`actions` of `two_person` must be a list, found {}",
                other.value.kind()
            ),
            hint,
        ),
    }
    let within = f.opt_duration(sink, "within").unwrap_or(DEFAULT_WITHIN);
    if within <= 0 {
        sink.error(
            f.pos_of("within"),
            "`within` of `two_person` must be longer than zero",
            "give the second person time to type, e.g. `within: 5m`",
        );
    }
    f.finish(sink);
    Some(TwoPerson { actions, within })
}
