#!/usr/bin/env bash
# Private single-node Slurm cluster for tests (no systemd, no /etc changes).
#
#   .ci/slurm.sh up DIR     # install slurm-wlm/munge if missing, start munged,
#                           # slurmctld, slurmd; wait until the node is idle;
#                           # write DIR/env (source it to use srun/sinfo/...)
#   .ci/slurm.sh down DIR   # stop the daemons by their pid files (idempotent)
#
# Everything lives in DIR: munge key/socket, slurm.conf, state, spool, logs,
# pid files.  Ports: SlurmctldPort=P, SlurmdPort=P+1, where P is taken from
# $WFOP_SLURM_PORT if set, else derived from a checksum of the absolute DIR
# (range 16800..19798, even numbers), so two clusters in two DIRs normally do
# not clash (a checksum collision is possible; set WFOP_SLURM_PORT to be sure).
# Must run as root (SlurmUser=root, SlurmdUser=root).
set -euo pipefail

usage() { echo "usage: $0 up|down DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
DIR=$(cd "$2" && pwd -P)

# Stop one daemon by its pid file: TERM, wait up to 5 s, then KILL.
stop_pid() {
    local pidfile=$1 pid i
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    case $pid in ''|*[!0-9]*) rm -f "$pidfile"; return 0 ;; esac
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

# Kill leftover slurmstepd processes belonging to this cluster only (their
# environment carries SLURM_CONF=DIR/slurm.conf; matched via /proc, never by name).
stop_stepds() {
    local p
    for p in /proc/[0-9]*; do
        [ -r "$p/environ" ] || continue
        case "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" in slurmstepd*) ;; *) continue ;; esac
        if tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$DIR/slurm.conf"; then
            kill -KILL "${p#/proc/}" 2>/dev/null || true
        fi
    done
}

down() {
    stop_pid "$DIR/slurmd.pid"
    stop_pid "$DIR/slurmctld.pid"
    stop_stepds
    stop_pid "$DIR/munged.pid"
}

tails() {
    local f
    for f in "$DIR"/log/*.log; do
        [ -f "$f" ] || continue
        echo "==== tail $f" >&2
        tail -n 40 "$f" >&2 || true
    done
}

fail() {
    echo "slurm.sh: $*" >&2
    tails
    exit 1
}

up() {
    local t0 need=0 b
    t0=$(date +%s.%N)
    [ "$(id -u)" -eq 0 ] || { echo "slurm.sh: must run as root" >&2; exit 1; }
    for b in slurmctld slurmd srun sinfo munged; do
        command -v "$b" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$b" >/dev/null 2>&1 || need=1
    done
    if [ $need -eq 1 ]; then
        echo "slurm.sh: installing slurm-wlm munge" >&2
        apt-get update -qq </dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge </dev/null >/dev/null
    fi
    export PATH="$PATH:/usr/sbin:/sbin"

    down # a previous cluster in the same DIR
    rm -rf "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/munge"
    mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/munge"
    chmod 0755 "$DIR"
    chmod 0755 "$DIR/munge"

    # --- munge -------------------------------------------------------------
    local key=$DIR/munge/munge.key sock=$DIR/munge/munge.sock
    dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
    chmod 0400 "$key"
    # munged refuses to run as root unless --force.
    munged --force \
        --socket="$sock" --key-file="$key" \
        --pid-file="$DIR/munged.pid" --log-file="$DIR/log/munged.log" \
        --seed-file="$DIR/munge/munged.seed" </dev/null \
        || fail "munged failed to start"

    # --- slurm.conf ----------------------------------------------------------
    local port cpus mem
    if [ -n "${WFOP_SLURM_PORT:-}" ]; then
        port=$WFOP_SLURM_PORT
    else
        port=$(( 16800 + ( $(printf '%s' "$DIR" | cksum | cut -d' ' -f1) % 1500 ) * 2 ))
    fi
    cpus=$(nproc)
    mem=$(free -m | awk '/^Mem:/ { m = int($2 * 0.9); if (m < 100) m = 100; print m }')
    cat >"$DIR/slurm.conf" <<EOF
ClusterName=wfoptest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=2
InactiveLimit=0
MinJobAge=60
SchedulerType=sched/backfill
MailProg=/bin/true
PlugStackConfig=$DIR/plugstack.conf
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    : >"$DIR/plugstack.conf"
    export SLURM_CONF=$DIR/slurm.conf

    cat >"$DIR/env" <<EOF
export SLURM_CONF=$DIR/slurm.conf
export PATH="\$PATH:/usr/sbin:/sbin"
EOF

    slurmctld -f "$DIR/slurm.conf" </dev/null || fail "slurmctld failed to start"
    slurmd -f "$DIR/slurm.conf" -N localhost </dev/null || fail "slurmd failed to start"

    local i st=""
    local d pid
    for i in $(seq 1 300); do
        st=$(timeout 5 sinfo -h -o %t 2>/dev/null || true)
        case $st in idle*) break ;; esac
        # Fail fast when a daemon has died (e.g. port already in use).
        if [ "$i" -ge 10 ]; then
            for d in slurmctld slurmd; do
                pid=$(cat "$DIR/$d.pid" 2>/dev/null || true)
                if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
                    down; fail "$d is not running"
                fi
            done
        fi
        sleep 0.1
    done
    case $st in
        idle*) ;;
        *) down; fail "node not idle after 30 s (sinfo state: '${st}')" ;;
    esac
    echo "slurm.sh: cluster up in $DIR (ports $port/$((port + 1))) in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; source $DIR/env" >&2
}

case $cmd in
    up) up ;;
    down) down ;;
    *) usage ;;
esac
