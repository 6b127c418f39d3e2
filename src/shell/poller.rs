//! Live metric polling: one task per metric on its own interval, sharing one client per
//! connection, each read bounded by the metric's timeout. Results go to the cockpit's loop as
//! engine messages, so a slow or hanging source never delays the screen or the other
//! metrics. Failed reads back off (honouring `Retry-After`); every result carries the
//! reader's own timestamp when it has one.

use crate::core::engine::Msg;
use crate::core::runbook::Runbook;
use crate::core::runbook::signals::{LiveRead, Metric};
use crate::readers::{self, Client, ConnectionConfig};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The running pollers; dropping it stops them.
pub struct Poller {
    rx: mpsc::Receiver<Msg>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Poller {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Results waiting for the loop, at most.
const QUEUE: usize = 4096;

/// Longest wait between attempts of a failing source.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

fn backoff(every: Duration, failures: u32, retry_after: Option<Duration>) -> Duration {
    let grown = every
        .saturating_mul(1u32 << failures.min(6))
        .min(MAX_BACKOFF.max(every));
    match retry_after {
        Some(r) => r.max(every),
        None => grown,
    }
}

impl Poller {
    /// Starts a task per metric with a live reader. `t0` maps wall time to T-time.
    pub fn start(
        rb: &Runbook,
        conns: &HashMap<String, ConnectionConfig>,
        t0: DateTime<Utc>,
    ) -> Result<Self, String> {
        let http = readers::http::client().map_err(|e| e.reason())?;
        let clients: HashMap<String, Arc<Client>> = conns
            .iter()
            .map(|(k, c)| (k.clone(), Arc::new(Client::new(c, &http))))
            .collect();
        // Bounded: if the cockpit's loop falls behind (a starved machine), pollers wait to hand
        // over their result instead of piling results up in memory.
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut tasks = Vec::new();
        for m in &rb.signals.metrics {
            let Some(live) = m.live.clone() else { continue };
            let client = match &live {
                LiveRead::Query { from, .. } => clients.get(from).cloned(),
                LiveRead::Command(_) => None,
            };
            tasks.push(tokio::spawn(poll(
                m.clone(),
                live,
                client,
                rb.dir.clone(),
                t0,
                tx.clone(),
            )));
        }
        Ok(Self { rx, tasks })
    }

    /// The next result.
    pub async fn recv(&mut self) -> Option<Msg> {
        self.rx.recv().await
    }

    /// A result already waiting.
    pub fn try_recv(&mut self) -> Option<Msg> {
        self.rx.try_recv().ok()
    }
}

/// How long one read of `m` may take: its `timeout`, at least 100 ms.
pub fn read_limit(m: &Metric) -> Duration {
    Duration::from_millis(m.timeout.max(100) as u64)
}

/// One read of a metric, bounded by `limit`, exactly as the live run polls it: a query on
/// the metric's shared connection, or its command run in the runbook's folder `dir`.
/// `client` is None when the metric's connection could not be set up.
pub async fn read_once(
    live: &LiveRead,
    client: Option<&Client>,
    dir: &Path,
    limit: Duration,
) -> Result<readers::Reading, readers::ReadError> {
    let read = async {
        match (live, client) {
            (LiveRead::Query { query, .. }, Some(c)) => c.read(query).await,
            (LiveRead::Command(argv), _) => readers::command::read(argv, dir).await,
            (LiveRead::Query { from, .. }, None) => Err(readers::ReadError::Connect(format!(
                "connection `{from}` is not set up"
            ))),
        }
    };
    match tokio::time::timeout(limit, read).await {
        Ok(r) => r,
        Err(_) => Err(readers::ReadError::Timeout(limit)),
    }
}

/// A failed read as operators see it. Redacted here, at the edge: a server may echo a
/// credential in its error, and the reason is shown on screen and journaled.
pub fn shown_reason(e: &readers::ReadError) -> String {
    crate::shell::secret::redact(&e.reason())
}

async fn poll(
    m: Metric,
    live: LiveRead,
    client: Option<Arc<Client>>,
    dir: PathBuf,
    t0: DateTime<Utc>,
    tx: mpsc::Sender<Msg>,
) {
    let every = Duration::from_millis(m.every.max(1000) as u64);
    let limit = read_limit(&m);
    let mut failures = 0u32;
    loop {
        let started = tokio::time::Instant::now();
        let result = read_once(&live, client.as_deref(), &dir, limit).await;
        let now = Utc::now();
        let (at, value, wait) = match result {
            Ok(r) => {
                failures = 0;
                (r.at.unwrap_or(now), Ok(r.value), every)
            }
            Err(e) => {
                failures += 1;
                let wait = backoff(every, failures - 1, e.retry_after());
                (now, Err(shown_reason(&e)), wait)
            }
        };
        let msg = Msg::Sample {
            metric: m.id.clone(),
            at: (at - t0).num_milliseconds(),
            value,
        };
        if tx.send(msg).await.is_err() {
            return;
        }
        tokio::time::sleep_until(started + wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let s = Duration::from_secs(10);
        assert_eq!(backoff(s, 0, None), s);
        assert_eq!(backoff(s, 2, None), Duration::from_secs(40));
        assert_eq!(backoff(s, 20, None), MAX_BACKOFF);
        assert_eq!(backoff(s, 3, Some(Duration::from_secs(7))), s);
        assert_eq!(
            backoff(s, 0, Some(Duration::from_secs(60))),
            Duration::from_secs(60)
        );
    }
}
