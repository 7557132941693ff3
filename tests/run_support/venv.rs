//! Virtualenvs with packages from PyPI, made once and shared by every test that asks for the
//! same package list (under `target/test-venvs/`, keyed by the list; a lock file makes a second
//! test wait for the first instead of installing twice). Nothing is installed by hand: a fresh
//! machine gets them on its first test run.

use std::path::PathBuf;
use std::process::Command;

use super::{root, skip_or_fail, text};

/// The folder of a virtualenv with `packages` installed (pip requirement specifiers), or
/// `None` after [`skip_or_fail`] when it cannot be made (no python3-venv, no registry).
pub fn venv(packages: &[&str]) -> Option<PathBuf> {
    let key = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        packages.hash(&mut h);
        format!("{:016x}", h.finish())
    };
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("test-venvs");
    if let Err(e) = std::fs::create_dir_all(&base) {
        skip_or_fail(&format!("cannot create {}: {e}", base.display()));
        return None;
    }
    let dir = base.join(&key);
    let done = dir.join(".wfop-ready");
    let lock = std::fs::File::create(base.join(format!("{key}.lock"))).ok()?;
    // Held until this function returns: one test installs, the others wait and reuse.
    let _guard = rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive);
    if done.exists() {
        return Some(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .output();
    match made {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            skip_or_fail(&format!(
                "cannot create a virtualenv (python3 -m venv; install python3-venv):\n{}",
                text(&o.stderr)
            ));
            return None;
        }
        Err(e) => {
            skip_or_fail(&format!("cannot run python3: {e}"));
            return None;
        }
    }
    if !packages.is_empty() {
        let pip = Command::new("timeout")
            .arg("600")
            .arg(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(packages)
            .output();
        match pip {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                skip_or_fail(&format!(
                    "cannot install {packages:?} from PyPI (no registry reachable?):\n{}",
                    text(&o.stderr)
                ));
                return None;
            }
            Err(e) => {
                skip_or_fail(&format!("cannot run pip: {e}"));
                return None;
            }
        }
    }
    let _ = std::fs::write(&done, packages.join("\n"));
    Some(dir)
}

/// The platform runtime wfop's emulation is measured against (docs/service-protocol.md).
pub const QHUB_COMMONS: &str = "qhub-commons>=1.2,<1.3";
