//! The `postgres` reader against a real PostgreSQL server: each test initdb's a private
//! cluster in a temporary directory, on 127.0.0.1 and a free port, and stops it when done.
//! Needs Debian's `postgresql` package (`initdb`, `pg_ctl` and `postgres` under
//! `/usr/lib/postgresql/<version>/bin`).

use super::support::{free_port, sql, sql_col};
use cutover::readers::postgres::{Client, Config, Tls};
use cutover::readers::{Query, ReadError};
use cutover::shell::secret::Secret;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub(super) const USER: &str = "cutover_test";
pub(super) const PASSWORD: &str = "pg-test-pass-4d1c9e";

/// A private PostgreSQL server, stopped on drop (the preflight tests use one too).
pub(super) struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// As root the server must run as another user (PostgreSQL refuses root).
    as_postgres: bool,
    pub(super) port: u16,
}

/// The newest Debian PostgreSQL's binaries (not `/usr/local/bin`, which may hold wrappers).
fn pg_bin() -> PathBuf {
    let mut best: Option<(Vec<u32>, PathBuf)> = None;
    for entry in std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().to_string();
        let Ok(version) = name
            .split('.')
            .map(str::parse::<u32>)
            .collect::<Result<Vec<_>, _>>()
        else {
            continue;
        };
        let bin = entry.path().join("bin");
        if ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| bin.join(b).is_file())
            && best.as_ref().is_none_or(|(v, _)| version > *v)
        {
            best = Some((version, bin));
        }
    }
    match best {
        Some((_, bin)) => bin,
        None => panic!("PostgreSQL is not installed: apt-get install -y postgresql"),
    }
}

fn check(what: &str, out: Output) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pg {
    pub(super) fn start() -> Pg {
        Pg::launch(false)
    }

    /// A server that speaks TLS with a self-signed certificate (which no public root signs).
    fn start_tls() -> Pg {
        Pg::launch(true)
    }

    fn launch(tls: bool) -> Pg {
        let bin = pg_bin();
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = std::fs::metadata(dir.path()).unwrap().uid() == 0;
        std::fs::write(dir.path().join("pw"), PASSWORD).unwrap();
        let mut ssl = String::new();
        if tls {
            // openssl comes with the postgresql package (postgresql-common → ssl-cert).
            check(
                "openssl req",
                Command::new("openssl")
                    .args([
                        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    ])
                    .args([
                        "-subj",
                        "/CN=localhost",
                        "-keyout",
                        "key.pem",
                        "-out",
                        "cert.pem",
                    ])
                    // A leaf, not a CA: so the refusal is about the issuer, as with a real
                    // certificate from a private CA.
                    .args(["-addext", "basicConstraints=critical,CA:FALSE"])
                    .current_dir(dir.path())
                    .output()
                    .unwrap(),
            );
            let key = dir.path().join("key.pem");
            std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
            ssl = format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                dir.path().join("cert.pem").display(),
                key.display()
            );
        }
        if as_postgres {
            // The Debian package creates the `postgres` user.
            check(
                "chown",
                Command::new("chown")
                    .arg("-R")
                    .arg("postgres:")
                    .arg(dir.path())
                    .output()
                    .unwrap(),
            );
        }
        let mut pg = Pg {
            dir,
            bin,
            as_postgres,
            port: 0,
        };
        let data = pg.data();
        check(
            "initdb",
            pg.tool("initdb")
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    USER,
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ])
                .arg(format!("--pwfile={}", pg.dir.path().join("pw").display()))
                .output()
                .unwrap(),
        );
        // Another process may take the free port before the server binds it: try a few.
        for attempt in 1..=3 {
            pg.port = free_port();
            let opts = format!(
                "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off \
                 -c shared_buffers=16MB -c max_connections=20{ssl}",
                pg.port,
                pg.dir.path().display()
            );
            // `-w` returns once the server accepts connections.
            let out = pg
                .tool("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(pg.dir.path().join("log"))
                .args(["-w", "-t", "60", "-o", &opts, "start"])
                .output()
                .unwrap();
            if out.status.success() {
                return pg;
            }
            if attempt == 3 {
                let log = std::fs::read_to_string(pg.dir.path().join("log")).unwrap_or_default();
                check(&format!("pg_ctl start (log: {log})"), out);
            }
        }
        unreachable!()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        // The `postgres` user may not be able to enter the test's working directory.
        c.current_dir(self.dir.path());
        c
    }

    fn config(&self) -> Config {
        Config {
            host: "127.0.0.1".into(),
            port: self.port,
            dbname: "postgres".into(),
            user: USER.into(),
            password: Some(Secret::new(PASSWORD)),
            tls: Tls::Disable,
        }
    }

    fn client(&self) -> Client {
        Client::new(self.config())
    }

    /// A second, independent session (for what the reader must not do itself).
    async fn admin(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .dbname("postgres")
            .user(USER)
            .password(PASSWORD)
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "immediate", "stop"])
            .output();
    }
}

async fn value(c: &Client, text: &str) -> f64 {
    c.read(&sql(text))
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .value
}

/// Polls `cond` until it holds, or fails after `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !cond().await {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn reads_numbers() {
    let pg = Pg::start();
    let c = pg.client();
    let r = c.read(&sql("SELECT 42")).await.unwrap();
    assert_eq!(r.value, 42.0);
    assert_eq!(r.at, None);
    assert_eq!(value(&c, "SELECT 0.25::numeric").await, 0.25);
    assert_eq!(
        value(&c, "SELECT count(*) FROM generate_series(1, 7)").await,
        7.0
    );
    assert_eq!(value(&c, "SELECT -3.5::float8, 9").await, -3.5);
    // Several rows: the first one.
    assert_eq!(value(&c, "SELECT * FROM (VALUES (5), (6)) v(x)").await, 5.0);
}

#[tokio::test]
async fn named_column_any_case() {
    let pg = Pg::start();
    let c = pg.client();
    let q = "SELECT 1 AS a, 2.5 AS \"Rate\", 3 AS rate_x";
    assert_eq!(c.read(&sql_col(q, "rate")).await.unwrap().value, 2.5);
    assert_eq!(c.read(&sql_col(q, "Rate")).await.unwrap().value, 2.5);
    assert_eq!(c.read(&sql_col(q, "RATE_X")).await.unwrap().value, 3.0);
    let e = c.read(&sql_col(q, "missing")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Malformed(m) if m.contains("missing") && m.contains("Rate")),
        "{e:?}"
    );
}

#[tokio::test]
async fn special_floats_and_booleans() {
    let pg = Pg::start();
    let c = pg.client();
    assert!(value(&c, "SELECT 'NaN'::float8").await.is_nan());
    assert!(value(&c, "SELECT 'NaN'::numeric").await.is_nan());
    assert_eq!(value(&c, "SELECT 'Infinity'::float8").await, f64::INFINITY);
    assert_eq!(
        value(&c, "SELECT '-Infinity'::float8").await,
        f64::NEG_INFINITY
    );
    assert_eq!(value(&c, "SELECT true").await, 1.0);
    assert_eq!(value(&c, "SELECT 2 < 1").await, 0.0);
}

#[tokio::test]
async fn null_and_no_rows_are_no_data() {
    let pg = Pg::start();
    let c = pg.client();
    let e = c
        .read(&sql_col("SELECT NULL::int AS lag", "lag"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ReadError::NoData(m) if m.contains("NULL") && m.contains("lag")),
        "{e:?}"
    );
    let e = c.read(&sql("SELECT 1 WHERE false")).await.unwrap_err();
    assert_eq!(e, ReadError::NoData("the query returned no rows".into()));
    let e = c
        .read(&sql("SET application_name = 'x'"))
        .await
        .unwrap_err();
    assert!(matches!(e, ReadError::NoData(_)), "{e:?}");
}

#[tokio::test]
async fn sql_errors_carry_the_sqlstate() {
    let pg = Pg::start();
    let c = pg.client();
    let e = c
        .read(&sql("SELECT * FROM no_such_table"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ReadError::Query(m) if m.starts_with("42P01: ") && m.contains("no_such_table")),
        "{e:?}"
    );
    let e = c.read(&sql("SELECT 1/0")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Query(m) if m.starts_with("22012: ")),
        "{e:?}"
    );
    // An error leaves the connection usable.
    assert_eq!(value(&c, "SELECT 1").await, 1.0);
    // What simple_query cannot read is not a number, and the next read still works.
    let e = c.read(&sql("COPY (SELECT 1) TO STDOUT")).await.unwrap_err();
    assert!(matches!(e, ReadError::Malformed(_)), "{e:?}");
    assert_eq!(value(&c, "SELECT 2").await, 2.0);
}

#[tokio::test]
async fn text_that_is_not_a_number_says_to_cast() {
    let pg = Pg::start();
    let c = pg.client();
    let e = c.read(&sql("SELECT 'abc' AS status")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Malformed(m) if m.contains("status") && m.contains("::float8")),
        "{e:?}"
    );
}

#[tokio::test]
async fn wrong_password_is_auth_and_never_shown() {
    let pg = Pg::start();
    let wrong = "wrong-pass-8c2f71";
    let c = Client::new(Config {
        password: Some(Secret::new(wrong)),
        ..pg.config()
    });
    let e = c.read(&sql("SELECT 1")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Auth(m) if m.starts_with("28P01: ")),
        "{e:?}"
    );
    for shown in [e.to_string(), format!("{e:?}"), e.reason()] {
        assert!(
            !shown.contains(wrong) && !shown.contains(PASSWORD),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn refused_connection_is_connect() {
    let port = free_port();
    let c = Client::new(Config {
        host: "127.0.0.1".into(),
        port,
        dbname: "postgres".into(),
        user: USER.into(),
        password: Some(Secret::new(PASSWORD)),
        tls: Tls::Disable,
    });
    let e = c.read(&sql("SELECT 1")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Connect(m) if m.contains("refused")),
        "{e:?}"
    );
    assert!(!format!("{e} {e:?}").contains(PASSWORD));
}

#[tokio::test]
async fn one_connection_reused_and_reopened_after_the_server_ends_it() {
    let pg = Pg::start();
    let c = pg.client();
    let pid = value(&c, "SELECT pg_backend_pid()").await;
    assert_eq!(
        value(&c, "SELECT pg_backend_pid()").await,
        pid,
        "a second read reuses the connection"
    );
    assert_eq!(
        value(
            &c,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cutover'"
        )
        .await,
        1.0
    );

    let admin = pg.admin().await;
    let rows = admin
        .simple_query(&format!("SELECT pg_terminate_backend({pid})"))
        .await
        .unwrap();
    assert!(
        matches!(&rows[1], tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("t"))
    );
    // The backend exits asynchronously; read only once it is gone, so the read meets the
    // broken connection rather than racing the server.
    let gone = format!("SELECT 1 FROM pg_stat_activity WHERE pid = {pid}");
    eventually(Duration::from_secs(10), "backend gone", || async {
        admin.simple_query(&gone).await.unwrap().len() == 2
    })
    .await;

    let new_pid = value(&c, "SELECT pg_backend_pid()").await;
    assert_ne!(
        new_pid, pid,
        "a new connection after the old one was terminated"
    );
    assert_eq!(value(&c, "SELECT pg_backend_pid()").await, new_pid);
}

#[tokio::test]
async fn an_abandoned_read_cancels_its_query() {
    let pg = Pg::start();
    let c = pg.client();
    let slow = "SELECT pg_sleep(60)";
    let r = tokio::time::timeout(Duration::from_millis(500), c.read(&sql(slow))).await;
    assert!(r.is_err(), "pg_sleep(60) finished in 500 ms?");
    // The next read does not queue behind the abandoned query.
    let t = Instant::now();
    assert_eq!(value(&c, "SELECT 7").await, 7.0);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // And the server stopped running it.
    let admin = pg.admin().await;
    let running =
        format!("SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query = '{slow}'");
    eventually(Duration::from_secs(10), "pg_sleep cancelled", || async {
        admin.simple_query(&running).await.unwrap().len() == 2
    })
    .await;
}

#[tokio::test]
async fn tls_required_by_a_server_without_tls_is_a_clear_error() {
    let pg = Pg::start();
    let c = Client::new(Config {
        tls: Tls::Require,
        ..pg.config()
    });
    let e = c.read(&sql("SELECT 1")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Connect(m) if m.contains("TLS")),
        "{e:?}"
    );
}

#[tokio::test]
async fn tls_certificates_are_verified() {
    let pg = Pg::start_tls();
    let c = Client::new(Config {
        tls: Tls::Require,
        ..pg.config()
    });
    // A certificate error means the server accepted TLS and sent its certificate, which
    // rustls then refused: the self-signed issuer is not among the webpki roots.
    let e = c.read(&sql("SELECT 1")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Connect(m) if m.contains("TLS") && m.contains("UnknownIssuer")),
        "{e:?}"
    );
}

#[tokio::test]
async fn time_column() {
    let pg = Pg::start();
    let c = pg.client();
    let want = chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
        .unwrap()
        .to_utc();
    let q = |text: &str| Query {
        text: text.into(),
        column: Some("v".into()),
        time_column: Some("t".into()),
        ..Query::default()
    };
    // The server prints timestamptz in the session's zone, here with a non-zero offset; the
    // first statement returns no rows, so the SELECT's row is the one read.
    let r = c
        .read(&q(
            "SET TIME ZONE 'Asia/Kolkata'; SELECT 5 AS v, '2026-11-21 10:00:00+00'::timestamptz AS t",
        ))
        .await
        .unwrap();
    assert_eq!((r.value, r.at), (5.0, Some(want)));
    let r = c
        .read(&q(
            "SELECT 6 AS v, extract(epoch FROM '2026-11-21 10:00:00+00'::timestamptz) AS t",
        ))
        .await
        .unwrap();
    assert_eq!((r.value, r.at), (6.0, Some(want)));
    let r = c
        .read(&q("SELECT 7 AS v, '2026-11-21 10:00:00'::timestamp AS t"))
        .await
        .unwrap();
    assert_eq!(r.at, Some(want));
    let r = c
        .read(&q("SELECT 8 AS v, '2026-11-21T10:00:00Z' AS t"))
        .await
        .unwrap();
    assert_eq!(r.at, Some(want));
    let e = c
        .read(&q("SELECT 9 AS v, NULL::timestamptz AS t"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ReadError::NoData(m) if m.contains("time column")),
        "{e:?}"
    );
    let e = c.read(&q("SELECT 9 AS v, 'soon' AS t")).await.unwrap_err();
    assert!(
        matches!(&e, ReadError::Malformed(m) if m.contains("`t`")),
        "{e:?}"
    );
}

#[test]
fn harness_stops_the_server_on_drop() {
    let pg = Pg::start();
    let addr = format!("127.0.0.1:{}", pg.port);
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    let data: PathBuf = pg.data();
    drop(pg);
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "still listening after drop"
    );
    assert!(!Path::new(&data).exists(), "temporary directory removed");
}
