//! `http_json`: GET a URL and take one value by JSON pointer.

use super::{Query, ReadError, Reading};
use crate::secret::Secret;

/// An `http_json` connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Base URL; a metric's `path` is appended.
    pub url: String,
    /// Extra request headers (values may be secrets, e.g. `X-API-Key`).
    pub headers: Vec<(String, Secret)>,
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

    /// GETs `url + q.text` and takes the number at `q.pointer`.
    pub async fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        let _ = (&self.cfg, &self.http, q);
        Err(ReadError::Query("http_json reader: being written".into()))
    }
}
