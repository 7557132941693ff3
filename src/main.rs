//! The `wfop` command line: parses arguments, runs a subcommand, maps errors to exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use wfop::engine::record;
use wfop::safe;
use wfop::secrets::SecretArg;
use wfop::ui::graph::{Charset, workflow_graph_text};
use wfop::ui::start::{self, Front, RunRequest};
use wfop::ui::tui::TuiOptions;
use wfop::ui::tui::fit::{Fit, FitArgs};
use wfop::ui::tui::theme::Theme;
use wfop::ui::tui::{keyfile, keymap};
use wfop::ui::{plain, remote};
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

/// How to read a BPMN workflow (ignored for JSON workflows that list their nodes).
#[derive(clap::Args, Clone, Default)]
struct LoadArgs {
    /// The process to use from a BPMN file with several (its id)
    #[arg(long, value_name = "ID")]
    process: Option<String>,
    /// The binding file for a BPMN file's service tasks (default: FLOW.services.json beside
    /// FLOW.bpmn)
    #[arg(long, value_name = "FILE")]
    services: Option<PathBuf>,
}

/// Where the services run (docs/executors.md).
#[derive(clap::Args)]
struct ExecutorArgs {
    /// Where services run: `local` (subprocesses of wfop) or `slurm` (a Slurm job step each,
    /// see docs/executors.md); a node's "executor" overrides it
    #[arg(long, value_enum, default_value_t = ExecutorArg::Local)]
    executor: ExecutorArg,
    /// Slurm: the partition of the run's allocation and jobs
    #[arg(long, value_name = "P")]
    partition: Option<String>,
    /// Slurm: the account charged
    #[arg(long, value_name = "A")]
    account: Option<String>,
    /// Slurm: the quality of service
    #[arg(long, value_name = "Q")]
    qos: Option<String>,
    /// Slurm: one more option for salloc (the run's allocation) or srun (a job of its own),
    /// e.g. `--slurm-arg=--time=30`; repeatable
    #[arg(long = "slurm-arg", value_name = "ARG", allow_hyphen_values = true)]
    slurm_args: Vec<String>,
    /// Slurm: every service a job of its own, instead of a step in one allocation for the run
    #[arg(long)]
    slurm_own_jobs: bool,
    /// Slurm: how often a step says it is alive (default 10s); one silent for three of these
    /// and 5s more is lost
    #[arg(long, value_name = "DURATION", value_parser = wfop::human::parse_duration)]
    slurm_heartbeat: Option<std::time::Duration>,
    /// Slurm: where the services' private folders are made, on a file system the compute
    /// nodes see (default: <state-dir>/work)
    #[arg(long, value_name = "DIR")]
    remote_workdir: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExecutorArg {
    Local,
    Slurm,
}

impl ExecutorArgs {
    fn options(self) -> wfop::engine::executor::ExecutorOptions {
        use wfop::engine::executor::{ExecutorKind, ExecutorOptions};
        ExecutorOptions {
            kind: match self.executor {
                ExecutorArg::Local => ExecutorKind::Local,
                ExecutorArg::Slurm => ExecutorKind::Slurm,
            },
            slurm: wfop::workflow::SlurmSettings {
                partition: self.partition,
                account: self.account,
                qos: self.qos,
                args: self.slurm_args,
                own_job: self.slurm_own_jobs,
            },
            remote_workdir: self.remote_workdir,
            heartbeat_ms: self.slurm_heartbeat.map(|d| d.as_millis() as u64),
        }
    }
}

/// How the TUI fits the terminal (docs/tui.md, "Terminal handling").
#[derive(clap::Args, Clone, Default)]
struct ScreenArgs {
    /// TUI colours: auto (from COLORTERM, TERM and terminfo), none, 16, 256 or truecolor
    /// (else $WFOP_COLOR_DEPTH)
    #[arg(long, value_name = "DEPTH")]
    color_depth: Option<String>,
    /// TUI drawing: auto (unicode in a UTF-8 locale, else ascii), unicode or ascii (else
    /// $WFOP_CHARSET)
    #[arg(long, value_name = "SET")]
    charset: Option<String>,
    /// TUI: leave the mouse to the terminal, no wheel or clicks (else $WFOP_MOUSE=off)
    #[arg(long)]
    no_mouse: bool,
}

impl LoadArgs {
    fn options(self) -> workflow::LoadOptions {
        workflow::LoadOptions {
            process: self.process,
            services: self.services,
        }
    }
}

// Parsed once per process: the size of the `Run` variant (all of `wfop run`'s options) costs
// nothing, and boxing it would only make the match in `main` harder to read.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Check workflow files and report every problem with file:line:col (exit 0 ok, 2 errors)
    Check {
        /// Workflow files (JSON or BPMN)
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Write a binding file for a BPMN file's service tasks: one entry per task type, each
    /// naming a Python module to write (default: FLOW.services.json beside FLOW.bpmn)
    Bind {
        /// The BPMN file
        file: PathBuf,
        /// The process to use from a BPMN file with several (its id)
        #[arg(long, value_name = "ID")]
        process: Option<String>,
        /// Where to write it (`-` for standard output)
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace the file if it exists
        #[arg(long)]
        force: bool,
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
        /// Workflow file (JSON or BPMN)
        file: PathBuf,
        /// Draw with ASCII only, for terminals without UTF-8
        #[arg(long)]
        ascii: bool,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Run a workflow: services as subprocesses, every secret redacted, a record on disk
    Run {
        /// Workflow file (JSON or BPMN)
        file: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
        /// Workflow inputs (a JSON object; its "$secrets" object supplies secrets)
        #[arg(long, value_name = "F.json")]
        input: Option<PathBuf>,
        /// A secret's source: NAME=env:VAR or NAME=file:PATH (never the value itself)
        // Parsed by wfop, not clap: clap's error would echo a literal value.
        #[arg(long = "secret", value_name = "NAME=env:VAR|file:PATH")]
        secrets: Vec<String>,
        /// Line output: `[node] line` logs, `wfop: …` status lines, a summary
        #[arg(long, conflicts_with = "json")]
        plain: bool,
        /// One JSON event per line
        #[arg(long)]
        json: bool,
        /// Most services running at once (default: the number of CPUs)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_parallel: Option<u32>,
        /// After a failure, keep running everything that does not depend on it
        #[arg(long)]
        keep_going: bool,
        /// Time a stopped service gets between SIGTERM and SIGKILL, e.g. `10s`, `500ms`
        /// (default 5s)
        #[arg(long, value_name = "DURATION", value_parser = wfop::human::parse_duration)]
        grace: Option<std::time::Duration>,
        /// Run every service on a pseudo-terminal of its own (colours, stdout and stderr as
        /// one stream, typing to it with `i` in the TUI), as a node's "tty": true does
        #[arg(long)]
        tty: bool,
        /// Where run records go (default: $XDG_STATE_HOME/wfop or ~/.local/state/wfop)
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        #[command(flatten)]
        executor: ExecutorArgs,
        /// Mount folder DIR as data pool NAME for Python services (their `DataPool` parameter
        /// NAME); repeatable; replaces the workflow's `datapools` entry of that name
        #[arg(long = "datapool", value_name = "NAME=DIR")]
        datapools: Vec<String>,
        /// TUI colour theme: default, light, high-contrast, mono, or a .toml file (else $WFOP_THEME)
        #[arg(long, value_name = "NAME|PATH")]
        theme: Option<String>,
        #[command(flatten)]
        screen: ScreenArgs,
        /// Start the run in the background (a run host of its own) after asking for missing
        /// secrets, print its id and return; attach with `wfop attach`
        #[arg(long)]
        detach: bool,
        /// Rerun from this node onwards: the nodes it does not lead to do not run, their
        /// outputs come from the run given by --reuse (default: this workflow's latest finished run)
        #[arg(long, value_name = "NODE")]
        from: Option<String>,
        /// The finished run whose outputs --from reuses: a run id (or a unique prefix, or
        /// `last`), or a run's record folder
        #[arg(long, value_name = "RUN", requires = "from")]
        reuse: Option<String>,
        /// TUI: run in this process, so that losing the terminal (SIGHUP) stops the run, as
        /// before runs had hosts (default: the run goes on in its host, and wfop detaches)
        #[arg(long, conflicts_with = "detach")]
        stop_on_hangup: bool,
        /// TUI log lines kept per node (default 100000; the record always keeps every line)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        scrollback: Option<u32>,
        /// TUI log memory for the whole run, in MiB (default 64; oldest lines of the chattiest
        /// node go first; the record always keeps everything)
        #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..))]
        scrollback_mib: Option<u32>,
    },
    /// Make a virtualenv for each service project of a workflow (`run.project`) with its
    /// requirements and qhub-commons, under the state folder; `wfop run` then uses it
    Prepare {
        /// Workflow file (JSON or BPMN)
        file: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
        /// Where the virtualenvs go (`DIR/venvs`; default: $XDG_STATE_HOME/wfop or
        /// ~/.local/state/wfop, as for `wfop run`)
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// The Python the virtualenvs are made from
        #[arg(long, value_name = "PATH", default_value = "python3")]
        python: String,
        /// Make them again even when they are there
        #[arg(long)]
        force: bool,
    },
    /// Open a run in the TUI (RUN: an id, a unique prefix of one, or `last`, the default): a
    /// live run attached (detach with `d`), a finished one replayed from its record
    Attach {
        #[arg(default_value = "last")]
        run: String,
        /// Print its events as `[node] line` text instead, from its start, until it ends
        #[arg(long, conflicts_with = "json")]
        plain: bool,
        /// Print its events as JSON lines instead (as `wfop run --json`), until it ends
        #[arg(long)]
        json: bool,
        /// TUI colour theme: default, light, high-contrast, mono, or a .toml file (else $WFOP_THEME)
        #[arg(long, value_name = "NAME|PATH")]
        theme: Option<String>,
        #[command(flatten)]
        screen: ScreenArgs,
        /// Where run records are (default: $XDG_STATE_HOME/wfop or ~/.local/state/wfop)
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// List live runs (id, state, attached clients, pid, start, workflow)
    Ps {
        /// One JSON object per run
        #[arg(long)]
        json: bool,
        /// Where run records are (default: $XDG_STATE_HOME/wfop or ~/.local/state/wfop)
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Cancel a live run as the TUI's `c` does, and wait for its end
    Stop {
        run: String,
        /// Stop it now (SIGKILL) instead of SIGTERM and the grace period
        #[arg(long)]
        kill: bool,
        /// Where run records are (default: $XDG_STATE_HOME/wfop or ~/.local/state/wfop)
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// A run host (started by `wfop run`; reads its run from stdin)
    #[command(name = "__run-host", hide = true)]
    RunHost,
    /// List recorded runs, and why each ended (the node that failed, the signal, a rerun's reused run)
    Runs {
        /// Where run records are (default: $XDG_STATE_HOME/wfop or ~/.local/state/wfop)
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Print a run's logs (RUN: an id, a unique prefix of one, or `last`)
    Logs {
        run: String,
        /// Only this node's log
        node: Option<String>,
        /// Keep printing while the run is going, then end with its final status line (stderr)
        #[arg(short, long)]
        follow: bool,
        /// Only this attempt of the node (1, 2, …: loop iterations and retries)
        #[arg(long, value_name = "N", requires = "node", value_parser = clap::value_parser!(u32).range(1..))]
        attempt: Option<u32>,
        /// Where run records are (default: $XDG_STATE_HOME/wfop or ~/.local/state/wfop)
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Write a workflow as a Camunda 8 BPMN file with a diagram (to stdout), and its services'
    /// binding file
    Export {
        /// Write BPMN (the format export writes)
        #[arg(long, required = true)]
        bpmn: bool,
        /// Workflow file (JSON)
        file: PathBuf,
        /// Where to write the binding file (each service's `run`, by task type), e.g.
        /// FLOW.services.json beside FLOW.bpmn
        #[arg(long, value_name = "OUT.services.json")]
        services: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files, load } => check(&files, &load.options()),
        Command::Graph { file, ascii, load } => graph(&file, ascii, &load.options()),
        Command::Bind {
            file,
            process,
            output,
            force,
        } => bind(&file, process, output, force),
        Command::Run {
            file,
            load,
            input,
            secrets,
            plain,
            json,
            max_parallel,
            keep_going,
            grace,
            tty,
            state_dir,
            executor,
            datapools,
            theme,
            screen,
            detach,
            from,
            reuse,
            stop_on_hangup,
            scrollback,
            scrollback_mib,
        } => {
            let datapools = match datapools
                .iter()
                .map(|a| wfop::engine::datapool::parse_arg(a))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("wfop: {}", safe::text(&e.to_string()));
                    return ExitCode::from(EXIT_INVALID);
                }
            };
            // The TUI when stdout is a terminal; line mode for --plain, --json and pipes.
            let front = if detach {
                Front::Detach { json }
            } else if !plain && !json && std::io::stdout().is_terminal() {
                let Some((theme, fit)) = screen_of(theme.as_deref(), &screen) else {
                    return ExitCode::from(EXIT_INVALID);
                };
                Front::Tui(Box::new(TuiOptions {
                    theme,
                    fit,
                    scrollback: scrollback.map(|n| n as usize),
                    scrollback_mib: scrollback_mib.map(|n| n as usize),
                    in_process: stop_on_hangup,
                }))
            } else if json {
                Front::Lines(plain::Mode::Json)
            } else {
                Front::Lines(plain::Mode::Plain)
            };
            // Before any secret is read; then the `--secret` arguments, parsed here once.
            start::harden();
            let secrets = match SecretArg::parse_all(&secrets) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{}", safe::styled(&format!("wfop: {e}")));
                    return ExitCode::from(EXIT_INVALID);
                }
            };
            let request = RunRequest {
                workflow: file,
                load: load.options(),
                input,
                secrets,
                max_parallel: max_parallel.map(|n| n as usize),
                keep_going,
                grace,
                tty,
                state_dir,
                datapools,
                color: stderr_color(),
                rerun: from.map(|from| start::Rerun { from, reuse }),
                executor: executor.options(),
            };
            let code = start::run(request, front);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Command::Prepare {
            file,
            load,
            state_dir,
            python,
            force,
        } => prepare(&file, &load.options(), state_dir, python, force),
        Command::RunHost => {
            let code = wfop::host::serve::main();
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Command::Attach {
            run,
            plain: as_text,
            json,
            theme,
            screen,
            state_dir,
        } => {
            let dir = match state_dir_of(state_dir) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let code = if json || as_text || !std::io::stdout().is_terminal() {
                let mode = if json {
                    plain::Mode::Json
                } else {
                    plain::Mode::Plain
                };
                remote::attach_lines(&dir, &run, mode)
            } else {
                let Some((theme, fit)) = screen_of(theme.as_deref(), &screen) else {
                    return ExitCode::from(EXIT_INVALID);
                };
                wfop::ui::tui::attach(&dir, &run, theme, fit)
            };
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Command::Ps { json, state_dir } => records(state_dir, |dir| {
            remote::ps(dir, json, &mut std::io::stdout().lock()).map_err(|e| e.to_string())
        }),
        Command::Stop {
            run,
            kill,
            state_dir,
        } => {
            let dir = match state_dir_of(state_dir) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let code = remote::stop(&dir, &run, kill);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Command::Runs { state_dir } => records(state_dir, |dir| {
            plain::print_runs(dir, &mut std::io::stdout().lock()).map_err(|e| e.to_string())
        }),
        Command::Logs {
            run,
            node,
            follow,
            attempt,
            state_dir,
        } => records(state_dir, |dir| {
            plain::print_logs(
                dir,
                &run,
                (node.as_deref(), attempt),
                follow,
                &mut std::io::stdout().lock(),
            )
            .map_err(|e| e.to_string())
        }),
        Command::Redact { secrets, counts } => redact(&secrets, counts),
        Command::Export {
            bpmn: _,
            file,
            services,
        } => export(&file, services.as_deref()),
    }
}

/// The TUI's theme from `--theme` or `WFOP_THEME`, its fit to the terminal and the operator's
/// keymap file (installed as the effective key table); `None` after printing why not.
fn screen_of(arg: Option<&str>, screen: &ScreenArgs) -> Option<(Theme, Fit)> {
    let env = |k: &str| std::env::var(k).ok();
    let theme = match Theme::select(arg, env) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wfop: {}", safe::text(&e.to_string()));
            return None;
        }
    };
    let args = FitArgs {
        color_depth: screen.color_depth.clone(),
        charset: screen.charset.clone(),
        no_mouse: screen.no_mouse,
    };
    let fit = match Fit::detect(&args, &env) {
        Ok(fit) => fit,
        Err(e) => {
            eprintln!("wfop: {}", safe::text(&e));
            return None;
        }
    };
    // The keymap file: a mistake in it keeps the screen closed (exit 2), said at file:line:col.
    match keyfile::load(&env) {
        Ok(table) => {
            keymap::install(table);
        }
        Err(e) => {
            eprintln!("wfop: {}", safe::text(&e.to_string()));
            return None;
        }
    }
    Some((theme, fit))
}

/// `--state-dir`, else the default state folder; without one, says why (exit 2).
fn state_dir_of(state_dir: Option<PathBuf>) -> Result<PathBuf, ExitCode> {
    state_dir
        .map_or_else(record::default_state_dir, Ok)
        .map_err(|e| {
            eprintln!("wfop: {}", safe::text(&e.to_string()));
            ExitCode::from(EXIT_INVALID)
        })
}

/// Runs a command over the run records; errors exit 2.
fn records(
    state_dir: Option<PathBuf>,
    f: impl FnOnce(&std::path::Path) -> Result<(), String>,
) -> ExitCode {
    let dir = match state_dir_of(state_dir) {
        Ok(d) => d,
        Err(code) => return code,
    };
    match f(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wfop: {}", safe::text(&e));
            ExitCode::from(EXIT_INVALID)
        }
    }
}

fn redact(specs: &[String], counts: bool) -> ExitCode {
    if let Err(e) = wfop::secrets::harden::harden_process() {
        eprintln!(
            "wfop: warning: could not disable core dumps: {}",
            safe::text(&e.to_string())
        );
    }
    match wfop::secrets::pipe::run_redact_command(specs, counts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ wfop::secrets::pipe::RedactCommandError::Io(_)) => {
            eprintln!("wfop: {}", safe::text(&e.to_string()));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("wfop: {}", safe::text(&e.to_string()));
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

/// A workflow file checked, its findings printed on stderr; a file that cannot be read is
/// said and gives exit 2.
fn checked_file(
    checked: Result<workflow::Checked, wfop::diag::ReadError>,
) -> Result<workflow::Checked, ExitCode> {
    match checked {
        Ok(c) => {
            eprint!("{}", safe::styled(&c.render(stderr_color())));
            Ok(c)
        }
        Err(e) => {
            eprintln!("error: {}", safe::text(&e.to_string()));
            Err(ExitCode::from(EXIT_INVALID))
        }
    }
}

/// Exit 2 for a workflow whose errors stop `to` (`"see the graph"`), saying how many.
fn refused(checked: &workflow::Checked, to: &str) -> ExitCode {
    eprintln!(
        "wfop: {}: {}; fix them to {}",
        safe::line(&checked.source.name),
        plural(checked.errors(), "error"),
        safe::line(to)
    );
    ExitCode::from(EXIT_INVALID)
}

fn check(files: &[PathBuf], load: &workflow::LoadOptions) -> ExitCode {
    let color = stderr_color();
    let mut failed = false;
    for path in files {
        let checked = match workflow::check_file_with(path, load) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {}", safe::text(&e.to_string()));
                failed = true;
                continue;
            }
        };
        eprint!("{}", safe::styled(&checked.render(color)));
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
                    safe::line(&checked.source.name),
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
                    safe::line(&checked.source.name),
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

/// `wfop prepare FILE`: the workflow checked as for a run, then one virtualenv per project
/// requirements; exit 0 when every one is ready, 1 when one could not be made, 2 for errors.
fn prepare(
    path: &std::path::Path,
    load: &workflow::LoadOptions,
    state_dir: Option<PathBuf>,
    python: String,
    force: bool,
) -> ExitCode {
    let checked = match checked_file(workflow::check_file_with(path, load)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(wf) = checked.workflow() else {
        return refused(&checked, "prepare it");
    };
    let state_dir = match state_dir.map_or_else(record::default_state_dir, Ok) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("wfop: {}", safe::text(&e.to_string()));
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let options = wfop::engine::venv::Options {
        state_dir,
        python,
        force,
        workflow: path.to_path_buf(),
    };
    let failed = wfop::engine::venv::prepare(wf, &options, &mut std::io::stderr());
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn graph(path: &std::path::Path, ascii: bool, load: &workflow::LoadOptions) -> ExitCode {
    let checked = match checked_file(workflow::check_file_with(path, load)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Warnings, and errors that only stop a run (a BPMN element wfop does not run, an unbound
    // task), are shown above a graph that is still drawn.
    let Some(wf) = checked.drawable() else {
        return refused(&checked, "see the graph");
    };
    let charset = if ascii {
        Charset::Ascii
    } else {
        Charset::Unicode
    };
    println!("{}", safe::text(&workflow_graph_text(wf, charset)));
    ExitCode::SUCCESS
}

/// `wfop bind FILE.bpmn`: the skeleton binding file, written beside the BPMN file unless told
/// otherwise; an existing file is kept unless `--force`.
fn bind(
    path: &std::path::Path,
    process: Option<String>,
    output: Option<PathBuf>,
    force: bool,
) -> ExitCode {
    let options = workflow::LoadOptions {
        process,
        // Bound or not, every task gets an entry: read without a binding file.
        services: None,
    };
    let source = match wfop::diag::SourceFile::read(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", safe::text(&e.to_string()));
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let (wf, diagnostics) = workflow::bpmn::read::read(&source, options.process.as_deref());
    let Some(wf) = wf.filter(|_| diagnostics.iter().all(|d| !d.is_error() || d.run_only)) else {
        eprint!(
            "{}",
            safe::styled(&wfop::diag::render(&source, &diagnostics, stderr_color()))
        );
        eprintln!(
            "wfop: {}: cannot list its service tasks",
            safe::line(&source.name)
        );
        return ExitCode::from(EXIT_INVALID);
    };
    let text = workflow::bpmn::bind::skeleton(&wf);
    let out = output.unwrap_or_else(|| workflow::bpmn::bind::default_path(path));
    if out.as_os_str() == "-" {
        // JSON's own escape for what a terminal must not see: the same JSON.
        print!("{}", safe::json(&text));
        return ExitCode::SUCCESS;
    }
    if out.exists() && !force {
        eprintln!(
            "wfop: {} exists; --force replaces it, -o - prints the skeleton",
            safe::line(&out.display().to_string())
        );
        return ExitCode::from(EXIT_INVALID);
    }
    if let Err(e) = std::fs::write(&out, &text) {
        eprintln!(
            "wfop: {}: cannot write it: {}",
            safe::line(&out.display().to_string()),
            safe::text(&e.to_string())
        );
        return ExitCode::FAILURE;
    }
    let n = text.lines().count().saturating_sub(2);
    let w = plural(n, "task type");
    println!(
        "wrote {} ({w}); write the services it names, then `wfop check {}`",
        safe::line(&out.display().to_string()),
        safe::line(&path.display().to_string())
    );
    ExitCode::SUCCESS
}
/// `wfop export --bpmn`: the BPMN to stdout, the binding file to `services`; a workflow with
/// errors is not exported (exit 2).
fn export(path: &std::path::Path, services: Option<&std::path::Path>) -> ExitCode {
    use wfop::workflow::bpmn::write;
    let checked = match checked_file(workflow::check_file(path)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(wf) = checked.workflow() else {
        return refused(&checked, "export it");
    };
    let xml = match write::export(wf) {
        Ok(x) => x,
        Err(e) => {
            eprintln!(
                "wfop: {}: {}",
                safe::line(&checked.source.name),
                safe::text(&e.to_string())
            );
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let has_services = wf
        .nodes
        .iter()
        .any(|n| n.kind == workflow::NodeKind::Service);
    match services {
        Some(out) => {
            if let Err(e) = std::fs::write(out, write::bindings(wf, out)) {
                eprintln!(
                    "wfop: cannot write {}: {}",
                    safe::line(&out.display().to_string()),
                    safe::text(&e.to_string())
                );
                return ExitCode::FAILURE;
            }
        }
        None if has_services => eprintln!(
            "wfop: note: the services' run specs are not in the BPMN; write them with --services FLOW.services.json (beside FLOW.bpmn)"
        ),
        None => {}
    }
    if !wf.datapools.is_empty() {
        let names: Vec<String> = wf
            .datapools
            .iter()
            .map(|p| format!("`{}`", p.name))
            .collect();
        eprintln!(
            "wfop: note: the workflow's data pools ({}) are not in the BPMN; run the exported workflow with --datapool NAME=DIR",
            safe::line(&names.join(", "))
        );
    }
    print!("{}", safe::text(&xml));
    ExitCode::SUCCESS
}
