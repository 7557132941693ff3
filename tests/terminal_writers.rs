//! Every writer to a terminal goes through `safe` (SECURITY.md guarantee 6): scans wfop's
//! source for `print!`/`eprint!`-family macros (everywhere outside test modules) and, in the
//! files that write to stdout/stderr, `write!`/`writeln!`, `write_all` and `to_writer`; every
//! value they print must be wrapped in `safe::…` or be on the short list below of values that
//! cannot hold text from a file, a service or the environment (numbers, wfop's own words).

mod source_scan;

use std::path::PathBuf;

use source_scan::{end_of_string, matching, rust_files, without_tests};

/// Files whose `write!`/`writeln!`/`write_all` go to a terminal (stdout or stderr).
const TERMINAL_FILES: &[&str] = &[
    "src/ui/plain.rs",
    "src/main.rs",
    "src/ui/tui/runtime.rs",
    "src/ui/start.rs",
    "src/ui/summary.rs",
];

/// Printed values that are safe by their type, each with why.
const SAFE_VALUES: &[(&str, &str)] = &[
    ("p", "a pid (u32)"),
    ("c", "an exit code (i32)"),
    ("s", "a signal number (i32)"),
    ("n", "a count (u64)"),
    ("w", "plural() of counts"),
    ("dur", "human::millis() of a duration"),
    ("exit", "an exit code or signal number as text"),
    ("what", "a run status word or a signal number"),
    ("status.as_str()", "a fixed status word"),
    ("n.status.as_str()", "a fixed status word"),
    ("\"node\"", "a literal"),
    ("\"status\"", "a literal"),
    ("\"duration\"", "a literal"),
    ("\"run\"", "a literal"),
    ("\"started\"", "a literal"),
    ("plural(wf.nodes.len(), \"node\")", "a count"),
    ("plural(wf.edges.len(), \"edge\")", "a count"),
    ("plural(errors, \"error\")", "a count"),
    ("plural(checked.errors(), \"error\")", "a count"),
    ("b\"\\n\"", "a literal newline"),
    (
        "batch",
        "a log batch from plain_log: each line through safe::line, or checked plain by safe::is_plain_lines",
    ),
    (
        "shown",
        "a log batch from plain_log: each line through safe::line, or checked plain by safe::is_plain_lines",
    ),
    (
        "seq.as_bytes()",
        "the TUI's own OSC 52 copy: base64 of redacted text",
    ),
];

fn is_safe(expr: &str) -> bool {
    let e = expr.trim();
    let e = e.strip_prefix('&').unwrap_or(e);
    e.starts_with("safe::")
        || e.starts_with("crate::safe::")
        || e.starts_with("super::safe::")
        // A duration (`src/human.rs`): digits, `.`, `:` and unit letters only.
        || e.starts_with("human::")
        || SAFE_VALUES.iter().any(|(v, _)| *v == e)
}

/// Arguments split at top-level commas.
fn split_args(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0, 0);
    while i < b.len() {
        match b[i] {
            b'"' => i = end_of_string(b, i),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                out.push(s[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if !s[start..].trim().is_empty() {
        out.push(s[start..].trim().to_string());
    }
    out
}

/// The names a format string captures inline (`{name}`, `{name:>9}`) and how many `{}` it has.
fn captures(fmt: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut positional = 0;
    let b = fmt.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' {
            if b.get(i + 1) == Some(&b'{') {
                i += 2;
                continue;
            }
            let end = fmt[i..].find('}').map_or(fmt.len(), |e| i + e);
            let inner = &fmt[i + 1..end];
            let name = inner.split(':').next().unwrap_or("");
            if name.is_empty() {
                positional += 1;
            } else if !name.chars().all(|c| c.is_ascii_digit()) {
                names.push(name.to_string());
            }
            i = end + 1;
        } else {
            i += 1;
        }
    }
    (names, positional)
}

/// Every printed value that is not wrapped or known safe, as `file:line: what`.
fn bypasses(file: &str, src: &str, all_writers: bool) -> Vec<String> {
    let code = without_tests(src);
    let mut found = Vec::new();
    let mut macros = vec!["print!(", "println!(", "eprint!(", "eprintln!("];
    if all_writers {
        macros.extend(["write!(", "writeln!("]);
    }
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    for m in &macros {
        let mut from = 0;
        while let Some(k) = code[from..].find(m) {
            let at = from + k;
            from = at + m.len();
            // `eprintln!(` also contains `println!(`: only whole macro names.
            let prev = code[..at].chars().next_back().unwrap_or(' ');
            if prev.is_alphanumeric() || prev == '_' {
                continue;
            }
            let open = at + m.len() - 1;
            let Some(close) = matching(&code, open) else {
                found.push(format!("{file}:{}: unbalanced {m}", line_of(at)));
                continue;
            };
            let mut args = split_args(&code[open + 1..close]);
            if m.starts_with("write") {
                if args.is_empty() {
                    continue;
                }
                args.remove(0);
            }
            if args.is_empty() {
                continue;
            }
            let fmt = args.remove(0);
            if !fmt.starts_with('"') {
                found.push(format!(
                    "{file}:{}: {m} without a literal format",
                    line_of(at)
                ));
                continue;
            }
            let (names, positional) = captures(&fmt);
            for n in names {
                if !is_safe(&n) {
                    found.push(format!("{file}:{}: {m} prints `{{{n}}}` raw", line_of(at)));
                }
            }
            if args.len() < positional {
                found.push(format!(
                    "{file}:{}: {m}: cannot read its arguments",
                    line_of(at)
                ));
            }
            for a in args {
                // Width and precision arguments (`w = …`) print nothing.
                if !is_safe(&a) && !a.contains(" = ") {
                    found.push(format!("{file}:{}: {m} prints `{a}` raw", line_of(at)));
                }
            }
        }
    }
    if all_writers {
        for w in [".write_all(", "to_writer("] {
            let mut from = 0;
            while let Some(k) = code[from..].find(w) {
                let at = from + k;
                from = at + w.len();
                let open = at + w.len() - 1;
                let Some(close) = matching(&code, open) else {
                    continue;
                };
                let arg = split_args(&code[open + 1..close]).join(", ");
                if w == "to_writer(" || !is_safe(&arg) {
                    found.push(format!("{file}:{}: {w}{arg}) writes raw", line_of(at)));
                }
            }
        }
    }
    found
}

#[test]
fn every_terminal_writer_goes_through_the_safe_function() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut found = Vec::new();
    let mut seen_writers = 0;
    for p in &files {
        let rel = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // Whole test files (`tests.rs`, `screen_tests.rs`) print only in tests.
        if rel.ends_with("tests.rs") {
            continue;
        }
        let src = std::fs::read_to_string(p).expect("read");
        let all = TERMINAL_FILES.contains(&rel.as_str());
        seen_writers += ["println!(", "eprintln!(", "writeln!("]
            .iter()
            .map(|m| src.matches(m).count())
            .sum::<usize>();
        found.extend(bypasses(&rel, &src, all));
    }
    assert!(
        seen_writers > 40,
        "the scan saw too few writers ({seen_writers})"
    );
    assert!(
        found.is_empty(),
        "terminal writers that bypass safe:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scanner_catches_a_raw_value() {
    // The scan itself, on code that prints raw and on code that does not.
    let bad = r#"fn f(out: &mut W, node: &str, r: &str) {
        writeln!(out, "wfop: {node} failed: {}", r)?;
        eprintln!("{}", e);
        out.write_all(name.as_bytes())?;
        serde_json::to_writer(&mut *out, e)?;
    }"#;
    let found = bypasses("x.rs", bad, true);
    assert_eq!(found.len(), 5, "{found:#?}");
    let good = r#"fn f(out: &mut W, node: &str, r: &str) {
        writeln!(out, "wfop: {} failed in {dur}: {}", safe::line(node), safe::line(&r))?;
        eprintln!("wfop: {}", crate::safe::text(&e.to_string()));
        out.write_all(b"\n")?;
        write!(out, "{:w$} {}", safe::line(&n.node), n.status.as_str(), w = 4)?;
    }
    #[cfg(test)]
    mod tests { fn t() { println!("{x}"); } }"#;
    assert_eq!(bypasses("x.rs", good, true), Vec::<String>::new());
}
