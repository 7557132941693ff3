//! Front ends: the workflow graph as a canvas of owned cells and as text (`graph`), the one
//! start path of `wfop run` (`start`), the line front end for pipes, CI, `--plain` and `--json`
//! (`plain`), the terminal UI (`tui`), and the run summary both print (`summary`).

pub mod graph;
pub mod plain;
pub mod remote;
pub mod start;
pub mod summary;
pub mod tui;
