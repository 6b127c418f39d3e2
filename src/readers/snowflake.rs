//! `snowflake_sql`: the Snowflake SQL API v2 (OAuth, programmatic access token, key-pair JWT).
//!
//! One read is one statement: `POST /api/v2/statements` (synchronous; the server answers
//! within 45 s or hands back a statement handle), then `GET` on the statement's status URL
//! with a short growing backoff until it finishes. The outcome is decided by the HTTP status
//! (200 result, 202 still running, 408 timed out, 422 failed), never by the body's `code`.
//! Every cell of a `jsonv2` result is a string; it is decoded by the column's declared type.

use super::{Query, ReadError, Reading, http};
use crate::shell::secret::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use rsa::RsaPrivateKey;
use rsa::rand_core::{OsRng, RngCore as _};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

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

/// Sent on every request: the shared client sets it too, but Snowflake refuses requests
/// without one, so a client built elsewhere must not be able to lose it.
const USER_AGENT_VALUE: &str = concat!("cutover/", env!("CARGO_PKG_VERSION"));
/// The header naming the kind of bearer token.
const TOKEN_TYPE: &str = "X-Snowflake-Authorization-Token-Type";
/// Server-side statement timeout: a metric query that runs longer is useless to a poller,
/// and this stops an abandoned statement from burning warehouse credits for long.
const STATEMENT_TIMEOUT_SECS: u64 = 60;
/// `query_tag` on every statement, so the queries are easy to find in `QUERY_HISTORY`.
const QUERY_TAG: &str = "cutover";
/// JWT lifetime: Snowflake accepts at most one hour; a minute less leaves room for clock skew.
const JWT_LIFETIME_SECS: i64 = 59 * 60;
/// A cached JWT is replaced this long before it expires, so no request carries one that
/// expires in flight.
const JWT_RENEW_BEFORE_SECS: i64 = 5 * 60;
/// Status polling starts quickly (most statements finish soon after the 202) and backs off.
const POLL_FIRST: Duration = Duration::from_millis(100);
/// The longest pause between status polls.
const POLL_MAX: Duration = Duration::from_secs(2);
/// Later than any real sample time: epoch values beyond it are milliseconds or garbage.
const LATEST_EPOCH_SECS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

/// A JWT in use, with what is needed to reuse it and to explain a refusal.
struct CachedJwt {
    token: Secret,
    exp: i64,
    iss: String,
}

/// A shared client.
pub struct Client {
    cfg: Config,
    http: reqwest::Client,
    /// The key-pair JWT, shared by every metric on the connection; a std mutex because it
    /// is never held across an await.
    jwt: Mutex<Option<CachedJwt>>,
}

/// The credentials for one request.
struct Bearer {
    token: String,
    kind: &'static str,
}

/// One request of the statement protocol.
enum Step {
    /// `POST /api/v2/statements`; `retry` re-sends the same request id after a refusal.
    Submit { retry: bool },
    /// `GET` the status URL (a path on the account host).
    Poll(String),
}

impl Client {
    /// A client for `cfg`.
    pub fn new(cfg: Config, http: reqwest::Client) -> Self {
        Self {
            cfg,
            http,
            jwt: Mutex::new(None),
        }
    }

    /// Runs `q.text` and returns the value of `q.column` (default first) in the first row.
    pub async fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        // Server text can echo what it was sent; blank every known secret (tokens, JWTs)
        // here so no caller can show one by forgetting `reason()`.
        self.run(q).await.map_err(redacted)
    }

    async fn run(&self, q: &Query) -> Result<Reading, ReadError> {
        let base = self.base_url();
        let request_id = request_id();
        let body = self.statement_body(q);
        let keypair = matches!(self.cfg.auth, Auth::KeyPair { .. });

        let mut step = Step::Submit { retry: false };
        let mut renewed = false;
        let mut resp = self.send(&base, &request_id, &body, &step, false).await?;
        let mut delay = POLL_FIRST;
        loop {
            match resp.status().as_u16() {
                200 => {
                    let text = resp.text().await.map_err(http::transport_error)?;
                    return reading(&text, q);
                }
                202 => {
                    let text = resp.text().await.map_err(http::transport_error)?;
                    let path = status_path(&text, &base)?;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(POLL_MAX);
                    step = Step::Poll(path);
                }
                // A JWT can be refused for clock skew or a rotated key: make a fresh one
                // (re-reading the key file) once. OAuth and PAT tokens cannot be renewed here.
                401 if keypair && !renewed => {
                    renewed = true;
                    if let Step::Submit { retry } = &mut step {
                        // The refused request never ran; the same id with `retry=true` is
                        // the documented way to re-send it without running it twice.
                        *retry = true;
                    }
                    resp = self.send(&base, &request_id, &body, &step, true).await?;
                    continue;
                }
                401 => return Err(self.refused(resp).await),
                408 => {
                    let text = resp.text().await.unwrap_or_default();
                    let detail = status_detail(&text)
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default();
                    return Err(ReadError::Query(format!(
                        "statement timed out or was cancelled (server timeout {STATEMENT_TIMEOUT_SECS} s){detail}"
                    )));
                }
                422 => {
                    let text = resp.text().await.unwrap_or_default();
                    return Err(ReadError::Query(failure_text(&text)));
                }
                // 429, 503, 504 and the rest: Snowflake documents no Retry-After; the
                // poller's backoff does the waiting.
                _ => return Err(http::status_error(resp).await),
            }
            resp = self.send(&base, &request_id, &body, &step, false).await?;
        }
    }

    /// `cfg.url` without a trailing slash, or the account's default host.
    fn base_url(&self) -> String {
        let url = self.cfg.url.trim().trim_end_matches('/');
        if url.is_empty() {
            format!("https://{}.snowflakecomputing.com", self.cfg.account.trim())
        } else {
            url.to_string()
        }
    }

    /// The JSON body of the submit request.
    fn statement_body(&self, q: &Query) -> Value {
        let mut b = Map::new();
        b.insert("statement".into(), Value::String(q.text.clone()));
        b.insert("timeout".into(), json!(STATEMENT_TIMEOUT_SECS));
        let context = [
            ("warehouse", &self.cfg.warehouse),
            ("database", &self.cfg.database),
            ("schema", &self.cfg.schema),
            ("role", &self.cfg.role),
        ];
        for (key, value) in context {
            // Omitted fields fall back to the user's defaults; an empty string would not.
            if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                b.insert(key.into(), Value::String(v.to_string()));
            }
        }
        b.insert("parameters".into(), json!({ "query_tag": QUERY_TAG }));
        Value::Object(b)
    }

    /// Sends one request of the protocol with fresh credentials (`renew` forces a new JWT).
    async fn send(
        &self,
        base: &str,
        request_id: &str,
        body: &Value,
        step: &Step,
        renew: bool,
    ) -> Result<reqwest::Response, ReadError> {
        let bearer = self.bearer(renew)?;
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", bearer.token)).map_err(|_| {
                ReadError::Auth(
                    "the token contains characters not allowed in an HTTP header".into(),
                )
            })?;
        auth.set_sensitive(true);
        let req = match step {
            Step::Submit { retry } => {
                let mut url = format!("{base}/api/v2/statements?requestId={request_id}");
                if *retry {
                    url.push_str("&retry=true");
                }
                self.http
                    .post(url)
                    .header(CONTENT_TYPE, "application/json")
                    .json(body)
            }
            Step::Poll(path) => self.http.get(format!("{base}{path}")),
        };
        req.header(AUTHORIZATION, auth)
            .header(TOKEN_TYPE, bearer.kind)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, USER_AGENT_VALUE)
            .send()
            .await
            .map_err(http::transport_error)
    }

    /// The bearer token and its type; for key-pair auth the cached JWT, or a new one when
    /// it is near expiry or `renew` is set.
    fn bearer(&self, renew: bool) -> Result<Bearer, ReadError> {
        let (secret, kind, what) = match &self.cfg.auth {
            Auth::OAuth(s) => (s, "OAUTH", "OAuth token"),
            Auth::Pat(s) => (s, "PROGRAMMATIC_ACCESS_TOKEN", "programmatic access token"),
            Auth::KeyPair {
                user,
                private_key_file,
            } => {
                return self.keypair_bearer(user, private_key_file, renew);
            }
        };
        if secret.is_empty() {
            return Err(ReadError::Auth(format!("the {what} is empty")));
        }
        Ok(Bearer {
            token: secret.expose().to_string(),
            kind,
        })
    }

    fn keypair_bearer(&self, user: &str, file: &Path, renew: bool) -> Result<Bearer, ReadError> {
        let now = Utc::now().timestamp();
        // A poisoned lock only means another read panicked mid-update; the cache is still a
        // plain value, and at worst it is replaced below.
        let mut cache = self.jwt.lock().unwrap_or_else(PoisonError::into_inner);
        if !renew
            && let Some(c) = cache.as_ref()
            && c.exp - now > JWT_RENEW_BEFORE_SECS
        {
            return Ok(Bearer {
                token: c.token.expose().to_string(),
                kind: "KEYPAIR_JWT",
            });
        }
        let in_file =
            |m: String| ReadError::Auth(format!("private key file {}: {m}", file.display()));
        // Blocking read inside async code: a key file is a few KB, read once an hour.
        let pem =
            std::fs::read_to_string(file).map_err(|e| in_file(format!("cannot read it: {e}")))?;
        let (jwt, iss) = build_jwt(&self.cfg.account, user, &pem, now).map_err(in_file)?;
        let token = Secret::new(jwt);
        let bearer = Bearer {
            token: token.expose().to_string(),
            kind: "KEYPAIR_JWT",
        };
        *cache = Some(CachedJwt {
            token,
            exp: now + JWT_LIFETIME_SECS,
            iss,
        });
        Ok(bearer)
    }

    /// The error for a 401 that will not be retried, with what helps fixing it.
    async fn refused(&self, resp: reqwest::Response) -> ReadError {
        let message = match http::status_error(resp).await {
            ReadError::Http { message, .. } => message,
            other => other.to_string(),
        };
        let hint = match &self.cfg.auth {
            Auth::OAuth(_) => "the OAuth token was refused (expired?)".to_string(),
            Auth::Pat(_) => {
                "the programmatic access token was refused (expired or revoked?)".to_string()
            }
            Auth::KeyPair { .. } => {
                let cache = self.jwt.lock().unwrap_or_else(PoisonError::into_inner);
                match cache.as_ref() {
                    // The issuer holds account, user and key fingerprint, all public; it is
                    // what to compare with `DESC USER … RSA_PUBLIC_KEY_FP`.
                    Some(c) => format!(
                        "the key-pair JWT was refused; it was issued as {}: check the account, \
                         the user and that the fingerprint matches DESC USER's RSA_PUBLIC_KEY_FP",
                        c.iss
                    ),
                    None => "the key-pair JWT was refused".to_string(),
                }
            }
        };
        ReadError::Auth(format!("HTTP 401: {message}; {hint}"))
    }
}

/// A key-pair JWT (RS256) for `account` and `user`, issued at `now` (epoch seconds) and valid
/// for 59 minutes, signed with the RSA private key in `pem` (PKCS#8 `BEGIN PRIVATE KEY` or
/// PKCS#1 `BEGIN RSA PRIVATE KEY`). Mirrors snowflake-connector-python `auth/keypair.py`:
/// account and user uppercased, the account cut at its first `.` (a locator's region), or at
/// its first `-` for a `.global` name; `iss` = `ACCOUNT.USER.SHA256:<base64 sha256 of the
/// DER SubjectPublicKeyInfo>`, `sub` = `ACCOUNT.USER`. Errors never contain the key.
pub fn keypair_jwt(account: &str, user: &str, pem: &str, now: i64) -> Result<String, ReadError> {
    build_jwt(account, user, pem, now)
        .map(|(jwt, _)| jwt)
        .map_err(|m| ReadError::Auth(format!("private key: {m}")))
}

/// The JWT and its issuer; the error is a message without key material.
fn build_jwt(account: &str, user: &str, pem: &str, now: i64) -> Result<(String, String), String> {
    use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};

    if user.trim().is_empty() {
        return Err("key-pair authentication needs a user".into());
    }
    let key = private_key(pem)?;
    let fp = fingerprint(&key)?;
    let sub = format!("{}.{}", jwt_account(account), user.trim().to_uppercase());
    let iss = format!("{sub}.SHA256:{fp}");
    let claims = json!({ "iss": iss, "sub": sub, "iat": now, "exp": now + JWT_LIFETIME_SECS });
    let header = r#"{"alg":"RS256","typ":"JWT"}"#;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key);
    // The randomized signer blinds the private-key operation (the signature itself is
    // deterministic either way), which keeps timing from leaking the key.
    let sig = signer
        .try_sign_with_rng(&mut OsRng, signing_input.as_bytes())
        .map_err(|_| "signing the JWT failed".to_string())?;
    let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()));
    Ok((jwt, iss))
}

/// The account part of the claims, as the Python connector derives it.
fn jwt_account(account: &str) -> String {
    let a = account.trim();
    let cut = if a.to_ascii_lowercase().contains(".global") {
        '-'
    } else {
        '.'
    };
    a.split(cut).next().unwrap_or(a).to_uppercase()
}

/// The RSA key in a PEM text (extra text around the block, as `openssl` sometimes writes,
/// is ignored).
fn private_key(pem: &str) -> Result<RsaPrivateKey, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;

    if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        return Err("the key is encrypted; give an unencrypted PKCS#8 key \
             (`openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.p8`)"
            .into());
    }
    if let Some(block) = pem_block(pem, "PRIVATE KEY") {
        return RsaPrivateKey::from_pkcs8_pem(block)
            .map_err(|e| format!("not a valid PKCS#8 RSA private key ({e})"));
    }
    if let Some(block) = pem_block(pem, "RSA PRIVATE KEY") {
        return RsaPrivateKey::from_pkcs1_pem(block)
            .map_err(|e| format!("not a valid PKCS#1 RSA private key ({e})"));
    }
    Err("no `BEGIN PRIVATE KEY` (PKCS#8) or `BEGIN RSA PRIVATE KEY` (PKCS#1) PEM block".into())
}

/// The `-----BEGIN label-----` … `-----END label-----` block of `text`, if there is one.
fn pem_block<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = start + text[start..].find(&end)? + end.len();
    Some(&text[start..stop])
}

/// base64(sha256(DER SubjectPublicKeyInfo)), Snowflake's `RSA_PUBLIC_KEY_FP` without the
/// `SHA256:` prefix.
fn fingerprint(key: &RsaPrivateKey) -> Result<String, String> {
    use rsa::pkcs8::EncodePublicKey as _;
    let der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| format!("cannot encode the public key ({e})"))?;
    Ok(STANDARD.encode(Sha256::digest(der.as_bytes())))
}

/// A random UUID v4 for `requestId`.
fn request_id() -> String {
    let mut b = [0u8; 16];
    if OsRng.try_fill_bytes(&mut b).is_err() {
        // Without OS randomness the id only has to be unique: hash the time, the process
        // and a counter.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = format!(
            "{:?} {} {}",
            std::time::SystemTime::now(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let h = Sha256::digest(seed.as_bytes());
        b.copy_from_slice(&h[..16]);
    }
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The path to poll from a 202 `QueryStatus`. Only a path on the account host is followed:
/// the token must never go to a host named by a response.
fn status_path(body: &str, base: &str) -> Result<String, ReadError> {
    let v: Value = serde_json::from_str(body).map_err(|e| {
        ReadError::Malformed(format!(
            "HTTP 202 body is not JSON ({e}): {}",
            http::shorten(body)
        ))
    })?;
    if let Some(url) = v.get("statementStatusUrl").and_then(Value::as_str) {
        let path = url.strip_prefix(base).unwrap_or(url);
        if path.starts_with('/') && !path.starts_with("//") {
            return Ok(path.to_string());
        }
        return Err(ReadError::Malformed(format!(
            "HTTP 202 statementStatusUrl {} is not a path on the account host",
            http::shorten(url)
        )));
    }
    match v.get("statementHandle").and_then(Value::as_str) {
        Some(h)
            if !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(format!("/api/v2/statements/{h}"))
        }
        _ => Err(ReadError::Malformed(
            "HTTP 202 without a statementStatusUrl or statementHandle to poll".into(),
        )),
    }
}

/// `code: message` of a `QueryStatus` body, if it has either.
fn status_detail(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let code = v.get("code").and_then(Value::as_str);
    let msg = v.get("message").and_then(Value::as_str);
    match (code, msg) {
        (Some(c), Some(m)) => Some(http::shorten(&format!("{c}: {m}"))),
        (None, Some(m)) => Some(http::shorten(m)),
        (Some(c), None) => Some(c.to_string()),
        (None, None) => None,
    }
}

/// `<code> <sqlState>: <message>` of a 422 `QueryFailureStatus`.
fn failure_text(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return if body.trim().is_empty() {
            "HTTP 422 with an empty body".into()
        } else {
            format!("HTTP 422: {}", http::shorten(body))
        };
    };
    let field = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let ids: Vec<&str> = [field("code"), field("sqlState")]
        .into_iter()
        .flatten()
        .collect();
    let message = field("message").unwrap_or("the statement failed (no message)");
    if ids.is_empty() {
        http::shorten(message)
    } else {
        http::shorten(&format!("{}: {message}", ids.join(" ")))
    }
}

/// A `rowType` entry.
struct Column {
    name: String,
    ty: String,
}

/// The reading in a 200 `ResultSet`.
fn reading(body: &str, q: &Query) -> Result<Reading, ReadError> {
    let v: Value = serde_json::from_str(body).map_err(|e| {
        ReadError::Malformed(format!(
            "the result is not JSON ({e}): {}",
            http::shorten(body)
        ))
    })?;
    let row_type = v
        .pointer("/resultSetMetaData/rowType")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ReadError::Malformed("the result has no resultSetMetaData.rowType".into())
        })?;
    let columns = row_type
        .iter()
        .map(|c| {
            let name = c.get("name").and_then(Value::as_str);
            let ty = c.get("type").and_then(Value::as_str);
            match (name, ty) {
                (Some(name), Some(ty)) => Ok(Column {
                    name: name.to_string(),
                    ty: ty.to_string(),
                }),
                _ => Err(ReadError::Malformed(
                    "a rowType entry lacks its name or type".into(),
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Only partition 0 comes inline, and it holds the first row: no need to fetch others.
    let rows = match v.get("data") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(rows)) => rows.as_slice(),
        Some(_) => {
            return Err(ReadError::Malformed(
                "`data` is not an array of rows".into(),
            ));
        }
    };
    let Some(row) = rows.first() else {
        return Err(ReadError::NoData("the query returned no rows".into()));
    };
    let row = row
        .as_array()
        .ok_or_else(|| ReadError::Malformed("the first row is not an array".into()))?;

    let value_col = match &q.column {
        Some(name) => find_column(&columns, name)?,
        None if columns.is_empty() => {
            return Err(ReadError::Malformed("the result has no columns".into()));
        }
        None => 0,
    };
    let value = number(&columns[value_col], cell(row, value_col, &columns)?)?;
    let at = match &q.time_column {
        Some(name) => {
            let i = find_column(&columns, name)?;
            Some(time(&columns[i], cell(row, i, &columns)?)?)
        }
        None => None,
    };
    Ok(Reading { value, at })
}

/// The index of the column called `name` (Snowflake uppercases unquoted names, so the
/// match ignores case).
fn find_column(columns: &[Column], name: &str) -> Result<usize, ReadError> {
    columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            ReadError::NoData(format!(
                "no column {name} in the result (columns: {})",
                names.join(", ")
            ))
        })
}

fn cell<'a>(row: &'a [Value], i: usize, columns: &[Column]) -> Result<&'a Value, ReadError> {
    row.get(i).ok_or_else(|| {
        ReadError::Malformed(format!(
            "the first row has {} cells but rowType names {} columns",
            row.len(),
            columns.len()
        ))
    })
}

/// A cell as a string; numbers and booleans are tolerated although jsonv2 sends strings.
enum Cell<'a> {
    Text(&'a str),
    Number(f64),
}

fn cell_text<'a>(col: &Column, v: &'a Value, what: &str) -> Result<Cell<'a>, ReadError> {
    match v {
        Value::Null => Err(ReadError::NoData(format!("NULL in {what}{}", col.name))),
        Value::String(s) => Ok(Cell::Text(s)),
        Value::Number(n) => n.as_f64().map(Cell::Number).ok_or_else(|| {
            ReadError::Malformed(format!("column {}: number out of range", col.name))
        }),
        Value::Bool(b) => Ok(Cell::Number(if *b { 1.0 } else { 0.0 })),
        _ => Err(ReadError::Malformed(format!(
            "column {} holds a JSON {}, not a string",
            col.name,
            if v.is_array() { "array" } else { "object" }
        ))),
    }
}

fn parse_f64(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// The value cell, decoded by the column type.
fn number(col: &Column, v: &Value) -> Result<f64, ReadError> {
    let s = match cell_text(col, v, "column ")? {
        Cell::Number(n) => return Ok(n),
        Cell::Text(s) => s,
    };
    let name = &col.name;
    let ty = col.ty.to_ascii_lowercase();
    let not_number = || {
        ReadError::Malformed(format!(
            "column {name} ({}) holds {:?}, not a number",
            col.ty,
            http::shorten(s)
        ))
    };
    match ty.as_str() {
        // FIXED keeps its decimal string verbatim (scale only describes it).
        "fixed" | "number" | "decimal" | "numeric" | "int" | "integer" | "bigint" | "real" | "float"
        | "double" => parse_f64(s).ok_or_else(not_number),
        "boolean" => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(1.0),
            "false" | "0" => Ok(0.0),
            _ => Err(not_number()),
        },
        "text" | "varchar" | "string" | "char" => parse_f64(s).ok_or_else(|| {
            ReadError::Malformed(format!(
                "column {name} is text ({:?}), not a number: cast it in the query, e.g. `{name}::number`",
                http::shorten(s)
            ))
        }),
        t if t == "date" || t == "time" || t.starts_with("timestamp") => Err(ReadError::Malformed(format!(
            "column {name} is a {}, not a number: select `DATE_PART(epoch_second, {name})` \
             for a number, or name it as the time column",
            col.ty.to_uppercase()
        ))),
        _ => parse_f64(s).ok_or_else(|| {
            ReadError::Malformed(format!(
                "column {name} has type {}, which is not a number: cast it in the query",
                col.ty
            ))
        }),
    }
}

/// The time cell: epoch seconds (a number, a TIMESTAMP_* value), days for a DATE, or an
/// RFC 3339 string in a text column.
fn time(col: &Column, v: &Value) -> Result<DateTime<Utc>, ReadError> {
    let name = &col.name;
    let bad = |s: &str| {
        ReadError::Malformed(format!(
            "time column {name} ({}) holds {:?}, not epoch seconds or RFC 3339",
            col.ty,
            http::shorten(s)
        ))
    };
    let s = match cell_text(col, v, "time column ")? {
        Cell::Number(n) => return epoch_f64(n).ok_or_else(|| bad(&n.to_string())),
        Cell::Text(s) => s,
    };
    let ty = col.ty.to_ascii_lowercase();
    match ty.as_str() {
        // "<epoch seconds> <offset minutes + 1440>": the first part is already UTC.
        "timestamp_tz" => epoch(s.split_whitespace().next().unwrap_or("")).ok_or_else(|| bad(s)),
        "date" => s
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|days| days.checked_mul(86_400))
            .and_then(|secs| epoch(&secs.to_string()))
            .ok_or_else(|| bad(s)),
        "time" => Err(ReadError::Malformed(format!(
            "time column {name} is a TIME (time of day), not a point in time: \
             select a TIMESTAMP or `DATE_PART(epoch_second, …)`"
        ))),
        "text" | "varchar" | "string" | "char" => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| epoch(s))
            .ok_or_else(|| bad(s)),
        _ => epoch(s).ok_or_else(|| bad(s)),
    }
}

/// Epoch seconds with an optional fraction (`"1616173619.000000000"`), exactly to the
/// nanosecond; exponent forms go through f64.
fn epoch(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return parse_f64(s).and_then(epoch_f64);
    }
    let mut secs: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let nine: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let mut nanos: u32 = nine.parse().ok()?;
    if negative {
        if nanos > 0 {
            secs = -secs - 1;
            nanos = 1_000_000_000 - nanos;
        } else {
            secs = -secs;
        }
    }
    if secs.abs() > LATEST_EPOCH_SECS {
        return None;
    }
    DateTime::from_timestamp(secs, nanos)
}

fn epoch_f64(x: f64) -> Option<DateTime<Utc>> {
    if !x.is_finite() || x.abs() > LATEST_EPOCH_SECS as f64 {
        return None;
    }
    let secs = x.floor();
    // In range by the check above, so the casts cannot saturate.
    let nanos = (((x - secs) * 1e9).round() as u32).min(999_999_999);
    DateTime::from_timestamp(secs as i64, nanos)
}

/// `e` with every registered secret blanked in its text.
fn redacted(e: ReadError) -> ReadError {
    use crate::shell::secret::redact;
    match e {
        ReadError::Query(m) => ReadError::Query(redact(&m)),
        ReadError::Http {
            status,
            message,
            retry_after,
        } => ReadError::Http {
            status,
            message: redact(&message),
            retry_after,
        },
        ReadError::Connect(m) => ReadError::Connect(redact(&m)),
        ReadError::Auth(m) => ReadError::Auth(redact(&m)),
        ReadError::NoData(m) => ReadError::NoData(redact(&m)),
        ReadError::Malformed(m) => ReadError::Malformed(redact(&m)),
        ReadError::Command(m) => ReadError::Command(redact(&m)),
        ReadError::Timeout(d) => ReadError::Timeout(d),
    }
}
