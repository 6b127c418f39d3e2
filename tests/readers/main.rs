#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
//! The metric readers, one module per reader, in one test binary: the HTTP readers
//! (`databricks_sql`, `snowflake_sql`, `prometheus`, `http_json`) against in-process axum
//! servers speaking their protocol, `postgres` and `prometheus` against real servers the tests
//! start (Debian's `postgresql` and `prometheus` packages), and `command` with small shell
//! programs. Helpers more than one reader needs are in `support`. `preflight` runs
//! `cutover preflight` against the same kinds of servers, all at once.

mod support;

mod command;
mod databricks;
mod http_json;
mod postgres;
mod preflight;
mod prometheus;
mod snowflake;
