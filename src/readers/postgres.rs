//! `postgres`: Redshift (port 5439) and PostgreSQL over the PostgreSQL protocol, with
//! tokio-postgres `simple_query` (text values, no prepared statements: Redshift lacks what
//! the extended protocol's type lookups need).

use super::{Query, ReadError, Reading};
use crate::shell::secret::Secret;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::{DbError, SqlState};
use tokio_postgres::{CancelToken, NoTls, SimpleQueryMessage, SimpleQueryRow};
use tokio_postgres_rustls::MakeRustlsConnect;

/// TLS use, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain TCP (only for local or test servers).
    Disable,
    /// TLS, the server's certificate checked against the webpki (Mozilla) roots, which
    /// include the Amazon roots Redshift's certificates chain to.
    Require,
}

/// A `postgres` connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Host name or address.
    pub host: String,
    /// Port (Redshift 5439, PostgreSQL 5432).
    pub port: u16,
    /// Database.
    pub dbname: String,
    /// User.
    pub user: String,
    /// Password, if any.
    pub password: Option<Secret>,
    /// TLS.
    pub tls: Tls,
}

/// How long opening a connection (TCP, TLS, authentication) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// TCP keepalive idle time: a cutover connection idles between polls, and load balancers in
/// front of Redshift drop idle flows after a few minutes (350 s for AWS NLB) without telling
/// either side.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);

/// A shared connection (opened on first use, reopened after it breaks).
pub struct Client {
    cfg: Config,
    /// The one connection for every metric on this platform. Reads take turns: a read holds
    /// the lock for its whole query, so metrics never see each other's results or errors.
    conn: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
}

impl Client {
    /// A client for `cfg` (does not connect yet).
    pub fn new(cfg: Config) -> Self {
        Self {
            cfg,
            conn: tokio::sync::Mutex::new(None),
        }
    }

    /// Runs `q.text` and returns the value of `q.column` (default first) in the first row.
    pub async fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        let mut slot = self.conn.lock().await;
        loop {
            let (client, fresh) = match slot.take() {
                Some(c) if !c.is_closed() => (c, false),
                _ => (self.connect().await?, true),
            };
            // The client stays out of the slot while the query runs: if this read is dropped
            // (the poller's timeout), the client goes with it, the next read opens a new
            // connection instead of queueing behind the abandoned query, and the guard asks
            // the server to cancel that query.
            let guard = CancelOnDrop {
                token: Some(client.cancel_token()),
                tls: self.cfg.tls,
            };
            let result = client.simple_query(&q.text).await;
            guard.disarm();
            match result {
                Ok(messages) => {
                    *slot = Some(client);
                    return value(&messages, q);
                }
                Err(e) if is_broken(&e, &client) => {
                    drop(client);
                    // A reused connection may have died while idle (server restart, failover,
                    // an idle timeout); that is noticed only now, so try once more on a new
                    // one. A new connection that breaks at once is the real answer.
                    if fresh {
                        return Err(ReadError::Connect(format!(
                            "the connection broke: {}",
                            self.scrub(&describe(&e))
                        )));
                    }
                    log::info!(
                        "postgres {}:{}: connection lost ({}), reconnecting",
                        self.cfg.host,
                        self.cfg.port,
                        self.scrub(&describe(&e))
                    );
                }
                Err(e) => {
                    return Err(match e.as_db_error() {
                        Some(db) => {
                            // The server reported the error and is ready for the next query.
                            *slot = Some(client);
                            db_error(db, ReadError::Query)
                        }
                        // A reply the library did not expect (e.g. COPY): the stream may be
                        // out of step, so the connection is not reused.
                        None => ReadError::Malformed(self.scrub(&describe(&e))),
                    });
                }
            }
        }
    }

    /// Opens a connection and spawns the task that drives it.
    async fn connect(&self) -> Result<tokio_postgres::Client, ReadError> {
        let cfg = &self.cfg;
        let mut pg = tokio_postgres::Config::new();
        pg.host(&cfg.host)
            .port(cfg.port)
            .dbname(&cfg.dbname)
            .user(&cfg.user)
            .application_name("cutover")
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives_idle(KEEPALIVE_IDLE);
        if let Some(p) = &cfg.password {
            pg.password(p.expose());
        }
        let client = match cfg.tls {
            Tls::Disable => {
                pg.ssl_mode(SslMode::Disable);
                let (client, connection) = pg
                    .connect(NoTls)
                    .await
                    .map_err(|e| self.connect_error(&e))?;
                self.spawn_connection(connection);
                client
            }
            Tls::Require => {
                pg.ssl_mode(SslMode::Require);
                let (client, connection) = pg
                    .connect(rustls_connector())
                    .await
                    .map_err(|e| self.connect_error(&e))?;
                self.spawn_connection(connection);
                client
            }
        };
        Ok(client)
    }

    /// Drives the connection until the client is dropped or the connection breaks.
    fn spawn_connection<F>(&self, connection: F)
    where
        F: Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
    {
        let name = format!("{}:{}", self.cfg.host, self.cfg.port);
        let password = self.cfg.password.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                log::warn!(
                    "postgres {name}: connection ended: {}",
                    scrub(&describe(&e), password.as_ref())
                );
            }
        });
    }

    /// Why opening the connection failed: refused credentials are `Auth`, the rest `Connect`.
    fn connect_error(&self, e: &tokio_postgres::Error) -> ReadError {
        match e.as_db_error() {
            Some(db) => db_error(db, ReadError::Connect),
            None => ReadError::Connect(self.scrub(&describe(e))),
        }
    }

    fn scrub(&self, s: &str) -> String {
        scrub(s, self.cfg.password.as_ref())
    }
}

/// Library error text with the password blanked. tokio-postgres does not put the password in
/// its errors, and the redactor would blank it on display anyway; this keeps it out of the
/// `ReadError` itself, which the log and tests see unredacted.
fn scrub(s: &str, password: Option<&Secret>) -> String {
    match password {
        Some(p) if !p.is_empty() => s.replace(p.expose(), "***"),
        _ => s.to_string(),
    }
}

/// The rustls connector for `Tls::Require`, built once: the root store is the same for every
/// connection.
fn rustls_connector() -> MakeRustlsConnect {
    static CONNECTOR: OnceLock<MakeRustlsConnect> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            // `ClientConfig::builder` takes the process default provider; make sure there is one.
            super::http::ensure_crypto();
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let config = rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth();
            MakeRustlsConnect::new(config)
        })
        .clone()
}

/// Asks the server to cancel the running query if the read is dropped before it finishes;
/// otherwise the query would run on (on a server that is possibly already struggling) after
/// nobody waits for it.
struct CancelOnDrop {
    token: Option<CancelToken>,
    tls: Tls,
}

impl CancelOnDrop {
    fn disarm(mut self) {
        self.token = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(token) = self.token.take() else {
            return;
        };
        // Dropped outside a runtime only at process exit, when there is nobody to cancel for.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let tls = self.tls;
        rt.spawn(async move {
            // Best effort: the query may have finished meanwhile, or the server be gone.
            let _ = match tls {
                Tls::Disable => token.cancel_query(NoTls).await,
                Tls::Require => token.cancel_query(rustls_connector()).await,
            };
        });
    }
}

/// True when `e` means the connection is unusable (rather than the query failing on a
/// healthy connection).
fn is_broken(e: &tokio_postgres::Error, client: &tokio_postgres::Client) -> bool {
    if e.is_closed() || client.is_closed() {
        return true;
    }
    match e.code() {
        // The server ended the session (pg_terminate_backend, shutdown, crash recovery).
        Some(c) => {
            *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
        }
        // Socket errors, and protocol parse errors after which the stream is out of step.
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

/// The library's error with its causes: tokio-postgres' own `Display` names only the kind
/// ("error connecting to server"), not why.
fn describe(e: &tokio_postgres::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A server error as `<SQLSTATE>: <message>` (with detail and hint, which often say what to
/// change); refused credentials become `Auth`, anything else `other`.
fn db_error(db: &DbError, other: fn(String) -> ReadError) -> ReadError {
    let mut text = format!("{}: {}", db.code().code(), db.message());
    if let Some(d) = db.detail() {
        text.push_str(&format!("; detail: {d}"));
    }
    if let Some(h) = db.hint() {
        text.push_str(&format!("; hint: {h}"));
    }
    let text = super::http::shorten(&text);
    let code = db.code();
    if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    {
        ReadError::Auth(text)
    } else {
        other(text)
    }
}

/// The reading in the first row of the first result set.
fn value(messages: &[SimpleQueryMessage], q: &Query) -> Result<Reading, ReadError> {
    let row = first_row(messages)?;
    let (vi, vname) = column(row, q.column.as_deref())?;
    let text = row
        .try_get(vi)
        .map_err(|e| ReadError::Malformed(describe(&e)))?
        .ok_or_else(|| ReadError::NoData(format!("NULL in column `{vname}`")))?;
    let value = number(text).ok_or_else(|| {
        ReadError::Malformed(format!(
            "column `{vname}` is not a number ({:?}); cast it in the SQL, e.g. `({vname})::float8`",
            super::http::shorten(text)
        ))
    })?;
    let at = match q.time_column.as_deref() {
        None => None,
        Some(tc) => {
            let (ti, tname) = column(row, Some(tc))?;
            let text = row
                .try_get(ti)
                .map_err(|e| ReadError::Malformed(describe(&e)))?
                // A NULL time would make the poller stamp "now" on a value of unknown age.
                .ok_or_else(|| ReadError::NoData(format!("NULL in time column `{tname}`")))?;
            Some(timestamp(text).ok_or_else(|| {
                ReadError::Malformed(format!(
                    "time column `{tname}` is neither epoch seconds nor a timestamp ({:?})",
                    super::http::shorten(text)
                ))
            })?)
        }
    };
    Ok(Reading { value, at })
}

/// The first row of the first statement that returns rows (`SET …; SELECT …` reads the
/// SELECT).
fn first_row(messages: &[SimpleQueryMessage]) -> Result<&SimpleQueryRow, ReadError> {
    let mut in_result_set = false;
    for m in messages {
        match m {
            SimpleQueryMessage::RowDescription(_) => in_result_set = true,
            SimpleQueryMessage::Row(row) => return Ok(row),
            SimpleQueryMessage::CommandComplete(_) if in_result_set => break,
            _ => {}
        }
    }
    Err(ReadError::NoData(if in_result_set {
        "the query returned no rows".to_string()
    } else {
        "the query returned no result set (is it a SELECT?)".to_string()
    }))
}

/// The index and name of column `name` (exact, else case-insensitive), or of the first.
fn column<'r>(row: &'r SimpleQueryRow, name: Option<&str>) -> Result<(usize, &'r str), ReadError> {
    let cols = row.columns();
    let found = match name {
        None => (!cols.is_empty()).then_some(0),
        Some(n) => cols
            .iter()
            .position(|c| c.name() == n)
            .or_else(|| cols.iter().position(|c| c.name().eq_ignore_ascii_case(n))),
    };
    match (found, name) {
        (Some(i), _) => Ok((i, cols[i].name())),
        (None, None) => Err(ReadError::Malformed("the result has no columns".into())),
        (None, Some(n)) => {
            let names: Vec<&str> = cols.iter().map(|c| c.name()).collect();
            Err(ReadError::Malformed(format!(
                "no column `{n}` in the result (columns: {})",
                names.join(", ")
            )))
        }
    }
}

/// PostgreSQL's text form of a number or boolean: `12`, `0.5`, `1e3`, `NaN`, `Infinity`,
/// `-Infinity`, `t` / `f`.
fn number(text: &str) -> Option<f64> {
    match text.trim() {
        "t" | "true" => Some(1.0),
        "f" | "false" => Some(0.0),
        // Rust's parser takes NaN / inf / infinity in any case, which covers PostgreSQL's.
        t => t.parse::<f64>().ok(),
    }
}

/// A sample time: epoch seconds, a PostgreSQL `timestamptz` (`2026-11-21 10:00:00+00`),
/// RFC 3339, or a zoneless timestamp (taken as UTC, which is what Redshift stores).
fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if !secs.is_finite() {
            return None;
        }
        return DateTime::from_timestamp_micros((secs * 1e6).round() as i64);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    // `%#z` takes `+00`, `+05:30` and `+0530`: PostgreSQL drops zero minutes.
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(d) = DateTime::parse_from_str(t, f) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_postgres_text_form() {
        assert_eq!(number("42"), Some(42.0));
        assert_eq!(number("-0.25"), Some(-0.25));
        assert_eq!(number("1e3"), Some(1000.0));
        assert!(number("NaN").is_some_and(f64::is_nan));
        assert_eq!(number("Infinity"), Some(f64::INFINITY));
        assert_eq!(number("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(number("t"), Some(1.0));
        assert_eq!(number("f"), Some(0.0));
        assert_eq!(number("$1.00"), None);
        assert_eq!(number(""), None);
    }

    #[test]
    fn timestamps_in_the_forms_servers_print() {
        let want = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for t in [
            "2026-11-21 10:00:00+00",
            "2026-11-21 15:30:00+05:30",
            "2026-11-21 05:00:00-05",
            "2026-11-21 10:00:00.000000+00",
            "2026-11-21T10:00:00Z",
            "2026-11-21T10:00:00+00:00",
            "2026-11-21 10:00:00",
            "1795255200",
            "1795255200.0",
        ] {
            assert_eq!(timestamp(t), Some(want), "{t}");
        }
        assert_eq!(
            timestamp("1795255200.25"),
            Some(want + chrono::Duration::milliseconds(250))
        );
        assert_eq!(timestamp("yesterday"), None);
        assert_eq!(timestamp("NaN"), None);
    }
}
