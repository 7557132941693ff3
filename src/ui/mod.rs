//! Front ends: the workflow graph as a canvas of owned cells and as text (`graph`), the line
//! front end for pipes, CI, `--plain` and `--json` (`plain`), and the terminal UI (`tui`).

pub mod graph;
pub mod plain;
pub mod tui;
