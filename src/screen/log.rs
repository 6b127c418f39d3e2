//! What the log pane shows: a bounded tail of the journal's records (as the printer words
//! them), command output, and the program's own diagnostics, each line with a level so the
//! operator's filter (`l`) applies to all of it. Fed by the cockpit as records arrive; drawn
//! from here, so the pane is a function of state like the rest of the screen.

use std::collections::VecDeque;

/// How many lines the tail keeps (a long window journals thousands of records; the pane
/// shows the newest, the journal keeps them all).
pub const CAPACITY: usize = 2000;

/// The importance of a line, as the filter sees it.
pub use log::Level;

/// One line of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Its level.
    pub level: Level,
    /// Its text, one line.
    pub text: String,
}

/// The newest lines, oldest first.
#[derive(Debug, Clone, Default)]
pub struct LogTail {
    lines: VecDeque<LogLine>,
}

impl LogTail {
    /// Adds a record (its lines kept, runs of spaces squeezed); drops the oldest past
    /// `CAPACITY`.
    pub fn push(&mut self, level: Level, text: &str) {
        if self.lines.len() == CAPACITY {
            self.lines.pop_front();
        }
        // Runs of spaces (the printer's column padding) go; the lines of a record stay.
        let text = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        self.lines.push_back(LogLine { level, text });
    }

    /// The lines at `min` or more important, oldest first.
    pub fn shown(&self, min: log::LevelFilter) -> impl DoubleEndedIterator<Item = &LogLine> {
        self.lines.iter().filter(move |l| l.level <= min)
    }

    /// How many lines it holds.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_is_bounded_and_filtered_by_level() {
        let mut t = LogTail::default();
        for i in 0..CAPACITY + 10 {
            t.push(Level::Info, &format!("line {i}"));
        }
        t.push(Level::Warn, "a   \n   warning");
        assert_eq!(t.len(), CAPACITY);
        assert_eq!(
            t.shown(log::LevelFilter::Trace).next().unwrap().text,
            "line 11"
        );
        let warn: Vec<&str> = t
            .shown(log::LevelFilter::Warn)
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(warn, ["a\nwarning"]);
    }
}
