"""Regenerates market-prices.csv: synthetic daily closes for the portfolio-risk example.

Not market data. A one-factor model (a common market factor plus noise per symbol, with a
stress episode) so that tail events are correlated, as they are in real markets. Deterministic:
    python3 workflows/data/generate_prices.py > workflows/data/market-prices.csv
"""

import datetime
import math
import random

SYMBOLS = {  # symbol: (start price, beta to the market factor, idiosyncratic daily vol)
    "AURA": (182.40, 1.10, 0.011),
    "BORE": (64.15, 0.80, 0.009),
    "CYAN": (412.00, 1.35, 0.016),
    "DUNE": (27.86, 0.55, 0.007),
    "EMBR": (95.30, 1.00, 0.012),
    "FJRD": (143.75, 0.70, 0.010),
}


def business_days(start, end):
    day = start
    while day <= end:
        if day.weekday() < 5:
            yield day
        day += datetime.timedelta(days=1)


def main():
    rng = random.Random(20240628)
    days = list(business_days(datetime.date(2023, 5, 1), datetime.date(2024, 7, 31)))
    prices = {s: p for s, (p, _, _) in SYMBOLS.items()}
    print("# synthetic daily closes in EUR for the wfop portfolio-risk example; not market data")
    print("date," + ",".join(SYMBOLS))
    for n, day in enumerate(days):
        if n:
            stress = 160 <= n <= 172  # a two-week sell-off
            market = rng.gauss(-0.006 if stress else 0.0004, 0.021 if stress else 0.008)
            for s, (_, beta, vol) in SYMBOLS.items():
                r = beta * market + rng.gauss(0.0, vol)
                prices[s] *= math.exp(r)
        print(day.isoformat() + "," + ",".join(f"{prices[s]:.2f}" for s in SYMBOLS))


if __name__ == "__main__":
    main()
