//! Front ends' shared drawing and the line front end: the workflow graph as a canvas of owned
//! cells and as text (`graph`); `plain` for pipes, CI, `--plain` and `--json`.

pub mod graph;
pub mod plain;
