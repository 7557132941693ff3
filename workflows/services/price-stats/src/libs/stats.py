"""Daily-return statistics of price series (standard library only)."""

import csv
import math


def read_closes(lines, symbols):
    """{symbol: [close, ...]} from a CSV of `date,SYM,...` rows (`#` lines are comments)."""
    rows = csv.DictReader(line for line in lines if not line.startswith("#"))
    closes = {s: [] for s in symbols}
    for row in rows:
        for s in symbols:
            if s not in row:
                raise ValueError(f"symbol {s!r} is not in the price file")
            closes[s].append(float(row[s]))
    return closes


def summary(closes, window):
    """Mean and volatility (annualised, 252 days) of the last `window` daily returns."""
    prices = closes[-(window + 1):]
    returns = [b / a - 1 for a, b in zip(prices, prices[1:])]
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / max(len(returns) - 1, 1)
    return {
        "last": prices[-1],
        "mean_daily_return": round(mean, 6),
        "annual_volatility": round(math.sqrt(var) * math.sqrt(252), 4),
    }
