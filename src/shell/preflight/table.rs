//! The preflight report as text: one table fitted to a width (80 columns by default) by
//! wrapping cells, never cutting them. Rows are grouped by what they check; a failed row
//! says its verdict in a word and its reason on the lines beneath, across the whole width,
//! wrapped onto as many lines as it needs: an error is read to decide go or no-go, so none
//! of it may be lost off the edge.

use super::{Check, Outcome, Report};

/// The width the table fits: what an 80×24 terminal shows without wrapping.
pub const WIDTH: usize = 80;

const HEADERS: [&str; 5] = ["NAME", "RESULT", "AGE", "LATENCY", "VIA"];

/// Between columns.
const GAP: usize = 2;

/// Before each row: its mark (`✓ `, `✗ `), or blanks.
const MARK: usize = 2;

/// Where a failure's reason starts.
const REASON_INDENT: usize = 4;

/// The narrowest the wrapping columns get: (column, minimum), narrowed in this order.
const SHRINK: [(usize, usize); 3] = [(4, 12), (0, 16), (1, 8)];

/// A group's heading: what its rows are and how they were checked.
fn heading(c: Check) -> &'static str {
    match c {
        Check::Secret => "secrets (from the environment, as `cutover run` reads them)",
        Check::Connection => "connections",
        Check::Metric => "metrics (each read once, as the live run reads it)",
        Check::Script => "scripts (checked, not run)",
    }
}

/// The report, headed by what was checked and ended by the verdict.
pub fn render(report: &Report, width: usize) -> String {
    let cells: Vec<[String; 5]> = report
        .rows
        .iter()
        .map(|r| {
            let (result, age, latency) = match &r.outcome {
                Outcome::Ok {
                    result,
                    age,
                    latency,
                } => (result.clone(), age.clone(), latency.clone()),
                Outcome::Failed { result, .. } => {
                    (result.to_string(), String::new(), String::new())
                }
            };
            [r.name.clone(), result, age, latency, r.via.clone()]
        })
        .collect();
    let widths = fit(&cells, width);
    let mut out = String::new();
    let title = format!(
        "cutover preflight {} at {}: the live systems, read once; no step ran and nothing was journaled",
        report.file, report.at
    );
    for line in wrap(&title, width) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
    push_row(&mut out, "  ", &HEADERS.map(String::from), &widths);
    let mut group = None;
    for (row, c) in report.rows.iter().zip(&cells) {
        if group != Some(row.check) {
            group = Some(row.check);
            out.push_str(&format!("  {}\n", heading(row.check)));
        }
        match &row.outcome {
            Outcome::Ok { .. } => push_row(&mut out, "✓ ", c, &widths),
            Outcome::Failed { why, .. } => {
                push_row(&mut out, "✗ ", c, &widths);
                let indent = " ".repeat(REASON_INDENT);
                for line in wrap(why, width.saturating_sub(REASON_INDENT)) {
                    out.push_str(&format!("{indent}{line}\n"));
                }
            }
        }
    }
    out.push('\n');
    let failed = report.failures();
    let total = report.rows.len();
    let verdict = if failed == 0 {
        format!("READY: all {total} checks passed (exit 0)")
    } else {
        format!("NOT READY: {failed} of {total} checks failed, marked ✗ (exit 2)")
    };
    out.push_str(&verdict);
    out.push('\n');
    out
}

/// Column widths: each as wide as its widest cell, then VIA, NAME and RESULT narrowed in
/// turn until the table fits (or all are at their minimum: then lines run long rather than
/// lose text).
fn fit(cells: &[[String; 5]], width: usize) -> [usize; 5] {
    let mut w = HEADERS.map(|h| h.chars().count());
    for c in cells {
        for (i, cell) in c.iter().enumerate() {
            w[i] = w[i].max(cell.chars().count());
        }
    }
    let total = |w: &[usize; 5]| MARK + w.iter().sum::<usize>() + GAP * (w.len() - 1);
    for (col, min) in SHRINK {
        while total(&w) > width && w[col] > min {
            w[col] -= 1;
        }
    }
    w
}

/// One row, as many lines as its tallest cell needs.
fn push_row(out: &mut String, mark: &str, c: &[String; 5], w: &[usize; 5]) {
    let cols: Vec<Vec<String>> = c.iter().zip(w).map(|(cell, &n)| wrap(cell, n)).collect();
    let height = cols.iter().map(Vec::len).max().unwrap_or(1);
    for n in 0..height {
        let mut line = String::from(if n == 0 { mark } else { "  " });
        for (i, lines) in cols.iter().enumerate() {
            let text = lines.get(n).map(String::as_str).unwrap_or("");
            line.push_str(text);
            if i + 1 < cols.len() {
                let pad = w[i].saturating_sub(text.chars().count()) + GAP;
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// `text` in lines of at most `width` characters, broken at spaces; a word longer than a
/// line is broken inside (after a `/`, `-`, `_` or `.` when there is one), never dropped.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        loop {
            let used = line.chars().count();
            let len = word.chars().count();
            if used == 0 && len <= width {
                line.push_str(&word);
                break;
            }
            if used == 0 {
                let (head, tail) = split_word(&word, width);
                lines.push(head);
                word = tail;
                continue;
            }
            if used + 1 + len <= width {
                line.push(' ');
                line.push_str(&word);
                break;
            }
            lines.push(std::mem::take(&mut line));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The first at most `width` characters of a word too long for a line, and the rest.
fn split_word(word: &str, width: usize) -> (String, String) {
    let chars: Vec<char> = word.chars().collect();
    let hard = width.min(chars.len());
    // Break after the last separator that keeps the head at least half a line long.
    let soft = ((width / 2).max(1)..hard)
        .rev()
        .find(|&i| matches!(chars[i - 1], '/' | '-' | '_' | '.'))
        .unwrap_or(hard);
    (
        chars[..soft].iter().collect(),
        chars[soft..].iter().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::Row;
    use super::*;

    #[test]
    fn wrapping_keeps_every_character() {
        let text = "HTTP 401: invalid token for workspace adb-4417828419393402.2.azuredatabricks.net/api/2.0/sql/statements";
        for width in [8, 13, 30, 80] {
            let lines = wrap(text, width);
            assert!(
                lines.iter().all(|l| l.chars().count() <= width),
                "{lines:?}"
            );
            assert_eq!(
                lines.concat().replace(' ', ""),
                text.replace(' ', ""),
                "width {width}"
            );
        }
        assert_eq!(wrap("", 10), vec![String::new()]);
    }

    #[test]
    fn a_long_failure_wraps_within_eighty_columns_and_keeps_every_word() {
        let why = "`SNOWFLAKE_PRIVATE_KEY_FILE` is not set (runbooks/blue-green.yaml:36:23); export SNOWFLAKE_PRIVATE_KEY_FILE=… before the run, and a great deal more text so that it wraps twice";
        let report = Report {
            file: "runbooks/blue-green.yaml".into(),
            at: "2026-12-04T02:00:00Z".into(),
            rows: vec![
                Row {
                    check: Check::Secret,
                    name: "SNOWFLAKE_PRIVATE_KEY_FILE".into(),
                    via: "snowflake.private_key_file".into(),
                    outcome: Outcome::failed("NOT SET", why),
                },
                Row {
                    check: Check::Metric,
                    name: "critical-report-failures".into(),
                    via: "databricks".into(),
                    outcome: Outcome::Ok {
                        result: "0 runs".into(),
                        age: "0s".into(),
                        latency: "340ms".into(),
                    },
                },
            ],
        };
        let text = render(&report, WIDTH);
        for l in text.lines() {
            assert!(l.chars().count() <= WIDTH, "{l:?} is too wide in\n{text}");
        }
        let reason: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("✗ SNOWFLAKE_PRIVATE_KEY_FILE  NOT SET"))
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .collect();
        assert!(reason.len() >= 2, "{text}");
        assert_eq!(
            reason
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            why
        );
        assert!(
            text.contains("✓ critical-report-failures    0 runs   0s   340ms    databricks"),
            "{text}"
        );
        assert!(text.ends_with("NOT READY: 1 of 2 checks failed, marked ✗ (exit 2)\n"));
    }
}
