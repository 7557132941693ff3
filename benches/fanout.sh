#!/bin/sh
# wfop's own cost per node (issue 16, §4; not a test: run by hand, release build): a fan-out of
# N trivial services (`true`), the whole run divided by N, against N sequential spawns of
# `/bin/true` from sh measured in the same round, so that "beyond the spawn" is a difference
# of two figures taken a moment apart. Rounds interleave the two (or three, with an older
# binary) so that a noisy machine treats them alike; every figure is printed as a range.
# Usage: benches/fanout.sh [OLD_WFOP]   (N=200 ROUNDS=5 in the environment to change them)
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
WFOP=$PWD/target/release/wfop
OLD=${1:-}
N=${N:-200}
ROUNDS=${ROUNDS:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

{
  printf '{ "name": "fanout", "nodes": [ { "id": "start", "type": "start" }, { "id": "end", "type": "end" }'
  i=0; while [ $i -lt "$N" ]; do printf ', { "id": "n%d", "type": "service", "run": { "command": ["true"] } }' $i; i=$((i+1)); done
  printf '], "edges": ['
  i=0; while [ $i -lt "$N" ]; do [ $i -gt 0 ] && printf ','; printf '{ "from": "start", "to": "n%d" }, { "from": "n%d", "to": "end" }' $i $i; i=$((i+1)); done
  printf '] }\n'
} > "$TMP/fanout.json"

now() { date +%s.%N; }
per() { awk -v s="$1" -v e="$2" -v n="$N" 'BEGIN { printf "%.3f", (e - s) / n * 1000 }'; }
# The program, not sh's builtin `true` (which `command -v true` names).
TRUE=/bin/true
[ -x "$TRUE" ] || TRUE=/usr/bin/true
spawn() {
  s=$(now); i=0; while [ $i -lt "$N" ]; do "$TRUE"; i=$((i+1)); done; e=$(now)
  per "$s" "$e"
}
fanout() { # binary, parallel
  rm -rf "$TMP/state"
  s=$(now); "$1" run "$TMP/fanout.json" --plain --max-parallel "$2" --state-dir "$TMP/state" > /dev/null; e=$(now)
  per "$s" "$e"
}

# One line per figure and round: "<what> <ms per node>".
r=0
while [ "$r" -lt "$ROUNDS" ]; do
  for P in 1 2; do
    echo "spawn $(spawn)"
    [ -n "$OLD" ] && echo "old-p$P $(fanout "$OLD" $P)"
    echo "new-p$P $(fanout "$WFOP" $P)"
  done
  r=$((r+1))
done > "$TMP/figures"

echo "per node, $N-node fan-out of \`true\`, $ROUNDS rounds interleaved (min / median / max, ms):"
summary() { # tag, label
  grep "^$1 " "$TMP/figures" | cut -d' ' -f2 | sort -n | awk -v l="$2" '
    { v[NR] = $1 }
    END { if (NR) printf "  %-44s %.3f / %.3f / %.3f\n", l, v[1], v[int((NR + 1) / 2)], v[NR] }'
}
summary spawn "spawn of /bin/true from sh (the reference)"
for P in 1 2; do
  [ -n "$OLD" ] && summary "old-p$P" "older binary (old), --max-parallel $P"
  summary "new-p$P" "this build (new), --max-parallel $P"
done
# Beyond the spawn: each round's fan-out minus the spawn measured just before it.
echo "beyond the spawn, per round (min / median / max, ms):"
awk '
  $1 == "spawn" { s = $2; next }
  { d[$1] = d[$1] " " ($2 - s) }
  END { for (k in d) print k d[k] }' "$TMP/figures" | sort | while read -r tag rest; do
  echo "$rest" | tr ' ' '\n' | sort -n | awk -v l="$tag" '
    { v[NR] = $1 }
    END { printf "  %-44s %.3f / %.3f / %.3f\n", l, v[1], v[int((NR + 1) / 2)], v[NR] }'
done
