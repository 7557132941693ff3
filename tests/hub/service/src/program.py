"""A small platform-style service for wfop's hub tests (run by qhub-serve): sums numbers, can
take its time, can fail, and leaves a result file beside its result."""

import time
from typing import List

from qhub.commons.runtime.output import write_string_output


def run(values: List[int], delay: float = 0.0, fail: int = 0, plain: int = 0):
    print(f"summing {len(values)} values", flush=True)
    if delay > 0:
        time.sleep(delay)
    if fail:
        raise ValueError("the service was asked to fail")
    total = sum(values)
    write_string_output("report.txt", f"sum={total}\n")
    if plain:
        return total  # a simple value: the platform writes output.txt
    return {"sum": total, "count": len(values)}
