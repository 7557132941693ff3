//! Front ends: the workflow graph as a canvas of owned cells and as text (`graph`), the line
//! front end for pipes, CI, `--plain` and `--json` (`plain`), the terminal UI (`tui`), and the
//! one rule that makes any text safe to print on a terminal (`safe`).

pub mod graph;
pub mod plain;
pub mod tui;
