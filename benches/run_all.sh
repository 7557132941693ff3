#!/usr/bin/env bash
# Every side-by-side figure of docs/benchmarks.md in one run (release builds; not a test).
#   1. check + layout of a generated 1 000-node workflow (criterion)
#   2. the redactor against sed with the same literal secrets, same 64 MiB input
#   3. `wfop run --plain > /dev/null` against the raw pipe; per-node overhead on a fan-out
#   4. the TUI under a log flood: key latency, CPU, memory, lines kept in the record
#   5. the TUI model with a 4.3 MB variable, mapped and not: update() under log lines
#      (criterion), and the real binary's wall time, CPU and peak RSS over 100 000 lines
#   6. peak memory with a 4.1 MiB input against the same run without it, line mode and TUI
# Usage: benches/run_all.sh            (about 5 minutes on a 2-core machine)
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== 1. check and layout, 1 000 nodes"
cargo bench --quiet --bench check -- --noplot 2>&1 | grep -E "generated|^workflow|time:"
echo "== 2. redactor vs sed"
bash benches/redact_vs_sed.sh
echo "== 3. wfop run vs the raw pipe; per-node overhead"
sh benches/throughput.sh
if [ -f benches/tui_flood.py ]; then
  echo "== 4. TUI under a log flood"
  python3 benches/tui_flood.py
fi
if [ -f benches/tui_mapping.py ]; then
  echo "== 5. the TUI model with a large variable"
  cargo bench --quiet --bench tui_model -- --noplot 2>&1 | grep -E "^tui_model|time:"
  python3 benches/tui_mapping.py 100000
fi
if [ -f benches/memory.py ]; then
  echo "== 6. memory with a large input"
  python3 benches/memory.py 100000
fi
