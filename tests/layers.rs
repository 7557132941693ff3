//! The layers of the house (docs/architecture.md): main → ui → engine → secrets → workflow →
//! expr, with leaves every layer may use. A module refers only to itself, to layers below it and
//! to leaves; this scans `crate::…` paths in wfop's source (test-only code left out).

mod source_scan;

use std::path::PathBuf;

use source_scan::{rust_files, without_tests};

/// Top to bottom: each may use the ones after it.
const LAYERS: &[&str] = &["ui", "host", "engine", "secrets", "workflow", "expr"];
/// Used by every layer; they use only each other.
const LEAVES: &[&str] = &["safe", "diag", "human"];

/// The top module a file belongs to: `src/engine/service.rs` → `engine`, `src/safe.rs` → `safe`.
fn top_module(rel: &str) -> Option<&str> {
    let rest = rel.strip_prefix("src/")?;
    let first = rest.split('/').next()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then_some(name)
}

fn allowed(from: &str, to: &str) -> bool {
    if from == to || LEAVES.contains(&to) {
        return true;
    }
    if LEAVES.contains(&from) {
        return false;
    }
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    match (rank(from), rank(to)) {
        (Some(f), Some(t)) => t > f,
        // A top module this test does not know yet: place it in LAYERS or LEAVES.
        _ => false,
    }
}

/// `(to, line)` for every `crate::to` path in `src`.
fn references(src: &str) -> Vec<(String, usize)> {
    let code = without_tests(src);
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        // `wfop::crate::` cannot occur; skip `$crate::` in macros.
        if code[..i].ends_with('$') {
            continue;
        }
        let name: String = code[i + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            let line = code[..i].matches('\n').count() + 1;
            out.push((name, line));
        }
    }
    out
}

fn back_arrows(rel: &str, src: &str) -> Vec<String> {
    let Some(from) = top_module(rel) else {
        return Vec::new();
    };
    references(src)
        .into_iter()
        .filter(|(to, _)| !allowed(from, to))
        .map(|(to, line)| format!("{rel}:{line}: {from} → {to}"))
        .collect()
}

#[test]
fn no_module_refers_to_a_layer_above_it() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let (mut seen, mut found) = (0, Vec::new());
    for p in &files {
        let rel = p
            .strip_prefix(&root)
            .expect("under the root")
            .to_string_lossy()
            .into_owned();
        // Whole test files (`tests.rs`, `screen_tests.rs`) are test-only code.
        if rel.ends_with("tests.rs") {
            continue;
        }
        let src = std::fs::read_to_string(p).expect("read a source file");
        seen += references(&src).len();
        found.extend(back_arrows(&rel, &src));
    }
    assert!(seen > 50, "the scan saw too few `crate::` paths ({seen})");
    assert!(
        found.is_empty(),
        "references that run back up the layers:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_catches_a_back_arrow_and_ignores_tests() {
    let bad = "use crate::ui::tui::App;\nfn f() { crate::safe::text(\"x\"); }\n";
    assert_eq!(
        back_arrows("src/secrets/store.rs", bad),
        ["src/secrets/store.rs:1: secrets → ui"]
    );
    assert!(back_arrows("src/ui/plain.rs", bad).is_empty());
    // The one this test found when it was written (the loader asked the engine for a name).
    assert_eq!(
        back_arrows(
            "src/workflow/validate.rs",
            "let env = crate::engine::secret_env_name(param);"
        ),
        ["src/workflow/validate.rs:1: workflow → engine"]
    );
    let in_test = "fn f() {}\n#[cfg(test)]\nmod tests { use crate::ui::App; }\n";
    assert!(back_arrows("src/expr/eval.rs", in_test).is_empty());
    assert_eq!(
        back_arrows("src/safe.rs", "use crate::engine::Event;"),
        ["src/safe.rs:1: safe → engine"]
    );
    assert_eq!(
        back_arrows("src/newpart.rs", "use crate::expr::parse;"),
        ["src/newpart.rs:1: newpart → expr"]
    );
}
