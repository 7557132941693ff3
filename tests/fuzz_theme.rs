//! Fuzz target: the theme loader (`src/ui/tui/theme.rs`). Mutations of the bundled themes,
//! TOML token soup, and arbitrary bytes. Properties: never a panic; an invalid theme is an
//! error with 1-based `line:col` inside the file and a source line that is the file's line;
//! the error renders (through `wfop::diag`) with `origin:line:col` of its first problem; a
//! theme that loads gives every role a style.
//!
//! Long run: `FUZZ_CASES=100000 cargo test --release --test fuzz_theme -- --ignored --nocapture`

mod fuzz_support;

use fuzz_support::{Mutation, apply, mutations};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use wfop::ui::tui::theme::{BUNDLED, Role, Theme, ThemeError};

const TOML_TOKENS: &[&str] = &[
    "=",
    "{",
    "}",
    "[",
    "]",
    "[[",
    "]]",
    ",",
    ".",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "\\",
    "\\u",
    "#",
    "\n",
    " ",
    "\t",
    "\r\n",
    "true",
    "false",
    "1",
    "-1",
    "1.5",
    "inf",
    "nan",
    "1979-05-27",
    "fg",
    "bg",
    "bold",
    "dim",
    "italic",
    "underline",
    "reversed",
    "crossed_out",
    "name",
    "description",
    "extends",
    "\"default\"",
    "\"light\"",
    "\"nope\"",
    "\"red\"",
    "\"#ff00ff\"",
    "\"#fff\"",
    "\"#gggggg\"",
    "\"bright-red\"",
    "\"lightred\"",
    "\"reset\"",
    "\"255\"",
    "256",
    "\"idx:300\"",
    "status",
    "status.running",
    "\"border.focused\"",
    "search.match",
    "node.tag",
    "text",
    "muted",
    "error",
    "warning",
    "selection",
    "keybar",
    "keybar.key",
    "[status]",
    "[search]",
    "é",
    "😀",
    "\u{0}",
    "\u{feff}",
];

fn check(src: &str) -> Result<(), TestCaseError> {
    match Theme::parse(src, "t.toml") {
        Ok(theme) => {
            for role in Role::ALL {
                let _ = theme.style(role);
            }
            let _ = theme.without_color();
        }
        Err(e) => {
            let lines: Vec<&str> = src.lines().collect();
            if let ThemeError::Invalid { problems, .. } = &e {
                prop_assert!(!problems.is_empty(), "an invalid theme without a problem");
                for p in problems {
                    prop_assert!(p.line >= 1 && p.col >= 1, "line/col are 1-based: {p:?}");
                    let max_line = lines.len().max(1) + 1;
                    prop_assert!(p.line <= max_line, "line {} past the end", p.line);
                    if let Some(l) = lines.get(p.line - 1) {
                        prop_assert_eq!(&p.source_line, l, "source line of {:?}", p);
                        prop_assert!(
                            p.col <= l.chars().count() + 1,
                            "column {} past the line's end",
                            p.col
                        );
                    }
                }
                let shown = e.to_string();
                let first = &problems[0];
                let want = format!("┌─ t.toml:{}:{}\n", first.line, first.col);
                prop_assert!(shown.contains(&want), "{shown}");
            } else {
                let _ = e.to_string();
            }
        }
    }
    Ok(())
}

fn bundled_mutated() -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    (0usize..BUNDLED.len(), mutations(TOML_TOKENS))
}

fn any_input() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => bundled_mutated().prop_map(|(i, m)| apply(BUNDLED[i].1, &m)),
        3 => prop::collection::vec(prop::sample::select(TOML_TOKENS), 0..40)
            .prop_map(|v| v.concat()),
        1 => prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

#[test]
fn theme_loader_smoke() {
    fuzz_support::smoke("theme", 300, any_input(), |src| check(&src));
}

#[test]
#[ignore = "long fuzz run; see docs/fuzzing.md"]
fn theme_loader() {
    fuzz_support::long("theme", any_input(), |src| check(&src));
}

// ---------------------------------------------------------------------------------------------
// Deep and large inputs.

#[test]
fn deeply_nested_theme_is_an_error_not_a_stack_overflow() {
    for src in [
        format!("x = {}1{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("x = {}{}", "{ a = ".repeat(100_000), "}".repeat(100_000)),
        format!("[{}]\n", vec!["a"; 100_000].join(".")),
        format!("{} = 1\n", vec!["status"; 100_000].join(".")),
    ] {
        let r = Theme::parse(&src, "deep.toml");
        assert!(r.is_err(), "a 100 000-level theme loaded");
    }
}

/// Fuzz finding: with CRLF line ends, a problem at the end of a line got a column one past the
/// shown line (the `\r` was counted).
#[test]
fn crlf_problem_column_stays_on_the_line() {
    for src in [
        "\"\r\n",
        "text = { fg = \"red\"\r\nx = 1\r\n",
        "name = 'a\r\n",
    ] {
        check(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    }
}
