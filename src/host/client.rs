//! The client side: connecting to a live run's host (`wfop run`'s TUI, `wfop attach`, `ps`,
//! `stop`), reading a finished run's event log, and listing the live runs of a state folder.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::proto::{
    self, ClientHello, Command, HostHello, Incoming, Mode, PROTOCOL, SOCKET, Status,
};
use crate::engine::record::{self, RunDoc};

/// The client's read buffer.
const READ_BUF: usize = 256 * 1024;

/// A connection to a run host, past the hellos.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    pub host: HostHello,
    /// The run's record folder.
    pub dir: PathBuf,
}

/// Sends commands to a run host (a clone of the client's socket).
pub struct Commands(UnixStream);

impl Commands {
    pub fn send(&mut self, c: Command) -> io::Result<()> {
        self.0.write_all(proto::line(&c).as_bytes())
    }
}

/// The socket of the run recorded in `run_dir`.
pub fn socket_of(run_dir: &Path) -> PathBuf {
    run_dir.join(SOCKET)
}

impl Client {
    /// Connects to the host of the run recorded in `run_dir`. Errors are one line.
    pub fn connect(run_dir: &Path, mode: Mode) -> Result<Client, String> {
        let path = socket_of(run_dir);
        let (addr, _dir) = proto::socket_path(run_dir)
            .map_err(|e| format!("cannot reach the run's folder {}: {e}", run_dir.display()))?;
        let stream = UnixStream::connect(&addr).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                "its run host is gone (the run has ended)".to_string()
            }
            _ => format!("cannot reach its run host at {}: {e}", path.display()),
        })?;
        let writer = stream
            .try_clone()
            .map_err(|e| format!("cannot use the run host's socket: {e}"))?;
        // The hello comes at once from a live host; a wedged one must not hang the client.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        // A flood comes in pieces of up to 64 KiB of log text (one read of a service's output,
        // escaped): one read of the socket takes several.
        let mut reader = BufReader::with_capacity(READ_BUF, stream);
        let mut line = Vec::new();
        let got = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("the run host did not say hello: {e}"))?;
        if got == 0 {
            return Err("the run host closed the connection".to_string());
        }
        let v: serde_json::Value = serde_json::from_slice(&line)
            .map_err(|_| "the run host's hello is not JSON".to_string())?;
        if let Some(e) = v.get("error").and_then(serde_json::Value::as_str) {
            return Err(format!("the run host says: {e}"));
        }
        let protocol = v.get("protocol").and_then(serde_json::Value::as_u64);
        if protocol != Some(u64::from(PROTOCOL)) {
            let wfop = v
                .get("wfop")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?");
            return Err(format!(
                "the run host (wfop {wfop}) speaks protocol {}, this wfop ({}) speaks protocol \
                 {PROTOCOL}: attach with the same wfop as the one that started the run",
                protocol.map_or("?".to_string(), |p| p.to_string()),
                env!("CARGO_PKG_VERSION")
            ));
        }
        let host: HostHello =
            serde_json::from_value(v).map_err(|e| format!("the run host's hello: {e}"))?;
        let mut client = Client {
            reader,
            writer,
            host,
            dir: run_dir.to_path_buf(),
        };
        client
            .writer
            .write_all(proto::line(&ClientHello::new(mode)).as_bytes())
            .map_err(|e| format!("cannot talk to the run host: {e}"))?;
        let _ = client.reader.get_ref().set_read_timeout(None);
        Ok(client)
    }

    /// A handle that sends commands while another thread reads.
    pub fn commands(&self) -> io::Result<Commands> {
        self.writer.try_clone().map(Commands)
    }

    pub fn send(&mut self, c: Command) -> io::Result<()> {
        self.writer.write_all(proto::line(&c).as_bytes())
    }

    /// The next line (without `\n`) into `buf`; false at the end of the stream.
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        let n = self.reader.read_until(b'\n', buf)?;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        Ok(n > 0)
    }

    /// True when a whole line has already been read from the host: `next` returns it without
    /// waiting.
    pub fn line_ready(&self) -> bool {
        memchr::memchr(b'\n', self.reader.buffer()).is_some()
    }

    /// The next parsed line; `None` at the end of the stream.
    pub fn next(&mut self, buf: &mut Vec<u8>) -> Option<Result<Incoming, String>> {
        // A whole line already read is parsed where it is, without a copy.
        let read = self.reader.buffer();
        if let Some(k) = memchr::memchr(b'\n', read) {
            let parsed = proto::parse_line(&read[..k]);
            self.reader.consume(k + 1);
            return Some(parsed);
        }
        match self.next_line(buf) {
            Ok(true) => Some(proto::parse_line(buf)),
            Ok(false) => None,
            Err(e) => Some(Err(e.to_string())),
        }
    }

    /// Asks for the host's status (a `control` client).
    pub fn status(&mut self) -> Result<Status, String> {
        self.send(Command::Status).map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        loop {
            match self.next(&mut buf) {
                Some(Ok(Incoming::Status(s))) => return Ok(s),
                Some(Ok(Incoming::Error(e))) => return Err(e),
                Some(Ok(Incoming::Event { .. })) => continue,
                Some(Err(e)) => return Err(e),
                None => return Err("the run host closed the connection".to_string()),
            }
        }
    }
}

/// Reads a run's event log (`<record>/events.jsonl`): what is there, then, while the run's wfop
/// is there, each new line as it is written, until the run's end (`run_finished`) — a finished
/// run's whole stream, a live run that has no run host (`wfop run --plain`, `--json`,
/// `--stop-on-hangup`), or one whose wfop is writing its last events after `run.json` already
/// says how it ended.
pub fn tail(
    run_dir: &Path,
) -> Result<impl Iterator<Item = Result<Incoming, String>> + use<>, String> {
    /// How often a followed log is looked at again.
    const TAIL_POLL: Duration = Duration::from_millis(50);

    let dir = run_dir.to_path_buf();
    let path = run_dir.join(record::EVENTS);
    let file = std::fs::File::open(&path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            "it has no event log (it was recorded by an older wfop, or it could not be \
             written): see `wfop logs` for its logs"
                .to_string()
        } else {
            format!("cannot read {}: {e}", path.display())
        }
    })?;
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut ended = false;
    Ok(std::iter::from_fn(move || {
        loop {
            if ended {
                return None;
            }
            // A piece without `\n` stays in `buf` and is completed by the next read.
            if buf.last() == Some(&b'\n') {
                buf.clear();
            }
            match reader.read_until(b'\n', &mut buf) {
                Ok(_) if buf.last() == Some(&b'\n') => {
                    let parsed = proto::parse_line(&buf[..buf.len() - 1]);
                    if let Ok(Incoming::Event {
                        event: crate::engine::Event::RunFinished { .. },
                        ..
                    }) = &parsed
                    {
                        ended = true;
                    }
                    return Some(parsed);
                }
                Ok(_) if record::read_doc(&dir).is_ok_and(|d| d.wfop_alive()) => {
                    std::thread::sleep(TAIL_POLL);
                }
                // The end of the log (a last line without `\n` was cut off when its wfop died).
                Ok(_) => return None,
                Err(e) => {
                    ended = true;
                    return Some(Err(e.to_string()));
                }
            }
        }
    }))
}

/// The rest of a run's stream from its event log, once its host's stream ended early (the host
/// ended between a client's connect and its hello): the events after the first `seen`, when the
/// record says the run has ended; `None` while it says `running`.
pub fn rest_from_log(
    run_dir: &Path,
    seen: usize,
) -> Option<impl Iterator<Item = Result<Incoming, String>> + use<>> {
    let doc = record::read_doc(run_dir).ok()?;
    if doc.status == crate::engine::RunState::Running && doc.wfop_alive() {
        return None;
    }
    // Its wfop may still be writing the last events (a host ends after them, a connection may
    // end before): follow the log to its end.
    let events = tail(run_dir).ok()?;
    Some(
        events
            .filter(|e| matches!(e, Ok(Incoming::Event { .. })))
            .skip(seen),
    )
}

/// A live run as `wfop ps` lists it.
#[derive(Debug, Clone)]
pub struct LiveRun {
    pub doc: RunDoc,
    pub dir: PathBuf,
    /// From its host (`None`: a run without a host, e.g. `wfop run --plain`, or no answer).
    pub status: Option<Status>,
}

/// The live runs of a state folder, oldest first: records whose wfop is alive, each asked for
/// its status when it has a run host.
pub fn live_runs(state_dir: &Path) -> Vec<LiveRun> {
    record::list_runs(state_dir)
        .into_iter()
        .filter(RunDoc::is_live)
        .map(|doc| {
            let dir = state_dir.join("runs").join(&doc.run_id);
            let status = Client::connect(&dir, Mode::Control)
                .ok()
                .and_then(|mut c| c.status().ok());
            LiveRun { doc, dir, status }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixListener;

    /// A host that says `hello` and records what the client answers.
    fn fake_host(dir: &Path, hello: &str) -> std::thread::JoinHandle<Vec<u8>> {
        let (addr, _keep) = proto::socket_path(dir).unwrap();
        let listener = UnixListener::bind(addr).unwrap();
        let hello = hello.to_string();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(hello.as_bytes()).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let mut got = Vec::new();
            let _ = s.read_to_end(&mut got);
            got
        })
    }

    /// A host of another protocol version: the client says which versions and what to do, and
    /// sends nothing.
    #[test]
    fn a_host_of_another_protocol_gets_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let host = fake_host(
            dir.path(),
            "{\"hello\":\"wfop-run-host\",\"protocol\":99,\"wfop\":\"9.0.0\",\"run_id\":\"r\",\"workflow\":\"w\",\"pid\":1}\n",
        );
        let e = Client::connect(dir.path(), Mode::Attach).err().unwrap();
        assert!(
            e.contains("protocol 99") && e.contains("wfop 9.0.0") && e.contains("same wfop"),
            "{e}"
        );
        assert!(host.join().unwrap().is_empty(), "no hello sent back");
    }

    /// A refusal (another uid) is shown as the host said it; a host of this protocol gets the
    /// client's hello with its mode.
    #[test]
    fn refusals_are_shown_and_hellos_carry_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let host = fake_host(dir.path(), "{\"error\":\"refused: not yours\"}\n");
        let e = Client::connect(dir.path(), Mode::Attach).err().unwrap();
        assert!(e.contains("refused: not yours"), "{e}");
        host.join().unwrap();

        let dir = tempfile::tempdir().unwrap();
        let host = fake_host(
            dir.path(),
            "{\"hello\":\"wfop-run-host\",\"protocol\":1,\"wfop\":\"0.1.0\",\"run_id\":\"r\",\"workflow\":\"w\",\"pid\":1}\n",
        );
        let c = Client::connect(dir.path(), Mode::Control).unwrap();
        assert_eq!(c.host.run_id, "r");
        drop(c);
        let said = String::from_utf8(host.join().unwrap()).unwrap();
        assert_eq!(
            said,
            "{\"hello\":\"wfop\",\"protocol\":1,\"mode\":\"control\"}\n"
        );
    }

    /// A record folder too deep for a socket address is reached through `/proc/self/fd`.
    #[test]
    fn a_deep_record_folder_still_has_a_socket() {
        let top = tempfile::tempdir().unwrap();
        let deep = top.path().join("a".repeat(60)).join("b".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        assert!(socket_of(&deep).as_os_str().len() > 108);
        let host = fake_host(
            &deep,
            "{\"hello\":\"wfop-run-host\",\"protocol\":1,\"wfop\":\"0.1.0\",\"run_id\":\"r\",\"workflow\":\"w\",\"pid\":1}\n",
        );
        let c = Client::connect(&deep, Mode::Control).unwrap();
        drop(c);
        assert!(!host.join().unwrap().is_empty());
        assert!(socket_of(&deep).exists(), "bound where it belongs");
    }

    #[test]
    fn no_socket_means_the_host_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let e = Client::connect(dir.path(), Mode::Attach).err().unwrap();
        assert!(e.contains("run host is gone"), "{e}");
    }
}
