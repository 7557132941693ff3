//! Runs the Python and shell tests of the bundled example workflows (`tests/python/`), so that
//! `cargo test` covers the services too. Needs `python3`, `sh`, `awk` and `sha256sum` on PATH.

use std::path::Path;
use std::process::Command;

#[test]
fn bundled_services_pass_their_python_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", "tests/python", "-v"])
        .current_dir(root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot start python3 (is it installed and on PATH?): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python3 -m unittest discover -s tests/python failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}
