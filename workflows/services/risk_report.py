"""Risk report: joins the classical and the quantum branch into one report for the desk.

Parameters (the node's input mapping; see workflows/portfolio-risk.json):

* ``portfolio``: ``{"name": ..., "symbols": [...], "weights": [...], "notional": ...}``
* ``as_of``: the valuation date (a ``date``: the platform's runtime parses an ISO date; a
  ``str`` parameter would get the input's JSON text, quotes included)
* ``classical``: the historical-simulation figures (``var``, ``cvar``, ``var_amount``,
  ``observations``, ``confidence``)
* ``quantum``: the sampled figures (``var``, ``exact_var``, ``var_amount``, ``shots``,
  ``backend``, ``multi_asset_tail_probability``)
* ``market_data``: provenance of the prices (``request_id``, ``provider``, ``observations``)
* ``tolerance``: the largest relative gap between the two VaRs still called consistent
  (default 0.5, i.e. 50 %)

Result: ``{"report": {"title", "as_of", "status", "var_gap", "lines", "text", ...},
"summary": "<one line>"}``; ``status`` is ``"consistent"`` or ``"review"``. No secrets.
"""

from datetime import date


def log(message):
    print(f"risk_report: {message}", flush=True)


def _need(obj, name, keys):
    if not isinstance(obj, dict):
        raise ValueError(f"{name} must be an object (check the input mapping of this node)")
    missing = [k for k in keys if obj.get(k) is None]
    if missing:
        raise ValueError(f"{name} lacks {', '.join(missing)} (check the upstream output mapping)")


def _pct(x):
    return f"{100 * x:.2f} %"


def _money(x, currency):
    return f"{x:,.0f} {currency}"


def run(
    portfolio: dict,
    as_of: date,
    classical: dict,
    quantum: dict,
    market_data: dict = None,
    tolerance: float = 0.5,
) -> dict:
    _need(portfolio, "portfolio", ["name", "symbols", "weights"])
    _need(classical, "classical", ["var", "cvar", "confidence"])
    _need(quantum, "quantum", ["var", "shots", "backend"])
    market_data = market_data or {}
    tolerance = 0.5 if tolerance is None else tolerance
    currency = portfolio.get("currency", "EUR")
    notional = portfolio.get("notional", 1)

    c_var, q_var = classical["var"], quantum["var"]
    gap = abs(q_var - c_var) / c_var if c_var else (0.0 if not q_var else float("inf"))
    status = "consistent" if gap <= tolerance else "review"
    confidence = classical["confidence"]

    title = f"{portfolio['name']}: one-day risk as of {as_of}"
    holdings = ", ".join(
        f"{s} {100 * w:.0f}%" for s, w in zip(portfolio["symbols"], portfolio["weights"])
    )
    lines = [
        title,
        f"holdings: {holdings}; notional {_money(notional, currency)}",
        f"prices: {market_data.get('observations', '?')} closes from "
        f"{market_data.get('provider', 'unknown provider')} (request {market_data.get('request_id', '?')})",
        f"classical VaR({confidence}) {_pct(c_var)} = {_money(c_var * notional, currency)}, "
        f"CVaR {_pct(classical['cvar'])} over {classical.get('observations', '?')} days",
        f"quantum VaR({confidence}) {_pct(q_var)} = {_money(q_var * notional, currency)} "
        f"from {quantum['shots']} shots on {quantum['backend']}"
        + (f" (exact {_pct(quantum['exact_var'])})" if quantum.get("exact_var") is not None else ""),
    ]
    if quantum.get("multi_asset_tail_probability") is not None:
        lines.append(
            f"two or more holdings in their tail on one day: "
            f"{_pct(quantum['multi_asset_tail_probability'])} of scenarios"
        )
    lines.append(
        f"status: {status} (relative VaR gap {gap:.0%}, tolerance {tolerance:.0%})"
        if gap != float("inf")
        else f"status: {status} (classical VaR is zero)"
    )
    for line in lines:
        log(line)

    summary = (
        f"{portfolio['name']} {as_of}: VaR({confidence}) classical {_pct(c_var)}, "
        f"quantum {_pct(q_var)}: {status}"
    )
    return {
        "report": {
            "title": title,
            "as_of": as_of,
            "status": status,
            "var_gap": None if gap == float("inf") else round(gap, 6),
            "classical_var_amount": round(c_var * notional, 2),
            "quantum_var_amount": round(q_var * notional, 2),
            "currency": currency,
            "lines": lines,
            "text": "\n".join(lines) + "\n",
        },
        "summary": summary,
    }
