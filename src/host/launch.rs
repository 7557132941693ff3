//! Starting a run host: the client that gathered the run (workflow path, inputs, secrets) starts
//! `wfop __run-host` in a session of its own (no controlling terminal: losing the terminal does
//! not reach it) and hands it the run over its stdin, an inherited pipe: first one JSON line (no
//! secret), then the secrets (`secrets::handover`). The host answers one line on its stdout:
//! `{"ready": …}` once the run's record and socket exist, or `{"error": …}`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::engine::Inputs;
use crate::engine::datapool::Pool;
use crate::secrets::{SecretStore, handover};
use crate::workflow::LoadOptions;

/// The hidden subcommand that is a run host.
pub const HOST_COMMAND: &str = "__run-host";

/// A run to hand to a new run host (everything but the secrets).
#[derive(Debug, Clone)]
pub struct Launch {
    pub workflow: PathBuf,
    pub load: LoadOptions,
    pub inputs: Arc<Inputs>,
    pub max_parallel: Option<usize>,
    pub keep_going: bool,
    /// Between SIGTERM and SIGKILL (default: the engine's).
    pub grace: Option<std::time::Duration>,
    pub state_dir: PathBuf,
    pub datapools: Vec<Pool>,
    /// `--tty`: every local service on a pseudo-terminal.
    pub tty: bool,
    /// `--executor` and its settings.
    pub executor: crate::engine::executor::ExecutorOptions,
    /// A rerun (`--from NODE --reuse RUN`): the reused run's record folder and the node; the
    /// host plans it again from the record (engine/reuse.rs).
    pub rerun: Option<(PathBuf, String)>,
}

/// The first line on the host's stdin.
#[derive(Serialize, Deserialize)]
pub(crate) struct LaunchDoc<'a> {
    pub workflow: PathBuf,
    pub process: Option<String>,
    pub services: Option<PathBuf>,
    #[serde(borrow)]
    pub inputs: IndexMap<String, &'a RawValue>,
    pub max_parallel: Option<usize>,
    pub keep_going: bool,
    /// `--grace` in milliseconds.
    #[serde(default)]
    pub grace_ms: Option<u64>,
    pub state_dir: PathBuf,
    pub datapools: Vec<(String, PathBuf)>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub executor: crate::engine::executor::ExecutorOptions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun: Option<(PathBuf, String)>,
}

/// A started run host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Launched {
    pub run_id: String,
    /// The run's record folder (its socket is in it).
    pub record: PathBuf,
    /// The run host's pid.
    pub pid: u32,
}

/// Starts a run host for `run` with `secrets` and waits until its run has started (its record
/// and socket exist). Errors are one line, never a value.
pub fn launch(run: &Launch, secrets: &SecretStore) -> Result<Launched, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find wfop itself: {e}"))?;
    let abs = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    let doc = LaunchDoc {
        workflow: abs(&run.workflow),
        process: run.load.process.clone(),
        services: run.load.services.as_ref().map(abs),
        inputs: run.inputs.iter().map(|(k, v)| (k.to_string(), v)).collect(),
        max_parallel: run.max_parallel,
        keep_going: run.keep_going,
        grace_ms: run.grace.map(|g| g.as_millis() as u64),
        tty: run.tty,
        executor: {
            let mut e = run.executor.clone();
            e.remote_workdir = e.remote_workdir.as_ref().map(abs);
            e
        },
        state_dir: abs(&run.state_dir),
        datapools: run
            .datapools
            .iter()
            .map(|p| (p.name.clone(), abs(&p.dir)))
            .collect(),
        rerun: run
            .rerun
            .as_ref()
            .map(|(dir, from)| (abs(dir), from.clone())),
    };
    let mut cmd = Command::new(exe);
    cmd.arg(HOST_COMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: setsid is one system call, async-signal-safe, as a pre_exec closure must be.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the run host: {e}"))?;
    let handed = {
        let Some(mut stdin) = child.stdin.take() else {
            return Err("cannot start the run host: no pipe".to_string());
        };
        let mut first = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
        first.push(b'\n');
        stdin
            .write_all(&first)
            .and_then(|()| handover::write(secrets, &mut stdin))
    };
    let mut answer = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut answer);
    }
    let answer: serde_json::Value = serde_json::from_str(answer.trim()).unwrap_or_default();
    if let Some(ready) = answer.get("ready") {
        // The host outlives us or ends first; either way it is reaped, never a zombie of ours.
        std::thread::spawn(move || child.wait());
        return Launched::deserialize(ready).map_err(|e| format!("the run host's answer: {e}"));
    }
    let status = child.wait();
    if let Some(e) = answer.get("error").and_then(serde_json::Value::as_str) {
        return Err(e.to_string());
    }
    match (handed, status) {
        (Err(e), _) => Err(format!("cannot hand the run to its host: {e}")),
        (_, Ok(s)) => Err(format!("the run host ended before the run started ({s})")),
        (_, Err(e)) => Err(format!("the run host: {e}")),
    }
}
