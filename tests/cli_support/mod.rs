//! Helpers for the tests that run the `wfop` commands without a run (check, graph, export,
//! redact): the binary from the crate folder, output as text, a scratch folder per test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `wfop ARGS` in the crate folder, without colour.
pub fn wfop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wfop"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("wfop runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A scratch folder under the target dir, fresh per test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
