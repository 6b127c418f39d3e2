//! The `command` reader with small `#!/bin/sh` programs written to a temporary directory and
//! run directly as argv[0] (the reader never goes through a shell itself).

use cutover::readers::command::read;
use cutover::readers::{ReadError, Reading};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Writes an executable script `name` into `dir`.
///
/// The file is written under another name and copied into place by `cp`: a file this
/// (multi-threaded) test process held open for writing could be inherited, for an instant,
/// by a child another test is forking, and executing it then fails with "Text file busy".
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let src = dir.join(format!("{name}.src"));
    std::fs::write(&src, format!("#!/bin/sh\n{body}\n")).unwrap();
    let path = dir.join(name);
    let ok = std::process::Command::new("cp")
        .arg(&src)
        .arg(&path)
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn argv(program: &Path, args: &[&str]) -> Vec<String> {
    std::iter::once(program.display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .collect()
}

/// Runs a one-off script in a fresh directory.
async fn run(body: &str) -> Result<Reading, ReadError> {
    let dir = tempfile::tempdir().unwrap();
    let p = script(dir.path(), "metric", body);
    read(&argv(&p, &[]), dir.path()).await
}

/// Gone, or a zombie nobody reaped yet (a killed grandchild is reparented to init, which may
/// be slow to reap it): either way no longer running.
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits (bounded) until `cond` holds.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn pid_in(file: &Path) -> u32 {
    std::fs::read_to_string(file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn prints_a_number() {
    assert_eq!(
        run("echo 42").await,
        Ok(Reading {
            value: 42.0,
            at: None
        })
    );
}

#[tokio::test]
async fn last_non_empty_line_with_a_unit_word() {
    let r = run("echo 'connecting...'\necho 'rows: 10'\necho '  3.5 ms  '\necho\necho '   '").await;
    assert_eq!(r.unwrap().value, 3.5);
}

#[tokio::test]
async fn nan_and_infinities() {
    assert!(run("echo NaN").await.unwrap().value.is_nan());
    assert_eq!(run("echo -Inf").await.unwrap().value, f64::NEG_INFINITY);
    assert_eq!(run("echo +Infinity").await.unwrap().value, f64::INFINITY);
}

#[tokio::test]
async fn non_number_is_malformed_quoting_the_line() {
    assert_eq!(
        run("echo 1\necho 'all good'").await,
        Err(ReadError::Malformed(
            "the last line of output is not a number: \"all good\"".into()
        ))
    );
    // A second number is not a unit.
    assert!(matches!(
        run("echo '3 4'").await,
        Err(ReadError::Malformed(_))
    ));
    // The line is quoted shortened.
    let Err(ReadError::Malformed(m)) = run("printf 'x%.0s' $(seq 1 2000); echo").await else {
        panic!()
    };
    assert!(m.chars().count() < 400, "{m}");
}

#[tokio::test]
async fn nothing_printed_is_no_data() {
    assert_eq!(
        run("true").await,
        Err(ReadError::NoData("the command printed nothing".into()))
    );
}

#[tokio::test]
async fn non_zero_exit_names_code_and_last_stderr_line() {
    let r = run("echo 12\necho 'connecting' >&2\necho 'permission denied for table x' >&2\nexit 3")
        .await;
    assert_eq!(
        r,
        Err(ReadError::Command(
            "exit code 3: permission denied for table x".into()
        ))
    );
    // With nothing on stderr, stdout's last line stands in.
    let r = run("echo 'ERROR: no such metric'\nexit 1").await;
    assert_eq!(
        r,
        Err(ReadError::Command(
            "exit code 1 (nothing on stderr; stdout ended with \"ERROR: no such metric\")".into()
        ))
    );
}

#[tokio::test]
async fn killed_by_a_signal_says_which() {
    let r = run("echo dying >&2\nkill -TERM $$").await;
    assert_eq!(
        r,
        Err(ReadError::Command(
            "killed by signal 15 (SIGTERM): dying".into()
        ))
    );
}

#[tokio::test]
async fn program_that_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = "/nonexistent/cutover-no-such-program";
    let Err(ReadError::Command(m)) = read(&[missing.to_string()], dir.path()).await else {
        panic!()
    };
    assert!(
        m.starts_with(&format!(
            "could not start {missing}: No such file or directory"
        )),
        "{m}"
    );

    let plain = dir.path().join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\necho 1\n").unwrap();
    let Err(ReadError::Command(m)) = read(&argv(&plain, &[]), dir.path()).await else {
        panic!()
    };
    assert!(
        m.starts_with("could not start ") && m.contains("Permission denied"),
        "{m}"
    );

    let Err(ReadError::Command(m)) = read(&[], dir.path()).await else {
        panic!()
    };
    assert!(m.contains("empty"), "{m}");

    let p = script(dir.path(), "ok", "echo 1");
    let gone = dir.path().join("no-such-dir");
    let Err(ReadError::Command(m)) = read(&argv(&p, &[]), &gone).await else {
        panic!()
    };
    assert!(
        m.contains("working directory") && m.contains("does not exist"),
        "{m}"
    );
}

#[tokio::test]
async fn runs_in_dir_with_arguments_passed_verbatim() {
    let scripts = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("value.txt"), "17\n").unwrap();
    // A relative path only resolves when the working directory is `dir`.
    let p = script(scripts.path(), "cat-it", "cat \"$1\"");
    let r = read(&argv(&p, &["value.txt"]), work.path()).await;
    assert_eq!(r.unwrap().value, 17.0);

    // No shell re-parses the words: this is one argument, and nothing runs.
    let p = script(scripts.path(), "count", "echo $#");
    let r = read(&argv(&p, &["a b; echo 99", "$(echo 98)"]), work.path()).await;
    assert_eq!(r.unwrap().value, 2.0);
}

#[tokio::test]
async fn timeout_kills_the_program_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "hang",
        "sleep 30 &\necho $! > grandchild.pid\necho $$ > child.pid\nwait",
    );
    let started = Instant::now();
    let r =
        tokio::time::timeout(Duration::from_millis(200), read(&argv(&p, &[]), dir.path())).await;
    assert!(r.is_err(), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let child = pid_in(&dir.path().join("child.pid"));
    let grandchild = pid_in(&dir.path().join("grandchild.pid"));
    wait_until("the script to die", || dead(child)).await;
    wait_until("its `sleep 30` to die", || dead(grandchild)).await;
}

#[tokio::test]
async fn leftovers_of_a_finished_program_do_not_hold_the_read() {
    // The background `sleep` keeps stdout open; the read must not wait for it, nor leave it.
    let dir = tempfile::tempdir().unwrap();
    let p = script(dir.path(), "sloppy", "sleep 30 &\necho $! > bg.pid\necho 5");
    let started = Instant::now();
    let r = read(&argv(&p, &[]), dir.path()).await;
    assert_eq!(r.unwrap().value, 5.0);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let bg = pid_in(&dir.path().join("bg.pid"));
    wait_until("the background sleep to die", || dead(bg)).await;
}

#[tokio::test]
async fn huge_output_is_capped_and_the_last_line_still_read() {
    let r = run(
        "yes 'noise noise noise noise noise noise' | head -c 8000000\n\
         yes 'stderr chatter' | head -c 4000000 >&2\n\
         echo\necho '99 rows'",
    )
    .await;
    assert_eq!(r.unwrap().value, 99.0);

    // One line longer than what is kept cannot be trusted as a number.
    let r = run("head -c 200000 /dev/zero | tr '\\0' '1'; echo").await;
    assert!(
        matches!(&r, Err(ReadError::Malformed(m)) if m.contains("longer than")),
        "{r:?}"
    );
}
