//! `prometheus`: the Prometheus instant query API (`/api/v1/query`).

use super::{Query, ReadError, Reading};
use crate::secret::Secret;

/// A `prometheus` connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Base URL, e.g. `http://prometheus:9090` (no trailing slash).
    pub url: String,
    /// Bearer token, if the server needs one.
    pub token: Option<Secret>,
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

    /// Runs the PromQL `q.text`; a scalar, or a vector of exactly one series.
    pub async fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        let _ = (&self.cfg, &self.http, q);
        Err(ReadError::Query("prometheus reader: being written".into()))
    }
}
