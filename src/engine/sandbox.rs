//! Per-service isolation on Linux: each service runs in a user + PID + mount namespace of its
//! own, with a fresh `/proc` and no capabilities, so no sibling can see its processes (nor
//! their `/proc/<pid>/environ`), and its whole process tree dies with the namespace.
//!
//! Shape, built in the forked child before `exec` (raw system calls only — the parent is
//! multi-threaded, so nothing here may allocate or take a lock):
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

use std::fmt;
use std::io;

/// What the forked child needs, prepared in the parent (no allocation after `fork`).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// `"<uid> <uid> 1\n"`: wfop's user id maps to itself (never to root, unless it is root).
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    /// Highest descriptor to close one by one where `close_range` is missing.
    max_fd: libc::c_int,
    /// Not root: the maps can be written only while the process is dumpable.
    unprivileged: bool,
}

impl Plan {
    pub(crate) fn new() -> Plan {
        // SAFETY: geteuid and getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
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
    let mut p = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two-element array.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(SetupError {
            step: Step::Pipe,
            errno: errno(),
        });
    }
    // SAFETY: the child makes raw system calls only (as in a `pre_exec` closure) and leaves
    // with `_exit`; it never returns into the multi-threaded parent's code.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: raw system calls on this process's own descriptors.
        unsafe {
            libc::close(p[0]);
            let code = match enter(plan) {
                Ok(()) => 0,
                Err(e) => {
                    write_msg(p[1], MSG_FAIL, e.step as i32, e.errno);
                    1
                }
            };
            libc::_exit(code)
        }
    }
    // SAFETY: closing our copy of the write end; reading into a local buffer; waitpid on our child.
    unsafe {
        libc::close(p[1]);
        if pid < 0 {
            let e = errno();
            libc::close(p[0]);
            return Err(SetupError {
                step: Step::ForkInit,
                errno: e,
            });
        }
        let msg = read_msg(p[0]);
        libc::close(p[0]);
        let mut st = 0;
        while libc::waitpid(pid, &mut st, 0) < 0 && errno() == libc::EINTR {}
        match msg {
            Some((MSG_FAIL, step, e)) => Err(SetupError {
                step: Step::from_code(step),
                errno: e,
            }),
            _ if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 => Ok(()),
            _ => Err(SetupError {
                step: Step::Lost,
                errno: libc::EIO,
            }),
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn probe(_plan: &Plan) -> Result<(), SetupError> {
    Err(SetupError {
        step: Step::Unshare,
        errno: libc::ENOSYS,
    })
}

const MSG_READY: i32 = 1;
const MSG_FAIL: i32 = 2;
const MSG_STATUS: i32 = 3;

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Enters a new namespace set. Call only in a forked child (a `pre_exec` closure). Returns
/// `Ok` in the process that is to exec the service; the outer process and init never return
/// `Ok` (they leave with `_exit` once the service has ended). An `Err` is returned by the
/// outer process (wfop's child) when the setup failed, so `spawn` reports it.
#[cfg(target_os = "linux")]
pub(crate) fn enter(plan: &Plan) -> Result<(), SetupError> {
    let fail = |step| SetupError {
        step,
        errno: errno(),
    };
    // SAFETY: unshare, open/write/close, pipe2 and fork are raw system calls on this
    // process's own state; nothing here allocates (the maps were formatted by the parent).
    unsafe {
        if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID) != 0 {
            return Err(fail(Step::Unshare));
        }
        // wfop is non-dumpable (secrets/harden.rs), which makes /proc/self/* root's: a user
        // other than root cannot open its own maps then. Dumpable only for these three writes
        // (a few microseconds; see the known limits), non-dumpable again before anything else.
        if plan.unprivileged {
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
        }
        let maps = write_maps(plan);
        if plan.unprivileged {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
        maps?;
        let mut p = [0 as libc::c_int; 2];
        if libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(fail(Step::Pipe));
        }
        // The first child after CLONE_NEWPID is PID 1 of the new namespace.
        let init = libc::fork();
        if init < 0 {
            return Err(fail(Step::ForkInit));
        }
        if init > 0 {
            libc::close(p[1]);
            return outer(init, p[0], plan);
        }
        libc::close(p[0]);
        be_init(p[1], plan)
    }
}

/// setgroups `deny`, then the one-line uid and gid maps.
///
/// # Safety
/// Raw system calls; only in the forked child.
#[cfg(target_os = "linux")]
unsafe fn write_maps(plan: &Plan) -> Result<(), SetupError> {
    let fail = |step| SetupError {
        step,
        errno: errno(),
    };
    // SAFETY: write_file makes raw system calls on NUL-terminated paths and valid buffers.
    unsafe {
        // An unprivileged process may map its own gid only once setgroups is denied (missing
        // before Linux 3.19, where it is not needed).
        if write_file(c"/proc/self/setgroups", b"deny") != 0 && errno() != libc::ENOENT {
            return Err(fail(Step::Setgroups));
        }
        if write_file(c"/proc/self/uid_map", &plan.uid_map) != 0 {
            return Err(fail(Step::UidMap));
        }
        if write_file(c"/proc/self/gid_map", &plan.gid_map) != 0 {
            return Err(fail(Step::GidMap));
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn enter(_plan: &Plan) -> Result<(), SetupError> {
    Err(SetupError {
        step: Step::Unshare,
        errno: libc::ENOSYS,
    })
}

/// wfop's own child: waits for init's word that the service was forked, closes every
/// descriptor it inherited (so `spawn` in wfop sees the service's exec, and no pipe is kept
/// open by it), then relays the service's end as its own.
///
/// # Safety
/// Only in the forked child; `r` is the read end of init's status pipe.
#[cfg(target_os = "linux")]
unsafe fn outer(init: libc::pid_t, r: libc::c_int, plan: &Plan) -> Result<(), SetupError> {
    // SAFETY: raw system calls on this process's own descriptors and children.
    unsafe {
        match read_msg(r) {
            Some((MSG_READY, _, _)) => {}
            other => {
                let mut st = 0;
                while libc::waitpid(init, &mut st, 0) < 0 && errno() == libc::EINTR {}
                libc::close(r);
                return Err(match other {
                    Some((MSG_FAIL, step, e)) => SetupError {
                        step: Step::from_code(step),
                        errno: e,
                    },
                    _ => SetupError {
                        step: Step::Lost,
                        errno: libc::EIO,
                    },
                });
            }
        }
        close_from_3_except(r, plan.max_fd);
        close_stdio();
        // TERM, INT, … sent to the process group are for the service: the outer stays until
        // the service has ended (SIGKILL still ends it, and init with it).
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP && sig != libc::SIGCHLD {
                set_handler(sig, libc::SIG_IGN);
            }
        }
        let msg = read_msg(r);
        let mut st = 0;
        while libc::waitpid(init, &mut st, 0) < 0 && errno() == libc::EINTR {}
        match msg {
            Some((MSG_STATUS, status, _)) => relay(status),
            // init was killed (SIGKILL from wfop's group kill): end the same way.
            _ => relay(st),
        }
    }
}

/// Ends this process the way the service ended: its exit code, or its signal.
///
/// # Safety
/// Only in the forked child.
#[cfg(target_os = "linux")]
unsafe fn relay(status: libc::c_int) -> ! {
    // SAFETY: signal disposition, mask and kill on this process itself, then _exit.
    unsafe {
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            set_handler(sig, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig)
        }
        libc::_exit(if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            1
        })
    }
}

/// PID 1 of the namespace: mounts `/proc`, forks the service (which returns `Ok` from here),
/// reaps every orphan, and exits once the service has (taking the namespace with it).
///
/// # Safety
/// Only in the forked child; `w` is the write end of the status pipe.
#[cfg(target_os = "linux")]
unsafe fn be_init(w: libc::c_int, plan: &Plan) -> Result<(), SetupError> {
    // SAFETY: raw system calls on this process's own state.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        let report = |step: Step| -> ! {
            write_msg(w, MSG_FAIL, step as i32, errno());
            libc::_exit(1)
        };
        // The new /proc must not propagate back to the parent namespace.
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            report(Step::MountPrivate);
        }
        if libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ) != 0
        {
            report(Step::MountProc);
        }
        let svc = libc::fork();
        if svc < 0 {
            report(Step::ForkService);
        }
        if svc == 0 {
            libc::close(w);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            // Without capabilities the service cannot unmount this /proc (which would show
            // the parent namespace's beneath it) nor undo anything else here.
            if drop_capabilities() != 0 {
                return Err(SetupError {
                    step: Step::DropCaps,
                    errno: errno(),
                });
            }
            return Ok(());
        }
        write_msg(w, MSG_READY, 0, 0);
        close_from_3_except(w, plan.max_fd);
        close_stdio();
        loop {
            let mut st = 0;
            let pid = libc::waitpid(-1, &mut st, 0);
            if pid == svc {
                write_msg(w, MSG_STATUS, st, 0);
                libc::_exit(0);
            }
            if pid < 0 && errno() != libc::EINTR {
                // No child left, which cannot be while the service lives.
                libc::_exit(1);
            }
        }
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Empties the bounding, ambient, effective, permitted and inheritable sets and sets
/// `no_new_privs`; an exec after this has no capabilities, even as uid 0 of the namespace.
///
/// # Safety
/// Raw system calls; call in the child that is about to exec.
#[cfg(target_os = "linux")]
unsafe fn drop_capabilities() -> libc::c_int {
    // SAFETY: prctl and capset with valid pointers to local structs.
    unsafe {
        for cap in 0..64 {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                if errno() == libc::EINVAL {
                    break; // past the kernel's last capability
                }
                return -1;
            }
        }
        // Missing before Linux 4.3 (EINVAL): then there is no ambient set to clear.
        if libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        ) != 0
            && errno() != libc::EINVAL
        {
            return -1;
        }
        let mut header = CapHeader {
            version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
            pid: 0,
        };
        let data = [CapData {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
            return -1;
        }
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    }
}

/// Writes all of `data` to a file opened for writing; 0 or -1 (errno set).
///
/// # Safety
/// Raw system calls.
#[cfg(target_os = "linux")]
unsafe fn write_file(path: &std::ffi::CStr, data: &[u8]) -> libc::c_int {
    // SAFETY: open/write/close with a NUL-terminated path and a valid buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return -1;
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let e = errno();
        libc::close(fd);
        if n == data.len() as isize {
            0
        } else {
            *libc::__errno_location() = if n < 0 { e } else { libc::EIO };
            -1
        }
    }
}

/// One 12-byte message (kind, a, b) on the status pipe; atomic (under `PIPE_BUF`).
///
/// # Safety
/// Raw system call.
unsafe fn write_msg(fd: libc::c_int, kind: i32, a: i32, b: i32) {
    let mut m = [0u8; 12];
    m[..4].copy_from_slice(&kind.to_ne_bytes());
    m[4..8].copy_from_slice(&a.to_ne_bytes());
    m[8..].copy_from_slice(&b.to_ne_bytes());
    // SAFETY: a valid 12-byte buffer.
    unsafe { while libc::write(fd, m.as_ptr().cast(), m.len()) < 0 && errno() == libc::EINTR {} }
}

/// Reads one message; `None` at end of file or on an error.
///
/// # Safety
/// Raw system call.
unsafe fn read_msg(fd: libc::c_int) -> Option<(i32, i32, i32)> {
    let mut m = [0u8; 12];
    let mut got = 0;
    while got < m.len() {
        // SAFETY: reading into the unfilled tail of a local buffer.
        let n = unsafe { libc::read(fd, m[got..].as_mut_ptr().cast(), m.len() - got) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return None;
        }
        got += n as usize;
    }
    let word = |i: usize| i32::from_ne_bytes([m[i], m[i + 1], m[i + 2], m[i + 3]]);
    Some((word(0), word(4), word(8)))
}

/// Sets a signal's disposition (SIG_IGN or SIG_DFL).
///
/// # Safety
/// Raw system call.
unsafe fn set_handler(sig: libc::c_int, handler: libc::sighandler_t) {
    // SAFETY: a zeroed sigaction with only the handler set is valid.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// Closes stdin, stdout and stderr: only the service holds its pipes, so wfop sees their end
/// when the service (and whatever it handed them to) closes them.
///
/// # Safety
/// Raw system calls; only in a forked child.
#[cfg(target_os = "linux")]
unsafe fn close_stdio() {
    // SAFETY: close on descriptor numbers.
    unsafe {
        for fd in 0..3 {
            libc::close(fd);
        }
    }
}

/// Closes every descriptor from 3 up, except `keep`.
///
/// # Safety
/// Raw system calls; only in a forked child that owns no Rust object holding these fds.
#[cfg(target_os = "linux")]
unsafe fn close_from_3_except(keep: libc::c_int, max_fd: libc::c_int) {
    // SAFETY: close_range / close on descriptor numbers only.
    unsafe {
        let range = |lo: libc::c_int, hi: libc::c_uint| {
            libc::syscall(libc::SYS_close_range, lo as libc::c_uint, hi, 0) == 0
        };
        let ok = (keep <= 3 || range(3, (keep - 1) as libc::c_uint))
            && range(keep + 1, libc::c_uint::MAX);
        if !ok {
            for fd in 3..=max_fd {
                if fd != keep {
                    libc::close(fd);
                }
            }
        }
    }
}

/// Highest descriptor number worth walking when `close_range` is missing.
pub(crate) fn max_fd() -> libc::c_int {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills a local struct.
    let nofile = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0 {
        rl.rlim_cur
    } else {
        1024
    };
    libc::c_int::try_from(nofile.min(65536)).unwrap_or(65536)
}

/// Marks every descriptor from 3 up close-on-exec, so a service inherits nothing but its
/// stdin/stdout/stderr (and what the caller hands it on purpose afterwards): not a pipe of
/// another service, not whatever wfop itself inherited. Descriptors that are already
/// close-on-exec (std's exec-error pipe) keep working until the exec.
///
/// # Safety
/// Raw system calls; only in a forked child before exec.
pub(crate) unsafe fn cloexec_from_3(max_fd: libc::c_int) {
    // SAFETY: close_range with the CLOEXEC flag closes nothing; fcntl on descriptor numbers.
    unsafe {
        #[cfg(target_os = "linux")]
        if libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        ) == 0
        {
            return;
        }
        for fd in 3..=max_fd {
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
        // SAFETY: geteuid cannot fail.
        let uid = unsafe { libc::geteuid() };
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
