//! The engine's seam to the redactor (`secrets::Redactor`), plus the helpers the engine needs
//! on top of it: redacting JSON values leaf by leaf, with per-secret counts, and `ShownVars`,
//! the only form in which workflow variables leave the engine.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::vars::{Inputs, VarRef, Vars};

/// Workflow variables as they may be shown or written (events, the record, the run report):
/// every string, key and number redacted. The engine keeps the real values for the services'
/// inputs (a connection string must reach its service whole); every path that carries
/// variables out of the engine takes this type, and the only ways to make one redact
/// ([`ShownVars::redact`], [`ShownVars::redact_inputs`], [`ShownVars::redact_owned`]) — so a
/// secret inside an ordinary input is never shown.
///
/// Nothing is copied that need not be: the record, the events and the front end share one
/// `Arc`, and inputs in which redaction changes nothing are the engine's own input texts
/// (`vars::Inputs`), not a copy of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ShownVars(Arc<Vars>);

impl ShownVars {
    /// A redacted copy of `vars` (call it while the redactor still holds the secrets).
    pub fn redact(r: &Redactor, vars: &Map<String, Value>) -> ShownVars {
        ShownVars::redact_owned_set(r, Arc::default(), vars.clone())
    }

    /// The inputs, redacted: the same `Arc` when no secret is in them (nothing copied), else
    /// the inputs that hold one redacted leaf by leaf, beside the others.
    pub fn redact_inputs(r: &Redactor, inputs: &Arc<Inputs>) -> ShownVars {
        ShownVars(Arc::new(Vars::new(redact_inputs(r, inputs))))
    }

    /// The variables at the end of a run, redacted: the inputs as `shown_inputs` already shows
    /// them (it must be `redact_inputs` of `vars`' inputs), what nodes set redacted in place.
    pub(crate) fn redact_owned(r: &Redactor, vars: Vars, shown_inputs: &ShownVars) -> ShownVars {
        let (_, set) = vars.into_parts();
        ShownVars::redact_owned_set(r, shown_inputs.0.inputs().clone(), set)
    }

    fn redact_owned_set(r: &Redactor, inputs: Arc<Inputs>, set: Map<String, Value>) -> ShownVars {
        let mut v = Value::Object(set);
        redact_value(r, &mut v);
        let set = match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        ShownVars(Arc::new(Vars::from_parts(inputs, set)))
    }

    /// The variables (inputs, and what nodes set over them).
    pub fn vars(&self) -> &Vars {
        &self.0
    }

    pub fn get(&self, name: &str) -> Option<VarRef<'_>> {
        self.0.get(name)
    }

    /// Every variable once, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, VarRef<'_>)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every variable as a value of its own (inputs parsed: for small sets, such as what one
    /// node set).
    pub fn into_map(self) -> Map<String, Value> {
        let vars = Arc::unwrap_or_clone(self.0);
        let mut out: Map<String, Value> = vars
            .inputs()
            .iter()
            .filter(|(k, _)| !vars.set().contains_key(*k))
            .map(|(k, v)| (k.to_string(), VarRef::Raw(v).to_value().into_owned()))
            .collect();
        let (_, set) = vars.into_parts();
        out.extend(set);
        out
    }

    /// For front-end tests: variables taken as already redacted.
    #[cfg(test)]
    pub(crate) fn assume_redacted(vars: Map<String, Value>) -> ShownVars {
        ShownVars(Arc::new(Vars::from_set(vars)))
    }
}

/// Read back from a record (`run.json`), where they were written redacted.
impl<'de> Deserialize<'de> for ShownVars {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let set = match Value::deserialize(d)? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Ok(ShownVars(Arc::new(Vars::from_set(set))))
    }
}

/// `inputs` with every leaf redacted; the same `Arc` when redaction changes nothing.
fn redact_inputs(r: &Redactor, inputs: &Arc<Inputs>) -> Arc<Inputs> {
    if r.needle_count() == 0 {
        return inputs.clone();
    }
    let holds: Vec<&str> = inputs
        .iter()
        .filter(|(k, v)| !redact_counted(r, k).1.is_empty() || holds_secret(r, v))
        .map(|(k, _)| k)
        .collect();
    if holds.is_empty() {
        return inputs.clone();
    }
    let mut out = Inputs::default();
    for (k, raw) in inputs.iter() {
        let done = if holds.contains(&k) {
            let mut v = VarRef::Raw(raw).to_value().into_owned();
            redact_value(r, &mut v);
            out.insert_value(redact_counted(r, k).0, &v)
        } else {
            out.insert_json(k.to_string(), raw.get())
        };
        if done.is_err() {
            // Cannot happen (a value always serializes); never show what could not be checked.
            let _ = out.insert_value(redact_counted(r, k).0, &Value::String("***".into()));
        }
    }
    Arc::new(out)
}

/// Whether redaction would change a leaf (string, key or number) of `raw`: walks its text
/// without building a tree.
fn holds_secret(r: &Redactor, raw: &RawValue) -> bool {
    let found = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let ok = Scan { r, found: &found }.deserialize(&mut de).is_ok();
    // Text that does not walk (never: it was checked when read) counts as holding one.
    found.get() || !ok
}

/// A visitor that checks every leaf with the redactor and builds nothing.
#[derive(Clone, Copy)]
struct Scan<'a> {
    r: &'a Redactor,
    found: &'a Cell<bool>,
}

impl Scan<'_> {
    fn check(&self, s: &str) {
        if !self.found.get() && !redact_counted(self.r, s).1.is_empty() {
            self.found.set(true);
        }
    }
}

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        self.check(s);
        Ok(())
    }

    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        self.check(&serde_json::Number::from(n).to_string());
        Ok(())
    }

    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        self.check(&serde_json::Number::from(n).to_string());
        Ok(())
    }

    fn visit_f64<E>(self, n: f64) -> Result<(), E> {
        if let Some(n) = serde_json::Number::from_f64(n) {
            self.check(&n.to_string());
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
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
        assert_eq!(shown.get("n"), Some(VarRef::Value(&json!(42))));
        // The same variables as inputs are redacted the same way, and so at the run's end.
        let inputs = Arc::new(Inputs::from_map(&vars).expect("inputs"));
        let shown_inputs = ShownVars::redact_inputs(&r, &inputs);
        assert_eq!(serde_json::to_string(&shown_inputs).expect("json"), text);
        let end = ShownVars::redact_owned(&r, Vars::new(inputs), &shown_inputs);
        assert_eq!(serde_json::to_string(&end).expect("json"), text);
        let copy = shown.clone();
        assert!(Arc::ptr_eq(&copy.0, &shown.0));
    }

    /// Inputs without a secret are shown as they are held: the same `Arc`, nothing copied;
    /// with one, only the inputs that hold it are rebuilt.
    #[test]
    fn inputs_without_a_secret_are_shared_not_copied() {
        let r = Redactor::new();
        r.add_secret("pw", &SecretString::from("hunter2-Zq3Xv8Lm"))
            .expect("add");
        let clean = json!({"data": [{"id": 1, "name": "a"}, 2.5, null], "n": 7});
        let clean = Arc::new(Inputs::from_map(clean.as_object().expect("obj")).expect("in"));
        let shown = ShownVars::redact_inputs(&r, &clean);
        assert!(Arc::ptr_eq(shown.vars().inputs(), &clean));
        let dirty = json!({"data": [1, 2], "deep": [{"x": "a hunter2-Zq3Xv8Lm b"}], "n": 7});
        let dirty = Arc::new(Inputs::from_map(dirty.as_object().expect("obj")).expect("in"));
        let shown = ShownVars::redact_inputs(&r, &dirty);
        assert!(!Arc::ptr_eq(shown.vars().inputs(), &dirty));
        let text = serde_json::to_string(&shown).expect("json");
        assert_eq!(text, r#"{"data":[1,2],"deep":[{"x":"a *** b"}],"n":7}"#);
        // Escaped in the input's text, in a key, or as a number: found all the same.
        let r2 = Redactor::new();
        r2.add_secret("num", &SecretString::from("31415926535"))
            .expect("add");
        let mut i = Inputs::default();
        i.insert_json("esc".into(), r#""hunter\u0032-Zq3Xv8Lm""#)
            .expect("json");
        i.insert_json("key".into(), r#"{"hunter2-Zq3Xv8Lm": 1}"#)
            .expect("json");
        i.insert_json("num".into(), "[31415926535]").expect("json");
        let i = Arc::new(i);
        for (redactor, name) in [(&r, "esc"), (&r, "key"), (&r2, "num")] {
            assert!(
                holds_secret(redactor, i.get(name).expect("input")),
                "{name}"
            );
        }
        let text = serde_json::to_string(&ShownVars::redact_inputs(&r, &i)).expect("json");
        assert!(!text.contains("hunter") && !text.contains("Zq3X"), "{text}");
    }

    /// A record's variables read back are the ones written.
    #[test]
    fn shown_vars_read_back_from_a_record() {
        let shown = ShownVars::assume_redacted(json!({"a": [1]}).as_object().cloned().expect("o"));
        let text = serde_json::to_string(&shown).expect("json");
        let back: ShownVars = serde_json::from_str(&text).expect("read");
        assert_eq!(serde_json::to_string(&back).expect("json"), text);
    }
}
