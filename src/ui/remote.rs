//! Runs in a run host (`host`): `wfop run --detach`, `wfop attach` in line mode, `wfop ps`,
//! `wfop stop`; and the one place a `RunRequest` becomes a `host::Launch`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::plain::{self, Mode};
use super::start::{EXIT_INVALID, RunRequest};
use crate::engine::Event;
use crate::engine::record::{self, RunDoc};
use crate::engine::setup::Prepared;
use crate::host::{self, Client, Command, Incoming, Launched};
use crate::human::{self, Form};
use crate::safe;

/// Starts a run host for a prepared request (its secrets handed over, then dropped with it).
pub fn launch(
    request: &RunRequest,
    state_dir: &Path,
    prepared: Prepared,
) -> Result<Launched, String> {
    let run = host::Launch {
        workflow: request.workflow.clone(),
        load: request.load.clone(),
        inputs: prepared.inputs.clone(),
        max_parallel: request.max_parallel,
        keep_going: request.keep_going,
        grace: request.grace,
        tty: request.tty,
        state_dir: state_dir.to_path_buf(),
        datapools: request.datapools.clone(),
        executor: request.executor.clone(),
        rerun: prepared
            .reuse
            .as_ref()
            .map(|r| (r.record.clone(), r.from.clone())),
    };
    host::launch(&run, &prepared.secrets)
}

/// `wfop run --detach`: the missing secrets are asked for first, then the run goes to a run
/// host and this prints its id and how to attach.
pub fn detach(request: RunRequest, json: bool) -> i32 {
    let (prepared, state_dir) = match plain::prepare_with_prompt(&request) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match launch(&request, &state_dir, prepared) {
        Ok(l) => {
            let mut out = io::stdout().lock();
            let _ = if json {
                writeln!(
                    out,
                    "{}",
                    safe::json(
                        &serde_json::json!({
                            "run_id": l.run_id,
                            "record": l.record,
                            "pid": l.pid,
                        })
                        .to_string()
                    )
                )
            } else {
                writeln!(
                    out,
                    "wfop: run {} started in the background (record: {})\nwfop: attach with: wfop attach {}",
                    safe::line(&l.run_id),
                    safe::path(&l.record),
                    safe::line(&l.run_id)
                )
            };
            0
        }
        Err(e) => {
            eprintln!("wfop: {}", safe::text(&e));
            EXIT_INVALID
        }
    }
}

/// Where `wfop attach RUN` (`stop RUN`) finds its run: the record folder and its `run.json`;
/// else says why not and gives the exit code, 2.
pub fn find(state_dir: &Path, run: &str) -> Result<(PathBuf, RunDoc), i32> {
    let found = record::find_run(state_dir, run)
        .and_then(|dir| record::read_doc(&dir).map(|doc| (dir, doc)));
    found.map_err(|e| {
        eprintln!("wfop: {}", safe::text(&e.to_string()));
        EXIT_INVALID
    })
}

/// Where the events of a run come from for a viewer.
pub enum Stream {
    /// Its live host (attached).
    Live(Client),
    /// Its record's event log (the run has ended, or its host is gone).
    Replay(Box<dyn Iterator<Item = Result<Incoming, String>> + Send>),
}

impl Stream {
    /// Every line of the stream: a live host's, then — when its connection ended before the
    /// run's end reached us (the host ended in between) — the rest from the record; or the
    /// record's.
    pub fn into_lines(self) -> Box<dyn Iterator<Item = Result<Incoming, String>> + Send> {
        match self {
            Stream::Replay(lines) => lines,
            Stream::Live(c) => Box::new(LiveLines {
                live: Some(c),
                buf: Vec::new(),
                seen: 0,
                rest: None,
            }),
        }
    }
}

/// Events that the screen takes in one go, at most: a batch of a flood's log stays a fraction
/// of a frame's time, so a key waiting behind a few batches is still read at once.
const BATCH_EVENTS: usize = 256;
/// Log text in one batch, at most.
const BATCH_BYTES: usize = 256 * 1024;

impl Stream {
    /// The stream in batches: each holds the next line (waiting for it) and every further line
    /// that a live host has already sent, up to `BATCH_EVENTS` / `BATCH_BYTES` (a record's
    /// lines come one a batch). A screen takes a batch with one wake-up instead of one per event.
    pub fn into_batches(self) -> Box<dyn Iterator<Item = Vec<Result<Incoming, String>>> + Send> {
        let mut live = match self {
            Stream::Replay(lines) => return Box::new(lines.map(|l| vec![l])),
            Stream::Live(c) => LiveLines {
                live: Some(c),
                buf: Vec::new(),
                seen: 0,
                rest: None,
            },
        };
        Box::new(std::iter::from_fn(move || {
            let mut batch = vec![live.next()?];
            let mut bytes = 0;
            while batch.len() < BATCH_EVENTS
                && bytes < BATCH_BYTES
                && live.live.as_ref().is_some_and(Client::line_ready)
            {
                let Some(line) = live.next() else { break };
                if let Ok(Incoming::Event {
                    event: Event::NodeLog { data, .. },
                    ..
                }) = &line
                {
                    bytes += data.len();
                }
                batch.push(line);
            }
            Some(batch)
        }))
    }
}

/// A live host's lines, then the rest of the record's (`Stream::into_lines`).
struct LiveLines {
    live: Option<Client>,
    buf: Vec<u8>,
    /// Events read from the host (the record's first ones to skip).
    seen: usize,
    rest: Option<Box<dyn Iterator<Item = Result<Incoming, String>> + Send>>,
}

impl Iterator for LiveLines {
    type Item = Result<Incoming, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(c) = self.live.as_mut() {
            match c.next(&mut self.buf) {
                Some(line) => {
                    self.seen += usize::from(matches!(line, Ok(Incoming::Event { .. })));
                    return Some(line);
                }
                None => {
                    let c = self.live.take()?;
                    self.rest = host::client::rest_from_log(&c.dir, self.seen)
                        .map(|r| Box::new(r) as Box<dyn Iterator<Item = _> + Send>);
                }
            }
        }
        self.rest.as_mut()?.next()
    }
}

/// Opens a run's events: its host while it has one (live, or lingering after the run's end: it
/// serves the whole log); else the event log, followed while its wfop is there (a run without
/// a host, in line mode or `--stop-on-hangup`, or one writing its last events).
pub fn open(dir: &Path, doc: &RunDoc) -> Result<Stream, String> {
    if host::client::socket_of(dir).exists() {
        match Client::connect(dir, host::Mode::Attach) {
            Ok(c) => return Ok(Stream::Live(c)),
            // Its host has gone (ended, or killed): the log has what there is.
            Err(_) if !doc.is_live() || !record::read_doc(dir).is_ok_and(|d| d.is_live()) => {}
            Err(e) => return Err(e),
        }
    }
    host::client::tail(dir).map(|r| Stream::Replay(Box::new(r)))
}

/// `wfop attach RUN --plain|--json`: the run's events from its start, then live, to stdout;
/// returns the run's exit code once it has ended (1 when its host went away first).
pub fn attach_lines(state_dir: &Path, run: &str, mode: Mode) -> i32 {
    let (dir, doc) = match find(state_dir, run) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let stream = match open(&dir, &doc) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wfop: run {}: {}", safe::line(&doc.run_id), safe::text(&e));
            return EXIT_INVALID;
        }
    };
    let mut v = LineViewer {
        out: io::BufWriter::new(io::stdout().lock()),
        mode,
        status: None,
    };
    for parsed in stream.into_lines() {
        // Each event is shown at once (a log read is one event: a flood flushes per read).
        if !matches!(v.show(parsed), Ok(true)) || v.out.flush().is_err() {
            break;
        }
    }
    let LineViewer {
        mut out, status, ..
    } = v;
    let _ = out.flush();
    match status {
        Some(s) => s.exit_code(),
        None => {
            eprintln!(
                "wfop: run {} has no end in its record: its run host went away ({})",
                safe::line(&doc.run_id),
                safe::line(record::read_doc(&dir).map_or(record::ABANDONED, |d| d.shown_status()))
            );
            1
        }
    }
}

/// Prints a run's stream as `--plain` or `--json` lines.
struct LineViewer<W: Write> {
    out: W,
    mode: Mode,
    /// How the run ended, once its `run_finished` came.
    status: Option<crate::engine::RunStatus>,
}

impl<W: Write> LineViewer<W> {
    /// Shows one line of the stream; false when the stream is over for this viewer (the run's
    /// end, a refusal, a closed output).
    fn show(&mut self, parsed: Result<Incoming, String>) -> io::Result<bool> {
        match parsed {
            Ok(Incoming::Event { event, t }) => {
                if let Event::RunFinished { status, .. } = &event {
                    self.status = Some(*status);
                }
                match self.mode {
                    // As `--json` writes it (a log batch line by line), with `t`.
                    Mode::Json => crate::engine::write_json(&mut self.out, &event, t)?,
                    Mode::Plain => plain::write_event(&mut self.out, &event)?,
                }
                if self.status.is_some() {
                    self.out.flush()?;
                    return Ok(false);
                }
            }
            Ok(Incoming::Error(e)) => {
                self.out.flush()?;
                eprintln!("wfop: the run host: {}", safe::text(&e));
                return Ok(false);
            }
            Ok(Incoming::Status(_)) => {}
            Err(e) => eprintln!("wfop: a line of the event stream: {}", safe::text(&e)),
        }
        Ok(true)
    }
}

/// `wfop ps`: the live runs of the state folder.
pub fn ps(state_dir: &Path, json: bool, out: &mut impl Write) -> io::Result<()> {
    let runs = host::live_runs(state_dir);
    if json {
        for r in &runs {
            let v = serde_json::json!({
                "run_id": r.doc.run_id,
                "workflow": r.doc.workflow,
                "started": r.doc.started,
                "state": r.status.as_ref().map_or("running", |s| s.state.as_str()),
                "clients": r.status.as_ref().map(|s| s.clients),
                "pid": r.doc.pid,
                "host": r.status.is_some(),
                "record": r.dir,
            });
            writeln!(out, "{}", safe::json(&v.to_string()))?;
        }
        return Ok(());
    }
    if runs.is_empty() {
        return writeln!(
            out,
            "no live runs in {}",
            safe::path(&state_dir.join("runs"))
        );
    }
    let w = runs
        .iter()
        .map(|r| safe::line(&r.doc.run_id).chars().count())
        .max()
        .unwrap_or(6);
    writeln!(
        out,
        "{:w$}  {:9} {:>7} {:>9}  {:24}  workflow",
        "run", "state", "clients", "pid", "started"
    )?;
    for r in &runs {
        let clients = r
            .status
            .as_ref()
            .map_or("-".to_string(), |s| s.clients.to_string());
        writeln!(
            out,
            "{:w$}  {:9} {clients:>7} {:>9}  {:24}  {}",
            safe::line(&r.doc.run_id),
            safe::line(r.status.as_ref().map_or("running", |s| s.state.as_str())),
            r.doc.pid,
            safe::line(&r.doc.started),
            safe::line(&r.doc.workflow)
        )?;
    }
    Ok(())
}

/// How often `wfop stop` asks whether the run has ended.
const STOP_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// `wfop stop RUN [--kill]`: cancels a live run through its host and waits for its end.
pub fn stop(state_dir: &Path, run: &str, kill: bool) -> i32 {
    let (dir, doc) = match find(state_dir, run) {
        Ok(found) => found,
        Err(code) => return code,
    };
    if !doc.is_live() {
        eprintln!(
            "wfop: run {} is not running ({})",
            safe::line(&doc.run_id),
            safe::line(doc.shown_status())
        );
        return EXIT_INVALID;
    }
    // A control client: it is not counted as attached and is sent no events.
    let mut c = match Client::connect(&dir, host::Mode::Control) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "wfop: run {} has no run host to stop it ({}); stop its wfop with: kill {}",
                safe::line(&doc.run_id),
                safe::text(&e),
                safe::line(&doc.pid.to_string())
            );
            return EXIT_INVALID;
        }
    };
    let command = if kill { Command::Kill } else { Command::Cancel };
    if let Err(e) = c.send(command) {
        eprintln!(
            "wfop: cannot ask the run host: {}",
            safe::text(&e.to_string())
        );
        return 1;
    }
    // Until the run has ended (the host answers `status` with how it ended).
    loop {
        match c.status() {
            Ok(s) if s.state == "running" => std::thread::sleep(STOP_POLL),
            Ok(s) => {
                let took = record::read_doc(&dir)
                    .ok()
                    .and_then(|d| d.duration_ms)
                    .map_or(String::new(), |ms| {
                        format!(" after {}", human::millis(ms, Form::Summary))
                    });
                println!(
                    "wfop: run {} {}{}",
                    safe::line(&doc.run_id),
                    safe::line(&s.state),
                    safe::line(&took)
                );
                return 0;
            }
            Err(e) => {
                eprintln!(
                    "wfop: run {}: its run host went away before the run's end ({})",
                    safe::line(&doc.run_id),
                    safe::text(&e)
                );
                return 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// What a live host has already sent comes as one batch, in order; the stream's end is the
    /// run's end.
    #[test]
    fn a_live_host_s_lines_come_in_batches_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (addr, _keep) = host::proto::socket_path(dir.path()).unwrap();
        let listener = UnixListener::bind(addr).unwrap();
        let mut sent = String::from(
            "{\"hello\":\"wfop-run-host\",\"protocol\":1,\"wfop\":\"0.1.0\",\"run_id\":\"r\",\"workflow\":\"w\",\"pid\":1}\n",
        );
        for i in 0..5 {
            sent.push_str(&format!(
                "{{\"event\":\"node_log\",\"node\":\"a\",\"attempt\":1,\"stream\":\"stdout\",\"lines\":\"line {i}\\n\",\"t\":{i}}}\n"
            ));
        }
        let host = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(sent.as_bytes()).unwrap();
            // The client's hello, then the end of the stream.
            let mut hello = [0u8; 256];
            let _ = std::io::Read::read(&mut s, &mut hello);
        });
        let client = Client::connect(dir.path(), host::Mode::Attach).unwrap();
        let batches: Vec<Vec<String>> = Stream::Live(client)
            .into_batches()
            .map(|b| {
                b.into_iter()
                    .map(|l| match l {
                        Ok(Incoming::Event {
                            event: Event::NodeLog { data, .. },
                            ..
                        }) => String::from_utf8(data).unwrap(),
                        other => format!("{other:?}"),
                    })
                    .collect()
            })
            .collect();
        host.join().unwrap();
        let lines: Vec<String> = batches.concat();
        assert_eq!(
            lines,
            (0..5).map(|i| format!("line {i}\n")).collect::<Vec<_>>()
        );
        assert!(
            batches.len() < 5,
            "read in one go, taken in one go: {batches:?}"
        );
    }
}
