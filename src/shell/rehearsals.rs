//! Finds the earlier drills of a runbook and reads what their steps took, once, before a
//! drill or run starts: the sessions folder (`session::default_root`), or the folders given
//! with `--rehearsals`. Each journal is read with `journal::records` and summed up by the
//! report's facts (`Facts::rehearsal`); only plain figures (`core::rehearsal`) go on to the
//! engine and the screens. Reading is best effort: a folder that is not a drill of this
//! runbook is passed over (named, when it was given by hand), never a reason not to start.

use crate::core::event::{Event, Mode, Record, chain};
use crate::core::rehearsal::{Drill, Rehearsals};
use crate::core::runbook::Runbook;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// What the search found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The drills' figures.
    pub rehearsals: Rehearsals,
    /// Folders given with `--rehearsals` that were passed over, each with why.
    pub skipped: Vec<String>,
}

/// The runbook's name as sessions know it: its file name without `.yaml` (what
/// `session::new_dir` names a session folder after).
pub fn name_of(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The drills of `rb` (loaded from `file`) in `given` (session folders, or folders of
/// them), or in the sessions folder when none is given; `this` (the session about to run)
/// is never its own rehearsal. A drill counts when its journal starts a drill of a runbook
/// with the same file name and title. Errs only for a given path that is not a folder.
pub fn find(given: &[PathBuf], file: &Path, rb: &Runbook, this: &Path) -> Result<Found, String> {
    let mut found = Found::default();
    let mut dirs = Vec::new();
    if given.is_empty() {
        dirs.extend(sessions_in(&crate::shell::session::default_root()));
    } else {
        for g in given {
            if !g.is_dir() {
                return Err(format!(
                    "--rehearsals {}: not a folder (give drill session folders, or a folder of them)",
                    g.display()
                ));
            }
            if g.join("journal.jsonl").is_file() {
                dirs.push(g.clone());
            } else {
                let inside = sessions_in(g);
                if inside.is_empty() {
                    found
                        .skipped
                        .push(format!("{}: no session folders in it", g.display()));
                }
                dirs.extend(inside);
            }
        }
    }
    let me = this.canonicalize().unwrap_or_else(|_| this.to_path_buf());
    let name = name_of(file);
    // First only each journal's first line: which folders are drills of this runbook, and
    // when they started. Then the newest `NEWEST` of them in full.
    let mut heads = Vec::new();
    for d in dirs {
        if d.canonicalize().unwrap_or_else(|_| d.clone()) == me {
            continue;
        }
        match head(&d, &name, &rb.title) {
            Ok(at) => heads.push((at, d)),
            Err(why) if !given.is_empty() => found.skipped.push(format!("{}: {why}", d.display())),
            Err(_) => {}
        }
    }
    // RFC 3339 times in UTC sort as text; newest first, then by folder for stable output.
    heads.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if heads.len() > NEWEST {
        found.skipped.push(format!(
            "{} older drills of {name}: only the newest {NEWEST} are read",
            heads.len() - NEWEST
        ));
        heads.truncate(NEWEST);
    }
    let mut drills = Vec::new();
    for (_, d) in heads {
        match read(&d) {
            Ok(drill) => drills.push(drill),
            Err(why) => found.skipped.push(format!("{}: {why}", d.display())),
        }
    }
    found.rehearsals = Rehearsals::new(&rb.fingerprint, &drills);
    Ok(found)
}

/// The folders in `root` that hold a journal, in name order (stable output).
fn sessions_in(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("journal.jsonl").is_file())
        .collect();
    out.sort();
    out
}

/// Drills read at most: the newest, by when they started. Older rehearsals say less about
/// the runbook as it is now, and each is a whole journal read before the run may start.
pub const NEWEST: usize = 20;

/// When the session in folder `dir` started (its first record's wall time), when it is a
/// drill of runbook `name` titled `title`. Only the first line is read, so a folder of many
/// sessions costs little.
fn head(dir: &Path, name: &str, title: &str) -> Result<String, String> {
    let path = dir.join("journal.jsonl");
    let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
    let mut first = Vec::new();
    std::io::BufReader::new(file)
        .read_until(b'\n', &mut first)
        .map_err(|e| e.to_string())?;
    let head = Record::parse(first.trim_ascii_end()).map_err(|e| e.to_string())?;
    let Event::SessionStarted {
        runbook,
        runbook_title,
        ..
    } = &head.event
    else {
        return Err("its journal does not start with session_started".into());
    };
    if head.mode != Mode::Drill {
        return Err("a live session, not a drill".into());
    }
    let theirs = name_of(Path::new(runbook));
    if theirs != name || runbook_title != title {
        return Err(format!(
            "a drill of another runbook ({theirs}: \"{runbook_title}\")"
        ));
    }
    Ok(head.at)
}

/// What the steps of the drill in session folder `dir` took.
fn read(dir: &Path) -> Result<Drill, String> {
    let path = dir.join("journal.jsonl");
    let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
    let records = crate::shell::journal::records(&path, &bytes[..chain::whole_lines(&bytes)])
        .map_err(|e| e.to_string())?;
    Ok(crate::screen::report::facts::gather(&records, None).rehearsal())
}
