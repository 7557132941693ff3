//! Process hardening while secrets are in memory: no core dumps, not dumpable, so neither a
//! crash nor another process of the same user (ptrace, /proc/PID/mem) can read them.

use std::io;

use rustix::process::{Resource, Rlimit, setrlimit};

/// Sets `RLIMIT_CORE` to 0 and `PR_SET_DUMPABLE` to 0 (Linux). Children do not inherit the
/// dumpable flag across `exec`, so services are unaffected; they do inherit the core limit.
pub fn harden_process() -> io::Result<()> {
    let zero = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    setrlimit(Resource::Core, zero)?;
    #[cfg(target_os = "linux")]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rustix::process::{Resource, getrlimit};

    #[test]
    fn core_dumps_off_and_not_dumpable() {
        super::harden_process().unwrap();
        let lim = getrlimit(Resource::Core);
        assert_eq!((lim.current, lim.maximum), (Some(0), Some(0)));
        #[cfg(target_os = "linux")]
        assert_eq!(
            rustix::process::dumpable_behavior().unwrap(),
            rustix::process::DumpableBehavior::NotDumpable
        );
    }
}
