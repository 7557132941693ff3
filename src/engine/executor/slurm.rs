//! The Slurm executor (docs/executors.md): each service is one `srun` job step, in the run's
//! allocation (held by an `salloc` that wfop keeps as a child: it ends with wfop) or in a job
//! of its own. Driven through Slurm's commands only. What Slurm stores never holds a secret:
//! srun's command line carries the launcher, its environment the node's secret-free settings,
//! and the node's secrets go through srun's stdin (launcher.rs). Stopping a step is `scancel
//! --signal=TERM` and then `scancel` (a signal to srun would kill the service at once, and
//! killing srun would leave the job running); every job named after the run is cancelled at
//! its end.

use std::ffi::OsString;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, ReadBuf};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use super::launcher::{self, Msg, Scanner};
use super::{ExecutorOptions, Placement};
use crate::workflow::{SlurmSettings, Workflow};

/// The commands a run on Slurm needs on the submitting host.
const COMMANDS: [&str; 4] = ["srun", "salloc", "scancel", "squeue"];
/// How long `scancel`/`squeue` may take before wfop stops waiting for them.
const COMMAND_LIMIT: Duration = Duration::from_secs(30);
/// How long srun (after the last `scancel` of a stop) or salloc (after its allocation was
/// given back) may take to end before it is killed.
pub(crate) const SRUN_END: Duration = Duration::from_secs(15);

/// Checks, before a run starts, what its services on Slurm need: Slurm's commands on PATH,
/// and the remote work folder (made 0700 when missing). Returns the folder. `wf`'s services
/// on a terminal cannot run there.
pub fn check(opts: &ExecutorOptions, wf: &Workflow, state_dir: &Path) -> Result<PathBuf, String> {
    for n in &wf.nodes {
        if n.tty && matches!(opts.placement(n), Placement::Slurm { .. }) {
            return Err(format!(
                "node `{}` has \"tty\": true, and a Slurm step has no terminal of wfop's: run it with \"executor\": \"local\", or without `tty`",
                n.id
            ));
        }
    }
    for c in COMMANDS {
        if which(c).is_none() {
            return Err(format!(
                "the slurm executor needs `{c}`, and it is not in PATH (is Slurm's client installed on this host?)"
            ));
        }
    }
    let dir = opts
        .remote_workdir
        .clone()
        .unwrap_or_else(|| state_dir.join("work"));
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let shown = dir.display();
    if !dir.exists() {
        if opts.remote_workdir.is_some() {
            return Err(format!(
                "--remote-workdir {shown}: no such folder (it must be on a file system the compute nodes see)"
            ));
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot make the remote work folder {shown}: {e}"))?;
    }
    let meta = std::fs::metadata(&dir).map_err(|e| format!("--remote-workdir {shown}: {e}"))?;
    if !meta.is_dir() {
        return Err(format!("--remote-workdir {shown}: not a folder"));
    }
    let probe = tempfile::Builder::new()
        .prefix(".wfop-probe-")
        .tempfile_in(&dir)
        .map_err(|e| format!("--remote-workdir {shown}: cannot write there: {e}"))?;
    drop(probe);
    Ok(dir)
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(cmd))
            .find(|f| f.is_file())
    })
}

/// A name Slurm shows for a job or step of this run: `wfop-<run-id>[-<node>]`, with anything
/// but letters, digits, `_`, `.` and `-` made `_`.
pub(crate) fn job_name(run_id: &str, node: Option<&str>) -> String {
    let mut s = format!("wfop-{run_id}");
    if let Some(n) = node {
        s.push('-');
        s.push_str(n);
    }
    s.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '.' | '-' => c,
            _ => '_',
        })
        .collect()
}

/// The Slurm side of one run: its token, its allocation, the sweep at its end.
pub(crate) struct Cluster {
    pub opts: ExecutorOptions,
    pub run_id: String,
    pub token: String,
    /// Where the services' private folders are made.
    pub workdir: PathBuf,
    /// How many services run as steps of the allocation (its `--ntasks`), at most the run's
    /// parallelism.
    pub alloc_tasks: usize,
    alloc: tokio::sync::Mutex<Alloc>,
    uid: u32,
    /// wfop's environment without secret sources and `SECRET_*` (`RunCtx::base_env`).
    base_env: Vec<(OsString, OsString)>,
}

enum Alloc {
    NotAsked,
    /// The holding `salloc` (its stdin is wfop's pipe: its command `cat` ends, and so the
    /// allocation, when wfop does) and the job id once granted.
    Held {
        _tracked: crate::engine::reaper::Tracked,
        salloc: Box<Child>,
        /// Its stderr, read until it says the allocation was granted (later lines, said on
        /// release, are not read).
        lines: Option<tokio::io::Lines<tokio::io::BufReader<ChildStderr>>>,
        /// What it said before that (the reason, when it gives up).
        said: Vec<String>,
        job: Option<String>,
    },
    Failed(String),
    Released,
}

/// Why no allocation came.
pub(crate) enum NoAllocation {
    Stopped,
    Failed(String),
}

impl Cluster {
    pub fn new(
        base_env: Vec<(OsString, OsString)>,
        opts: ExecutorOptions,
        run_id: String,
        workdir: PathBuf,
        alloc_tasks: usize,
    ) -> std::io::Result<Cluster> {
        Ok(Cluster {
            opts,
            run_id,
            token: launcher::token()?,
            workdir,
            alloc_tasks: alloc_tasks.max(1),
            alloc: tokio::sync::Mutex::new(Alloc::NotAsked),
            uid: rustix::process::getuid().as_raw(),
            base_env,
        })
    }

    /// The run's allocation's job id: asked for by the first step that needs it, granted once
    /// for all. Waits while it is pending (`stopped` ends the wait).
    pub(crate) async fn allocation(
        &self,
        stopped: impl std::future::Future<Output = ()>,
    ) -> Result<String, NoAllocation> {
        tokio::pin!(stopped);
        let mut slot = tokio::select! {
            s = self.alloc.lock() => s,
            _ = &mut stopped => return Err(NoAllocation::Stopped),
        };
        match &mut *slot {
            Alloc::Held { job: Some(j), .. } => return Ok(j.clone()),
            Alloc::Failed(e) => return Err(NoAllocation::Failed(e.clone())),
            Alloc::Released => {
                return Err(NoAllocation::Failed(
                    "the run's allocation was released".into(),
                ));
            }
            Alloc::Held { job: None, .. } | Alloc::NotAsked => {}
        }
        if matches!(*slot, Alloc::NotAsked) {
            // Spawned and tracked as one step, as a service is: another run's end in this
            // process leaves it alone (reaper::end_orphans).
            let gate = crate::engine::reaper::spawn_gate();
            let spawned = self.salloc().map(|c| {
                let pid = c
                    .id()
                    .and_then(|p| i32::try_from(p).ok())
                    .and_then(rustix::process::Pid::from_raw);
                (crate::engine::reaper::track(pid), c)
            });
            drop(gate);
            match spawned {
                Ok((tracked, mut child)) => {
                    let lines = child
                        .stderr
                        .take()
                        .map(|e| tokio::io::BufReader::new(e).lines());
                    *slot = Alloc::Held {
                        _tracked: tracked,
                        salloc: Box::new(child),
                        lines,
                        said: Vec::new(),
                        job: None,
                    }
                }
                Err(e) => {
                    let e = format!("cannot start salloc: {e}");
                    *slot = Alloc::Failed(e.clone());
                    return Err(NoAllocation::Failed(e));
                }
            }
        }
        let Alloc::Held {
            salloc,
            lines: Some(lines),
            said,
            job,
            ..
        } = &mut *slot
        else {
            return Err(NoAllocation::Failed("salloc's messages are gone".into()));
        };
        // The lock is held meanwhile: the other steps wait for the same allocation. A stop
        // leaves the reader as it is for the next step (reading a line is cancel-safe).
        let got = loop {
            let line = tokio::select! {
                l = lines.next_line() => l,
                _ = &mut stopped => return Err(NoAllocation::Stopped),
            };
            match line {
                Ok(Some(line)) => match granted_job(&line) {
                    Some(id) => break Some(id),
                    None if said.len() < 5 => said.push(line),
                    None => {}
                },
                _ => break None,
            }
        };
        match got {
            Some(id) => {
                *job = Some(id.clone());
                Ok(id)
            }
            None => {
                let e = format!(
                    "salloc gave no allocation: {}",
                    if said.is_empty() {
                        "it ended without a word".to_string()
                    } else {
                        said.join(" / ")
                    }
                );
                let _ = salloc.start_kill();
                *slot = Alloc::Failed(e.clone());
                Err(NoAllocation::Failed(e))
            }
        }
    }

    /// `salloc --job-name=wfop-<run> --ntasks=N [settings] cat`, cat reading a pipe only wfop
    /// holds: the allocation lasts while wfop does.
    fn salloc(&self) -> std::io::Result<Child> {
        let mut c = self.command("salloc");
        c.arg(format!("--job-name={}", job_name(&self.run_id, None)))
            .arg(format!("--ntasks={}", self.alloc_tasks));
        settings_args(&mut c, &self.opts.slurm);
        // No death signal: salloc given SIGTERM while its command runs releases the
        // allocation but stays, spinning (Slurm 22.05). wfop's end closes cat's stdin instead,
        // and salloc ends as it should (also when this handle is dropped: not killed then).
        c.arg("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        c.spawn()
    }

    /// A Slurm command with wfop's environment less its secrets' sources (`RunCtx::base_env`)
    /// and less the `SLURM_*` of a job wfop may run in: no Slurm command wfop starts has a
    /// secret in its environment.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env_clear().envs(
            self.base_env
                .iter()
                .filter(|(k, _)| !inherited_slurm(k))
                .map(|(k, v)| (k, v)),
        );
        c
    }

    /// The `srun` command for one service: `program args` in `cwd` with `env` (no secret in it),
    /// through the launcher; the caller writes the secrets header and the input to its stdin.
    pub(crate) fn srun(
        &self,
        node: &str,
        (settings, alloc): (&SlurmSettings, Option<&str>),
        (program, args, cwd, env): (&OsString, Vec<OsString>, &Path, Vec<(OsString, OsString)>),
    ) -> (Command, String) {
        let name = job_name(&self.run_id, Some(node));
        // The service's environment (made from `base_env` too), not `command`'s.
        let mut c = Command::new("srun");
        c.arg(format!("--job-name={name}"))
            .arg("--ntasks=1")
            .arg("--unbuffered")
            .arg(format!("--chdir={}", cwd.display()));
        match alloc {
            Some(job) => {
                c.arg(format!("--jobid={job}")).arg("--exact");
            }
            None => settings_args(&mut c, settings),
        }
        c.arg("--")
            .arg("/bin/sh")
            .arg("-c")
            .arg(&*launcher::LAUNCHER)
            .arg(launcher::ARGV0)
            .arg(&self.token)
            .arg(self.opts.heartbeat().as_secs().to_string())
            .arg(program)
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .envs(env.into_iter().filter(|(k, _)| !inherited_slurm(k)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        // SAFETY: raw syscalls in the forked child before exec. If wfop dies, srun gets
        // SIGTERM (it then cancels its step; SIGKILL would leave the job running).
        let max_fd = crate::engine::sandbox::max_fd();
        unsafe {
            c.pre_exec(move || {
                #[cfg(target_os = "linux")]
                let _ = rustix::process::set_parent_process_death_signal(Some(
                    rustix::process::Signal::TERM,
                ));
                crate::engine::sandbox::cloexec_from_3(max_fd);
                Ok(())
            });
        }
        (c, name)
    }

    /// `scancel [--signal=SIG] TARGET` (a job, `job.step`, or by this user's job name).
    pub(crate) async fn scancel(
        &self,
        target: Target<'_>,
        signal: Option<&str>,
    ) -> Result<(), String> {
        let mut c = self.command("scancel");
        if let Some(s) = signal {
            c.arg(format!("--signal={s}"));
        }
        match target {
            Target::Id(id) => c.arg(id),
            Target::Name(n) => c
                .arg(format!("--name={n}"))
                .arg(format!("--user={}", self.uid)),
        };
        quiet(c).await.map(drop)
    }

    /// The job id of this user's job named `name`, while it is in the queue.
    pub(crate) async fn job_of(&self, name: &str) -> Option<String> {
        let mut c = self.command("squeue");
        c.args(["-h", "-o", "%i"])
            .arg(format!("--name={name}"))
            .arg(format!("--user={}", self.uid));
        let out = quiet(c).await.ok()?;
        out.lines()
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    }

    /// The end of the run: the allocation released, and every job of this user still named
    /// after the run cancelled. Returns what it had to cancel, for a warning.
    pub(crate) async fn sweep(&self) -> Result<Vec<String>, String> {
        {
            let mut slot = self.alloc.lock().await;
            if let Alloc::Held { salloc, job, .. } = &mut *slot {
                // Still pending (the run was stopped while it waited): cat never ran, so the
                // request is cancelled by its name.
                if job.is_none() {
                    let name = job_name(&self.run_id, None);
                    self.scancel(Target::Name(&name), None).await?;
                }
                // cat's stdin closes: cat ends, salloc releases the allocation and ends.
                drop(salloc.stdin.take());
                if tokio::time::timeout(SRUN_END, salloc.wait()).await.is_err() {
                    let _ = salloc.start_kill();
                    let _ = salloc.wait().await;
                }
            }
            *slot = Alloc::Released;
        }
        let mut c = self.command("squeue");
        c.args(["-h", "-o", "%i %j"])
            .arg(format!("--user={}", self.uid));
        let out = quiet(c).await?;
        let ours = job_name(&self.run_id, None);
        let left: Vec<String> = out
            .lines()
            .filter_map(|l| l.trim().split_once(' '))
            .filter(|(_, name)| *name == ours || name.starts_with(&format!("{ours}-")))
            .map(|(id, name)| format!("{id} ({name})"))
            .collect();
        for l in &left {
            let id = l.split(' ').next().unwrap_or_default();
            self.scancel(Target::Id(id), None).await?;
        }
        Ok(left)
    }
}

/// A `SLURM_*` variable of a job wfop itself may run in (`salloc`'s shell, a batch job):
/// srun would attach its step to that job. `SLURM_CONF` (which cluster) stays.
fn inherited_slurm(name: &std::ffi::OsStr) -> bool {
    let n = name.as_encoded_bytes();
    n.starts_with(b"SLURM_") && n != b"SLURM_CONF"
}

/// What `scancel` is for.
pub(crate) enum Target<'a> {
    Id(&'a str),
    Name(&'a str),
}

fn settings_args(c: &mut Command, s: &SlurmSettings) {
    for (flag, v) in [
        ("partition", &s.partition),
        ("account", &s.account),
        ("qos", &s.qos),
    ] {
        if let Some(v) = v {
            c.arg(format!("--{flag}={v}"));
        }
    }
    c.args(&s.args);
}

/// Runs a Slurm command to its end; its stdout, or its stderr's first line as the error.
async fn quiet(mut c: Command) -> Result<String, String> {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let prog = c.as_std().get_program().to_string_lossy().into_owned();
    let out = match tokio::time::timeout(COMMAND_LIMIT, c.output()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return Err(format!("cannot run {prog}: {e}")),
        Err(_) => {
            return Err(format!(
                "{prog} did not answer in {} s",
                COMMAND_LIMIT.as_secs()
            ));
        }
    };
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "{prog} failed: {}",
        err.lines().next().unwrap_or("no message")
    ))
}

/// `salloc: Granted job allocation 123` → `123`.
fn granted_job(line: &str) -> Option<String> {
    let rest = line.split("Granted job allocation ").nth(1)?;
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then_some(id)
}

/// srun's stderr with the launcher's control lines taken out (sent on `msgs`): what the pump
/// reads. Its buffer holds the service's raw output and is wiped.
pub(crate) struct CtlStderr {
    inner: ChildStderr,
    scanner: Scanner,
    msgs: mpsc::UnboundedSender<Msg>,
    raw: Zeroizing<Vec<u8>>,
    out: Zeroizing<Vec<u8>>,
    at: usize,
    done: bool,
}

impl CtlStderr {
    pub(crate) fn new(
        inner: ChildStderr,
        token: &str,
        msgs: mpsc::UnboundedSender<Msg>,
    ) -> CtlStderr {
        CtlStderr {
            inner,
            scanner: Scanner::new(token),
            msgs,
            raw: Zeroizing::new(vec![0; 64 * 1024]),
            out: Zeroizing::new(Vec::new()),
            at: 0,
            done: false,
        }
    }

    pub(crate) fn pipe(&self) -> &ChildStderr {
        &self.inner
    }
}

impl AsyncRead for CtlStderr {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let me = self.get_mut();
        loop {
            if me.at < me.out.len() {
                let n = (me.out.len() - me.at).min(buf.remaining());
                buf.put_slice(&me.out[me.at..me.at + n]);
                me.at += n;
                return Poll::Ready(Ok(()));
            }
            me.out.clear();
            me.at = 0;
            if me.done {
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut me.raw);
            match Pin::new(&mut me.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    let mut msgs = Vec::new();
                    if n == 0 {
                        me.done = true;
                        me.scanner.finish(&mut me.out);
                    } else {
                        me.scanner.feed(&me.raw[..n], &mut me.out, &mut msgs);
                    }
                    for m in msgs {
                        let _ = me.msgs.send(m);
                    }
                }
            }
        }
    }
}

/// What a step's control lines said so far.
#[derive(Default)]
pub(crate) struct StepNews {
    /// `<job>.<step>`, once the launcher ran.
    pub started: Option<String>,
    pub exit: Option<i32>,
    pub error: Option<String>,
    pub last_word: Option<Instant>,
}

impl StepNews {
    pub(crate) fn take(&mut self, m: Msg) {
        self.last_word = Some(Instant::now());
        match m {
            Msg::Started(id) => self.started = Some(id),
            Msg::Heartbeat => {}
            Msg::Exit(c) => self.exit = Some(c),
            Msg::Error(e) => self.error = Some(e),
        }
    }
}
