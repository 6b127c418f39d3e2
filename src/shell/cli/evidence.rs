//! The commands that read a finished (or running) session as evidence: `verify` checks the
//! journal's hash chain; `report` writes the session's report. Neither takes the session's
//! lock or writes to its folder: they may run beside a live driver.

use crate::core::event::chain;
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
