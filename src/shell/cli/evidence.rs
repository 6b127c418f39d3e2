//! The commands that read a finished (or running) session as evidence: `verify` checks the
//! journal's hash chain; `report` writes the session's report. Neither takes the session's
//! lock or writes to its folder: they may run beside a live driver.

use crate::config::runbook;
use crate::core::event::{Event, Record, chain};
use crate::core::evidence;
use crate::core::runbook::Runbook;
use crate::screen::report::{Report, Samples, compare};
use std::path::{Path, PathBuf};

/// The journal of session folder `dir`, or why `dir` is not a session (exit 2).
pub(super) fn journal_of(dir: &Path) -> Result<PathBuf, String> {
    if !dir.is_dir() {
        return Err(format!("{}: not a folder", dir.display()));
    }
    let j = dir.join("journal.jsonl");
    if !j.is_file() {
        return Err(format!(
            "{}: not a session folder (it has no journal.jsonl); give the folder `cutover drill` or `cutover run` printed as `session …`",
            dir.display()
        ));
    }
    Ok(j)
}

/// `cutover verify SESSION_DIR`: checks the journal's chain. Exit 0 when every chained line
/// matches, 1 when a line was changed (the first one is named) or no line is chained, 2 when
/// the folder is not a session.
pub fn verify(dir: &Path) -> i32 {
    let path = match journal_of(dir) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("cutover verify: {why}");
            return 2;
        }
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cutover verify: {}: {e}", path.display());
            return 2;
        }
    };
    let v = chain::verify(&bytes);
    println!("{}: {} events", path.display(), v.lines);
    if v.torn_tail > 0 {
        println!(
            "  a torn last line of {} bytes (a crash while writing it): not an event; a resume cuts it off and keeps it beside the journal",
            v.torn_tail
        );
    }
    if v.unchained > 0 {
        println!(
            "  events 1–{} were written before the journal was chained (an older cutover): only the first chained event vouches for them",
            v.unchained
        );
    }
    if let Some(b) = &v.broken {
        println!("BROKEN at line {}: {}", b.line, b.why);
        return 1;
    }
    if v.lines > 0 && v.unchained == v.lines {
        println!("NOT VERIFIABLE: no event carries the chain (written before it existed)");
        return 1;
    }
    println!("VERIFIED: every chained event matches the one before it");
    println!("digest sha256:{}", v.digest);
    println!(
        "  (the hash of the last event: pin it in the change record; a later edit of any event, the last included, changes it)"
    );
    0
}

/// The session's runbook, and how it relates to the one the session ran.
fn runbook_of(records: &[Record]) -> (Option<Runbook>, String) {
    let Some((path, fingerprint)) = records.iter().find_map(|r| match &r.event {
        Event::SessionStarted {
            runbook,
            fingerprint,
            ..
        } => Some((runbook.clone(), fingerprint.clone())),
        _ => None,
    }) else {
        return (None, "the journal does not say which runbook it ran".into());
    };
    let loaded = runbook::load(Path::new(&path));
    match loaded.runbook {
        Some(rb) if rb.fingerprint == fingerprint => {
            (Some(rb), "the file at that path is the one it ran".into())
        }
        Some(rb) => (
            Some(rb),
            "the file at that path has CHANGED since the session ran: titles, owners and planned times are today's".into(),
        ),
        None => {
            let why = loaded
                .diagnostics
                .first()
                .map(|d| d.to_string())
                .unwrap_or_else(|| "it does not load".into());
            (
                None,
                format!("not at hand ({why}): titles, owners and planned times are missing"),
            )
        }
    }
}

/// The session's metric evidence, when it has any.
fn samples_of(path: &Path) -> Option<Samples> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut s = Samples {
        lines: Vec::new(),
        unreadable: 0,
    };
    for l in text.lines().filter(|l| !l.is_empty()) {
        match evidence::Line::parse(l) {
            Ok(line) => s.lines.push(line),
            Err(_) => s.unreadable += 1,
        }
    }
    Some(s)
}

/// The report of session folder `dir`, or why there is none.
fn load(dir: &Path) -> Result<Report, String> {
    let path = journal_of(dir)?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let records = crate::shell::journal::records(&path, &bytes[..chain::whole_lines(&bytes)])
        .map_err(|e| e.to_string())?;
    if records.is_empty() {
        return Err(format!("{}: the journal is empty", path.display()));
    }
    let (rb, note) = runbook_of(&records);
    Ok(Report::new(
        records,
        rb,
        note,
        chain::verify(&bytes),
        samples_of(&dir.join("samples.jsonl")),
    ))
}

/// Writes `text` to `path` whole or not at all (a temporary file beside it, renamed).
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("html.partial");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// `cutover report SESSION_DIR [--compare OTHER…] [--html FILE]`: the session's report as
/// Markdown on stdout, with a comparison against the other sessions when given, and as an
/// HTML page with charts in FILE. Exit 0, or 2 when a folder is not a session, its journal
/// cannot be read or FILE cannot be written.
pub fn report(dir: &Path, compare: &[PathBuf], html: Option<&Path>) -> i32 {
    let main = match load(dir) {
        Ok(r) => r,
        Err(why) => {
            eprintln!("cutover report: {why}");
            return 2;
        }
    };
    let mut others = Vec::new();
    for d in compare {
        match load(d) {
            Ok(r) => others.push((d.display().to_string(), r)),
            Err(why) => {
                eprintln!("cutover report --compare: {why}");
                return 2;
            }
        }
    }
    let mut text = main.markdown();
    if !others.is_empty() {
        let list: Vec<compare::Other<'_>> = others
            .iter()
            .map(|(name, report)| compare::Other {
                name: name.clone(),
                report,
            })
            .collect();
        text.push('\n');
        text.push_str(&compare::write(&main, &list));
    }
    if let Some(file) = html {
        if let Err(e) = write_whole(file, &main.html()) {
            eprintln!("cutover report --html: {}: {e}", file.display());
            return 2;
        }
        eprintln!("wrote {}", file.display());
    }
    // A closed stdout (`| head`) is the reader's choice, not a failure of the report.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
    0
}
