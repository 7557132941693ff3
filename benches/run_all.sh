#!/usr/bin/env bash
# Every side-by-side figure of docs/benchmarks.md in one run (release builds; not a test). Each
# figure is printed beside its reference, measured in the same run: `cat` or the raw pipe, a
# plain spawn, sed, and the previous release (BASE, built from git into target/bench-base).
#   1. the redactor with 1, 20, 200 and 500 secrets (one core), this build and BASE; against sed
#   2. `wfop run --plain > /dev/null` against the raw pipe on short lines, this build and BASE
#   3. the TUI under a log flood (host mode): CPU-s per million lines, key latency, this and BASE
#   4. wfop's own cost per node on a 200-node fan-out, against spawning /bin/true; this and BASE
#   5. workflows of 1 000 and 10 000 nodes: check + layout + render (criterion, this and BASE);
#      the TUI with 10 000 nodes: time to the first screen, graph-key latency (this and BASE)
#   6. earlier figures, this build only: the TUI model under log lines (criterion) and with a
#      large variable, memory with a large input
# Usage: benches/run_all.sh [BASE]   (BASE: a git revision, default the release before issue 16;
#        about 20 minutes on a 2-core machine, plus one release build of BASE the first time)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-cfb228c}
ROOT=$PWD
BASE_SRC=$ROOT/target/bench-base/src
BASE_TARGET=$ROOT/target/bench-base/target
echo "== machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== this build: $(git describe --always --dirty 2>/dev/null || echo '?'); previous release (BASE): $BASE"

cargo build --release --quiet
# BASE's sources, with this tree's bench programs copied over them (the same measurement of the
# old code; the bench programs use only the library's public API).
want=$(git rev-parse "$BASE^{commit}")
if [ "$(cat "$ROOT/target/bench-base/rev" 2>/dev/null)" != "$want" ]; then
    rm -rf "$BASE_SRC"
    mkdir -p "$BASE_SRC"
    git archive "$want" | tar -x -C "$BASE_SRC"
    echo "$want" > "$ROOT/target/bench-base/rev"
fi
cp benches/redact.rs benches/check.rs "$BASE_SRC/benches/"
cp -r benches/common "$BASE_SRC/benches/"
(cd "$BASE_SRC" && CARGO_TARGET_DIR=$BASE_TARGET cargo build --release --quiet)
OLD=$BASE_TARGET/release/wfop
base_bench() { # bench name, args…: runs it in BASE's tree
    local name=$1
    shift
    (cd "$BASE_SRC" && CARGO_TARGET_DIR=$BASE_TARGET cargo bench --quiet --bench "$name" "$@")
}

echo
echo "== 1. redaction by number of secrets: 128 MiB of log text, 64 KiB writes, one core"
echo "-- this build"
WFOP_BENCH_SCALE=1 cargo bench --quiet --bench redact 2>/dev/null
echo "-- previous release ($BASE)"
WFOP_BENCH_SCALE=1 base_bench redact 2>/dev/null || echo "(the bench does not build at $BASE)"
echo "-- against sed (20 secrets, 64 MiB)"
bash benches/redact_vs_sed.sh

echo
echo "== 2. wfop run --plain against the raw pipe, short lines (previous release in the same rounds)"
BEFORE=$OLD sh benches/throughput.sh

echo
echo "== 3. the TUI under a log flood (wfop run: TUI client + run host), previous release interleaved"
python3 benches/tui_flood.py 10 host --against "$OLD"

echo
echo "== 4. per node, 200-node fan-out, against spawning /bin/true (previous release interleaved)"
sh benches/fanout.sh "$OLD"

echo
echo "== 5. workflows of 1 000 and 10 000 nodes"
echo "-- this build"
cargo bench --quiet --bench check -- --noplot 2>&1 | grep -E "generated|^workflow|time:"
echo "-- previous release ($BASE)"
base_bench check -- --noplot 2>&1 | grep -E "generated|^workflow|time:" ||
    echo "(the bench does not build at $BASE)"
echo "-- the TUI with 10 000 nodes: this build, then the previous release"
python3 benches/tui_scale.py 10000 layered
python3 benches/tui_scale.py 10000 layered "$OLD"

echo
echo "== 6. earlier figures (this build)"
cargo bench --quiet --bench tui_model -- --noplot 2>&1 | grep -E "^tui_model|time:"
python3 benches/tui_mapping.py 100000
python3 benches/memory.py 100000
