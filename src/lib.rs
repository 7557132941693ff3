//! wfop — run workflows of services from a terminal, with every secret redacted.
//! The library holds everything; `main.rs` only parses the command line and picks a front end.

pub mod diag;
pub mod engine;
pub mod expr;
pub mod host;
pub mod human;
pub mod safe;
pub mod secrets;
pub mod ui;
pub mod workflow;
