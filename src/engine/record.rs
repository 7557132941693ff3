//! Run records on disk: `<state>/runs/<run-id>/run.json` and `<node-id>.log`, written as the
//! run goes (files 0600, folders 0700); listing runs and reading logs, also while a run is going.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rustix::process::Pid;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::clock;
use super::event::Stream;
use super::files::OutputFile;
use super::lifecycle::{NodeState, RunState};
use super::redact::ShownVars;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot write the run record in {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("no state folder: set XDG_STATE_HOME or HOME, or pass --state-dir")]
    NoStateDir,
    #[error("no run `{0}` (see `wfop runs`)")]
    NoRun(String),
    #[error("run `{run}` has no node `{node}`; its nodes: {nodes}")]
    NoNode {
        run: String,
        node: String,
        nodes: String,
    },
    #[error("node `{node}` has no attempt {attempt}; it made {made}")]
    NoAttempt {
        node: String,
        attempt: u32,
        made: u32,
    },
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `$XDG_STATE_HOME/wfop`, else `~/.local/state/wfop`.
pub fn default_state_dir() -> Result<PathBuf, RecordError> {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("wfop"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".local/state/wfop")),
        None => Err(RecordError::NoStateDir),
    }
}

fn make_dir(path: &Path) -> Result<(), RecordError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_err(path))
}

/// A private file (0600), created or truncated.
pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// `run.json`: what a run was and how it went. Every text and value in it is redacted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunDoc {
    pub run_id: String,
    pub workflow: String,
    pub workflow_path: PathBuf,
    /// `--process ID` the workflow was read with (a BPMN file with several processes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// `--services FILE` the workflow was read with (a BPMN file's binding file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<PathBuf>,
    pub pid: u32,
    /// When the wfop process started (clock ticks since boot, `/proc/<pid>/stat` field 22):
    /// with `pid`, tells the live wfop from a process that later got the same pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start: Option<u64>,
    /// `running`, `succeeded`, `failed`, `interrupted` or `cancelled`; `abandoned` when its
    /// wfop was gone before it finished the record (`settle`).
    pub status: RunState,
    pub exit_code: Option<i32>,
    /// The signal that interrupted the run (`status` = `interrupted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub started: String,
    pub finished: Option<String>,
    pub duration_ms: Option<u64>,
    /// The workflow inputs, without `$secrets` (shared with the events and the report).
    pub inputs: ShownVars,
    pub nodes: Vec<NodeDoc>,
    /// Why the run failed when no step's entry says it: an exclusive gateway's decision, a
    /// loop guard on a gateway, a start node's output mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The workflow variables at the end of the run (shared with the report).
    pub variables: Option<ShownVars>,
    /// The workflow's edges and error paths as `[from, to]` node ids: what a later
    /// `--reuse` of this run compares its workflow with (engine/reuse.rs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<(String, String)>,
    /// A rerun (`--from NODE --reuse RUN`): the run it reused and what it took from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused: Option<ReusedDoc>,
}

/// What a rerun took from the run it reused (`RunDoc::reused`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReusedDoc {
    /// The reused run's id and record folder.
    pub run_id: String,
    pub record: PathBuf,
    /// The node the rerun started from.
    pub from: String,
    /// The steps whose outputs were reused (they did not run), in file order.
    pub nodes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeDoc {
    pub id: String,
    pub label: String,
    /// `pending`, `running`, `succeeded`, `failed`, `timed_out`, `cancelled` or `skipped`.
    pub status: NodeState,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub duration_ms: Option<u64>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub reason: Option<String>,
    pub result: Option<Value>,
    #[serde(default)]
    pub redactions: BTreeMap<String, u64>,
    /// The error code the last attempt's failure raised (caught by an error path or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The last attempt's problem document (RFC 7807, redacted) when it failed with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Value>,
    /// Tokens the node consumed (loop iterations).
    #[serde(default)]
    pub iterations: u32,
    /// Every attempt, oldest first (the fields above are the last one's). Its log is the
    /// section of `<node-id>.log` after the line `wfop attempt N`.
    #[serde(default)]
    pub attempts: Vec<AttemptDoc>,
    /// The last attempt's extra output files, kept (redacted) in the record (engine/files.rs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<OutputFile>,
    /// The run whose outputs of this step were reused instead of running it (a rerun with
    /// `--from NODE --reuse RUN`); its status is then that run's `succeeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
}

/// One attempt of a step in `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptDoc {
    pub attempt: u32,
    pub iteration: u32,
    #[serde(rename = "try")]
    pub try_no: u32,
    pub status: NodeState,
    pub started: Option<String>,
    pub finished: Option<String>,
    pub duration_ms: Option<u64>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// This attempt's extra output files (engine/files.rs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<OutputFile>,
}

/// How `wfop runs` shows a run whose record says `running` but whose wfop process is gone
/// (killed by SIGKILL, a crash, a power cut): it ended abnormally, the record is unfinished.
pub const ABANDONED: &str = "abandoned";

impl RunDoc {
    /// The status, with `running` shown as `abandoned` when the run's wfop process is gone (a
    /// record `settle` has not finished yet).
    pub fn shown_status(&self) -> &'static str {
        if self.status == RunState::Running && !self.wfop_alive() {
            ABANDONED
        } else {
            self.status.as_str()
        }
    }

    /// Why the run ended as it did, in a few words (redacted, as the record is): the signal
    /// that interrupted it, the node whose failure failed it (the first to end) and why, that
    /// it was cancelled, why it was abandoned; `None` for a success and a live run. A rerun
    /// says which run it reused.
    pub fn why(&self) -> Option<String> {
        let because = match self.status {
            RunState::Running if self.is_live() => return None,
            RunState::Succeeded => None,
            RunState::Interrupted => Some(match self.signal {
                Some(s) => format!("stopped by {} (signal {s})", super::signals::name(s)),
                None => "stopped by a signal".to_string(),
            }),
            RunState::Cancelled => Some("cancelled by its operator".to_string()),
            RunState::Failed => Some(self.failure()),
            RunState::Running | RunState::Abandoned => {
                Some(self.error.clone().unwrap_or_else(|| {
                    format!(
                        "its wfop (pid {}) ended without finishing the record",
                        self.pid
                    )
                }))
            }
        };
        let rerun = self.reused.as_ref().map(|r| {
            format!(
                "rerun from {}, reusing run {} ({} node{})",
                r.from,
                r.run_id,
                r.nodes.len(),
                if r.nodes.len() == 1 { "" } else { "s" }
            )
        });
        match (because, rerun) {
            (Some(b), Some(r)) => Some(format!("{b}; {r}")),
            (b, r) => b.or(r),
        }
    }

    /// The failure that failed the run: the first failed step to end, with its reason, else
    /// the run's own error (a gateway's, a start mapping's).
    fn failure(&self) -> String {
        let failed = self
            .nodes
            .iter()
            .filter(|n| {
                matches!(
                    n.status,
                    NodeState::Done(super::NodeOutcome::Failed | super::NodeOutcome::TimedOut)
                )
            })
            .min_by(|a, b| a.finished.cmp(&b.finished));
        match (failed, &self.error) {
            (Some(n), _) => {
                let how = match n.status {
                    NodeState::Done(super::NodeOutcome::TimedOut) => "timed out",
                    _ => "failed",
                };
                match &n.reason {
                    Some(r) => format!("{} {how}: {r}", n.id),
                    None => format!("{} {how}", n.id),
                }
            }
            (None, Some(e)) => e.clone(),
            (None, None) => "failed".to_string(),
        }
    }

    /// The record says `running` and the wfop process that writes it is still there.
    pub fn is_live(&self) -> bool {
        self.status == RunState::Running && self.wfop_alive()
    }

    /// The process `pid` exists, is not a zombie, and (when the record has it) started when
    /// the run's wfop did: a pid reused by another process does not count. (It may still be
    /// writing the record's last lines after `run.json` says how the run ended.)
    pub fn wfop_alive(&self) -> bool {
        let Some(pid) = i32::try_from(self.pid)
            .ok()
            .filter(|&p| p > 0)
            .and_then(Pid::from_raw)
        else {
            return false;
        };
        match proc_stat(pid) {
            Some(stat) => {
                !matches!(stat.state, 'Z' | 'X' | 'x')
                    && self.pid_start.is_none_or(|t| t == stat.start)
            }
            // No /proc entry: gone (or no /proc at all: ask the kernel).
            None if Path::new("/proc/self/stat").exists() => false,
            None => {
                // Signal 0 only checks for existence (EPERM: there, but another user's).
                matches!(
                    rustix::process::test_kill_process(pid),
                    Ok(()) | Err(rustix::io::Errno::PERM)
                )
            }
        }
    }
}

/// A process's state letter and start time, from `/proc/<pid>/stat`.
pub(crate) struct ProcStat {
    pub state: char,
    pub start: u64,
}

/// Reads `/proc/<pid>/stat` (the command name in parentheses may hold spaces and `)`: the
/// fields after the last `)` are state (3rd field) … start time (22nd)).
pub(crate) fn proc_stat(pid: Pid) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// This process's start time (see `RunDoc::pid_start`).
pub(crate) fn own_start() -> Option<u64> {
    proc_stat(rustix::process::getpid()).map(|s| s.start)
}

/// The record of the run in progress.
pub(crate) struct Record {
    dir: PathBuf,
    pub doc: RunDoc,
    /// Changes to `doc` not yet in `run.json` ([`Record::changed`]).
    dirty: bool,
    /// When `run.json` may be rewritten next for a change that can wait.
    next_save: Instant,
}

/// The shortest time between two rewrites of a running run's `run.json` for changes that can
/// wait (a node started or succeeded); longer when one rewrite takes long (a big record: at
/// most a tenth of the time goes to rewriting it).
pub(crate) const SAVE_EVERY: Duration = Duration::from_millis(100);

impl Record {
    /// Creates `<state>/runs/<run-id>/` (0700) and writes the first `run.json`.
    pub fn create(state_dir: &Path, doc: RunDoc) -> Result<Record, RecordError> {
        let runs = state_dir.join("runs");
        make_dir(&runs)?;
        let dir = runs.join(&doc.run_id);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(io_err(&dir))?;
        let mut r = Record::at(dir, doc);
        r.save()?;
        Ok(r)
    }

    fn at(dir: PathBuf, doc: RunDoc) -> Record {
        Record {
            dir,
            doc,
            dirty: false,
            next_save: Instant::now(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn node_mut(&mut self, id: &str) -> Option<&mut NodeDoc> {
        self.doc.nodes.iter_mut().find(|n| n.id == id)
    }

    /// `doc` changed in a way that can wait: `run.json` is rewritten now when the last
    /// rewrite is [`SAVE_EVERY`] old, else by [`Record::flush`] once [`Record::due`] has come
    /// (the scheduler's loop waits for it), and in any case by the run's last [`Record::save`].
    /// A run killed outright in between has a `run.json` up to that much behind its events,
    /// shown `abandoned` all the same (its wfop is gone: `RunDoc::wfop_alive`).
    pub fn changed(&mut self) -> Result<(), RecordError> {
        self.dirty = true;
        if Instant::now() >= self.next_save {
            self.save()
        } else {
            Ok(())
        }
    }

    /// When a change that waits is to be written (`None`: `run.json` is up to date).
    pub fn due(&self) -> Option<Instant> {
        self.dirty.then_some(self.next_save)
    }

    /// Writes what waits, if anything.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        if self.dirty { self.save() } else { Ok(()) }
    }

    /// Rewrites `run.json` now, atomically (a reader never sees half a file).
    pub fn save(&mut self) -> Result<(), RecordError> {
        let t0 = Instant::now();
        let r = self.write();
        self.dirty = false;
        let took = t0.elapsed();
        self.next_save = Instant::now() + SAVE_EVERY.max(took * 9);
        r
    }

    fn write(&self) -> Result<(), RecordError> {
        let tmp = self.dir.join(".run.json.tmp");
        let path = self.dir.join("run.json");
        let f = create_private(&tmp).map_err(io_err(&tmp))?;
        // Written as it is serialized: the inputs can be megabytes, never held twice.
        let mut w = BufWriter::with_capacity(64 * 1024, f);
        serde_json::to_writer(&mut w, &self.doc)
            .map_err(io::Error::other)
            .and_then(|()| w.flush())
            .map_err(io_err(&tmp))?;
        drop(w);
        fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// Opens `<node-id>.log` for writing (0600).
    pub fn node_log(&self, node: &str) -> Result<NodeLog, RecordError> {
        let path = self.dir.join(log_file_name(node));
        let file = create_private(&path).map_err(io_err(&path))?;
        Ok(NodeLog {
            out: BufWriter::with_capacity(8 * 1024, file),
            batch: Vec::new(),
        })
    }
}

/// The file name of a node's log in its run folder: `<id>.log` for an id that is a safe, short
/// file name (every id `wfop check` accepts), else a name derived from it that always is
/// (`node-<first 64 safe characters>-<hash of the id>.log`), so no id can break the record.
pub fn log_file_name(node: &str) -> String {
    const KEEP: usize = 128;
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    if !node.is_empty() && node.len() <= KEEP && node.chars().all(safe) && !node.starts_with('.') {
        return format!("{node}.log");
    }
    // FNV-1a, 64 bits: stable across builds (the name must be found again by `wfop logs`).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let head: String = node.chars().filter(|&c| safe(c)).take(64).collect();
    format!("node-{head}-{h:016x}.log")
}

/// A node's log file: redacted lines, each as `<rfc3339> <stdout|stderr> <line>`.
pub(crate) struct NodeLog {
    out: BufWriter<File>,
    /// A batch as written (kept: one allocation for the node's whole output).
    batch: Vec<u8>,
}

impl NodeLog {
    /// Writes a batch of whole lines (as in `Event::NodeLog`) stamped with `at`, in one write;
    /// flushed, so a `wfop logs --follow` elsewhere sees it at once.
    pub fn write_lines(&mut self, at: SystemTime, stream: Stream, data: &[u8]) -> io::Result<()> {
        let mut prefix = [0u8; 40];
        let n = {
            let mut w = &mut prefix[..];
            write!(w, "{} {} ", clock::rfc3339(at), stream.as_str())?;
            40 - w.len()
        };
        prefixed_lines(&mut self.batch, &prefix[..n], data);
        self.out.flush()?;
        let r = self.out.get_mut().write_all(&self.batch);
        self.batch.clear();
        r
    }

    /// A line written by wfop itself about the node (e.g. why it failed).
    pub fn note(&mut self, at: SystemTime, text: &str) -> io::Result<()> {
        writeln!(self.out, "{} wfop {text}", clock::rfc3339(at))?;
        self.out.flush()
    }
}

/// Appends each line of `data` ([`lines`]) to `out` after `prefix`, each ending in `\n`.
pub fn prefixed_lines(out: &mut Vec<u8>, prefix: &[u8], data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    // A guess (lines of 64 bytes); callers keep `out` from batch to batch, so it rarely grows.
    out.reserve(body.len() + (body.len() / 64 + 1) * (prefix.len() + 1));
    let mut at = 0;
    for end in memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len())) {
        out.extend_from_slice(prefix);
        out.extend_from_slice(&body[at..end]);
        out.push(b'\n');
        at = end + 1;
    }
}

/// The file in a run's record folder holding every event of the run, as `--json` writes them
/// with `"t"` (ms since the run started), a read of a service's output as one `node_log` with
/// `lines` (`event::write_logged`): what `wfop attach` replays and the run host serves.
pub const EVENTS: &str = "events.jsonl";

/// The most an event log keeps of its line buffer between log batches (a 64 KiB read, escaped,
/// fits).
const KEEP_LINE: usize = 1 << 20;

/// The run's event log (`EVENTS`), written by the engine's event thread for every run.
pub(crate) struct EventLog {
    out: BufWriter<File>,
    /// One event as written (kept: log batches are written into it, not allocated each).
    line: Vec<u8>,
}

impl EventLog {
    pub fn create(run_dir: &Path) -> io::Result<EventLog> {
        let file = create_private(&run_dir.join(EVENTS))?;
        Ok(EventLog {
            out: BufWriter::with_capacity(64 * 1024, file),
            line: Vec::new(),
        })
    }

    /// Appends `e` (whole lines; call [`EventLog::flush`] before telling anyone).
    pub fn write(&mut self, e: &super::Event, t_ms: u64) -> io::Result<()> {
        if !matches!(e, super::Event::NodeLog { .. }) {
            // Written as it is serialized: a large event (the run's inputs in `run_started`)
            // is not copied into `line` as well.
            return super::event::write_logged(&mut self.out, e, t_ms);
        }
        self.line.clear();
        super::event::logged_line(&mut self.line, e, t_ms)?;
        self.out.write_all(&self.line)?;
        if self.line.capacity() > KEEP_LINE {
            self.line = Vec::new();
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The attempt a log line starts, when it is the engine's `wfop attempt N (…)` line (a service
/// cannot write one: its lines say `stdout` or `stderr` where this says `wfop`).
pub fn attempt_of_marker(line: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(line).ok()?;
    let (_, rest) = text.split_once(' ')?;
    let rest = rest.strip_prefix("wfop attempt ")?;
    rest.split(' ').next()?.parse().ok()
}

/// The lines of a batch, without their `\n`; a last piece without `\n` counts as a line.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let empty = data.is_empty();
    body.split(|&b| b == b'\n').filter(move |_| !empty)
}

/// Every run in `<state>/runs`, oldest first (by recorded start, then id: the id holds the
/// start to the microsecond). Unreadable records are skipped. A record that says `running`
/// whose wfop is gone is marked `abandoned` in its `run.json` on the way (`settle`).
pub fn list_runs(state_dir: &Path) -> Vec<RunDoc> {
    let Ok(entries) = fs::read_dir(state_dir.join("runs")) else {
        return Vec::new();
    };
    let mut runs: Vec<RunDoc> = entries
        .filter_map(Result::ok)
        .filter_map(|e| read_doc(&e.path()).ok().map(|d| settle(&e.path(), d)))
        .collect();
    runs.sort_by(|a, b| {
        a.started
            .cmp(&b.started)
            .then_with(|| a.run_id.cmp(&b.run_id))
    });
    runs
}

/// A record left `running` by a wfop (or run host) that is gone — killed outright, so it
/// could not finish it — is finished here as `abandoned`, with why, so that the file itself
/// stops saying `running`. Best effort: a record that cannot be written is shown so anyway.
pub fn settle(run_dir: &Path, doc: RunDoc) -> RunDoc {
    if doc.status != RunState::Running || doc.wfop_alive() {
        return doc;
    }
    // Read again now that the wfop is known to be gone: it may have finished the record just
    // before it ended, after the first read (it cannot write any more).
    let Ok(mut doc) = read_doc(run_dir) else {
        return doc;
    };
    if doc.status != RunState::Running {
        return doc;
    }
    doc.status = RunState::Abandoned;
    doc.error.get_or_insert_with(|| {
        format!(
            "its wfop (pid {}) ended without finishing the record (killed outright?)",
            doc.pid
        )
    });
    let mut r = Record::at(run_dir.to_path_buf(), doc);
    let _ = r.save();
    r.doc
}

pub fn read_doc(run_dir: &Path) -> Result<RunDoc, RecordError> {
    let path = run_dir.join("run.json");
    let text = fs::read(&path).map_err(|e| RecordError::Read {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    serde_json::from_slice(&text).map_err(|e| RecordError::Read {
        path,
        reason: e.to_string(),
    })
}

/// Finds a run folder by id, unique id prefix, or `last`.
pub fn find_run(state_dir: &Path, id: &str) -> Result<PathBuf, RecordError> {
    let runs = list_runs(state_dir);
    let found = if id == "last" || id == "latest" {
        runs.last()
    } else if let Some(r) = runs.iter().find(|r| r.run_id == id) {
        Some(r)
    } else {
        let matching: Vec<&RunDoc> = runs.iter().filter(|r| r.run_id.starts_with(id)).collect();
        match matching.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    };
    found
        .map(|r| state_dir.join("runs").join(&r.run_id))
        .ok_or_else(|| RecordError::NoRun(id.to_string()))
}

/// Reads a growing log file from where it was last read, whole lines only.
pub struct LogTail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl LogTail {
    pub fn new(path: PathBuf) -> LogTail {
        LogTail {
            path,
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// New whole lines since the last call (each ending in `\n`); `at_end` also returns a last
    /// line without `\n`. A file that does not exist yet has no lines.
    pub fn read_new(&mut self, at_end: bool) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.partial);
        if let Ok(mut f) = File::open(&self.path)
            && f.seek(SeekFrom::Start(self.offset)).is_ok()
            && let Ok(n) = f.read_to_end(&mut buf)
        {
            self.offset += n as u64;
        }
        match buf.iter().rposition(|&b| b == b'\n') {
            Some(i) if !at_end => {
                self.partial = buf.split_off(i + 1);
                buf
            }
            None if !at_end => {
                self.partial = buf;
                Vec::new()
            }
            _ => {
                if !buf.is_empty() && !buf.ends_with(b"\n") {
                    buf.push(b'\n');
                }
                buf
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_a_batch() {
        let v: Vec<&[u8]> = lines(b"a\nb\n").collect();
        assert_eq!(v, vec![&b"a"[..], b"b"]);
        let v: Vec<&[u8]> = lines(b"a\n\nb").collect();
        assert_eq!(v, vec![&b"a"[..], b"", b"b"]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").collect::<Vec<_>>(), vec![&b""[..]]);
    }

    #[test]
    fn prefixed_lines_are_the_lines_of_a_batch_each_after_its_prefix() {
        for data in [
            &b""[..],
            b"\n",
            b"\n\n",
            b"a",
            b"a\nb\n",
            b"a\n\nb",
            b"one\ntwo\nthree",
        ] {
            let mut want = Vec::new();
            for l in lines(data) {
                want.extend_from_slice(b"P> ");
                want.extend_from_slice(l);
                want.push(b'\n');
            }
            let mut got = b"kept".to_vec();
            prefixed_lines(&mut got, b"P> ", data);
            assert_eq!(got[..4], b"kept"[..]);
            assert_eq!(
                String::from_utf8_lossy(&got[4..]),
                String::from_utf8_lossy(&want),
                "{data:?}"
            );
        }
    }

    fn doc(pid: u32, pid_start: Option<u64>) -> RunDoc {
        RunDoc {
            run_id: "r".into(),
            workflow: "w".into(),
            workflow_path: "w.json".into(),
            process: None,
            services: None,
            pid,
            pid_start,
            status: RunState::Running,
            exit_code: None,
            signal: None,
            started: String::new(),
            finished: None,
            duration_ms: None,
            inputs: ShownVars::default(),
            nodes: Vec::new(),
            error: None,
            variables: None,
            edges: Vec::new(),
            reused: None,
        }
    }

    #[test]
    fn a_running_record_is_live_only_while_its_own_wfop_is() {
        let me = std::process::id();
        let start = own_start().expect("/proc/self/stat");
        assert!(doc(me, Some(start)).is_live());
        assert_eq!(doc(me, Some(start)).shown_status(), "running");
        // The same pid, started at another time: a process that reused the pid.
        assert!(!doc(me, Some(start + 1)).is_live());
        assert_eq!(doc(me, Some(start + 1)).shown_status(), ABANDONED);
        // A zombie: dead, though kill(pid, 0) still finds it.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let zpid = child.id();
        let t0 = std::time::Instant::now();
        while proc_stat(Pid::from_raw(zpid as i32).unwrap()).is_some_and(|s| s.state != 'Z') {
            assert!(t0.elapsed().as_secs() < 10, "the child never ended");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!doc(zpid, None).is_live());
        child.wait().unwrap();
        assert!(!doc(zpid, None).is_live());
        let mut finished = doc(me, Some(start));
        finished.status = RunState::Succeeded;
        assert!(!finished.is_live());
        assert_eq!(finished.shown_status(), "succeeded");
    }

    /// Listing the runs finishes a record whose wfop is gone as `abandoned` in the file itself;
    /// a live one and a finished one are left alone.
    #[test]
    fn listing_marks_a_record_whose_wfop_is_gone_abandoned_in_the_file() {
        let state = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let start = own_start().expect("/proc/self/stat");
        let mut gone = doc(me, Some(start + 1));
        gone.run_id = "gone".into();
        let mut live = doc(me, Some(start));
        live.run_id = "live".into();
        let mut done = doc(me, Some(start + 1));
        done.run_id = "done".into();
        done.status = RunState::Succeeded;
        for d in [&gone, &live, &done] {
            Record::create(state.path(), d.clone()).unwrap();
        }
        let runs = list_runs(state.path());
        let status = |id: &str| {
            runs.iter()
                .find(|r| r.run_id == id)
                .map(|r| r.status)
                .unwrap()
        };
        assert_eq!(status("gone"), RunState::Abandoned);
        assert_eq!(status("live"), RunState::Running);
        assert_eq!(status("done"), RunState::Succeeded);
        let on_disk = read_doc(&state.path().join("runs/gone")).unwrap();
        assert_eq!(on_disk.status, RunState::Abandoned);
        assert!(on_disk.error.unwrap().contains(&format!("pid {me}")));
        assert_eq!(
            read_doc(&state.path().join("runs/live")).unwrap().status,
            RunState::Running
        );
    }

    /// A large event (the run's inputs in `run_started`) is written as it is serialized: the
    /// event log's kept line buffer, meant for log batches, does not grow to hold it (a
    /// 4.1 MiB input cost line mode 8 MiB more when it did).
    #[test]
    fn a_large_event_is_not_copied_into_the_kept_line_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = EventLog::create(dir.path()).unwrap();
        let big: serde_json::Map<String, serde_json::Value> = [(
            "data".to_string(),
            serde_json::Value::String("x".repeat(4 << 20)),
        )]
        .into_iter()
        .collect();
        let e = super::super::Event::RunStarted {
            run_id: "r".into(),
            workflow: "w".into(),
            record: dir.path().to_path_buf(),
            nodes: Vec::new(),
            inputs: super::super::ShownVars::assume_redacted(big),
            started: None,
        };
        log.write(&e, 0).unwrap();
        log.flush().unwrap();
        assert!(log.line.capacity() < 64 * 1024, "{}", log.line.capacity());
        let mut want = Vec::new();
        super::super::event::write_logged(&mut want, &e, 0).unwrap();
        assert_eq!(fs::read(dir.path().join(EVENTS)).unwrap(), want);
        assert!(want.len() > 4 << 20);
    }

    /// A change that can wait is written at once after a quiet spell, else when it is due,
    /// and always by `flush`/`save`: `run.json` never stays behind once the run is saved.
    #[test]
    fn changes_that_wait_reach_run_json_when_due_and_on_flush() {
        let state = tempfile::tempdir().unwrap();
        let mut d = doc(std::process::id(), None);
        d.run_id = "r".into();
        let mut rec = Record::create(state.path(), d).unwrap();
        let on_disk = |rec: &Record| read_doc(rec.dir()).unwrap().error;
        assert_eq!(rec.due(), None);
        // Saved a moment ago (as far as the record knows): the change waits, and says until when.
        let later = Instant::now() + Duration::from_secs(3600);
        rec.next_save = later;
        rec.doc.error = Some("one".into());
        rec.changed().unwrap();
        assert_eq!(rec.due(), Some(later));
        assert_eq!(on_disk(&rec), None);
        rec.flush().unwrap();
        assert_eq!(on_disk(&rec).as_deref(), Some("one"));
        assert_eq!(rec.due(), None);
        rec.flush().unwrap(); // nothing waits: nothing to do
        // Once the time has come, a change is written at once.
        rec.next_save = Instant::now();
        rec.doc.error = Some("two".into());
        rec.changed().unwrap();
        assert_eq!(on_disk(&rec).as_deref(), Some("two"));
        assert_eq!(rec.due(), None);
        // `save` writes whatever waits.
        rec.next_save = later;
        rec.doc.error = Some("three".into());
        rec.changed().unwrap();
        assert_eq!(on_disk(&rec).as_deref(), Some("two"));
        rec.save().unwrap();
        assert_eq!(on_disk(&rec).as_deref(), Some("three"));
    }

    #[test]
    fn every_node_id_gets_a_log_file_that_can_be_made() {
        let dir = tempfile::tempdir().unwrap();
        let rec = Record::at(dir.path().to_path_buf(), doc(1, None));
        assert_eq!(log_file_name("fetch.v2"), "fetch.v2.log");
        let long = "n".repeat(300);
        let weird = "../a/b\0\u{1b}[31m";
        for id in [long.as_str(), weird, "", ".hidden", "é"] {
            let name = log_file_name(id);
            assert!(name.len() <= 255 && !name.contains('/'), "{name}");
            assert!(!name.starts_with('.'), "{name}");
            let mut log = rec.node_log(id).unwrap_or_else(|e| panic!("{id:?}: {e}"));
            log.note(SystemTime::now(), "hello").unwrap();
            assert!(dir.path().join(&name).is_file(), "{name}");
        }
        assert_ne!(log_file_name(&long), log_file_name(&"n".repeat(301)));
    }

    #[test]
    fn attempt_markers_are_the_engines_lines_only() {
        let at = |l: &str| attempt_of_marker(l.as_bytes());
        assert_eq!(
            at("2026-12-01T00:00:00.000Z wfop attempt 3 (iteration 2, try 2/3)"),
            Some(3)
        );
        assert_eq!(at("2026-12-01T00:00:00.000Z stdout wfop attempt 3"), None);
        assert_eq!(
            at("2026-12-01T00:00:00.000Z wfop failed: exited with code 1"),
            None
        );
        assert_eq!(at("2026-12-01T00:00:00.000Z wfop attempt x"), None);
        assert_eq!(at("nothing"), None);
    }

    #[test]
    fn tail_returns_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        let mut t = LogTail::new(p.clone());
        assert!(t.read_new(false).is_empty());
        fs::write(&p, "one\ntw").unwrap();
        assert_eq!(t.read_new(false), b"one\n");
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"o\nthr").unwrap();
        assert_eq!(t.read_new(false), b"two\n");
        assert_eq!(t.read_new(true), b"thr\n");
    }
}
