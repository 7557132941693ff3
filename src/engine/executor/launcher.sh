# wfop's Slurm launcher (docs/executors.md): srun runs it on the compute node as
#   sh -c "$LAUNCHER" wfop-launch TOKEN HEARTBEAT_SECONDS PROGRAM ARG...
# It holds no secret. On stdin: a count line, then that many SECRET_<NAME>=VALUE lines (in VALUE
# a backslash is written \\ and a newline \n), then the service's own input. It exports those
# values (into the service's environment only: its own /proc environ is that of srun's task),
# runs the service with the rest of stdin, and says on stderr, each on a line of its own tagged
# with the run's random token, when it started, that it is alive (every HEARTBEAT_SECONDS), and
# how the service ended. wfop takes these lines out of the stream before anything shows it.
tok=$1 hb=$2
shift 2
ctl() { printf '\036WFOP:%s:%s\n' "$tok" "$1" >&2; }
# SIGKILL cannot be lost, so the wait returns (and bash says nothing of a job it waited for).
stop_beat() { kill -KILL "$beat" 2>/dev/null; wait "$beat" 2>/dev/null; }
fail() { stop_beat; exit 125; }
# A stop (scancel --signal=TERM) reaches every process of the step: the launcher outlives its
# service to say how it ended (a trap, not an ignore, so the service keeps the default).
trap : TERM INT HUP
# The heartbeat first: no process it starts gets the secrets exported below. It is ended with
# SIGKILL, which no race with its start can lose (its last sleep, holding none of the step's
# pipes, ends by itself).
(
  while :; do
    sleep "$hb" </dev/null >/dev/null 2>&1
    ctl hb || exit 0
  done
) </dev/null >/dev/null &
beat=$!
IFS= read -r n || { ctl 'error the secrets header did not arrive'; fail; }
case $n in '' | *[!0-9]*) ctl 'error the secrets header is not a count'; fail ;; esac
while [ "$n" -gt 0 ]; do
  IFS= read -r line || { ctl 'error the secrets header ended early'; fail; }
  name=${line%%=*}
  case $name in SECRET_*) ;; *) ctl 'error a secrets header line is not SECRET_<NAME>=...'; fail ;; esac
  # printf is the shell's own (no process, no command line): %b turns \\ and \n back.
  value=$(printf '%bx' "${line#*=}")
  export "$name=${value%x}"
  n=$((n - 1))
done
unset line value name n
ctl "started ${SLURM_JOB_ID-}.${SLURM_STEP_ID-}"
"$@"
rc=$?
stop_beat
ctl "exit $rc"
exit "$rc"
