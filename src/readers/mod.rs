//! Metric readers: one client per protocol, each turning one query into one number with its
//! timestamp. Connections are shared: several metrics on one platform use one `Client`.
//!
//! Readers know nothing of polling, staleness or triggers (that is `monitor`): they make one
//! request, follow the protocol to its end (polling, pagination, retries the protocol asks
//! for), and say plainly what went wrong when it did. Error text may echo server responses,
//! so it is passed through `secret::redact` before anyone shows it.

pub mod command;
pub mod databricks;
pub mod http;
pub mod http_json;
pub mod postgres;
pub mod prometheus;
pub mod snowflake;

use chrono::{DateTime, Utc};
use std::time::Duration;

/// One value read from a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The number (may be NaN or ±Inf when the source says so; the monitor decides what
    /// that means).
    pub value: f64,
    /// When the source says the value was true, if it says (Prometheus sample time, a
    /// timestamp column); otherwise the poller stamps the time the answer arrived.
    pub at: Option<DateTime<Utc>>,
}

pub use crate::core::runbook::signals::Query;

/// Why a read gave no value. The text is shown to operators as the UNKNOWN reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    /// The platform ran the query and reports that it failed (Databricks FAILED with HTTP
    /// 200, Snowflake 422, Prometheus error envelope, a PostgreSQL error).
    #[error("query failed: {0}")]
    Query(String),
    /// The server answered with an HTTP error status.
    #[error("HTTP {status}: {message}")]
    Http {
        /// Status code.
        status: u16,
        /// What the body said (shortened).
        message: String,
        /// `Retry-After`, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// Could not connect or the connection broke.
    #[error("connection: {0}")]
    Connect(String),
    /// Credentials were refused or could not be obtained.
    #[error("authentication: {0}")]
    Auth(String),
    /// The query worked but gave no value (no rows, empty vector, NULL, missing pointer).
    #[error("no data: {0}")]
    NoData(String),
    /// The answer did not follow the protocol.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The read took longer than the metric's timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// A `command` reader's program failed.
    #[error("{0}")]
    Command(String),
}

impl ReadError {
    /// How long the server asked us to wait before the next request, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ReadError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The operator-facing reason, with secrets blanked.
    pub fn reason(&self) -> String {
        crate::shell::secret::redact(&self.to_string())
    }
}

/// How to reach one platform (a `connections:` entry of the runbook).
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionConfig {
    /// Databricks SQL Statement Execution API.
    Databricks(databricks::Config),
    /// Snowflake SQL API v2.
    Snowflake(snowflake::Config),
    /// Redshift or PostgreSQL over the PostgreSQL protocol.
    Postgres(postgres::Config),
    /// Prometheus instant queries.
    Prometheus(prometheus::Config),
    /// Any JSON endpoint.
    HttpJson(http_json::Config),
}

impl ConnectionConfig {
    /// The `kind:` word for this connection.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectionConfig::Databricks(_) => "databricks_sql",
            ConnectionConfig::Snowflake(_) => "snowflake_sql",
            ConnectionConfig::Postgres(_) => "postgres",
            ConnectionConfig::Prometheus(_) => "prometheus",
            ConnectionConfig::HttpJson(_) => "http_json",
        }
    }
}

/// A live connection shared by the metrics that name it.
pub enum Client {
    /// Databricks.
    Databricks(databricks::Client),
    /// Snowflake.
    Snowflake(snowflake::Client),
    /// PostgreSQL / Redshift.
    Postgres(postgres::Client),
    /// Prometheus.
    Prometheus(prometheus::Client),
    /// JSON over HTTP.
    HttpJson(http_json::Client),
}

impl Client {
    /// A client for `cfg`; HTTP clients share `http` (one connection pool per process).
    pub fn new(cfg: &ConnectionConfig, http: &reqwest::Client) -> Self {
        match cfg {
            ConnectionConfig::Databricks(c) => {
                Client::Databricks(databricks::Client::new(c.clone(), http.clone()))
            }
            ConnectionConfig::Snowflake(c) => {
                Client::Snowflake(snowflake::Client::new(c.clone(), http.clone()))
            }
            ConnectionConfig::Postgres(c) => Client::Postgres(postgres::Client::new(c.clone())),
            ConnectionConfig::Prometheus(c) => {
                Client::Prometheus(prometheus::Client::new(c.clone(), http.clone()))
            }
            ConnectionConfig::HttpJson(c) => {
                Client::HttpJson(http_json::Client::new(c.clone(), http.clone()))
            }
        }
    }

    /// Reads one value.
    pub async fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        match self {
            Client::Databricks(c) => c.read(q).await,
            Client::Snowflake(c) => c.read(q).await,
            Client::Postgres(c) => c.read(q).await,
            Client::Prometheus(c) => c.read(q).await,
            Client::HttpJson(c) => c.read(q).await,
        }
    }
}
