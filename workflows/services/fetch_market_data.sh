#!/bin/sh
# fetch_market_data.sh: daily closes for a portfolio's symbols, "fetched" with an API key.
#
# The machine is offline, so the market-data provider is a bundled CSV
# ($MARKET_DATA_DIR/market-prices.csv, default: ../data next to this script). The request is
# still signed with the key the way a provider would want it: sha256 over "key\nrequest".
# The key is only ever written into a pipe by the shell's builtin printf (never into the
# argv of a program, which `ps` shows), and it is never printed.
#
# Protocol (docs/workflow-format.md, DESIGN.md section 5); POSIX sh + coreutils + awk:
#   $INPUT_DIRECTORY/symbols.json        ["AURA","BORE",...]   required
#   $INPUT_DIRECTORY/as_of.json          "2024-06-28"          required, ISO date
#   $INPUT_DIRECTORY/lookback_days.json  250                   optional (default 250)
#   $SECRET_MARKET_DATA_API_KEY          the secret `market_data_api_key`, 16+ characters
#   $OUTPUT_DIRECTORY/output.json        written on success:
#     {"prices": {"symbols": [...], "currency": "EUR", "dates": [...],
#                 "series": [[closes of symbol 1, oldest first], ...]},
#      "provider": "...", "request_id": "<16 hex>", "signature": "sha256:<64 hex>"}
#   The series hold lookback_days + 1 closes (the last one on or before as_of), so that
#   lookback_days daily returns can be computed from them.
# Exit 1 with a message on stderr on any error (missing secret, unknown symbol, bad input).

set -eu

fail() {
    printf 'fetch_market_data: error: %s\n' "$*" >&2
    exit 1
}
log() {
    printf 'fetch_market_data: %s\n' "$*"
}

[ -n "${INPUT_DIRECTORY:-}" ] || fail "INPUT_DIRECTORY is not set (this service is run by wfop)"
[ -n "${OUTPUT_DIRECTORY:-}" ] || fail "OUTPUT_DIRECTORY is not set (this service is run by wfop)"
if [ -z "${SECRET_MARKET_DATA_API_KEY:-}" ]; then
    fail "the secret market_data_api_key is missing: SECRET_MARKET_DATA_API_KEY is not set;" \
        "declare \"secrets\": [\"market_data_api_key\"] on the node and map it in its \$secrets row"
fi
if [ "${#SECRET_MARKET_DATA_API_KEY}" -lt 16 ]; then
    fail "the secret market_data_api_key is shorter than 16 characters; is it the right key?"
fi

# A JSON string or number with no spaces or escapes inside, as one word; empty for null/missing.
json_scalar() {
    [ -f "$INPUT_DIRECTORY/$1.json" ] || return 0
    value=$(tr -d ' \t\r\n"' <"$INPUT_DIRECTORY/$1.json")
    [ "$value" = null ] || printf '%s' "$value"
}

[ -f "$INPUT_DIRECTORY/symbols.json" ] || fail "input symbols is missing (map it: symbols <- portfolio.symbols)"
symbols=$(tr -d ' \t\r\n"[]' <"$INPUT_DIRECTORY/symbols.json" | tr ',' ' ')
[ -n "$symbols" ] || fail "input symbols is empty; expected a list like [\"AURA\", \"BORE\"]"
for s in $symbols; do
    case $s in
        *[!A-Za-z0-9._-]*) fail "input symbols: '$s' is not a ticker symbol" ;;
    esac
done

as_of=$(json_scalar as_of)
case $as_of in
    [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]) ;;
    '') fail "input as_of is missing; expected a date like \"2024-06-28\"" ;;
    *) fail "input as_of: '$as_of' is not a date like \"2024-06-28\"" ;;
esac

lookback=$(json_scalar lookback_days)
lookback=${lookback:-250}
lookback=${lookback%.0}  # a JSON number may come as 250.0
case $lookback in
    '' | *[!0-9]*) fail "input lookback_days: '$lookback' is not a whole number of days" ;;
esac
[ "$lookback" -ge 2 ] || fail "input lookback_days must be at least 2"

data_dir=${MARKET_DATA_DIR:-$(dirname "$0")/../data}
csv=$data_dir/market-prices.csv
[ -r "$csv" ] || fail "market data file $csv is not readable (set MARKET_DATA_DIR)"

symbol_list=$(printf '%s' "$symbols" | tr ' ' ',')
request="GET /v1/prices?symbols=$symbol_list&as_of=$as_of&lookback=$lookback"
signature=$(printf '%s\n%s' "$SECRET_MARKET_DATA_API_KEY" "$request" | sha256sum | cut -d ' ' -f 1)
request_id=$(printf '%s' "$signature" | cut -c 1-16)
log "request $request_id: $request"

tmp=$OUTPUT_DIRECTORY/output.json.partial
awk -F ',' -v syms="$symbols" -v as_of="$as_of" -v lookback="$lookback" \
    -v request_id="$request_id" -v signature="$signature" '
function err(msg) { print "fetch_market_data: error: " msg | "cat 1>&2"; failed = 1; exit 1 }
/^#/ || /^[ \t\r]*$/ { next }
!header {
    header = 1
    sub(/\r$/, "")
    for (i = 2; i <= NF; i++) col[$i] = i
    n = split(syms, want, " ")
    for (j = 1; j <= n; j++) {
        if (!(want[j] in col)) {
            avail = $2; for (i = 3; i <= NF; i++) avail = avail ", " $i
            err("unknown symbol " want[j] "; the provider has " avail)
        }
    }
    next
}
{
    sub(/\r$/, "")
    if ($1 > as_of) next
    rows++
    date[rows] = $1
    for (j = 1; j <= n; j++) {
        v = $(col[want[j]])
        if (v !~ /^[0-9]+(\.[0-9]+)?$/) err("no valid close for " want[j] " on " $1)
        close_[rows, j] = v
    }
}
END {
    if (failed) exit 1
    if (!header) err("the market data file has no header")
    need = lookback + 1
    if (rows < need) err("only " rows " closes on or before " as_of "; lookback_days needs " need)
    first = rows - need + 1
    printf "{\"prices\":{\"symbols\":["
    for (j = 1; j <= n; j++) printf "%s\"%s\"", (j > 1 ? "," : ""), want[j]
    printf "],\"currency\":\"EUR\",\"dates\":["
    for (r = first; r <= rows; r++) printf "%s\"%s\"", (r > first ? "," : ""), date[r]
    printf "],\"series\":["
    for (j = 1; j <= n; j++) {
        printf "%s[", (j > 1 ? "," : "")
        for (r = first; r <= rows; r++) printf "%s%s", (r > first ? "," : ""), close_[r, j]
        printf "]"
    }
    printf "]},\"provider\":\"wfop-offline-market-data (bundled synthetic closes)\","
    printf "\"request_id\":\"%s\",\"signature\":\"sha256:%s\"}\n", request_id, signature
}' "$csv" >"$tmp" || { rm -f "$tmp"; exit 1; }
mv "$tmp" "$OUTPUT_DIRECTORY/output.json"

log "$(printf '%s' "$symbols" | wc -w | tr -d ' ') symbol(s), $((lookback + 1)) closes each, up to $as_of"
