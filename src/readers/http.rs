//! What the HTTP readers share: the one reqwest client (rustls with the ring provider, no
//! OpenSSL), `Retry-After` parsing, and turning an HTTP error response into a `ReadError`.

use super::ReadError;
use std::time::Duration;

/// Installs rustls' ring provider as the process default (once; later calls do nothing).
pub fn ensure_crypto() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The shared HTTP client: a `cutover/VERSION` User-Agent (Snowflake requires one), a
/// connect timeout; per-request timeouts are the poller's.
pub fn client() -> Result<reqwest::Client, ReadError> {
    ensure_crypto();
    reqwest::Client::builder()
        .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| ReadError::Connect(e.to_string()))
}

/// `Retry-After` as a delay: integer seconds, or an HTTP date.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let d = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(d.to_std().unwrap_or(Duration::ZERO))
}

/// At most this much of a response body goes into an error message.
const BODY_SHOWN: usize = 300;

/// Shortens `s` to what fits in one error line.
pub fn shorten(s: &str) -> String {
    let s = s.trim();
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= BODY_SHOWN {
        one_line
    } else {
        let cut: String = one_line.chars().take(BODY_SHOWN).collect();
        format!("{cut}…")
    }
}

/// A `ReadError` for a non-success response: status, `Retry-After`, and the body's message
/// (`message` / `error` fields of a JSON body, else the text, shortened).
pub async fn status_error(resp: reqwest::Response) -> ReadError {
    let status = resp.status().as_u16();
    let retry = retry_after(resp.headers());
    let body = resp.text().await.unwrap_or_default();
    let message = match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(v) => {
            let code = v
                .get("error_code")
                .or_else(|| v.get("errorType"))
                .and_then(|c| c.as_str());
            let msg = v
                .get("message")
                .or_else(|| v.get("error"))
                .and_then(|m| m.as_str())
                .map(str::to_string);
            match (code, msg) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (None, Some(m)) => m,
                _ => shorten(&body),
            }
        }
        Err(_) if body.trim().is_empty() => "empty body".to_string(),
        Err(_) => shorten(&body),
    };
    ReadError::Http {
        status,
        message: shorten(&message),
        retry_after: retry,
    }
}

/// A `ReadError` for a transport failure.
pub fn transport_error(e: reqwest::Error) -> ReadError {
    if e.is_timeout() {
        ReadError::Timeout(Duration::ZERO)
    } else {
        // Without the URL: it may carry a secret, and the metric already names its source.
        let e = e.without_url();
        // reqwest's own text is only "error sending request"; the causes beneath say what
        // an operator can act on (connection refused, a DNS failure, a certificate).
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            let more = c.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            cause = c.source();
        }
        ReadError::Connect(text)
    }
}
