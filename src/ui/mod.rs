//! Front ends: text rendering shared by the plain and TUI front ends.

pub mod tui;
