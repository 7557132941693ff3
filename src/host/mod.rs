//! Runs that outlive the terminal: a run host process owns a run's engine (services, redactors,
//! record) and serves its event stream on a Unix socket in the run's record folder; terminals
//! are clients (`wfop run` starts a host and attaches, `wfop attach`, `wfop ps`, `wfop stop`).
//!
//! - `proto.rs`: the protocol: hellos with versions, commands, replies, parsing a line;
//! - `launch.rs`: a client starts a run host and hands it the run (secrets over a pipe);
//! - `serve.rs`: the run host process (`wfop __run-host`): the engine, the socket, its clients;
//! - `client.rs`: connecting to a live run, reading a finished run's event log, listing.
//!
//! Every event crossing the socket is the engine's, redacted before it left the engine and
//! written to the record's event log first; a client only reads. See docs/architecture.md.

pub mod client;
pub mod launch;
pub mod proto;
pub mod serve;

pub use client::{Client, LiveRun, live_runs};
pub use launch::{Launch, Launched, launch};
pub use proto::{Command, Incoming, Mode, PROTOCOL, Status};
