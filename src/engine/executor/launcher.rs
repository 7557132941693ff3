//! The Slurm launcher's two ends on wfop's side: the script srun runs (`launcher.sh`, carried
//! on srun's command line, holding no secret), the secrets header wfop writes to srun's stdin
//! for it, and the scanner that takes its control lines (started, heartbeat, exit status) out
//! of the step's stderr before the redactor or anything else sees the stream.

use std::sync::LazyLock;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

const SCRIPT: &str = include_str!("launcher.sh");

/// The script as srun carries it: without its comments and indentation (what `ps` shows of a
/// step stays short).
pub(crate) static LAUNCHER: LazyLock<String> = LazyLock::new(|| {
    SCRIPT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
});

/// `$0` of the launcher's shell: how its processes are named in `ps`.
pub(crate) const ARGV0: &str = "wfop-launch";

/// What starts every control line: an ASCII record separator, `WFOP:`, the run's token, `:`.
const MARK: &[u8] = b"\x1eWFOP:";
/// A control line longer than this is not the launcher's (it is passed on as output).
const MAX_MSG: usize = 200;

/// A run's random token (32 hex digits): a control line without it is output like any other.
pub(crate) fn token() -> std::io::Result<String> {
    let mut b = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The secrets header for the launcher: the count, then `SECRET_<NAME>=VALUE` lines with `\`
/// written `\\` and a newline `\n` (the launcher's `printf %b` turns them back). Wiped when
/// dropped. A value with a NUL cannot be in an environment: an error naming the variable.
pub(crate) fn header(secrets: &[(String, &SecretString)]) -> Result<Zeroizing<Vec<u8>>, String> {
    let room: usize = secrets
        .iter()
        .map(|(n, v)| n.len() + 2 * v.expose_secret().len() + 2)
        .sum::<usize>()
        + 12;
    let mut out = Zeroizing::new(Vec::with_capacity(room));
    out.extend_from_slice(secrets.len().to_string().as_bytes());
    out.push(b'\n');
    for (name, value) in secrets {
        let v = value.expose_secret().as_bytes();
        if v.contains(&0) {
            return Err(format!(
                "the value for `{name}` holds a NUL character, which no environment can carry"
            ));
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        for &c in v {
            match c {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                c => out.push(c),
            }
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// A control line of the launcher's.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Msg {
    /// The service is about to start on a compute node: `<job>.<step>` as Slurm named them.
    Started(String),
    Heartbeat,
    /// The service's exit status as the shell saw it (128 + N: killed by signal N).
    Exit(i32),
    /// The launcher could not start the service (a broken header).
    Error(String),
}

impl Msg {
    fn parse(text: &[u8]) -> Option<Msg> {
        let text = std::str::from_utf8(text).ok()?;
        let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
        Some(match word {
            "started" => Msg::Started(rest.to_string()),
            "hb" => Msg::Heartbeat,
            "exit" => Msg::Exit(rest.parse().ok()?),
            "error" => Msg::Error(rest.to_string()),
            _ => return None,
        })
    }
}

/// Takes the control lines tagged with one run's token out of a byte stream, wherever they
/// stand (a service's last line need not end in a newline before the exit line comes): the
/// rest comes out byte for byte, whatever the reads' boundaries.
pub(crate) struct Scanner {
    /// `MARK` + token + `:`.
    tag: Vec<u8>,
    /// The stream's last bytes, while they may be the start of a tag.
    held: Zeroizing<Vec<u8>>,
    /// Inside a control line: its text so far.
    msg: Option<Vec<u8>>,
}

impl Scanner {
    pub(crate) fn new(token: &str) -> Scanner {
        let mut tag = MARK.to_vec();
        tag.extend_from_slice(token.as_bytes());
        tag.push(b':');
        Scanner {
            tag,
            held: Zeroizing::new(Vec::new()),
            msg: None,
        }
    }

    /// Scans `input`: output bytes are appended to `out`, control lines to `msgs`.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>, msgs: &mut Vec<Msg>) {
        if self.held.is_empty() {
            self.scan(input, out, msgs);
        } else {
            let mut data = Zeroizing::new(std::mem::take(&mut *self.held));
            data.extend_from_slice(input);
            self.scan(&data, out, msgs);
        }
    }

    /// The end of the stream: bytes held as a possible tag were output after all (a control
    /// line cut short is dropped: it was the launcher's).
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.held);
        self.held.clear();
        self.msg = None;
    }

    fn scan(&mut self, mut data: &[u8], out: &mut Vec<u8>, msgs: &mut Vec<Msg>) {
        loop {
            if let Some(msg) = &mut self.msg {
                match memchr::memchr(b'\n', data) {
                    Some(i) => {
                        msg.extend_from_slice(&data[..i]);
                        let text = self.msg.take().unwrap_or_default();
                        match (text.len() <= MAX_MSG).then(|| Msg::parse(&text)).flatten() {
                            Some(m) => msgs.push(m),
                            // Not the launcher's after all: passed on as it came.
                            None => {
                                out.extend_from_slice(&self.tag);
                                out.extend_from_slice(&text);
                                out.push(b'\n');
                            }
                        }
                        data = &data[i + 1..];
                        continue;
                    }
                    None => {
                        msg.extend_from_slice(data);
                        if msg.len() > MAX_MSG {
                            let text = self.msg.take().unwrap_or_default();
                            out.extend_from_slice(&self.tag);
                            out.extend_from_slice(&text);
                        }
                        return;
                    }
                }
            }
            let Some(at) = memchr::memchr(MARK[0], data) else {
                out.extend_from_slice(data);
                return;
            };
            out.extend_from_slice(&data[..at]);
            let rest = &data[at..];
            if rest.len() < self.tag.len() && self.tag.starts_with(rest) {
                self.held.extend_from_slice(rest);
                return;
            }
            if rest.starts_with(&self.tag) {
                self.msg = Some(Vec::new());
                data = &rest[self.tag.len()..];
            } else {
                out.push(rest[0]);
                data = &rest[1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    const TOK: &str = "0123456789abcdef0123456789abcdef";

    fn ctl(text: &str) -> Vec<u8> {
        format!("\x1eWFOP:{TOK}:{text}\n").into_bytes()
    }

    /// Feeds `stream` cut at every `cuts` boundary; returns the output and the messages.
    fn scan_in_pieces(stream: &[u8], cut: usize) -> (Vec<u8>, Vec<Msg>) {
        let mut s = Scanner::new(TOK);
        let (mut out, mut msgs) = (Vec::new(), Vec::new());
        for piece in stream.chunks(cut.max(1)) {
            s.feed(piece, &mut out, &mut msgs);
        }
        s.finish(&mut out);
        (out, msgs)
    }

    #[test]
    fn control_lines_are_taken_out_wherever_the_reads_cut_the_stream() {
        let mut stream = Vec::new();
        stream.extend(ctl("started 12.3"));
        stream.extend(b"line one\npartial without newline");
        stream.extend(ctl("hb"));
        stream.extend(b" goes on\n\x1e not a tag \x1eWFOP:other-token:exit 0\n");
        stream.extend(ctl("exit 3"));
        let want_out = b"line one\npartial without newline goes on\n\x1e not a tag \x1eWFOP:other-token:exit 0\n".to_vec();
        let want_msgs = vec![Msg::Started("12.3".into()), Msg::Heartbeat, Msg::Exit(3)];
        for cut in 1..=stream.len() {
            let (out, msgs) = scan_in_pieces(&stream, cut);
            assert_eq!(out, want_out, "cut every {cut} bytes");
            assert_eq!(msgs, want_msgs, "cut every {cut} bytes");
        }
    }

    #[test]
    fn a_tag_cut_short_at_the_end_is_output_and_an_unknown_message_passes_through() {
        let (out, msgs) = scan_in_pieces(b"abc\x1eWFOP:0123", 3);
        assert_eq!(out, b"abc\x1eWFOP:0123");
        assert!(msgs.is_empty());
        let mut stream = ctl("bogus words");
        stream.extend(ctl("exit notanumber"));
        let (out, msgs) = scan_in_pieces(&stream, 5);
        assert_eq!(out, stream, "not the launcher's: passed on as it came");
        assert!(msgs.is_empty());
        // A control line that never ends is output once it is too long to be one.
        let mut long = format!("\x1eWFOP:{TOK}:started ").into_bytes();
        long.extend(std::iter::repeat_n(b'x', 300));
        let (out, msgs) = scan_in_pieces(&long, 7);
        assert_eq!(out, long);
        assert!(msgs.is_empty());
    }

    #[test]
    fn the_header_escapes_backslashes_and_newlines_only() {
        let a = SecretString::from("p\\a\nss=wörd\r\t");
        let b = SecretString::from("");
        let h = header(&[("SECRET_A".into(), &a), ("SECRET_B".into(), &b)]).unwrap();
        assert_eq!(
            &h[..],
            "2\nSECRET_A=p\\\\a\\nss=wörd\r\t\nSECRET_B=\n".as_bytes()
        );
        let nul = SecretString::from("a\0b");
        let e = header(&[("SECRET_N".into(), &nul)]).unwrap_err();
        assert!(e.contains("SECRET_N") && !e.contains("a\0b"), "{e}");
    }

    fn launch(stdin: &[u8], service: &[&str], shell: &str) -> (i32, Vec<u8>, Vec<u8>) {
        let mut child = Command::new(shell)
            .arg("-c")
            .arg(&*LAUNCHER)
            .args([ARGV0, TOK, "1"])
            .args(service)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
    }

    fn shells() -> Vec<&'static str> {
        ["/bin/sh", "/bin/dash", "/bin/bash"]
            .into_iter()
            .filter(|s| std::path::Path::new(s).exists())
            .collect()
    }

    #[test]
    fn the_launcher_exports_the_header_runs_the_service_on_the_rest_and_reports_its_exit() {
        let values = [
            "plain",
            "back\\slash \\n not a newline",
            "two\nlines\n",
            "tab\tand ünïcode and 'quotes\" $HOME `x` %s %b \\c",
        ];
        for shell in shells() {
            for v in values {
                let s = SecretString::from(v);
                let mut stdin = header(&[("SECRET_TOKEN".into(), &s)]).unwrap().to_vec();
                stdin.extend_from_slice(b"{\"input\": 1}\nmore\n");
                let (rc, out, err) = launch(
                    &stdin,
                    &[
                        "sh",
                        "-c",
                        "printf '%s' \"$SECRET_TOKEN\"; printf '|'; cat; echo oops >&2; exit 7",
                    ],
                    shell,
                );
                assert_eq!(rc, 7, "{shell}");
                let want = format!("{v}|{{\"input\": 1}}\nmore\n");
                assert_eq!(String::from_utf8_lossy(&out), want, "{shell}");
                let (rest, msgs) = scan_in_pieces(&err, 4096);
                assert_eq!(rest, b"oops\n", "{shell}");
                assert_eq!(
                    (msgs.first(), msgs.last()),
                    (Some(&Msg::Started(".".into())), Some(&Msg::Exit(7))),
                    "{shell}: {msgs:?}"
                );
            }
        }
    }

    #[test]
    fn a_broken_header_runs_nothing() {
        for shell in shells() {
            for stdin in [&b""[..], b"x\n", b"2\nSECRET_A=1\n", b"1\nPATH=/tmp\n"] {
                let (rc, out, err) = launch(stdin, &["echo", "ran"], shell);
                assert_eq!(rc, 125, "{shell} {stdin:?}");
                assert!(out.is_empty(), "{shell} {stdin:?}");
                let (_, msgs) = scan_in_pieces(&err, 4096);
                assert!(
                    matches!(msgs.as_slice(), [Msg::Error(_)]),
                    "{shell} {stdin:?}: {msgs:?}"
                );
            }
        }
    }

    #[test]
    fn the_launcher_carries_no_comment_and_names_no_secret() {
        assert!(LAUNCHER.lines().all(|l| !l.starts_with('#')));
        assert!(LAUNCHER.len() < SCRIPT.len() / 2, "{}", LAUNCHER.len());
        assert!(!LAUNCHER.contains("\n\n"));
    }
}
