//! Per-service isolation on Linux: each service runs in a user + PID + mount namespace of its
//! own, with a fresh `/proc` and no capabilities, so no sibling can see its processes (nor
//! their `/proc/<pid>/environ`), and its whole process tree dies with the namespace.
//!
//! Shape, built in the forked child before `exec` (system calls only — the parent is
//! multi-threaded, so nothing here may allocate or take a lock; rustix's calls are raw system
//! calls, libc's `fork`, `_exit`, `sigaction`, `sigprocmask`, `kill` and `close_range` are
//! async-signal-safe):
//!
//! ```text
//! wfop ── outer (wfop's child, its pid and process group; relays the service's end)
//!           └── init (PID 1 of the new namespace: mounts /proc, reaps, exits with the service)
//!                 └── the service (exec'd with no capabilities, no_new_privs)
//! ```
//!
//! wfop's process-group signals reach all three; the outer and init ignore TERM/INT/… so the
//! service gets its grace period, and SIGKILL ends everything. When init exits, the kernel
//! kills whatever is left in the namespace (also `setsid`/double-forked processes); init dies
//! with the outer, the outer with wfop (`PR_SET_PDEATHSIG`). [`probe`] tries the whole setup
//! once a run; where it fails (unprivileged user namespaces off, seccomp, no `/proc` to mount)
//! the run falls back to plain children and says so.

use std::ffi::CStr;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rustix::io::Errno;
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::process::{Pid, Signal, WaitOptions, WaitStatus};

/// What the forked child needs, prepared in the parent (no allocation after `fork`).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// `"<uid> <uid> 1\n"`: wfop's user id maps to itself (never to root, unless it is root).
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    /// Highest descriptor to close one by one where `close_range` is missing.
    max_fd: RawFd,
    /// Not root: the maps can be written only while the process is dumpable.
    unprivileged: bool,
}

impl Plan {
    pub(crate) fn new() -> Plan {
        let uid = rustix::process::geteuid().as_raw();
        let gid = rustix::process::getegid().as_raw();
        Plan {
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
            max_fd: max_fd(),
            unprivileged: uid != 0,
        }
    }
}

/// The setup step that failed (said in the fallback warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Unshare = 1,
    Setgroups,
    UidMap,
    GidMap,
    Pipe,
    ForkInit,
    MountPrivate,
    MountProc,
    ForkService,
    DropCaps,
    Lost,
}

impl Step {
    fn from_code(c: i32) -> Step {
        match c {
            1 => Step::Unshare,
            2 => Step::Setgroups,
            3 => Step::UidMap,
            4 => Step::GidMap,
            5 => Step::Pipe,
            6 => Step::ForkInit,
            7 => Step::MountPrivate,
            8 => Step::MountProc,
            9 => Step::ForkService,
            10 => Step::DropCaps,
            _ => Step::Lost,
        }
    }

    /// This step failed with `e`.
    fn failed(self, e: Errno) -> SetupError {
        SetupError {
            step: self,
            errno: e.raw_os_error(),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Step::Unshare => "create a user, PID and mount namespace",
            Step::Setgroups => "write the namespace's setgroups",
            Step::UidMap => "map the user id into the namespace",
            Step::GidMap => "map the group id into the namespace",
            Step::Pipe => "create a pipe",
            Step::ForkInit => "start the namespace's init",
            Step::MountPrivate => "make the namespace's mounts private",
            Step::MountProc => "mount a /proc of the namespace's own",
            Step::ForkService => "fork the service",
            Step::DropCaps => "drop the service's capabilities",
            Step::Lost => "hear from the namespace's init",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SetupError {
    pub step: Step,
    pub errno: i32,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {}: {}",
            self.step.what(),
            io::Error::from_raw_os_error(self.errno)
        )
    }
}

impl std::error::Error for SetupError {}

impl From<SetupError> for io::Error {
    fn from(e: SetupError) -> io::Error {
        io::Error::from_raw_os_error(e.errno)
    }
}

/// Tries the whole setup once (a throw-away namespace whose "service" exits at once).
#[cfg(target_os = "linux")]
pub(crate) fn probe(plan: &Plan) -> Result<(), SetupError> {
    let (r, w) = pipe_with(PipeFlags::CLOEXEC).map_err(|e| Step::Pipe.failed(e))?;
    // SAFETY: the child makes system calls only (as in a `pre_exec` closure) and leaves with
    // `exit_now`; it never returns into the multi-threaded parent's code.
    let child = unsafe { fork() }.map_err(|e| Step::ForkInit.failed(e))?;
    let Some(pid) = child else {
        drop(r);
        // SAFETY: this is the forked child.
        let code = match unsafe { enter(plan) } {
            Ok(()) => 0,
            Err(e) => {
                write_msg(w.as_fd(), MSG_FAIL, e.step as i32, e.errno);
                1
            }
        };
        exit_now(code)
    };
    drop(w);
    let msg = read_msg(r.as_fd());
    drop(r);
    let st = wait_for(pid);
    match msg {
        Some((MSG_FAIL, step, e)) => Err(SetupError {
            step: Step::from_code(step),
            errno: e,
        }),
        _ if st.is_some_and(|s| s.exit_status() == Some(0)) => Ok(()),
        _ => Err(Step::Lost.failed(Errno::IO)),
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn probe(_plan: &Plan) -> Result<(), SetupError> {
    Err(Step::Unshare.failed(Errno::NOSYS))
}

const MSG_READY: i32 = 1;
const MSG_FAIL: i32 = 2;
const MSG_STATUS: i32 = 3;

/// `fork()`: `Ok(None)` in the child. libc's, not rustix's `runtime::kernel_fork`, which
/// skips the C library's own bookkeeping (its cached thread id, its `atfork` handlers).
///
/// # Safety
/// wfop is multi-threaded: in the child, only async-signal-safe calls (no allocation, no
/// lock) until it execs or leaves with [`exit_now`].
unsafe fn fork() -> Result<Option<Pid>, Errno> {
    // SAFETY: the caller keeps the child to async-signal-safe calls.
    match unsafe { libc::fork() } {
        0 => Ok(None),
        p if p < 0 => Err(Errno::from_io_error(&io::Error::last_os_error()).unwrap_or(Errno::IO)),
        p => Ok(Pid::from_raw(p)),
    }
}

/// Ends this process at once (`_exit`: no Rust or C exit handlers, no stdio flush).
fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// Waits for child `pid` (through interruptions); `None` if it cannot be waited for.
fn wait_for(pid: Pid) -> Option<WaitStatus> {
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Err(Errno::INTR) => continue,
            Ok(Some((_, st))) => return Some(st),
            _ => return None,
        }
    }
}

/// Enters a new namespace set. Returns `Ok` in the process that is to exec the service; the
/// outer process and init never return `Ok` (they leave with `_exit` once the service has
/// ended). An `Err` is returned by the outer process (wfop's child) when the setup failed, so
/// `spawn` reports it.
///
/// # Safety
/// Only in a forked child of wfop (a `pre_exec` closure): it forks again, and the processes
/// it makes return into the caller.
#[cfg(target_os = "linux")]
pub(crate) unsafe fn enter(plan: &Plan) -> Result<(), SetupError> {
    use rustix::process::{DumpableBehavior, set_dumpable_behavior};
    use rustix::thread::UnshareFlags;
    // SAFETY: without `UnshareFlags::FILES` the descriptor table is not split (the unsafe
    // part of unshare); the new PID namespace applies to the children forked below.
    unsafe {
        rustix::thread::unshare_unsafe(
            UnshareFlags::NEWUSER | UnshareFlags::NEWNS | UnshareFlags::NEWPID,
        )
    }
    .map_err(|e| Step::Unshare.failed(e))?;
    // wfop is non-dumpable (secrets/harden.rs), which makes /proc/self/* root's: a user
    // other than root cannot open its own maps then. Dumpable only for these three writes
    // (a few microseconds; see the known limits), non-dumpable again before anything else.
    if plan.unprivileged {
        let _ = set_dumpable_behavior(DumpableBehavior::Dumpable);
    }
    let maps = write_maps(plan);
    if plan.unprivileged {
        let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
    }
    maps?;
    let (r, w) = pipe_with(PipeFlags::CLOEXEC).map_err(|e| Step::Pipe.failed(e))?;
    // The first child after CLONE_NEWPID is PID 1 of the new namespace.
    // SAFETY: this is a forked child already; the new one keeps to the same calls.
    match unsafe { fork() }.map_err(|e| Step::ForkInit.failed(e))? {
        Some(init) => {
            drop(w);
            outer(init, r, plan)
        }
        None => {
            drop(r);
            be_init(w, plan)
        }
    }
}

/// setgroups `deny`, then the one-line uid and gid maps.
#[cfg(target_os = "linux")]
fn write_maps(plan: &Plan) -> Result<(), SetupError> {
    // An unprivileged process may map its own gid only once setgroups is denied (missing
    // before Linux 3.19, where it is not needed).
    match write_file(c"/proc/self/setgroups", b"deny") {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return Err(Step::Setgroups.failed(e)),
    }
    write_file(c"/proc/self/uid_map", &plan.uid_map).map_err(|e| Step::UidMap.failed(e))?;
    write_file(c"/proc/self/gid_map", &plan.gid_map).map_err(|e| Step::GidMap.failed(e))?;
    Ok(())
}

/// # Safety
/// As the Linux one.
#[cfg(not(target_os = "linux"))]
pub(crate) unsafe fn enter(_plan: &Plan) -> Result<(), SetupError> {
    Err(Step::Unshare.failed(Errno::NOSYS))
}

/// wfop's own child: waits for init's word that the service was forked, closes every
/// descriptor it inherited (so `spawn` in wfop sees the service's exec, and no pipe is kept
/// open by it), then relays the service's end as its own. `r` is the read end of init's
/// status pipe. Only in the forked child.
#[cfg(target_os = "linux")]
fn outer(init: Pid, r: OwnedFd, plan: &Plan) -> Result<(), SetupError> {
    match read_msg(r.as_fd()) {
        Some((MSG_READY, _, _)) => {}
        other => {
            wait_for(init);
            drop(r);
            return Err(match other {
                Some((MSG_FAIL, step, e)) => SetupError {
                    step: Step::from_code(step),
                    errno: e,
                },
                _ => Step::Lost.failed(Errno::IO),
            });
        }
    }
    // SAFETY: this process only waits and exits from here on; no Rust object in it uses a
    // descriptor that is closed (`r` is kept).
    unsafe { close_all_but(r.as_raw_fd(), plan.max_fd) };
    // TERM, INT, … sent to the process group are for the service: the outer stays until
    // the service has ended (SIGKILL still ends it, and init with it).
    for sig in 1..32 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP && sig != libc::SIGCHLD {
            set_disposition(sig, Disposition::Ignore);
        }
    }
    let msg = read_msg(r.as_fd());
    let st = wait_for(init);
    match msg {
        Some((MSG_STATUS, status, _)) => relay(status),
        // init was killed (SIGKILL from wfop's group kill): end the same way.
        _ => relay(st.map_or(0, WaitStatus::as_raw)),
    }
}

/// Ends this process the way the service ended (a raw wait status): its exit code, or its
/// signal. Only in the forked child.
#[cfg(target_os = "linux")]
fn relay(status: i32) -> ! {
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        set_disposition(sig, Disposition::Default);
        // libc: rustix has no sigprocmask outside its `runtime` module, and its `Signal` may
        // not name the C library's reserved real-time signals.
        // SAFETY: a signal set on the stack, filled by sigemptyset/sigaddset; unblocking and
        // raising one signal in this (single-threaded) process.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::kill(libc::getpid(), sig);
        }
        exit_now(128 + sig)
    }
    exit_now(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        1
    })
}

/// PID 1 of the namespace: mounts `/proc`, forks the service (which returns `Ok` from here),
/// reaps every orphan, and exits once the service has (taking the namespace with it). `w` is
/// the write end of the status pipe. Only in the forked child.
#[cfg(target_os = "linux")]
fn be_init(w: OwnedFd, plan: &Plan) -> Result<(), SetupError> {
    use rustix::mount::{MountFlags, MountPropagationFlags, mount, mount_change};
    use rustix::process::set_parent_process_death_signal;
    let _ = set_parent_process_death_signal(Some(Signal::KILL));
    let report = |step: Step, e: Errno| -> ! {
        write_msg(w.as_fd(), MSG_FAIL, step as i32, e.raw_os_error());
        exit_now(1)
    };
    // The new /proc must not propagate back to the parent namespace.
    if let Err(e) = mount_change(
        c"/",
        MountPropagationFlags::REC | MountPropagationFlags::PRIVATE,
    ) {
        report(Step::MountPrivate, e);
    }
    if let Err(e) = mount(
        c"proc",
        c"/proc",
        c"proc",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        None::<&CStr>,
    ) {
        report(Step::MountProc, e);
    }
    // SAFETY: this is a forked child already; the service's process keeps to the same calls
    // until its exec.
    let svc = match unsafe { fork() } {
        Ok(svc) => svc,
        Err(e) => report(Step::ForkService, e),
    };
    let Some(svc) = svc else {
        drop(w);
        let _ = set_parent_process_death_signal(Some(Signal::KILL));
        // Without capabilities the service cannot unmount this /proc (which would show the
        // parent namespace's beneath it) nor undo anything else here.
        return drop_capabilities().map_err(|e| Step::DropCaps.failed(e));
    };
    write_msg(w.as_fd(), MSG_READY, 0, 0);
    // SAFETY: this process only reaps and exits from here on; no Rust object in it uses a
    // descriptor that is closed (`w` is kept).
    unsafe { close_all_but(w.as_raw_fd(), plan.max_fd) };
    loop {
        match rustix::process::wait(WaitOptions::empty()) {
            Ok(Some((pid, st))) if pid == svc => {
                write_msg(w.as_fd(), MSG_STATUS, st.as_raw(), 0);
                exit_now(0);
            }
            Ok(_) | Err(Errno::INTR) => {}
            // No child left, which cannot be while the service lives.
            Err(_) => exit_now(1),
        }
    }
}

/// Empties the bounding, ambient, effective, permitted and inheritable sets and sets
/// `no_new_privs`; an exec after this has no capabilities, even as uid 0 of the namespace.
#[cfg(target_os = "linux")]
fn drop_capabilities() -> Result<(), Errno> {
    use rustix::thread::{CapabilitySet, CapabilitySets};
    for cap in 0..64 {
        match rustix::thread::remove_capability_from_bounding_set(CapabilitySet::from_bits_retain(
            1 << cap,
        )) {
            Ok(()) => {}
            Err(Errno::INVAL) => break, // past the kernel's last capability
            Err(e) => return Err(e),
        }
    }
    // Missing before Linux 4.3 (EINVAL): then there is no ambient set to clear.
    match rustix::thread::clear_ambient_capability_set() {
        Ok(()) | Err(Errno::INVAL) => {}
        Err(e) => return Err(e),
    }
    let none = CapabilitySet::empty();
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: none,
            permitted: none,
            inheritable: none,
        },
    )?;
    rustix::thread::set_no_new_privs(true)
}

/// Writes all of `data` to a file opened for writing (one `write`; a short one is `EIO`).
#[cfg(target_os = "linux")]
fn write_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    if rustix::io::write(&fd, data)? == data.len() {
        Ok(())
    } else {
        Err(Errno::IO)
    }
}

/// One 12-byte message (kind, a, b) on the status pipe; atomic (under `PIPE_BUF`).
fn write_msg(fd: BorrowedFd<'_>, kind: i32, a: i32, b: i32) {
    let mut m = [0u8; 12];
    m[..4].copy_from_slice(&kind.to_ne_bytes());
    m[4..8].copy_from_slice(&a.to_ne_bytes());
    m[8..].copy_from_slice(&b.to_ne_bytes());
    while rustix::io::write(fd, &m) == Err(Errno::INTR) {}
}

/// Reads one message; `None` at end of file or on an error.
fn read_msg(fd: BorrowedFd<'_>) -> Option<(i32, i32, i32)> {
    let mut m = [0u8; 12];
    let mut got = 0;
    while got < m.len() {
        match rustix::io::read(fd, &mut m[got..]) {
            Err(Errno::INTR) => continue,
            Ok(0) | Err(_) => return None,
            Ok(n) => got += n,
        }
    }
    let word = |i: usize| i32::from_ne_bytes([m[i], m[i + 1], m[i + 2], m[i + 3]]);
    Some((word(0), word(4), word(8)))
}

/// A signal disposition without a handler function.
#[derive(Clone, Copy)]
enum Disposition {
    Ignore,
    Default,
}

/// Sets a signal's disposition. libc: rustix has `sigaction` only in its `runtime` module,
/// and signal-hook installs handlers (it allocates), neither of which fits a forked child.
fn set_disposition(sig: i32, d: Disposition) {
    let handler = match d {
        Disposition::Ignore => libc::SIG_IGN,
        Disposition::Default => libc::SIG_DFL,
    };
    // SAFETY: a zeroed sigaction with SIG_IGN or SIG_DFL and an empty mask is valid; no
    // handler code is installed. An invalid `sig` only fails (EINVAL).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// Closes every descriptor but `keep`: stdin, stdout and stderr (only the service holds its
/// pipes, so wfop sees their end when the service, and whatever it handed them to, closes
/// them) and everything from 3 up. `close_range` through libc: rustix has no wrapper for it.
///
/// # Safety
/// Only in a forked child that uses no Rust object holding one of these descriptors again.
#[cfg(target_os = "linux")]
unsafe fn close_all_but(keep: RawFd, max_fd: RawFd) {
    // SAFETY: close_range and close on descriptor numbers the caller gave up.
    unsafe {
        for fd in 0..3 {
            rustix::io::close(fd);
        }
        let range = |lo: RawFd, hi: libc::c_uint| {
            libc::syscall(libc::SYS_close_range, lo as libc::c_uint, hi, 0) == 0
        };
        let ok = (keep <= 3 || range(3, (keep - 1) as libc::c_uint))
            && range(keep + 1, libc::c_uint::MAX);
        if !ok {
            for fd in (3..=max_fd).filter(|&fd| fd != keep) {
                rustix::io::close(fd);
            }
        }
    }
}

/// Highest descriptor number worth walking when `close_range` is missing.
pub(crate) fn max_fd() -> RawFd {
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    RawFd::try_from(nofile.min(65536)).unwrap_or(65536)
}

/// Marks every descriptor from 3 up close-on-exec, so a service inherits nothing but its
/// stdin/stdout/stderr (and what the caller hands it on purpose afterwards): not a pipe of
/// another service, not whatever wfop itself inherited. Descriptors that are already
/// close-on-exec (std's exec-error pipe) keep working until the exec. Closes nothing.
///
/// # Safety
/// Only in a forked child before exec (descriptors of Rust objects in the parent change).
pub(crate) unsafe fn cloexec_from_3(max_fd: RawFd) {
    #[cfg(target_os = "linux")]
    // SAFETY: close_range with the CLOEXEC flag closes nothing.
    if unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    } == 0
    {
        return;
    }
    // libc: these are numbers that may not be open, which a `BorrowedFd` must not be.
    for fd in 3..=max_fd {
        // SAFETY: fcntl on a descriptor number; one that is not open fails with EBADF.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn maps_name_our_own_ids_only() {
        let p = Plan::new();
        let uid = rustix::process::geteuid().as_raw();
        assert_eq!(p.uid_map, format!("{uid} {uid} 1\n").into_bytes());
        assert!(p.max_fd >= 3);
    }

    #[test]
    fn step_codes_round_trip() {
        for s in [Step::Unshare, Step::MountProc, Step::DropCaps] {
            assert_eq!(Step::from_code(s as i32), s);
        }
        assert_eq!(Step::from_code(99), Step::Lost);
        let e = SetupError {
            step: Step::MountProc,
            errno: libc::EPERM,
        };
        assert!(e.to_string().starts_with("cannot mount a /proc"), "{e}");
    }

    /// The start cost of a service in the sandbox against a plain child (a measurement, not
    /// a check: `cargo test --release --lib sandbox::tests::start_cost -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn start_cost() {
        use std::os::unix::process::CommandExt;
        use std::time::Instant;
        let plan = std::sync::Arc::new(Plan::new());
        if probe(&plan).is_err() {
            eprintln!("no namespaces here");
            return;
        }
        let n = 300;
        let time = |sandboxed: bool| {
            let t0 = Instant::now();
            for _ in 0..n {
                let mut c = std::process::Command::new("/bin/true");
                let p = plan.clone();
                // SAFETY: raw system calls only, as in the engine's pre_exec.
                unsafe {
                    c.pre_exec(move || {
                        if sandboxed {
                            enter(&p)?;
                        }
                        Ok(())
                    });
                }
                assert!(c.status().unwrap().success());
            }
            t0.elapsed().as_secs_f64() * 1000.0 / n as f64
        };
        let (plain, boxed) = (time(false), time(true));
        let (plain2, boxed2) = (time(false), time(true));
        eprintln!(
            "per service start+end: plain {plain:.3} ms / {plain2:.3} ms, sandboxed {boxed:.3} ms / {boxed2:.3} ms"
        );
    }
}
