//! The secret store: secret name → value, and where each value came from. Values arrive from
//! `--secret NAME=env:VAR`, `--secret NAME=file:PATH`, the input's `$secrets`, or a prompt.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Where a secret value came from; shown to the operator instead of the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Env(String),
    File(PathBuf),
    /// The input JSON's `$secrets` object.
    Input,
    Prompt,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Env(var) => write!(f, "env:{var}"),
            Source::File(path) => write!(f, "file:{}", path.display()),
            Source::Input => f.write_str("input $secrets"),
            Source::Prompt => f.write_str("prompt"),
        }
    }
}

/// A parsed `--secret NAME=env:VAR|file:PATH` argument (never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretArg {
    pub name: String,
    pub source: ArgSource,
    /// Which `--secret` flag this is (1 for the first): messages name the flag by it.
    pub at: usize,
}

/// Where a `--secret` argument says the value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgSource {
    Env(String),
    File(PathBuf),
}

impl From<&ArgSource> for Source {
    fn from(a: &ArgSource) -> Source {
        match a {
            ArgSource::Env(v) => Source::Env(v.clone()),
            ArgSource::File(p) => Source::File(p.clone()),
        }
    }
}

/// "1st", "2nd", "3rd", "4th", …, "11th", "12th", "13th", "21st", …: how messages name the
/// n-th `--secret` flag or `$secrets` key instead of quoting its text.
pub fn nth(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// `flag n` shown as "the 2nd --secret".
struct Flag(usize);

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} --secret", nth(self.0))
    }
}

/// Problems with secrets. No variant ever holds a secret value, nor any text of a `--secret`
/// argument that could be one: a flag is named by its position. A name is shown only where it
/// is known to be a declared secret (the caller checked it) or a prompt's own name; a variable
/// or file only once it was found to exist.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("{}: expected NAME=env:VAR or NAME=file:PATH", Flag(*at))]
    MissingEquals { at: usize },
    #[error(
        "{}: literal values are refused, they would sit in `ps` output and shell history; give NAME=env:VAR or NAME=file:PATH",
        Flag(*at)
    )]
    Literal { at: usize },
    #[error(
        "{}: the text before `=` is not a secret name (letters, digits and `_`, not starting with a digit); give NAME=env:VAR or NAME=file:PATH",
        Flag(*at)
    )]
    BadName { at: usize },
    #[error("{}: the environment variable name after `env:` is empty", Flag(*at))]
    EmptyVar { at: usize },
    #[error("{}: the path after `file:` is empty", Flag(*at))]
    EmptyPath { at: usize },
    #[error(
        "{}: its environment variable is not set (if you wrote env:$VAR, the shell put the value there: write env:VAR)",
        Flag(*at)
    )]
    EnvNotSet { at: usize },
    #[error("{}: environment variable {var} is not valid UTF-8", Flag(*at))]
    EnvNotUtf8 { at: usize, var: String },
    #[error("{}: cannot read its file: {reason}", Flag(*at))]
    FileOpen { at: usize, reason: String },
    #[error("{}: cannot use {path}: {reason}", Flag(*at))]
    File {
        at: usize,
        path: String,
        reason: String,
    },
    #[error("{} ({origin}): the value is empty", Flag(*at))]
    FlagEmpty { at: usize, origin: Source },
    #[error(
        "{} ({origin}): the value contains a NUL character, which no environment variable can hold",
        Flag(*at)
    )]
    FlagNul { at: usize, origin: Source },
    #[error("{} and the {} give the same secret", Flag(*first), nth(*second))]
    FlagTwice { first: usize, second: usize },
    #[error(
        "{}: this workflow declares no secret of that name{hint}; it declares: {declared}",
        Flag(*at)
    )]
    UnknownFlag {
        at: usize,
        hint: String,
        declared: String,
    },
    #[error("secret `{name}` from {origin}: the value is empty")]
    Empty { name: String, origin: Source },
    #[error(
        "secret `{name}` from {origin}: the value contains a NUL character, which no environment variable can hold"
    )]
    Nul { name: String, origin: Source },
    #[error("secret `{name}` is given twice (by {first} and by {second})")]
    Twice {
        name: String,
        first: Source,
        second: Source,
    },
}

/// Files holding secrets larger than this are refused (a secret is not a data set).
const MAX_SECRET_FILE: u64 = 1024 * 1024;

impl SecretArg {
    /// Parses the `at`-th `--secret` argument, `NAME=env:VAR` or `NAME=file:PATH`. Every error
    /// names the flag by its position only: the argument may be a value (`<token>==`).
    pub fn parse(arg: &str, at: usize) -> Result<SecretArg, SecretError> {
        let (name, rest) = arg
            .split_once('=')
            .ok_or(SecretError::MissingEquals { at })?;
        let source = if let Some(var) = rest.strip_prefix("env:") {
            if var.is_empty() {
                return Err(SecretError::EmptyVar { at });
            }
            ArgSource::Env(var.to_string())
        } else if let Some(path) = rest.strip_prefix("file:") {
            if path.is_empty() {
                return Err(SecretError::EmptyPath { at });
            }
            ArgSource::File(PathBuf::from(path))
        } else {
            return Err(SecretError::Literal { at });
        };
        if !crate::diag::is_identifier(name) {
            return Err(SecretError::BadName { at });
        }
        Ok(SecretArg {
            name: name.to_string(),
            source,
            at,
        })
    }

    /// Parses every `--secret` argument, in order; the first error wins.
    pub fn parse_all(args: &[String]) -> Result<Vec<SecretArg>, SecretError> {
        let parsed = args
            .iter()
            .enumerate()
            .map(|(i, a)| SecretArg::parse(a, i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        for (k, a) in parsed.iter().enumerate() {
            if let Some(first) = parsed[..k].iter().find(|b| b.name == a.name) {
                return Err(SecretError::FlagTwice {
                    first: first.at,
                    second: a.at,
                });
            }
        }
        Ok(parsed)
    }

    /// Refuses a flag whose name the workflow does not declare. The "did you mean" may only
    /// name a declared secret; the flag's own text is never shown.
    pub fn check_declared<'a>(
        &self,
        declared: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Result<(), SecretError> {
        if declared.clone().into_iter().any(|d| d == self.name) {
            return Ok(());
        }
        let hint = crate::diag::did_you_mean(&self.name, declared.clone())
            .map(|d| format!(" (did you mean `{d}`?)"))
            .unwrap_or_default();
        let declared: Vec<&str> = declared.into_iter().collect();
        Err(SecretError::UnknownFlag {
            at: self.at,
            hint,
            declared: if declared.is_empty() {
                "(none)".to_string()
            } else {
                declared.join(", ")
            },
        })
    }
}

/// Copies a value into an exactly-sized secret box; the working copy is zeroized on drop.
fn seal(value: Zeroizing<String>) -> SecretString {
    SecretString::from(Box::<str>::from(value.as_str()))
}

struct Entry {
    value: SecretString,
    source: Source,
}

/// Secret name → value. Zeroized on `purge()` and on drop. Never displayed.
#[derive(Default)]
pub struct SecretStore {
    entries: BTreeMap<String, Entry>,
    /// Name → position of the `--secret` flag that gave it.
    flags: BTreeMap<String, usize>,
}

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, e) in &self.entries {
            m.entry(name, &format_args!("[redacted] from {}", e.source));
        }
        m.finish()
    }
}

impl SecretStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value; empty or whitespace-only values and a second value for a name are refused.
    pub fn insert(
        &mut self,
        name: &str,
        value: SecretString,
        source: Source,
    ) -> Result<(), SecretError> {
        if value.expose_secret().trim().is_empty() {
            return Err(SecretError::Empty {
                name: name.to_string(),
                origin: source,
            });
        }
        if value.expose_secret().contains('\0') {
            return Err(SecretError::Nul {
                name: name.to_string(),
                origin: source,
            });
        }
        if let Some(first) = self.entries.get(name) {
            return Err(SecretError::Twice {
                name: name.to_string(),
                first: first.source.clone(),
                second: source,
            });
        }
        self.entries
            .insert(name.to_string(), Entry { value, source });
        Ok(())
    }

    /// Reads the value a `--secret` argument points at and adds it. Errors name the flag by
    /// its position, never by its text.
    pub fn load_arg(&mut self, arg: &SecretArg) -> Result<(), SecretError> {
        let at = arg.at;
        let value = match &arg.source {
            ArgSource::Env(var) => match std::env::var_os(var) {
                None => return Err(SecretError::EnvNotSet { at }),
                Some(os) => {
                    Zeroizing::new(os.into_string().map_err(|_| SecretError::EnvNotUtf8 {
                        at,
                        var: var.clone(),
                    })?)
                }
            },
            ArgSource::File(path) => read_secret_file(at, path)?,
        };
        let origin = Source::from(&arg.source);
        if let Some(first) = self.entries.get(&arg.name) {
            return Err(match &first.source {
                Source::Env(_) | Source::File(_) => SecretError::FlagTwice {
                    first: self.flag_of(&arg.name).unwrap_or(at),
                    second: at,
                },
                _ => SecretError::Twice {
                    name: arg.name.clone(),
                    first: first.source.clone(),
                    second: origin,
                },
            });
        }
        self.insert(&arg.name, seal(value), origin.clone())
            .map_err(|e| match e {
                SecretError::Empty { .. } => SecretError::FlagEmpty { at, origin },
                SecretError::Nul { .. } => SecretError::FlagNul { at, origin },
                other => other,
            })?;
        self.flags.insert(arg.name.clone(), at);
        Ok(())
    }

    /// The position of the `--secret` flag that gave `name`, if one did.
    pub fn flag_of(&self, name: &str) -> Option<usize> {
        self.flags.get(name).copied()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.entries.get(name).map(|e| &e.value)
    }

    pub fn source(&self, name: &str) -> Option<&Source> {
        self.entries.get(name).map(|e| &e.source)
    }

    /// Names and values, for registering with the redactor and building children's environments.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SecretString)> {
        self.entries.iter().map(|(n, e)| (n.as_str(), &e.value))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Environment variables used as secret sources; they are removed from every child.
    pub fn source_env_vars(&self) -> Vec<String> {
        self.entries
            .values()
            .filter_map(|e| match &e.source {
                Source::Env(v) => Some(v.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether `text` equals any secret's value, or contains one of at least
    /// [`MIN_DERIVED_LEN`](super::MIN_DERIVED_LEN) bytes (shorter values only when equal: a
    /// two-letter secret is inside too many ordinary strings). Says nothing about which.
    pub fn holds_a_value(&self, text: &[u8]) -> bool {
        self.entries.values().any(|e| {
            let v = e.value.expose_secret().as_bytes();
            text == v
                || (v.len() >= super::MIN_DERIVED_LEN
                    && text.len() > v.len()
                    && text.windows(v.len()).any(|w| w == v))
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Zeroizes and forgets every value.
    pub fn purge(&mut self) {
        // Dropping a SecretString zeroizes it.
        self.entries.clear();
        self.flags.clear();
    }
}

/// Reads a secret file: one trailing newline (`\n` or `\r\n`) is stripped. The path is shown
/// only once the file was found (a shell slip can put a value where the path goes).
fn read_secret_file(at: usize, path: &Path) -> Result<Zeroizing<String>, SecretError> {
    use std::io::Read;
    let err = |reason: String| SecretError::File {
        at,
        path: path.display().to_string(),
        reason,
    };
    // Non-blocking open: a named pipe without a writer must be refused, not waited on
    // (regular files ignore the flag).
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| SecretError::FileOpen {
                at,
                reason: e.to_string(),
            })?
    };
    let meta = file.metadata().map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(err(format!(
            "the file is {} bytes; a secret file may hold at most {MAX_SECRET_FILE}",
            meta.len()
        )));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    if bytes.ends_with(b"\r\n") {
        let n = bytes.len() - 2;
        bytes.truncate(n);
    } else if bytes.ends_with(b"\n") {
        let n = bytes.len() - 1;
        bytes.truncate(n);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| err("the file is not UTF-8 text".into()))?;
    Ok(Zeroizing::new(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_a_value_equal_or_contained_short_ones_only_equal() {
        let mut s = SecretStore::new();
        let v = |t: &str| seal(Zeroizing::new(t.to_string()));
        s.insert("long", v("s3cr3t-value"), Source::Input).unwrap();
        s.insert("short", v("ab"), Source::Input).unwrap();
        assert!(s.holds_a_value(b"s3cr3t-value"));
        assert!(s.holds_a_value(b"prefix-s3cr3t-value-suffix"));
        assert!(s.holds_a_value(b"ab"));
        assert!(
            !s.holds_a_value(b"cabbage"),
            "a 2-byte value counts only when equal"
        );
        assert!(!s.holds_a_value(b"s3cr3t-valu"));
        assert!(!s.holds_a_value(b""));
        assert!(!SecretStore::new().holds_a_value(b"anything"));
    }

    #[test]
    fn parses_sources_and_refuses_literals_without_echoing_them() {
        assert_eq!(
            SecretArg::parse("tok=env:API_TOKEN", 1),
            Ok(SecretArg {
                name: "tok".into(),
                source: ArgSource::Env("API_TOKEN".into()),
                at: 1,
            })
        );
        assert_eq!(
            SecretArg::parse("tok=file:/run/tok", 2).map(|a| a.source),
            Ok(ArgSource::File("/run/tok".into()))
        );
        // Each malformed argument is refused naming the flag's position, never its text:
        // a base64 token with `==`, a key with `-`, a value alone, a value after env:/file:.
        for (arg, kind) in [
            ("tok=hunter2-very-secret", "literal"),
            ("dG9rZW4tc2VjcmV0LXZhbHVl==", "literal"),
            ("sk-proj-abcdef123456=x", "literal"),
            ("sk-proj-abcdef123456=env:X", "not a secret name"),
            ("hunter2-very-secret", "expected NAME="),
            ("tok=env:", "empty"),
            ("tok=file:", "empty"),
        ] {
            let e = SecretArg::parse(arg, 3).unwrap_err().to_string();
            assert!(e.starts_with("the 3rd --secret: "), "{arg}: {e}");
            assert!(e.contains(kind), "{arg}: {e}");
            for part in arg
                .split(['=', ':'])
                .filter(|p| p.len() >= 4 && !matches!(*p, "env" | "file"))
            {
                assert!(!e.contains(part), "{arg}: {e}");
            }
        }
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111]
            .map(nth)
            .into();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd",
                "101st", "111th"
            ]
        );
    }

    #[test]
    fn a_value_after_env_is_not_repeated_when_the_variable_is_unset() {
        // `--secret tok=env:$TOKEN`: the shell put the value where the variable name goes.
        let arg = SecretArg::parse("tok=env:ghp_R3alTokenValue0123456789", 2).unwrap();
        let e = SecretStore::new().load_arg(&arg).unwrap_err().to_string();
        assert!(!e.contains("ghp_R3al"), "{e}");
        assert!(
            e.contains("the 2nd --secret") && e.contains("env:$VAR"),
            "{e}"
        );
        let arg = SecretArg::parse("tok=file:ghp_R3alTokenValue0123456789", 1).unwrap();
        let e = SecretStore::new().load_arg(&arg).unwrap_err().to_string();
        assert!(!e.contains("ghp_R3al") && e.contains("cannot read"), "{e}");
    }

    #[test]
    fn two_flags_for_one_name_and_undeclared_names_are_named_by_position() {
        let args: Vec<String> = ["a=env:X", "secret-value-here=env:Y", "a=file:/z"]
            .map(String::from)
            .into();
        assert!(matches!(
            SecretArg::parse_all(&args),
            Err(SecretError::BadName { at: 2 })
        ));
        let args: Vec<String> = ["a=env:X", "b=env:Y", "a=file:/z"].map(String::from).into();
        let e = SecretArg::parse_all(&args).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the 1st --secret and the 3rd give the same secret"
        );
        let arg = SecretArg::parse("ibm_api_tokn=env:X", 4).unwrap();
        let e = arg
            .check_declared(["ibm_api_token", "other"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("the 4th --secret"), "{e}");
        assert!(e.contains("did you mean `ibm_api_token`?"), "{e}");
        assert!(!e.contains("ibm_api_tokn"), "{e}");
    }

    #[test]
    fn nul_is_refused_from_every_source_naming_the_source_not_the_value() {
        let mut store = SecretStore::new();
        let e = store
            .insert("p", SecretString::from("abc\0defghi"), Source::Prompt)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("NUL") && e.contains("prompt") && !e.contains("abc"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, b"abcdef\0ghijkl\n").unwrap();
        let e = store
            .load_arg(&SecretArg {
                name: "s".into(),
                source: ArgSource::File(p.clone()),
                at: 2,
            })
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("the 2nd --secret (file:"), "{e}");
        assert!(e.contains("NUL") && !e.contains("abcdef"), "{e}");
        assert!(store.is_empty());
    }

    #[test]
    fn files_lose_one_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("wfop-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (content, expected) in [
            ("abc\n", "abc"),
            ("abc\r\n", "abc"),
            ("abc\n\n", "abc\n"),
            ("abc", "abc"),
        ] {
            let p = dir.join("s");
            std::fs::write(&p, content).unwrap();
            let mut store = SecretStore::new();
            store
                .load_arg(&SecretArg {
                    name: "s".into(),
                    source: ArgSource::File(p),
                    at: 1,
                })
                .unwrap();
            assert_eq!(store.get("s").unwrap().expose_secret(), expected);
        }
        let p = dir.join("empty");
        std::fs::write(&p, "\n").unwrap();
        let e = SecretStore::new()
            .load_arg(&SecretArg {
                name: "s".into(),
                source: ArgSource::File(p),
                at: 1,
            })
            .unwrap_err();
        assert!(matches!(e, SecretError::FlagEmpty { at: 1, .. }), "{e}");
        let e = SecretStore::new()
            .load_arg(&SecretArg {
                name: "s".into(),
                source: ArgSource::File(dir.join("missing")),
                at: 1,
            })
            .unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_and_whitespace_values_are_refused() {
        let mut store = SecretStore::new();
        assert!(
            store
                .insert("a", SecretString::from("  \t"), Source::Prompt)
                .is_err()
        );
        assert!(
            store
                .insert("a", SecretString::from(""), Source::Prompt)
                .is_err()
        );
        assert!(store.is_empty());
    }

    #[test]
    fn twice_is_refused() {
        let mut store = SecretStore::new();
        store
            .insert("tok", SecretString::from("abcdefgh"), Source::Prompt)
            .unwrap();
        let e = store
            .insert("tok", SecretString::from("x1234567"), Source::Input)
            .unwrap_err();
        assert!(matches!(e, SecretError::Twice { .. }));
        assert!(!e.to_string().contains("x1234567"));
    }

    #[test]
    fn debug_and_purge_never_show_values() {
        let mut store = SecretStore::new();
        store
            .insert(
                "tok",
                SecretString::from("s3cr3t-value"),
                Source::Env("TOK".into()),
            )
            .unwrap();
        let dbg = format!("{store:?}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(dbg.contains("tok") && dbg.contains("env:TOK"), "{dbg}");
        assert_eq!(store.source_env_vars(), vec!["TOK".to_string()]);
        store.purge();
        assert!(store.is_empty() && store.get("tok").is_none());
    }
}
