//! The line front end (pipes, CI, `--plain`, `--json`): `[node-id] line` per log line,
//! `wfop: …` status lines and a summary; or one JSON event per line. Also prints run records.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use super::start::{EXIT_INVALID, RunRequest};
use super::summary::{self, Layout, Summary, write_outputs};
use crate::engine::record::{self, LogTail, RecordError};
use crate::engine::{Event, NodeOutcome};
use crate::human::{self, Form};
use crate::safe;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Json,
}

/// An event sink writing to `out` (stdout in practice). Write errors (a closed pipe) end the
/// output quietly; the run goes on.
pub fn sink<W: Write + Send + 'static>(mode: Mode, out: W) -> impl FnMut(Event) + Send + 'static {
    let mut out = io::BufWriter::with_capacity(256 * 1024, out);
    // A log batch as shown (kept: one allocation for the run's whole output).
    let mut batch = Vec::new();
    let mut broken = false;
    move |e: Event| {
        if broken {
            return;
        }
        let r = match (mode, &e) {
            (Mode::Plain, Event::NodeLog { node, data, .. }) => {
                batch.clear();
                plain_log(&mut batch, node, data);
                // Already one large write: past the buffer, not through it.
                out.flush().and_then(|()| out.get_mut().write_all(&batch))
            }
            (Mode::Plain, _) => write_plain(&mut out, &e),
            (Mode::Json, _) => write_json(&mut out, &e),
        };
        if r.and_then(|_| out.flush()).is_err() {
            broken = true;
        }
    }
}

/// A log batch as `--plain` shows it: `[node-id] line` per line, each line through
/// `safe::line`. A batch of plain lines (printable ASCII and tabs: what `safe::line` leaves as
/// it is; the common case) is copied line by line without looking at each.
fn plain_log(out: &mut Vec<u8>, node: &str, data: &[u8]) {
    let prefix = format!("[{}] ", safe::line(node));
    if safe::is_plain_lines(data) {
        record::prefixed_lines(out, prefix.as_bytes(), data);
        return;
    }
    for line in record::lines(data) {
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(safe::line(line).as_bytes());
        out.push(b'\n');
    }
}

/// One event per line, as docs/json-events.md describes (`engine::write_json`).
fn write_json(out: &mut impl Write, e: &Event) -> io::Result<()> {
    crate::engine::write_json(out, e, None)
}

/// One event as `--plain` shows it.
pub fn write_event(out: &mut impl Write, e: &Event) -> io::Result<()> {
    write_plain(out, e)
}

fn write_plain(out: &mut impl Write, e: &Event) -> io::Result<()> {
    match e {
        Event::RunStarted {
            run_id,
            workflow,
            record,
            ..
        } => writeln!(
            out,
            "wfop: run {} of {} started (record: {})",
            safe::line(run_id),
            safe::line(workflow),
            safe::path(record)
        ),
        Event::Reusing {
            run_id,
            from,
            nodes,
            ..
        } => {
            let reused = match nodes.is_empty() {
                true => "nothing".to_string(),
                false => nodes.join(", "),
            };
            writeln!(
                out,
                "wfop: rerun from {}, reusing run {}: {}",
                safe::line(from),
                safe::line(run_id),
                safe::line(&reused)
            )
        }
        Event::NodeReused { node, run_id, .. } => writeln!(
            out,
            "wfop: {} reused (the outputs of run {})",
            safe::line(&**node),
            safe::line(run_id)
        ),
        Event::NodeStarted { node, attempt, pid } => {
            let mut parts = Vec::new();
            if attempt.attempt > 1 {
                parts.push(format!("attempt {}", attempt.attempt));
            }
            if attempt.iteration > 1 {
                parts.push(format!("iteration {}", attempt.iteration));
            }
            if attempt.tries > 1 {
                parts.push(format!("try {}/{}", attempt.try_no, attempt.tries));
            }
            if let Some(p) = pid {
                parts.push(format!("pid {p}"));
            }
            match parts.is_empty() {
                true => writeln!(out, "wfop: {} started", safe::line(&**node)),
                false => writeln!(
                    out,
                    "wfop: {} started ({})",
                    safe::line(&**node),
                    safe::line(&parts.join(", "))
                ),
            }
        }
        Event::NodeQueued {
            node,
            executor,
            job,
            ..
        } => match job {
            Some(j) => writeln!(
                out,
                "wfop: {} queued ({} job {})",
                safe::line(&**node),
                safe::line(executor),
                safe::line(j)
            ),
            None => writeln!(
                out,
                "wfop: {} queued ({})",
                safe::line(&**node),
                safe::line(executor)
            ),
        },
        Event::NodeLog { node, data, .. } => {
            let mut shown = Vec::new();
            plain_log(&mut shown, node, data);
            out.write_all(&shown)
        }
        Event::NodeFinished {
            node,
            status,
            duration_ms,
            exit_code,
            signal,
            reason,
            error_code,
            ..
        } => {
            write!(
                out,
                "wfop: {} {} in {}",
                safe::line(&**node),
                status.as_str(),
                human::millis(*duration_ms, Form::Summary)
            )?;
            match (exit_code, signal) {
                (Some(c), _) if *status != NodeOutcome::Succeeded => {
                    write!(out, " (exit code {c})")?
                }
                (_, Some(s)) => write!(out, " (signal {s})")?,
                _ => {}
            }
            if let Some(c) = error_code {
                write!(out, " (error {})", safe::line(c))?;
            }
            match reason {
                Some(r) if *status != NodeOutcome::Succeeded => {
                    writeln!(out, ": {}", safe::line(r))
                }
                _ => writeln!(out),
            }
        }
        Event::NodeStopping {
            node, kill_in_ms, ..
        } => match kill_in_ms {
            0 => writeln!(out, "wfop: {} stopping: SIGKILL", safe::line(&**node)),
            ms => writeln!(
                out,
                "wfop: {} stopping: SIGTERM sent, SIGKILL in {} unless it ends",
                safe::line(&**node),
                human::millis(*ms, Form::Exact)
            ),
        },
        Event::NodeSkipped { node, reason } => writeln!(
            out,
            "wfop: {} skipped: {}",
            safe::line(&**node),
            safe::line(reason)
        ),
        // Shown once, as the run's outputs after the summary.
        Event::Outputs { .. } => Ok(()),
        // The taken path shows in what starts next; `--json` has every edge.
        Event::EdgeTaken { .. } => Ok(()),
        Event::GatewayDecision {
            node,
            conditions,
            taken,
            reason,
            ..
        } => match (taken, reason) {
            (Some(e), _) => {
                let to = conditions.iter().find(|c| c.edge == *e);
                let how = match to {
                    Some(c) if c.default => " (default)",
                    _ => "",
                };
                writeln!(
                    out,
                    "wfop: {} chose `{}`{}",
                    safe::line(&**node),
                    safe::line(to.map_or("?", |c| &*c.to)),
                    safe::line(how)
                )
            }
            (None, r) => writeln!(
                out,
                "wfop: {} failed: {}",
                safe::line(&**node),
                safe::line(r.as_deref().unwrap_or("no edge was taken"))
            ),
        },
        Event::TimerStarted {
            node,
            duration_ms,
            deadline,
            ..
        } => writeln!(
            out,
            "wfop: {} waits {} (until {})",
            safe::line(&**node),
            human::millis(*duration_ms, Form::Summary),
            safe::line(deadline)
        ),
        Event::RetryScheduled {
            node,
            next,
            delay_ms,
            ..
        } => writeln!(
            out,
            "wfop: {} will retry in {} ({})",
            safe::line(&**node),
            human::millis(*delay_ms, Form::Summary),
            safe::line(&format!("try {}/{}", next.try_no, next.tries))
        ),
        Event::ErrorCaught { node, code, to, .. } => writeln!(
            out,
            "wfop: {} raised {}: continuing at `{}`",
            safe::line(&**node),
            safe::line(code),
            safe::line(&**to)
        ),
        Event::OutputFiles { node, files, .. } => {
            for f in files {
                writeln!(
                    out,
                    "wfop: {}: {}",
                    safe::line(&**node),
                    safe::line(&crate::engine::files::note(f))
                )?;
            }
            Ok(())
        }
        Event::Redactions { node, counts } => {
            let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}×")).collect();
            writeln!(
                out,
                "wfop: {}: redacted {}",
                safe::line(&**node),
                safe::line(&parts.join(", "))
            )
        }
        // The values a mapping gave are for viewers (`--json`, the TUI), not the line log.
        Event::NodeInputs { .. } => Ok(()),
        Event::Warning { node, message } => match node {
            Some(n) => writeln!(
                out,
                "wfop: warning: {}: {}",
                safe::line(&**n),
                safe::line(message)
            ),
            None => writeln!(out, "wfop: warning: {}", safe::line(message)),
        },
        Event::SecretsPurged => writeln!(out, "wfop: secrets purged"),
        Event::RunFinished {
            status,
            duration_ms,
            nodes,
        } => summary::write(
            out,
            &Summary {
                run: None,
                status: Some(*status),
                duration: Some(Duration::from_millis(*duration_ms)),
                nodes,
                record: None,
                layout: Layout::Lines,
            },
        ),
    }
}

/// `wfop runs`: one line per run, oldest first.
pub fn print_runs(state_dir: &Path, out: &mut impl Write) -> io::Result<()> {
    let runs = record::list_runs(state_dir);
    if runs.is_empty() {
        return writeln!(out, "no runs in {}", safe::path(&state_dir.join("runs")));
    }
    let w = runs
        .iter()
        .map(|r| safe::line(&r.run_id).chars().count())
        .max()
        .unwrap_or(6);
    let ww = runs
        .iter()
        .map(|r| safe::line(&r.workflow).chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    writeln!(
        out,
        "{:w$}  {:11} {:>9}  {:24}  workflow{}  why",
        "run",
        "status",
        "duration",
        "started",
        safe::line(&" ".repeat(ww - 8))
    )?;
    for r in runs {
        let dur = r
            .duration_ms
            .map_or("-".into(), |ms| human::millis(ms, Form::Summary));
        let row = format!(
            "{:w$}  {:11} {dur:>9}  {:24}  ",
            safe::line(&r.run_id),
            safe::line(&r.shown_status()),
            safe::line(&r.started),
        );
        match r.why() {
            Some(why) => writeln!(
                out,
                "{}{:ww$}  {}",
                safe::line(&row),
                safe::line(&r.workflow),
                safe::line(&why)
            )?,
            None => writeln!(out, "{}{}", safe::line(&row), safe::line(&r.workflow))?,
        }
    }
    Ok(())
}

/// The status line a finished run ends with: `wfop: run ID succeeded in 1.2s`, `… failed in
/// 3s: compute failed: exited with code 3`.
pub fn final_line(d: &record::RunDoc) -> String {
    let mut line = format!("wfop: run {} {}", d.run_id, d.shown_status());
    if let Some(ms) = d.duration_ms {
        line.push_str(&format!(" in {}", human::millis(ms, Form::Summary)));
    }
    if let Some(why) = d.why() {
        line.push_str(&format!(": {why}"));
    }
    safe::line(&line).into_owned()
}

/// `wfop logs RUN [NODE [--attempt N]] [--follow]`: a node's log (or one attempt's section of
/// it), or every node's with `[node]` prefixes; with `follow`, keeps printing while the run is
/// going.
pub fn print_logs(
    state_dir: &Path,
    run: &str,
    (node, attempt): (Option<&str>, Option<u32>),
    follow: bool,
    out: &mut impl Write,
) -> Result<(), RecordError> {
    let dir = record::find_run(state_dir, run)?;
    let doc = record::read_doc(&dir)?;
    if let (Some(n), Some(a)) = (node, attempt)
        && let Some(d) = doc.nodes.iter().find(|d| d.id == n)
    {
        let made = d.attempts.last().map_or(0, |x| x.attempt);
        if a > made && !(follow && doc.is_live()) {
            return Err(RecordError::NoAttempt {
                node: n.to_string(),
                attempt: a,
                made,
            });
        }
    }
    let ids: Vec<String> = doc.nodes.iter().map(|n| n.id.clone()).collect();
    let chosen: Vec<String> = match node {
        Some(n) if ids.iter().any(|i| i == n) => vec![n.to_string()],
        Some(n) => {
            return Err(RecordError::NoNode {
                run: doc.run_id,
                node: n.to_string(),
                nodes: ids.join(", "),
            });
        }
        None => ids,
    };
    let prefix = node.is_none();
    // Each log's attempt so far: 1 until a `wfop attempt N` line.
    let mut tails: Vec<(String, LogTail, u32)> = chosen
        .into_iter()
        .map(|id| {
            let t = LogTail::new(dir.join(record::log_file_name(&id)));
            (id, t, 1)
        })
        .collect();
    let write_err = |e: io::Error| RecordError::Read {
        path: "stdout".into(),
        reason: e.to_string(),
    };
    loop {
        let live = follow && record::read_doc(&dir).is_ok_and(|d| d.is_live());
        for (id, tail, current) in &mut tails {
            let data = tail.read_new(!live);
            for line in record::lines(&data) {
                if let Some(n) = record::attempt_of_marker(line) {
                    *current = n;
                }
                if attempt.is_some_and(|a| a != *current) {
                    continue;
                }
                if prefix {
                    write!(out, "[{}] ", safe::line(id)).map_err(write_err)?;
                }
                safe::write_line(out, line).map_err(write_err)?;
                writeln!(out).map_err(write_err)?;
            }
        }
        out.flush().map_err(write_err)?;
        if !live {
            let end = record::read_doc(&dir).map(|d| record::settle(&dir, d));
            if end
                .as_ref()
                .is_ok_and(|d| d.shown_status() == record::ABANDONED)
            {
                eprintln!(
                    "wfop: run {} ended abnormally: its wfop process is gone and the record was never finished",
                    safe::line(&doc.run_id)
                );
            } else if let (true, Ok(d)) = (follow, &end) {
                // `--follow` ends with how the run ended, as the run's own last line.
                eprintln!("{}", safe::text(&final_line(d)));
            }
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The line front end's start: the request prepared (warnings printed), its missing secrets
/// asked for on the terminal; the prepared run and its state folder, or the exit code.
pub fn prepare_with_prompt(
    request: &RunRequest,
) -> Result<(crate::engine::setup::Prepared, std::path::PathBuf), i32> {
    use crate::secrets::prompt;

    let started = request.start()?;
    let mut prepared = started.prepared;
    if !started.warnings.is_empty() {
        eprint!("{}", safe::styled(&started.warnings));
    }
    if !prepared.missing.is_empty() {
        if !prompt::terminal_available() {
            eprint!("{}", safe::text(&prompt::missing_report(&prepared.missing)));
            return Err(EXIT_INVALID);
        }
        if let Err(e) = prompt::prompt_missing(&mut prepared.secrets, &prepared.missing) {
            eprintln!("wfop: {}", safe::text(&e.to_string()));
            // Ctrl-C (or Ctrl-D) or a signal at the prompt: nothing ran; exit as a signal does.
            return Err(match e {
                prompt::PromptError::Interrupted => 130,
                prompt::PromptError::Signal(sig) => 128 + sig,
                _ => EXIT_INVALID,
            });
        }
    }
    Ok((prepared, started.state_dir))
}

/// `wfop run` in line mode, start to end; returns the exit code (0, 1, 2, or 128 + signal).
pub fn run(request: RunRequest, mode: Mode) -> i32 {
    use crate::engine;

    let (prepared, state_dir) = match prepare_with_prompt(&request) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let options = request.options_for(state_dir, &prepared);
    let out = sink(mode, io::stdout());
    match engine::run(
        prepared.workflow,
        prepared.inputs,
        prepared.secrets,
        options,
        out,
    ) {
        Ok(report) => {
            if mode == Mode::Plain {
                let _ = write_outputs(&mut io::stdout().lock(), &report.inputs, &report.variables);
            }
            report.status.exit_code()
        }
        // The record comes first: when it cannot be made, nothing ran (a bad --state-dir).
        Err(e @ engine::EngineError::Record(_)) => {
            eprintln!("wfop: {}; nothing was run", safe::text(&e.to_string()));
            EXIT_INVALID
        }
        Err(e) => {
            eprintln!("wfop: {}", safe::text(&e.to_string()));
            1
        }
    }
}

#[cfg(test)]
mod tests {

    use crate::engine::{Inputs, ShownVars};
    use crate::secrets::Redactor;

    /// `--plain`'s log lines as they were written before issue 16, line by line.
    fn reference_plain(node: &str, data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut out = Vec::new();
        for line in crate::engine::record::lines(data) {
            write!(out, "[{}] ", crate::safe::line(node)).unwrap();
            crate::safe::write_line(&mut out, line).unwrap();
            writeln!(out).unwrap();
        }
        out
    }

    #[test]
    fn log_batches_show_as_they_did_line_by_line() {
        let cases: [&[u8]; 9] = [
            b"",
            b"\n",
            b"plain\tline\nand another\n",
            b"no newline at the end",
            b"a\n\n\nb\n",
            b"esc \x1b[2J and del \x7f\ncr\r\n",
            "c1 \u{9b} bidi \u{202e} \u{e0041} é 日本\n".as_bytes(),
            b"not utf-8 \xff\xfe\nok\n",
            b"0123456789abcdef0123456789abcdef\x00",
        ];
        for data in cases {
            for node in ["svc", "we\u{202e}ird\n"] {
                let mut got = Vec::new();
                super::plain_log(&mut got, node, data);
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&reference_plain(node, data)),
                    "{data:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_log_batch_shows_as_it_did(
            data in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::sample::select(&b"\n\n\tab c"[..]),
                ],
                0..100,
            ),
        ) {
            let mut got = Vec::new();
            super::plain_log(&mut got, "n", &data);
            proptest::prop_assert_eq!(got, reference_plain("n", &data));
        }
    }

    #[test]
    fn outputs_are_the_variables_the_run_produced_cut_short() {
        let inputs = serde_json::json!({"circuit_data": {"qubits": 5}, "same": 1});
        let vars = serde_json::json!({
            "circuit_data": {"qubits": 5}, "same": 1,
            "counts": {"00000": 546, "11111": 478}, "long": "x".repeat(500), "ctl": "a\u{1b}[2Jb"
        });
        let mut out = Vec::new();
        let inputs = Inputs::from_map(inputs.as_object().unwrap()).unwrap();
        let inputs = ShownVars::redact_inputs(&Redactor::new(), &Arc::new(inputs));
        let vars = ShownVars::redact(&Redactor::new(), vars.as_object().unwrap());
        super::write_outputs(&mut out, &inputs, &vars).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("wfop: outputs\n"), "{text}");
        assert!(
            text.contains("  counts  {\"00000\":546,\"11111\":478}\n"),
            "{text}"
        );
        assert!(
            !text.contains("circuit_data") && !text.contains("same"),
            "{text}"
        );
        assert!(text.contains(&format!("\"{}…", "x".repeat(159))), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "control bytes are neutralised: {text}"
        );
    }

    use super::*;
    use std::sync::Arc;

    #[test]
    fn log_lines_get_the_node_prefix_and_controls_are_neutralised() {
        let mut out = Vec::new();
        let e = Event::NodeLog {
            node: Arc::from("svc"),
            attempt: 1,
            stream: crate::engine::Stream::Stdout,
            data: b"one\n\x1b]0;title\x07two\n".to_vec(),
            redacted: Vec::new(),
        };
        write_plain(&mut out, &e).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[svc] one\n[svc] \\x1b]0;title\\x07two\n"
        );
    }

    #[test]
    fn json_log_events_are_one_per_line() {
        let mut out = Vec::new();
        let e = Event::NodeLog {
            node: Arc::from("svc"),
            attempt: 1,
            stream: crate::engine::Stream::Stderr,
            data: b"a\nb".to_vec(),
            redacted: Vec::new(),
        };
        write_json(&mut out, &e).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["line"], "b");
        assert_eq!(lines[1]["stream"], "stderr");
    }

    /// The line front end's summary is the one summary writer's, in the line layout.
    #[test]
    fn the_run_finished_event_writes_the_one_summary() {
        let nodes = vec![crate::engine::NodeSummary {
            node: "svc".into(),
            label: "svc".into(),
            status: NodeOutcome::Failed,
            attempts: 1,
            duration_ms: Some(1500),
            exit_code: Some(3),
            signal: None,
            reason: Some("exit code 3".into()),
            reused: None,
        }];
        let e = Event::RunFinished {
            status: crate::engine::RunStatus::Failed,
            duration_ms: 2000,
            nodes: nodes.clone(),
        };
        let mut out = Vec::new();
        write_plain(&mut out, &e).unwrap();
        let expected = summary::text(&Summary {
            run: None,
            status: Some(crate::engine::RunStatus::Failed),
            duration: Some(Duration::from_millis(2000)),
            nodes: &nodes,
            record: None,
            layout: Layout::Lines,
        });
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert!(
            expected.starts_with("wfop: run failed in 2.0s\n"),
            "{expected}"
        );
        assert!(
            expected.contains("  svc   failed          1.5s  3  exit code 3\n"),
            "{expected}"
        );
    }
}
