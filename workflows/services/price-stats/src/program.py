"""The service's entrypoint, `src.program:run`. Imported as the package `src`, as the platform
imports it, so the relative imports below work."""

from typing import List

from qhub.commons.datapool import DataPool

from .libs.return_objects import ResultResponse
from .libs.stats import read_closes, summary


def run(symbols: List[str], market: DataPool, window: int = 60) -> ResultResponse:
    with market.open("market-prices.csv") as f:
        closes = read_closes(f, symbols)
    print(f"price-stats: {len(symbols)} symbols from data pool {market.name!r}, window {window}")
    return ResultResponse(
        result={s: summary(closes[s], window) for s in symbols},
        metadata={"window": window, "datapool": market.name},
    )
