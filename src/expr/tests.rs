//! Behaviour tests of the expression language through its public API: FEEL semantics, errors
//! with spans, `$secrets` bindings, analysis, and robustness against hostile input.

use serde_json::{Map, Value, json};

use super::*;

fn vars() -> Map<String, Value> {
    json!({
        "a": 1,
        "b": { "c": { "d": "deep" }, "n": null },
        "list": [10, 20, 30],
        "people": [ { "name": "Ada", "age": 36 }, { "name": "Alan" }, 7 ],
        "s": "text",
        "circuit_data": { "qubits": 2, "gates": ["h", "cx"] },
        "nothing": null,
        "$secrets": { "x": 1 },
        "my var": 5,
        "t": true,
        "f": false,
        "big": 12345678901234567890u64,
        "half": 0.5
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

#[track_caller]
fn ev(src: &str) -> Value {
    let expr = parse(src).unwrap_or_else(|e| panic!("parse {src:?}: {e} at {}", e.span));
    eval(&expr, &vars()).unwrap_or_else(|e| panic!("eval {src:?}: {e} at {}", e.span))
}

#[track_caller]
fn parse_err(src: &str) -> Error {
    match parse(src) {
        Ok(e) => panic!("{src:?} parsed as {e}"),
        Err(e) => e,
    }
}

#[track_caller]
fn eval_err(src: &str) -> Error {
    let expr = parse(src).unwrap_or_else(|e| panic!("parse {src:?}: {e}"));
    match eval(&expr, &vars()) {
        Ok(v) => panic!("{src:?} evaluated to {v}"),
        Err(e) => e,
    }
}

fn sp(start: usize, end: usize) -> Span {
    Span::new(start, end)
}

// ---------------------------------------------------------------- literals

#[test]
fn literals() {
    assert_eq!(ev("true"), json!(true));
    assert_eq!(ev("false"), json!(false));
    assert_eq!(ev("null"), Value::Null);
    assert_eq!(ev("42"), json!(42));
    assert_eq!(ev("2.5"), json!(2.5));
    assert_eq!(ev("1e3"), json!(1000));
    assert_eq!(ev("1.5E-1"), json!(0.15));
    assert_eq!(ev(".5"), json!(0.5));
    assert_eq!(ev("\"hi\""), json!("hi"));
    assert_eq!(ev("\"\""), json!(""));
}

#[test]
fn leading_equals_and_whitespace() {
    assert_eq!(ev("= 1 + 2"), json!(3));
    assert_eq!(ev("=a"), json!(1));
    assert_eq!(ev("  =\n\t{ \"k\" :\n a }  "), json!({ "k": 1 }));
    // only the first `=` is the editor's marker; a second one is a comparison operand error
    let e = parse_err("= = 1");
    assert_eq!(e.span, sp(2, 3));
    assert_eq!(e.message, "expected an expression, found `=`");
}

#[test]
fn string_escapes() {
    assert_eq!(ev(r#""a\"b""#), json!("a\"b"));
    assert_eq!(ev(r#""a\\b""#), json!("a\\b"));
    assert_eq!(ev(r#""a\nb""#), json!("a\nb"));
    assert_eq!(ev(r#""a\tb""#), json!("a\tb"));
    assert_eq!(ev(r#""a\rb""#), json!("a\rb"));
    assert_eq!(ev(r#""\u00e9""#), json!("é"));
    assert_eq!(ev(r#""\u00E9""#), json!("é"));
    assert_eq!(ev(r#""\ud83d\ude00""#), json!("😀"));
    assert_eq!(ev(r#""\/\'""#), json!("/'"));
    assert_eq!(ev("\"raw\nnewline é\""), json!("raw\nnewline é"));
}

#[test]
fn string_escape_errors() {
    let e = parse_err(r#""ab\qc""#);
    assert_eq!(e.span, sp(3, 5));
    assert!(
        e.message.starts_with("unknown escape `\\q`"),
        "{}",
        e.message
    );
    let e = parse_err(r#""\u12""#);
    assert_eq!(e.span, sp(1, 3));
    assert_eq!(e.message, "expected four hex digits after `\\u`");
    let e = parse_err(r#""\ud83d""#);
    assert!(e.message.starts_with("unpaired surrogate"), "{}", e.message);
    let e = parse_err(r#""\ud83d\u0041""#);
    assert!(e.message.starts_with("unpaired surrogate"), "{}", e.message);
    let e = parse_err(r#""\ude00""#);
    assert_eq!(e.message, "unpaired low surrogate in `\\u` escape");
    // a backslash at the very end
    let e = parse_err("\"abc\\");
    assert_eq!(e.span, sp(4, 5));
    assert!(e.message.starts_with("unterminated string"));
}

// ---------------------------------------------------------------- names, paths, index

#[test]
fn names_and_paths() {
    assert_eq!(ev("a"), json!(1));
    assert_eq!(ev("b.c.d"), json!("deep"));
    assert_eq!(ev("b . c . d"), json!("deep"));
    assert_eq!(ev("$secrets"), json!({ "x": 1 }));
    assert_eq!(ev("$secrets.x"), json!(1));
    assert_eq!(ev("`my var`"), json!(5));
    assert_eq!(ev("`my var` + 1"), json!(6));
    assert_eq!(ev("b.`c`.d"), json!("deep"));
    assert_eq!(
        ev("circuit_data"),
        json!({ "qubits": 2, "gates": ["h", "cx"] })
    );
    // a name that merely starts like a keyword
    let mut v = Map::new();
    v.insert("android".into(), json!(1));
    v.insert("nullable".into(), json!(2));
    let e = parse("android + nullable").expect("parses");
    assert_eq!(eval(&e, &v), Ok(json!(3)));
}

#[test]
fn missing_is_null() {
    assert_eq!(ev("missing"), Value::Null);
    assert_eq!(ev("b.missing"), Value::Null);
    assert_eq!(ev("b.c.missing.deeper.still"), Value::Null);
    assert_eq!(ev("missing.x.y"), Value::Null);
    assert_eq!(ev("a.x"), Value::Null); // key of a number
    assert_eq!(ev("nothing.x"), Value::Null);
    assert_eq!(ev("missing[1]"), Value::Null);
    assert_eq!(ev("{ k: missing }"), json!({ "k": null }));
    assert_eq!(ev("missing + 1"), Value::Null);
}

#[test]
fn projection_over_lists() {
    assert_eq!(ev(r#"[{"x":1},{"x":2}].x"#), json!([1, 2]));
    assert_eq!(ev("people.name"), json!(["Ada", "Alan", null]));
    assert_eq!(ev("people.age"), json!([36, null, null]));
    assert_eq!(ev("people.name[2]"), json!("Alan"));
    assert_eq!(ev("people[1].name"), json!("Ada"));
}

#[test]
fn indexes_are_one_based() {
    assert_eq!(ev("list[1]"), json!(10));
    assert_eq!(ev("list[3]"), json!(30));
    assert_eq!(ev("list[-1]"), json!(30));
    assert_eq!(ev("list[-3]"), json!(10));
    assert_eq!(ev("list[0]"), Value::Null);
    assert_eq!(ev("list[4]"), Value::Null);
    assert_eq!(ev("list[-4]"), Value::Null);
    assert_eq!(ev("list[1e20]"), Value::Null);
    assert_eq!(ev("list[a + 1]"), json!(20));
    assert_eq!(ev("[1, [2, 3]][2][1]"), json!(2));
    assert_eq!(ev("circuit_data.gates[-1]"), json!("cx"));
    assert_eq!(ev("list[missing]"), json!([])); // not a number: a filter, and null keeps nothing
    assert_eq!(ev("list[2.0]"), json!(20));
    // index of a non-list is null
    assert_eq!(ev("a[1]"), Value::Null);
    assert_eq!(ev("b[1]"), Value::Null);
    assert_eq!(ev("s[1]"), Value::Null);
}

#[test]
fn bad_indexes() {
    // A non-number in brackets is a filter: a string keeps no element.
    assert_eq!(ev(r#"list["x"]"#), json!([]));
    let e = eval_err("list[1.5]");
    assert_eq!(e.span, sp(5, 8));
    assert_eq!(e.message, "a list index must be a whole number, found 1.5");
    let e = parse_err("list[]");
    assert_eq!(e.span, sp(5, 6));
    assert_eq!(
        e.message,
        "expected an index or a condition inside `[ ]`, found `]`"
    );
}

// ---------------------------------------------------------------- lists and contexts

#[test]
fn lists() {
    assert_eq!(ev("[]"), json!([]));
    assert_eq!(ev("[1, \"x\", null, [a]]"), json!([1, "x", null, [1]]));
}

#[test]
fn contexts() {
    assert_eq!(ev("{}"), json!({}));
    assert_eq!(
        ev(r#"{ "k": a, k2: s, `odd key`: 1 }"#),
        json!({ "k": 1, "k2": "text", "odd key": 1 })
    );
    assert_eq!(ev("{a: 1, b: a + 1}"), json!({ "a": 1, "b": 2 }));
    // an entry sees outer variables until it is shadowed by an earlier entry
    assert_eq!(
        ev("{x: a, a: 10, y: a}"),
        json!({ "x": 1, "a": 10, "y": 10 })
    );
    // an entry does not see itself: `a` here is the outer variable
    assert_eq!(ev("{a: a + 1}"), json!({ "a": 2 }));
    // nested contexts see the entries of enclosing ones
    assert_eq!(
        ev("{p: 2, q: {r: p * 3}}"),
        json!({ "p": 2, "q": { "r": 6 } })
    );
    // later entries are not visible to earlier ones
    assert_eq!(ev("{x: later, later: 1}"), json!({ "x": null, "later": 1 }));
    assert_eq!(ev("{a: {b: 5}}.a.b"), json!(5));
    // the input-mapping shape of docs/workflow-format.md
    assert_eq!(
        ev(r#"{ "circuit": circuit_data, "shots": 1000 }"#),
        json!({ "circuit": { "qubits": 2, "gates": ["h", "cx"] }, "shots": 1000 })
    );
}

#[test]
fn duplicate_context_key_is_a_parse_error() {
    let e = parse_err(r#"{a: 1, "a": 2}"#);
    assert_eq!(e.span, sp(7, 10));
    assert_eq!(
        e.message,
        "duplicate key `a` in context (first defined at byte 1)"
    );
}

// ---------------------------------------------------------------- arithmetic

#[test]
fn arithmetic() {
    assert_eq!(ev("1 + 2"), json!(3));
    assert_eq!(ev("7 - 10"), json!(-3));
    assert_eq!(ev("6 * 7"), json!(42));
    assert_eq!(ev("7 / 2"), json!(3.5));
    assert_eq!(ev("6 / 3"), json!(2));
    assert_eq!(ev("0.1 + 0.2"), json!(0.3)); // decimal, not binary floating point
    assert_eq!(ev("1.5 + 1.5"), json!(3)); // integral result → integer
    assert_eq!(ev("-a"), json!(-1));
    assert_eq!(ev("- -a"), json!(1));
    assert_eq!(ev("-half"), json!(-0.5));
    assert_eq!(ev("2 * 9007199254740992"), json!(18014398509481984i64)); // exact
    assert!(ev("9007199254740991 + 0").is_i64());
    assert!(ev("1e20 * 1000").is_f64()); // beyond 64 bits: the nearest float
}

#[test]
fn arithmetic_with_null_or_wrong_types_is_null() {
    assert_eq!(ev("null + 1"), Value::Null);
    assert_eq!(ev("1 - missing"), Value::Null);
    assert_eq!(ev("\"a\" + 1"), Value::Null);
    assert_eq!(ev("\"a\" * 2"), Value::Null);
    assert_eq!(ev("-\"a\""), Value::Null);
    assert_eq!(ev("-null"), Value::Null);
    assert_eq!(ev("true + 1"), Value::Null);
    assert_eq!(ev("[1] + [2]"), Value::Null);
}

#[test]
fn division_by_zero_and_overflow_are_null() {
    assert_eq!(ev("1 / 0"), Value::Null);
    assert_eq!(ev("0 / 0"), Value::Null);
    assert_eq!(ev("79228162514264337593543950335 * 10"), Value::Null); // beyond the decimal range
    assert!(parse_err("1e308").message.contains("out of range"));
}

#[test]
fn string_concatenation() {
    assert_eq!(ev(r#""ab" + "cd""#), json!("abcd"));
    assert_eq!(ev(r#"s + "-" + string(a)"#), json!("text-1"));
    assert_eq!(ev(r#""x" + null"#), Value::Null);
}

// ---------------------------------------------------------------- comparisons and logic

#[test]
fn comparisons() {
    assert_eq!(ev("1 < 2"), json!(true));
    assert_eq!(ev("2 <= 2"), json!(true));
    assert_eq!(ev("3 > 2"), json!(true));
    assert_eq!(ev("1 >= 2"), json!(false));
    assert_eq!(ev("1 = 1.0"), json!(true));
    assert_eq!(ev("1 != 2"), json!(true));
    assert_eq!(ev(r#""a" < "b""#), json!(true));
    assert_eq!(ev(r#"s = "text""#), json!(true));
    assert_eq!(ev("[1, {a: 2}] = [1.0, {a: 2}]"), json!(true));
    assert_eq!(ev("{a: 1} = {a: 1, b: 2}"), json!(false));
    assert_eq!(ev("big = big"), json!(true));
}

#[test]
fn comparisons_with_null_and_mixed_types() {
    assert_eq!(ev("missing = null"), json!(true));
    assert_eq!(ev("nothing = null"), json!(true));
    assert_eq!(ev("a = null"), json!(false));
    assert_eq!(ev("a != null"), json!(true));
    assert_eq!(ev("null = null"), json!(true));
    // Different types do not compare (DMN 10.3.2.2, Camunda 8.3+): null, not false.
    assert_eq!(ev(r#"1 = "1""#), json!(null));
    assert_eq!(ev(r#"1 != "1""#), json!(null));
    assert_eq!(ev(r#"[1] = {a: 1}"#), json!(null));
    assert_eq!(ev(r#"true = "true""#), json!(null));
    // null is still comparable with anything: the null test.
    assert_eq!(ev(r#"null = "1""#), json!(false));
    assert_eq!(ev(r#"1 != null"#), json!(true));
    assert_eq!(ev(r#"missing = null"#), json!(true));
    assert_eq!(ev(r#"1 < "2""#), Value::Null);
    assert_eq!(ev("null < 1"), Value::Null);
    assert_eq!(ev("true < false"), Value::Null);
    assert_eq!(ev("[1] < [2]"), Value::Null);
}

#[test]
fn three_valued_logic() {
    let table = [
        ("true and true", json!(true)),
        ("true and false", json!(false)),
        ("true and null", Value::Null),
        ("false and null", json!(false)),
        ("null and false", json!(false)),
        ("null and null", Value::Null),
        ("true or false", json!(true)),
        ("false or false", json!(false)),
        ("false or null", Value::Null),
        ("null or true", json!(true)),
        ("true or null", json!(true)),
        ("null or null", Value::Null),
        ("not(true)", json!(false)),
        ("not(false)", json!(true)),
        ("not(null)", Value::Null),
        ("not(1)", Value::Null),
        ("1 and true", Value::Null),
        ("\"x\" or false", Value::Null),
        ("t and f", json!(false)),
        ("t and missing", Value::Null),
    ];
    for (src, want) in table {
        assert_eq!(ev(src), want, "{src}");
    }
}

#[test]
fn logic_short_circuits() {
    // the right side would be an evaluation error, but is never needed
    assert_eq!(ev(r#"false and list["x"] = 1"#), json!(false));
    assert_eq!(ev(r#"true or list["x"] = 1"#), json!(true));
}

#[test]
fn precedence() {
    let shape = |src: &str| parse(src).map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(shape("1 + 2 * 3"), "(1 + (2 * 3))");
    assert_eq!(shape("1 - 2 - 3"), "((1 - 2) - 3)");
    assert_eq!(shape("8 / 4 / 2"), "((8 / 4) / 2)");
    assert_eq!(shape("-a.b"), "(-a.b)");
    assert_eq!(shape("-2 * 3"), "((-2) * 3)");
    assert_eq!(shape("a + 1 < b * 2"), "((a + 1) < (b * 2))");
    assert_eq!(
        shape("a = 1 or b = 2 and c = 3"),
        "((a = 1) or ((b = 2) and (c = 3)))"
    );
    assert_eq!(shape("(1 + 2) * 3"), "((1 + 2) * 3)");
    assert_eq!(ev("1 + 2 * 3"), json!(7));
    assert_eq!(ev("(1 + 2) * 3"), json!(9));
    assert_eq!(ev("10 - 2 - 3"), json!(5));
    assert_eq!(ev("2 * 3 + 4 * 5"), json!(26));
    assert_eq!(ev("-2 * -3"), json!(6));
    assert_eq!(ev("1 + 1 = 2 and 2 < 3"), json!(true));
    assert_eq!(ev("false and false or true"), json!(true));
    assert_eq!(ev("true or true and false"), json!(true));
}

#[test]
fn comparisons_do_not_chain() {
    let e = parse_err("1 < 2 < 3");
    assert_eq!(e.span, sp(6, 7));
    assert!(
        e.message.starts_with("comparisons cannot be chained"),
        "{}",
        e.message
    );
}

// ---------------------------------------------------------------- functions

#[test]
fn builtin_functions() {
    assert_eq!(ev("string(1)"), json!("1"));
    assert_eq!(ev("string(1.5)"), json!("1.5"));
    assert_eq!(ev("string(half * 4)"), json!("2"));
    assert_eq!(ev("string(true)"), json!("true"));
    assert_eq!(ev("string(\"s\")"), json!("s"));
    assert_eq!(ev("string(null)"), Value::Null);
    assert_eq!(ev("string([1, \"a\"])"), json!("[1, \"a\"]"));
    assert_eq!(ev("string(big)"), json!("12345678901234567890"));
    assert_eq!(ev("number(\"12\")"), json!(12));
    assert_eq!(ev("number(\" -1.5e1 \")"), json!(-15));
    assert_eq!(ev("number(\"0.25\")"), json!(0.25));
    assert_eq!(ev("number(\"abc\")"), Value::Null);
    assert_eq!(ev("number(\"inf\")"), Value::Null);
    assert_eq!(ev("number(\"1e999\")"), Value::Null);
    assert_eq!(ev("number(\"\")"), Value::Null);
    assert_eq!(ev("number(\".\")"), Value::Null);
    assert_eq!(ev("number(7)"), json!(7));
    assert_eq!(ev("number(null)"), Value::Null);
    assert_eq!(ev("count(list)"), json!(3));
    assert_eq!(ev("count([])"), json!(0));
    assert_eq!(ev("count(s)"), Value::Null);
    assert_eq!(ev("count(missing)"), Value::Null);
}

#[test]
fn is_defined() {
    assert_eq!(ev("is defined(a)"), json!(true));
    assert_eq!(ev("is defined(missing)"), json!(false));
    assert_eq!(ev("is defined(nothing)"), json!(true)); // present null
    assert_eq!(ev("is defined(b.n)"), json!(true)); // present null key
    assert_eq!(ev("is defined(b.c.d)"), json!(true));
    assert_eq!(ev("is defined(b.c.x)"), json!(false));
    assert_eq!(ev("is defined(nothing.x)"), json!(false));
    assert_eq!(ev("is defined(list[3])"), json!(true));
    assert_eq!(ev("is defined(list[4])"), json!(false));
    assert_eq!(ev("is defined(null)"), json!(true)); // a literal is always defined
    assert_eq!(ev("is defined(1 + missing)"), json!(true));
    assert_eq!(ev("{k: 1, d: is defined(k)}"), json!({ "k": 1, "d": true }));
    assert_eq!(ev("is  defined ( a )"), json!(true));
    assert_eq!(
        parse("is defined(x)").map(|e| e.kind),
        parse("is defined(x)").map(|e| e.kind)
    );
    // `is` alone is an ordinary name
    assert_eq!(ev("is"), Value::Null);
}

#[test]
fn unknown_functions_and_arity_are_eval_errors() {
    let e = eval_err("foo(1)");
    assert_eq!(e.span, sp(0, 3));
    assert!(
        e.message.starts_with("unknown function `foo`"),
        "{}",
        e.message
    );
    let e = eval_err("string(1, 2)");
    assert_eq!(e.span, sp(0, 12));
    assert_eq!(e.message, "`string` takes 1 argument, found 2");
    let e = eval_err("count()");
    assert_eq!(e.message, "`count` takes 1 argument, found 0");
}

#[test]
fn unsupported_feel_is_explained() {
    assert!(parse_err("a.upper()").message.contains("method calls"));
    assert!(
        parse_err("string(from: 1, 2)")
            .message
            .contains("cannot be mixed")
    );
}

// ---------------------------------------------------------------- secret_value

#[test]
fn secret_value_is_never_evaluated() {
    for src in [
        r#"secret_value("ibm_api_token")"#,
        r#"{ "ibm_token": secret_value("ibm_api_token") }"#,
        r#"false and secret_value("x") = "y""#,
        r#"string(secret_value("x"))"#,
    ] {
        let e = eval_err(src);
        assert_eq!(
            e.message, "secret_value() may only be used in the $secrets mapping",
            "{src}"
        );
    }
    let e = eval_err(r#"{ "ibm_token": secret_value("ibm_api_token") }"#);
    assert_eq!(e.span, sp(15, 44));
}

#[test]
fn secret_bindings_of_a_good_mapping() {
    let src = r#"{ "ibm_token": secret_value("ibm_api_token") }"#;
    let expr = parse(src).expect("parses");
    let b = secret_bindings(&expr).expect("valid $secrets mapping");
    assert_eq!(
        b,
        vec![SecretBinding {
            param: "ibm_token".into(),
            param_span: sp(2, 13),
            secret: "ibm_api_token".into(),
            secret_span: sp(28, 43),
        }]
    );
    let expr = parse(r#"= { a: secret_value("x"), `b c`: secret_value("y") }"#).expect("parses");
    let b = secret_bindings(&expr).expect("valid");
    let pairs: Vec<(&str, &str)> = b
        .iter()
        .map(|b| (b.param.as_str(), b.secret.as_str()))
        .collect();
    assert_eq!(pairs, vec![("a", "x"), ("b c", "y")]);
    assert_eq!(secret_bindings(&parse("{}").expect("parses")), Ok(vec![]));
}

#[test]
fn secret_bindings_errors_have_spans() {
    let errs = |src: &str| {
        let expr = parse(src).expect("parses");
        secret_bindings(&expr).expect_err("invalid")
    };
    let e = errs(r#"{ "a": "x" }"#);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].span, sp(7, 10));
    assert!(
        e[0].message
            .starts_with("expected secret_value(\"name\") here"),
        "{}",
        e[0].message
    );

    let e = errs("secret_value(x)");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].span, sp(0, 15));
    assert!(
        e[0].message.contains("must be a context"),
        "{}",
        e[0].message
    );

    let e = errs(r#"{ "a": secret_value("x") + "y" }"#);
    assert_eq!(e[0].span, sp(7, 30));
    assert!(
        e[0].message.contains("cannot be combined"),
        "{}",
        e[0].message
    );

    let e = errs(
        r#"{ a: secret_value(x), b: secret_value("y", "z"), c: string("k"), d: secret_value("") }"#,
    );
    assert_eq!(e.len(), 4, "{e:?}");
    assert_eq!(e[0].span, sp(18, 19));
    assert!(
        e[0].message
            .starts_with("secret_value takes one string literal")
    );
    assert_eq!(e[1].span, sp(25, 47));
    assert!(
        e[1].message
            .starts_with("secret_value takes one string literal")
    );
    assert!(
        e[2].message.contains("a call of another function") && !e[2].message.contains("string"),
        "{}",
        e[2].message
    );
    assert_eq!(e[3].message, "the secret name must not be empty");

    let e = errs(r#""ibm_api_token""#);
    assert!(
        e[0].message.starts_with("expected a context"),
        "{}",
        e[0].message
    );
}

// ---------------------------------------------------------------- analysis

#[test]
fn analysis() {
    let expr = parse(r#"{ x: a.b[i], y: x + c, z: { w: y, v: d } , u: foo(e), n: string(1, 2) }"#)
        .expect("parses");
    let a = analyze(&expr);
    let free: Vec<&str> = a.free_variables.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(free, vec!["a", "c", "d", "e"]); // `i` is in a filter: it may be a key of the element
    assert_eq!(a.free_variables[0].1, sp(5, 6));
    assert_eq!(a.unknown_calls, vec![("foo".to_string(), sp(46, 49))]);
    assert_eq!(a.call_errors.len(), 1);
    assert_eq!(a.call_errors[0].span, sp(57, 69));
    assert!(a.secret_value_calls.is_empty());

    let a = analyze(&parse("a + a + `my var`").expect("parses"));
    assert_eq!(a.free_variable_names(), vec!["a", "my var"]);
    assert_eq!(a.free_variables.len(), 3);

    let src = r#"{ t: secret_value("k"), u: not(secret_value("j")) }"#;
    let a = analyze(&parse(src).expect("parses"));
    assert_eq!(a.secret_value_calls, vec![sp(5, 22), sp(31, 48)]);
    assert!(a.free_variables.is_empty());
    assert!(a.unknown_calls.is_empty());

    // an outer variable shadowed only after its use is still free
    let a = analyze(&parse("{ p: q, q: 1, r: q }").expect("parses"));
    assert_eq!(a.free_variables, vec![("q".to_string(), sp(5, 6))]);
    // context keys are not visible outside their context
    let a = analyze(&parse("[{ k: 1 }, k]").expect("parses"));
    assert_eq!(a.free_variable_names(), vec!["k"]);
}

// ---------------------------------------------------------------- parse errors

#[test]
fn parse_errors_have_exact_spans_and_say_what_was_expected() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "",
            (0, 0),
            "expected an expression, found end of input (the expression is empty)",
        ),
        (
            "   ",
            (3, 3),
            "expected an expression, found end of input (the expression is empty)",
        ),
        (
            "=",
            (1, 1),
            "expected an expression after `=`, found end of input",
        ),
        (
            "1 +",
            (3, 3),
            "expected an expression after `+`, found end of input",
        ),
        (
            "1 + * 2",
            (4, 5),
            "expected an expression after `+`, found `*`",
        ),
        (
            "\"abc",
            (0, 4),
            "unterminated string: expected a closing `\"`",
        ),
        (
            "(1 + 2",
            (6, 6),
            "expected `)` to close the `(` at byte 0, found end of input",
        ),
        (
            "string(1",
            (8, 8),
            "expected `,` or `)` to close the call of `string` at byte 6, found end of input",
        ),
        (
            "1 2",
            (2, 3),
            "expected an operator or end of input, found number `2`",
        ),
        (
            "a )",
            (2, 3),
            "expected an operator or end of input, found `)`",
        ),
        (
            "[1, 2",
            (5, 5),
            "expected `,` or `]` to close the list at byte 0, found end of input",
        ),
        (
            "[1,]",
            (3, 4),
            "expected an expression after `,`, found `]`",
        ),
        (
            "{a 1}",
            (3, 4),
            "expected `:` after the key `a`, found number `1`",
        ),
        ("{a: }", (4, 5), "expected a value after `a:`, found `}`"),
        (
            "{1: 2}",
            (1, 2),
            "expected a key (a name or a \"string\") or `}` after `{`, found number `1`",
        ),
        (
            "a.",
            (2, 2),
            "expected a name after `.`, found end of input",
        ),
        ("a.1", (2, 3), "expected a name after `.`, found number `1`"),
        (
            "`abc",
            (0, 4),
            "unterminated name: expected a closing backtick",
        ),
        ("``", (0, 2), "empty name between backticks"),
        (
            "not(",
            (4, 4),
            "expected an argument or `)` after `not(`, found end of input",
        ),
        (
            "-",
            (1, 1),
            "expected an expression after `-`, found end of input",
        ),
        (
            "1 <",
            (3, 3),
            "expected an expression after `<`, found end of input",
        ),
        (
            "a and",
            (5, 5),
            "expected an expression after `and`, found end of input",
        ),
    ];
    for (src, (start, end), message) in cases {
        let e = parse_err(src);
        assert_eq!(
            (e.message.as_str(), e.span),
            (*message, sp(*start, *end)),
            "{src:?}"
        );
    }
}

/// Expression errors render through the one diagnostic renderer (`crate::diag`), the
/// expression shown as a file named `expression`.
#[test]
fn errors_render_with_a_caret() {
    let src = "a + * b";
    let e = parse_err(src);
    assert_eq!(
        e.render(src),
        "error: expected an expression after `+`, found `*`\n  ┌─ expression:1:5\n  │\n1 │ a + * b\n  │     ^ here\n\n"
    );
    let src = "{\n  k: (1 +\n}";
    let e = parse_err(src);
    assert_eq!(e.span, sp(12, 13));
    let shown = e.render(src);
    assert!(
        shown.contains("expression:3:1\n  │\n3 │ }\n  │ ^ here"),
        "{shown}"
    );
    // spans out of range or inside a character are clamped
    let err = |start, end| Error {
        span: sp(start, end),
        message: "m".into(),
    };
    assert!(err(1, 99).render("é").contains("1 │ é\n  │ ^ here"));
    assert!(err(5, 9).render("").contains("expression:1:1"));
}

// ---------------------------------------------------------------- limits and robustness

fn nested(open: &str, close: &str, n: usize) -> String {
    let mut s = open.repeat(n);
    s.push('1');
    s.push_str(&close.repeat(n));
    s
}

#[test]
fn nesting_at_the_limit_works() {
    // Just below the limit every walk (parse, eval, analyze, Display, Drop) must fit the
    // default 2 MiB test-thread stack.
    let depth = MAX_DEPTH - 2;
    for src in [
        nested("(", ")", depth),
        nested("[", "]", depth),
        nested("not(", ")", depth),
        nested("{a:", "}", depth),
        nested("-", "", depth),
        nested("(1+", ")", depth - 1),
        nested("[1,", "]", depth),
        nested("{a: 1, b: a +", "}", depth / 2),
        nested("x[", "]", depth / 2),
    ] {
        let expr = parse(&src).unwrap_or_else(|e| panic!("{}: {e}", &src[..20]));
        let _ = eval(&expr, &vars());
        let _ = analyze(&expr);
        let _ = secret_bindings(&expr);
        let _ = expr.to_string();
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // As deep as the length limit allows (100 000 levels hit that limit first; see below).
    for (open, close) in [
        ("(", ")"),
        ("[", "]"),
        ("{a:", "}"),
        ("not(", ")"),
        ("-", ""),
    ] {
        let n = (MAX_SOURCE_LEN - 1) / (open.len() + close.len());
        let src = nested(open, close, n);
        let e = parse(&src).expect_err("too deep");
        assert_eq!(
            e.message,
            format!("expression nested too deeply (limit {MAX_DEPTH})"),
            "{open}"
        );
    }
}

#[test]
fn one_hundred_thousand_levels_are_rejected_cleanly() {
    for (open, close) in [
        ("(", ")"),
        ("[", "]"),
        ("{a:", "}"),
        ("not(", ")"),
        ("-", ""),
    ] {
        let src = nested(open, close, 100_000);
        let e = parse(&src).expect_err("rejected");
        assert!(
            e.message.starts_with("expression is too long"),
            "{}",
            e.message
        );
        assert_eq!(e.span.start, MAX_SOURCE_LEN);
    }
}

#[test]
fn long_flat_chains_are_fine() {
    // A flat chain is one node per precedence level, not a deep tree.
    let terms = MAX_SOURCE_LEN / 2 - 1;
    let src = vec!["1"; terms].join("+");
    let expr = parse(&src).expect("parses");
    assert!(expr.depth() <= 2);
    assert_eq!(eval(&expr, &vars()), Ok(json!(terms)));
    let src = vec!["a"; terms].join(".");
    let expr = parse(&src).expect("parses");
    assert_eq!(eval(&expr, &vars()), Ok(Value::Null));
    let src = vec!["t"; MAX_SOURCE_LEN / 6].join(" and ");
    assert_eq!(
        eval(&parse(&src).expect("parses"), &vars()),
        Ok(json!(true))
    );
    let src = format!("list{}", "[1]".repeat(MAX_SOURCE_LEN / 3 - 2));
    assert_eq!(
        eval(&parse(&src).expect("parses"), &vars()),
        Ok(Value::Null)
    );
    // 100 000 terms exceed the length limit and are refused up front
    let src = vec!["1"; 100_000].join("+");
    assert!(parse(&src).is_err());
}

#[test]
fn the_tree_depth_itself_is_bounded() {
    // Precedence levels stack several nodes per parenthesis; the tree depth check catches it.
    let src = nested("(a or b and c = d + e * -f.g[", "])", 60);
    let e = parse(&src).expect_err("too deep");
    assert!(
        e.message.starts_with("expression nested too deeply"),
        "{}",
        e.message
    );
}

#[test]
fn evaluation_memory_is_bounded() {
    // Each entry doubles the previous one: without a budget this needs 2^200 bytes.
    let mut src = String::from("{x0: \"0123456789abcdef\"");
    for i in 1..200 {
        src.push_str(&format!(", x{i}: x{} + x{}", i - 1, i - 1));
    }
    src.push('}');
    let expr = parse(&src).expect("parses");
    let e = eval::eval(&expr, &[&vars()], 1 << 20).expect_err("over budget");
    assert!(
        e.message.starts_with("expression builds too large a value"),
        "{}",
        e.message
    );

    let mut src = String::from("{x0: [1, 2, 3, 4]");
    for i in 1..200 {
        src.push_str(&format!(", x{i}: [x{p}, x{p}, x{p}]", p = i - 1));
    }
    src.push('}');
    let expr = parse(&src).expect("parses");
    let e = eval::eval(&expr, &[&vars()], 1 << 20).expect_err("over budget");
    assert!(
        e.message.starts_with("expression builds too large a value"),
        "{}",
        e.message
    );

    // a plain name passes a large value through without being charged
    let mut v = Map::new();
    v.insert("big".into(), json!("x".repeat(4096)));
    let expr = parse("big").expect("parses");
    assert!(eval::eval(&expr, &[&v], 16).is_ok());
    let expr = parse("[big]").expect("parses");
    assert!(eval::eval(&expr, &[&v], 1024).is_err());

    // count, not and number read a named value in place: nothing is copied or charged
    v.insert("list".into(), json!((0..1000).collect::<Vec<_>>()));
    v.insert("n".into(), json!("12.5"));
    v.insert("t".into(), json!(true));
    for (src, want) in [
        ("count(list)", json!(1000)),
        ("count(big)", json!(null)),
        ("number(n)", json!(12.5)),
        ("not(t)", json!(false)),
        ("count(missing)", json!(null)),
    ] {
        let expr = parse(src).expect("parses");
        assert_eq!(eval::eval(&expr, &[&v], 16).expect(src), want, "{src}");
    }
    // A list built on the spot refers to the variables it holds (nothing is copied)…
    let expr = parse("count([big, big])").expect("parses");
    assert_eq!(eval::eval(&expr, &[&v], 1024).expect("counts"), json!(2));
    // …and is charged when it becomes a result that copies them.
    let expr = parse("[big, big]").expect("parses");
    assert!(eval::eval(&expr, &[&v], 1024).is_err());
}

#[test]
fn built_values_are_not_nested_too_deeply() {
    // Each entry wraps the previous one: the value grows one level per entry.
    let mut src = String::from("{x0: 1");
    for i in 1..300 {
        src.push_str(&format!(", x{i}: [x{}]", i - 1));
    }
    src.push('}');
    let e = eval_err(&src);
    assert_eq!(
        e.message,
        format!("expression builds a value nested too deeply (limit {MAX_VALUE_DEPTH})")
    );
}

#[test]
fn hand_built_deep_trees_do_not_overflow_eval() {
    // Trees that did not come from the parser are still evaluated with a depth guard.
    let mut expr = Expr {
        kind: ExprKind::Number(rust_decimal::Decimal::ONE),
        span: sp(0, 1),
    };
    for _ in 0..(MAX_DEPTH + 10) {
        expr = Expr {
            kind: ExprKind::Neg(Box::new(expr)),
            span: sp(0, 1),
        };
    }
    let e = eval(&expr, &Map::new()).expect_err("too deep");
    assert!(e.message.starts_with("expression nested too deeply"));
    let _ = analyze(&expr);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    const TOKENS: &[&str] = &[
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        ".",
        "..",
        "+",
        "-",
        "*",
        "**",
        "/",
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "and",
        "or",
        "not",
        "not(",
        "is defined(",
        "true",
        "false",
        "null",
        "a",
        "b",
        "list",
        "people",
        "$secrets",
        "`my var`",
        "`",
        "\"",
        "\"s\"",
        "\"\\u00e9\"",
        "\"\\ud83d\"",
        "\\",
        "1",
        "-1",
        "0",
        "2.5",
        "1e3",
        ".5",
        "1e999",
        "string(",
        "number(",
        "count(",
        "secret_value(",
        "foo(",
        "{a: 1, b: a}",
        "[1, 2, 3]",
        "é",
        "\n",
        " ",
        "if",
    ];

    fn soup() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(TOKENS), 0..40)
            .prop_map(|toks| toks.concat())
    }

    fn check(src: &str) {
        if let Ok(expr) = parse(src) {
            let _ = eval(&expr, &vars());
            let _ = analyze(&expr);
            let _ = secret_bindings(&expr);
            // Display re-parses to the same shape
            let shown = expr.to_string();
            let again = parse(&shown).map(|e| e.to_string());
            assert_eq!(again.as_deref(), Ok(shown.as_str()), "{src:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_strings_never_panic(src in any::<String>()) {
            check(&src);
        }

        #[test]
        fn token_soup_never_panics(src in soup()) {
            check(&src);
        }

        #[test]
        fn errors_point_inside_the_source(src in soup()) {
            if let Err(e) = parse(&src) {
                prop_assert!(e.span.start <= e.span.end && e.span.end <= src.len(), "{:?}", e);
                prop_assert!(src.is_char_boundary(e.span.start) && src.is_char_boundary(e.span.end));
                let _ = e.render(&src);
            }
        }
    }
}

#[test]
fn layered_eval_takes_a_name_from_the_first_layer_that_has_it() {
    let rows = json!({ "n": 1 });
    let vars = json!({ "n": 100, "m": 5 });
    let (rows, vars) = (rows.as_object().unwrap(), vars.as_object().unwrap());
    let e = parse("n + m").unwrap();
    assert_eq!(
        crate::expr::eval_layered(&e, &[rows, vars]).unwrap(),
        json!(6)
    );
    assert_eq!(
        crate::expr::eval_layered(&e, &[vars, rows]).unwrap(),
        json!(105)
    );
    // Missing everywhere is null, as with one map.
    let e = parse("z").unwrap();
    assert_eq!(
        crate::expr::eval_layered(&e, &[rows, vars]).unwrap(),
        json!(null)
    );
    assert_eq!(crate::expr::eval_layered(&e, &[]).unwrap(), json!(null));
}
