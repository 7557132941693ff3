//! The `wfop` command line: parses arguments, runs a subcommand, maps errors to exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use wfop::ui::graph::{Charset, workflow_graph_text};
use wfop::workflow;

/// Exit code for invalid input or usage.
const EXIT_INVALID: u8 = 2;

#[derive(Parser)]
#[command(
    name = "wfop",
    version,
    about = "Run workflows of services from a terminal, with every secret redacted"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check workflow files and report every problem with file:line:col (exit 0 ok, 2 errors)
    Check {
        /// Workflow files (JSON)
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Copy stdin to stdout with every given secret (and its encodings) replaced by ***
    Redact {
        /// A secret to redact: NAME=env:VAR or NAME=file:PATH (never the value itself)
        #[arg(
            long = "secret",
            value_name = "NAME=env:VAR|file:PATH",
            required = true
        )]
        secrets: Vec<String>,
        /// Print how often each secret was redacted to stderr at the end
        #[arg(long)]
        counts: bool,
    },
    /// Print a workflow's graph as text
    Graph {
        /// Workflow file (JSON)
        file: PathBuf,
        /// Draw with ASCII only, for terminals without UTF-8
        #[arg(long)]
        ascii: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files } => check(&files),
        Command::Graph { file, ascii } => graph(&file, ascii),
        Command::Redact { secrets, counts } => redact(&secrets, counts),
    }
}

fn redact(specs: &[String], counts: bool) -> ExitCode {
    if let Err(e) = wfop::secrets::harden::harden_process() {
        eprintln!("wfop: warning: could not disable core dumps: {e}");
    }
    match wfop::secrets::pipe::run_redact_command(specs, counts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ wfop::secrets::pipe::RedactCommandError::Io(_)) => {
            eprintln!("wfop: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("wfop: {e}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// Colour for diagnostics on stderr, unless NO_COLOR is set or stderr is not a terminal.
fn stderr_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn check(files: &[PathBuf]) -> ExitCode {
    let color = stderr_color();
    let mut failed = false;
    for path in files {
        let checked = match workflow::check_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
                continue;
            }
        };
        eprint!("{}", checked.render(color));
        let (errors, warnings) = (checked.errors(), checked.warnings());
        match checked.workflow() {
            Some(wf) => {
                let w = if warnings > 0 {
                    format!(", {}", plural(warnings, "warning"))
                } else {
                    String::new()
                };
                println!(
                    "ok: {} ({}, {}{w})",
                    checked.source.name,
                    plural(wf.nodes.len(), "node"),
                    plural(wf.edges.len(), "edge")
                );
            }
            None => {
                failed = true;
                let w = if warnings > 0 {
                    format!(" and {}", plural(warnings, "warning"))
                } else {
                    String::new()
                };
                eprintln!(
                    "wfop: {}: {}{w}",
                    checked.source.name,
                    plural(errors, "error")
                );
            }
        }
    }
    if failed {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    }
}

fn graph(path: &std::path::Path, ascii: bool) -> ExitCode {
    let checked = match workflow::check_file(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    if checked.errors() > 0 {
        eprint!("{}", checked.render(stderr_color()));
        eprintln!(
            "wfop: {}: {}; fix them to see the graph",
            checked.source.name,
            plural(checked.errors(), "error")
        );
        return ExitCode::from(EXIT_INVALID);
    }
    let Some(wf) = checked.workflow() else {
        return ExitCode::from(EXIT_INVALID);
    };
    let charset = if ascii {
        Charset::Ascii
    } else {
        Charset::Unicode
    };
    println!("{}", workflow_graph_text(wf, charset));
    ExitCode::SUCCESS
}
