//! `postgres`: Redshift (port 5439) and PostgreSQL over the PostgreSQL protocol, with
//! tokio-postgres `simple_query` (text values, no prepared statements: Redshift lacks what
//! the extended protocol's type lookups need).

use super::{Query, ReadError, Reading};
use crate::secret::Secret;

/// TLS use, as libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain TCP (only for local or test servers).
    Disable,
    /// TLS, certificate checked against the system's / webpki roots.
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

/// A shared connection (opened on first use, reopened after it breaks).
pub struct Client {
    cfg: Config,
}

impl Client {
    /// A client for `cfg` (does not connect yet).
    pub fn new(cfg: Config) -> Self {
        Self { cfg }
    }

    /// Runs `q.text` and returns the value of `q.column` (default first) in the first row.
    pub async fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        let _ = (&self.cfg, q);
        Err(ReadError::Query("postgres reader: being written".into()))
    }
}
