#!/bin/sh
# Throughput figures for `wfop run` (not a test; run by hand, release build):
#   1. ~300 MB of log lines through `wfop run --plain > /dev/null`, against the raw pipe
#      `service | cat > /dev/null` (the practical limit);
#   2. wfop's own overhead per node on a 200-node fan-out of trivial services, against
#      spawning the same service 200 times from a shell.
# Usage: benches/throughput.sh [BYTES]   (default 300000000)
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
WFOP=$PWD/target/release/wfop
BYTES=${1:-300000000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
LINE='2024-06-28T15:30:12Z INFO worker-3 processed shot batch 4711 of 9000: ok, 1024 counts'
SERVICE="yes '$LINE' | head -c $BYTES"

now() { date +%s.%N; }
rate() { awk -v b="$BYTES" -v s="$1" -v e="$2" 'BEGIN { t = e - s; printf "%.2f s, %.0f MB/s", t, b / t / 1e6 }'; }

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

s=$(now); sh -c "$SERVICE" | cat > /dev/null; e=$(now)
echo "raw pipe   service | cat > /dev/null:          $(rate "$s" "$e")"
s=$(now); "$WFOP" run "$TMP/big.json" --plain --secret tok=env:WFOP_BENCH_TOKEN --state-dir "$TMP/state" > /dev/null; e=$(now)
echo "wfop run --plain > /dev/null (record included): $(rate "$s" "$e")"

# 200-node fan-out of `true`.
N=200
{
  printf '{ "name": "fanout", "nodes": [ { "id": "start", "type": "start" }, { "id": "end", "type": "end" }'
  i=0; while [ $i -lt $N ]; do printf ', { "id": "n%d", "type": "service", "run": { "command": ["true"] } }' $i; i=$((i+1)); done
  printf '], "edges": ['
  i=0; while [ $i -lt $N ]; do [ $i -gt 0 ] && printf ','; printf '{ "from": "start", "to": "n%d" }, { "from": "n%d", "to": "end" }' $i $i; i=$((i+1)); done
  printf '] }\n'
} > "$TMP/fanout.json"
s=$(now); i=0; while [ $i -lt $N ]; do true_bin=$(command -v true); "$true_bin"; i=$((i+1)); done; e=$(now)
spawn=$(awk -v s="$s" -v e="$e" -v n=$N 'BEGIN { printf "%.3f", (e - s) / n * 1000 }')
echo "spawn of /bin/true from sh, sequential:       $spawn ms per process"
for P in 1 2; do
  s=$(now); "$WFOP" run "$TMP/fanout.json" --plain --max-parallel $P --state-dir "$TMP/state" > /dev/null; e=$(now)
  per=$(awk -v s="$s" -v e="$e" -v n=$N 'BEGIN { printf "%.3f", (e - s) / n * 1000 }')
  echo "wfop 200-node fan-out, --max-parallel $P:       $per ms per node (whole run / 200)"
done
