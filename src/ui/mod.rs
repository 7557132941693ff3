//! Front ends' shared drawing. For now: the workflow graph as a canvas of owned cells and as
//! text (`graph`); the plain and TUI front ends build on it.

pub mod graph;
