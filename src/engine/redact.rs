//! The engine's seam to the redactor (`secrets::Redactor`), plus the helpers the engine needs
//! on top of it: redacting JSON values leaf by leaf, with per-secret counts, and `ShownVars`,
//! the only form in which workflow variables leave the engine.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use serde::Serialize;
use serde_json::{Map, Value};

/// Workflow variables as they may be shown or written (events, the record, the run report):
/// every string, key and number redacted. The engine keeps the real values for the services'
/// inputs (a connection string must reach its service whole); every path that carries
/// variables out of the engine takes this type, and the only way to make one is
/// [`ShownVars::redact`] — so a secret inside an ordinary input is never shown.
///
/// The redacted tree is shared, not copied: the record, the events and the front end hold the
/// same one (a parsed JSON tree takes about ten times its text in memory).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ShownVars(Arc<Value>);

impl Default for ShownVars {
    fn default() -> Self {
        ShownVars(Arc::new(Value::Object(Map::new())))
    }
}

impl ShownVars {
    /// A redacted copy of `vars` (call it while the redactor still holds the secrets).
    pub fn redact(r: &Redactor, vars: &Map<String, Value>) -> ShownVars {
        ShownVars::redact_owned(r, vars.clone())
    }

    /// `vars` redacted in place, for variables no longer needed as they were (the run's end):
    /// no second tree.
    pub(crate) fn redact_owned(r: &Redactor, vars: Map<String, Value>) -> ShownVars {
        let mut v = Value::Object(vars);
        redact_value(r, &mut v);
        match v {
            Value::Object(_) => ShownVars(Arc::new(v)),
            _ => ShownVars::default(),
        }
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
        match &*self.0 {
            Value::Object(m) => m,
            _ => &EMPTY,
        }
    }

    /// The variables as a map of their own (copied only while the tree is shared).
    pub fn into_map(self) -> Map<String, Value> {
        match Arc::unwrap_or_clone(self.0) {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The shared tree, for the record (`run.json` holds the same one).
    pub(crate) fn shared(&self) -> Arc<Value> {
        self.0.clone()
    }

    /// For front-end tests: variables taken as already redacted.
    #[cfg(test)]
    pub(crate) fn assume_redacted(vars: Map<String, Value>) -> ShownVars {
        ShownVars(Arc::new(Value::Object(vars)))
    }
}

pub(crate) use crate::secrets::{Redactor, StreamRedactor};

/// Redacts a text and reports which secrets were found in it.
pub(crate) fn redact_counted(r: &Redactor, s: &str) -> (String, BTreeMap<String, u64>) {
    let mut stream = r.stream();
    let mut out = Vec::with_capacity(s.len());
    stream.push(s.as_bytes(), &mut out);
    stream.finish(&mut out);
    let text = match String::from_utf8(out) {
        Ok(t) => t,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    (text, stream.counts())
}

/// Redacts every string (keys too) and every number of a JSON value in place; returns the
/// counts per secret name (empty: nothing was redacted).
pub(crate) fn redact_value(r: &Redactor, v: &mut Value) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    walk(r, v, &mut counts);
    counts
}

fn merge(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

fn walk(r: &Redactor, v: &mut Value, counts: &mut BTreeMap<String, u64>) {
    match v {
        Value::String(s) => {
            let (t, c) = redact_counted(r, s);
            if !c.is_empty() {
                *s = t;
                merge(counts, c);
            }
        }
        Value::Number(n) => {
            let (t, c) = redact_counted(r, &n.to_string());
            if !c.is_empty() {
                *v = Value::String(t);
                merge(counts, c);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk(r, i, counts)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut item) in old {
                let (k2, c) = redact_counted(r, &k);
                merge(counts, c);
                walk(r, &mut item, counts);
                map.insert(k2, item);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use serde_json::json;

    use super::*;

    #[test]
    fn shown_vars_are_redacted_shared_and_the_same_in_place() {
        let r = Redactor::new();
        r.add_secret("pw", &SecretString::from("hunter2-Zq3Xv8Lm"))
            .expect("add");
        let vars = json!({
            "dsn": "postgres://u:hunter2-Zq3Xv8Lm@db/x",
            "hunter2-Zq3Xv8Lm": [1, { "k": "hunter2-Zq3Xv8Lm" }],
            "n": 42
        });
        let vars = vars.as_object().cloned().expect("object");
        let shown = ShownVars::redact(&r, &vars);
        let text = serde_json::to_string(&shown).expect("json");
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(shown.as_map()["n"], json!(42));
        // Redacting in place gives the same tree; clones share it.
        assert_eq!(ShownVars::redact_owned(&r, vars), shown);
        let copy = shown.clone();
        assert!(Arc::ptr_eq(&copy.shared(), &shown.shared()));
        assert_eq!(serde_json::to_string(&*shown.shared()).expect("json"), text);
    }
}
