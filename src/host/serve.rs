//! The run host process (`wfop __run-host`, started by `launch`): reads the run from its stdin
//! (then closed), runs the engine, and once the run's record exists serves it on
//! `<record>/host.sock` (0600 in the 0700 record folder, peers of another uid refused). Each
//! attached client is served from the record's event log by a task of its own, at its own pace:
//! a client that stalls holds back nothing but itself (its queue is its socket's buffer and one
//! read buffer; what it has not taken yet stays in the log), and one that falls behind catches
//! up from the log. The host ends when the run has ended and no client has been attached for
//! the linger time (`WFOP_HOST_LINGER_MS`, default 10 s), removing its socket; the engine has
//! purged the secrets when the run ended.

use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};

use super::launch::{LaunchDoc, Launched};
use super::proto::{self, ClientHello, Command, HostHello, Mode, PROTOCOL, SOCKET, Status};
use crate::engine::record::EVENTS;
use crate::engine::{self, CancelToken, Event, Inputs, RunControl, RunOptions, setup};
use crate::secrets::handover;
use crate::workflow::LoadOptions;

/// How long a finished run's host waits for a client when none is attached.
const LINGER: Duration = Duration::from_secs(10);
/// How long a client has to say hello.
const HELLO_WAIT: Duration = Duration::from_secs(10);
/// The first read buffer of a client's stream (it grows for a longer line).
const CHUNK: usize = 64 * 1024;

/// What the sessions share with the engine's side.
struct Shared {
    hello: HostHello,
    record: PathBuf,
    /// Bumped after each event the engine has written to the event log.
    written: watch::Receiver<u64>,
    /// Attached clients (`status`).
    clients: AtomicUsize,
    /// Connections of any kind, from their accept: the host lingers while there is one, so a
    /// client that connected is always served (a hello on its way keeps the host).
    sessions: AtomicUsize,
    state: Mutex<String>,
    cancel: CancelToken,
    /// Node commands (stop, restart, stdin, terminal size) go to the engine through it.
    control: RunControl,
}

/// The run host's main: returns the process exit code (the run's, or 2 when it did not start).
pub fn main() -> i32 {
    if let Err(e) = crate::secrets::harden::harden_process() {
        answer(&proto::error_line(&format!(
            "the run host cannot harden itself (core dumps, ptrace): {e}"
        )));
        return 2;
    }
    let (options, workflow, inputs, secrets) = match receive() {
        Ok(r) => r,
        Err(e) => {
            answer(&proto::error_line(&e));
            return 2;
        }
    };
    let cancel = options.cancel.clone();
    let control = options.control.clone();
    let (bump, written) = watch::channel(0u64);
    let shared: Arc<Mutex<Option<Arc<Shared>>>> = Arc::default();
    let mut announced = false;
    let sink_shared = shared.clone();
    let result = engine::run(workflow, inputs, secrets, options, move |e: Event| {
        if let Event::RunStarted {
            run_id,
            workflow,
            record,
            ..
        } = &e
            && !announced
        {
            announced = true;
            let hello = HostHello {
                hello: proto::HOST_NAME.to_string(),
                protocol: PROTOCOL,
                wfop: env!("CARGO_PKG_VERSION").to_string(),
                run_id: run_id.clone(),
                workflow: workflow.clone(),
                pid: std::process::id(),
            };
            let sh = Arc::new(Shared {
                hello,
                record: record.clone(),
                written: written.clone(),
                clients: AtomicUsize::new(0),
                sessions: AtomicUsize::new(0),
                state: Mutex::new("running".to_string()),
                cancel: cancel.clone(),
                control: control.clone(),
            });
            match serve(sh.clone()) {
                Ok(()) => {
                    let ready = Launched {
                        run_id: run_id.clone(),
                        record: record.clone(),
                        pid: std::process::id(),
                    };
                    answer(&proto::line(&serde_json::json!({ "ready": ready })));
                    quiet_stdio(record);
                }
                Err(err) => {
                    // Nobody can attach: the run must not go on unseen.
                    answer(&proto::error_line(&format!(
                        "cannot open the run's socket in {}: {err}",
                        record.display()
                    )));
                    cancel.kill();
                }
            }
            *lock(&sink_shared) = Some(sh);
        }
        if let Event::RunFinished { status, .. } = &e
            && let Some(sh) = lock(&sink_shared).as_ref()
        {
            *lock(&sh.state) = status.as_str().to_string();
        }
        bump.send_modify(|n| *n += 1);
    });
    let code = match &result {
        Ok(report) => report.status.exit_code(),
        Err(e) => {
            // Before the record: the client is still waiting for the answer.
            answer(&proto::error_line(&e.to_string()));
            2
        }
    };
    let Some(sh) = lock(&shared).clone() else {
        return code;
    };
    linger(&sh);
    let _ = std::fs::remove_file(sh.record.join(SOCKET));
    code
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One line on stdout (to the client waiting in `launch`); ignored once nobody reads it.
fn answer(line: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
}

/// After the answer: stdout and stderr go to `<record>/host.log` (a panic's message lands there),
/// stdin is already at its end.
fn quiet_stdio(record: &Path) {
    if let Ok(f) = crate::engine::record::create_private(&record.join("host.log")) {
        let _ = rustix::stdio::dup2_stdout(&f);
        let _ = rustix::stdio::dup2_stderr(&f);
    }
}

type Received = (
    RunOptions,
    crate::workflow::Workflow,
    Arc<Inputs>,
    crate::secrets::SecretStore,
);

/// Reads the run from stdin: the launch line, then the secrets; loads the workflow.
fn receive() -> Result<Received, String> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut first = Vec::new();
    input
        .by_ref()
        .take(256 << 20)
        .read_until(b'\n', &mut first)
        .map_err(|e| format!("the run host cannot read its run: {e}"))?;
    let doc: LaunchDoc =
        serde_json::from_slice(&first).map_err(|e| format!("the run host's run: {e}"))?;
    let secrets = handover::read(&mut input).map_err(|e| e.to_string())?;
    let raw: IndexMap<String, Box<RawValue>> = doc
        .inputs
        .iter()
        .map(|(k, v)| (k.clone(), (*v).to_owned()))
        .collect();
    let load = LoadOptions {
        process: doc.process.clone(),
        services: doc.services.clone(),
    };
    let (workflow, _) = setup::load_workflow(&doc.workflow, &load).map_err(|e| {
        format!(
            "wfop: {} changed since it was checked: {e}",
            doc.workflow.display()
        )
    })?;
    let mut options = RunOptions::new(doc.state_dir.clone());
    if let Some(n) = doc.max_parallel {
        options.max_parallel = n.max(1);
    }
    options.keep_going = doc.keep_going;
    if let Some(ms) = doc.grace_ms {
        options.kill_grace = std::time::Duration::from_millis(ms);
    }
    options.tty = doc.tty;
    options.executor = doc.executor.clone();
    options.datapools = doc
        .datapools
        .iter()
        .map(|(name, dir)| engine::datapool::Pool {
            name: name.clone(),
            dir: dir.clone(),
        })
        .collect();
    options.load = load;
    if let Some((record, from)) = &doc.rerun {
        let plan =
            engine::reuse::plan(&workflow, record, from).map_err(|e| format!("wfop: {e}"))?;
        options.reuse = Some(Arc::new(plan));
    }
    Ok((options, workflow, Arc::new(Inputs::from_raw(raw)), secrets))
}

/// Binds the socket and serves it on a thread of its own.
fn serve(sh: Arc<Shared>) -> io::Result<()> {
    let path = sh.record.join(SOCKET);
    let _ = std::fs::remove_file(&path);
    let (addr, _dir) = proto::socket_path(&sh.record)?;
    let listener = std::os::unix::net::UnixListener::bind(&addr)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            let Ok(listener) = tokio::net::UnixListener::from_std(listener) else {
                return;
            };
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of descriptors, say: try again soon, never spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                sh.sessions.fetch_add(1, Ordering::SeqCst);
                let sh = sh.clone();
                tokio::spawn(async move {
                    let _open = Attached(&sh.sessions);
                    session(stream, sh.clone()).await;
                });
            }
        });
    });
    Ok(())
}

/// Counts a client (or a connection) while it lives.
struct Attached<'a>(&'a AtomicUsize);

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn session(stream: tokio::net::UnixStream, sh: Arc<Shared>) {
    let own = rustix::process::geteuid().as_raw();
    let peer = stream.peer_cred().map(|c| c.uid());
    let (rd, mut wr) = stream.into_split();
    match peer {
        Ok(uid) if uid == own => {}
        Ok(uid) => {
            let msg = format!("refused: this run belongs to uid {own}, not to uid {uid}");
            let _ = wr.write_all(proto::error_line(&msg).as_bytes()).await;
            return;
        }
        Err(e) => {
            let msg = format!("refused: cannot tell who is asking: {e}");
            let _ = wr.write_all(proto::error_line(&msg).as_bytes()).await;
            return;
        }
    }
    if wr
        .write_all(proto::line(&sh.hello).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let mut lines = tokio::io::BufReader::new(rd);
    let mut buf = Vec::new();
    let hello = match tokio::time::timeout(HELLO_WAIT, read_line(&mut lines, &mut buf)).await {
        Ok(Ok(true)) => serde_json::from_slice::<ClientHello>(&buf).ok(),
        _ => None,
    };
    let Some(hello) = hello.filter(|h| h.hello == proto::CLIENT_NAME) else {
        let _ = wr
            .write_all(proto::error_line("refused: not a wfop client hello").as_bytes())
            .await;
        return;
    };
    if hello.protocol != PROTOCOL {
        let msg = format!(
            "this run host (wfop {}) speaks protocol {PROTOCOL}, the client speaks protocol {}: \
             attach with the same wfop as the one that started the run",
            sh.hello.wfop, hello.protocol
        );
        let _ = wr.write_all(proto::error_line(&msg).as_bytes()).await;
        return;
    }
    let attached = (hello.mode == Mode::Attach).then(|| {
        sh.clients.fetch_add(1, Ordering::SeqCst);
        Attached(&sh.clients)
    });
    let (reply_tx, reply_rx) = mpsc::channel::<String>(8);
    let commands = async {
        let mut buf = Vec::new();
        while let Ok(true) = read_line(&mut lines, &mut buf).await {
            match serde_json::from_slice::<Command>(&buf) {
                Ok(Command::Cancel) => sh.cancel.cancel(),
                Ok(Command::Kill) => sh.cancel.kill(),
                Ok(Command::Status) => {
                    let _ = reply_tx.send(proto::status_line(&status(&sh))).await;
                }
                Ok(node_command) => {
                    if let Some(cmd) = node_command.into_node()
                        && !sh.control.send(cmd)
                    {
                        let _ = reply_tx
                            .send(proto::error_line("the run has ended: no node to steer"))
                            .await;
                    }
                }
                Err(_) => {
                    let _ = reply_tx
                        .send(proto::error_line("a command this run host does not know"))
                        .await;
                }
            }
        }
    };
    let out = async {
        match hello.mode {
            Mode::Attach => stream_events(&mut wr, &sh, reply_rx).await,
            Mode::Control => replies_only(&mut wr, reply_rx).await,
        }
    };
    tokio::select! {
        () = commands => {}
        _ = out => {}
    }
    drop(attached);
}

fn status(sh: &Shared) -> Status {
    Status {
        run_id: sh.hello.run_id.clone(),
        workflow: sh.hello.workflow.clone(),
        state: lock(&sh.state).clone(),
        clients: sh.clients.load(Ordering::SeqCst),
        pid: sh.hello.pid,
    }
}

/// Reads one line (without `\n`) of at most `MAX_COMMAND_LINE` bytes; false at the end.
async fn read_line(
    r: &mut tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>,
    buf: &mut Vec<u8>,
) -> io::Result<bool> {
    buf.clear();
    loop {
        let avail = r.fill_buf().await?;
        if avail.is_empty() {
            return Ok(false);
        }
        match memchr::memchr(b'\n', avail) {
            Some(k) => {
                buf.extend_from_slice(&avail[..k]);
                r.consume(k + 1);
                return Ok(true);
            }
            None => {
                let n = avail.len();
                buf.extend_from_slice(avail);
                r.consume(n);
                if buf.len() > proto::MAX_COMMAND_LINE {
                    return Err(io::Error::other("line too long"));
                }
            }
        }
    }
}

async fn replies_only(wr: &mut OwnedWriteHalf, mut rx: mpsc::Receiver<String>) -> io::Result<()> {
    while let Some(r) = rx.recv().await {
        wr.write_all(r.as_bytes()).await?;
    }
    Ok(())
}

/// Sends the event log from its start, whole lines only, then waits for more; replies go
/// between two chunks. Once the engine is done (its side of `written` dropped after the log's
/// last flush) and everything is sent, only replies are left.
async fn stream_events(
    wr: &mut OwnedWriteHalf,
    sh: &Shared,
    mut replies: mpsc::Receiver<String>,
) -> io::Result<()> {
    let mut written = sh.written.clone();
    let mut log: Option<File> = None;
    let mut offset: u64 = 0;
    let mut buf = vec![0u8; CHUNK];
    let mut done = false;
    loop {
        while let Ok(r) = replies.try_recv() {
            wr.write_all(r.as_bytes()).await?;
        }
        written.borrow_and_update();
        if log.is_none() {
            log = File::open(sh.record.join(EVENTS)).ok();
        }
        let n = match &log {
            Some(f) => f.read_at(&mut buf, offset)?,
            None => 0,
        };
        match memchr::memrchr(b'\n', &buf[..n]) {
            Some(k) => {
                wr.write_all(&buf[..=k]).await?;
                offset += k as u64 + 1;
                continue;
            }
            // One line longer than the buffer: read it whole.
            None if n == buf.len() => {
                buf.resize(buf.len() * 2, 0);
                continue;
            }
            None => {}
        }
        if done {
            return replies_only(wr, replies).await;
        }
        tokio::select! {
            r = written.changed() => done = r.is_err(),
            r = replies.recv() => match r {
                Some(r) => wr.write_all(r.as_bytes()).await?,
                None => return Ok(()),
            },
        }
    }
}

/// Waits until no client has been attached for the linger time.
fn linger(sh: &Shared) {
    let linger = std::env::var("WFOP_HOST_LINGER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(LINGER, Duration::from_millis);
    let mut idle_since = Instant::now();
    loop {
        if sh.sessions.load(Ordering::SeqCst) > 0 {
            idle_since = Instant::now();
        } else if idle_since.elapsed() >= linger {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
