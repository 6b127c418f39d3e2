//! Turning the runbook's `connections:` into reader configurations for a live run: expands
//! `${env:NAME}` from the environment (the only place secrets come from) and reports a
//! missing variable as a located error naming it, before anything starts.

use crate::core::runbook::signals::{Connection, LiveRead};
use crate::core::runbook::{Diagnostic, Pos, Runbook};
use crate::readers::{self, ConnectionConfig};
use crate::shell::secret::{self, EnvError, Secret};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

struct Resolving<'a> {
    rb: &'a Runbook,
    c: &'a Connection,
    diags: Vec<Diagnostic>,
}

impl Resolving<'_> {
    fn raw(&self, key: &str) -> Option<&(String, Pos)> {
        self.c.fields.get(key)
    }

    /// `raw` with its `${env:…}` references filled in. Whether a value is secret is the
    /// field's to say (`secret`, `url`, headers: `secret` set), not where it came from, so a
    /// key file's path or a host read from the environment stays readable in errors. A
    /// variable that is set but empty is refused like one that is not set: sent as a
    /// credential it would be refused mid-cutover, or worse, let an unauthenticated read pass.
    fn expand_at(&mut self, key: &str, raw: &str, pos: Pos, secret: bool) -> Option<String> {
        let names = match secret::references(raw) {
            Ok(n) => n,
            Err(e) => {
                self.diags.push(Diagnostic::error(
                    &self.rb.path,
                    pos,
                    format!("`{key}` of connection `{}`: {e}", self.c.name),
                    "write `${env:NAME}`",
                ));
                return None;
            }
        };
        let mut ok = true;
        for name in names {
            let problem = match std::env::var(&name) {
                Ok(v) if v.is_empty() => "is set but empty",
                Ok(_) => continue,
                Err(_) => "is not set",
            };
            ok = false;
            self.diags.push(Diagnostic::error(
                &self.rb.path,
                pos,
                format!(
                    "environment variable `{name}` {problem} (needed by `{key}` of connection `{}`)",
                    self.c.name
                ),
                format!(
                    "export {name}=… with its value before `cutover run`; secrets never go in the runbook"
                ),
            ));
        }
        if !ok {
            return None;
        }
        let get = |n: &str| std::env::var(n).ok();
        let expanded = if secret {
            secret::expand_secret_with(raw, get)
        } else {
            secret::expand_with(raw, get)
        };
        match expanded {
            Ok(v) => Some(v),
            Err(EnvError::Missing(name)) | Err(EnvError::Malformed(name)) => {
                // Checked just above; only a variable changed meanwhile gets here.
                self.diags.push(Diagnostic::error(
                    &self.rb.path,
                    pos,
                    format!("environment variable `{name}` could not be read"),
                    "export it before `cutover run`",
                ));
                None
            }
        }
    }

    fn text(&mut self, key: &str) -> Option<String> {
        let (raw, pos) = self.raw(key)?.clone();
        self.expand_at(key, &raw, pos, false)
    }

    fn secret(&mut self, key: &str) -> Option<Secret> {
        let (raw, pos) = self.raw(key)?.clone();
        self.expand_at(key, &raw, pos, true).map(Secret::new)
    }

    /// A URL from the environment may carry a token in its query, so one that came from
    /// there is registered with the redactor as a secret would be.
    fn url(&mut self, key: &str) -> String {
        let url = match self.raw(key).cloned() {
            Some((raw, pos)) => self.expand_at(key, &raw, pos, true),
            None => None,
        };
        url.unwrap_or_default().trim_end_matches('/').to_string()
    }
}

/// Resolves every connection a live metric uses; all problems come back together.
pub fn resolve(rb: &Runbook) -> Result<HashMap<String, ConnectionConfig>, Vec<Diagnostic>> {
    let mut out = HashMap::new();
    let mut diags = unwatchable(rb);
    for (name, cfg) in resolve_each(rb) {
        match cfg {
            Ok(cfg) => {
                out.insert(name, cfg);
            }
            Err(mut d) => diags.append(&mut d),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

/// One error per metric a live run could not read (it has only a drill simulation).
pub fn unwatchable(rb: &Runbook) -> Vec<Diagnostic> {
    rb.signals
        .metrics
        .iter()
        .filter(|m| m.live.is_none())
        .map(|m| {
            Diagnostic::error(
                &rb.path,
                m.pos,
                format!(
                    "metric `{}` has no live reader, so a live run cannot watch it",
                    m.id
                ),
                "add `from:` + `query:` (or `run:`); only drills use `sim`",
            )
        })
        .collect()
}

/// Each connection a live metric uses, in the runbook's order, resolved on its own: a
/// preflight reports every connection, the ones that resolve beside the ones that do not.
pub fn resolve_each(rb: &Runbook) -> Vec<(String, Result<ConnectionConfig, Vec<Diagnostic>>)> {
    let used: Vec<&str> = rb
        .signals
        .metrics
        .iter()
        .filter_map(|m| match &m.live {
            Some(LiveRead::Query { from, .. }) => Some(from.as_str()),
            _ => None,
        })
        .collect();
    rb.signals
        .connections
        .iter()
        .filter(|c| used.contains(&c.name.as_str()))
        .map(|c| {
            let mut cx = Resolving {
                rb,
                c,
                diags: Vec::new(),
            };
            let cfg = build(&mut cx);
            let result = match cfg {
                Some(cfg) if cx.diags.is_empty() => Ok(cfg),
                _ => Err(cx.diags),
            };
            (c.name.clone(), result)
        })
        .collect()
}

fn build(cx: &mut Resolving) -> Option<ConnectionConfig> {
    match cx.c.kind.as_str() {
        "databricks_sql" => databricks(cx),
        "snowflake_sql" => snowflake(cx),
        "postgres" => postgres(cx),
        "prometheus" => prometheus(cx),
        // Loading the runbook refused unknown kinds, so this can only be `http_json`.
        _ => http_json(cx),
    }
}

// The builders below read fields in a fixed order and a `?` stops at the first one that does
// not resolve, so that order decides which diagnostics a broken connection reports.

fn databricks(cx: &mut Resolving) -> Option<ConnectionConfig> {
    let host = cx.url("host");
    let auth = databricks_auth(cx)?;
    let wait = cx
        .text("wait_timeout")
        .and_then(|w| crate::core::time::parse_duration(&w).ok())
        .unwrap_or(10_000);
    Some(ConnectionConfig::Databricks(readers::databricks::Config {
        host: if host.starts_with("http") {
            host
        } else {
            format!("https://{host}")
        },
        auth,
        warehouse_id: cx.text("warehouse_id")?,
        catalog: cx.text("catalog"),
        schema: cx.text("schema"),
        wait_timeout: Duration::from_millis(wait.max(0) as u64),
    }))
}

fn databricks_auth(cx: &mut Resolving) -> Option<readers::databricks::Auth> {
    Some(match cx.raw("token") {
        Some(_) => readers::databricks::Auth::Token(cx.secret("token")?),
        None => readers::databricks::Auth::OAuth {
            client_id: cx.text("client_id")?,
            client_secret: cx.secret("client_secret")?,
        },
    })
}

fn snowflake(cx: &mut Resolving) -> Option<ConnectionConfig> {
    let account = cx.text("account")?;
    let url = match cx.raw("url") {
        Some(_) => cx.url("url"),
        None => format!(
            "https://{}.snowflakecomputing.com",
            account.to_ascii_lowercase()
        ),
    };
    let auth = snowflake_auth(cx)?;
    Some(ConnectionConfig::Snowflake(readers::snowflake::Config {
        account,
        url,
        auth,
        warehouse: cx.text("warehouse"),
        database: cx.text("database"),
        schema: cx.text("schema"),
        role: cx.text("role"),
    }))
}

fn snowflake_auth(cx: &mut Resolving) -> Option<readers::snowflake::Auth> {
    if cx.raw("private_key_file").is_some() {
        return Some(readers::snowflake::Auth::KeyPair {
            user: cx.text("user")?,
            private_key_file: PathBuf::from(cx.text("private_key_file")?),
        });
    }
    let tok = cx.secret("token")?;
    let token_type = cx.text("token_type").map(|t| t.to_ascii_lowercase());
    Some(match token_type.as_deref() {
        Some("programmatic_access_token") => readers::snowflake::Auth::Pat(tok),
        _ => readers::snowflake::Auth::OAuth(tok),
    })
}

fn postgres(cx: &mut Resolving) -> Option<ConnectionConfig> {
    // `flavor` defaults to Redshift; loading the runbook accepted no third value.
    let redshift = cx.text("flavor").as_deref() != Some("postgresql");
    let port = cx
        .text("port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(if redshift { 5439 } else { 5432 });
    Some(ConnectionConfig::Postgres(readers::postgres::Config {
        host: cx.text("host")?,
        port,
        dbname: cx.text("dbname")?,
        user: cx.text("user")?,
        password: if cx.raw("password").is_some() {
            Some(cx.secret("password")?)
        } else {
            None
        },
        tls: match cx.text("tls").as_deref() {
            Some("disable") => readers::postgres::Tls::Disable,
            _ => readers::postgres::Tls::Require,
        },
    }))
}

fn prometheus(cx: &mut Resolving) -> Option<ConnectionConfig> {
    Some(ConnectionConfig::Prometheus(readers::prometheus::Config {
        url: cx.url("url"),
        token: if cx.raw("token").is_some() {
            Some(cx.secret("token")?)
        } else {
            None
        },
    }))
}

fn http_json(cx: &mut Resolving) -> Option<ConnectionConfig> {
    let mut headers = Vec::new();
    for (k, raw, pos) in cx.c.headers.clone() {
        let v = cx.expand_at(&k, &raw, pos, true)?;
        headers.push((k, Secret::new(v)));
    }
    Some(ConnectionConfig::HttpJson(readers::http_json::Config {
        url: cx.url("url"),
        headers,
    }))
}
