//! `databricks_sql`: the Databricks SQL Statement Execution API (PAT or OAuth M2M).
//!
//! One read is one statement: submit it (the server waits up to `wait_timeout`), poll until
//! it ends, then decode the first row of the inline `JSON_ARRAY` result with the column types
//! of the manifest (every value arrives as a string). The caller bounds a read by dropping
//! its future; a statement abandoned that way is cancelled in the background so the
//! warehouse does not go on running it.

mod wire;

use super::{Query, ReadError, Reading, http};
use crate::shell::secret::{self, Secret};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::{Duration, Instant};
use wire::{Manifest, ResultData, Statement, StatementRequest, TokenResponse, state, statement_id};

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

/// Only the first row is read; a larger limit would only cost transfer.
const ROW_LIMIT: u64 = 1;
/// Short statements end within a few hundred milliseconds, so look again soon; long ones
/// should not be hammered.
const POLL_FIRST: Duration = Duration::from_millis(100);
const POLL_MAX: Duration = Duration::from_secs(2);
/// A statement that is already running is worth a few waits on a busy (429/503) poll
/// before giving it up; the caller's timeout still bounds the whole read.
const BUSY_RETRIES: u32 = 3;
/// The SDK's wait when a 429/503 has no usable `Retry-After`.
const BUSY_DEFAULT: Duration = Duration::from_secs(1);
/// A server asking for longer than this mid-poll is better reported than waited out.
const BUSY_MAX: Duration = Duration::from_secs(30);
/// Tokens live an hour; renew a minute early so one never expires in flight.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// A shared client.
pub struct Client {
    cfg: Config,
    http: reqwest::Client,
    /// The OAuth access token and when to stop using it. Held across a token fetch so that
    /// concurrent reads share one fetch.
    token: tokio::sync::Mutex<Option<(Secret, Instant)>>,
}

impl Client {
    /// A client for `cfg`.
    pub fn new(cfg: Config, http: reqwest::Client) -> Self {
        Self {
            cfg,
            http,
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// Runs `q.text` and returns the value of `q.column` (default first) in the first row.
    pub async fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        self.run(q).await.map_err(|e| self.scrub(e))
    }

    async fn run(&self, q: &Query) -> Result<Reading, ReadError> {
        let url = format!("{}/api/2.0/sql/statements", self.host());
        let body = StatementRequest {
            warehouse_id: &self.cfg.warehouse_id,
            statement: &q.text,
            wait_timeout: format!("{}s", wait_secs(self.cfg.wait_timeout)),
            on_wait_timeout: "CONTINUE",
            format: "JSON_ARRAY",
            disposition: "INLINE",
            row_limit: ROW_LIMIT,
            catalog: self.cfg.catalog.as_deref(),
            schema: self.cfg.schema.as_deref(),
        };
        let resp = self
            .call(|b| self.http.post(&url).bearer_auth(b).json(&body))
            .await?;
        let mut st: Statement = json(resp, "statement response").await?;
        // The manifest may arrive in any response up to the final one; keep the latest.
        let mut manifest = None;
        let mut guard: Option<CancelOnDrop> = None;
        let mut delay = POLL_FIRST;
        loop {
            if st.manifest.is_some() {
                manifest = st.manifest.take();
            }
            let running = state(&st);
            if !matches!(running, Ok(true)) {
                // Ended (well or badly): nothing left to cancel.
                if let Some(g) = guard.as_mut() {
                    g.armed = false;
                }
                running?;
                return self
                    .first_row(st.statement_id.as_deref(), manifest, st.result, q)
                    .await;
            }
            let id = statement_id(st.statement_id.as_deref())?.to_string();
            if guard.is_none() {
                guard = Some(CancelOnDrop {
                    http: self.http.clone(),
                    url: format!("{url}/{id}/cancel"),
                    bearer: self.bearer().await?,
                    armed: true,
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(POLL_MAX);
            st = self.poll(&format!("{url}/{id}")).await?;
        }
    }

    /// One status GET, waiting out a few 429/503 answers as the server asks.
    async fn poll(&self, url: &str) -> Result<Statement, ReadError> {
        let mut busy = 0;
        loop {
            match self.call(|b| self.http.get(url).bearer_auth(b)).await {
                Ok(resp) => return json(resp, "statement status").await,
                Err(ReadError::Http {
                    status: 429 | 503,
                    retry_after,
                    ..
                }) if busy < BUSY_RETRIES && retry_after.is_none_or(|d| d <= BUSY_MAX) => {
                    busy += 1;
                    tokio::time::sleep(retry_after.unwrap_or(BUSY_DEFAULT)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn first_row(
        &self,
        id: Option<&str>,
        manifest: Option<Manifest>,
        result: Option<ResultData>,
        q: &Query,
    ) -> Result<Reading, ReadError> {
        let total = manifest.as_ref().and_then(|m| m.total_row_count);
        let mut rows = result.and_then(|r| r.data_array).unwrap_or_default();
        if rows.is_empty() && total.is_some_and(|n| n > 0) {
            // A response may leave the inline result out although there are rows; chunk 0
            // holds the first.
            let url = format!(
                "{}/api/2.0/sql/statements/{}/result/chunks/0",
                self.host(),
                statement_id(id)?
            );
            let resp = self.call(|b| self.http.get(&url).bearer_auth(b)).await?;
            let chunk: ResultData = json(resp, "result chunk").await?;
            rows = chunk.data_array.unwrap_or_default();
        }
        let Some(row) = rows.into_iter().next() else {
            return Err(ReadError::NoData("the query returned no rows".into()));
        };
        let columns = manifest
            .and_then(|m| m.schema)
            .map(|s| s.columns)
            .unwrap_or_default();
        wire::reading(&row, &columns, q)
    }

    /// Sends the request `build` makes with a bearer token; with OAuth, a 401 gets one more
    /// try with a fresh token (it may have been revoked or expired early).
    async fn call(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ReadError> {
        let mut renewed = false;
        loop {
            let bearer = self.bearer().await?;
            let resp = build(bearer.expose())
                .send()
                .await
                .map_err(http::transport_error)?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status == reqwest::StatusCode::UNAUTHORIZED
                && !renewed
                && matches!(self.cfg.auth, Auth::OAuth { .. })
            {
                self.forget(&bearer).await;
                renewed = true;
                continue;
            }
            // 401/403 are reported as `Auth`: the fix is the credentials or the principal's
            // grants, not the query or the platform's health, and operators should see that
            // at a glance. The status stays in the text.
            return Err(match http::status_error(resp).await {
                ReadError::Http {
                    status: status @ (401 | 403),
                    message,
                    ..
                } => ReadError::Auth(format!("HTTP {status}: {message}")),
                e => e,
            });
        }
    }

    async fn bearer(&self) -> Result<Secret, ReadError> {
        let (id, secret) = match &self.cfg.auth {
            Auth::Token(t) => return Ok(t.clone()),
            Auth::OAuth {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, until) = self.fetch_token(id, secret).await?;
        *cached = Some((token.clone(), until));
        Ok(token)
    }

    /// Drops the cached token if it is still `used` (a concurrent read may have renewed it).
    async fn forget(&self, used: &Secret) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|(t, _)| t == used) {
            *cached = None;
        }
    }

    async fn fetch_token(&self, id: &str, secret: &Secret) -> Result<(Secret, Instant), ReadError> {
        let resp = self
            .http
            .post(format!("{}/oidc/v1/token", self.host()))
            .basic_auth(id, Some(secret.expose()))
            .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
            .send()
            .await
            .map_err(http::transport_error)?;
        let status = resp.status();
        // Throttling and outages are not a credentials problem: keep them as HTTP errors
        // so `Retry-After` is honoured.
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(match http::status_error(resp).await {
                ReadError::Http {
                    status,
                    message,
                    retry_after,
                } => ReadError::Http {
                    status,
                    message: format!("token endpoint: {message}"),
                    retry_after,
                },
                e => e,
            });
        }
        let body = resp.text().await.map_err(http::transport_error)?;
        if !status.is_success() {
            return Err(ReadError::Auth(format!(
                "token endpoint answered HTTP {}: {}",
                status.as_u16(),
                oauth_message(&body)
            )));
        }
        let t: TokenResponse = serde_json::from_str(&body).map_err(|e| {
            ReadError::Auth(format!("token endpoint answered without a token: {e}"))
        })?;
        let token = t.access_token.filter(|s| !s.is_empty()).ok_or_else(|| {
            ReadError::Auth("token endpoint answered without an access_token".into())
        })?;
        let life = t
            .expires_in
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
            .map_or(Duration::from_secs(3600), Duration::from_secs)
            // An absurd lifetime must not overflow `Instant` (a panic) or pin a token forever.
            .min(Duration::from_secs(24 * 3600));
        // Short lifetimes (tests, odd servers) renew halfway instead.
        let until = Instant::now() + life - TOKEN_MARGIN.min(life / 2);
        Ok((Secret::new(token), until))
    }

    fn host(&self) -> &str {
        self.cfg.host.trim_end_matches('/')
    }

    /// Blanks our credentials in error text: servers may echo what they were sent.
    fn scrub(&self, e: ReadError) -> ReadError {
        let mut hide = Vec::new();
        match &self.cfg.auth {
            Auth::Token(t) => hide.push(t.expose().to_string()),
            Auth::OAuth {
                client_id,
                client_secret,
            } => {
                hide.push(client_secret.expose().to_string());
                let basic = format!("{client_id}:{}", client_secret.expose());
                hide.push(base64::engine::general_purpose::STANDARD.encode(basic));
            }
        }
        let clean = |s: String| {
            // The registry also covers OAuth access tokens (registered by `Secret::new`).
            let mut s = secret::redact(&s);
            for h in hide.iter().filter(|h| !h.is_empty()) {
                s = s.replace(h.as_str(), "***");
            }
            s
        };
        match e {
            ReadError::Query(s) => ReadError::Query(clean(s)),
            ReadError::Http {
                status,
                message,
                retry_after,
            } => ReadError::Http {
                status,
                message: clean(message),
                retry_after,
            },
            ReadError::Connect(s) => ReadError::Connect(clean(s)),
            ReadError::Auth(s) => ReadError::Auth(clean(s)),
            ReadError::NoData(s) => ReadError::NoData(clean(s)),
            ReadError::Malformed(s) => ReadError::Malformed(clean(s)),
            ReadError::Command(s) => ReadError::Command(clean(s)),
            ReadError::Timeout(d) => ReadError::Timeout(d),
        }
    }
}

/// Posts a best-effort cancel for a statement whose read was abandoned (the future dropped
/// by the caller's timeout, or an error while polling).
struct CancelOnDrop {
    http: reqwest::Client,
    url: String,
    bearer: Secret,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (http, url, bearer) = (
            self.http.clone(),
            std::mem::take(&mut self.url),
            self.bearer.clone(),
        );
        rt.spawn(async move {
            // The API may ignore a cancel and the statement may have ended meanwhile; either
            // way there is nobody left to tell.
            let _ = http
                .post(url)
                .bearer_auth(bearer.expose())
                .timeout(Duration::from_secs(10))
                .send()
                .await;
        });
    }
}

/// `wait_timeout` as the API accepts it: 0 (answer at once) or 5–50 seconds.
fn wait_secs(d: Duration) -> u64 {
    match d.as_secs() {
        0 => 0,
        s => s.clamp(5, 50),
    }
}

async fn json<T: DeserializeOwned>(resp: reqwest::Response, what: &str) -> Result<T, ReadError> {
    let body = resp.text().await.map_err(http::transport_error)?;
    serde_json::from_str(&body).map_err(|e| {
        ReadError::Malformed(format!(
            "{what} is not the expected JSON ({e}): {}",
            http::shorten(&body)
        ))
    })
}

/// An OAuth error body (`error` + `error_description`) or whatever else came, shortened.
fn oauth_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let field = |k: &str| v.get(k).and_then(Value::as_str);
        let code = field("error").or_else(|| field("error_code"));
        let desc = field("error_description").or_else(|| field("message"));
        match (code, desc) {
            (Some(c), Some(d)) => return http::shorten(&format!("{c}: {d}")),
            (Some(m), None) | (None, Some(m)) => return http::shorten(m),
            _ => {}
        }
    }
    if body.trim().is_empty() {
        "empty body".into()
    } else {
        http::shorten(body)
    }
}
