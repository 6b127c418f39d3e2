//! `snowflake_sql`: the Snowflake SQL API v2 (OAuth, programmatic access token, key-pair JWT).

use super::{Query, ReadError, Reading};
use crate::secret::Secret;
use std::path::PathBuf;

/// How to authenticate.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// An OAuth access token (`X-Snowflake-Authorization-Token-Type: OAUTH`).
    OAuth(Secret),
    /// A programmatic access token (`PROGRAMMATIC_ACCESS_TOKEN`).
    Pat(Secret),
    /// A JWT signed with the user's RSA private key (`KEYPAIR_JWT`).
    KeyPair {
        /// Snowflake user name (uppercased in the claims).
        user: String,
        /// PEM file with the PKCS#8 (or PKCS#1) private key.
        private_key_file: PathBuf,
    },
}

/// A `snowflake_sql` connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Account identifier, e.g. `MYORG-MYACCT` (used in the JWT claims and the default URL).
    pub account: String,
    /// Base URL; default `https://<account>.snowflakecomputing.com`.
    pub url: String,
    /// Credentials.
    pub auth: Auth,
    /// Warehouse, database, schema, role sent with each statement (case-sensitive).
    pub warehouse: Option<String>,
    /// Database.
    pub database: Option<String>,
    /// Schema.
    pub schema: Option<String>,
    /// Role.
    pub role: Option<String>,
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
        Err(ReadError::Query("snowflake_sql reader: being written".into()))
    }
}
