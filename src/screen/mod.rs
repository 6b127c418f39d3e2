//! The cockpit's screen: its state and key handling (`app`), the log pane's tail (`log`),
//! rendering (`ui`), one line of text per journal event (`print`, shared with the headless
//! printer) and who shares the session (`share`). Functions of state:
//! no IO, no clock, no terminal.

pub mod app;
pub mod log;
pub mod print;
pub mod report;
pub mod share;
pub mod ui;
