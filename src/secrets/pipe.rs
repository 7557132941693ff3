//! `wfop redact`: stdin to stdout through the streaming redactor, each byte written as soon as
//! it can no longer be part of a secret (a prompt without a newline appears at once).

use std::io::{self, ErrorKind, Read, Write};

use super::redactor::StreamRedactor;

/// Copies `input` to `output` through `stream`, flushing after every read. A closed output
/// (a broken pipe, e.g. `| head`) ends the copy quietly.
pub fn redact_stream(
    mut input: impl Read,
    mut output: impl Write,
    stream: &mut StreamRedactor,
) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(buf.len() + 64);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.clear();
        stream.push(&buf[..n], &mut out);
        if !write_all_flush(&mut output, &out)? {
            return Ok(());
        }
    }
    out.clear();
    stream.finish(&mut out);
    write_all_flush(&mut output, &out)?;
    Ok(())
}

/// Writes and flushes; `Ok(false)` when the reader went away.
fn write_all_flush(output: &mut impl Write, bytes: &[u8]) -> io::Result<bool> {
    let result = output.write_all(bytes).and_then(|()| output.flush());
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}

/// Why `wfop redact` could not run. Never holds a secret value.
#[derive(Debug, thiserror::Error)]
pub enum RedactCommandError {
    #[error(transparent)]
    Secret(#[from] super::SecretError),
    #[error(transparent)]
    Redact(#[from] super::RedactError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// `wfop redact --secret NAME=env:VAR|file:PATH …`: loads the secrets, then streams stdin to
/// stdout. Warnings (short secrets) and, with `report_counts`, per-secret counts go to stderr.
pub fn run_redact_command(specs: &[String], report_counts: bool) -> Result<(), RedactCommandError> {
    let mut store = super::SecretStore::new();
    for arg in super::SecretArg::parse_all(specs)? {
        store.load_arg(&arg)?;
    }
    let redactor = super::Redactor::new();
    for result in redactor.add_secrets(store.iter()) {
        if let Some(warning) = result? {
            eprintln!("wfop: warning: {}", crate::safe::text(&warning.to_string()));
        }
    }
    store.purge();
    let mut stream = redactor.stream();
    let result = redact_stream(io::stdin().lock(), io::stdout().lock(), &mut stream);
    if report_counts {
        for (name, n) in stream.counts() {
            eprintln!("wfop: {} redacted {n}×", crate::safe::line(&name));
        }
    }
    drop(stream);
    redactor.purge();
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Redactor;
    use secrecy::SecretString;

    /// A reader that hands out its input in fixed-size pieces.
    struct Pieces<'a>(&'a [u8], usize);

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn copies_through_the_redactor_whatever_the_read_size() {
        let r = Redactor::new();
        r.add_secret("tok", &SecretString::from("s3cr3t-t0ken"))
            .unwrap();
        let input = b"a s3cr3t-t0ken b\nno newline at the end s3cr3t";
        for size in [1, 2, 5, 64, 1 << 20] {
            let mut out = Vec::new();
            redact_stream(Pieces(input, size), &mut out, &mut r.stream()).unwrap();
            assert_eq!(
                out, b"a *** b\nno newline at the end s3cr3t",
                "read size {size}"
            );
        }
    }

    #[test]
    fn a_broken_pipe_ends_quietly() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let r = Redactor::new();
        assert!(redact_stream(&b"data"[..], Closed, &mut r.stream()).is_ok());
    }
}
