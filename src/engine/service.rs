//! One service run = one subprocess, by the hub runtime's protocol (docs/service-protocol.md): private
//! folder, inputs, environment with only this node's secrets, redacted output, result.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::ops::Range;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustix::process::{Pid, Signal};
use secrecy::ExposeSecret;
use serde::Serializer as _;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};
use zeroize::Zeroizing;

use super::datapool;
use super::event::{Attempt, Event, Stream};
use super::executor::slurm::{self, CtlStderr, NoAllocation, StepNews};
use super::executor::step::{SlurmStep, queued};
use super::executor::{ExecutorOptions, Placement};
use super::files::{FileSink, OutputFile};
use super::lifecycle::{NodeOutcome, Stop};
use super::pty::{Consoles, Feed, Pty};
use super::reaper::group_alive;
use super::record::{NodeLog, create_private};
use super::redact::{Redactor, StreamRedactor, redact_value};
use super::sandbox;
use super::vars::VarRef;
use crate::expr::SecretBinding;
use crate::human::{self, Form};
use crate::secrets::SecretStore;
use crate::workflow::project::{self, Launch, LaunchCtx};
use crate::workflow::secret_env_name;
use crate::workflow::{Node, Run};

/// The embedded runtime shim for `run.python` services.
const SHIM: &str = include_str!("shim.py");
const SHIM_FILE: &str = "wfop_shim.py";
/// A service on a terminal: its whole JSON input (what others get on stdin), named by
/// `$WFOP_INPUT_FILE`.
const INPUT_FILE: &str = "input.json";
/// Names the descriptor a Python service reads its secrets from (never set when it has none).
pub(crate) const SECRETS_FD_VAR: &str = "WFOP_SECRETS_FD";

/// Most bytes read from a pipe at once (one `NodeLog` batch, give or take a partial line).
const READ_CHUNK: usize = 64 * 1024;
/// A read this long found a pipe of the default size full: the service writes faster than it
/// is read, and its pipe is enlarged to [`PIPE_SIZE`].
const PIPE_FULL: usize = 64 * 1024;
/// What a chatty service's pipe holds once enlarged: the service blocks and is woken less
/// often, and each read takes more at once (a quarter of Linux's unprivileged maximum, so that
/// many chatty services at once stay well inside the user's pipe quota).
const PIPE_SIZE: usize = 256 * 1024;
/// A line longer than this is passed on in pieces.
const MAX_LINE: usize = 256 * 1024;
/// Largest `output.json` / `output.txt` read.
const MAX_OUTPUT: u64 = 256 * 1024 * 1024;
/// How long output may keep coming after the service ended (from processes that left its group).
const DRAIN: Duration = Duration::from_secs(2);

/// What every service of a run shares.
pub(crate) struct RunCtx {
    pub run_id: String,
    pub base_dir: PathBuf,
    /// `<state>`: where `wfop prepare` left the projects' virtualenvs.
    pub state_dir: PathBuf,
    /// The workflow file (named in hints such as `wfop prepare FILE`).
    pub workflow: PathBuf,
    /// The run's data pools (the workflow's and `--datapool`'s), mounted for Python services.
    pub datapools: Vec<datapool::Pool>,
    pub redactor: Redactor,
    pub secrets: Arc<Mutex<SecretStore>>,
    /// wfop's environment without secret sources and without any `SECRET_*`.
    pub base_env: Vec<(OsString, OsString)>,
    pub events: mpsc::Sender<Event>,
    pub kill_grace: Duration,
    /// Each service in namespaces of its own (None: unavailable, said once at the start).
    pub sandbox: Option<Arc<sandbox::Plan>>,
    /// The run's record folder: extra output files are kept there (engine/files.rs).
    pub record_dir: PathBuf,
    /// The access tokens hub nodes fetched, shared by every hub node and attempt of the run
    /// (engine/hub/auth.rs); purged with the secrets.
    pub hub_tokens: super::hub::TokenCache,
    /// `wfop run --tty`: every local service on a pseudo-terminal.
    pub tty: bool,
    /// The running services that take the operator's input, and their terminals' size.
    pub consoles: Arc<Consoles>,
    /// Where services run (engine/executor/).
    pub executor: ExecutorOptions,
    /// The run's Slurm side, when any of its services run there.
    pub cluster: Option<Arc<slurm::Cluster>>,
}

/// How one service run ended.
pub(crate) struct Outcome {
    pub status: NodeOutcome,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub reason: Option<String>,
    /// The redacted result (`null` when the service wrote none, or failed).
    pub result: Value,
    /// A failed service's redacted `output.json` when it is an object (its problem document).
    pub problem: Option<Value>,
    /// The error code a failure raised (see [`error_code`]).
    pub error_code: Option<String>,
    pub counts: BTreeMap<String, u64>,
    /// The extra output files kept in the record (engine/files.rs), also of a failed attempt.
    pub files: Vec<OutputFile>,
    pub started: SystemTime,
    pub duration: Duration,
}

impl Outcome {
    pub(crate) fn failed(started: SystemTime, t0: Instant, reason: String) -> Outcome {
        Outcome {
            status: NodeOutcome::Failed,
            exit_code: None,
            signal: None,
            reason: Some(reason),
            result: Value::Null,
            problem: None,
            error_code: None,
            counts: BTreeMap::new(),
            files: Vec::new(),
            started,
            duration: t0.elapsed(),
        }
    }
}

pub(crate) enum Ending {
    Exited(std::process::ExitStatus),
    TimedOut(std::process::ExitStatus),
    Cancelled(std::process::ExitStatus),
    /// A failure without an exit status of the service's: why (a Slurm step that ended
    /// without its launcher's word, or went silent).
    Lost(String),
}

/// A service's input, serialized once when the node starts: the JSON object for its stdin and
/// one JSON text per top-level key for `input/<key>.json` (written as the platform writes it:
/// engine/pyjson.rs). Made from the variables by
/// reference, so starting a service never copies the workflow variables' tree.
pub(crate) struct ServiceInput {
    body: Vec<u8>,
    files: Vec<(String, Vec<u8>)>,
    /// What the input mapping gave, as the operator may see it (`Event::NodeInputs`), sent
    /// once the attempt has started; none without an input mapping.
    pub(crate) shown: Option<indexmap::IndexMap<String, String>>,
}

impl ServiceInput {
    /// From the variables the service gets, in name order (values or inputs' JSON text).
    pub(crate) fn new<'a>(input: impl Iterator<Item = (&'a str, VarRef<'a>)>) -> ServiceInput {
        let input: Vec<(&str, VarRef)> = input.collect();
        // Inputs' texts are copied at their size (a growing buffer would take up to twice it).
        let known: usize = input
            .iter()
            .map(|(k, v)| match v {
                VarRef::Raw(r) => k.len() + r.get().len() + 4,
                VarRef::Value(_) => 0,
            })
            .sum();
        let mut body = Vec::with_capacity(known + 2);
        let mut w = serde_json::Serializer::new(&mut body);
        // Serializing a `Value` or an input's text cannot fail (its keys are strings).
        let _ = w.collect_map(input.iter().map(|(k, v)| (k, v)));
        ServiceInput {
            body,
            files: input
                .iter()
                .map(|(k, v)| {
                    // Held compact (sized to the text); written out as the platform writes
                    // it, streamed into the file (`make_folder`).
                    let bytes = match v {
                        VarRef::Raw(r) => r.get().as_bytes().to_vec(),
                        VarRef::Value(v) => serde_json::to_vec(v).unwrap_or_default(),
                    };
                    (k.to_string(), bytes)
                })
                .collect(),
            shown: None,
        }
    }

    /// The stdin body.
    #[cfg(test)]
    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body alone (a hub service's request body is the same JSON object).
    pub(crate) fn into_body(self) -> Vec<u8> {
        self.body
    }
}

/// Runs one service node to its end. Never panics on anything the child does.
pub(crate) async fn run_service(
    ctx: Arc<RunCtx>,
    (node_id, attempt): (Arc<str>, Attempt),
    node: &Node,
    mut input: ServiceInput,
    log: Arc<Mutex<NodeLog>>,
    mut cancel: watch::Receiver<Stop>,
) -> Outcome {
    let started = SystemTime::now();
    let t0 = Instant::now();
    let fail = |reason: String| Outcome::failed(started, t0, ctx.redactor.redact_str(&reason));
    let Some(run) = &node.run else {
        return fail("the node has no `run`".into());
    };
    if let Run::Hub(hub) = run {
        return super::hub::run(&ctx, (&node_id, attempt), node, hub, input, log, cancel).await;
    }
    let shown = input.shown.take();
    let placement = ctx.executor.placement(node);
    let on_slurm = match (&placement, &ctx.cluster) {
        (Placement::Local, _) => None,
        (Placement::Slurm { settings, own_job }, Some(c)) => Some((c.clone(), settings, *own_job)),
        (Placement::Slurm { .. }, None) => {
            return fail("the node runs on Slurm, and the run has no Slurm side".into());
        }
    };
    let tty = on_slurm.is_none() && (node.tty || ctx.tty);
    let folder_base = on_slurm.as_ref().map(|(c, ..)| c.workdir.as_path());
    let folder = match make_folder(&input, run, tty, folder_base) {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot prepare the service folder: {e}")),
    };
    if matches!(run, Run::Python { .. } | Run::Project { .. })
        && let Err(e) = datapool::mount(folder.path(), &ctx.datapools)
    {
        return fail(format!("cannot mount the data pools: {e}"));
    }
    let launch = match run {
        Run::Project {
            dir,
            entrypoint,
            interpreter,
        } => Some(project_launch(&ctx, &node_id, dir, entrypoint, interpreter, &log).await),
        _ => None,
    };
    let pty = match tty.then(|| Pty::open(*ctx.consoles.size().borrow())) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => return fail(format!("cannot open a pseudo-terminal: {e}")),
    };
    let (cmd, delivery) = match command(
        &ctx,
        (&node_id, attempt),
        (run, launch.as_ref()),
        (folder.path(), pty.as_ref()),
        (node.bound_secrets(), on_slurm.is_some()),
    ) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let spawn_error = |e: std::io::Error| {
        let prog = match run {
            Run::Command { argv, .. } => argv.first().cloned().unwrap_or_default(),
            Run::Project { .. } => launch
                .as_ref()
                .map(|l| l.interpreter.display().to_string())
                .unwrap_or_default(),
            Run::Python { interpreter, .. } => {
                interpreter.clone().unwrap_or_else(|| "python3".into())
            }
            Run::Hub(h) => h.url.clone(),
        };
        format!("cannot start `{prog}`: {e}")
    };
    // A service on Slurm: queued until its launcher says it runs (executor/step.rs).
    let mut step = None;
    let mut cmd = match (on_slurm, cmd) {
        (None, cmd) => cmd,
        (Some((cluster, settings, own_job)), svc) => {
            send(&ctx.events, queued(&node_id, attempt, None)).await;
            let alloc = match own_job {
                true => None,
                false => match cluster
                    .allocation(wait_level(&mut cancel.clone(), Stop::Cancel))
                    .await
                {
                    Ok(job) => Some(job),
                    Err(NoAllocation::Stopped) => {
                        let mut o = fail("cancelled".into());
                        o.status = NodeOutcome::Cancelled;
                        return o;
                    }
                    Err(NoAllocation::Failed(e)) => return fail(e),
                },
            };
            let std = svc.as_std();
            let service = (
                &std.get_program().to_os_string(),
                std.get_args().map(|a| a.to_os_string()).collect(),
                std.get_current_dir().unwrap_or(folder.path()),
                std.get_envs()
                    .filter_map(|(k, v)| Some((k.to_os_string(), v?.to_os_string())))
                    .collect(),
            );
            let (srun, name) = cluster.srun(&node_id, (settings, alloc.as_deref()), service);
            drop(svc);
            let (tx, rx) = mpsc::unbounded_channel();
            step = Some(SlurmStep {
                cluster,
                name,
                own_job,
                job: alloc,
                msgs: (Some(tx), rx),
                news: StepNews::default(),
            });
            srun
        }
    };
    // Spawned and tracked as one step: another run's end in this process leaves it alone.
    let gate = super::reaper::spawn_gate();
    let spawned = cmd.spawn().map(|c| {
        let pgid = c
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .filter(|&p| p > 0)
            .and_then(Pid::from_raw);
        (super::reaper::track(pgid), c)
    });
    drop(gate);
    let (_tracked, mut child) = match spawned {
        Ok(c) => c,
        Err(e) if step.is_some() => return fail(format!("cannot start `srun`: {e}")),
        Err(e) => return fail(spawn_error(e)),
    };
    drop(cmd); // the environment copy with the secret values goes now (and the slave's copies)
    let header = match delivery {
        Delivery::None => None,
        Delivery::Pipe(p) => {
            p.deliver();
            None
        }
        Delivery::Header(h) => Some(h),
    };
    let master = match pty.map(Pty::into_master).transpose() {
        Ok(m) => m,
        Err(e) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return fail(format!("cannot use the pseudo-terminal: {e}"));
        }
    };
    // What the operator types goes to a pty's master, or to a stdin kept open (`"stdin":
    // "open"`) after the JSON input; the task and the registration end with the attempt.
    let takes_input = master.is_some() || node.stdin_open;
    let (registration, feed) = match takes_input {
        true => {
            let (r, f) = ctx.consoles.register(node_id.clone(), attempt.attempt);
            (Some(r), Some(f))
        }
        false => (None, None),
    };
    let pid = child.id();
    let pgid = pid
        .and_then(|p| i32::try_from(p).ok())
        .filter(|&p| p > 0)
        .and_then(Pid::from_raw);
    match &step {
        None => {
            send(
                &ctx.events,
                Event::NodeStarted {
                    node: node_id.clone(),
                    attempt,
                    pid,
                },
            )
            .await
        }
        Some(s) if s.job.is_some() => {
            send(&ctx.events, queued(&node_id, attempt, s.job.clone())).await
        }
        Some(_) => {}
    }
    if let Some(inputs) = shown {
        send(
            &ctx.events,
            Event::NodeInputs {
                node: node_id.clone(),
                attempt: attempt.attempt,
                inputs,
            },
        )
        .await;
    }

    let (reader, input_task) = match master {
        Some((reader, writer)) => {
            let size = ctx.consoles.size();
            let feed = feed.unwrap_or_else(|| mpsc::unbounded_channel().1);
            (
                Some(reader),
                Some(tokio::spawn(feed_pty(writer, feed, size))),
            )
        }
        None => {
            let task = child
                .stdin
                .take()
                .map(|stdin| tokio::spawn(feed_pipe(stdin, (header, input.body), feed)));
            (None, task)
        }
    };
    // The end of the service's (redacted) stderr — on a pty, of its one stream: a failure's
    // reason when it left no problem document but a Python traceback.
    let stderr_tail = Arc::new(Mutex::new(Tail::default()));
    let tty_stream = reader.is_some();
    let stderr: Option<Box<dyn Output>> = match (&mut step, child.stderr.take()) {
        (_, None) => None,
        (None, Some(p)) => Some(Box::new(p)),
        // Srun's stderr without the launcher's control lines (they go to the step's news).
        (Some(s), Some(p)) => s
            .msgs
            .0
            .take()
            .map(|tx| Box::new(CtlStderr::new(p, &s.cluster.token, tx)) as Box<dyn Output>),
    };
    let readers: Vec<_> = [
        reader.map(|r| (Stream::Stdout, Box::new(r) as Box<dyn Output>)),
        child
            .stdout
            .take()
            .map(|p| (Stream::Stdout, Box::new(p) as Box<dyn Output>)),
        stderr.map(|p| (Stream::Stderr, p)),
    ]
    .into_iter()
    .flatten()
    .map(|(stream, pipe)| {
        let (stop, stopped) = oneshot::channel();
        Pump {
            task: tokio::spawn(pump(
                pipe,
                (stream, node_id.clone(), attempt.attempt),
                ctx.redactor.stream(),
                ctx.events.clone(),
                (
                    log.clone(),
                    (stream == Stream::Stderr || tty_stream).then(|| stderr_tail.clone()),
                ),
                stopped,
            )),
            stop: Some(stop),
        }
    })
    .collect();

    let timeout = node.timeout;
    let who = Stopping {
        events: &ctx.events,
        node: &node_id,
        attempt: attempt.attempt,
        grace: ctx.kill_grace,
    };
    let ending = match &mut step {
        Some(s) => {
            s.wait(&mut child, (&node_id, attempt), timeout, &who, &mut cancel)
                .await
        }
        None => {
            let sleep = async {
                match timeout {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            let ending = tokio::select! {
                st = child.wait() => match st {
                    Ok(st) => Ending::Exited(st),
                    Err(e) => return fail(format!("cannot wait for the service: {e}")),
                },
                _ = sleep => Ending::TimedOut(terminate(&mut child, pgid, &who, &mut cancel).await),
                _ = wait_level(&mut cancel, Stop::Cancel) => Ending::Cancelled(terminate(&mut child, pgid, &who, &mut cancel).await),
            };
            // No grandchild survives its service: whatever is left in the group goes too.
            if let Some(g) = pgid {
                sweep_group(g, &who).await;
            }
            ending
        }
    };
    // Nothing typed reaches a later attempt: input ends with this one.
    drop(registration);
    if let Some(t) = input_task {
        t.abort();
    }
    // Every pump ends here, before the node does (and so before the run purges its secrets):
    // a pipe still held open after the drain by a process that left the group is closed.
    let mut counts = BTreeMap::new();
    let drained = tokio::time::Instant::now() + DRAIN;
    for mut r in readers {
        let (c, cut) = r.end(drained).await;
        merge(&mut counts, c);
        if cut {
            send(&ctx.events, Event::Warning {
                node: Some(node_id.clone()),
                message: "a process that left the service's process group still holds its output open; stopped reading it and closed the pipe".into(),
            })
            .await;
        }
    }
    // On Slurm, how the service ended is what its launcher said (now that all of its stderr
    // was read), not srun's own exit status.
    let ending = match step {
        Some(mut s) => s.settle(ending),
        None => ending,
    };
    let (status, exit, lost) = match ending {
        Ending::Exited(st) if st.success() => (NodeOutcome::Succeeded, Some(st), None),
        Ending::Exited(st) => (NodeOutcome::Failed, Some(st), None),
        Ending::TimedOut(st) => (NodeOutcome::TimedOut, Some(st), None),
        Ending::Cancelled(st) => (NodeOutcome::Cancelled, Some(st), None),
        Ending::Lost(why) => (NodeOutcome::Failed, None, Some(why)),
    };
    let (exit_code, signal) = exit.map_or((None, None), |e| (e.code(), e.signal()));
    let out_dir = folder.path().join("output");
    let txt_is_json = matches!(run, Run::Python { .. } | Run::Project { .. });
    let (mut result, output_error, non_finite) = read_result(&out_dir, txt_is_json);
    if non_finite {
        send(
            &ctx.events,
            Event::Warning {
                node: Some(node_id.clone()),
                message: NON_FINITE_WARNING.into(),
            },
        )
        .await;
    }
    let result_counts = redact_value(&ctx.redactor, &mut result);
    if !result_counts.is_empty() {
        let names: Vec<String> = result_counts.keys().map(|n| format!("`{n}`")).collect();
        send(
            &ctx.events,
            Event::Warning {
                node: Some(node_id.clone()),
                message: format!(
                    "the service returned the value of secret {} in its result; it was redacted",
                    names.join(", ")
                ),
            },
        )
        .await;
    }
    merge(&mut counts, result_counts);
    let (files, left_out) = FileSink {
        record_dir: &ctx.record_dir,
        node: &node_id,
        attempt: attempt.attempt,
        redactor: &ctx.redactor,
    }
    .keep_folder(&out_dir);
    for f in &files {
        merge(&mut counts, f.redactions.clone());
    }
    if left_out > 0 {
        send(
            &ctx.events,
            Event::Warning {
                node: Some(node_id.clone()),
                message: format!(
                    "the service left {} files in its output folder; the first {} (by name) were kept, {left_out} were not",
                    files.len() + left_out,
                    files.len()
                ),
            },
        )
        .await;
    }

    // A Python service that failed before writing a problem document (the platform's runtime
    // lets binding errors escape): the exception its traceback ends with.
    let traceback = if status == NodeOutcome::Failed {
        exception_at_end(&stderr_tail.lock().unwrap_or_else(|e| e.into_inner()).bytes)
    } else {
        None
    };
    let mut status = status;
    let reason = match status {
        NodeOutcome::Succeeded => match output_error {
            Some(e) => {
                status = NodeOutcome::Failed;
                Some(e)
            }
            None => None,
        },
        NodeOutcome::Failed => Some(match (problem(&result), lost) {
            (Some(p), _) => p,
            (None, Some(lost)) => lost,
            (None, None) => match (exit_code, signal) {
                (_, None) if traceback.is_some() => traceback.unwrap_or_default(),
                (_, Some(s)) => format!("killed by signal {s} ({})", super::signals::name(s)),
                (Some(c), _) => format!("exited with code {c}"),
                _ => "failed".into(),
            },
        }),
        NodeOutcome::TimedOut => Some(format!(
            "timed out after {}",
            human::duration(timeout.unwrap_or_default(), Form::Exact)
        )),
        NodeOutcome::Cancelled => Some("cancelled".into()),
        NodeOutcome::Skipped => None,
    };
    if let Err(e) = folder.close() {
        send(
            &ctx.events,
            Event::Warning {
                node: Some(node_id.clone()),
                message: format!("cannot remove the service's private folder: {e}"),
            },
        )
        .await;
    }
    let (result, problem) = match status {
        NodeOutcome::Succeeded => (result, None),
        NodeOutcome::Failed if result.is_object() => (Value::Null, Some(result)),
        _ => (Value::Null, None),
    };
    Outcome {
        status,
        exit_code,
        signal,
        reason: reason.map(|r| ctx.redactor.redact_str(&r)),
        error_code: problem.as_ref().and_then(error_code),
        problem,
        result,
        counts,
        files,
        started,
        duration: t0.elapsed(),
    }
}

pub(crate) async fn send(events: &mpsc::Sender<Event>, e: Event) {
    let _ = events.send(e).await;
}

fn merge(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

/// Waits until the stop level reaches `level` (never returns if the sender is gone).
pub(crate) async fn wait_level(rx: &mut watch::Receiver<Stop>, level: Stop) {
    loop {
        if *rx.borrow_and_update() >= level {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// A pty service's input: what the operator types (and `C-d` as the terminal's EOF character),
/// and every new size of the log pane (the kernel sends SIGWINCH). Ends when the attempt's
/// registration is dropped.
async fn feed_pty(
    writer: super::pty::Writer,
    mut feed: mpsc::UnboundedReceiver<Feed>,
    mut size: watch::Receiver<super::pty::Size>,
) {
    let mut size_open = true;
    loop {
        tokio::select! {
            f = feed.recv() => match f {
                Some(Feed::Data(d)) => { let _ = writer.write_all(&d).await; }
                Some(Feed::Eof) => { let _ = writer.eof().await; }
                None => return,
            },
            changed = size.changed(), if size_open => match changed {
                Ok(()) => { let s = *size.borrow_and_update(); let _ = writer.resize(s); }
                Err(_) => size_open = false,
            },
        }
    }
}

/// A piped service's stdin: its JSON input, then (when it takes input) what the operator
/// types, until `C-d` (or the attempt's end) closes it. A service that does not read its
/// stdin is fine: EPIPE is ignored.
async fn feed_pipe(
    mut stdin: tokio::process::ChildStdin,
    (header, body): (Option<Zeroizing<Vec<u8>>>, Vec<u8>),
    feed: Option<mpsc::UnboundedReceiver<Feed>>,
) {
    // A service on a cluster: its launcher's header (its secrets) first, wiped once written.
    if let Some(h) = header {
        if stdin.write_all(&h).await.is_err() {
            return;
        }
        drop(h);
    }
    let _ = stdin.write_all(&body).await;
    drop(body);
    if let Some(mut feed) = feed {
        let _ = stdin.flush().await;
        while let Some(Feed::Data(d)) = feed.recv().await {
            if stdin.write_all(&d).await.is_err() || stdin.flush().await.is_err() {
                break;
            }
        }
    }
    let _ = stdin.shutdown().await;
}

fn kill_group(pgid: Pid, sig: Signal) {
    // ESRCH: the group is gone already.
    let _ = rustix::process::kill_process_group(pgid, sig);
}

/// Who is being stopped, to tell the front end (`NodeStopping`, the SIGKILL warning).
pub(crate) struct Stopping<'a> {
    pub events: &'a mpsc::Sender<Event>,
    pub node: &'a Arc<str>,
    pub attempt: u32,
    pub grace: Duration,
}

impl Stopping<'_> {
    /// `NodeStopping`: SIGTERM went out, SIGKILL follows in `kill_in` unless the group ends.
    pub(crate) async fn told(&self, kill_in: Duration) {
        send(
            self.events,
            Event::NodeStopping {
                node: self.node.clone(),
                attempt: self.attempt,
                kill_in_ms: kill_in.as_millis() as u64,
            },
        )
        .await;
    }

    /// The grace ran out with processes still in the group: SIGKILL, and the operator is told.
    pub(crate) async fn killed(&self) {
        send(
            self.events,
            Event::Warning {
                node: Some(self.node.clone()),
                message: format!(
                    "still running {} after SIGTERM: killed (SIGKILL)",
                    human::duration(self.grace, Form::Exact)
                ),
            },
        )
        .await;
    }
}

/// SIGTERM to the group, SIGKILL after the grace period (or at once on a forced cancel).
/// The leader's end is what this waits for; the rest of the group is swept after it.
async fn terminate(
    child: &mut tokio::process::Child,
    pgid: Option<Pid>,
    who: &Stopping<'_>,
    cancel: &mut watch::Receiver<Stop>,
) -> std::process::ExitStatus {
    let mut forced = *cancel.borrow() >= Stop::Kill;
    if !forced {
        if let Some(g) = pgid {
            kill_group(g, Signal::TERM);
        }
        who.told(who.grace).await;
        tokio::select! {
            st = child.wait() => if let Ok(st) = st { return st },
            _ = tokio::time::sleep(who.grace) => who.killed().await,
            _ = wait_level(cancel, Stop::Kill) => forced = true,
        }
    }
    if forced {
        who.told(Duration::ZERO).await;
    }
    if let Some(g) = pgid {
        kill_group(g, Signal::KILL);
    }
    let _ = child.start_kill();
    match child.wait().await {
        Ok(st) => st,
        Err(_) => std::process::ExitStatus::from_raw(Signal::KILL.as_raw()),
    }
}

/// Ends whatever still lives in a finished service's process group: SIGTERM, SIGKILL after
/// the grace period. Done as soon as no member of the group still runs (zombie members do
/// not count; those that are wfop's own are reaped: `reaper::group_alive`).
async fn sweep_group(pgid: Pid, who: &Stopping<'_>) {
    if !group_alive(pgid) {
        return;
    }
    kill_group(pgid, Signal::TERM);
    let t0 = Instant::now();
    while t0.elapsed() < who.grace {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if !group_alive(pgid) {
            return;
        }
    }
    who.killed().await;
    kill_group(pgid, Signal::KILL);
    // Give the kernel a moment to make them zombies, then reap the ones that are wfop's.
    for _ in 0..50 {
        if !group_alive(pgid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One output pump of a service, owned by the service's run: `end` stops it and closes its
/// pipe; dropping it aborts the task (so no pump outlives its service, however the run ends).
struct Pump {
    task: tokio::task::JoinHandle<BTreeMap<String, u64>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Pump {
    /// Waits until `drained` for the pipe's end of file; then stops the pump (its pipe closed,
    /// what it held flushed through the redactor). Returns the redaction counts and whether
    /// it had to be stopped.
    async fn end(&mut self, drained: tokio::time::Instant) -> (BTreeMap<String, u64>, bool) {
        if let Ok(joined) = tokio::time::timeout_at(drained, &mut self.task).await {
            return (joined.unwrap_or_default(), false);
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(DRAIN, &mut self.task).await {
            Ok(joined) => (joined.unwrap_or_default(), true),
            Err(_) => {
                // Stuck handing on output: abort it and wait until it is gone.
                self.task.abort();
                let _ = (&mut self.task).await;
                (BTreeMap::new(), true)
            }
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A service's output as a pump reads it: a pipe, or a pseudo-terminal's master.
trait Output: AsyncRead + Send + Unpin {
    /// Lets the pipe hold [`PIPE_SIZE`] bytes (best effort: the user's pipe quota may refuse).
    fn enlarge(&self) {}
}

impl Output for super::pty::Reader {}

impl Output for tokio::process::ChildStdout {
    fn enlarge(&self) {
        enlarge_pipe(self);
    }
}

impl Output for tokio::process::ChildStderr {
    fn enlarge(&self) {
        enlarge_pipe(self);
    }
}

impl Output for CtlStderr {
    fn enlarge(&self) {
        enlarge_pipe(self.pipe());
    }
}

fn enlarge_pipe(pipe: &impl std::os::fd::AsFd) {
    #[cfg(target_os = "linux")]
    let _ = rustix::pipe::fcntl_setpipe_size(pipe, PIPE_SIZE);
    #[cfg(not(target_os = "linux"))]
    let _ = pipe;
}

/// Reads one pipe through its own stream redactor; passes on whole lines in batches. Ends at
/// the pipe's end of file or when `stop` fires (the pipe is closed then).
async fn pump(
    mut pipe: Box<dyn Output>,
    (stream, node, attempt): (Stream, Arc<str>, u32),
    mut redactor: StreamRedactor,
    events: mpsc::Sender<Event>,
    (log, tail): (Arc<Mutex<NodeLog>>, Option<Arc<Mutex<Tail>>>),
    mut stop: oneshot::Receiver<()>,
) -> BTreeMap<String, u64> {
    // The child's raw output (it may print a secret): wiped when the pump ends.
    let mut buf = Zeroizing::new(vec![0u8; READ_CHUNK]);
    let mut pending: Vec<u8> = Vec::with_capacity(READ_CHUNK * 2);
    // Where in `pending` the redactor wrote its `***` (so viewers need not guess).
    let mut marks: Vec<Range<usize>> = Vec::new();
    let mut log_ok = true;
    let mut warned = false;
    let mut enlarged = false;
    loop {
        let read = tokio::select! {
            r = pipe.read(&mut buf) => r,
            _ = &mut stop => break,
        };
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if n >= PIPE_FULL && !enlarged {
            enlarged = true;
            pipe.enlarge();
        }
        redactor.push_marked(&buf[..n], &mut pending, &mut marks);
        if redactor.dropped_after_purge() > 0 && !warned {
            warned = true;
            purged_warning(&node, stream, &events).await;
        }
        if let Some(batch) = take_lines(&mut pending, &mut marks, false) {
            if let Some(t) = &tail {
                t.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(&batch.data);
            }
            emit((&node, attempt), stream, batch, &events, &log, &mut log_ok).await;
        }
    }
    drop(pipe);
    redactor.finish_marked(&mut pending, &mut marks);
    if redactor.dropped_after_purge() > 0 && !warned {
        purged_warning(&node, stream, &events).await;
    }
    if let Some(batch) = take_lines(&mut pending, &mut marks, true) {
        if let Some(t) = &tail {
            t.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(&batch.data);
        }
        emit((&node, attempt), stream, batch, &events, &log, &mut log_ok).await;
    }
    redactor.counts()
}

/// Output that reached a stream after the run purged its secrets was dropped (said once per
/// stream; names no value).
async fn purged_warning(node: &Arc<str>, stream: Stream, events: &mpsc::Sender<Event>) {
    let _ = events
        .send(Event::Warning {
            node: Some(node.clone()),
            message: format!(
                "output on {} after the run purged its secrets was dropped, not shown",
                stream.as_str()
            ),
        })
        .await;
}

/// A batch of output for one `NodeLog` event: the bytes and where the redactor's markers
/// stand in them.
pub(super) struct Batch {
    pub data: Vec<u8>,
    pub redacted: Vec<Range<usize>>,
}

/// Splits off the whole lines of `pending` (all of it at the end, or when a line is too long),
/// with their markers from `marks` (sorted ranges into `pending`; the rest are moved to stay
/// ranges into what remains).
fn take_lines(pending: &mut Vec<u8>, marks: &mut Vec<Range<usize>>, at_end: bool) -> Option<Batch> {
    if pending.is_empty() {
        return None;
    }
    let cut = if at_end {
        pending.len()
    } else {
        let first = memchr::memchr(b'\n', pending).unwrap_or(pending.len());
        if first >= MAX_LINE {
            // A piece of a long line: cut before a character that is not complete yet, so
            // every piece is whole UTF-8 (when the line is) and no character is split between
            // events. (The redactor writes a marker whole, so no marker is cut either.)
            utf8_cut(pending)
        } else {
            // Whole lines (a read may be as long as a long line: its short lines stay whole).
            memrchr_newline(pending)? + 1
        }
    };
    let data = if cut < READ_CHUNK / 4 {
        // A small batch (a service that is not flooding): copied out, the buffer stays.
        let data = pending[..cut].to_vec();
        pending.drain(..cut);
        data
    } else {
        // A large one keeps the buffer (trimmed to it: queued events hold no spare room); what
        // stays (a partial line) goes to a new buffer that holds a whole read, so that the
        // next batch is not built by growing it step by step.
        let mut rest = Vec::with_capacity(READ_CHUNK + (pending.len() - cut) + 4096);
        rest.extend_from_slice(&pending[cut..]);
        pending.truncate(cut);
        let mut data = std::mem::replace(pending, rest);
        data.shrink_to_fit();
        data
    };
    let n = marks.partition_point(|m| m.end <= cut);
    let later: Vec<Range<usize>> = marks
        .drain(n..)
        .map(|m| m.start.saturating_sub(cut)..m.end.saturating_sub(cut))
        .collect();
    let redacted = std::mem::replace(marks, later);
    Some(Batch { data, redacted })
}

/// Where to cut `b` so no UTF-8 character is split: before an incomplete multi-byte sequence
/// at its end, else at its end (bytes that are not UTF-8 are cut anywhere).
fn utf8_cut(b: &[u8]) -> usize {
    let len = b.len();
    for back in 1..=len.min(3) {
        let i = len - back;
        let byte = b[i];
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for the lead byte
        }
        let need = match byte {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 1,
        };
        return if back < need { i } else { len };
    }
    len
}

fn memrchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().rposition(|&c| c == b'\n')
}

pub(super) async fn emit(
    (node, attempt): (&Arc<str>, u32),
    stream: Stream,
    batch: Batch,
    events: &mpsc::Sender<Event>,
    log: &Arc<Mutex<NodeLog>>,
    log_ok: &mut bool,
) {
    if *log_ok {
        let written = {
            let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
            l.write_lines(SystemTime::now(), stream, &batch.data)
        };
        if let Err(e) = written {
            // Said once per stream: the output goes on, the record's copy of it stops here.
            *log_ok = false;
            let _ = events
                .send(Event::Warning {
                    node: Some(node.clone()),
                    message: format!(
                        "cannot write the node's log ({e}); the record's log stops here, the output goes on"
                    ),
                })
                .await;
        }
    }
    let _ = events
        .send(Event::NodeLog {
            node: node.clone(),
            attempt,
            stream,
            data: batch.data,
            redacted: batch.redacted,
        })
        .await;
}

/// How a project node starts (`project::launch`): its interpreter and entrypoint, said in the
/// node's log; a project with requirements and no prepared virtualenv is also a warning.
async fn project_launch(
    ctx: &RunCtx,
    node_id: &Arc<str>,
    dir: &Path,
    entrypoint: &Option<String>,
    interpreter: &Option<String>,
    log: &Arc<Mutex<NodeLog>>,
) -> Launch {
    let env_entrypoint = ctx
        .base_env
        .iter()
        .find(|(k, _)| k == "ENTRYPOINT")
        .and_then(|(_, v)| v.to_str());
    let cx = LaunchCtx {
        base_dir: &ctx.base_dir,
        state_dir: Some(&ctx.state_dir),
        workflow: &ctx.workflow,
        env_entrypoint,
    };
    let launch = project::launch(&cx, dir, entrypoint.as_deref(), interpreter.as_deref());
    {
        let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
        for n in &launch.notes {
            let _ = l.note(SystemTime::now(), &ctx.redactor.redact_str(n));
        }
    }
    if let Some(w) = &launch.warning {
        send(
            &ctx.events,
            Event::Warning {
                node: Some(node_id.clone()),
                message: ctx.redactor.redact_str(w),
            },
        )
        .await;
    }
    launch
}

/// The private folder: 0700, `input/<key>.json` per top-level key, an empty `output/`, and the
/// shim for Python services.
fn make_folder(
    input: &ServiceInput,
    run: &Run,
    tty: bool,
    base: Option<&Path>,
) -> std::io::Result<tempfile::TempDir> {
    // The remote work folder for a service on a cluster; else $XDG_RUNTIME_DIR (per user,
    // memory-backed) when there is one, else the temp folder.
    let base = match base {
        Some(b) => b.to_path_buf(),
        None => std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|d| d.is_absolute() && d.is_dir())
            .unwrap_or_else(std::env::temp_dir),
    };
    // 0700 from its `mkdir` on (no moment with the umask's mode).
    let folder = tempfile::Builder::new()
        .prefix("wfop-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(base)?;
    let mut b = std::fs::DirBuilder::new();
    b.mode(0o700);
    let in_dir = folder.path().join("input");
    b.create(&in_dir)?;
    b.create(folder.path().join("output"))?;
    for (k, text) in &input.files {
        if !is_file_name(k) {
            continue;
        }
        // As the platform writes it (`json.dumps(value, indent=2)`), streamed: the indented
        // text is never held whole.
        let mut file = std::io::BufWriter::with_capacity(
            64 * 1024,
            create_private(&in_dir.join(format!("{k}.json")))?,
        );
        super::pyjson::write_reformatted(&mut file, text)?;
        std::io::Write::flush(&mut file)?;
    }
    // A service on a terminal reads its whole input from a file: the terminal is the
    // operator's (docs/service-protocol.md, "Services on a terminal").
    if tty {
        std::io::Write::write_all(
            &mut create_private(&folder.path().join(INPUT_FILE))?,
            &input.body,
        )?;
    }
    if matches!(run, Run::Python { .. } | Run::Project { .. }) {
        std::io::Write::write_all(
            &mut create_private(&folder.path().join(SHIM_FILE))?,
            SHIM.as_bytes(),
        )?;
    }
    Ok(folder)
}

/// A key that can be a file name inside `input/` (no separators, not `.`/`..`).
pub(crate) fn is_file_name(k: &str) -> bool {
    !k.is_empty() && k != "." && k != ".." && !k.contains(['/', '\0']) && k.len() <= 200
}

/// How a service's secrets reach it.
enum Delivery {
    /// It maps none.
    None,
    /// A Python service's pipe (`$WFOP_SECRETS_FD`).
    Pipe(SecretsPipe),
    /// A service on a cluster: the launcher's header, first on its stdin (executor/launcher.rs);
    /// for a Python service followed by the shim's JSON line (`$WFOP_SECRETS_FD` is `0`).
    Header(Zeroizing<Vec<u8>>),
}

/// The child's command: program, arguments, folder and environment. The one place in the
/// engine that sees secret values. `remote`: the service runs through the Slurm launcher, and
/// no secret is in the command (they come back as the launcher's header).
fn command(
    ctx: &RunCtx,
    (node_id, attempt): (&str, Attempt),
    (run, launch): (&Run, Option<&Launch>),
    (folder, pty): (&Path, Option<&Pty>),
    (params, remote): (&[SecretBinding], bool),
) -> Result<(tokio::process::Command, Delivery), String> {
    let mut cmd = match run {
        Run::Command { argv, cwd, env } => {
            let Some((prog, args)) = argv.split_first() else {
                return Err("the command is empty".into());
            };
            let mut c = tokio::process::Command::new(prog);
            c.args(args);
            c.current_dir(match cwd {
                Some(d) => ctx.base_dir.join(d),
                None => folder.to_path_buf(),
            });
            c.env_clear();
            c.envs(ctx.base_env.iter().map(|(k, v)| (k, v)));
            c.envs(env.iter().map(|(k, v)| (k, v)));
            c
        }
        Run::Python { interpreter, .. } | Run::Project { interpreter, .. } => {
            // Paths are made absolute here: the service runs in its private folder.
            let at = |p: &Path| {
                std::path::absolute(ctx.base_dir.join(p)).unwrap_or_else(|_| ctx.base_dir.join(p))
            };
            // An interpreter given as a path (`.venv/bin/python`) is the workflow folder's; a
            // bare name (`python3`) is looked up in PATH.
            // A project's launch names its interpreter (a prepared virtualenv's, or the node's).
            let mut c = match (launch, interpreter.as_deref().unwrap_or("python3")) {
                (Some(l), _) => tokio::process::Command::new(&l.interpreter),
                (None, i) if i.contains('/') => tokio::process::Command::new(at(Path::new(i))),
                (None, i) => tokio::process::Command::new(i),
            };
            c.arg(folder.join(SHIM_FILE));
            match run {
                Run::Python {
                    module, function, ..
                } => c.arg(at(module)).arg(function),
                Run::Project { dir, .. } => c
                    .arg("--project")
                    .arg(at(dir))
                    .arg(launch.map_or(project::DEFAULT_ENTRYPOINT, |l| l.entrypoint.as_str())),
                _ => unreachable!("matched above"),
            };
            c.current_dir(folder);
            c.env_clear();
            c.envs(ctx.base_env.iter().map(|(k, v)| (k, v)));
            if !ctx.base_env.iter().any(|(k, _)| k == "PYTHONUNBUFFERED") {
                c.env("PYTHONUNBUFFERED", "1");
            }
            // The platform's mount point, made by `datapool::mount` (empty without pools).
            c.env(datapool::DATAPOOL_DIRECTORY, folder.join(datapool::FOLDER));
            c
        }
        Run::Hub(_) => return Err("a hub service is called, not started (engine/hub/)".into()),
    };
    cmd.env("INPUT_DIRECTORY", folder.join("input"))
        .env("OUTPUT_DIRECTORY", folder.join("output"))
        .env("WFOP_RUN_ID", &ctx.run_id)
        .env("WFOP_NODE_ID", node_id)
        .env("WFOP_ATTEMPT", attempt.attempt.to_string())
        .env("WFOP_ITERATION", attempt.iteration.to_string())
        .env("WFOP_TRY", attempt.try_no.to_string());
    if pty.is_some() {
        cmd.env("WFOP_INPUT_FILE", folder.join(INPUT_FILE));
    }
    let mut delivery = Delivery::None;
    {
        let store = ctx.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let mut given = Vec::with_capacity(params.len());
        for p in params {
            let Some(value) = store.get(&p.secret) else {
                return Err(format!("secret `{}` has no value", p.secret));
            };
            given.push((secret_env_name(&p.param), value));
        }
        match run {
            // On a cluster: the launcher's header on stdin, never the command (srun's
            // environment and command line are the scheduler's to see).
            Run::Command { .. } if remote => {
                delivery = Delivery::Header(super::executor::launcher::header(&given)?);
            }
            Run::Python { .. } | Run::Project { .. } if remote => {
                let mut h = super::executor::launcher::header(&[])?;
                if !given.is_empty() {
                    // The shim's JSON object as one line (JSON escapes every newline).
                    let json = secrets_json(&given)
                        .map_err(|e| format!("cannot make the secrets line: {e}"))?;
                    let mut line = Zeroizing::new(Vec::with_capacity(h.len() + json.len() + 1));
                    line.extend_from_slice(&h);
                    line.extend_from_slice(&json);
                    line.push(b'\n');
                    h = line;
                    cmd.env(SECRETS_FD_VAR, "0");
                }
                delivery = Delivery::Header(h);
            }
            // The protocol: `SECRET_<NAME>` in the environment (the sandbox keeps siblings out).
            Run::Command { .. } => {
                for (name, value) in given {
                    cmd.env(name, value.expose_secret());
                }
            }
            // The shim reads them from a pipe and sets them into `os.environ`, so they are
            // never in the interpreter's exec-time environment (`/proc/<pid>/environ`).
            Run::Python { .. } | Run::Project { .. } if !given.is_empty() => {
                let pipe = SecretsPipe::new(&given)
                    .map_err(|e| format!("cannot create the secrets pipe: {e}"))?;
                cmd.env(SECRETS_FD_VAR, pipe.child_fd().to_string());
                delivery = Delivery::Pipe(pipe);
            }
            Run::Python { .. } | Run::Project { .. } | Run::Hub(_) => {}
        }
    }
    match pty {
        // The slave as stdin, stdout and stderr; the child makes a session of its own (which
        // is its process group too) with the slave as its controlling terminal (below).
        Some(p) => {
            let [i, o, e] = p
                .stdio()
                .map_err(|e| format!("cannot use the pseudo-terminal: {e}"))?;
            cmd.stdin(i).stdout(o).stderr(e);
        }
        None => {
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0);
        }
    }
    cmd.kill_on_drop(true);
    let session = pty.is_some();
    let child_fd = match &delivery {
        Delivery::Pipe(p) => Some(p.child_fd()),
        _ => None,
    };
    let sandbox = ctx.sandbox.clone();
    let max_fd = sandbox::max_fd();
    // SAFETY: the closure runs in the forked child before exec and makes system calls only
    // (rustix's are raw syscalls that neither allocate nor lock; the sandbox's are listed in
    // sandbox.rs); the data it reads was prepared by the parent. `child_fd` is the secrets
    // pipe's read end, open in the child (the parent keeps its `OwnedFd` until after spawn).
    unsafe {
        cmd.pre_exec(move || {
            #[cfg(target_os = "linux")]
            let _ = rustix::process::set_parent_process_death_signal(Some(Signal::KILL));
            // Nothing but stdin/stdout/stderr survives the exec, then the one descriptor the
            // service inherits on purpose.
            sandbox::cloexec_from_3(max_fd);
            if let Some(fd) = child_fd {
                let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
                rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
            }
            // On a pty: a new session (and process group, the child's pid, as without one),
            // whose controlling terminal is the slave on stdin. Before the sandbox, so its
            // processes are all in this session and group.
            if session {
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(std::os::fd::BorrowedFd::borrow_raw(0))?;
            }
            if let Some(plan) = &sandbox {
                sandbox::enter(plan)?;
            }
            Ok(())
        });
    }
    Ok((cmd, delivery))
}

/// The inherited pipe that carries a Python service's secrets: a JSON object of
/// `SECRET_<NAME>` → value, read once by the shim (`$WFOP_SECRETS_FD`).
struct SecretsPipe {
    read: OwnedFd,
    write: OwnedFd,
    payload: Zeroizing<Vec<u8>>,
}

/// A JSON object of `SECRET_<NAME>` → value, as the shim reads it (`$WFOP_SECRETS_FD`).
/// Wiped when dropped.
fn secrets_json(given: &[(String, &secrecy::SecretString)]) -> std::io::Result<Zeroizing<Vec<u8>>> {
    // Room for the worst JSON escaping up front: no reallocation leaves a copy behind.
    let room: usize = given
        .iter()
        .map(|(n, v)| n.len() + 6 * v.expose_secret().len() + 8)
        .sum::<usize>()
        + 2;
    let mut payload = Zeroizing::new(Vec::with_capacity(room));
    payload.push(b'{');
    for (i, (name, value)) in given.iter().enumerate() {
        if i > 0 {
            payload.push(b',');
        }
        serde_json::to_writer(&mut *payload, name).map_err(std::io::Error::other)?;
        payload.push(b':');
        serde_json::to_writer(&mut *payload, value.expose_secret())
            .map_err(std::io::Error::other)?;
    }
    payload.push(b'}');
    Ok(payload)
}

impl SecretsPipe {
    fn new(given: &[(String, &secrecy::SecretString)]) -> std::io::Result<SecretsPipe> {
        let payload = secrets_json(given)?;
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        Ok(SecretsPipe {
            read,
            write,
            payload,
        })
    }

    fn child_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// After the spawn: drops wfop's read end and writes the secrets from a blocking task, so
    /// a child that dies before reading (EPIPE) or reads slowly never blocks the engine.
    fn deliver(self) {
        let SecretsPipe {
            read,
            write,
            payload,
        } = self;
        drop(read);
        tokio::task::spawn_blocking(move || {
            let mut f = std::fs::File::from(write);
            let _ = std::io::Write::write_all(&mut f, &payload);
            drop(payload);
        });
    }
}

/// Said when a result's NaN/Infinity were read as `null` (a local or a hub service's).
pub(super) const NON_FINITE_WARNING: &str = "the service's result holds NaN or Infinity (Python's json module writes them; JSON has none): read as null";

/// The result: `output.json`, else `output.txt`, else `null`; an error text when a result
/// file is there but unusable; and whether NaN/Infinity were read as `null`. `txt_is_json`: a
/// Python service's `output.txt` holds a simple value's JSON text, as the platform's runtime
/// writes it (a text that is not JSON is taken as it is); a command's is a plain string.
fn read_result(out_dir: &Path, txt_is_json: bool) -> (Value, Option<String>, bool) {
    let read = |name: &str| -> Option<Result<Vec<u8>, String>> {
        let path = out_dir.join(name);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if !meta.is_file() {
            return Some(Err(format!("{name} is not a regular file")));
        }
        if meta.len() > MAX_OUTPUT {
            return Some(Err(format!(
                "{name} is {} bytes; at most {MAX_OUTPUT} are read",
                meta.len()
            )));
        }
        Some(std::fs::read(&path).map_err(|e| format!("cannot read {name}: {e}")))
    };
    if let Some(r) = read("output.json") {
        return match r {
            Ok(b) => match parse_result(&b) {
                Ok((v, non_finite)) => (v, None, non_finite),
                Err(e) => (
                    Value::Null,
                    Some(format!(
                        "output.json is not valid JSON (line {}, column {}): {}",
                        e.line(),
                        e.column(),
                        e
                    )),
                    false,
                ),
            },
            Err(e) => (Value::Null, Some(e), false),
        };
    }
    match read("output.txt") {
        Some(Ok(b)) => match parse_result(&b) {
            Ok((v, non_finite)) if txt_is_json => (v, None, non_finite),
            _ => (
                Value::String(String::from_utf8_lossy(&b).into_owned()),
                None,
                false,
            ),
        },
        Some(Err(e)) => (Value::Null, Some(e), false),
        None => (Value::Null, None, false),
    }
}

/// A result file's JSON; when it is JSON but for Python's `NaN`, `Infinity` and `-Infinity`
/// (which `json.dumps` writes), those read as `null` (and `true` says so).
pub(super) fn parse_result(b: &[u8]) -> Result<(Value, bool), serde_json::Error> {
    match serde_json::from_slice::<Value>(b) {
        Ok(v) => Ok((v, false)),
        Err(e) => match non_finite_as_null(b) {
            Some(fixed) => serde_json::from_slice::<Value>(&fixed)
                .map(|v| (v, true))
                .map_err(|_| e),
            None => Err(e),
        },
    }
}

/// `b` with every `NaN`, `Infinity` and `-Infinity` outside strings replaced by `null`, or
/// `None` when it has none.
fn non_finite_as_null(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    let (mut i, mut in_string, mut changed) = (0, false, false);
    while i < b.len() {
        let c = b[i];
        if in_string {
            out.push(c);
            match c {
                b'\\' if i + 1 < b.len() => {
                    out.push(b[i + 1]);
                    i += 1;
                }
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let token = [&b"-Infinity"[..], b"Infinity", b"NaN"]
            .into_iter()
            .find(|t| b[i..].starts_with(t));
        match token {
            Some(t) => {
                out.extend_from_slice(b"null");
                i += t.len();
                changed = true;
            }
            None => {
                in_string = c == b'"';
                out.push(c);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// A line of loguru's default layout (`2026-01-02 03:04:05.678 | LEVEL | …`, the platform
/// runtime's) or one of the shim's (`wfop: …`).
fn is_log_line(line: &str) -> bool {
    let b = line.as_bytes();
    let stamp = b.len() > 26
        && b[..23].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            _ => c.is_ascii_digit(),
        })
        && &b[23..26] == b" | ";
    stamp || line.starts_with("wfop: ")
}

/// The last bytes of a service's stderr, after redaction.
#[derive(Default)]
struct Tail {
    bytes: Vec<u8>,
}

impl Tail {
    /// Enough for a traceback's end (the exception and a long message).
    const KEEP: usize = 16 * 1024;

    fn push(&mut self, data: &[u8]) {
        if data.len() >= Self::KEEP {
            self.bytes.clear();
            self.bytes
                .extend_from_slice(&data[data.len() - Self::KEEP..]);
            return;
        }
        let over = (self.bytes.len() + data.len()).saturating_sub(Self::KEEP);
        self.bytes.drain(..over);
        self.bytes.extend_from_slice(data);
    }
}

/// The exception a Python traceback at the end of `stderr` ends with: `Name: message` (a
/// message of several lines joined with `; `), or `None` when stderr does not end with one.
fn exception_at_end(stderr: &[u8]) -> Option<String> {
    const MAX: usize = 1000;
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let start = lines
        .iter()
        .rposition(|l| *l == "Traceback (most recent call last):")?;
    let rest = &lines[start + 1..];
    let at = rest
        .iter()
        .position(|l| !l.starts_with([' ', '\t']) && !l.is_empty())?;
    let (head, more) = (rest[at], &rest[at + 1..]);
    let name = head.split_once(": ").map_or(head, |(n, _)| n);
    let is_name = !name.is_empty()
        && name.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        });
    if !is_name {
        return None;
    }
    let mut reason = head.trim_end().to_string();
    // The message's further lines, up to a log line written after the traceback.
    let message = more.iter().take_while(|l| !is_log_line(l));
    for line in message.map(|l| l.trim()).filter(|l| !l.is_empty()) {
        if reason.len() + line.len() > MAX {
            reason.push_str("; …");
            break;
        }
        reason.push_str("; ");
        reason.push_str(line);
    }
    Some(reason)
}

/// The error code a failed service raised with its problem document (RFC 7807): its `code`
/// (a non-empty string), else the last segment of its `type` (after `/`, `#` or `:`) unless
/// that is `about:blank`. (docs/service-protocol.md, "Raising an error".)
pub(crate) fn error_code(problem: &Value) -> Option<String> {
    if let Some(c) = problem.get("code").and_then(Value::as_str) {
        return (!c.is_empty()).then(|| c.to_string());
    }
    let t = problem.get("type")?.as_str()?;
    if t == "about:blank" {
        return None;
    }
    let last = t.rsplit(['/', '#', ':']).next()?;
    (!last.is_empty()).then(|| last.to_string())
}

/// `title: detail` of a problem document (RFC 7807) result.
fn problem(result: &Value) -> Option<String> {
    let title = result.get("title")?.as_str()?;
    Some(match result.get("detail").and_then(Value::as_str) {
        Some(d) if d != title && !d.is_empty() => format!("{title}: {d}"),
        _ => title.to_string(),
    })
}

#[cfg(test)]
// Marker ranges: a list of one range is a list, not a range.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    /// `take_lines` without markers: the bytes only.
    fn take(p: &mut Vec<u8>, at_end: bool) -> Option<Vec<u8>> {
        let mut marks = Vec::new();
        take_lines(p, &mut marks, at_end).map(|b| b.data)
    }

    #[test]
    fn batches_whole_lines() {
        let mut p = b"a\nb\nc".to_vec();
        assert_eq!(take(&mut p, false).unwrap(), b"a\nb\n");
        assert_eq!(p, b"c");
        assert!(take(&mut p, false).is_none());
        assert_eq!(take(&mut p, true).unwrap(), b"c");
        assert!(take(&mut p, true).is_none());
    }

    /// A read as long as a long line, full of short lines: whole lines, never a line cut.
    #[test]
    fn a_large_read_of_short_lines_is_cut_after_its_last_whole_line() {
        let line = b"2024-06-28T15:30:12Z INFO worker-3 processed shot batch 4711 of 9000\n";
        let mut p: Vec<u8> = line.iter().copied().cycle().take(MAX_LINE + 1000).collect();
        let whole = p.len() - p.len() % line.len();
        let mut marks = Vec::new();
        let b = take_lines(&mut p, &mut marks, false).expect("a batch");
        assert_eq!(b.data.len(), whole);
        assert_eq!(p.len() + whole, MAX_LINE + 1000);
        assert!(line.starts_with(&p), "the rest is the start of a line");
    }

    #[test]
    fn markers_go_with_their_batch_and_are_never_cut() {
        // Whole lines: the first two markers go out, the third moves with the rest.
        let mut p = b"k=***\n*** x\ny=***".to_vec();
        let mut marks = vec![2..5, 6..9, 14..17];
        let b = take_lines(&mut p, &mut marks, false).unwrap();
        assert_eq!(b.data, b"k=***\n*** x\n");
        assert_eq!(b.redacted, vec![2..5, 6..9]);
        assert_eq!(marks, vec![2..5]);
        let b = take_lines(&mut p, &mut marks, true).unwrap();
        assert_eq!((b.data.as_slice(), b.redacted), (&b"y=***"[..], vec![2..5]));
        assert!(marks.is_empty());
        // A piece of a long line, cut before an incomplete character: the markers before it
        // go out with the piece.
        let mut p = vec![b'x'; MAX_LINE];
        p[10..13].copy_from_slice(b"***");
        p.extend_from_slice("***\u{20ac}".as_bytes());
        p.truncate(p.len() - 1);
        let mut marks = vec![10..13, MAX_LINE..MAX_LINE + 3];
        let b = take_lines(&mut p, &mut marks, false).unwrap();
        assert_eq!(b.data.len(), MAX_LINE + 3);
        assert_eq!(b.redacted, vec![10..13, MAX_LINE..MAX_LINE + 3]);
        assert!(marks.is_empty());
        assert_eq!(p, &"\u{20ac}".as_bytes()[..2]);
    }

    #[test]
    fn long_lines_are_cut_between_characters() {
        assert_eq!(utf8_cut(b"abc"), 3);
        assert_eq!(utf8_cut("a€".as_bytes()), 4);
        assert_eq!(utf8_cut(&"a€".as_bytes()[..3]), 1);
        assert_eq!(utf8_cut(&"a€".as_bytes()[..2]), 1);
        assert_eq!(utf8_cut(&"a😀".as_bytes()[..4]), 1);
        assert_eq!(utf8_cut(b"a\xff\xff"), 3);
        assert_eq!(utf8_cut(b""), 0);
        // A piece of a long line ends on a character boundary; the rest waits.
        for shift in 0..4 {
            let line = format!("{}{}", "x".repeat(shift), "😀".repeat(MAX_LINE / 4 + 8));
            let mut p = line.as_bytes().to_vec();
            let piece = take(&mut p, false).unwrap();
            assert!(std::str::from_utf8(&piece).is_ok(), "shift {shift}");
            assert!(std::str::from_utf8(&p).is_ok(), "shift {shift}");
            assert_eq!([piece, p].concat(), line.as_bytes());
        }
    }

    #[test]
    fn error_codes_of_problem_documents() {
        use serde_json::json;
        let code = |v: Value| error_code(&v);
        assert_eq!(
            code(json!({"code": "SIDECAR_ERROR", "type": "x/y"})).as_deref(),
            Some("SIDECAR_ERROR")
        );
        assert_eq!(
            code(json!({"type": "https://errors.example/quantum/BACKEND_DOWN"})).as_deref(),
            Some("BACKEND_DOWN")
        );
        assert_eq!(
            code(json!({"type": "urn:wfop:TIMEOUT"})).as_deref(),
            Some("TIMEOUT")
        );
        assert_eq!(
            code(json!({"type": "about:blank", "title": "ValueError"})),
            None
        );
        assert_eq!(code(json!({"code": "", "type": "a/B"})), None);
        assert_eq!(code(json!({"code": 7})), None);
        assert_eq!(code(json!({"type": "trailing/"})), None);
        assert_eq!(code(json!({"title": "no type"})), None);
    }

    #[test]
    fn problem_documents() {
        let v = serde_json::json!({"title": "ValueError", "detail": "bad token"});
        assert_eq!(problem(&v).unwrap(), "ValueError: bad token");
        assert!(problem(&serde_json::json!({"x": 1})).is_none());
    }

    #[test]
    fn input_keys_that_cannot_be_files_are_refused() {
        assert!(is_file_name("circuit_data"));
        for k in ["", ".", "..", "a/b", "x\0"] {
            assert!(!is_file_name(k), "{k:?}");
        }
    }

    #[test]
    fn the_exception_a_traceback_ends_with() {
        let tb = b"wfop: handing over to qhub.commons\n\
            Traceback (most recent call last):\n  File \"/x/shim.py\", line 9, in <module>\n    \
            sys.exit(main())\n             ^^^^^^\n  File \"/x/p.py\", line 3, in convert\n    \
            raise ValueError(f\"Type {hint} is not supported\")\n\
            ValueError: Type dict is not supported\n";
        assert_eq!(
            exception_at_end(tb).as_deref(),
            Some("ValueError: Type dict is not supported")
        );
        // A chained exception: the last traceback's; a message of several lines joined.
        let chained =
            b"Traceback (most recent call last):\n  File \"a\", line 1\nKeyError: 'x'\n\n\
            The above exception was the direct cause of the following exception:\n\n\
            Traceback (most recent call last):\n  File \"b\", line 2\n\
            pydantic_core._pydantic_core.ValidationError: 1 validation error for Circuit\n\
            qubits\n  Input should be a valid integer [type=int_parsing]\n";
        assert_eq!(
            exception_at_end(chained).as_deref(),
            Some(
                "pydantic_core._pydantic_core.ValidationError: 1 validation error for Circuit; \
                 qubits; Input should be a valid integer [type=int_parsing]"
            )
        );
        assert_eq!(
            exception_at_end(b"Traceback (most recent call last):\n  File \"a\"\nKeyError\n")
                .as_deref(),
            Some("KeyError")
        );
        // A log line after the traceback is not part of the message.
        let logged = b"Traceback (most recent call last):\n  File \"a\"\nHandlerError: Odd\n\
            2026-12-02 04:26:51.092 | ERROR    | main:_write:85 - Failed to write output.json\n";
        assert_eq!(
            exception_at_end(logged).as_deref(),
            Some("HandlerError: Odd")
        );
        assert!(is_log_line("wfop: parameter 'x' is a str"));
        assert!(!is_log_line("2026-12-02 04:26:51 | ERROR | x"));
        // No traceback, or one that is cut short or ends in something else: none.
        assert_eq!(exception_at_end(b"exit 1\n"), None);
        assert_eq!(
            exception_at_end(b"Traceback (most recent call last):\n  File \"a\"\n"),
            None
        );
        assert_eq!(
            exception_at_end(b"Traceback (most recent call last):\n  File \"a\"\n** not a name\n"),
            None
        );
        let long = format!(
            "Traceback (most recent call last):\n  File \"a\"\nE: x\n{}",
            "more text\n".repeat(500)
        );
        let r = exception_at_end(long.as_bytes()).unwrap();
        assert!(r.starts_with("E: x; more text; ") && r.ends_with("; …") && r.len() < 1100);
    }

    #[test]
    fn the_stderr_tail_keeps_the_last_bytes() {
        let mut t = Tail::default();
        t.push(b"abc");
        t.push(&vec![b'x'; Tail::KEEP - 1]);
        assert_eq!(t.bytes.len(), Tail::KEEP);
        assert_eq!(&t.bytes[..1], b"c");
        t.push(&vec![b'y'; Tail::KEEP + 5]);
        assert_eq!(t.bytes, vec![b'y'; Tail::KEEP]);
    }

    #[test]
    fn nan_and_infinity_outside_strings_read_as_null() {
        let (v, fixed) = parse_result(
            b"{\"a\": NaN, \"b\": [Infinity, -Infinity], \"NaN\": \"x NaN \\\" Infinity\"}",
        )
        .unwrap();
        assert!(fixed);
        assert_eq!(
            v,
            serde_json::json!({"a": null, "b": [null, null], "NaN": "x NaN \" Infinity"})
        );
        assert_eq!(parse_result(b"NaN").unwrap(), (Value::Null, true));
        assert_eq!(
            parse_result(b"[1, 2]").unwrap(),
            (serde_json::json!([1, 2]), false)
        );
        assert!(parse_result(b"{\"a\": nan}").is_err());
        assert!(parse_result(b"[NaN,").is_err());
    }

    #[test]
    fn output_txt_is_json_text_for_python_services_and_plain_text_for_commands() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("output.txt");
        for (text, python, command) in [
            (
                "\"n is 1\"",
                serde_json::json!("n is 1"),
                serde_json::json!("\"n is 1\""),
            ),
            ("42", serde_json::json!(42), serde_json::json!("42")),
            (
                "plain words",
                serde_json::json!("plain words"),
                serde_json::json!("plain words"),
            ),
            ("NaN", Value::Null, serde_json::json!("NaN")),
        ] {
            std::fs::write(&txt, text).unwrap();
            assert_eq!(read_result(dir.path(), true).0, python, "{text}");
            assert_eq!(read_result(dir.path(), false).0, command, "{text}");
        }
        std::fs::write(dir.path().join("output.json"), "{\"x\": Infinity}").unwrap();
        assert_eq!(
            read_result(dir.path(), false),
            (serde_json::json!({"x": null}), None, true)
        );
    }
}
