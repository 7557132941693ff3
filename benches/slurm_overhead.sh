#!/usr/bin/env bash
# What a service costs on Slurm beyond a local one (docs/executors.md, "Overheads"): a chain of
# N nodes running `true`, run REPS times with each executor; prints the median wall time per
# node, and beyond local. Needs a cluster: `bash .ci/slurm.sh up DIR && source DIR/env`.
#   benches/slurm_overhead.sh [N=20] [REPS=5] [WFOP=target/release/wfop]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
reps=${2:-5}
wfop=${3:-target/release/wfop}
[ -x "$wfop" ] || cargo build --release --quiet
command -v srun >/dev/null || { echo "no srun: bring a cluster up first (.ci/slurm.sh)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/remote"
python3 - "$n" >"$work/chain.json" <<'PY'
import json, sys
n = int(sys.argv[1])
nodes = [{"id": "start", "type": "start"}]
nodes += [{"id": f"s{i}", "type": "service", "run": {"command": ["true"]}} for i in range(n)]
nodes += [{"id": "end", "type": "end"}]
ids = [x["id"] for x in nodes]
print(json.dumps({"name": "chain", "nodes": nodes,
                  "edges": [{"from": a, "to": b} for a, b in zip(ids, ids[1:])]}))
PY
run() { # label, args…: the median of REPS runs' wall time, in ms
    local label=$1 times=()
    shift
    for _ in $(seq "$reps"); do
        local t0 t1
        t0=$(date +%s%N)
        "$wfop" run "$work/chain.json" --plain --state-dir "$work/state" "$@" >/dev/null
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v l="$label" -v n="$n" '
        { a[NR] = $1 } END { m = a[int((NR + 1) / 2)]; printf "%-28s run %6d ms  per node %7.1f ms  (max run %d ms)\n", l, m, m / n, a[NR] }'
}
echo "chain of $n nodes running true, median of $reps runs ($wfop)"
run "local" --executor local
run "slurm: steps in allocation" --executor slurm --remote-workdir "$work/remote"
run "slurm: a job per node" --executor slurm --slurm-own-jobs --remote-workdir "$work/remote"
