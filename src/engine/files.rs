//! A service's extra output files: whatever it leaves in `output/` besides `output.json` and
//! `output.txt` (the platform's `write_string_output`/`write_binary_output`, a plot, a CSV), or a
//! hub service's result files. Each is copied into the run record, **redacted** (a file is
//! output like any other: a secret in it becomes `***`), at
//! `<run>/<node>.files/<attempt>/<name>`, listed in `run.json`, the node's log and an
//! `OutputFiles` event (docs/service-protocol.md, "What a service gives back").

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::{create_private, log_file_name};
use super::redact::{Redactor, redact_counted};

/// The largest file kept (a larger one is listed with a reason and not copied).
pub(crate) const MAX_FILE: u64 = 256 * 1024 * 1024;
/// At most this many files per attempt are kept (the rest are counted in a warning).
pub(crate) const MAX_FILES: usize = 1000;

/// One kept output file, as `run.json` and the `OutputFiles` event show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputFile {
    /// The file's name as the service wrote it (redacted; non-UTF-8 bytes replaced).
    pub name: String,
    /// Its size in the record (after redaction).
    pub bytes: u64,
    /// Where it is, relative to the run's record folder (`None`: not kept, see `reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Why it was not kept (too large, not a regular file, unreadable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Secrets redacted in its content, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub redactions: BTreeMap<String, u64>,
}

/// Where one attempt's files go in the record.
pub(crate) struct FileSink<'a> {
    pub record_dir: &'a Path,
    pub node: &'a str,
    pub attempt: u32,
    pub redactor: &'a Redactor,
}

impl FileSink<'_> {
    /// `<node>.files/<attempt>` relative to the record folder.
    fn folder(&self) -> PathBuf {
        let log = log_file_name(self.node);
        let stem = log.strip_suffix(".log").unwrap_or(&log);
        PathBuf::from(format!("{stem}.files")).join(self.attempt.to_string())
    }

    /// Copies `content` (stream-redacted) into the record as `name`.
    pub(crate) fn keep(&self, name: &str, content: &mut dyn Read) -> OutputFile {
        let (shown, name_counts) = redact_counted(self.redactor, name);
        let mut file = OutputFile {
            name: shown.clone(),
            bytes: 0,
            path: None,
            reason: None,
            redactions: name_counts,
        };
        let safe = safe_name(&shown);
        let rel = self.folder().join(&safe);
        match self.copy(&rel, content) {
            Ok((bytes, counts)) => {
                for (k, n) in counts {
                    *file.redactions.entry(k).or_default() += n;
                }
                file.bytes = bytes;
                file.path = Some(rel);
            }
            Err(e) => file.reason = Some(self.redactor.redact_str(&e.to_string())),
        }
        file
    }

    fn copy(&self, rel: &Path, content: &mut dyn Read) -> io::Result<(u64, BTreeMap<String, u64>)> {
        let dir = self.record_dir.join(rel.parent().unwrap_or(Path::new("")));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        let path = self.record_dir.join(rel);
        let mut out = io::BufWriter::new(create_private(&path)?);
        let mut stream = self.redactor.stream();
        let mut buf = vec![0u8; 64 * 1024];
        let mut red = Vec::with_capacity(buf.len() + 64);
        let mut read: u64 = 0;
        let mut bytes: u64 = 0;
        loop {
            let n = match content.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    drop(out);
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            };
            read += n as u64;
            if read > MAX_FILE {
                drop(out);
                let _ = std::fs::remove_file(&path);
                return Err(io::Error::other(format!(
                    "larger than {MAX_FILE} bytes; not kept"
                )));
            }
            red.clear();
            stream.push(&buf[..n], &mut red);
            out.write_all(&red)?;
            bytes += red.len() as u64;
        }
        red.clear();
        stream.finish(&mut red);
        out.write_all(&red)?;
        bytes += red.len() as u64;
        out.flush()?;
        Ok((bytes, stream.counts()))
    }

    /// Keeps every regular file at the top of `out_dir` but `output.json`/`output.txt`, in name
    /// order. Returns them and how many were left out beyond [`MAX_FILES`].
    pub(crate) fn keep_folder(&self, out_dir: &Path) -> (Vec<OutputFile>, usize) {
        let Ok(entries) = std::fs::read_dir(out_dir) else {
            return (Vec::new(), 0);
        };
        let mut names: Vec<std::ffi::OsString> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .filter(|n| n != "output.json" && n != "output.txt")
            .collect();
        names.sort();
        let left_out = names.len().saturating_sub(MAX_FILES);
        let files = names
            .iter()
            .take(MAX_FILES)
            .map(|n| {
                let name = n.to_string_lossy();
                let path = out_dir.join(n);
                // Not followed: a link could point at any file of the operator's.
                match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.is_file() => match std::fs::File::open(&path) {
                        Ok(mut f) => self.keep(&name, &mut f),
                        Err(e) => self.not_kept(&name, format!("cannot read it: {e}")),
                    },
                    Ok(m) if m.is_dir() => self.not_kept(&name, "a folder; not kept".into()),
                    Ok(_) => self.not_kept(&name, "not a regular file; not kept".into()),
                    Err(e) => self.not_kept(&name, format!("cannot read it: {e}")),
                }
            })
            .collect();
        (files, left_out)
    }

    /// A file listed but not kept, with the reason (redacted, as its name).
    pub(crate) fn not_kept(&self, name: &str, reason: String) -> OutputFile {
        let (name, redactions) = redact_counted(self.redactor, name);
        OutputFile {
            name,
            bytes: 0,
            path: None,
            reason: Some(self.redactor.redact_str(&reason)),
            redactions,
        }
    }
}

/// The line that lists a file (in the node's log after `wfop `, in plain output):
/// `file NAME (SIZE) at PATH` (relative to the run's record folder), or why it was not kept.
pub fn note(f: &OutputFile) -> String {
    match (&f.path, &f.reason) {
        (Some(p), _) => format!(
            "file {} ({}) at {}",
            f.name,
            crate::human::bytes(f.bytes),
            p.display()
        ),
        (None, Some(r)) => format!("file {}: {r}", f.name),
        (None, None) => format!("file {}", f.name),
    }
}

/// A name safe as one path component in the record (the shown name otherwise).
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\0' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => format!("_{cleaned}"),
        _ if cleaned.len() > 200 => cleaned.chars().take(200).collect(),
        _ => cleaned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn redactor() -> Redactor {
        let r = Redactor::new();
        r.add_secret("api", &SecretString::from("s3cr3t-VALUE-42".to_string()))
            .unwrap();
        r
    }

    #[test]
    fn files_are_copied_redacted_and_listed_in_name_order() {
        let redactor = redactor();
        let out = tempfile::tempdir().unwrap();
        let rec = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("output.json"), "{}").unwrap();
        std::fs::write(out.path().join("b.csv"), "x,s3cr3t-VALUE-42\n").unwrap();
        std::fs::write(out.path().join("a.bin"), [0u8, 1, 2, 255]).unwrap();
        std::fs::create_dir(out.path().join("plots")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", out.path().join("link")).unwrap();
        let sink = FileSink {
            record_dir: rec.path(),
            node: "job",
            attempt: 2,
            redactor: &redactor,
        };
        let (files, left_out) = sink.keep_folder(out.path());
        assert_eq!(left_out, 0);
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.bin", "b.csv", "link", "plots"]);
        assert_eq!(files[0].bytes, 4);
        assert_eq!(
            std::fs::read(rec.path().join("job.files/2/a.bin")).unwrap(),
            [0u8, 1, 2, 255]
        );
        assert_eq!(
            std::fs::read_to_string(rec.path().join("job.files/2/b.csv")).unwrap(),
            "x,***\n"
        );
        assert_eq!(files[1].redactions.get("api"), Some(&1));
        assert_eq!(
            files[1].path.as_deref(),
            Some(Path::new("job.files/2/b.csv"))
        );
        assert!(files[2].path.is_none() && files[2].reason.is_some());
        assert!(files[3].reason.as_deref().unwrap().contains("folder"));
    }

    #[test]
    fn a_secret_in_a_file_name_is_redacted_too() {
        let redactor = redactor();
        let rec = tempfile::tempdir().unwrap();
        let sink = FileSink {
            record_dir: rec.path(),
            node: "job",
            attempt: 1,
            redactor: &redactor,
        };
        let f = sink.keep("key-s3cr3t-VALUE-42.txt", &mut &b"hello"[..]);
        assert_eq!(f.name, "key-***.txt");
        assert!(rec.path().join("job.files/1/key-***.txt").is_file());
    }
}
