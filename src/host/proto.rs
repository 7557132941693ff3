//! The run host's protocol, version [`PROTOCOL`]: newline-delimited JSON over the run's Unix
//! socket (`<record>/host.sock`, docs/json-events.md "Attaching").
//!
//! 1. The host checks the peer's uid (`SO_PEERCRED`): another user gets one `{"error": …}`
//!    line and the connection closes.
//! 2. The host says [`HostHello`]; the client answers [`ClientHello`] (a protocol the host does
//!    not speak gets an `{"error": …}` line naming both versions).
//! 3. An `attach` client then gets every event of the run from its start, as `--json` writes
//!    them plus `"t"` (ms since the run started), then the live ones; a `control` client gets
//!    only replies. Either may send [`Command`]s at any time; `status` is answered with a
//!    `{"reply": "status", …}` line ([`Status`]) between two events.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use zeroize::Zeroizing;

use crate::engine::{Event, NodeCommand, StopMark, Stream};

/// The protocol version this wfop speaks (host and client).
pub const PROTOCOL: u32 = 1;
/// The socket's name in the run's record folder.
pub const SOCKET: &str = "host.sock";
/// Longest socket path bound or connected to directly (the kernel's limit is 108 bytes with
/// the terminating NUL).
const SOCKET_PATH_MAX: usize = 100;

/// A path to the socket of the run recorded in `run_dir` that fits a socket address, and what
/// keeps it valid: for a record folder deep enough to make the path too long, the folder is
/// opened and reached through `/proc/self/fd/N/` (the handle must live while the path is used).
pub fn socket_path(
    run_dir: &std::path::Path,
) -> std::io::Result<(std::path::PathBuf, Option<std::fs::File>)> {
    let path = run_dir.join(SOCKET);
    if path.as_os_str().len() <= SOCKET_PATH_MAX {
        return Ok((path, None));
    }
    let dir = std::fs::File::open(run_dir)?;
    use std::os::fd::AsRawFd;
    let short = std::path::PathBuf::from(format!("/proc/self/fd/{}/{SOCKET}", dir.as_raw_fd()));
    Ok((short, Some(dir)))
}

/// What a run host calls itself in its hello.
pub const HOST_NAME: &str = "wfop-run-host";
/// What a client calls itself in its hello.
pub const CLIENT_NAME: &str = "wfop";
/// Longest line a host reads from a client (commands are short).
pub const MAX_COMMAND_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostHello {
    pub hello: String,
    pub protocol: u32,
    /// The wfop version of the host.
    pub wfop: String,
    pub run_id: String,
    pub workflow: String,
    /// The run host's pid.
    pub pid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The event stream from the run's start, then live; counted as an attached client.
    Attach,
    /// Commands and replies only (`wfop ps`, `wfop stop`).
    Control,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientHello {
    pub hello: String,
    pub protocol: u32,
    pub mode: Mode,
}

impl ClientHello {
    pub fn new(mode: Mode) -> ClientHello {
        ClientHello {
            hello: CLIENT_NAME.to_string(),
            protocol: PROTOCOL,
            mode,
        }
    }
}

/// What a client may ask of a run host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Cancel the run, as the TUI's `c` does (SIGTERM, then SIGKILL after the grace period).
    Cancel,
    /// Stop it now (SIGKILL).
    Kill,
    /// Ask for a [`Status`] reply.
    Status,
    /// Stop one node (SIGTERM, SIGKILL after the grace); the run treats it as `mark` says.
    StopNode { node: String, mark: StopMark },
    /// Start a new attempt of one node.
    RestartNode { node: String },
    /// Text for one node's stdin (never logged or recorded).
    Input { node: String, data: String },
    /// The end of one node's input.
    InputEof { node: String },
    /// The size of the terminal services on a pseudo-terminal write to.
    Resize { cols: u16, rows: u16 },
}

impl Command {
    /// The engine's command for one of the node commands, `None` for the run's own.
    pub fn into_node(self) -> Option<NodeCommand> {
        Some(match self {
            Command::Cancel | Command::Kill | Command::Status => return None,
            Command::StopNode { node, mark } => NodeCommand::Stop { node, mark },
            Command::RestartNode { node } => NodeCommand::Restart { node },
            Command::Input { node, data } => NodeCommand::Input {
                node,
                data: Zeroizing::new(data.into_bytes()),
            },
            Command::InputEof { node } => NodeCommand::InputEof { node },
            Command::Resize { cols, rows } => NodeCommand::Resize { cols, rows },
        })
    }
}

impl From<NodeCommand> for Command {
    fn from(c: NodeCommand) -> Command {
        match c {
            NodeCommand::Stop { node, mark } => Command::StopNode { node, mark },
            NodeCommand::Restart { node } => Command::RestartNode { node },
            NodeCommand::Input { node, data } => Command::Input {
                node,
                data: String::from_utf8_lossy(&data).into_owned(),
            },
            NodeCommand::InputEof { node } => Command::InputEof { node },
            NodeCommand::Resize { cols, rows } => Command::Resize { cols, rows },
        }
    }
}

/// The reply to `status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub run_id: String,
    pub workflow: String,
    /// `running`, or how the run ended (`succeeded`, `failed`, `cancelled`, `interrupted`).
    pub state: String,
    /// Attached clients (`attach` mode), this one included when it is one.
    pub clients: usize,
    /// The run host's pid.
    pub pid: u32,
}

/// One line from a run host, or from a record's event log.
#[derive(Debug)]
pub enum Incoming {
    /// An event; `t`: ms since the run started (absent in `--json` output).
    Event {
        t: Option<u64>,
        event: Event,
    },
    Status(Status),
    /// The host refused the client, or cannot go on with it.
    Error(String),
}

/// A `node_log` object: one line (`line`, as `--json` writes it) or a batch (`lines`, as the
/// event log and the socket carry it).
#[derive(Deserialize)]
struct LogLine<'a> {
    node: Arc<str>,
    attempt: u32,
    stream: Stream,
    #[serde(borrow, default)]
    line: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    lines: Option<Cow<'a, str>>,
    #[serde(default)]
    redacted: Vec<[usize; 2]>,
    #[serde(default)]
    partial: bool,
    t: Option<u64>,
}

const LOG_HEAD: &[u8] = br#"{"event":"node_log","#;

/// Parses one line (without its `\n`). Log lines, the most of a stream, take a short path.
pub fn parse_line(line: &[u8]) -> Result<Incoming, String> {
    if line.starts_with(LOG_HEAD) {
        if let Some(fast) = fast_log(line) {
            return Ok(fast);
        }
        return serde_log(line);
    }
    let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    if v.get("event").is_some() {
        let t = v.get("t").and_then(serde_json::Value::as_u64);
        let event = Event::deserialize(v).map_err(|e| e.to_string())?;
        return Ok(Incoming::Event { t, event });
    }
    if let Some(e) = v.get("error").and_then(serde_json::Value::as_str) {
        return Ok(Incoming::Error(e.to_string()));
    }
    if v.get("reply").and_then(serde_json::Value::as_str) == Some("status") {
        return Status::deserialize(v)
            .map(Incoming::Status)
            .map_err(|e| e.to_string());
    }
    Err("a line the protocol does not know".to_string())
}

/// A `node_log` object read by serde (what [`fast_log`] leaves).
fn serde_log(line: &[u8]) -> Result<Incoming, String> {
    let l: LogLine = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let (mut data, batch) = match (l.lines, l.line) {
        (Some(lines), _) => (lines.into_owned().into_bytes(), true),
        (None, Some(line)) => (line.into_owned().into_bytes(), false),
        (None, None) => return Err("a node_log without its line".to_string()),
    };
    let end = data.len();
    let redacted = l
        .redacted
        .iter()
        .filter(|[a, b]| a < b && *b <= end)
        .map(|[a, b]| *a..*b)
        .collect();
    if !batch && !l.partial {
        data.push(b'\n');
    }
    Ok(Incoming::Event {
        t: l.t,
        event: Event::NodeLog {
            node: l.node,
            attempt: l.attempt,
            stream: l.stream,
            data,
            redacted,
        },
    })
}

/// A `node_log` object read in one pass, its text unescaped straight into the event's bytes
/// (serde goes through a scratch buffer, a copy and a UTF-8 check: most of a flood's cost in
/// the client). Only the shape the event log and the socket carry: string, number, boolean and
/// `[[a, b], …]` values; anything else (or a malformed line) gives `None`, and serde reads it.
fn fast_log(line: &[u8]) -> Option<Incoming> {
    let mut r = Json { s: line, at: 0 };
    r.eat(b'{')?;
    let (mut node, mut attempt, mut stream, mut t) = (None, None, None, None);
    let (mut lines, mut single, mut partial) = (None, None, false);
    let mut redacted = Vec::new();
    // Keys seen, as bits: a key twice is left to serde (which refuses it).
    let mut seen = 0u16;
    loop {
        let mut key = Vec::new();
        r.string(&mut key)?;
        r.eat(b':')?;
        const KEYS: [&[u8]; 9] = [
            b"event",
            b"node",
            b"attempt",
            b"t",
            b"stream",
            b"lines",
            b"line",
            b"partial",
            b"redacted",
        ];
        let bit = 1 << KEYS.iter().position(|k| *k == key.as_slice())?;
        (seen & bit == 0).then_some(())?;
        seen |= bit;
        match key.as_slice() {
            b"event" => {
                let mut v = Vec::new();
                r.string(&mut v)?;
                (v == b"node_log").then_some(())?;
            }
            b"node" => {
                let mut v = Vec::new();
                r.string(&mut v)?;
                node = Some(Arc::<str>::from(String::from_utf8(v).ok()?));
            }
            b"attempt" => attempt = Some(u32::try_from(r.number()?).ok()?),
            b"t" => t = Some(r.number()?),
            b"stream" => {
                let mut v = Vec::new();
                r.string(&mut v)?;
                stream = Some(match v.as_slice() {
                    b"stdout" => Stream::Stdout,
                    b"stderr" => Stream::Stderr,
                    _ => return None,
                });
            }
            b"lines" | b"line" => {
                let mut v = Vec::with_capacity(line.len());
                r.string(&mut v)?;
                match key.as_slice() {
                    b"lines" => lines = Some(v),
                    _ => single = Some(v),
                }
            }
            b"partial" => partial = r.boolean()?,
            b"redacted" => {
                r.eat(b'[')?;
                if !r.eat_if(b']') {
                    loop {
                        r.eat(b'[')?;
                        let a = usize::try_from(r.number()?).ok()?;
                        r.eat(b',')?;
                        let b = usize::try_from(r.number()?).ok()?;
                        r.eat(b']')?;
                        redacted.push([a, b]);
                        if r.eat_if(b']') {
                            break;
                        }
                        r.eat(b',')?;
                    }
                }
            }
            _ => return None,
        }
        if r.eat_if(b'}') {
            break;
        }
        r.eat(b',')?;
    }
    (r.at == line.len()).then_some(())?;
    // `lines` wins over `line`, as in `LogLine`.
    let (mut data, batch) = match (lines, single) {
        (Some(lines), _) => (lines, true),
        (None, Some(line)) => (line, false),
        (None, None) => return None,
    };
    let end = data.len();
    let redacted = redacted
        .iter()
        .filter(|[a, b]| a < b && *b <= end)
        .map(|[a, b]| *a..*b)
        .collect();
    if !batch && !partial {
        data.push(b'\n');
    }
    Some(Incoming::Event {
        t,
        event: Event::NodeLog {
            node: node?,
            attempt: attempt?,
            stream: stream?,
            data,
            redacted,
        },
    })
}

/// The reader of [`fast_log`]: no whitespace (the writer leaves none), `None` on anything else.
struct Json<'a> {
    s: &'a [u8],
    at: usize,
}

impl Json<'_> {
    fn eat_if(&mut self, b: u8) -> bool {
        let hit = self.s.get(self.at) == Some(&b);
        self.at += usize::from(hit);
        hit
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        self.eat_if(b).then_some(())
    }

    fn number(&mut self) -> Option<u64> {
        let digits = self.s[self.at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        // JSON has no leading zeros.
        if digits == 0 || digits > 20 || (digits > 1 && self.s[self.at] == b'0') {
            return None;
        }
        let n = std::str::from_utf8(&self.s[self.at..self.at + digits])
            .ok()?
            .parse()
            .ok()?;
        self.at += digits;
        Some(n)
    }

    fn boolean(&mut self) -> Option<bool> {
        for (word, v) in [(&b"true"[..], true), (&b"false"[..], false)] {
            if self.s[self.at..].starts_with(word) {
                self.at += word.len();
                return Some(v);
            }
        }
        None
    }

    /// A string, unescaped onto `out` (its bytes as they are: the text is UTF-8 when the line
    /// is, and a log's bytes need not be).
    fn string(&mut self, out: &mut Vec<u8>) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let rest = &self.s[self.at..];
            let k = memchr::memchr2(b'"', b'\\', rest)?;
            // A raw control character is not JSON.
            if rest[..k].iter().fold(false, |bad, &b| bad | (b < 0x20)) {
                return None;
            }
            out.extend_from_slice(&rest[..k]);
            self.at += k + 1;
            if rest[k] == b'"' {
                return Some(());
            }
            let e = *self.s.get(self.at)?;
            self.at += 1;
            let c = match e {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hi = self.hex4()?;
                    let code = if (0xd800..0xdc00).contains(&hi) {
                        self.eat(b'\\')?;
                        self.eat(b'u')?;
                        let lo = self.hex4()?;
                        (0xdc00..0xe000).contains(&lo).then_some(())?;
                        0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                    } else {
                        hi
                    };
                    char::from_u32(code)?
                }
                _ => return None,
            };
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.at..self.at + 4)?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        self.at += 4;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }
}

/// A JSON line (with its `\n`) of `value`.
pub fn line(value: &impl Serialize) -> String {
    let mut s = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

/// The `{"error": …}` line.
pub fn error_line(message: &str) -> String {
    line(&serde_json::json!({ "error": message }))
}

/// The `{"reply": "status", …}` line.
pub fn status_line(s: &Status) -> String {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("reply".to_string(), "status".into());
    }
    line(&v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::write_json;

    #[test]
    fn node_commands_travel_as_snake_case_objects_and_come_back_as_the_engine_s() {
        let c: Command =
            serde_json::from_str(r#"{"command":"stop_node","node":"a","mark":"failed"}"#).unwrap();
        assert_eq!(
            c.clone().into_node(),
            Some(NodeCommand::Stop {
                node: "a".into(),
                mark: StopMark::Failed
            })
        );
        let back = serde_json::to_string(&c).unwrap();
        assert_eq!(
            back,
            r#"{"command":"stop_node","node":"a","mark":"failed"}"#
        );
        let typed = Command::from(NodeCommand::Input {
            node: "b".into(),
            data: Zeroizing::new(b"yes\n".to_vec()),
        });
        assert_eq!(
            serde_json::to_string(&typed).unwrap(),
            r#"{"command":"input","node":"b","data":"yes\n"}"#
        );
        assert_eq!(
            serde_json::to_string(&Command::Cancel).unwrap(),
            r#"{"command":"cancel"}"#
        );
        assert!(Command::Status.into_node().is_none());
        assert!(serde_json::from_str::<Command>(r#"{"command":"stop_node","node":"a"}"#).is_err());
    }

    fn lines_of(e: &Event, t: Option<u64>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        write_json(&mut out, e, t).unwrap();
        out.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// A batch of log lines crosses as one `node_log` per line and comes back as the same
    /// lines, with the redactor's markers where they were and a last piece still partial.
    #[test]
    fn log_batches_cross_line_by_line() {
        let data = b"one *** two\nthree\nfour ***".to_vec();
        let e = Event::NodeLog {
            node: "svc".into(),
            attempt: 2,
            stream: Stream::Stderr,
            data: data.clone(),
            redacted: vec![4..7, 23..26],
        };
        let lines = lines_of(&e, Some(42));
        assert_eq!(lines.len(), 3);
        let mut back = Vec::new();
        let mut marks = Vec::new();
        for l in &lines {
            match parse_line(l).unwrap() {
                Incoming::Event {
                    t: Some(42),
                    event:
                        Event::NodeLog {
                            node,
                            attempt: 2,
                            stream: Stream::Stderr,
                            data,
                            redacted,
                        },
                } if &*node == "svc" => {
                    marks.extend(
                        redacted
                            .iter()
                            .map(|r| r.start + back.len()..r.end + back.len()),
                    );
                    back.extend_from_slice(&data);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(back, data);
        assert_eq!(marks, vec![4..7, 23..26]);
    }

    /// The event log keeps a batch as one object; it comes back whole.
    #[test]
    fn logged_batches_come_back_whole() {
        let data = b"one *** two\nthree\nfour ***".to_vec();
        let e = Event::NodeLog {
            node: "svc".into(),
            attempt: 1,
            stream: Stream::Stdout,
            data: data.clone(),
            redacted: vec![4..7, 23..26],
        };
        let mut out = Vec::new();
        crate::engine::write_logged(&mut out, &e, 9).unwrap();
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        match parse_line(&out[..out.len() - 1]).unwrap() {
            Incoming::Event {
                t: Some(9),
                event: Event::NodeLog {
                    data: d, redacted, ..
                },
            } => {
                assert_eq!(d, data);
                assert_eq!(redacted, vec![4..7, 23..26]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_events_replies_and_errors_parse() {
        let e = Event::NodeSkipped {
            node: "b".into(),
            reason: "not taken".into(),
        };
        let l = &lines_of(&e, Some(7))[0];
        assert!(l.ends_with(br#","t":7}"#), "{}", String::from_utf8_lossy(l));
        match parse_line(l).unwrap() {
            Incoming::Event {
                t: Some(7),
                event: Event::NodeSkipped { node, reason },
            } => assert_eq!((&*node, reason.as_str()), ("b", "not taken")),
            other => panic!("{other:?}"),
        }
        let s = Status {
            run_id: "r".into(),
            workflow: "w".into(),
            state: "running".into(),
            clients: 2,
            pid: 9,
        };
        let l = status_line(&s);
        match parse_line(l.trim_end().as_bytes()).unwrap() {
            Incoming::Status(s) => assert_eq!((s.clients, s.state.as_str()), (2, "running")),
            other => panic!("{other:?}"),
        }
        match parse_line(error_line("refused").trim_end().as_bytes()).unwrap() {
            Incoming::Error(m) => assert_eq!(m, "refused"),
            other => panic!("{other:?}"),
        }
        assert!(parse_line(b"{\"what\":1}").is_err());
        assert!(parse_line(b"not json").is_err());
    }

    /// A service queued on a cluster crosses in its documented shape (docs/json-events.md),
    /// with its job id or without it, and comes back as the engine sent it.
    #[test]
    fn node_queued_crosses_with_and_without_its_job() {
        let attempt = crate::engine::Attempt {
            attempt: 2,
            iteration: 1,
            try_no: 2,
            tries: 3,
        };
        for job in [None, Some("123.0".to_string())] {
            let e = Event::NodeQueued {
                node: "sim".into(),
                attempt,
                executor: "slurm".into(),
                job: job.clone(),
            };
            let l = &lines_of(&e, Some(40))[0];
            let mut want = serde_json::json!({"event": "node_queued", "node": "sim",
                "attempt": 2, "iteration": 1, "try": 2, "tries": 3, "executor": "slurm",
                "t": 40});
            if let Some(j) = &job {
                want["job"] = j.clone().into();
            }
            let got: serde_json::Value = serde_json::from_slice(l).unwrap();
            assert_eq!(got, want);
            match parse_line(l).unwrap() {
                Incoming::Event {
                    t: Some(40),
                    event:
                        Event::NodeQueued {
                            node,
                            attempt: a,
                            executor,
                            job: j,
                        },
                } => {
                    assert_eq!((&*node, a, executor.as_str()), ("sim", attempt, "slurm"));
                    assert_eq!(j, job);
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[cfg(test)]
mod fast_log_tests {
    use super::*;
    use crate::engine::{write_json, write_logged};
    use proptest::prelude::*;

    fn both(line: &[u8]) -> (String, String) {
        let fast = fast_log(line).map(|i| format!("{:?}", Ok::<_, String>(i)));
        let slow = format!("{:?}", serde_log(line));
        (fast.unwrap_or_else(|| "fast path declined".into()), slow)
    }

    proptest! {
        /// What the host writes (a batch, `write_logged`) and what `--json` writes (a line,
        /// `write_json`) read the same by the one-pass reader as by serde: every text, every
        /// escape, markers, partial lines.
        #[test]
        fn the_one_pass_reader_reads_what_serde_reads(
            text in "(?s).{0,80}",
            node in "[a-z\"\\\\é\u{7f}]{1,8}",
            marks in proptest::collection::vec((0usize..90, 0usize..90), 0..4),
            attempt in 0u32..5,
            t in 0u64..u64::MAX,
            stderr in any::<bool>(),
        ) {
            let mut redacted: Vec<_> = marks.iter().map(|&(a, b)| a.min(b)..a.max(b)).collect();
            redacted.sort_by_key(|r| r.start);
            let e = Event::NodeLog {
                node: node.as_str().into(),
                attempt,
                stream: if stderr { Stream::Stderr } else { Stream::Stdout },
                data: text.clone().into_bytes(),
                redacted,
            };
            let mut logged = Vec::new();
            write_logged(&mut logged, &e, t).unwrap();
            let mut json = Vec::new();
            write_json(&mut json, &e, Some(t)).unwrap();
            for line in logged.split(|&b| b == b'\n').chain(json.split(|&b| b == b'\n')) {
                if line.is_empty() {
                    continue;
                }
                prop_assert!(fast_log(line).is_some(), "declined {}", String::from_utf8_lossy(line));
                let (fast, slow) = both(line);
                prop_assert_eq!(fast, slow);
            }
        }
    }

    #[test]
    fn escapes_and_odd_shapes() {
        let read = |s: &str| {
            let (fast, slow) = both(s.as_bytes());
            assert_eq!(fast, slow, "{s}");
        };
        read(
            r#"{"event":"node_log","node":"a","attempt":1,"stream":"stdout","lines":"\u00e9\ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t\u001b[1m","t":5}"#,
        );
        read(
            r#"{"event":"node_log","node":"a","attempt":1,"stream":"stderr","line":"x","partial":true,"redacted":[[0,1]]}"#,
        );
        read(
            r#"{"event":"node_log","node":"a","attempt":1,"stream":"stdout","line":"x","lines":"y\n","t":1}"#,
        );
        read(
            r#"{"event":"node_log","node":"a","attempt":1,"stream":"stdout","lines":"y\n","redacted":[],"t":1}"#,
        );
        // Left to serde: whitespace, a key twice, an unknown key, a lone surrogate, a raw
        // control character, a number it cannot hold, trailing bytes.
        for odd in [
            r#"{"event":"node_log", "node":"a","attempt":1,"stream":"stdout","lines":"y","t":1}"#,
            r#"{"event":"node_log","node":"a","node":"b","attempt":1,"stream":"stdout","lines":"y"}"#,
            r#"{"event":"node_log","node":"a","attempt":1,"stream":"stdout","lines":"y","more":2}"#,
            r#"{"event":"node_log","node":"a","attempt":1,"stream":"stdout","lines":"\ud800"}"#,
            "{\"event\":\"node_log\",\"node\":\"a\",\"attempt\":1,\"stream\":\"stdout\",\"lines\":\"\u{1}\"}",
            r#"{"event":"node_log","node":"a","attempt":99999999999,"stream":"stdout","lines":"y"}"#,
            r#"{"event":"node_log","node":"a","attempt":01,"stream":"stdout","lines":"y"}"#,
            r#"{"event":"node_log","node":"a","attempt":1,"stream":"stdout","lines":"y"}x"#,
        ] {
            assert!(fast_log(odd.as_bytes()).is_none(), "{odd}");
        }
    }
}
