//! Secrets: `${env:NAME}` references in runbook values, resolved from the environment only,
//! and the redactor that keeps every resolved secret off the screen, the log and the journal.
//!
//! A `Secret` never prints its value (`Debug` and `Display` show `***`); code that must send
//! it (an `Authorization` header) calls `expose`. Because error messages from servers and
//! libraries can echo what they were sent (a URL, a header), every resolved secret is also
//! registered with the process-wide redactor, and text bound for the journal or the screen
//! goes through `redact`.

use std::sync::{OnceLock, RwLock};

/// A value that must not be shown or written anywhere.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value and registers it with the redactor.
    pub fn new(value: impl Into<String>) -> Self {
        let v = value.into();
        register(&v);
        Secret(v)
    }

    /// The value, for sending it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// A `${env:NAME}` reference that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// The variable is not set (or not valid UTF-8).
    #[error("environment variable `{0}` is not set")]
    Missing(String),
    /// `${env:` without a closing brace, or an empty or odd name.
    #[error(
        "malformed reference `{0}`: write `${{env:NAME}}` with NAME made of letters, digits and `_`"
    )]
    Malformed(String),
}

/// The names of the `${env:NAME}` references in `s`, in order.
pub fn references(s: &str) -> Result<Vec<String>, EnvError> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(EnvError::Malformed(rest[i..].to_string()));
        };
        let inner = &after[..end];
        let Some(name) = inner.strip_prefix("env:") else {
            return Err(EnvError::Malformed(format!("${{{inner}}}")));
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(EnvError::Malformed(format!("${{{inner}}}")));
        }
        out.push(name.to_string());
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// Replaces every `${env:NAME}` in `s` with the variable's value, looked up with `get`.
/// Nothing is registered with the redactor: whether a value is secret is the field's to say
/// (a token is, a key file's path or a host is not), see `expand_secret_with`.
pub fn expand_with(s: &str, get: impl Fn(&str) -> Option<String>) -> Result<String, EnvError> {
    let names = references(s)?;
    let mut out = s.to_string();
    for n in names {
        let v = get(&n).ok_or_else(|| EnvError::Missing(n.clone()))?;
        out = out.replacen(&format!("${{env:{n}}}"), &v, 1);
    }
    Ok(out)
}

/// `expand_with` for a secret field: each value taken from the environment, and the whole,
/// are registered with the redactor, so an error that echoes a part is blanked too. A value
/// with no reference is the runbook's own text (a URL's host), and stays readable.
pub fn expand_secret_with(
    s: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<String, EnvError> {
    let names = references(s)?;
    if names.is_empty() {
        return Ok(s.to_string());
    }
    for n in names {
        if let Some(v) = get(&n) {
            register(&v);
        }
    }
    let out = expand_with(s, get)?;
    register(&out);
    Ok(out)
}

/// `expand_with` against the process environment; the result is a `Secret` when `s` had a
/// reference (a URL with a token in it is as secret as the token).
pub fn expand(s: &str) -> Result<Expanded, EnvError> {
    let had = !references(s)?.is_empty();
    let v = if had {
        expand_secret_with(s, |n| std::env::var(n).ok())?
    } else {
        s.to_string()
    };
    Ok(if had {
        Expanded::Secret(Secret::new(v))
    } else {
        Expanded::Plain(v)
    })
}

/// A runbook value after `${env:…}` expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expanded {
    /// No reference in it: an ordinary value.
    Plain(String),
    /// Came (at least partly) from the environment.
    Secret(Secret),
}

impl Expanded {
    /// The value to use.
    pub fn expose(&self) -> &str {
        match self {
            Expanded::Plain(s) => s,
            Expanded::Secret(s) => s.expose(),
        }
    }
}

fn registry() -> &'static RwLock<Vec<String>> {
    static R: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    R.get_or_init(|| RwLock::new(Vec::new()))
}

/// Values this short would redact ordinary words and digits; they are too weak to be real
/// secrets anyway, and blanking every "1" on screen would hide real data.
const MIN_REDACTED: usize = 4;

fn register(v: &str) {
    if v.len() < MIN_REDACTED {
        return;
    }
    if let Ok(mut r) = registry().write()
        && !r.iter().any(|x| x == v)
    {
        r.push(v.to_string());
        // Longest first, so a secret containing another is blanked whole.
        r.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `s` with every registered secret replaced by `***`.
pub fn redact(s: &str) -> String {
    let Ok(r) = registry().read() else {
        return s.to_string();
    };
    let mut out = s.to_string();
    for v in r.iter() {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references() {
        assert_eq!(
            references("https://${env:HOST}/x?k=${env:K_1}").unwrap(),
            vec!["HOST".to_string(), "K_1".to_string()]
        );
        assert!(references("${env:}").is_err());
        assert!(references("${HOME}").is_err());
        assert!(references("${env:A").is_err());
        assert!(references("plain").unwrap().is_empty());
    }

    #[test]
    fn expands_and_redacts() {
        // A plain field's value (a path, a host) stays readable in errors.
        let path = expand_with("${env:KEY_FILE}", |_| Some("/keys/plain-path.p8".into()));
        assert_eq!(path.as_deref(), Ok("/keys/plain-path.p8"));
        assert_eq!(
            redact("cannot read /keys/plain-path.p8"),
            "cannot read /keys/plain-path.p8"
        );
        let v = expand_secret_with("Bearer ${env:TOK}", |n| {
            (n == "TOK").then(|| "s3cr3t-value-xyz".to_string())
        })
        .unwrap();
        assert_eq!(v, "Bearer s3cr3t-value-xyz");
        assert_eq!(redact("got 401 for s3cr3t-value-xyz"), "got 401 for ***");
        assert_eq!(
            expand_with("${env:NOPE}", |_| None),
            Err(EnvError::Missing("NOPE".into()))
        );
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2-long");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "hunter2-long");
    }
}
