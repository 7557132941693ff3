//! What the engine tells a front end: one `Event` enum for the whole run. Every text inside an
//! event is already redacted; front ends only display or serialise it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use std::io::{self, Write};

use serde::{Deserialize, Serialize, Serializer};

use super::files::OutputFile;
use super::lifecycle::{NodeOutcome, RunStatus};
use super::redact::ShownVars;

/// Which output of a service a log chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One line of the final summary: a step (a service or a timer) and how its last attempt
/// ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeSummary {
    pub node: String,
    pub label: String,
    pub status: NodeOutcome,
    /// Attempts in all (iterations of a loop and retries; 0: it never ran).
    pub attempts: u32,
    pub duration_ms: Option<u64>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Why it failed or was skipped (redacted).
    pub reason: Option<String>,
    /// The run whose outputs it reused instead of running (`--from NODE --reuse RUN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused: Option<String>,
}

/// Which run of a node an event is about. `attempt` counts every run of the node in this run
/// (1, 2, …: loop iterations and retries alike; it names the node's log section and its entry
/// in `run.json`); `iteration` counts the tokens the node consumed (a loop's `↻`); `try` is the
/// attempt within this iteration, out of `tries` (the node's `retries`, else 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub attempt: u32,
    pub iteration: u32,
    #[serde(rename = "try")]
    pub try_no: u32,
    pub tries: u32,
}

impl Attempt {
    /// The first attempt of a node's first iteration, without retries.
    pub const FIRST: Attempt = Attempt {
        attempt: 1,
        iteration: 1,
        try_no: 1,
        tries: 1,
    };
}

/// One outgoing edge of an exclusive gateway as it was evaluated (file order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionResult {
    /// The edge's index in the workflow's `edges`.
    pub edge: usize,
    pub to: Arc<str>,
    /// `true`/`false`; `null` for a condition that gave null or a non-boolean (not taken), for
    /// the default edge, and for edges after the taken one (not evaluated).
    pub value: Option<bool>,
    /// The default edge (no condition).
    pub default: bool,
    /// Why the condition could not be evaluated (redacted); such an edge is not taken.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run_id: String,
        workflow: String,
        record: PathBuf,
        /// The steps (service and timer node ids) in file order.
        nodes: Vec<String>,
        /// The workflow inputs (`$secrets` removed), redacted: a secret's value inside an
        /// ordinary input is shown as `***`.
        inputs: ShownVars,
        /// When the run started, by the wall clock (RFC 3339 UTC, ms): with each event's `t`
        /// in the record, the absolute time of everything. Absent in records before issue 15.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        started: Option<String>,
    },
    /// A rerun (`wfop run --from NODE --reuse RUN`), right after `RunStarted`: the run it
    /// reuses (`run_id`, its `record` folder), the node it starts from, and the steps whose
    /// outputs it takes from that run instead of running them.
    Reusing {
        run_id: String,
        record: PathBuf,
        from: String,
        nodes: Vec<String>,
    },
    /// A step of a rerun that does not run took this attempt from the reused run `run_id`
    /// (instead of `NodeStarted`): its recorded result goes through its output mapping again
    /// (`Outputs` follows), then `NodeFinished` (`succeeded`, no duration of its own).
    NodeReused {
        node: Arc<str>,
        attempt: u32,
        run_id: String,
    },
    /// A service attempt was handed to a cluster scheduler (`wfop run --executor slurm`,
    /// docs/executors.md) and waits there for its turn: `NodeStarted` follows when it runs on
    /// a compute node, and its `timeout` counts from then. Sent again when the scheduler's job
    /// id (`job`: `<job>` or `<job>.<step>`) becomes known.
    NodeQueued {
        node: Arc<str>,
        #[serde(flatten)]
        attempt: Attempt,
        /// The executor that queued it (`slurm`).
        executor: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job: Option<String>,
    },
    /// A step started an attempt: a service was spawned (`pid`; null for a service on a
    /// cluster, which runs elsewhere), or a timer began to wait (`pid` null; `TimerStarted`
    /// follows).
    NodeStarted {
        node: Arc<str>,
        #[serde(flatten)]
        attempt: Attempt,
        pid: Option<u32>,
    },
    /// What a service attempt's input mapping gave it (sent after its `NodeStarted`; a node
    /// without an input mapping, which gets every variable, has none): each local variable's
    /// value as compact JSON, redacted, cut at [`PREVIEW_MAX`] bytes (then ending in `…`).
    /// `$secrets` is never in it. A viewer shows these instead of evaluating the mapping itself.
    NodeInputs {
        node: Arc<str>,
        attempt: u32,
        inputs: indexmap::IndexMap<String, String>,
    },
    /// Redacted output of a service: whole lines (each ending in `\n`, except that a very long
    /// line or the last bytes before end of output may come without one). Batched: one event
    /// carries every line of one read.
    NodeLog {
        node: Arc<str>,
        /// The attempt (`Attempt::attempt`) that printed it.
        attempt: u32,
        stream: Stream,
        #[serde(serialize_with = "lossy", skip_deserializing)]
        data: Vec<u8>,
        /// Where in `data` the redactor wrote its `***` (byte ranges, sorted; a marker is never
        /// split between events), so a viewer tells them from a service's own asterisks.
        /// Written by [`write_json`] per line, as `redacted` (`--json`, the event log).
        #[serde(skip)]
        redacted: Vec<std::ops::Range<usize>>,
    },
    /// A running service is being stopped (the run's stop, its `timeout`, or the operator's
    /// stop or restart of the node): SIGTERM went to its process group, and SIGKILL follows in
    /// `kill_in_ms` unless the group has ended by then (0: SIGKILL now, a forced stop). Its
    /// `NodeFinished` follows.
    NodeStopping {
        node: Arc<str>,
        attempt: u32,
        kill_in_ms: u64,
    },
    /// An attempt of a step ended. A failed attempt may be followed by `RetryScheduled` or
    /// `ErrorCaught`; otherwise a failure is the run's (as before).
    NodeFinished {
        node: Arc<str>,
        /// `Attempt::attempt` (an attempt refused before it ran, by `max_iterations` or a
        /// failed input mapping, has its number too).
        attempt: u32,
        status: NodeOutcome,
        duration_ms: u64,
        exit_code: Option<i32>,
        signal: Option<i32>,
        reason: Option<String>,
        /// The error code the failure raised (its problem document's `code`, or its `type`'s
        /// last segment), whether or not an error path catches it.
        error_code: Option<String>,
    },
    /// The extra output files an attempt left (its `output/` folder besides `output.json` and
    /// `output.txt`, or a hub service's result files), kept redacted in the record; sent
    /// before the attempt's `NodeFinished`. `path` is relative to the run's record folder.
    OutputFiles {
        node: Arc<str>,
        attempt: u32,
        files: Vec<OutputFile>,
    },
    /// A step that never ran: `not taken` (an exclusive gateway chose another path, or an
    /// error path was not needed), an upstream failure, a cancel.
    NodeSkipped {
        node: Arc<str>,
        reason: String,
    },
    /// A token moved along an edge (`edge`: its index in the workflow's `edges`): out of a
    /// start node, a step that succeeded, a parallel gateway (one per outgoing edge), or the
    /// edge an exclusive gateway chose.
    EdgeTaken {
        edge: usize,
        from: Arc<str>,
        to: Arc<str>,
    },
    /// An exclusive gateway decided: its outgoing edges' conditions in file order, and the
    /// edge taken; `taken` null with a `reason` is a failure of the run (no true condition and
    /// no default, or the loop guard).
    GatewayDecision {
        node: Arc<str>,
        /// Tokens this gateway consumed so far, this one included.
        iteration: u32,
        conditions: Vec<ConditionResult>,
        taken: Option<usize>,
        reason: Option<String>,
    },
    /// A timer node began to wait (after its `NodeStarted`): `duration_ms` from now, until
    /// `deadline` (RFC 3339 UTC). It ends with `NodeFinished` (`succeeded`, or `cancelled`).
    TimerStarted {
        node: Arc<str>,
        attempt: u32,
        duration_ms: u64,
        deadline: String,
    },
    /// A failed attempt (`attempt`) will be retried: `next` starts after `delay_ms`, at `at`
    /// (RFC 3339 UTC). A stop of the run during the wait ends the node with that failure.
    RetryScheduled {
        node: Arc<str>,
        attempt: u32,
        next: Attempt,
        delay_ms: u64,
        at: String,
    },
    /// A failed attempt raised an error code one of the node's `errors` catches: the run goes
    /// on at `to` (the error path's output mapping, if any, was applied: an `Outputs` event
    /// with its variables came before this, and before the attempt's `NodeFinished`, whose
    /// reason begins `CODE caught → to`).
    ErrorCaught {
        node: Arc<str>,
        attempt: u32,
        code: String,
        to: Arc<str>,
    },
    /// The workflow variables a succeeded node set through its output mapping (or its whole
    /// object result without one), or a caught error set through its error path's mapping,
    /// already redacted; sent before its `NodeFinished` (`ErrorCaught`).
    Outputs {
        node: Arc<str>,
        variables: ShownVars,
    },
    /// How often each secret was redacted from one node's output and result.
    Redactions {
        node: Arc<str>,
        counts: BTreeMap<String, u64>,
    },
    Warning {
        node: Option<Arc<str>>,
        message: String,
    },
    SecretsPurged,
    RunFinished {
        status: RunStatus,
        duration_ms: u64,
        nodes: Vec<NodeSummary>,
    },
}

fn lossy<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(data))
}

/// A copy of a log batch that is not valid UTF-8, made so ([`Event::text_safe`]); `None` for
/// every other event (write it as it is).
fn text_safe_copy(e: &Event) -> Option<Event> {
    match e {
        Event::NodeLog { data, .. } if std::str::from_utf8(data).is_err() => {
            let mut safe = e.clone();
            safe.text_safe();
            Some(safe)
        }
        _ => None,
    }
}

/// `{"event":"node_log","node":…,"attempt":…,"stream":"…"` (the object left open), already
/// terminal-safe (`safe::json_string_into`).
fn log_head(out: &mut Vec<u8>, node: &str, attempt: u32, stream: Stream) {
    out.extend_from_slice(br#"{"event":"node_log","node":"#);
    crate::safe::json_string_into(out, node);
    let _ = write!(
        out,
        ",\"attempt\":{attempt},\"stream\":\"{}\"",
        stream.as_str()
    );
}

/// The longest preview of a value an event carries (`NodeInputs`), in bytes.
pub const PREVIEW_MAX: usize = 400;

/// `v` as compact JSON, redacted by `r` (the whole text, so that no secret is cut in two), cut
/// at [`PREVIEW_MAX`] bytes at a character boundary with `…`.
pub(crate) fn preview(r: &crate::secrets::Redactor, v: &serde_json::Value) -> String {
    let text = r.redact_str(&serde_json::to_string(v).unwrap_or_default());
    if text.len() <= PREVIEW_MAX {
        return text;
    }
    let mut end = PREVIEW_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl Event {
    /// Makes a log event's text valid UTF-8 (invalid bytes become U+FFFD, the redacted ranges
    /// move with them), so that what is serialised is exactly what a viewer of the event
    /// stream rebuilds. Other events are left as they are.
    pub fn text_safe(&mut self) {
        let Event::NodeLog { data, redacted, .. } = self else {
            return;
        };
        if std::str::from_utf8(data).is_ok() {
            return;
        }
        let moved = |at: usize| String::from_utf8_lossy(&data[..at]).len();
        let ranges: Vec<std::ops::Range<usize>> = redacted
            .iter()
            .map(|r| moved(r.start)..moved(r.end))
            .collect();
        *data = String::from_utf8_lossy(data).into_owned().into_bytes();
        *redacted = ranges;
    }
}

/// Writes `e` as the record's event log and a run host's socket carry it: as [`write_json`]
/// with `"t"`, except that a `NodeLog` batch stays one object, its lines in `lines` (each
/// ending in `\n`, the last one without when it is partial) and `redacted` counted in them: one
/// object per read of a service's output, not per line (what `--json` writes for scripts is
/// made from it by `wfop attach --json`).
pub fn write_logged(out: &mut impl Write, e: &Event, t: u64) -> io::Result<()> {
    if !matches!(e, Event::NodeLog { .. }) {
        // As `logged_line` writes it, without a copy of a large event (the run's inputs).
        return write_json(out, e, Some(t));
    }
    let mut line = Vec::new();
    logged_line(&mut line, e, t)?;
    out.write_all(&line)
}

/// Appends `e` to `buf` as [`write_logged`] writes it (its line break included). A log batch
/// is written in one pass over its text (`safe::json_string_into`: the JSON escapes and the
/// terminal-safety escapes at once), into a buffer the caller keeps from batch to batch.
pub(crate) fn logged_line(buf: &mut Vec<u8>, e: &Event, t: u64) -> io::Result<()> {
    let Event::NodeLog {
        node,
        attempt,
        stream,
        data,
        redacted,
    } = e
    else {
        return write_json(buf, e, Some(t));
    };
    let Ok(lines) = std::str::from_utf8(data) else {
        let mut safe = e.clone();
        safe.text_safe();
        return logged_line(buf, &safe, t);
    };
    log_head(buf, node, *attempt, *stream);
    buf.extend_from_slice(br#","lines":"#);
    crate::safe::json_string_into(buf, lines);
    if !redacted.is_empty() {
        buf.extend_from_slice(b",\"redacted\":[");
        for (k, r) in redacted.iter().enumerate() {
            if k > 0 {
                buf.push(b',');
            }
            let _ = write!(buf, "[{},{}]", r.start, r.end);
        }
        buf.push(b']');
    }
    let _ = writeln!(buf, ",\"t\":{t}}}");
    Ok(())
}

/// Writes `e` as `wfop run --json` shows it: one JSON object per line, a `NodeLog` batch as one
/// `node_log` per line (with `redacted`: where the redactor's `***` are in that line, `[[start,
/// end], …]` byte offsets, only when there is one; `partial`: true for a last piece without a
/// line break). `t`, when given, is added as `"t"` (ms since the run started: the record's
/// event log and the run host's socket). What serde leaves raw (DEL, C1, bidi controls) is
/// written with JSON's `\uXXXX` escape (`safe::json`). A log batch that is not valid UTF-8 is
/// written as [`Event::text_safe`] makes it (U+FFFD, the markers moved with the text).
pub fn write_json(out: &mut impl Write, e: &Event, t: Option<u64>) -> io::Result<()> {
    if let Some(safe) = text_safe_copy(e) {
        return write_json(out, &safe, t);
    }
    let mut text = Vec::with_capacity(256);
    let stamp = |text: &mut Vec<u8>| {
        if let Some(t) = t {
            text.pop();
            let _ = write!(text, ",\"t\":{t}}}");
        }
    };
    let emit = |out: &mut dyn Write, text: &[u8]| -> io::Result<()> {
        // serde wrote valid UTF-8.
        let s = std::str::from_utf8(text).map_err(io::Error::other)?;
        out.write_all(crate::safe::json(s).as_bytes())?;
        out.write_all(b"\n")
    };
    if let Event::NodeLog {
        node,
        attempt,
        stream,
        data,
        redacted,
    } = e
    {
        // Valid UTF-8 (checked above). Every line of the batch into one buffer, one write.
        let text_all = std::str::from_utf8(data).map_err(io::Error::other)?;
        let mut head = Vec::with_capacity(64);
        log_head(&mut head, node, *attempt, *stream);
        head.extend_from_slice(br#","line":"#);
        text.reserve(data.len() + data.len() / 4);
        let mut marks = redacted.iter().peekable();
        let mut at = 0;
        while at < data.len() {
            let end = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |k| at + k);
            // Split at a line break: still a `str` boundary.
            let line = &text_all[at..end];
            text.extend_from_slice(&head);
            crate::safe::json_string_into(&mut text, line);
            // The markers are sorted and never span a line break.
            let mut first = true;
            while let Some(r) = marks.next_if(|r| r.start < end) {
                if r.start < at || r.end > end {
                    continue;
                }
                text.extend_from_slice(if first { b",\"redacted\":[" } else { b"," });
                let _ = write!(text, "[{},{}]", r.start - at, r.end - at);
                first = false;
            }
            if !first {
                text.push(b']');
            }
            if end == data.len() {
                text.extend_from_slice(b",\"partial\":true");
            }
            match t {
                Some(t) => {
                    let _ = write!(text, ",\"t\":{t}}}");
                }
                None => text.push(b'}'),
            }
            text.push(b'\n');
            at = end + 1;
        }
        return out.write_all(&text);
    }
    serde_json::to_writer(&mut text, e).map_err(io::Error::other)?;
    stamp(&mut text);
    emit(out, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_of(e: &Event) -> serde_json::Value {
        serde_json::to_value(e).expect("serialises")
    }

    #[test]
    fn run_started_carries_the_wall_clock_and_old_records_still_read() {
        let old = r#"{"event":"run_started","run_id":"r","workflow":"w","record":"/x","nodes":[],"inputs":{},"t":0}"#;
        match serde_json::from_str::<Event>(old).expect("an old record reads") {
            Event::RunStarted { started, .. } => assert_eq!(started, None),
            other => panic!("{other:?}"),
        }
        let new = r#"{"event":"run_started","run_id":"r","workflow":"w","record":"/x","nodes":[],"inputs":{},"started":"2026-12-02T11:47:37.123Z"}"#;
        let e: Event = serde_json::from_str(new).expect("reads");
        assert_eq!(json_of(&e)["started"], "2026-12-02T11:47:37.123Z");
        let mut out = Vec::new();
        write_logged(&mut out, &e, 5).expect("written");
        let line = String::from_utf8(out).expect("utf-8");
        assert!(
            line.contains(r#""started":"2026-12-02T11:47:37.123Z""#) && line.contains(r#""t":5"#),
            "{line}"
        );
    }

    /// The event log's and `--json`'s writing of a log batch as it was before issue 16 (serde's
    /// escaping, then `safe::json` over the whole object): the one-pass writers must give the
    /// same bytes.
    fn reference_logged(e: &Event, t: u64) -> Vec<u8> {
        let e = text_safe_copy(e).unwrap_or_else(|| e.clone());
        let Event::NodeLog {
            node,
            attempt,
            stream,
            data,
            redacted,
        } = &e
        else {
            unreachable!()
        };
        let mut text = br#"{"event":"node_log","node":"#.to_vec();
        serde_json::to_writer(&mut text, &**node).unwrap();
        write!(
            text,
            ",\"attempt\":{attempt},\"stream\":\"{}\"",
            stream.as_str()
        )
        .unwrap();
        text.extend_from_slice(br#","lines":"#);
        serde_json::to_writer(&mut text, std::str::from_utf8(data).unwrap()).unwrap();
        if !redacted.is_empty() {
            text.extend_from_slice(b",\"redacted\":");
            let r: Vec<[usize; 2]> = redacted.iter().map(|r| [r.start, r.end]).collect();
            serde_json::to_writer(&mut text, &r).unwrap();
        }
        write!(text, ",\"t\":{t}}}").unwrap();
        let mut out = crate::safe::json(std::str::from_utf8(&text).unwrap())
            .into_owned()
            .into_bytes();
        out.push(b'\n');
        out
    }

    fn reference_json(e: &Event, t: Option<u64>) -> Vec<u8> {
        let e = text_safe_copy(e).unwrap_or_else(|| e.clone());
        let Event::NodeLog {
            node,
            attempt,
            stream,
            data,
            redacted,
        } = &e
        else {
            unreachable!()
        };
        let mut out = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let end = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |k| at + k);
            let mut text = br#"{"event":"node_log","node":"#.to_vec();
            serde_json::to_writer(&mut text, &**node).unwrap();
            write!(
                text,
                ",\"attempt\":{attempt},\"stream\":\"{}\"",
                stream.as_str()
            )
            .unwrap();
            text.extend_from_slice(br#","line":"#);
            serde_json::to_writer(&mut text, std::str::from_utf8(&data[at..end]).unwrap()).unwrap();
            let inside: Vec<String> = redacted
                .iter()
                .filter(|r| r.start >= at && r.end <= end)
                .map(|r| format!("[{},{}]", r.start - at, r.end - at))
                .collect();
            if !inside.is_empty() {
                write!(text, ",\"redacted\":[{}]", inside.join(",")).unwrap();
            }
            if end == data.len() {
                text.extend_from_slice(b",\"partial\":true");
            }
            text.push(b'}');
            if let Some(t) = t {
                text.pop();
                write!(text, ",\"t\":{t}}}").unwrap();
            }
            out.extend_from_slice(
                crate::safe::json(std::str::from_utf8(&text).unwrap()).as_bytes(),
            );
            out.push(b'\n');
            at = end + 1;
        }
        out
    }

    fn log(node: &str, data: &[u8], redacted: Vec<std::ops::Range<usize>>) -> Event {
        Event::NodeLog {
            node: node.into(),
            attempt: 3,
            stream: Stream::Stderr,
            data: data.to_vec(),
            redacted,
        }
    }

    #[test]
    fn log_batches_are_written_as_serde_and_safe_json_wrote_them() {
        let cases = [
            log("svc", b"", vec![]),
            log("svc", b"\n", vec![]),
            log("svc", b"one *** two\nthree\nfour ***", vec![4..7, 23..26]),
            log("svc", b"plain line\nanother one\n", vec![]),
            log(
                "we\"ird\u{202e}",
                b"q\"uote\\ \x1b[31m\x7f\r\n\t\x00\x08\x0c\n",
                vec![],
            ),
            log(
                "svc",
                "c1 \u{9b}2J bidi \u{2066}x\u{2069} tag \u{e0041} é 日本 👩‍💻\n".as_bytes(),
                vec![],
            ),
            // Not UTF-8: written as `text_safe` makes it (U+FFFD, the marker moved).
            log(
                "svc",
                b"bad \xff\xfe *** end\nok\n",
                std::iter::once(9..12).collect(),
            ),
            log("svc", b"a\n\n\nb", vec![]),
        ];
        for e in &cases {
            let mut out = Vec::new();
            write_logged(&mut out, e, 77).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&reference_logged(e, 77)),
                "{e:?}"
            );
            for t in [None, Some(5)] {
                let mut out = Vec::new();
                write_json(&mut out, e, t).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&reference_json(e, t)),
                    "{e:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        #[test]
        fn any_log_batch_is_written_as_before(
            data in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::sample::select(&b"\n\n\n\"\\\t*ab"[..]),
                ],
                0..120,
            ),
            node in "\\PC{1,6}",
            t in proptest::prelude::any::<u64>(),
        ) {
            // Markers as the redactor writes them: `***` runs within lines.
            let mut redacted = Vec::new();
            let mut at = 0;
            while let Some(k) = memchr::memmem::find(&data[at..], b"***") {
                redacted.push(at + k..at + k + 3);
                at += k + 3;
            }
            let e = log(&node, &data, redacted);
            let mut out = Vec::new();
            write_logged(&mut out, &e, t).unwrap();
            proptest::prop_assert_eq!(&out, &reference_logged(&e, t));
            let mut out = Vec::new();
            write_json(&mut out, &e, Some(t)).unwrap();
            proptest::prop_assert_eq!(&out, &reference_json(&e, Some(t)));
        }
    }

    #[test]
    fn attempts_are_flat_fields_of_node_started() {
        let e = Event::NodeStarted {
            node: "poll".into(),
            attempt: Attempt {
                attempt: 4,
                iteration: 3,
                try_no: 2,
                tries: 3,
            },
            pid: None,
        };
        assert_eq!(
            json_of(&e),
            json!({"event": "node_started", "node": "poll", "attempt": 4, "iteration": 3,
                   "try": 2, "tries": 3, "pid": null})
        );
    }

    #[test]
    fn control_flow_events_have_the_documented_shape() {
        let e = Event::GatewayDecision {
            node: "check".into(),
            iteration: 2,
            conditions: vec![
                ConditionResult {
                    edge: 5,
                    to: "report".into(),
                    value: Some(false),
                    default: false,
                    error: None,
                },
                ConditionResult {
                    edge: 6,
                    to: "wait".into(),
                    value: None,
                    default: true,
                    error: None,
                },
            ],
            taken: Some(6),
            reason: None,
        };
        assert_eq!(
            json_of(&e),
            json!({"event": "gateway_decision", "node": "check", "iteration": 2,
                   "conditions": [
                       {"edge": 5, "to": "report", "value": false, "default": false, "error": null},
                       {"edge": 6, "to": "wait", "value": null, "default": true, "error": null}],
                   "taken": 6, "reason": null})
        );
        let e = Event::RetryScheduled {
            node: "flaky".into(),
            attempt: 1,
            next: Attempt {
                attempt: 2,
                iteration: 1,
                try_no: 2,
                tries: 3,
            },
            delay_ms: 500,
            at: "2026-12-01T23:40:00.000Z".into(),
        };
        assert_eq!(
            json_of(&e),
            json!({"event": "retry_scheduled", "node": "flaky", "attempt": 1,
                   "next": {"attempt": 2, "iteration": 1, "try": 2, "tries": 3},
                   "delay_ms": 500, "at": "2026-12-01T23:40:00.000Z"})
        );
        let e = Event::EdgeTaken {
            edge: 0,
            from: "start".into(),
            to: "a".into(),
        };
        assert_eq!(
            json_of(&e),
            json!({"event": "edge_taken", "edge": 0, "from": "start", "to": "a"})
        );
    }
}
