//! A local JSON metrics endpoint for `bench/poll1000.sh`: `GET /m/N` answers
//! `{"v": <number>}` with a value that wanders a little, and the number of requests served
//! so far is printed every 10 s. Run: `cargo run --release --example metrics_endpoint -- PORT`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark helper fails loudly

use axum::extract::Path;
use axum::routing::get;
use std::sync::atomic::{AtomicU64, Ordering};

static SERVED: AtomicU64 = AtomicU64::new(0);

async fn metric(Path(n): Path<u64>) -> axum::Json<serde_json::Value> {
    let k = SERVED.fetch_add(1, Ordering::Relaxed);
    let v = 100.0 + (n % 50) as f64 + ((k * 7919) % 100) as f64 / 100.0;
    axum::Json(serde_json::json!({ "v": v }))
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    eprintln!("listening on {}", listener.local_addr().unwrap());
    tokio::spawn(async {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            eprintln!("served {}", SERVED.load(Ordering::Relaxed));
        }
    });
    let app = axum::Router::new().route("/m/{n}", get(metric));
    axum::serve(listener, app).await.unwrap();
}
