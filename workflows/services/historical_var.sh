#!/bin/sh
# historical_var.sh: classical one-day Value at Risk of a portfolio by historical simulation.
#
# Protocol (docs/workflow-format.md, DESIGN.md section 5); POSIX sh + coreutils + awk:
#   $INPUT_DIRECTORY/series.json      [[closes of asset 1, oldest first], [asset 2], ...]  required
#   $INPUT_DIRECTORY/weights.json     [0.3, 0.2, ...]  one per asset, summing to 1         required
#   $INPUT_DIRECTORY/confidence.json  0.95  (0 < c < 1, default 0.95)
#   $INPUT_DIRECTORY/notional.json    10000000  portfolio value for the amounts (default 1)
#   $OUTPUT_DIRECTORY/output.json     written on success:
#     {"method": "historical-simulation", "confidence": c, "observations": T,
#      "var": v, "cvar": e, "var_amount": v*notional, "cvar_amount": e*notional,
#      "mean_return": m, "volatility": s, "worst_return": w}
#
# Method: daily simple returns r[i,t] = p[i,t] / p[i,t-1] - 1, portfolio returns
# R[t] = sum_i w[i] * r[i,t] (weights held constant), sorted ascending; with k = ceil((1-c) * T),
# VaR = -R(k) (the k-th worst day) and CVaR (expected shortfall) = -mean(R(1..k)). Losses are
# positive fractions of the portfolio value. Exit 1 with a message on stderr on bad input.
# No secrets: this node declares none, so wfop gives it none.

set -eu

fail() {
    printf 'historical_var: error: %s\n' "$*" >&2
    exit 1
}

[ -n "${INPUT_DIRECTORY:-}" ] || fail "INPUT_DIRECTORY is not set (this service is run by wfop)"
[ -n "${OUTPUT_DIRECTORY:-}" ] || fail "OUTPUT_DIRECTORY is not set (this service is run by wfop)"

# The whole JSON value of an input, without white space; empty if missing or null.
json_input() {
    [ -f "$INPUT_DIRECTORY/$1.json" ] || return 0
    value=$(tr -d ' \t\r\n' <"$INPUT_DIRECTORY/$1.json")
    [ "$value" = null ] || printf '%s' "$value"
}

series=$(json_input series)
weights=$(json_input weights)
confidence=$(json_input confidence)
notional=$(json_input notional)
[ -n "$series" ] || fail "input series is missing (map it: series <- prices.series)"
[ -n "$weights" ] || fail "input weights is missing (map it: weights <- portfolio.weights)"

tmp=$OUTPUT_DIRECTORY/output.json.partial
awk -v series="$series" -v weights="$weights" \
    -v confidence="${confidence:-0.95}" -v notional="${notional:-1}" '
function err(msg) { print "historical_var: error: " msg | "cat 1>&2"; exit 1 }
function isnum(s) { return s ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ }
BEGIN {
    if (!isnum(confidence) || confidence <= 0 || confidence >= 1)
        err("confidence must be a number between 0 and 1, got " confidence)
    if (!isnum(notional) || notional <= 0) err("notional must be a positive number, got " notional)

    if (weights !~ /^\[.*\]$/) err("weights must be a list of numbers like [0.5, 0.5]")
    nw = split(substr(weights, 2, length(weights) - 2), w, ",")
    total = 0
    for (i = 1; i <= nw; i++) {
        if (!isnum(w[i])) err("weights[" i - 1 "] is not a number: " w[i])
        total += w[i]
    }
    if (total - 1 > 1e-6 || 1 - total > 1e-6) err("weights must sum to 1, they sum to " total)

    if (series !~ /^\[\[.*\]\]$/) err("series must be a list of lists of prices like [[1.0, 1.1], [2.0, 2.1]]")
    na = split(substr(series, 3, length(series) - 4), rows, "\\],\\[")
    if (na != nw) err("series has " na " asset(s) but weights has " nw)
    for (i = 1; i <= na; i++) {
        m = split(rows[i], p, ",")
        if (i == 1) len = m
        if (m != len) err("series[" i - 1 "] has " m " prices, series[0] has " len)
        for (t = 1; t <= m; t++) {
            if (!isnum(p[t]) || p[t] <= 0) err("series[" i - 1 "][" t - 1 "] is not a positive price: " p[t])
            price[i, t] = p[t]
        }
    }
    T = len - 1
    if (T < 2) err("series needs at least 3 prices per asset")

    sum = 0
    for (t = 1; t <= T; t++) {
        R[t] = 0
        for (i = 1; i <= na; i++) R[t] += w[i] * (price[i, t + 1] / price[i, t] - 1)
        sum += R[t]
    }
    mean = sum / T
    ss = 0
    for (t = 1; t <= T; t++) ss += (R[t] - mean) ^ 2
    vol = sqrt(ss / (T - 1))

    for (t = 2; t <= T; t++) {  # insertion sort, ascending (T is a few hundred)
        x = R[t]
        for (u = t - 1; u >= 1 && R[u] > x; u--) R[u + 1] = R[u]
        R[u + 1] = x
    }
    k = (1 - confidence) * T
    k = (k == int(k)) ? k : int(k) + 1
    if (k < 1) k = 1
    var = -R[k]
    tail = 0
    for (t = 1; t <= k; t++) tail += R[t]
    cvar = -tail / k

    printf "{\"method\":\"historical-simulation\",\"confidence\":%s,\"observations\":%d,", confidence + 0, T
    printf "\"var\":%.8f,\"cvar\":%.8f,\"var_amount\":%.2f,\"cvar_amount\":%.2f,", var, cvar, var * notional, cvar * notional
    printf "\"mean_return\":%.8f,\"volatility\":%.8f,\"worst_return\":%.8f}\n", mean, vol, R[1]
    printf "historical_var: %d days, %d assets: VaR(%s) %.4f%%, CVaR %.4f%%, worst day %.4f%%\n", T, na, confidence + 0, 100 * var, 100 * cvar, 100 * R[1] | "cat 1>&2"
}' >"$tmp" || { rm -f "$tmp"; exit 1; }
mv "$tmp" "$OUTPUT_DIRECTORY/output.json"
