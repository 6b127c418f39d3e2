//! Helpers more than one reader's tests use: a free port, an in-process axum server, and
//! plain queries.

use axum::Router;
use cutover::readers::Query;

/// A port of 127.0.0.1 that was free a moment ago (another process may take it before use).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves `app` on a free port of 127.0.0.1 and returns its base URL; the server lives as long
/// as the test's runtime.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A query of just this text (SQL, PromQL, ...).
pub fn sql(text: &str) -> Query {
    Query {
        text: text.into(),
        ..Query::default()
    }
}

/// A query of this text reading the named column.
pub fn sql_col(text: &str, column: &str) -> Query {
    Query {
        text: text.into(),
        column: Some(column.into()),
        ..Query::default()
    }
}
