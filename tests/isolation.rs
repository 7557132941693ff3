//! Which process can see which secret: a sibling service cannot read another service's secret
//! from `/proc` (namespaces; and a Python service's secrets are never in its environ), each
//! service gets exactly its own `SECRET_*`, an inherited copy of a secret reaches no service,
//! and no service process outlives a SIGKILLed wfop.

mod run_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use run_support::*;
use serde_json::json;

const THIRD_KEY: &str = "th1rd-Secret-value-9Qx7Lw";
const WARN_ISOLATION: &str = "services are not isolated from each other";

fn secret_file(case: &Case, name: &str, value: &str) -> PathBuf {
    case.write(name, value)
}

fn wait_for(p: &Path, secs: u64) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        if p.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    p.exists()
}

/// Waits for wfop, killing its session after two minutes.
fn finish(mut child: Child) -> std::process::ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return st;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            // SAFETY: kill with plain integers; the test started wfop in a session of its own.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            panic!("wfop hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether this machine gives every service namespaces of its own: a run says otherwise.
fn sandbox_available(case: &Case) -> bool {
    let wf = case.workflow(
        json!([{ "id": "probe", "type": "service", "run": { "command": ["true"] } }]),
        &[],
        &[],
    );
    let out = case.wfop(&["run", wf.to_str().unwrap(), "--plain"], &[]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    !all.contains(WARN_ISOLATION)
}

/// Two services run at once, each mapping a secret of its own; the second scans every
/// `/proc/*/environ` and `/proc/*/cmdline` it can read while the first — proven to be
/// running before and after the scan — holds its secret. Needs the namespaces.
#[test]
fn a_sibling_cannot_read_another_services_secret_from_proc() {
    sibling_scan(None);
}

/// The same for an operator other than root (the maps, setgroups and dumpability differ):
/// wfop runs as `nobody` (the test runs as root here and in CI; otherwise as itself).
#[test]
fn a_sibling_cannot_read_another_services_secret_as_a_user_other_than_root() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        sibling_scan(None);
    } else {
        sibling_scan(Some(65534));
    }
}

fn sibling_scan(as_user: Option<u32>) {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let case = Case::new();
    if !sandbox_available(&case) {
        skip_or_fail("unprivileged user + PID namespaces are not available here");
        return;
    }
    let spy = case.path().join("spy");
    std::fs::create_dir(&spy).unwrap();
    if as_user.is_some() {
        // The probe's record is root's: that user starts a state folder of its own.
        std::fs::remove_dir_all(case.state()).unwrap();
        for d in [case.path(), spy.as_path()] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
    }
    let holder = r#"echo ready > "$SPY/holder-ready"
i=0; while [ ! -e "$SPY/scanned" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
[ -e "$SPY/scanned" ] && echo held > "$SPY/holder-held""#;
    let scanner = r#"i=0; while [ ! -e "$SPY/holder-ready" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
[ -e "$SPY/holder-ready" ] || exit 3
for p in /proc/[0-9]*; do cat "$p/environ" 2>/dev/null; echo; cat "$p/cmdline" 2>/dev/null; echo; done > "$SPY/found"
touch "$SPY/scanned""#;
    let wf = case.workflow(
        json!([
            { "id": "holder", "type": "service", "run": { "command": ["sh", "-c", holder] },
              "secrets": ["tok"],
              "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] },
            { "id": "scanner", "type": "service", "run": { "command": ["sh", "-c", scanner] },
              "secrets": ["pw"],
              "input_mapping": [ { "name": "$secrets", "value": "{ \"pw\": secret_value(\"db\") }" } ] }
        ]),
        &[],
        &["api", "db"],
    );
    let a = secret_file(&case, "a.secret", IBM_KEY);
    let b = secret_file(&case, "b.secret", MARKET_KEY);
    let (sa, sb) = (
        format!("api=file:{}", a.display()),
        format!("db=file:{}", b.display()),
    );
    let args = [
        "run",
        wf.to_str().unwrap(),
        "--plain",
        "--max-parallel",
        "2",
        "--secret",
        &sa,
        "--secret",
        &sb,
    ];
    let envs = [("SPY", spy.to_str().unwrap()), ("XDG_RUNTIME_DIR", "")];
    let mut cmd = case.command(&args, &envs);
    if let Some(uid) = as_user {
        // The build folder may be private to root (a clone in a 0700 temp folder): that user
        // runs a copy of wfop from the case folder.
        let exe = case.path().join("wfop");
        std::fs::copy(env!("CARGO_BIN_EXE_wfop"), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        cmd = case.command_of(std::process::Command::new(&exe), &args, &envs);
        cmd.uid(uid).gid(uid);
    }
    let out = cmd.output().expect("run wfop");
    let log = format!("{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(!log.contains(WARN_ISOLATION), "{log}");
    if let Some(uid) = as_user {
        let owner = std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata(spy.join("holder-ready")).unwrap(),
        );
        assert_eq!(owner, uid, "the services did not run as that user");
    }
    // The holder was running before the scan began and still after it ended.
    assert!(spy.join("holder-ready").exists(), "{log}");
    assert!(
        spy.join("holder-held").exists(),
        "the holder did not wait for the scan: {log}"
    );
    let found = std::fs::read(spy.join("found")).unwrap();
    // The scan reads every environ it can see: its own, with its own secret in it.
    assert!(
        String::from_utf8_lossy(&found).contains("WFOP_NODE_ID=scanner"),
        "the scan read no environ"
    );
    assert!(
        found
            .windows(MARKET_KEY.len())
            .any(|w| w == MARKET_KEY.as_bytes()),
        "the scan did not see its own secret"
    );
    assert_absent(&found, IBM_KEY, "what a sibling can read from /proc");
    assert_absent(&out.stdout, IBM_KEY, "stdout");
    assert_absent(&out.stdout, MARKET_KEY, "stdout");
}

/// Without namespaces (the fallback, made real: no user namespace may be created) a sibling
/// can see a Python service's processes, yet its secret is not in their environ or command
/// line: the shim got it over a pipe. The run says once that services are not isolated.
#[test]
fn a_python_services_secret_is_in_no_environ_even_without_namespaces() {
    let case = Case::new();
    let spy = case.path().join("spy");
    std::fs::create_dir(&spy).unwrap();
    case.write(
        "holder.py",
        r#"import os, time
from qhub.commons.secret import SecretValue

def run(tok: SecretValue):
    spy = os.environ["SPY"]
    ok = tok.unwrap()[::-1] == os.environ["REVERSED"]
    with open(os.path.join(spy, "holder-ready"), "w") as f:
        f.write("right" if ok else "wrong")
    for _ in range(600):
        if os.path.exists(os.path.join(spy, "scanned")):
            break
        time.sleep(0.05)
    if os.path.exists(os.path.join(spy, "scanned")):
        with open(os.path.join(spy, "holder-held"), "w") as f:
            f.write("held")
    return {"ok": ok}
"#,
    );
    let scanner = r#"i=0; while [ ! -e "$SPY/holder-ready" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
[ -e "$SPY/holder-ready" ] || exit 3
for p in /proc/[0-9]*; do cat "$p/environ" 2>/dev/null; echo; cat "$p/cmdline" 2>/dev/null; echo; done > "$SPY/found"
touch "$SPY/scanned""#;
    let wf = case.workflow(
        json!([
            { "id": "holder", "type": "service", "run": { "python": "holder.py", "function": "run" },
              "secrets": ["tok"],
              "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] },
            { "id": "scanner", "type": "service", "run": { "command": ["sh", "-c", scanner] } }
        ]),
        &[],
        &["api"],
    );
    let a = secret_file(&case, "a.secret", IBM_KEY);
    let sa = format!("api=file:{}", a.display());
    let reversed: String = IBM_KEY.chars().rev().collect();
    let envs = [
        ("SPY", spy.to_str().unwrap()),
        ("REVERSED", reversed.as_str()),
    ];
    let args = [
        "run",
        wf.to_str().unwrap(),
        "--plain",
        "--max-parallel",
        "2",
        "--secret",
        &sa,
    ];
    let Some(mut cmd) = case.command_without_namespaces(&args, &envs) else {
        skip_or_fail("cannot run wfop in a user namespace that forbids nested ones (unshare)");
        return;
    };
    let out = cmd.output().expect("run wfop");
    let log = format!("{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert_eq!(
        std::fs::read_to_string(spy.join("holder-ready")).unwrap(),
        "right",
        "the Python service did not get its secret"
    );
    assert!(spy.join("holder-held").exists(), "{log}");
    let found = std::fs::read(spy.join("found")).unwrap();
    let seen = String::from_utf8_lossy(&found);
    // Without namespaces the scan does see the holder's process and reads its environ.
    assert!(
        seen.contains("WFOP_NODE_ID=holder"),
        "the scan did not reach the holder"
    );
    assert!(
        seen.contains("holder.py"),
        "the scan did not reach the holder"
    );
    assert_absent(
        &found,
        IBM_KEY,
        "the Python service's /proc environ or cmdline",
    );
    assert_absent(&out.stdout, IBM_KEY, "stdout");
}

/// Item 11: after a SIGKILL of wfop no service process outlives it, also one that
/// double-forked into a session of its own.
#[test]
fn no_service_process_outlives_a_sigkilled_wfop() {
    let case = Case::new();
    if !sandbox_available(&case) {
        skip_or_fail("unprivileged user + PID namespaces are not available here");
        return;
    }
    let pidfile = case.path().join("sleeper.pid");
    let script = r#"( setsid sh -c 'echo "$$ $(readlink /proc/self/ns/pid)" > "$PIDFILE.tmp"; mv "$PIDFILE.tmp" "$PIDFILE"; exec sleep 600' </dev/null >/dev/null 2>&1 & )
exec sleep 600"#;
    let wf = case.workflow(
        json!([{ "id": "forker", "type": "service", "run": { "command": ["sh", "-c", script] } }]),
        &[],
        &[],
    );
    let mut cmd = case.command(
        &["run", wf.to_str().unwrap(), "--plain"],
        &[("PIDFILE", pidfile.to_str().unwrap())],
    );
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start wfop");
    let wfop = child.id() as i32;
    assert!(wait_for(&pidfile, 30), "the sleeper never ran");
    let sleeper = SvcPid::parse(&std::fs::read_to_string(&pidfile).unwrap()).unwrap();
    assert!(sleeper.alive(), "the sleeper is not found while wfop runs");
    // SAFETY: kill with plain integers: wfop's own pid.
    unsafe { libc::kill(wfop, libc::SIGKILL) };
    let st = finish(child);
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&st), Some(9));
    let t0 = Instant::now();
    while sleeper.alive() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = sleeper.host_pids();
    for &p in &left {
        // SAFETY: kill with plain integers.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
    assert!(
        left.is_empty(),
        "the setsid sleeper outlived wfop: {left:?}"
    );
}

/// Guarantee 3 where it matters: three secrets declared, one service maps one, a Python
/// service maps another, a third maps none; each sees exactly its own `SECRET_*`.
#[test]
fn each_service_sees_exactly_its_own_secrets() {
    let case = Case::new();
    let outd = case.path().join("env");
    std::fs::create_dir(&outd).unwrap();
    case.write(
        "dump.py",
        r#"import os
from qhub.commons.secret import SecretValue

def run(pw: SecretValue):
    value = pw.unwrap()
    fds = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds.append((fd, os.readlink("/proc/self/fd/" + fd)))
        except FileNotFoundError:
            pass  # the listing's own descriptor, closed by now
    with open(os.path.join(os.environ["OUT"], "two.fds"), "w") as f:
        for fd, target in fds:
            f.write(f"{fd} {target}\n")
    with open(os.path.join(os.environ["OUT"], "two.env"), "w") as f:
        for k, v in sorted(os.environ.items()):
            f.write(f"{k}={v}\n")
    return {"got": len(value)}
"#,
    );
    let dump =
        |id: &str| format!(r#"ls -l /proc/self/fd/ > "$OUT/{id}.fds"; env > "$OUT/{id}.env""#);
    let wf = case.workflow(
        json!([
            { "id": "one", "type": "service", "run": { "command": ["sh", "-c", dump("one")] },
              "secrets": ["tok"],
              "input_mapping": [ { "name": "$secrets", "value": "{ \"tok\": secret_value(\"api\") }" } ] },
            { "id": "two", "type": "service", "run": { "python": "dump.py", "function": "run" },
              "secrets": ["pw"],
              "input_mapping": [ { "name": "$secrets", "value": "{ \"pw\": secret_value(\"db\") }" } ] },
            { "id": "three", "type": "service", "run": { "command": ["sh", "-c", dump("three")] } }
        ]),
        &[],
        &["api", "db", "mail"],
    );
    let (a, b, c) = (
        secret_file(&case, "a.secret", IBM_KEY),
        secret_file(&case, "b.secret", MARKET_KEY),
        secret_file(&case, "c.secret", THIRD_KEY),
    );
    let specs = [
        format!("api=file:{}", a.display()),
        format!("db=file:{}", b.display()),
        format!("mail=file:{}", c.display()),
    ];
    let mut args = vec!["run", wf.to_str().unwrap(), "--plain"];
    for s in &specs {
        args.extend(["--secret", s.as_str()]);
    }
    let out = case.wfop(&args, &[("OUT", outd.to_str().unwrap())]);
    let log = format!("{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{log}");
    let all = [IBM_KEY, MARKET_KEY, THIRD_KEY];
    for (id, own) in [
        ("one", Some(("SECRET_TOK", IBM_KEY))),
        ("two", Some(("SECRET_PW", MARKET_KEY))),
        ("three", None),
    ] {
        let env = std::fs::read_to_string(outd.join(format!("{id}.env"))).unwrap();
        assert!(
            env.contains(&format!("WFOP_NODE_ID={id}")),
            "{id} did not run"
        );
        let names: Vec<&str> = env
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .filter(|k| k.starts_with("SECRET_"))
            .collect();
        assert_eq!(
            names,
            own.map(|(n, _)| vec![n]).unwrap_or_default(),
            "{id}'s SECRET_ variables"
        );
        if let Some((name, value)) = own {
            assert!(
                env.lines().any(|l| l == format!("{name}={value}")),
                "{id} did not get its own secret"
            );
        }
        for s in all {
            if own.map(|(_, v)| v) != Some(s) {
                assert_absent(env.as_bytes(), s, &format!("{id}'s environment"));
            }
        }
        assert!(
            !env.contains("WFOP_SECRETS_FD"),
            "{id}: WFOP_SECRETS_FD is in its environment"
        );
        // No pipe beyond stdin/stdout/stderr: the secrets pipe was closed after reading, and
        // no other service's pipe leaked in.
        let fds = std::fs::read_to_string(outd.join(format!("{id}.fds"))).unwrap();
        // `ls -l` lines ("… 7 -> target") or the shim's ("7 target").
        let fds: Vec<(u32, String)> = fds
            .lines()
            .filter_map(|l| {
                let (left, target) = l.split_once(" -> ").or_else(|| l.split_once(' '))?;
                let fd = left.split_whitespace().last()?.parse().ok()?;
                Some((fd, target.to_string()))
            })
            .collect();
        assert!(
            fds.iter().any(|(fd, t)| *fd == 0 && t.starts_with("pipe:")),
            "{id}: {fds:?}"
        );
        for (fd, target) in &fds {
            if *fd > 2 {
                assert!(!target.starts_with("pipe:"), "{id} holds a pipe: {fds:?}");
            }
        }
    }
}

/// Item 9: the operator's shell also exports a secret's value under other names; no service
/// gets those, the warning names them (names only), and the value appears nowhere.
#[test]
fn inherited_copies_of_a_secret_reach_no_service() {
    let case = Case::new();
    let outd = case.path().join("env");
    std::fs::create_dir(&outd).unwrap();
    let wf = case.workflow(
        json!([{ "id": "bystander", "type": "service",
                 "run": { "command": ["sh", "-c", r#"env > "$OUT/bystander.env""#] } }]),
        &[],
        &["api"],
    );
    let embedded = format!("prefix-{IBM_KEY}-suffix");
    let name_holding = format!("N{IBM_KEY}");
    let out = case.wfop(
        &[
            "run",
            wf.to_str().unwrap(),
            "--plain",
            "--secret",
            "api=env:WFOP_TEST_API",
        ],
        &[
            ("WFOP_TEST_API", IBM_KEY),
            ("OTHER_COPY", IBM_KEY),
            ("EMBED", &embedded),
            (&name_holding, "x"),
            ("PLAIN_VAR", "hello"),
            ("OUT", outd.to_str().unwrap()),
        ],
    );
    let stdout = text(&out.stdout);
    let log = format!("{stdout}\n{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{log}");
    let env = std::fs::read_to_string(outd.join("bystander.env")).unwrap();
    // Inherited variables do reach services: the ones holding the value were dropped.
    // (Messages name variables only: the file may hold the value when this fails.)
    assert!(
        env.contains("WFOP_NODE_ID=bystander"),
        "the bystander did not run"
    );
    assert!(
        env.lines().any(|l| l == "PLAIN_VAR=hello"),
        "an ordinary inherited variable did not reach the service"
    );
    assert!(
        !env.contains("OTHER_COPY="),
        "OTHER_COPY reached the service"
    );
    assert!(!env.contains("EMBED="), "EMBED reached the service");
    assert_absent(env.as_bytes(), IBM_KEY, "the bystander's environment");
    let warning = log
        .lines()
        .find(|l| l.contains("hold a secret's value"))
        .unwrap_or_else(|| panic!("no warning: {log}"));
    assert!(warning.contains("`OTHER_COPY`"), "{warning}");
    assert!(warning.contains("`EMBED`"), "{warning}");
    assert!(warning.contains("1 whose name holds one"), "{warning}");
    assert_absent(&out.stdout, IBM_KEY, "stdout");
    assert_absent(&out.stderr, IBM_KEY, "stderr");
    for (path, bytes) in case.record_files() {
        assert_absent(&bytes, IBM_KEY, &path.display().to_string());
    }
}

/// The service cannot undo its sandbox: it has no capabilities to unmount its `/proc` (which
/// would show the host's beneath), and in a nested user namespace, with every capability
/// there, the mount is locked. (Only tried where the service is PID 2 of its namespace, so a
/// run without the sandbox never touches the host's `/proc`.)
#[test]
fn a_service_cannot_undo_its_sandbox() {
    let case = Case::new();
    if !sandbox_available(&case) {
        skip_or_fail("unprivileged user + PID namespaces are not available here");
        return;
    }
    case.write(
        "undo.py",
        r#"import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if os.getpid() != 2:
    print("not in a sandbox", flush=True)
    sys.exit(1)
def pids():
    return len([p for p in os.listdir("/proc") if p.isdigit()])
def umount():
    r = libc.umount2(b"/proc", 2)  # MNT_DETACH
    return "ok" if r == 0 else os.strerror(ctypes.get_errno())
print("pids", pids(), flush=True)
print("umount", umount(), flush=True)
if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
    print("nested", os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(1)
eff = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
print("nested caps", "all" if int(eff, 16) >> 21 & 1 else "none", flush=True)
print("nested umount", umount(), flush=True)
print("pids after", pids(), flush=True)
"#,
    );
    let wf = case.workflow(
        json!([{ "id": "undo", "type": "service", "run": { "command": ["python3", "undo.py"], "cwd": "." } }]),
        &[],
        &[],
    );
    let out = case.wfop(&["run", wf.to_str().unwrap(), "--plain"], &[]);
    let log = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{log}\n{}", text(&out.stderr));
    // Only the service and its init are there to see.
    assert!(log.contains("[undo] pids 2\n"), "{log}");
    assert!(
        log.contains("[undo] umount Operation not permitted"),
        "{log}"
    );
    // CAP_SYS_ADMIN (bit 21) in the nested namespace: the attempt had every capability.
    assert!(log.contains("[undo] nested caps all"), "{log}");
    assert!(
        log.contains("[undo] nested umount Invalid argument"),
        "{log}"
    );
    assert!(log.contains("[undo] pids after 2\n"), "{log}");
}
