//! wfop as the subreaper of its services' descendants: a process that leaves its service's
//! process group (`setsid`, a double fork) is reparented to wfop, not to init, and is ended
//! when the run ends. Linux only; elsewhere these are no-ops.

use rustix::process::{Pid, Signal, WaitOptions};

/// Makes this process the reaper of orphaned descendants (`PR_SET_CHILD_SUBREAPER`).
pub(crate) fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        // The kernel reads the argument as a flag (non-zero: on); rustix takes it as a pid.
        rustix::process::set_child_subreaper(Some(rustix::process::getpid())).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Services of runs still going in this process (their leaders, which their own run waits
/// for): the end of one run must not end, or reap, another run's services (a library user or a
/// test may run several engines in one process).
static LIVE: std::sync::Mutex<Vec<Pid>> = std::sync::Mutex::new(Vec::new());

/// Held from a service's spawn until it is tracked, and by `end_orphans` while it looks for
/// orphans: without it, a run ending in this process could take a child another run has just
/// spawned and not yet tracked for an orphan, kill and reap it, and that run would find no
/// child to wait for (`tests/engine_parallel_runs.rs`).
static SPAWNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The gate a service's spawn holds until it is tracked (see `SPAWNING`).
pub(crate) fn spawn_gate() -> std::sync::MutexGuard<'static, ()> {
    SPAWNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Marks a service leader as its run's own until the guard is dropped (after it was waited for).
pub(crate) fn track(pid: Option<Pid>) -> Tracked {
    if let Some(p) = pid {
        LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    }
    Tracked(pid)
}

pub(crate) struct Tracked(Option<Pid>);

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = live.iter().position(|&q| q == p) {
                live.swap_remove(i);
            }
        }
    }
}

fn is_live_service(pid: Pid) -> bool {
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&pid)
}

/// One process as `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcStat {
    pid: Pid,
    /// `R`, `S`, `D`, `T`, `Z` (a zombie: ended, not yet waited for), `X` (dead), …
    state: u8,
    ppid: Option<Pid>,
    pgrp: Option<Pid>,
}

impl ProcStat {
    /// A process that still runs code (a zombie or a dead one does not).
    fn is_live(&self) -> bool {
        !matches!(self.state, b'Z' | b'X' | b'x')
    }
}

/// Parses one `/proc/<pid>/stat` line: the state, `ppid` and `pgrp` are the 1st, 2nd and 3rd
/// fields after the command name (which may itself hold spaces and parentheses).
fn parse_stat(pid: Pid, line: &str) -> Option<ProcStat> {
    let rest = &line[line.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    // `Pid::from_raw` panics on a negative number: a field that is not a pid is `None`.
    let mut num = || {
        let n: i32 = fields.next()?.parse().ok()?;
        if n > 0 { Pid::from_raw(n) } else { None }
    };
    let ppid = num();
    let pgrp = num();
    Some(ProcStat {
        pid,
        state,
        ppid,
        pgrp,
    })
}

/// Every process this process can see, read from /proc (one that ends while it is read is
/// left out); `None` without /proc.
fn processes() -> Option<Vec<ProcStat>> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut buf = Vec::with_capacity(STAT_BUF);
    Some(
        entries
            .flatten()
            .filter_map(|e| {
                let pid = Pid::from_raw(e.file_name().to_str()?.parse().ok()?)?;
                read_stat(pid, &mut buf)
            })
            .collect(),
    )
}

/// Room for a whole `/proc/<pid>/stat` line (52 numbers and a command name of up to 64 bytes).
const STAT_BUF: usize = 1024;

/// Reads and parses `/proc/<pid>/stat` into `buf` (reused from process to process: one open,
/// one read, one close, no size query or allocation per process).
fn read_stat(pid: Pid, buf: &mut Vec<u8>) -> Option<ProcStat> {
    use std::io::Read;
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    buf.clear();
    f.by_ref().take(4 * STAT_BUF as u64).read_to_end(buf).ok()?;
    parse_stat(pid, std::str::from_utf8(buf).ok()?)
}

/// This process's children, live or zombie.
fn children() -> Vec<Pid> {
    let me = rustix::process::getpid();
    processes()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.ppid == Some(me))
        .map(|p| p.pid)
        .collect()
}

/// Waits for one ended child by its pid (`waitid(P_PID, pid, WEXITED | WNOHANG)`): true if
/// it was reaped. Never waits for any child but this one, so the exit status tokio waits for
/// (each service's leader, by its own pid) is never taken.
fn reap(pid: Pid) -> bool {
    use rustix::process::{WaitId, WaitIdOptions, waitid};
    matches!(
        waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG
        ),
        Ok(Some(_))
    )
}

/// The state of service process group `pgid` (its leader has pid `pgid`, and is waited for
/// by the service's task, never here): every member that is a zombie child of wfop (an
/// orphan of the service that came to wfop, the subreaper, and ended) is reaped first, by its
/// pid. Returns whether a member that still runs is left: a group whose members are all
/// zombies (the leader not waited for yet, or ones whose parent escaped the group and does
/// not wait) is over, though `kill(-pgid, 0)` still finds it. Without /proc: whether
/// `kill(-pgid, 0)` finds the group.
pub(crate) fn group_alive(pgid: Pid) -> bool {
    // No process at all in the group, live or zombie (what a sandboxed service leaves, its
    // namespace gone with it): nothing to look for in /proc.
    if rustix::process::test_kill_process_group(pgid) == Err(rustix::io::Errno::SRCH) {
        return false;
    }
    let Some(all) = processes() else {
        return rustix::process::test_kill_process_group(pgid).is_ok();
    };
    let me = rustix::process::getpid();
    let mut alive = false;
    for p in all.into_iter().filter(|p| p.pgrp == Some(pgid)) {
        if p.is_live() {
            alive = true;
        } else if p.ppid == Some(me) && p.pid != pgid && !is_live_service(p.pid) {
            reap(p.pid);
        }
    }
    alive
}

/// Ends every child still there when a run is over — with the services all waited for, these
/// are orphans that escaped their service's process group — and reaps them. A child that
/// leads its own process group takes that group with it. Returns how many were ended.
///
/// A child in wfop's own process group is a command this process ran itself (`scancel`, the
/// TUI's `tmux show-options`, a test harness's `tmux send-keys`), never an orphan: a service
/// leads a group of its own, and what escapes it goes to another group or session. It is left
/// alone (killing it took another thread's child and its exit status: issue 16's lost key).
pub(crate) fn end_orphans() -> usize {
    let _gate = spawn_gate();
    let mut ended = 0;
    let own_group = rustix::process::getpgrp();
    // Ending one orphan can orphan its own children onto wfop: a few rounds.
    for _ in 0..32 {
        let kids: Vec<_> = children()
            .into_iter()
            .filter(|&p| !is_live_service(p))
            .filter(|&p| rustix::process::getpgid(Some(p)) != Ok(own_group))
            .collect();
        if kids.is_empty() {
            break;
        }
        for pid in kids {
            if rustix::process::getpgid(Some(pid)) == Ok(pid) {
                let _ = rustix::process::kill_process_group(pid, Signal::KILL);
            }
            let _ = rustix::process::kill_process(pid, Signal::KILL);
            if let Ok(Some((got, _))) = rustix::process::waitpid(Some(pid), WaitOptions::empty())
                && got == pid
            {
                ended += 1;
            }
        }
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let pid = Pid::from_raw(42).unwrap();
        let p = parse_stat(pid, "42 (a) b (c)) Z 7 9 9 0 -1").unwrap();
        assert_eq!(p.state, b'Z');
        assert_eq!(p.ppid, Pid::from_raw(7));
        assert_eq!(p.pgrp, Pid::from_raw(9));
        assert!(!p.is_live());
        let p = parse_stat(pid, "42 (sleep) S 1 42 42 0").unwrap();
        assert!(p.is_live());
        assert!(parse_stat(pid, "42 (cut").is_none());
        // Never a panic on a field that is no pid (Pid::from_raw asserts >= 0).
        let odd = parse_stat(pid, "42 (x) S -1 -7 0").unwrap();
        assert_eq!((odd.ppid, odd.pgrp), (None, None));
    }

    #[test]
    fn a_group_outliving_its_leader_is_alive_and_a_gone_one_is_not() {
        // The leader ends at once and is waited for; its background child stays in the group.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & exit 0"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = Pid::from_raw(child.id() as i32).unwrap();
        assert!(child.wait().unwrap().success());
        assert!(group_alive(pgid), "the sleep left in the group still runs");
        let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
        let mut over = false;
        for _ in 0..500 {
            if !group_alive(pgid) {
                over = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(over, "a killed group is over");
        // The kernel finds no member any more: the answer needs no look at /proc.
        for _ in 0..500 {
            if rustix::process::test_kill_process_group(pgid).is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!group_alive(pgid));
    }

    #[test]
    fn stat_files_read_into_a_reused_buffer_parse() {
        let me = rustix::process::getpid();
        let mut buf = Vec::new();
        let p = read_stat(me, &mut buf).expect("our own stat");
        assert_eq!(p.pid, me);
        assert!(p.is_live());
        assert_eq!(p.pgrp, rustix::process::getpgid(None).ok());
        // Again into the same buffer: nothing of the first read is left in it.
        let q = read_stat(me, &mut buf).expect("our own stat again");
        assert_eq!((q.ppid, q.pgrp), (p.ppid, p.pgrp));
        assert!(read_stat(Pid::from_raw(i32::MAX).unwrap(), &mut buf).is_none());
    }

    #[test]
    fn a_group_of_zombies_is_over_and_its_own_zombies_are_reaped() {
        // A child leading a group of its own, as a service's leader does: once it ends it is a
        // zombie until its own waiter takes it (never `group_alive`: pid == pgid).
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 0.05"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = Pid::from_raw(child.id() as i32).unwrap();
        assert!(group_alive(pgid) || child.try_wait().unwrap().is_some());
        // Until it is waited for, it is a zombie: the group is over all the same.
        let mut over = false;
        for _ in 0..500 {
            if !group_alive(pgid) {
                over = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(over, "a group whose only member is a zombie is over");
        // The leader was left for its own waiter.
        assert!(child.wait().unwrap().success());
    }
}
