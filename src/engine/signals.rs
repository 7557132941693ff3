//! Which signals stop a run: the one table both front ends and the scheduler use. Every signal
//! whose default action ends the process is either caught and turned into a cancel (services
//! stopped, record finished, secrets purged, exit 128 + N) or left alone for a stated reason.

/// What wfop does with a signal whose default action would end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Caught: the run stops as on SIGTERM, and wfop exits with 128 + the signal.
    Stop,
    /// Left ignored: a write to a closed pipe is an `EPIPE` error to the writer instead (a
    /// closed stdout stops wfop's output; the run goes on and its record is complete).
    Ignored,
    /// Left at its default: a fault inside wfop itself (it cannot safely go on), or a
    /// signal that cannot be caught.
    Default,
}

/// One row: number, name, handling, why.
pub struct Row {
    pub signal: i32,
    pub name: &'static str,
    pub handling: Handling,
}

const fn row(signal: i32, name: &'static str, handling: Handling) -> Row {
    Row {
        signal,
        name,
        handling,
    }
}

/// Every standard Linux signal whose default action terminates (or dumps core). The real-time
/// signals (`SIGRTMIN..=SIGRTMAX`, default: terminate) are `Stop` too; see `stop_signals`.
pub const TABLE: &[Row] = &[
    row(libc::SIGHUP, "SIGHUP", Handling::Stop),
    row(libc::SIGINT, "SIGINT", Handling::Stop),
    row(libc::SIGQUIT, "SIGQUIT", Handling::Stop),
    row(libc::SIGTERM, "SIGTERM", Handling::Stop),
    row(libc::SIGUSR1, "SIGUSR1", Handling::Stop),
    row(libc::SIGUSR2, "SIGUSR2", Handling::Stop),
    row(libc::SIGALRM, "SIGALRM", Handling::Stop),
    row(libc::SIGVTALRM, "SIGVTALRM", Handling::Stop),
    row(libc::SIGPROF, "SIGPROF", Handling::Stop),
    row(libc::SIGXCPU, "SIGXCPU", Handling::Stop),
    row(libc::SIGXFSZ, "SIGXFSZ", Handling::Stop),
    row(libc::SIGIO, "SIGIO", Handling::Stop),
    row(libc::SIGPWR, "SIGPWR", Handling::Stop),
    row(libc::SIGSTKFLT, "SIGSTKFLT", Handling::Stop),
    row(libc::SIGPIPE, "SIGPIPE", Handling::Ignored),
    row(libc::SIGILL, "SIGILL", Handling::Default),
    row(libc::SIGTRAP, "SIGTRAP", Handling::Default),
    row(libc::SIGABRT, "SIGABRT", Handling::Default),
    row(libc::SIGBUS, "SIGBUS", Handling::Default),
    row(libc::SIGFPE, "SIGFPE", Handling::Default),
    row(libc::SIGSEGV, "SIGSEGV", Handling::Default),
    row(libc::SIGSYS, "SIGSYS", Handling::Default),
    row(libc::SIGKILL, "SIGKILL", Handling::Default),
];

/// Every signal that stops a run: the `Stop` rows and the real-time signals.
pub fn stop_signals() -> Vec<i32> {
    let mut v: Vec<i32> = TABLE
        .iter()
        .filter(|r| r.handling == Handling::Stop)
        .map(|r| r.signal)
        .collect();
    v.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    v
}

/// `SIGQUIT`, `SIGRTMIN+2`, or `signal` for a number not in the table.
pub fn name(signal: i32) -> String {
    if let Some(r) = TABLE.iter().find(|r| r.signal == signal) {
        return r.name.to_string();
    }
    let (lo, hi) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if (lo..=hi).contains(&signal) {
        return match signal - lo {
            0 => "SIGRTMIN".into(),
            k => format!("SIGRTMIN+{k}"),
        };
    }
    "signal".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_terminating_signal_is_decided_once() {
        let mut seen: Vec<i32> = TABLE.iter().map(|r| r.signal).collect();
        seen.sort();
        let n = seen.len();
        seen.dedup();
        assert_eq!(seen.len(), n, "a signal is in the table twice");
        // The standard signals whose default action is not to terminate are the only ones
        // missing (CHLD, CONT, STOP, TSTP, TTIN, TTOU, URG, WINCH).
        let not_terminating = [
            libc::SIGCHLD,
            libc::SIGCONT,
            libc::SIGSTOP,
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGTTOU,
            libc::SIGURG,
            libc::SIGWINCH,
        ];
        for s in 1..libc::SIGRTMIN() {
            // 32 and 33 are kept by the C library for its threads.
            if not_terminating.contains(&s) || s == 32 || s == 33 {
                continue;
            }
            assert!(seen.contains(&s), "signal {s} is not decided");
        }
        let stop = stop_signals();
        for s in [
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGTERM,
            libc::SIGRTMAX(),
        ] {
            assert!(stop.contains(&s), "{}", name(s));
        }
        assert!(!stop.contains(&libc::SIGPIPE) && !stop.contains(&libc::SIGKILL));
        assert_eq!(name(libc::SIGQUIT), "SIGQUIT");
        assert_eq!(name(libc::SIGRTMIN() + 2), "SIGRTMIN+2");
    }
}
