//! Fuzz target: the BPMN reader (issue 12) with binding and validation behind it, and the graph
//! for files that can be drawn. Mutations of the project's own BPMN files (XML tokens, entities,
//! CDATA, namespace prefixes), structure-aware generated processes (ids from a small pool, so
//! duplicates and dangling flows are common; every element kind the reader knows and some it
//! does not; conditions, mappings with entities, headers, boundaries, timers, properties),
//! well-formed chains, and arbitrary bytes. Properties: never a panic; every diagnostic span
//! lies inside the file on character boundaries; rendering shows `name:line:col` of the first
//! finding; a well-formed chain has no finding but its unbound tasks; a drawable workflow draws.
//!
//! Long run: `FUZZ_CASES=100000 cargo test --release --test fuzz_bpmn -- --ignored --nocapture`

mod fuzz_support;

use fuzz_support::{apply, mutations};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use wfop::diag::SourceFile;
use wfop::ui::graph::{Charset, workflow_graph_text};
use wfop::workflow::check_source;

const OWN: [&str; 4] = [
    include_str!("bpmn/mapped.bpmn"),
    include_str!("bpmn/unsupported.bpmn"),
    include_str!("bpmn/event-gateway.bpmn"),
    include_str!("../workflows/quantum-secrets.bpmn"),
];

/// The name the fuzzed files get (`.bpmn`: read as BPMN; no binding file beside it).
const NAME: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bpmn/fuzz.bpmn");

const XML_TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "</",
    "=",
    "\"",
    "'",
    "&",
    ";",
    "&#34;",
    "&#10;",
    "&#xD800;",
    "&lt;",
    "&amp;",
    "&bogus;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?xml version=\"1.0\"?>",
    "<!DOCTYPE x>",
    "xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\"",
    "xmlns:zeebe=\"http://camunda.org/schema/zeebe/1.0\"",
    "xmlns:camunda=\"http://camunda.org/schema/1.0/bpmn\"",
    "bpmn:",
    "zeebe:",
    "id=\"t\"",
    "id=\"start\"",
    "sourceRef=\"start\"",
    "targetRef=\"t\"",
    "default=\"f1\"",
    "<userTask id=\"u\"/>",
    "<sequenceFlow id=\"fx\" sourceRef=\"t\" targetRef=\"t\"/>",
    "${a}",
    "= a +",
    "secret_value(",
    "$secrets",
    "é",
    "😀",
    "\u{0}",
    "\r\n",
    "\u{feff}",
];

fn check_text(name: &str, text: &str, well_formed: bool) -> Result<(), TestCaseError> {
    let checked = check_source(SourceFile::from_text(name, text));
    let all = checked.diagnostics.iter().map(|d| (text, d)).chain(
        checked
            .related
            .iter()
            .flat_map(|(s, ds)| ds.iter().map(move |d| (s.text.as_str(), d))),
    );
    let rendered = checked.render(false);
    fuzz_support::findings_are_sound(name, text, all, checked.diagnostics.first(), &rendered)?;
    if well_formed {
        let others: Vec<&str> = checked
            .diagnostics
            .iter()
            .filter(|d| !(d.run_only && d.message.contains("is not bound")))
            .map(|d| d.message.as_str())
            .collect();
        prop_assert!(
            others.is_empty(),
            "a well-formed chain has findings: {others:?}\n{text}"
        );
        prop_assert!(checked.drawable().is_some());
    }
    if let Some(wf) = checked.drawable() {
        let _ = workflow_graph_text(wf, Charset::Unicode);
        let _ = workflow_graph_text(wf, Charset::Ascii);
    }
    Ok(())
}

fn id() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "start", "t", "u", "g", "j", "w", "end", "f1", "b", "é",
    ])
    .prop_map(str::to_string)
}

/// An attribute value as written in XML (entities included).
fn expr_attr() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "= a + 1",
        "=&#34;x&#34;",
        "plain",
        "= {k: secret_value(&#34;tok&#34;)}",
        "= status = &#34;DONE&#34;",
        "= (",
        "= a &lt; 2 and b &gt;= 1",
        "",
        "= duration(&#34;PT1S&#34;)",
        "${juel}",
        "= \u{e9}",
    ])
    .prop_map(str::to_string)
}

fn extensions() -> impl Strategy<Value = String> {
    let row = (
        prop::sample::select(vec!["input", "output"]),
        expr_attr(),
        prop::sample::select(vec!["x", "$secrets", "y", ""]),
    )
        .prop_map(|(k, s, t)| format!(r#"<zeebe:{k} source="{s}" target="{t}"/>"#));
    let ext = prop_oneof![
        prop::collection::vec(row, 0..4)
            .prop_map(|r| format!("<zeebe:ioMapping>{}</zeebe:ioMapping>", r.concat())),
        (
            prop::sample::select(vec!["job", "= t", ""]),
            prop::sample::select(vec!["3", "0", "x", "101"])
        )
            .prop_map(|(t, r)| format!(r#"<zeebe:taskDefinition type="{t}" retries="{r}"/>"#)),
        (
            prop::sample::select(vec![
                "resultVariable",
                "resultExpression",
                "errorExpression",
                "retryBackoff",
                "other"
            ]),
            expr_attr()
        )
            .prop_map(|(k, v)| format!(
                r#"<zeebe:taskHeaders><zeebe:header key="{k}" value="{v}"/></zeebe:taskHeaders>"#
            )),
        (
            prop::sample::select(vec![
                "wfop.timeout",
                "wfop.max_iterations",
                "wfop.backoff",
                "wfop.x",
                "wfop.input.a",
                "wfop.secret.s"
            ]),
            prop::sample::select(vec!["5m", "7", "PT1S", "", "-"])
        )
            .prop_map(|(k, v)| format!(
                r#"<zeebe:properties><zeebe:property name="{k}" value="{v}"/></zeebe:properties>"#
            )),
        Just("<zeebe:userTask/>".to_string()),
    ];
    prop::collection::vec(ext, 0..3)
        .prop_map(|e| format!("<extensionElements>{}</extensionElements>", e.concat()))
}

fn element() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec![
        "startEvent",
        "endEvent",
        "serviceTask",
        "task",
        "sendTask",
        "userTask",
        "scriptTask",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "subProcess",
        "somethingElse",
    ]);
    let inner = prop_oneof![
        2 => Just(String::new()),
        1 => prop::sample::select(vec!["PT30S", "P1M", "= 1", "=PT5S", "x"]).prop_map(|d| format!("<timerEventDefinition><timeDuration>{d}</timeDuration></timerEventDefinition>")),
        1 => Just("<messageEventDefinition/>".to_string()),
        1 => Just("<multiInstanceLoopCharacteristics/>".to_string()),
        1 => Just("<documentation>doc &amp; more</documentation>".to_string()),
    ];
    let node = (kind, id(), extensions(), inner, prop::option::of(id())).prop_map(
        |(k, i, x, inner, default)| {
            let default = default
                .map(|d| format!(r#" default="{d}""#))
                .unwrap_or_default();
            format!(r#"<{k} id="{i}" name="N&#10;{i}"{default}>{x}{inner}</{k}>"#)
        },
    );
    let flow = (id(), id(), id(), prop::option::of(expr_attr()))
        .prop_map(|(i, s, t, c)| {
            let cond = c.map(|c| format!("<conditionExpression>{c}</conditionExpression>")).unwrap_or_default();
            format!(r#"<sequenceFlow id="{i}" sourceRef="{s}" targetRef="{t}" name="to {t}">{cond}</sequenceFlow>"#)
        });
    let boundary = (id(), id(), prop::sample::select(vec!["err", "nope", ""]), extensions())
        .prop_map(|(i, a, r, x)| format!(r#"<boundaryEvent id="{i}" attachedToRef="{a}">{x}<errorEventDefinition errorRef="{r}"/></boundaryEvent>"#));
    prop_oneof![3 => node, 3 => flow, 1 => boundary]
}

fn document(process: String) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0">
  <error id="err" errorCode="E"/>
  <process id="p" isExecutable="true">
{process}
  </process>
</definitions>"#
    )
}

fn generated() -> impl Strategy<Value = String> {
    prop::collection::vec(element(), 0..14).prop_map(|els| document(els.join("\n")))
}

/// start → t0 → t1 … → end, each task with a task type and a mapping.
fn chain() -> impl Strategy<Value = String> {
    (1usize..6).prop_map(|n| {
        let mut s = String::from(r#"<startEvent id="start"/>"#);
        let mut prev = "start".to_string();
        for i in 0..n {
            s.push_str(&format!(
                r#"<sequenceFlow id="f{i}" sourceRef="{prev}" targetRef="t{i}"/><serviceTask id="t{i}"><extensionElements><zeebe:taskDefinition type="job{i}"/><zeebe:ioMapping><zeebe:input source="= &#34;v&#34; + string({i})" target="x{i}"/></zeebe:ioMapping></extensionElements></serviceTask>"#
            ));
            prev = format!("t{i}");
        }
        s.push_str(&format!(r#"<sequenceFlow id="fe" sourceRef="{prev}" targetRef="end"/><endEvent id="end"/>"#));
        document(s)
    })
}

fn any_input() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        1 => chain().prop_map(|t| (t, true)),
        4 => (0usize..OWN.len(), mutations(XML_TOKENS)).prop_map(|(i, m)| (apply(OWN[i], &m), false)),
        4 => generated().prop_map(|t| (t, false)),
        1 => (generated(), mutations(XML_TOKENS)).prop_map(|(t, m)| (apply(&t, &m), false)),
        1 => prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| (String::from_utf8_lossy(&b).into_owned(), false)),
    ]
}

#[test]
fn bpmn_reader_smoke() {
    fuzz_support::smoke("bpmn", 200, any_input(), |(text, ok)| {
        check_text(NAME, &text, ok)
    });
}

#[test]
#[ignore = "long fuzz run; see docs/fuzzing.md"]
fn bpmn_reader() {
    fuzz_support::long("bpmn", any_input(), |(text, ok)| {
        check_text(NAME, &text, ok)
    });
}
