//! A hub execution's log as node log lines: each entry once across polls (the API answers
//! with the whole log, or a window of it, every time), with its severity.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use super::api::LogEntry;
use crate::engine::event::Stream;

/// The entries already passed on, by a hash of (timestamp, severity, message) and how many
/// times that entry was seen in one answer, so repeated identical lines are kept and an
/// answer that repeats earlier entries adds nothing. Holds hashes only, never the text.
#[derive(Default)]
pub(super) struct Seen {
    counts: HashMap<u64, usize>,
}

impl Seen {
    /// The entries of `answer` not passed on before, in order.
    pub fn fresh<'e>(&mut self, answer: &'e [LogEntry]) -> Vec<&'e LogEntry> {
        let mut here: HashMap<u64, usize> = HashMap::new();
        let mut out = Vec::new();
        for e in answer {
            let key = key(e);
            let n = here.entry(key).or_default();
            *n += 1;
            let before = self.counts.entry(key).or_default();
            if *n > *before {
                *before = *n;
                out.push(e);
            }
        }
        out
    }
}

fn key(e: &LogEntry) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    e.hash(&mut h);
    h.finish()
}

/// The entries as lines (`SEVERITY message`, a multi-line message as several lines), by
/// stream: warnings and errors to stderr, the rest to stdout. Consecutive lines of one stream
/// make one batch.
pub(super) fn lines(entries: &[&LogEntry]) -> Vec<(Stream, String)> {
    let mut out: Vec<(Stream, String)> = Vec::new();
    for e in entries {
        let severity = e.severity.as_deref().unwrap_or("").trim();
        let stream = match severity.to_ascii_uppercase().as_str() {
            "WARNING" | "WARN" | "ERROR" | "CRITICAL" => Stream::Stderr,
            _ => Stream::Stdout,
        };
        let message = e.message.as_deref().unwrap_or("");
        let message = message.strip_suffix('\n').unwrap_or(message);
        let mut text = String::new();
        for line in message.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if !severity.is_empty() {
                text.push_str(severity);
                text.push(' ');
            }
            text.push_str(line);
            text.push('\n');
        }
        match out.last_mut() {
            Some((s, t)) if *s == stream => t.push_str(&text),
            _ => out.push((stream, text)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(msg: &str, ts: &str) -> LogEntry {
        LogEntry {
            message: Some(msg.into()),
            severity: Some("INFO".into()),
            timestamp: Some(ts.into()),
        }
    }

    fn msgs(v: Vec<&LogEntry>) -> Vec<&str> {
        v.iter().map(|e| e.message.as_deref().unwrap()).collect()
    }

    #[test]
    fn each_entry_is_passed_on_once_across_polls() {
        let mut seen = Seen::default();
        let first = [e("a", "1"), e("b", "2")];
        assert_eq!(msgs(seen.fresh(&first)), ["a", "b"]);
        // The whole log again, grown.
        let second = [e("a", "1"), e("b", "2"), e("c", "3")];
        assert_eq!(msgs(seen.fresh(&second)), ["c"]);
        // A window of its end.
        let third = [e("c", "3"), e("d", "4")];
        assert_eq!(msgs(seen.fresh(&third)), ["d"]);
        assert!(seen.fresh(&third).is_empty());
        assert!(seen.fresh(&[]).is_empty());
    }

    #[test]
    fn identical_lines_are_kept_as_often_as_they_were_logged() {
        let mut seen = Seen::default();
        assert_eq!(msgs(seen.fresh(&[e("tick", "1")])), ["tick"]);
        let twice = [e("tick", "1"), e("tick", "1")];
        assert_eq!(msgs(seen.fresh(&twice)), ["tick"]);
        assert!(seen.fresh(&twice).is_empty());
    }

    #[test]
    fn lines_carry_their_severity_and_go_to_their_stream() {
        let warn = LogEntry {
            message: Some("low on shots\nretrying\n".into()),
            severity: Some("WARNING".into()),
            timestamp: None,
        };
        let plain = LogEntry {
            message: Some("done".into()),
            severity: None,
            timestamp: None,
        };
        let info = e("hello", "1");
        let got = lines(&[&info, &warn, &plain]);
        assert_eq!(
            got,
            [
                (Stream::Stdout, "INFO hello\n".to_string()),
                (
                    Stream::Stderr,
                    "WARNING low on shots\nWARNING retrying\n".to_string()
                ),
                (Stream::Stdout, "done\n".to_string()),
            ]
        );
    }
}
