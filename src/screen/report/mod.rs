//! `cutover report`: the session's journal turned into the record a change board and a
//! post-incident review read. Gathering the facts ([`facts`]) is one pass over the records;
//! the Markdown ([`markdown`]) is a function of them, the runbook (for titles, owners and
//! planned times) and the journal's chain verdict. Reading the files is the shell's job.

mod charts;
pub mod compare;
pub mod facts;
mod html;
mod markdown;

use crate::core::event::Record;
use crate::core::event::chain::Verdict;
use crate::core::runbook::Runbook;

/// What a report is made of.
pub struct Report {
    /// The journal's records.
    pub records: Vec<Record>,
    /// The facts gathered from them.
    pub facts: facts::Facts,
    /// The runbook, when it could be loaded.
    pub runbook: Option<Runbook>,
    /// Whether the runbook at hand is the one the session ran, in words.
    pub runbook_note: String,
    /// The journal's chain.
    pub chain: Verdict,
    /// The metric evidence (`samples.jsonl`), when the session has it.
    pub samples: Option<Samples>,
}

/// The session's metric evidence.
pub struct Samples {
    /// Its lines, in order.
    pub lines: Vec<crate::core::evidence::Line>,
    /// Lines that could not be read (a torn last line after a kill).
    pub unreadable: usize,
}

impl Report {
    /// The report of `records` (with `runbook` when at hand, described by `runbook_note`).
    pub fn new(
        records: Vec<Record>,
        runbook: Option<Runbook>,
        runbook_note: String,
        chain: Verdict,
        samples: Option<Samples>,
    ) -> Self {
        let facts = facts::gather(&records, runbook.as_ref());
        Self {
            records,
            facts,
            runbook,
            runbook_note,
            chain,
            samples,
        }
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        markdown::write(self)
    }

    /// The report as one self-contained HTML page with its charts.
    pub fn html(&self) -> String {
        html::write(self)
    }
}
