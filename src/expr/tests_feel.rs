//! The FEEL test table: every construct issue 11 names, with examples from the DMN spec and
//! Camudna's FEEL documentation, evaluated through the public API.

use serde_json::{Map, Value, json};

use super::*;

fn vars() -> Map<String, Value> {
    json!({
        "items": [
            { "name": "a", "price": 5 },
            { "name": "b", "price": 15 },
            { "name": "c", "price": 25 }
        ],
        "status": "COMPLETED",
        "nums": [3, 1, 2],
        "first name": "Ada",
        "n": null,
        "x": 7,
        "ctx": { "a": 1, "b": { "c": 2 } }
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

#[track_caller]
fn check(src: &str, want: Value) {
    let expr = parse(src).unwrap_or_else(|e| panic!("parse {src:?}: {e} at {}", e.span));
    let got = eval(&expr, &vars()).unwrap_or_else(|e| panic!("eval {src:?}: {e} at {}", e.span));
    assert_eq!(got, want, "{src}");
}

#[track_caller]
fn eval_error(src: &str) -> Error {
    let expr = parse(src).unwrap_or_else(|e| panic!("parse {src:?}: {e}"));
    match eval(&expr, &vars()) {
        Ok(v) => panic!("{src:?} evaluated to {v}"),
        Err(e) => e,
    }
}

#[test]
fn table() {
    let rows: &[(&str, Value)] = &[
        // if / then / else; a non-boolean condition takes the else branch
        ("if x > 5 then \"big\" else \"small\"", json!("big")),
        ("if n then 1 else 2", json!(2)),
        (
            "if status in [\"FAILED\", \"ERROR\"] then \"retry\" else if status = \"COMPLETED\" then \"done\" else \"poll\"",
            json!("done"),
        ),
        // in: lists, ranges, unary tests
        (
            "status in [\"FAILED\",\"ERROR\",\"CANCELLED\"]",
            json!(false),
        ),
        ("status in (\"COMPLETED\", \"DONE\")", json!(true)),
        ("x in [1..10]", json!(true)),
        ("x in (7..10]", json!(false)),
        ("x in ]1..7[", json!(false)),
        ("x in < 10", json!(true)),
        ("x in (>= 8, 7)", json!(true)),
        ("x in not(1, 2)", json!(true)),
        ("x in != 7", json!(false)),
        ("5 in [1..x]", json!(true)),
        // between
        ("x between 1 and 10", json!(true)),
        ("x between 8 and 10", json!(false)),
        ("\"b\" between \"a\" and \"c\"", json!(true)),
        ("n between 1 and 2", json!(null)),
        // for / some / every
        ("for i in [1, 2, 3] return i * i", json!([1, 4, 9])),
        ("for i in 1..3 return i", json!([1, 2, 3])),
        ("for i in 3..1 return i", json!([3, 2, 1])),
        (
            "for i in [1, 2], j in [10, 20] return i + j",
            json!([11, 21, 12, 22]),
        ),
        ("for it in items return it.name", json!(["a", "b", "c"])),
        ("some i in nums satisfies i > 2", json!(true)),
        ("every i in nums satisfies i > 2", json!(false)),
        ("every i in [] satisfies false", json!(true)),
        ("some p in items satisfies p.price > 20", json!(true)),
        // filters and indexes
        ("items[price > 10].name", json!(["b", "c"])),
        ("items[item.price < 10][1].name", json!("a")),
        ("[1, 2, 3, 4][item > 2]", json!([3, 4])),
        ("nums[1]", json!(3)),
        ("nums[-1]", json!(2)),
        ("nums[4]", json!(null)),
        ("nums[item > 5]", json!([])),
        // instance of
        ("x instance of number", json!(true)),
        ("status instance of string", json!(true)),
        ("@\"2024-01-31\" instance of date", json!(true)),
        ("@\"P1D\" instance of days and time duration", json!(true)),
        ("[1, 2] instance of list<number>", json!(true)),
        ("n instance of Any", json!(false)),
        ("ctx instance of context", json!(true)),
        // ** and decimal arithmetic
        ("2 ** 10", json!(1024)),
        ("2 ** -1", json!(0.5)),
        ("0.1 + 0.2", json!(0.3)),
        ("0.1 + 0.2 = 0.3", json!(true)),
        ("1 / 3 * 3 = 1", json!(false)),
        ("10 / 4", json!(2.5)),
        ("1 / 0", json!(null)),
        // temporal values
        ("@\"2024-01-31\" + @\"P1D\"", json!("2024-02-01")),
        (
            "date(\"2024-01-31\") + duration(\"P1M\")",
            json!("2024-02-29"),
        ),
        ("date(2024, 2, 29).month", json!(2)),
        ("@\"2024-03-01\" - @\"2024-02-01\"", json!("P29D")),
        (
            "time(\"10:30:00\") + duration(\"PT45M\")",
            json!("11:15:00"),
        ),
        (
            "date and time(\"2024-01-01T10:00:00\") < date and time(\"2024-01-01T11:00:00\")",
            json!(true),
        ),
        (
            "date and time(date(\"2024-05-06\"), time(\"12:00:00\"))",
            json!("2024-05-06T12:00:00"),
        ),
        ("duration(\"PT1H\") * 2", json!("PT2H")),
        ("duration(\"P1D\") / duration(\"PT12H\")", json!(2)),
        (
            "years and months duration(date(\"2020-01-15\"), date(\"2021-03-14\"))",
            json!("P1Y1M"),
        ),
        ("day of week(date(\"2024-01-01\"))", json!("Monday")),
        ("month of year(date(\"2024-01-01\"))", json!("January")),
        ("@\"2024-01-31\" > @\"2023-12-31\"", json!(true)),
        ("string(@\"2024-01-31\")", json!("2024-01-31")),
        // multi-word names and functions, named arguments
        ("first name", json!("Ada")),
        ("get or else(n, \"default\")", json!("default")),
        ("get or else(x, 0)", json!(7)),
        ("string length(\"hello\")", json!(5)),
        (
            "substring(string: \"foobar\", start position: 3)",
            json!("obar"),
        ),
        ("substring(\"foobar\", -2, 1)", json!("a")),
        // string functions
        ("upper case(\"aBc\")", json!("ABC")),
        ("lower case(\"aBc\")", json!("abc")),
        ("contains(\"foobar\", \"ob\")", json!(true)),
        ("starts with(\"foobar\", \"fo\")", json!(true)),
        ("ends with(\"foobar\", \"r\")", json!(true)),
        ("substring before(\"foobar\", \"bar\")", json!("foo")),
        ("substring after(\"foobar\", \"ob\")", json!("ar")),
        ("matches(\"foobar\", \"^fo*b\")", json!(true)),
        (
            "replace(\"abcd\", \"(ab)|(a)\", \"[1=$1][2=$2]\")",
            json!("[1=ab][2=]cd"),
        ),
        ("split(\"John Doe\", \"\\\\s\")", json!(["John", "Doe"])),
        (
            "string join([\"a\", \"b\", \"c\"], \", \")",
            json!("a, b, c"),
        ),
        ("string join([\"a\", null, \"c\"])", json!("ac")),
        ("trim(\"  x \")", json!("x")),
        // list functions
        ("list contains([1, 2, 3], 2)", json!(true)),
        ("count([1, 2, 3])", json!(3)),
        ("min([1, 2, 3])", json!(1)),
        ("max(1, 2, 3)", json!(3)),
        ("sum([1, 2, 3])", json!(6)),
        ("mean([1, 2, 3])", json!(2)),
        ("median([8, 2, 5, 3, 4])", json!(4)),
        ("product(2, 3, 4)", json!(24)),
        ("all([true, false])", json!(false)),
        ("any([false, true])", json!(true)),
        ("append([1], 2, 3)", json!([1, 2, 3])),
        ("concatenate([1, 2], [3])", json!([1, 2, 3])),
        ("flatten([[1, 2], [[3]], 4])", json!([1, 2, 3, 4])),
        ("distinct values([1, 2, 3, 2, 1])", json!([1, 2, 3])),
        ("duplicate values([1, 2, 3, 2, 1])", json!([1, 2])),
        (
            "sort([3, 1, 4, 2], function(x, y) x < y)",
            json!([1, 2, 3, 4]),
        ),
        ("sort(nums)", json!([1, 2, 3])),
        ("index of([1, 2, 3, 2], 2)", json!([2, 4])),
        ("sublist([4, 5, 6], 1, 2)", json!([4, 5])),
        ("insert before([1, 3], 2, 2)", json!([1, 2, 3])),
        ("remove([1, 2, 3], 2)", json!([1, 3])),
        ("reverse([1, 2, 3])", json!([3, 2, 1])),
        ("union([1, 2], [2, 3])", json!([1, 2, 3])),
        ("is empty([])", json!(true)),
        (
            "partition([1, 2, 3, 4, 5], 2)",
            json!([[1, 2], [3, 4], [5]]),
        ),
        // numeric functions
        ("abs(-3)", json!(3)),
        ("floor(1.5)", json!(1)),
        ("floor(-1.5)", json!(-2)),
        ("ceiling(1.5)", json!(2)),
        ("decimal(1/3, 2)", json!(0.33)),
        ("decimal(2.5, 0)", json!(2)),
        ("round up(5.5)", json!(6)),
        ("round down(-5.5)", json!(-5)),
        ("round half up(5.5)", json!(6)),
        ("round half down(5.5)", json!(5)),
        ("modulo(12, 5)", json!(2)),
        ("modulo(-12, 5)", json!(3)),
        ("sqrt(16)", json!(4)),
        ("odd(5)", json!(true)),
        ("even(5)", json!(false)),
        // context functions
        ("get value(ctx, \"a\")", json!(1)),
        ("get value(ctx, [\"b\", \"c\"])", json!(2)),
        ("get entries({a: 1})", json!([{ "key": "a", "value": 1 }])),
        ("context([{key: \"a\", value: 1}])", json!({ "a": 1 })),
        ("context put({a: 1}, \"b\", 2)", json!({ "a": 1, "b": 2 })),
        (
            "context merge([{a: 1}, {a: 2, b: 3}])",
            json!({ "a": 2, "b": 3 }),
        ),
        // conversion
        ("string(1.50)", json!("1.5")),
        ("string([1, \"a\"])", json!("[1, \"a\"]")),
        ("number(\"1,000.5\", \",\", \".\")", json!(1000.5)),
        ("number(\"x\")", json!(null)),
        ("is defined(ctx.a)", json!(true)),
        ("is defined(ctx.z)", json!(false)),
        ("not(true)", json!(false)),
        // bpmnError
        (
            "bpmnError(\"SIDECAR_ERROR\", \"down\")",
            json!({ "errorType": "bpmnError", "code": "SIDECAR_ERROR", "message": "down" }),
        ),
        // function values bound in a context
        ("{ f: function(a) a + 1, r: f(2) }.r", json!(3)),
        // ranges as values: properties
        ("[1..5].start", json!(1)),
        ("(1..5).end included", json!(false)),
    ];
    for (src, want) in rows {
        check(src, want.clone());
    }
}

#[test]
fn null_propagation_and_three_valued_logic() {
    for (src, want) in [
        ("n + 1", json!(null)),
        ("n < 1", json!(null)),
        ("n = null", json!(true)),
        ("true and n", json!(null)),
        ("false and n", json!(false)),
        ("true or n", json!(true)),
        ("n or false", json!(null)),
        ("upper case(n)", json!(null)),
        ("n.a.b", json!(null)),
        ("count(n)", json!(null)),
    ] {
        check(src, want);
    }
}

#[test]
fn bpmn_error_is_recognised_at_the_boundary() {
    let expr = parse("if x > 5 then bpmnError(\"TOO_BIG\", \"x is \" + string(x)) else x")
        .expect("parses");
    let v = eval(&expr, &vars()).expect("evaluates");
    let e = bpmn_error(&v).expect("a bpmnError value");
    assert_eq!((e.code.as_str(), e.message.as_str()), ("TOO_BIG", "x is 7"));
    // Not an error: an ordinary context with the same keys but another errorType.
    let expr = parse("{ errorType: \"other\", code: \"X\" }").expect("parses");
    assert_eq!(bpmn_error(&eval(&expr, &vars()).expect("evaluates")), None);
    // Wrong arguments are a clear error.
    let e = eval_error("bpmnError(1, 2)");
    assert!(e.message.contains("two strings"), "{}", e.message);
}

#[test]
fn errors_are_positioned() {
    let e = parse("if x then 1").expect_err("no else");
    assert!(e.message.contains("`else`"), "{}", e.message);
    assert_eq!(e.span, Span::new(11, 11));
    let e = parse("@\"2024-13-01\"").expect_err("bad date");
    assert_eq!(e.span, Span::new(0, 13));
    let e = parse("x instance of numbr").expect_err("bad type");
    assert!(e.message.contains("unknown type `numbr`"), "{}", e.message);
    let e = parse("for i in [1] retur i").expect_err("typo");
    assert!(e.message.contains("`return`"), "{}", e.message);
    let e = eval_error("substring(strin: \"a\", start position: 1)");
    assert!(e.message.contains("no parameter `strin`"), "{}", e.message);
    let e = eval_error("matches(\"a\", \"(\")");
    assert!(e.message.contains("regular expression"), "{}", e.message);
    let e = eval_error("[1..2]");
    assert!(e.message.contains("no JSON form"), "{}", e.message);
}

#[test]
fn loops_are_bounded() {
    let e = eval_error("some i in 1..100000000 satisfies false");
    assert!(
        e.message.contains("too many steps") || e.message.contains("too large"),
        "{}",
        e.message
    );
    let e = eval_error("for i in 1..1000000, j in 1..1000000 return 1");
    assert!(
        e.message.contains("too many steps") || e.message.contains("too large"),
        "{}",
        e.message
    );
}

#[test]
fn analysis_knows_every_function_and_local_names() {
    for (name, sig) in FUNCTIONS {
        assert!(signature(name).is_some(), "{name}");
        assert!(sig.required <= sig.params.len().max(sig.required), "{name}");
    }
    let a = analyze(&parse("for i in items return i.price + x").expect("parses"));
    assert_eq!(a.free_variable_names(), vec!["items", "x"]);
    let a = analyze(&parse("items[price > limit]").expect("parses"));
    assert_eq!(a.free_variable_names(), vec!["items"]);
    let a = analyze(&parse("get or else(a, 1) + strng length(\"x\")").expect("parses"));
    assert_eq!(a.unknown_calls.len(), 1);
    assert_eq!(a.unknown_calls[0].0, "strng length");
    let a = analyze(&parse("substring(\"x\")").expect("parses"));
    assert_eq!(a.call_errors.len(), 1);
    assert!(
        a.call_errors[0].message.contains("2 to 3 arguments"),
        "{}",
        a.call_errors[0].message
    );
}
