//! `databricks_sql`: the Databricks SQL Statement Execution API (PAT or OAuth M2M).

use super::{Query, ReadError, Reading};
use crate::secret::Secret;
use std::time::Duration;

/// How to authenticate.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// Personal access token: `Authorization: Bearer`.
    Token(Secret),
    /// OAuth M2M (service principal): client credentials at `/oidc/v1/token`.
    OAuth {
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
    },
}

/// A `databricks_sql` connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Workspace URL, e.g. `https://adb-123.4.azuredatabricks.net` (no trailing slash).
    pub host: String,
    /// Credentials.
    pub auth: Auth,
    /// SQL warehouse id.
    pub warehouse_id: String,
    /// Default catalog, if any.
    pub catalog: Option<String>,
    /// Default schema, if any.
    pub schema: Option<String>,
    /// `wait_timeout` sent with the statement (5–50 s, or 0 for async); then we poll.
    pub wait_timeout: Duration,
}

/// A shared client.
pub struct Client {
    cfg: Config,
    http: reqwest::Client,
}

impl Client {
    /// A client for `cfg`.
    pub fn new(cfg: Config, http: reqwest::Client) -> Self {
        Self { cfg, http }
    }

    /// Runs `q.text` and returns the value of `q.column` (default first) in the first row.
    pub async fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        let _ = (&self.cfg, &self.http, q);
        Err(ReadError::Query("databricks_sql reader: being written".into()))
    }
}
