//! The session journal: `SESSION_DIR/journal.jsonl`, one JSON event per line (SPEC.md).
//!
//! Owns appending (each line is written and fsynced before `append` returns, so an event
//! is never shown as done before it is on disk), reading back for resume, and repairing a torn
//! last line left by a crash: its bytes are kept beside the journal, the file is cut back to the
//! last whole line, and the caller journals that it happened. A damaged line in the middle is
//! not a crash artefact and is refused with its line number. Each line carries the hash of
//! the line before it (`core::event::chain`), so `cutover verify` can tell an edited journal.

use crate::core::event::{Entry, Mode, Record, RecordError, chain};
use crate::core::time::Ms;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the journal could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line is of a kind this version does not know.
    #[error(
        "{path}:{line}: {reason}; resume it with the cutover that wrote it, or remove the line by hand if it was added by mistake"
    )]
    UnknownKind {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What the kind was.
        reason: String,
    },
    /// A whole line in the middle is not an event.
    #[error(
        "{path}:{line}: not a journal event ({reason}); only a torn last line is repaired automatically — inspect the file by hand"
    )]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Parser message.
        reason: String,
    },
}

/// What was cut from the end of the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Repair {
    /// How many bytes the torn line had.
    pub bytes: usize,
    /// Where those bytes were kept.
    pub saved_to: PathBuf,
}

/// An open journal, ready to append.
pub struct Journal {
    path: PathBuf,
    file: File,
    next_seq: u64,
    mode: Mode,
    /// The `prev` of the next line: the hash of the last line as written.
    prev: String,
}

/// Reads the journal in `dir` (repairing a torn tail) and opens it for appending.
pub fn open(
    dir: &Path,
    mode: Mode,
) -> Result<(Journal, Vec<Record>, Option<Repair>), JournalError> {
    let path = dir.join("journal.jsonl");
    let io = |source| JournalError::Io {
        path: path.clone(),
        source,
    };
    if let Ok(m) = std::fs::metadata(&path)
        && !m.is_file()
    {
        return Err(io(std::io::Error::other("not a regular file")));
    }
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(e)),
    };
    let whole = chain::whole_lines(&bytes);
    let mut repair = None;
    if whole < bytes.len() {
        let torn = &bytes[whole..];
        let saved_to = dir.join(format!(
            "journal.torn-{}.txt",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
        ));
        std::fs::write(&saved_to, torn).map_err(io)?;
        let f = OpenOptions::new().write(true).open(&path).map_err(io)?;
        f.set_len(whole as u64).map_err(io)?;
        f.sync_all().map_err(io)?;
        repair = Some(Repair {
            bytes: torn.len(),
            saved_to,
        });
    }
    let events = records(&path, &bytes[..whole])?;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    let next_seq = events.last().map(|e| e.seq + 1).unwrap_or(1);
    let prev = bytes[..whole]
        .split(|b| *b == b'\n')
        .rfind(|l| !l.is_empty())
        .map(chain::link)
        .unwrap_or_else(chain::first_link);
    Ok((
        Journal {
            path,
            file,
            next_seq,
            mode,
            prev,
        },
        events,
        repair,
    ))
}

/// Reads the journal in `dir` without opening it for writing or repairing it (a watcher's
/// view): whole lines only, so a line being written is left for the next read.
pub fn read(dir: &Path) -> Result<Vec<Record>, JournalError> {
    let path = dir.join("journal.jsonl");
    let bytes = std::fs::read(&path).map_err(|source| JournalError::Io {
        path: path.clone(),
        source,
    })?;
    records(&path, &bytes[..chain::whole_lines(&bytes)])
}

/// The records of journal `path`'s whole lines `bytes`, or the line (1-based) that is not
/// one: of a kind this version does not know, or not an event at all.
pub fn records(path: &Path, bytes: &[u8]) -> Result<Vec<Record>, JournalError> {
    let mut out = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let rec = Record::parse(line).map_err(|e| match e {
            RecordError::UnknownKind(_) => JournalError::UnknownKind {
                path: path.to_path_buf(),
                line: i + 1,
                reason: e.to_string(),
            },
            RecordError::Malformed(reason) => JournalError::Corrupt {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            },
        })?;
        out.push(rec);
    }
    Ok(out)
}

impl Journal {
    /// Appends `entry` at T-time `t`, fsyncs, and returns the record as written. Text
    /// fields have every known secret blanked first: a server's error message may echo a
    /// credential, and the journal must never hold one.
    pub fn append(&mut self, entry: &Entry, t: Ms) -> Result<Record, JournalError> {
        let mut rec = Record::new(
            self.next_seq,
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            t,
            self.mode,
            entry.clone(),
        );
        rec.prev = Some(self.prev.clone());
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = rec
            .to_json(&crate::shell::secret::redact)
            .map_err(|e| io(std::io::Error::other(e)))?
            .into_bytes();
        let next_prev = chain::link(&line);
        line.push(b'\n');
        // One write of the whole line, then fsync: a crash leaves at most a torn last line.
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.next_seq += 1;
        self.prev = next_prev;
        Ok(rec)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::Event;

    fn note() -> Entry {
        Event::Note { text: "x".into() }.by("ann")
    }

    #[test]
    fn a_line_of_an_unknown_kind_is_an_error_naming_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _, _) = open(dir.path(), Mode::Drill).unwrap();
        j.append(&note(), 0).unwrap();
        drop(j);
        let p = dir.path().join("journal.jsonl");
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"seq\":2,\"at\":\"x\",\"t\":0.0,\"mode\":\"drill\",\"kind\":\"step_teleported\",\"operator\":\"ann\"}\n").unwrap();
        drop(f);
        let err = open(dir.path(), Mode::Drill).err().unwrap().to_string();
        assert!(
            err.contains("journal.jsonl:2: kind `step_teleported` is not one this version"),
            "{err}"
        );
    }

    #[test]
    fn append_read_and_repair_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, evs, rep) = open(dir.path(), Mode::Drill).unwrap();
        assert!(evs.is_empty() && rep.is_none());
        j.append(&Event::Note { text: "hi".into() }.by("ann"), -5000)
            .unwrap();
        j.append(
            &Event::StepDone {
                step: "a".into(),
                attempt: 1,
                duration: None,
                expect: None,
                procedure: None,
                held: None,
            }
            .by_system(),
            1000,
        )
        .unwrap();
        drop(j);
        let p = dir.path().join("journal.jsonl");
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        let torn = br#"{"seq":3,"at":"x","t":1.0,"mo"#;
        f.write_all(torn).unwrap();
        drop(f);
        let (mut j, evs, rep) = open(dir.path(), Mode::Drill).unwrap();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].t_ms(), -5000);
        assert_eq!(evs[1].step(), Some("a"));
        let rep = rep.unwrap();
        assert_eq!(rep.bytes, torn.len());
        assert!(
            std::fs::read_to_string(&rep.saved_to)
                .unwrap()
                .starts_with("{\"seq\":3")
        );
        let ev = j.append(&note(), 0).unwrap();
        assert_eq!(ev.seq, 3, "seq continues with no gap after a repair");
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 3);
        for l in text.lines() {
            Record::parse(l.as_bytes()).unwrap();
        }
        // The line after the repair links to the last whole line, not to the torn one.
        let v = chain::verify(text.as_bytes());
        assert!(v.holds(), "{v:?}");
        assert_eq!((v.lines, v.unchained), (3, 0));
        assert_eq!(
            v.digest,
            chain::link(text.lines().last().unwrap().as_bytes())
        );
    }

    #[test]
    fn a_journal_written_before_the_chain_is_continued_with_a_chain() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let old = concat!(
            r#"{"seq":1,"at":"x","t":0.0,"mode":"drill","kind":"note","operator":"ann","text":"a"}"#,
            "\n",
            r#"{"seq":2,"at":"x","t":0.0,"mode":"drill","kind":"note","operator":"ann","text":"b"}"#,
            "\n"
        );
        std::fs::write(&p, old).unwrap();
        let (mut j, evs, _) = open(dir.path(), Mode::Drill).unwrap();
        assert_eq!(evs.len(), 2);
        assert!(evs.iter().all(|r| r.prev.is_none()));
        let rec = j.append(&note(), 0).unwrap();
        assert_eq!(
            rec.prev.as_deref(),
            Some(chain::link(old.lines().nth(1).unwrap().as_bytes()).as_str())
        );
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with(old), "old lines are left as they were");
        let v = chain::verify(text.as_bytes());
        assert!(v.holds(), "{v:?}");
        assert_eq!((v.lines, v.unchained), (3, 2));
    }

    #[test]
    fn corrupt_middle_line_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("journal.jsonl"), "{\"seq\":1}\ngarbage\n").unwrap();
        let err = open(dir.path(), Mode::Live).err().unwrap().to_string();
        assert!(err.contains("journal.jsonl:1:"), "{err}");
    }

    #[test]
    fn full_disk_is_an_error_not_a_loss() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _, _) = open(dir.path(), Mode::Drill).unwrap();
        j.file = OpenOptions::new().append(true).open("/dev/full").unwrap();
        let err = j.append(&note(), 0).unwrap_err().to_string();
        assert!(err.contains("No space left"), "{err}");
    }
}
