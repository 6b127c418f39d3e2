//! The one place YAML is parsed: serde-saphyr into a tree of spanned nodes.
//!
//! Owns the defences against hostile input (size, binary content, alias bombs, deep nesting)
//! and turns parser errors into located diagnostics. It knows nothing about runbooks: the
//! typed model is built from this tree by `build`, which can then report every problem of a
//! file in one pass (a serde derive stops at the first).

use crate::core::runbook::diag::{Diagnostic, Pos};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;
use std::path::Path;

/// Largest file accepted: a runbook of thousands of steps is far below this.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// A YAML value with the position of every nested value and key.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string scalar.
    Str(String),
    /// A sequence.
    Seq(Vec<Located>),
    /// A mapping, in source order.
    Map(Vec<(Spanned<String>, Located)>),
}

/// A node and where it is.
pub type Located = Spanned<Node>;

/// The position of a spanned value.
pub fn pos_of<T>(s: &Spanned<T>) -> Pos {
    let l = &s.referenced;
    Pos::new(clamp(l.line()), clamp(l.column()))
}

fn clamp(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl Node {
    /// A short word for the kind of value, for messages ("a list", "a number").
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "nothing",
            Node::Bool(_) => "a true/false value",
            Node::Int(_) | Node::Float(_) => "a number",
            Node::Str(_) => "text",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v)
            .map(Node::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Err(E::custom("binary values are not supported"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = a.next_element::<Located>()? {
            v.push(x);
        }
        Ok(Node::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut v = Vec::new();
        while let Some(k) = a.next_key::<Spanned<String>>()? {
            let val = a.next_value::<Located>()?;
            v.push((k, val));
        }
        Ok(Node::Map(v))
    }
}

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = 40;
    budget.max_nodes = 100_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = MAX_BYTES;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.with_snippet = false;
    options
}

/// Parses runbook `bytes` (the content of `file`) into a spanned tree, or one diagnostic
/// saying why not.
pub fn parse(file: &Path, bytes: &[u8]) -> Result<Located, Diagnostic> {
    parse_as(file, bytes, "runbook")
}

/// Like `parse`, for another kind of YAML file (`what`: "theme", "keymap") named in messages.
pub fn parse_as(file: &Path, bytes: &[u8], what: &str) -> Result<Located, Diagnostic> {
    let whole = Pos::default();
    if bytes.len() > MAX_BYTES {
        return Err(Diagnostic::error(
            file,
            whole,
            format!(
                "file is {} bytes; a {what} is at most {} bytes",
                bytes.len(),
                MAX_BYTES
            ),
            format!("is this the right file? A {what} is a small YAML document"),
        ));
    }
    if bytes.contains(&0) {
        return Err(Diagnostic::error(
            file,
            whole,
            format!("file contains NUL bytes: it is binary, not a YAML {what}"),
            format!("pass the {what}'s .yaml file"),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            return Err(Diagnostic::error(
                file,
                Pos::new(u32::try_from(line).unwrap_or(u32::MAX), 1),
                "file is not valid UTF-8 text",
                format!("save the {what} as UTF-8"),
            ));
        }
    };
    if text.trim().is_empty() {
        return Err(Diagnostic::error(
            file,
            whole,
            "file is empty",
            if what == "runbook" {
                "a runbook needs at least `version: 1`, `title`, `strategy`, `platforms` and `phases`".to_string()
            } else {
                format!("write the {what} as YAML, or remove the file")
            },
        ));
    }
    // The parser recurses per nesting level; the depth budget bounds it, and a thread with a
    // large stack makes sure the bound is reached before the stack is.
    let result = std::thread::Builder::new()
        .name("yaml-parse".into())
        .stack_size(64 << 20)
        .spawn(move || {
            serde_saphyr::from_str_with_options::<Located>(&text, options())
                .map_err(|e| (e.location(), e.without_snippet().to_string()))
        })
        .map_err(|e| Diagnostic::error(file, whole, format!("cannot start the parser: {e}"), ""))?
        .join()
        .map_err(|_| Diagnostic::error(file, whole, "the YAML parser failed on this input", ""))?;
    result.map_err(|(loc, msg)| {
        let pos = loc
            .map(|l| Pos::new(clamp(l.line()), clamp(l.column())))
            .unwrap_or_default();
        syntax_diagnostic(file, pos, &msg)
    })
}

fn syntax_diagnostic(file: &Path, pos: Pos, msg: &str) -> Diagnostic {
    // serde-saphyr appends " at line L, column C"; we print the position ourselves.
    let core = msg
        .rsplit_once(" at line ")
        .map(|(a, _)| a)
        .unwrap_or(msg)
        .to_string();
    let (message, hint) = if core.contains("multiple YAML documents") || core.contains("Documents")
    {
        (
            "more than one YAML document (`---`) in the file".to_string(),
            "a runbook is one document; remove the extra `---` and what follows, or split the file",
        )
    } else if core.contains("recursion limit") {
        (
            "YAML is nested too deeply to be a runbook".to_string(),
            "a runbook nests a few levels (phases → steps → fields); check the brackets and indentation",
        )
    } else if core.contains("budget breached") {
        if core.contains("Depth") {
            (
                "YAML is nested too deeply to be a runbook".to_string(),
                "a runbook nests a few levels (phases → steps → fields); check the indentation",
            )
        } else if core.contains("Alias") || core.contains("Nodes") || core.contains("Anchor") {
            (
                "YAML expands to too many values (an alias bomb?)".to_string(),
                "use anchors and aliases sparingly; a runbook has at most thousands of values",
            )
        } else {
            (
                format!("YAML is too large to be a runbook ({core})"),
                "split the runbook or remove generated content",
            )
        }
    } else if core.contains("duplicate mapping key") {
        (
            format!(
                "YAML syntax: {}",
                core.split(", set ").next().unwrap_or(&core)
            ),
            "each key may appear once per mapping; remove or rename the second one",
        )
    } else {
        (
            format!("YAML syntax: {core}"),
            "check indentation (spaces, not tabs), quotes and brackets around this place",
        )
    };
    Diagnostic::error(file, pos, message, hint)
}
