#!/bin/sh
# Throughput figures for `wfop run` (not a test; run by hand, release build):
#   ~300 MB of short log lines (88 bytes) through `wfop run --plain > /dev/null`, against the
#      raw pipe `service | cat > /dev/null` (the practical limit), interleaved ROUNDS times: each
#      round's MB/s and CPU-seconds (wfop's whole process tree, the service included, against
#      the whole pipe), then the range of the ratio wfop/raw; with BEFORE=path/to/old/wfop, an
#      older binary runs in the same rounds (its ratio beside this one's);
# (wfop's cost per node on a fan-out is benches/fanout.sh.)
# Usage: [ROUNDS=3] [BEFORE=/tmp/wfop-old] benches/throughput.sh [BYTES]   (default 300000000)
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
WFOP=$PWD/target/release/wfop
BYTES=${1:-300000000}
ROUNDS=${ROUNDS:-3}
BEFORE=${BEFORE:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
LINE='2024-06-28T15:30:12Z INFO worker-3 processed shot batch 4711 of 9000: ok, 1024 counts'
SERVICE="yes '$LINE' | head -c $BYTES"

now() { date +%s.%N; }

cat > "$TMP/big.json" <<JSON
{ "name": "throughput", "secrets": { "tok": {} },
  "nodes": [ { "id": "start", "type": "start" },
             { "id": "chatty", "type": "service", "run": { "command": ["sh", "-c", "$SERVICE"] },
               "secrets": ["tok"],
               "input_mapping": [ { "name": "\$secrets", "value": "{ \"tok\": secret_value(\"tok\") }" } ] },
             { "id": "end", "type": "end" } ],
  "edges": [ { "from": "start", "to": "chatty" }, { "from": "chatty", "to": "end" } ] }
JSON
export WFOP_BENCH_TOKEN='Zq3-Xv8_Lm2Np7Rt4Wy9Kb6Hd1Jf5Gc0Sa-Ue8Io3Px2'

# One timed command, run in a subshell of its own: "<wall seconds> <CPU seconds of its children>"
# (user + system; `times` of a fresh subshell counts only what it ran).
timed() (
  s=$(now); "$@"; e=$(now)
  times > "$TMP/times"
  cpu=$(tail -n 1 "$TMP/times" | awk '{ t = 0; for (i = 1; i <= NF; i++) { x = $i; sub(/s$/, "", x); split(x, p, "m"); t += p[1] * 60 + p[2] } printf "%.2f", t }')
  awk -v s="$s" -v e="$e" -v c="$cpu" 'BEGIN { printf "%.3f %.2f", e - s, c }'
)
raw() { sh -c "$SERVICE" | cat > /dev/null; }
plain() { "$1" run "$TMP/big.json" --plain --secret tok=env:WFOP_BENCH_TOKEN --state-dir "$TMP/state" > /dev/null; rm -rf "$TMP/state"; }
show() { awk -v b="$BYTES" -v t="$1" -v c="$2" 'BEGIN { printf "%4.0f MB/s, %.2f CPU-s", b / t / 1e6, c }'; }
ratios=""; before_ratios=""
r=1
while [ $r -le "$ROUNDS" ]; do
  set -- $(timed raw); rt=$1; rc=$2
  set -- $(timed plain "$WFOP"); wt=$1; wc=$2
  line="round $r: raw pipe $(show "$rt" "$rc") | wfop run --plain $(show "$wt" "$wc")"
  ratios="$ratios $(awk -v a="$rt" -v b="$wt" 'BEGIN { printf "%.2f", a / b }')"
  if [ -n "$BEFORE" ]; then
    set -- $(timed plain "$BEFORE"); bt=$1; bc=$2
    line="$line | before $(show "$bt" "$bc")"
    before_ratios="$before_ratios $(awk -v a="$rt" -v b="$bt" 'BEGIN { printf "%.2f", a / b }')"
  fi
  echo "$line"
  r=$((r + 1))
done
range() { echo "$@" | tr ' ' '\n' | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }
echo "wfop run --plain > /dev/null (record included) / raw pipe, short lines: ratio $(range $ratios) (MB/s against MB/s, each round)"
[ -z "$BEFORE" ] || echo "the same with $BEFORE: ratio $(range $before_ratios)"

