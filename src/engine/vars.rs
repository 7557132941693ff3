//! Workflow variables in two layers: the `--input` values as compact JSON text, shared behind an
//! `Arc` and parsed only where a mapping reads them, and what nodes set since, beside them.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::expr::{self, Expr};

/// The workflow inputs: each top-level member of the `--input` object kept as its JSON text,
/// whitespace outside strings removed, by name, in the order the file gives them. A parsed `serde_json` tree takes about twelve
/// times its text (a three-field object is a 632-byte B-tree leaf plus its strings); the text
/// is parsed only for the inputs a mapping reads, and only while it reads them.
#[derive(Debug, Default)]
pub struct Inputs(indexmap::IndexMap<String, Box<RawValue>>);

impl Inputs {
    /// Adds input `name` from its JSON text, which must be one valid JSON value (a later one of
    /// the same name wins, as in `serde_json`).
    pub(crate) fn insert_json(&mut self, name: String, json: &str) -> serde_json::Result<()> {
        let Some(text) = compact(json) else {
            return Err(serde::de::Error::custom(format!(
                "nested deeper than {MAX_INPUT_DEPTH} levels"
            )));
        };
        let raw = RawValue::from_string(text)?;
        self.0.insert(name, raw);
        Ok(())
    }

    /// Adds input `name` from a value.
    pub fn insert_value(&mut self, name: String, value: &Value) -> serde_json::Result<()> {
        let raw = serde_json::value::to_raw_value(value)?;
        self.0.insert(name, raw);
        Ok(())
    }

    /// Inputs from their JSON texts, in order (as a run host receives them).
    pub fn from_raw(raw: indexmap::IndexMap<String, Box<RawValue>>) -> Inputs {
        Inputs(raw)
    }

    /// Inputs from values.
    pub fn from_map(map: &Map<String, Value>) -> serde_json::Result<Inputs> {
        let mut inputs = Inputs::default();
        for (k, v) in map {
            inputs.insert_value(k.clone(), v)?;
        }
        Ok(inputs)
    }

    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.0.get(name).map(|b| &**b)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// In name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), &**v))
    }

    /// The bytes of JSON text held (for the memory figures).
    pub fn text_len(&self) -> usize {
        self.0.values().map(|v| v.get().len()).sum()
    }
}

/// Equal when every name has the same JSON text.
impl PartialEq for Inputs {
    fn eq(&self, other: &Inputs) -> bool {
        self.0.len() == other.0.len()
            && self
                .iter()
                .all(|(k, v)| other.get(k).is_some_and(|o| o.get() == v.get()))
    }
}

/// Deepest nesting of an input's value: inside the `--input` object, within the input parser's
/// limit (`workflow::json::MAX_DEPTH`), so every input text parses again.
const MAX_INPUT_DEPTH: usize = crate::workflow::json::MAX_DEPTH - 1;

/// `json` without the whitespace between its tokens (strings kept as written); `None` when it
/// nests deeper than [`MAX_INPUT_DEPTH`].
fn compact(json: &str) -> Option<String> {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut depth = 0usize;
    for c in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        } else if c == '"' {
            in_string = true;
        } else if c == '[' || c == '{' {
            depth += 1;
            if depth > MAX_INPUT_DEPTH {
                return None;
            }
        } else if c == ']' || c == '}' {
            depth = depth.saturating_sub(1);
        }
        out.push(c);
    }
    // `RawValue::from_string` keeps the string without a copy when it has no spare capacity.
    out.shrink_to_fit();
    Some(out)
}

/// One workflow variable, wherever it is held: a value, or an input's JSON text.
#[derive(Debug, Clone, Copy)]
pub enum VarRef<'a> {
    Value(&'a Value),
    Raw(&'a RawValue),
}

impl<'a> VarRef<'a> {
    /// The value; an input's text is parsed (a tree of its own, as large as the value).
    pub fn to_value(self) -> Cow<'a, Value> {
        match self {
            VarRef::Value(v) => Cow::Borrowed(v),
            // The text was checked when the input was read: it parses.
            VarRef::Raw(r) => Cow::Owned(serde_json::from_str(r.get()).unwrap_or(Value::Null)),
        }
    }
}

impl Serialize for VarRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            VarRef::Value(v) => v.serialize(s),
            VarRef::Raw(r) => r.serialize(s),
        }
    }
}

/// Same JSON value (two input texts compare as text first).
impl PartialEq for VarRef<'_> {
    fn eq(&self, other: &VarRef<'_>) -> bool {
        match (self, other) {
            (VarRef::Value(a), VarRef::Value(b)) => a == b,
            (VarRef::Raw(a), VarRef::Raw(b)) if a.get() == b.get() => true,
            _ => self.to_value() == other.to_value(),
        }
    }
}

/// The workflow variables: the inputs (shared, as text) and what nodes set (those win).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vars {
    inputs: Arc<Inputs>,
    set: Map<String, Value>,
}

impl Vars {
    pub fn new(inputs: Arc<Inputs>) -> Vars {
        Vars {
            inputs,
            set: Map::new(),
        }
    }

    /// Variables set by nodes only (no inputs).
    pub fn from_set(set: Map<String, Value>) -> Vars {
        Vars {
            inputs: Arc::default(),
            set,
        }
    }

    pub fn inputs(&self) -> &Arc<Inputs> {
        &self.inputs
    }

    /// What nodes set.
    pub fn set(&self) -> &Map<String, Value> {
        &self.set
    }

    pub(crate) fn into_parts(self) -> (Arc<Inputs>, Map<String, Value>) {
        (self.inputs, self.set)
    }

    pub(crate) fn from_parts(inputs: Arc<Inputs>, set: Map<String, Value>) -> Vars {
        Vars { inputs, set }
    }

    /// Puts what a node set over the variables.
    pub fn extend(&mut self, set: Map<String, Value>) {
        self.set.extend(set);
    }

    pub fn get(&self, name: &str) -> Option<VarRef<'_>> {
        match self.set.get(name) {
            Some(v) => Some(VarRef::Value(v)),
            None => self.inputs.get(name).map(VarRef::Raw),
        }
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.set.contains_key(name) || self.inputs.contains_key(name)
    }

    /// Every variable once: the inputs in their order (a value a node set in place of an
    /// input's), then what nodes set, in the order it was first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, VarRef<'_>)> {
        self.inputs
            .iter()
            .map(|(k, raw)| match self.set.get(k) {
                Some(v) => (k, VarRef::Value(v)),
                None => (k, VarRef::Raw(raw)),
            })
            .chain(
                self.set
                    .iter()
                    .filter(|(k, _)| !self.inputs.contains_key(k))
                    .map(|(k, v)| (k.as_str(), VarRef::Value(v))),
            )
    }

    pub fn len(&self) -> usize {
        self.set.len()
            + self
                .inputs
                .iter()
                .filter(|(k, _)| !self.set.contains_key(*k))
                .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The inputs `e` reads that neither `before` nor what nodes set has, parsed: the last
    /// layer to evaluate `e` over. Inputs it does not read stay text.
    fn read_by(&self, e: &Expr, before: &[&Map<String, Value>]) -> Map<String, Value> {
        let mut parsed = Map::new();
        for name in expr::analyze(e).free_variable_names() {
            if before.iter().any(|l| l.contains_key(name)) || self.set.contains_key(name) {
                continue;
            }
            if let Some(raw) = self.inputs.get(name) {
                parsed.insert(name.to_string(), VarRef::Raw(raw).to_value().into_owned());
            }
        }
        parsed
    }

    /// Evaluates `e` over `before` (a mapping's earlier rows, a result…), then the variables:
    /// the first layer that has a name wins. Never a copy of all variables.
    pub fn eval(&self, e: &Expr, before: &[&Map<String, Value>]) -> Result<Value, expr::Error> {
        let parsed = self.read_by(e, before);
        let mut layers: Vec<&Map<String, Value>> = before.to_vec();
        layers.push(&self.set);
        layers.push(&parsed);
        expr::eval_layered(e, &layers)
    }
}

/// A JSON object of every variable, in name order.
impl Serialize for Vars {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, &v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn inputs(v: Value) -> Arc<Inputs> {
        let Value::Object(m) = v else {
            unreachable!("an object")
        };
        Arc::new(Inputs::from_map(&m).expect("inputs"))
    }

    #[test]
    fn compact_drops_whitespace_between_tokens_only() {
        let text = "{ \"a b\" : [ 1 ,\n\t2 ], \"s\": \" x \\\" y \" }";
        assert_eq!(
            compact(text).as_deref(),
            Some(r#"{"a b":[1,2],"s":" x \" y "}"#)
        );
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_INPUT_DEPTH),
            "]".repeat(MAX_INPUT_DEPTH)
        );
        assert!(compact(&deep).is_some());
        assert!(compact(&format!("[{deep}]")).is_none());
        let mut i = Inputs::default();
        i.insert_json("x".into(), " [ 1, { \"k\" : null } ] ")
            .expect("valid");
        assert_eq!(i.get("x").map(RawValue::get), Some(r#"[1,{"k":null}]"#));
        assert!(i.insert_json("y".into(), "[1,").is_err());
        assert_eq!(i.text_len(), 14);
    }

    #[test]
    fn set_variables_win_and_iteration_keeps_the_order_given() {
        let mut v = Vars::new(inputs(json!({"e": "five", "a": 1, "c": [3]})));
        v.extend(
            json!({"b": 2, "c": "over", "z": null})
                .as_object()
                .cloned()
                .expect("obj"),
        );
        let names: Vec<&str> = v.iter().map(|(k, _)| k).collect();
        // The inputs in their order (`c` set over in place), then what nodes set.
        assert_eq!(names, ["e", "a", "c", "b", "z"]);
        assert_eq!(v.len(), 5);
        assert_eq!(v.get("c"), Some(VarRef::Value(&json!("over"))));
        assert_eq!(
            v.get("a").map(|r| r.to_value().into_owned()),
            Some(json!(1))
        );
        assert!(v.contains_key("e") && !v.contains_key("q"));
        let text = serde_json::to_string(&v).expect("json");
        assert_eq!(text, r#"{"e":"five","a":1,"c":"over","b":2,"z":null}"#);
    }

    #[test]
    fn an_expression_reads_the_inputs_it_names_and_only_those() {
        let v = Vars::new(inputs(json!({"data": [1, 2, 3], "big": {"x": 1}, "n": 10})));
        let e = expr::parse("count(data) + n").expect("parses");
        assert_eq!(v.eval(&e, &[]), Ok(json!(13)));
        let parsed = v.read_by(&e, &[]);
        assert_eq!(parsed.keys().collect::<Vec<_>>(), ["data", "n"]);
        // An earlier layer hides an input of the same name: it is not parsed.
        let rows = json!({"n": 1}).as_object().cloned().expect("obj");
        assert_eq!(v.read_by(&e, &[&rows]).keys().collect::<Vec<_>>(), ["data"]);
        assert_eq!(v.eval(&e, &[&rows]), Ok(json!(4)));
        // A name bound inside the expression is not an input read.
        let e = expr::parse("{ big: 1, y: big }.y").expect("parses");
        assert!(v.read_by(&e, &[]).is_empty());
        assert_eq!(v.eval(&e, &[]), Ok(json!(1)));
    }

    #[test]
    fn var_refs_compare_as_json_values() {
        let i = inputs(json!({"a": {"k": [1, 2]}}));
        let raw = VarRef::Raw(i.get("a").expect("a"));
        assert_eq!(raw, VarRef::Value(&json!({"k": [1, 2]})));
        assert_ne!(raw, VarRef::Value(&json!({"k": [2, 1]})));
        assert_eq!(raw, raw);
    }
}
