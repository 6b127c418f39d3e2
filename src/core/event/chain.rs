//! The journal's hash chain, which makes it tamper-evident: every line carries `prev`, the
//! SHA-256 of the line before it as written (the first line: of nothing), so editing,
//! removing or reordering a line breaks the chain at the next line. The last line's hash is
//! the journal's digest: a change record that pins it also pins the last line, which nothing
//! after it could vouch for. Journals written before the chain have lines without `prev`;
//! they verify from their first chained line and say so.

use sha2::{Digest, Sha256};

/// How many of `bytes` are whole lines: up to and with the last newline. What follows it is a
/// line still being written, or one a crash tore.
pub fn whole_lines(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
}

/// The `prev` of the line after `line` (the line's bytes as written, without its newline).
pub fn link(line: &[u8]) -> String {
    format!("{:x}", Sha256::digest(line))
}

/// The `prev` of a journal's first line.
pub fn first_link() -> String {
    link(b"")
}

/// What checking a journal's chain found.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whole lines read.
    pub lines: usize,
    /// Lines at the start written before the chain (they have no `prev`).
    pub unchained: usize,
    /// The first line where the journal was changed, if any.
    pub broken: Option<Broken>,
    /// Bytes after the last newline (a crash's torn line; resume repairs it).
    pub torn_tail: usize,
    /// The hash of the last whole line: what a change record pins.
    pub digest: String,
}

/// The first line that does not match.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    /// 1-based line number.
    pub line: usize,
    /// What does not match, and what that means.
    pub why: String,
}

impl Verdict {
    /// Whether every chained line matches.
    pub fn holds(&self) -> bool {
        self.broken.is_none()
    }
}

/// Checks the chain and the sequence numbers of a journal's bytes.
pub fn verify(bytes: &[u8]) -> Verdict {
    let whole = whole_lines(bytes);
    let mut v = Verdict {
        lines: 0,
        unchained: 0,
        broken: None,
        torn_tail: bytes.len() - whole,
        digest: first_link(),
    };
    let mut prev_line: &[u8] = b"";
    let mut chained = false;
    let mut seq = 0;
    // Line numbers count every line, as an editor shows them; blank lines (which the
    // reader skips too) carry nothing to check.
    for (i, line) in bytes[..whole].split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        seq += 1;
        v.lines = seq;
        if v.broken.is_none() {
            v.broken = check(i + 1, seq, line, prev_line, &mut chained).err();
            if !chained && v.broken.is_none() {
                v.unchained = seq;
            }
        }
        prev_line = line;
    }
    v.digest = if v.lines == 0 {
        first_link()
    } else {
        link(prev_line)
    };
    v
}

/// Checks the journal's `seq`-th line, line `n` of the file, against the line before it.
fn check(
    n: usize,
    seq: usize,
    line: &[u8],
    prev_line: &[u8],
    chained: &mut bool,
) -> Result<(), Broken> {
    let broken = |why: String| Broken { line: n, why };
    let obj: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(line).map_err(|e| broken(format!("not a JSON object ({e})")))?;
    match obj.get("seq").and_then(serde_json::Value::as_u64) {
        Some(s) if s == seq as u64 => {}
        Some(s) => {
            return Err(broken(format!(
                "its seq is {s}, not {seq}: a line before it was removed, added or moved"
            )));
        }
        None => return Err(broken("it has no `seq`".into())),
    }
    match obj.get("prev") {
        None if *chained => Err(broken(
            "it has no `prev` although the lines before it are chained: it was added or rewritten by hand".into(),
        )),
        None => Ok(()),
        Some(p) => {
            let expected = if seq == 1 {
                first_link()
            } else {
                link(prev_line)
            };
            *chained = true;
            if p.as_str() == Some(expected.as_str()) {
                Ok(())
            } else if seq == 1 {
                Err(broken(
                    "its `prev` is not that of a first line: lines before it were removed".into(),
                ))
            } else {
                Err(broken(format!(
                    "its `prev` does not match the line before it (event {}): that line was edited, or lines were removed or moved",
                    seq - 1
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chained journal of `n` lines, as the writer makes it.
    fn chained(n: usize) -> Vec<String> {
        let mut prev = first_link();
        (1..=n)
            .map(|i| {
                let line =
                    format!(r#"{{"seq":{i},"kind":"note","text":"line {i}","prev":"{prev}"}}"#);
                prev = link(line.as_bytes());
                line
            })
            .collect()
    }

    fn bytes(lines: &[String]) -> Vec<u8> {
        lines
            .iter()
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect()
    }

    #[test]
    fn an_intact_chain_holds_and_its_digest_is_the_last_lines_hash() {
        let lines = chained(5);
        let v = verify(&bytes(&lines));
        assert!(v.holds(), "{v:?}");
        assert_eq!((v.lines, v.unchained, v.torn_tail), (5, 0, 0));
        assert_eq!(v.digest, link(lines[4].as_bytes()));
    }

    #[test]
    fn an_edited_line_breaks_the_chain_at_the_next_line() {
        let mut lines = chained(5);
        lines[2] = lines[2].replace("line 3", "line three");
        let v = verify(&bytes(&lines));
        let b = v.broken.unwrap();
        assert_eq!(b.line, 4);
        assert!(
            b.why.contains("(event 3): that line was edited"),
            "{}",
            b.why
        );
    }

    #[test]
    fn a_removed_line_and_a_moved_line_are_named() {
        let mut lines = chained(5);
        lines.remove(1);
        assert_eq!(verify(&bytes(&lines)).broken.unwrap().line, 2);
        let mut lines = chained(5);
        lines.swap(2, 3);
        let b = verify(&bytes(&lines)).broken.unwrap();
        assert_eq!(b.line, 3);
        assert!(b.why.contains("seq is 4"), "{}", b.why);
        let mut lines = chained(5);
        lines.remove(0);
        assert_eq!(verify(&bytes(&lines)).broken.unwrap().line, 1);
    }

    #[test]
    fn a_line_rewritten_with_a_matching_seq_but_no_prev_is_named() {
        let mut lines = chained(4);
        lines[3] = r#"{"seq":4,"kind":"note","text":"forged"}"#.into();
        let b = verify(&bytes(&lines)).broken.unwrap();
        assert_eq!(b.line, 4);
        assert!(b.why.contains("no `prev`"), "{}", b.why);
    }

    #[test]
    fn an_old_journal_verifies_from_its_first_chained_line() {
        let mut lines: Vec<String> = (1..=3)
            .map(|i| format!(r#"{{"seq":{i},"kind":"note","text":"old {i}"}}"#))
            .collect();
        let mut prev = link(lines[2].as_bytes());
        for i in 4..=6 {
            let l = format!(r#"{{"seq":{i},"kind":"note","prev":"{prev}"}}"#);
            prev = link(l.as_bytes());
            lines.push(l);
        }
        let v = verify(&bytes(&lines));
        assert!(v.holds(), "{v:?}");
        assert_eq!(v.unchained, 3);
        // Editing an unchained line is still caught by the first chained line after it.
        lines[2] = lines[2].replace("old 3", "changed");
        assert_eq!(verify(&bytes(&lines)).broken.unwrap().line, 4);
    }

    #[test]
    fn a_torn_tail_is_counted_not_read() {
        let mut b = bytes(&chained(2));
        b.extend_from_slice(br#"{"seq":3,"ki"#);
        let v = verify(&b);
        assert!(v.holds());
        assert_eq!((v.lines, v.torn_tail), (2, 12));
    }
}
