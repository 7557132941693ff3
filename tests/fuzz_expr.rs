//! Fuzz target: the expression language (lexer, parser, evaluator, static analysis).
//! Grammar-aware token soup, generated well-formed expressions, and arbitrary bytes; evaluation
//! over random variables. Properties: never a panic; errors carry a span inside the source and
//! render; well-formed expressions parse; results stay within the documented depth limit and
//! read back as JSON; evaluation is deterministic.
//!
//! Long run: `FUZZ_CASES=200000 cargo test --release --test fuzz_expr -- --ignored --nocapture`
//! (see docs/fuzzing.md).

mod fuzz_support;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};
use wfop::expr;

const TOKENS: &[&str] = &[
    "a",
    "b",
    "c",
    "x",
    "data",
    "items",
    "`weird name`",
    "`",
    "a.b",
    ".",
    "..",
    "a.b.c",
    "[",
    "]",
    "[1]",
    "[-1]",
    "[0]",
    "(",
    ")",
    "{",
    "}",
    ",",
    ":",
    "\"k\":",
    "k:",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "and",
    "or",
    "not",
    "not(",
    "true",
    "false",
    "null",
    "0",
    "1",
    "-1",
    "1.5",
    "1e308",
    "1e309",
    "9999999999999999999999",
    "0.0000001",
    ".5",
    "5.",
    "\"\"",
    "\"s\"",
    "\"\\u00e9\"",
    "\"\\ud83d\\ude00\"",
    "\"\\ud800\"",
    "\"\\uZZZZ\"",
    "\"\\n\\t\\\\\\\"\"",
    "\"",
    "\\",
    "secret_value",
    "secret_value(\"tok\")",
    "string(",
    "number(",
    "count(",
    "is defined(",
    "is",
    "defined",
    "if",
    "then",
    "else",
    "for",
    "in",
    "return",
    "some",
    "every",
    "@",
    "@\"2024-01-31\"",
    "@\"P1DT2H\"",
    "@\"10:30:00+01:00\"",
    "@\"bad\"",
    "between",
    "instance of",
    "number",
    "list<",
    "satisfies",
    "function(",
    "**",
    "item",
    "items[item > 1]",
    "[1..3]",
    "(1..3]",
    "]1..3[",
    "get or else(",
    "string length(",
    "date and time(",
    "substring(string: ",
    "matches(",
    "sort(",
    "bpmnError(",
    "#",
    "é",
    "😀",
    "\u{0}",
    "\u{202e}",
    " ",
    "\n",
    "\t",
    "\r",
];

fn vars_strategy() -> impl Strategy<Value = Map<String, Value>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z\\\\\"é😀 ]{0,12}".prop_map(Value::String),
    ];
    let value = leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[abck]|weird name", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("a|b|c|x|data|items|k|weird name", value, 0..6)
        .prop_map(|m| m.into_iter().collect())
}

/// Well-formed expression text, by construction.
fn well_formed() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[a-c]|data|items|x".prop_map(String::from),
        Just("`weird name`".to_string()),
        (-1000i64..1000).prop_map(|n| n.to_string()),
        Just("1.25".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
        "[a-z é]{0,6}".prop_map(|s| format!("\"{s}\"")),
        Just("\"\\u00e9\\n\"".to_string()),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*", "/", "and", "or"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            // Comparisons do not chain (`a = b = c` is refused by design): parenthesised.
            (
                inner.clone(),
                prop::sample::select(vec!["=", "!=", "<", "<=", ">", ">="]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("-({a})")),
            inner.clone().prop_map(|a| format!("not({a})")),
            (
                prop::sample::select(vec!["string", "number", "count", "is defined"]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            // Keys are unique: a context with a key twice is an error by design.
            prop::collection::btree_map("[a-c]", inner.clone(), 0..4).prop_map(|v| {
                let e: Vec<String> = v.iter().map(|(k, e)| format!("\"{k}\": {e}")).collect();
                format!("{{ {} }}", e.join(", "))
            }),
            (inner.clone(), -3i64..4).prop_map(|(a, i)| format!("({a})[{i}]")),
            (inner.clone(), "[a-c]").prop_map(|(a, k)| format!("({a}).{k}")),
            // The FEEL constructs of issue 11.
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("(if ({c}) then ({a}) else ({b}))")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("(({a}) in (({b}), [1..3], < 0))")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("(({a}) between ({b}) and ({c}))")),
            (inner.clone(), inner.clone())
                .prop_map(|(l, e)| format!("(for v in [{l}] return ({e}))")),
            (inner.clone(), inner.clone())
                .prop_map(|(l, e)| format!("(some v in [{l}] satisfies ({e}))")),
            (inner.clone(), inner.clone()).prop_map(|(l, e)| format!("({l})[{e}]")),
            inner
                .clone()
                .prop_map(|a| format!("(({a}) instance of number)")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) ** ({b})")),
            (
                prop::sample::select(vec![
                    "string length",
                    "upper case",
                    "abs",
                    "floor",
                    "sum",
                    "distinct values",
                    "flatten",
                    "date",
                    "duration",
                    "reverse",
                    "get entries",
                ]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("get or else({a}, {b})")),
        ]
    })
    .prop_map(|s| s)
}

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|v| v.join(""))
}

fn spaced_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|v| v.join(" "))
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..200)
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn check_span(src: &str, span: expr::Span, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        span.start <= span.end && span.end <= src.len(),
        "{what}: span {span:?} outside the source of {} bytes",
        src.len()
    );
    Ok(())
}

/// Depth of a JSON value (a scalar is 0).
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Parses, analyses and (when it parses) evaluates `src`; checks every property.
fn check(src: &str, vars: &Map<String, Value>) -> Result<(), TestCaseError> {
    match expr::parse(src) {
        Err(e) => {
            check_span(src, e.span, "parse error")?;
            prop_assert!(!e.message.is_empty());
            let _ = e.render(src);
        }
        Ok(parsed) => {
            check_span(src, parsed.span, "expression")?;
            let analysis = expr::analyze(&parsed);
            let _ = analysis.free_variable_names();
            if let Err(errs) = expr::secret_bindings(&parsed) {
                for e in errs {
                    check_span(src, e.span, "secret_bindings error")?;
                    let _ = e.render(src);
                }
            }
            let first = expr::eval(&parsed, vars);
            match &first {
                Ok(v) => {
                    prop_assert!(depth(v) <= expr::MAX_VALUE_DEPTH, "result too deep");
                    let text = serde_json::to_string(v).map_err(|e| {
                        TestCaseError::fail(format!("result does not serialise: {e}"))
                    })?;
                    let back: Value = serde_json::from_str(&text).map_err(|e| {
                        TestCaseError::fail(format!("result does not read back: {e}"))
                    })?;
                    let _ = back;
                }
                Err(e) => {
                    check_span(src, e.span, "eval error")?;
                    let _ = e.render(src);
                }
            }
            prop_assert_eq!(
                &first,
                &expr::eval(&parsed, vars),
                "eval is not deterministic"
            );
        }
    }
    Ok(())
}

fn any_input() -> impl Strategy<Value = (String, Map<String, Value>)> {
    (
        prop_oneof![
            3 => token_soup(),
            2 => spaced_soup(),
            2 => well_formed(),
            1 => arbitrary_text(),
        ],
        vars_strategy(),
    )
}

#[test]
fn expr_no_panic_smoke() {
    fuzz_support::smoke("expr", 300, any_input(), |(src, vars)| check(&src, &vars));
}

#[test]
fn expr_well_formed_parses_smoke() {
    fuzz_support::smoke(
        "expr-well-formed",
        200,
        (well_formed(), vars_strategy()),
        |(src, vars)| {
            if let Err(e) = expr::parse(&src) {
                return Err(TestCaseError::fail(format!(
                    "a well-formed expression did not parse:\n{}",
                    e.render(&src)
                )));
            }
            check(&src, &vars)
        },
    );
}

#[test]
#[ignore = "long fuzz run; see docs/fuzzing.md"]
fn expr_no_panic() {
    fuzz_support::long("expr", any_input(), |(src, vars)| check(&src, &vars));
}

#[test]
#[ignore = "long fuzz run; see docs/fuzzing.md"]
fn expr_well_formed_parses() {
    fuzz_support::long(
        "expr-well-formed",
        (well_formed(), vars_strategy()),
        |(src, vars)| {
            if let Err(e) = expr::parse(&src) {
                return Err(TestCaseError::fail(format!(
                    "a well-formed expression did not parse:\n{}",
                    e.render(&src)
                )));
            }
            check(&src, &vars)
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Deep and large inputs (each a named case, fast).

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let vars = Map::new();
    for (open, close) in [
        ("(", ")"),
        ("[", "]"),
        ("{a: ", "}"),
        ("not(", ")"),
        ("-", ""),
    ] {
        let src = format!("{}1{}", open.repeat(20_000), close.repeat(20_000));
        let e = expr::parse(&src).expect_err("nesting beyond the limit");
        assert!(e.span.end <= src.len());
    }
    // Long flat chains are not nesting in the source, but they are in a naive tree.
    for op in ["+", "and", "=", "-", "*"] {
        let src = vec!["a"; 30_000].join(&format!(" {op} "));
        let _ = expr::parse(&src).map(|e| expr::eval(&e, &vars));
    }
    let src = format!("{}a", "a.".repeat(30_000));
    let _ = expr::parse(&src).map(|e| expr::eval(&e, &vars));
    let src = format!("a{}", "[1]".repeat(30_000));
    let _ = expr::parse(&src).map(|e| expr::eval(&e, &vars));
}

#[test]
fn oversized_source_is_refused_with_a_span() {
    let src = "1 + ".repeat(expr::MAX_SOURCE_LEN / 4 + 10) + "1";
    let e = expr::parse(&src).expect_err("too long");
    assert!(e.span.end <= src.len());
}
