#!/usr/bin/env bash
# Redactor vs sed on the same 64 MiB input and the same 20 literal secrets; then the redactor
# alone against the number of secrets (issue 16).
#
# The redactor searches all derived needles (encodings, lines, joins); sed gets only the raw
# values, one `s/…/***/g` each (a multi-line value becomes one expression per line, since sed
# works line by line). Both run on one core; LC_ALL=C makes sed work on bytes.
#
# Usage: benches/redact_vs_sed.sh [DIR]   (DIR defaults to a fresh temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-$(mktemp -d)}"

WFOP_BENCH_DUMP="$dir" cargo bench --quiet --bench redact 2>/dev/null

size=$(stat -c %s "$dir/input.log")
exprs=$(grep -c '' "$dir/secrets.sed")
best=""
for _ in 1 2 3; do
    start=$(date +%s.%N)
    LC_ALL=C sed -f "$dir/secrets.sed" "$dir/input.log" > "$dir/output.sed.log"
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
printf 'sed:  %d literal expressions, %d MiB in %.3f s = %.0f MiB/s (best of 3: LC_ALL=C sed -f %s)\n' \
    "$exprs" $((size >> 20)) "$best" "$(echo "$size / 1048576 / $best" | bc -l)" "$dir/secrets.sed"
# The input embeds about a third of its secrets base64-encoded ("auth: Basic …"): count those
# left readable (sed has no notion of encodings).
left() { LC_ALL=C grep -c 'auth: Basic [A-Za-z0-9+/=]\{12\}' "$1" || true; }
printf 'base64-encoded secrets left readable: wfop %s, sed %s\n' \
    "$(left "$dir/output.wfop.log")" "$(left "$dir/output.sed.log")"

