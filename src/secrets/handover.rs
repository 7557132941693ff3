//! Secrets handed from the client that gathered them to the run host it starts, over an
//! inherited pipe (never argv, the environment or a file): a length-prefixed frame per secret
//! (name, source, value), read into zeroizing buffers. The flag positions are not handed over:
//! the host never reports on `--secret` arguments.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{SecretStore, Source};

const MAGIC: &[u8] = b"wfop-secrets 1\n";
/// Longest name, source or value accepted (a value is far shorter: `MAX_SECRET_LEN`).
const MAX_FIELD: usize = 1 << 20;

/// Writes every secret of `store` to `out` (the pipe to the run host), then an end mark.
pub fn write(store: &SecretStore, out: &mut impl Write) -> io::Result<()> {
    let mut frame = Zeroizing::new(Vec::new());
    frame.extend_from_slice(MAGIC);
    for (name, value) in store.iter() {
        let (kind, arg): (u8, String) = match store.source(name) {
            Some(Source::Env(v)) => (b'e', v.clone()),
            Some(Source::File(p)) => (b'f', p.display().to_string()),
            Some(Source::Input) => (b'i', String::new()),
            Some(Source::Prompt) | None => (b'p', String::new()),
        };
        frame.push(1);
        field(&mut frame, name.as_bytes());
        frame.push(kind);
        field(&mut frame, arg.as_bytes());
        field(&mut frame, value.expose_secret().as_bytes());
    }
    frame.push(0);
    out.write_all(&frame)?;
    out.flush()
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("secret hand-over: {what}"),
    )
}

fn read_field(input: &mut impl Read) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FIELD {
        return Err(bad("a field is too long"));
    }
    let mut buf = Zeroizing::new(vec![0u8; len]);
    input.read_exact(&mut buf)?;
    Ok(buf)
}

fn text(bytes: &[u8]) -> io::Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| bad("a name or source is not UTF-8"))
}

/// Reads what [`write`] wrote into a new store. Errors never quote a value.
pub fn read(input: &mut impl Read) -> io::Result<SecretStore> {
    let mut magic = vec![0u8; MAGIC.len()];
    input.read_exact(&mut magic)?;
    if magic != MAGIC {
        return Err(bad("not a wfop secret hand-over"));
    }
    let mut store = SecretStore::new();
    loop {
        let mut tag = [0u8; 1];
        input.read_exact(&mut tag)?;
        match tag[0] {
            0 => return Ok(store),
            1 => {}
            _ => return Err(bad("a frame is damaged")),
        }
        let name = text(&read_field(input)?)?;
        let mut kind = [0u8; 1];
        input.read_exact(&mut kind)?;
        let arg = text(&read_field(input)?)?;
        let source = match kind[0] {
            b'e' => Source::Env(arg),
            b'f' => Source::File(PathBuf::from(arg)),
            b'i' => Source::Input,
            b'p' => Source::Prompt,
            _ => return Err(bad("an unknown source")),
        };
        let raw = read_field(input)?;
        let value = Zeroizing::new(
            std::str::from_utf8(&raw)
                .map_err(|_| bad("a value is not UTF-8"))?
                .to_owned(),
        );
        let sealed = SecretString::from(Box::<str>::from(value.as_str()));
        store
            .insert(&name, sealed, source)
            .map_err(|e| bad(&e.to_string()))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_crosses_the_pipe_with_its_sources() {
        let mut s = SecretStore::new();
        s.insert(
            "api",
            SecretString::from("v-1 ünïcode"),
            Source::Env("API".into()),
        )
        .unwrap();
        s.insert("db", SecretString::from("pw\nline"), Source::Prompt)
            .unwrap();
        s.insert(
            "f",
            SecretString::from("from-file"),
            Source::File("/x/y".into()),
        )
        .unwrap();
        let mut buf = Vec::new();
        write(&s, &mut buf).unwrap();
        let back = read(&mut buf.as_slice()).unwrap();
        assert_eq!(back.names().collect::<Vec<_>>(), ["api", "db", "f"]);
        assert!(crate::secrets::secret_equals(
            back.get("api").unwrap(),
            "v-1 ünïcode"
        ));
        assert!(crate::secrets::secret_equals(
            back.get("db").unwrap(),
            "pw\nline"
        ));
        assert_eq!(back.source("api"), Some(&Source::Env("API".into())));
        assert_eq!(back.source("f"), Some(&Source::File("/x/y".into())));
        assert_eq!(back.source_env_vars(), ["API"]);
        // A cut-off hand-over is an error that names no value.
        let e = read(&mut &buf[..buf.len() - 3]).unwrap_err().to_string();
        assert!(!e.contains("from-file"), "{e}");
        assert!(read(&mut &b"nope"[..]).is_err());
    }
}
