//! Helpers for the `wfop run` binary tests: temporary workflows, running wfop without a
//! terminal, reading records, and checking that a secret appears nowhere in any form.
#![allow(dead_code)]

pub mod sshd;
pub mod tmux;
pub mod venv;

#[allow(unused_imports)]
pub use venv::{QHUB_COMMONS, venv};

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A 44-character IBM Cloud API key shape (`[A-Za-z0-9_-]`), fake.
pub const IBM_KEY: &str = "Zq3-Xv8_Lm2Np7Rt4Wy9Kb6Hd1Jf5Gc0Sa-Ue8Io3Px2";
pub const MARKET_KEY: &str = "mk-live-5f0c1e9a77d24b8e";

/// A test that needs a real part (a tmpfs mount, a virtualenv, tmux…) and cannot have it:
/// panics when `WFOP_TEST_STRICT` is set (CI sets it, so a skip there is a failure), and
/// otherwise prints `skipped: REASON` so the caller can return.
pub fn skip_or_fail(reason: &str) {
    if std::env::var_os("WFOP_TEST_STRICT").is_some() {
        panic!("WFOP_TEST_STRICT is set and this test cannot run: {reason}");
    }
    eprintln!("skipped: {reason}");
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Case {
    pub dir: tempfile::TempDir,
}

impl Case {
    pub fn new() -> Case {
        Case {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Writes a file into the case folder; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    /// A workflow `start → nodes… → end` where `edges` connect the given ids (the start
    /// links to every node without an incoming edge, nodes without outgoing ones link to end).
    pub fn workflow(
        &self,
        nodes: serde_json::Value,
        edges: &[(&str, &str)],
        secrets: &[&str],
    ) -> PathBuf {
        let mut all = vec![serde_json::json!({"id": "start", "type": "start"})];
        let list = nodes.as_array().expect("nodes array").clone();
        let ids: Vec<String> = list
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect();
        all.extend(list);
        all.push(serde_json::json!({"id": "end", "type": "end"}));
        let mut es: Vec<serde_json::Value> = edges
            .iter()
            .map(|(a, b)| serde_json::json!({"from": a, "to": b}))
            .collect();
        for id in &ids {
            if !edges.iter().any(|(_, b)| b == id) {
                es.push(serde_json::json!({"from": "start", "to": id}));
            }
            if !edges.iter().any(|(a, _)| a == id) {
                es.push(serde_json::json!({"from": id, "to": "end"}));
            }
        }
        let mut wf = serde_json::json!({ "name": "test", "nodes": all, "edges": es });
        if !secrets.is_empty() {
            let s: serde_json::Map<String, serde_json::Value> = secrets
                .iter()
                .map(|n| {
                    (
                        n.to_string(),
                        serde_json::json!({"description": "a test secret"}),
                    )
                })
                .collect();
            wf["secrets"] = serde_json::Value::Object(s);
        }
        self.write("wf.json", &serde_json::to_string_pretty(&wf).unwrap())
    }

    /// `wfop ARGS --state-dir <case>/state`, with no controlling terminal and stdin closed.
    pub fn wfop(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        self.command(args, envs).output().expect("run wfop")
    }

    pub fn command(&self, args: &[&str], envs: &[(&str, &str)]) -> Command {
        self.command_of(Command::new(env!("CARGO_BIN_EXE_wfop")), args, envs)
    }

    /// `program` (wfop, or a command that ends in wfop's argv) with wfop's `args`, this case's
    /// state folder and `envs`, no stdin, in the case folder, in a session of its own.
    pub fn command_of(&self, mut c: Command, args: &[&str], envs: &[(&str, &str)]) -> Command {
        c.args(args)
            .arg("--state-dir")
            .arg(self.state())
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .current_dir(self.path());
        // SAFETY: setsid in the child before exec: no controlling terminal, own session.
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        c
    }

    /// `wfop ARGS` (in a session of its own, like `command`) inside a user namespace where no
    /// further user namespace may be created: the sandbox's fallback, for real. `None` where
    /// even that cannot be set up.
    pub fn command_without_namespaces(
        &self,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Option<Command> {
        let ok = Command::new("unshare")
            .args([
                "-Ur",
                "sh",
                "-c",
                "echo 0 > /proc/sys/user/max_user_namespaces",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        let mut c = Command::new("unshare");
        c.args([
            "-Ur",
            "sh",
            "-c",
            r#"echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@""#,
            env!("CARGO_BIN_EXE_wfop"),
        ]);
        Some(self.command_of(c, args, envs))
    }

    /// The only run's folder.
    pub fn run_dir(&self) -> PathBuf {
        let mut runs: Vec<PathBuf> = std::fs::read_dir(self.state().join("runs"))
            .expect("runs folder")
            .map(|e| e.unwrap().path())
            .collect();
        runs.sort();
        runs.pop().expect("a run")
    }

    pub fn run_json(&self) -> serde_json::Value {
        let text = std::fs::read(self.run_dir().join("run.json")).expect("run.json");
        serde_json::from_slice(&text).expect("run.json is JSON")
    }

    /// Every file under the state folder with its bytes.
    pub fn record_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.state()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
                }
            }
        }
        out
    }
}

/// `s` as one word of POSIX shell (single quotes).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The node's entry in run.json.
pub fn node<'a>(run: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    run["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["id"] == id))
        .unwrap_or_else(|| panic!("node {id} in {run}"))
}

fn b64(input: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// The secret and its base64 (standard, URL), URL-encoded and JSON-escaped forms.
pub fn forms(secret: &str) -> Vec<String> {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut f = vec![
        secret.to_string(),
        b64(secret.as_bytes(), STD, false),
        b64(secret.as_bytes(), URL, false),
        serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_string(),
    ];
    let url: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    f.push(url);
    f.sort();
    f.dedup();
    f
}

/// Panics (naming the place, never showing the secret) when any form of `secret` is in `hay`.
pub fn assert_absent(hay: &[u8], secret: &str, place: &str) {
    for (i, form) in forms(secret).iter().enumerate() {
        let found = hay.windows(form.len()).any(|w| w == form.as_bytes());
        assert!(!found, "form #{i} of a secret leaked into {place}");
    }
}

pub fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Shell text that writes the current shell's pid as `host_pid_alive` reads it: the pid the
/// service sees and its PID namespace (services run in a namespace of their own where the
/// kernel allows it, so `$$` alone does not name a process on the host).
pub const PID_AND_NS: &str = r#""$$ $(readlink /proc/self/ns/pid)""#;

/// A process a service wrote down as `<pid> <pid namespace>` (or a bare host pid).
#[derive(Debug, Clone)]
pub struct SvcPid {
    pub pid: i32,
    pub ns: Option<String>,
}

impl SvcPid {
    pub fn parse(s: &str) -> Option<SvcPid> {
        let mut f = s.split_whitespace();
        let pid = f.next()?.parse().ok()?;
        Some(SvcPid {
            pid,
            ns: f.next().map(str::to_string),
        })
    }

    /// Host pids of the live (non-zombie) processes this names: the process with this pid in
    /// that namespace, found through the host's /proc (`NSpid`'s last field). A namespace's
    /// number is reused once it is gone: after the service may have ended, this can name
    /// another run's service (never SIGKILL what it finds then).
    pub fn host_pids(&self) -> Vec<i32> {
        let Some(ns) = &self.ns else {
            let stat =
                std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
            return if !stat.is_empty() && !stat.contains(") Z ") {
                vec![self.pid]
            } else {
                vec![]
            };
        };
        let mut found = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(h) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(link) = std::fs::read_link(format!("/proc/{h}/ns/pid")) else {
                continue;
            };
            if link.to_string_lossy() != *ns {
                continue;
            }
            let status = std::fs::read_to_string(format!("/proc/{h}/status")).unwrap_or_default();
            let zombie = status
                .lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'));
            let inner = status
                .lines()
                .find(|l| l.starts_with("NSpid:"))
                .and_then(|l| l.split_whitespace().last())
                .and_then(|p| p.parse::<i32>().ok());
            if !zombie && inner == Some(self.pid) {
                found.push(h);
            }
        }
        found
    }

    pub fn alive(&self) -> bool {
        !self.host_pids().is_empty()
    }
}
