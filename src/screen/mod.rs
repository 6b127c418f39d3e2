//! The cockpit's screen: its state and key handling (`app`), the log pane's tail (`log`),
//! rendering (`ui`) and one line of text per journal event (`print`, shared with the
//! headless printer). Functions of state:
//! no IO, no clock, no terminal.

pub mod app;
pub mod log;
pub mod print;
pub mod report;
pub mod ui;
