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

/// Problems with secrets. No variant ever holds a secret value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("--secret expects NAME=env:VAR or NAME=file:PATH")]
    MissingEquals,
    #[error(
        "--secret {name}=…: literal values are refused, they would sit in `ps` output and shell history; use {name}=env:VAR or {name}=file:PATH"
    )]
    Literal { name: String },
    #[error("--secret: `{name}` is not a valid secret name (letters, digits and `_`)")]
    BadName { name: String },
    #[error("--secret {name}=env:: the environment variable name is empty")]
    EmptyVar { name: String },
    #[error("--secret {name}=file:: the path is empty")]
    EmptyPath { name: String },
    #[error("secret `{name}`: environment variable {var} is not set")]
    EnvNotSet { name: String, var: String },
    #[error("secret `{name}`: environment variable {var} is not valid UTF-8")]
    EnvNotUtf8 { name: String, var: String },
    #[error("secret `{name}`: cannot read {path}: {reason}")]
    File {
        name: String,
        path: String,
        reason: String,
    },
    #[error("secret `{name}` from {origin}: the value is empty")]
    Empty { name: String, origin: Source },
    #[error("secret `{name}` is given twice (by {first} and by {second})")]
    Twice {
        name: String,
        first: Source,
        second: Source,
    },
    #[error("unknown secret `{name}`{hint}; this workflow declares: {declared}")]
    Unknown {
        name: String,
        hint: String,
        declared: String,
    },
    #[error("the input's `$secrets` must be an object of strings; `{name}` is not a string")]
    InputNotString { name: String },
    #[error("the input's `$secrets` must be an object of strings")]
    InputNotObject,
}

/// Files holding secrets larger than this are refused (a secret is not a data set).
const MAX_SECRET_FILE: u64 = 1024 * 1024;

impl SecretArg {
    /// Parses `NAME=env:VAR` or `NAME=file:PATH`. A literal value is refused without echoing it.
    pub fn parse(arg: &str) -> Result<SecretArg, SecretError> {
        let (name, rest) = arg.split_once('=').ok_or(SecretError::MissingEquals)?;
        let name = name.to_string();
        if !crate::workflow::load::is_identifier(&name) {
            return Err(SecretError::BadName { name });
        }
        if let Some(var) = rest.strip_prefix("env:") {
            if var.is_empty() {
                return Err(SecretError::EmptyVar { name });
            }
            Ok(SecretArg {
                name,
                source: ArgSource::Env(var.to_string()),
            })
        } else if let Some(path) = rest.strip_prefix("file:") {
            if path.is_empty() {
                return Err(SecretError::EmptyPath { name });
            }
            Ok(SecretArg {
                name,
                source: ArgSource::File(PathBuf::from(path)),
            })
        } else {
            Err(SecretError::Literal { name })
        }
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

    /// Reads the value a `--secret` argument points at and adds it.
    pub fn load_arg(&mut self, arg: &SecretArg) -> Result<(), SecretError> {
        let name = arg.name.clone();
        let value = match &arg.source {
            ArgSource::Env(var) => match std::env::var_os(var) {
                None => {
                    return Err(SecretError::EnvNotSet {
                        name,
                        var: var.clone(),
                    });
                }
                Some(os) => {
                    Zeroizing::new(os.into_string().map_err(|_| SecretError::EnvNotUtf8 {
                        name: name.clone(),
                        var: var.clone(),
                    })?)
                }
            },
            ArgSource::File(path) => read_secret_file(&name, path)?,
        };
        self.insert(&arg.name, seal(value), Source::from(&arg.source))
    }

    /// Takes the input's `$secrets` object (name → string) out of the input, adding each value
    /// that no `--secret` flag gave already (flags come first). Returns the names it skipped
    /// for that reason. The input is left without `$secrets` whatever happens.
    pub fn take_from_input(
        &mut self,
        input: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<Vec<String>, SecretError> {
        let Some(secrets) = input.remove("$secrets") else {
            return Ok(Vec::new());
        };
        let serde_json::Value::Object(map) = secrets else {
            return Err(SecretError::InputNotObject);
        };
        let mut result = Ok(());
        let mut skipped = Vec::new();
        for (name, value) in map {
            // Every value is moved into a zeroizing box, even after an error.
            let value = match value {
                serde_json::Value::String(s) => Zeroizing::new(s),
                _ => {
                    if result.is_ok() {
                        result = Err(SecretError::InputNotString { name });
                    }
                    continue;
                }
            };
            if self.entries.contains_key(&name) {
                skipped.push(name);
            } else if result.is_ok() {
                result = self.insert(&name, seal(value), Source::Input);
            }
        }
        result.map(|()| skipped)
    }

    /// Checks every name in the store against the names a workflow declares.
    pub fn check_known<'a>(
        &self,
        declared: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Result<(), SecretError> {
        for name in self.entries.keys() {
            if !declared.clone().into_iter().any(|d| d == name) {
                let hint = crate::workflow::load::suggestion(name, declared.clone());
                let declared: Vec<&str> = declared.clone().into_iter().collect();
                let declared = if declared.is_empty() {
                    "(none)".to_string()
                } else {
                    declared.join(", ")
                };
                return Err(SecretError::Unknown {
                    name: name.clone(),
                    hint,
                    declared,
                });
            }
        }
        Ok(())
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
    }
}

/// Reads a secret file: one trailing newline (`\n` or `\r\n`) is stripped.
fn read_secret_file(name: &str, path: &Path) -> Result<Zeroizing<String>, SecretError> {
    use std::io::Read;
    let err = |reason: String| SecretError::File {
        name: name.to_string(),
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
            .map_err(|e| err(e.to_string()))?
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
            SecretArg::parse("tok=env:API_TOKEN"),
            Ok(SecretArg {
                name: "tok".into(),
                source: ArgSource::Env("API_TOKEN".into())
            })
        );
        assert_eq!(
            SecretArg::parse("tok=file:/run/tok"),
            Ok(SecretArg {
                name: "tok".into(),
                source: ArgSource::File("/run/tok".into())
            })
        );
        let e = SecretArg::parse("tok=hunter2-very-secret").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("literal values are refused"), "{e}");
        let e = SecretArg::parse("tok=env").unwrap_err();
        assert!(!e.to_string().contains("=env\""));
        assert_eq!(SecretArg::parse("tok"), Err(SecretError::MissingEquals));
        assert!(matches!(
            SecretArg::parse("1tok=env:X"),
            Err(SecretError::BadName { .. })
        ));
        assert!(matches!(
            SecretArg::parse("tok=env:"),
            Err(SecretError::EmptyVar { .. })
        ));
        assert!(matches!(
            SecretArg::parse("tok=file:"),
            Err(SecretError::EmptyPath { .. })
        ));
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
            })
            .unwrap_err();
        assert!(matches!(e, SecretError::Empty { .. }), "{e}");
        let e = SecretStore::new()
            .load_arg(&SecretArg {
                name: "s".into(),
                source: ArgSource::File(dir.join("missing")),
            })
            .unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_env_var_is_named() {
        let e = SecretStore::new()
            .load_arg(&SecretArg {
                name: "s".into(),
                source: ArgSource::Env("WFOP_TEST_SURELY_UNSET_VAR".into()),
            })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "secret `s`: environment variable WFOP_TEST_SURELY_UNSET_VAR is not set"
        );
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
    fn input_secrets_are_taken_out_of_the_input() {
        let mut input = serde_json::json!({"x": 1, "$secrets": {"tok": "abcdefgh"}})
            .as_object()
            .unwrap()
            .clone();
        let mut store = SecretStore::new();
        store.take_from_input(&mut input).unwrap();
        assert!(!input.contains_key("$secrets"));
        assert_eq!(store.get("tok").unwrap().expose_secret(), "abcdefgh");
        assert_eq!(store.source("tok"), Some(&Source::Input));
        let mut input = serde_json::json!({"$secrets": {"tok": 5}})
            .as_object()
            .unwrap()
            .clone();
        assert!(SecretStore::new().take_from_input(&mut input).is_err());
        assert!(!input.contains_key("$secrets"));
    }

    #[test]
    fn unknown_names_get_a_suggestion_and_twice_is_refused() {
        let mut store = SecretStore::new();
        store
            .insert(
                "ibm_api_tokn",
                SecretString::from("abcdefgh"),
                Source::Prompt,
            )
            .unwrap();
        let e = store.check_known(["ibm_api_token", "other"]).unwrap_err();
        assert!(
            e.to_string().contains("did you mean `ibm_api_token`?"),
            "{e}"
        );
        let e = store
            .insert(
                "ibm_api_tokn",
                SecretString::from("x1234567"),
                Source::Input,
            )
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
